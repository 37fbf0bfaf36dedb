//! The scalar twin of the vocabulary: one `f32` lane, plain Rust, no intrinsics and no libm
//! (rounding by the `1.5 * 2^23` trick, `2^n` in the exponent field), so it runs anywhere and
//! computes the same formulas as the vector ISAs.

use super::Simd;

/// The scalar ISA token (always available).
#[derive(Clone, Copy, Debug)]
pub struct Scalar;

// SAFETY: no instructions beyond the baseline target are used.
unsafe impl Simd for Scalar {
    const LANES: usize = 1;
    type V = f32;
    type M = bool;

    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { p.read_unaligned() }
    }
    #[inline(always)]
    unsafe fn load_partial(_p: *const f32, _n: usize, fill: f32) -> f32 {
        // n < LANES = 1: no lane is loaded.
        fill
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { p.write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn store_partial(_p: *mut f32, _v: f32, _n: usize) {}

    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    unsafe fn div(a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    unsafe fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        // Unfused: `f32::mul_add` would call libm `fmaf` on CPUs without FMA.
        a * b + c
    }
    #[inline(always)]
    unsafe fn neg_mul_add(a: f32, b: f32, c: f32) -> f32 {
        c - a * b
    }
    #[inline(always)]
    unsafe fn max(a: f32, b: f32) -> f32 {
        if a > b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    unsafe fn min(a: f32, b: f32) -> f32 {
        if a < b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    unsafe fn abs(a: f32) -> f32 {
        f32::from_bits(a.to_bits() & 0x7fff_ffff)
    }
    #[inline(always)]
    unsafe fn neg_abs(a: f32) -> f32 {
        f32::from_bits(a.to_bits() | 0x8000_0000)
    }
    #[inline(always)]
    unsafe fn round(a: f32) -> f32 {
        // Adding and removing 1.5 * 2^23 leaves no fraction bits: round to nearest, ties even.
        const MAGIC: f32 = 12_582_912.0;
        (a + MAGIC) - MAGIC
    }
    #[inline(always)]
    unsafe fn ldexp(y: f32, n: f32) -> f32 {
        y * f32::from_bits(((n as i32 + 127) as u32) << 23)
    }

    #[inline(always)]
    unsafe fn lt(a: f32, b: f32) -> bool {
        a < b
    }
    #[inline(always)]
    unsafe fn ge(a: f32, b: f32) -> bool {
        a >= b
    }
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> bool {
        n > 0
    }
    #[inline(always)]
    unsafe fn select(m: bool, a: f32, b: f32) -> f32 {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    unsafe fn eq_bits(a: f32, b: f32) -> u64 {
        (a == b) as u64
    }
    #[inline(always)]
    unsafe fn lt_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { p.read_unaligned() < t }
    }
    #[inline(always)]
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { p.read_unaligned() == t }
    }
    #[inline(always)]
    unsafe fn iota_u32(p: *mut u32, start: u32) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { p.write_unaligned(start) }
    }

    #[inline(always)]
    unsafe fn reduce_add(a: f32) -> f32 {
        a
    }
    #[inline(always)]
    unsafe fn reduce_max(a: f32) -> f32 {
        a
    }
}
