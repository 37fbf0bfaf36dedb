//! `sdae bench dae-step` and `sdae bench rbm-step`: throughput of one pre-training step of a
//! 784 -> 1000 layer, the step pre-training spends its time in: the tied DAE's denoising step
//! (ν = 0.25 masking, cross-entropy, SGD) and the RBM's CD-1 step (src/train/rbm.rs).
//! Both do 7.84 MFLOP of GEMM work per example: three products of 784 x 1000 at 2 flops per
//! multiply-add (DAE: encode, decode, back-propagate; RBM: H0, P1, H1) and the weight update,
//! one TN GEMM with k = 2B (4 flops per weight per example), so 10·d·h in all.

use std::time::Instant;

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{kernels, threads, MatRef};

use crate::cli::bench::StepArgs;
use crate::config::RbmConfig;
use crate::model::{uniform01, DaeLayer, RbmLayer};
use crate::train::dae::DaeSgd;
use crate::train::rbm::{RbmSgd, RbmStep};
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
    check_step_args("dae-step", d, h, batch, reps)?;
    let k = kernels();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let rows = (batch * 8).max(512);
    let x = mnist_like_inputs(rows, d, &mut rng);
    let mut layer = DaeLayer::new(d, h, true, &mut rng);
    let mut step = DaeStep::new(d, h, batch);
    let mut next = batches(&x, d, batch);
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

/// Examples per second of the RBM's CD-1 step with the training defaults (PLearn's
/// initialisation, `v1` sampled; lr 0.01, no weight decay), median over `reps` timed
/// repetitions. Batch 1 runs the same step on one row, as the online session does.
pub fn measure_rbm_step(
    d: usize,
    h: usize,
    batch: usize,
    seconds: f64,
    reps: usize,
) -> Result<f64, String> {
    check_step_args("rbm-step", d, h, batch, reps)?;
    let k = kernels();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let rows = (batch * 8).max(512);
    let x = mnist_like_inputs(rows, d, &mut rng);
    let cfg = RbmConfig::default();
    let mut layer = RbmLayer::new(d, h, cfg.init, &mut rng);
    let mut step = RbmStep::new(d, h, batch);
    let sgd = RbmSgd::new(cfg, 0.01, 0.0);
    let mut next = batches(&x, d, batch);
    time_steps(seconds, reps, batch, &mut rng, |rng| {
        let xb = MatRef::new(next(), batch, d)?;
        step.step(k, &mut layer, sgd, xb, rng).map(|_| ())
    })
}

fn check_step_args(
    bench: &str,
    d: usize,
    h: usize,
    batch: usize,
    reps: usize,
) -> Result<(), String> {
    if batch == 0 || d == 0 || h == 0 || reps == 0 {
        return Err(format!(
            "bench {bench}: --batch {batch}, --d {d}, --h {h}, --reps {reps}: expected all >= 1"
        ));
    }
    Ok(())
}

/// Consecutive `batch x d` batches of `x`, round and round.
fn batches<'x>(x: &'x [f32], d: usize, batch: usize) -> impl FnMut() -> &'x [f32] + 'x {
    let nb = x.len() / (batch * d);
    let mut i = 0;
    move || {
        let b = i % nb;
        i += 1;
        &x[b * batch * d..(b + 1) * batch * d]
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
pub fn run_dae_step(a: StepArgs) -> Result<(), String> {
    report("dae_step", &a, measure_dae_step)
}

/// Run `sdae bench rbm-step`.
pub fn run_rbm_step(a: StepArgs) -> Result<(), String> {
    report("rbm_step", &a, measure_rbm_step)
}

/// Measure the step, then the FMA peak of this run's threads (so bad sizes fail at once); print examples/s and the GEMM
/// work's GFLOP/s as a share of that peak.
fn report(
    op: &str,
    a: &StepArgs,
    measure: fn(usize, usize, usize, f64, usize) -> Result<f64, String>,
) -> Result<(), String> {
    let th = threads::threads();
    let isa = kernels().isa();
    let eps = measure(a.d, a.h, a.batch, a.seconds, a.reps)?;
    let peak = crate::tune::peak(isa, th)?;
    let gflops = eps * 10.0 * (a.d * a.h) as f64 / 1e9;
    let share = 100.0 * gflops / peak;
    if a.json {
        let (plan, hash, source) = crate::plan::describe(isa);
        println!(
            "{}",
            serde_json::json!({"op": op, "batch": a.batch, "threads": th, "isa": isa.name(),
                "examples_per_s": eps, "d": a.d, "h": a.h, "gflops": gflops,
                "fma_peak_gflops": peak, "peak_percent": share,
                "plan": plan, "plan_hash": hash, "plan_source": source})
        );
    } else {
        println!(
            "{op} {}->{} batch {:>4} threads {th} isa {isa}: {eps:>9.0} examples/s ({gflops:.1} GFLOP/s of GEMM work, {share:.1}% of the {peak:.1} GFLOP/s FMA peak)",
            a.d, a.h, a.batch
        );
    }
    Ok(())
}
