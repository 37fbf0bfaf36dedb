//! The baseline the benchmarks compare against: `matrixmultiply::sgemm` (bluss), behind the same
//! safe signature over matrix views as [`crate::Kernels::sgemm`].
//!
//! Its thread count is fixed once per process by the `MATMUL_NUM_THREADS` environment variable
//! (read on its first call; default: physical cores, at most 4).

use super::gemm_shape;
use crate::mat::{MatMut, MatRef};
use crate::{KernelError, Trans};

/// `C = alpha * op(A) * op(B) + beta * C` computed by matrixmultiply (views as for
/// [`crate::Kernels::sgemm`]).
pub fn matrixmultiply_sgemm(
    alpha: f32,
    a: MatRef<'_>,
    b: MatRef<'_>,
    beta: f32,
    c: MatMut<'_>,
) -> Result<(), KernelError> {
    let (m, n, k) = gemm_shape("matrixmultiply_sgemm", &a, &b, &c)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    // Row/column strides of op(X) for a row-major X with leading dimension ld.
    let strides = |t: Trans, ld: usize| match t {
        Trans::N => (ld as isize, 1isize),
        Trans::T => (1isize, ld as isize),
    };
    let (rsa, csa) = strides(a.trans(), a.ld());
    let (rsb, csb) = strides(b.trans(), b.ld());
    let (rsc, csc) = strides(c.trans(), c.ld());
    let c = c.into_data();
    // SAFETY: the views proved every element (i, p) of op(A), (p, j) of op(B) and (i, j) of
    // op(C) addressed through these strides lies inside its slice; C is uniquely borrowed.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.data().as_ptr(),
            rsa,
            csa,
            b.data().as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        )
    };
    Ok(())
}
