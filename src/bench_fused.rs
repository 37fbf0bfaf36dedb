//! Quick throughput of the fused kernels over a 128 x 1000 batch (`sdae bench fused`), beside
//! the 128 x 784 x 1000 GEMM of the same training step as the time yardstick.
//!
//! The criterion bench `benches/fused.rs` is the careful measurement; it drives the same
//! [`FusedBatch`]. Timings are per call, inputs restored (untimed) before each call, kernels
//! and yardstick interleaved in one loop, medians reported.

use std::time::Instant;

use rand_xoshiro::rand_core::SeedableRng;
use sdae_kernels::{random, Isa, Kernels, Loss, MatMut, MatRef, Xoshiro256PlusPlus};

/// The fused kernels, by the name of their method on [`Kernels`].
pub const FUSED_KERNELS: [&str; 8] = [
    "sigmoid_bias_inplace",
    "sigmoid_xent",
    "sigmoid_sqerr",
    "sigmoid_backward",
    "softmax_nll",
    "mask_fixed",
    "mask_bernoulli",
    "sgd_update",
];

/// Batch rows (examples) of the benchmark.
pub const BATCH_ROWS: usize = 128;
/// Batch columns (units) of the benchmark.
pub const BATCH_COLS: usize = 1000;
/// Input width of the yardstick GEMM (`BATCH_ROWS x GEMM_K` times `GEMM_K x BATCH_COLS`).
pub const GEMM_K: usize = 784;
/// Masking-noise level of the mask benchmarks (the paper's ν = 0.25).
pub const MASK_NU: f64 = 0.25;

/// Every buffer the fused kernels read and write for one `rows x cols` batch, with the
/// originals of the buffers the in-place kernels overwrite.
pub struct FusedBatch {
    rows: usize,
    cols: usize,
    pre: Vec<f32>,
    work: Vec<f32>,
    x: Vec<f32>,
    h: Vec<f32>,
    z: Vec<f32>,
    out: Vec<f32>,
    bias: Vec<f32>,
    bias_grad: Vec<f32>,
    labels: Vec<u32>,
    pred: Vec<u32>,
    scratch: Vec<u32>,
    rng: Xoshiro256PlusPlus,
}

/// A deterministic uniform in `[lo, hi)` from a SplitMix64 state.
fn uniform(state: &mut u64, lo: f32, hi: f32) -> f32 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    lo + (hi - lo) * ((z >> 40) as f32 / (1u64 << 24) as f32)
}

impl FusedBatch {
    /// A batch of pre-activations in `[-6, 6)`, targets and activations in `(0, 1)` (no zeros,
    /// like pixel intensities after masking is applied to nonzero inputs), labels in `0..cols`.
    pub fn new(rows: usize, cols: usize, seed: u64) -> FusedBatch {
        let mut s = seed;
        let n = rows * cols;
        let pre: Vec<f32> = (0..n).map(|_| uniform(&mut s, -6.0, 6.0)).collect();
        FusedBatch {
            rows,
            cols,
            work: pre.clone(),
            pre,
            x: (0..n).map(|_| uniform(&mut s, 0.01, 1.0)).collect(),
            h: (0..n).map(|_| uniform(&mut s, 0.01, 0.99)).collect(),
            z: vec![0.0; n],
            out: vec![0.0; n],
            bias: (0..cols).map(|_| uniform(&mut s, -0.5, 0.5)).collect(),
            bias_grad: vec![0.0; cols],
            labels: (0..rows)
                .map(|_| (uniform(&mut s, 0.0, 1.0) * cols as f32) as u32 % cols as u32)
                .collect(),
            pred: vec![0; rows],
            scratch: vec![0; cols],
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// Bytes one call of `kernel` reads and writes (the throughput criterion reports).
    pub fn bytes(&self, kernel: &str) -> u64 {
        let n = (self.rows * self.cols * 4) as u64;
        let c = (self.cols * 4) as u64;
        match kernel {
            "sigmoid_bias_inplace" => 2 * n + c,
            // a read + gradient written, x read, z written, bias read, bias_grad written
            "sigmoid_xent" | "sigmoid_sqerr" => 4 * n + 2 * c,
            "sigmoid_backward" => 3 * n + c,
            "softmax_nll" => 2 * n + 2 * c,
            "mask_fixed" | "mask_bernoulli" => 2 * n,
            "sgd_update" => 3 * n,
            _ => 0,
        }
    }

    /// Restore what the previous call overwrote (untimed in the benchmarks).
    pub fn prepare(&mut self) {
        self.work.copy_from_slice(&self.pre);
    }

    /// One call of `kernel` with the full options a training step uses (bias in, z out,
    /// bias gradient out, predictions out).
    pub fn run(&mut self, k: &Kernels, kernel: &str) -> Result<f64, String> {
        let (r, c) = (self.rows, self.cols);
        let err = |e: sdae_kernels::KernelError| e.to_string();
        let work = MatMut::new(&mut self.work, r, c).map_err(err)?;
        let x = MatRef::new(&self.x, r, c).map_err(err)?;
        let h = MatRef::new(&self.h, r, c).map_err(err)?;
        let res = match kernel {
            "sigmoid_bias_inplace" => k.sigmoid_bias_inplace(work, &self.bias).map(|_| 0.0),
            "sigmoid_xent" | "sigmoid_sqerr" => {
                let loss = if kernel == "sigmoid_xent" {
                    Loss::CrossEntropy
                } else {
                    Loss::SquaredError
                };
                let z = MatMut::new(&mut self.z, r, c).map_err(err)?;
                let (bias, bias_grad) = (Some(&self.bias[..]), Some(&mut self.bias_grad[..]));
                k.sigmoid_loss(loss, work, x, bias, Some(z), bias_grad)
            }
            "sigmoid_backward" => k
                .sigmoid_backward(work, h, &mut self.bias_grad)
                .map(|_| 0.0),
            "softmax_nll" => k
                .softmax_nll(
                    work,
                    &self.labels,
                    Some(&self.bias),
                    Some(&mut self.bias_grad),
                    Some(&mut self.pred),
                )
                .map(|s| s.loss),
            "mask_fixed" => {
                let out = MatMut::new(&mut self.out, r, c).map_err(err)?;
                let count = random::masked_count(MASK_NU, c);
                k.mask_fixed(x, out, count, &mut self.rng, &mut self.scratch)
                    .map(|_| 0.0)
            }
            "mask_bernoulli" => k
                .mask_bernoulli(&self.x, &mut self.out, MASK_NU as f32, &mut self.rng)
                .map(|_| 0.0),
            // w = work, g = h: a weight matrix of rows x cols.
            "sgd_update" => k
                .sgd_update(&mut self.work, &self.h, 0.01, 1e-4)
                .map(|_| 0.0),
            other => {
                return Err(format!(
                    "unknown fused kernel '{other}', expected one of {}",
                    FUSED_KERNELS.join(", ")
                ))
            }
        };
        res.map_err(|e| e.to_string())
    }
}

/// One measured line of `sdae bench fused`.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedRow {
    /// The kernel (a [`FUSED_KERNELS`] name) or `"sgemm"` for the yardstick.
    pub op: String,
    /// The ISA the kernel ran on.
    pub isa: String,
    pub rows: usize,
    pub cols: usize,
    /// Median nanoseconds per call.
    pub ns: f64,
    /// Bytes read + written per second (GB/s; for the GEMM row: GFLOP/s).
    pub gbps: f64,
    /// `ns` as a percentage of the GEMM yardstick's median (the bar: under 5).
    pub pct_of_gemm: f64,
}

impl FusedRow {
    /// One JSON object: `{"op","isa","rows","cols","ns","gbps","pct_of_gemm"}`.
    pub fn json(&self) -> String {
        serde_json::json!({
            "op": self.op, "isa": self.isa, "rows": self.rows, "cols": self.cols,
            "ns": self.ns, "gbps": self.gbps, "pct_of_gemm": self.pct_of_gemm,
        })
        .to_string()
    }

    /// A line of the human-readable table.
    pub fn table_line(&self) -> String {
        format!(
            "{:<22} {:<7} {:>4}x{:<5} {:>10.1} us {:>8.2} {} {:>7.2} %",
            self.op,
            self.isa,
            self.rows,
            self.cols,
            self.ns / 1e3,
            self.gbps,
            if self.op == "sgemm" {
                "GFLOP/s"
            } else {
                "GB/s   "
            },
            self.pct_of_gemm
        )
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Time every fused kernel on each ISA of `isas` over a `BATCH_ROWS x BATCH_COLS` batch,
/// `reps` calls each, interleaved with `reps` calls of the yardstick `gemm` (which should
/// compute a `BATCH_ROWS x GEMM_K x BATCH_COLS` product). The last row is the yardstick.
pub fn fused_rows(
    isas: &[Isa],
    reps: usize,
    gemm: &mut dyn FnMut(),
) -> Result<Vec<FusedRow>, String> {
    let reps = reps.max(1);
    let tables: Vec<&Kernels> = isas
        .iter()
        .map(|&i| Kernels::for_isa(i).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut batch = FusedBatch::new(BATCH_ROWS, BATCH_COLS, 0x5dae);
    let mut times = vec![vec![0.0f64; reps]; tables.len() * FUSED_KERNELS.len()];
    let mut gemm_times = vec![0.0f64; reps];
    // Warm-up: page in every buffer and every code path once.
    gemm();
    for k in &tables {
        for name in FUSED_KERNELS {
            batch.prepare();
            batch.run(k, name)?;
        }
    }
    for rep in 0..reps {
        let t = Instant::now();
        gemm();
        gemm_times[rep] = t.elapsed().as_nanos() as f64;
        for (ki, k) in tables.iter().enumerate() {
            for (fi, name) in FUSED_KERNELS.iter().enumerate() {
                batch.prepare();
                let t = Instant::now();
                std::hint::black_box(batch.run(k, name)?);
                times[ki * FUSED_KERNELS.len() + fi][rep] = t.elapsed().as_nanos() as f64;
            }
        }
    }
    let gemm_ns = median(&mut gemm_times);
    let mut rows = Vec::new();
    for (ki, k) in tables.iter().enumerate() {
        for (fi, name) in FUSED_KERNELS.iter().enumerate() {
            let ns = median(&mut times[ki * FUSED_KERNELS.len() + fi]);
            rows.push(FusedRow {
                op: name.to_string(),
                isa: k.isa().name().to_string(),
                rows: BATCH_ROWS,
                cols: BATCH_COLS,
                ns,
                gbps: batch.bytes(name) as f64 / ns,
                pct_of_gemm: 100.0 * ns / gemm_ns,
            });
        }
    }
    let flops = 2.0 * (BATCH_ROWS * GEMM_K * BATCH_COLS) as f64;
    rows.push(FusedRow {
        op: "sgemm".into(),
        isa: sdae_kernels::kernels().isa().name().into(),
        rows: BATCH_ROWS,
        cols: BATCH_COLS,
        ns: gemm_ns,
        gbps: flops / gemm_ns,
        pct_of_gemm: 100.0,
    });
    Ok(rows)
}

/// The default yardstick: sdae's own SGEMM (process-wide ISA and threads) on the
/// `BATCH_ROWS x GEMM_K x BATCH_COLS` product of an encoder forward pass.
pub fn sdae_gemm_yardstick() -> impl FnMut() {
    let mut s = 7u64;
    let a: Vec<f32> = (0..BATCH_ROWS * GEMM_K)
        .map(|_| uniform(&mut s, 0.0, 1.0))
        .collect();
    let b: Vec<f32> = (0..GEMM_K * BATCH_COLS)
        .map(|_| uniform(&mut s, -0.1, 0.1))
        .collect();
    let mut c = vec![0.0f32; BATCH_ROWS * BATCH_COLS];
    move || {
        let a = MatRef::new(&a, BATCH_ROWS, GEMM_K).expect("yardstick A is BATCH_ROWS x GEMM_K");
        let b = MatRef::new(&b, GEMM_K, BATCH_COLS).expect("yardstick B is GEMM_K x BATCH_COLS");
        let out = MatMut::new(&mut c, BATCH_ROWS, BATCH_COLS).expect("yardstick C is 128 x 1000");
        sdae_kernels::kernels()
            .sgemm(1.0, a, b, 0.0, out)
            .expect("yardstick GEMM shapes are consistent");
        std::hint::black_box(&c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_runs_and_rows_are_complete() {
        let mut batch = FusedBatch::new(3, 17, 1);
        let k = sdae_kernels::kernels();
        for name in FUSED_KERNELS {
            batch.prepare();
            let v = batch.run(k, name).unwrap();
            assert!(v.is_finite(), "{name}");
            assert!(batch.bytes(name) > 0, "{name}");
        }
        assert!(batch
            .run(k, "nope")
            .unwrap_err()
            .contains("unknown fused kernel 'nope'"));
        let mut calls = 0;
        let rows = fused_rows(&[Isa::Scalar], 2, &mut || calls += 1).unwrap();
        assert_eq!(calls, 3, "warm-up + one per repetition");
        assert_eq!(rows.len(), FUSED_KERNELS.len() + 1);
        assert!(rows.iter().all(|r| r.ns > 0.0 && r.gbps.is_finite()));
        let j: serde_json::Value = serde_json::from_str(&rows[0].json()).unwrap();
        assert_eq!(j["op"], "sigmoid_bias_inplace");
        assert_eq!(j["isa"], "scalar");
    }
}
