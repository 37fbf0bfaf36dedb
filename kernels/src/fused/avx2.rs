//! Fused kernels, AVX2 + FMA: the generic bodies over 8-lane `__m256`.

super::shims::fused_shims!(crate::simd::avx2::Avx2, #[target_feature(enable = "avx2,fma")]);
