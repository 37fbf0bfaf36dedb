//! `sdae info` and `sdae bench`: quick, human-readable throughput tables (criterion benches in
//! benches/ are the careful measurement).

use clap::Subcommand;

use sdae_kernels::{kernels, threads, Isa};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// SGEMM at the shapes training uses, sdae beside matrixmultiply.
    Gemm {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One denoising step of a 784->1000 tied layer (nu=0.25, cross-entropy, SGD): examples/s.
    DaeStep(crate::bench_train::DaeStepArgs),
}

/// The text of `sdae info`.
pub fn info_text() -> String {
    let k = kernels();
    let sup: Vec<&str> = Isa::supported().iter().map(|i| i.name()).collect();
    format!(
        "isa: {}\nsupported: {}\nthreads: {}\n",
        k.isa(),
        sup.join(" "),
        threads::threads()
    )
}

pub fn run(cmd: BenchCommand) -> Result<(), String> {
    match cmd {
        BenchCommand::Gemm { json: _ } => Err("bench gemm: not built yet".into()),
        BenchCommand::DaeStep(a) => crate::bench_train::run_dae_step(a),
    }
}
