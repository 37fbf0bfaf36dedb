//! A STREAM-triad-like bandwidth probe, one working set per level of the memory hierarchy.
//!
//! `a[i] = b[i] + s * c[i]` over three `f32` arrays whose total size is chosen to sit in one
//! level (L1d, L2, L3 or DRAM, from [`CacheSizes`]). Bytes counted per element are 12 (read
//! `b` and `c`, write `a`), the STREAM convention: write-allocate traffic is not counted.
//! The loop is plain safe Rust the compiler vectorizes; it measures the memory system, not
//! the ISA.

use crate::gemm::CacheSizes;
use crate::KernelError;

/// A level of the memory hierarchy a probe's working set is sized for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemLevel {
    L1,
    L2,
    L3,
    Dram,
}

impl MemLevel {
    pub const ALL: [MemLevel; 4] = [MemLevel::L1, MemLevel::L2, MemLevel::L3, MemLevel::Dram];

    pub fn name(self) -> &'static str {
        match self {
            MemLevel::L1 => "L1",
            MemLevel::L2 => "L2",
            MemLevel::L3 => "L3",
            MemLevel::Dram => "DRAM",
        }
    }

    /// Total bytes of the three arrays for this level: half the level (so it stays resident),
    /// and at least twice the level below (so it does not fit there); DRAM is at least four
    /// times L3 and 64 MiB.
    pub fn working_set_bytes(self, caches: &CacheSizes) -> usize {
        match self {
            MemLevel::L1 => caches.l1d / 2,
            MemLevel::L2 => (caches.l2 / 2).max(2 * caches.l1d),
            MemLevel::L3 => (caches.l3 / 2).max(2 * caches.l2),
            MemLevel::Dram => (4 * caches.l3).max(64 << 20),
        }
    }
}

/// `a[i] = b[i] + s * c[i]`. Errors if the lengths differ.
pub fn triad(a: &mut [f32], b: &[f32], c: &[f32], s: f32) -> Result<(), KernelError> {
    if a.len() != b.len() || a.len() != c.len() {
        return Err(KernelError::new(format!(
            "triad: lengths a={} b={} c={} differ; expected all equal",
            a.len(),
            b.len(),
            c.len()
        )));
    }
    for ((a, &b), &c) in a.iter_mut().zip(b).zip(c) {
        *a = b + s * c;
    }
    Ok(())
}

/// The best triad bandwidth in GB/s (1e9 bytes/s, 12 bytes per element) for a working set of
/// `bytes` (three arrays), repeated for about `seconds` of wall time (at least one timed pass).
pub fn triad_bandwidth_gbs(bytes: usize, seconds: f64) -> Result<f64, KernelError> {
    let n = bytes / 12;
    if n < 16 {
        return Err(KernelError::new(format!(
            "triad_bandwidth_gbs: working set {bytes} bytes is too small; expected at least 192"
        )));
    }
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(KernelError::new(format!(
            "triad_bandwidth_gbs: seconds {seconds} is not a finite non-negative number"
        )));
    }
    let b = vec![1.0f32; n];
    let c = vec![2.0f32; n];
    let mut a = vec![0.0f32; n];
    // Repeat small sets so one timed chunk lasts about 0.2 ms (timer resolution).
    let best = crate::timing::best_rate(seconds, 2e-4, (1, 1 << 24), 12.0 * n as f64, |reps| {
        for _ in 0..reps {
            triad(std::hint::black_box(&mut a), &b, &c, 0.5)?;
        }
        Ok(())
    })?;
    std::hint::black_box(&a);
    Ok(best)
}

/// One probe per level of this machine's hierarchy, `seconds` each: `(level, bytes, GB/s)`.
pub fn probe_levels(seconds: f64) -> Result<Vec<(MemLevel, usize, f64)>, KernelError> {
    let caches = CacheSizes::detect();
    MemLevel::ALL
        .iter()
        .map(|&level| {
            let bytes = level.working_set_bytes(&caches);
            Ok((level, bytes, triad_bandwidth_gbs(bytes, seconds)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triad_rejects_mismatched_lengths() {
        let mut a = vec![0.0; 3];
        let e = triad(&mut a, &[0.0; 3], &[0.0; 2], 1.0).unwrap_err();
        assert!(e.message().contains("c=2"), "{}", e.message());
    }

    #[test]
    fn working_sets_grow_with_level_and_exceed_the_level_below() {
        // (L1d, L2, L3) -> the working sets of L1, L2, L3, DRAM; the second has equal levels.
        let cases: [((usize, usize, usize), [usize; 4]); 2] = [
            (
                (48 << 10, 2 << 20, 32 << 20),
                [24 << 10, 1 << 20, 16 << 20, 128 << 20],
            ),
            (
                (32 << 10, 32 << 10, 32 << 10),
                [16 << 10, 64 << 10, 64 << 10, 64 << 20],
            ),
        ];
        for ((l1d, l2, l3), want) in cases {
            let caches = CacheSizes {
                l1d,
                l2,
                l3,
                source: "test",
            };
            let sizes: Vec<usize> = MemLevel::ALL
                .iter()
                .map(|l| l.working_set_bytes(&caches))
                .collect();
            assert_eq!(sizes, want, "caches {l1d}/{l2}/{l3}");
        }
    }

    #[test]
    fn bandwidth_is_positive_and_rejects_bad_input() {
        assert!(triad_bandwidth_gbs(16 << 10, 0.01).unwrap() > 0.0);
        assert!(triad_bandwidth_gbs(100, 0.01).is_err());
        assert!(triad_bandwidth_gbs(16 << 10, f64::NAN).is_err());
    }
}
