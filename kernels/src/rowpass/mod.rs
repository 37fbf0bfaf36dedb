//! Row passes: fused kernels that walk the rows of a row-major matrix once and do, per row,
//! what would otherwise be several passes over the matrix (dot product, loss, rank-1 updates,
//! accumulation). They exist for online (batch-1) training of a tied sigmoid layer, where the
//! matrix streams from L3 and every extra pass over it costs its full size in traffic.
//!
//! Layout as in [`crate::fused`]: `generic.rs` holds the bodies once, over the
//! [`crate::simd::Simd`] vocabulary; the macro below stamps out thin `#[target_feature]` shims
//! per ISA and a table of function pointers; the safe methods on [`Kernels`] check shapes and
//! make one indirect call. The specifications are [`crate::reference::tied_sigmoid_rows`] and
//! [`crate::reference::sparse_row_combine`].
//!
//! The matrix is `rows` rows of `n` values with leading dimension `ld >= n`. Any `ld` and any
//! alignment are correct; rows that start on a 64-byte boundary (`ld` a multiple of 16, the
//! base aligned) are fastest, since every full-vector store then stays in one cache line.

use crate::fused::generic::Loss;
use crate::{Isa, KernelError, Kernels};

pub(crate) mod generic;

/// The loss of the sigmoid outputs in [`Kernels::tied_sigmoid_rows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLoss {
    /// `softplus(t) - x t` (cross-entropy of `s(t)` against `x`); gradient `s(t) - x`.
    CrossEntropy,
    /// `(s(t) - x)^2`; gradient `2 (s(t) - x) s(t) (1 - s(t))`.
    SquaredError,
}

impl RowLoss {
    fn generic(self) -> Loss {
        match self {
            RowLoss::CrossEntropy => Loss::CrossEntropy,
            RowLoss::SquaredError => Loss::SquaredError,
        }
    }
}

/// One ISA's row-pass entry points. Each is `unsafe`: it may only be called on a CPU with that
/// ISA and with the shapes the safe methods check.
#[allow(clippy::type_complexity)]
pub(crate) struct RowPassFns {
    tied_sigmoid_rows: unsafe fn(
        Loss,
        &mut [f32],
        usize,
        usize,
        usize,
        &[f32],
        &[f32],
        &[f32],
        &mut [f32],
        &[f32],
        f32,
        &mut [f32],
        &mut [f32],
    ) -> f64,
    sparse_row_combine:
        unsafe fn(&mut [f32], usize, usize, usize, &[f32], &mut [f32], &[f32], &mut [f32]),
}

/// `rowpass_shims!(Token, #[target_feature(enable = "...")])`: one ISA's shims and `FNS`.
macro_rules! rowpass_shims {
    ($S:ty $(, #[$attr:meta])*) => {
        use crate::fused::generic::Loss;
        use crate::rowpass::{generic, RowPassFns};

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::tied_sigmoid_rows`.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        unsafe fn tied_sigmoid_rows(
            loss: Loss,
            w: &mut [f32],
            ld: usize,
            rows: usize,
            n: usize,
            y: &[f32],
            c: &[f32],
            x: &[f32],
            pend: &mut [f32],
            u: &[f32],
            lr: f32,
            g: &mut [f32],
            acc: &mut [f32],
        ) -> f64 {
            // SAFETY: forwarded contract.
            unsafe {
                generic::tied_sigmoid_rows::<$S>(loss, w, ld, rows, n, y, c, x, pend, u, lr, g, acc)
            }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::sparse_row_combine`.
        #[allow(clippy::too_many_arguments)]
        $(#[$attr])*
        unsafe fn sparse_row_combine(
            w: &mut [f32],
            ld: usize,
            rows: usize,
            n: usize,
            coef: &[f32],
            pend: &mut [f32],
            u: &[f32],
            acc: &mut [f32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { generic::sparse_row_combine::<$S>(w, ld, rows, n, coef, pend, u, acc) }
        }

        pub(crate) const FNS: RowPassFns = RowPassFns { tied_sigmoid_rows, sparse_row_combine };
    };
}

mod scalar {
    //! Row passes, scalar twin: one portable `f32` lane.
    rowpass_shims!(crate::simd::scalar::Scalar);
}
#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! Row passes, AVX2 + FMA: 8-lane `__m256`.
    rowpass_shims!(crate::simd::avx2::Avx2, #[target_feature(enable = "avx2,fma")]);
}
#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! Row passes, AVX-512 F+BW+DQ+VL: 16-lane `__m512`.
    rowpass_shims!(
        crate::simd::avx512::Avx512,
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
    );
}
#[cfg(target_arch = "aarch64")]
mod neon {
    //! Row passes, aarch64 NEON: 4-lane `float32x4_t`.
    rowpass_shims!(crate::simd::neon::Neon, #[target_feature(enable = "neon")]);
}

/// The row-pass part of a kernel table.
pub(crate) struct RowPassTable {
    fns: RowPassFns,
}

impl RowPassTable {
    /// The table of `isa`. Only called by [`Kernels::for_isa`] after checking that the CPU
    /// supports `isa`: that check is what makes calling these function pointers sound.
    pub(crate) fn for_supported_isa(isa: Isa) -> RowPassTable {
        let fns = match isa {
            Isa::Scalar => scalar::FNS,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::FNS,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::FNS,
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => neon::FNS,
            #[allow(unreachable_patterns)]
            other => unreachable!("ISA {other} is never supported on this architecture"),
        };
        RowPassTable { fns }
    }
}

/// `(rows - 1) * ld + n` (0 for no rows), the values a strided matrix spans, or an error.
fn check_matrix(k: &str, w: usize, ld: usize, rows: usize, n: usize) -> Result<(), KernelError> {
    if ld < n {
        return Err(KernelError::new(format!(
            "{k}: leading dimension ld = {ld} is below the row length n = {n}"
        )));
    }
    let need = match rows {
        0 => 0,
        r => (r - 1)
            .checked_mul(ld)
            .and_then(|v| v.checked_add(n))
            .ok_or_else(|| KernelError::new(format!("{k}: {r} rows of stride {ld} overflow")))?,
    };
    if w < need {
        return Err(KernelError::new(format!(
            "{k}: w has {w} elements, expected at least {need} ({rows} rows of {n}, stride {ld})"
        )));
    }
    Ok(())
}

fn check_len(k: &str, what: &str, got: usize, want: usize) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError::new(format!(
            "{k}: {what} has {got} elements, expected {want}"
        )));
    }
    Ok(())
}

impl Kernels {
    /// Kernel R1, the row pass of a tied sigmoid layer; see
    /// [`crate::reference::tied_sigmoid_rows`]. `w` is `rows x n` with leading dimension `ld`;
    /// `y`, `u`, `acc` hold `n`; `c`, `x`, `pend`, `g` hold `rows`. Returns the summed loss.
    #[allow(clippy::too_many_arguments)]
    pub fn tied_sigmoid_rows(
        &self,
        loss: RowLoss,
        w: &mut [f32],
        ld: usize,
        rows: usize,
        n: usize,
        y: &[f32],
        c: &[f32],
        x: &[f32],
        pend: &mut [f32],
        u: &[f32],
        lr: f32,
        g: &mut [f32],
        acc: &mut [f32],
    ) -> Result<f64, KernelError> {
        let k = "tied_sigmoid_rows";
        check_matrix(k, w.len(), ld, rows, n)?;
        for (what, len) in [("y", y.len()), ("u", u.len()), ("acc", acc.len())] {
            check_len(k, what, len, n)?;
        }
        for (what, len) in [
            ("c", c.len()),
            ("x", x.len()),
            ("pend", pend.len()),
            ("g", g.len()),
        ] {
            check_len(k, what, len, rows)?;
        }
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        Ok(unsafe {
            (self.rowpass.fns.tied_sigmoid_rows)(
                loss.generic(),
                w,
                ld,
                rows,
                n,
                y,
                c,
                x,
                pend,
                u,
                lr,
                g,
                acc,
            )
        })
    }

    /// Kernel R2, a sparse combination of rows with pending updates; see
    /// [`crate::reference::sparse_row_combine`]. `w` is `rows x n` with leading dimension
    /// `ld`; `u`, `acc` hold `n`; `coef`, `pend` hold `rows`.
    #[allow(clippy::too_many_arguments)]
    pub fn sparse_row_combine(
        &self,
        w: &mut [f32],
        ld: usize,
        rows: usize,
        n: usize,
        coef: &[f32],
        pend: &mut [f32],
        u: &[f32],
        acc: &mut [f32],
    ) -> Result<(), KernelError> {
        let k = "sparse_row_combine";
        check_matrix(k, w.len(), ld, rows, n)?;
        check_len(k, "u", u.len(), n)?;
        check_len(k, "acc", acc.len(), n)?;
        check_len(k, "coef", coef.len(), rows)?;
        check_len(k, "pend", pend.len(), rows)?;
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        unsafe { (self.rowpass.fns.sparse_row_combine)(w, ld, rows, n, coef, pend, u, acc) };
        Ok(())
    }
}
