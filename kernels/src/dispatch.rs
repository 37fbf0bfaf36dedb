//! One table of kernel entry points per ISA, built once, after the ISA was detected.
//!
//! [`kernels`] is the table of the process-wide ISA ([`crate::isa::selected`]); [`Kernels::for_isa`]
//! reaches the table of any supported ISA, so tests and benches compare ISAs in one process.
//! The safe, shape-checking methods of [`Kernels`] live next to their kernels, in
//! [`crate::gemm`] and [`crate::fused`]. The hot path is one indirect call through the table.

use std::sync::OnceLock;

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

static TABLES: [OnceLock<Kernels>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

impl Kernels {
    /// The table for `isa`, or an error if this CPU lacks it.
    pub fn for_isa(isa: Isa) -> Result<&'static Kernels, KernelError> {
        if !isa.is_supported() {
            isa::parse_supported(isa.name(), "ISA")?;
        }
        let slot = &TABLES[isa as usize];
        Ok(slot.get_or_init(|| Kernels {
            isa,
            // The ISA was checked just above: the tables may use its instructions.
            gemm: gemm::GemmTable::for_supported_isa(isa),
            fused: fused::FusedTable::for_supported_isa(isa),
            rowpass: rowpass::RowPassTable::for_supported_isa(isa),
        }))
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
