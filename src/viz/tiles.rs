//! Image grids: the first layer's filters and rows of clean / corrupted / reconstructed inputs.

use rand_xoshiro::rand_core::SeedableRng;
use sdae_kernels::{kernels, random, MatMut, MatRef, Xoshiro256PlusPlus};

use super::canvas::{Canvas, BLACK};
use super::png::PngColor;
use crate::data::Dataset;
use crate::model::Model;

/// Gray of the gutters between tiles: mid-dark, to set the black digit backgrounds apart.
const GUTTER: [u8; 3] = [96, 96, 96];
/// Gutters between filter tiles: black, since a filter tile's mid-gray is its typical value.
const FILTER_GUTTER: [u8; 3] = [0, 0, 0];
/// Gray of the background behind row labels.
const LABEL_BG: [u8; 3] = [255, 255, 255];

/// Where the tiles of a grid sit: `rows x cols` tiles of `side x side` values, each value drawn
/// as `scale x scale` pixels, `gap` pixels of gutter around every tile, and a `left` margin for
/// row labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileGrid {
    pub rows: usize,
    pub cols: usize,
    pub side: usize,
    pub scale: usize,
    pub gap: usize,
    pub left: usize,
}

impl TileGrid {
    /// Pixels of one tile along a side.
    pub fn cell(&self) -> usize {
        self.side * self.scale
    }

    /// Image width and height in pixels.
    pub fn size(&self) -> (usize, usize) {
        (
            self.left + self.cols * (self.cell() + self.gap) + self.gap,
            self.rows * (self.cell() + self.gap) + self.gap,
        )
    }

    /// Top-left pixel of the tile in grid row `r`, column `c`.
    pub fn origin(&self, r: usize, c: usize) -> (usize, usize) {
        (
            self.left + self.gap + c * (self.cell() + self.gap),
            self.gap + r * (self.cell() + self.gap),
        )
    }

    /// Draw `values` (row-major `side x side`, already in `[0, 1]`) into tile `(r, c)`.
    fn draw(&self, img: &mut Canvas, r: usize, c: usize, values: &[f32]) {
        let (ox, oy) = self.origin(r, c);
        for y in 0..self.cell() {
            for x in 0..self.cell() {
                let v = values[(y / self.scale) * self.side + x / self.scale];
                img.set_gray(ox + x, oy + y, v);
            }
        }
    }
}

/// How a filter's weights map to gray levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Normalise {
    /// Each tile stretched to its own min (black) .. max (white), as in the paper's figures.
    Minmax,
    /// Each tile symmetric around zero: 0 is mid-gray, ±max|w| of the tile are white / black.
    Symmetric,
}

/// The side of a square image of `d` pixels, or `None`.
pub fn square_side(d: usize) -> Option<usize> {
    let s = (d as f64).sqrt().round() as usize;
    (s > 0 && s * s == d).then_some(s)
}

/// Map one filter to `[0, 1]` by `how`. A constant tile is drawn mid-gray.
pub fn normalise(w: &[f32], how: Normalise) -> Vec<f32> {
    let (lo, hi) = w
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    match how {
        Normalise::Minmax => {
            let range = hi - lo;
            if range > 0.0 && range.is_finite() {
                w.iter().map(|&v| (v - lo) / range).collect()
            } else {
                vec![0.5; w.len()]
            }
        }
        Normalise::Symmetric => {
            let m = lo.abs().max(hi.abs());
            if m > 0.0 && m.is_finite() {
                w.iter().map(|&v| 0.5 + 0.5 * v / m).collect()
            } else {
                vec![0.5; w.len()]
            }
        }
    }
}

/// The filters of `layer` (1-based) as input-space images, one `d_0`-vector per hidden unit,
/// for the first `count` units, unit-major. Layer 1's filter of unit `j` is column `j` of `W_1`
/// (`d x h`). A deeper layer's filter is the linear projection `W_1 W_2 ... W_k` (column `j`):
/// it ignores the sigmoids, a common first look at what deeper units respond to.
pub fn filters(model: &Model, layer: usize, count: usize) -> Result<Vec<Vec<f32>>, String> {
    if layer == 0 || layer > model.layers.len() {
        return Err(format!(
            "--layer {layer}: the model has {} layer(s), expected 1..={}",
            model.layers.len(),
            model.layers.len()
        ));
    }
    let d0 = model.input_dim();
    let mut proj = model.layers[0].encoder().w.to_vec(); // d0 x h_1
    for l in model.layers[1..layer].iter().map(|l| l.encoder()) {
        let mut next = vec![0.0f32; d0 * l.h];
        let a = MatRef::new(&proj, d0, l.d).map_err(|e| e.to_string())?;
        let b = l.weights().map_err(|e| e.to_string())?;
        let c = MatMut::new(&mut next, d0, l.h).map_err(|e| e.to_string())?;
        kernels()
            .sgemm(1.0, a, b, 0.0, c)
            .map_err(|e| e.to_string())?;
        proj = next;
    }
    let h = model.layers[layer - 1].h();
    let n = count.min(h);
    Ok((0..n)
        .map(|j| (0..d0).map(|i| proj[i * h + j]).collect())
        .collect())
}

/// Render the first `count` filters of `layer` as a near-square grid of tiles.
pub fn filters_image(
    model: &Model,
    layer: usize,
    count: usize,
    scale: usize,
    how: Normalise,
) -> Result<(Canvas, TileGrid), String> {
    if count == 0 || scale == 0 {
        return Err(format!(
            "--count {count} and --scale {scale}: both must be at least 1"
        ));
    }
    let d = model.input_dim();
    let side = square_side(d).ok_or_else(|| {
        format!("the model's input width is {d}, not a square image; filters need side x side inputs (784 = 28 x 28)")
    })?;
    let f = filters(model, layer, count)?;
    let cols = (f.len() as f64).sqrt().ceil() as usize;
    let grid = TileGrid {
        rows: f.len().div_ceil(cols),
        cols,
        side,
        scale,
        gap: 2,
        left: 0,
    };
    let (w, h) = grid.size();
    let mut img = Canvas::new(w, h, PngColor::Gray, FILTER_GUTTER);
    for (k, filt) in f.iter().enumerate() {
        grid.draw(&mut img, k / cols, k % cols, &normalise(filt, how));
    }
    Ok((img, grid))
}

/// Clean inputs, their masking-noise corruption and the first layer's reconstruction
/// `z = s(W' s(W x~ + b) + c)`, for the first `count` rows of `ds`; each `count * d`, row-major.
pub struct Reconstructions {
    pub clean: Vec<f32>,
    pub corrupted: Vec<f32>,
    pub reconstructed: Vec<f32>,
}

/// Corrupt the first `count` rows of `ds` with masking noise (exactly
/// `random::masked_count(nu, d)` zeros per row, seeded by `seed`) and reconstruct them
/// through the first DAE layer (decoder `W^T` when tied, its own weights otherwise).
pub fn reconstruct(
    model: &Model,
    ds: &Dataset,
    count: usize,
    nu: f64,
    seed: u64,
) -> Result<Reconstructions, String> {
    let layer = model
        .layers
        .first()
        .ok_or("the model has no layers; expected at least one DAE layer")?;
    let (d, h) = (layer.d(), layer.h());
    if ds.cols() != d {
        return Err(format!(
            "{}: {} columns per example, but the model's first layer takes {d} inputs",
            ds.path().display(),
            ds.cols()
        ));
    }
    if !(0.0..=1.0).contains(&nu) {
        return Err(format!("--nu {nu}: expected a corruption level in [0, 1]"));
    }
    if count == 0 {
        return Err("--count 0: expected at least 1 example".into());
    }
    let n = count.min(ds.rows());
    if n == 0 {
        return Err(format!(
            "{}: the dataset has no examples",
            ds.path().display()
        ));
    }
    let k = kernels();
    let err = |e: sdae_kernels::KernelError| e.to_string();
    let clean = ds.features()[..n * d].to_vec();
    let mut corrupted = vec![0.0f32; n * d];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut scratch = vec![0u32; d];
    let count = random::masked_count(nu, d);
    let x = MatRef::new(&clean, n, d).map_err(err)?;
    k.mask_fixed(
        x,
        MatMut::new(&mut corrupted, n, d).map_err(err)?,
        count,
        &mut rng,
        &mut scratch,
    )
    .map_err(err)?;
    let xt = MatRef::new(&corrupted, n, d).map_err(err)?;
    // Y = s(X~ W + b), Z = s(Y W' + c) (W' = W^T when tied)
    let mut y = vec![0.0f32; n * h];
    let mut yv = MatMut::new(&mut y, n, h).map_err(err)?;
    layer.encoder().encode(k, xt, yv.rb_mut()).map_err(err)?;
    let mut z = vec![0.0f32; n * d];
    let zv = MatMut::new(&mut z, n, d).map_err(err)?;
    layer.decoder().decode(k, yv.rb(), zv).map_err(err)?;
    Ok(Reconstructions {
        clean,
        corrupted,
        reconstructed: z,
    })
}

/// Labels of the three rows of the reconstruction picture.
pub const REC_ROWS: [&str; 3] = ["CLEAN", "NOISY", "RECON"];

/// Render [`Reconstructions`] of square `d`-pixel images: one column per example, rows clean,
/// corrupted, reconstructed, labelled on the left. Values are clamped to `[0, 1]`.
pub fn reconstructions_image(
    r: &Reconstructions,
    d: usize,
    scale: usize,
) -> Result<(Canvas, TileGrid), String> {
    if scale == 0 {
        return Err("--scale 0: expected at least 1".into());
    }
    let side = square_side(d).ok_or_else(|| {
        format!(
            "{d} pixels per example is not a square image; expected side x side (784 = 28 x 28)"
        )
    })?;
    let n = r.clean.len() / d;
    let label_scale = if side * scale >= 28 { 2 } else { 1 };
    let grid = TileGrid {
        rows: 3,
        cols: n,
        side,
        scale,
        gap: 2,
        left: super::font::text_width("RECON") * label_scale + 8,
    };
    let (w, h) = grid.size();
    let mut img = Canvas::new(w, h, PngColor::Gray, GUTTER);
    img.fill_rect(0, 0, grid.left, h, LABEL_BG);
    for (row, (label, data)) in REC_ROWS
        .iter()
        .zip([&r.clean, &r.corrupted, &r.reconstructed])
        .enumerate()
    {
        let (_, oy) = grid.origin(row, 0);
        let ty = oy + grid.cell() / 2 - (super::font::GLYPH_H * label_scale) / 2;
        img.text(4, ty as i64, label, label_scale, BLACK);
        for c in 0..n {
            grid.draw(&mut img, row, c, &data[c * d..(c + 1) * d]);
        }
    }
    Ok((img, grid))
}
