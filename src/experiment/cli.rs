//! The `reproduce` and `sweep` subcommands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::grid::Grid;
use super::job::RunOutcome;
use super::reproduce::{reproduce, ReproduceOptions};
use super::sweep;

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

fn command_line() -> String {
    let args: Vec<String> = std::env::args().collect();
    let mut v = vec!["sdae".to_string()];
    v.extend(args.into_iter().skip(1));
    v.join(" ")
}

pub fn run_reproduce(a: ReproduceArgs, global_threads: Option<usize>) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tpr = a.threads_per_run.or(global_threads).unwrap_or(1);
    if tpr == 0 {
        return Err("--threads-per-run 0: expected 1 or more".into());
    }
    let jobs = a.jobs.unwrap_or((cores / tpr).max(1));
    let opts = ReproduceOptions {
        tasks: sweep::parse_tasks(&a.tasks)?,
        grid: a.grid,
        out: a.out,
        data: a.data,
        source: a.source.unwrap_or_else(crate::data::cli::default_source),
        data_seed: a.data_seed,
        seed: a.seed,
        jobs,
        threads_per_run: tpr,
        quiet: a.quiet,
        command: command_line(),
    };
    let r = reproduce(&opts)?;
    print!("{}", super::report::render_table(&r));
    println!("\nwritten: {}", opts.out.join("table.md").display());
    Ok(())
}

pub fn run_sweep(cmd: SweepCommand) -> Result<(), String> {
    match cmd {
        SweepCommand::Plan {
            grid,
            tasks,
            out,
            data,
            threads_per_run,
            seed,
        } => {
            let mut g = Grid::load(&grid)?;
            if let Some(s) = seed {
                g = g.with_seed(s)?;
            }
            let (info, _) = sweep::plan(
                &g,
                &sweep::parse_tasks(&tasks)?,
                &out,
                &data,
                threads_per_run,
            )?;
            println!(
                "{} runs planned in {}\nsubmit: sbatch {}\nor run here: sdae sweep run-local {} --jobs N",
                info.runs,
                out.display(),
                out.join("sweep.sbatch").display(),
                out.display()
            );
            Ok(())
        }
        SweepCommand::Run { dir, index } => {
            let r = match sweep::run_index(&dir, index)? {
                RunOutcome::Busy(who) => {
                    println!("run {index}: skipped, claimed by {who}");
                    return Ok(());
                }
                RunOutcome::AlreadyDone(r) | RunOutcome::Ran(r) => r,
            };
            println!(
                "run {} ({} {} [{}]): valid error {:.2}% in {:.1}s",
                r.index,
                r.task,
                r.family.name(),
                r.label,
                r.valid_error,
                r.seconds
            );
            Ok(())
        }
        SweepCommand::Status { dir, json } => {
            let st = sweep::status(&dir)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&st).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", sweep::render_status(&st));
            }
            Ok(())
        }
        SweepCommand::RunLocal {
            dir,
            jobs,
            quiet,
            no_wait,
        } => {
            let n = sweep::run_local(&dir, jobs, quiet, no_wait)?;
            println!(
                "{n} run(s) finished now; collect with: sdae sweep collect {}",
                dir.display()
            );
            Ok(())
        }
        SweepCommand::Collect { dir, out, partial } => {
            let out = out.unwrap_or_else(|| dir.clone());
            let r = sweep::collect(&dir, &out, partial, &command_line(), None)?;
            print!("{}", super::report::render_table(&r));
            Ok(())
        }
    }
}
