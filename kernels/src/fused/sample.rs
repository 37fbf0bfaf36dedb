//! Kernels 8 and 8b, Bernoulli sampling: the binary units of an RBM's Gibbs step.
//!
//! `sigmoid_bias_bernoulli` turns a batch of logits into the units' probabilities
//! `p = s(t + bias)` (in place: the mean-field values CD-1 needs) and draws a binary sample of
//! each, `1` when the stream's uniform `u < p`; `bernoulli_sample` draws from probabilities
//! already computed. The stream is [`crate::random::SampleUniforms`] (one per call, row-major,
//! two 24-bit uniforms per `next_u64`).
//!
//! Exactness: given the same `p`, the samples and the generator's state afterwards are
//! bit-identical to [`crate::reference::bernoulli_sample`] on every ISA (the uniforms are exact
//! in `f32` and the compare is exact). The probabilities of the fused kernel are the ISA's
//! sigmoid ([`crate::simd::sigmoid_parts`], within 2 ulp of the reference); a sample can only
//! differ between two ISAs when a uniform falls between their two roundings of `p`.

use super::generic::wide_then_narrow;
use crate::mat::{check_len, MatMut};
use crate::random::SampleUniforms;
use crate::simd::{load_n as ld, sigmoid_parts, store_n as st, Simd};
use crate::{KernelError, Kernels, Xoshiro256PlusPlus};

/// Row-wise: `p = s(t + bias)` written back into `t` when `bias` is given (else `t` already
/// holds `p` and is only read), then `sample = [u < p]` with `u` from `draws`.
///
/// # Safety
/// ISA available; `t` valid for `rows * cols` reads (and writes when `bias` is some), `bias`
/// for `cols`, `sample` for `rows * cols` writes; `draws` holds `rows * cols` uniforms.
#[inline(always)]
pub unsafe fn sample_rows<S: Simd, W: Simd>(
    t: *mut f32,
    (rows, cols): (usize, usize),
    bias: Option<&[f32]>,
    sample: &mut [f32],
    draws: &mut SampleUniforms,
) {
    debug_assert!(sample.len() == rows * cols && bias.is_none_or(|b| b.len() == cols));
    /// `n <= T::LANES` columns of `p = s(t + b)` from `c`.
    #[inline(always)]
    unsafe fn sig<T: Simd>(row: *mut f32, b: *const f32, c: usize, n: usize) {
        // SAFETY: c + n <= cols (caller), within the row and the bias.
        unsafe {
            let v = T::add(ld::<T>(row.add(c), n, 0.0), ld::<T>(b.add(c), n, 0.0));
            st::<T>(row.add(c), sigmoid_parts::<T>(v).2, n);
        }
    }
    for r in 0..rows {
        // SAFETY: r < rows, so the row lies within t's rows * cols.
        let row = unsafe { t.add(r * cols) };
        if let Some(b) = bias {
            let b = b.as_ptr();
            wide_then_narrow!(cols, W, S, |c, n|
                // SAFETY: c + n <= cols.
                wide: unsafe { sig::<W>(row, b, c, n) },
                // SAFETY: c + n <= cols.
                narrow: unsafe { sig::<S>(row, b, c, n) },
            );
        }
        let out = sample[r * cols..(r + 1) * cols].as_mut_ptr();
        let mut c = 0;
        while c < cols {
            let n = S::LANES.min(cols - c);
            let u = draws.take(n);
            // SAFETY: c + n <= cols; u holds n values; ISA available (caller).
            unsafe {
                let p = ld::<S>(row.add(c), n, 0.0);
                let uv = ld::<S>(u.as_ptr(), n, 1.0);
                let v = S::select(S::lt(uv, p), S::splat(1.0), S::splat(0.0));
                st::<S>(out.add(c), v, n);
            }
            c += n;
        }
    }
}

impl Kernels {
    /// Kernel 8: the binary units of a Gibbs step. `t` (a batch of logits, `rows x cols`)
    /// becomes `p = s(t + bias)` (row-wise, `bias` one per column); `sample` (same shape) gets
    /// `1` where the stream's uniform is below `p`, else `0`. Draws `ceil(rows·cols / 2)`
    /// `next_u64` of `rng`; see [`crate::reference::sigmoid_bias_bernoulli`].
    pub fn sigmoid_bias_bernoulli(
        &self,
        t: MatMut<'_>,
        bias: &[f32],
        sample: MatMut<'_>,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), KernelError> {
        let k = "sigmoid_bias_bernoulli";
        let shape = (t.stored_rows(), t.stored_cols());
        let t = t.into_contiguous(k, "t")?;
        crate::mat::check_shape(
            k,
            "sample",
            (sample.stored_rows(), sample.stored_cols()),
            shape,
        )?;
        let sample = sample.into_contiguous(k, "sample")?;
        check_len(k, "bias", bias.len(), shape.1)?;
        let mut draws = SampleUniforms::new(rng, shape.0 * shape.1);
        // SAFETY: this table exists only for a supported ISA; shapes checked above; the
        // stream holds rows * cols uniforms.
        unsafe {
            (self.fused.fns.sample_rows)(t.as_mut_ptr(), shape, Some(bias), sample, &mut draws)
        };
        draws.finish(rng);
        Ok(())
    }

    /// Kernel 8b: `sample[i] = 1` where the stream's uniform is below `p[i]`, else `0`
    /// (`p` holds probabilities; it is not written). Draws `ceil(len / 2)` `next_u64`; see
    /// [`crate::reference::bernoulli_sample`]. Bit-identical to the reference on every ISA.
    pub fn bernoulli_sample(
        &self,
        p: &[f32],
        sample: &mut [f32],
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(), KernelError> {
        check_len("bernoulli_sample", "sample", sample.len(), p.len())?;
        let mut draws = SampleUniforms::new(rng, p.len());
        // SAFETY: this table exists only for a supported ISA; lengths checked above; with no
        // bias the body only reads `p` (the pointer is never written through).
        unsafe {
            (self.fused.fns.sample_rows)(
                p.as_ptr() as *mut f32,
                (1, p.len()),
                None,
                sample,
                &mut draws,
            )
        };
        draws.finish(rng);
        Ok(())
    }
}
