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
//!
//! **Batch 1 (online SGD, tied, no weight decay): [`DaeStep::online`].** At batch 1 every GEMM
//! above is a matrix-vector product and the step is bound by moving `W` (784 x 1000 = 3.1 MB,
//! more than the 1 MB L2) through the cache hierarchy. With row `i` of `W` belonging to input
//! `i`, example `t` needs
//! ```text
//! forward  y = s(b + Σ_{x~_i != 0} x~_i W_i)          rows of the non-zero inputs only
//! decode   z_i = s(c_i + W_i . y), g_i = z_i - x_i     (cross-entropy; sqerr analogous)
//! back     dY = (Σ_i g_i W_i) * y (1 - y)              every row
//! update   W_i -= lr (x~_i dY + g_i y), b -= lr dY, c -= lr g
//! ```
//! The decoder half `W_i -= lr g_i y` needs only `g_i`, known as soon as row `i` is decoded;
//! the encoder half needs `dY`, known only after every row. So a session does ONE pass over
//! all rows per example (`tied_sigmoid_rows`: decode, accumulate `dY` with the old row,
//! decoder half) and leaves the encoder half pending, `pend_i = lr x~_i` with `u = dY`; the
//! next visit of row `i` applies it first, in the next example's forward (the non-zero
//! inputs' rows, `sparse_row_combine`) or its pass. Every example sees `W` after all previous
//! updates: exactly sequential online SGD, only rounding and summation order differ from the
//! general path (tested to within steps x (d + h) x eps). Masking (ν = 0.25) and MNIST's
//! blank pixels leave about 15% of the inputs non-zero, so the traffic per example is one
//! read and write of `W` plus a read of ~15% of it (~6.8 MB), against ~7.7 MB for the
//! previous batch-1 path, which also spent three kernel calls per row (a 1 x 8 GEMM for the
//! dot products, two AXPYs) where the pass now makes one call for all rows, 8 rows at a time
//! (the dots of 8 rows share each load of `y`, their updates each load and store of `dY`).
//!
//! The session works on a private copy of `W` whose rows start on 64-byte lines (row stride
//! `h` rounded up to 16 floats): with `h = 1000` the layer's own rows are misaligned and split
//! 512-bit stores made the pass ~40% slower. [`OnlineDae::finish`] (or drop) applies the
//! pending update and copies `W` back, and the session borrows the layer mutably, so no one
//! can read stale parameters; pre-training opens one session per epoch, so checkpoints hold
//! the exact post-epoch parameters and `--resume` stays bit-identical.

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{Kernels, MatMut, MatRef, Pending, TiedRows};

use super::{Loss, Noise, TrainError};
use crate::model::{DaeLayer, StackLayer};

/// How a DAE step trains: the corruption of its input, the reconstruction loss, the learning
/// rate (applied to the mean gradient of the batch) and the weight decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DaeSgd {
    pub noise: Noise,
    pub loss: Loss,
    pub lr: f32,
    pub weight_decay: f32,
}

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
    /// The buffers of the fused online path ([`DaeStep::online`]), when `max_batch == 1`.
    online: Option<OnlineBuffers>,
}

/// Floats per 64-byte cache line: rows of the private copy of `W` start on a line.
const LINE: usize = 16;

/// The state of the online path between examples: a private copy of `W` whose rows start on
/// cache lines (`ld` = `h` rounded up to 16 floats), and the encoder half of the previous
/// example's weight update, left pending (`W_i -= pend_i u`) until its row is next visited.
struct OnlineBuffers {
    ld: usize,
    /// `d x ld` from `off` (the first 64-byte boundary of the allocation).
    w: Vec<f32>,
    off: usize,
    /// The code `y` of the current example, `h`.
    y: Vec<f32>,
    /// `dY` being accumulated, `h`.
    acc: Vec<f32>,
    /// `dY` of the previous example, `h`.
    u: Vec<f32>,
    /// `lr x~_i` of the previous example, `d` (0 once row `i` received its update).
    pend: Vec<f32>,
    /// The gradient of the reconstruction logits, `d`.
    g: Vec<f32>,
}

impl OnlineBuffers {
    fn new(d: usize, h: usize) -> OnlineBuffers {
        let ld = h.div_ceil(LINE) * LINE;
        let w = vec![0.0f32; d * ld + LINE];
        let off = w.as_ptr().align_offset(LINE * 4).min(LINE);
        OnlineBuffers {
            ld,
            w,
            off,
            y: vec![0.0; h],
            acc: vec![0.0; h],
            u: vec![0.0; h],
            pend: vec![0.0; d],
            g: vec![0.0; d],
        }
    }
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
            online: (max_batch == 1).then(|| OnlineBuffers::new(d, h)),
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

    /// Corrupt the batch `x` (`rows x d`) into the first `rows x d` of the stacked input buffer.
    pub fn corrupt(
        &mut self,
        k: &Kernels,
        noise: Noise,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), TrainError> {
        let n = x.nrows() * self.d;
        let out = MatMut::new(&mut self.xs[..n], x.nrows(), self.d)?;
        super::corrupt(k, noise, x, out, rng, &mut self.scratch)
    }

    /// Check that `x` is a batch this step can take (1 to `max_batch` rows of `d`); its rows.
    fn batch_rows(&self, x: &MatRef<'_>) -> Result<usize, TrainError> {
        let rows = x.nrows();
        if rows == 0 || rows > self.max_batch || x.ncols() != self.d {
            return Err(TrainError::new(format!(
                "DAE step: a batch of {rows} x {} for a step sized for 1..={} rows of {}",
                x.ncols(),
                self.max_batch,
                self.d
            )));
        }
        Ok(rows)
    }

    /// Loss and gradient pass over an already corrupted batch (in place of [`DaeStep::step`]'s
    /// first stage) with clean targets `x` (`rows x d`), then the SGD update with learning rate
    /// `lr` on the mean gradient. Returns the summed reconstruction loss of the batch (before
    /// the update).
    pub fn step_corrupted(
        &mut self,
        k: &Kernels,
        layer: &mut DaeLayer,
        x: MatRef<'_>,
        loss: Loss,
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
        let rows = self.batch_rows(&x)?;
        let (xt, da) = self.xs[..2 * rows * d].split_at_mut(rows * d);
        let (dy, y) = self.yy[..2 * rows * h].split_at_mut(rows * h);
        let xt = MatRef::new(xt, rows, d)?;
        let (mut da, mut dy, mut y) = (
            MatMut::new(da, rows, d)?,
            MatMut::new(dy, rows, h)?,
            MatMut::new(y, rows, h)?,
        );
        // The decoder W' (h x d) is W^T when tied (model::Decoder).
        let (enc, dec) = (layer.encoder(), layer.decoder());
        // Y = s(X~ W + b)
        enc.encode(k, xt, y.rb_mut())?;
        // A = Y W'; then dA = s(A + c) - x (or the squared error's), gc = colsum(dA)
        dec.logits(k, y.rb(), da.rb_mut())?;
        let total = k.sigmoid_loss(
            loss,
            da.rb_mut(),
            x,
            Some(&layer.c),
            None,
            Some(&mut self.gc),
        )?;
        // dY = (dA W'^T) * Y * (1 - Y), gb = colsum(dY)
        dec.backprop(k, da.rb(), dy.rb_mut())?;
        k.sigmoid_backward(dy.rb_mut(), y.rb(), &mut self.gb)?;
        let step = lr / rows as f32;
        let keep = 1.0 - lr * weight_decay;
        match &mut layer.w_dec {
            None => {
                // W = keep W - step ([X~; dA]^T [dY; Y]): one GEMM, k = 2B.
                let xs = MatRef::new(&self.xs[..2 * rows * d], 2 * rows, d)?;
                let yy = MatRef::new(&self.yy[..2 * rows * h], 2 * rows, h)?;
                k.sgemm(-step, xs.t(), yy, keep, MatMut::new(&mut layer.w, d, h)?)?;
            }
            Some(wd) => {
                // W = keep W - step X~^T dY, W' = keep W' - step Y^T dA
                k.sgemm(
                    -step,
                    xt.t(),
                    dy.rb(),
                    keep,
                    MatMut::new(&mut layer.w, d, h)?,
                )?;
                k.sgemm(-step, y.rb().t(), da.rb(), keep, MatMut::new(wd, h, d)?)?;
            }
        }
        k.sgd_update(&mut layer.b, &self.gb, step, 0.0)?;
        k.sgd_update(&mut layer.c, &self.gc, step, 0.0)?;
        Ok(total)
    }

    /// One full step on the batch `x` (`rows x d`): corrupt it with `sgd.noise`, then
    /// [`DaeStep::step_corrupted`].
    pub fn step(
        &mut self,
        k: &Kernels,
        layer: &mut DaeLayer,
        sgd: DaeSgd,
        x: MatRef<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        self.batch_rows(&x)?;
        self.corrupt(k, sgd.noise, x, rng)?;
        self.step_corrupted(k, layer, x, sgd.loss, sgd.lr, sgd.weight_decay)
    }
}

impl DaeStep {
    /// Start online training (batch 1, the paper's SGD) of `layer`: the returned session's
    /// [`OnlineDae::step`] does one SGD step per example, and `layer` is up to date when the
    /// session ends ([`OnlineDae::finish`], or drop). Tied weights without weight decay in a
    /// step built for `max_batch == 1` take the fused path (module doc); anything else runs
    /// [`DaeStep::step`] per example.
    pub fn online<'s>(
        &'s mut self,
        k: &'s Kernels,
        layer: &'s mut DaeLayer,
        weight_decay: f32,
    ) -> Result<OnlineDae<'s>, TrainError> {
        let (d, h) = (self.d, self.h);
        if layer.d != d || layer.h != h {
            return Err(TrainError::new(format!(
                "DAE step built for {d} -> {h} but the layer is {} -> {}",
                layer.d, layer.h
            )));
        }
        let fused = layer.w_dec.is_none() && weight_decay == 0.0;
        if let (true, Some(ob)) = (fused, self.online.as_mut()) {
            let ld = ob.ld;
            let w = &mut ob.w[ob.off..ob.off + d * ld];
            for (dst, src) in w.chunks_exact_mut(ld).zip(layer.w.chunks_exact(h)) {
                dst[..h].copy_from_slice(src);
            }
            ob.pend.fill(0.0);
            ob.u.fill(0.0);
        }
        let fused = fused && self.online.is_some();
        Ok(OnlineDae {
            k,
            step: self,
            layer,
            weight_decay,
            fused,
        })
    }
}

/// A session of online (batch-1) training of one layer, from [`DaeStep::online`].
///
/// On the fused path the session works on a private copy of `W` and leaves the encoder half
/// of each example's update pending until the next example visits the row; it borrows the
/// layer mutably, so nothing can read the parameters before [`OnlineDae::finish`] (or drop)
/// has applied the pending update and copied `W` back: the layer then holds exactly what
/// sequential SGD produced.
pub struct OnlineDae<'s> {
    k: &'s Kernels,
    step: &'s mut DaeStep,
    layer: &'s mut DaeLayer,
    weight_decay: f32,
    fused: bool,
}

impl OnlineDae<'_> {
    /// Corrupt the example `x` (`d` values) with `noise`, then one SGD step with learning rate
    /// `lr`. Returns the example's reconstruction loss before the update.
    pub fn step(
        &mut self,
        noise: Noise,
        loss: Loss,
        x: &[f32],
        lr: f32,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<f64, TrainError> {
        let (k, d, h) = (self.k, self.step.d, self.step.h);
        if x.len() < d {
            return Err(TrainError::new(format!(
                "DAE online step: an example of {} values, expected {d}",
                x.len()
            )));
        }
        let x = MatRef::new(&x[..d], 1, d)?;
        if !self.fused {
            let weight_decay = self.weight_decay;
            let sgd = DaeSgd {
                noise,
                loss,
                lr,
                weight_decay,
            };
            return self.step.step(k, self.layer, sgd, x, rng);
        }
        self.step.corrupt(k, noise, x, rng)?;
        let step = &mut *self.step;
        let xt = &step.xs[..d];
        let ob = step
            .online
            .as_mut()
            .expect("fused implies the online buffers");
        let mut w = MatMut::strided(&mut ob.w[ob.off..ob.off + d * ob.ld], d, h, ob.ld)?;
        let layer = &mut *self.layer;
        // y = s(b + Σ_{x~_i != 0} x~_i W_i), each row brought up to date first.
        ob.y.fill(0.0);
        let pending = Pending {
            pend: &mut ob.pend,
            u: &ob.u,
        };
        k.sparse_row_combine(w.rb_mut(), xt, pending, &mut ob.y)?;
        k.sigmoid_bias_inplace(MatMut::new(&mut ob.y, 1, h)?, &layer.b)?;
        // One pass over the rows: pending update, z_i, g_i = dL/da_i, dY += g_i W_i,
        // W_i -= lr g_i y.
        ob.acc.fill(0.0);
        let pending = Pending {
            pend: &mut ob.pend,
            u: &ob.u,
        };
        let pass = TiedRows {
            loss,
            y: &ob.y,
            c: &layer.c,
            x: x.data(),
            lr,
            g: &mut ob.g,
            acc: &mut ob.acc,
        };
        let total = k.tied_sigmoid_rows(w, pending, pass)?;
        // dY = acc * y (1 - y) (also its bias gradient), the bias steps, and the encoder half
        // W_i -= lr x~_i dY left pending for the rows with x~_i != 0.
        let y = MatRef::new(&ob.y, 1, h)?;
        k.sigmoid_backward(MatMut::new(&mut ob.acc, 1, h)?, y, &mut step.gb)?;
        k.sgd_update(&mut layer.b, &step.gb, lr, 0.0)?;
        k.sgd_update(&mut layer.c, &ob.g, lr, 0.0)?;
        std::mem::swap(&mut ob.acc, &mut ob.u);
        for (p, &v) in ob.pend.iter_mut().zip(xt) {
            *p = lr * v;
        }
        Ok(total)
    }

    /// End the session: apply the pending update and copy `W` back into the layer.
    pub fn finish(self) {}

    fn flush(&mut self) {
        if !self.fused {
            return;
        }
        let (d, h) = (self.step.d, self.step.h);
        let ob = self
            .step
            .online
            .as_mut()
            .expect("fused implies the online buffers");
        let ld = ob.ld;
        let w = &mut ob.w[ob.off..ob.off + d * ld];
        for ((row, p), dst) in w
            .chunks_exact_mut(ld)
            .zip(ob.pend.iter_mut())
            .zip(self.layer.w.chunks_exact_mut(h))
        {
            if *p != 0.0 {
                // Shapes match by construction (h values each).
                let _ = self.k.sgd_update(&mut row[..h], &ob.u, *p, 0.0);
                *p = 0.0;
            }
            dst.copy_from_slice(&row[..h]);
        }
    }
}

impl Drop for OnlineDae<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}
