//! The Bernoulli sampling kernels (8: `sigmoid_bias_bernoulli`, 8b: `bernoulli_sample`) on
//! every ISA the machine has (NEON under qemu) against `sdae_kernels::reference`: given the
//! same probabilities the samples, and the generator's state after the call, are bit-identical;
//! the fused kernel's probabilities match the reference sigmoid within a few ulp.

mod fused_util;

use fused_util::{
    assert_close, assert_same_mask, mm, on_every_isa, on_every_isa_and_shape, Gen, COLS, EPS, ROWS,
};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use sdae_kernels::{reference, Xoshiro256PlusPlus};

/// Probabilities in [0, 1], with exact 0, 1 and values next to the 2^-24 grid of the uniforms.
fn probs(g: &mut Gen, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match g.below(8) {
            0 => 0.0,
            1 => 1.0,
            2 => (g.below(1 << 24) as f32) / 16_777_216.0,
            3 => 1e-9,
            _ => g.f32(0.0, 1.0),
        })
        .collect()
}

const LENS: [usize; 16] = [
    0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000, 20_003,
];

#[test]
fn bernoulli_sample_is_bit_identical() {
    let mut g = Gen::new(31);
    on_every_isa(|k| {
        for &len in &LENS {
            let p = probs(&mut g, len);
            let seed = g.u64();
            let mut wr = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut want = vec![f32::NAN; len];
            reference::bernoulli_sample(&p, &mut want, &mut wr);
            let mut gr = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut got = vec![f32::NAN; len];
            k.bernoulli_sample(&p, &mut got, &mut gr).unwrap();
            let what = format!("{} bernoulli_sample len={len}", k.isa());
            assert_same_mask(&got, &want, &mut gr, wr.next_u64(), &what);
            for (i, &pi) in p.iter().enumerate() {
                if pi == 0.0 {
                    assert_eq!(got[i], 0.0, "{what} [{i}] p = 0");
                } else if pi == 1.0 {
                    assert_eq!(got[i], 1.0, "{what} [{i}] p = 1");
                }
            }
        }
    });
}

#[test]
fn bernoulli_sample_draws_ceil_half_next_u64() {
    for len in [0usize, 1, 2, 5, 64, 65, 129] {
        let p = vec![0.5f32; len];
        let mut a = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut s = vec![0.0f32; len];
        reference::bernoulli_sample(&p, &mut s, &mut a);
        let mut b = Xoshiro256PlusPlus::seed_from_u64(9);
        for _ in 0..len.div_ceil(2) {
            b.next_u64();
        }
        assert_eq!(a.next_u64(), b.next_u64(), "len {len}");
    }
}

#[test]
fn bernoulli_sample_has_the_right_law() {
    // 200,000 draws at each p: the frequency within 5 standard deviations (< 0.006).
    let n = 200_000;
    on_every_isa(|k| {
        for p in [0.01f32, 0.1, 0.3, 0.5, 0.9] {
            let pv = vec![p; n];
            let mut s = vec![0.0f32; n];
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
            k.bernoulli_sample(&pv, &mut s, &mut rng).unwrap();
            let f = s.iter().filter(|&&v| v == 1.0).count() as f64 / n as f64;
            let sd = (p as f64 * (1.0 - p as f64) / n as f64).sqrt();
            assert!((f - p as f64).abs() < 5.0 * sd, "{} p={p}: {f}", k.isa());
        }
    });
}

#[test]
fn sigmoid_bias_bernoulli_matches_reference() {
    let mut g = Gen::new(32);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, cols| {
        let n = rows * cols;
        let t0: Vec<f32> = (0..n)
            .map(|_| {
                if g.below(10) == 0 {
                    [-1e4f32, -100.0, 0.0, 100.0, 1e4][g.below(5) as usize]
                } else {
                    g.f32(-8.0, 8.0)
                }
            })
            .collect();
        let bias = g.vec(cols, -2.0, 2.0);
        let seed = g.u64();
        let mut want = t0.clone();
        let mut want_s = vec![f32::NAN; n];
        let mut wr = Xoshiro256PlusPlus::seed_from_u64(seed);
        reference::sigmoid_bias_bernoulli(&mut want, rows, cols, &bias, &mut want_s, &mut wr);
        let mut got = t0.clone();
        let mut got_s = vec![f32::NAN; n];
        let mut gr = Xoshiro256PlusPlus::seed_from_u64(seed);
        k.sigmoid_bias_bernoulli(
            mm(&mut got, rows, cols),
            &bias,
            mm(&mut got_s, rows, cols),
            &mut gr,
        )
        .unwrap();
        let what = format!("{} sigmoid_bias_bernoulli {rows}x{cols}", k.isa());
        for i in 0..n {
            let t = (t0[i] + bias[i % cols]).abs() as f64;
            let tol = (8.0 + t) * EPS * want[i] as f64 + 1.2e-38;
            assert_close(
                &format!("{what} p[{i}]"),
                got[i] as f64,
                want[i] as f64,
                tol,
            );
        }
        // Given the kernel's own probabilities, the samples are the reference's bit
        // for bit, and so is the generator afterwards.
        let mut exact = vec![f32::NAN; n];
        let mut er = Xoshiro256PlusPlus::seed_from_u64(seed);
        reference::bernoulli_sample(&got, &mut exact, &mut er);
        assert_same_mask(&got_s, &exact, &mut gr, wr.next_u64(), &what);
        // Against the reference's own p, a sample may differ only where a uniform lies
        // between the two roundings: none in these few thousand draws.
        let differ = (0..n).filter(|&i| got_s[i] != want_s[i]).count();
        assert_eq!(differ, 0, "{what}: samples differing from the reference");
    });
}

#[test]
fn sampling_kernels_refuse_bad_shapes() {
    on_every_isa(|k| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let p = [0.5f32; 6];
        let e = k
            .bernoulli_sample(&p, &mut [0.0; 5], &mut rng)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bernoulli_sample") && e.contains("sample has 5"),
            "{e}"
        );
        let mut t = [0.0f32; 6];
        // (bias length, sample shape, what the error names)
        for (bias, (sr, sc), want) in [(2, (2, 3), "bias has 2"), (3, (3, 2), "sample")] {
            let mut s = [0.0f32; 6];
            let e = k
                .sigmoid_bias_bernoulli(
                    mm(&mut t, 2, 3),
                    &vec![0.0; bias],
                    mm(&mut s, sr, sc),
                    &mut rng,
                )
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    });
}
