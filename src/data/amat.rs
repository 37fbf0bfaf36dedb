//! Larochelle et al.'s `.amat` text files: one example per line, the pixel values (in [0,1]) then
//! the label, separated by blanks; lines starting with '#' (PLearn headers) and blank lines are
//! skipped. Parsed in parallel, block by block, so a file is never held whole in memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::error::DataError;
use super::generate::Staging;
use super::{split_path, task_classes, write_dataset, Dataset, TASKS};

/// A parsed `.amat` file.
#[derive(Clone, Debug, Default)]
pub struct Amat {
    pub features: Vec<f32>,
    pub labels: Vec<u32>,
    pub cols: usize,
}

impl Amat {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// Features and labels of a block of lines.
type Parsed = (Vec<f32>, Vec<u32>);

const BLOCK: usize = 16 << 20;
const LINES_PER_TASK: usize = 64;

/// Parse one data line into `feats` (cols values) and return its label.
fn parse_line(
    path: &Path,
    lineno: u64,
    line: &str,
    cols: usize,
    classes: usize,
    feats: &mut Vec<f32>,
) -> Result<u32, DataError> {
    let mut n = 0usize;
    let mut label = None;
    for tok in line.split_ascii_whitespace() {
        n += 1;
        if n > cols + 1 {
            continue; // counted below for the error message
        }
        let v: f32 = tok.parse().map_err(|_| {
            DataError::at_token(path, lineno, n as u64, format!("{tok:?} is not a number"))
        })?;
        if n <= cols {
            if !(0.0..=1.0).contains(&v) {
                return Err(DataError::at_token(
                    path,
                    lineno,
                    n as u64,
                    format!("pixel value {tok} outside [0, 1]"),
                ));
            }
            feats.push(v);
        } else {
            if v.fract() != 0.0 || v < 0.0 || v >= classes as f32 {
                return Err(DataError::at_token(
                    path,
                    lineno,
                    n as u64,
                    format!("label {tok}, expected an integer in 0..{classes}"),
                ));
            }
            label = Some(v as u32);
        }
    }
    match label {
        Some(l) if n == cols + 1 => Ok(l),
        _ => Err(DataError::at_line(
            path,
            lineno,
            format!(
                "{n} values, expected {} ({cols} pixels then the label)",
                cols + 1
            ),
        )),
    }
}

fn is_data(line: &str) -> bool {
    let t = line.trim_start();
    !t.is_empty() && !t.starts_with('#')
}

/// Parse an `.amat` file. `cols`: pixels per row, or `None` to take it from the first data line
/// (its number of values minus one). Every label must be `< classes`.
pub fn read_amat(path: &Path, cols: Option<usize>, classes: usize) -> Result<Amat, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, "cannot open", e))?;
    let mut out = Amat::default();
    let mut cols = cols;
    let mut carry: Vec<u8> = Vec::new();
    let mut line_base: u64 = 0; // lines before the current block
                                // A small file gets a small buffer: what a reader allocates follows the file's length.
    let len = file.metadata().map_or(BLOCK as u64, |m| m.len());
    let mut buf = vec![0u8; BLOCK.min(len as usize + 1).max(4096)];
    let mut eof = false;
    while !eof {
        let n = file
            .read(&mut buf)
            .map_err(|e| DataError::io(path, "read failed", e))?;
        if n == 0 {
            eof = true;
        }
        carry.extend_from_slice(&buf[..n]);
        // Parse the complete lines; keep the tail for the next block (all of it at the end).
        let cut = if eof {
            carry.len()
        } else {
            match carry.iter().rposition(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => continue,
            }
        };
        let text = std::str::from_utf8(&carry[..cut]).map_err(|e| {
            let bad = e.valid_up_to();
            let line = line_base + carry[..bad].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            DataError::at_line(path, line, "not text (invalid UTF-8 byte)")
        })?;
        let lines: Vec<&str> = text.lines().collect();
        if cols.is_none() {
            if let Some(first) = lines.iter().find(|l| is_data(l)) {
                let n = first.split_ascii_whitespace().count();
                if n < 2 {
                    let i = lines.iter().position(|l| is_data(l)).expect("found");
                    return Err(DataError::at_line(
                        path,
                        line_base + i as u64 + 1,
                        format!("{n} value(s), expected pixel values then a label"),
                    ));
                }
                cols = Some(n - 1);
            }
        }
        if let Some(c) = cols {
            let parts: Vec<Result<Parsed, DataError>> = lines
                .par_chunks(LINES_PER_TASK)
                .enumerate()
                .map(|(ci, chunk)| {
                    let mut f = Vec::with_capacity(chunk.len() * c);
                    let mut l = Vec::with_capacity(chunk.len());
                    for (j, line) in chunk.iter().enumerate() {
                        if is_data(line) {
                            let lineno = line_base + (ci * LINES_PER_TASK + j) as u64 + 1;
                            l.push(parse_line(path, lineno, line, c, classes, &mut f)?);
                        }
                    }
                    Ok((f, l))
                })
                .collect();
            for p in parts {
                let (f, l) = p?;
                out.features.extend_from_slice(&f);
                out.labels.extend_from_slice(&l);
            }
        }
        line_base += lines.len() as u64;
        carry.drain(..cut);
    }
    out.cols = match cols {
        Some(c) => c,
        None => {
            return Err(DataError::new(
                path,
                "no data lines (empty file, or only '#' header lines)",
            ))
        }
    };
    Ok(out)
}

/// Split the rows of a train+valid file: the LAST `valid_rows` are the validation set.
fn split_train_valid(path: &Path, a: Amat, valid_rows: usize) -> Result<(Amat, Amat), DataError> {
    if a.rows() <= valid_rows {
        return Err(DataError::new(
            path,
            format!(
                "{} rows, expected more than the {valid_rows} validation rows taken from its end",
                a.rows()
            ),
        ));
    }
    let cut = a.rows() - valid_rows;
    let train = Amat {
        features: a.features[..cut * a.cols].to_vec(),
        labels: a.labels[..cut].to_vec(),
        cols: a.cols,
    };
    let valid = Amat {
        features: a.features[cut * a.cols..].to_vec(),
        labels: a.labels[cut..].to_vec(),
        cols: a.cols,
    };
    Ok((train, valid))
}

fn stage_pair(
    staging: &mut Staging,
    rel_dir: &Path,
    train_file: &Path,
    test_file: &Path,
    cols: Option<usize>,
    classes: usize,
    valid_rows: usize,
) -> Result<[usize; 3], DataError> {
    let tv = read_amat(train_file, cols, classes)?;
    let test = read_amat(test_file, Some(tv.cols), classes)?;
    let (train, valid) = split_train_valid(train_file, tv, valid_rows)?;
    let mut counts = [0; 3];
    for (k, (split, a)) in [("train", &train), ("valid", &valid), ("test", &test)]
        .into_iter()
        .enumerate()
    {
        let p = staging.file(&rel_dir.join(format!("{split}.{}", super::EXTENSION)));
        write_dataset(&p, &a.features, &a.labels, a.cols, classes)?;
        Dataset::open(&p)?.verify_checksum()?;
        counts[k] = a.rows();
    }
    Ok(counts)
}

/// `sdae data import-amat`: a train(+valid) file and a test file into `<out>/{train,valid,test}.sdd`;
/// validation = the last `valid_rows` rows of the train file. Nothing is written unless all
/// three splits parse. Returns the row counts.
pub fn import_amat(
    train_file: &Path,
    test_file: &Path,
    out: &Path,
    classes: usize,
    valid_rows: usize,
) -> Result<[usize; 3], DataError> {
    let mut staging = Staging::new(out)?;
    let counts = stage_pair(
        &mut staging,
        Path::new(""),
        train_file,
        test_file,
        None,
        classes,
        valid_rows,
    )?;
    staging.commit()?;
    Ok(counts)
}

/// The original file names of each task (train+valid file, test file).
pub fn larochelle_files(task: &str) -> Option<(&'static str, &'static str)> {
    Some(match task {
        "mnist-basic" => ("mnist_train.amat", "mnist_test.amat"),
        "mnist-rot" => (
            "mnist_all_rotation_normalized_float_train_valid.amat",
            "mnist_all_rotation_normalized_float_test.amat",
        ),
        "mnist-back-rand" => (
            "mnist_background_random_train.amat",
            "mnist_background_random_test.amat",
        ),
        "mnist-back-image" => (
            "mnist_background_images_train.amat",
            "mnist_background_images_test.amat",
        ),
        "mnist-rot-back-image" => (
            "mnist_all_background_images_rotation_normalized_train_valid.amat",
            "mnist_all_background_images_rotation_normalized_test.amat",
        ),
        "rectangles" => ("rectangles_train.amat", "rectangles_test.amat"),
        "rectangles-image" => ("rectangles_im_train.amat", "rectangles_im_test.amat"),
        "convex" => ("convex_train.amat", "convex_test.amat"),
        _ => return None,
    })
}

/// Validation rows at the end of each task's train file: 200 for rectangles (1,200 rows), else
/// 2,000 (rectangles_im_train.amat has 12,000 rows: 10,000 train + 2,000 valid).
pub fn larochelle_valid_rows(task: &str) -> usize {
    match task {
        "rectangles" => 200,
        _ => 2_000,
    }
}

/// `sdae data import-larochelle DIR`: every task whose two original files are in `dir`, to
/// `<out>/<task>/{train,valid,test}.sdd` (784 pixels per row). `valid_rows` overrides the
/// validation size (for small fixtures). Nothing is written unless every task found imports.
/// Returns the imported tasks with their row counts.
pub fn import_larochelle(
    dir: &Path,
    out: &Path,
    valid_rows: Option<usize>,
) -> Result<Vec<(&'static str, [usize; 3])>, DataError> {
    if !dir.is_dir() {
        return Err(DataError::new(
            dir,
            "not a folder (expected the unzipped Larochelle et al. .amat files)",
        ));
    }
    let mut found = Vec::new();
    for task in TASKS {
        let (tr, te) = larochelle_files(task).expect("known");
        let (trp, tep) = (dir.join(tr), dir.join(te));
        match (trp.is_file(), tep.is_file()) {
            (true, true) => found.push((task, trp, tep)),
            (false, false) => {}
            (true, false) => {
                return Err(DataError::new(
                    &tep,
                    format!("missing: {tr} is present but not its test file"),
                ))
            }
            (false, true) => {
                return Err(DataError::new(
                    &trp,
                    format!("missing: {te} is present but not its train file"),
                ))
            }
        }
    }
    if found.is_empty() {
        let names: Vec<String> = TASKS
            .iter()
            .map(|t| {
                let (a, b) = larochelle_files(t).expect("known");
                format!("{a} + {b}")
            })
            .collect();
        return Err(DataError::new(
            dir,
            format!(
                "no benchmark files found; expected pairs among: {}",
                names.join(", ")
            ),
        ));
    }
    let mut staging = Staging::new(out)?;
    let mut done = Vec::new();
    for (task, trp, tep) in found {
        let v = valid_rows.unwrap_or_else(|| larochelle_valid_rows(task));
        let classes = task_classes(task).expect("known");
        let rel = split_path(Path::new(""), task, "x");
        let rel_dir = rel.parent().expect("task dir");
        let counts = stage_pair(&mut staging, rel_dir, &trp, &tep, Some(784), classes, v)?;
        done.push((task, counts));
    }
    staging.commit()?;
    Ok(done)
}
