//! Supervised fine-tuning with early stopping: a zero-initialised softmax layer on top, epochs
//! of [`FinetuneStep`]s, the validation error after each, and the best model kept.

use std::time::Instant;

use sdae_kernels::{Kernels, MatRef};

use super::checkpoint::{Phase, TrainState};
use super::finetune::{evaluate, FinetuneStep, Forward};
use super::run::{end_epoch, nan_error, EpochReport, RunInputs, RunOptions};
use super::streams::Stream;
use super::{batch_count, EpochOrder, SplitView, TrainError};
use crate::model::{Model, OutputLayer};

/// One fine-tuning epoch over the batches of `epoch`. Allocates nothing. Returns (summed
/// NLL, correct).
pub fn finetune_epoch(
    k: &Kernels,
    step: &mut FinetuneStep,
    model: &mut Model,
    train: &SplitView,
    lr: f32,
    weight_decay: f32,
    epoch: &mut EpochOrder<'_>,
) -> Result<(f64, usize), TrainError> {
    let d = train.cols;
    let (mut total, mut correct) = (0.0, 0);
    epoch.for_each_batch(train.rows, |start, r| {
        let xb = MatRef::new(&train.x[start * d..(start + r) * d], r, d)?;
        let st = step.step(k, model, xb, &train.y[start..start + r], lr, weight_decay)?;
        total += st.loss;
        correct += st.correct;
        Ok(())
    })?;
    Ok((total, correct))
}

/// Fine-tune `model` from `state` (phase `Finetune`) until the patience or the epochs run
/// out; returns the model of the best validation error (`best`: the best so far when resuming).
pub(super) fn finetune(
    run: &RunInputs<'_>,
    mut model: Model,
    best: Option<Model>,
    state: &mut TrainState,
    opts: &mut RunOptions,
) -> Result<Model, TrainError> {
    let RunInputs {
        k,
        cfg,
        train,
        valid,
    } = *run;
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
        let top = model.layers.last().map_or(train.cols, |l| l.h());
        model.output = Some(OutputLayer::zeros(top, train.classes));
        state.epoch = 0;
        state.shuffle_rng = Stream::Finetune.rng(cfg.seed);
        state.best_valid = None;
        state.since_best = 0;
    }
    let mut best_model = best.unwrap_or_else(|| model.clone());
    let mut step = FinetuneStep::new(&model, fc.batch);
    let mut fwd = Forward::new(&model, 256);
    let mut order = vec![0u32; batch_count(train.rows, fc.batch)];
    opts.observer.layer_start(0, fc.max_epochs);
    while state.epoch < fc.max_epochs && state.since_best < fc.patience {
        let e = state.epoch;
        let t0 = Instant::now();
        let obs = &mut *opts.observer;
        let mut progress = |done, total| obs.batches(done, total, "finetune", 0, e + 1);
        let mut epoch =
            EpochOrder::new(fc.batch, &mut order, &mut state.shuffle_rng, &mut progress);
        let (total, _) = finetune_epoch(
            k,
            &mut step,
            &mut model,
            train,
            fc.lr,
            cfg.weight_decay,
            &mut epoch,
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
        end_epoch(opts, &report, state, &model, Some(&best_model))?;
    }
    state.phase = Phase::Done;
    Ok(best_model)
}
