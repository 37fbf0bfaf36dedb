//! sdae: stacked denoising autoencoders (Vincent, Larochelle, Bengio, Manzagol, ICML 2008) on
//! CPUs, driven over the SIMD kernels of [`sdae_kernels`].
//!
//! Data flows one way: dataset file -> mmap'd `&[f32]` batch view -> corruption -> encoder GEMM
//! -> fused bias+sigmoid -> decoder GEMM -> fused loss+gradient -> backward GEMMs -> update, in
//! buffers allocated once per run. This crate has no intrinsics and no `#[target_feature]`.

pub mod bench;
pub mod bench_fused;
pub mod bench_train;
pub mod cli;
pub mod data;
pub mod error;
pub mod experiment;

pub use sdae_kernels as kernels;
pub mod config;
pub mod model;
pub mod plan;
pub mod train;
pub mod tune;
pub mod util;
pub mod viz;
