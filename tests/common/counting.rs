//! A counting global allocator for the allocation tests (`train_alloc`, `rbm_alloc`): every
//! allocation and reallocation made while counting is on is counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let r = f();
    COUNTING.store(false, Ordering::SeqCst);
    (r, ALLOCS.load(Ordering::SeqCst))
}

/// Three pre-training epochs of `trainer` on `layer` after one warm-up epoch (lazily built
/// kernel tables, thread-locals): their summed loss and how many allocations they made.
pub fn pretrain_epoch_allocs(
    trainer: &mut dyn sdae::train::layer::LayerTrainer,
    layer: &mut sdae::model::Layer,
    x: &[f32],
    (rows, d, batch): (usize, usize, usize),
) -> (f64, usize) {
    use rand_xoshiro::rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    let k = sdae_kernels::kernels();
    let mut order = vec![0u32; sdae::train::batch_count(rows, batch)];
    let (mut nr, mut sr) = (
        Xoshiro256PlusPlus::seed_from_u64(2),
        Xoshiro256PlusPlus::seed_from_u64(3),
    );
    let input = sdae_kernels::MatRef::new(x, rows, d).unwrap();
    let mut epoch = |layer: &mut sdae::model::Layer| {
        let mut quiet = |_, _| {};
        let mut epoch = sdae::train::EpochOrder::new(batch, &mut order, &mut sr, &mut quiet);
        sdae::train::run::pretrain_epoch(k, trainer, layer, input, &mut nr, &mut epoch).unwrap()
    };
    epoch(layer);
    counted(|| (0..3).map(|_| epoch(layer)).sum::<f64>())
}
