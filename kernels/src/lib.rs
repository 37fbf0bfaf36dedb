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
//! Matrices cross the API as views ([`MatRef`], [`MatMut`]: slice, shape, leading dimension,
//! transpose flag), checked once when made:
//!
//! ```
//! use sdae_kernels::{kernels, MatMut, MatRef};
//! let (m, n, k) = (2, 3, 4);
//! let a = vec![1.0f32; m * k];
//! let b = vec![0.5f32; k * n];
//! let mut c = vec![f32::NAN; m * n]; // beta = 0: C is never read
//! let (a, b) = (MatRef::new(&a, m, k)?, MatRef::new(&b, k, n)?);
//! kernels().sgemm(1.0, a, b, 0.0, MatMut::new(&mut c, m, n)?)?;
//! assert!(c.iter().all(|&v| v == 2.0));
//! # Ok::<(), sdae_kernels::KernelError>(())
//! ```

pub mod bandwidth;
pub mod dispatch;
pub mod fused;
pub mod gemm;
pub mod isa;
pub mod mat;
pub mod random;
#[cfg(any(test, doc, feature = "reference"))]
pub mod reference;
pub mod rowpass;
pub mod simd;
pub mod threads;
mod timing;

pub use dispatch::{install_gemm_plan, kernels, Kernels};
pub use fused::SoftmaxStats;
pub use gemm::{fma_peak_gflops, CacheSizes, GemmBlocking, GemmPlan, LoopOrder};
pub use isa::Isa;
pub use mat::{MatMut, MatRef};
pub use rand_xoshiro::Xoshiro256PlusPlus;
pub use rowpass::{Pending, TiedRows};

use std::fmt;

/// The loss of sigmoid outputs `z = s(t)` against targets `x` in `[0, 1]`, shared by the fused
/// loss kernels ([`Kernels::sigmoid_loss`]), the row passes ([`Kernels::tied_sigmoid_rows`])
/// and the driver's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loss {
    /// Cross-entropy `-[x log z + (1-x) log(1-z)] = softplus(t) - x t`; gradient `z - x`.
    CrossEntropy,
    /// Squared error `(z - x)^2`; gradient `2 (z - x) z (1 - z)`.
    SquaredError,
}

impl Loss {
    /// Every loss, in the order of [`Loss::name`]'s documentation.
    pub const ALL: [Loss; 2] = [Loss::CrossEntropy, Loss::SquaredError];

    /// The short name: `xent` or `sqerr`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "xent",
            Loss::SquaredError => "sqerr",
        }
    }

    /// The loss called `name` (`xent` / `cross-entropy`, `sqerr` / `squared-error`).
    pub fn from_name(name: &str) -> Option<Loss> {
        match name {
            "xent" | "cross-entropy" => Some(Loss::CrossEntropy),
            "sqerr" | "squared-error" => Some(Loss::SquaredError),
            _ => None,
        }
    }
}

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
