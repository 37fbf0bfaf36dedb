//! `sdae tune`: measure the GEMM plans this machine could run and keep the fastest as its
//! wisdom (see [`crate::plan`] for how start-up finds it).
//!
//! Per supported ISA, every micro-kernel of the registry in both loop orders, with KC from a
//! set around the cache model (MC and NC then from the model for that KC), is timed on the
//! products training runs: the bench shapes (batch 20 and 128 of a 784-1000 layer, 1000^3) and
//! those of the `best` grid (batch 10 on 784-2000 and 2000-1000 layers, evaluation chunks of
//! 256). Samples are interleaved (every plan on every shape in each round) and the median of
//! the rounds is kept; a plan's score is the geometric mean of its GFLOP/s over the shapes, at
//! one thread and at the thread count in force. The best plan's small-m thresholds (direct-B,
//! NT dot products) are then chosen the same way on the shapes they decide. The FMA peak of the
//! same run is printed beside every figure.

use sdae_kernels::gemm::registry;
use sdae_kernels::{
    fma_peak_gflops, threads, CacheSizes, GemmPlan, Isa, Kernels, LoopOrder, Trans,
};

use crate::bench::{measure_all, shape, GemmShape, Impl, GEMM_SHAPES};
use crate::cli::bench::TuneArgs;
use crate::plan::{self, CpuIdentity, PlanEntry, Wisdom};

/// How much better (geometric mean) a challenger must score to replace the plan in force: on
/// a shared machine the same plan's score moves by 1-2% between rounds, and a 1% margin let
/// noise pick plans that lost 10-20% on single shapes when measured again.
const MARGIN: f64 = 1.03;

/// The three products of one pre-training step of a tied `d -> h` layer at batch `b`: encode
/// NN (`b x d` by `d x h`), decode NT (`b x h` by `(d x h)^T`), the tied update TN with k = 2b.
const fn step_shapes(b: usize, d: usize, h: usize) -> [GemmShape; 3] {
    [
        shape(b, h, d, Trans::N, Trans::N),
        shape(b, d, h, Trans::N, Trans::T),
        shape(d, h, 2 * b, Trans::T, Trans::N),
    ]
}

/// The `best` grid's products beyond the bench shapes: pre-training at batch 10 of 784-2000
/// and 2000-1000 layers and evaluation chunks of 256 rows (NN).
fn grid_shapes() -> Vec<GemmShape> {
    let mut v = step_shapes(10, 784, 2000).to_vec();
    v.extend(step_shapes(10, 2000, 1000));
    v.push(shape(256, 2000, 784, Trans::N, Trans::N));
    v
}

/// The shapes a tune measures.
pub fn tune_shapes(quick: bool) -> Vec<GemmShape> {
    let mut v: Vec<GemmShape> = GEMM_SHAPES.to_vec();
    if quick {
        // 1000^3 costs 20x a batch-128 product per sample; the quick tune keeps the shapes
        // training runs.
        v.retain(|s| s.m != 1000);
        v.extend_from_slice(&grid_shapes()[..3]);
    } else {
        v.extend(grid_shapes());
    }
    v
}

/// The plans a tune tries for `isa`.
pub fn candidate_plans(isa: Isa, quick: bool, caches: CacheSizes) -> Vec<GemmPlan> {
    let mut out = Vec::new();
    for spec in registry::candidates(isa) {
        for order in LoopOrder::ALL {
            let model = GemmPlan::model(spec, order, caches);
            let mut kcs: Vec<usize> = if quick {
                vec![model.kc, 256, 384]
            } else {
                vec![model.kc, 128, 192, 256, 320, 384, 512]
            };
            kcs.sort_unstable();
            kcs.dedup();
            for kc in kcs {
                let (mc, nc) = plan::mc_nc_for(spec.mr(), spec.nr(), order, kc, caches);
                out.push(GemmPlan {
                    kc,
                    mc,
                    nc,
                    ..model.clone()
                });
            }
        }
    }
    out
}

/// The geometric mean of a plan's GFLOP/s over shapes.
fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.max(1e-9).ln()).sum::<f64>() / v.len() as f64).exp()
}

/// GFLOP/s medians `[plan][shape]` of `plans` on `shapes` at `threads`.
fn measure_plans(
    isa: Isa,
    plans: &[GemmPlan],
    shapes: &[GemmShape],
    threads: usize,
    rounds: usize,
) -> Result<Vec<Vec<f64>>, String> {
    let tables: Vec<Kernels> = plans
        .iter()
        .map(|p| Kernels::with_gemm_plan(isa, p).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let impls: Vec<Impl> = tables.iter().map(Impl::Sdae).collect();
    let by_shape = measure_all(shapes, &impls, threads, rounds)?;
    Ok((0..plans.len())
        .map(|p| by_shape.iter().map(|row| row[p].0).collect())
        .collect())
}

/// The score of each plan: geometric mean over shapes and thread counts.
fn scores(per_threads: &[Vec<Vec<f64>>]) -> Vec<f64> {
    let n = per_threads[0].len();
    (0..n)
        .map(|p| {
            let all: Vec<f64> = per_threads
                .iter()
                .flat_map(|t| t[p].iter().copied())
                .collect();
            geomean(&all)
        })
        .collect()
}

/// The FMA peak of `threads` cores at once on `isa` (also the step benches' reference).
pub(crate) fn peak(isa: Isa, threads: usize) -> Result<f64, String> {
    use rayon::prelude::*;
    let per: Result<Vec<f64>, _> = (0..threads)
        .into_par_iter()
        .map(|_| fma_peak_gflops(isa, 0.2))
        .collect();
    Ok(per.map_err(|e| e.to_string())?.iter().sum())
}

fn shape_name(s: &GemmShape) -> String {
    format!("{}x{}x{} {}{}", s.m, s.n, s.k, s.ta.name(), s.tb.name())
}

/// `sdae tune`.
pub fn run(args: TuneArgs, start: &plan::PlanChoice) -> Result<(), String> {
    let t0 = std::time::Instant::now();
    let threads = threads::threads();
    let rounds = args.rounds.unwrap_or(if args.quick { 2 } else { 5 });
    if rounds == 0 {
        return Err("--rounds: 0 rounds (expected 1 or more)".into());
    }
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    }
    let caches = CacheSizes::detect();
    let shapes = tune_shapes(args.quick);
    let mut thread_counts = vec![1];
    if threads > 1 {
        thread_counts.push(threads);
    }
    let mut entries = Vec::new();
    let mut measured = Vec::new();
    // Scalar has one kernel and is a fallback: a quick tune skips it.
    let isas: Vec<Isa> = Isa::supported()
        .into_iter()
        .filter(|&i| !(args.quick && i == Isa::Scalar))
        .collect();
    for &isa in &isas {
        let plans = candidate_plans(isa, args.quick, caches);
        // Each plan's time on each shape at each thread count: [thread count][plan][shape].
        let at_each_count = |plans: &[GemmPlan], shapes: &[GemmShape], rounds: usize| {
            thread_counts
                .iter()
                .map(|&t| measure_plans(isa, plans, shapes, t, rounds))
                .collect::<Result<Vec<_>, _>>()
        };
        let peaks: Vec<f64> = thread_counts
            .iter()
            .map(|&t| peak(isa, t))
            .collect::<Result<_, _>>()?;
        // Stage 1: kernel x loop order x KC.
        let per_t: Vec<Vec<Vec<f64>>> = at_each_count(&plans, &shapes, rounds)?;
        let sc = scores(&per_t);
        // Stage 1b: the leaders and the untuned plan head to head, with three times the
        // rounds (the leaders are often within the noise of each other and of the untuned
        // plan). A challenger must beat the untuned plan by more than [`MARGIN`] to replace it.
        let untuned = start
            .get(isa)
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| GemmPlan::analytical(isa, caches));
        let mut ranked: Vec<usize> = (0..plans.len()).collect();
        ranked.sort_by(|&a, &b| sc[b].total_cmp(&sc[a]));
        let mut finalists: Vec<GemmPlan> = vec![untuned.clone()];
        for &i in ranked.iter().take(4) {
            if !finalists.contains(&plans[i]) {
                finalists.push(plans[i].clone());
            }
        }
        let per_f: Vec<Vec<Vec<f64>>> = at_each_count(&finalists, &shapes, 3 * rounds)?;
        let scf = scores(&per_f);
        let lead = (1..finalists.len())
            .max_by(|&a, &b| scf[a].total_cmp(&scf[b]))
            .filter(|&i| scf[i] > MARGIN * scf[0])
            .unwrap_or(0);
        let mut best = finalists[lead].clone();
        // Stage 2: the small-m thresholds and the short-k loop order of the best plan, on the
        // shapes they decide.
        let small: Vec<GemmShape> = shapes
            .iter()
            .copied()
            .filter(|s| s.m <= 256 || s.k <= 128)
            .collect();
        let mut variants = Vec::new();
        for d in [0, 32, 64, 128, 256, 512] {
            let nts: &[usize] = if sdae_kernels::gemm::has_nt_dot(isa) {
                &[0, 32, 64, 128, 256]
            } else {
                &[0]
            };
            for &nt in nts {
                variants.push(GemmPlan {
                    direct_b_max_m: d,
                    nt_dot_max_m: nt,
                    ..best.clone()
                });
            }
        }
        for sk in [32, 64, 128] {
            variants.push(GemmPlan {
                short_k_max: sk,
                ..best.clone()
            });
        }
        if !variants.contains(&best) {
            variants.insert(0, best.clone());
        }
        let per_t2: Vec<Vec<Vec<f64>>> = at_each_count(&variants, &small, rounds)?;
        let sc2 = scores(&per_t2);
        let current = variants
            .iter()
            .position(|v| v == &best)
            .expect("the current thresholds are among the variants");
        let bi = (0..variants.len())
            .max_by(|&a, &b| sc2[a].total_cmp(&sc2[b]))
            .filter(|&i| sc2[i] > MARGIN * sc2[current])
            .unwrap_or(current);
        best = variants[bi].clone();
        // The chosen plan against the untuned one (what start-up used before this tune), on
        // every shape, interleaved once more.
        let pair = vec![best.clone(), untuned.clone()];
        for (ti, &t) in thread_counts.iter().enumerate() {
            let g = measure_plans(isa, &pair, &shapes, t, rounds.max(3))?;
            for (si, s) in shapes.iter().enumerate() {
                let row = serde_json::json!({
                    "op": "tune", "isa": isa.name(), "threads": t, "shape": shape_name(s),
                    "tuned_gflops": (g[0][si] * 10.0).round() / 10.0,
                    "untuned_gflops": (g[1][si] * 10.0).round() / 10.0,
                    "peak_gflops": (peaks[ti] * 10.0).round() / 10.0,
                });
                if args.json {
                    println!("{row}");
                }
                measured.push(row);
            }
            if !args.json {
                println!(
                    "{isa}, {t} thread(s), FMA peak {:.1} GFLOP/s: tuned {best}",
                    peaks[ti]
                );
                println!("  untuned: {untuned}");
                for (si, s) in shapes.iter().enumerate() {
                    println!(
                        "  {:>18}  tuned {:>6.1} ({:>3.0}%)  untuned {:>6.1} ({:>3.0}%)  untuned/tuned {:.2}",
                        shape_name(s),
                        g[0][si],
                        100.0 * g[0][si] / peaks[ti],
                        g[1][si],
                        100.0 * g[1][si] / peaks[ti],
                        g[1][si] / g[0][si]
                    );
                }
            }
        }
        if !args.json {
            println!("  best candidates (geometric mean GFLOP/s over shapes and thread counts):");
            for &i in ranked.iter().take(5) {
                println!("    {:>6.1}  {}", sc[i], plans[i]);
            }
            println!("  head to head (3x the rounds; the untuned plan first):");
            for (i, f) in finalists.iter().enumerate() {
                println!("    {:>6.1}  {f}", scf[i]);
            }
        }
        entries.push(PlanEntry::from_plan(isa, &best));
    }
    let id = CpuIdentity::detect();
    let path = match &args.out {
        Some(p) => p.clone(),
        None => plan::wisdom_path(&id).ok_or_else(|| {
            "no place for the wisdom file: set SDAE_WISDOM, XDG_CACHE_HOME or HOME, or pass --out"
                .to_string()
        })?,
    };
    let w = Wisdom::new(id, entries, measured);
    w.save(&path)?;
    let secs = t0.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"op": "tune_done", "path": path.display().to_string(), "seconds": secs})
        );
    } else {
        println!("plan written to {} ({secs:.1} s)", path.display());
    }
    Ok(())
}
