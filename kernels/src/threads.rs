//! The one thread-count knob of the process.
//!
//! Kernels that parallelise (the GEMM) never use more threads than [`threads`], and use fewer
//! when the work is too small to pay for the synchronisation. Results never depend on the
//! thread count's effect on summation order: the GEMM never splits its k loop.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::KernelError;

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Set the process-wide thread count (the front end's thread knob). Builds rayon's global pool with
/// that many workers the first time; later calls may only lower the count kernels use.
pub fn set_threads(n: usize) -> Result<(), KernelError> {
    if n == 0 {
        return Err(KernelError::new("thread count 0: expected 1 or more"));
    }
    // An already-built global pool is fine: kernels cap themselves at THREADS.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

/// The thread count kernels may use: the value given to [`set_threads`], else rayon's pool size.
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => rayon::current_num_threads(),
        n => n.min(rayon::current_num_threads().max(1)).max(1),
    }
}
