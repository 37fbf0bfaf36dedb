//! One SGD step of a denoising autoencoder layer, in buffers sized once.
//!
//! With `X~` the corrupted batch (`B x d`), tied weights `W` (`d x h`):
//! ```text
//! Y  = s(X~ W + b)                      NN GEMM (m=B, n=h, k=d) + fused bias/sigmoid
//! A  = Y W^T                            NT GEMM (m=B, n=d, k=h)
//! dA = s(A + c) - x, gc = colsum(dA)    fused sigmoid_xent (or sigmoid_sqerr)
//! dY = (dA W) * Y * (1 - Y), gb = ...   NN GEMM (m=B, n=h, k=d) + fused sigmoid_backward
//! W  = (1 - lr·wd) W - (lr/B) [X~; dA]^T [dY; Y]   ONE TN GEMM with k = 2B, update folded in
//! ```
//! `[X~; dA]` and `[dY; Y]` live stacked in one `2B x d` and one `2B x h` buffer, so the tied
//! gradient `X~^T dY + dA^T Y` is a single GEMM that also applies the SGD step to `W`: no
//! gradient buffer and no separate update pass. The learning rate applies to the mean gradient
//! over the batch. Untied weights take two TN GEMMs (one per weight matrix).

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, Trans};

use super::{Loss, Noise, TrainError};
use crate::model::DaeLayer;

/// Buffers of one DAE layer's training step for batches of at most `max_batch` rows.
pub struct DaeStep {
    d: usize,
    h: usize,
    max_batch: usize,
    /// `[X~; dA]`, `2B x d`.
    xs: Vec<f32>,
    /// `[dY; Y]`, `2B x h`.
    yy: Vec<f32>,
    gb: Vec<f32>,
    gc: Vec<f32>,
    scratch: Vec<u32>,
}

impl DaeStep {
    pub fn new(d: usize, h: usize, max_batch: usize) -> DaeStep {
        DaeStep {
            d,
            h,
            max_batch,
            xs: vec![0.0; 2 * max_batch * d],
            yy: vec![0.0; 2 * max_batch * h],
            gb: vec![0.0; h],
            gc: vec![0.0; d],
            scratch: vec![0; d],
        }
    }

    /// The corrupted input of the last step (`rows x d`), for tests.
    pub fn corrupted(&self, rows: usize) -> &[f32] {
        &self.xs[..rows * self.d]
    }

    /// The hidden code of the last step (`rows x h`), for tests.
    pub fn hidden(&self, rows: usize) -> &[f32] {
        &self.yy[rows * self.h..2 * rows * self.h]
    }

    /// Corrupt `x` (`rows x d`) into the first `rows x d` of the stacked input buffer.
    pub fn corrupt(
        &mut self,
        k: &Kernels,
        noise: Noise,
        x: &[f32],
        rows: usize,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), TrainError> {
        let n = rows * self.d;
        super::corrupt(
            k,
            noise,
            &x[..n],
            &mut self.xs[..n],
            rows,
            self.d,
            rng,
            &mut self.scratch,
        )
    }

    /// Loss and gradient pass over an already corrupted batch (in place of [`DaeStep::step`]'s
    /// first stage), then the SGD update with learning rate `lr` on the mean gradient.
    /// Returns the summed reconstruction loss of the batch (before the update).
    #[allow(clippy::too_many_arguments)]
    pub fn step_corrupted(
        &mut self,
        k: &Kernels,
        layer: &mut DaeLayer,
        loss: Loss,
        x: &[f32],
        rows: usize,
        lr: f32,
        weight_decay: f32,
    ) -> Result<f64, TrainError> {
        let (d, h) = (self.d, self.h);
        if layer.d != d || layer.h != h {
            return Err(TrainError::new(format!(
                "DAE step built for {d} -> {h} but the layer is {} -> {}",
                layer.d, layer.h
            )));
        }
        if rows == 0 || rows > self.max_batch || x.len() < rows * d {
            return Err(TrainError::new(format!(
                "DAE step: batch of {rows} rows (input {} values) for a step sized for 1..={} rows of {d}",
                x.len(),
                self.max_batch
            )));
        }
        let x = &x[..rows * d];
        if rows == 1 && layer.w_dec.is_none() && weight_decay == 0.0 {
            return self.step_single_tied(k, layer, loss, x, lr);
        }
        let (xt, da) = self.xs[..2 * rows * d].split_at_mut(rows * d);
        let (dy, y) = self.yy[..2 * rows * h].split_at_mut(rows * h);
        // Y = s(X~ W + b)
        k.sgemm(
            Trans::N,
            Trans::N,
            rows,
            h,
            d,
            1.0,
            xt,
            d,
            &layer.w,
            h,
            0.0,
            y,
            h,
        )?;
        k.sigmoid_bias_inplace(y, rows, h, &layer.b)?;
        // A = Y W'  (W' = W^T when tied)
        match &layer.w_dec {
            None => k.sgemm(
                Trans::N,
                Trans::T,
                rows,
                d,
                h,
                1.0,
                y,
                h,
                &layer.w,
                h,
                0.0,
                da,
                d,
            )?,
            Some(wd) => k.sgemm(Trans::N, Trans::N, rows, d, h, 1.0, y, h, wd, d, 0.0, da, d)?,
        }
        // dA and gc, fused with the loss.
        let total = match loss {
            Loss::CrossEntropy => {
                k.sigmoid_xent(da, x, rows, d, Some(&layer.c), None, Some(&mut self.gc))?
            }
            Loss::SquaredError => {
                k.sigmoid_sqerr(da, x, rows, d, Some(&layer.c), None, Some(&mut self.gc))?
            }
        };
        // dY = (dA W'^T) * Y * (1 - Y)
        match &layer.w_dec {
            None => k.sgemm(
                Trans::N,
                Trans::N,
                rows,
                h,
                d,
                1.0,
                da,
                d,
                &layer.w,
                h,
                0.0,
                dy,
                h,
            )?,
            Some(wd) => k.sgemm(
                Trans::N,
                Trans::T,
                rows,
                h,
                d,
                1.0,
                da,
                d,
                wd,
                d,
                0.0,
                dy,
                h,
            )?,
        }
        k.sigmoid_backward(dy, y, rows, h, &mut self.gb)?;
        let step = lr / rows as f32;
        let keep = 1.0 - lr * weight_decay;
        match &mut layer.w_dec {
            None => {
                // W = keep W - step ([X~; dA]^T [dY; Y]): one GEMM, k = 2B.
                k.sgemm(
                    Trans::T,
                    Trans::N,
                    d,
                    h,
                    2 * rows,
                    -step,
                    &self.xs[..2 * rows * d],
                    d,
                    &self.yy[..2 * rows * h],
                    h,
                    keep,
                    &mut layer.w,
                    h,
                )?;
            }
            Some(wd) => {
                k.sgemm(
                    Trans::T,
                    Trans::N,
                    d,
                    h,
                    rows,
                    -step,
                    xt,
                    d,
                    dy,
                    h,
                    keep,
                    &mut layer.w,
                    h,
                )?;
                k.sgemm(
                    Trans::T,
                    Trans::N,
                    h,
                    d,
                    rows,
                    -step,
                    y,
                    h,
                    da,
                    d,
                    keep,
                    wd,
                    d,
                )?;
            }
        }
        k.sgd_update(&mut layer.b, &self.gb, step, 0.0)?;
        k.sgd_update(&mut layer.c, &self.gc, step, 0.0)?;
        Ok(total)
    }

    /// Batch 1, tied, no weight decay (the paper's online SGD). The encoder is a sum of rows of
    /// `W` (AXPYs through the SGD kernel with `g` = a row) over the inputs that are non-zero
    /// after corruption — masking and MNIST's blank pixels make that a minority — instead of a
    /// GEMM over all of `W`; the decoder, `dY = dA W` and the decoder half of the update share
    /// one pass over the rows of `W`, and the encoder half touches the non-zero inputs' rows.
    fn step_single_tied(
        &mut self,
        k: &Kernels,
        layer: &mut DaeLayer,
        loss: Loss,
        x: &[f32],
        lr: f32,
    ) -> Result<f64, TrainError> {
        let (d, h) = (self.d, self.h);
        let (xt, rest) = self.xs.split_at_mut(d);
        let da = &mut rest[..d];
        let (dy, rest) = self.yy.split_at_mut(h);
        let y = &mut rest[..h];
        let w = &mut layer.w;
        // y = s(x~ W + b): only rows with x~_i != 0 contribute.
        y.fill(0.0);
        for (i, &xi) in xt.iter().enumerate() {
            if xi != 0.0 {
                k.sgd_update(y, &w[i * h..(i + 1) * h], -xi, 0.0)?;
            }
        }
        k.sigmoid_bias_inplace(y, 1, h, &layer.b)?;
        // One pass over W, ROW_GROUP rows at a time while they sit in L1: a_i = W_i . y (dot
        // products), dA_i = s(a_i + c_i) - x_i with the loss, dY += dA_i W_i (the old row),
        // then the decoder half of the update, W_i -= lr dA_i y. The old path streamed W three
        // times (decoder GEMM, dY AXPYs, rank-2 update).
        const ROW_GROUP: usize = 8;
        let c = &layer.c;
        dy.fill(0.0);
        let mut total = 0.0;
        let mut i0 = 0;
        while i0 < d {
            let g = ROW_GROUP.min(d - i0);
            let a = &mut da[i0..i0 + g];
            let rows = &w[i0 * h..(i0 + g) * h];
            k.sgemm(Trans::N, Trans::T, 1, g, h, 1.0, y, h, rows, h, 0.0, a, g)?;
            let (xg, cg, gcg) = (&x[i0..i0 + g], &c[i0..i0 + g], &mut self.gc[i0..i0 + g]);
            total += match loss {
                Loss::CrossEntropy => k.sigmoid_xent(a, xg, 1, g, Some(cg), None, Some(gcg))?,
                Loss::SquaredError => k.sigmoid_sqerr(a, xg, 1, g, Some(cg), None, Some(gcg))?,
            };
            for (r, &ga) in a.iter().enumerate() {
                let wi = &mut w[(i0 + r) * h..(i0 + r + 1) * h];
                k.sgd_update(dy, wi, -ga, 0.0)?;
                k.sgd_update(wi, y, lr * ga, 0.0)?;
            }
            i0 += g;
        }
        // dY = (dA W) * y (1 - y), then the encoder half: W_i -= lr x~_i dY, non-zero x~_i only.
        k.sigmoid_backward(dy, y, 1, h, &mut self.gb)?;
        for (i, &xi) in xt.iter().enumerate() {
            if xi != 0.0 {
                k.sgd_update(&mut w[i * h..(i + 1) * h], dy, lr * xi, 0.0)?;
            }
        }
        k.sgd_update(&mut layer.b, &self.gb, lr, 0.0)?;
        k.sgd_update(&mut layer.c, &self.gc, lr, 0.0)?;
        Ok(total)
    }

    /// One full step: corrupt `x` with `noise`, then [`DaeStep::step_corrupted`].
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        k: &Kernels,
        layer: &mut DaeLayer,
        noise: Noise,
        loss: Loss,
        x: &[f32],
        rows: usize,
        lr: f32,
        weight_decay: f32,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        if rows == 0 || rows > self.max_batch || x.len() < rows * self.d {
            return Err(TrainError::new(format!(
                "DAE step: batch of {rows} rows (input {} values) for a step sized for 1..={} rows of {}",
                x.len(),
                self.max_batch,
                self.d
            )));
        }
        self.corrupt(k, noise, x, rows, rng)?;
        self.step_corrupted(k, layer, loss, x, rows, lr, weight_decay)
    }
}

/// The reconstruction loss of `x` given the corrupted `xt` (both `rows x d`), no update, in
/// `f64` on the reference formulas: the gradient checks' objective.
pub fn dae_loss_reference(layer: &DaeLayer, loss: Loss, xt: &[f32], x: &[f32], rows: usize) -> f64 {
    use sdae_kernels::reference::{sigmoid, softplus};
    let (d, h) = (layer.d, layer.h);
    let mut total = 0.0;
    let mut y = vec![0.0f64; h];
    for r in 0..rows {
        for (j, yj) in y.iter_mut().enumerate() {
            let mut t = layer.b[j] as f64;
            for i in 0..d {
                t += xt[r * d + i] as f64 * layer.w[i * h + j] as f64;
            }
            *yj = sigmoid(t);
        }
        for i in 0..d {
            let mut t = layer.c[i] as f64;
            for (j, yj) in y.iter().enumerate() {
                let w = match &layer.w_dec {
                    None => layer.w[i * h + j],
                    Some(wd) => wd[j * d + i],
                };
                t += yj * w as f64;
            }
            let xi = x[r * d + i] as f64;
            total += match loss {
                Loss::CrossEntropy => softplus(t) - xi * t,
                Loss::SquaredError => (sigmoid(t) - xi).powi(2),
            };
        }
    }
    total
}
