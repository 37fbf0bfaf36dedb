//! A GEMM plan: which micro-kernel, which loop order, which blocking, which small-m paths.
//!
//! Plans are values: the driver chooses one per ISA (measured by `sdae tune`, a preset for the
//! microarchitecture, or [`GemmPlan::analytical`], the cache model) and hands it to
//! [`crate::Kernels::with_gemm_plan`] or [`crate::dispatch::install_gemm_plan`]. Nothing here
//! reads the environment.

use std::fmt;
use std::str::FromStr;

use super::blocking::CacheSizes;
use super::registry::{self, KernelSpec};
use super::{DIRECT_B_MAX_M, NT_DOT_MAX_M};
use crate::{Isa, KernelError};

/// Which packed operand stays in L1 while LOOP 1 streams the other past it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoopOrder {
    /// LOOP 2 over B micro-panels outside LOOP 1 over A micro-panels: the `KC x NR` B
    /// micro-panel (the vector operand) stays in L1, A streams from L2 (the classic BLIS
    /// order for row-major C with vectors along n).
    BInL1,
    /// LOOP 1 over B micro-panels inside the A micro-panel: the `MR x KC` A micro-panel (the
    /// broadcast operand) stays in L1 and the packed B panel streams from L2, prefetched by the
    /// `_pf` kernels: KC can then grow past what L1 holds (the Intel practice).
    AInL1,
}

impl LoopOrder {
    pub const ALL: [LoopOrder; 2] = [LoopOrder::BInL1, LoopOrder::AInL1];
    pub fn name(self) -> &'static str {
        match self {
            LoopOrder::BInL1 => "b-in-l1",
            LoopOrder::AInL1 => "a-in-l1",
        }
    }
}

impl FromStr for LoopOrder {
    type Err = KernelError;
    fn from_str(s: &str) -> Result<LoopOrder, KernelError> {
        LoopOrder::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| {
                KernelError::new(format!(
                    "loop order '{s}': expected one of b-in-l1, a-in-l1"
                ))
            })
    }
}

/// Everything that decides how one ISA's SGEMM runs. Two runs with the same plan, ISA and
/// thread count compute bit-identical results; another KC changes the order of the k sums.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GemmPlan {
    /// A candidate of [`registry::candidates`] for the ISA (e.g. `avx512_8x48`).
    pub kernel: String,
    pub order: LoopOrder,
    /// Depth of a packed block (LOOP 4 steps by KC).
    pub kc: usize,
    /// Rows of a packed A block (LOOP 3 steps by MC; a multiple of MR).
    pub mc: usize,
    /// Columns of a packed B panel (LOOP 5 steps by NC; a multiple of NR).
    pub nc: usize,
    /// Up to this many rows of C, an `op(B) = N` product streams B unpacked.
    pub direct_b_max_m: usize,
    /// Up to this many rows of C, `A * B^T` uses the dot-product path (0: never; ignored on
    /// an ISA without one).
    pub nt_dot_max_m: usize,
    /// Products with `k` up to this run in the A-in-L1 order whatever [`GemmPlan::order`]
    /// says: with a short k the tile's C traffic dominates, and walking C row panel by row
    /// panel lets the hardware prefetcher stream it (0: never). The loop order never changes
    /// the result, only the speed.
    pub short_k_max: usize,
}

impl GemmPlan {
    /// The cache model's plan for `isa`: its first candidate, B in L1, KC/MC/NC from `caches`.
    pub fn analytical(isa: Isa, caches: CacheSizes) -> GemmPlan {
        let spec = &registry::candidates(isa)[0];
        GemmPlan::model(spec, LoopOrder::BInL1, caches)
    }

    /// The cache model's blocking for one kernel and loop order (see `blocking.rs`).
    pub fn model(spec: &KernelSpec, order: LoopOrder, caches: CacheSizes) -> GemmPlan {
        let (kc, mc, nc) = super::blocking::derive(spec.mr(), spec.nr(), order, caches);
        GemmPlan {
            kernel: spec.name.to_string(),
            order,
            kc,
            mc,
            nc,
            direct_b_max_m: DIRECT_B_MAX_M,
            nt_dot_max_m: if super::has_nt_dot(spec.isa()) {
                NT_DOT_MAX_M
            } else {
                0
            },
            short_k_max: 0,
        }
    }

    /// Check the plan against `isa`'s candidates and sane ranges; returns its kernel.
    pub fn validate(&self, isa: Isa) -> Result<&'static KernelSpec, KernelError> {
        let spec = registry::find(isa, &self.kernel).ok_or_else(|| {
            let names: Vec<&str> = registry::candidates(isa).iter().map(|s| s.name).collect();
            KernelError::new(format!(
                "GEMM plan for {isa}: unknown kernel '{}' (expected one of {})",
                self.kernel,
                names.join(", ")
            ))
        })?;
        let bad = |what: &str, v: usize, want: String| {
            Err(KernelError::new(format!(
                "GEMM plan for {isa}: {what} = {v}, expected {want}"
            )))
        };
        if !(1..=4096).contains(&self.kc) {
            return bad("KC", self.kc, "1..=4096".into());
        }
        if self.mc == 0 || self.mc > 8192 || !self.mc.is_multiple_of(spec.mr()) {
            return bad(
                "MC",
                self.mc,
                format!("a multiple of MR = {} up to 8192", spec.mr()),
            );
        }
        if self.nc == 0 || self.nc > 8192 || !self.nc.is_multiple_of(spec.nr()) {
            return bad(
                "NC",
                self.nc,
                format!("a multiple of NR = {} up to 8192", spec.nr()),
            );
        }
        if self.direct_b_max_m > 1 << 20 {
            return bad("direct-B rows", self.direct_b_max_m, "at most 2^20".into());
        }
        if self.nt_dot_max_m > 1 << 20 {
            return bad("NT-dot rows", self.nt_dot_max_m, "at most 2^20".into());
        }
        if self.short_k_max > 1 << 20 {
            return bad("short-k depth", self.short_k_max, "at most 2^20".into());
        }
        Ok(spec)
    }
}

impl fmt::Display for GemmPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} KC {} MC {} NC {} direct-B m<={} NT-dot m<={} a-in-l1 k<={}",
            self.kernel,
            self.order.name(),
            self.kc,
            self.mc,
            self.nc,
            self.direct_b_max_m,
            self.nt_dot_max_m,
            self.short_k_max
        )
    }
}
