//! The fused kernels, written once over the [`Simd`] vocabulary.
//!
//! Every body is `#[inline(always)]` and `unsafe`; the per-ISA shims (`scalar.rs`, `avx2.rs`,
//! `avx512.rs`, `neon.rs`) instantiate them inside a `#[target_feature]` function. Each row is
//! walked in chunks of `S::LANES`; the last chunk of a row (the remainder, `n < LANES`) uses
//! masked / partial loads and stores, so nothing outside the row is read or written.
//!
//! Accumulations: the loss of a row is summed in `f32` vector lanes, reduced, and added to an
//! `f64` total; bias-gradient column sums are accumulated in `f32` (one add per row).
//!
//! # Safety (common to every function here)
//! The CPU supports `S`'s ISA, and the slice lengths match the shapes (checked by the safe
//! methods in `fused/mod.rs`).

use crate::random::{self, HalfDraws};
use crate::simd::pair::Quad;
use crate::simd::{exp, load_n as ld, log1p_unit, sigmoid_parts, store_n as st, Simd};
use crate::{Loss, SoftmaxStats, Xoshiro256PlusPlus};

/// Walks the columns `0..cols` of a row as the two-width kernels do: `wide` on each full
/// chunk of `W::LANES` columns, then `narrow` on the rest in chunks of at most `S::LANES`;
/// in both, `c` is the chunk's first column and `n` its width. Chunks run in column order.
macro_rules! wide_then_narrow {
    ($cols:expr, $W:ident, $S:ident, |$c:ident, $n:ident| wide: $wide:expr, narrow: $narrow:expr $(,)?) => {{
        let cols = $cols;
        let mut $c = 0;
        while $c + $W::LANES <= cols {
            let $n = $W::LANES;
            $wide;
            $c += $n;
        }
        while $c < cols {
            let $n = $S::LANES.min(cols - $c);
            $narrow;
            $c += $n;
        }
    }};
}
pub(crate) use wide_then_narrow;

/// `v` in the first `n` lanes, 0 in the others (so padding never enters a sum).
///
/// # Safety
/// ISA available; `n <= LANES`.
#[inline(always)]
unsafe fn keep<S: Simd>(v: S::V, n: usize) -> S::V {
    // SAFETY: ISA available (caller).
    unsafe {
        if n == S::LANES {
            v
        } else {
            S::select(S::first_lanes(n), v, S::splat(0.0))
        }
    }
}

/// Kernel 1: `y = s(y + bias)` row-wise.
///
/// Each row is walked in full vectors of the wide type `W` (several `S` vectors interleaved,
/// see [`crate::simd::pair`]), then in `S` vectors for the last `< W::LANES` columns.
///
/// # Safety
/// See the module doc: ISA available, `y.len() == rows * cols`, `bias.len() == cols`.
#[inline(always)]
pub unsafe fn sigmoid_bias_inplace<S: Simd, W: Simd>(
    y: &mut [f32],
    (rows, cols): (usize, usize),
    bias: &[f32],
) {
    debug_assert!(y.len() == rows * cols && bias.len() == cols);
    /// `n <= T::LANES` columns from `c`; `n == T::LANES` compiles to unmasked loads.
    #[inline(always)]
    unsafe fn step<T: Simd>(row: *mut f32, b: *const f32, c: usize, n: usize) {
        // SAFETY: c + n <= cols (caller), so row[c..c+n] and bias[c..c+n] are in bounds.
        unsafe {
            let t = T::add(ld::<T>(row.add(c), n, 0.0), ld::<T>(b.add(c), n, 0.0));
            let (_, _, z) = sigmoid_parts::<T>(t);
            st::<T>(row.add(c), z, n);
        }
    }
    let b = bias.as_ptr();
    for r in 0..rows {
        let row = y[r * cols..(r + 1) * cols].as_mut_ptr();
        wide_then_narrow!(cols, W, S, |c, n|
            // SAFETY: c + n <= cols.
            wide: unsafe { step::<W>(row, b, c, n) },
            // SAFETY: c + n <= cols.
            narrow: unsafe { step::<S>(row, b, c, n) },
        );
    }
}

/// The optional operands of [`sigmoid_loss`]: a bias added to the logits (`cols`), the
/// sigmoid outputs written out (`rows * cols`), and the bias gradient's column sums (`cols`).
#[derive(Default)]
pub struct LossOpts<'a> {
    pub bias: Option<&'a [f32]>,
    pub z_out: Option<&'a mut [f32]>,
    pub bias_grad: Option<&'a mut [f32]>,
}

/// The pointers one row of [`sigmoid_loss`] works on.
#[derive(Clone, Copy)]
struct LossRow {
    a: *mut f32,
    x: *const f32,
    bias: Option<*const f32>,
    z: Option<*mut f32>,
    bias_grad: Option<*mut f32>,
}

/// `n <= T::LANES` columns of [`sigmoid_loss`] from `c`: gradient, z and bias gradient
/// stored, the loss terms returned (0 in lanes `>= n`). `n == T::LANES` compiles to unmasked
/// loads and stores.
///
/// # Safety
/// ISA available; `c + n` within the row of every pointer of `p`.
#[inline(always)]
unsafe fn sigmoid_loss_step<T: Simd>(loss: Loss, p: LossRow, c: usize, n: usize) -> T::V {
    // SAFETY: c + n <= cols (caller): every pointer below stays within its row / bias vector.
    unsafe {
        let mut t = ld::<T>(p.a.add(c), n, 0.0);
        if let Some(b) = p.bias {
            t = T::add(t, ld::<T>(b.add(c), n, 0.0));
        }
        let xv = ld::<T>(p.x.add(c), n, 0.0);
        let (e, r, z) = sigmoid_parts::<T>(t);
        let (l, g) = match loss {
            Loss::CrossEntropy => {
                // softplus(t) - x t = ln(1 + e^-|t|) + |t| (t >= 0 ? 1 - x : x):
                // a sum of non-negative terms for x in [0, 1], so no cancellation
                // (softplus(t) - x t itself loses all digits when x ~ 1, t >> 0).
                let one_minus_x = T::sub(T::splat(1.0), xv);
                let w = T::select(T::ge(t, T::splat(0.0)), one_minus_x, xv);
                (
                    T::neg_mul_add(T::neg_abs(t), w, log1p_unit::<T>(e)),
                    T::sub(z, xv),
                )
            }
            Loss::SquaredError => {
                // (z - x)^2 and 2 (z - x) z (1 - z), z (1 - z) = e r^2
                let d = T::sub(z, xv);
                let zz = T::mul(T::mul(e, r), r);
                (T::mul(d, d), T::mul(T::add(d, d), zz))
            }
        };
        st::<T>(p.a.add(c), g, n);
        if let Some(zo) = p.z {
            st::<T>(zo.add(c), z, n);
        }
        if let Some(bg) = p.bias_grad {
            let s = T::add(ld::<T>(bg.add(c), n, 0.0), g);
            st::<T>(bg.add(c), s, n);
        }
        keep::<T>(l, n)
    }
}

/// Kernels 2 and 2b: sigmoid output with cross-entropy or squared error, loss + gradient
/// (+ z, + bias-gradient column sums) in one pass over the batch.
///
/// Each row is walked in full vectors of the wide type `W` (several `S` vectors interleaved,
/// see [`crate::simd::pair`]), then in `S` vectors for the last `< W::LANES` columns; the
/// row's loss is the sum of both accumulators' lanes.
///
/// # Safety
/// See the module doc: ISA available, `a`, `x` (and `z_out`) hold `rows * cols`, `bias` and
/// `bias_grad` hold `cols`.
#[inline(always)]
pub unsafe fn sigmoid_loss<S: Simd, W: Simd>(
    loss: Loss,
    a: &mut [f32],
    x: &[f32],
    (rows, cols): (usize, usize),
    opts: LossOpts<'_>,
) -> f64 {
    let LossOpts {
        bias,
        z_out,
        bias_grad,
    } = opts;
    debug_assert!(a.len() == rows * cols && x.len() == rows * cols);
    debug_assert!(bias.is_none_or(|b| b.len() == cols));
    debug_assert!(z_out.as_ref().is_none_or(|z| z.len() == rows * cols));
    debug_assert!(bias_grad.as_ref().is_none_or(|g| g.len() == cols));
    let bias = bias.map(|b| b.as_ptr());
    let z_out = z_out.map(|z| z.as_mut_ptr());
    let bias_grad = bias_grad.map(|g| {
        g.fill(0.0);
        g.as_mut_ptr()
    });
    let mut total = 0.0f64;
    for r in 0..rows {
        let off = r * cols;
        let p = LossRow {
            a: a[off..off + cols].as_mut_ptr(),
            x: x[off..off + cols].as_ptr(),
            bias,
            // SAFETY: z_out holds rows * cols elements like a, so off is in bounds.
            z: z_out.map(|z| unsafe { z.add(off) }),
            bias_grad,
        };
        // SAFETY: ISA available (caller).
        let (mut wide, mut acc) = unsafe { (W::splat(0.0), S::splat(0.0)) };
        wide_then_narrow!(cols, W, S, |c, n|
            // SAFETY: c + n <= cols.
            wide: wide = unsafe { W::add(wide, sigmoid_loss_step::<W>(loss, p, c, n)) },
            // SAFETY: c + n <= cols.
            narrow: acc = unsafe { S::add(acc, sigmoid_loss_step::<S>(loss, p, c, n)) },
        );
        // SAFETY: ISA available (caller).
        total += unsafe { W::reduce_add(wide) + S::reduce_add(acc) } as f64;
    }
    total
}

/// Kernel 3: `d *= h (1 - h)`, `bias_grad = Σ_rows d`.
///
/// # Safety
/// See the module doc: ISA available, `d` and `h` hold `rows * cols`, `bias_grad` holds `cols`.
#[inline(always)]
pub unsafe fn sigmoid_backward<S: Simd>(
    d: &mut [f32],
    h: &[f32],
    (rows, cols): (usize, usize),
    bias_grad: &mut [f32],
) {
    debug_assert!(d.len() == rows * cols && h.len() == rows * cols && bias_grad.len() == cols);
    bias_grad.fill(0.0);
    let bg = bias_grad.as_mut_ptr();
    for r in 0..rows {
        let off = r * cols;
        let dr = d[off..off + cols].as_mut_ptr();
        let hr = h[off..off + cols].as_ptr();
        let mut c = 0;
        while c < cols {
            let n = S::LANES.min(cols - c);
            // SAFETY: c + n <= cols: all pointers stay within their row / bias_grad.
            unsafe {
                let hv = ld::<S>(hr.add(c), n, 0.0);
                // h (1 - h): 1 - h is exact for h >= 1/2 (Sterbenz), so no cancellation.
                let hh = S::mul(hv, S::sub(S::splat(1.0), hv));
                let v = S::mul(ld::<S>(dr.add(c), n, 0.0), hh);
                st::<S>(dr.add(c), v, n);
                st::<S>(bg.add(c), S::add(ld::<S>(bg.add(c), n, 0.0), v), n);
            }
            c += n;
        }
    }
}

/// The optional operands of [`softmax_nll`]: a bias added to the logits (`cols`), the bias
/// gradient's column sums (`cols`), and the arg-max of each row (`rows`).
#[derive(Default)]
pub struct SoftmaxOpts<'a> {
    pub bias: Option<&'a [f32]>,
    pub bias_grad: Option<&'a mut [f32]>,
    pub pred: Option<&'a mut [u32]>,
}

/// Kernel 4: row-wise softmax + NLL + gradient (+ bias-gradient column sums, + arg-max).
///
/// # Safety
/// See the module doc: ISA available, `logits` holds `rows * cols`, `labels` and `pred` hold
/// `rows`, every label `< cols`, `bias` and `bias_grad` hold `cols`, `cols > 0` if `rows > 0`.
#[inline(always)]
pub unsafe fn softmax_nll<S: Simd>(
    logits: &mut [f32],
    (rows, cols): (usize, usize),
    labels: &[u32],
    opts: SoftmaxOpts<'_>,
) -> SoftmaxStats {
    let SoftmaxOpts {
        bias,
        bias_grad,
        mut pred,
    } = opts;
    debug_assert!(logits.len() == rows * cols && labels.len() == rows);
    debug_assert!(labels.iter().all(|&y| (y as usize) < cols));
    debug_assert!(bias.is_none_or(|b| b.len() == cols));
    debug_assert!(bias_grad.as_ref().is_none_or(|g| g.len() == cols));
    debug_assert!(pred.as_ref().is_none_or(|p| p.len() == rows));
    let bias = bias.map(|b| b.as_ptr());
    let bias_grad = bias_grad.map(|g| {
        g.fill(0.0);
        g.as_mut_ptr()
    });
    let mut stats = SoftmaxStats::default();
    for r in 0..rows {
        let row = logits[r * cols..(r + 1) * cols].as_mut_ptr();
        let y = labels[r] as usize;
        // SAFETY (whole row body): every chunk c..c+n has c + n <= cols; y < cols (caller).
        unsafe {
            // The label's logit in f64, as the reference has it, before the row is overwritten.
            let ty = *row.add(y) as f64 + bias.map_or(0.0, |b| *b.add(y) as f64);
            // Pass 1: t = logits + bias (stored back), running max.
            let mut vmax = S::splat(f32::NEG_INFINITY);
            let mut c = 0;
            while c < cols {
                let n = S::LANES.min(cols - c);
                let mut t = ld::<S>(row.add(c), n, f32::NEG_INFINITY);
                if let Some(b) = bias {
                    t = S::add(t, ld::<S>(b.add(c), n, 0.0));
                    st::<S>(row.add(c), t, n);
                }
                vmax = S::max(vmax, t);
                c += n;
            }
            let mx = S::reduce_max(vmax);
            // Arg-max: the first column equal to the maximum.
            let vm = S::splat(mx);
            let mut arg = 0;
            let mut c = 0;
            while c < cols {
                let n = S::LANES.min(cols - c);
                let bits = S::eq_bits(ld::<S>(row.add(c), n, f32::NEG_INFINITY), vm);
                if bits != 0 {
                    arg = c + bits.trailing_zeros() as usize;
                    break;
                }
                c += n;
            }
            // Pass 2: e = exp(t - max), stored, summed.
            let mut vsum = S::splat(0.0);
            let mut c = 0;
            while c < cols {
                let n = S::LANES.min(cols - c);
                let e = exp::<S>(S::sub(ld::<S>(row.add(c), n, 0.0), vm));
                st::<S>(row.add(c), e, n);
                vsum = S::add(vsum, keep::<S>(e, n));
                c += n;
            }
            let s = S::reduce_add(vsum);
            stats.loss += mx as f64 + (s as f64).ln() - ty;
            if arg == y {
                stats.correct += 1;
            }
            if let Some(p) = pred.as_deref_mut() {
                p[r] = arg as u32;
            }
            // Pass 3: p = e / s (the one-hot is subtracted below), column sums.
            let inv = S::splat(1.0 / s);
            let mut c = 0;
            while c < cols {
                let n = S::LANES.min(cols - c);
                let p = S::mul(ld::<S>(row.add(c), n, 0.0), inv);
                st::<S>(row.add(c), p, n);
                if let Some(bg) = bias_grad {
                    st::<S>(bg.add(c), S::add(ld::<S>(bg.add(c), n, 0.0), p), n);
                }
                c += n;
            }
            *row.add(y) -= 1.0;
            if let Some(bg) = bias_grad {
                *bg.add(y) -= 1.0;
            }
        }
    }
    stats
}

/// Kernel 5: exactly `count` zeros per row, bit-identical to `reference::mask_fixed`.
///
/// Per row: copy the row (vector loads and stores), write the identity into `scratch` (a
/// vector at a time), then run the reference's partial Fisher–Yates shuffle on the same
/// stream ([`HalfDraws`], one per call), two steps per `next_u64`
/// ([`HalfDraws::below_pair`]). Position `i` of the shuffle is final once step `i`
/// has swapped into it, so the component it names is zeroed right there and position `i`
/// itself is never written back (only `scratch[j]` is): the zeroed set is the reference's,
/// with one store less per draw and no second pass. `scratch[..count]` is therefore not the
/// index list on return.
///
/// # Safety
/// See the module doc: ISA available, `x` and `out` hold `rows * cols`, `count <= cols`,
/// `scratch` holds at least `cols`, `cols < 2^32`.
#[inline(always)]
pub unsafe fn mask_fixed<S: Simd>(
    x: &[f32],
    out: &mut [f32],
    (rows, cols): (usize, usize),
    count: usize,
    rng: &mut Xoshiro256PlusPlus,
    scratch: &mut [u32],
) {
    debug_assert!(x.len() == rows * cols && out.len() == rows * cols);
    debug_assert!(count <= cols && scratch.len() >= cols && u32::try_from(cols).is_ok());
    /// Step `i` of the shuffle with target `j`: zero the component that lands in position
    /// `i`, move position `i`'s entry to `j`.
    ///
    /// # Safety
    /// `i <= j < cols`; `sp[..cols]` holds column indices `< cols`; `op` valid for `cols`.
    #[inline(always)]
    unsafe fn step(sp: *mut u32, op: *mut f32, i: usize, j: usize) {
        // SAFETY: i, j < cols and every scratch entry is a column index < cols.
        unsafe {
            let v = *sp.add(j);
            *sp.add(j) = *sp.add(i);
            *op.add(v as usize) = 0.0;
        }
    }

    let sp = scratch[..cols].as_mut_ptr();
    let mut draws = HalfDraws::new(rng);
    for r in 0..rows {
        let off = r * cols;
        let xr = x[off..off + cols].as_ptr();
        let op = out[off..off + cols].as_mut_ptr();
        let mut c = 0;
        while c < cols {
            let n = S::LANES.min(cols - c);
            // SAFETY: c + n <= cols: within the row of x and of out.
            unsafe { st::<S>(op.add(c), ld::<S>(xr.add(c), n, 0.0), n) };
            c += n;
        }
        let mut c = 0;
        while c + S::LANES <= cols {
            // SAFETY: c + LANES <= cols <= scratch.len().
            unsafe { S::iota_u32(sp.add(c), c as u32) };
            c += S::LANES;
        }
        while c < cols {
            // SAFETY: c < cols <= scratch.len().
            unsafe { *sp.add(c) = c as u32 };
            c += 1;
        }
        let mut i = 0;
        while i + 2 <= count {
            let (a, b) = draws.below_pair((cols - i) as u32, (cols - i - 1) as u32);
            // SAFETY: i <= i + a < cols and i + 1 <= i + 1 + b < cols (below(n) < n).
            unsafe {
                step(sp, op, i, i + a as usize);
                step(sp, op, i + 1, i + 1 + b as usize);
            }
            i += 2;
        }
        if i < count {
            let j = i + draws.below((cols - i) as u32) as usize;
            // SAFETY: i <= j < cols (below(n) < n).
            unsafe { step(sp, op, i, j) };
        }
    }
    draws.finish(rng);
}

/// Components of one pass of [`mask_bernoulli`]: 8 groups of
/// [`random::BERNOULLI_GROUP`], 64 `next_u64`.
const BERNOULLI_PASS: usize = 8 * random::BERNOULLI_GROUP;

/// `draws.len()` `next_u64` of `rng` into `draws`.
///
/// Not inlined, and so compiled for the baseline target rather than the caller's ISA: inside
/// an AVX-512 function LLVM vectorizes xoshiro's output step across unrolled draws (vector
/// 64-bit rotates), which makes the serial generator slower, not faster.
#[inline(never)]
fn fill_u64(rng: &mut Xoshiro256PlusPlus, draws: &mut [u64]) {
    use rand_xoshiro::rand_core::Rng;
    for d in draws {
        *d = rng.next_u64();
    }
}

/// Kernel 5b: Bernoulli masking, bit-identical to `reference::mask_bernoulli`.
///
/// A pass covers 256 components (8 groups of 32): 64 `next_u64` into a buffer (four 16-bit
/// draws each), then per `S` vector a compare and blend, and a check for ties (a 16-bit draw
/// equal to `t_hi`). A tie needs an extra draw right after its group's draws, which this
/// pass already went past: so a pass with a tie (about one in 256) rewinds the generator to
/// where the pass began and redoes those 256 components group by group
/// ([`random::mask_bernoulli_groups`], the stream's scalar form). The last `< 256` components
/// also go through it.
///
/// # Safety
/// See the module doc: ISA available, `out.len() == x.len()`; `S::LANES` divides 32.
#[inline(always)]
pub unsafe fn mask_bernoulli<S: Simd>(
    x: &[f32],
    out: &mut [f32],
    p: f32,
    rng: &mut Xoshiro256PlusPlus,
) {
    debug_assert!(out.len() == x.len() && 32 % S::LANES == 0);
    let t = random::bernoulli_threshold(p);
    let t_hi = (t >> 16) as u16;
    let len = x.len();
    let full = len - len % BERNOULLI_PASS;
    // The 16-bit draw 4k + j is bits 16j.. of draw k: on a little-endian CPU, u16 number
    // 4k + j of the draws' memory.
    const _: () = assert!(cfg!(target_endian = "little"));
    let mut draws = [0u64; BERNOULLI_PASS / 4];
    let mut i = 0;
    while i < full {
        let start = rng.clone();
        fill_u64(rng, &mut draws);
        let h = draws.as_ptr() as *const u16;
        let mut tie = false;
        let mut l = 0;
        while l < BERNOULLI_PASS {
            // SAFETY: i + l + LANES <= full <= len; l + LANES <= 256 u16 of draws (LANES
            // divides 256).
            unsafe {
                let drop = S::lt_u16(h.add(l), t_hi);
                tie |= S::any_eq_u16(h.add(l), t_hi);
                let v = S::load(x.as_ptr().add(i + l));
                S::store(
                    out.as_mut_ptr().add(i + l),
                    S::select(drop, S::splat(0.0), v),
                );
            }
            l += S::LANES;
        }
        if tie {
            *rng = start;
            let end = i + BERNOULLI_PASS;
            random::mask_bernoulli_groups(&x[i..end], &mut out[i..end], p, rng);
        }
        i += BERNOULLI_PASS;
    }
    random::mask_bernoulli_groups(&x[full..], &mut out[full..], p, rng);
}

/// Kernel 6: `w -= lr (g + wd w)`.
///
/// # Safety
/// See the module doc: ISA available, `g.len() == w.len()`.
#[inline(always)]
pub unsafe fn sgd_update<S: Simd>(w: &mut [f32], g: &[f32], lr: f32, weight_decay: f32) {
    debug_assert_eq!(w.len(), g.len());
    let len = w.len();
    let (wp, gp) = (w.as_mut_ptr(), g.as_ptr());
    // SAFETY: ISA available (caller).
    let (vlr, vwd) = unsafe { (S::splat(lr), S::splat(weight_decay)) };
    let mut c = 0;
    while c < len {
        let n = S::LANES.min(len - c);
        // SAFETY: c + n <= len = g.len().
        unsafe {
            let wv = ld::<S>(wp.add(c), n, 0.0);
            let v = S::mul_add(vwd, wv, ld::<S>(gp.add(c), n, 0.0));
            st::<S>(wp.add(c), S::neg_mul_add(vlr, v, wv), n);
        }
        c += n;
    }
}

/// Kernel 7: the batch-1 backward pass through one layer, in one sweep over `w`
/// (`rows x cols`, row-major): for each row `i`, `dot[i] = w_i · d` with the row as it was,
/// then `w_i += coef[i] d`. Each row is loaded once and serves both the product and the
/// update, so the weights cross the memory hierarchy once (read + write) where a product
/// followed by an update pass would read them twice. The body walks four `S` vectors per step
/// ([`Quad`]: four independent accumulators); the last `< 4 S::LANES` columns go into the
/// first accumulator.
///
/// # Safety
/// See the module doc: ISA available, `w.len() == rows * cols`, `d.len() == cols`,
/// `coef.len() == rows`, `dot.len() == rows`.
#[inline(always)]
pub unsafe fn dot_axpy_rows<S: Simd>(
    w: &mut [f32],
    (rows, cols): (usize, usize),
    d: &[f32],
    coef: &[f32],
    dot: &mut [f32],
) {
    debug_assert!(w.len() == rows * cols && d.len() == cols);
    debug_assert!(coef.len() == rows && dot.len() == rows);
    type Q<S> = Quad<S>;
    let dp = d.as_ptr();
    let body = cols - cols % Q::<S>::LANES;
    for r in 0..rows {
        let wp = w[r * cols..(r + 1) * cols].as_mut_ptr();
        // SAFETY (whole block): ISA available (caller); every offset below is < cols, the
        // length of this row of w and of d.
        unsafe {
            let (cs, cq) = (S::splat(coef[r]), Q::<S>::splat(coef[r]));
            let mut acc = Q::<S>::splat(0.0);
            let mut c = 0;
            while c < body {
                let (wv, dv) = (Q::<S>::load(wp.add(c)), Q::<S>::load(dp.add(c)));
                acc = Q::<S>::mul_add(wv, dv, acc);
                Q::<S>::store(wp.add(c), Q::<S>::mul_add(cq, dv, wv));
                c += Q::<S>::LANES;
            }
            let ((mut a0, a1), (a2, a3)) = acc;
            while c < cols {
                let n = S::LANES.min(cols - c);
                let wv = ld::<S>(wp.add(c), n, 0.0);
                let dv = ld::<S>(dp.add(c), n, 0.0);
                a0 = S::mul_add(wv, dv, a0);
                st::<S>(wp.add(c), S::mul_add(cs, dv, wv), n);
                c += n;
            }
            dot[r] = S::reduce_add(S::add(S::add(a0, a1), S::add(a2, a3)));
        }
    }
}

/// Which element-wise math function [`math_inplace`] applies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MathFn {
    Exp,
    Sigmoid,
    Softplus,
}

/// `x = f(x)` element-wise, for testing and measuring the vector math of each ISA.
///
/// # Safety
/// See the module doc: ISA available.
#[inline(always)]
pub unsafe fn math_inplace<S: Simd>(f: MathFn, x: &mut [f32]) {
    let len = x.len();
    let p = x.as_mut_ptr();
    let mut c = 0;
    while c < len {
        let n = S::LANES.min(len - c);
        // SAFETY: c + n <= len.
        unsafe {
            let t = ld::<S>(p.add(c), n, 0.0);
            let v = match f {
                MathFn::Exp => exp::<S>(t),
                MathFn::Sigmoid => sigmoid_parts::<S>(t).2,
                MathFn::Softplus => {
                    let (e, _, _) = sigmoid_parts::<S>(t);
                    S::add(S::max(t, S::splat(0.0)), log1p_unit::<S>(e))
                }
            };
            st::<S>(p.add(c), v, n);
        }
        c += n;
    }
}
