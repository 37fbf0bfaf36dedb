//! SGEMM on every supported ISA against `reference::sgemm`.
//!
//! Tolerance per element: `(k + 2) * f32::EPSILON * (|alpha| * sum_p |a_ip||b_pj| + |beta c_ij|)`.
//! C is pre-filled with NaN when beta = 0 (proof it is never read) and NaN canaries surround the
//! output view (columns beyond n inside ldc, rows before and after) and must survive bit-exact.

use sdae_kernels::{reference, GemmBlocking, Isa, Kernels, MatMut, MatRef, Trans};

/// The ISAs this run must exercise: `SDAE_EXPECT_ISAS` (comma list) if set, else all the CPU has.
fn expected_isas() -> Vec<Isa> {
    match std::env::var("SDAE_EXPECT_ISAS") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|s| {
                s.parse::<Isa>()
                    .expect("SDAE_EXPECT_ISAS names an unknown ISA")
            })
            .collect(),
        _ => Isa::supported(),
    }
}

/// The ISAs the tests below run on.
fn isas() -> Vec<Isa> {
    Isa::supported()
}

/// Every supported ISA with its kernel table and GEMM blocking.
fn isa_tables() -> Vec<(Isa, &'static Kernels, GemmBlocking)> {
    isas()
        .into_iter()
        .map(|isa| {
            let kern = Kernels::for_isa(isa).unwrap();
            (isa, kern, kern.gemm_blocking())
        })
        .collect()
}

const CANARY: u32 = 0x7fc0_dead;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// One case: shapes, transposes, leading-dimension padding, alpha, beta.
#[derive(Clone, Copy, Debug)]
struct Case {
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    pad: usize,
    alpha: f32,
    beta: f32,
}

impl Case {
    /// `op(A)`, `op(B)` as `(ta, tb)`, the product `(m, n, k)`, the padding of every leading
    /// dimension, `(alpha, beta)`.
    fn new(
        (ta, tb): (Trans, Trans),
        (m, n, k): (usize, usize, usize),
        pad: usize,
        (alpha, beta): (f32, f32),
    ) -> Case {
        Case {
            ta,
            tb,
            m,
            n,
            k,
            pad,
            alpha,
            beta,
        }
    }
}

/// Run `case` on `kern` with `parts` pieces and check it against the reference. Returns C's view.
fn check(kern: &Kernels, case: Case, parts: usize, seed: u64) -> Vec<f32> {
    let Case {
        ta,
        tb,
        m,
        n,
        k,
        pad,
        alpha,
        beta,
    } = case;
    let mut rng = Rng(seed);
    let (ar, ac) = if ta == Trans::N { (m, k) } else { (k, m) };
    let (br, bc) = if tb == Trans::N { (k, n) } else { (n, k) };
    let (lda, ldb, ldc) = (ac.max(1) + pad, bc.max(1) + pad, n.max(1) + pad + 1);
    let a = rng.vec(ar * lda);
    let b = rng.vec(br * ldb);
    // Two canary rows before and after the view, canary columns after n.
    let before = 2 * ldc;
    let len = before + m * ldc + 2 * ldc;
    let mut c = vec![f32::from_bits(CANARY); len];
    let init = rng.vec(m * n);
    if beta != 0.0 {
        for i in 0..m {
            c[before + i * ldc..before + i * ldc + n].copy_from_slice(&init[i * n..(i + 1) * n]);
        }
    }
    let mut want = vec![0.0f32; m * n.max(1)];
    let mut mag = vec![0.0f32; m * n.max(1)];
    for i in 0..m {
        want[i * n..(i + 1) * n].copy_from_slice(&init[i * n..(i + 1) * n]);
        for j in 0..n {
            mag[i * n + j] = init[i * n + j].abs();
        }
    }
    let av = MatRef::cblas(ta, m, k, &a, lda).unwrap();
    let bv = MatRef::cblas(tb, k, n, &b, ldb).unwrap();
    let ldw = n.max(1);
    reference::sgemm(
        alpha,
        av,
        bv,
        beta,
        MatMut::strided(&mut want, m, n, ldw).unwrap(),
    );
    let aa: Vec<f32> = a.iter().map(|v| v.abs()).collect();
    let ba: Vec<f32> = b.iter().map(|v| v.abs()).collect();
    let (aav, bav) = (
        MatRef::cblas(ta, m, k, &aa, lda).unwrap(),
        MatRef::cblas(tb, k, n, &ba, ldb).unwrap(),
    );
    let magv = MatMut::strided(&mut mag, m, n, ldw).unwrap();
    reference::sgemm(alpha.abs(), aav, bav, beta.abs(), magv);
    let cv = MatMut::strided(&mut c[before..], m, n, ldc).unwrap();
    kern.sgemm_split(parts, alpha, av, bv, beta, cv).unwrap();
    let mut view = Vec::with_capacity(m * n);
    for (idx, &v) in c.iter().enumerate() {
        let inside = idx >= before && idx < before + m * ldc && (idx - before) % ldc < n;
        if inside {
            let (i, j) = ((idx - before) / ldc, (idx - before) % ldc);
            let tol = (k as f32 + 2.0) * f32::EPSILON * mag[i * n + j] + f32::MIN_POSITIVE;
            let w = want[i * n + j];
            assert!(
                (v - w).abs() <= tol,
                "{} {case:?} parts {parts}: C[{i},{j}] = {v}, reference {w}, tolerance {tol}",
                kern.isa()
            );
            view.push(v);
        } else {
            assert_eq!(
                v.to_bits(),
                CANARY,
                "{} {case:?} parts {parts}: canary at offset {idx} overwritten with {v}",
                kern.isa()
            );
        }
    }
    view
}

const TRANS: [(Trans, Trans); 4] = [
    (Trans::N, Trans::N),
    (Trans::N, Trans::T),
    (Trans::T, Trans::N),
    (Trans::T, Trans::T),
];
const ALPHA_BETA: [(f32, f32); 7] = [
    (1.0, 0.0),
    (1.0, 1.0),
    (-0.75, 0.0),
    (1.5, -0.5),
    (0.0, 0.0),
    (0.0, 2.0),
    (0.5, 1.0),
];

#[test]
fn every_expected_isa_is_exercised() {
    let ran = isas();
    for isa in expected_isas() {
        assert!(
            ran.contains(&isa),
            "ISA {isa} is expected (SDAE_EXPECT_ISAS or detected) but the GEMM tests did not run it (ran {ran:?})"
        );
        let kern = Kernels::for_isa(isa).unwrap();
        assert_eq!(kern.isa(), isa);
        // The table really holds this ISA's kernel, not a silent fallback.
        assert!(
            kern.gemm_kernel_name().starts_with(isa.name()),
            "{isa}: GEMM kernel is {}",
            kern.gemm_kernel_name()
        );
        let bl = kern.gemm_blocking();
        check(
            kern,
            Case::new(
                (Trans::N, Trans::N),
                (2 * bl.mr + 1, 2 * bl.nr + 1, 33),
                1,
                (1.0, 0.0),
            ),
            1,
            1,
        );
    }
}

/// m in 0..=2MR, n in 0..=2NR, k in a small set, every transpose pair; alpha/beta cycled.
#[test]
fn exhaustive_small_sizes() {
    for (_, kern, bl) in isa_tables() {
        let mut idx = 0usize;
        for m in 0..=2 * bl.mr {
            for n in 0..=2 * bl.nr {
                for k in [0usize, 1, 2, 3, 5, 8, 16, 17, 33] {
                    for (ta, tb) in TRANS {
                        let (alpha, beta) = ALPHA_BETA[idx % ALPHA_BETA.len()];
                        let case = Case::new((ta, tb), (m, n, k), idx % 3, (alpha, beta));
                        check(kern, case, 1, idx as u64);
                        idx += 1;
                    }
                }
            }
        }
    }
}

/// k swept 0..=40 (and around the unroll) on a tile with edges in both m and n.
#[test]
fn k_sweep() {
    for (_, kern, bl) in isa_tables() {
        for k in 0..=40 {
            for (t, &(ta, tb)) in TRANS.iter().enumerate() {
                let case = Case::new(
                    (ta, tb),
                    (bl.mr + 3, bl.nr + 5, k),
                    2,
                    (1.0, if t % 2 == 0 { 0.0 } else { 0.5 }),
                );
                check(kern, case, 1, k as u64);
            }
        }
    }
}

/// Sizes around the KC / MC / NC block boundaries, and odd large sizes.
#[test]
fn block_boundaries_and_odd_large() {
    for (isa, kern, bl) in isa_tables() {
        let mut cases = Vec::new();
        for &(ta, tb) in &TRANS {
            for k in [bl.kc - 1, bl.kc, bl.kc + 1, 2 * bl.kc + 3] {
                cases.push((ta, tb, 2 * bl.mr + 1, bl.nr + 3, k, 1.0, 0.0));
            }
            for m in [bl.mc - 1, bl.mc + 1] {
                cases.push((ta, tb, m, bl.nr + 1, 9, 1.0, 1.0));
            }
            for n in [bl.nc - 1, bl.nc + 1] {
                cases.push((ta, tb, 3, n, 5, 0.5, 0.0));
            }
            // Small m with large k and ragged n: the unpacked-B path across k blocks.
            cases.push((ta, tb, 20, 3 * bl.nr + 7, bl.kc + 17, 1.0, 0.25));
            cases.push((ta, tb, 67, 131, 2 * bl.kc + 1, -1.0, 1.0));
        }
        if isa != Isa::Scalar {
            cases.push((Trans::N, Trans::N, 157, 211, 389, 1.0, 0.0));
            cases.push((Trans::T, Trans::N, 211, 157, 1001, 1.0, 0.5));
        }
        for (i, &(ta, tb, m, n, k, alpha, beta)) in cases.iter().enumerate() {
            let case = Case::new((ta, tb), (m, n, k), i % 2 * 3, (alpha, beta));
            check(kern, case, 1, i as u64);
        }
    }
}

/// Splitting the product across threads (1, 2 or 3 pieces, m or n) gives bit-identical C.
#[test]
fn thread_split_is_bit_identical() {
    for (isa, kern, bl) in isa_tables() {
        let shapes = [
            (bl.mr * 3 + 1, bl.nr * 5 + 3, 37),    // n split
            (bl.mr * 9 + 5, bl.nr + 1, bl.kc + 9), // m split
            (20, bl.nr * 4 + 1, 50),               // small m, n split, unpacked B
        ];
        for (s, &(m, n, k)) in shapes.iter().enumerate() {
            for &(ta, tb) in &TRANS {
                let case = Case::new(
                    (ta, tb),
                    (m, n, k),
                    1,
                    (0.75, if s == 1 { 0.5 } else { 0.0 }),
                );
                let one = check(kern, case, 1, 7);
                for parts in [2, 3] {
                    let more = check(kern, case, parts, 7);
                    assert!(
                        one.iter()
                            .zip(&more)
                            .all(|(x, y)| x.to_bits() == y.to_bits()),
                        "{isa} {case:?}: {parts} pieces differ from 1"
                    );
                }
            }
        }
    }
}

/// The public thread knob: a product big enough to use 2 threads equals the 1-thread result.
#[test]
fn two_threads_equal_one() {
    for isa in isas() {
        if isa == Isa::Scalar {
            continue; // same code path, and slow at this size
        }
        let kern = Kernels::for_isa(isa).unwrap();
        // Enough work that sgemm_threads(2, ..) really uses 2 threads, with ragged edges.
        let (m, k) = (150, 700);
        let n = 2 * sdae_kernels::gemm::MIN_FLOPS_PER_THREAD / (2 * m * k) + 13;
        assert!(2 * m * n * k >= 2 * sdae_kernels::gemm::MIN_FLOPS_PER_THREAD);
        let mut rng = Rng(3);
        let a = rng.vec(m * k);
        let b = rng.vec(k * n);
        let mut c1 = vec![f32::NAN; m * n];
        let mut c2 = vec![f32::NAN; m * n];
        let (a, b) = (
            MatRef::new(&a, m, k).unwrap(),
            MatRef::new(&b, k, n).unwrap(),
        );
        kern.sgemm_threads(1, 1.0, a, b, 0.0, MatMut::new(&mut c1, m, n).unwrap())
            .unwrap();
        kern.sgemm_threads(2, 1.0, a, b, 0.0, MatMut::new(&mut c2, m, n).unwrap())
            .unwrap();
        assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()));
        let mut want = vec![0.0f32; m * n];
        reference::sgemm(1.0, a, b, 0.0, MatMut::new(&mut want, m, n).unwrap());
        for (x, w) in c1.iter().zip(&want) {
            assert!((x - w).abs() <= 1e-3, "{isa}: {x} vs {w}");
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let kern = sdae_kernels::kernels();
    let a = vec![0.0f32; 6];
    let b = vec![0.0f32; 6];
    let mut c = vec![0.0f32; 4];
    // A view's own shape is checked when it is made: ld below the row width, too few elements.
    let e = MatRef::strided(&a, 2, 3, 2).unwrap_err();
    assert!(
        e.message()
            .contains("ld = 2 is below the row width cols = 3"),
        "{e}"
    );
    let e = MatRef::strided(&a[..5], 2, 3, 3).unwrap_err();
    assert!(e.message().contains("data holds 5 elements"), "{e}");
    let e = MatMut::new(&mut c[..3], 2, 2).unwrap_err();
    assert!(e.message().contains("data holds 3 elements"), "{e}");
    // B transposed: stored n x k = 2 x 3 needs ld >= 3.
    let e = MatRef::cblas(Trans::T, 3, 2, &b, 2).unwrap_err();
    assert!(e.message().contains("ld = 2"), "{e}");
    // The GEMM checks that the views agree: inner dimensions, then the shape of C.
    let a23 = MatRef::new(&a, 2, 3).unwrap();
    let b32 = MatRef::new(&b, 3, 2).unwrap();
    // (op(A), op(B), C's shape, through matrixmultiply's entry point, what the error says)
    let cases = [
        (
            a23,
            MatRef::new(&b[..4], 2, 2).unwrap(),
            (2, 2),
            false,
            "op(A) is 2 x 3 but op(B) is 2 x 2",
        ),
        (a23, b32, (4, 1), false, "C is 4 x 1, expected 2 x 2"),
        (
            a23.t(),
            b32,
            (2, 2),
            true,
            "matrixmultiply_sgemm: op(A) is 3 x 2",
        ),
    ];
    for (av, bv, (rows, cols), baseline, want) in cases {
        let cv = MatMut::new(&mut c, rows, cols).unwrap();
        let e = if baseline {
            sdae_kernels::gemm::baseline::matrixmultiply_sgemm(1.0, av, bv, 0.0, cv)
        } else {
            kern.sgemm(1.0, av, bv, 0.0, cv)
        };
        let e = e.unwrap_err();
        assert!(e.message().contains(want), "{e}");
    }
    // The good call works and leaves zeros.
    kern.sgemm(1.0, a23, b32, 0.0, MatMut::new(&mut c, 2, 2).unwrap())
        .unwrap();
    assert!(c.iter().all(|&v| v == 0.0));
}

/// A transposed C view receives the transpose: `C^T = op(A) op(B)` written into C as stored,
/// as the reference writes it, on every ISA and through the baseline.
#[test]
fn transposed_c_is_written_transposed() {
    let (m, n, k) = (13, 29, 17);
    let mut rng = Rng(11);
    let (a, b) = (rng.vec(m * k), rng.vec(k * n));
    let init = rng.vec(n * m);
    let (av, bv) = (
        MatRef::new(&a, m, k).unwrap(),
        MatRef::new(&b, k, n).unwrap(),
    );
    let mut want = init.clone();
    reference::sgemm(0.5, av, bv, 0.25, MatMut::new(&mut want, n, m).unwrap().t());
    let mut base = init.clone();
    let cv = MatMut::new(&mut base, n, m).unwrap().t();
    sdae_kernels::gemm::baseline::matrixmultiply_sgemm(0.5, av, bv, 0.25, cv).unwrap();
    let mut runs = vec![("matrixmultiply".to_string(), base)];
    for isa in isas() {
        let kern = Kernels::for_isa(isa).unwrap();
        let mut c = init.clone();
        kern.sgemm(0.5, av, bv, 0.25, MatMut::new(&mut c, n, m).unwrap().t())
            .unwrap();
        runs.push((isa.name().to_string(), c));
    }
    for (name, c) in runs {
        for (i, (x, w)) in c.iter().zip(&want).enumerate() {
            assert!((x - w).abs() <= 1e-5, "{name}: C^T element {i}: {x} vs {w}");
        }
    }
}

#[test]
fn fma_peak_is_positive_on_every_isa() {
    for isa in isas() {
        let p = sdae_kernels::fma_peak_gflops(isa, 0.01).unwrap();
        assert!(p.is_finite() && p > 0.0, "{isa}: {p}");
    }
    for isa in Isa::ALL {
        if !isa.is_supported() {
            assert!(sdae_kernels::fma_peak_gflops(isa, 0.01).is_err());
        }
    }
}

/// alpha = 0 (and k = 0) scale C by beta without reading A or B, as the reference does.
#[test]
fn alpha_zero_reads_neither_a_nor_b() {
    for isa in isas() {
        let kern = Kernels::for_isa(isa).unwrap();
        let (m, n, k) = (5, 7, 3);
        let a = vec![f32::NAN; m * k];
        let b = vec![f32::INFINITY; k * n];
        let mut c: Vec<f32> = (0..m * n).map(|v| v as f32).collect();
        let (av, bv) = (
            MatRef::new(&a, m, k).unwrap(),
            MatRef::new(&b, k, n).unwrap(),
        );
        kern.sgemm(0.0, av, bv, 0.5, MatMut::new(&mut c, m, n).unwrap())
            .unwrap();
        assert!(
            c.iter().enumerate().all(|(i, &v)| v == i as f32 * 0.5),
            "{isa}: {c:?}"
        );
        let mut c = vec![f32::NAN; m * n];
        let (av, bv) = (
            MatRef::cblas(Trans::T, m, 0, &[], m).unwrap(),
            MatRef::cblas(Trans::T, 0, n, &[], 1).unwrap(),
        );
        kern.sgemm(1.0, av, bv, 0.0, MatMut::new(&mut c, m, n).unwrap())
            .unwrap();
        assert!(
            c.iter().all(|&v| v == 0.0),
            "{isa}: k = 0, beta = 0 must give zeros"
        );
    }
}

/// Every micro-kernel of the registry, in both loop orders, with small blocks (several k, m and
/// n blocks per product) and both settings of the small-m paths, against the reference; fails
/// if an ISA the run expects has fewer candidates than the registry lists or was not run.
#[test]
fn every_candidate_plan_matches_the_reference() {
    use sdae_kernels::gemm::registry;
    use sdae_kernels::{GemmPlan, LoopOrder};
    let mut ran: Vec<(Isa, String)> = Vec::new();
    for isa in isas() {
        for spec in registry::candidates(isa) {
            let (mr, nr) = (spec.mr(), spec.nr());
            for order in LoopOrder::ALL {
                for (kc, small_paths) in [(16usize, 0usize), (24, 1 << 20)] {
                    let plan = GemmPlan {
                        kernel: spec.name.to_string(),
                        order,
                        kc,
                        mc: 2 * mr,
                        nc: 2 * nr,
                        direct_b_max_m: small_paths,
                        nt_dot_max_m: small_paths,
                        short_k_max: small_paths,
                    };
                    let kern = Kernels::with_gemm_plan(isa, &plan).unwrap();
                    assert_eq!(kern.gemm_kernel_name(), spec.name);
                    assert_eq!(kern.gemm_plan(), &plan);
                    let mut seed = 1;
                    for &(ta, tb) in &TRANS {
                        for m in [1, mr - 1, mr, 2 * mr + 3, 5 * mr + 1] {
                            for n in [1, nr - 1, nr + 5, 2 * nr + nr / 2 + 1, 5 * nr - 3] {
                                for k in [1, kc + 1, 2 * kc + 3] {
                                    for (alpha, beta) in [(1.0, 0.0), (-0.5, 1.5)] {
                                        if m == 0 || n == 0 {
                                            continue;
                                        }
                                        let case = Case::new((ta, tb), (m, n, k), 3, (alpha, beta));
                                        check(&kern, case, 1, seed);
                                        seed += 1;
                                    }
                                }
                            }
                        }
                    }
                    // A split run is bit-identical to the single one under this plan too.
                    let case = Case::new(
                        (Trans::N, Trans::N),
                        (3 * mr + 1, 3 * nr + 2, 2 * kc + 1),
                        1,
                        (1.0, 0.5),
                    );
                    let one = check(&kern, case, 1, 99);
                    let two = check(&kern, case, 3, 99);
                    assert!(one
                        .iter()
                        .zip(&two)
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                }
            }
            ran.push((isa, spec.name.to_string()));
        }
    }
    for isa in expected_isas() {
        let listed = registry::candidates(isa).len();
        let done = ran.iter().filter(|r| r.0 == isa).count();
        assert!(
            listed > 0 && done == listed,
            "ISA {isa}: {done} of {listed} GEMM candidates ran"
        );
        let at_least = match isa {
            Isa::Scalar => 1,
            _ => 2,
        };
        assert!(
            listed >= at_least,
            "ISA {isa} offers {listed} GEMM candidates, expected at least {at_least}"
        );
    }
}
