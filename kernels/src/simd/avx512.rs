//! The AVX-512 (F+BW+DQ+VL) vocabulary: 16 `f32` lanes in a `__m512`, masks as `__mmask16`.

use std::arch::x86_64::*;

use super::avx2::Avx2;
use super::Simd;

/// The AVX-512 token.
#[derive(Clone, Copy, Debug)]
pub struct Avx512;

#[inline(always)]
fn prefix(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// Lanes 0..8 of `a`.
#[inline(always)]
unsafe fn lower(a: __m512) -> __m256 {
    // SAFETY: AVX-512F available (caller).
    unsafe { _mm512_castps512_ps256(a) }
}

/// Lanes 8..16 of `a`.
#[inline(always)]
unsafe fn upper(a: __m512) -> __m256 {
    // SAFETY: AVX-512F available (caller).
    unsafe { _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a))) }
}

// SAFETY: every method uses AVX-512F/DQ (and FMA) only; callers hold the Avx512 table, built only
// after run-time detection of avx512f/bw/dq/vl and fma.
unsafe impl Simd for Avx512 {
    const LANES: usize = 16;
    type V = __m512;
    type M = __mmask16;

    super::one_instruction_ops!(__m512;
        memory { splat = _mm512_set1_ps, load = _mm512_loadu_ps, store = _mm512_storeu_ps }
        binary { add = _mm512_add_ps, sub = _mm512_sub_ps, mul = _mm512_mul_ps,
                 div = _mm512_div_ps, max = _mm512_max_ps, min = _mm512_min_ps }
        ternary { mul_add = _mm512_fmadd_ps, neg_mul_add = _mm512_fnmadd_ps });

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize, fill: f32) -> __m512 {
        // SAFETY: masked-off lanes are not touched; `p..p+n` readable (caller).
        unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(fill), prefix(n), p) }
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
        // SAFETY: masked-off lanes are not touched; `p..p+n` writable (caller).
        unsafe { _mm512_mask_storeu_ps(p, prefix(n), v) }
    }

    #[inline(always)]
    unsafe fn abs(a: __m512) -> __m512 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_abs_ps(a) }
    }
    #[inline(always)]
    unsafe fn neg_abs(a: __m512) -> __m512 {
        // SAFETY: AVX-512DQ available (vorps zmm).
        unsafe { _mm512_or_ps(a, _mm512_set1_ps(-0.0)) }
    }
    #[inline(always)]
    unsafe fn round(a: __m512) -> __m512 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    unsafe fn ldexp(y: __m512, n: __m512) -> __m512 {
        // SAFETY: AVX-512F available. scalef: y * 2^floor(n), one instruction.
        unsafe { _mm512_scalef_ps(y, n) }
    }

    #[inline(always)]
    unsafe fn lt(a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    unsafe fn ge(a: __m512, b: __m512) -> __mmask16 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_cmp_ps_mask::<_CMP_GE_OQ>(a, b) }
    }
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> __mmask16 {
        prefix(n)
    }
    #[inline(always)]
    unsafe fn select(m: __mmask16, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_mask_blend_ps(m, b, a) }
    }
    #[inline(always)]
    unsafe fn eq_bits(a: __m512, b: __m512) -> u64 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(a, b) as u64 }
    }
    #[inline(always)]
    unsafe fn lt_u16(p: *const u16, t: u16) -> __mmask16 {
        // SAFETY: `p..p+16` readable (caller); AVX-512BW+VL available.
        unsafe {
            let u = _mm256_loadu_si256(p as *const __m256i);
            _mm256_cmplt_epu16_mask(u, _mm256_set1_epi16(t as i16))
        }
    }
    #[inline(always)]
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: `p..p+16` readable (caller); AVX-512BW+VL available.
        unsafe {
            let u = _mm256_loadu_si256(p as *const __m256i);
            _mm256_cmpeq_epu16_mask(u, _mm256_set1_epi16(t as i16)) != 0
        }
    }
    #[inline(always)]
    unsafe fn iota_u32(p: *mut u32, start: u32) {
        // SAFETY: `p..p+16` writable (caller); AVX-512F available.
        unsafe {
            let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            let v = _mm512_add_epi32(_mm512_set1_epi32(start as i32), iota);
            _mm512_storeu_si512(p as *mut __m512i, v)
        }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: a prefetch is a hint and never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    #[inline(always)]
    unsafe fn reduce_add(a: __m512) -> f32 {
        // SAFETY: AVX-512F available, and with it AVX2: the halves added, then AVX2's sum.
        unsafe { Avx2::reduce_add(_mm256_add_ps(lower(a), upper(a))) }
    }
    #[inline(always)]
    unsafe fn reduce_max(a: __m512) -> f32 {
        // SAFETY: AVX-512F available, and with it AVX2: the halves' maximum, then AVX2's.
        unsafe { Avx2::reduce_max(_mm256_max_ps(lower(a), upper(a))) }
    }
}
