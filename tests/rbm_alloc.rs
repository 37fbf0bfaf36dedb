//! The RBM's CD-1 epoch loop allocates nothing after start-up (the DAE's is
//! `tests/train_alloc.rs`): a counting global allocator over whole pre-training epochs,
//! minibatch and online.

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::config::{RbmConfig, RbmInit};
use sdae::model::{Layer, RbmLayer};
use sdae::train::rbm::{RbmSgd, RbmStep, RbmTrainer};

#[path = "common/counting.rs"]
mod counting;
use counting::pretrain_epoch_allocs;

// One test function so no other test thread allocates while counting is on.
#[test]
fn cd1_epochs_allocate_nothing() {
    sdae_kernels::threads::set_threads(1).unwrap();
    // Let the pool's worker start (and allocate) before anything is counted.
    rayon::broadcast(|_| ());
    let (rows, d, h) = (70, 64, 48);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let x: Vec<f32> = (0..rows * d)
        .map(|_| sdae::model::uniform01(&mut rng))
        .collect();
    for (batch, sample_visible) in [(16, true), (16, false), (1, true)] {
        let mut layer = Layer::from(RbmLayer::new(d, h, RbmInit::InvSqrtMax, &mut rng));
        let cfg = RbmConfig {
            init: RbmInit::InvSqrtMax,
            sample_visible,
        };
        let mut trainer = RbmTrainer {
            step: RbmStep::new(d, h, batch),
            sgd: RbmSgd::new(cfg, 0.05, 0.0),
        };
        let (l, n) = pretrain_epoch_allocs(&mut trainer, &mut layer, &x, (rows, d, batch));
        assert!(l.is_finite() && l > 0.0);
        assert_eq!(
            n, 0,
            "CD-1 (batch {batch}, sample_visible {sample_visible}) allocated {n} times in 3 epochs"
        );
    }
}
