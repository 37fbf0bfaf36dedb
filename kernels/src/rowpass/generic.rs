//! The row-pass kernels, written once over the [`Simd`] vocabulary.
//!
//! Rows are walked `R` at a time (a const of the instantiation): the dot products of `R` rows
//! share each load of `y`, and the updates of `R` rows share each load and store of the
//! accumulator. Each row is walked in chunks of `S::LANES`; the last chunk (`n % LANES`) uses
//! partial loads and stores, so nothing past column `n` of a row is read or written.
//!
//! # Safety (common to every function here)
//! The CPU supports `S`'s ISA, and the slice lengths match the shapes (checked by the safe
//! methods in `rowpass/mod.rs`): `w` holds `(rows - 1) * ld + n` values with `ld >= n`.

use crate::fused::generic::{sigmoid_loss, LossOpts};
use crate::mat::MatMut;
use crate::rowpass::{Pending, TiedRows};
use crate::simd::{load_n, store_n as st, Simd};
use crate::Loss;

/// `n <= LANES` values, a partial vector padded with zeros.
///
/// # Safety
/// ISA available; `p..p+n` readable.
#[inline(always)]
unsafe fn ldz<S: Simd>(p: *const f32, n: usize) -> S::V {
    // SAFETY: forwarded contract.
    unsafe { load_n::<S>(p, n, 0.0) }
}

/// `row[..n] -= p * u[..n]` (one rounding per element: a fused multiply-add of `-p`).
///
/// # Safety
/// ISA available; `row..row+n` writable, `u..u+n` readable.
#[inline(always)]
unsafe fn sub_scaled<S: Simd>(row: *mut f32, n: usize, p: f32, u: *const f32) {
    // SAFETY: every chunk c..c+m has c + m <= n (caller's extents).
    unsafe {
        let vp = S::splat(-p);
        let mut c = 0;
        while c < n {
            let m = S::LANES.min(n - c);
            let v = S::mul_add(vp, ldz::<S>(u.add(c), m), ldz::<S>(row.add(c), m));
            st::<S>(row.add(c), v, m);
            c += m;
        }
    }
}

/// What every group of [`tied_sigmoid_rows`] shares: the loss, the matrix's stride and row
/// length, the code `y`, the learning rate and the accumulator `acc` (`n` values each).
#[derive(Clone, Copy)]
struct GroupCtx {
    loss: Loss,
    ld: usize,
    n: usize,
    y: *const f32,
    lr: f32,
    acc: *mut f32,
}

/// `R` rows starting at `w` (stride `ld`): dots `t_r = c_r + w_r . y`, the loss and its
/// gradient `g_r` (written to `g`), `acc += Σ_r g_r w_r` (the old rows), `w_r -= lr g_r y`.
/// Returns the summed loss of the `R` rows.
///
/// # Safety
/// ISA available; `w + r*ld .. + n` writable for `r < R`; `y`, `acc` hold `n`; `c`, `x`, `g`
/// hold `R`.
#[inline(always)]
unsafe fn rows_group<S: Simd, const R: usize>(
    cx: GroupCtx,
    w: *mut f32,
    c: &[f32],
    x: &[f32],
    g: &mut [f32],
) -> f64 {
    let GroupCtx {
        loss,
        ld,
        n,
        y,
        lr,
        acc,
    } = cx;
    debug_assert!(c.len() >= R && x.len() >= R && g.len() >= R);
    // SAFETY (whole body): every chunk c0..c0+m has c0 + m <= n; rows r < R are in `w` (caller).
    unsafe {
        let mut dot = [S::splat(0.0); R];
        let mut c0 = 0;
        while c0 < n {
            let m = S::LANES.min(n - c0);
            let yv = ldz::<S>(y.add(c0), m);
            for (r, d) in dot.iter_mut().enumerate() {
                *d = S::mul_add(ldz::<S>(w.add(r * ld + c0), m), yv, *d);
            }
            c0 += m;
        }
        let mut t = [0.0f32; R];
        for r in 0..R {
            t[r] = S::reduce_add(dot[r]) + c[r];
        }
        // Loss and gradient of the R logits: the fused sigmoid-loss kernel on one row of R.
        let total = sigmoid_loss::<S, S>(loss, &mut t, &x[..R], (1, R), LossOpts::default());
        g[..R].copy_from_slice(&t);
        let gv: [S::V; R] = std::array::from_fn(|r| S::splat(t[r]));
        let lv: [S::V; R] = std::array::from_fn(|r| S::splat(-lr * t[r]));
        let mut c0 = 0;
        while c0 < n {
            let m = S::LANES.min(n - c0);
            let yv = ldz::<S>(y.add(c0), m);
            let mut a = ldz::<S>(acc.add(c0), m);
            for r in 0..R {
                let p = w.add(r * ld + c0);
                // The next group's rows, a group ahead: they stream from L3 meanwhile.
                S::prefetch(p.wrapping_add(R * ld));
                let wv = ldz::<S>(p, m);
                a = S::mul_add(gv[r], wv, a);
                st::<S>(p, S::mul_add(lv[r], yv, wv), m);
            }
            st::<S>(acc.add(c0), a, m);
            c0 += m;
        }
        total
    }
}

/// Rows per group of [`tied_sigmoid_rows`] and [`sparse_row_combine`].
pub const GROUP: usize = 8;

/// Kernel R1: the per-row pass of a tied sigmoid layer (spec:
/// [`crate::reference::tied_sigmoid_rows`]). For each row `i < rows`: the pending update
/// `w_i -= pend_i u` (then `pend_i = 0`), `t_i = c_i + w_i . y`, the loss of `s(t_i)` against
/// `x_i` and its gradient `g_i`, `acc += g_i w_i`, `w_i -= lr g_i y`. Returns the summed loss.
///
/// # Safety
/// See the module doc; `y`, `u`, `acc` hold `n`; `c`, `x`, `pend`, `g` hold `rows`.
#[inline(always)]
pub unsafe fn tied_sigmoid_rows<S: Simd>(
    w: MatMut<'_>,
    pending: Pending<'_>,
    pass: TiedRows<'_>,
) -> f64 {
    let (rows, n, ld) = (w.stored_rows(), w.stored_cols(), w.ld());
    let Pending { pend, u } = pending;
    let TiedRows {
        loss,
        y,
        c,
        x,
        lr,
        g,
        acc,
    } = pass;
    debug_assert!(y.len() == n && u.len() == n && acc.len() == n);
    debug_assert!(c.len() == rows && x.len() == rows && pend.len() == rows && g.len() == rows);
    let wp = w.into_data().as_mut_ptr();
    let up = u.as_ptr();
    let cx = GroupCtx {
        loss,
        ld,
        n,
        y: y.as_ptr(),
        lr,
        acc: acc.as_mut_ptr(),
    };
    let mut total = 0.0;
    let mut i = 0;
    while i < rows {
        let r = GROUP.min(rows - i);
        // SAFETY: rows i..i+r < rows lie in w (caller's extents), slices hold `rows` entries.
        unsafe {
            for (q, p) in pend[i..i + r].iter_mut().enumerate() {
                if *p != 0.0 {
                    sub_scaled::<S>(wp.add((i + q) * ld), n, *p, up);
                    *p = 0.0;
                }
            }
            let (cg, xg, gg) = (&c[i..i + r], &x[i..i + r], &mut g[i..i + r]);
            let row = wp.add(i * ld);
            total += if r == GROUP {
                rows_group::<S, GROUP>(cx, row, cg, xg, gg)
            } else {
                let mut sub = 0.0;
                for q in 0..r {
                    sub += rows_group::<S, 1>(
                        cx,
                        row.add(q * ld),
                        &cg[q..],
                        &xg[q..q + 1],
                        &mut gg[q..],
                    );
                }
                sub
            };
        }
        i += r;
    }
    total
}

/// Kernel R2: a sparse combination of rows (spec: [`crate::reference::sparse_row_combine`]).
/// For each row `i` with `coef_i != 0`: the pending update `w_i -= pend_i u` (then
/// `pend_i = 0`), then `acc += coef_i w_i`. Rows with `coef_i == 0` are not touched.
///
/// # Safety
/// See the module doc; `u`, `acc` hold `n`; `coef`, `pend` hold `rows`.
#[inline(always)]
pub unsafe fn sparse_row_combine<S: Simd>(
    w: MatMut<'_>,
    coef: &[f32],
    pending: Pending<'_>,
    acc: &mut [f32],
) {
    let (rows, n, ld) = (w.stored_rows(), w.stored_cols(), w.ld());
    let Pending { pend, u } = pending;
    debug_assert!(u.len() == n && acc.len() == n && coef.len() == rows && pend.len() == rows);
    let wp = w.into_data().as_mut_ptr();
    let (up, ap) = (u.as_ptr(), acc.as_mut_ptr());
    // Up to GROUP non-zero rows are gathered, then added in one pass over `acc`.
    let mut idx = [0usize; GROUP];
    let mut i = 0;
    loop {
        let mut cnt = 0;
        while i < rows && cnt < GROUP {
            if coef[i] != 0.0 {
                if pend[i] != 0.0 {
                    // SAFETY: row i < rows lies in w; u holds n.
                    unsafe { sub_scaled::<S>(wp.add(i * ld), n, pend[i], up) };
                    pend[i] = 0.0;
                }
                idx[cnt] = i;
                cnt += 1;
            }
            i += 1;
        }
        if cnt == 0 {
            return;
        }
        // SAFETY: every idx[q] < rows lies in w; acc holds n; chunks stay below n.
        unsafe {
            let mut c0 = 0;
            while c0 < n {
                let m = S::LANES.min(n - c0);
                let mut a = ldz::<S>(ap.add(c0), m);
                for &q in &idx[..cnt] {
                    a = S::mul_add(S::splat(coef[q]), ldz::<S>(wp.add(q * ld + c0), m), a);
                }
                st::<S>(ap.add(c0), a, m);
                c0 += m;
            }
        }
    }
}
