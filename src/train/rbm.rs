//! One CD-1 step of an RBM layer (binary units), in buffers sized once: the lab's PLearn
//! learner of 2007, and the Deep Learning Tutorial's `rbm.py` at `k = 1`.
//!
//! With `V0` the batch (`B x d`, inputs in [0, 1] read as probabilities), `W` (`d x h`):
//! ```text
//! H0  = s(V0 W + b)                      NN GEMM + fused bias/sigmoid/Bernoulli:
//! H0~ ~ Bernoulli(H0)                      sigmoid_bias_bernoulli (stream Noise(l))
//! P1  = s(H0~ W^T + c), loss             NT GEMM + fused sigmoid_xent against V0
//! V1  ~ Bernoulli(P1)  (or V1 = P1)      bernoulli_sample
//! H1  = s(V1 W + b)                      NN GEMM + fused bias/sigmoid (expectations)
//! W   = (1 - lr·wd) W + (lr/B) [V0; V1]^T [H0; -H1]   ONE TN GEMM with k = 2B, as the DAE's
//! b  += (lr/B) 1^T [H0; -H1],  c += (lr/B) [1; -1]^T [V0; V1]   (1 x 2B GEMMs, beta = 1)
//! ```
//! The positive statistics use the data and the hidden expectations, the negative ones the
//! sampled reconstruction and its hidden expectations: `v0^T h0 - v1^T h1` is the CD-1
//! estimate of the log-likelihood gradient. `[V0; V1]` and `[H0; -H1]` live stacked in one
//! `2B x d` and one `2B x h` buffer, so the whole weight update is one GEMM with the step
//! folded into alpha and beta, the same TN product the tied DAE's update is.
//!
//! The loss reported per example is the cross-entropy of the reconstruction's mean `P1`
//! against `V0` (the tutorial's "reconstruction cross-entropy": the mean of `v` given the
//! sampled `h`), free from the fused loss kernel; it is what the epoch log shows.
//!
//! Batch 1 (online) runs the same step per example: at `B = 1` the GEMMs are matrix-vector
//! products and the update a rank-2 one, still one TN GEMM.

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatMut, MatRef};

use super::layer::{LayerTrainer, OnlineStep};
use super::{Loss, TrainError};
use crate::config::RbmConfig;
use crate::model::{Layer, RbmLayer};

/// How a CD-1 step trains: the learning rate (on the mean statistics of the batch), the
/// weight decay (on `W` only) and whether `v1` is sampled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RbmSgd {
    pub lr: f32,
    pub weight_decay: f32,
    pub sample_visible: bool,
}

impl RbmSgd {
    pub fn new(cfg: RbmConfig, lr: f32, weight_decay: f32) -> RbmSgd {
        RbmSgd {
            lr,
            weight_decay,
            sample_visible: cfg.sample_visible,
        }
    }
}

/// Buffers of one RBM layer's CD-1 step for batches of at most `max_batch` rows.
pub struct RbmStep {
    d: usize,
    h: usize,
    max_batch: usize,
    /// `[V0; V1]`, `2B x d`.
    vv: Vec<f32>,
    /// `[H0; -H1]`, `2B x h`.
    hh: Vec<f32>,
    /// `H0~`, the sampled hidden units, `B x h`.
    hs: Vec<f32>,
    /// `P1`, the reconstruction's mean, `B x d`.
    p1: Vec<f32>,
    /// `2B` ones, then `B` ones and `B` minus ones: the bias updates' left factors.
    ones: Vec<f32>,
    signs: Vec<f32>,
}

impl RbmStep {
    pub fn new(d: usize, h: usize, max_batch: usize) -> RbmStep {
        let b = max_batch;
        RbmStep {
            d,
            h,
            max_batch,
            vv: vec![0.0; 2 * b * d],
            hh: vec![0.0; 2 * b * h],
            hs: vec![0.0; b * h],
            p1: vec![0.0; b * d],
            ones: vec![1.0; 2 * b],
            signs: vec![0.0; 2 * b],
        }
    }

    /// The last step's `H0` (`rows x h`), `H0~`, `V1` (`rows x d`) and `-H1`, for tests.
    pub fn chain(&self, rows: usize) -> (&[f32], &[f32], &[f32], &[f32]) {
        let (d, h) = (self.d, self.h);
        (
            &self.hh[..rows * h],
            &self.hs[..rows * h],
            &self.vv[rows * d..2 * rows * d],
            &self.hh[rows * h..2 * rows * h],
        )
    }

    /// One CD-1 step on the batch `x` (`rows x d`, `1 <= rows <= max_batch`); returns the
    /// summed reconstruction cross-entropy before the update (module doc).
    pub fn step(
        &mut self,
        k: &Kernels,
        layer: &mut RbmLayer,
        sgd: RbmSgd,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        let (d, h) = (self.d, self.h);
        if layer.d != d || layer.h != h {
            return Err(TrainError::new(format!(
                "RBM step built for {d} -> {h} but the layer is {} -> {}",
                layer.d, layer.h
            )));
        }
        let rows = x.nrows();
        if rows == 0 || rows > self.max_batch || x.ncols() != d {
            return Err(TrainError::new(format!(
                "RBM step: a batch of {rows} x {} for a step sized for 1..={} rows of {d}",
                x.ncols(),
                self.max_batch
            )));
        }
        let (v0, v1) = self.vv[..2 * rows * d].split_at_mut(rows * d);
        for (r, dst) in v0.chunks_exact_mut(d).enumerate() {
            dst.copy_from_slice(x.row(r));
        }
        let (h0, h1) = self.hh[..2 * rows * h].split_at_mut(rows * h);
        let hs = &mut self.hs[..rows * h];
        let p1 = &mut self.p1[..rows * d];
        let w = MatRef::new(&layer.w, d, h)?;
        let v0m = MatRef::new(v0, rows, d)?;
        // H0 = s(V0 W + b), H0~ ~ Bernoulli(H0)
        let mut h0m = MatMut::new(h0, rows, h)?;
        k.sgemm(1.0, v0m, w, 0.0, h0m.rb_mut())?;
        k.sigmoid_bias_bernoulli(h0m, &layer.b, MatMut::new(hs, rows, h)?, rng)?;
        // P1 = s(H0~ W^T + c) and its cross-entropy against V0 (the logits go through v1,
        // which the loss kernel overwrites with its gradient; P1 lands in p1).
        let mut v1m = MatMut::new(v1, rows, d)?;
        k.sgemm(1.0, MatRef::new(hs, rows, h)?, w.t(), 0.0, v1m.rb_mut())?;
        let total = k.sigmoid_loss(
            Loss::CrossEntropy,
            v1m.rb_mut(),
            v0m,
            Some(&layer.c),
            Some(MatMut::new(p1, rows, d)?),
            None,
        )?;
        // V1 ~ Bernoulli(P1), or its mean.
        if sgd.sample_visible {
            k.bernoulli_sample(p1, v1m.rb_mut().into_data(), rng)?;
        } else {
            v1m.rb_mut().into_data().copy_from_slice(p1);
        }
        // H1 = s(V1 W + b), stored negated: [H0; -H1].
        let mut h1m = MatMut::new(h1, rows, h)?;
        k.sgemm(1.0, v1m.rb(), w, 0.0, h1m.rb_mut())?;
        k.sigmoid_bias_inplace(h1m, &layer.b)?;
        for v in h1.iter_mut() {
            *v = -*v;
        }
        // W = keep W + step [V0; V1]^T [H0; -H1]: one GEMM, k = 2B.
        let step = sgd.lr / rows as f32;
        let keep = 1.0 - sgd.lr * sgd.weight_decay;
        let vv = MatRef::new(&self.vv[..2 * rows * d], 2 * rows, d)?;
        let hh = MatRef::new(&self.hh[..2 * rows * h], 2 * rows, h)?;
        k.sgemm(step, vv.t(), hh, keep, MatMut::new(&mut layer.w, d, h)?)?;
        // b += step 1^T [H0; -H1], c += step [1; -1]^T [V0; V1].
        let signs = &mut self.signs[..2 * rows];
        signs[..rows].fill(1.0);
        signs[rows..].fill(-1.0);
        let ones = MatRef::new(&self.ones[..2 * rows], 1, 2 * rows)?;
        k.sgemm(step, ones, hh, 1.0, MatMut::new(&mut layer.b, 1, h)?)?;
        let signs = MatRef::new(signs, 1, 2 * rows)?;
        k.sgemm(step, signs, vv, 1.0, MatMut::new(&mut layer.c, 1, d)?)?;
        Ok(total)
    }
}

/// An RBM's trainer: CD-1 ([`RbmStep`]), per example or per minibatch.
pub struct RbmTrainer {
    pub step: RbmStep,
    pub sgd: RbmSgd,
}

fn expect_rbm<'l>(layer: &'l mut Layer, want: &str) -> Result<&'l mut RbmLayer, TrainError> {
    super::layer::expect_kind(layer, want, "an RBM", Layer::as_rbm_mut)
}

impl LayerTrainer for RbmTrainer {
    fn step(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        let rbm = expect_rbm(layer, "CD-1 step")?;
        self.step.step(k, rbm, self.sgd, x, rng)
    }

    fn online(
        &mut self,
        k: &Kernels,
        layer: &mut Layer,
        examples: &mut dyn FnMut(&mut dyn OnlineStep) -> Result<f64, TrainError>,
    ) -> Result<f64, TrainError> {
        let rbm = expect_rbm(layer, "CD-1 online session")?;
        let mut session = RbmSession {
            k,
            step: &mut self.step,
            layer: rbm,
            sgd: self.sgd,
        };
        examples(&mut session)
    }
}

/// Online CD-1: the minibatch step on one example at a time; the layer is always current.
struct RbmSession<'s> {
    k: &'s Kernels,
    step: &'s mut RbmStep,
    layer: &'s mut RbmLayer,
    sgd: RbmSgd,
}

impl OnlineStep for RbmSession<'_> {
    fn step(&mut self, x: &[f32], rng: &mut Xoshiro256PlusPlus) -> Result<f64, TrainError> {
        let d = self.layer.d;
        if x.len() < d {
            return Err(TrainError::new(format!(
                "RBM online step: an example of {} values, expected {d}",
                x.len()
            )));
        }
        let x = MatRef::new(&x[..d], 1, d)?;
        self.step.step(self.k, self.layer, self.sgd, x, rng)
    }
}
