//! The row-pass kernels (`tied_sigmoid_rows`, `sparse_row_combine`) on every ISA the machine
//! has (NEON under qemu) against `sdae_kernels::reference`, over row lengths that hit the
//! vector body, the remainder and the tail, row counts that hit full groups of rows and the
//! leftover rows, and strides with and without padding.
//!
//! Tolerances scale with the length of each sum times `f32::EPSILON` times the size of its
//! terms (the reference sums in `f64`; the kernels in `f32` lanes, with fused multiply-adds).

mod fused_util;

use fused_util::{assert_close, on_every_isa_and_shape, Gen, COLS, EPS};
use sdae_kernels::{reference, Loss, MatMut, Pending, TiedRows};

/// Row counts: below, at and above the kernels' group of rows (8), and several groups.
const ROWS: [usize; 8] = [1, 2, 7, 8, 9, 16, 17, 25];

/// `n` values, about a third exactly zero (pending coefficients, sparse inputs).
fn sparse(g: &mut Gen, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n)
        .map(|_| if g.below(3) == 0 { 0.0 } else { g.f32(lo, hi) })
        .collect()
}

#[test]
fn tied_sigmoid_rows_matches_reference() {
    let mut gen = Gen::new(7);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, n| {
        for pad in [0, 5] {
            for sq in [false, true] {
                let ld = n + pad;
                let g = &mut gen;
                let w0 = g.vec(rows * ld, -0.3, 0.3);
                let y = g.vec(n, 0.0, 1.0);
                let c = g.vec(rows, -1.0, 1.0);
                let x: Vec<f32> = (0..rows)
                    .map(|i| {
                        if i % 3 == 0 {
                            (i % 2) as f32
                        } else {
                            g.f32(0.0, 1.0)
                        }
                    })
                    .collect();
                let pend0 = sparse(g, rows, -0.05, 0.05);
                let u = g.vec(n, -1.0, 1.0);
                let acc0 = g.vec(n, -0.5, 0.5);
                let lr = 0.1;
                let run = |w: &mut Vec<f32>,
                           pend: &mut Vec<f32>,
                           acc: &mut Vec<f32>,
                           gr: &mut Vec<f32>,
                           refr: bool| {
                    let loss = if sq {
                        Loss::SquaredError
                    } else {
                        Loss::CrossEntropy
                    };
                    let w = MatMut::strided(w, rows, n, ld).unwrap();
                    let pending = Pending { pend, u: &u };
                    let pass = TiedRows {
                        loss,
                        y: &y,
                        c: &c,
                        x: &x,
                        lr,
                        g: gr,
                        acc,
                    };
                    if refr {
                        reference::tied_sigmoid_rows(w, pending, pass)
                    } else {
                        k.tied_sigmoid_rows(w, pending, pass).unwrap()
                    }
                };
                let (mut wr, mut pr, mut ar, mut gr) =
                    (w0.clone(), pend0.clone(), acc0.clone(), vec![0.0; rows]);
                let lr_ = run(&mut wr, &mut pr, &mut ar, &mut gr, true);
                let (mut wk, mut pk, mut ak, mut gk) = (
                    w0.clone(),
                    pend0.clone(),
                    acc0.clone(),
                    vec![f32::NAN; rows],
                );
                let lk = run(&mut wk, &mut pk, &mut ak, &mut gk, false);
                let what = format!(
                    "{} tied_sigmoid_rows n={n} rows={rows} ld={ld} sq={sq}",
                    k.isa()
                );
                assert!(pk.iter().all(|&p| p == 0.0), "{what}: pending not cleared");
                // Per row: the size of the dot's terms bounds the error of t, hence of g.
                let mut dt = vec![0.0f64; rows];
                let mut loss_tol = 0.0;
                for i in 0..rows {
                    let row = &w0[i * ld..i * ld + n];
                    let mag: f64 = (0..n)
                        .map(|j| (row[j].abs() + (pend0[i] * u[j]).abs()) as f64 * y[j] as f64)
                        .sum();
                    dt[i] = 4.0 * (n as f64 + 4.0) * EPS * (mag + c[i].abs() as f64);
                    let tol_g = dt[i] + 16.0 * EPS;
                    assert_close(&format!("{what} g[{i}]"), gk[i] as f64, gr[i] as f64, tol_g);
                    loss_tol += dt[i] + 16.0 * EPS * (1.0 + mag);
                }
                assert_close(&format!("{what} loss"), lk, lr_, loss_tol);
                for j in 0..n {
                    let mut tol_acc = 4.0 * EPS * (acc0[j].abs() as f64);
                    for i in 0..rows {
                        let wij = (w0[i * ld + j].abs() + (pend0[i] * u[j]).abs()) as f64;
                        tol_acc += (dt[i]
                            + 16.0 * EPS
                            + 4.0 * (rows as f64 + 2.0) * EPS * gr[i].abs() as f64)
                            * wij;
                        let tol_w = 4.0 * EPS * wij
                            + lr as f64 * y[j] as f64 * (dt[i] + 16.0 * EPS + 2.0 * EPS);
                        let at = i * ld + j;
                        assert_close(
                            &format!("{what} w[{i},{j}]"),
                            wk[at] as f64,
                            wr[at] as f64,
                            tol_w,
                        );
                    }
                    assert_close(
                        &format!("{what} acc[{j}]"),
                        ak[j] as f64,
                        ar[j] as f64,
                        tol_acc,
                    );
                }
                // Padding between rows is never touched.
                for i in 0..rows {
                    for j in n..ld.min(w0.len() - i * ld) {
                        assert_eq!(
                            wk[i * ld + j].to_bits(),
                            w0[i * ld + j].to_bits(),
                            "{what}: pad [{i},{j}] written"
                        );
                    }
                }
            }
        }
    });
}

#[test]
fn sparse_row_combine_matches_reference() {
    let mut gen = Gen::new(8);
    on_every_isa_and_shape(&ROWS, &COLS, |k, rows, n| {
        for pad in [0, 3] {
            let ld = n + pad;
            let g = &mut gen;
            let w0 = g.vec(rows * ld, -0.3, 0.3);
            let coef = sparse(g, rows, 0.0, 1.0);
            let pend0 = sparse(g, rows, -0.05, 0.05);
            let u = g.vec(n, -1.0, 1.0);
            let acc0 = g.vec(n, -0.5, 0.5);
            let (mut wr, mut pr, mut ar) = (w0.clone(), pend0.clone(), acc0.clone());
            let pending = Pending {
                pend: &mut pr,
                u: &u,
            };
            let wv = MatMut::strided(&mut wr, rows, n, ld).unwrap();
            reference::sparse_row_combine(wv, &coef, pending, &mut ar);
            let (mut wk, mut pk, mut ak) = (w0.clone(), pend0.clone(), acc0.clone());
            let pending = Pending {
                pend: &mut pk,
                u: &u,
            };
            let wv = MatMut::strided(&mut wk, rows, n, ld).unwrap();
            k.sparse_row_combine(wv, &coef, pending, &mut ak).unwrap();
            let what = format!("{} sparse_row_combine n={n} rows={rows} ld={ld}", k.isa());
            assert_eq!(pk, pr, "{what}: pending");
            for i in 0..rows {
                if coef[i] == 0.0 {
                    // Untouched: bit for bit the input, pending update included.
                    for j in 0..ld.min(w0.len() - i * ld) {
                        assert_eq!(
                            wk[i * ld + j].to_bits(),
                            w0[i * ld + j].to_bits(),
                            "{what}: row {i} touched"
                        );
                    }
                }
            }
            for j in 0..n {
                let mut tol = 4.0 * EPS * acc0[j].abs() as f64;
                for i in 0..rows {
                    let wij = (w0[i * ld + j].abs() + (pend0[i] * u[j]).abs()) as f64;
                    let at = i * ld + j;
                    assert_close(
                        &format!("{what} w[{i},{j}]"),
                        wk[at] as f64,
                        wr[at] as f64,
                        4.0 * EPS * wij,
                    );
                    tol += 4.0 * (rows as f64 + 2.0) * EPS * coef[i] as f64 * wij;
                }
                assert_close(&format!("{what} acc[{j}]"), ak[j] as f64, ar[j] as f64, tol);
            }
        }
    });
}

#[test]
fn bad_shapes_are_errors_naming_the_argument() {
    let k = sdae_kernels::kernels();
    let (mut w, y, mut acc) = (vec![0.0f32; 20], vec![0.0f32; 5], vec![0.0f32; 5]);
    let (c, x, mut p, mut g) = (
        vec![0.0f32; 4],
        vec![0.0f32; 4],
        vec![0.0f32; 4],
        vec![0.0f32; 4],
    );
    // The matrix's own shape is the view's to check.
    let e = MatMut::strided(&mut w, 4, 5, 4).unwrap_err();
    assert!(e.message().contains("ld = 4"), "{e}");
    let e = MatMut::strided(&mut w, 4, 5, 6).unwrap_err();
    assert!(e.message().contains("data holds 20 elements"), "{e}");
    // The vectors are the kernel's: (W as stored, transposed, loss, x's length, the error).
    let cases = [
        (
            4,
            5,
            false,
            Loss::CrossEntropy,
            3,
            "tied_sigmoid_rows: x has 3",
        ),
        (
            5,
            4,
            false,
            Loss::SquaredError,
            4,
            "tied_sigmoid_rows: pend has 4 elements, expected 5",
        ),
        (4, 5, true, Loss::CrossEntropy, 4, "transposed"),
    ];
    for (rows, cols, transposed, loss, xn, want) in cases {
        let wv = MatMut::new(&mut w, rows, cols).unwrap();
        let e = k
            .tied_sigmoid_rows(
                if transposed { wv.t() } else { wv },
                Pending {
                    pend: &mut p,
                    u: &y,
                },
                TiedRows {
                    loss,
                    y: &y,
                    c: &c,
                    x: &x[..xn],
                    lr: 0.1,
                    g: &mut g,
                    acc: &mut acc,
                },
            )
            .unwrap_err();
        assert!(e.message().contains(want), "{e}");
    }
    let e = k
        .sparse_row_combine(
            MatMut::new(&mut w, 4, 5).unwrap(),
            &c,
            Pending {
                pend: &mut p,
                u: &y[..4],
            },
            &mut acc,
        )
        .unwrap_err();
    assert!(e.message().contains("u has 4"), "{e}");
}
