//! Greedy layer-wise pre-training: each layer in turn, on the clean codes of the layers below,
//! through its kind's [`LayerTrainer`]; a report and a checkpoint after every epoch.

use std::time::Instant;

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatRef};

use super::checkpoint::{Phase, TrainState};
use super::layer::{new_layer, trainer_for, LayerTrainer};
use super::run::{encode_all, end_epoch, fresh_state, nan_error, plan_of, EpochReport, RunOptions};
use super::streams::Stream;
use super::{batch_count, shuffle_blocks, SplitView, TrainError};
use crate::config::Config;
use crate::model::{Layer, Model};

/// One pre-training epoch of `layer` over `input` (`rows x d`): shuffled contiguous batches,
/// one trainer step each, or one online session when `batch == 1`. Allocates nothing.
/// Returns the summed loss.
#[allow(clippy::too_many_arguments)]
pub fn pretrain_epoch(
    k: &Kernels,
    trainer: &mut dyn LayerTrainer,
    layer: &mut Layer,
    input: &[f32],
    rows: usize,
    batch: usize,
    order: &mut [u32],
    noise_rng: &mut Xoshiro256PlusPlus,
    shuffle_rng: &mut Xoshiro256PlusPlus,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<f64, TrainError> {
    let d = layer.d();
    let nb = batch_count(rows, batch);
    let order = &mut order[..nb];
    shuffle_blocks(order, shuffle_rng);
    if batch == 1 {
        // Online SGD: one session per epoch, so the layer is exact at the epoch's end.
        return trainer.online(k, layer, &mut |session| {
            let mut total = 0.0;
            for (i, &b) in order.iter().enumerate() {
                let x = &input[b as usize * d..(b as usize + 1) * d];
                total += session.step(x, noise_rng)?;
                progress(i + 1, nb);
            }
            Ok(total)
        });
    }
    let mut total = 0.0;
    for (i, &b) in order.iter().enumerate() {
        let start = b as usize * batch;
        let r = batch.min(rows - start);
        let xb = MatRef::new(&input[start * d..(start + r) * d], r, d)?;
        total += trainer.step(k, layer, xb, noise_rng)?;
        progress(i + 1, nb);
    }
    Ok(total)
}

/// Pre-train from `state.phase == Pretrain(l)` on: every layer from `l` up, each for its
/// epochs; then hand over to fine-tuning (or finish) in `state`.
pub(super) fn pretrain_layers(
    k: &Kernels,
    cfg: &Config,
    train: &SplitView,
    model: &mut Model,
    state: &mut TrainState,
    opts: &mut RunOptions,
) -> Result<(), TrainError> {
    let plan_hash = plan_of(k).1;
    while let Phase::Pretrain(l) = state.phase {
        if !opts.pretrain || l >= cfg.layers.len() {
            *state = TrainState {
                phase: if opts.finetune {
                    Phase::Finetune
                } else {
                    Phase::Done
                },
                ..fresh_state(cfg, &plan_hash, Phase::Done)
            };
            continue;
        }
        let lc = &cfg.layers[l];
        if model.layers.len() == l {
            let d = if l == 0 {
                train.cols
            } else {
                model.layers[l - 1].h()
            };
            model.layers.push(new_layer(cfg, l, d));
            state.epoch = 0;
            state.noise_rng = Stream::Noise(l).rng(cfg.seed);
            state.shuffle_rng = Stream::Shuffle(l).rng(cfg.seed);
        }
        model.layers.truncate(l + 1);
        let rep;
        let input: &[f32] = if l == 0 {
            train.x
        } else {
            rep = encode_all(k, model, l, train.x, train.rows)?;
            &rep
        };
        let mut trainer = trainer_for(cfg, l, &model.layers[l]);
        let mut order = vec![0u32; batch_count(train.rows, lc.batch)];
        opts.observer.layer_start(l + 1, lc.epochs);
        while state.epoch < lc.epochs {
            let e = state.epoch;
            let t0 = Instant::now();
            let obs = &mut *opts.observer;
            let mut progress = |done, total| obs.batches(done, total, "pretrain", l + 1, e + 1);
            let total = pretrain_epoch(
                k,
                trainer.as_mut(),
                &mut model.layers[l],
                input,
                train.rows,
                lc.batch,
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
            end_epoch(opts, &report, state, model, None)?;
        }
        state.phase = Phase::Pretrain(l + 1);
    }
    Ok(())
}
