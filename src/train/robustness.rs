//! The seed's criterion, measured: "partially destroyed input should yield almost the same
//! representation". For a model and a split, at each masking level ν: every input is corrupted
//! by masking noise (exactly `random::masked_count(ν, d)` components set to 0, the training
//! corruption), and per hidden layer the mean over rows of ‖f(x̃) − f(x)‖ / ‖f(x)‖ is reported
//! with the classification error on the corrupted inputs. The corruption stream depends on the
//! seed and ν only, so several models are compared on the very same corrupted inputs.

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{random, Kernels, MatMut, MatRef};

use super::{evaluate, Forward, TrainError};
use crate::model::Model;

/// Rows per chunk: the clean and corrupted codes of a chunk are held at once.
const CHUNK: usize = 500;

/// One level of one model.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Level {
    pub nu: f64,
    /// Classification error on the corrupted inputs, in percent (`None`: no output layer).
    pub error: Option<f64>,
    /// Mean relative change of the code of each hidden layer (layer 1 first).
    pub code_change: Vec<f64>,
}

/// The corruption stream of level `nu` under `seed`.
fn stream(seed: u64, nu: f64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ nu.to_bits().rotate_left(17))
}

/// Measure `model` on `rows` rows of `x` (labels `y`) at every level of `nus` (ν = 0 gives the
/// clean error and zero change).
pub fn measure(
    k: &Kernels,
    model: &Model,
    x: &[f32],
    y: &[u32],
    rows: usize,
    nus: &[f64],
    seed: u64,
) -> Result<Vec<Level>, TrainError> {
    let d = model.input_dim();
    if model.layers.is_empty() {
        return Err(TrainError::new("the model has no hidden layer"));
    }
    if x.len() != rows * d || y.len() != rows {
        return Err(TrainError::new(format!(
            "{rows} rows of {d} inputs expected, got {} values and {} labels",
            x.len(),
            y.len()
        )));
    }
    let widths = model.widths();
    let kerr = |e: sdae_kernels::KernelError| TrainError::new(e.to_string());
    let mut fwd = Forward::new(model, CHUNK);
    let mut out = Vec::new();
    for &nu in nus {
        if !(0.0..=1.0).contains(&nu) {
            return Err(TrainError::new(format!(
                "--nu {nu}: expected a masking level in [0, 1]"
            )));
        }
        let mut rng = stream(seed, nu);
        let mut scratch = vec![0u32; d];
        let zeros = random::masked_count(nu, d);
        let mut sums = vec![0f64; model.layers.len()];
        let (mut errors, mut seen) = (0usize, 0usize);
        let mut noisy = vec![0f32; CHUNK * d];
        let mut start = 0;
        while start < rows {
            let n = CHUNK.min(rows - start);
            let xc = &x[start * d..(start + n) * d];
            let xt = &mut noisy[..n * d];
            k.mask_fixed(
                MatRef::new(xc, n, d).map_err(kerr)?,
                MatMut::new(xt, n, d).map_err(kerr)?,
                zeros,
                &mut rng,
                &mut scratch,
            )
            .map_err(kerr)?;
            // Both inputs up the stack, layer by layer.
            let (mut a, mut b) = (xc.to_vec(), xt.to_vec());
            for (l, layer) in model.layers.iter().enumerate() {
                let h = widths[l + 1];
                let next = |input: &[f32]| -> Result<Vec<f32>, TrainError> {
                    let mut o = vec![0f32; n * h];
                    layer
                        .encoder()
                        .encode(
                            k,
                            MatRef::new(input, n, widths[l]).map_err(kerr)?,
                            MatMut::new(&mut o, n, h).map_err(kerr)?,
                        )
                        .map_err(kerr)?;
                    Ok(o)
                };
                a = next(&a)?;
                b = next(&b)?;
                for (ra, rb) in a.chunks_exact(h).zip(b.chunks_exact(h)) {
                    let (mut diff, mut norm) = (0f64, 0f64);
                    for (&u, &v) in ra.iter().zip(rb) {
                        diff += f64::from(u - v).powi(2);
                        norm += f64::from(u).powi(2);
                    }
                    sums[l] += if norm > 0.0 {
                        (diff / norm).sqrt()
                    } else {
                        0.0
                    };
                }
            }
            if model.output.is_some() {
                let r = evaluate(k, model, &mut fwd, xt, &y[start..start + n], n)?;
                errors += r.errors;
                seen += r.rows;
            }
            start += n;
        }
        out.push(Level {
            nu,
            error: model
                .output
                .as_ref()
                .map(|_| 100.0 * errors as f64 / seen.max(1) as f64),
            code_change: sums.iter().map(|s| s / rows.max(1) as f64).collect(),
        });
    }
    Ok(out)
}
