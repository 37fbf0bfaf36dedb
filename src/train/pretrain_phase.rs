//! Greedy layer-wise pre-training: each layer in turn, on the clean codes of the layers below,
//! through its kind's [`LayerTrainer`]; a report and a checkpoint after every epoch.

use std::time::Instant;

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatRef};

use super::checkpoint::{Phase, TrainState};
use super::layer::{new_layer, trainer_for, LayerTrainer};
use super::run::{
    encode_all, end_epoch, fresh_state, nan_error, plan_of, EpochReport, RunInputs, RunOptions,
};
use super::streams::Stream;
use super::{batch_count, EpochOrder, TrainError};
use crate::model::{Layer, Model};

/// One pre-training epoch of `layer` over `input` (`rows x d`, contiguous): the batches of
/// `epoch`, one trainer step each, or one online session when `epoch.batch == 1`. Allocates
/// nothing. Returns the summed loss.
pub fn pretrain_epoch(
    k: &Kernels,
    trainer: &mut dyn LayerTrainer,
    layer: &mut Layer,
    input: MatRef<'_>,
    noise_rng: &mut Xoshiro256PlusPlus,
    epoch: &mut EpochOrder<'_>,
) -> Result<f64, TrainError> {
    let (x, rows, d) = (
        input.contiguous("pretrain_epoch", "input")?,
        input.nrows(),
        input.ncols(),
    );
    debug_assert_eq!(d, layer.d(), "the input's width is the layer's");
    let mut total = 0.0;
    if epoch.batch == 1 {
        // Online SGD: one session per epoch, so the layer is exact at the epoch's end.
        return trainer.online(k, layer, &mut |session| {
            epoch.for_each_batch(rows, |start, _| {
                total += session.step(&x[start * d..(start + 1) * d], noise_rng)?;
                Ok(())
            })?;
            Ok(total)
        });
    }
    epoch.for_each_batch(rows, |start, r| {
        let xb = MatRef::new(&x[start * d..(start + r) * d], r, d)?;
        total += trainer.step(k, layer, xb, noise_rng)?;
        Ok(())
    })?;
    Ok(total)
}

/// Pre-train from `state.phase == Pretrain(l)` on: every layer from `l` up, each for its
/// epochs; then hand over to fine-tuning (or finish) in `state`.
pub(super) fn pretrain_layers(
    run: &RunInputs<'_>,
    model: &mut Model,
    state: &mut TrainState,
    opts: &mut RunOptions,
) -> Result<(), TrainError> {
    let RunInputs { k, cfg, train, .. } = *run;
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
        let input = MatRef::new(input, train.rows, model.layers[l].d())?;
        let mut trainer = trainer_for(cfg, l, &model.layers[l]);
        let mut order = vec![0u32; batch_count(train.rows, lc.batch)];
        opts.observer.layer_start(l + 1, lc.epochs);
        while state.epoch < lc.epochs {
            let e = state.epoch;
            let t0 = Instant::now();
            let obs = &mut *opts.observer;
            let mut progress = |done, total| obs.batches(done, total, "pretrain", l + 1, e + 1);
            let mut epoch =
                EpochOrder::new(lc.batch, &mut order, &mut state.shuffle_rng, &mut progress);
            let total = pretrain_epoch(
                k,
                trainer.as_mut(),
                &mut model.layers[l],
                input,
                &mut state.noise_rng,
                &mut epoch,
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
