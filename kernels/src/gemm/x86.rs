//! x86-64 (AVX2+FMA, AVX-512F) thin `#[target_feature]` shims around the generic micro-kernel
//! body, over the shared `crate::simd` vocabulary.

use std::arch::x86_64::*;

use super::microkernel::fma_loop_body;
use super::pack::PackAPanel;
use super::{COut, NtDotCall};
use crate::simd::avx2::Avx2;
use crate::simd::avx512::Avx512;
use crate::simd::Simd;

// The GEMM tiles of each ISA: the one generic body with the ISA's full feature set (the
// vocabulary's primitives use DQ/BW/VL instructions, not only AVX-512F).
super::microkernel::tile_family!(
    avx2_kernel,
    avx2_tile,
    Avx2,
    #[target_feature(enable = "avx2,fma")]
);
super::microkernel::tile_family!(
    avx512_kernel,
    avx512_tile,
    Avx512,
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
);

/// Register-only FMA loop, AVX2 (12 chains: 2 FMA pipes x 4-cycle latency, with slack).
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn avx2_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: features enabled on this function.
    unsafe { fma_loop_body::<Avx2, 12>(iters, seed) }
}

/// Register-only FMA loop, AVX-512 (16 chains: 2 FMA pipes x 4-cycle latency, twice over).
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
pub(crate) unsafe fn avx512_fma_loop(iters: usize, seed: f32) -> f32 {
    // SAFETY: features enabled on this function.
    unsafe { fma_loop_body::<Avx512, 16>(iters, seed) }
}

/// What the dot-product path needs beyond [`Simd`]: a horizontal sum in the order the GEMM has
/// always used (the k tail uses [`Simd::load_partial`] with zero fill).
///
/// # Safety
///
/// As [`Simd`]: only callable when the ISA is available.
unsafe trait DotSimd: Simd {
    /// The sum of the lanes, in a fixed order.
    /// # Safety
    /// The ISA must be available.
    unsafe fn hsum(v: Self::V) -> f32;
}

// SAFETY: AVX-512F intrinsics only (trait contract).
unsafe impl DotSimd for Avx512 {
    #[inline(always)]
    unsafe fn hsum(v: __m512) -> f32 {
        // SAFETY: AVX-512F available.
        unsafe { _mm512_reduce_add_ps(v) }
    }
}

// SAFETY: AVX/AVX2 intrinsics only (trait contract).
unsafe impl DotSimd for Avx2 {
    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        // SAFETY: AVX available.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
            _mm_cvtss_f32(s)
        }
    }
}

/// Dot-product tile for `C = alpha * A * B^T + beta * C` when both operands are stored with k
/// contiguous (A `m x k`, B `n x k`): `C[i, j] = alpha * sum_p A[i, p] B[j, p] + beta * C[i, j]`.
///
/// Each of the `MI x NJ` accumulators holds LANES partial sums (lane `l` sums `p = l (mod
/// LANES)`, one FMA per step in order; the k tail is a zero-filled partial load); a horizontal
/// add folds them at the end. Every element gets the same operation sequence whatever the tile
/// it lies in.
///
/// # Safety
///
/// The ISA of `S` available; of `t`, rows `0..MI` of `a` and `0..NJ` of `b` readable for `k`
/// floats; C rows `0..MI` readable (unless `beta == 0`) and writable for `NJ` floats.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // tile indices read clearer
unsafe fn nt_dot_tile<S: DotSimd, const MI: usize, const NJ: usize>(t: &NtDotCall) {
    let NtDotCall {
        k,
        alpha,
        a,
        b,
        beta,
        c,
    } = *t;
    let (a, lda, b, ldb) = (a.ptr, a.ld, b.ptr, b.ld);
    debug_assert!(lda >= k && ldb >= k, "rows of k contiguous floats");
    // SAFETY (whole body): the caller guarantees the ISA and the extents above; loads cover
    // p < k only (full vectors while p + LANES <= k, then a partial tail).
    unsafe {
        let mut acc = [[S::splat(0.0); NJ]; MI];
        let mut p = 0;
        while p + S::LANES <= k {
            let av: [S::V; MI] = std::array::from_fn(|i| S::load(a.add(i * lda + p)));
            for j in 0..NJ {
                let bv = S::load(b.add(j * ldb + p));
                for i in 0..MI {
                    acc[i][j] = S::mul_add(av[i], bv, acc[i][j]);
                }
            }
            p += S::LANES;
        }
        if p < k {
            let av: [S::V; MI] =
                std::array::from_fn(|i| S::load_partial(a.add(i * lda + p), k - p, 0.0));
            for j in 0..NJ {
                let bv = S::load_partial(b.add(j * ldb + p), k - p, 0.0);
                for i in 0..MI {
                    acc[i][j] = S::mul_add(av[i], bv, acc[i][j]);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let cp = c.ptr.add(i * c.ldc + j);
                let r = alpha * S::hsum(v);
                *cp = if beta == 0.0 { r } else { beta.mul_add(*cp, r) };
            }
        }
    }
}

/// Small-m `A * B^T` (see [`nt_dot_tile`]) over C's `t.a.rows x t.b.rows`: `MI x NJ` tiles,
/// remainders one row / one column at a time.
///
/// # Safety
///
/// The ISA of `S` available; `a` and `b` hold their rows of `k` floats; `c` holds `a.rows`
/// rows of `b.rows` floats, uniquely ours.
#[inline(always)]
unsafe fn nt_dot_body<S: DotSimd, const MI: usize, const NJ: usize>(t: &NtDotCall) {
    let (a, b, c) = (t.a, t.b, t.c);
    let (m, n) = (a.rows, b.rows);
    // SAFETY: every tile below addresses rows/columns inside 0..m x 0..n (the caller's extents).
    unsafe {
        let mut j = 0;
        while j < n {
            let nj = if j + NJ <= n { NJ } else { 1 };
            let bj = b.rows_from(j);
            let mut i = 0;
            while i < m {
                let mi = if i + MI <= m { MI } else { 1 };
                let tile = NtDotCall {
                    a: a.rows_from(i),
                    b: bj,
                    c: COut {
                        ptr: c.ptr.add(i * c.ldc + j),
                        ldc: c.ldc,
                    },
                    ..*t
                };
                match (mi == MI, nj == NJ) {
                    (true, true) => nt_dot_tile::<S, MI, NJ>(&tile),
                    (true, false) => nt_dot_tile::<S, MI, 1>(&tile),
                    (false, true) => nt_dot_tile::<S, 1, NJ>(&tile),
                    (false, false) => nt_dot_tile::<S, 1, 1>(&tile),
                }
                i += mi;
            }
            j += nj;
        }
    }
}

/// Defines a `#[target_feature]` shim for the small-m `A * B^T` path with `MI x NJ` tiles.
macro_rules! nt_dot_shim {
    ($name:ident, $simd:ty, $feat:literal, $mi:literal, $nj:literal) => {
        /// Small-m `A * B^T` by dot products (tile in the name: rows of A x rows of B).
        ///
        /// # Safety
        ///
        /// The CPU must have the shim's target features; `a` and `b` hold their rows of `k`
        /// floats; `c` holds `a.rows` rows of `b.rows` floats, uniquely ours.
        #[target_feature(enable = $feat)]
        pub(crate) unsafe fn $name(t: &NtDotCall) {
            // SAFETY: features enabled on this function; extents forwarded.
            unsafe { nt_dot_body::<$simd, $mi, $nj>(t) }
        }
    };
}
// AVX-512: 24 accumulators + 4 A vectors + 1 B vector of 32 registers.
nt_dot_shim!(
    avx512_nt_dot,
    Avx512,
    "avx512f,avx512bw,avx512dq,avx512vl,fma",
    4,
    6
);
// AVX2: 9 accumulators + 3 A vectors + 1 B vector of 16 registers.
nt_dot_shim!(avx2_nt_dot, Avx2, "avx2,fma", 3, 3);

/// [`PackAPanel`] through 8x8 register transposes: eight rows are read eight contiguous floats
/// at a time and written as eight contiguous k steps, instead of one scattered store per
/// element (the safe loop ran at 4-6 GB/s on an Intel Xeon, 11% of a 1000^3 product's time).
/// Rows past `rows` are zeros; a group of fewer than eight rows of the panel (MR 12: 8 + 4) is
/// written with a masked store so it never touches the next k step. Pure data movement: the
/// packed panel is bit-identical to the safe loop's.
///
/// # Safety
///
/// The CPU must have AVX2. `src` must be readable for `rows` rows of `kc` floats at stride
/// `lda`; `dst` writable for `mr * kc` floats; `1 <= rows <= mr`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn avx2_pack_a_panel(t: &PackAPanel) {
    let PackAPanel {
        src,
        lda,
        rows,
        kc,
        mr,
        dst,
    } = *t;
    // SAFETY (whole body): every load reads row g+r < rows at column p+8 <= kc, every store
    // writes k step p+q < kc, lanes g..g+lanes <= mr of it; as the caller guarantees.
    unsafe {
        let mut g = 0;
        while g < mr {
            let lanes = 8.min(mr - g);
            let valid = rows.saturating_sub(g).min(8);
            let lane_idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), lane_idx);
            let row = |r: usize| src.add((g + r) * lda);
            let mut p = 0;
            while p + 8 <= kc {
                let mut v = [_mm256_setzero_ps(); 8];
                for (r, x) in v.iter_mut().enumerate().take(valid) {
                    *x = _mm256_loadu_ps(row(r).add(p));
                }
                let c = transpose8(v);
                for (q, col) in c.iter().enumerate() {
                    let out = dst.add((p + q) * mr + g);
                    if lanes == 8 {
                        _mm256_storeu_ps(out, *col);
                    } else {
                        _mm256_maskstore_ps(out, mask, *col);
                    }
                }
                p += 8;
            }
            for p in p..kc {
                for r in 0..lanes {
                    *dst.add(p * mr + g + r) = if r < valid { *row(r).add(p) } else { 0.0 };
                }
            }
            g += 8;
        }
    }
}

/// The transpose of the 8x8 block whose rows are `r`: element `(i, j)` of the result is
/// `r[j]` lane `i`.
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: register-only; the caller's target features include AVX.
    unsafe {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xee>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xee>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xee>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xee>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}
