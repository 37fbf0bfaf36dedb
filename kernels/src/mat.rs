//! Matrix views: how matrices cross the kernel API.
//!
//! A view is a slice, its shape as stored (`rows x cols`, row-major, leading dimension
//! `ld >= cols`: element `(i, j)` is `data[i * ld + j]`) and a transpose flag. The shape is
//! checked once, when the view is made ([`MatRef::new`], [`MatRef::strided`], and the same for
//! [`MatMut`]); a kernel then only checks that its operands agree with each other.
//!
//! The transpose flag does not move data: [`MatRef::t`] returns the same storage read as its
//! transpose, the `op(X) = X^T` of BLAS. [`MatRef::nrows`] and [`MatRef::ncols`] are the
//! shape of `op(X)`. Kernels other than the GEMM read batches row by row and take only
//! untransposed views; the fused element-wise kernels also want them contiguous
//! (`ld == cols`), which a view made by [`MatRef::new`] is.
//!
//! ```
//! use sdae_kernels::{kernels, MatMut, MatRef};
//! let (x, w) = (vec![1.0f32; 2 * 4], vec![0.5f32; 4 * 3]);
//! let mut y = vec![f32::NAN; 2 * 3]; // beta = 0: Y is never read
//! let x = MatRef::new(&x, 2, 4)?; // 2 x 4
//! let w = MatRef::new(&w, 4, 3)?; // 4 x 3
//! // Y = X W, then Y^T Y = W^T X^T X W through transposed views of the same storage.
//! kernels().sgemm(1.0, x, w, 0.0, MatMut::new(&mut y, 2, 3)?)?;
//! assert!(y.iter().all(|&v| v == 2.0));
//! let mut g = vec![0.0f32; 3 * 3];
//! let yv = MatRef::new(&y, 2, 3)?;
//! kernels().sgemm(1.0, yv.t(), yv, 0.0, MatMut::new(&mut g, 3, 3)?)?;
//! assert!(g.iter().all(|&v| v == 8.0));
//! # Ok::<(), sdae_kernels::KernelError>(())
//! ```

use crate::{KernelError, Trans};

/// The elements a `rows x cols` row-major matrix with leading dimension `ld` spans:
/// `(rows - 1) * ld + cols` (0 when empty), after checking `ld >= cols`.
fn span(view: &str, len: usize, rows: usize, cols: usize, ld: usize) -> Result<usize, KernelError> {
    if ld < cols {
        return Err(KernelError::new(format!(
            "{view}: leading dimension ld = {ld} is below the row width cols = {cols} ({rows} x {cols})"
        )));
    }
    let need = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1)
            .checked_mul(ld)
            .and_then(|v| v.checked_add(cols))
            .ok_or_else(|| {
                KernelError::new(format!(
                    "{view}: {rows} x {cols} with leading dimension {ld} overflows usize"
                ))
            })?
    };
    if len < need {
        return Err(KernelError::new(format!(
            "{view}: data holds {len} elements, expected at least {need} for {rows} x {cols} with leading dimension {ld}"
        )));
    }
    Ok(need)
}

/// `rows * cols`, the exact length of a contiguous view, or an error.
fn exact(view: &str, len: usize, rows: usize, cols: usize) -> Result<(), KernelError> {
    let need = rows
        .checked_mul(cols)
        .ok_or_else(|| KernelError::new(format!("{view}: {rows} x {cols} overflows usize")))?;
    if len != need {
        return Err(KernelError::new(format!(
            "{view}: data holds {len} elements, expected rows x cols = {rows} x {cols} = {need}"
        )));
    }
    Ok(())
}

/// The shape accessors both views share (`nrows`, `ncols`, `stored_rows`, `stored_cols`, `ld`,
/// `trans`), written once.
macro_rules! shape_accessors {
    () => {
        /// Rows of `op(X)`.
        pub fn nrows(&self) -> usize {
            op_shape(self.trans, self.rows, self.cols).0
        }

        /// Columns of `op(X)`.
        pub fn ncols(&self) -> usize {
            op_shape(self.trans, self.rows, self.cols).1
        }

        /// Rows of the matrix as stored (before the transpose flag).
        pub fn stored_rows(&self) -> usize {
            self.rows
        }

        /// Columns of the matrix as stored: the length of each stored row.
        pub fn stored_cols(&self) -> usize {
            self.cols
        }

        /// The leading dimension: elements from one stored row to the next.
        pub fn ld(&self) -> usize {
            self.ld
        }

        /// Whether the view reads (or writes) its storage transposed.
        pub fn trans(&self) -> Trans {
            self.trans
        }
    };
}

/// The constructors both views share (`new`, `strided`), written once: the only places a view's
/// shape is checked against its slice.
macro_rules! constructors {
    ($view:ident, $slice:ty) => {
        /// A contiguous `rows x cols` matrix: `data.len()` must be exactly `rows * cols`.
        pub fn new(data: $slice, rows: usize, cols: usize) -> Result<$view<'a>, KernelError> {
            exact(concat!(stringify!($view), "::new"), data.len(), rows, cols)?;
            Ok($view {
                data,
                rows,
                cols,
                ld: cols,
                trans: Trans::N,
            })
        }

        /// A `rows x cols` matrix with leading dimension `ld >= cols` in the first
        /// `(rows - 1) * ld + cols` elements of `data`.
        pub fn strided(
            data: $slice,
            rows: usize,
            cols: usize,
            ld: usize,
        ) -> Result<$view<'a>, KernelError> {
            span(
                concat!(stringify!($view), "::strided"),
                data.len(),
                rows,
                cols,
                ld,
            )?;
            Ok($view {
                data,
                rows,
                cols,
                ld,
                trans: Trans::N,
            })
        }
    };
}

/// A read-only matrix view (see the [module doc](self)).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    ld: usize,
    trans: Trans,
}

/// A mutable matrix view (see the [module doc](self)). Pass it by value; [`MatMut::rb_mut`]
/// reborrows it for one call, [`MatMut::rb`] reads it.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    ld: usize,
    trans: Trans,
}

impl<'a> MatRef<'a> {
    constructors!(MatRef, &'a [f32]);

    /// A cblas-style operand: `op(X)` is `rows x cols` for the flag `t`, so the stored `X` is
    /// `rows x cols` (`N`) or `cols x rows` (`T`), row-major with leading dimension `ld`.
    pub fn cblas(
        t: Trans,
        rows: usize,
        cols: usize,
        data: &'a [f32],
        ld: usize,
    ) -> Result<MatRef<'a>, KernelError> {
        let (r, c) = op_shape(t, rows, cols);
        Ok(MatRef::strided(data, r, c, ld)?.op(t))
    }

    /// The same storage read as its transpose (`op(X) = X^T`); no data moves.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            trans: flip(self.trans),
            ..self
        }
    }

    /// `op(X)` for the BLAS flag `t`: the view itself for `N`, its transpose for `T`.
    pub fn op(self, t: Trans) -> MatRef<'a> {
        match t {
            Trans::N => self,
            Trans::T => self.t(),
        }
    }

    shape_accessors!();

    /// The slice the view was made from.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Stored row `i` (`cols` elements).
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.ld..i * self.ld + self.cols]
    }

    /// Element `(i, j)` of `op(X)`.
    pub fn at(&self, i: usize, j: usize) -> f32 {
        match self.trans {
            Trans::N => self.data[i * self.ld + j],
            Trans::T => self.data[j * self.ld + i],
        }
    }

    /// The `rows * cols` elements of an untransposed contiguous view (`ld == cols`), or an
    /// error naming `kernel` and `what` (the argument).
    pub fn contiguous(&self, kernel: &str, what: &str) -> Result<&'a [f32], KernelError> {
        check_contiguous(kernel, what, self.rows, self.cols, self.ld, self.trans)?;
        Ok(&self.data[..self.rows * self.cols])
    }
}

impl<'a> MatMut<'a> {
    constructors!(MatMut, &'a mut [f32]);

    /// The same storage written as its transpose; no data moves.
    pub fn t(self) -> MatMut<'a> {
        MatMut {
            trans: flip(self.trans),
            ..self
        }
    }

    /// A read-only view of the same matrix.
    pub fn rb(&self) -> MatRef<'_> {
        MatRef {
            data: &self.data[..],
            rows: self.rows,
            cols: self.cols,
            ld: self.ld,
            trans: self.trans,
        }
    }

    /// A shorter-lived mutable view of the same matrix, for passing to one call.
    pub fn rb_mut(&mut self) -> MatMut<'_> {
        MatMut {
            data: &mut self.data[..],
            rows: self.rows,
            cols: self.cols,
            ld: self.ld,
            trans: self.trans,
        }
    }

    shape_accessors!();

    /// The whole slice the view was made from.
    pub fn into_data(self) -> &'a mut [f32] {
        self.data
    }

    /// Stored row `i` (`cols` elements).
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.ld..i * self.ld + self.cols]
    }

    /// The `rows * cols` elements of an untransposed contiguous view (`ld == cols`), or an
    /// error naming `kernel` and `what` (the argument).
    pub fn into_contiguous(self, kernel: &str, what: &str) -> Result<&'a mut [f32], KernelError> {
        check_contiguous(kernel, what, self.rows, self.cols, self.ld, self.trans)?;
        Ok(&mut self.data[..self.rows * self.cols])
    }
}

fn flip(t: Trans) -> Trans {
    match t {
        Trans::N => Trans::T,
        Trans::T => Trans::N,
    }
}

fn op_shape(t: Trans, rows: usize, cols: usize) -> (usize, usize) {
    match t {
        Trans::N => (rows, cols),
        Trans::T => (cols, rows),
    }
}

fn check_contiguous(
    kernel: &str,
    what: &str,
    rows: usize,
    cols: usize,
    ld: usize,
    trans: Trans,
) -> Result<(), KernelError> {
    if trans == Trans::T {
        return Err(KernelError::new(format!(
            "{kernel}: {what} is a transposed view, expected the {rows} x {cols} batch as stored"
        )));
    }
    if ld != cols && rows > 1 {
        return Err(KernelError::new(format!(
            "{kernel}: {what} has leading dimension {ld}, expected a contiguous {rows} x {cols} batch (ld = {cols})"
        )));
    }
    Ok(())
}

/// Check that `got` has exactly `want` elements: the one length check of the kernels.
pub(crate) fn check_len(
    kernel: &str,
    what: &str,
    got: usize,
    want: usize,
) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError::new(format!(
            "{kernel}: {what} has {got} elements, expected {want}"
        )));
    }
    Ok(())
}

/// Check that the view `what` of `kernel` is `rows x cols` (as `op(X)`).
pub(crate) fn check_shape(
    kernel: &str,
    what: &str,
    got: (usize, usize),
    want: (usize, usize),
) -> Result<(), KernelError> {
    if got != want {
        return Err(KernelError::new(format!(
            "{kernel}: {what} is {} x {}, expected {} x {}",
            got.0, got.1, want.0, want.1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_name_the_argument_value_and_expectation() {
        let v = vec![0.0f32; 10];
        let e = MatRef::new(&v, 3, 4).unwrap_err().to_string();
        assert!(e.contains("10") && e.contains("3 x 4 = 12"), "{e}");
        let e = MatRef::strided(&v, 3, 4, 3).unwrap_err().to_string();
        assert!(e.contains("ld = 3") && e.contains("cols = 4"), "{e}");
        let e = MatRef::strided(&v, 3, 3, 5).unwrap_err().to_string();
        assert!(e.contains("10") && e.contains("at least 13"), "{e}");
        let e = MatRef::strided(&v, usize::MAX, 2, usize::MAX)
            .unwrap_err()
            .to_string();
        assert!(e.contains("overflows"), "{e}");
        assert!(MatRef::strided(&v, 2, 3, 7).is_ok());
        assert!(MatRef::strided(&v, 0, 3, 100).is_ok());
        let mut w = vec![0.0f32; 12];
        assert!(MatMut::new(&mut w, 4, 3).is_ok());
        assert!(MatMut::new(&mut w, 4, 4).is_err());
    }

    #[test]
    fn transpose_swaps_the_shape_and_indexing() {
        let v: Vec<f32> = (0..6).map(|i| i as f32).collect();
        let a = MatRef::new(&v, 2, 3).unwrap();
        let t = a.t();
        assert_eq!((a.nrows(), a.ncols()), (2, 3));
        assert_eq!((t.nrows(), t.ncols()), (3, 2));
        assert_eq!(a.at(1, 2), 5.0);
        assert_eq!(t.at(2, 1), 5.0);
        assert_eq!(t.t().trans(), Trans::N);
        assert!(t
            .contiguous("k", "x")
            .unwrap_err()
            .to_string()
            .contains("transposed"));
        let s = MatRef::strided(&v, 2, 2, 3).unwrap();
        let e = s.contiguous("k", "x").unwrap_err().to_string();
        assert!(e.contains("k: x has leading dimension 3"), "{e}");
        assert_eq!(s.row(1), &[3.0, 4.0]);
    }
}
