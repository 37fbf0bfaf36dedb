//! Datasets: the memory-mapped `.sdd` file format, importers (IDX, Larochelle `.amat`) and
//! offline generators of the eight benchmark tasks of Larochelle et al. (2007).
//!
//! Training reads a split through [`Dataset`]: one mmap, a validated header, zero-copy `&[f32]`
//! and `&[u32]` views. The format is specified byte by byte in datasets/README.md.

pub mod amat;
pub mod cli;
mod error;
pub mod fidelity;
mod format;
pub mod generate;
pub mod idx;
pub mod images;
pub mod inspect;
pub mod recipe;
pub mod rng;
/// Moved to [`crate::util::xxh64`]; re-exported so `data::xxh64` paths keep working.
pub use crate::util::xxh64;

pub use error::{DataError, Location};
pub use format::{write_dataset, Dataset, FileIdentity, Header, ALIGN, HEADER_LEN, MAGIC, VERSION};

use std::path::{Path, PathBuf};

/// The eight benchmark tasks, in the paper's order.
pub const TASKS: [&str; 8] = [
    "mnist-basic",
    "mnist-rot",
    "mnist-back-rand",
    "mnist-back-image",
    "mnist-rot-back-image",
    "rectangles",
    "rectangles-image",
    "convex",
];

/// The three splits of every task.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// File extension of a dataset split.
pub const EXTENSION: &str = "sdd";

/// `(train, valid, test)` sizes of a benchmark task, `None` for an unknown name.
pub fn task_sizes(task: &str) -> Option<(usize, usize, usize)> {
    match task {
        "mnist-basic"
        | "mnist-rot"
        | "mnist-back-rand"
        | "mnist-back-image"
        | "mnist-rot-back-image"
        | "rectangles-image" => Some((10_000, 2_000, 50_000)),
        "rectangles" => Some((1_000, 200, 50_000)),
        "convex" => Some((6_000, 2_000, 50_000)),
        _ => None,
    }
}

/// Number of classes of a benchmark task (10 digits, or 2), `None` for an unknown name.
pub fn task_classes(task: &str) -> Option<usize> {
    match task {
        "rectangles" | "rectangles-image" | "convex" => Some(2),
        t if task_sizes(t).is_some() => Some(10),
        _ => None,
    }
}

/// `<dir>/<task>/<split>.sdd` (split: train | valid | test).
pub fn split_path(dir: &Path, task: &str, split: &str) -> PathBuf {
    dir.join(task).join(format!("{split}.{EXTENSION}"))
}
