//! sdae-kernels: the numerical engine of sdae.
//!
//! A cache-blocked SGEMM (BLIS design: packed panels, five loops, one register-tiled
//! micro-kernel per ISA) and a family of fused element-wise kernels (bias + sigmoid,
//! sigmoid cross-entropy, sigmoid backward, softmax NLL, masking noise, SGD update), each
//! written for scalar, AVX2, AVX-512 and NEON and chosen at run time.
//!
//! This crate is the only place in sdae with SIMD intrinsics and `#[target_feature]`. Its
//! public surface is safe: every entry point validates shapes and returns [`KernelError`] on a
//! mismatch. [`reference`] holds the naive version of every kernel, the specification the tests
//! check each ISA against.
//!
//! ```
//! use sdae_kernels::{kernels, Trans};
//! let (m, n, k) = (2, 3, 4);
//! let a = vec![1.0f32; m * k];
//! let b = vec![0.5f32; k * n];
//! let mut c = vec![f32::NAN; m * n]; // beta = 0: C is never read
//! kernels().sgemm(Trans::N, Trans::N, m, n, k, 1.0, &a, k, &b, n, 0.0, &mut c, n).unwrap();
//! assert!(c.iter().all(|&v| v == 2.0));
//! ```

pub mod dispatch;
pub mod fused;
pub mod gemm;
pub mod isa;
pub mod reference;
pub mod rowpass;
pub mod simd;
pub mod threads;

pub use dispatch::{install_gemm_plan, kernels, Kernels};
pub use gemm::{fma_peak_gflops, CacheSizes, GemmBlocking, GemmPlan, LoopOrder};
pub use isa::Isa;
pub use rand_xoshiro::Xoshiro256PlusPlus;
pub use reference::SoftmaxStats;
pub use rowpass::RowLoss;

use std::fmt;

/// Whether a GEMM operand is used as stored (`N`) or transposed (`T`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trans {
    N,
    T,
}

impl Trans {
    pub fn name(self) -> &'static str {
        match self {
            Trans::N => "N",
            Trans::T => "T",
        }
    }
}

/// A rejected call: bad shapes, lengths, or an unsupported ISA. The message names the argument,
/// the value it had and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError {
    msg: String,
}

impl KernelError {
    pub fn new(msg: impl Into<String>) -> KernelError {
        KernelError { msg: msg.into() }
    }
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for KernelError {}
