//! `sdae reproduce` and `sdae sweep ...` arguments; what they do is in
//! [`crate::experiment::cli`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `sdae reproduce`.
#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Tasks: all, or a comma-separated list (mnist-basic,convex,...).
    #[arg(long, default_value = "all")]
    pub tasks: String,
    /// Grid: best, paper, quick (see experiments/), or a grid TOML file.
    #[arg(long, default_value = "best")]
    pub grid: String,
    /// Where table.md, results.csv, results.json and the runs (sweep/) go.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Folder of task data (<data>/<task>/<split>.sdd); missing tasks are generated there.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Source files for generating tasks: MNIST and backgrounds (default: $DATA_SRC, else
    /// ../shared/datasets).
    #[arg(long)]
    pub source: Option<PathBuf>,
    /// Seed of the data generators.
    #[arg(long, default_value_t = 0)]
    pub data_seed: u64,
    /// Training seed of every run (default: the grid's own); use another --out per seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Runs at a time (default: one per core, each single-threaded).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Threads per run (the global --threads also sets this).
    #[arg(long)]
    pub threads_per_run: Option<usize>,
    /// Only the final table.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum SweepCommand {
    /// Expand a grid into DIR: manifest.jsonl (one run per line), sweep.json, sweep.sbatch.
    Plan {
        #[arg(long)]
        grid: String,
        /// all, or a comma-separated list.
        #[arg(long, default_value = "all")]
        tasks: String,
        /// The sweep folder (on storage every node sees).
        #[arg(long)]
        out: PathBuf,
        /// Folder of task data, as every node sees it.
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Threads per run (--cpus-per-task in the Slurm script).
        #[arg(long, default_value_t = 1)]
        threads_per_run: usize,
        /// Training seed of every run (default: the grid's own).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run manifest entry INDEX (the Slurm array task); nothing if it is already finished or
    /// claimed by another live worker.
    Run {
        dir: PathBuf,
        #[arg(long)]
        index: usize,
    },
    /// Run every unfinished entry on this machine, JOBS at a time. Runs claimed by other
    /// workers are skipped, then waited for (and taken over if their claim goes stale).
    RunLocal {
        dir: PathBuf,
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        #[arg(long)]
        quiet: bool,
        /// Do not wait for runs claimed by other workers: leave them to them.
        #[arg(long)]
        no_wait: bool,
    },
    /// Each run's state: done, running (host, pid, Slurm job), stale claim, failed, to do.
    Status {
        dir: PathBuf,
        /// One JSON object per run instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Select per task on validation error, test the chosen models once, write the table.
    Collect {
        dir: PathBuf,
        /// Output folder (default: DIR).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Collect even if some runs are unfinished.
        #[arg(long)]
        partial: bool,
    },
}
