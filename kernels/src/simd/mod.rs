//! A small per-ISA SIMD vocabulary, and the vector math written once over it.
//!
//! Every ISA module ([`scalar`], `avx2`, `avx512`, `neon`) implements the same trait, [`Simd`]:
//! `splat`, `load`, `load_partial`, `store`, `store_partial`, `add`, `sub`, `mul`, `div`,
//! `mul_add`, `neg_mul_add`, `max`, `min`, `abs`, comparisons into a lane mask, `select`,
//! `lt_u16`, `any_eq_u16`, `iota_u32`, `reduce_add`, `reduce_max`, `round` and `ldexp`. The fused kernels in [`crate::fused`] and the
//! math functions here ([`exp`], [`sigmoid_parts`], [`log1p_unit`]) are written once, generically
//! over that vocabulary: a new ISA adds primitives, not algorithms.
//!
//! All primitives are `#[inline(always)]` and `unsafe`: they may only run on a CPU that has the
//! ISA, and (for the loads and stores) on pointers valid for the lanes they touch. The only
//! `#[target_feature]` functions are the thin shims in `crate::fused::{avx2, avx512, neon}`,
//! into which these bodies inline.

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
#[cfg(target_arch = "aarch64")]
pub mod neon;
pub mod pair;
pub mod scalar;

/// The vocabulary one ISA provides. `V` is a vector of `LANES` `f32`, `M` a lane mask.
///
/// # Safety
///
/// Implementations use the instructions of their ISA: every method may only be called when the
/// running CPU supports it (the fused-kernel table is only built for a supported ISA).
pub unsafe trait Simd: Copy {
    /// `f32` lanes in one vector.
    const LANES: usize;
    /// A vector of `LANES` `f32`.
    type V: Copy;
    /// A lane mask (one bit or one all-ones lane per lane).
    type M: Copy;

    /// Every lane `x`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn splat(x: f32) -> Self::V;
    /// `LANES` values from `p` (any alignment).
    ///
    /// # Safety
    /// `p..p+LANES` readable; the ISA is available.
    unsafe fn load(p: *const f32) -> Self::V;
    /// The first `n < LANES` values from `p`; the other lanes are `fill`. Never touches
    /// memory past `p + n`.
    ///
    /// # Safety
    /// `p..p+n` readable; the ISA is available.
    unsafe fn load_partial(p: *const f32, n: usize, fill: f32) -> Self::V;
    /// Store all lanes to `p` (any alignment).
    ///
    /// # Safety
    /// `p..p+LANES` writable; the ISA is available.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Store the first `n < LANES` lanes to `p`; memory past `p + n` is not touched.
    ///
    /// # Safety
    /// `p..p+n` writable; the ISA is available.
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize);

    /// `a + b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b` (correctly rounded).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn div(a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c` (fused where the ISA has FMA).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c - a * b` (fused where the ISA has FMA).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn neg_mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise maximum (inputs are never NaN here).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum (inputs are never NaN here).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `|a|`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn abs(a: Self::V) -> Self::V;
    /// `-|a|` (the sign bit set: one bitwise OR on the vector ISAs).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn neg_abs(a: Self::V) -> Self::V;
    /// Round to the nearest integer, ties to even (`|a| < 2^22`).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn round(a: Self::V) -> Self::V;
    /// `y * 2^n` for integer-valued `n` in `[-126, 127]` (`2^n` built in the exponent field,
    /// or one `vscalefps` on AVX-512).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn ldexp(y: Self::V, n: Self::V) -> Self::V;

    /// Lanes where `a < b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn lt(a: Self::V, b: Self::V) -> Self::M;
    /// Lanes where `a >= b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn ge(a: Self::V, b: Self::V) -> Self::M;
    /// The first `n` lanes (`n <= LANES`).
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn first_lanes(n: usize) -> Self::M;
    /// Per lane, `m ? a : b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn select(m: Self::M, a: Self::V, b: Self::V) -> Self::V;
    /// A bit per lane (bit `l` = lane `l`) of `a == b`.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn eq_bits(a: Self::V, b: Self::V) -> u64;
    /// Lanes whose `u16` at `p[l]` is below `t` (unsigned compare).
    ///
    /// # Safety
    /// `p..p+LANES` readable; the ISA is available.
    unsafe fn lt_u16(p: *const u16, t: u16) -> Self::M;
    /// Whether any of the `LANES` `u16` at `p` equals `t`.
    ///
    /// # Safety
    /// `p..p+LANES` readable; the ISA is available.
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool;
    /// Store `start, start + 1, ..., start + LANES - 1` to `p`.
    ///
    /// # Safety
    /// `p..p+LANES` writable; the ISA is available.
    unsafe fn iota_u32(p: *mut u32, start: u32);

    /// Sum of the lanes.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn reduce_add(a: Self::V) -> f32;
    /// Maximum of the lanes.
    ///
    /// # Safety
    /// The ISA is available.
    unsafe fn reduce_max(a: Self::V) -> f32;

    /// Hint that the cache line holding `p` will be used soon (a no-op where there is no stable
    /// prefetch intrinsic). Never faults, whatever `p` is.
    ///
    /// # Safety
    /// The ISA is available.
    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}
}

/// Defines the methods of [`Simd`] that a vector ISA does in one instruction each, from a table
/// of that ISA's intrinsics on its vector type `$v`, by group: `memory` (`splat(x: f32)`,
/// `load(p)`, `store(p, v)`: whole vectors, unaligned), `binary` (`add`, `sub`, `mul`, `div`,
/// `max`, `min`: `(a, b)`) and `ternary` (`mul_add`, `neg_mul_add`: `(a, b, c)`, fused), the
/// arguments passed through in order. An ISA lists its instructions; the signatures and the
/// safety argument are written here once.
macro_rules! one_instruction_ops {
    ($v:ty; $($group:ident { $($name:ident = $f:path),+ })+) => {
        $($($crate::simd::one_instruction_ops!(@$group $v, $name, $f);)+)+
    };
    (@memory $v:ty, splat, $f:path) => {
        #[inline(always)]
        unsafe fn splat(x: f32) -> $v {
            // SAFETY: the ISA is available (the `Simd` contract).
            unsafe { $f(x) }
        }
    };
    (@memory $v:ty, load, $f:path) => {
        #[inline(always)]
        unsafe fn load(p: *const f32) -> $v {
            // SAFETY: `p..p+LANES` readable (caller); the ISA is available.
            unsafe { $f(p) }
        }
    };
    (@memory $v:ty, store, $f:path) => {
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: $v) {
            // SAFETY: `p..p+LANES` writable (caller); the ISA is available.
            unsafe { $f(p, v) }
        }
    };
    (@binary $v:ty, $name:ident, $f:path) => {
        #[inline(always)]
        unsafe fn $name(a: $v, b: $v) -> $v {
            // SAFETY: the ISA is available (the `Simd` contract).
            unsafe { $f(a, b) }
        }
    };
    (@ternary $v:ty, $name:ident, $f:path) => {
        #[inline(always)]
        unsafe fn $name(a: $v, b: $v, c: $v) -> $v {
            // SAFETY: the ISA is available (the `Simd` contract).
            unsafe { $f(a, b, c) }
        }
    };
}
#[allow(unused_imports)] // not used on an architecture whose only vocabulary is scalar
pub(crate) use one_instruction_ops;

/// Load `n <= LANES` values: a full vector, or a partial one padded with `fill`.
///
/// # Safety
/// ISA available; `p..p+n` readable; `n <= S::LANES`.
#[inline(always)]
pub(crate) unsafe fn load_n<S: Simd>(p: *const f32, n: usize, fill: f32) -> S::V {
    debug_assert!(n <= S::LANES);
    // SAFETY: `p..p+n` readable (caller).
    unsafe {
        if n == S::LANES {
            S::load(p)
        } else {
            S::load_partial(p, n, fill)
        }
    }
}

/// Store the first `n <= LANES` lanes of `v`.
///
/// # Safety
/// ISA available; `p..p+n` writable; `n <= S::LANES`.
#[inline(always)]
pub(crate) unsafe fn store_n<S: Simd>(p: *mut f32, v: S::V, n: usize) {
    debug_assert!(n <= S::LANES);
    // SAFETY: `p..p+n` writable (caller).
    unsafe {
        if n == S::LANES {
            S::store(p, v)
        } else {
            S::store_partial(p, v, n)
        }
    }
}

/// `ln(FLT_MIN)`: below it `e^x` is not a normal `f32`; [`exp`] clamps its input here.
pub const EXP_LO: f32 = -87.336_54;
/// Upper clamp of [`exp`]'s input: `e^88 ≈ 1.65e38` keeps `2^n` inside the exponent range.
pub const EXP_HI: f32 = 88.0;

/// `e^x`, lane-wise, by range reduction and a polynomial (Cephes `expf`):
/// `x = n ln2 + r` with `n = round(x log2 e)` and `|r| <= ln2 / 2` (two-constant Cody–Waite
/// split of `ln 2`), `e^r ≈ 1 + r + r^2 P(r)` with a degree-5 minimax `P` (evaluated as one
/// Horner chain), then `e^x = 2^n e^r` built in the exponent field.
///
/// The input is clamped below to `EXP_LO = -87.3365 = ln(FLT_MIN)`: every `x < EXP_LO` gives
/// `e^EXP_LO ≈ 1.1755e-38` (the exact value is a denormal or 0: absolute error under
/// `1.2e-38`, and no compare or select per vector); above `EXP_HI = 88` the input is clamped
/// to 88 (`e^88`).
///
/// **Maximum relative error: 9.8e-8 (under 1 ulp) on `[-87, 88]`**, measured against `f64` on
/// a grid of step 1e-4 (1.75M points): 7.35e-8 AVX2, AVX-512 and NEON (qemu); 9.73e-8 scalar
/// (no FMA there, so each Horner step rounds twice). `kernels/tests/fused_math.rs` asserts
/// `< 1.5e-7` on every ISA.
///
/// # Safety
/// The CPU supports `S`'s ISA.
#[inline(always)]
pub unsafe fn exp<S: Simd>(x: S::V) -> S::V {
    // SAFETY: forwarded contract.
    unsafe { exp_core::<S>(x, true) }
}

/// [`exp`], with the upper clamp only when `clamp_hi` (callers that know `x <= 0` skip it).
///
/// # Safety
/// The CPU supports `S`'s ISA.
#[inline(always)]
unsafe fn exp_core<S: Simd>(x: S::V, clamp_hi: bool) -> S::V {
    // SAFETY: the caller guarantees the ISA.
    unsafe {
        // Clamped below to ln(FLT_MIN): 2^n stays a normal number on every ISA, and every
        // input below gives e^EXP_LO = FLT_MIN (absolute error < 1.2e-38) with no compare.
        let mut x = S::max(x, S::splat(EXP_LO));
        if clamp_hi {
            x = S::min(x, S::splat(EXP_HI));
        }
        let n = S::round(S::mul(x, S::splat(std::f32::consts::LOG2_E)));
        // r = x - n ln2, with ln2 = C1 + C2 and C1 exact in few bits so n*C1 is exact.
        let r = S::neg_mul_add(n, S::splat(0.693_359_4), x);
        let r = S::neg_mul_add(n, S::splat(-2.121_944_4e-4), r);
        // e^r = 1 + r + r^2 P(r) in Horner form: ((P r + 1/2 ...) r + 1) r + 1.
        let mut p = S::splat(1.987_569_1e-4);
        p = S::mul_add(p, r, S::splat(1.398_2e-3));
        p = S::mul_add(p, r, S::splat(8.333_452e-3));
        p = S::mul_add(p, r, S::splat(4.166_579_6e-2));
        p = S::mul_add(p, r, S::splat(1.666_666_5e-1));
        p = S::mul_add(p, r, S::splat(0.5));
        p = S::mul_add(p, r, S::splat(1.0));
        let y = S::mul_add(p, r, S::splat(1.0));
        S::ldexp(y, n)
    }
}

/// The pieces of the logistic sigmoid of `t`, from one [`exp`] and one division:
/// `e = e^-|t|`, `r = 1 / (1 + e)`, and `z = s(t)` = `r` where `t >= 0`, `e r` where `t < 0`.
/// Then `1 - z = e r` where `t >= 0`, `r` where `t < 0`, and `z (1 - z) = e r^2`, both
/// without cancellation.
///
/// **Maximum relative error of `z`: 1.9e-7 (about 1.6 ulp) for `t` in `[-87, 1e4]`**, measured
/// against `f64` on a dense grid (1.79e-7 on AVX2, AVX-512 and NEON, 1.83e-7 scalar;
/// `kernels/tests/fused_math.rs` asserts `< 3e-7` on every ISA). For `t < -87.3` the exact
/// value is below `FLT_MIN`; `z` is then at most `1.2e-38` (absolute error `< 1.2e-38`,
/// asserted; `z = e^EXP_LO ≈ 1.18e-38` for `t < -87.34`). Finite input never gives NaN; `z`
/// is exactly 1 for `t > 17`.
///
/// A hardware reciprocal estimate plus a Newton step (`vrcp14ps`, `vrcpps`) in place of the
/// division was measured slower here (sigmoid_bias 27 -> 30 us, xent 56 -> 64 us on AVX-512;
/// worse on AVX2): the division is not the bottleneck, the instruction count is.
///
/// # Safety
/// The CPU supports `S`'s ISA.
#[inline(always)]
pub unsafe fn sigmoid_parts<S: Simd>(t: S::V) -> (S::V, S::V, S::V) {
    let one = S::splat(1.0);
    // SAFETY (here and below): the caller guarantees the ISA. -|t| <= 0: no upper clamp.
    let e = exp_core::<S>(S::neg_abs(t), false);
    let r = S::div(one, S::add(one, e));
    let er = S::mul(e, r);
    let z = S::select(S::ge(t, S::splat(0.0)), r, er);
    (e, r, z)
}

/// `ln(1 + e)` for `e` in `[0, 1]` without cancellation for tiny `e`:
/// `ln(1 + e) = 2 atanh(s)` with `s = e / (2 + e)` in `[0, 1/3]`, and
/// `atanh(s) = s + s^3 P(s^2)` with `P` a degree-3 weighted minimax fit on `s^2` in `[0, 1/9]`
/// (approximation error 4.9e-9 relative, far below `f32` rounding). Computed on `u = 2s`
/// (`e / (1 + e/2)`) with `P`'s coefficients scaled by powers of 4, which saves an add.
/// The softplus built on it, `max(t, 0) + log1p_unit(e^-|t|)`, has a maximum relative error
/// of 2.05e-7 on `[-87, 1e4]` (2.05e-7 AVX2, AVX-512 and NEON, 2.03e-7 scalar; asserted
/// `< 3e-7` in `kernels/tests/fused_math.rs`).
///
/// # Safety
/// The CPU supports `S`'s ISA.
#[inline(always)]
pub unsafe fn log1p_unit<S: Simd>(e: S::V) -> S::V {
    // u = 2s = e / (1 + e/2), v = u^2 = 4 s^2: 2 atanh(s) = u + u v Q(v), Q(v) = P(v/4) / 4
    // (P's coefficients scaled by powers of 4, exactly).
    let u = S::div(e, S::mul_add(e, S::splat(0.5), S::splat(1.0)));
    let v = S::mul(u, u);
    let mut q = S::splat(0.140_122_3 / 256.0);
    q = S::mul_add(q, v, S::splat(0.139_995_71 / 64.0));
    q = S::mul_add(q, v, S::splat(0.200_108_5 / 16.0));
    q = S::mul_add(q, v, S::splat(0.333_332_06 / 4.0));
    S::mul_add(S::mul(u, v), q, u)
}
