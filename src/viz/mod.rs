//! `sdae viz`: the pictures of a run. First-layer filters as image tiles (like the paper's
//! filter figures), rows of clean / corrupted / reconstructed inputs, and training curves.
//! Everything is drawn by a tiny rasteriser with a built-in bitmap font ([`canvas`], [`font`])
//! and written through [`png`]'s writer, atomically: on any error no output file
//! is left behind.

pub mod canvas;
pub mod curves;
pub mod font;
pub mod montage;
pub mod noise;
pub mod png;
pub mod robustness;
pub mod tiles;

use std::path::Path;

use crate::cli::viz::{CurvesArgs, FiltersArgs, NoiseFiltersArgs, ReconstructionsArgs, VizCommand};
use crate::data::Dataset;
use crate::model::Model;
pub use tiles::Normalise;

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
        VizCommand::NoiseFilters(a) => noise_filters_command(&a),
    }
}

/// `sdae viz noise-filters`.
pub fn noise_filters_command(a: &NoiseFiltersArgs) -> Result<(), String> {
    check_out(&a.out)?;
    let ds = Dataset::open(&a.train).map_err(|e| e.to_string())?;
    ds.verify_inputs().map_err(|e| e.to_string())?;
    let rows = a.rows.unwrap_or(ds.rows()).min(ds.rows());
    if rows == 0 {
        return Err(format!("--rows {rows}: expected at least one example"));
    }
    let cols = ds.cols();
    let train = crate::train::SplitView::new(
        "training set",
        &ds.features()[..rows * cols],
        &ds.labels()[..rows],
        cols,
        ds.classes(),
    )
    .map_err(|e| e.to_string())?;
    let fig = noise::NoiseFigure {
        train: &train,
        nus: a.nu.clone(),
        follow_nus: a.follow_nu.clone(),
        layer: crate::config::Overrides {
            seed: Some(a.seed),
            widths: Some(vec![a.width]),
            lr: Some(a.lr),
            epochs: Some(a.epochs),
            batch: Some(a.batch),
            ..Default::default()
        },
        count: a.count,
        follow: a.follow,
        scale: a.scale,
    };
    let t0 = std::time::Instant::now();
    let models = noise::train_levels(&fig, |nu| {
        eprintln!(
            "trained nu = {nu} ({} x {}, {} epochs) at {:.0} s",
            cols,
            a.width,
            a.epochs,
            t0.elapsed().as_secs_f64()
        )
    })?;
    noise::figure(&models, &a.nu, &a.follow_nu, a.count, a.follow, a.scale)?.save(&a.out)?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}
