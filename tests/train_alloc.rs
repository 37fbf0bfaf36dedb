//! The training loop allocates nothing after start-up: a counting global allocator over whole
//! pre-training and fine-tuning epochs (shuffle, corruption, every GEMM and fused kernel, update).

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::model::{DaeLayer, Layer, Model, OutputLayer};
use sdae::train::dae::DaeSgd;
use sdae::train::layer::DaeTrainer;
use sdae::train::run::finetune_epoch;
use sdae::train::{batch_count, DaeStep, EpochOrder, FinetuneStep, Loss, Noise, SplitView};
use sdae_kernels::{kernels, MatMut, MatRef};

#[path = "common/counting.rs"]
mod counting;
use counting::{counted, pretrain_epoch_allocs};

// One test function so no other test thread allocates while counting is on.
#[test]
fn training_epochs_allocate_nothing() {
    // Single-threaded kernels: a thread pool's own bookkeeping is not the training loop's.
    sdae_kernels::threads::set_threads(1).unwrap();
    // Building the pool spawns its worker, whose own start-up allocations (thread name,
    // thread-locals, deque) may land inside a counted window on a loaded machine: wait until
    // every worker has started and run a job, so only the training loop is counted.
    rayon::broadcast(|_| ());
    let k = kernels();
    // For the failure message: what one product costs on its own (a GEMM that allocates per
    // call makes every step allocate; the kernels must reuse their buffers).
    let (a, b, mut c) = (
        vec![1.0f32; 64 * 48],
        vec![1.0f32; 48 * 32],
        vec![0.0f32; 64 * 32],
    );
    let gemm = |c: &mut Vec<f32>| {
        let (a, b) = (
            MatRef::new(&a, 64, 48).unwrap(),
            MatRef::new(&b, 48, 32).unwrap(),
        );
        k.sgemm(1.0, a, b, 0.0, MatMut::new(c, 64, 32).unwrap())
            .unwrap()
    };
    gemm(&mut c);
    let ((), per_gemm) = counted(|| gemm(&mut c));
    let hint = format!("(one sgemm call alone allocates {per_gemm} times)");
    let (rows, d, h, classes, batch) = (70, 64, 48, 5, 16); // 4 full batches + a short one
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let x: Vec<f32> = (0..rows * d)
        .map(|_| sdae::model::uniform01(&mut rng))
        .collect();
    let y: Vec<u32> = (0..rows).map(|i| (i % classes) as u32).collect();
    for (tied, noise, loss, batch) in [
        (true, Noise::Mask(0.25), Loss::CrossEntropy, batch),
        (false, Noise::Bernoulli(0.25), Loss::SquaredError, batch),
        (true, Noise::SaltPepper(0.1), Loss::CrossEntropy, batch),
        (true, Noise::Gaussian(0.1), Loss::CrossEntropy, batch),
        (true, Noise::Mask(0.25), Loss::CrossEntropy, 1), // the fused online path
    ] {
        let mut layer = Layer::from(DaeLayer::new(d, h, tied, &mut rng));
        let mut trainer = DaeTrainer {
            step: DaeStep::new(d, h, batch),
            sgd: DaeSgd {
                noise,
                loss,
                lr: 0.1,
                weight_decay: 0.0,
            },
        };
        let (l, n) = pretrain_epoch_allocs(&mut trainer, &mut layer, &x, (rows, d, batch));
        assert!(l.is_finite() && l > 0.0);
        assert_eq!(
            n, 0,
            "pre-training (tied={tied}, {noise:?}, {loss:?}) allocated {n} times in 3 epochs (batch {batch}) {hint}"
        );
    }
    let mut model = Model {
        layers: vec![
            DaeLayer::new(d, h, true, &mut rng).into(),
            DaeLayer::new(h, 32, true, &mut rng).into(),
        ],
        output: Some(OutputLayer::zeros(32, classes)),
        provenance: None,
    };
    let tr = SplitView::new("train", &x, &y, d, classes).unwrap();
    let mut step = FinetuneStep::new(&model, batch);
    let mut order = vec![0u32; batch_count(rows, batch)];
    let mut sr = Xoshiro256PlusPlus::seed_from_u64(4);
    let mut epoch = || {
        let mut quiet = |_, _| {};
        let mut epoch = EpochOrder::new(batch, &mut order, &mut sr, &mut quiet);
        finetune_epoch(k, &mut step, &mut model, &tr, 0.1, 0.0, &mut epoch)
            .unwrap()
            .0
    };
    epoch(); // warm-up
    let (r, n) = counted(|| (0..3).map(|_| epoch()).sum::<f64>());
    assert!(r.is_finite());
    assert_eq!(n, 0, "fine-tuning allocated {n} times in 3 epochs {hint}");
}
