//! `sdae reproduce`: generate missing task data, run a grid's sweep locally, select on
//! validation, test the chosen models once, write the table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::grid::Grid;
use super::report::Results;
use super::sweep;
use crate::data::generate::{generate_tasks, Sources};
use crate::data::{split_path, Dataset, SPLITS};

/// Generate the tasks of `tasks` whose split files are missing or unreadable.
pub fn ensure_data(tasks: &[String], data: &Path, source: &Path, seed: u64) -> Result<(), String> {
    let missing: Vec<&str> = tasks
        .iter()
        .filter(|t| {
            SPLITS
                .iter()
                .any(|s| Dataset::open(&split_path(data, t, s)).is_err())
        })
        .map(|t| t.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "generating {} into {} from {}",
        missing.join(", "),
        data.display(),
        source.display()
    );
    let src = Sources::load(source, &missing).map_err(|e| e.to_string())?;
    generate_tasks(&missing, data, seed, &src, None, |_, _, _, _| {}).map_err(|e| e.to_string())
}

/// Options of `sdae reproduce`.
pub struct ReproduceOptions {
    pub tasks: Vec<String>,
    pub grid: String,
    pub out: PathBuf,
    pub data: PathBuf,
    pub source: PathBuf,
    pub data_seed: u64,
    /// Training seed of every run, over the grid's (`--seed`).
    pub seed: Option<u64>,
    pub jobs: usize,
    pub threads_per_run: usize,
    pub quiet: bool,
    pub command: String,
}

pub fn reproduce(o: &ReproduceOptions) -> Result<Results, String> {
    let t0 = Instant::now();
    let mut grid = Grid::load(&o.grid)?;
    if let Some(s) = o.seed {
        grid = grid.with_seed(s)?;
    }
    ensure_data(&o.tasks, &o.data, &o.source, o.data_seed)?;
    let sweep_dir = o.out.join("sweep");
    let (info, runs) = sweep::plan(&grid, &o.tasks, &sweep_dir, &o.data, o.threads_per_run)?;
    let todo = sweep::unfinished(&sweep_dir, &runs).len();
    if !o.quiet {
        eprintln!(
            "grid '{}': {} runs ({} to do), {} at a time with {} thread(s) each",
            info.grid,
            runs.len(),
            todo,
            o.jobs,
            info.threads_per_run
        );
    }
    sweep::run_local(&sweep_dir, o.jobs, o.quiet, false)?;
    let results = sweep::collect(
        &sweep_dir,
        &o.out,
        false,
        &o.command,
        Some(t0.elapsed().as_secs_f64()),
    )?;
    Ok(results)
}
