//! `sdae data info` and `verify`: summaries and integrity checks (the `preview` montage is drawn
//! by [`crate::viz::montage`]).

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::DataError;
use super::Dataset;

/// The `.sdd` files named by `path`: the file itself, or every `*.sdd` in the folder and in its
/// sub-folders one level down (`<dir>/<task>/<split>.sdd`), sorted.
pub fn dataset_files(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(DataError::new(
            path,
            "no such file or folder (expected a .sdd file or a folder of them)",
        ));
    }
    let is_sdd = |p: &Path| p.is_file() && p.extension().is_some_and(|e| e == super::EXTENSION);
    let list = |d: &Path| -> Result<Vec<PathBuf>, DataError> {
        let mut v: Vec<PathBuf> = fs::read_dir(d)
            .map_err(|e| DataError::io(d, "cannot list folder", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        v.sort();
        Ok(v)
    };
    let mut out = Vec::new();
    for p in list(path)? {
        if is_sdd(&p) {
            out.push(p);
        } else if p.is_dir() {
            out.extend(list(&p)?.into_iter().filter(|q| is_sdd(q)));
        }
    }
    if out.is_empty() {
        return Err(DataError::new(
            path,
            "no .sdd dataset files in this folder or its sub-folders",
        ));
    }
    Ok(out)
}

/// Summary statistics of one split.
#[derive(Clone, Debug)]
pub struct Summary {
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
    pub histogram: Vec<usize>,
    pub mean: f64,
    pub min: f32,
    pub max: f32,
    pub checksum: Result<(), DataError>,
}

/// Rows, columns, label histogram, pixel mean/min/max and checksum status (runs in parallel).
pub fn summarize(ds: &Dataset) -> Summary {
    let (sum, min, max) = ds
        .features()
        .par_chunks(1 << 16)
        .map(|c| {
            let mut s = 0f64;
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            // Eight partial sums keep the loop vectorisable and the f32 sums short.
            for block in c.chunks(1024) {
                let mut acc = [0f32; 8];
                let mut it = block.chunks_exact(8);
                for v in &mut it {
                    for k in 0..8 {
                        acc[k] += v[k];
                        lo = lo.min(v[k]);
                        hi = hi.max(v[k]);
                    }
                }
                for &v in it.remainder() {
                    acc[0] += v;
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                s += acc.iter().map(|&a| f64::from(a)).sum::<f64>();
            }
            (s, lo, hi)
        })
        .reduce(
            || (0.0, f32::INFINITY, f32::NEG_INFINITY),
            |a, b| (a.0 + b.0, a.1.min(b.1), a.2.max(b.2)),
        );
    let mut histogram = vec![0usize; ds.classes()];
    // Labels out of range are reported by the checksum status (verify checks the range).
    for &l in ds.labels() {
        if let Some(h) = histogram.get_mut(l as usize) {
            *h += 1;
        }
    }
    let n = ds.features().len();
    Summary {
        rows: ds.rows(),
        cols: ds.cols(),
        classes: ds.classes(),
        histogram,
        mean: if n == 0 { 0.0 } else { sum / n as f64 },
        min,
        max,
        checksum: ds.verify_checksum(),
    }
}

/// The text `sdae data info` prints for one file.
pub fn info_text(path: &Path) -> Result<String, DataError> {
    let ds = Dataset::open(path)?;
    let s = summarize(&ds);
    let hist: Vec<String> = s
        .histogram
        .iter()
        .enumerate()
        .map(|(c, n)| format!("{c}:{n}"))
        .collect();
    let status = match &s.checksum {
        Ok(()) => format!("ok ({:016x})", ds.checksum()),
        Err(e) => format!("FAILED: {}", e.message),
    };
    Ok(format!(
        "{}\n  rows {}  cols {}  classes {}\n  labels {}\n  pixels mean {:.4} min {} max {}\n  checksum {}\n",
        path.display(),
        s.rows,
        s.cols,
        s.classes,
        hist.join(" "),
        s.mean,
        if s.rows == 0 { f32::NAN } else { s.min },
        if s.rows == 0 { f32::NAN } else { s.max },
        status
    ))
}
