//! The plot of `sdae eval --robustness ... --plot`: error on corrupted inputs against the masking
//! level (left) and the top hidden layer's mean relative code change (right), one line per
//! model, with a legend.

use super::canvas::{Canvas, Rgb, BLACK, WHITE};
use super::curves::{axis, tick_label};
use super::font::{text_width, GLYPH_H};
use super::png::PngColor;
use crate::train::robustness::Level;

const COLORS: [Rgb; 6] = [
    [200, 30, 30],
    [30, 90, 200],
    [20, 140, 60],
    [150, 60, 170],
    [220, 130, 0],
    [60, 60, 60],
];
const GRID: Rgb = [225, 225, 225];
const PW: usize = 420;
const PH: usize = 300;
const LEFT: usize = 64;
const TOP: usize = 36;
const BOTTOM: usize = 40;
const RIGHT: usize = 28;

/// One panel: `series[i]` is model i's `(ν, value)` points.
fn panel(img: &mut Canvas, ox: usize, title: &str, series: &[Vec<(f64, f64)>]) {
    let pts: Vec<&(f64, f64)> = series.iter().flatten().collect();
    let (xmax, ymin, ymax) = pts.iter().fold((0f64, f64::MAX, f64::MIN), |(a, b, c), p| {
        (a.max(p.0), b.min(p.1), c.max(p.1))
    });
    let (xlo, xhi, xstep) = axis(0.0, xmax.max(0.1), 5);
    // Both quantities are >= 0: the axis starts at 0.
    let (ylo, yhi, ystep) = axis(0.0, ymax.max(ymin + 1e-9), 5);
    let (x0, y0) = (ox + LEFT, TOP);
    let (w, h) = (PW - LEFT - RIGHT, PH - TOP - BOTTOM);
    let px = |x: f64| (x0 as f64 + (x - xlo) / (xhi - xlo) * (w - 1) as f64).round() as i64;
    let py = |y: f64| (y0 as f64 + (yhi - y) / (yhi - ylo) * (h - 1) as f64).round() as i64;
    let tw = text_width(title) * 2;
    img.text(
        (ox + PW / 2).saturating_sub(tw / 2) as i64,
        8,
        title,
        2,
        BLACK,
    );
    let mut x = xlo;
    while x <= xhi + xstep * 1e-6 {
        img.line(px(x), y0 as i64, px(x), (y0 + h - 1) as i64, 1, GRID);
        let l = format!("{}%", tick_label(100.0 * x, 100.0 * xstep));
        img.text(
            px(x) - (text_width(&l) / 2) as i64,
            (y0 + h + 6) as i64,
            &l,
            1,
            BLACK,
        );
        x += xstep;
    }
    let xl = "MASKED FRACTION NU";
    img.text(
        (x0 + w / 2 - text_width(xl) / 2) as i64,
        (y0 + h + 22) as i64,
        xl,
        1,
        BLACK,
    );
    let mut y = ylo;
    while y <= yhi + ystep * 1e-6 {
        img.line(x0 as i64, py(y), (x0 + w - 1) as i64, py(y), 1, GRID);
        let l = tick_label(y, ystep);
        img.text(
            x0 as i64 - 6 - text_width(&l) as i64,
            py(y) - (GLYPH_H / 2) as i64,
            &l,
            1,
            BLACK,
        );
        y += ystep;
    }
    for (i, s) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let p: Vec<(i64, i64)> = s.iter().map(|&(x, y)| (px(x), py(y))).collect();
        for seg in p.windows(2) {
            img.line(seg[0].0, seg[0].1, seg[1].0, seg[1].1, 2, c);
        }
        for &(x, y) in &p {
            img.line(x - 3, y, x + 3, y, 4, c);
        }
    }
    let (l, t, r, b) = (
        x0 as i64,
        y0 as i64,
        (x0 + w - 1) as i64,
        (y0 + h - 1) as i64,
    );
    for (a, bb, c, d) in [(l, t, r, t), (l, b, r, b), (l, t, l, b), (r, t, r, b)] {
        img.line(a, bb, c, d, 1, BLACK);
    }
}

/// The two panels and a legend of `labels` (one per model of `levels`).
pub fn plot(labels: &[String], levels: &[Vec<Level>]) -> Canvas {
    let legend = 16 + 14 * labels.len();
    let mut img = Canvas::new(2 * PW, PH + legend, PngColor::Rgb, WHITE);
    let err: Vec<Vec<(f64, f64)>> = levels
        .iter()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.error.map(|e| (v.nu, e)))
                .collect()
        })
        .collect();
    let change: Vec<Vec<(f64, f64)>> = levels
        .iter()
        .map(|l| {
            l.iter()
                .map(|v| (v.nu, v.code_change.last().copied().unwrap_or(0.0)))
                .collect()
        })
        .collect();
    panel(&mut img, 0, "ERROR % ON CORRUPTED INPUTS", &err);
    panel(&mut img, PW, "TOP CODE: RELATIVE CHANGE", &change);
    for (i, name) in labels.iter().enumerate() {
        let y = (PH + 8 + 14 * i) as i64;
        let c = COLORS[i % COLORS.len()];
        img.line(LEFT as i64, y + 3, LEFT as i64 + 24, y + 3, 3, c);
        img.text(LEFT as i64 + 32, y, name, 1, BLACK);
    }
    img
}
