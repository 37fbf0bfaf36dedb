//! What the `reproduce` and `sweep` subcommands do (their arguments: [`crate::cli::experiment`]).

use super::grid::Grid;
use super::job::RunOutcome;
use super::reproduce::{reproduce, ReproduceOptions};
use super::sweep;
use crate::cli::experiment::{ReproduceArgs, SweepCommand};

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
