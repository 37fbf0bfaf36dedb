//! Every GEMM micro-kernel a plan can choose, one list per ISA.
//!
//! A [`KernelSpec`] is a main tile with the edge tiles LOOP 1 uses for ragged m and n. Every
//! [`Tile`] is made by the `const fn` of its ISA's `tile_family!` from the same const parameters
//! that instantiate its code, so a spec's MR and NR cannot disagree with what the kernel
//! computes, and the target features travel with the ISA's shim. The name carries ISA, tile and
//! prefetch distance (`avx512_8x48_pf8`); a unit test checks it against the shape.
//!
//! Adding a candidate is one entry here; `sdae tune` measures it and the GEMM tests run it
//! against the reference like every other (`kernels/tests/gemm.rs` fails if one is never run).
//!
//! Why these: the `_pf` variants prefetch the packed B panel a few rows ahead, which lets KC
//! grow past what L1 holds (the Intel practice: BLIS skx KC 384, OpenBLAS SkylakeX KC 320-448);
//! the wide tiles (8x48, 4x24) load more B per broadcast of A, the tall ones (12x32, 6x16) more
//! A per load of B; which is faster depends on the load ports and caches of the CPU.

use super::microkernel::{scalar_tile, Tile};
#[cfg(target_arch = "aarch64")]
use super::neon::neon_tile;
#[cfg(target_arch = "x86_64")]
use super::x86::{avx2_tile, avx512_tile};
use crate::Isa;

/// A micro-kernel candidate: its main tile and the edge tiles for ragged m and n.
#[derive(Debug)]
pub struct KernelSpec {
    /// `<isa>_<MR>x<NR>[_pf<rows>]`.
    pub name: &'static str,
    pub(crate) isa: Isa,
    pub(crate) main: Tile,
    /// Narrower tiles (same MR, ascending NR below the main tile's) for a ragged n.
    pub(crate) edge_n: &'static [Tile],
    /// Shorter tiles (same NR, ascending MR below the main tile's, reading A panels of the
    /// main MR) for a ragged m.
    pub(crate) edge_m: &'static [Tile],
}

impl KernelSpec {
    /// Rows of the register tile.
    pub fn mr(&self) -> usize {
        self.main.rows
    }
    /// Columns of the register tile.
    pub fn nr(&self) -> usize {
        self.main.cols
    }
    /// Rows of a packed B panel the k loop prefetches ahead (0: none).
    pub fn prefetch(&self) -> usize {
        self.main.prefetch
    }
    /// The ISA whose instructions the tiles use.
    pub fn isa(&self) -> Isa {
        self.isa
    }
}

static SCALAR: [KernelSpec; 1] = [KernelSpec {
    name: "scalar_4x8",
    isa: Isa::Scalar,
    main: scalar_tile::<4, 8, 4, 0>(),
    edge_n: &[],
    edge_m: &[scalar_tile::<2, 8, 4, 0>()],
}];

#[cfg(target_arch = "x86_64")]
static AVX2: [KernelSpec; 3] = [
    KernelSpec {
        name: "avx2_6x16",
        isa: Isa::Avx2,
        main: avx2_tile::<6, 2, 6, 0>(),
        edge_n: &[avx2_tile::<6, 1, 6, 0>()],
        edge_m: &[avx2_tile::<2, 2, 6, 0>(), avx2_tile::<4, 2, 6, 0>()],
    },
    KernelSpec {
        name: "avx2_6x16_pf8",
        isa: Isa::Avx2,
        main: avx2_tile::<6, 2, 6, 8>(),
        edge_n: &[avx2_tile::<6, 1, 6, 8>()],
        edge_m: &[avx2_tile::<2, 2, 6, 8>(), avx2_tile::<4, 2, 6, 8>()],
    },
    KernelSpec {
        name: "avx2_4x24",
        isa: Isa::Avx2,
        main: avx2_tile::<4, 3, 4, 0>(),
        edge_n: &[avx2_tile::<4, 1, 4, 0>(), avx2_tile::<4, 2, 4, 0>()],
        edge_m: &[avx2_tile::<2, 3, 4, 0>()],
    },
];

#[cfg(target_arch = "x86_64")]
static AVX512: [KernelSpec; 5] = [
    KernelSpec {
        name: "avx512_8x48",
        isa: Isa::Avx512,
        main: avx512_tile::<8, 3, 8, 0>(),
        edge_n: &[avx512_tile::<8, 1, 8, 0>(), avx512_tile::<8, 2, 8, 0>()],
        edge_m: &[avx512_tile::<4, 3, 8, 0>()],
    },
    KernelSpec {
        name: "avx512_8x48_pf8",
        isa: Isa::Avx512,
        main: avx512_tile::<8, 3, 8, 8>(),
        edge_n: &[avx512_tile::<8, 1, 8, 8>(), avx512_tile::<8, 2, 8, 8>()],
        edge_m: &[avx512_tile::<4, 3, 8, 8>()],
    },
    KernelSpec {
        name: "avx512_12x32",
        isa: Isa::Avx512,
        main: avx512_tile::<12, 2, 12, 0>(),
        edge_n: &[avx512_tile::<12, 1, 12, 0>()],
        edge_m: &[avx512_tile::<4, 2, 12, 0>(), avx512_tile::<8, 2, 12, 0>()],
    },
    KernelSpec {
        name: "avx512_12x32_pf8",
        isa: Isa::Avx512,
        main: avx512_tile::<12, 2, 12, 8>(),
        edge_n: &[avx512_tile::<12, 1, 12, 8>()],
        edge_m: &[avx512_tile::<4, 2, 12, 8>(), avx512_tile::<8, 2, 12, 8>()],
    },
    KernelSpec {
        name: "avx512_6x64",
        isa: Isa::Avx512,
        main: avx512_tile::<6, 4, 6, 0>(),
        edge_n: &[
            avx512_tile::<6, 1, 6, 0>(),
            avx512_tile::<6, 2, 6, 0>(),
            avx512_tile::<6, 3, 6, 0>(),
        ],
        edge_m: &[avx512_tile::<2, 4, 6, 0>(), avx512_tile::<4, 4, 6, 0>()],
    },
];

#[cfg(target_arch = "aarch64")]
static NEON: [KernelSpec; 3] = [
    KernelSpec {
        name: "neon_8x12",
        isa: Isa::Neon,
        main: neon_tile::<8, 3, 8, 0>(),
        edge_n: &[neon_tile::<8, 1, 8, 0>(), neon_tile::<8, 2, 8, 0>()],
        edge_m: &[neon_tile::<4, 3, 8, 0>()],
    },
    KernelSpec {
        name: "neon_8x12_pf8",
        isa: Isa::Neon,
        main: neon_tile::<8, 3, 8, 8>(),
        edge_n: &[neon_tile::<8, 1, 8, 8>(), neon_tile::<8, 2, 8, 8>()],
        edge_m: &[neon_tile::<4, 3, 8, 8>()],
    },
    KernelSpec {
        name: "neon_4x16",
        isa: Isa::Neon,
        main: neon_tile::<4, 4, 4, 0>(),
        edge_n: &[
            neon_tile::<4, 1, 4, 0>(),
            neon_tile::<4, 2, 4, 0>(),
            neon_tile::<4, 3, 4, 0>(),
        ],
        edge_m: &[neon_tile::<2, 4, 4, 0>()],
    },
];

/// The micro-kernels `isa` offers; the first is the analytical model's default.
pub fn candidates(isa: Isa) -> &'static [KernelSpec] {
    match isa {
        Isa::Scalar => &SCALAR,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => &AVX2,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => &AVX512,
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => &NEON,
        #[allow(unreachable_patterns)]
        _ => &[],
    }
}

/// The candidate of `isa` called `name`.
pub fn find(isa: Isa, name: &str) -> Option<&'static KernelSpec> {
    candidates(isa).iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tiles_and_edges_agree() {
        for isa in Isa::ALL {
            for s in candidates(isa) {
                let pf = match s.prefetch() {
                    0 => String::new(),
                    p => format!("_pf{p}"),
                };
                assert_eq!(s.name, format!("{}_{}x{}{pf}", isa.name(), s.mr(), s.nr()));
                assert_eq!(s.isa, isa);
                assert_eq!(
                    s.main.astep,
                    s.mr(),
                    "{}: main tile reads its own panels",
                    s.name
                );
                let mut w = 0;
                for e in s.edge_n {
                    assert!(e.rows == s.mr() && e.astep == s.mr(), "{}", s.name);
                    assert!(
                        e.cols > w && e.cols < s.nr(),
                        "{}: edge_n ascending",
                        s.name
                    );
                    assert_eq!(e.prefetch, s.prefetch());
                    w = e.cols;
                }
                let mut h = 0;
                for e in s.edge_m {
                    assert!(e.cols == s.nr() && e.astep == s.mr(), "{}", s.name);
                    assert!(
                        e.rows > h && e.rows < s.mr(),
                        "{}: edge_m ascending",
                        s.name
                    );
                    assert_eq!(e.prefetch, s.prefetch());
                    h = e.rows;
                }
                assert!(s.mr() * s.nr() <= super::super::MAX_TILE);
            }
        }
    }
}
