//! The baseline the benchmarks compare against: `matrixmultiply::sgemm` (bluss), behind the same
//! safe, validated, row-major cblas-style signature as [`crate::Kernels::sgemm`].
//!
//! Its thread count is fixed once per process by the `MATMUL_NUM_THREADS` environment variable
//! (read on its first call; default: physical cores, at most 4).

use super::check_matrix;
use crate::{KernelError, Trans};

/// `C = alpha * op(A) * op(B) + beta * C` computed by matrixmultiply.
#[allow(clippy::too_many_arguments)]
pub fn matrixmultiply_sgemm(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> Result<(), KernelError> {
    let (ar, ac) = if ta == Trans::N { (m, k) } else { (k, m) };
    let (br, bc) = if tb == Trans::N { (k, n) } else { (n, k) };
    check_matrix("A", ar, ac, lda, a.len())?;
    check_matrix("B", br, bc, ldb, b.len())?;
    check_matrix("C", m, n, ldc, c.len())?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    // Row/column strides of op(X) for a row-major X with leading dimension ld.
    let strides = |t: Trans, ld: usize| match t {
        Trans::N => (ld as isize, 1isize),
        Trans::T => (1isize, ld as isize),
    };
    let (rsa, csa) = strides(ta, lda);
    let (rsb, csb) = strides(tb, ldb);
    // SAFETY: check_matrix proved every element (i, p) of op(A), (p, j) of op(B) and (i, j) of
    // C addressed through these strides lies inside its slice; C is uniquely borrowed.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            ldc as isize,
            1,
        )
    };
    Ok(())
}
