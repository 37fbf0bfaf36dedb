//! Fused kernels, portable scalar code: the generic bodies over one `f32` lane; the sigmoid
//! kernels interleave two lanes per step.

super::shims::fused_shims!(
    crate::simd::scalar::Scalar,
    crate::simd::pair::Pair<crate::simd::scalar::Scalar>
);
