//! Fused kernels, aarch64 NEON: the generic bodies over 4-lane `float32x4_t`. The sigmoid
//! kernels interleave two vectors (8 columns) per step (not timed: qemu only).

super::shims::fused_shims!(
    crate::simd::neon::Neon,
    crate::simd::pair::Pair<crate::simd::neon::Neon>,
    #[target_feature(enable = "neon")]
);
