//! Training: a run ([`run`]) drives greedy pre-training ([`pretrain_phase`], each layer kind
//! through its [`layer::LayerTrainer`]; the DAE step is [`dae`]) and fine-tuning with early
//! stopping ([`finetune_phase`] over the step and forward pass of [`finetune`]), checkpointing
//! every epoch ([`checkpoint`]); every random stream is named in [`streams`].
//!
//! Everything here works on [`SplitView`]s — plain slices of a split's features and labels —
//! so the engine is independent of the file format and tests can build tiny tasks in memory.

pub mod checkpoint;
pub mod commands;
pub mod dae;
pub mod finetune;
pub mod finetune_phase;
pub mod layer;
pub mod pretrain_phase;
pub mod rbm;
pub mod robustness;
pub mod run;
pub mod streams;

use std::fmt;
use std::path::PathBuf;

use rand_xoshiro::rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{random, KernelError, Kernels, MatMut, MatRef};

pub use crate::config::{Loss, Noise};
use crate::model::ModelError;
use crate::util::WriteError;
pub use dae::{DaeSgd, DaeStep, OnlineDae};
pub use finetune::{evaluate, EvalResult, FinetuneStep, Forward};

/// A training error, by kind, so a caller can tell a run that diverged from a file it could not
/// write or an input that does not fit. Every message says where (phase, layer, epoch, flag or
/// file) and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainError {
    /// The loss or the parameters became NaN or infinite.
    Diverged {
        /// Where: "pre-training layer 2 epoch 3", "fine-tuning epoch 5".
        at: String,
        /// The last good checkpoint, if the run kept one.
        checkpoint: Option<PathBuf>,
    },
    /// A file could not be read or written.
    Io { path: PathBuf, message: String },
    /// A checkpoint that is malformed or belongs to another configuration.
    Checkpoint { path: String, message: String },
    /// A model file or model shape error.
    Model(ModelError),
    /// A kernel rejected a call (shapes, lengths): a bug in the driver if it ever shows.
    Kernel(KernelError),
    /// Inputs that do not fit: split shapes, classes, a missing split.
    Input(String),
}

impl TrainError {
    /// An [`TrainError::Input`] error.
    pub fn new(msg: impl Into<String>) -> TrainError {
        TrainError::Input(msg.into())
    }

    /// Whether the run diverged (rather than failing on a file or an input).
    pub fn is_divergence(&self) -> bool {
        matches!(self, TrainError::Diverged { .. })
    }
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Diverged { at, checkpoint } => {
                write!(
                    f,
                    "{at}: the loss or the parameters became NaN/infinite; the inputs are not the cause if they came from .sdd files, which sdae checks before the first step (every feature finite and in [0, 1], every label below the class count, the payload checksum), so training diverged: try a smaller learning rate"
                )?;
                if let Some(p) = checkpoint {
                    write!(f, "; the last good checkpoint is kept at {}", p.display())?;
                }
                Ok(())
            }
            TrainError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            TrainError::Checkpoint { path, message } => write!(f, "checkpoint {path}: {message}"),
            TrainError::Model(e) => e.fmt(f),
            TrainError::Kernel(e) => e.fmt(f),
            TrainError::Input(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<KernelError> for TrainError {
    fn from(e: KernelError) -> TrainError {
        TrainError::Kernel(e)
    }
}

impl From<ModelError> for TrainError {
    fn from(e: ModelError) -> TrainError {
        TrainError::Model(e)
    }
}

impl From<WriteError> for TrainError {
    fn from(e: WriteError) -> TrainError {
        TrainError::Io {
            message: format!("cannot write: {}", e.source),
            path: e.path,
        }
    }
}

/// A split as slices: `x` is `rows x cols` row-major, `y` has `rows` labels below `classes`.
#[derive(Clone, Copy, Debug)]
pub struct SplitView<'a> {
    pub x: &'a [f32],
    pub y: &'a [u32],
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
}

impl<'a> SplitView<'a> {
    /// Check the slice lengths against the shape; `name` is used in the error.
    pub fn new(
        name: &str,
        x: &'a [f32],
        y: &'a [u32],
        cols: usize,
        classes: usize,
    ) -> Result<SplitView<'a>, TrainError> {
        if cols == 0 || !x.len().is_multiple_of(cols) || x.len() / cols != y.len() {
            return Err(TrainError::new(format!(
                "{name}: {} features and {} labels do not form rows of {cols} columns",
                x.len(),
                y.len()
            )));
        }
        Ok(SplitView {
            x,
            y,
            rows: y.len(),
            cols,
            classes,
        })
    }
}

/// A standard normal draw (Box–Muller on two 24-bit uniforms; the second value is dropped so
/// the generator's consumption is fixed per draw).
fn normal(rng: &mut Xoshiro256PlusPlus) -> f32 {
    let v = rng.next_u64();
    let u1 = ((v >> 40) as f64 + 1.0) / 16_777_217.0; // (0, 1]
    let u2 = ((v & 0xFF_FFFF) as f64) / 16_777_216.0;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Corrupt the batch `x` into `out` (both `rows x cols`, contiguous). `scratch` holds at
/// least `cols` entries.
pub fn corrupt(
    k: &Kernels,
    noise: Noise,
    x: MatRef<'_>,
    out: MatMut<'_>,
    rng: &mut Xoshiro256PlusPlus,
    scratch: &mut [u32],
) -> Result<(), TrainError> {
    let cols = x.ncols();
    match noise {
        Noise::Mask(nu) => {
            let count = random::masked_count(nu, cols);
            k.mask_fixed(x, out, count, rng, scratch)?;
        }
        Noise::Bernoulli(p) => {
            let x = x.contiguous("corrupt", "x")?;
            k.mask_bernoulli(x, out.into_contiguous("corrupt", "out")?, p as f32, rng)?
        }
        Noise::Gaussian(s) => {
            let x = x.contiguous("corrupt", "x")?;
            for (o, &v) in out.into_contiguous("corrupt", "out")?.iter_mut().zip(x) {
                *o = v + s as f32 * normal(rng);
            }
        }
        Noise::SaltPepper(nu) => {
            let count = random::masked_count(nu, cols);
            if scratch.len() < cols || (x.nrows(), cols) != (out.nrows(), out.ncols()) {
                return Err(TrainError::new(format!(
                    "salt-and-pepper noise: {} x {cols} into {} x {} with {} scratch entries",
                    x.nrows(),
                    out.nrows(),
                    out.ncols(),
                    scratch.len()
                )));
            }
            let mut out = out;
            for r in 0..x.nrows() {
                random::choose_indices(rng, cols, count, scratch);
                let o = out.row_mut(r);
                o.copy_from_slice(x.row(r));
                for &i in &scratch[..count] {
                    o[i as usize] = (rng.next_u32() >> 31) as f32;
                }
            }
        }
    }
    Ok(())
}

/// Shuffle the order of the batches of an epoch (Fisher–Yates over block indices): minibatches
/// stay contiguous, zero-copy views of the data.
pub fn shuffle_blocks(order: &mut [u32], rng: &mut Xoshiro256PlusPlus) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    for i in (1..order.len()).rev() {
        let j = random::uniform_below(rng, (i + 1) as u32) as usize;
        order.swap(i, j);
    }
}

/// The number of batches of `batch` rows (the last one may be short) covering `rows` rows.
pub fn batch_count(rows: usize, batch: usize) -> usize {
    rows.div_ceil(batch)
}

/// How one epoch of either phase walks its split: blocks of `batch` rows (the last may be short)
/// in an order reshuffled from `shuffle_rng` into the run's buffer `order` (at least
/// [`batch_count`] long, allocated once), with `progress(done, total)` after every batch.
pub struct EpochOrder<'a> {
    pub batch: usize,
    pub order: &'a mut [u32],
    pub shuffle_rng: &'a mut Xoshiro256PlusPlus,
    pub progress: &'a mut dyn FnMut(usize, usize),
}

impl<'a> EpochOrder<'a> {
    /// Batches of `batch` rows, ordered in `order` from `shuffle_rng`, reported to `progress`.
    pub fn new(
        batch: usize,
        order: &'a mut [u32],
        shuffle_rng: &'a mut Xoshiro256PlusPlus,
        progress: &'a mut dyn FnMut(usize, usize),
    ) -> EpochOrder<'a> {
        EpochOrder {
            batch,
            order,
            shuffle_rng,
            progress,
        }
    }

    /// Shuffle the blocks of `rows` rows, then call `f(start, r)` for each block (rows
    /// `start..start + r`) in the shuffled order. Allocates nothing.
    pub fn for_each_batch(
        &mut self,
        rows: usize,
        mut f: impl FnMut(usize, usize) -> Result<(), TrainError>,
    ) -> Result<(), TrainError> {
        let nb = batch_count(rows, self.batch);
        let order = &mut self.order[..nb];
        shuffle_blocks(order, self.shuffle_rng);
        for (i, &b) in order.iter().enumerate() {
            let start = b as usize * self.batch;
            f(start, self.batch.min(rows - start))?;
            (self.progress)(i + 1, nb);
        }
        Ok(())
    }
}
