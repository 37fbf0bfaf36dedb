//! `sdae data info`, `verify` and `preview`: summaries, integrity checks and PNG montages.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::DataError;
use super::format::write_atomic;
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

/// Write a PNG montage of `ds`: one row of `per_class` examples per class (the first examples of
/// each class in file order), each image scaled by `scale`, 2-pixel gray gutters. Images must be
/// square (cols a perfect square); values are clamped to [0,1].
pub fn preview(ds: &Dataset, out: &Path, per_class: usize, scale: usize) -> Result<(), DataError> {
    let side = (ds.cols() as f64).sqrt().round() as usize;
    if side * side != ds.cols() {
        return Err(DataError::new(
            ds.path(),
            format!(
                "{} columns is not a square image; preview needs side x side pixels",
                ds.cols()
            ),
        ));
    }
    if per_class == 0 || scale == 0 {
        return Err(DataError::new(
            out,
            "--per-class and --scale must be at least 1",
        ));
    }
    let classes = ds.classes();
    let mut picks: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in ds.labels().iter().enumerate() {
        if let Some(p) = picks.get_mut(l as usize) {
            if p.len() < per_class {
                p.push(i);
            }
        }
    }
    let gap = 2usize;
    let cell = side * scale;
    let width = per_class * (cell + gap) + gap;
    let height = classes * (cell + gap) + gap;
    let mut img = vec![128u8; width * height];
    for (c, rows) in picks.iter().enumerate() {
        for (k, &i) in rows.iter().enumerate() {
            let r = ds.row(i);
            let (ox, oy) = (gap + k * (cell + gap), gap + c * (cell + gap));
            for y in 0..cell {
                for x in 0..cell {
                    let v = r[(y / scale) * side + x / scale].clamp(0.0, 1.0);
                    img[(oy + y) * width + ox + x] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    write_png(out, width, height, PngColor::Gray, &img)
}

/// The pixel layout of [`write_png`]'s input: 8-bit gray, or 8-bit RGB (3 bytes a pixel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PngColor {
    Gray,
    Rgb,
}

impl PngColor {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PngColor::Gray => 1,
            PngColor::Rgb => 3,
        }
    }
}

/// Write an 8-bit PNG of `width x height` pixels, row-major, atomically (nothing is left at
/// `out` on error). `pixels` must hold `width * height * color.channels()` bytes.
pub fn write_png(
    out: &Path,
    width: usize,
    height: usize,
    color: PngColor,
    pixels: &[u8],
) -> Result<(), DataError> {
    let want = width * height * color.channels();
    if width == 0 || height == 0 || pixels.len() != want {
        return Err(DataError::new(
            out,
            format!(
                "cannot write a {width} x {height} PNG from {} bytes (expected {want}, non-empty)",
                pixels.len()
            ),
        ));
    }
    if u32::try_from(width).is_err() || u32::try_from(height).is_err() {
        return Err(DataError::new(
            out,
            format!("{width} x {height} is too large for a PNG"),
        ));
    }
    write_atomic(out, |w| {
        let mut enc = png::Encoder::new(w, width as u32, height as u32);
        enc.set_color(match color {
            PngColor::Gray => png::ColorType::Grayscale,
            PngColor::Rgb => png::ColorType::Rgb,
        });
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut wr = enc.write_header().map_err(std::io::Error::other)?;
        wr.write_image_data(pixels).map_err(std::io::Error::other)?;
        wr.finish().map_err(std::io::Error::other)
    })
}
