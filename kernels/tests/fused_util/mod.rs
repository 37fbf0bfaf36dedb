//! Shared by the fused-kernel tests: run a check on every ISA that must be exercised, and
//! fail (never skip) if one of them was not.

#![allow(dead_code)]

use rand_xoshiro::rand_core::Rng;
use sdae_kernels::{Isa, Kernels, MatMut, MatRef, Xoshiro256PlusPlus};

/// The ISAs a test must exercise: `SDAE_EXPECT_ISAS` (comma list; the Makefile's aarch64 run
/// sets `scalar,neon`), else every ISA this CPU supports.
pub fn expected_isas() -> Vec<Isa> {
    match std::env::var("SDAE_EXPECT_ISAS") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|s| {
                s.parse::<Isa>()
                    .unwrap_or_else(|e| panic!("SDAE_EXPECT_ISAS: {e}"))
            })
            .collect(),
        _ => Isa::supported(),
    }
}

/// Run `check` with the kernel table of every expected ISA; panic if any expected ISA has no
/// table (the CPU lacks it) or was not run.
pub fn on_every_isa(mut check: impl FnMut(&'static Kernels)) {
    let want = expected_isas();
    let mut ran = Vec::new();
    for &isa in &want {
        let k = Kernels::for_isa(isa)
            .unwrap_or_else(|e| panic!("expected ISA {isa} cannot be exercised: {e}"));
        assert_eq!(k.isa(), isa);
        check(k);
        ran.push(isa);
    }
    for isa in want {
        assert!(
            ran.contains(&isa),
            "ISA {isa} was expected but never exercised"
        );
    }
    assert!(!ran.is_empty(), "no ISA exercised");
}

/// [`on_every_isa`] over every batch shape `rows x cols` (rows outer), the sweep most kernel
/// tests make.
pub fn on_every_isa_and_shape(
    rows: &[usize],
    cols: &[usize],
    mut check: impl FnMut(&'static Kernels, usize, usize),
) {
    on_every_isa(|k| {
        for &r in rows {
            for &c in cols {
                check(k, r, c);
            }
        }
    });
}

/// A small deterministic generator of test data (SplitMix64).
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n
    }
}

/// Row widths that hit the vector body, the remainder and the scalar tail of every ISA
/// (4, 8 and 16 lanes).
pub const COLS: [usize; 12] = [1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 69, 1000];
/// Batch heights.
pub const ROWS: [usize; 5] = [1, 2, 3, 4, 5];

pub const EPS: f64 = f32::EPSILON as f64;

/// `|got - want| <= tol`, with a message naming what was compared.
#[track_caller]
pub fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        got.is_finite() && (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}, |diff| {:e} > tol {tol:e}",
        (got - want).abs()
    );
}

/// `v` as a contiguous `rows x cols` batch view (the test's own shapes: panics if wrong).
pub fn mm(v: &mut [f32], rows: usize, cols: usize) -> MatMut<'_> {
    MatMut::new(v, rows, cols).unwrap_or_else(|e| panic!("test batch: {e}"))
}

/// `v` as a read-only contiguous `rows x cols` batch view.
pub fn mr(v: &[f32], rows: usize, cols: usize) -> MatRef<'_> {
    MatRef::new(v, rows, cols).unwrap_or_else(|e| panic!("test batch: {e}"))
}

/// The masking kernels' contract against the reference: `got` equals `want` bit for bit,
/// and the kernel's generator `gr` stands where the reference's did (`want_next` is the
/// reference generator's next draw after the call).
pub fn assert_same_mask(
    got: &[f32],
    want: &[f32],
    gr: &mut Xoshiro256PlusPlus,
    want_next: u64,
    what: &str,
) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let first_diff = got
        .iter()
        .zip(want)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        first_diff.is_none(),
        "{what}: differs from the reference at {first_diff:?}"
    );
    assert_eq!(gr.next_u64(), want_next, "{what}: rng consumed differently");
}
