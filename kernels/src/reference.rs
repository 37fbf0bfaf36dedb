//! The naive version of every kernel: the specification in code and the tests' oracle.
//!
//! Nothing here is fast or clever. Every function computes in `f64` where that makes the
//! answer more exact, so that a kernel's error against it is the kernel's own. The shapes are
//! the same as the safe entry points in [`crate::gemm`] and [`crate::fused`]; the functions here
//! panic (with a message) on bad shapes, since only tests call them: the module exists only
//! under `cfg(test)` or the `reference` feature (enabled by the workspace's dev-dependencies),
//! so production code cannot call it. The random streams it specifies are drawn through
//! [`crate::random`], which production uses too.

// Index loops mirror the math (r, c, i = r*cols + c) on purpose: this file is read as a spec.
#![allow(clippy::needless_range_loop, clippy::needless_option_as_deref)]

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::mat::{MatMut, MatRef};
use crate::random::{choose_indices_from, HalfDraws};
use crate::rowpass::{Pending, TiedRows};
use crate::{Loss, SoftmaxStats, Trans};

/// `C = alpha * op(A) * op(B) + beta * C` (views as for [`crate::Kernels::sgemm`]),
/// accumulated in `f64`.
///
/// `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`. With `beta == 0`, `C` is not read
/// (it may hold NaN). With `alpha == 0`, `A` and `B` are not read and `C = beta * C`.
pub fn sgemm(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert_eq!(
        b.nrows(),
        k,
        "reference::sgemm: inner dimensions of op(A) and op(B)"
    );
    assert_eq!(
        (c.nrows(), c.ncols()),
        (m, n),
        "reference::sgemm: shape of C"
    );
    let (ldc, tc) = (c.ld(), c.trans());
    let c = c.into_data();
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            if alpha != 0.0 {
                for p in 0..k {
                    acc += a.at(i, p) as f64 * b.at(p, j) as f64;
                }
            }
            let cij = match tc {
                Trans::N => &mut c[i * ldc + j],
                Trans::T => &mut c[j * ldc + i],
            };
            let prev = if beta == 0.0 {
                0.0
            } else {
                beta as f64 * *cij as f64
            };
            *cij = (alpha as f64 * acc + prev) as f32;
        }
    }
}

/// The logistic sigmoid `1 / (1 + e^-t)` in `f64`.
#[inline]
pub fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^t)` without overflow or cancellation.
#[inline]
pub fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

/// Kernel 1 — forward pass of a layer: `y[r,c] = s(y[r,c] + bias[c])` in place over a
/// row-major `rows x cols` batch.
pub fn sigmoid_bias_inplace(y: &mut [f32], rows: usize, cols: usize, bias: &[f32]) {
    assert_eq!(y.len(), rows * cols);
    assert_eq!(bias.len(), cols);
    for r in 0..rows {
        for c in 0..cols {
            let v = &mut y[r * cols + c];
            *v = sigmoid(*v as f64 + bias[c] as f64) as f32;
        }
    }
}

/// Kernels 2 and 2b — a sigmoid output's loss and its gradient from logits, in one pass.
///
/// With `t = a[r,c] + bias[c]` (bias optional), `z = s(t)` and targets `x` in `[0,1]`, `a` and
/// `x` of `rows x cols`:
/// - returns the summed loss: cross-entropy `Σ -[x log z + (1-x) log(1-z)] = Σ softplus(t) -
///   x t` (stable for any finite `t`; no `log(0)`), or squared error `Σ (z - x)^2`,
/// - overwrites `a` with the gradient with respect to `t`: `z - x` (cross-entropy) or
///   `2 (z - x) z (1 - z)` (squared error),
/// - writes `z` into `z_out` when given (`out.0`),
/// - writes the column sums of the gradient (the bias gradient) into `bias_grad` when given
///   (`out.1`).
pub fn sigmoid_loss(
    loss: Loss,
    a: &mut [f32],
    x: &[f32],
    (rows, cols): (usize, usize),
    bias: Option<&[f32]>,
    (mut z_out, bias_grad): (Option<&mut [f32]>, Option<&mut [f32]>),
) -> f64 {
    assert_eq!(a.len(), rows * cols);
    assert_eq!(x.len(), rows * cols);
    let mut colsum = vec![0.0f64; cols];
    let mut total = 0.0f64;
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let t = a[i] as f64 + bias.map_or(0.0, |b| b[c] as f64);
            let (xi, z) = (x[i] as f64, sigmoid(t));
            let g = match loss {
                Loss::CrossEntropy => {
                    total += softplus(t) - xi * t;
                    z - xi
                }
                Loss::SquaredError => {
                    total += (z - xi) * (z - xi);
                    2.0 * (z - xi) * z * (1.0 - z)
                }
            };
            a[i] = g as f32;
            colsum[c] += g;
            if let Some(zo) = z_out.as_deref_mut() {
                zo[i] = z as f32;
            }
        }
    }
    if let Some(g) = bias_grad {
        assert_eq!(g.len(), cols);
        for c in 0..cols {
            g[c] = colsum[c] as f32;
        }
    }
    total
}

/// Kernel 3 — sigmoid backward: `d[r,c] *= h[r,c] * (1 - h[r,c])` in place, and
/// `bias_grad[c] = Σ_r d[r,c]` (after the product; overwritten, not accumulated).
pub fn sigmoid_backward(d: &mut [f32], h: &[f32], rows: usize, cols: usize, bias_grad: &mut [f32]) {
    assert_eq!(d.len(), rows * cols);
    assert_eq!(h.len(), rows * cols);
    assert_eq!(bias_grad.len(), cols);
    let mut colsum = vec![0.0f64; cols];
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let hv = h[i] as f64;
            let v = d[i] as f64 * hv * (1.0 - hv);
            d[i] = v as f32;
            colsum[c] += v;
        }
    }
    for c in 0..cols {
        bias_grad[c] = colsum[c] as f32;
    }
}

/// Kernel 4 — softmax + negative log-likelihood + gradient, row-wise.
///
/// With `t = logits[r,c] + bias[c]`, `p = softmax(t)` per row and integer `labels[r] < cols`:
/// loss `Σ_r -log p[r, label]`; `logits` is overwritten with the gradient `p - onehot(label)`;
/// `bias_grad[c] = Σ_r (p - onehot)[r,c]` when given; `pred[r]` = arg-max of `t` when given.
pub fn softmax_nll(
    logits: &mut [f32],
    rows: usize,
    cols: usize,
    bias: Option<&[f32]>,
    labels: &[u32],
    mut bias_grad: Option<&mut [f32]>,
    mut pred: Option<&mut [u32]>,
) -> SoftmaxStats {
    assert_eq!(logits.len(), rows * cols);
    assert_eq!(labels.len(), rows);
    let mut colsum = vec![0.0f64; cols];
    let mut st = SoftmaxStats::default();
    let mut t = vec![0.0f64; cols];
    for r in 0..rows {
        let row = &mut logits[r * cols..(r + 1) * cols];
        for c in 0..cols {
            t[c] = row[c] as f64 + bias.map_or(0.0, |b| b[c] as f64);
        }
        let mut arg = 0;
        for c in 1..cols {
            if t[c] > t[arg] {
                arg = c;
            }
        }
        let mx = t[arg];
        let s: f64 = t.iter().map(|v| (v - mx).exp()).sum();
        let lse = mx + s.ln();
        let y = labels[r] as usize;
        assert!(y < cols, "label {y} out of range for {cols} classes");
        st.loss += lse - t[y];
        if arg == y {
            st.correct += 1;
        }
        if let Some(p) = pred.as_deref_mut() {
            p[r] = arg as u32;
        }
        for c in 0..cols {
            let g = (t[c] - lse).exp() - if c == y { 1.0 } else { 0.0 };
            row[c] = g as f32;
            colsum[c] += g;
        }
    }
    if let Some(g) = bias_grad.as_deref_mut() {
        assert_eq!(g.len(), cols);
        for c in 0..cols {
            g[c] = colsum[c] as f32;
        }
    }
    st
}

/// Kernel 5 — the paper's masking noise: `out = x` with exactly `count` randomly chosen
/// components of each row forced to 0. `scratch` holds at least `cols` entries.
///
/// The random stream, which every ISA reproduces bit for bit: one [`HalfDraws`] stream per
/// call; for each row in order, a partial Fisher–Yates shuffle of the identity `0..cols`
/// (step `i = 0..count` swaps position `i` with `i + below(cols - i)`, Lemire's exact method
/// on the stream), and the components named by the first `count` positions are zeroed. The
/// generator advances by `ceil(u / 2)` `next_u64` for `u` drawn `u32` (`u = rows * count`
/// plus the rare Lemire rejections).
pub fn mask_fixed(
    x: &[f32],
    out: &mut [f32],
    rows: usize,
    cols: usize,
    count: usize,
    rng: &mut Xoshiro256PlusPlus,
    scratch: &mut [u32],
) {
    assert_eq!(x.len(), rows * cols);
    assert_eq!(out.len(), rows * cols);
    let mut draws = HalfDraws::new(rng);
    for r in 0..rows {
        choose_indices_from(cols, count, scratch, |n| draws.below(n));
        let o = &mut out[r * cols..(r + 1) * cols];
        o.copy_from_slice(&x[r * cols..(r + 1) * cols]);
        for &i in &scratch[..count] {
            o[i as usize] = 0.0;
        }
    }
    draws.finish(rng);
}

/// Kernel 5b — Bernoulli masking: each component of the flat buffer is forced to 0 with
/// probability `t / 2^32`, `t = `[`crate::random::bernoulli_threshold`]`(p)`, exactly.
///
/// The random stream, which every ISA reproduces bit for bit. Components go in groups of
/// [`crate::random::BERNOULLI_GROUP`] = 32 (the last group may be shorter, `g` components). A group draws
/// `ceil(g / 4)` `next_u64`; component `4i + j` of the group takes bits `16j .. 16j + 16` of
/// draw `i` as `h`. With `t = t_hi 2^16 + t_lo`: a component is dropped when `h < t_hi`, kept
/// when `h > t_hi`; on a tie (`h == t_hi`, probability 2^-16) the group's tied components, in
/// order, each draw one more `next_u64` and are dropped when its low 16 bits are `< t_lo`.
/// That is the comparison of the 32-bit uniform `h 2^16 + l` with `t`, its low half drawn
/// only when the high half does not decide: P(drop) = `t_hi / 2^16 + 2^-16 t_lo / 2^16` =
/// `t / 2^32`, the same law as one 32-bit draw per component, from a quarter of the draws.
///
/// Why not fewer bits, or several generators in SIMD lanes: 16 bits with the tie rule keep
/// the full 2^-32 resolution of `p` (a plain 16-bit or 8-bit threshold would round every `p`
/// to a multiple of 2^-16 or 2^-8, and `p < 2^-16` to 0). Several xoshiro streams advanced
/// in vector lanes would be faster still, but each call would have to derive them from the
/// one generator (8 `jump`s, each 256 steps of the generator), a fixed cost that dominates
/// the small batches of online training; this scheme has no set-up and one stream.
pub fn mask_bernoulli(x: &[f32], out: &mut [f32], p: f32, rng: &mut Xoshiro256PlusPlus) {
    assert_eq!(x.len(), out.len());
    // The stream is defined once, in production's scalar form (the vector kernels fall back to
    // it for passes with a tie): the specification is that function, group by group.
    crate::random::mask_bernoulli_groups(x, out, p, rng);
}

/// Kernel 6 — SGD step in place: `w -= lr * (g + weight_decay * w)`.
pub fn sgd_update(w: &mut [f32], g: &[f32], lr: f32, weight_decay: f32) {
    assert_eq!(w.len(), g.len());
    for (wi, &gi) in w.iter_mut().zip(g) {
        let v = *wi as f64 - lr as f64 * (gi as f64 + weight_decay as f64 * *wi as f64);
        *wi = v as f32;
    }
}

/// Kernel 7 — batch-1 backward through a layer: for each row `i` of `w` (`rows x cols`),
/// `dot[i] = w_i · d` (the row before its update, summed in `f64`), then `w_i += coef[i] d`.
pub fn dot_axpy_rows(
    w: &mut [f32],
    rows: usize,
    cols: usize,
    d: &[f32],
    coef: &[f32],
    dot: &mut [f32],
) {
    assert_eq!(w.len(), rows * cols);
    assert_eq!((d.len(), coef.len(), dot.len()), (cols, rows, rows));
    for r in 0..rows {
        let row = &mut w[r * cols..(r + 1) * cols];
        dot[r] = row
            .iter()
            .zip(d)
            .map(|(&a, &b)| a as f64 * b as f64)
            .sum::<f64>() as f32;
        for (wi, &di) in row.iter_mut().zip(d) {
            *wi = (*wi as f64 + coef[r] as f64 * di as f64) as f32;
        }
    }
}

/// Kernel R1 — the row pass of a tied sigmoid layer, over `rows` rows of `n` values of the
/// row-major `w` (leading dimension `ld`). For each row `i`, in order:
/// 1. if `pend[i] != 0`: `w_i -= pend[i] * u`, then `pend[i] = 0` (an update left pending by
///    the previous example);
/// 2. `t = c[i] + w_i . y`, the loss of `z = s(t)` against `x[i]` (cross-entropy
///    `softplus(t) - x t`, or `(z - x)^2`) and its gradient with respect to `t`,
///    `g[i] = z - x` (or `2 (z - x) z (1 - z)`);
/// 3. `acc += g[i] * w_i` (the row before step 4);
/// 4. `w_i -= lr * g[i] * y`.
///
/// Returns the summed loss. Dot products and the loss in `f64`, each stored value rounded once.
/// (For a tied autoencoder `W` (`d x h`) with code `y`, this is the decoder, the
/// back-propagated `dY` before the sigmoid derivative, and the decoder half of the weight
/// update, in one visit of each row.) `w` is `rows x n`, untransposed, any leading dimension.
pub fn tied_sigmoid_rows(w: MatMut<'_>, pending: Pending<'_>, pass: TiedRows<'_>) -> f64 {
    let (w, rows, n, ld) = stored_rows(w, "tied_sigmoid_rows");
    let Pending { pend, u } = pending;
    let (y, c, x, g, acc) = (pass.y, pass.c, pass.x, pass.g, pass.acc);
    let (loss, lr) = (pass.loss, pass.lr);
    assert!(y.len() == n && u.len() == n && acc.len() == n);
    assert!(c.len() == rows && x.len() == rows && pend.len() == rows && g.len() == rows);
    let mut total = 0.0;
    for i in 0..rows {
        let row = &mut w[i * ld..i * ld + n];
        apply_pending(row, &mut pend[i], u);
        let t = c[i] as f64
            + row
                .iter()
                .zip(y)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum::<f64>();
        let (z, xi) = (sigmoid(t), x[i] as f64);
        let gi = match loss {
            Loss::SquaredError => {
                total += (z - xi) * (z - xi);
                (2.0 * (z - xi) * z * (1.0 - z)) as f32
            }
            Loss::CrossEntropy => {
                total += softplus(t) - xi * t;
                (z - xi) as f32
            }
        };
        g[i] = gi;
        for (j, wj) in row.iter_mut().enumerate() {
            acc[j] = (acc[j] as f64 + gi as f64 * *wj as f64) as f32;
            *wj = (*wj as f64 - lr as f64 * gi as f64 * y[j] as f64) as f32;
        }
    }
    total
}

/// An untransposed row-pass matrix as stored: (data, rows, row length, leading dimension).
fn stored_rows<'a>(w: MatMut<'a>, kernel: &str) -> (&'a mut [f32], usize, usize, usize) {
    assert_eq!(w.trans(), Trans::N, "reference::{kernel}: w transposed");
    let (rows, n, ld) = (w.stored_rows(), w.stored_cols(), w.ld());
    (w.into_data(), rows, n, ld)
}

/// A row's pending update: if `pend != 0`, `row -= pend * u` and `pend = 0`.
fn apply_pending(row: &mut [f32], pend: &mut f32, u: &[f32]) {
    if *pend != 0.0 {
        for (wj, &uj) in row.iter_mut().zip(u) {
            *wj = (*wj as f64 - *pend as f64 * uj as f64) as f32;
        }
        *pend = 0.0;
    }
}

/// Kernel R2 — a sparse combination of rows of the row-major `w` (`rows` rows of `n` values,
/// leading dimension `ld`): for each row `i` with `coef[i] != 0`, in order: if `pend[i] != 0`,
/// `w_i -= pend[i] * u` and `pend[i] = 0`; then `acc += coef[i] * w_i`. Rows with
/// `coef[i] == 0` are neither read nor written. (The forward pass `x W` of a sparse input.)
pub fn sparse_row_combine(w: MatMut<'_>, coef: &[f32], pending: Pending<'_>, acc: &mut [f32]) {
    let (w, rows, n, ld) = stored_rows(w, "sparse_row_combine");
    let Pending { pend, u } = pending;
    assert!(u.len() == n && acc.len() == n);
    assert!(coef.len() == rows && pend.len() == rows);
    for i in 0..rows {
        if coef[i] == 0.0 {
            continue;
        }
        let row = &mut w[i * ld..i * ld + n];
        apply_pending(row, &mut pend[i], u);
        for (aj, &wj) in acc.iter_mut().zip(row.iter()) {
            *aj = (*aj as f64 + coef[i] as f64 * wj as f64) as f32;
        }
    }
}

/// Kernel 8b — Bernoulli sampling from probabilities: `sample[i] = 1` when `u_i < p[i]`, else
/// `0`, where `u_i = (w_i >> 8) / 2^24` and `w_i` is the `i`-th `u32` of the generator's output
/// taken as both halves of every `next_u64`, the low 32 bits first. Exactly `ceil(len / 2)`
/// `next_u64` are drawn (the high half of the last one is dropped when `len` is odd).
pub fn bernoulli_sample(p: &[f32], sample: &mut [f32], rng: &mut Xoshiro256PlusPlus) {
    use rand_xoshiro::rand_core::Rng;
    assert_eq!(p.len(), sample.len());
    let mut high: Option<u32> = None;
    for (s, &pi) in sample.iter_mut().zip(p) {
        let w = match high.take() {
            Some(h) => h,
            None => {
                let v = rng.next_u64();
                high = Some((v >> 32) as u32);
                v as u32
            }
        };
        let u = (w >> 8) as f64 / 16_777_216.0;
        *s = if u < pi as f64 { 1.0 } else { 0.0 };
    }
}

/// Kernel 8 — the binary units of a Gibbs step: `t[r,c] = p = s(t[r,c] + bias[c])` (as
/// [`sigmoid_bias_inplace`]), then [`bernoulli_sample`] of the batch `p`, row-major, into
/// `sample`.
pub fn sigmoid_bias_bernoulli(
    t: &mut [f32],
    rows: usize,
    cols: usize,
    bias: &[f32],
    sample: &mut [f32],
    rng: &mut Xoshiro256PlusPlus,
) {
    sigmoid_bias_inplace(t, rows, cols, bias);
    bernoulli_sample(t, sample, rng);
}

/// STREAM triad `a[i] = b[i] + s * c[i]`, in `f64`.
pub fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) {
    assert!(
        a.len() == b.len() && a.len() == c.len(),
        "triad: lengths differ"
    );
    for i in 0..a.len() {
        a[i] = (b[i] as f64 + s as f64 * c[i] as f64) as f32;
    }
}
