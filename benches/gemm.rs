//! SGEMM at the shapes training uses (`sdae::bench::GEMM_SHAPES`): sdae on every supported ISA
//! beside matrixmultiply, one thread, throughput in FLOP (2*m*n*k per iteration).
//!
//! `cargo bench --bench gemm` (a few minutes). matrixmultiply is held to one thread with
//! MATMUL_NUM_THREADS=1 unless that variable is already set.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use sdae::bench::GEMM_SHAPES;
use sdae_kernels::gemm::baseline::matrixmultiply_sgemm;
use sdae_kernels::{Isa, Kernels, MatMut, MatRef, Trans};

fn data(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 9) as f32
                / (1u32 << 23) as f32
                - 1.0
        })
        .collect()
}

fn gemm(c: &mut Criterion) {
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
    let mut group = c.benchmark_group("sgemm");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for s in GEMM_SHAPES {
        let (m, n, k) = (s.m, s.n, s.k);
        let lda = if s.ta == Trans::N { k } else { m };
        let ldb = if s.tb == Trans::N { n } else { k };
        let (a, b) = (data(m * k, 1), data(k * n, 2));
        let a = MatRef::cblas(s.ta, m, k, &a, lda).expect("op(A) is m x k");
        let b = MatRef::cblas(s.tb, k, n, &b, ldb).expect("op(B) is k x n");
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        let label = format!("{m}x{n}x{k}_{}{}", s.ta.name(), s.tb.name());
        for isa in Isa::supported() {
            let kern = Kernels::for_isa(isa).expect("supported ISA");
            if isa == Isa::Scalar && m * n * k > 200_000_000 {
                continue; // seconds per call: not informative, and slows the whole run
            }
            group.bench_function(BenchmarkId::new(format!("sdae_{isa}"), &label), |bench| {
                bench.iter(|| {
                    let c = MatMut::new(&mut out, m, n).expect("C is m x n");
                    kern.sgemm_threads(1, 1.0, a, b, 0.0, c)
                        .expect("valid shapes");
                    black_box(&out);
                })
            });
        }
        group.bench_function(BenchmarkId::new("matrixmultiply", &label), |bench| {
            bench.iter(|| {
                let c = MatMut::new(&mut out, m, n).expect("C is m x n");
                matrixmultiply_sgemm(1.0, a, b, 0.0, c).expect("valid shapes");
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, gemm);
criterion_main!(benches);
