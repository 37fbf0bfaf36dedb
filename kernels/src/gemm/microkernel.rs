//! The micro-kernel contract and its one generic body.
//!
//! # Contract (BLIS)
//!
//! A micro-kernel of tile `MR x NR` computes one tile of C:
//!
//! ```text
//!   C[0..MR, 0..NR] = alpha * (Ap * Bp) + beta * C[0..MR, 0..NR]
//!
//!   Ap: packed micro-panel of A, MR x k, stored k-major:  Ap(i, p) = a[p*MR + i]
//!         p=0        p=1              (MR floats per step of k: one column of the tile's A)
//!       [a0 a1 .. a(MR-1)][a0 a1 .. a(MR-1)] ...
//!   Bp: k rows of NR floats, row p at b + p*ldb:  Bp(p, j) = b[p*ldb + j]
//!       ldb == NR for a packed micro-panel; ldb == the user's ldb when B is streamed unpacked
//!   C : MR rows of NR floats, row i at c + i*ldc (row-major, like the user's C)
//! ```
//!
//! - With `beta == 0` the kernel never reads C (it may hold NaN): the BLIS rule.
//! - The kernel always reads `k` full rows of `NR` floats of Bp, `k*MR` floats of Ap and
//!   writes the full `MR x NR` tile. Edges are NOT handled here: the packing zero-pads A's and
//!   B's ragged panels, and LOOP 1/2 route a partial tile through a stack buffer.
//! - Every output element is `alpha * acc + beta * c` where `acc` is one accumulator updated by
//!   one fused multiply-add per `p` in order `0..k`: the result of an element does not depend on
//!   where its tile lies, which is what makes the GEMM bit-identical for any thread split.
//!
//! Kernels are written once, over the [`Simd`](crate::simd::Simd) vocabulary; each ISA adds primitives, not
//! algorithms. The `#[target_feature]` attribute sits only on thin per-ISA shims that call
//! [`kernel_body`] (which is `#[inline(always)]`, so it is compiled with the shim's features).

use crate::simd::scalar::Scalar;
use crate::simd::Simd;

/// A micro-kernel entry point: `(k, alpha, a, b, ldb, beta, c, ldc)`, see the module contract.
pub(crate) type MicroKernel =
    unsafe fn(usize, f32, *const f32, *const f32, usize, f32, *mut f32, usize);

/// The micro-kernel of tile `MR x (NV * S::LANES)` over the vocabulary `S`.
///
/// `ASTEP` is the stride of packed A between steps of k: `MR` for the tile's own panels; a
/// larger value lets a short-tile kernel (fewer rows) read the first rows of a taller panel,
/// which is how LOOP 1 finishes ragged m without computing padded rows.
///
/// # Safety
///
/// The ISA of `S` must be available; `a` must be readable for `k*MR` floats, `b` for `k` rows
/// of `NV*LANES` floats at stride `ldb` (`a` as `k` steps of `ASTEP >= MR` floats), and `c` readable (unless `beta == 0`) and writable for
/// `MR` rows of `NV*LANES` floats at stride `ldc`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn kernel_body<S: Simd, const MR: usize, const NV: usize, const ASTEP: usize>(
    k: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY (whole body): the caller guarantees the ISA and the extents stated above; every
    // pointer offset below stays inside them (p < k, i < MR, v < NV).
    unsafe {
        // The tile of C is read and written after the k loop: start fetching it now.
        for i in 0..MR {
            let mut off = 0;
            while off < NV * S::LANES {
                S::prefetch(c.wrapping_add(i * ldc + off));
                off += 16;
            }
            S::prefetch(c.wrapping_add(i * ldc + NV * S::LANES - 1));
        }
        let mut acc = [[S::splat(0.0); NV]; MR];
        if ldb == NV * S::LANES {
            k_loop::<S, MR, NV, ASTEP, false>(&mut acc, k, a, b, ldb);
        } else {
            // B streamed from the caller's matrix (row stride ldb): fetch rows ahead.
            k_loop::<S, MR, NV, ASTEP, true>(&mut acc, k, a, b, ldb);
        }
        let alpha_v = S::splat(alpha);
        if beta == 0.0 {
            for (i, row) in acc.iter().enumerate() {
                for (v, &x) in row.iter().enumerate() {
                    S::store(c.add(i * ldc + v * S::LANES), S::mul(alpha_v, x));
                }
            }
        } else {
            let beta_v = S::splat(beta);
            for (i, row) in acc.iter().enumerate() {
                for (v, &x) in row.iter().enumerate() {
                    let cp = c.add(i * ldc + v * S::LANES);
                    S::store(cp, S::mul_add(beta_v, S::load(cp), S::mul(alpha_v, x)));
                }
            }
        }
    }
}

/// Distance, in rows of B, of the prefetches when B is streamed unpacked. Measured with
/// `sdae bench gemm --threads 1` (all shapes interleaved, so B is often cold): the
/// matrixmultiply ratio at 128x784x1000 NN went from 0.93-0.97 to 0.98-0.99 and at
/// 128x1000x1000 from 0.97-0.99 to 1.00 (2 runs each); with B warm in cache, no change.
const B_PREFETCH_ROWS: usize = 16;

/// The k loop of [`kernel_body`]: `acc += Ap * Bp`, one FMA per accumulator per step of k.
///
/// # Safety
///
/// As [`kernel_body`].
#[inline(always)]
unsafe fn k_loop<
    S: Simd,
    const MR: usize,
    const NV: usize,
    const ASTEP: usize,
    const PREFETCH_B: bool,
>(
    acc: &mut [[S::V; NV]; MR],
    k: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
) {
    // SAFETY: the caller guarantees the extents (p < k, i < MR, v < NV); prefetches never fault.
    unsafe {
        let mut ap = a;
        let mut bp = b;
        for _ in 0..k {
            if PREFETCH_B {
                let ahead = bp.wrapping_add(B_PREFETCH_ROWS * ldb);
                let mut off = 0;
                while off < NV * S::LANES {
                    S::prefetch(ahead.wrapping_add(off));
                    off += 16;
                }
            }
            let mut bv = [S::splat(0.0); NV];
            for (v, slot) in bv.iter_mut().enumerate() {
                *slot = S::load(bp.add(v * S::LANES));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = S::splat(*ap.add(i));
                for v in 0..NV {
                    row[v] = S::mul_add(ai, bv[v], row[v]);
                }
            }
            ap = ap.add(ASTEP);
            bp = bp.add(ldb);
        }
    }
}

/// A register-only FMA loop: `ACC` independent accumulators, `iters` rounds. Returns a value
/// depending on every accumulator so the loop cannot be removed. Used by `fma_peak_gflops`.
///
/// # Safety
///
/// The ISA of `S` must be available.
#[inline(always)]
pub(crate) unsafe fn fma_loop_body<S: Simd, const ACC: usize>(iters: usize, seed: f32) -> f32 {
    // SAFETY: the caller guarantees the ISA; only registers and a local buffer are touched.
    unsafe {
        let x = S::splat(0.999_999);
        let y = S::splat(1e-7);
        let mut acc = [S::splat(seed); ACC];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = S::mul_add(*a, x, y);
            }
        }
        // Fold the chains into one vector, then one lane out: no spills in the timed loop.
        let one = S::splat(1.0);
        let mut sum = S::splat(0.0);
        for a in acc {
            sum = S::mul_add(a, one, sum);
        }
        let mut out = [0.0f32; 16];
        S::store(out.as_mut_ptr(), sum);
        out[0]
    }
}

/// Scalar micro-kernel, tile 4 x 8.
///
/// # Safety
///
/// See [`kernel_body`] with `MR = 4`, `NR = 8`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn scalar_4x8(
    k: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    beta: f32,
    c: *mut f32,
    ldc: usize,
) {
    // SAFETY: forwarded contract; Scalar needs no CPU feature.
    unsafe { kernel_body::<Scalar, 4, 8, 4>(k, alpha, a, b, ldb, beta, c, ldc) }
}

/// Register-only multiply-add loop for the scalar path: 32 chains, which the compiler
/// vectorizes with the baseline SSE2 just as it does the portable kernel (mul + add, unfused).
pub(crate) fn scalar_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: Scalar needs no CPU feature.
    unsafe { fma_loop_body::<Scalar, 32>(iters, seed) }
}
