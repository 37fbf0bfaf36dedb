//! Fused kernels, aarch64 NEON: the generic bodies over 4-lane `float32x4_t`.

super::shims::fused_shims!(crate::simd::neon::Neon, #[target_feature(enable = "neon")]);
