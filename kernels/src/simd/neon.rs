//! The aarch64 Advanced SIMD (NEON) vocabulary: 4 `f32` lanes in a `float32x4_t`, masks as
//! all-ones `uint32x4_t` lanes.

use std::arch::aarch64::*;

use super::Simd;

/// The NEON token.
#[derive(Clone, Copy, Debug)]
pub struct Neon;

// SAFETY: every method uses NEON only; callers hold the Neon table, built only after run-time
// detection of neon.
unsafe impl Simd for Neon {
    const LANES: usize = 4;
    type V = float32x4_t;
    type M = uint32x4_t;

    super::one_instruction_ops!(float32x4_t;
        memory { splat = vdupq_n_f32, load = vld1q_f32, store = vst1q_f32 }
        binary { add = vaddq_f32, sub = vsubq_f32, mul = vmulq_f32, div = vdivq_f32,
                 max = vmaxq_f32, min = vminq_f32 });

    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize, fill: f32) -> float32x4_t {
        // NEON has no masked load: go through a stack buffer.
        let mut buf = [fill; 4];
        // SAFETY: `p..p+n` readable (caller), n < 4 fits the buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n);
            vld1q_f32(buf.as_ptr())
        }
    }
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: float32x4_t, n: usize) {
        let mut buf = [0.0f32; 4];
        // SAFETY: `p..p+n` writable (caller), n < 4 fits the buffer.
        unsafe {
            vst1q_f32(buf.as_mut_ptr(), v);
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n);
        }
    }

    #[inline(always)]
    unsafe fn mul_add(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available (vfmaq: c + a*b, fused).
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    unsafe fn neg_mul_add(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available (vfmsq: c - a*b, fused).
        unsafe { vfmsq_f32(c, a, b) }
    }
    #[inline(always)]
    unsafe fn abs(a: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available.
        unsafe { vabsq_f32(a) }
    }
    #[inline(always)]
    unsafe fn neg_abs(a: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available.
        unsafe { vnegq_f32(vabsq_f32(a)) }
    }
    #[inline(always)]
    unsafe fn round(a: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available (frintn: nearest, ties to even).
        unsafe { vrndnq_f32(a) }
    }
    #[inline(always)]
    unsafe fn ldexp(y: float32x4_t, n: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available.
        unsafe {
            let i = vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127));
            vmulq_f32(y, vreinterpretq_f32_s32(vshlq_n_s32::<23>(i)))
        }
    }

    #[inline(always)]
    unsafe fn lt(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        // SAFETY: NEON available.
        unsafe { vcltq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn ge(a: float32x4_t, b: float32x4_t) -> uint32x4_t {
        // SAFETY: NEON available.
        unsafe { vcgeq_f32(a, b) }
    }
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> uint32x4_t {
        const IOTA: [u32; 4] = [0, 1, 2, 3];
        // SAFETY: NEON available; IOTA is 4 readable u32.
        unsafe { vcltq_u32(vld1q_u32(IOTA.as_ptr()), vdupq_n_u32(n as u32)) }
    }
    #[inline(always)]
    unsafe fn select(m: uint32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: NEON available.
        unsafe { vbslq_f32(m, a, b) }
    }
    #[inline(always)]
    unsafe fn eq_bits(a: float32x4_t, b: float32x4_t) -> u64 {
        const BITS: [u32; 4] = [1, 2, 4, 8];
        // SAFETY: NEON available; BITS is 4 readable u32.
        unsafe { vaddvq_u32(vandq_u32(vceqq_f32(a, b), vld1q_u32(BITS.as_ptr()))) as u64 }
    }
    #[inline(always)]
    unsafe fn lt_u16(p: *const u16, t: u16) -> uint32x4_t {
        // SAFETY: `p..p+4` readable (caller); NEON available.
        unsafe { vcltq_u32(vmovl_u16(vld1_u16(p)), vdupq_n_u32(t as u32)) }
    }
    #[inline(always)]
    unsafe fn any_eq_u16(p: *const u16, t: u16) -> bool {
        // SAFETY: `p..p+4` readable (caller); NEON available.
        unsafe {
            vget_lane_u64::<0>(vreinterpret_u64_u16(vceq_u16(vld1_u16(p), vdup_n_u16(t)))) != 0
        }
    }
    #[inline(always)]
    unsafe fn iota_u32(p: *mut u32, start: u32) {
        const IOTA: [u32; 4] = [0, 1, 2, 3];
        // SAFETY: `p..p+4` writable (caller); NEON available; IOTA is 4 readable u32.
        unsafe { vst1q_u32(p, vaddq_u32(vdupq_n_u32(start), vld1q_u32(IOTA.as_ptr()))) }
    }

    #[inline(always)]
    unsafe fn reduce_add(a: float32x4_t) -> f32 {
        // SAFETY: NEON available.
        unsafe { vaddvq_f32(a) }
    }
    #[inline(always)]
    unsafe fn reduce_max(a: float32x4_t) -> f32 {
        // SAFETY: NEON available.
        unsafe { vmaxvq_f32(a) }
    }
}
