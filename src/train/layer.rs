//! Pre-training kind by kind: the one thing each layer kind does its own way. The epoch loop
//! ([`super::pretrain`]) drives every kind through [`LayerTrainer`]: a minibatch step, and an
//! online (batch-1) session that leaves the layer exact when it ends.
//!
//! Adding a kind: its trainer here (a struct implementing [`LayerTrainer`], one arm in
//! [`trainer_for`] and in [`new_layer`]); `model::layer` has the other half.

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatRef};

use super::dae::{DaeSgd, DaeStep, OnlineDae};
use super::rbm::{RbmSgd, RbmStep, RbmTrainer};
use super::streams::Stream;
use super::TrainError;
use crate::config::{Config, LayerConfig};
use crate::model::{DaeLayer, Layer, RbmLayer};

/// One step of an online session: train on example `x` (`d` values), return its loss.
pub trait OnlineStep {
    fn step(&mut self, x: &[f32], rng: &mut Xoshiro256PlusPlus) -> Result<f64, TrainError>;
}

/// How one layer kind is pre-trained. A trainer owns its buffers (sized once, for one layer's
/// shape and batch size); its methods take the layer they train.
pub trait LayerTrainer {
    /// One SGD step on the batch `x` (`rows x d`); returns the summed loss before the update.
    /// `rng` draws the corruption (or sampling) of this kind.
    fn step(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError>;

    /// An online (batch-1) session over `layer`: `examples` is handed a session and feeds it
    /// the epoch's examples; when `online` returns, the layer holds exactly the parameters of
    /// sequential SGD. Returns what `examples` returns.
    fn online(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        examples: &mut dyn FnMut(&mut dyn OnlineStep) -> Result<f64, TrainError>,
    ) -> Result<f64, TrainError>;
}

/// A new layer `l` (0-based) of `d` inputs as the config says (kind, width, tied decoder or
/// RBM initialisation), drawn from its own stream ([`Stream::LayerInit`]).
pub fn new_layer(cfg: &Config, l: usize, d: usize) -> Layer {
    let lc = &cfg.layers[l];
    let mut rng = Stream::LayerInit(l).rng(cfg.seed);
    match cfg.rbm {
        None => Layer::Dae(DaeLayer::new(d, lc.width, cfg.tied, &mut rng)),
        Some(r) => Layer::Rbm(RbmLayer::new(d, lc.width, r.init, &mut rng)),
    }
}

/// The trainer of `layer` (layer `l` of `cfg`), its buffers sized for the layer and its batch.
pub fn trainer_for(cfg: &Config, l: usize, layer: &Layer) -> Box<dyn LayerTrainer> {
    let lc: &LayerConfig = &cfg.layers[l];
    match layer {
        Layer::Dae(dae) => Box::new(DaeTrainer {
            step: DaeStep::new(dae.d, dae.h, lc.batch),
            sgd: DaeSgd {
                noise: cfg.noise(l),
                loss: cfg.loss,
                lr: lc.lr,
                weight_decay: cfg.weight_decay,
            },
        }),
        Layer::Rbm(rbm) => Box::new(RbmTrainer {
            step: RbmStep::new(rbm.d, rbm.h, lc.batch),
            sgd: RbmSgd::new(cfg.rbm.unwrap_or_default(), lc.lr, cfg.weight_decay),
        }),
    }
}

/// A denoising autoencoder's trainer: corruption, then the DAE step ([`DaeStep`]).
pub struct DaeTrainer {
    pub step: DaeStep,
    pub sgd: DaeSgd,
}

/// The layer of the kind a trainer needs (`as_kind` picks it), or an error naming the step
/// (`want`), the layer's kind and what it was to be trained as (`as_what`).
pub(crate) fn expect_kind<'l, T>(
    layer: &'l mut Layer,
    want: &str,
    as_what: &str,
    as_kind: impl FnOnce(&'l mut Layer) -> Option<&'l mut T>,
) -> Result<&'l mut T, TrainError> {
    let kind = layer.kind();
    as_kind(layer).ok_or_else(|| {
        TrainError::new(format!(
            "{want}: a {} layer cannot be trained as {as_what}",
            kind.name()
        ))
    })
}

fn expect_dae<'l>(layer: &'l mut Layer, want: &str) -> Result<&'l mut DaeLayer, TrainError> {
    expect_kind(layer, want, "a DAE", Layer::as_dae_mut)
}

impl LayerTrainer for DaeTrainer {
    fn step(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        let dae = expect_dae(layer, "DAE step")?;
        self.step.step(k, dae, self.sgd, x, rng)
    }

    fn online(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        examples: &mut dyn FnMut(&mut dyn OnlineStep) -> Result<f64, TrainError>,
    ) -> Result<f64, TrainError> {
        let dae = expect_dae(layer, "DAE online session")?;
        let mut session = DaeSession {
            inner: self.step.online(k, dae, self.sgd.weight_decay)?,
            sgd: self.sgd,
        };
        let total = examples(&mut session);
        session.inner.finish();
        total
    }
}

struct DaeSession<'s> {
    inner: OnlineDae<'s>,
    sgd: DaeSgd,
}

impl OnlineStep for DaeSession<'_> {
    fn step(&mut self, x: &[f32], rng: &mut Xoshiro256PlusPlus) -> Result<f64, TrainError> {
        let s = self.sgd;
        self.inner.step(s.noise, s.loss, x, s.lr, rng)
    }
}
