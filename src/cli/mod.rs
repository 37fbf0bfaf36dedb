//! The command-line front end: every clap definition of `sdae` lives in this folder (one file
//! per command group); what a command does lives with its module (`train::commands`,
//! `data::cli`, `experiment::cli`, `viz`, `bench`). `main` parses, sets the process-wide knobs
//! (ISA, threads) and hands over. Errors are printed as `sdae: <message>`; the exit status is 1,
//! or 3 when training diverged ([`crate::error::EXIT_DIVERGED`]).

pub mod bench;
pub mod data;
pub mod experiment;
pub mod train;
pub mod viz;

use clap::{Parser, Subcommand};

use crate::error::Error;
use sdae_kernels::{isa, threads, Isa};

#[derive(Parser, Debug)]
#[command(
    name = "sdae",
    version,
    about = "Stacked denoising autoencoders on hand-written SIMD kernels",
    after_help = "Exit status: 0 on success, 1 on an error, 2 on a usage error, 3 when training diverged (NaN/infinite loss)."
)]
pub struct Cli {
    /// Threads for the kernels (default: all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// Force an ISA: scalar, avx2, avx512 or neon (default: the fastest the CPU has; env SDAE_ISA).
    #[arg(long, global = true)]
    pub isa: Option<String>,
    /// Pin the GEMM plans to this file (written by `sdae tune --out`), whatever this machine's
    /// wisdom or preset says: runs with the same plan, ISA and threads are bit-identical.
    #[arg(long, global = true, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the detected ISA, every supported ISA, cache sizes, GEMM blocking and thread count.
    Info,
    /// Quick throughput benchmarks (criterion benches live in benches/).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Measure the GEMM plans of every supported ISA on this machine and keep the fastest as
    /// its wisdom (loaded by every command at start-up; `sdae info` says which plan is in force).
    Tune(bench::TuneArgs),
    /// Greedy layer-wise pre-training of the stack (DAEs, or RBMs by CD-1 with --layer-kind
    /// rbm); writes a model without output layer.
    Pretrain(train::TrainArgs),
    /// Supervised fine-tuning of a pre-trained model (--model) with early stopping.
    Finetune(train::TrainArgs),
    /// Pre-training then fine-tuning; reports the test error with its 95% interval.
    Train(train::TrainArgs),
    /// Error % and 95% interval of a fine-tuned model on a dataset file.
    Eval(train::EvalArgs),
    /// Write a dataset's representation at layer k as a new dataset file.
    Encode(train::EncodeArgs),
    /// Datasets: generate, import, inspect, verify, preview.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Reproduce the paper's Table 1: generate data, run a grid, select on validation, test once.
    Reproduce(experiment::ReproduceArgs),
    /// Hyper-parameter sweeps as Slurm job arrays (plan, run, run-local, status, collect).
    #[command(subcommand)]
    Sweep(experiment::SweepCommand),
    /// Pictures: first-layer filters, reconstructions, training curves (PNG).
    #[command(subcommand)]
    Viz(viz::VizCommand),
}

/// Apply `--isa` (else the `SDAE_ISA` environment variable, else detection) and `--threads`;
/// returns the ISA in force. The kernels read no environment: the knobs are the driver's.
pub fn apply_knobs(isa_flag: Option<&str>, threads_flag: Option<usize>) -> Result<Isa, String> {
    let chosen = match (isa_flag, std::env::var("SDAE_ISA")) {
        (Some(name), _) => isa::parse_supported(name, "--isa").map_err(|e| e.to_string())?,
        (None, Ok(v)) if !v.trim().is_empty() => {
            isa::parse_supported(&v, "SDAE_ISA").map_err(|e| e.to_string())?
        }
        _ => Isa::detect(),
    };
    isa::force(chosen).map_err(|e| e.to_string())?;
    if let Some(t) = threads_flag {
        threads::set_threads(t).map_err(|e| format!("--threads {t}: {e}"))?;
    }
    Ok(chosen)
}

fn run(cli: Cli) -> Result<(), Error> {
    // `--isa all` is for `sdae bench`: measure every supported ISA in one run.
    let isa_all = cli.isa.as_deref() == Some("all") && matches!(cli.command, Command::Bench(_));
    let isa_flag = if isa_all { None } else { cli.isa.as_deref() };
    apply_knobs(isa_flag, cli.threads).map_err(Error::Usage)?;
    // The GEMM plans, before any kernel runs: pinned file, this machine's wisdom, a preset for
    // the microarchitecture, or the cache model. `tune` compares against the untuned choice.
    let tuning = matches!(cli.command, Command::Tune(_));
    let choice = crate::plan::choose(cli.plan.as_deref(), !tuning).map_err(Error::Usage)?;
    if !tuning {
        crate::plan::install(&choice).map_err(Error::Usage)?;
    }
    crate::plan::set_in_force(choice.clone());
    match cli.command {
        Command::Tune(a) => Ok(crate::tune::run(a, &choice)?),
        Command::Info => {
            print!("{}", crate::bench::info_text());
            Ok(())
        }
        Command::Bench(b) => Ok(crate::bench::run(b, isa_all)?),
        Command::Pretrain(a) => {
            crate::train::commands::train_command(a, crate::train::commands::Phases::Pretrain)
        }
        Command::Finetune(a) => {
            crate::train::commands::train_command(a, crate::train::commands::Phases::Finetune)
        }
        Command::Train(a) => {
            crate::train::commands::train_command(a, crate::train::commands::Phases::Both)
        }
        Command::Eval(a) => crate::train::commands::eval_command(a),
        Command::Encode(a) => crate::train::commands::encode_command(a),
        Command::Data(d) => Ok(crate::data::cli::run(d)?),
        Command::Reproduce(a) => Ok(crate::experiment::cli::run_reproduce(a, cli.threads)?),
        Command::Sweep(s) => Ok(crate::experiment::cli::run_sweep(s)?),
        Command::Viz(v) => Ok(crate::viz::run(v)?),
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("sdae: {e}");
            e.exit_code()
        }
    }
}
