//! aarch64 Advanced SIMD (NEON) micro-kernel shim over the shared `crate::simd` vocabulary.
//!
//! Tile 8 x 12: 24 accumulators + 3 B vectors + 1 broadcast of the 32 q registers. Not tuned by
//! measurement (no aarch64 hardware here; tested under qemu for correctness only).

use super::microkernel::{fma_loop_body, kernel_body};
use crate::simd::neon::Neon;

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
    unsafe { kernel_body::<Neon, 8, 3, 8>(k, alpha, a, b, ldb, beta, c, ldc) }
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
