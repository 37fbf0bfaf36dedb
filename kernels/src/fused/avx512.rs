//! Fused kernels, AVX-512 F+BW+DQ+VL: the generic bodies over 16-lane `__m512`. The sigmoid
//! kernels interleave eight vectors (128 columns) per step: measured on 128 x 1000, xent
//! 54 -> 37 us against one vector per step (two: 47, four: 42).

super::shims::fused_shims!(
    crate::simd::avx512::Avx512,
    crate::simd::pair::Octet<crate::simd::avx512::Avx512>,
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
);
