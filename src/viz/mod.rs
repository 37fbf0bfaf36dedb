//! `sdae viz`: the pictures of a run. First-layer filters as image tiles (like the paper's
//! filter figures), rows of clean / corrupted / reconstructed inputs, and training curves.
//! Everything is drawn by a tiny rasteriser with a built-in bitmap font ([`canvas`], [`font`])
//! and written through the data module's PNG writer, atomically: on any error no output file
//! is left behind.

pub mod canvas;
pub mod curves;
pub mod font;
pub mod tiles;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::data::Dataset;
use crate::model::Model;
pub use tiles::Normalise;

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

/// The `.png` check shared by the commands: a clear error before any work is done.
fn check_out(out: &Path) -> Result<(), String> {
    let ok = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !ok {
        return Err(format!(
            "--out {}: expected a file name ending in .png",
            out.display()
        ));
    }
    Ok(())
}

/// `sdae viz filters`.
pub fn filters_command(a: &FiltersArgs) -> Result<(), String> {
    check_out(&a.out)?;
    let model = Model::load(&a.model).map_err(|e| e.to_string())?;
    let (img, _) = tiles::filters_image(&model, a.layer, a.count, a.scale, a.normalise)
        .map_err(|e| format!("{}: {e}", a.model.display()))?;
    img.save(&a.out)
}

/// `sdae viz reconstructions`.
pub fn reconstructions_command(a: &ReconstructionsArgs) -> Result<(), String> {
    check_out(&a.out)?;
    let model = Model::load(&a.model).map_err(|e| e.to_string())?;
    let ds = Dataset::open(&a.dataset).map_err(|e| e.to_string())?;
    let r = tiles::reconstruct(&model, &ds, a.count, a.nu, a.seed)?;
    let (img, _) = tiles::reconstructions_image(&r, ds.cols(), a.scale)
        .map_err(|e| format!("{}: {e}", a.dataset.display()))?;
    img.save(&a.out)
}

/// `sdae viz curves`.
pub fn curves_command(a: &CurvesArgs) -> Result<(), String> {
    check_out(&a.out)?;
    let c = curves::read_log(&a.log)?;
    curves::curves_image(&c).save(&a.out)
}

/// Run one `sdae viz` subcommand.
pub fn run(cmd: VizCommand) -> Result<(), String> {
    match cmd {
        VizCommand::Filters(a) => filters_command(&a),
        VizCommand::Reconstructions(a) => reconstructions_command(&a),
        VizCommand::Curves(a) => curves_command(&a),
    }
}
