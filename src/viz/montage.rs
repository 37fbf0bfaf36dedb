//! `sdae data preview`: a PNG montage of a split, one row of examples per class.

use std::path::Path;

use super::png::{write_png, PngColor};
use crate::data::{DataError, Dataset};

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
    write_png(out, width, height, PngColor::Gray, &img).map_err(|e| match e {
        super::png::PngError::Shape { path, message } => DataError::new(&path, message),
        super::png::PngError::Write(w) => DataError::io(&w.path, w.stage, w.source),
    })
}
