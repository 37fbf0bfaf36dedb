//! The generators' random numbers: xoshiro256++ (Blackman & Vigna, the `rand_xoshiro` crate)
//! seeded through SplitMix64.
//!
//! Every example gets its own stream, seeded from `(seed, task, split, index)`, so a file is
//! byte-identical whatever the thread count and the order rows are filled in:
//! `key = XXH64(task ++ "/" ++ split ++ "/" ++ index as u64 LE, seed)`, then the four state words
//! are four successive SplitMix64 outputs starting from `key`
//! (`Xoshiro256PlusPlus::seed_from_u64(key)`; the same streams as the hand-written generator
//! this module used before, checked in tests/data_generate.rs).

use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::util::xxh64::xxh64;

/// A generator stream with the draws the recipes use (uniform reals, unbiased integers,
/// geometric counts) on top of `rand_xoshiro`'s xoshiro256++.
#[derive(Clone, Debug)]
pub struct Rng {
    inner: Xoshiro256PlusPlus,
}

impl Rng {
    /// The stream whose state is four successive SplitMix64 outputs from `key`.
    pub fn from_key(key: u64) -> Rng {
        Rng {
            inner: Xoshiro256PlusPlus::seed_from_u64(key),
        }
    }

    /// The stream of example `index` of `task`/`split` under `seed`.
    pub fn for_example(seed: u64, task: &str, split: &str, index: u64) -> Rng {
        let mut key = Vec::with_capacity(task.len() + split.len() + 10);
        key.extend_from_slice(task.as_bytes());
        key.push(b'/');
        key.extend_from_slice(split.as_bytes());
        key.push(b'/');
        key.extend_from_slice(&index.to_le_bytes());
        Rng::from_key(xxh64(&key, seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, 1) as f32 with 24 random bits.
    pub fn uniform_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift with rejection: unbiased).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform integer in [lo, hi] inclusive.
    pub fn range_inclusive(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below((hi - lo + 1) as u64) as usize
    }

    /// Geometric on {1, 2, ...}: the number of Bernoulli(p) trials up to and including the first
    /// success (mean 1/p).
    pub fn geometric(&mut self, p: f64) -> usize {
        let mut n = 1;
        while self.uniform() >= p {
            n += 1;
        }
        n
    }
}

/// Exactly balanced labels for `rows` examples of `classes` classes (counts differ by at most one),
/// in an order shuffled (Fisher-Yates) by the stream `(seed, task, split, u64::MAX)`.
pub fn balanced_labels(
    seed: u64,
    task: &str,
    split: &str,
    rows: usize,
    classes: usize,
) -> Vec<u32> {
    let mut labels: Vec<u32> = (0..rows).map(|i| (i % classes) as u32).collect();
    let mut rng = Rng::for_example(seed, task, split, u64::MAX);
    for i in (1..rows).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        labels.swap(i, j);
    }
    labels
}
