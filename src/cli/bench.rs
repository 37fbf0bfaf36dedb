//! `sdae bench ...` arguments; the measurements are in [`crate::bench`] and
//! [`crate::bench_train`].

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// SGEMM at the shapes training uses, sdae beside matrixmultiply (interleaved, median
    /// GFLOP/s). `--isa all` measures every supported ISA; `--threads N` caps both libraries.
    Gemm {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed repetitions per implementation and shape (the median is reported).
        #[arg(long, default_value_t = 31)]
        reps: usize,
    },
    /// One denoising step of a 784->1000 tied layer (nu=0.25, cross-entropy, SGD): examples/s
    /// and GFLOP/s as a % of the FMA peak measured in the same run.
    DaeStep(StepArgs),
    /// One CD-1 step of a 784->1000 RBM (binary units, inputs in [0,1], lr 0.01, v1 sampled),
    /// the code `sdae train --layer-kind rbm` runs: examples/s and GFLOP/s as a % of the FMA
    /// peak measured in the same run.
    RbmStep(StepArgs),
    /// Every fused kernel over a 128x1000 batch, as a % of the 128x784x1000 GEMM timed in the
    /// same run (interleaved medians). `--isa all` measures every supported ISA.
    Fused {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed repetitions (the median is reported).
        #[arg(long, default_value_t = 201)]
        reps: usize,
    },
}

#[derive(Args, Debug, Clone)]
/// The arguments of the step benches (`dae-step`, `rbm-step`).
pub struct StepArgs {
    /// Minibatch size.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Seconds of measurement (split into --reps repetitions; the median is reported).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Input width.
    #[arg(long, default_value_t = 784)]
    pub d: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 1000)]
    pub h: usize,
    /// One JSON object instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// `sdae tune` arguments; the measurement is in [`crate::tune`].
#[derive(Args, Debug)]
pub struct TuneArgs {
    /// A short tune (fewer KC values, shapes and rounds; about 30 s on 2 cores).
    #[arg(long)]
    pub quick: bool,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the plan here instead of this machine's wisdom file ($SDAE_WISDOM, else
    /// $XDG_CACHE_HOME/sdae/ or ~/.cache/sdae/); such a file can be pinned with `--plan FILE`.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// Timed rounds per plan and shape (default: 2 quick, 5 full; the head-to-head of the
    /// leaders runs three times as many).
    #[arg(long)]
    pub rounds: Option<usize>,
}
