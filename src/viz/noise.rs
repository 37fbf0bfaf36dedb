//! `sdae viz noise-filters`: the paper's filter figure across noise levels. One denoising
//! autoencoder layer is trained on a split at each masking level ν, every one from the same
//! random initialisation (the same seed gives the same initial weights, `Stream::LayerInit(0)`),
//! so the same tile position is the same hidden unit in every panel. The top row shows the first
//! units of each model of `--nu` side by side (the paper's ν = 0, 25, 50%); the bottom block
//! follows a few units across `--follow-nu` (one row a unit, one column a level).

use super::canvas::{Canvas, BLACK, WHITE};
use super::font;
use super::png::PngColor;
use super::tiles::{filters, normalise, square_side, Normalise, TileGrid};
use crate::config::{Config, Overrides};
use crate::model::Model;
use crate::train::run::{run, RunOptions, Silent};
use crate::train::SplitView;

/// What to train and draw.
pub struct NoiseFigure<'a> {
    /// The training split (only its features are used).
    pub train: &'a SplitView<'a>,
    /// Levels of the side-by-side panels.
    pub nus: Vec<f64>,
    /// Levels the followed units are shown at.
    pub follow_nus: Vec<f64>,
    /// Width, learning rate, epochs, batch and seed of the layer (noise level set per model).
    pub layer: Overrides,
    /// Units per panel, units followed, pixels per weight.
    pub count: usize,
    pub follow: usize,
    pub scale: usize,
}

/// Every distinct level of `a` and `b`, in increasing order.
fn levels(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = a.iter().chain(b).copied().collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Train one layer per level of `fig`; `(ν, model)` in increasing ν. `report` is called after
/// each model with its level.
pub fn train_levels(
    fig: &NoiseFigure,
    mut report: impl FnMut(f64),
) -> Result<Vec<(f64, Model)>, String> {
    let mut out = Vec::new();
    for nu in levels(&fig.nus, &fig.follow_nus) {
        if !(0.0..1.0).contains(&nu) {
            return Err(format!("--nu {nu}: expected a level in [0, 1)"));
        }
        let ov = Overrides {
            nu: Some(nu),
            ..fig.layer.clone()
        };
        let cfg = Config::from_toml("", "noise-filters", &ov).map_err(|e| e.to_string())?;
        if cfg.layers.len() != 1 {
            return Err(format!(
                "--width: one layer is trained, got {} widths",
                cfg.layers.len()
            ));
        }
        let mut silent = Silent;
        let mut opts = RunOptions {
            pretrain: true,
            finetune: false,
            checkpoint: None,
            resume: false,
            observer: &mut silent,
        };
        let k = sdae_kernels::kernels();
        let r = run(k, &cfg, None, fig.train, None, None, &mut opts).map_err(|e| e.to_string())?;
        report(nu);
        out.push((nu, r.model));
    }
    Ok(out)
}

fn label(nu: f64) -> String {
    format!("NU={}%", (nu * 100.0).round())
}

/// The figure: a row of panels (the first `count` units of each `nus` model), then the
/// `follow` first units across `follow_nus`.
pub fn figure(
    models: &[(f64, Model)],
    nus: &[f64],
    follow_nus: &[f64],
    count: usize,
    follow: usize,
    scale: usize,
) -> Result<Canvas, String> {
    let get = |nu: f64| -> Result<&Model, String> {
        models
            .iter()
            .find(|(n, _)| *n == nu)
            .map(|(_, m)| m)
            .ok_or_else(|| format!("no model trained at level {nu}"))
    };
    let first = &models.first().ok_or("no levels to draw")?.1;
    let d = first.input_dim();
    let side = square_side(d)
        .ok_or_else(|| format!("input width {d} is not a square image (784 = 28 x 28)"))?;
    let h = first.layers[0].h();
    let (count, follow) = (count.min(h), follow.min(h));
    if count == 0 || follow == 0 || scale == 0 {
        return Err("--count, --follow and --scale must be at least 1".into());
    }
    let text_scale = 2;
    let line = font::GLYPH_H * text_scale + 8;
    let cols = (count as f64).sqrt().ceil() as usize;
    let panel = TileGrid {
        rows: count.div_ceil(cols),
        cols,
        side,
        scale,
        gap: 2,
        left: 0,
    };
    let follow_grid = TileGrid {
        rows: follow,
        cols: follow_nus.len(),
        side,
        scale,
        gap: 2,
        left: font::text_width("UNIT 000") * text_scale + 8,
    };
    let (pw, ph) = panel.size();
    let (fw, fh) = follow_grid.size();
    let sep = 16;
    let width = (nus.len() * (pw + sep)).max(fw) + sep;
    let height = line + ph + sep + 2 * line + fh + sep;
    let mut img = Canvas::new(width, height, PngColor::Gray, WHITE);
    let draw_tile = |img: &mut Canvas, g: &TileGrid, ox: usize, oy: usize, r, c, w: &[f32]| {
        let v = normalise(w, Normalise::Minmax);
        let (tx, ty) = g.origin(r, c);
        img.fill_rect(
            ox + tx - g.gap,
            oy + ty - g.gap,
            g.cell() + 2 * g.gap,
            g.cell() + 2 * g.gap,
            BLACK,
        );
        for y in 0..g.cell() {
            for x in 0..g.cell() {
                img.set_gray(
                    ox + tx + x,
                    oy + ty + y,
                    v[(y / g.scale) * g.side + x / g.scale],
                );
            }
        }
    };
    for (p, &nu) in nus.iter().enumerate() {
        let ox = sep + p * (pw + sep);
        img.text(ox as i64, 4, &label(nu), text_scale, BLACK);
        let f = filters(get(nu)?, 1, count)?;
        for (k, w) in f.iter().enumerate() {
            draw_tile(&mut img, &panel, ox, line, k / cols, k % cols, w);
        }
    }
    let top = line + ph + sep;
    img.text(
        sep as i64,
        top as i64,
        "THE SAME UNITS ACROSS NU",
        text_scale,
        BLACK,
    );
    let gy = top + line;
    for (c, &nu) in follow_nus.iter().enumerate() {
        let (tx, _) = follow_grid.origin(0, c);
        img.text((sep + tx) as i64, gy as i64, &label(nu), 1, BLACK);
        let f = filters(get(nu)?, 1, follow)?;
        for (u, w) in f.iter().enumerate() {
            draw_tile(&mut img, &follow_grid, sep, gy + line, u, c, w);
        }
    }
    for u in 0..follow {
        let (_, ty) = follow_grid.origin(u, 0);
        let y = gy + line + ty + follow_grid.cell() / 2 - font::GLYPH_H;
        img.text(
            sep as i64,
            y as i64,
            &format!("UNIT {}", u + 1),
            text_scale,
            BLACK,
        );
    }
    Ok(img)
}
