//! `sdae bench dae-step`: throughput of one denoising step of a 784 -> 1000 tied layer
//! (ν = 0.25 masking, cross-entropy, SGD), the step pre-training spends its time in.
//! 7.84 MFLOP of GEMM work per example (four products of 784 x 1000, 2 flops each).

use std::time::Instant;

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{kernels, threads, MatRef};

use crate::cli::bench::DaeStepArgs;
use crate::model::{uniform01, DaeLayer};
use crate::train::dae::DaeSgd;
use crate::train::{DaeStep, Loss, Noise, TrainError};

/// `rows x d` MNIST-like inputs for step benchmarks: 80% zeros, the rest uniform in [0, 1).
/// (The criterion bench in benches/train.rs uses the same data.)
pub fn mnist_like_inputs(rows: usize, d: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f32> {
    (0..rows * d)
        .map(|_| {
            if uniform01(rng) < 0.8 {
                0.0
            } else {
                uniform01(rng)
            }
        })
        .collect()
}

/// Examples per second of the DAE step, median over `reps` timed repetitions.
pub fn measure_dae_step(
    d: usize,
    h: usize,
    batch: usize,
    seconds: f64,
    reps: usize,
) -> Result<f64, String> {
    if batch == 0 || d == 0 || h == 0 || reps == 0 {
        return Err(format!(
            "bench dae-step: --batch {batch}, --d {d}, --h {h}, --reps {reps}: expected all >= 1"
        ));
    }
    let k = kernels();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let rows = (batch * 8).max(512);
    let x = mnist_like_inputs(rows, d, &mut rng);
    let mut layer = DaeLayer::new(d, h, true, &mut rng);
    let mut step = DaeStep::new(d, h, batch);
    let nb = rows / batch;
    let mut i = 0;
    let x = &x;
    let mut next = move || {
        let b = i % nb;
        i += 1;
        &x[b * batch * d..(b + 1) * batch * d]
    };
    let (noise, loss, lr) = (Noise::Mask(0.25), Loss::CrossEntropy, 0.01);
    if batch == 1 {
        // Batch 1 trains online, as pre-training does: one session over the whole measurement.
        let mut online = step.online(k, &mut layer, 0.0).map_err(|e| e.to_string())?;
        time_steps(seconds, reps, batch, &mut rng, |rng| {
            online.step(noise, loss, next(), lr, rng).map(|_| ())
        })
    } else {
        time_steps(seconds, reps, batch, &mut rng, |rng| {
            let xb = MatRef::new(next(), batch, d)?;
            let sgd = DaeSgd {
                noise,
                loss,
                lr,
                weight_decay: 0.0,
            };
            step.step(k, &mut layer, sgd, xb, rng).map(|_| ())
        })
    }
}

/// Examples per second of `one` (a step of `batch` examples), median over `reps` timed
/// repetitions after a warm-up.
fn time_steps(
    seconds: f64,
    reps: usize,
    batch: usize,
    rng: &mut Xoshiro256PlusPlus,
    mut one: impl FnMut(&mut Xoshiro256PlusPlus) -> Result<(), TrainError>,
) -> Result<f64, String> {
    // Warm-up: page in the buffers, build lazy tables.
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < (seconds * 0.1).min(0.5) {
        one(rng).map_err(|e| e.to_string())?;
    }
    let mut rates = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let mut n = 0usize;
        while n == 0 || t.elapsed().as_secs_f64() < seconds / reps as f64 {
            one(rng).map_err(|e| e.to_string())?;
            n += batch;
        }
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    Ok(rates[rates.len() / 2])
}

/// Run `sdae bench dae-step`.
pub fn run_dae_step(a: DaeStepArgs) -> Result<(), String> {
    let eps = measure_dae_step(a.d, a.h, a.batch, a.seconds, a.reps)?;
    let th = threads::threads();
    let isa = kernels().isa();
    let gflops = eps * 8.0 * (a.d * a.h) as f64 / 1e9;
    if a.json {
        println!(
            "{}",
            serde_json::json!({"op": "dae_step", "batch": a.batch, "threads": th, "isa": isa.name(),
                "examples_per_s": eps, "d": a.d, "h": a.h, "gflops": gflops,
                "plan": crate::plan::describe(isa).0, "plan_hash": crate::plan::describe(isa).1,
                "plan_source": crate::plan::describe(isa).2})
        );
    } else {
        println!(
            "dae_step {}->{} batch {:>4} threads {th} isa {isa}: {eps:>9.0} examples/s ({gflops:.1} GFLOP/s of GEMM work)",
            a.d, a.h, a.batch
        );
    }
    Ok(())
}
