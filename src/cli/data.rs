//! `sdae data ...` arguments; what each subcommand does is in [`crate::data::cli`].

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Rows, columns, label histogram, pixel mean/min/max and checksum status of a split, or of
    /// every split in a folder.
    Info { path: PathBuf },
    /// Verify the header, checksum and label range of a split, or of every split in a folder.
    Verify { path: PathBuf },
    /// Write a PNG montage of a split: one row per class.
    Preview {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Examples per class (row).
        #[arg(long, default_value_t = 10)]
        per_class: usize,
        /// Magnification of each image.
        #[arg(long, default_value_t = 2)]
        scale: usize,
    },
    /// Import an IDX image file and label file (raw or .gz, e.g. MNIST) as pixels / 255.
    ImportIdx {
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        labels: PathBuf,
        /// Output .sdd file.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10)]
        classes: usize,
    },
    /// Import one pair of .amat files (train+valid, test) into OUT/{train,valid,test}.sdd.
    ImportAmat {
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        test: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 10)]
        classes: usize,
        /// Validation rows, taken from the END of the train file.
        #[arg(long, default_value_t = 2000)]
        valid_rows: usize,
    },
    /// Import every benchmark task found in a folder of the original unzipped .amat files.
    ImportLarochelle {
        dir: PathBuf,
        /// Output folder (one sub-folder per task).
        #[arg(long, default_value = "data")]
        out: PathBuf,
        /// Override the validation rows (default: 2,000; 200 for rectangles).
        #[arg(long)]
        valid_rows: Option<usize>,
    },
    /// How close a data folder is to the published benchmark: per task sizes, label balance,
    /// pixel statistics, per-class white-pixel means (binary tasks), the recipe that made it and
    /// the committed SVM-rbf yardstick figure beside the paper's.
    Fidelity {
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Yardstick result (JSON written by experiments/svm_rbf.py).
        #[arg(long, default_value = crate::data::fidelity::DEFAULT_YARDSTICK)]
        yardstick: PathBuf,
    },
    /// Generate benchmark tasks offline from MNIST and natural images.
    Generate {
        /// A task name, or `all`.
        #[arg(long)]
        task: String,
        #[arg(long, default_value = "data")]
        out: PathBuf,
        /// Folder with mnist/ and backgrounds/ (default: $DATA_SRC, else ../shared/datasets).
        #[arg(long)]
        source: Option<PathBuf>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The generator's open choices: v3 (calibrated, the default), v2 (the first
        /// calibration) or v1 (the first generator's). See datasets/README.md "Recipes".
        #[arg(long, default_value = crate::data::recipe::DEFAULT_RECIPE)]
        recipe: String,
        /// Override one recipe parameter, key=value (repeatable): rotation, combine-rand,
        /// combine-image, patch-scale, patch-min-std, rect-patch-min-std, convex-geometric,
        /// convex-area-match, convex-test, convex-parts, rect-corner.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}
