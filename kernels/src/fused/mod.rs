//! Fused element-wise kernels: the BLIS-style "fused" family of sdae.
//!
//! Each kernel makes one pass over a row-major batch and does what would otherwise be several:
//! bias + sigmoid (forward of every layer), sigmoid + cross-entropy / squared error + gradient
//! (+ bias gradient), sigmoid backward + bias gradient, softmax + NLL + gradient (+ arg-max),
//! masking noise (fixed count or Bernoulli), and the SGD update. The specification of each is
//! in [`crate::reference`].
//!
//! Layout: `generic.rs` holds every kernel once, written over the SIMD vocabulary of
//! [`crate::simd`]; `scalar.rs`, `avx2.rs`, `avx512.rs`, `neon.rs` stamp out the same names per
//! ISA as thin `#[target_feature]` shims (macro in `shims.rs`) and a table of function pointers,
//! `FusedFns`. The safe methods on [`Kernels`] below validate shapes, then make one indirect
//! call through the table of their ISA.
//!
//! Exactness: the masking kernels are bit-identical to the reference on every ISA (same draws,
//! same order; the random streams are specified on [`crate::reference::mask_fixed`] and
//! [`crate::reference::mask_bernoulli`], drawn through [`crate::random`]). The others match it within a few ulp per element
//! (vector `exp` / sigmoid errors are documented on [`crate::simd::exp`] and
//! [`crate::simd::sigmoid_parts`]); losses are summed in `f32` lanes per row and in `f64`
//! across rows.
//!
//! Speed: the sigmoid kernels are bound by the latency of each vector's long chain of
//! dependent operations (range reduction, polynomial, division), so they walk a row several
//! vectors at a time, interleaved step by step ([`crate::simd::pair::Pair`]: 4 vectors on
//! AVX2, 8 on AVX-512, 2 on NEON and scalar; chosen by measurement in each ISA's module).

use crate::mat::{check_len, MatMut, MatRef};
use crate::random::SampleUniforms;
use crate::{Isa, KernelError, Kernels, Loss, Xoshiro256PlusPlus};

pub(crate) mod generic;
pub(crate) mod sample;
#[macro_use]
mod shims;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
mod scalar;

use generic::{LossOpts, MathFn, SoftmaxOpts};

/// What [`Kernels::softmax_nll`] reports for a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoftmaxStats {
    /// Summed negative log-likelihood of the labels.
    pub loss: f64,
    /// Rows whose arg-max (first maximal column) equals the label.
    pub correct: usize,
}

/// A batch's `(rows, cols)` shape.
type Shape = (usize, usize);

/// One ISA's fused-kernel entry points, over contiguous row-major batches of the given
/// [`Shape`]. Each is `unsafe`: it may only be called on a CPU with that ISA and with the
/// slice lengths the safe methods check.
#[allow(clippy::type_complexity)]
pub(crate) struct FusedFns {
    /// `f32` lanes of the vocabulary the kernels were instantiated with.
    lanes: usize,
    sigmoid_bias_inplace: unsafe fn(&mut [f32], Shape, &[f32]),
    sigmoid_xent: unsafe fn(&mut [f32], &[f32], Shape, LossOpts<'_>) -> f64,
    sigmoid_sqerr: unsafe fn(&mut [f32], &[f32], Shape, LossOpts<'_>) -> f64,
    sigmoid_backward: unsafe fn(&mut [f32], &[f32], Shape, &mut [f32]),
    softmax_nll: unsafe fn(&mut [f32], Shape, &[u32], SoftmaxOpts<'_>) -> SoftmaxStats,
    mask_fixed: unsafe fn(&[f32], &mut [f32], Shape, usize, &mut Xoshiro256PlusPlus, &mut [u32]),
    mask_bernoulli: unsafe fn(&[f32], &mut [f32], f32, &mut Xoshiro256PlusPlus),
    sgd_update: unsafe fn(&mut [f32], &[f32], f32, f32),
    dot_axpy_rows: unsafe fn(&mut [f32], Shape, &[f32], &[f32], &mut [f32]),
    math_inplace: unsafe fn(MathFn, &mut [f32]),
    sample_rows: unsafe fn(*mut f32, Shape, Option<&[f32]>, &mut [f32], &mut SampleUniforms),
}

/// The fused-kernel part of a kernel table.
pub(crate) struct FusedTable {
    fns: FusedFns,
}

impl FusedTable {
    /// The table of `isa`. Only called by [`Kernels::for_isa`] after checking that the CPU
    /// supports `isa`: that check is what makes calling these function pointers sound.
    pub(crate) fn for_supported_isa(isa: Isa) -> FusedTable {
        let fns = crate::isa::fns_of_isa!(isa);
        FusedTable { fns }
    }
}

fn check_opt(kernel: &str, what: &str, got: Option<usize>, want: usize) -> Result<(), KernelError> {
    match got {
        Some(g) => check_len(kernel, what, g, want),
        None => Ok(()),
    }
}

/// A batch view's contiguous elements and `(rows, cols)` (see [`MatMut::into_contiguous`]).
fn batch_mut<'a>(
    k: &str,
    what: &str,
    m: MatMut<'a>,
) -> Result<(&'a mut [f32], Shape), KernelError> {
    let shape = (m.stored_rows(), m.stored_cols());
    Ok((m.into_contiguous(k, what)?, shape))
}

/// A batch view's contiguous elements, checked to be `shape` (that of the kernel's first batch).
fn batch_like<'a>(
    k: &str,
    what: &str,
    m: MatRef<'a>,
    shape: Shape,
) -> Result<&'a [f32], KernelError> {
    let data = m.contiguous(k, what)?;
    crate::mat::check_shape(k, what, (m.stored_rows(), m.stored_cols()), shape)?;
    Ok(data)
}

impl Kernels {
    /// Kernel 1: `y[r,c] = s(y[r,c] + bias[c])` in place over the batch `y`; see
    /// [`crate::reference::sigmoid_bias_inplace`].
    pub fn sigmoid_bias_inplace(&self, y: MatMut<'_>, bias: &[f32]) -> Result<(), KernelError> {
        let k = "sigmoid_bias_inplace";
        let (y, shape) = batch_mut(k, "y", y)?;
        check_len(k, "bias", bias.len(), shape.1)?;
        // SAFETY: this table exists only for a supported ISA; lengths checked above.
        unsafe { (self.fused.fns.sigmoid_bias_inplace)(y, shape, bias) };
        Ok(())
    }

    /// Kernels 2 (`sigmoid_xent`) and 2b (`sigmoid_sqerr`): sigmoid output with `loss` against
    /// the targets `x`, from the logits
    /// `a` (+ `bias`, one per column): returns the summed loss and overwrites `a` with the
    /// gradient with respect to the logits; writes `z = s(a + bias)` into `z_out` and the
    /// gradient's column sums into `bias_grad` when given. See
    /// [`crate::reference::sigmoid_loss`].
    pub fn sigmoid_loss(
        &self,
        loss: Loss,
        a: MatMut<'_>,
        x: MatRef<'_>,
        bias: Option<&[f32]>,
        z_out: Option<MatMut<'_>>,
        bias_grad: Option<&mut [f32]>,
    ) -> Result<f64, KernelError> {
        let (k, f) = match loss {
            Loss::CrossEntropy => ("sigmoid_xent", self.fused.fns.sigmoid_xent),
            Loss::SquaredError => ("sigmoid_sqerr", self.fused.fns.sigmoid_sqerr),
        };
        let (a, shape) = batch_mut(k, "a", a)?;
        let x = batch_like(k, "x", x, shape)?;
        check_opt(k, "bias", bias.map(|b| b.len()), shape.1)?;
        check_opt(k, "bias_grad", bias_grad.as_ref().map(|g| g.len()), shape.1)?;
        let z_out = match z_out {
            Some(z) => {
                crate::mat::check_shape(k, "z_out", (z.nrows(), z.ncols()), shape)?;
                Some(z.into_contiguous(k, "z_out")?)
            }
            None => None,
        };
        let opts = LossOpts {
            bias,
            z_out,
            bias_grad,
        };
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        Ok(unsafe { f(a, x, shape, opts) })
    }

    /// Kernel 3: sigmoid backward, `d *= h (1 - h)`, with the bias gradient's column sums; see
    /// [`crate::reference::sigmoid_backward`].
    pub fn sigmoid_backward(
        &self,
        d: MatMut<'_>,
        h: MatRef<'_>,
        bias_grad: &mut [f32],
    ) -> Result<(), KernelError> {
        let k = "sigmoid_backward";
        let (d, shape) = batch_mut(k, "d", d)?;
        let h = batch_like(k, "h", h, shape)?;
        check_len(k, "bias_grad", bias_grad.len(), shape.1)?;
        // SAFETY: this table exists only for a supported ISA; lengths checked above.
        unsafe { (self.fused.fns.sigmoid_backward)(d, h, shape, bias_grad) };
        Ok(())
    }

    /// Kernel 4: softmax + NLL + gradient over the batch `logits` (one row per example, one
    /// label each); see [`crate::reference::softmax_nll`].
    pub fn softmax_nll(
        &self,
        logits: MatMut<'_>,
        labels: &[u32],
        bias: Option<&[f32]>,
        bias_grad: Option<&mut [f32]>,
        pred: Option<&mut [u32]>,
    ) -> Result<SoftmaxStats, KernelError> {
        let k = "softmax_nll";
        let (logits, (rows, cols)) = batch_mut(k, "logits", logits)?;
        check_len(k, "labels", labels.len(), rows)?;
        check_opt(k, "bias", bias.map(|b| b.len()), cols)?;
        check_opt(k, "bias_grad", bias_grad.as_ref().map(|b| b.len()), cols)?;
        check_opt(k, "pred", pred.as_ref().map(|p| p.len()), rows)?;
        if let Some((r, &y)) = labels.iter().enumerate().find(|(_, &y)| y as usize >= cols) {
            return Err(KernelError::new(format!(
                "{k}: labels[{r}] = {y} is out of range, expected a class index below {cols}"
            )));
        }
        let opts = SoftmaxOpts {
            bias,
            bias_grad,
            pred,
        };
        // SAFETY: this table exists only for a supported ISA; lengths and labels checked above
        // (rows > 0 with a valid label implies cols > 0).
        Ok(unsafe { (self.fused.fns.softmax_nll)(logits, (rows, cols), labels, opts) })
    }

    /// Kernel 5: masking noise, `out = x` with exactly `count` zeros per row; see
    /// [`crate::reference::mask_fixed`]. Bit-identical to the reference on every ISA.
    /// `scratch` holds at least one entry per column.
    pub fn mask_fixed(
        &self,
        x: MatRef<'_>,
        out: MatMut<'_>,
        count: usize,
        rng: &mut Xoshiro256PlusPlus,
        scratch: &mut [u32],
    ) -> Result<(), KernelError> {
        let k = "mask_fixed";
        let (out, shape) = batch_mut(k, "out", out)?;
        let x = batch_like(k, "x", x, shape)?;
        let cols = shape.1;
        if count > cols {
            return Err(KernelError::new(format!(
                "{k}: count = {count} zeros per row, expected at most the row width {cols}"
            )));
        }
        if scratch.len() < cols {
            return Err(KernelError::new(format!(
                "{k}: scratch has {} entries, expected at least the row width {cols}",
                scratch.len()
            )));
        }
        if u32::try_from(cols).is_err() {
            return Err(KernelError::new(format!(
                "{k}: row width {cols} does not fit the u32 indices of the shuffle"
            )));
        }
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        unsafe { (self.fused.fns.mask_fixed)(x, out, shape, count, rng, scratch) };
        Ok(())
    }

    /// Kernel 5b: Bernoulli masking; see [`crate::reference::mask_bernoulli`]. Bit-identical to
    /// the reference on every ISA.
    pub fn mask_bernoulli(
        &self,
        x: &[f32],
        out: &mut [f32],
        p: f32,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), KernelError> {
        check_len("mask_bernoulli", "out", out.len(), x.len())?;
        if !(0.0..=1.0).contains(&p) {
            return Err(KernelError::new(format!(
                "mask_bernoulli: p = {p}, expected a probability in [0, 1]"
            )));
        }
        // SAFETY: this table exists only for a supported ISA; lengths checked above.
        unsafe { (self.fused.fns.mask_bernoulli)(x, out, p, rng) };
        Ok(())
    }

    /// Kernel 6: `w -= lr * (g + weight_decay * w)`; see [`crate::reference::sgd_update`].
    pub fn sgd_update(
        &self,
        w: &mut [f32],
        g: &[f32],
        lr: f32,
        weight_decay: f32,
    ) -> Result<(), KernelError> {
        check_len("sgd_update", "g", g.len(), w.len())?;
        // SAFETY: this table exists only for a supported ISA; lengths checked above.
        unsafe { (self.fused.fns.sgd_update)(w, g, lr, weight_decay) };
        Ok(())
    }

    /// Kernel 7, the batch-1 backward pass through a layer in one sweep over `w`
    /// (`rows x cols`, contiguous): `dot[i] = w_i · d` with row `i` as it was, then
    /// `w_i += coef[i] d`; see [`crate::reference::dot_axpy_rows`]. With `w` a layer's weights
    /// (`d_in x h`), `d` the layer's pre-activation gradient and `coef = -lr · input`, `dot`
    /// is the gradient at the input and `w` has taken its SGD step.
    pub fn dot_axpy_rows(
        &self,
        w: MatMut<'_>,
        d: &[f32],
        coef: &[f32],
        dot: &mut [f32],
    ) -> Result<(), KernelError> {
        let k = "dot_axpy_rows";
        let (w, shape) = batch_mut(k, "w", w)?;
        check_len(k, "d", d.len(), shape.1)?;
        check_len(k, "coef", coef.len(), shape.0)?;
        check_len(k, "dot", dot.len(), shape.0)?;
        // SAFETY: this table exists only for a supported ISA; lengths checked above.
        unsafe { (self.fused.fns.dot_axpy_rows)(w, shape, d, coef, dot) };
        Ok(())
    }

    /// The `f32` lanes per vector of this table's fused kernels (1 scalar, 8 AVX2, 16 AVX-512,
    /// 4 NEON): lets tests prove that a table really runs its ISA's code, not a fallback.
    pub fn fused_lanes(&self) -> usize {
        self.fused.fns.lanes
    }

    /// `x = e^x` element-wise with this ISA's vector exp ([`crate::simd::exp`]); for tests and
    /// measurements of the math the fused kernels use.
    pub fn exp_inplace(&self, x: &mut [f32]) {
        // SAFETY: this table exists only for a supported ISA; any length is valid.
        unsafe { (self.fused.fns.math_inplace)(MathFn::Exp, x) }
    }

    /// `x = s(x) = 1 / (1 + e^-x)` element-wise with this ISA's vector sigmoid
    /// ([`crate::simd::sigmoid_parts`]).
    pub fn sigmoid_inplace(&self, x: &mut [f32]) {
        // SAFETY: this table exists only for a supported ISA; any length is valid.
        unsafe { (self.fused.fns.math_inplace)(MathFn::Sigmoid, x) }
    }

    /// `x = ln(1 + e^x)` element-wise, the softplus of the cross-entropy kernel
    /// (`max(x, 0) + log1p(e^-|x|)`, [`crate::simd::log1p_unit`]).
    pub fn softplus_inplace(&self, x: &mut [f32]) {
        // SAFETY: this table exists only for a supported ISA; any length is valid.
        unsafe { (self.fused.fns.math_inplace)(MathFn::Softplus, x) }
    }
}
