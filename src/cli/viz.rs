//! `sdae viz ...` arguments; the pictures are drawn by [`crate::viz`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::viz::Normalise;

#[derive(Subcommand, Debug)]
pub enum VizCommand {
    /// A layer's weights as 28x28 tiles, one per hidden unit (layer 1 by default).
    Filters(FiltersArgs),
    /// Rows of clean inputs, their masking-noise corruption and the first layer's reconstruction.
    Reconstructions(ReconstructionsArgs),
    /// Training curves from the JSON lines of `sdae train --json`.
    Curves(CurvesArgs),
}

#[derive(Args, Debug)]
pub struct FiltersArgs {
    /// Model file (written by `sdae pretrain` or `sdae train`).
    pub model: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of hidden units shown (the first N).
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Layer (1-based). Deeper layers are shown as the linear projection W_1 ... W_k.
    #[arg(long, default_value_t = 1)]
    pub layer: usize,
    /// Pixels per weight.
    #[arg(long, default_value_t = 2)]
    pub scale: usize,
    /// Gray mapping of each tile: its own min..max (the paper's figures) or symmetric around 0.
    #[arg(long, value_enum, default_value_t = Normalise::Minmax)]
    pub normalise: Normalise,
}

#[derive(Args, Debug)]
pub struct ReconstructionsArgs {
    /// Model file; its first layer reconstructs.
    pub model: PathBuf,
    /// Dataset file (.sdd); its first examples are shown.
    pub dataset: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of examples (columns).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Masking-noise level: the fraction of pixels set to zero in each example.
    #[arg(long, default_value_t = 0.25)]
    pub nu: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pixels per input value.
    #[arg(long, default_value_t = 3)]
    pub scale: usize,
}

#[derive(Args, Debug)]
pub struct CurvesArgs {
    /// Log of `sdae train --json` (one JSON object per line).
    pub log: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
}
