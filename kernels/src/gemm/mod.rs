//! SGEMM: `C = alpha * op(A) * op(B) + beta * C` over row-major matrix views ([`crate::mat`]:
//! a transposed view is `op(X) = X^T`).
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
//! Edges: packing zero-pads the ragged panels; LOOP 1 picks an edge kernel of a smaller tile
//! where the ISA has one (e.g. 8x16 for a 16-column remainder of 8x48, 4x48 for 4 remaining
//! rows) and routes any other partial tile through a stack buffer, so a micro-kernel only ever
//! sees its own full tile.
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
//! only the ragged last panel (n not a multiple of NR) is packed. Small-m `A * B^T` on AVX-512
//! and AVX2 leaves the five loops altogether: see [`NT_DOT_MAX_M`].

pub mod baseline;
pub mod blocking;
pub(crate) mod microkernel;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
pub(crate) mod pack;
pub mod plan;
pub mod registry;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

use std::cell::RefCell;

pub use blocking::{CacheSizes, GemmBlocking};
use microkernel::{MicroKernel, Tile, TileCall};
use pack::{pack_a_block, pack_a_for, pack_b_panel, Operand, PackA};
pub use plan::{GemmPlan, LoopOrder};
use registry::KernelSpec;

use crate::mat::{MatMut, MatRef};
use crate::{threads, Isa, KernelError, Kernels, Trans};

/// The cache model's default for [`GemmPlan::direct_b_max_m`]: up to this many rows of C, an
/// `op(B) = N` product streams B unpacked (see module doc). Measured on a Zen 5 (1 thread,
/// AVX-512, GFLOP per CPU-second, 3 rounds): 64 -> 256 took 128x784x1000 from 197-204 to
/// 204-215 and 128x1000x1000 from 194-203 to 213-225; 256 and 512 rows were no slower
/// unpacked (172-177 vs 172-188, 155-190 vs 160-190).
pub const DIRECT_B_MAX_M: usize = 256;

/// The cache model's default for [`GemmPlan::nt_dot_max_m`]: up to this many rows of C,
/// `A * B^T` (op(A) = N, op(B) = T) on an ISA with a dot-product routine skips packing:
/// packing B^T means transposing all of B (k x n) for only 2*m*n*k FLOP. Instead each element
/// is a dot product of two rows read where they are (k contiguous). Measured on a Zen 5
/// (1 thread, GFLOP per CPU-second, 3 rounds, dot vs packed): m = 20: 179 vs 66; m = 128:
/// 183-186 vs 165-173; m = 256: 179-193 vs 189-201; m = 512: 163-169 vs 185-214.
pub const NT_DOT_MAX_M: usize = 128;

/// A product uses one more thread only for every this many FLOP (2*m*n*k) of work.
pub const MIN_FLOPS_PER_THREAD: usize = 8_000_000;

/// Largest micro-tile of any ISA (for the stack buffer of partial tiles).
const MAX_TILE: usize = 16 * 64;

/// A small-m `A * B^T` routine over a whole rectangle ([`NtDotCall`]); both operands are read
/// with k contiguous, nothing is packed.
pub(crate) type NtDot = unsafe fn(&NtDotCall);

/// One small-m `A * B^T` call: `C = alpha * A * B^T + beta * C` over `k`, C of
/// `a.rows x b.rows` at `c`.
#[derive(Clone, Copy)]
pub(crate) struct NtDotCall {
    pub k: usize,
    pub alpha: f32,
    pub a: DotRows,
    pub b: DotRows,
    pub beta: f32,
    pub c: COut,
}

/// The ISA's small-m NT routine, if it has one.
fn nt_dot_for(isa: Isa) -> Option<NtDot> {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => Some(x86::avx512_nt_dot as NtDot),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => Some(x86::avx2_nt_dot as NtDot),
        _ => None,
    }
}

/// Whether `isa` has a dot-product path for small-m `A * B^T`.
pub fn has_nt_dot(isa: Isa) -> bool {
    nt_dot_for(isa).is_some()
}

/// The GEMM part of a kernel table: the plan in force and the kernels it names.
pub(crate) struct GemmTable {
    spec: &'static KernelSpec,
    plan: GemmPlan,
    /// The ISA's small-m NT routine when the plan uses it.
    nt_dot: Option<NtDot>,
    /// The ISA's routine for packing a row-major A block, if it has one.
    pack_a: Option<PackA>,
    blocking: GemmBlocking,
}

impl GemmTable {
    /// The table for an ISA the CPU supports (the caller checked) under `plan`.
    pub(crate) fn for_supported_isa(isa: Isa, plan: &GemmPlan) -> Result<GemmTable, KernelError> {
        let spec = plan.validate(isa)?;
        let caches = CacheSizes::detect();
        let blocking = GemmBlocking {
            isa,
            mr: spec.mr(),
            nr: spec.nr(),
            kc: plan.kc,
            mc: plan.mc,
            nc: plan.nc,
            caches,
        };
        let nt_dot = nt_dot_for(isa).filter(|_| plan.nt_dot_max_m > 0);
        Ok(GemmTable {
            spec,
            plan: plan.clone(),
            nt_dot,
            pack_a: pack_a_for(isa),
            blocking,
        })
    }
}

/// The shape `(m, n, k)` of `C = alpha op(A) op(B) + beta C`, after checking that the three
/// views agree; `kernel` names the entry point in the error.
pub(crate) fn gemm_shape(
    kernel: &str,
    a: &MatRef<'_>,
    b: &MatRef<'_>,
    c: &MatMut<'_>,
) -> Result<(usize, usize, usize), KernelError> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if b.nrows() != k {
        return Err(KernelError::new(format!(
            "{kernel}: op(A) is {m} x {k} but op(B) is {} x {n}: expected op(B) to have {k} rows",
            b.nrows()
        )));
    }
    if (c.nrows(), c.ncols()) != (m, n) {
        return Err(KernelError::new(format!(
            "{kernel}: C is {} x {}, expected {m} x {n} (rows of op(A) x columns of op(B))",
            c.nrows(),
            c.ncols()
        )));
    }
    Ok((m, n, k))
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
pub(crate) struct COut {
    pub ptr: *mut f32,
    pub ldc: usize,
}

// SAFETY: the threads of one product write disjoint rectangles of C (split_work), all inside
// the slice validated by its view (MatMut), and the slice's borrow outlives the rayon scope.
unsafe impl Send for COut {}
// SAFETY: as above; no two threads touch the same element.
unsafe impl Sync for COut {}

/// Rows of one operand of the dot-product path: `rows` rows of `k` contiguous floats, row `i`
/// at `ptr + i * ld`.
#[derive(Clone, Copy)]
pub(crate) struct DotRows {
    pub ptr: *const f32,
    pub rows: usize,
    pub ld: usize,
}

impl DotRows {
    /// The rows from row `i` on.
    ///
    /// # Safety
    ///
    /// `i <= self.rows`.
    #[inline(always)]
    pub(crate) unsafe fn rows_from(self, i: usize) -> DotRows {
        DotRows {
            // SAFETY: row i lies inside (or one past) the rows (caller).
            ptr: unsafe { self.ptr.add(i * self.ld) },
            rows: self.rows - i,
            ld: self.ld,
        }
    }
}

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
    let k = job.k;
    let direct_b = job.b.trans == Trans::N && m1 - m0 <= job.table.plan.direct_b_max_m;
    let kc_max = bl.kc.min(k);
    let mc_max = bl.mc.min((m1 - m0).div_ceil(mr) * mr);
    let nc_max = bl.nc.min((n1 - n0).div_ceil(nr) * nr);
    let abuf = sa.slice(mc_max * kc_max);
    let bbuf = sb.slice(if direct_b { nr } else { nc_max } * kc_max);
    let a_in_l1 = job.table.plan.order == LoopOrder::AInL1 || k <= job.table.plan.short_k_max;

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
                    pack_b_panel(
                        job.b,
                        pc,
                        kcur,
                        jc + ncur - ragged,
                        ragged,
                        nr,
                        bbuf,
                        job.table.pack_a,
                    );
                }
            } else {
                pack_b_panel(job.b, pc, kcur, jc, ncur, nr, bbuf, job.table.pack_a);
            }
            // LOOP 3 (IC): rows of C by MC.
            for ic in (m0..m1).step_by(bl.mc) {
                let mcur = bl.mc.min(m1 - ic);
                pack_a_block(job.a, ic, mcur, pc, kcur, mr, abuf, job.table.pack_a);
                let at = TileAt {
                    kcur,
                    beta,
                    ic,
                    jc,
                    mcur,
                    ncur,
                    direct_b,
                    pc,
                };
                if a_in_l1 {
                    // LOOP 2 (IR) over A micro-panels, LOOP 1 (JR) over B micro-panels.
                    for ir in (0..mcur).step_by(mr) {
                        for jr in (0..ncur).step_by(nr) {
                            run_tile(job, &at, abuf, bbuf, ir, jr);
                        }
                    }
                } else {
                    // LOOP 2 (JR) over B micro-panels, LOOP 1 (IR) over A micro-panels.
                    for jr in (0..ncur).step_by(nr) {
                        for ir in (0..mcur).step_by(mr) {
                            run_tile(job, &at, abuf, bbuf, ir, jr);
                        }
                    }
                }
            }
        }
    }
}

/// Where the current packed blocks lie: what [`run_tile`] needs besides the tile's offsets.
struct TileAt {
    kcur: usize,
    beta: f32,
    ic: usize,
    jc: usize,
    mcur: usize,
    ncur: usize,
    direct_b: bool,
    pc: usize,
}

/// The kernel for a tile with `mrc x nrc` valid elements: the full one, or the edge tile of
/// the smallest shape covering a ragged m or n (same arithmetic per element).
fn choose_tile(spec: &KernelSpec, mrc: usize, nrc: usize) -> Tile {
    let (mr, nr) = (spec.mr(), spec.nr());
    if mrc == mr && nrc == nr {
        return spec.main;
    }
    if mrc == mr {
        if let Some(t) = spec.edge_n.iter().find(|t| t.cols >= nrc) {
            return *t;
        }
    }
    if nrc == nr {
        if let Some(t) = spec.edge_m.iter().find(|t| t.rows >= mrc) {
            return *t;
        }
    }
    spec.main
}

/// One micro-tile: A micro-panel `ir`, B micro-panel `jr` of the current blocks.
fn run_tile(job: &Job<'_>, at: &TileAt, abuf: &[f32], bbuf: &[f32], ir: usize, jr: usize) {
    let spec = job.table.spec;
    let (mr, nr) = (spec.mr(), spec.nr());
    let kcur = at.kcur;
    let ldc = job.c.ldc;
    let nrc = nr.min(at.ncur - jr);
    let mrc = mr.min(at.mcur - ir);
    let (bptr, bstride) = if at.direct_b && nrc == nr {
        // SAFETY: rows pc..pc+kcur, columns jc+jr..jc+jr+nr of B exist (validated by
        // its view; nrc == nr full columns).
        let p = unsafe { job.b.data.as_ptr().add(at.pc * job.b.ld + at.jc + jr) };
        (p, job.b.ld)
    } else if at.direct_b {
        (bbuf.as_ptr(), nr)
    } else {
        (bbuf[(jr / nr) * nr * kcur..].as_ptr(), nr)
    };
    let aptr = abuf[(ir / mr) * mr * kcur..].as_ptr();
    let row = at.ic + ir;
    let col = at.jc + jr;
    let tile = choose_tile(spec, mrc, nrc);
    debug_assert_eq!(
        tile.astep, mr,
        "an edge tile reads the panels of its main tile"
    );
    let call = TileCall {
        k: kcur,
        alpha: job.alpha,
        a: aptr,
        b: bptr,
        ldb: bstride,
        beta: at.beta,
        // SAFETY: (row, col) lies inside C (the tile's valid part starts there).
        c: unsafe { job.c.ptr.add(row * ldc + col) },
        ldc,
    };
    if mrc == tile.rows && nrc == tile.cols {
        // SAFETY: the table's ISA is supported (Kernels invariant); A and B panels hold kcur
        // full rows (packed or validated stride, at least tile.cols wide); the tile at
        // (row, col) lies inside C (it is exactly the valid part).
        unsafe { (tile.kernel)(&call) }
    } else {
        let edge = EdgeTile {
            kernel: tile.kernel,
            cols: tile.cols,
            rows: mrc,
            valid_cols: nrc,
        };
        edge_tile(edge, &call);
    }
}

/// Rows `m0..m1`, columns `n0..n1` of C by the ISA's dot-product routine (op(A) = N, op(B) = T).
fn run_nt_dot(job: &Job<'_>, f: NtDot, m0: usize, m1: usize, n0: usize, n1: usize) {
    let (a, b) = (job.a, job.b);
    // SAFETY: the ISA is supported (Kernels invariant); op(A) = N: rows m0..m1 of A hold k
    // floats at stride lda; op(B) = T: rows n0..n1 of B hold k floats at stride ldb (both
    // validated by their views); this thread owns rows m0..m1 x columns n0..n1 of C.
    unsafe {
        let a = DotRows {
            ptr: a.data.as_ptr().add(m0 * a.ld),
            rows: m1 - m0,
            ld: a.ld,
        };
        let b = DotRows {
            ptr: b.data.as_ptr().add(n0 * b.ld),
            rows: n1 - n0,
            ld: b.ld,
        };
        let c = COut {
            ptr: job.c.ptr.add(m0 * job.c.ldc + n0),
            ldc: job.c.ldc,
        };
        f(&NtDotCall {
            k: job.k,
            alpha: job.alpha,
            a,
            b,
            beta: job.beta,
            c,
        })
    }
}

/// A partial tile: `rows x valid_cols` of C computed by `kernel`, whose tile is `cols` wide.
struct EdgeTile {
    kernel: MicroKernel,
    cols: usize,
    rows: usize,
    valid_cols: usize,
}

/// A partial tile: the kernel computes its full tile into a stack buffer (C copied in first
/// unless beta == 0), and only the valid part (`t.rows x t.valid_cols` at `call.c`) is copied
/// back. Same arithmetic per element as a full tile.
fn edge_tile(t: EdgeTile, call: &TileCall) {
    let (w, nrc) = (t.cols, t.valid_cols);
    let mut tile = [0.0f32; MAX_TILE];
    // SAFETY: rows 0..t.rows, columns 0..nrc from call.c lie inside the validated C, and this
    // thread owns that rectangle (the caller's tile).
    let crow = |i: usize| unsafe { std::slice::from_raw_parts_mut(call.c.add(i * call.ldc), nrc) };
    if call.beta != 0.0 {
        for i in 0..t.rows {
            tile[i * w..i * w + nrc].copy_from_slice(crow(i));
        }
    }
    let into_buffer = TileCall {
        c: tile.as_mut_ptr(),
        ldc: w,
        ..*call
    };
    // SAFETY: supported ISA (Kernels invariant); A/B panels as for a full tile; the stack
    // tile holds the kernel's tile (at most MR x NR <= MAX_TILE floats) at row stride w.
    unsafe { (t.kernel)(&into_buffer) };
    for i in 0..t.rows {
        crow(i).copy_from_slice(&tile[i * w..i * w + nrc]);
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
    // Split the dimension with more tiles. Splitting n (JC) lets each thread pack only its
    // share of B (the usual case in training, where m is the batch); splitting m gives each
    // thread whole rows of a tall C (TN 784x1000x20 at 2 threads: 246 -> 302 GFLOP/s).
    let (ms, ns) = if n.div_ceil(nr) >= m.div_ceil(mr) {
        (vec![(0, m)], chunks(n, nr, t))
    } else {
        (chunks(m, mr, t), vec![(0, n)])
    };
    ms.iter()
        .flat_map(|&mm| ns.iter().map(move |&nn| (mm, nn)))
        .collect()
}

impl Kernels {
    /// `C = alpha * op(A) * op(B) + beta * C` with the process-wide thread count: `op(A)` is
    /// `m x k`, `op(B)` `k x n`, `C` `m x n` (views, [`crate::mat`]; a transposed view is
    /// `op(X) = X^T`). With `beta == 0` C is never read; with `alpha == 0` or `k == 0` A and B
    /// are not read.
    pub fn sgemm(
        &self,
        alpha: f32,
        a: MatRef<'_>,
        b: MatRef<'_>,
        beta: f32,
        c: MatMut<'_>,
    ) -> Result<(), KernelError> {
        self.sgemm_threads(threads::threads(), alpha, a, b, beta, c)
    }

    /// As [`Kernels::sgemm`] with at most `max_threads` threads (fewer for small products).
    pub fn sgemm_threads(
        &self,
        max_threads: usize,
        alpha: f32,
        a: MatRef<'_>,
        b: MatRef<'_>,
        beta: f32,
        c: MatMut<'_>,
    ) -> Result<(), KernelError> {
        let (m, n, k) = gemm_shape("sgemm", &a, &b, &c)?;
        let flops = 2usize.saturating_mul(m).saturating_mul(n).saturating_mul(k);
        let t = max_threads
            .max(1)
            .min((flops / MIN_FLOPS_PER_THREAD).max(1));
        self.sgemm_split(t, alpha, a, b, beta, c)
    }

    /// As [`Kernels::sgemm`] cut into exactly `parts` pieces (one rayon task each) whatever the
    /// size: lets tests exercise the thread split on small shapes. Not a tuning knob.
    #[doc(hidden)]
    pub fn sgemm_split(
        &self,
        parts: usize,
        alpha: f32,
        a: MatRef<'_>,
        b: MatRef<'_>,
        beta: f32,
        c: MatMut<'_>,
    ) -> Result<(), KernelError> {
        let (m, n, k) = gemm_shape("sgemm", &a, &b, &c)?;
        if c.trans() == Trans::T {
            // C^T = op(B)^T op(A)^T: the same product written into C as stored.
            return self.sgemm_split(parts, alpha, b.t(), a.t(), beta, c.t());
        }
        let (ta, tb, lda, ldb, ldc) = (a.trans(), b.trans(), a.ld(), b.ld(), c.ld());
        let c = c.into_data();
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
                data: a.data(),
                ld: lda,
                trans: ta,
            },
            b: Operand {
                data: b.data(),
                ld: ldb,
                trans: tb,
            },
            beta,
            c: COut {
                ptr: c.as_mut_ptr(),
                ldc,
            },
        };
        // The path depends only on the whole product, never on the thread split.
        let nt_dot = table
            .nt_dot
            .filter(|_| ta == Trans::N && tb == Trans::T && m <= table.plan.nt_dot_max_m);
        let run = |m0: usize, m1: usize, n0: usize, n1: usize| match nt_dot {
            Some(f) => run_nt_dot(&job, f, m0, m1, n0, n1),
            None => run_block(&job, m0, m1, n0, n1),
        };
        // One part: no split list, so a single-threaded product allocates nothing (the
        // training loop's zero-allocation guarantee rests on it).
        if parts <= 1 {
            run(0, m, 0, n);
            return Ok(());
        }
        let work = split_work(parts, m, n, table.blocking.mr, table.blocking.nr);
        if work.len() == 1 {
            run(0, m, 0, n);
        } else {
            rayon::scope(|s| {
                for &((m0, m1), (n0, n1)) in &work[1..] {
                    let run = &run;
                    s.spawn(move |_| run(m0, m1, n0, n1));
                }
                let ((m0, m1), (n0, n1)) = work[0];
                run(m0, m1, n0, n1);
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
        self.gemm.spec.name
    }

    /// The GEMM plan this table runs.
    pub fn gemm_plan(&self) -> &GemmPlan {
        &self.gemm.plan
    }
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
        Isa::Scalar => (microkernel::scalar_fma_loop, 2.0 * 32.0),
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
    // Chunks of about 1 ms, the best rate over `seconds`.
    crate::timing::best_rate(seconds, 1e-3, (1000, 1 << 30), per_iter, |iters| {
        std::hint::black_box(run(std::hint::black_box(iters), 1.0));
        Ok(())
    })
}
