//! Criterion bench of the fused kernels over a 128 x 1000 batch on every ISA this CPU has,
//! with the 128 x 784 x 1000 GEMM of `matrixmultiply` (one thread) in the same run as the
//! time yardstick. The bar: each fused kernel under 5% of that GEMM's time.
//!
//! `cargo bench --bench fused` runs criterion; at the end a summary table (medians of
//! interleaved calls, `sdae::bench_fused::fused_rows`) prints every kernel's share of the GEMM.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sdae::bench_fused::{fused_rows, FusedBatch, BATCH_COLS, BATCH_ROWS, FUSED_KERNELS, GEMM_K};
use sdae_kernels::{Isa, Kernels};

/// `C = A B` for `A` 128 x 784, `B` 784 x 1000, all row-major, with `matrixmultiply::sgemm`.
fn matrixmultiply_gemm() -> impl FnMut() {
    let (m, k, n) = (BATCH_ROWS, GEMM_K, BATCH_COLS);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 17) as f32 * 0.05).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
    let mut c = vec![0.0f32; m * n];
    move || {
        // SAFETY: a is m x k (row stride k), b is k x n (row stride n), c is m x n (row stride
        // n), all unit column strides; the Vecs hold exactly those elements and c is not
        // aliased.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            )
        };
        black_box(&c);
    }
}

fn bench_fused(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("gemm_yardstick");
    g.throughput(Throughput::Elements(
        2 * (BATCH_ROWS * GEMM_K * BATCH_COLS) as u64,
    ));
    let mut gemm = matrixmultiply_gemm();
    g.bench_function("matrixmultiply_128x784x1000", |b| b.iter(&mut gemm));
    g.finish();

    let mut batch = FusedBatch::new(BATCH_ROWS, BATCH_COLS, 0x5dae);
    for name in FUSED_KERNELS {
        let mut g = cr.benchmark_group(format!("fused_{name}_128x1000"));
        g.throughput(Throughput::Bytes(batch.bytes(name)));
        for isa in Isa::supported() {
            let k = Kernels::for_isa(isa).expect("supported ISA");
            g.bench_with_input(BenchmarkId::from_parameter(isa.name()), &isa, |b, _| {
                // Restore the in-place input before each call, outside the timed region.
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        batch.prepare();
                        let t = Instant::now();
                        black_box(batch.run(k, name).expect("valid shapes"));
                        total += t.elapsed();
                    }
                    total
                })
            });
        }
        g.finish();
    }
}

fn summary(_: &mut Criterion) {
    let mut gemm = matrixmultiply_gemm();
    let rows = fused_rows(&Isa::supported(), 200, &mut gemm).expect("supported ISAs");
    println!("\nfused kernels over {BATCH_ROWS}x{BATCH_COLS}, medians of 200 interleaved calls;");
    println!("yardstick: matrixmultiply 128x784x1000 (1 thread), last row");
    for r in &rows {
        let mut r = r.clone();
        if r.op == "sgemm" {
            r.isa = "mm".into();
        }
        let bar = if r.op == "sgemm" {
            ""
        } else if r.pct_of_gemm < 5.0 {
            "  ok (< 5%)"
        } else {
            "  OVER 5%"
        };
        println!("{}{bar}", r.table_line());
    }
}

fn config() -> Criterion {
    // Short windows: 25 benchmarks; medians are robust to the shared machine's noise.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_fused, summary
}
criterion_main!(benches);
