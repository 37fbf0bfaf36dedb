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

/// The operands of one micro-kernel call (see the module contract): `k` steps of the packed A
/// panel at `a` and of B at `b` (row stride `ldb`), the tile of C at `c` (row stride `ldc`),
/// `alpha` and `beta`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TileCall {
    pub k: usize,
    pub alpha: f32,
    pub a: *const f32,
    pub b: *const f32,
    pub ldb: usize,
    pub beta: f32,
    pub c: *mut f32,
    pub ldc: usize,
}

/// A micro-kernel entry point: one [`TileCall`], see the module contract.
pub(crate) type MicroKernel = unsafe fn(&TileCall);

/// One register tile: the entry point together with the shape its code was instantiated for.
///
/// Only built by the `const fn` tiles of `tile_family!` from the same const parameters that
/// instantiate the kernel body, so `rows`, `cols` and `astep` cannot disagree with the code the pointer runs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tile {
    /// Rows of C the kernel computes (its MR).
    pub rows: usize,
    /// Columns of C the kernel computes (its NR).
    pub cols: usize,
    /// Stride of packed A between steps of k (the MR of the panels it reads).
    pub astep: usize,
    /// Rows of B ahead of the current one that the k loop prefetches from a packed panel
    /// (0: none; the packed panel is then meant to stay in L1).
    pub prefetch: usize,
    pub kernel: MicroKernel,
}

/// The micro-kernel of tile `MR x (NV * S::LANES)` over the vocabulary `S`.
///
/// `ASTEP` is the stride of packed A between steps of k: `MR` for the tile's own panels; a
/// larger value lets a short-tile kernel (fewer rows) read the first rows of a taller panel,
/// which is how LOOP 1 finishes ragged m without computing padded rows.
///
/// # Safety
///
/// The ISA of `S` must be available; of `t`, `a` must be readable for `k` steps of
/// `ASTEP >= MR` floats, `b` for `k` rows of `NV*LANES` floats at stride `ldb`, and `c`
/// readable (unless `beta == 0`) and writable for `MR` rows of `NV*LANES` floats at stride
/// `ldc`.
#[inline(always)]
pub(crate) unsafe fn kernel_body<
    S: Simd,
    const MR: usize,
    const NV: usize,
    const ASTEP: usize,
    const PF: usize,
>(
    t: &TileCall,
) {
    let TileCall {
        k,
        alpha,
        a,
        b,
        ldb,
        beta,
        c,
        ldc,
    } = *t;
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
            // A packed panel: fetch PF rows ahead (none when PF == 0: the panel sits in L1).
            k_loop::<S, MR, NV, ASTEP, PF>(&mut acc, k, a, b, ldb);
        } else {
            // B streamed from the caller's matrix (row stride ldb): fetch rows ahead.
            k_loop::<S, MR, NV, ASTEP, B_PREFETCH_ROWS>(&mut acc, k, a, b, ldb);
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

/// The k loop of [`kernel_body`]: `acc += Ap * Bp`, one FMA per accumulator per step of k,
/// prefetching the row of B `PF` steps ahead when `PF > 0`.
///
/// # Safety
///
/// As [`kernel_body`].
#[inline(always)]
unsafe fn k_loop<S: Simd, const MR: usize, const NV: usize, const ASTEP: usize, const PF: usize>(
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
            if PF > 0 {
                let ahead = bp.wrapping_add(PF * ldb);
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

/// Defines, for one ISA, the generic micro-kernel shim `$shim::<MR, NV, ASTEP, PF>` (with the
/// ISA's `#[target_feature]` attribute, if any, around the one generic [`kernel_body`]) and the
/// `const fn $tile::<MR, NV, ASTEP, PF>() -> Tile` that pairs that shim with its shape: a tile's
/// MR and NR are the const parameters its code is instantiated with, never typed twice.
macro_rules! tile_family {
    ($shim:ident, $tile:ident, $simd:ty $(, #[$attr:meta])*) => {
        /// Micro-kernel shim of tile `MR x (NV * LANES)`. With the v0 mangling of
        /// `.cargo/config.toml` its symbol carries ISA and tile: `avx512_kernel::<8, 3, 8, 0>` is
        /// MR 8, NV 3 vectors (NR 48), A step 8, no B prefetch (see README "Profiling with perf").
        ///
        /// # Safety
        ///
        /// The CPU must have this ISA's target features; the pointers must satisfy the
        /// micro-kernel contract (see `microkernel.rs`) for this tile.
        $(#[$attr])*
        unsafe fn $shim<const MR: usize, const NV: usize, const ASTEP: usize, const PF: usize>(
            t: &$crate::gemm::microkernel::TileCall,
        ) {
            // SAFETY: the features are enabled on this function; pointer contract forwarded.
            unsafe { $crate::gemm::microkernel::kernel_body::<$simd, MR, NV, ASTEP, PF>(t) }
        }

        /// The tile `MR x (NV * LANES)` reading A panels of `ASTEP` rows, prefetching `PF`
        /// rows of a packed B panel ahead.
        pub(crate) const fn $tile<const MR: usize, const NV: usize, const ASTEP: usize, const PF: usize>(
        ) -> $crate::gemm::microkernel::Tile {
            $crate::gemm::microkernel::Tile {
                rows: MR,
                cols: NV * <$simd as $crate::simd::Simd>::LANES,
                astep: ASTEP,
                prefetch: PF,
                kernel: $shim::<MR, NV, ASTEP, PF>,
            }
        }
    };
}
pub(crate) use tile_family;

tile_family!(scalar_kernel, scalar_tile, Scalar);

/// Register-only multiply-add loop for the scalar path: 32 chains, which the compiler
/// vectorizes with the baseline SSE2 just as it does the portable kernel (mul + add, unfused).
pub(crate) fn scalar_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: Scalar needs no CPU feature.
    unsafe { fma_loop_body::<Scalar, 32>(iters, seed) }
}
