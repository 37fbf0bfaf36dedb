//! Which instruction set the kernels run on.
//!
//! Detected once at run time (never chosen at compile time: a release binary must run on any
//! x86-64), overridable with [`force`] before any kernel runs. The kernels read no environment
//! variable and know no command-line flag: the front end turns its own knobs into a call of
//! [`force`] (the `sdae` driver: `--isa`, else `SDAE_ISA`).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::KernelError;

/// An instruction set with its own kernel table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust, no intrinsics. Always available.
    Scalar,
    /// x86-64 AVX2 + FMA (256-bit, 16 registers).
    Avx2,
    /// x86-64 AVX-512 F+BW+DQ+VL (512-bit, 32 registers).
    Avx512,
    /// aarch64 Advanced SIMD (128-bit, 32 registers).
    Neon,
}

impl Isa {
    /// Every ISA this build knows about, slowest first.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon];

    /// The lower-case name [`Isa::from_str`] parses and reports print.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Does the CPU we run on support this ISA?  (Checked with run-time feature detection.)
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every ISA the running CPU supports, slowest first.
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
    }

    /// The fastest ISA the CPU supports.
    pub fn detect() -> Isa {
        *Isa::supported().last().expect("scalar is always supported")
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = KernelError;
    fn from_str(s: &str) -> Result<Isa, KernelError> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                KernelError::new(format!(
                    "unknown ISA '{s}': expected one of scalar, avx2, avx512, neon"
                ))
            })
    }
}

static SELECTED: OnceLock<Isa> = OnceLock::new();

/// Parse an ISA name and check that this CPU has it.
pub fn parse_supported(name: &str, origin: &str) -> Result<Isa, KernelError> {
    let isa: Isa = name
        .parse()
        .map_err(|e: KernelError| KernelError::new(format!("{origin}: {e}")))?;
    if !isa.is_supported() {
        let have: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
        return Err(KernelError::new(format!(
            "{origin}: this CPU does not support ISA '{}' (supported: {})",
            isa.name(),
            have.join(", ")
        )));
    }
    Ok(isa)
}

/// Fix the process-wide ISA before any kernel runs. Fails if this CPU lacks it or if a
/// different ISA was already in force for this process.
pub fn force(isa: Isa) -> Result<Isa, KernelError> {
    if !isa.is_supported() {
        return parse_supported(isa.name(), "forced ISA");
    }
    let got = *SELECTED.get_or_init(|| isa);
    if got != isa {
        return Err(KernelError::new(format!(
            "ISA already fixed to '{got}' for this process; cannot switch to '{isa}'"
        )));
    }
    Ok(got)
}

/// The process-wide ISA: chosen once, by [`force`], else the fastest this CPU has
/// ([`Isa::detect`]).
pub fn selected() -> Isa {
    *SELECTED.get_or_init(Isa::detect)
}

/// The table `FNS` of the per-ISA module (`scalar`, `avx2`, `avx512`, `neon`) of the calling
/// kernel family, for an ISA of this architecture: the one match from an ISA to its module, so
/// every family (fused kernels, row passes) adds an ISA in the same single arm.
macro_rules! fns_of_isa {
    ($isa:expr) => {
        match $isa {
            $crate::Isa::Scalar => scalar::FNS,
            #[cfg(target_arch = "x86_64")]
            $crate::Isa::Avx2 => avx2::FNS,
            #[cfg(target_arch = "x86_64")]
            $crate::Isa::Avx512 => avx512::FNS,
            #[cfg(target_arch = "aarch64")]
            $crate::Isa::Neon => neon::FNS,
            #[allow(unreachable_patterns)]
            other => unreachable!("ISA {other} is never supported on this architecture"),
        }
    };
}
pub(crate) use fns_of_isa;
