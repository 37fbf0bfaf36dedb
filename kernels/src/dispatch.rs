//! One table of kernel entry points per ISA, built once, after the ISA was detected.
//!
//! [`kernels`] is the table of the process-wide ISA ([`crate::isa::selected`]); [`Kernels::for_isa`]
//! reaches the table of any supported ISA, so tests and benches compare ISAs in one process.
//! The GEMM part of each table runs a [`GemmPlan`]: the one installed for that ISA by
//! [`install_gemm_plan`] before the table was first used, else the cache model's
//! ([`GemmPlan::analytical`]). [`Kernels::with_gemm_plan`] builds a private table under any
//! plan (what `sdae tune` measures and the tests run). The safe, shape-checking methods of
//! [`Kernels`] live next to their kernels, in [`crate::gemm`] and [`crate::fused`]. The hot path
//! is one indirect call through the table.

use std::sync::{Mutex, OnceLock};

use crate::gemm::{CacheSizes, GemmPlan};
use crate::isa::{self, Isa};
use crate::{fused, gemm, rowpass, KernelError};

/// The kernel table of one ISA. Only constructible for an ISA the CPU supports, so holding a
/// `&Kernels` proves the instructions its function pointers use are available.
pub struct Kernels {
    isa: Isa,
    pub(crate) gemm: gemm::GemmTable,
    pub(crate) fused: fused::FusedTable,
    pub(crate) rowpass: rowpass::RowPassTable,
}

static TABLES: [OnceLock<Kernels>; Isa::ALL.len()] = [const { OnceLock::new() }; Isa::ALL.len()];

/// Plans installed before the tables were built, per ISA.
static PLANS: Mutex<[Option<GemmPlan>; Isa::ALL.len()]> =
    Mutex::new([const { None }; Isa::ALL.len()]);

/// Make `plan` the GEMM plan of `isa`'s process-wide table. Must come before that table is
/// first used; fails if the plan does not fit the ISA (unknown kernel, bad blocking) or if
/// the table already runs another plan.
pub fn install_gemm_plan(isa: Isa, plan: GemmPlan) -> Result<(), KernelError> {
    plan.validate(isa)?;
    if let Some(t) = TABLES[isa as usize].get() {
        if t.gemm_plan() != &plan {
            return Err(KernelError::new(format!(
                "the {isa} kernels already run GEMM plan '{}'; cannot switch to '{plan}'",
                t.gemm_plan()
            )));
        }
        return Ok(());
    }
    PLANS.lock().unwrap_or_else(|e| e.into_inner())[isa as usize] = Some(plan);
    Ok(())
}

impl Kernels {
    /// The process-wide table for `isa`, or an error if this CPU lacks it.
    pub fn for_isa(isa: Isa) -> Result<&'static Kernels, KernelError> {
        if !isa.is_supported() {
            isa::parse_supported(isa.name(), "ISA")?;
        }
        let slot = &TABLES[isa as usize];
        if let Some(t) = slot.get() {
            return Ok(t);
        }
        let plan = PLANS.lock().unwrap_or_else(|e| e.into_inner())[isa as usize]
            .clone()
            .unwrap_or_else(|| GemmPlan::analytical(isa, CacheSizes::detect()));
        // The ISA was checked just above; an installed plan was validated by
        // install_gemm_plan, the analytical one names the ISA's first candidate.
        let built = Kernels::with_gemm_plan(isa, &plan)?;
        Ok(slot.get_or_init(|| built))
    }

    /// A private table for `isa` whose GEMM runs `plan` (for measuring and testing plans).
    pub fn with_gemm_plan(isa: Isa, plan: &GemmPlan) -> Result<Kernels, KernelError> {
        if !isa.is_supported() {
            isa::parse_supported(isa.name(), "ISA")?;
        }
        Ok(Kernels {
            isa,
            // The ISA was checked just above: the tables may use its instructions.
            gemm: gemm::GemmTable::for_supported_isa(isa, plan)?,
            fused: fused::FusedTable::for_supported_isa(isa),
            rowpass: rowpass::RowPassTable::for_supported_isa(isa),
        })
    }

    /// The ISA these kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

/// The kernel table of the process-wide ISA.
pub fn kernels() -> &'static Kernels {
    static SELECTED: OnceLock<&'static Kernels> = OnceLock::new();
    SELECTED.get_or_init(|| {
        Kernels::for_isa(isa::selected()).expect("selected ISA is supported by construction")
    })
}
