//! Image sources of the generators: MNIST digits, natural-image backgrounds (PGM or PNG), patch
//! sampling with a texture threshold, and bilinear rotation.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::idx::read_idx_pair;
use super::recipe::Interp;
use super::rng::Rng;

/// Side of every benchmark image.
pub const SIDE: usize = 28;
/// Pixels of every benchmark image.
pub const PIXELS: usize = SIDE * SIDE;

/// The 70,000 MNIST digits: the 60,000 of train-* then the 10,000 of t10k-*, as bytes.
pub struct Mnist {
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    pub train_count: usize,
}

impl Mnist {
    /// Load `<source>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
    pub fn load(source: &Path) -> Result<Mnist, DataError> {
        let dir = source.join("mnist");
        let find = |stem: &str| -> Result<PathBuf, DataError> {
            for cand in [dir.join(format!("{stem}.gz")), dir.join(stem)] {
                if cand.is_file() {
                    return Ok(cand);
                }
            }
            Err(DataError::new(
                &dir.join(format!("{stem}.gz")),
                format!(
                    "MNIST file not found (nor {stem} uncompressed); expected the four standard MNIST IDX files in {} (see datasets/README.md, or set --source / DATA_SRC)",
                    dir.display()
                ),
            ))
        };
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        let mut train_count = 0;
        for (set, expect) in [("train", 60_000usize), ("t10k", 10_000)] {
            let ip = find(&format!("{set}-images-idx3-ubyte"))?;
            let lp = find(&format!("{set}-labels-idx1-ubyte"))?;
            let (p, cols, l) = read_idx_pair(&ip, &lp)?;
            if cols != PIXELS {
                return Err(DataError::at_offset(
                    &ip,
                    8,
                    format!("images of {cols} pixels, expected 28x28"),
                ));
            }
            if l.len() != expect {
                return Err(DataError::at_offset(
                    &ip,
                    4,
                    format!("{} images, expected {expect}", l.len()),
                ));
            }
            if let Some((i, &v)) = l.iter().enumerate().find(|(_, &v)| v > 9) {
                return Err(DataError::at_offset(
                    &lp,
                    8 + i as u64,
                    format!("label {v}, expected a digit 0..9"),
                ));
            }
            if set == "train" {
                train_count = l.len();
            }
            pixels.extend_from_slice(&p);
            labels.extend_from_slice(&l);
        }
        Ok(Mnist {
            pixels,
            labels,
            train_count,
        })
    }

    /// Digit `i` (0..70,000) as floats in [0,1] (byte / 255).
    pub fn digit(&self, i: usize, out: &mut [f32]) {
        for (o, &p) in out
            .iter_mut()
            .zip(&self.pixels[i * PIXELS..(i + 1) * PIXELS])
        {
            *o = f32::from(p) / 255.0;
        }
    }
}

/// Which of the 70,000 MNIST digits (train 0..60,000 then t10k as 60,000..70,000) example `index`
/// of `split` uses. The same mapping serves every MNIST task:
/// train = MNIST-train[0..10,000], valid = MNIST-train[10,000..12,000],
/// test = MNIST-train[12,000..60,000] then t10k[0..2,000]: 62,000 distinct digits.
pub fn mnist_source_index(split: &str, index: usize) -> usize {
    match split {
        "train" => index,
        "valid" => 10_000 + index,
        _ => 12_000 + index,
    }
}

/// A grayscale image with values in [0,1].
#[derive(Clone, Debug)]
pub struct Gray {
    pub name: String,
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

fn parse_pgm(path: &Path, b: &[u8]) -> Result<Gray, DataError> {
    // P5 <ws> width <ws> height <ws> maxval <one ws> data; '#' comments in the header.
    let mut pos = 0usize;
    let mut fields = Vec::new();
    if b.len() < 2 || &b[0..2] != b"P5" {
        return Err(DataError::at_offset(
            path,
            0,
            "bad PGM magic, expected \"P5\" (binary grayscale)",
        ));
    }
    pos += 2;
    while fields.len() < 3 {
        while pos < b.len() && (b[pos].is_ascii_whitespace() || b[pos] == b'#') {
            if b[pos] == b'#' {
                while pos < b.len() && b[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if start == pos {
            return Err(DataError::at_offset(
                path,
                pos as u64,
                "malformed PGM header, expected a decimal number",
            ));
        }
        let v: usize = std::str::from_utf8(&b[start..pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                DataError::at_offset(path, start as u64, "PGM header number out of range")
            })?;
        fields.push(v);
    }
    pos += 1; // the single whitespace byte after maxval
    let (w, h, maxval) = (fields[0], fields[1], fields[2]);
    if maxval == 0 || maxval > 255 {
        return Err(DataError::at_offset(
            path,
            pos as u64,
            format!("PGM maxval {maxval}, expected 1..=255 (8-bit)"),
        ));
    }
    let need = w.saturating_mul(h);
    if b.len() < pos || b.len() - pos < need {
        return Err(DataError::at_offset(
            path,
            b.len() as u64,
            format!("PGM {w}x{h} needs {need} pixel bytes, file is truncated"),
        ));
    }
    let data = b[pos..pos + need]
        .iter()
        .map(|&p| f32::from(p) / maxval as f32)
        .collect();
    Ok(Gray::named(path, w, h, data))
}

impl Gray {
    /// A `w x h` image read from `path`, named by its file name.
    fn named(path: &Path, w: usize, h: usize, data: Vec<f32>) -> Gray {
        Gray {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            width: w,
            height: h,
            data,
        }
    }
}

fn parse_png(path: &Path, b: &[u8]) -> Result<Gray, DataError> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(b));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec
        .read_info()
        .map_err(|e| DataError::new(path, format!("cannot decode PNG: {e}")))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DataError::new(path, "PNG too large"))?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| DataError::new(path, format!("cannot decode PNG: {e}")))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let ch = info.color_type.samples();
    let data = buf[..w * h * ch]
        .chunks_exact(ch)
        .map(|px| match ch {
            1 | 2 => f32::from(px[0]) / 255.0,
            // ITU-R BT.601 luma
            _ => {
                (0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2]))
                    / 255.0
            }
        })
        .collect();
    Ok(Gray::named(path, w, h, data))
}

/// Standard deviation below which a 28x28 patch is rejected as textureless (pixels in [0,1]).
pub const MIN_PATCH_STD: f32 = 0.04;
/// Patches tried before an image counts as having no usable texture.
const PATCH_TRIES: usize = 1000;

/// The natural images backgrounds are cut from, sorted by file name.
#[derive(Debug)]
pub struct Backgrounds {
    pub images: Vec<Gray>,
    /// Patches with a pixel standard deviation below this are redrawn.
    pub min_std: f32,
}

/// `img` box-filtered down by an integer `factor` (each output pixel the mean of a factor x
/// factor block; a partial last block is dropped). Factor 1 is the image itself.
pub fn downscale(img: &Gray, factor: usize) -> Gray {
    if factor <= 1 {
        return img.clone();
    }
    let (w, h) = (img.width / factor, img.height / factor);
    let mut data = vec![0f32; w * h];
    let norm = 1.0 / (factor * factor) as f32;
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0f32;
            for dy in 0..factor {
                let row = &img.data[(y * factor + dy) * img.width + x * factor..][..factor];
                acc += row.iter().sum::<f32>();
            }
            data[y * w + x] = acc * norm;
        }
    }
    Gray {
        name: img.name.clone(),
        width: w,
        height: h,
        data,
    }
}

impl Backgrounds {
    /// Every `*.pgm` and `*.png` of `dir` at least 28x28, sorted by name, patches of standard
    /// deviation >= [`MIN_PATCH_STD`]. Errors if the folder is missing or holds no usable image.
    pub fn load(dir: &Path) -> Result<Backgrounds, DataError> {
        Backgrounds::load_scaled(dir, 1, MIN_PATCH_STD)
    }

    /// As [`Backgrounds::load`], each image box-filtered down by `scale` ([`downscale`]) first,
    /// patches of standard deviation >= `min_std`.
    pub fn load_scaled(dir: &Path, scale: usize, min_std: f32) -> Result<Backgrounds, DataError> {
        let rd = fs::read_dir(dir).map_err(|e| {
            DataError::io(dir, "backgrounds folder not readable (expected a folder of grayscale PGM or PNG natural images; set --source / DATA_SRC)", e)
        })?;
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .map(|x| {
                            let x = x.to_string_lossy().to_ascii_lowercase();
                            x == "pgm" || x == "png"
                        })
                        .unwrap_or(false)
            })
            .collect();
        paths.sort();
        let mut images = Vec::new();
        for p in &paths {
            let b = fs::read(p).map_err(|e| DataError::io(p, "cannot read", e))?;
            let is_png = p
                .extension()
                .map(|x| x.eq_ignore_ascii_case("png"))
                .unwrap_or(false);
            let g = if is_png {
                parse_png(p, &b)?
            } else {
                parse_pgm(p, &b)?
            };
            let g = downscale(&g, scale);
            if g.width < SIDE || g.height < SIDE {
                return Err(DataError::new(
                    p,
                    format!(
                        "image is {}x{} after downscaling by {scale}, expected at least 28x28",
                        g.width, g.height
                    ),
                ));
            }
            images.push(g);
        }
        if images.is_empty() {
            return Err(DataError::new(
                dir,
                "no background images (*.pgm or *.png) in this folder; expected natural grayscale images of at least 28x28",
            ));
        }
        let bg = Backgrounds { images, min_std };
        bg.check_textured(dir, min_std)?;
        Ok(bg)
    }

    /// An image with no patch of standard deviation >= `min_std` would stall the sampler:
    /// refuse it up front, naming the file (`dir` is the folder the images came from).
    pub fn check_textured(&self, dir: &Path, min_std: f32) -> Result<(), DataError> {
        for (k, img) in self.images.iter().enumerate() {
            let mut rng = Rng::from_key(k as u64);
            let mut patch = [0f32; PIXELS];
            if !(0..PATCH_TRIES).any(|_| self.try_patch(k, &mut rng, &mut patch, min_std)) {
                return Err(DataError::new(
                    &dir.join(&img.name),
                    format!("no 28x28 patch with pixel standard deviation >= {min_std} found in {PATCH_TRIES} tries (image too flat)"),
                ));
            }
        }
        Ok(())
    }

    fn try_patch(&self, k: usize, rng: &mut Rng, out: &mut [f32; PIXELS], min_std: f32) -> bool {
        let img = &self.images[k];
        let x0 = rng.below((img.width - SIDE + 1) as u64) as usize;
        let y0 = rng.below((img.height - SIDE + 1) as u64) as usize;
        for y in 0..SIDE {
            let src = &img.data[(y0 + y) * img.width + x0..][..SIDE];
            out[y * SIDE..(y + 1) * SIDE].copy_from_slice(src);
        }
        patch_std(out) >= min_std
    }

    /// A random textured patch: image uniform over the files, position uniform over the image,
    /// resampled (image and position) while the patch's standard deviation is below `min_std`.
    pub fn patch(&self, rng: &mut Rng, out: &mut [f32; PIXELS]) {
        self.patch_above(rng, out, self.min_std)
    }

    /// [`Backgrounds::patch`] with another threshold (one task's own; checked with
    /// [`Backgrounds::check_textured`] first).
    pub fn patch_above(&self, rng: &mut Rng, out: &mut [f32; PIXELS], min_std: f32) {
        loop {
            let k = rng.below(self.images.len() as u64) as usize;
            if self.try_patch(k, rng, out, min_std) {
                return;
            }
        }
    }
}

/// Population standard deviation of a patch.
pub fn patch_std(p: &[f32]) -> f32 {
    let n = p.len() as f64;
    let mean = p.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = p
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt() as f32
}

/// Rotate a 28x28 image by `angle` radians (counter-clockwise on screen) about its centre
/// (13.5, 13.5): each output pixel centre is mapped back by the inverse rotation and resampled
/// from the source with `interp` (nearest pixel, bilinear over 2x2, or Keys' bicubic over 4x4
/// with a = -0.5), pixels outside the image counting as 0, the result clamped to [0, 1].
pub fn rotate(src: &[f32], angle: f64, interp: Interp, out: &mut [f32]) {
    let c = (SIDE as f64 - 1.0) / 2.0;
    let (s, co) = angle.sin_cos();
    let at = |x: isize, y: isize| -> f64 {
        if x < 0 || y < 0 || x >= SIDE as isize || y >= SIDE as isize {
            0.0
        } else {
            f64::from(src[y as usize * SIDE + x as usize])
        }
    };
    // Keys (1981) cubic convolution kernel, a = -0.5.
    let keys = |t: f64| -> f64 {
        let t = t.abs();
        if t < 1.0 {
            (1.5 * t - 2.5) * t * t + 1.0
        } else if t < 2.0 {
            ((-0.5 * t + 2.5) * t - 4.0) * t + 2.0
        } else {
            0.0
        }
    };
    for y in 0..SIDE {
        for x in 0..SIDE {
            let dx = x as f64 - c;
            let dy = y as f64 - c;
            // inverse rotation (y axis points down on screen)
            let sx = co * dx - s * dy + c;
            let sy = s * dx + co * dy + c;
            let v = match interp {
                Interp::Nearest => at(sx.round() as isize, sy.round() as isize),
                Interp::Bilinear => {
                    let x0 = sx.floor();
                    let y0 = sy.floor();
                    let fx = sx - x0;
                    let fy = sy - y0;
                    let (xi, yi) = (x0 as isize, y0 as isize);
                    at(xi, yi) * (1.0 - fx) * (1.0 - fy)
                        + at(xi + 1, yi) * fx * (1.0 - fy)
                        + at(xi, yi + 1) * (1.0 - fx) * fy
                        + at(xi + 1, yi + 1) * fx * fy
                }
                Interp::Bicubic => {
                    let x0 = sx.floor();
                    let y0 = sy.floor();
                    let (xi, yi) = (x0 as isize, y0 as isize);
                    let mut v = 0.0;
                    for j in -1..=2isize {
                        let wy = keys(sy - (y0 + j as f64));
                        let mut r = 0.0;
                        for i in -1..=2isize {
                            r += at(xi + i, yi + j) * keys(sx - (x0 + i as f64));
                        }
                        v += wy * r;
                    }
                    v
                }
            };
            out[y * SIDE + x] = v.clamp(0.0, 1.0) as f32;
        }
    }
}
