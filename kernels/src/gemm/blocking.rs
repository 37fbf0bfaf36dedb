//! Cache sizes and the GEMM blocking parameters derived from them.
//!
//! BLIS rule of thumb, each constant sized to the cache level its operand lives in:
//! - `KC` (cuts LOOP 4, the k loop): one `KC x NR` micro-panel of packed B stays in L1 while
//!   LOOP 1 streams the `MR x KC` micro-panels of A past it, so it may take about half of L1d.
//! - `MC` (cuts LOOP 3, the m loop): the packed `MC x KC` block of A stays in L2 while LOOP 2
//!   walks the B panel, so it may take about half of L2.
//! - `NC` (cuts LOOP 5, the n loop): the packed `KC x NC` panel of B lives in L3 (shared, so we
//!   claim a quarter of it), capped so packing buffers stay modest.
//!
//! Cache sizes come from `/sys/devices/system/cpu/cpu0/cache/index*/{level,type,size}` on Linux.
//! Elsewhere (or if sysfs is unreadable) we use the fallbacks [`FALLBACK_L1D`], [`FALLBACK_L2`],
//! [`FALLBACK_L3`] — sizes typical of current desktop and server cores.

use std::fmt;
use std::sync::OnceLock;

/// Fallback L1 data cache size (bytes) when it cannot be read from the OS.
pub const FALLBACK_L1D: usize = 32 * 1024;
/// Fallback L2 size (bytes, per core).
pub const FALLBACK_L2: usize = 512 * 1024;
/// Fallback L3 size (bytes, shared).
pub const FALLBACK_L3: usize = 8 * 1024 * 1024;

/// Data cache sizes in bytes, and where they came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSizes {
    pub l1d: usize,
    pub l2: usize,
    pub l3: usize,
    /// `"sysfs"` or `"fallback"` (per level: a level sysfs did not report uses its fallback).
    pub source: &'static str,
}

impl CacheSizes {
    /// The sizes of this machine, read once.
    pub fn detect() -> CacheSizes {
        static SIZES: OnceLock<CacheSizes> = OnceLock::new();
        *SIZES.get_or_init(read_sysfs)
    }
}

impl fmt::Display for CacheSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "L1d {} KiB, L2 {} KiB, L3 {} KiB ({})",
            self.l1d / 1024,
            self.l2 / 1024,
            self.l3 / 1024,
            self.source
        )
    }
}

/// Parse a sysfs cache size such as `48K`, `1024K`, `32M` or `65536`.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1024),
        'M' | 'm' => (&s[..s.len() - 1], 1024 * 1024),
        'G' | 'g' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    num.trim().parse::<usize>().ok().map(|v| v * mul)
}

fn read_sysfs() -> CacheSizes {
    let (mut l1d, mut l2, mut l3) = (None, None, None);
    for idx in 0..16 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{idx}");
        let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
        let (Some(level), Some(ty), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        let ty = ty.trim();
        if ty != "Data" && ty != "Unified" {
            continue;
        }
        let size = parse_size(&size).filter(|&s| s > 0);
        match level.trim() {
            "1" => l1d = size,
            "2" => l2 = size,
            "3" => l3 = size,
            _ => {}
        }
    }
    let all = l1d.is_some() && l2.is_some() && l3.is_some();
    let none = l1d.is_none() && l2.is_none() && l3.is_none();
    CacheSizes {
        l1d: l1d.unwrap_or(FALLBACK_L1D),
        l2: l2.unwrap_or(FALLBACK_L2),
        l3: l3.unwrap_or(FALLBACK_L3),
        source: if all {
            "sysfs"
        } else if none {
            "fallback"
        } else {
            "sysfs+fallback"
        },
    }
}

/// The blocking of one ISA's GEMM: micro-tile `MR x NR` and cache blocks `KC`, `MC`, `NC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmBlocking {
    pub isa: crate::Isa,
    /// Rows of the micro-tile (LOOP 1 steps by MR).
    pub mr: usize,
    /// Columns of the micro-tile (LOOP 2 steps by NR).
    pub nr: usize,
    /// Depth of a packed block (LOOP 4 steps by KC).
    pub kc: usize,
    /// Rows of a packed A block (LOOP 3 steps by MC).
    pub mc: usize,
    /// Columns of a packed B panel (LOOP 5 steps by NC).
    pub nc: usize,
    /// The cache sizes these were derived from.
    pub caches: CacheSizes,
}

impl GemmBlocking {
    /// The blocking of the cache model for a `mr x nr` tile in the B-in-L1 order (see
    /// [`derive`]).
    pub fn derive(isa: crate::Isa, mr: usize, nr: usize, caches: CacheSizes) -> GemmBlocking {
        let (kc, mc, nc) = derive(mr, nr, super::plan::LoopOrder::BInL1, caches);
        GemmBlocking {
            isa,
            mr,
            nr,
            kc,
            mc,
            nc,
            caches,
        }
    }
}

/// `(KC, MC, NC)` of the cache model for a `mr x nr` tile and a loop order.
///
/// B in L1 (the classic order, see the module doc): the `KC x NR` B micro-panel takes half of
/// L1d, the `MC x KC` A block half of L2, the `KC x NC` B panel a quarter of L3.
///
/// A in L1: the `MR x KC` A micro-panel takes half of L1d (KC capped at 512), the `KC x NC`
/// B panel half of L2 (it streams from there, prefetched), the A block a quarter of L3.
pub fn derive(
    mr: usize,
    nr: usize,
    order: super::plan::LoopOrder,
    caches: CacheSizes,
) -> (usize, usize, usize) {
    let f = std::mem::size_of::<f32>();
    match order {
        super::plan::LoopOrder::BInL1 => {
            // Half of L1d for the B micro-panel; a multiple of 8, within [64, 512].
            let kc = ((caches.l1d / 2) / (nr * f) / 8 * 8).clamp(64, 512);
            // Half of L2 for the A block; a multiple of MR, within [MR, 4096].
            let mc = ((caches.l2 / 2) / (kc * f) / mr * mr).clamp(mr, 4096 / mr * mr);
            // A quarter of the shared L3 for the B panel; a multiple of NR, within [NR, 4096].
            let nc = ((caches.l3 / 4) / (kc * f) / nr * nr).clamp(nr, 4096 / nr * nr);
            (kc, mc, nc)
        }
        super::plan::LoopOrder::AInL1 => {
            let kc = ((caches.l1d / 2) / (mr * f) / 8 * 8).clamp(64, 512);
            let nc = ((caches.l2 / 2) / (kc * f) / nr * nr).clamp(nr, 4096 / nr * nr);
            let mc = ((caches.l3 / 4) / (kc * f) / mr * mr).clamp(mr, 4096 / mr * mr);
            (kc, mc, nc)
        }
    }
}

impl fmt::Display for GemmBlocking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: MR {} NR {} KC {} MC {} NC {}",
            self.isa, self.mr, self.nr, self.kc, self.mc, self.nc
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_size("48K\n"), Some(48 * 1024));
        assert_eq!(parse_size("32M"), Some(32 * 1024 * 1024));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn blocking_fits_the_caches() {
        let c = CacheSizes {
            l1d: 48 * 1024,
            l2: 1024 * 1024,
            l3: 32 * 1024 * 1024,
            source: "test",
        };
        let b = GemmBlocking::derive(crate::Isa::Avx512, 12, 32, c);
        assert!(b.kc * b.nr * 4 <= c.l1d / 2 + 8 * b.nr * 4);
        assert!(b.mc * b.kc * 4 <= c.l2 / 2);
        assert_eq!(b.mc % b.mr, 0);
        assert_eq!(b.nc % b.nr, 0);
    }
}
