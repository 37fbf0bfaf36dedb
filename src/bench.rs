//! `sdae info` and `sdae bench`: quick, human-readable throughput tables (criterion benches in
//! benches/ are the careful measurement).

use std::time::Instant;

use rayon::prelude::*;

use crate::cli::bench::BenchCommand;
use sdae_kernels::gemm::baseline::matrixmultiply_sgemm;
use sdae_kernels::{
    fma_peak_gflops, kernels, threads, CacheSizes, Isa, Kernels, MatMut, MatRef, Trans,
};

/// One GEMM shape: `C (m x n) = op(A) (m x k) * op(B) (k x n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub ta: Trans,
    pub tb: Trans,
}

/// The product `C (m x n) = op(A) op(B)` over `k` with the transposes `ta`, `tb`.
pub(crate) const fn shape(m: usize, n: usize, k: usize, ta: Trans, tb: Trans) -> GemmShape {
    GemmShape { m, n, k, ta, tb }
}

/// The products one training step of a 784-1000-... network uses at batch 20 and 128 (forward
/// NN, backward NT for the input gradient, TN for the weight gradient), and 1000^3.
pub const GEMM_SHAPES: [GemmShape; 8] = [
    shape(20, 784, 1000, Trans::N, Trans::N),
    shape(128, 784, 1000, Trans::N, Trans::N),
    shape(128, 1000, 1000, Trans::N, Trans::N),
    shape(1000, 1000, 1000, Trans::N, Trans::N),
    shape(20, 784, 1000, Trans::N, Trans::T),
    shape(128, 784, 1000, Trans::N, Trans::T),
    shape(784, 1000, 20, Trans::T, Trans::N),
    shape(784, 1000, 128, Trans::T, Trans::N),
];

/// The text of `sdae info`.
pub fn info_text() -> String {
    let k = kernels();
    let sup: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
    let mut s = format!(
        "isa: {}\nsupported: {}\nthreads: {}\ncaches: {}\n",
        k.isa(),
        sup.join(" "),
        threads::threads(),
        CacheSizes::detect()
    );
    for isa in Isa::supported() {
        let (plan, hash, _) = crate::plan::describe(isa);
        let source = crate::plan::in_force()
            .and_then(|c| c.get(isa).map(|(_, s)| s.to_string()))
            .unwrap_or_else(|| "the cache model".into());
        s += &format!("gemm {isa}: {plan} (plan {hash}, from {source})\n");
    }
    if let Some(c) = crate::plan::in_force() {
        for w in &c.warnings {
            s += &format!("warning: {w}\n");
        }
    }
    s
}

/// Deterministic pseudo-random data in [-1, 1).
fn data(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Median of a non-empty list.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Which library computes a product.
#[derive(Clone, Copy)]
pub(crate) enum Impl<'k> {
    Sdae(&'k Kernels),
    MatrixMultiply,
}

impl Impl<'_> {
    fn name(self) -> &'static str {
        match self {
            Impl::Sdae(_) => "sdae",
            Impl::MatrixMultiply => "matrixmultiply",
        }
    }
}

pub(crate) struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    lda: usize,
    ldb: usize,
}

impl Operands {
    pub(crate) fn new(s: GemmShape) -> Operands {
        let lda = if s.ta == Trans::N { s.k } else { s.m };
        let ldb = if s.tb == Trans::N { s.n } else { s.k };
        Operands {
            a: data(s.m * s.k, 1),
            b: data(s.k * s.n, 2),
            c: vec![0.0; s.m * s.n],
            lda,
            ldb,
        }
    }

    pub(crate) fn run(&mut self, which: Impl, s: GemmShape, threads: usize) -> Result<(), String> {
        let err = |e: sdae_kernels::KernelError| e.to_string();
        let a = MatRef::cblas(s.ta, s.m, s.k, &self.a, self.lda).map_err(err)?;
        let b = MatRef::cblas(s.tb, s.k, s.n, &self.b, self.ldb).map_err(err)?;
        let c = MatMut::new(&mut self.c, s.m, s.n).map_err(err)?;
        let r = match which {
            Impl::Sdae(k) => k.sgemm_threads(threads, 1.0, a, b, 0.0, c),
            Impl::MatrixMultiply => matrixmultiply_sgemm(1.0, a, b, 0.0, c),
        };
        r.map_err(|e| e.to_string())
    }
}

/// GFLOP/s of every implementation on every shape (`[shape][impl]`): (median, best sample).
///
/// Interleaved at the finest useful grain: the outer loop is the repetition, so each shape's
/// and each library's samples are spread over the whole run, and a burst of load from other
/// processes hits all of them alike instead of one shape or one library. Every sample is
/// preceded by one untimed call of the same implementation, and the order of the
/// implementations rotates from round to round: the first one timed after a change of shape
/// no longer pays for bringing the operands into cache (that bias was worth 10-20% here).
pub(crate) fn measure_all(
    shapes: &[GemmShape],
    impls: &[Impl],
    threads: usize,
    reps: usize,
) -> Result<Vec<Vec<(f64, f64)>>, String> {
    let mut ops: Vec<Operands> = shapes.iter().map(|&s| Operands::new(s)).collect();
    // Calls per sample so that one sample lasts about 2 ms.
    let mut calls = vec![vec![1usize; impls.len()]; shapes.len()];
    for (si, &s) in shapes.iter().enumerate() {
        for (i, &w) in impls.iter().enumerate() {
            ops[si].run(w, s, threads)?;
            let t = Instant::now();
            ops[si].run(w, s, threads)?;
            let dt = t.elapsed().as_secs_f64().max(1e-7);
            calls[si][i] = ((2e-3 / dt).ceil() as usize).clamp(1, 1000);
        }
    }
    let mut times = vec![vec![Vec::with_capacity(reps); impls.len()]; shapes.len()];
    for rep in 0..reps {
        for (si, &s) in shapes.iter().enumerate() {
            // Each round starts the shape's implementations at another one, and each sample
            // follows one untimed call: no implementation always meets the operands cold.
            for j in 0..impls.len() {
                let i = (j + rep) % impls.len();
                let w = impls[i];
                ops[si].run(w, s, threads)?;
                let t = Instant::now();
                for _ in 0..calls[si][i] {
                    ops[si].run(w, s, threads)?;
                }
                times[si][i].push(t.elapsed().as_secs_f64() / calls[si][i] as f64);
            }
        }
    }
    Ok(shapes
        .iter()
        .zip(times)
        .map(|(s, t)| {
            let flop = 2.0 * (s.m * s.n * s.k) as f64;
            t.into_iter()
                .map(|t| {
                    let best = t.iter().copied().fold(f64::INFINITY, f64::min);
                    (flop / median(t) / 1e9, flop / best / 1e9)
                })
                .collect()
        })
        .collect())
}

/// `sdae bench ...`. `isa_all`: the global `--isa all` (every supported ISA).
pub fn run(cmd: BenchCommand, isa_all: bool) -> Result<(), String> {
    match cmd {
        BenchCommand::Gemm { json, reps } => bench_gemm(json, reps, isa_all),
        BenchCommand::DaeStep(a) => crate::bench_train::run_dae_step(a),
        BenchCommand::RbmStep(a) => crate::bench_train::run_rbm_step(a),
        BenchCommand::Fused { json, reps } => bench_fused(json, reps, isa_all),
    }
}

fn bench_fused(json: bool, reps: usize, isa_all: bool) -> Result<(), String> {
    if reps == 0 {
        return Err("--reps: 0 repetitions (expected 1 or more)".into());
    }
    let isas = if isa_all {
        Isa::supported()
    } else {
        vec![kernels().isa()]
    };
    let mut gemm = crate::bench_fused::sdae_gemm_yardstick();
    let rows = crate::bench_fused::fused_rows(&isas, reps, &mut gemm)?;
    if !json {
        println!(
            "fused kernels, median of {reps} interleaved calls; yardstick: sdae sgemm 128x1000x784 ({} thread(s))",
            threads::threads()
        );
    }
    for r in rows {
        println!("{}", if json { r.json() } else { r.table_line() });
    }
    Ok(())
}

fn bench_gemm(json: bool, reps: usize, isa_all: bool) -> Result<(), String> {
    if reps == 0 {
        return Err("--reps: 0 repetitions (expected 1 or more)".into());
    }
    let threads = threads::threads();
    // matrixmultiply reads its thread count once, from the environment: give it ours.
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    }
    let isas = if isa_all {
        Isa::supported()
    } else {
        vec![kernels().isa()]
    };
    // The FMA peak of `threads` cores running at once, per ISA, measured in this run.
    let mut peaks = Vec::new();
    for &isa in &isas {
        let per: Result<Vec<f64>, _> = (0..threads)
            .into_par_iter()
            .map(|_| fma_peak_gflops(isa, 0.3))
            .collect();
        peaks.push(per.map_err(|e| e.to_string())?.iter().sum::<f64>());
    }
    // Triad bandwidth of one thread per memory level, the roofline's sloped ceilings.
    let bandwidths = sdae_kernels::bandwidth::probe_levels(0.1).map_err(|e| e.to_string())?;
    if json {
        for (isa, p) in isas.iter().zip(&peaks) {
            println!(
                "{{\"op\":\"fma_peak\",\"isa\":\"{isa}\",\"threads\":{threads},\"gflops\":{p:.1}}}"
            );
        }
        for (level, bytes, gbs) in &bandwidths {
            println!(
                "{{\"op\":\"triad\",\"level\":\"{}\",\"bytes\":{bytes},\"threads\":1,\"gbs\":{gbs:.1}}}",
                level.name()
            );
        }
    } else {
        println!(
            "sdae bench gemm: threads {threads}, median of {reps} interleaved reps, GFLOP/s (% of the FMA peak measured now); after |: best sample"
        );
        for (isa, p) in isas.iter().zip(&peaks) {
            let (plan, hash, source) = crate::plan::describe(*isa);
            println!("  FMA peak {isa}: {p:.1} GFLOP/s on {threads} thread(s); plan {plan} ({hash}, {source})");
        }
        let bw: Vec<String> = bandwidths
            .iter()
            .map(|(level, bytes, gbs)| format!("{} {gbs:.1} ({} KiB)", level.name(), bytes / 1024))
            .collect();
        println!("  triad bandwidth, one thread, GB/s: {}", bw.join(", "));
        println!(
            "{:>5} {:>5} {:>5} {:>3} {:>7} {:>16} {:>15} {:>6} | {:>6} {:>6} {:>6}",
            "m", "n", "k", "op", "isa", "sdae", "matrixmultiply", "ratio", "best", "mm", "ratio"
        );
    }
    let mut impls: Vec<Impl> = isas
        .iter()
        .map(|&i| {
            Kernels::for_isa(i)
                .map(Impl::Sdae)
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    impls.push(Impl::MatrixMultiply);
    let all = measure_all(&GEMM_SHAPES, &impls, threads, reps)?;
    for (s, g) in GEMM_SHAPES.into_iter().zip(all) {
        let (mm, mm_best) = *g.last().expect("matrixmultiply measured");
        let op = format!("{}{}", s.ta.name(), s.tb.name());
        for (i, w) in impls.iter().enumerate() {
            let isa = match w {
                Impl::Sdae(k) => k.isa().name(),
                Impl::MatrixMultiply => "-",
            };
            if json {
                // matrixmultiply picks its own kernels at run time (AVX-512 when the CPU has
                // it); its lines carry the process ISA so they pair with sdae's.
                let isa = if isa == "-" {
                    kernels().isa().name()
                } else {
                    isa
                };
                let (plan, hash, source) = match w {
                    Impl::Sdae(k) => crate::plan::describe(k.isa()),
                    Impl::MatrixMultiply => ("-".into(), "-".into(), "-".into()),
                };
                println!(
                    "{{\"op\":\"sgemm\",\"m\":{},\"n\":{},\"k\":{},\"ta\":\"{}\",\"tb\":\"{}\",\"isa\":\"{}\",\"threads\":{},\"impl\":\"{}\",\"gflops\":{:.1},\"plan\":\"{}\",\"plan_hash\":\"{}\",\"plan_source\":\"{}\"}}",
                    s.m, s.n, s.k, s.ta.name(), s.tb.name(), isa, threads, w.name(), g[i].0, plan, hash, source
                );
            } else if let Impl::Sdae(_) = w {
                let (med, best) = g[i];
                println!(
                    "{:>5} {:>5} {:>5} {:>3} {:>7} {:>8.1} ({:>3.0}%) {:>15.1} {:>6.2} | {:>6.1} {:>6.1} {:>6.2}",
                    s.m,
                    s.n,
                    s.k,
                    op,
                    isa,
                    med,
                    100.0 * med / peaks[i],
                    mm,
                    med / mm,
                    best,
                    mm_best,
                    best / mm_best
                );
            }
        }
    }
    Ok(())
}
