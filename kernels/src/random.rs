//! The random streams of training: index draws, the masking noises' streams, the epoch
//! shuffle's uniform integers.
//!
//! Production code (the masking kernels, the driver's salt-and-pepper noise, epoch shuffle and
//! pictures) draws through this module, and [`crate::reference`] specifies the kernels in
//! terms of it, so the specification can be cleaned up without changing a single draw of
//! training. Every function here is deterministic given the generator's state, and identical
//! on every ISA.

use rand_xoshiro::rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// How many components of a `d`-wide example the paper's masking noise forces to 0:
/// `round(nu * d)`, ties away from zero.
pub fn masked_count(nu: f64, d: usize) -> usize {
    (nu * d as f64).round() as usize
}

/// An integer uniform in `0..n` (`n > 0`) from one or more `u32` draws of `next_u32`
/// (Lemire's multiply-shift with rejection: exact, no modulo bias). A draw `u` gives
/// `m = u * n` (64-bit); `m` is rejected, and `u` redrawn, while `m mod 2^32 < 2^32 mod n`;
/// the result is `m >> 32`.
#[inline]
pub fn uniform_below_from(n: u32, mut next_u32: impl FnMut() -> u32) -> u32 {
    debug_assert!(n > 0);
    let mut m = next_u32() as u64 * n as u64;
    if (m as u32) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u32) < threshold {
            m = next_u32() as u64 * n as u64;
        }
    }
    (m >> 32) as u32
}

/// [`uniform_below_from`] with one `next_u32` of the generator per draw (its high 32 bits).
/// The epoch shuffle and salt-and-pepper noise draw their indices through it.
#[inline]
pub fn uniform_below(rng: &mut Xoshiro256PlusPlus, n: u32) -> u32 {
    uniform_below_from(n, || rng.next_u32())
}

/// Pick `count` distinct indices of `0..d` uniformly: a partial Fisher–Yates shuffle of the
/// identity in `scratch[..d]` (step `i` swaps position `i` with `i + uniform_below(d - i)`);
/// the chosen indices are `scratch[..count]` on return.
#[inline]
pub fn choose_indices(rng: &mut Xoshiro256PlusPlus, d: usize, count: usize, scratch: &mut [u32]) {
    choose_indices_from(d, count, scratch, |n| uniform_below(rng, n));
}

/// [`choose_indices`] with the uniform draws of `below(n)` (a value in `0..n`).
#[inline]
pub fn choose_indices_from(
    d: usize,
    count: usize,
    scratch: &mut [u32],
    mut below: impl FnMut(u32) -> u32,
) {
    assert!(count <= d && scratch.len() >= d);
    for (i, s) in scratch[..d].iter_mut().enumerate() {
        *s = i as u32;
    }
    for i in 0..count {
        let j = i + below((d - i) as u32) as usize;
        scratch.swap(i, j);
    }
}

/// The `u32` stream of the masking kernel: both halves of every `next_u64` of the generator,
/// the low 32 bits first, then the high 32 bits. A half left over when the stream ends
/// ([`HalfDraws::finish`]) is discarded (one stream per call of `Kernels::mask_fixed`: the generator
/// then stands after `ceil(draws / 2)` `next_u64`).
///
/// Why halves: drawing an index costs one 32-bit uniform, and the generator's `next_u32`
/// spends a whole `next_u64` on it; taking both halves halves the generator work, and
/// [`HalfDraws::below_pair`] turns one `next_u64` into two draws in straight-line code (the
/// masking kernel is bound by its instructions per draw). Every bit of xoshiro256++'s output
/// is of full quality, so the low half is as good a uniform `u32` as the high one.
pub struct HalfDraws {
    /// A copy of the generator's state (kept by value so that a loop drawing from it keeps
    /// the state in registers); [`HalfDraws::finish`] writes it back.
    rng: Xoshiro256PlusPlus,
    /// The high half of the last `next_u64`, when not consumed yet.
    high: Option<u32>,
}

impl HalfDraws {
    /// A fresh stream starting at `rng`'s state (nothing drawn yet).
    #[inline]
    pub fn new(rng: &Xoshiro256PlusPlus) -> HalfDraws {
        HalfDraws {
            rng: rng.clone(),
            high: None,
        }
    }

    /// End the stream: `rng` takes the state after its last `next_u64` (a pending high half
    /// is discarded).
    #[inline]
    pub fn finish(self, rng: &mut Xoshiro256PlusPlus) {
        *rng = self.rng;
    }

    /// The next `u32` of the stream.
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        match self.high.take() {
            Some(h) => h,
            None => {
                let v = self.rng.next_u64();
                self.high = Some((v >> 32) as u32);
                v as u32
            }
        }
    }

    /// A uniform integer in `0..n` ([`uniform_below_from`] on this stream).
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        uniform_below_from(n, || self.next_u32())
    }

    /// `(self.below(n0), self.below(n1))`: the same draws in the same order, with one
    /// `next_u64` and no branch per half in the common case. When no half is pending and
    /// neither 64-bit product's low word is below its `n` (so no rejection is possible), the
    /// two halves of one `next_u64` are the two draws; otherwise the two draws are replayed
    /// one at a time on the same halves.
    #[inline(always)]
    pub fn below_pair(&mut self, n0: u32, n1: u32) -> (u32, u32) {
        if self.high.is_some() {
            let a = self.below(n0);
            return (a, self.below(n1));
        }
        let v = self.rng.next_u64();
        let m0 = (v as u32) as u64 * n0 as u64;
        let m1 = (v >> 32) * n1 as u64;
        if ((m0 as u32) >= n0) & ((m1 as u32) >= n1) {
            return ((m0 >> 32) as u32, (m1 >> 32) as u32);
        }
        self.high = Some((v >> 32) as u32);
        let mut low = Some(v as u32);
        let a = uniform_below_from(n0, || low.take().unwrap_or_else(|| self.next_u32()));
        (a, self.below(n1))
    }
}

/// The `u32` threshold under which a uniform `u32` means "drop": `floor(p * 2^32)`, saturated.
pub fn bernoulli_threshold(p: f32) -> u32 {
    let t = (p as f64 * 4294967296.0).floor();
    if t >= 4294967295.0 {
        u32::MAX
    } else if t <= 0.0 {
        0
    } else {
        t as u32
    }
}

/// Components per group of [`mask_bernoulli_groups`]: 8 `next_u64` of 4 16-bit draws each.
pub const BERNOULLI_GROUP: usize = 32;

/// The Bernoulli masking stream of `Kernels::mask_bernoulli`, one group of
/// [`BERNOULLI_GROUP`] components at a time, in scalar code: each component of `x` is copied
/// to `out` or dropped (0) with probability `t / 2^32`, `t = `[`bernoulli_threshold`]`(p)`.
///
/// The stream (what `reference::mask_bernoulli` specifies, and every ISA's vector kernel
/// reproduces bit for bit): components go in groups of 32 (the last group may be shorter, `g`
/// components). A group draws `ceil(g / 4)` `next_u64`; component `4i + j` of the group takes
/// bits `16j .. 16j + 16` of draw `i` as `h`. With `t = t_hi 2^16 + t_lo`: dropped when
/// `h < t_hi`, kept when `h > t_hi`; on a tie the group's tied components, in order, each
/// draw one more `next_u64` and are dropped when its low 16 bits are `< t_lo`. The vector
/// kernels use it for passes with a tie and for the last components of a buffer.
pub fn mask_bernoulli_groups(x: &[f32], out: &mut [f32], p: f32, rng: &mut Xoshiro256PlusPlus) {
    assert_eq!(x.len(), out.len());
    let t = bernoulli_threshold(p);
    let (t_hi, t_lo) = ((t >> 16) as u16, t as u16);
    for (xg, og) in x
        .chunks(BERNOULLI_GROUP)
        .zip(out.chunks_mut(BERNOULLI_GROUP))
    {
        let mut h = [0u16; BERNOULLI_GROUP];
        for quad in h[..xg.len()].chunks_mut(4) {
            let v = rng.next_u64();
            for (j, hj) in quad.iter_mut().enumerate() {
                *hj = (v >> (16 * j)) as u16;
            }
        }
        for c in 0..xg.len() {
            let drop = if h[c] == t_hi {
                (rng.next_u64() as u16) < t_lo
            } else {
                h[c] < t_hi
            };
            og[c] = if drop { 0.0 } else { xg[c] };
        }
    }
}

/// The uniform of one `u32` draw of the Bernoulli sampling stream: its top 24 bits times
/// `2^-24`, a value in `[0, 1 - 2^-24]` that `f32` holds exactly (so the conversion is the
/// same on every ISA).
#[inline(always)]
pub fn unit24(w: u32) -> f32 {
    (w >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Uniforms per refill of [`SampleUniforms`]: 32 `next_u64`, two uniforms each.
pub const SAMPLE_REFILL: usize = 64;

/// The uniform stream of the Bernoulli sampling kernels (`Kernels::bernoulli_sample`,
/// `Kernels::sigmoid_bias_bernoulli`), handed out a few at a time.
///
/// The stream of one call over `n` components: component `i` (row-major) takes
/// `u_i = `[`unit24`]`(w_i)`, `w_i` the `i`-th `u32` of the generator's output read as in
/// [`HalfDraws`] (both halves of every `next_u64`, the low 32 bits first), and is sampled
/// `1` when `u_i < p_i`, else `0`: `P(1) = p` to within `2^-24`. The call draws exactly
/// `ceil(n / 2)` `next_u64` (a high half left over when `n` is odd is discarded), so the
/// generator's state afterwards does not depend on how a kernel walks the components.
///
/// The buffer holds the uniforms not handed out yet (at most [`SAMPLE_REFILL`]` + 15`), so a
/// kernel can take a vector's worth (`n <= 16`) at any position.
pub struct SampleUniforms {
    rng: Xoshiro256PlusPlus,
    /// Uniforms still to draw from the generator in this call.
    left: usize,
    buf: [f32; 2 * SAMPLE_REFILL],
    pos: usize,
    len: usize,
}

impl SampleUniforms {
    /// A stream of `n` uniforms starting at `rng`'s state.
    #[inline]
    pub fn new(rng: &Xoshiro256PlusPlus, n: usize) -> SampleUniforms {
        SampleUniforms {
            rng: rng.clone(),
            left: n,
            buf: [0.0; 2 * SAMPLE_REFILL],
            pos: 0,
            len: 0,
        }
    }

    /// The next `n` uniforms (`n <= 16`, and no more than the stream has left), contiguous.
    #[inline(always)]
    pub fn take(&mut self, n: usize) -> &[f32] {
        debug_assert!(n <= 16);
        if self.len - self.pos < n {
            self.refill();
        }
        debug_assert!(self.len - self.pos >= n, "stream overdrawn");
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// Move the unused uniforms to the front and draw up to [`SAMPLE_REFILL`] more.
    ///
    /// Not inlined: inside an AVX-512 function LLVM would vectorize the generator's serial
    /// steps (see `fill_u64` in the masking kernels), which is slower.
    #[inline(never)]
    fn refill(&mut self) {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        let n = self.left.min(SAMPLE_REFILL);
        let mut i = 0;
        while i < n {
            let v = self.rng.next_u64();
            self.buf[self.len] = unit24(v as u32);
            self.len += 1;
            if i + 1 < n {
                self.buf[self.len] = unit24((v >> 32) as u32);
                self.len += 1;
            }
            i += 2;
        }
        self.left -= n;
    }

    /// End the stream: `rng` takes the state after its last `next_u64`. Every uniform must
    /// have been drawn (the kernels take exactly `n`).
    #[inline]
    pub fn finish(self, rng: &mut Xoshiro256PlusPlus) {
        debug_assert_eq!(self.left, 0);
        *rng = self.rng;
    }
}
