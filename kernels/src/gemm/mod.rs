//! SGEMM: `C = alpha * op(A) * op(B) + beta * C`, row-major, cblas argument order.
//!
//! BLIS design. A and B are packed into zero-padded micro-panels ([`pack`]), five loops walk
//! the cache blocks, and one register-tiled micro-kernel per ISA ([`microkernel`]) computes an
//! `MR x NR` tile of C:
//!
//! ```text
//! LOOP 5 (JC) n by NC    B panel  KC x NC  -> L3
//!  LOOP 4 (PC) k by KC     pack B panel (or stream it unpacked when m is small)
//!   LOOP 3 (IC) m by MC     pack A block MC x KC -> L2
//!    LOOP 2 (JR) nc by NR    B micro-panel KC x NR -> L1
//!     LOOP 1 (IR) mc by MR    micro-kernel on one MR x NR tile of C
//! ```
//!
//! Edges: packing zero-pads the ragged panels, and LOOP 1 routes a partial tile through a stack
//! buffer, so the micro-kernel only ever sees full tiles.
//!
//! Semantics are exactly those of [`crate::reference::sgemm`]: with `beta == 0` C is never read; with
//! `alpha == 0` (or `k == 0`) A and B are not read and `C = beta * C`.
//!
//! Threads: rayon, splitting the n (JC) or m (IC) range into contiguous, tile-aligned chunks,
//! one per thread, never the k loop. Every element of C is computed by the same sequence of
//! operations whatever the split (see the micro-kernel contract), so the result is bit-identical
//! for any thread count. Products under [`MIN_FLOPS_PER_THREAD`] per thread use fewer threads.
//!
//! Small m: when `op(B)` is `N` and `m <= DIRECT_B_MAX_M`, packing B (k x n, read once, reused
//! by only a few A micro-panels) would cost as much as the arithmetic, so the micro-kernel
//! streams B's rows directly from the caller's matrix (B row stride `ldb` instead of `NR`);
//! only the ragged last panel (n not a multiple of NR) is packed.

pub mod baseline;
pub mod blocking;
pub(crate) mod microkernel;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
pub(crate) mod pack;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use std::cell::RefCell;

pub use blocking::{CacheSizes, GemmBlocking};
use microkernel::MicroKernel;
use pack::{pack_a_block, pack_b_panel, Operand};

use crate::{threads, Isa, KernelError, Kernels, Trans};

/// Up to this many rows of C, an `op(B) = N` product streams B unpacked (see module doc).
pub const DIRECT_B_MAX_M: usize = 64;

/// A product uses one more thread only for every this many FLOP (2*m*n*k) of work.
pub const MIN_FLOPS_PER_THREAD: usize = 40_000_000;

/// Largest micro-tile of any ISA (for the stack buffer of partial tiles).
const MAX_TILE: usize = 16 * 64;

/// The GEMM part of a kernel table: the micro-kernel of the ISA and its blocking.
pub(crate) struct GemmTable {
    kernel: MicroKernel,
    /// The kernel's name, carrying its tile shape.
    name: &'static str,
    blocking: GemmBlocking,
}

/// The micro-kernels available for `isa` as `(name, MR, NR, kernel)`; the first is the default.
///
/// AVX-512 tiles measured with `sdae bench gemm --isa avx512 --threads 1` (SDAE_GEMM_TILE picks a
/// candidate); see the tile table in README/doc of [`GemmTable::for_supported_isa`].
fn candidates(isa: Isa) -> Vec<(&'static str, usize, usize, MicroKernel)> {
    match isa {
        Isa::Scalar => vec![("scalar_4x8", 4, 8, microkernel::scalar_4x8 as MicroKernel)],
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => vec![("avx2_6x16", 6, 16, x86::avx2_6x16 as MicroKernel)],
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => vec![
            ("avx512_12x32", 12, 32, x86::avx512_12x32 as MicroKernel),
            ("avx512_14x32", 14, 32, x86::avx512_14x32 as MicroKernel),
            ("avx512_8x48", 8, 48, x86::avx512_8x48 as MicroKernel),
            ("avx512_10x48", 10, 48, x86::avx512_10x48 as MicroKernel),
            ("avx512_6x64", 6, 64, x86::avx512_6x64 as MicroKernel),
        ],
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => vec![("neon_8x12", 8, 12, neon::neon_8x12 as MicroKernel)],
        #[allow(unreachable_patterns)]
        _ => unreachable!("no GEMM kernel for {isa} on this architecture"),
    }
}

impl GemmTable {
    /// The table for an ISA the CPU supports (the caller checked).
    ///
    /// `SDAE_GEMM_TILE=<name>` (e.g. `avx512_14x32`) selects another candidate tile of the ISA:
    /// a tuning knob for measuring tiles, not meant for users. Unknown names are ignored.
    pub(crate) fn for_supported_isa(isa: Isa) -> GemmTable {
        let cands = candidates(isa);
        let wanted = std::env::var("SDAE_GEMM_TILE").ok();
        let (name, mr, nr, kernel) = cands
            .iter()
            .copied()
            .find(|c| wanted.as_deref() == Some(c.0))
            .unwrap_or(cands[0]);
        GemmTable {
            kernel,
            name,
            blocking: GemmBlocking::derive(isa, mr, nr, CacheSizes::detect()),
        }
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
            .ok_or_else(|| KernelError::new(format!("sgemm: {name} ({rows} x {cols}, ld {ld}) overflows usize")))?
    };
    if len < need {
        return Err(KernelError::new(format!(
            "sgemm: {name} holds {len} elements but a {rows} x {cols} matrix with leading dimension {ld} needs {need}"
        )));
    }
    Ok(())
}

/// A 64-byte aligned, growable f32 scratch buffer (packed panels).
#[derive(Default)]
struct Scratch {
    buf: Vec<f32>,
}

impl Scratch {
    fn slice(&mut self, len: usize) -> &mut [f32] {
        let need = len + 16;
        if self.buf.len() < need {
            self.buf = vec![0.0; need];
        }
        let off = self.buf.as_ptr().align_offset(64).min(15);
        &mut self.buf[off..off + len]
    }
}

thread_local! {
    /// Packing buffers of this thread (A block, B panel), reused across calls.
    static SCRATCH: RefCell<(Scratch, Scratch)> = RefCell::new(Default::default());
}

/// The output matrix as a raw pointer, shared by the threads of one product.
#[derive(Clone, Copy)]
struct COut {
    ptr: *mut f32,
    ldc: usize,
}

// SAFETY: the threads of one product write disjoint rectangles of C (split_work), all inside
// the slice validated by check_matrix, and the slice's borrow outlives the rayon scope.
unsafe impl Send for COut {}
// SAFETY: as above; no two threads touch the same element.
unsafe impl Sync for COut {}

/// Everything one thread needs to compute a rectangle of C.
#[derive(Clone, Copy)]
struct Job<'a> {
    table: &'a GemmTable,
    k: usize,
    alpha: f32,
    a: Operand<'a>,
    b: Operand<'a>,
    beta: f32,
    c: COut,
}

/// The five loops over rows `m0..m1`, columns `n0..n1` of C, on the calling thread.
fn run_block(job: &Job<'_>, m0: usize, m1: usize, n0: usize, n1: usize) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let (sa, sb) = &mut *s;
            run_block_with(job, m0, m1, n0, n1, sa, sb)
        }
        // Re-entered on this thread (a rayon steal inside a product): use fresh buffers.
        Err(_) => run_block_with(
            job,
            m0,
            m1,
            n0,
            n1,
            &mut Scratch::default(),
            &mut Scratch::default(),
        ),
    })
}

fn run_block_with(
    job: &Job<'_>,
    m0: usize,
    m1: usize,
    n0: usize,
    n1: usize,
    sa: &mut Scratch,
    sb: &mut Scratch,
) {
    let bl = &job.table.blocking;
    let (mr, nr) = (bl.mr, bl.nr);
    let kernel = job.table.kernel;
    let k = job.k;
    let direct_b = job.b.trans == Trans::N && m1 - m0 <= DIRECT_B_MAX_M;
    let kc_max = bl.kc.min(k);
    let mc_max = bl.mc.min((m1 - m0).div_ceil(mr) * mr);
    let nc_max = bl.nc.min((n1 - n0).div_ceil(nr) * nr);
    let abuf = sa.slice(mc_max * kc_max);
    let bbuf = sb.slice(if direct_b { nr } else { nc_max } * kc_max);
    let ldc = job.c.ldc;

    // LOOP 5 (JC): columns of C by NC.
    for jc in (n0..n1).step_by(bl.nc) {
        let ncur = bl.nc.min(n1 - jc);
        // LOOP 4 (PC): the k dimension by KC; never split across threads.
        for pc in (0..k).step_by(bl.kc) {
            let kcur = bl.kc.min(k - pc);
            // The first k block applies the caller's beta, later ones accumulate.
            let beta = if pc == 0 { job.beta } else { 1.0 };
            let ragged = ncur % nr;
            if direct_b {
                if ragged != 0 {
                    pack_b_panel(job.b, pc, kcur, jc + ncur - ragged, ragged, nr, bbuf);
                }
            } else {
                pack_b_panel(job.b, pc, kcur, jc, ncur, nr, bbuf);
            }
            // LOOP 3 (IC): rows of C by MC.
            for ic in (m0..m1).step_by(bl.mc) {
                let mcur = bl.mc.min(m1 - ic);
                pack_a_block(job.a, ic, mcur, pc, kcur, mr, abuf);
                // LOOP 2 (JR): one B micro-panel (KC x NR).
                for jr in (0..ncur).step_by(nr) {
                    let nrc = nr.min(ncur - jr);
                    let (bptr, bstride) = if direct_b && nrc == nr {
                        // SAFETY: rows pc..pc+kcur, columns jc+jr..jc+jr+nr of B exist
                        // (validated by check_matrix; nrc == nr full columns).
                        let p = unsafe { job.b.data.as_ptr().add(pc * job.b.ld + jc + jr) };
                        (p, job.b.ld)
                    } else if direct_b {
                        (bbuf.as_ptr(), nr)
                    } else {
                        (bbuf[(jr / nr) * nr * kcur..].as_ptr(), nr)
                    };
                    // LOOP 1 (IR): one A micro-panel (MR x KC), one tile of C.
                    for ir in (0..mcur).step_by(mr) {
                        let mrc = mr.min(mcur - ir);
                        let aptr = abuf[(ir / mr) * mr * kcur..].as_ptr();
                        let row = ic + ir;
                        let col = jc + jr;
                        if mrc == mr && nrc == nr {
                            // SAFETY: the table's ISA is supported (Kernels invariant); A and
                            // B panels hold kcur full rows (packed or validated stride);
                            // the MR x NR tile at (row, col) lies inside C (mrc, nrc full).
                            unsafe {
                                kernel(
                                    kcur,
                                    job.alpha,
                                    aptr,
                                    bptr,
                                    bstride,
                                    beta,
                                    job.c.ptr.add(row * ldc + col),
                                    ldc,
                                )
                            }
                        } else {
                            edge_tile(job, kcur, aptr, bptr, bstride, beta, row, col, mrc, nrc);
                        }
                    }
                }
            }
        }
    }
}

/// A partial `mrc x nrc` tile: the kernel computes a full tile into a stack buffer (C copied in
/// first unless beta == 0), and only the valid part is copied back. Same arithmetic per element
/// as a full tile.
#[allow(clippy::too_many_arguments)]
fn edge_tile(
    job: &Job<'_>,
    kcur: usize,
    aptr: *const f32,
    bptr: *const f32,
    bstride: usize,
    beta: f32,
    row: usize,
    col: usize,
    mrc: usize,
    nrc: usize,
) {
    let nr = job.table.blocking.nr;
    let ldc = job.c.ldc;
    let mut tile = [0.0f32; MAX_TILE];
    for i in 0..mrc {
        // SAFETY: rows row..row+mrc, columns col..col+nrc lie inside the validated C, and this
        // thread owns that rectangle.
        let crow =
            unsafe { std::slice::from_raw_parts_mut(job.c.ptr.add((row + i) * ldc + col), nrc) };
        if beta != 0.0 {
            tile[i * nr..i * nr + nrc].copy_from_slice(crow);
        }
    }
    // SAFETY: supported ISA (Kernels invariant); A/B panels as for a full tile; the stack
    // tile holds MR x NR floats (MR*NR <= MAX_TILE) at row stride NR.
    unsafe {
        (job.table.kernel)(
            kcur,
            job.alpha,
            aptr,
            bptr,
            bstride,
            beta,
            tile.as_mut_ptr(),
            nr,
        )
    };
    for i in 0..mrc {
        // SAFETY: as above.
        let crow =
            unsafe { std::slice::from_raw_parts_mut(job.c.ptr.add((row + i) * ldc + col), nrc) };
        crow.copy_from_slice(&tile[i * nr..i * nr + nrc]);
    }
}

/// How to cut C among `t` threads: `(m_chunks, n_chunks)` as lists of half-open ranges.
#[allow(clippy::type_complexity)]
fn split_work(
    t: usize,
    m: usize,
    n: usize,
    mr: usize,
    nr: usize,
) -> Vec<((usize, usize), (usize, usize))> {
    let chunks = |len: usize, unit: usize, parts: usize| -> Vec<(usize, usize)> {
        let units = len.div_ceil(unit);
        let parts = parts.min(units).max(1);
        (0..parts)
            .map(|p| {
                let s = (units * p / parts * unit).min(len);
                let e = (units * (p + 1) / parts * unit).min(len);
                (s, e)
            })
            .filter(|(s, e)| e > s)
            .collect()
    };
    // Prefer splitting n (JC): each thread then packs only its share of B; A is small.
    let (ms, ns) = if n.div_ceil(nr) >= 2 * t || n.div_ceil(nr) >= m.div_ceil(mr) {
        (vec![(0, m)], chunks(n, nr, t))
    } else {
        (chunks(m, mr, t), vec![(0, n)])
    };
    ms.iter()
        .flat_map(|&mm| ns.iter().map(move |&nn| (mm, nn)))
        .collect()
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
        self.sgemm_threads(threads::threads(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// As [`Kernels::sgemm`] with at most `max_threads` threads (fewer for small products).
    #[allow(clippy::too_many_arguments)]
    pub fn sgemm_threads(
        &self,
        max_threads: usize,
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
        let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
        let t = max_threads
            .max(1)
            .min((flops / MIN_FLOPS_PER_THREAD).max(1));
        self.sgemm_split(t, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// As [`Kernels::sgemm`] cut into exactly `parts` pieces (one rayon task each) whatever the
    /// size: lets tests exercise the thread split on small shapes. Not a tuning knob.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn sgemm_split(
        &self,
        parts: usize,
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
        if alpha == 0.0 || k == 0 {
            // C = beta * C; A and B are not read (reference semantics).
            for row in c.chunks_mut(ldc).take(m) {
                for v in &mut row[..n] {
                    *v = if beta == 0.0 { 0.0 } else { beta * *v };
                }
            }
            return Ok(());
        }
        let table = &self.gemm;
        let job = Job {
            table,
            k,
            alpha,
            a: Operand {
                data: a,
                ld: lda,
                trans: ta,
            },
            b: Operand {
                data: b,
                ld: ldb,
                trans: tb,
            },
            beta,
            c: COut {
                ptr: c.as_mut_ptr(),
                ldc,
            },
        };
        let work = split_work(parts.max(1), m, n, table.blocking.mr, table.blocking.nr);
        if work.len() == 1 {
            run_block(&job, 0, m, 0, n);
        } else {
            rayon::scope(|s| {
                for &((m0, m1), (n0, n1)) in &work[1..] {
                    let job = &job;
                    s.spawn(move |_| run_block(job, m0, m1, n0, n1));
                }
                let ((m0, m1), (n0, n1)) = work[0];
                run_block(&job, m0, m1, n0, n1);
            });
        }
        Ok(())
    }

    /// The GEMM blocking of this table's ISA (micro-tile, KC, MC, NC and the cache sizes).
    pub fn gemm_blocking(&self) -> GemmBlocking {
        self.gemm.blocking
    }

    /// The name of this table's GEMM micro-kernel, tile shape included (e.g. `avx512_12x32`).
    pub fn gemm_kernel_name(&self) -> &'static str {
        self.gemm.name
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

/// The machine's measured single-thread FMA peak on `isa`, in GFLOP/s: a register-only loop of
/// independent fused multiply-adds (no memory traffic), run for about `seconds`; the best of
/// ~1 ms chunks is reported. Benchmarks print GEMM throughput as a fraction of it.
pub fn fma_peak_gflops(isa: Isa, seconds: f64) -> Result<f64, KernelError> {
    if !isa.is_supported() {
        crate::isa::parse_supported(isa.name(), "fma_peak_gflops")?;
    }
    // (FMA loop, lanes * chains): flops per iteration = 2 * lanes * chains.
    let (run, per_iter): (fn(usize, f32) -> f32, f64) = match isa {
        Isa::Scalar => (microkernel::scalar_fma_loop, 2.0 * 8.0),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => (
            // SAFETY: AVX2+FMA checked above (is_supported).
            |n, s| unsafe { x86::avx2_fma_loop(n, s) },
            2.0 * 8.0 * 12.0,
        ),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => (
            // SAFETY: AVX-512F checked above (is_supported).
            |n, s| unsafe { x86::avx512_fma_loop(n, s) },
            2.0 * 16.0 * 16.0,
        ),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => (
            // SAFETY: NEON checked above (is_supported).
            |n, s| unsafe { neon::neon_fma_loop(n, s) },
            2.0 * 4.0 * 16.0,
        ),
        #[allow(unreachable_patterns)]
        _ => unreachable!("supported ISA without an FMA loop"),
    };
    // Calibrate a chunk of about 1 ms.
    let mut iters = 1000usize;
    loop {
        let t = std::time::Instant::now();
        std::hint::black_box(run(std::hint::black_box(iters), 1.0));
        if t.elapsed().as_secs_f64() > 1e-3 || iters > 1 << 30 {
            break;
        }
        iters *= 2;
    }
    let start = std::time::Instant::now();
    let mut best = 0.0f64;
    while best == 0.0 || start.elapsed().as_secs_f64() < seconds {
        let t = std::time::Instant::now();
        std::hint::black_box(run(std::hint::black_box(iters), 1.0));
        let dt = t.elapsed().as_secs_f64();
        best = best.max(per_iter * iters as f64 / dt / 1e9);
    }
    Ok(best)
}
