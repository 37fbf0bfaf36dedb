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
//! The matrix is a [`MatMut`] view, `rows` rows of `n` values with leading dimension `ld >= n`.
//! Any `ld` and any alignment are correct; rows that start on a 64-byte boundary (`ld` a multiple of 16, the
//! base aligned) are fastest, since every full-vector store then stays in one cache line.

use crate::mat::{check_len, MatMut};
use crate::{Isa, KernelError, Kernels, Loss, Trans};

pub(crate) mod generic;

/// The update a row pass owes the rows of its matrix: row `i` becomes `w_i - pend[i] * u` on
/// its next visit (then `pend[i] = 0`). In online training it is the encoder half of the
/// previous example's weight update (`pend = lr x~`, `u = dY`).
#[derive(Debug)]
pub struct Pending<'a> {
    /// One coefficient per row of the matrix; 0 once the row is up to date.
    pub pend: &'a mut [f32],
    /// The vector the rows owe (one value per column).
    pub u: &'a [f32],
}

/// The vectors of [`Kernels::tied_sigmoid_rows`] beside the matrix `W` (`rows x n`) and its
/// [`Pending`] update, named as in the math of [`crate::reference::tied_sigmoid_rows`].
#[derive(Debug)]
pub struct TiedRows<'a> {
    /// The loss of the reconstructions `z_i = s(c_i + w_i . y)`.
    pub loss: Loss,
    /// The code `y`, `n` values.
    pub y: &'a [f32],
    /// The reconstruction bias `c`, one per row.
    pub c: &'a [f32],
    /// The targets `x`, one per row.
    pub x: &'a [f32],
    /// The learning rate of the decoder half of the update, `w_i -= lr g_i y`.
    pub lr: f32,
    /// Output: the gradient `g_i` of each row's loss with respect to its logit.
    pub g: &'a mut [f32],
    /// `acc += g_i w_i` (the rows before their update), `n` values.
    pub acc: &'a mut [f32],
}

/// One ISA's row-pass entry points. Each is `unsafe`: it may only be called on a CPU with that
/// ISA and with the shapes the safe methods check.
pub(crate) struct RowPassFns {
    tied_sigmoid_rows: unsafe fn(MatMut<'_>, Pending<'_>, TiedRows<'_>) -> f64,
    sparse_row_combine: unsafe fn(MatMut<'_>, &[f32], Pending<'_>, &mut [f32]),
}

/// `rowpass_shims!(Token, #[target_feature(enable = "...")])`: one ISA's shims and `FNS`.
macro_rules! rowpass_shims {
    ($S:ty $(, #[$attr:meta])*) => {
        use crate::mat::MatMut;
        use crate::rowpass::{generic, Pending, RowPassFns, TiedRows};

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::tied_sigmoid_rows`.
        $(#[$attr])*
        unsafe fn tied_sigmoid_rows(w: MatMut<'_>, pending: Pending<'_>, pass: TiedRows<'_>) -> f64 {
            // SAFETY: forwarded contract.
            unsafe { generic::tied_sigmoid_rows::<$S>(w, pending, pass) }
        }

        /// # Safety
        /// The CPU supports this ISA; shapes as checked by `Kernels::sparse_row_combine`.
        $(#[$attr])*
        unsafe fn sparse_row_combine(
            w: MatMut<'_>,
            coef: &[f32],
            pending: Pending<'_>,
            acc: &mut [f32],
        ) {
            // SAFETY: forwarded contract.
            unsafe { generic::sparse_row_combine::<$S>(w, coef, pending, acc) }
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
        let fns = crate::isa::fns_of_isa!(isa);
        RowPassTable { fns }
    }
}

/// The matrix of a row pass as `(rows, n)`: untransposed (its rows are walked as stored).
fn row_matrix(k: &str, w: &MatMut<'_>) -> Result<(usize, usize), KernelError> {
    if w.trans() == Trans::T {
        return Err(KernelError::new(format!(
            "{k}: w is a transposed view, expected the matrix whose rows the pass walks"
        )));
    }
    Ok((w.stored_rows(), w.stored_cols()))
}

/// Check a [`Pending`] update against a `rows x n` matrix.
fn check_pending(k: &str, p: &Pending<'_>, rows: usize, n: usize) -> Result<(), KernelError> {
    check_len(k, "pend", p.pend.len(), rows)?;
    check_len(k, "u", p.u.len(), n)
}

impl Kernels {
    /// Kernel R1, the row pass of a tied sigmoid layer; see
    /// [`crate::reference::tied_sigmoid_rows`]. `w` is `rows x n` (any leading dimension);
    /// `pass.y`, `pass.acc` and `pending.u` hold `n`; `pass.c`, `pass.x`, `pass.g` and
    /// `pending.pend` hold `rows`. Returns the summed loss.
    pub fn tied_sigmoid_rows(
        &self,
        w: MatMut<'_>,
        pending: Pending<'_>,
        pass: TiedRows<'_>,
    ) -> Result<f64, KernelError> {
        let k = "tied_sigmoid_rows";
        let (rows, n) = row_matrix(k, &w)?;
        check_pending(k, &pending, rows, n)?;
        check_len(k, "y", pass.y.len(), n)?;
        check_len(k, "acc", pass.acc.len(), n)?;
        check_len(k, "c", pass.c.len(), rows)?;
        check_len(k, "x", pass.x.len(), rows)?;
        check_len(k, "g", pass.g.len(), rows)?;
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        Ok(unsafe { (self.rowpass.fns.tied_sigmoid_rows)(w, pending, pass) })
    }

    /// Kernel R2, a sparse combination of rows with pending updates; see
    /// [`crate::reference::sparse_row_combine`]. `w` is `rows x n` (any leading dimension);
    /// `acc` and `pending.u` hold `n`; `coef` and `pending.pend` hold `rows`.
    pub fn sparse_row_combine(
        &self,
        w: MatMut<'_>,
        coef: &[f32],
        pending: Pending<'_>,
        acc: &mut [f32],
    ) -> Result<(), KernelError> {
        let k = "sparse_row_combine";
        let (rows, n) = row_matrix(k, &w)?;
        check_pending(k, &pending, rows, n)?;
        check_len(k, "acc", acc.len(), n)?;
        check_len(k, "coef", coef.len(), rows)?;
        // SAFETY: this table exists only for a supported ISA; shapes checked above.
        unsafe { (self.rowpass.fns.sparse_row_combine)(w, coef, pending, acc) };
        Ok(())
    }
}
