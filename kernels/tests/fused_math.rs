//! The vector math under the fused kernels (exp, sigmoid, softplus), on every ISA, against
//! `f64` over the whole useful range. The bounds asserted here are the ones documented on
//! `sdae_kernels::simd::exp` and `sdae_kernels::simd::sigmoid_parts`.

mod fused_util;

use fused_util::on_every_isa;
use sdae_kernels::{reference, Isa};

/// Every `f32` on `[lo, hi]` at a step of `step` (a dense grid), plus the end points.
fn grid(lo: f32, hi: f32, step: f64) -> Vec<f32> {
    let n = ((hi as f64 - lo as f64) / step) as usize;
    let mut v: Vec<f32> = (0..=n)
        .map(|i| (lo as f64 + i as f64 * step) as f32)
        .collect();
    v.push(hi);
    v
}

/// Log-spaced magnitudes from 1e-6 to `hi`, both signs, 0.
fn log_grid(hi: f64, n: usize) -> Vec<f32> {
    let mut v = vec![0.0f32];
    for i in 0..=n {
        let m = (1e-6f64.ln() + (hi.ln() - 1e-6f64.ln()) * i as f64 / n as f64).exp() as f32;
        v.push(m);
        v.push(-m);
    }
    v
}

/// The points `(x, got, want(x))` of inputs `xs` and the kernel's outputs `got`.
fn against<'a>(
    xs: &'a [f32],
    got: &'a [f32],
    want: fn(f64) -> f64,
) -> impl Iterator<Item = (f32, f32, f64)> + Clone + 'a {
    xs.iter()
        .zip(got)
        .map(move |(&x, &g)| (x, g, want(x as f64)))
}

/// The largest relative error of `got` against `want` over the points `(x, got, want)`:
/// printed, and asserted below `bound`.
fn check_rel_error(
    isa: Isa,
    what: &str,
    points: impl IntoIterator<Item = (f32, f32, f64)>,
    bound: f64,
) {
    let mut worst = (0.0f64, 0.0f32);
    for (x, got, want) in points {
        let rel = ((got as f64 - want) / want).abs();
        if rel > worst.0 {
            worst = (rel, x);
        }
    }
    let (rel, x) = worst;
    println!("{isa}: {what} max rel error {rel:.3e} at {x}");
    assert!(rel < bound, "{isa}: {what} rel error {rel:e} at {x}");
}

#[test]
fn exp_relative_error_on_the_whole_range() {
    // ~1.75M points on [-87, 88]: every ISA's vector body and its remainder.
    let xs = grid(-87.0, 88.0, 1e-4);
    on_every_isa(|k| {
        let mut y = xs.clone();
        k.exp_inplace(&mut y);
        let points = against(&xs, &y, f64::exp);
        check_rel_error(k.isa(), "exp", points, 1.5e-7);
    });
}

#[test]
fn exp_clamps_outside_the_range() {
    on_every_isa(|k| {
        let mut y = vec![-1e4f32, -100.0, -87.5, 88.5, 100.0, 1e4, 0.0];
        k.exp_inplace(&mut y);
        for v in &y[..3] {
            assert!(*v >= 0.0 && *v <= 1.2e-38, "{}: tiny exp {v}", k.isa());
        }
        for v in &y[3..6] {
            assert!(v.is_finite() && *v >= 1.6e38, "{}: huge exp {v}", k.isa());
        }
        assert_eq!(y[6], 1.0);
    });
}

#[test]
fn sigmoid_relative_error_on_the_whole_range() {
    let mut xs = grid(-100.0, 100.0, 2e-4);
    xs.extend(log_grid(1e4, 200_000));
    xs.extend([-1e4f32, 1e4, -87.0, -87.5, -88.0, 87.0, 88.0, 17.0, 16.0]);
    on_every_isa(|k| {
        let mut y = xs.clone();
        k.sigmoid_inplace(&mut y);
        let points = against(&xs, &y, reference::sigmoid);
        for (t, got, want) in points.clone() {
            assert!(
                got.is_finite() && (0.0..=1.0).contains(&got),
                "{}: s({t}) = {got}",
                k.isa()
            );
            // Exact value below FLT_MIN: only an absolute bound.
            assert!(
                t >= -87.0 || (got as f64 - want).abs() < 1.2e-38,
                "{}: s({t}) = {got:e}",
                k.isa()
            );
        }
        check_rel_error(k.isa(), "sigmoid", points.filter(|p| p.0 >= -87.0), 3e-7);
    });
}

#[test]
fn softplus_relative_error_on_the_whole_range() {
    let mut xs = grid(-87.0, 100.0, 2e-4);
    xs.extend(log_grid(1e4, 100_000).into_iter().filter(|&t| t >= -87.0));
    on_every_isa(|k| {
        let mut y = xs.clone();
        k.softplus_inplace(&mut y);
        let points = against(&xs, &y, reference::softplus);
        check_rel_error(k.isa(), "softplus", points, 3e-7);
        // Extreme logits: finite, never NaN.
        let mut e = vec![-1e4f32, -1e3, -200.0, 200.0, 1e3, 1e4];
        k.softplus_inplace(&mut e);
        assert!(
            e.iter().all(|v| v.is_finite() && *v >= 0.0),
            "{}: {e:?}",
            k.isa()
        );
        assert_eq!(e[5], 1e4);
    });
}
