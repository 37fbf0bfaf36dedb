//! Two vectors of one ISA as one: `Pair<S>` has `2 * S::LANES` lanes and applies every
//! primitive to both halves, one after the other.
//!
//! Why: the vector math ([`super::exp`], [`super::sigmoid_parts`], [`super::log1p_unit`]) is
//! one long dependency chain per vector (range reduction, a Horner polynomial, a division);
//! a kernel that walks a row one vector at a time is bound by that chain's latency, not by the
//! execution ports, because the out-of-order window only reaches a vector or two ahead. Written
//! over `Pair<S>`, the same generic code interleaves two independent chains step by step, so
//! each instruction's latency is hidden behind the other half's. The results are the same,
//! lane for lane, as over `S` (every primitive is applied to each half unchanged); only sums
//! across lanes ([`Simd::reduce_add`]) add the two halves in a different order.
//!
//! The lower half is lanes `0..S::LANES` (memory `p..p+S::LANES`), the upper half the rest.

use super::Simd;

/// Defines methods of [`Simd`] for [`Pair`] that apply `S`'s method of the same name to each
/// half, grouped by signature: `(arg: T, ...) -> Out: name, ...;` where each `T` and `Out` is
/// `V` (a pair of vectors) or `M` (a pair of masks).
macro_rules! each_half {
    ($($args:tt -> $out:ident: $($name:ident),+;)+) => {
        $($(each_half!(@one $name $args $out);)+)+
    };
    (@one $name:ident ($($arg:ident: $t:ident),+) $out:ident) => {
        #[inline(always)]
        unsafe fn $name($($arg: Self::$t),+) -> Self::$out {
            // SAFETY: forwarded contract.
            unsafe { (S::$name($($arg.0),+), S::$name($($arg.1),+)) }
        }
    };
}

/// Two `S` vectors processed in lock step (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct Pair<S>(std::marker::PhantomData<S>);

// SAFETY: every method only calls `S`'s methods, under the same contract (ISA available,
// pointers valid for the lanes touched: the lower half at `p`, the upper at `p + S::LANES`).
unsafe impl<S: Simd> Simd for Pair<S> {
    const LANES: usize = 2 * S::LANES;
    type V = (S::V, S::V);
    type M = (S::M, S::M);

    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        // SAFETY: forwarded contract.
        unsafe { (S::splat(x), S::splat(x)) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: `p..p+2L` readable (caller).
        unsafe { (S::load(p), S::load(p.add(S::LANES))) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize, fill: f32) -> Self::V {
        // SAFETY: `p..p+n` readable (caller); each half reads only its part of it.
        unsafe {
            if n >= S::LANES {
                (
                    S::load(p),
                    S::load_partial(p.add(S::LANES), n - S::LANES, fill),
                )
            } else {
                (S::load_partial(p, n, fill), S::splat(fill))
            }
        }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: `p..p+2L` writable (caller).
        unsafe {
            S::store(p, v.0);
            S::store(p.add(S::LANES), v.1);
        }
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize) {
        // SAFETY: `p..p+n` writable (caller); each half writes only its part of it.
        unsafe {
            if n >= S::LANES {
                S::store(p, v.0);
                S::store_partial(p.add(S::LANES), v.1, n - S::LANES);
            } else {
                S::store_partial(p, v.0, n);
            }
        }
    }

    each_half! {
        (a: V, b: V) -> V: add, sub, mul, div, max, min, ldexp;
        (a: V, b: V, c: V) -> V: mul_add, neg_mul_add;
        (a: V) -> V: abs, neg_abs, round;
        (a: V, b: V) -> M: lt, ge;
        (m: M, a: V, b: V) -> V: select;
    }

    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> Self::M {
        // SAFETY: forwarded contract; each half's count is at most S::LANES.
        unsafe {
            (
                S::first_lanes(n.min(S::LANES)),
                S::first_lanes(n.saturating_sub(S::LANES)),
            )
        }
    }
    #[inline(always)]
    unsafe fn eq_bits(a: Self::V, b: Self::V) -> u64 {
        // SAFETY: forwarded contract.
        unsafe { S::eq_bits(a.0, b.0) | S::eq_bits(a.1, b.1) << S::LANES }
    }
    #[inline(always)]
    unsafe fn lt_u16(p: *const u16, t: u16) -> Self::M {
        // SAFETY: `p..p+2L` readable (caller).
        unsafe { (S::lt_u16(p, t), S::lt_u16(p.add(S::LANES), t)) }
    }
    #[inline(always)]
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: `p..p+2L` readable (caller).
        unsafe { S::any_eq_u16(p, t) | S::any_eq_u16(p.add(S::LANES), t) }
    }
    #[inline(always)]
    unsafe fn iota_u32(p: *mut u32, start: u32) {
        // SAFETY: `p..p+2L` writable (caller).
        unsafe {
            S::iota_u32(p, start);
            S::iota_u32(p.add(S::LANES), start + S::LANES as u32);
        }
    }

    #[inline(always)]
    unsafe fn reduce_add(a: Self::V) -> f32 {
        // SAFETY: forwarded contract.
        unsafe { S::reduce_add(S::add(a.0, a.1)) }
    }
    #[inline(always)]
    unsafe fn reduce_max(a: Self::V) -> f32 {
        // SAFETY: forwarded contract.
        unsafe { S::reduce_max(S::max(a.0, a.1)) }
    }
    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        // SAFETY: forwarded contract (a prefetch never faults).
        unsafe { S::prefetch(p) }
    }
}

/// Four `S` vectors in lock step.
pub type Quad<S> = Pair<Pair<S>>;
/// Eight `S` vectors in lock step.
pub type Octet<S> = Pair<Quad<S>>;
