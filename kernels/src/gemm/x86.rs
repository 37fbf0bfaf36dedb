//! x86-64 vocabularies (AVX2+FMA, AVX-512F) and the thin `#[target_feature]` shims around the
//! generic micro-kernel body.

use std::arch::x86_64::*;

use super::microkernel::{fma_loop_body, kernel_body, SimdF32};

/// AVX2 + FMA: 8 lanes, 16 ymm registers.
pub(crate) struct Avx2;

// SAFETY: every method uses AVX/FMA intrinsics only; callers are shims compiled with
// `avx2,fma` and reached only through a table built after detecting those features.
unsafe impl SimdF32 for Avx2 {
    type V = __m256;
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        // SAFETY: AVX available (trait contract).
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        // SAFETY: AVX available (trait contract).
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        // SAFETY: AVX available; the caller guarantees 8 readable floats at p.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        // SAFETY: AVX available; the caller guarantees 8 writable floats at p.
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: FMA available (trait contract).
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX available (trait contract).
        unsafe { _mm256_mul_ps(a, b) }
    }
}

/// AVX-512F: 16 lanes, 32 zmm registers.
pub(crate) struct Avx512;

// SAFETY: every method uses AVX-512F intrinsics only; callers are shims compiled with
// `avx512f` and reached only through a table built after detecting it.
unsafe impl SimdF32 for Avx512 {
    type V = __m512;
    const LANES: usize = 16;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        // SAFETY: AVX-512F available (trait contract).
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        // SAFETY: AVX-512F available (trait contract).
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        // SAFETY: AVX-512F available; the caller guarantees 16 readable floats at p.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        // SAFETY: AVX-512F available; the caller guarantees 16 writable floats at p.
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: AVX-512F available (trait contract).
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F available (trait contract).
        unsafe { _mm512_mul_ps(a, b) }
    }
}

/// Defines a `#[target_feature]` shim `$name` for the tile `$mr x ($nv * LANES)` of `$simd`.
macro_rules! shim {
    ($name:ident, $simd:ty, $feat:literal, $mr:literal, $nv:literal) => {
        /// Micro-kernel shim (tile in the name).
        ///
        /// # Safety
        ///
        /// The CPU must have the shim's target features; the pointers must satisfy the
        /// micro-kernel contract (see `microkernel.rs`) for this tile.
        #[target_feature(enable = $feat)]
        #[allow(clippy::too_many_arguments)]
        pub(crate) unsafe fn $name(
            k: usize,
            alpha: f32,
            a: *const f32,
            b: *const f32,
            ldb: usize,
            beta: f32,
            c: *mut f32,
            ldc: usize,
        ) {
            // SAFETY: features enabled on this function; pointer contract forwarded.
            unsafe { kernel_body::<$simd, $mr, $nv>(k, alpha, a, b, ldb, beta, c, ldc) }
        }
    };
}

shim!(avx2_6x16, Avx2, "avx2,fma", 6, 2);
shim!(avx512_12x32, Avx512, "avx512f", 12, 2);
shim!(avx512_14x32, Avx512, "avx512f", 14, 2);
shim!(avx512_8x48, Avx512, "avx512f", 8, 3);
shim!(avx512_10x48, Avx512, "avx512f", 10, 3);
shim!(avx512_6x64, Avx512, "avx512f", 6, 4);

/// Register-only FMA loop, AVX2 (12 chains: 2 FMA pipes x 4-cycle latency, with slack).
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn avx2_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: features enabled on this function.
    unsafe { fma_loop_body::<Avx2, 12>(iters, seed) }
}

/// Register-only FMA loop, AVX-512 (16 chains: 2 FMA pipes x 4-cycle latency, twice over).
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn avx512_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: features enabled on this function.
    unsafe { fma_loop_body::<Avx512, 16>(iters, seed) }
}
