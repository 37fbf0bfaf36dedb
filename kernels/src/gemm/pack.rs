//! Packing of A and B blocks into the zero-padded micro-panel layouts the micro-kernel reads.
//!
//! ```text
//! packed A block (mc x kc): ceil(mc/MR) micro-panels, each MR x kc, k-major:
//!     panel r, element (i, p) at  r*MR*kc + p*MR + i        rows i >= mc - r*MR are 0
//! packed B panel (kc x nc): ceil(nc/NR) micro-panels, each kc x NR, row-major:
//!     panel s, element (p, j) at  s*NR*kc + p*NR + j        columns j >= nc - s*NR are 0
//! ```
//!
//! Safe code over slices, except one ISA routine for the row-major A block (the common case:
//! the forward products of training), whose scattered stores the safe loop cannot make fast.

use crate::Trans;

/// One MR-row micro-panel of a row-major `op(A) = A` block: `rows <= mr` rows of `kc` floats
/// at `src + i*lda`, written k-major to `dst` (`mr * kc` floats; rows `rows..mr` zero).
pub(crate) struct PackAPanel {
    pub src: *const f32,
    pub lda: usize,
    pub rows: usize,
    pub kc: usize,
    pub mr: usize,
    pub dst: *mut f32,
}

/// An ISA's routine for one [`PackAPanel`] (same result as the safe loop, bit for bit).
pub(crate) type PackA = unsafe fn(&PackAPanel);

/// The ISA's [`PackA`], if it has one.
pub(crate) fn pack_a_for(isa: crate::Isa) -> Option<PackA> {
    match isa {
        // AVX-512 machines all have AVX2; 8-row transposes suit every MR of both lists.
        #[cfg(target_arch = "x86_64")]
        crate::Isa::Avx2 | crate::Isa::Avx512 => Some(super::x86::avx2_pack_a_panel as PackA),
        _ => None,
    }
}

/// A read-only row-major operand view with its transpose flag: `op(X)(r, c)`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub ld: usize,
    pub trans: Trans,
}

/// Pack rows `i0..i0+mc`, columns `p0..p0+kc` of `op(A)` into `dst` (MR-row micro-panels),
/// through `fast` (the ISA's [`PackA`]) for a row-major A when given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_a_block(
    a: Operand<'_>,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    mr: usize,
    dst: &mut [f32],
    fast: Option<PackA>,
) {
    let panels = mc.div_ceil(mr);
    let dst = &mut dst[..panels * mr * kc];
    for (r, panel) in dst.chunks_exact_mut(mr * kc).enumerate() {
        let rows = mr.min(mc - r * mr);
        let ib = i0 + r * mr;
        match a.trans {
            Trans::N if fast.is_some() && kc > 0 => {
                // The rows this panel reads, bounds-checked here once.
                let src = &a.data[ib * a.ld + p0..][..(rows - 1) * a.ld + kc];
                let call = PackAPanel {
                    src: src.as_ptr(),
                    lda: a.ld,
                    rows,
                    kc,
                    mr,
                    dst: panel.as_mut_ptr(),
                };
                let f = fast.expect("checked by the guard");
                // SAFETY: `src` holds `rows` rows of `kc` floats at stride `lda` (sliced above),
                // `panel` is `mr * kc` floats, 1 <= rows <= mr; `fast` came from `pack_a_for`
                // for an ISA the table was built for, which the CPU supports.
                unsafe { f(&call) }
            }
            Trans::N => {
                // op(A)(i, p) = a[i*lda + p]: each row is contiguous in p.
                for i in 0..rows {
                    let src = &a.data[(ib + i) * a.ld + p0..][..kc];
                    for (p, &v) in src.iter().enumerate() {
                        panel[p * mr + i] = v;
                    }
                }
                if rows < mr {
                    for p in 0..kc {
                        panel[p * mr + rows..(p + 1) * mr].fill(0.0);
                    }
                }
            }
            Trans::T => {
                // op(A)(i, p) = a[p*lda + i]: each step of p is a contiguous run of rows.
                for p in 0..kc {
                    let src = &a.data[(p0 + p) * a.ld + ib..][..rows];
                    let out = &mut panel[p * mr..(p + 1) * mr];
                    out[..rows].copy_from_slice(src);
                    out[rows..].fill(0.0);
                }
            }
        }
    }
}

/// Pack rows `p0..p0+kc`, columns `j0..j0+nc` of `op(B)` into `dst` (NR-column micro-panels),
/// through `fast` (the ISA's [`PackA`]) for a transposed B when given: a panel of `B^T` is the
/// same transpose as a panel of a row-major A, with NR in place of MR.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pack_b_panel(
    b: Operand<'_>,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    nr: usize,
    dst: &mut [f32],
    fast: Option<PackA>,
) {
    let panels = nc.div_ceil(nr);
    let dst = &mut dst[..panels * nr * kc];
    for (s, panel) in dst.chunks_exact_mut(nr * kc).enumerate() {
        let cols = nr.min(nc - s * nr);
        let jb = j0 + s * nr;
        match b.trans {
            Trans::N => {
                // op(B)(p, j) = b[p*ldb + j]: each step of p is a contiguous run of columns.
                for p in 0..kc {
                    let src = &b.data[(p0 + p) * b.ld + jb..][..cols];
                    let out = &mut panel[p * nr..(p + 1) * nr];
                    out[..cols].copy_from_slice(src);
                    out[cols..].fill(0.0);
                }
            }
            Trans::T if fast.is_some() && kc > 0 => {
                // Columns jb.. of op(B) are rows of b, k contiguous: bounds-checked here once.
                let src = &b.data[jb * b.ld + p0..][..(cols - 1) * b.ld + kc];
                let call = PackAPanel {
                    src: src.as_ptr(),
                    lda: b.ld,
                    rows: cols,
                    kc,
                    mr: nr,
                    dst: panel.as_mut_ptr(),
                };
                let f = fast.expect("checked by the guard");
                // SAFETY: `src` holds `cols` rows of `kc` floats at stride `ldb` (sliced
                // above), `panel` is `nr * kc` floats, 1 <= cols <= nr; `fast` came from
                // `pack_a_for` for an ISA the CPU supports.
                unsafe { f(&call) }
            }
            Trans::T => {
                // op(B)(p, j) = b[j*ldb + p]: transpose 8 columns at a time so each source
                // row is read contiguously and each destination row gets 8 neighbours.
                let mut j = 0;
                while j + 8 <= cols {
                    let rows: [&[f32]; 8] =
                        std::array::from_fn(|t| &b.data[(jb + j + t) * b.ld + p0..][..kc]);
                    // 8 x 8 blocks through registers: 8 contiguous reads per row, 8 contiguous
                    // writes per step of p.
                    let mut p = 0;
                    while p + 8 <= kc {
                        let blk: [[f32; 8]; 8] = std::array::from_fn(|t| {
                            rows[t][p..p + 8].try_into().expect("8 elements")
                        });
                        for q in 0..8 {
                            let out: &mut [f32; 8] = (&mut panel[(p + q) * nr + j..][..8])
                                .try_into()
                                .expect("8 elements");
                            for t in 0..8 {
                                out[t] = blk[t][q];
                            }
                        }
                        p += 8;
                    }
                    for p in p..kc {
                        let out = &mut panel[p * nr + j..p * nr + j + 8];
                        for t in 0..8 {
                            out[t] = rows[t][p];
                        }
                    }
                    j += 8;
                }
                while j < cols {
                    let src = &b.data[(jb + j) * b.ld + p0..][..kc];
                    for (p, &v) in src.iter().enumerate() {
                        panel[p * nr + j] = v;
                    }
                    j += 1;
                }
                if cols < nr {
                    for p in 0..kc {
                        panel[p * nr + cols..(p + 1) * nr].fill(0.0);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_a_with_zero_padding() {
        // op(A) is 3 x 2: rows [1 2], [3 4], [5 6]; MR = 2 -> 2 panels, the second padded.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut dst = [9.0f32; 8];
        let op = Operand {
            data: &a,
            ld: 2,
            trans: Trans::N,
        };
        pack_a_block(op, 0, 3, 0, 2, 2, &mut dst, None);
        assert_eq!(dst, [1.0, 3.0, 2.0, 4.0, 5.0, 0.0, 6.0, 0.0]);
        // The same op(A) stored transposed (2 x 3).
        let at = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];
        let mut dst2 = [9.0f32; 8];
        let op = Operand {
            data: &at,
            ld: 3,
            trans: Trans::T,
        };
        pack_a_block(op, 0, 3, 0, 2, 2, &mut dst2, None);
        assert_eq!(dst, dst2);
    }

    /// Every ISA's A packing against the safe loop, for every MR the registry uses, ragged
    /// rows, k not a multiple of 8, an offset p0 and a stride past the block.
    #[test]
    fn isa_pack_a_equals_the_safe_loop() {
        let mut ran = 0;
        for isa in crate::Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            let Some(f) = pack_a_for(isa) else { continue };
            for mr in [2, 4, 6, 8, 12, 14, 16, 24, 32, 48, 64] {
                for (m, k, p0, kc) in [(1, 9, 0, 9), (13, 40, 3, 37), (37, 70, 5, 64), (8, 8, 0, 8)]
                {
                    let lda = k + 3;
                    let a: Vec<f32> = (0..m * lda).map(|x| x as f32 * 0.5 - 7.0).collect();
                    let op = Operand {
                        data: &a,
                        ld: lda,
                        trans: Trans::N,
                    };
                    let len = m.div_ceil(mr) * mr * kc;
                    let (mut want, mut got) = (vec![9.0f32; len], vec![-9.0f32; len]);
                    pack_a_block(op, 0, m, p0, kc, mr, &mut want, None);
                    pack_a_block(op, 0, m, p0, kc, mr, &mut got, Some(f));
                    assert_eq!(want, got, "{isa:?} mr {mr} m {m} kc {kc}");
                    // The same matrix as op(B) = B^T (k x m), NR = mr columns per panel.
                    let (mut want, mut got) = (vec![9.0f32; len], vec![-9.0f32; len]);
                    let bt = Operand {
                        trans: Trans::T,
                        ..op
                    };
                    pack_b_panel(bt, p0, kc, 0, m, mr, &mut want, None);
                    pack_b_panel(bt, p0, kc, 0, m, mr, &mut got, Some(f));
                    assert_eq!(want, got, "B^T {isa:?} nr {mr} n {m} kc {kc}");
                    ran += 1;
                }
            }
        }
        // On x86-64 with AVX2 the routine must have run (the test cannot pass by skipping).
        #[cfg(target_arch = "x86_64")]
        if crate::Isa::Avx2.is_supported() {
            assert!(ran >= 2 * 11 * 4, "ISA packing exercised {ran} times");
        }
        let _ = ran;
    }

    #[test]
    fn packs_b_with_zero_padding() {
        // op(B) is 2 x 11 (k x n), NR = 8 -> 2 panels; stored as N and as T.
        let (k, n, nr) = (2, 11, 8);
        let b: Vec<f32> = (0..k * n).map(|v| v as f32 + 1.0).collect();
        let bt: Vec<f32> = (0..n * k).map(|x| b[(x % k) * n + x / k]).collect();
        let mut d1 = vec![9.0f32; 2 * nr * k];
        let mut d2 = vec![7.0f32; 2 * nr * k];
        let op = |data, ld, trans| Operand { data, ld, trans };
        pack_b_panel(op(&b, n, Trans::N), 0, k, 0, n, nr, &mut d1, None);
        pack_b_panel(op(&bt, k, Trans::T), 0, k, 0, n, nr, &mut d2, None);
        assert_eq!(d1, d2);
        assert_eq!(&d1[..8], &b[..8]);
        assert_eq!(&d1[16..19], &b[8..11]);
        assert!(d1[19..24].iter().all(|&v| v == 0.0));
    }
}
