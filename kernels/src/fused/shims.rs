//! The macro that stamps out one ISA's thin `#[target_feature]` shims around the generic
//! bodies of [`super::generic`], and that ISA's [`super::FusedFns`] table.

/// `fused_shims!(Token, Wide, #[target_feature(enable = "...")])` defines, in the invoking
/// module (`Wide`: the interleaved vocabulary the sigmoid kernels walk rows with),
/// the same names for every ISA (`sigmoid_bias_inplace`, `sigmoid_xent`, ...) and `FNS`.
macro_rules! fused_shims {
    ($S:ty, $W:ty $(, #[$attr:meta])*) => {
        use crate::fused::generic::{self, LossOpts, MathFn, SoftmaxOpts};
        use crate::fused::{FusedFns, Shape, SoftmaxStats};
        use crate::{Loss, Xoshiro256PlusPlus};

        /// # Safety
        /// The CPU supports this ISA; `y.len() == rows * cols`, `bias.len() == cols`.
        $(#[$attr])*
        unsafe fn sigmoid_bias_inplace(y: &mut [f32], shape: Shape, bias: &[f32]) {
            // SAFETY: forwarded contract.
            unsafe { generic::sigmoid_bias_inplace::<$S, $W>(y, shape, bias) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::sigmoid_loss`.
        $(#[$attr])*
        unsafe fn sigmoid_xent(a: &mut [f32], x: &[f32], shape: Shape, opts: LossOpts<'_>) -> f64 {
            // SAFETY: forwarded contract.
            unsafe { generic::sigmoid_loss::<$S, $W>(Loss::CrossEntropy, a, x, shape, opts) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::sigmoid_loss`.
        $(#[$attr])*
        unsafe fn sigmoid_sqerr(a: &mut [f32], x: &[f32], shape: Shape, opts: LossOpts<'_>) -> f64 {
            // SAFETY: forwarded contract.
            unsafe { generic::sigmoid_loss::<$S, $W>(Loss::SquaredError, a, x, shape, opts) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::sigmoid_backward`.
        $(#[$attr])*
        unsafe fn sigmoid_backward(d: &mut [f32], h: &[f32], shape: Shape, bias_grad: &mut [f32]) {
            // SAFETY: forwarded contract.
            unsafe { generic::sigmoid_backward::<$S>(d, h, shape, bias_grad) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes and labels as checked by `Kernels::softmax_nll`.
        $(#[$attr])*
        unsafe fn softmax_nll(
            logits: &mut [f32],
            shape: Shape,
            labels: &[u32],
            opts: SoftmaxOpts<'_>,
        ) -> SoftmaxStats {
            // SAFETY: forwarded contract.
            unsafe { generic::softmax_nll::<$S>(logits, shape, labels, opts) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::mask_fixed`.
        $(#[$attr])*
        unsafe fn mask_fixed(
            x: &[f32],
            out: &mut [f32],
            shape: Shape,
            count: usize,
            rng: &mut Xoshiro256PlusPlus,
            scratch: &mut [u32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { generic::mask_fixed::<$S>(x, out, shape, count, rng, scratch) }
        }

        /// # Safety
        /// The CPU supports this ISA; `out.len() == x.len()`.
        $(#[$attr])*
        unsafe fn mask_bernoulli(x: &[f32], out: &mut [f32], p: f32, rng: &mut Xoshiro256PlusPlus) {
            // SAFETY: forwarded contract.
            unsafe { generic::mask_bernoulli::<$S>(x, out, p, rng) }
        }

        /// # Safety
        /// The CPU supports this ISA; `g.len() == w.len()`.
        $(#[$attr])*
        unsafe fn sgd_update(w: &mut [f32], g: &[f32], lr: f32, weight_decay: f32) {
            // SAFETY: forwarded contract.
            unsafe { generic::sgd_update::<$S>(w, g, lr, weight_decay) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::dot_axpy_rows`.
        $(#[$attr])*
        unsafe fn dot_axpy_rows(
            w: &mut [f32],
            shape: Shape,
            d: &[f32],
            coef: &[f32],
            dot: &mut [f32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { generic::dot_axpy_rows::<$S>(w, shape, d, coef, dot) }
        }

        /// # Safety
        /// The CPU supports this ISA.
        $(#[$attr])*
        unsafe fn math_inplace(f: MathFn, x: &mut [f32]) {
            // SAFETY: forwarded contract.
            unsafe { generic::math_inplace::<$S>(f, x) }
        }

        /// # Safety
        /// The CPU supports this ISA; pointers and lengths as `fused::sample::sample_rows`
        /// requires (checked by `Kernels::sigmoid_bias_bernoulli` / `bernoulli_sample`).
        $(#[$attr])*
        unsafe fn sample_rows(
            t: *mut f32,
            shape: Shape,
            bias: Option<&[f32]>,
            sample: &mut [f32],
            draws: &mut crate::random::SampleUniforms,
        ) {
            // SAFETY: forwarded contract.
            unsafe { crate::fused::sample::sample_rows::<$S, $W>(t, shape, bias, sample, draws) }
        }

        /// This ISA's fused-kernel entry points.
        pub(crate) const FNS: FusedFns = FusedFns {
            lanes: <$S as crate::simd::Simd>::LANES,
            sigmoid_bias_inplace,
            sigmoid_xent,
            sigmoid_sqerr,
            sigmoid_backward,
            softmax_nll,
            mask_fixed,
            mask_bernoulli,
            sgd_update,
            dot_axpy_rows,
            math_inplace,
            sample_rows,
        };
    };
}

pub(crate) use fused_shims;
