//! The epoch loops: greedy layer-wise pre-training, fine-tuning with early stopping, and the
//! checkpoints that let `--resume` end bit-identical to an uninterrupted run.
//!
//! Random streams: layer `l` is initialised from `rng_for(seed, 100 + l)`, corrupted from
//! `rng_for(seed, 200 + l)` and shuffled from `rng_for(seed, 300 + l)`; fine-tuning shuffles
//! from `rng_for(seed, 400)`. A checkpoint holds the live streams, so a resumed run draws
//! exactly what the uninterrupted run would have drawn.

use std::path::PathBuf;
use std::time::Instant;

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatRef};
use serde::{Deserialize, Serialize};

use super::dae::{DaeSgd, DaeStep};
use super::finetune::{evaluate, EvalResult, FinetuneStep, Forward};
use super::{batch_count, shuffle_blocks, Loss, Noise, SplitView, TrainError};
use crate::config::Config;
use crate::model::{rng_for, DaeLayer, Model, OutputLayer};
use crate::util::bytes::Reader;
use crate::util::{fnv1a64, write_atomic};

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

/// Where a run stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Phase {
    /// Pre-training the 0-based layer.
    Pretrain(usize),
    Finetune,
    Done,
}

/// The state a checkpoint saves beside the model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub config_fingerprint: u64,
    /// The hash of the GEMM plan the run trains with (KC changes the order of the k sums, so
    /// resuming under another plan would not end bit-identical). Empty in older checkpoints.
    #[serde(default)]
    pub plan_hash: String,
    pub phase: Phase,
    /// The next epoch to run (0-based) in the phase.
    pub epoch: usize,
    pub noise_rng: Xoshiro256PlusPlus,
    pub shuffle_rng: Xoshiro256PlusPlus,
    /// Best validation error rate so far (fine-tuning), its epoch, and epochs since.
    pub best_valid: Option<f64>,
    pub best_epoch: usize,
    pub since_best: usize,
}

const CKPT_MAGIC: &[u8; 8] = b"SDAECKP\0";

/// A checkpoint file's bytes (the parts of a [`Checkpoint`], borrowed: the training loop
/// saves every epoch without cloning its models); [`Checkpoint::from_bytes`] reads them.
fn checkpoint_bytes(state: &TrainState, model: &Model, best: Option<&Model>) -> Vec<u8> {
    let json = serde_json::to_vec(state).expect("state serialises");
    let mut out = Vec::new();
    out.extend_from_slice(CKPT_MAGIC);
    for blob in [
        json,
        model.to_bytes(),
        best.map_or(Vec::new(), |b| b.to_bytes()),
    ] {
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        out.extend_from_slice(&blob);
    }
    let sum = fnv1a64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A checkpoint: the model, the best-so-far model of fine-tuning, and the state.
pub struct Checkpoint {
    pub state: TrainState,
    pub model: Model,
    pub best: Option<Model>,
}

impl Checkpoint {
    /// Read a checkpoint written by `checkpoint_bytes`.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Checkpoint, TrainError> {
        let err = |message: String| TrainError::Checkpoint {
            path: what.into(),
            message,
        };
        if bytes.len() < 16 || &bytes[..8] != CKPT_MAGIC {
            return Err(err("not an sdae checkpoint (bad magic)".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        if fnv1a64(body) != u64::from_le_bytes(tail.try_into().unwrap()) {
            return Err(err("checksum mismatch: truncated or corrupted".into()));
        }
        let mut r = Reader::new(body, 8);
        fn blob(r: &mut Reader) -> Result<Vec<u8>, String> {
            let n = r.u64()? as usize;
            Ok(r.take(n)?.to_vec())
        }
        let json = blob(&mut r).map_err(&err)?;
        let model_b = blob(&mut r).map_err(&err)?;
        let best_b = blob(&mut r).map_err(&err)?;
        let state: TrainState = serde_json::from_slice(&json).map_err(|e| err(e.to_string()))?;
        let model = Model::from_bytes(&model_b, what)?;
        let best = if best_b.is_empty() {
            None
        } else {
            Some(Model::from_bytes(&best_b, what)?)
        };
        Ok(Checkpoint { state, model, best })
    }
}

/// How a run is driven.
pub struct RunOptions<'o> {
    pub pretrain: bool,
    pub finetune: bool,
    pub checkpoint: Option<PathBuf>,
    /// Continue from `checkpoint` if it exists.
    pub resume: bool,
    pub observer: &'o mut dyn Observer,
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub model: Model,
    pub valid: Option<EvalResult>,
    pub test: Option<EvalResult>,
    pub best_epoch: usize,
}

/// One pre-training epoch of `layer` over `input` (`rows x d`): shuffled contiguous batches,
/// one [`DaeStep`] each. Allocates nothing. Returns the summed loss.
#[allow(clippy::too_many_arguments)]
pub fn pretrain_epoch(
    k: &Kernels,
    step: &mut DaeStep,
    layer: &mut DaeLayer,
    noise: Noise,
    loss: Loss,
    input: &[f32],
    rows: usize,
    batch: usize,
    lr: f32,
    weight_decay: f32,
    order: &mut [u32],
    noise_rng: &mut Xoshiro256PlusPlus,
    shuffle_rng: &mut Xoshiro256PlusPlus,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<f64, TrainError> {
    let d = layer.d;
    let nb = batch_count(rows, batch);
    let order = &mut order[..nb];
    shuffle_blocks(order, shuffle_rng);
    let mut total = 0.0;
    if batch == 1 {
        // Online SGD: one session per epoch, so the layer is exact at the epoch's end.
        let mut online = step.online(k, layer, weight_decay)?;
        for (i, &b) in order.iter().enumerate() {
            let x = &input[b as usize * d..(b as usize + 1) * d];
            total += online.step(noise, loss, x, lr, noise_rng)?;
            progress(i + 1, nb);
        }
        online.finish();
        return Ok(total);
    }
    let sgd = DaeSgd {
        noise,
        loss,
        lr,
        weight_decay,
    };
    for (i, &b) in order.iter().enumerate() {
        let start = b as usize * batch;
        let r = batch.min(rows - start);
        let xb = MatRef::new(&input[start * d..(start + r) * d], r, d)?;
        total += step.step(k, layer, sgd, xb, noise_rng)?;
        progress(i + 1, nb);
    }
    Ok(total)
}

/// One fine-tuning epoch. Allocates nothing. Returns (summed NLL, correct).
#[allow(clippy::too_many_arguments)]
pub fn finetune_epoch(
    k: &Kernels,
    step: &mut FinetuneStep,
    model: &mut Model,
    train: &SplitView,
    batch: usize,
    lr: f32,
    weight_decay: f32,
    order: &mut [u32],
    shuffle_rng: &mut Xoshiro256PlusPlus,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(f64, usize), TrainError> {
    let d = train.cols;
    let nb = batch_count(train.rows, batch);
    let order = &mut order[..nb];
    shuffle_blocks(order, shuffle_rng);
    let (mut total, mut correct) = (0.0, 0);
    for (i, &b) in order.iter().enumerate() {
        let start = b as usize * batch;
        let r = batch.min(train.rows - start);
        let xb = MatRef::new(&train.x[start * d..(start + r) * d], r, d)?;
        let st = step.step(k, model, xb, &train.y[start..start + r], lr, weight_decay)?;
        total += st.loss;
        correct += st.correct;
        progress(i + 1, nb);
    }
    Ok((total, correct))
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
        model.layers[upto - 1].h
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
    if let Some(p) = &opts.checkpoint {
        write_atomic(p, &checkpoint_bytes(state, model, best))?;
    }
    Ok(())
}

/// The end of an epoch of either phase: report it, then checkpoint (so a resumed run starts
/// at the next epoch).
fn end_epoch(
    opts: &mut RunOptions,
    report: &EpochReport,
    state: &TrainState,
    model: &Model,
    best: Option<&Model>,
) -> Result<(), TrainError> {
    opts.observer.epoch(report);
    save_ckpt(opts, state, model, best)
}

fn nan_error(opts: &RunOptions, at: String) -> TrainError {
    TrainError::Diverged {
        at,
        checkpoint: opts.checkpoint.clone(),
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
    let fp = cfg.fingerprint();
    let plan_hash = crate::plan::describe(k.isa()).1;
    let fresh_state = |phase| TrainState {
        config_fingerprint: fp,
        plan_hash: plan_hash.clone(),
        phase,
        epoch: 0,
        noise_rng: rng_for(cfg.seed, 0),
        shuffle_rng: rng_for(cfg.seed, 0),
        best_valid: None,
        best_epoch: 0,
        since_best: 0,
    };
    let first_phase = if opts.pretrain {
        Phase::Pretrain(0)
    } else {
        Phase::Finetune
    };
    let (mut state, mut model, mut best) = match (&opts.checkpoint, opts.resume) {
        (Some(p), true) if p.exists() => {
            let bytes = std::fs::read(p).map_err(|e| TrainError::Io {
                path: p.clone(),
                message: format!("cannot read checkpoint: {e}"),
            })?;
            let ck = Checkpoint::from_bytes(&bytes, &p.display().to_string())?;
            if !ck.state.plan_hash.is_empty() && ck.state.plan_hash != plan_hash {
                return Err(TrainError::Checkpoint {
                    path: p.display().to_string(),
                    message: format!(
                        "written under GEMM plan {}, this run has plan {} ({}): resuming would not be bit-identical; pin the original plan with --plan FILE, or delete the checkpoint to start afresh",
                        ck.state.plan_hash,
                        plan_hash,
                        crate::plan::describe(k.isa()).0
                    ),
                });
            }
            if ck.state.config_fingerprint != fp {
                return Err(TrainError::Checkpoint {
                    path: p.display().to_string(),
                    message: "written with another configuration (seed, widths or hyper-parameters differ): refusing to resume".into(),
                });
            }
            (ck.state, ck.model, ck.best)
        }
        _ => (fresh_state(first_phase), start.unwrap_or_default(), None),
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
        for (l, lc) in cfg.layers.iter().enumerate() {
            model.layers.push(DaeLayer::new(
                d,
                lc.width,
                cfg.tied,
                &mut rng_for(cfg.seed, 100 + l as u64),
            ));
            d = lc.width;
        }
    }
    if model.input_dim() != 0 && model.input_dim() != train.cols {
        return Err(TrainError::new(format!(
            "the model takes {} inputs but the training set has {} columns",
            model.input_dim(),
            train.cols
        )));
    }

    // ---- greedy layer-wise pre-training
    while let Phase::Pretrain(l) = state.phase {
        if !opts.pretrain || l >= cfg.layers.len() {
            state = TrainState {
                phase: if opts.finetune {
                    Phase::Finetune
                } else {
                    Phase::Done
                },
                ..fresh_state(Phase::Done)
            };
            continue;
        }
        let lc = &cfg.layers[l];
        if model.layers.len() == l {
            let d = if l == 0 {
                train.cols
            } else {
                model.layers[l - 1].h
            };
            model.layers.push(DaeLayer::new(
                d,
                lc.width,
                cfg.tied,
                &mut rng_for(cfg.seed, 100 + l as u64),
            ));
            state.epoch = 0;
            state.noise_rng = rng_for(cfg.seed, 200 + l as u64);
            state.shuffle_rng = rng_for(cfg.seed, 300 + l as u64);
        }
        model.layers.truncate(l + 1);
        let rep;
        let input: &[f32] = if l == 0 {
            train.x
        } else {
            rep = encode_all(k, &model, l, train.x, train.rows)?;
            &rep
        };
        let layer_d = model.layers[l].d;
        let mut step = DaeStep::new(layer_d, lc.width, lc.batch);
        let mut order = vec![0u32; batch_count(train.rows, lc.batch)];
        let noise = cfg.noise(l);
        opts.observer.layer_start(l + 1, lc.epochs);
        while state.epoch < lc.epochs {
            let e = state.epoch;
            let t0 = Instant::now();
            let obs = &mut *opts.observer;
            let mut progress = |done, total| obs.batches(done, total, "pretrain", l + 1, e + 1);
            let total = pretrain_epoch(
                k,
                &mut step,
                &mut model.layers[l],
                noise,
                cfg.loss,
                input,
                train.rows,
                lc.batch,
                lc.lr,
                cfg.weight_decay,
                &mut order,
                &mut state.noise_rng,
                &mut state.shuffle_rng,
                &mut progress,
            )?;
            let secs = t0.elapsed().as_secs_f64();
            if !total.is_finite()
                || !model.layers[l]
                    .params()
                    .iter()
                    .all(|p| p.iter().all(|v| v.is_finite()))
            {
                return Err(nan_error(
                    opts,
                    format!("pre-training layer {} epoch {}", l + 1, e + 1),
                ));
            }
            state.epoch += 1;
            let report = EpochReport {
                phase: "pretrain",
                layer: l + 1,
                epoch: e + 1,
                loss: total / train.rows as f64,
                valid_error: None,
                examples_per_s: train.rows as f64 / secs.max(1e-9),
                seconds: secs,
            };
            end_epoch(opts, &report, &state, &model, None)?;
        }
        state.phase = Phase::Pretrain(l + 1);
    }

    // ---- supervised fine-tuning with early stopping
    let mut best_epoch = state.best_epoch;
    if state.phase == Phase::Finetune {
        let fc = &cfg.finetune;
        let valid = valid.ok_or_else(|| TrainError::new("fine-tuning needs a validation split"))?;
        if train.classes < 2 {
            return Err(TrainError::new(format!(
                "fine-tuning needs at least 2 classes, the training set has {}",
                train.classes
            )));
        }
        if valid.cols != train.cols {
            return Err(TrainError::new(format!(
                "validation set has {} columns, training set {}",
                valid.cols, train.cols
            )));
        }
        if model.output.is_none() {
            let top = model.layers.last().map_or(train.cols, |l| l.h);
            model.output = Some(OutputLayer::zeros(top, train.classes));
            state.epoch = 0;
            state.shuffle_rng = rng_for(cfg.seed, 400);
            state.best_valid = None;
            state.since_best = 0;
        }
        let mut best_model = best.take().unwrap_or_else(|| model.clone());
        let mut step = FinetuneStep::new(&model, fc.batch);
        let mut fwd = Forward::new(&model, 256);
        let mut order = vec![0u32; batch_count(train.rows, fc.batch)];
        opts.observer.layer_start(0, fc.max_epochs);
        while state.epoch < fc.max_epochs && state.since_best < fc.patience {
            let e = state.epoch;
            let t0 = Instant::now();
            let obs = &mut *opts.observer;
            let mut progress = |done, total| obs.batches(done, total, "finetune", 0, e + 1);
            let (total, _) = finetune_epoch(
                k,
                &mut step,
                &mut model,
                train,
                fc.batch,
                fc.lr,
                cfg.weight_decay,
                &mut order,
                &mut state.shuffle_rng,
                &mut progress,
            )?;
            let secs = t0.elapsed().as_secs_f64();
            if !total.is_finite() || !model.all_finite() {
                return Err(nan_error(opts, format!("fine-tuning epoch {}", e + 1)));
            }
            let v = evaluate(k, &model, &mut fwd, valid.x, valid.y, valid.rows)?;
            state.epoch += 1;
            if state.best_valid.is_none_or(|b| v.error_rate() < b) {
                state.best_valid = Some(v.error_rate());
                state.best_epoch = e + 1;
                state.since_best = 0;
                best_model.copy_from(&model);
            } else {
                state.since_best += 1;
            }
            let report = EpochReport {
                phase: "finetune",
                layer: 0,
                epoch: e + 1,
                loss: total / train.rows as f64,
                valid_error: Some(100.0 * v.error_rate()),
                examples_per_s: train.rows as f64 / secs.max(1e-9),
                seconds: secs,
            };
            end_epoch(opts, &report, &state, &model, Some(&best_model))?;
        }
        model = best_model;
        best_epoch = state.best_epoch;
        state.phase = Phase::Done;
    } else if let Some(b) = best {
        model = b;
    }
    let mut fwd = Forward::new(&model, 256);
    let (mut vres, mut tres) = (None, None);
    if model.output.is_some() {
        if let Some(v) = valid {
            vres = Some(evaluate(k, &model, &mut fwd, v.x, v.y, v.rows)?);
        }
        if let Some(t) = test {
            if t.cols != model.input_dim() {
                return Err(TrainError::new(format!(
                    "test set has {} columns, the model takes {}",
                    t.cols,
                    model.input_dim()
                )));
            }
            tres = Some(evaluate(k, &model, &mut fwd, t.x, t.y, t.rows)?);
        }
    }
    save_ckpt(opts, &state, &model, None)?;
    Ok(RunResult {
        model,
        valid: vres,
        test: tres,
        best_epoch,
    })
}
