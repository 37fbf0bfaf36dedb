//! aarch64 Advanced SIMD (NEON) vocabulary and the micro-kernel shim.
//!
//! Tile 8 x 12: 24 accumulators + 3 B vectors + 1 broadcast of the 32 q registers. Not tuned by
//! measurement (no aarch64 hardware here; tested under qemu for correctness only).

use std::arch::aarch64::*;

use super::microkernel::{fma_loop_body, kernel_body, SimdF32};

/// NEON: 4 lanes, 32 q registers.
pub(crate) struct Neon;

// SAFETY: every method uses NEON intrinsics only; callers are shims compiled with `neon`
// and reached only through a table built after detecting it.
unsafe impl SimdF32 for Neon {
    type V = float32x4_t;
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> float32x4_t {
        // SAFETY: NEON available (trait contract).
        unsafe { vdupq_n_f32(0.0) }
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> float32x4_t {
        // SAFETY: NEON available (trait contract).
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> float32x4_t {
        // SAFETY: NEON available; the caller guarantees 4 readable floats at p.
        unsafe { vld1q_f32(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: float32x4_t) {
        // SAFETY: NEON available; the caller guarantees 4 writable floats at p.
        unsafe { vst1q_f32(p, v) }
    }
    #[inline(always)]
    unsafe fn mul_add(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available (trait contract). vfmaq_f32(c, a, b) = c + a*b, fused.
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    unsafe fn mul(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available (trait contract).
        unsafe { vmulq_f32(a, b) }
    }
}

/// NEON micro-kernel, tile 8 x 12.
///
/// # Safety
///
/// The CPU must have NEON; the pointers must satisfy the micro-kernel contract for 8 x 12.
#[target_feature(enable = "neon")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn neon_8x12(
    k: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY: feature enabled on this function; pointer contract forwarded.
    unsafe { kernel_body::<Neon, 8, 3>(k, alpha, a, b, ldb, beta, c, ldc) }
}

/// Register-only FMA loop, NEON (16 chains).
///
/// # Safety
///
/// The CPU must have NEON.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn neon_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: feature enabled on this function.
    unsafe { fma_loop_body::<Neon, 16>(iters, seed) }
}
