//! A training run: pre-training ([`super::pretrain_phase`]) and/or fine-tuning
//! ([`super::finetune_phase`]) from a fresh start or a checkpoint ([`super::checkpoint`]), the
//! final evaluation, and the hooks that report progress.
//!
//! Random streams ([`super::streams::Stream`]): layer `l` is initialised, corrupted and shuffled
//! from streams of its own; fine-tuning shuffles from another. A checkpoint holds the live
//! streams, so a resumed run draws exactly what the uninterrupted run would have drawn.

use std::path::PathBuf;

use sdae_kernels::Kernels;
use serde::Serialize;

pub use super::checkpoint::{Checkpoint, Phase, TrainState};
pub use super::finetune_phase::finetune_epoch;
pub use super::pretrain_phase::pretrain_epoch;

use super::finetune::{evaluate, EvalResult, Forward};
use super::layer::new_layer;
use super::streams::Stream;
use super::{checkpoint, finetune_phase, pretrain_phase, SplitView, TrainError};
use crate::config::Config;
use crate::model::{Model, Provenance};

/// One line of progress: what `--json` prints per epoch.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EpochReport {
    pub phase: &'static str,
    /// 1-based layer (pre-training) or 0 (fine-tuning).
    pub layer: usize,
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean loss per example over the epoch.
    pub loss: f64,
    /// Validation error in % (fine-tuning only).
    pub valid_error: Option<f64>,
    pub examples_per_s: f64,
    pub seconds: f64,
}

/// Hooks the driver calls: progress within an epoch and a report after each.
pub trait Observer {
    /// `done` of `total` batches of the current epoch are finished.
    fn batches(
        &mut self,
        _done: usize,
        _total: usize,
        _phase: &'static str,
        _layer: usize,
        _epoch: usize,
    ) {
    }
    fn epoch(&mut self, _r: &EpochReport) {}
    /// Pre-training of a layer is starting (`layer` 1-based).
    fn layer_start(&mut self, _layer: usize, _epochs: usize) {}
}

/// An observer that does nothing.
pub struct Silent;
impl Observer for Silent {}

/// How a run is driven.
pub struct RunOptions<'o> {
    pub pretrain: bool,
    pub finetune: bool,
    pub checkpoint: Option<PathBuf>,
    /// Continue from `checkpoint` if it exists.
    pub resume: bool,
    pub observer: &'o mut dyn Observer,
}

/// What a run trains on, fixed for its whole length: the kernels, the config and the splits
/// the phases read.
#[derive(Clone, Copy)]
pub(super) struct RunInputs<'a> {
    pub k: &'a Kernels,
    pub cfg: &'a Config,
    pub train: &'a SplitView<'a>,
    pub valid: Option<&'a SplitView<'a>>,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub model: Model,
    pub valid: Option<EvalResult>,
    pub test: Option<EvalResult>,
    pub best_epoch: usize,
}

/// Encode a whole split through the first `upto` layers (the next layer's training input).
pub fn encode_all(
    k: &Kernels,
    model: &Model,
    upto: usize,
    x: &[f32],
    rows: usize,
) -> Result<Vec<f32>, TrainError> {
    let chunk = 256;
    let d = model.input_dim();
    let h = if upto == 0 {
        d
    } else {
        model.layers[upto - 1].h()
    };
    let mut out = vec![0.0f32; rows * h];
    let mut fwd = Forward::new(model, chunk);
    let mut start = 0;
    while start < rows {
        let r = chunk.min(rows - start);
        let enc = fwd.encode(k, model, upto, &x[start * d..(start + r) * d], r)?;
        out[start * h..(start + r) * h].copy_from_slice(enc);
        start += r;
    }
    Ok(out)
}

/// Write the checkpoint (if the run has one) atomically from borrowed parts.
fn save_ckpt(
    opts: &RunOptions,
    state: &TrainState,
    model: &Model,
    best: Option<&Model>,
) -> Result<(), TrainError> {
    match &opts.checkpoint {
        Some(p) => checkpoint::save(p, state, model, best),
        None => Ok(()),
    }
}

/// The end of an epoch of either phase: report it, then checkpoint (so a resumed run starts
/// at the next epoch).
pub(super) fn end_epoch(
    opts: &mut RunOptions,
    report: &EpochReport,
    state: &TrainState,
    model: &Model,
    best: Option<&Model>,
) -> Result<(), TrainError> {
    opts.observer.epoch(report);
    save_ckpt(opts, state, model, best)
}

pub(super) fn nan_error(opts: &RunOptions, at: String) -> TrainError {
    TrainError::Diverged {
        at,
        checkpoint: opts.checkpoint.clone(),
    }
}

/// The GEMM plan the kernels of `k` train with: (description, hash).
pub(super) fn plan_of(k: &Kernels) -> (String, String) {
    let (text, hash, _) = crate::plan::describe(k.isa());
    (text, hash)
}

/// The state of a run about to start `phase` (under the GEMM plan hashed `plan_hash`), before
/// the phase draws its own streams.
pub(super) fn fresh_state(cfg: &Config, plan_hash: &str, phase: Phase) -> TrainState {
    TrainState {
        config_fingerprint: cfg.fingerprint(),
        plan_hash: plan_hash.to_string(),
        phase,
        epoch: 0,
        noise_rng: Stream::Idle.rng(cfg.seed),
        shuffle_rng: Stream::Idle.rng(cfg.seed),
        best_valid: None,
        best_epoch: 0,
        since_best: 0,
    }
}

/// Run pre-training and/or fine-tuning as `opts` says, from `start` (a pre-trained model when
/// only fine-tuning) or from a checkpoint when resuming.
pub fn run(
    k: &Kernels,
    cfg: &Config,
    start: Option<Model>,
    train: &SplitView,
    valid: Option<&SplitView>,
    test: Option<&SplitView>,
    opts: &mut RunOptions,
) -> Result<RunResult, TrainError> {
    let first_phase = if opts.pretrain {
        Phase::Pretrain(0)
    } else {
        Phase::Finetune
    };
    let plan = plan_of(k);
    let (mut state, mut model, best) = match (&opts.checkpoint, opts.resume) {
        (Some(p), true) if p.exists() => {
            let ck = Checkpoint::resume(p, cfg.fingerprint(), &plan)?;
            (ck.state, ck.model, ck.best)
        }
        _ => (
            fresh_state(cfg, &plan.1, first_phase),
            start.unwrap_or_default(),
            None,
        ),
    };
    if state.phase == Phase::Done && opts.finetune && model.output.is_none() {
        // A finished `pretrain` checkpoint resumed by `train`: fine-tuning is still to do.
        state.phase = Phase::Finetune;
    }
    if train.cols == 0 || train.rows == 0 {
        return Err(TrainError::new("training split is empty"));
    }
    if !opts.pretrain && model.layers.is_empty() && state.phase == Phase::Finetune {
        // Fine-tuning without pre-training still needs the stack: initialise it.
        let mut d = train.cols;
        for l in 0..cfg.layers.len() {
            let layer = new_layer(cfg, l, d);
            d = layer.h();
            model.layers.push(layer);
        }
    }
    if model.input_dim() != 0 && model.input_dim() != train.cols {
        return Err(TrainError::new(format!(
            "the model takes {} inputs but the training set has {} columns",
            model.input_dim(),
            train.cols
        )));
    }
    let inputs = RunInputs {
        k,
        cfg,
        train,
        valid,
    };
    pretrain_phase::pretrain_layers(&inputs, &mut model, &mut state, opts)?;
    if state.phase == Phase::Finetune {
        model = finetune_phase::finetune(&inputs, model, best, &mut state, opts)?;
    } else if let Some(b) = best {
        model = b;
    }
    model.provenance = Some(Provenance {
        isa: k.isa().name().to_string(),
        plan: plan.0.clone(),
        plan_hash: plan.1.clone(),
    });
    let (vres, tres) = final_errors(k, &model, valid, test)?;
    save_ckpt(opts, &state, &model, None)?;
    Ok(RunResult {
        model,
        valid: vres,
        test: tres,
        best_epoch: state.best_epoch,
    })
}

/// The validation and test errors of a fine-tuned model (none for a pre-trained one).
fn final_errors(
    k: &Kernels,
    model: &Model,
    valid: Option<&SplitView>,
    test: Option<&SplitView>,
) -> Result<(Option<EvalResult>, Option<EvalResult>), TrainError> {
    if model.output.is_none() {
        return Ok((None, None));
    }
    let mut fwd = Forward::new(model, 256);
    let vres = valid
        .map(|v| evaluate(k, model, &mut fwd, v.x, v.y, v.rows))
        .transpose()?;
    let tres = match test {
        Some(t) if t.cols != model.input_dim() => {
            return Err(TrainError::new(format!(
                "test set has {} columns, the model takes {}",
                t.cols,
                model.input_dim()
            )))
        }
        Some(t) => Some(evaluate(k, model, &mut fwd, t.x, t.y, t.rows)?),
        None => None,
    };
    Ok((vres, tres))
}
