//! Every fused kernel on every ISA the machine has (NEON under qemu) against
//! `sdae_kernels::reference`, over shapes that hit the vector body, the remainder and the tail,
//! with extreme logits and targets exactly 0 and 1. Masking must be bit-identical.
//!
//! Tolerances scale with f32::EPSILON: a few ulp per element, plus the `|t| eps` that rounding
//! `a + bias` to `f32` costs (the reference adds in `f64`), plus `rows eps` for column sums.
// Tolerances are built per (row, column) index, like the reference they check.
#![allow(clippy::needless_range_loop)]

mod fused_util;

use fused_util::{
    assert_close, assert_same_mask, mm, mr, on_every_isa, on_every_isa_and_shape, Gen, COLS, EPS,
    ROWS,
};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use sdae_kernels::{random, reference, Isa, Kernels, Loss, MatMut, MatRef, Xoshiro256PlusPlus};

/// Logits: mostly moderate, some extreme (|a| up to 1e4), some exactly 0.
fn logits(g: &mut Gen, n: usize) -> Vec<f32> {
    const EXTREME: [f32; 10] = [
        -1e4, -1e3, -100.0, -88.0, -20.0, 0.0, 20.0, 88.0, 100.0, 1e4,
    ];
    (0..n)
        .map(|_| {
            if g.below(8) == 0 {
                EXTREME[g.below(EXTREME.len() as u64) as usize]
            } else {
                g.f32(-12.0, 12.0)
            }
        })
        .collect()
}

/// Targets in [0, 1], with many exactly 0 and exactly 1.
fn targets(g: &mut Gen, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match g.below(5) {
            0 => 0.0,
            1 => 1.0,
            _ => g.f32(0.0, 1.0),
        })
        .collect()
}

#[test]
fn sigmoid_bias_inplace_matches_reference() {
    let mut g = Gen::new(1);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, cols| {
        let y0 = logits(&mut g, rows * cols);
        let bias = g.vec(cols, -2.0, 2.0);
        let mut want = y0.clone();
        reference::sigmoid_bias_inplace(&mut want, rows, cols, &bias);
        let mut got = y0.clone();
        k.sigmoid_bias_inplace(mm(&mut got, rows, cols), &bias)
            .unwrap();
        for i in 0..rows * cols {
            let t = (y0[i] + bias[i % cols]).abs() as f64;
            let tol = (8.0 + t) * EPS * want[i] as f64 + 1.2e-38;
            let what = format!("{} sigmoid_bias {rows}x{cols} [{i}]", k.isa());
            assert_close(&what, got[i] as f64, want[i] as f64, tol);
        }
    });
}

/// Run a sigmoid-loss kernel (xent or sqerr) on `k` and the reference on every shape and
/// option combination, and compare.
fn check_sigmoid_loss(k: &Kernels, name: &str, g: &mut Gen, sqerr: bool) {
    let loss = if sqerr {
        Loss::SquaredError
    } else {
        Loss::CrossEntropy
    };
    for &rows in &ROWS {
        for &cols in &COLS {
            for opts in 0..4 {
                let (with_bias, with_z) = (opts & 1 != 0, opts & 2 != 0);
                let n = rows * cols;
                let a0 = logits(g, n);
                let x = targets(g, n);
                let bias = g.vec(cols, -1.0, 1.0);
                let bias = with_bias.then_some(&bias[..]);
                let (mut wa, mut wz, mut wbg) = (a0.clone(), vec![0.0; n], vec![0.0; cols]);
                let out = (Some(&mut wz[..]), Some(&mut wbg[..]));
                let wl = reference::sigmoid_loss(loss, &mut wa, &x, (rows, cols), bias, out);
                let (mut ga, mut gz, mut gbg) =
                    (a0.clone(), vec![f32::NAN; n], vec![f32::NAN; cols]);
                let z_out = with_z.then(|| mm(&mut gz, rows, cols));
                let (ga_v, x_v) = (mm(&mut ga, rows, cols), mr(&x, rows, cols));
                let gl = k
                    .sigmoid_loss(loss, ga_v, x_v, bias, z_out, Some(&mut gbg))
                    .unwrap();
                let what = format!(
                    "{} {name} {rows}x{cols} bias={with_bias} z={with_z}",
                    k.isa()
                );
                assert!(gl.is_finite(), "{what}: loss {gl}");
                let mut col_tol = vec![0.0f64; cols];
                let (mut loss_abs, mut loss_tol) = (0.0f64, 0.0f64);
                for i in 0..n {
                    let c = i % cols;
                    // t, z, the loss term and the gradient in f64, as the reference has them.
                    let t = a0[i] as f64 + bias.map_or(0.0, |b| b[c] as f64);
                    let at = t.abs();
                    let z = reference::sigmoid(t);
                    let xi = x[i] as f64;
                    let gw = wa[i] as f64;
                    // z: a few ulp, plus |t| eps / 2 from rounding a + bias to f32.
                    let zt = 16.0 * EPS * z + at * EPS * z * (1.0 - z) + 1.2e-38;
                    let (term, term_tol, gt) = if sqerr {
                        let d = z - xi;
                        let zz = z * (1.0 - z);
                        let dt = zt + EPS * d.abs();
                        let gt = 2.0 * dt * zz
                            + 2.0 * d.abs() * (8.0 + at) * EPS * zz
                            + 2.0 * EPS * gw.abs()
                            + 1e-37;
                        (d * d, 2.0 * d.abs() * dt + dt * dt + 2.0 * EPS * d * d, gt)
                    } else {
                        let term = reference::softplus(t) - xi * t;
                        let tt = (16.0 + at) * EPS * term + at * EPS * (z - xi).abs();
                        (term, tt, zt + 2.0 * EPS * gw.abs())
                    };
                    loss_abs += term;
                    loss_tol += term_tol;
                    assert_close(&format!("{what} grad[{i}]"), ga[i] as f64, gw, gt);
                    if with_z {
                        assert_close(&format!("{what} z[{i}]"), gz[i] as f64, z, zt);
                    }
                    col_tol[c] += gt + (rows as f64 + 2.0) * EPS * gw.abs();
                }
                // Summation: cols f32 adds per lane at worst, then f64 across rows.
                loss_tol += (cols as f64 + 8.0) * EPS * loss_abs;
                assert_close(&format!("{what} loss"), gl, wl, loss_tol + 1e-37);
                if !with_z {
                    assert!(
                        gz.iter().all(|v| v.is_nan()),
                        "{what}: z_out None but written"
                    );
                }
                for c in 0..cols {
                    let what = format!("{what} bias_grad[{c}]");
                    assert_close(&what, gbg[c] as f64, wbg[c] as f64, col_tol[c] + 1e-37);
                }
                // Without bias_grad, the same gradient and loss.
                let mut ha = a0.clone();
                let hl = k
                    .sigmoid_loss(
                        loss,
                        mm(&mut ha, rows, cols),
                        mr(&x, rows, cols),
                        bias,
                        None,
                        None,
                    )
                    .unwrap();
                assert_eq!(
                    hl.to_bits(),
                    gl.to_bits(),
                    "{what}: loss depends on options"
                );
                assert_eq!(ha, ga, "{what}: gradient depends on options");
            }
        }
    }
}

#[test]
fn sigmoid_xent_matches_reference() {
    let mut g = Gen::new(2);
    on_every_isa(|k| check_sigmoid_loss(k, "sigmoid_xent", &mut g, false));
}

#[test]
fn sigmoid_sqerr_matches_reference() {
    let mut g = Gen::new(3);
    on_every_isa(|k| check_sigmoid_loss(k, "sigmoid_sqerr", &mut g, true));
}

#[test]
fn sigmoid_xent_extreme_logits_give_finite_exact_loss() {
    // t = ±1e4 with targets 0 and 1: loss 0 where the prediction is right, 1e4 where wrong.
    on_every_isa(|k| {
        let mut a = vec![1e4f32, 1e4, -1e4, -1e4, 0.0];
        let x = vec![1.0f32, 0.0, 0.0, 1.0, 0.5];
        let loss = k
            .sigmoid_loss(
                Loss::CrossEntropy,
                mm(&mut a, 1, 5),
                mr(&x, 1, 5),
                None,
                None,
                None,
            )
            .unwrap();
        let want = 2e4 + std::f64::consts::LN_2;
        assert_close(&format!("{} extreme loss", k.isa()), loss, want, 1e-3);
        // Gradients z - x: exact, up to the documented absolute error of z where the exact
        // value is below FLT_MIN (s(-1e4) comes out as e^EXP_LO ~ 1.18e-38, not 0; see
        // simd::sigmoid_parts, and fused_math.rs for the same bound).
        let want_g = [0.0f32, 1.0, 0.0, -1.0, 0.0];
        for (i, (&g, w)) in a.iter().zip(want_g).enumerate() {
            assert!(
                (g - w).abs() < 1.2e-38,
                "{}: gradient [{i}] = {g:e}, want {w}",
                k.isa()
            );
        }
    });
}

#[test]
fn sigmoid_backward_matches_reference() {
    let mut g = Gen::new(4);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, cols| {
        let n = rows * cols;
        let d0 = g.vec(n, -3.0, 3.0);
        let h = targets(&mut g, n);
        let (mut wd, mut wbg) = (d0.clone(), vec![0.0; cols]);
        reference::sigmoid_backward(&mut wd, &h, rows, cols, &mut wbg);
        let (mut gd, mut gbg) = (d0.clone(), vec![f32::NAN; cols]);
        k.sigmoid_backward(mm(&mut gd, rows, cols), mr(&h, rows, cols), &mut gbg)
            .unwrap();
        let what = format!("{} sigmoid_backward {rows}x{cols}", k.isa());
        let mut col_tol = vec![0.0f64; cols];
        for i in 0..n {
            let w = wd[i] as f64;
            let tol = 4.0 * EPS * w.abs();
            assert_close(&format!("{what} d[{i}]"), gd[i] as f64, w, tol);
            col_tol[i % cols] += (rows as f64 + 6.0) * EPS * w.abs();
        }
        for c in 0..cols {
            let what = format!("{what} bias_grad[{c}]");
            assert_close(&what, gbg[c] as f64, wbg[c] as f64, col_tol[c] + 1e-37);
        }
    });
}

#[test]
fn softmax_nll_matches_reference() {
    let mut g = Gen::new(5);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, cols| {
        for with_bias in [false, true] {
            let n = rows * cols;
            let mut l0 = g.vec(n, -8.0, 8.0);
            // One extreme row: a logit of ±1e4.
            if rows > 1 {
                l0[cols + g.below(cols as u64) as usize] = if g.below(2) == 0 { 1e4 } else { -1e4 };
            }
            let labels: Vec<u32> = (0..rows).map(|_| g.below(cols as u64) as u32).collect();
            let bias = g.vec(cols, -1.0, 1.0);
            let bias = with_bias.then_some(&bias[..]);
            let (mut wl, mut wbg, mut wp) = (l0.clone(), vec![0.0; cols], vec![0u32; rows]);
            let ws = reference::softmax_nll(
                &mut wl,
                rows,
                cols,
                bias,
                &labels,
                Some(&mut wbg),
                Some(&mut wp),
            );
            let (mut gl, mut gbg, mut gp) =
                (l0.clone(), vec![f32::NAN; cols], vec![u32::MAX; rows]);
            let gs = k
                .softmax_nll(
                    mm(&mut gl, rows, cols),
                    &labels,
                    bias,
                    Some(&mut gbg),
                    Some(&mut gp),
                )
                .unwrap();
            let what = format!("{} softmax_nll {rows}x{cols} bias={with_bias}", k.isa());
            assert_eq!(gp, wp, "{what}: arg-max");
            assert_eq!(gs.correct, ws.correct, "{what}: correct count");
            let mut loss_tol = 0.0;
            let mut col_tol = vec![0.0f64; cols];
            for r in 0..rows {
                let t = |c: usize| (l0[r * cols + c] + bias.map_or(0.0, |b| b[c])) as f64;
                let tmax = (0..cols).map(|c| t(c).abs()).fold(0.0, f64::max);
                loss_tol += (16.0 + 4.0 * tmax) * EPS;
                for c in 0..cols {
                    let i = r * cols + c;
                    let w = wl[i] as f64;
                    let p = w + (labels[r] as usize == c) as u32 as f64;
                    let tol =
                        (16.0 + 2.0 * (t(c).abs() + tmax)) * EPS * p + 2.0 * EPS * w.abs() + 1e-37;
                    assert_close(&format!("{what} grad[{i}]"), gl[i] as f64, w, tol);
                    col_tol[c] += tol + (rows as f64 + 2.0) * EPS * w.abs();
                }
            }
            assert!(gs.loss.is_finite(), "{what}: loss {}", gs.loss);
            assert_close(&format!("{what} loss"), gs.loss, ws.loss, loss_tol);
            for c in 0..cols {
                let what = format!("{what} bias_grad[{c}]");
                assert_close(&what, gbg[c] as f64, wbg[c] as f64, col_tol[c]);
            }
        }
    });
}

/// Inputs with no zeros, so every zero in the output is a masked component.
fn nonzero(g: &mut Gen, n: usize) -> Vec<f32> {
    g.vec(n, 0.5, 1.5)
}

/// `k.mask_fixed` of `x` (`rows x cols`, `count` zeros a row) drawing from `rng`, into an
/// output pre-filled with NaN (so a value it failed to write shows).
fn mask_fixed_of(
    k: &Kernels,
    x: &[f32],
    rows: usize,
    cols: usize,
    count: usize,
    rng: &mut Xoshiro256PlusPlus,
    scratch: &mut [u32],
) -> Vec<f32> {
    let mut out = vec![f32::NAN; rows * cols];
    k.mask_fixed(
        mr(x, rows, cols),
        mm(&mut out, rows, cols),
        count,
        rng,
        scratch,
    )
    .unwrap();
    out
}

#[test]
fn mask_fixed_is_bit_identical_and_exact() {
    let mut g = Gen::new(6);
    on_every_isa(|k| {
        for &rows in &ROWS {
            for &cols in &COLS {
                for nu in [0.0, 0.1, 0.25, 0.5, 0.9, 1.0] {
                    let count = random::masked_count(nu, cols);
                    let x = nonzero(&mut g, rows * cols);
                    let seed = g.u64();
                    let mut scratch = vec![0u32; cols + 3];
                    let mut wr = Xoshiro256PlusPlus::seed_from_u64(seed);
                    let mut want = vec![f32::NAN; rows * cols];
                    reference::mask_fixed(&x, &mut want, rows, cols, count, &mut wr, &mut scratch);
                    let mut gr = Xoshiro256PlusPlus::seed_from_u64(seed);
                    let got = mask_fixed_of(k, &x, rows, cols, count, &mut gr, &mut scratch);
                    let what = format!("{} mask_fixed {rows}x{cols} nu={nu}", k.isa());
                    assert_same_mask(&got, &want, &mut gr, wr.next_u64(), &what);
                    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    for r in 0..rows {
                        let row = &got[r * cols..(r + 1) * cols];
                        let zeros = row.iter().filter(|&&v| v == 0.0).count();
                        assert_eq!(zeros, count, "{what}: row {r} has {zeros} zeros");
                        for (c, &v) in row.iter().enumerate() {
                            assert!(v == 0.0 || v == x[r * cols + c], "{what}: [{r},{c}] = {v}");
                        }
                    }
                    // Deterministic per seed.
                    let mut ar = Xoshiro256PlusPlus::seed_from_u64(seed);
                    let again = mask_fixed_of(k, &x, rows, cols, count, &mut ar, &mut scratch);
                    assert_eq!(bits(&again), bits(&got), "{what}: not deterministic");
                }
            }
        }
        // A different seed gives a different mask (1000 choose 250 patterns).
        let x = vec![1.0f32; 1000];
        let mut scratch = vec![0u32; 1000];
        let mut run = |seed| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            mask_fixed_of(k, &x, 1, 1000, 250, &mut rng, &mut scratch)
        };
        assert_ne!(run(1), run(2), "{}: mask ignores the seed", k.isa());
    });
}

#[test]
fn half_draws_pairs_equal_two_single_draws() {
    // below_pair(n0, n1) must be below(n0), below(n1) on the same stream: n near 2^32 makes
    // the replay (low word < n) and real rejections (low word < 2^32 mod n) frequent.
    let mut g = Gen::new(11);
    for &(n0, n1) in &[
        (1000u32, 999u32),
        (3_000_000_000, 2_999_999_999),
        (u32::MAX, u32::MAX - 1),
        (2_147_483_649, 7),
        (1, 1),
    ] {
        let seed = g.u64();
        let mut a = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut b = a.clone();
        let mut pairs = random::HalfDraws::new(&a);
        let mut singles = random::HalfDraws::new(&b);
        for k in 0..2000 {
            // An odd first draw now and then, so pairs also start on a pending half.
            if k % 7 == 3 {
                assert_eq!(pairs.below(n0), singles.below(n0), "n0 = {n0}, draw {k}");
            }
            let got = pairs.below_pair(n0, n1);
            let want = (singles.below(n0), singles.below(n1));
            assert_eq!(got, want, "n = ({n0}, {n1}), pair {k}");
            assert!(got.0 < n0 && got.1 < n1);
        }
        pairs.finish(&mut a);
        singles.finish(&mut b);
        assert_eq!(
            a.next_u64(),
            b.next_u64(),
            "n = ({n0}, {n1}): streams diverged"
        );
    }
}

#[test]
fn mask_fixed_wide_rows_take_the_rare_paths_bit_identically() {
    // cols = 2^20: the fast path of below_pair fails about once per 2000 pairs (low product
    // word below n), so the replay runs a few hundred times per call, on every ISA.
    let (rows, cols, count) = (2usize, 1usize << 20, (1usize << 18) + 1);
    let mut g = Gen::new(12);
    let x = nonzero(&mut g, rows * cols);
    let mut scratch = vec![0u32; cols];
    let mut wr = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut want = vec![f32::NAN; rows * cols];
    reference::mask_fixed(&x, &mut want, rows, cols, count, &mut wr, &mut scratch);
    let after = wr.next_u64();
    on_every_isa(|k| {
        let mut gr = Xoshiro256PlusPlus::seed_from_u64(5);
        let got = mask_fixed_of(k, &x, rows, cols, count, &mut gr, &mut scratch);
        let what = format!("{} wide mask_fixed", k.isa());
        assert_same_mask(&got, &want, &mut gr, after, &what);
        for r in 0..rows {
            let zeros = got[r * cols..(r + 1) * cols]
                .iter()
                .filter(|&&v| v == 0.0)
                .count();
            assert_eq!(zeros, count, "{}: row {r}", k.isa());
        }
    });
}

#[test]
fn mask_fixed_zeroes_every_position_equally_often() {
    // 200,000 rows of 20 with 5 zeros: each position is zeroed with probability 1/4, and so is
    // each position's partner one step later in the stream (low and high halves). Pearson's
    // chi-square over the 20 positions has 19 degrees of freedom: 45 is its 0.07% quantile.
    let (rows, cols, count) = (200_000usize, 20usize, 5usize);
    let x = vec![1.0f32; rows * cols];
    on_every_isa(|k| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
        let out = mask_fixed_of(k, &x, rows, cols, count, &mut rng, &mut [0u32; 20]);
        let mut hits = [0u64; 20];
        let mut first_two = [[0u64; 2]; 2];
        for row in out.chunks(cols) {
            for (c, &v) in row.iter().enumerate() {
                if v == 0.0 {
                    hits[c] += 1;
                }
            }
            first_two[(row[0] == 0.0) as usize][(row[1] == 0.0) as usize] += 1;
        }
        let expect = (rows * count) as f64 / cols as f64;
        let chi2: f64 = hits
            .iter()
            .map(|&h| (h as f64 - expect).powi(2) / expect)
            .sum();
        assert!(
            chi2 < 45.0,
            "{}: chi-square {chi2:.1}, hits {hits:?}",
            k.isa()
        );
        // Both of two given positions zeroed: (5/20)(4/19) of the rows.
        let both = first_two[1][1] as f64 / rows as f64;
        let want = 5.0 / 20.0 * 4.0 / 19.0;
        let sd = (want * (1.0 - want) / rows as f64).sqrt();
        assert!(
            (both - want).abs() < 5.0 * sd,
            "{}: both of the first two zeroed in {both}, want {want}",
            k.isa()
        );
    });
}

#[test]
fn mask_bernoulli_resolves_ties_with_full_resolution() {
    // p = 2^-18: t = 2^14, so t_hi = 0 and only the tie rule (h == 0, then l < 2^14) can drop
    // a component: 2^22 components drop 16 on average. Bit-identical to the reference on that
    // path, and the count is Poisson(16): outside [2, 40] with probability under 1e-7.
    let len = 1usize << 22;
    let p = 1.0f32 / 262_144.0;
    assert_eq!(random::bernoulli_threshold(p), 1 << 14);
    let x = vec![1.0f32; len];
    let mut wr = Xoshiro256PlusPlus::seed_from_u64(21);
    let mut want = vec![f32::NAN; len];
    reference::mask_bernoulli(&x, &mut want, p, &mut wr);
    let after = wr.next_u64();
    let dropped = want.iter().filter(|&&v| v == 0.0).count();
    assert!((2..=40).contains(&dropped), "dropped {dropped}");
    on_every_isa(|k| {
        let mut gr = Xoshiro256PlusPlus::seed_from_u64(21);
        let mut got = vec![f32::NAN; len];
        k.mask_bernoulli(&x, &mut got, p, &mut gr).unwrap();
        let what = format!("{} mask_bernoulli ties", k.isa());
        assert_same_mask(&got, &want, &mut gr, after, &what);
    });
}

#[test]
fn mask_bernoulli_is_bit_identical() {
    let mut g = Gen::new(7);
    let lens = [
        0usize, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 47, 69, 1000, 128_005,
    ];
    on_every_isa(|k| {
        for &len in &lens {
            for p in [0.0f32, 1e-9, 0.1, 0.25, 0.5, 0.75, 1.0] {
                let x = nonzero(&mut g, len);
                let seed = g.u64();
                let mut wr = Xoshiro256PlusPlus::seed_from_u64(seed);
                let mut want = vec![f32::NAN; len];
                reference::mask_bernoulli(&x, &mut want, p, &mut wr);
                let mut gr = Xoshiro256PlusPlus::seed_from_u64(seed);
                let mut got = vec![f32::NAN; len];
                k.mask_bernoulli(&x, &mut got, p, &mut gr).unwrap();
                let what = format!("{} mask_bernoulli len={len} p={p}", k.isa());
                assert_same_mask(&got, &want, &mut gr, wr.next_u64(), &what);
                if len >= 1000 {
                    let frac = got.iter().filter(|&&v| v == 0.0).count() as f64 / len as f64;
                    assert!((frac - p as f64).abs() < 0.05, "{what}: dropped {frac}");
                }
            }
        }
    });
}

#[test]
fn sgd_update_matches_reference() {
    let mut g = Gen::new(8);
    on_every_isa(|k| {
        for len in [0usize, 1, 3, 7, 15, 16, 17, 31, 33, 69, 1000, 784 * 3 + 1] {
            for (lr, wd) in [(0.1f32, 0.0f32), (0.01, 1e-4), (1.0, 0.5)] {
                let w0 = g.vec(len, -1.0, 1.0);
                let grad = g.vec(len, -5.0, 5.0);
                let mut want = w0.clone();
                reference::sgd_update(&mut want, &grad, lr, wd);
                let mut got = w0.clone();
                k.sgd_update(&mut got, &grad, lr, wd).unwrap();
                for i in 0..len {
                    let scale = w0[i].abs() as f64
                        + lr as f64 * (grad[i].abs() as f64 + wd as f64 * w0[i].abs() as f64);
                    let what = format!("{} sgd_update len={len} lr={lr} wd={wd} [{i}]", k.isa());
                    assert_close(&what, got[i] as f64, want[i] as f64, 4.0 * EPS * scale);
                }
            }
        }
    });
}

#[test]
fn dot_axpy_rows_matches_reference() {
    let mut g = Gen::new(9);
    on_every_isa(|k| {
        // Columns hitting the 4-vector body, the 1-vector remainder and the partial tail.
        for cols in [0usize, 1, 3, 15, 16, 17, 63, 64, 65, 100, 1000] {
            for rows in [0usize, 1, 2, 5] {
                let w0 = g.vec(rows * cols, -1.0, 1.0);
                let d = g.vec(cols, -2.0, 2.0);
                let coef = g.vec(rows, -0.1, 0.1);
                let (mut want, mut want_dot) = (w0.clone(), vec![0.0f32; rows]);
                reference::dot_axpy_rows(&mut want, rows, cols, &d, &coef, &mut want_dot);
                let (mut got, mut got_dot) = (w0.clone(), vec![f32::NAN; rows]);
                k.dot_axpy_rows(mm(&mut got, rows, cols), &d, &coef, &mut got_dot)
                    .unwrap();
                for r in 0..rows {
                    let row = r * cols..(r + 1) * cols;
                    let scale: f64 = w0[row.clone()]
                        .iter()
                        .zip(&d)
                        .map(|(&a, &b)| (a as f64 * b as f64).abs())
                        .sum();
                    let what = format!("{} dot_axpy_rows {rows}x{cols} dot[{r}]", k.isa());
                    let tol = (cols as f64 + 1.0) * EPS * scale;
                    assert_close(&what, got_dot[r] as f64, want_dot[r] as f64, tol);
                    for c in row {
                        let s = w0[c].abs() as f64 + (coef[r] * d[c % cols.max(1)]).abs() as f64;
                        let what = format!("{} dot_axpy_rows {rows}x{cols} w[{c}]", k.isa());
                        assert_close(&what, got[c] as f64, want[c] as f64, 2.0 * EPS * s);
                    }
                }
            }
        }
    });
}

#[test]
fn bad_shapes_are_errors_naming_the_argument() {
    on_every_isa(|k| {
        let msg = |r: Result<(), sdae_kernels::KernelError>| r.unwrap_err().to_string();
        let mut y = vec![0.0f32; 6];
        // A batch's own shape is the view's to check.
        let e = MatMut::new(&mut y, 2, 4).unwrap_err().to_string();
        assert!(e.contains("data holds 6") && e.contains("8"), "{e}");
        let e = msg(k.sigmoid_bias_inplace(mm(&mut y, 2, 3), &[0.0; 2]));
        assert!(e.contains("sigmoid_bias_inplace: bias has 2"), "{e}");
        // The fused kernels walk contiguous batches as stored.
        let strided = MatMut::strided(&mut y, 2, 2, 3).unwrap();
        let e = msg(k.sigmoid_bias_inplace(strided, &[0.0; 2]));
        assert!(e.contains("y has leading dimension 3"), "{e}");
        let e = msg(k.sigmoid_bias_inplace(mm(&mut y, 2, 3).t(), &[0.0; 2]));
        assert!(e.contains("y is a transposed view"), "{e}");
        // sigmoid_loss of a 2 x 3 batch: (loss, x's shape, z_out's shape, bias_grad's length,
        // what the error says).
        let cases = [
            (
                Loss::CrossEntropy,
                (2, 3),
                Some((3, 2)),
                None,
                "z_out is 3 x 2, expected 2 x 3",
            ),
            (
                Loss::SquaredError,
                (3, 2),
                None,
                None,
                "sigmoid_sqerr: x is 3 x 2, expected 2 x 3",
            ),
            (Loss::SquaredError, (2, 3), None, Some(2), "bias_grad has 2"),
        ];
        for (loss, (xr, xc), z_shape, grad_len, want) in cases {
            let (mut z, mut grad) = ([0.0; 6], vec![0.0; grad_len.unwrap_or(0)]);
            let z_out = z_shape.map(|(r, c)| mm(&mut z, r, c));
            let bias_grad = grad_len.map(|_| &mut grad[..]);
            let x = mr(&[0.0; 6], xr, xc);
            let got = k.sigmoid_loss(loss, mm(&mut y, 2, 3), x, None, z_out, bias_grad);
            let e = got.unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let e = msg(k.sigmoid_backward(mm(&mut y, 2, 3), mr(&[0.0; 6], 1, 6), &mut [0.0; 3]));
        assert!(e.contains("h is 1 x 6"), "{e}");
        let e = k
            .softmax_nll(mm(&mut y, 2, 3), &[0, 3], None, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("labels[1] = 3") && e.contains("below 3"), "{e}");
        let e = k
            .softmax_nll(mm(&mut y, 2, 3), &[0], None, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("labels has 1 elements, expected 2"), "{e}");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
        let mut out = vec![0.0f32; 6];
        let x = [1.0; 6];
        let e = msg(k.mask_fixed(mr(&x, 2, 3), mm(&mut out, 2, 3), 4, &mut rng, &mut [0; 3]));
        assert!(e.contains("count = 4"), "{e}");
        let e = msg(k.mask_fixed(mr(&x, 2, 3), mm(&mut out, 2, 3), 1, &mut rng, &mut [0; 2]));
        assert!(e.contains("scratch has 2"), "{e}");
        let e = msg(k.mask_fixed(mr(&x, 3, 2), mm(&mut out, 2, 3), 1, &mut rng, &mut [0; 3]));
        assert!(e.contains("mask_fixed: x is 3 x 2, expected 2 x 3"), "{e}");
        let e = msg(k.mask_bernoulli(&x, &mut out, 1.5, &mut rng));
        assert!(e.contains("p = 1.5"), "{e}");
        let e = msg(k.mask_bernoulli(&x, &mut out, f32::NAN, &mut rng));
        assert!(e.contains("p = NaN"), "{e}");
        let e = msg(k.sgd_update(&mut y, &[0.0; 7], 0.1, 0.0));
        assert!(e.contains("g has 7"), "{e}");
        let e = msg(k.dot_axpy_rows(mm(&mut y, 2, 3), &[0.0; 3], &[0.0; 2], &mut [0.0; 1]));
        assert!(
            e.contains("dot_axpy_rows") && e.contains("dot has 1"),
            "{e}"
        );
        let e = msg(k.dot_axpy_rows(mm(&mut y, 2, 3), &[0.0; 4], &[0.0; 2], &mut [0.0; 2]));
        assert!(e.contains("d has 4"), "{e}");
    });
}

/// A one-row view with any leading dimension is contiguous: the kernels take it.
#[test]
fn one_row_views_with_padding_are_batches() {
    on_every_isa(|k| {
        let mut y = vec![0.0f32, 1.0, -1.0, 7.0];
        let mut want = y.clone();
        reference::sigmoid_bias_inplace(&mut want[..3], 1, 3, &[0.5; 3]);
        k.sigmoid_bias_inplace(MatMut::strided(&mut y, 1, 3, 16).unwrap(), &[0.5; 3])
            .unwrap();
        for i in 0..3 {
            assert_close(
                &format!("{} [{i}]", k.isa()),
                y[i] as f64,
                want[i] as f64,
                1e-6,
            );
        }
        assert_eq!(y[3], 7.0, "{}: past the row", k.isa());
        let _ = MatRef::strided(&y, 1, 3, 16)
            .unwrap()
            .contiguous("t", "y")
            .unwrap();
    });
}

#[test]
fn every_expected_isa_is_exercised() {
    let want = fused_util::expected_isas();
    let mut seen = Vec::new();
    on_every_isa(|k| {
        seen.push(k.isa());
        // Each table runs its own ISA's vector code, not a silent scalar fallback.
        let lanes = match k.isa() {
            Isa::Scalar => 1,
            Isa::Avx2 => 8,
            Isa::Avx512 => 16,
            Isa::Neon => 4,
        };
        assert_eq!(k.fused_lanes(), lanes, "{}: wrong vector width", k.isa());
    });
    assert_eq!(seen, want);
}

#[test]
fn loss_relative_error_on_a_training_batch_is_small() {
    // A realistic 128 x 1000 reconstruction batch and a 128 x 10 classifier batch.
    let mut g = Gen::new(9);
    let (rows, cols) = (128, 1000);
    let a0 = g.vec(rows * cols, -6.0, 6.0);
    let x = g.vec(rows * cols, 0.0, 1.0);
    let bias = g.vec(cols, -0.5, 0.5);
    let want = |loss| {
        let shape = (rows, cols);
        reference::sigmoid_loss(loss, &mut a0.clone(), &x, shape, Some(&bias), (None, None))
    };
    let (want_x, want_s) = (want(Loss::CrossEntropy), want(Loss::SquaredError));
    let l0 = g.vec(rows * 10, -5.0, 5.0);
    let labels: Vec<u32> = (0..rows).map(|_| g.below(10) as u32).collect();
    let want_m = reference::softmax_nll(&mut l0.clone(), rows, 10, None, &labels, None, None);
    on_every_isa(|k| {
        let rel = |got: f64, want: f64| ((got - want) / want).abs();
        let sigmoid_rel = |loss, want| {
            let mut a = a0.clone();
            let (av, xv) = (mm(&mut a, rows, cols), mr(&x, rows, cols));
            let got = k.sigmoid_loss(loss, av, xv, Some(&bias), None, None);
            rel(got.unwrap(), want)
        };
        let ex = sigmoid_rel(Loss::CrossEntropy, want_x);
        let es = sigmoid_rel(Loss::SquaredError, want_s);
        let lm = k
            .softmax_nll(mm(&mut l0.clone(), rows, 10), &labels, None, None, None)
            .unwrap();
        let em = rel(lm.loss, want_m.loss);
        println!(
            "{}: loss rel error xent {ex:.2e} sqerr {es:.2e} softmax {em:.2e}",
            k.isa()
        );
        assert!(
            ex < 2e-7 && es < 2e-7 && em < 2e-7,
            "{}: {ex:e} {es:e} {em:e}",
            k.isa()
        );
    });
}

#[test]
fn empty_batches_are_accepted() {
    on_every_isa(|k| {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let before = rng.clone().next_u64();
        for (rows, cols) in [(0usize, 0usize), (0, 5), (3, 0)] {
            let n = rows * cols;
            let mut y = vec![0.5f32; n];
            let bias = vec![0.0f32; cols];
            let mut bg = vec![f32::NAN; cols];
            k.sigmoid_bias_inplace(mm(&mut y, rows, cols), &bias)
                .unwrap();
            let zeros = vec![0.0; n];
            let l = k.sigmoid_loss(
                Loss::CrossEntropy,
                mm(&mut y, rows, cols),
                mr(&zeros, rows, cols),
                None,
                None,
                Some(&mut bg),
            );
            assert_eq!(l.unwrap(), 0.0);
            assert!(
                bg.iter().all(|&v| v == 0.0),
                "{}: bias_grad not zeroed",
                k.isa()
            );
            k.sigmoid_backward(mm(&mut y, rows, cols), mr(&zeros, rows, cols), &mut bg)
                .unwrap();
            let mut out = vec![0.0f32; n];
            k.mask_fixed(
                mr(&y, rows, cols),
                mm(&mut out, rows, cols),
                0,
                &mut rng,
                &mut vec![0; cols],
            )
            .unwrap();
            k.mask_bernoulli(&y, &mut out, 0.5, &mut rng).unwrap();
            k.sgd_update(&mut y, &out, 0.1, 0.0).unwrap();
        }
        let mut logits: Vec<f32> = vec![];
        let s = k
            .softmax_nll(mm(&mut logits, 0, 4), &[], None, None, None)
            .unwrap();
        assert_eq!((s.loss, s.correct), (0.0, 0));
        // Rows of width 0 have no class: every label is out of range.
        assert!(k
            .softmax_nll(mm(&mut logits, 1, 0), &[0], None, None, None)
            .is_err());
        assert_eq!(
            rng.next_u64(),
            before,
            "{}: empty masks drew numbers",
            k.isa()
        );
    });
}
