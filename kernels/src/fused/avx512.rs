//! Fused kernels, AVX-512 F+BW+DQ+VL: the generic bodies over 16-lane `__m512`.

super::shims::fused_shims!(
    crate::simd::avx512::Avx512,
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
);
