//! SGEMM: `C = alpha * op(A) * op(B) + beta * C`, row-major, cblas argument order.
//!
//! PLACEHOLDER (skeleton commit): validates and calls the reference. The blocked GEMM replaces it.

use crate::{reference, threads, Isa, KernelError, Kernels, Trans};

/// The GEMM part of a kernel table.
pub(crate) struct GemmTable {
    #[allow(dead_code)]
    isa: Isa,
}

impl GemmTable {
    pub(crate) fn for_supported_isa(isa: Isa) -> GemmTable {
        GemmTable { isa }
    }
}

/// Check that a `rows x cols` row-major view with leading dimension `ld` fits in `len` elements.
pub fn check_matrix(
    name: &str,
    rows: usize,
    cols: usize,
    ld: usize,
    len: usize,
) -> Result<(), KernelError> {
    if ld < cols.max(1) {
        return Err(KernelError::new(format!(
            "sgemm: leading dimension ld{name} = {ld} is smaller than the row width {cols} of {name} ({rows} x {cols})"
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
                    "sgemm: {name} ({rows} x {cols}, ld {ld}) overflows usize"
                ))
            })?
    };
    if len < need {
        return Err(KernelError::new(format!(
            "sgemm: {name} holds {len} elements but a {rows} x {cols} matrix with leading dimension {ld} needs {need}"
        )));
    }
    Ok(())
}

impl Kernels {
    /// `C = alpha * op(A) * op(B) + beta * C` with the process-wide thread count.
    #[allow(clippy::too_many_arguments)]
    pub fn sgemm(
        &self,
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
        self.sgemm_threads(
            threads::threads(),
            ta,
            tb,
            m,
            n,
            k,
            alpha,
            a,
            lda,
            b,
            ldb,
            beta,
            c,
            ldc,
        )
    }

    /// As [`Kernels::sgemm`] with at most `max_threads` threads.
    #[allow(clippy::too_many_arguments)]
    pub fn sgemm_threads(
        &self,
        _max_threads: usize,
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
        reference::sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        Ok(())
    }
}

/// [`Kernels::sgemm`] on the process-wide kernel table.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
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
    crate::kernels().sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
