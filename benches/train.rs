//! Criterion bench of one denoising step of a 784 -> 1000 tied layer (ν = 0.25 masking,
//! cross-entropy, SGD) at the batch sizes of the issue, throughput in examples.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::model::DaeLayer;
use sdae::train::dae::DaeSgd;
use sdae::train::{DaeStep, Loss, Noise};
use sdae_kernels::{kernels, MatRef};

fn dae_step(c: &mut Criterion) {
    let k = kernels();
    let (d, h) = (784, 1000);
    let mut g = c.benchmark_group("dae_step_784x1000");
    g.sample_size(20);
    for batch in [1usize, 20, 128] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let rows = (batch * 8).max(256);
        let x = sdae::bench_train::mnist_like_inputs(rows, d, &mut rng);
        let mut layer = DaeLayer::new(d, h, true, &mut rng);
        let mut step = DaeStep::new(d, h, batch);
        let nb = rows / batch;
        let mut i = 0;
        g.throughput(Throughput::Elements(batch as u64));
        let (noise, loss, lr) = (Noise::Mask(0.25), Loss::CrossEntropy, 0.01);
        if batch == 1 {
            // Batch 1 trains online, as pre-training does: one session over the measurement.
            let mut online = step.online(k, &mut layer, 0.0).unwrap();
            g.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
                b.iter(|| {
                    let xb = &x[(i % nb) * d..(i % nb + 1) * d];
                    i += 1;
                    online.step(noise, loss, xb, lr, &mut rng).unwrap()
                })
            });
            continue;
        }
        g.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter(|| {
                let xb = &x[(i % nb) * batch * d..(i % nb + 1) * batch * d];
                i += 1;
                let xb = MatRef::new(xb, batch, d).unwrap();
                let sgd = DaeSgd {
                    noise,
                    loss,
                    lr,
                    weight_decay: 0.0,
                };
                step.step(k, &mut layer, sgd, xb, &mut rng).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, dae_step);
criterion_main!(benches);
