//! The AVX2 + FMA vocabulary: 8 `f32` lanes in a `__m256`, masks as all-ones lanes.

use std::arch::x86_64::*;

use super::Simd;

/// The AVX2 + FMA token.
#[derive(Clone, Copy, Debug)]
pub struct Avx2;

/// A lane mask of the first `n` lanes of 8, as the `__m256i` that maskload/maskstore take.
///
/// # Safety
/// AVX2 is available.
#[inline(always)]
unsafe fn prefix_mask(n: usize) -> __m256i {
    // SAFETY: AVX2 is available (caller's contract).
    unsafe {
        let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), iota)
    }
}

/// Defines `reduce_add` and `reduce_max` from their 128-bit and scalar instructions: the two
/// halves combined, then lanes (0, 2) and (1, 3), then the two: the fixed order of the sum.
macro_rules! fold_lanes {
    ($($name:ident = $ps:ident, $ss:ident;)+) => {
        $(
            #[inline(always)]
            unsafe fn $name(a: __m256) -> f32 {
                // SAFETY: AVX available.
                unsafe {
                    let s = $ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
                    let s = $ps(s, _mm_movehl_ps(s, s));
                    let s = $ss(s, _mm_movehdup_ps(s));
                    _mm_cvtss_f32(s)
                }
            }
        )+
    };
}

// SAFETY: every method uses AVX/AVX2/FMA only; callers hold the Avx2 table, built only after
// run-time detection of avx2 and fma.
unsafe impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    type M = __m256;

    super::one_instruction_ops!(__m256;
        memory { splat = _mm256_set1_ps, load = _mm256_loadu_ps, store = _mm256_storeu_ps }
        binary { add = _mm256_add_ps, sub = _mm256_sub_ps, mul = _mm256_mul_ps,
                 div = _mm256_div_ps, max = _mm256_max_ps, min = _mm256_min_ps }
        ternary { mul_add = _mm256_fmadd_ps, neg_mul_add = _mm256_fnmadd_ps });

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize, fill: f32) -> __m256 {
        // SAFETY: maskload does not touch masked-off lanes; `p..p+n` readable (caller).
        unsafe {
            let m = prefix_mask(n);
            let v = _mm256_maskload_ps(p, m);
            _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(m))
        }
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: __m256, n: usize) {
        // SAFETY: maskstore does not touch masked-off lanes; `p..p+n` writable (caller).
        unsafe { _mm256_maskstore_ps(p, prefix_mask(n), v) }
    }

    #[inline(always)]
    unsafe fn abs(a: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
    }
    #[inline(always)]
    unsafe fn neg_abs(a: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_or_ps(a, _mm256_set1_ps(-0.0)) }
    }
    #[inline(always)]
    unsafe fn round(a: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(a) }
    }
    #[inline(always)]
    unsafe fn ldexp(y: __m256, n: __m256) -> __m256 {
        // SAFETY: AVX2 available.
        unsafe {
            let i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32::<23>(i)))
        }
    }

    #[inline(always)]
    unsafe fn lt(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(a, b) }
    }
    #[inline(always)]
    unsafe fn ge(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_cmp_ps::<_CMP_GE_OQ>(a, b) }
    }
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> __m256 {
        // SAFETY: AVX2 available.
        unsafe { _mm256_castsi256_ps(prefix_mask(n)) }
    }
    #[inline(always)]
    unsafe fn select(m: __m256, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX available.
        unsafe { _mm256_blendv_ps(b, a, m) }
    }
    #[inline(always)]
    unsafe fn eq_bits(a: __m256, b: __m256) -> u64 {
        // SAFETY: AVX available.
        unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(a, b)) as u32 as u64 }
    }
    #[inline(always)]
    unsafe fn lt_u16(p: *const u16, t: u16) -> __m256 {
        // SAFETY: `p..p+8` readable (caller); AVX2 available. Widened to 32 bits, both sides
        // are below 2^16, so the signed compare is the unsigned one.
        unsafe {
            let u = _mm256_cvtepu16_epi32(_mm_loadu_si128(p as *const __m128i));
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(t as i32), u))
        }
    }
    #[inline(always)]
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: `p..p+8` readable (caller); SSE2 available.
        unsafe {
            let u = _mm_loadu_si128(p as *const __m128i);
            _mm_movemask_epi8(_mm_cmpeq_epi16(u, _mm_set1_epi16(t as i16))) != 0
        }
    }
    #[inline(always)]
    unsafe fn iota_u32(p: *mut u32, start: u32) {
        // SAFETY: `p..p+8` writable (caller); AVX2 available.
        unsafe {
            let v = _mm256_add_epi32(
                _mm256_set1_epi32(start as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            _mm256_storeu_si256(p as *mut __m256i, v)
        }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: a prefetch is a hint and never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p as *const i8) }
    }
    fold_lanes! {
        reduce_add = _mm_add_ps, _mm_add_ss;
        reduce_max = _mm_max_ps, _mm_max_ss;
    }
}
