//! Supervised fine-tuning: the stack's sigmoid encoders plus a softmax output layer, negative
//! log-likelihood, minibatch SGD through every layer; and the batched forward pass used by
//! evaluation and `sdae encode`.
//!
//! With `H_0 = X`, `H_l = s(H_{l-1} W_l + b_l)`, logits `H_L V + bv`:
//! ```text
//! G     = softmax(H_L V + bv) - onehot(y)     fused softmax_nll
//! dH_L  = G V^T                               NT GEMM, before V is updated
//! V    -= (lr/B) H_L^T G                       TN GEMM with the update folded in
//! for l = L..1:
//!   dH_l *= H_l (1 - H_l), gb_l = colsum      fused sigmoid_backward
//!   dH_{l-1} = dH_l W_l^T                     NT GEMM (l > 1), before W_l is updated
//!   W_l = (1 - lr·wd) W_l - (lr/B) H_{l-1}^T dH_l   TN GEMM
//! ```
//! At batch 1 (the paper's online SGD) without weight decay, the last two lines are one sweep
//! over `W_l` (`Kernels::dot_axpy_rows`: each row's dot product with `dH_l`, then its update),
//! and the first layer's update touches only the rows of non-zero inputs.

use sdae_kernels::{Kernels, MatMut, MatRef, SoftmaxStats};

use super::TrainError;
use crate::model::{EncoderMut, Model, OutputLayer};

/// Buffers for the forward pass of a stack on batches of at most `max_batch` rows.
pub struct Forward {
    max_batch: usize,
    /// `H_l` for l = 1..=L, each `max_batch x h_l`.
    hs: Vec<Vec<f32>>,
    logits: Vec<f32>,
}

fn check_shape(model: &Model, widths: &[usize], classes: usize) -> Result<(), TrainError> {
    let same = widths.len() == model.layers.len() + 1
        && widths[0] == model.input_dim()
        && model
            .layers
            .iter()
            .zip(&widths[1..])
            .all(|(l, &w)| l.h() == w);
    if !same || model.output.as_ref().map_or(0, |o| o.k) != classes {
        return Err(TrainError::new(format!(
            "buffers sized for widths {widths:?} and {classes} classes, model has {:?} and {}",
            model.widths(),
            model.output.as_ref().map_or(0, |o| o.k)
        )));
    }
    Ok(())
}

impl Forward {
    /// Buffers for `model`'s shapes (its output layer, if any, included).
    pub fn new(model: &Model, max_batch: usize) -> Forward {
        Forward {
            max_batch,
            hs: model
                .layers
                .iter()
                .map(|l| vec![0.0; max_batch * l.h()])
                .collect(),
            logits: vec![0.0; max_batch * model.output.as_ref().map_or(0, |o| o.k)],
        }
    }

    /// Encode `rows` rows of `x` through the first `upto` layers; returns `H_upto` (`rows x h`).
    pub fn encode<'s>(
        &'s mut self,
        k: &Kernels,
        model: &Model,
        upto: usize,
        x: &'s [f32],
        rows: usize,
    ) -> Result<&'s [f32], TrainError> {
        if rows > self.max_batch || upto > model.layers.len() || self.hs.len() != model.layers.len()
        {
            return Err(TrainError::new(format!(
                "forward: {rows} rows through {upto} layers, buffers hold {} rows and {} layers",
                self.max_batch,
                self.hs.len()
            )));
        }
        let d0 = model.input_dim();
        if upto == 0 {
            return Ok(&x[..rows * d0]);
        }
        for (l, layer) in model.layers[..upto].iter().map(|l| l.encoder()).enumerate() {
            let (prev, cur) = self.hs.split_at_mut(l);
            let input: &[f32] = if l == 0 {
                &x[..rows * d0]
            } else {
                &prev[l - 1][..rows * layer.d]
            };
            let out = &mut cur[0][..rows * layer.h];
            if rows == 1 {
                layer.encode_one_sparse(k, input, out)?;
            } else {
                let input = MatRef::new(input, rows, layer.d)?;
                layer.encode(k, input, MatMut::new(out, rows, layer.h)?)?;
            }
        }
        Ok(&self.hs[upto - 1][..rows * model.layers[upto - 1].h()])
    }

    /// Classify `rows` rows: NLL and correct count against `labels`.
    pub fn classify(
        &mut self,
        k: &Kernels,
        model: &Model,
        x: &[f32],
        labels: &[u32],
        rows: usize,
    ) -> Result<SoftmaxStats, TrainError> {
        let o = model
            .output
            .as_ref()
            .ok_or_else(|| TrainError::new("the model has no output layer: fine-tune it first"))?;
        let nl = model.layers.len();
        self.encode(k, model, nl, x, rows)?;
        let top: &[f32] = if nl == 0 {
            &x[..rows * o.h]
        } else {
            &self.hs[nl - 1][..rows * o.h]
        };
        let mut logits = MatMut::new(&mut self.logits[..rows * o.k], rows, o.k)?;
        output_logits(k, o, MatRef::new(top, rows, o.h)?, logits.rb_mut())?;
        Ok(k.softmax_nll(logits, &labels[..rows], Some(&o.bv), None, None)?)
    }
}

/// The output layer's logits before its bias, `out = top · V` (`rows x k`); the bias is added
/// by the softmax kernel. Shared by evaluation and the fine-tuning step.
fn output_logits(
    k: &Kernels,
    o: &OutputLayer,
    top: MatRef<'_>,
    out: MatMut<'_>,
) -> Result<(), TrainError> {
    k.sgemm(1.0, top, MatRef::new(&o.v, o.h, o.k)?, 0.0, out)?;
    Ok(())
}

/// Errors of a classifier over a whole split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalResult {
    pub rows: usize,
    pub errors: usize,
    /// Mean NLL per example.
    pub nll: f64,
}

impl EvalResult {
    /// Error rate in [0, 1].
    pub fn error_rate(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.errors as f64 / self.rows as f64
        }
    }
    /// Half-width of the 95% interval of the error rate: `1.96 sqrt(p (1-p) / n)`.
    pub fn ci95(&self) -> f64 {
        let p = self.error_rate();
        if self.rows == 0 {
            0.0
        } else {
            1.96 * (p * (1.0 - p) / self.rows as f64).sqrt()
        }
    }
}

/// Classify every row of a split in batches of the forward buffers' size.
pub fn evaluate(
    k: &Kernels,
    model: &Model,
    fwd: &mut Forward,
    x: &[f32],
    y: &[u32],
    rows: usize,
) -> Result<EvalResult, TrainError> {
    let d = model.input_dim();
    let mut errors = 0;
    let mut nll = 0.0;
    let mut start = 0;
    while start < rows {
        let r = fwd.max_batch.min(rows - start);
        let st = fwd.classify(
            k,
            model,
            &x[start * d..(start + r) * d],
            &y[start..start + r],
            r,
        )?;
        errors += r - st.correct;
        nll += st.loss;
        start += r;
    }
    Ok(EvalResult {
        rows,
        errors,
        nll: if rows == 0 { 0.0 } else { nll / rows as f64 },
    })
}

/// Buffers of one fine-tuning step for batches of at most `max_batch` rows.
pub struct FinetuneStep {
    max_batch: usize,
    widths: Vec<usize>,
    classes: usize,
    fwd: Forward,
    /// `dH_l` for l = 1..=L.
    ds: Vec<Vec<f32>>,
    gbs: Vec<Vec<f32>>,
    gbv: Vec<f32>,
    /// `-lr · H_{l-1}` of one example, for the one-sweep batch-1 backward pass.
    coef: Vec<f32>,
}

impl FinetuneStep {
    pub fn new(model: &Model, max_batch: usize) -> FinetuneStep {
        FinetuneStep {
            max_batch,
            widths: model.widths(),
            classes: model.output.as_ref().map_or(0, |o| o.k),
            fwd: Forward::new(model, max_batch),
            ds: model
                .layers
                .iter()
                .map(|l| vec![0.0; max_batch * l.h()])
                .collect(),
            gbs: model.layers.iter().map(|l| vec![0.0; l.h()]).collect(),
            gbv: vec![0.0; model.output.as_ref().map_or(0, |o| o.k)],
            coef: vec![0.0; model.layers.iter().map(|l| l.d()).max().unwrap_or(0)],
        }
    }

    /// One SGD step on the batch `x` (`rows x d`) with its `labels` (at least `rows`);
    /// returns the batch's summed NLL and correct count (before the update).
    pub fn step(
        &mut self,
        k: &Kernels,
        model: &mut Model,
        x: MatRef<'_>,
        labels: &[u32],
        lr: f32,
        weight_decay: f32,
    ) -> Result<SoftmaxStats, TrainError> {
        check_shape(model, &self.widths, self.classes)?;
        if model.output.is_none() {
            return Err(TrainError::new("fine-tuning needs an output layer"));
        }
        let d0 = model.input_dim();
        let rows = x.nrows();
        if rows == 0 || rows > self.max_batch || x.ncols() != d0 || labels.len() < rows {
            return Err(TrainError::new(format!(
                "fine-tune step: a batch of {rows} x {} with {} labels for a step sized for 1..={} rows of {d0}",
                x.ncols(),
                labels.len(),
                self.max_batch
            )));
        }
        for &l in &labels[..rows] {
            if l as usize >= self.classes {
                return Err(TrainError::new(format!(
                    "label {l} out of range for {} classes",
                    self.classes
                )));
            }
        }
        let nl = model.layers.len();
        let x = x.contiguous("fine-tune step", "x")?;
        self.fwd.encode(k, model, nl, x, rows)?;
        let o = model.output.as_mut().expect("checked above");
        let step = lr / rows as f32;
        let keep = 1.0 - lr * weight_decay;
        let hs = &self.fwd.hs;
        let top: &[f32] = if nl == 0 {
            x
        } else {
            &hs[nl - 1][..rows * o.h]
        };
        let top = MatRef::new(top, rows, o.h)?;
        let mut g = MatMut::new(&mut self.fwd.logits[..rows * o.k], rows, o.k)?;
        output_logits(k, o, top, g.rb_mut())?;
        let labels = &labels[..rows];
        let st = k.softmax_nll(g.rb_mut(), labels, Some(&o.bv), Some(&mut self.gbv), None)?;
        if nl > 0 {
            // dH_L = G V^T before V moves.
            let dtop = MatMut::new(&mut self.ds[nl - 1][..rows * o.h], rows, o.h)?;
            k.sgemm(1.0, g.rb(), MatRef::new(&o.v, o.h, o.k)?.t(), 0.0, dtop)?;
        }
        // V = keep V - step H_L^T G
        k.sgemm(
            -step,
            top.t(),
            g.rb(),
            keep,
            MatMut::new(&mut o.v, o.h, o.k)?,
        )?;
        k.sgd_update(&mut o.bv, &self.gbv, step, 0.0)?;
        for l in (0..nl).rev() {
            let EncoderMut { d, h, w, b } = model.layers[l].encoder_mut();
            let (lower, upper) = self.ds.split_at_mut(l);
            let mut dl = MatMut::new(&mut upper[0][..rows * h], rows, h)?;
            let hl = MatRef::new(&hs[l][..rows * h], rows, h)?;
            k.sigmoid_backward(dl.rb_mut(), hl, &mut self.gbs[l])?;
            let input: &[f32] = if l == 0 { x } else { &hs[l - 1][..rows * d] };
            if l > 0 && rows == 1 && weight_decay == 0.0 {
                // One sweep over W_l: dH_{l-1} = W_l dH_l with each row as it was, and the
                // row's SGD step, while the row is in L1 (one read + write of W_l instead of
                // a product pass and an update pass).
                let coef = &mut self.coef[..d];
                for (c, &v) in coef.iter_mut().zip(input) {
                    *c = -step * v;
                }
                let dprev = &mut lower[l - 1][..d];
                k.dot_axpy_rows(MatMut::new(w, d, h)?, dl.rb().data(), coef, dprev)?;
                k.sgd_update(b, &self.gbs[l], step, 0.0)?;
                continue;
            }
            if l > 0 {
                // dH_{l-1} = dH_l W_l^T before W_l moves.
                let dprev = MatMut::new(&mut lower[l - 1][..rows * d], rows, d)?;
                k.sgemm(1.0, dl.rb(), MatRef::new(w, d, h)?.t(), 0.0, dprev)?;
            }
            if rows == 1 && weight_decay == 0.0 {
                // W -= lr input dl^T: only the rows of the non-zero inputs move.
                let dl = dl.rb().data();
                for (i, &v) in input.iter().enumerate() {
                    if v != 0.0 {
                        k.sgd_update(&mut w[i * h..(i + 1) * h], dl, step * v, 0.0)?;
                    }
                }
            } else {
                // W_l = keep W_l - step H_{l-1}^T dH_l
                let input = MatRef::new(input, rows, d)?;
                k.sgemm(-step, input.t(), dl.rb(), keep, MatMut::new(w, d, h)?)?;
            }
            k.sgd_update(b, &self.gbs[l], step, 0.0)?;
        }
        Ok(st)
    }
}
