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
    /// The paper's filter figure: one DAE layer trained at each masking level from the same
    /// initialisation, the first units side by side, and a few units followed across levels.
    NoiseFilters(NoiseFiltersArgs),
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

#[derive(Args, Debug)]
pub struct NoiseFiltersArgs {
    /// Training split (.sdd), e.g. data/mnist-basic/train.sdd.
    pub train: PathBuf,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Masking levels of the side-by-side panels (comma-separated fractions).
    #[arg(long, value_delimiter = ',', default_value = "0,0.25,0.5")]
    pub nu: Vec<f64>,
    /// Levels the followed units are shown at.
    #[arg(long, value_delimiter = ',', default_value = "0,0.1,0.2,0.5")]
    pub follow_nu: Vec<f64>,
    /// Hidden units of the layer.
    #[arg(long, default_value_t = 1000)]
    pub width: usize,
    /// Pre-training epochs at each level.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Minibatch size.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// Seed: the initialisation shared by every level, and the noise.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Train on the first ROWS examples only (default: all).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Units per panel (the first N).
    #[arg(long, default_value_t = 36)]
    pub count: usize,
    /// Units followed across levels (the first N).
    #[arg(long, default_value_t = 6)]
    pub follow: usize,
    /// Pixels per weight.
    #[arg(long, default_value_t = 2)]
    pub scale: usize,
}
