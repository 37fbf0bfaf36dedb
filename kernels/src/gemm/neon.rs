//! aarch64 Advanced SIMD (NEON) micro-kernel shim over the shared `crate::simd` vocabulary.
//!
//! The tiles are listed in `gemm/registry.rs`; none was tuned by measurement on aarch64 hardware
//! (none here): they are tested under qemu for correctness, and `sdae tune` picks among them on
//! the machine.

use super::microkernel::fma_loop_body;
use crate::simd::neon::Neon;

super::microkernel::tile_family!(neon_kernel, neon_tile, Neon, #[target_feature(enable = "neon")]);

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
