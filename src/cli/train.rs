//! `sdae pretrain | finetune | train | eval | encode` arguments; what they do is in
//! [`crate::train::commands`].

use std::path::PathBuf;

use clap::Args;

/// Where the splits come from.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Directory of generated tasks (`<dir>/<task>/<split>.sdd`).
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Task name (e.g. mnist-basic); with --data gives the three split files.
    #[arg(long)]
    pub task: Option<String>,
    /// Training split file (overrides --data/--task).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// Validation split file.
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Test split file.
    #[arg(long)]
    pub test: Option<PathBuf>,
}

/// Arguments shared by `pretrain`, `finetune` and `train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// TOML config (see src/config.rs); without it, the defaults (3 x 1000 units) apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where to write the model (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint file, rewritten atomically after every epoch (default: <out>.ckpt).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint if it exists.
    #[arg(long)]
    pub resume: bool,
    /// No progress bars or per-epoch lines, only the result.
    #[arg(long)]
    pub quiet: bool,
    /// One JSON object per epoch on stdout (and one for the result).
    #[arg(long)]
    pub json: bool,
    /// Random seed (overrides the config).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Hidden widths, comma-separated (e.g. 1000,1000,1000).
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,
    /// Corruption level of every layer.
    #[arg(long)]
    pub nu: Option<f64>,
    /// Pre-training learning rate of every layer.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Pre-training epochs of every layer.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Pre-training batch size of every layer.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Corruption: mask, bernoulli, gaussian or salt-pepper.
    #[arg(long)]
    pub noise: Option<String>,
    /// Reconstruction loss: xent or sqerr.
    #[arg(long)]
    pub loss: Option<String>,
    /// Untied decoder weights.
    #[arg(long)]
    pub untied: bool,
    /// Kind of every hidden layer: dae (denoising autoencoders: SdA / SAA) or rbm (RBMs
    /// trained by CD-1: a DBN). Overrides the config's [model] layer_kind. RBM layers ignore
    /// --nu, --noise, --loss and --untied.
    #[arg(long, value_name = "KIND", value_parser = ["dae", "rbm"])]
    pub layer_kind: Option<String>,
    /// Fine-tuning learning rate.
    #[arg(long)]
    pub finetune_lr: Option<f64>,
    /// Fine-tuning maximum epochs.
    #[arg(long)]
    pub max_epochs: Option<usize>,
    /// Fine-tuning patience (epochs without a better validation error).
    #[arg(long)]
    pub patience: Option<usize>,
    /// Fine-tuning batch size.
    #[arg(long)]
    pub finetune_batch: Option<usize>,
    /// `finetune` only: the pre-trained model to start from.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// `sdae eval MODEL DATASET`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    pub model: PathBuf,
    pub dataset: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// The seed's robustness criterion: at each --nu, the error on inputs corrupted by masking
    /// noise and each hidden layer's mean relative code change |f(x~) - f(x)| / |f(x)|.
    #[arg(long)]
    pub robustness: bool,
    /// --robustness: masking levels (fractions of the inputs set to 0); 0 is always included.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.25,0.5")]
    pub nu: Vec<f64>,
    /// --robustness: more models measured on the same corrupted inputs, side by side.
    #[arg(long = "and", value_name = "MODEL")]
    pub and: Vec<PathBuf>,
    /// --robustness: a name per model (comma-separated; default: the file names).
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// --robustness: seed of the corruption (the same for every model).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// --robustness: also draw error and top-layer code change against the level (PNG).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `sdae encode MODEL DATASET --layer K --out PATH`.
#[derive(Args, Debug, Clone)]
pub struct EncodeArgs {
    pub model: PathBuf,
    pub dataset: PathBuf,
    /// Layer whose representation to write (1-based; default: the top layer).
    #[arg(long)]
    pub layer: Option<usize>,
    #[arg(long)]
    pub out: PathBuf,
}
