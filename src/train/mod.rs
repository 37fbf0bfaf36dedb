//! Training: the DAE step ([`dae`]), fine-tuning and evaluation ([`finetune`]), and the
//! epoch loops with checkpoints ([`run`]).
//!
//! Everything here works on [`SplitView`]s — plain slices of a split's features and labels —
//! so the engine is independent of the file format and tests can build tiny tasks in memory.

pub mod commands;
pub mod dae;
pub mod finetune;
pub mod run;

use std::fmt;

use rand_xoshiro::rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{random, KernelError, Kernels, MatMut, MatRef};

pub use dae::{DaeSgd, DaeStep, OnlineDae};
pub use finetune::{evaluate, EvalResult, FinetuneStep, Forward};

/// A training error: the message says where (phase, layer, epoch, flag or file) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainError(pub String);

impl TrainError {
    pub fn new(msg: impl Into<String>) -> TrainError {
        TrainError(msg.into())
    }
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrainError {}

impl From<KernelError> for TrainError {
    fn from(e: KernelError) -> TrainError {
        TrainError(e.to_string())
    }
}

impl From<crate::model::ModelError> for TrainError {
    fn from(e: crate::model::ModelError) -> TrainError {
        TrainError(e.0)
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

/// Reconstruction loss of a DAE layer: the kernels' [`sdae_kernels::Loss`] (cross-entropy,
/// the paper's choice for inputs in [0,1], or squared error), so one type goes from the config
/// to the fused kernels.
pub use sdae_kernels::Loss;

/// The loss named `s` in a config or on the command line (`xent` or `sqerr`).
pub fn parse_loss(s: &str) -> Result<Loss, String> {
    Loss::from_name(s).ok_or_else(|| format!("loss \"{s}\": expected \"xent\" or \"sqerr\""))
}

/// Corruption of a DAE's input (training only); the level is ν.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// The paper's masking: exactly `round(ν d)` random inputs of each example set to 0.
    Mask(f64),
    /// Each input set to 0 independently with probability ν.
    Bernoulli(f64),
    /// Additive Gaussian noise of standard deviation ν.
    Gaussian(f64),
    /// Exactly `round(ν d)` random inputs of each example set to 0 or 1 (a fair coin each).
    SaltPepper(f64),
}

impl Noise {
    /// The noise named `kind` at level `nu`.
    pub fn parse(kind: &str, nu: f64) -> Result<Noise, String> {
        match kind {
            "mask" => Ok(Noise::Mask(nu)),
            "bernoulli" => Ok(Noise::Bernoulli(nu)),
            "gaussian" => Ok(Noise::Gaussian(nu)),
            "salt-pepper" => Ok(Noise::SaltPepper(nu)),
            _ => Err(format!(
                "noise \"{kind}\": expected \"mask\", \"bernoulli\", \"gaussian\" or \"salt-pepper\""
            )),
        }
    }
    pub fn level(self) -> f64 {
        match self {
            Noise::Mask(v) | Noise::Bernoulli(v) | Noise::Gaussian(v) | Noise::SaltPepper(v) => v,
        }
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
