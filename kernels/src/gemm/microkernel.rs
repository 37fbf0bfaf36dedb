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
//! Kernels are written once, over the [`SimdF32`] vocabulary; each ISA adds primitives, not
//! algorithms. The `#[target_feature]` attribute sits only on thin per-ISA shims that call
//! [`kernel_body`] (which is `#[inline(always)]`, so it is compiled with the shim's features).

/// The vector vocabulary one ISA provides to the generic kernels.
///
/// # Safety
///
/// Implementations use the ISA's intrinsics: every method may only be called when the CPU
/// supports that ISA (callers are `#[target_feature]` shims reached through a `Kernels` table,
/// which exists only for a supported ISA).
pub(crate) unsafe trait SimdF32 {
    /// One vector register of f32 lanes.
    type V: Copy;
    /// f32 lanes per vector.
    const LANES: usize;
    /// # Safety
    /// The ISA must be available.
    unsafe fn zero() -> Self::V;
    /// # Safety
    /// The ISA must be available.
    unsafe fn splat(x: f32) -> Self::V;
    /// Unaligned load of `LANES` floats.
    /// # Safety
    /// The ISA must be available and `p..p+LANES` readable.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Unaligned store of `LANES` floats.
    /// # Safety
    /// The ISA must be available and `p..p+LANES` writable.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a * b + c` (fused where the ISA has FMA).
    /// # Safety
    /// The ISA must be available.
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a * b`.
    /// # Safety
    /// The ISA must be available.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
}

/// A micro-kernel entry point: `(k, alpha, a, b, ldb, beta, c, ldc)`, see the module contract.
pub(crate) type MicroKernel =
    unsafe fn(usize, f32, *const f32, *const f32, usize, f32, *mut f32, usize);

/// The micro-kernel of tile `MR x (NV * S::LANES)` over the vocabulary `S`.
///
/// # Safety
///
/// The ISA of `S` must be available; `a` must be readable for `k*MR` floats, `b` for `k` rows
/// of `NV*LANES` floats at stride `ldb`, and `c` readable (unless `beta == 0`) and writable for
/// `MR` rows of `NV*LANES` floats at stride `ldc`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn kernel_body<S: SimdF32, const MR: usize, const NV: usize>(
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
        let mut acc = [[S::zero(); NV]; MR];
        let mut ap = a;
        let mut bp = b;
        for _ in 0..k {
            let mut bv = [S::zero(); NV];
            for (v, slot) in bv.iter_mut().enumerate() {
                *slot = S::load(bp.add(v * S::LANES));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = S::splat(*ap.add(i));
                for v in 0..NV {
                    row[v] = S::mul_add(ai, bv[v], row[v]);
                }
            }
            ap = ap.add(MR);
            bp = bp.add(ldb);
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

/// A register-only FMA loop: `ACC` independent accumulators, `iters` rounds. Returns a value
/// depending on every accumulator so the loop cannot be removed. Used by `fma_peak_gflops`.
///
/// # Safety
///
/// The ISA of `S` must be available.
#[inline(always)]
pub(crate) unsafe fn fma_loop_body<S: SimdF32, const ACC: usize>(iters: usize, seed: f32) -> f32 {
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
        let mut sum = S::zero();
        for a in acc {
            sum = S::mul_add(a, one, sum);
        }
        let mut out = [0.0f32; 16];
        S::store(out.as_mut_ptr(), sum);
        out[0]
    }
}

/// Portable scalar "vectors" of one lane; `mul_add` is NOT fused (no libm call per element).
pub(crate) struct Scalar;

// SAFETY: plain Rust arithmetic, valid on every CPU.
unsafe impl SimdF32 for Scalar {
    type V = f32;
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        // SAFETY: the caller guarantees p is readable.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        // SAFETY: the caller guarantees p is writable.
        unsafe { *p = v }
    }
    #[inline(always)]
    unsafe fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
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
    unsafe { kernel_body::<Scalar, 4, 8>(k, alpha, a, b, ldb, beta, c, ldc) }
}

/// Register-only FMA loop for the scalar path (8 chains).
pub(crate) fn scalar_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: Scalar needs no CPU feature.
    unsafe { fma_loop_body::<Scalar, 8>(iters, seed) }
}
