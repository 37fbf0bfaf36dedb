//! Training curves from the JSON lines of `sdae train --json`: one panel per pre-training layer
//! (reconstruction loss vs epoch) and one for fine-tuning (training loss on the left axis,
//! validation error % on the right axis).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::canvas::{Canvas, Rgb, BLACK, WHITE};
use super::font::{text_width, GLYPH_H};
use super::png::PngColor;

/// One epoch line, as `EpochReport` serialises it (unknown fields are ignored; a non-finite
/// loss is serialised as `null`).
#[derive(Debug, Deserialize)]
struct Line {
    phase: String,
    #[serde(default)]
    layer: Option<usize>,
    #[serde(default)]
    epoch: Option<usize>,
    #[serde(default)]
    loss: Option<f64>,
    #[serde(default)]
    valid_error: Option<f64>,
}

/// A series of `(epoch, value)` points.
pub type Series = Vec<(f64, f64)>;

/// The curves of one training log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    /// Pre-training loss per layer (1-based layer -> points).
    pub pretrain: BTreeMap<usize, Series>,
    /// Fine-tuning training loss.
    pub finetune_loss: Series,
    /// Fine-tuning validation error in %.
    pub valid_error: Series,
}

impl Curves {
    fn is_empty(&self) -> bool {
        self.pretrain.is_empty() && self.finetune_loss.is_empty() && self.valid_error.is_empty()
    }
}

/// Parse the text of a log; `what` names it in errors. Blank lines and the final
/// `"phase":"result"` line are skipped; non-finite values are dropped from the curves.
pub fn parse_log(text: &str, what: &str) -> Result<Curves, String> {
    let mut c = Curves::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let at = |m: String| format!("{what}: line {}: {m}", i + 1);
        let l: Line = serde_json::from_str(line).map_err(|e| {
            at(format!(
                "{e}; expected a JSON object per line as printed by `sdae train --json`"
            ))
        })?;
        if l.phase == "result" {
            continue;
        }
        let epoch = l
            .epoch
            .ok_or_else(|| at(format!("phase \"{}\" line without \"epoch\"", l.phase)))?
            as f64;
        let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
        match l.phase.as_str() {
            "pretrain" => {
                let layer = l
                    .layer
                    .filter(|&k| k >= 1)
                    .ok_or_else(|| at("pretrain line without a layer >= 1".into()))?;
                let s = c.pretrain.entry(layer).or_default();
                if let Some(v) = finite(l.loss) {
                    s.push((epoch, v));
                }
            }
            "finetune" => {
                if let Some(v) = finite(l.loss) {
                    c.finetune_loss.push((epoch, v));
                }
                if let Some(v) = finite(l.valid_error) {
                    c.valid_error.push((epoch, v));
                }
            }
            other => {
                return Err(at(format!(
                    "phase \"{other}\", expected \"pretrain\", \"finetune\" or \"result\""
                )))
            }
        }
    }
    if c.is_empty() {
        return Err(format!(
            "{what}: no epoch lines; expected the JSON lines that `sdae train --json` prints"
        ));
    }
    Ok(c)
}

/// Read and parse a log file.
pub fn read_log(path: &Path) -> Result<Curves, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read log {}: {e}", path.display()))?;
    parse_log(&text, &path.display().to_string())
}

const BLUE: Rgb = [31, 90, 180];
const RED: Rgb = [200, 50, 40];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [60, 60, 60];

/// Panel size in pixels.
pub const PANEL_W: usize = 440;
pub const PANEL_H: usize = 300;
/// Plot area margins inside a panel.
const M_LEFT: usize = 70;
const M_RIGHT: usize = 64;
const M_TOP: usize = 34;
const M_BOTTOM: usize = 44;

/// A "nice" tick step (1, 2 or 5 times a power of ten) for about `target` ticks over `range`.
pub fn nice_step(range: f64, target: usize) -> f64 {
    let raw = range / target.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let f = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * p
}

/// Axis limits `(lo, hi, step)` covering `[min, max]` on tick multiples.
pub fn axis(min: f64, max: f64, target: usize) -> (f64, f64, f64) {
    let (mut a, mut b) = (min, max);
    if b - a <= f64::EPSILON * a.abs().max(1.0) {
        let pad = if a == 0.0 { 1.0 } else { a.abs() * 0.1 };
        a -= pad;
        b += pad;
    }
    let step = nice_step(b - a, target);
    let lo = (a / step).floor() * step;
    let hi = (b / step).ceil() * step;
    (lo, hi, step)
}

/// A tick label with just enough decimals for `step`.
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// The range of `s`'s values, or `None` when empty.
fn y_range(s: &[(f64, f64)]) -> Option<(f64, f64)> {
    s.iter().fold(None, |acc, &(_, y)| match acc {
        None => Some((y, y)),
        Some((a, b)) => Some((a.min(y), b.max(y))),
    })
}

struct Axes {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    xlo: f64,
    xhi: f64,
}

impl Axes {
    fn px(&self, x: f64) -> i64 {
        (self.x0 as f64 + (x - self.xlo) / (self.xhi - self.xlo) * (self.w - 1) as f64).round()
            as i64
    }
    fn py(&self, y: f64, lo: f64, hi: f64) -> i64 {
        (self.y0 as f64 + (hi - y) / (hi - lo) * (self.h - 1) as f64).round() as i64
    }
}

/// One series on one vertical axis.
struct Plot<'a> {
    series: &'a [(f64, f64)],
    color: Rgb,
    label: &'a str,
}

/// Draw one panel at `(ox, oy)`: title, x axis (epoch), left axis for `left`, optional right
/// axis for `right`.
fn panel(img: &mut Canvas, ox: usize, oy: usize, title: &str, left: &Plot, right: Option<&Plot>) {
    let ax = {
        let max_epoch = left
            .series
            .iter()
            .chain(right.map_or(&[][..], |r| r.series))
            .map(|p| p.0)
            .fold(1.0f64, f64::max);
        Axes {
            x0: ox + M_LEFT,
            y0: oy + M_TOP,
            w: PANEL_W - M_LEFT - M_RIGHT,
            h: PANEL_H - M_TOP - M_BOTTOM,
            xlo: if max_epoch <= 1.0 { 0.0 } else { 1.0 },
            xhi: max_epoch.max(2.0),
        }
    };
    // Title, centred.
    let tw = text_width(title) * 2;
    img.text(
        (ox + PANEL_W / 2).saturating_sub(tw / 2) as i64,
        (oy + 8) as i64,
        title,
        2,
        BLACK,
    );
    // X ticks: integer epochs.
    let xstep = nice_step(ax.xhi - ax.xlo, 6).max(1.0);
    let mut x = (ax.xlo / xstep).ceil() * xstep;
    while x <= ax.xhi + 1e-9 {
        let px = ax.px(x);
        img.line(px, ax.y0 as i64, px, (ax.y0 + ax.h - 1) as i64, 1, GRID);
        img.line(
            px,
            (ax.y0 + ax.h) as i64,
            px,
            (ax.y0 + ax.h + 3) as i64,
            1,
            AXIS,
        );
        let l = tick_label(x, xstep.max(1.0));
        img.text(
            px - (text_width(&l) / 2) as i64,
            (ax.y0 + ax.h + 6) as i64,
            &l,
            1,
            BLACK,
        );
        x += xstep;
    }
    let xl = "EPOCH";
    img.text(
        (ax.x0 + ax.w / 2 - text_width(xl) / 2) as i64,
        (ax.y0 + ax.h + 20) as i64,
        xl,
        1,
        BLACK,
    );
    // Y axes.
    for (side, plot) in [(0usize, Some(left)), (1, right)] {
        let Some(plot) = plot else { continue };
        let Some((mn, mx)) = y_range(plot.series) else {
            continue;
        };
        let (lo, hi, step) = axis(mn, mx, 5);
        let mut y = lo;
        let ax_x = if side == 0 { ax.x0 } else { ax.x0 + ax.w - 1 };
        while y <= hi + step * 1e-6 {
            let py = ax.py(y, lo, hi);
            if side == 0 {
                img.line(ax.x0 as i64, py, (ax.x0 + ax.w - 1) as i64, py, 1, GRID);
            }
            let l = tick_label(y, step);
            let lw = text_width(&l) as i64;
            let ty = py - (GLYPH_H / 2) as i64;
            if side == 0 {
                img.line(ax_x as i64 - 4, py, ax_x as i64, py, 1, AXIS);
                img.text(ax_x as i64 - 7 - lw, ty, &l, 1, plot.color);
            } else {
                img.line(ax_x as i64, py, ax_x as i64 + 4, py, 1, AXIS);
                img.text(ax_x as i64 + 7, ty, &l, 1, plot.color);
            }
            y += step;
        }
        // Vertical axis title.
        let lw = text_width(plot.label);
        let tx = if side == 0 {
            ox as i64 + 6
        } else {
            (ox + PANEL_W) as i64 - 6 - GLYPH_H as i64
        };
        img.text_vertical(
            tx,
            (ax.y0 + ax.h / 2) as i64 - lw as i64 / 2,
            plot.label,
            1,
            plot.color,
        );
        // The curve, with a dot at every epoch.
        let pts: Vec<(i64, i64)> = plot
            .series
            .iter()
            .map(|&(x, y)| (ax.px(x), ax.py(y, lo, hi)))
            .collect();
        for w in pts.windows(2) {
            img.line(w[0].0, w[0].1, w[1].0, w[1].1, 2, plot.color);
        }
        for &(x, y) in &pts {
            img.line(x - 2, y, x + 2, y, 3, plot.color);
        }
    }
    // Frame.
    let (l, t) = (ax.x0 as i64, ax.y0 as i64);
    let (r, b) = ((ax.x0 + ax.w - 1) as i64, (ax.y0 + ax.h - 1) as i64);
    img.line(l, t, r, t, 1, AXIS);
    img.line(l, b, r, b, 1, AXIS);
    img.line(l, t, l, b, 1, AXIS);
    img.line(r, t, r, b, 1, AXIS);
}

/// Render the curves: panels of `PANEL_W x PANEL_H`, two per row, pre-training layers first,
/// fine-tuning last.
pub fn curves_image(c: &Curves) -> Canvas {
    let mut panels: Vec<(String, Plot, Option<Plot>)> = c
        .pretrain
        .iter()
        .map(|(layer, s)| {
            (
                format!("LAYER {layer} PRE-TRAINING"),
                Plot {
                    series: s,
                    color: BLUE,
                    label: "RECONSTRUCTION LOSS",
                },
                None,
            )
        })
        .collect();
    if !c.finetune_loss.is_empty() || !c.valid_error.is_empty() {
        let loss = Plot {
            series: &c.finetune_loss,
            color: BLUE,
            label: "TRAINING LOSS (NLL)",
        };
        let valid = Plot {
            series: &c.valid_error,
            color: RED,
            label: "VALIDATION ERROR %",
        };
        panels.push(("FINE-TUNING".into(), loss, Some(valid)));
    }
    let cols = panels.len().min(2);
    let rows = panels.len().div_ceil(cols);
    let mut img = Canvas::new(cols * PANEL_W, rows * PANEL_H, PngColor::Rgb, WHITE);
    for (k, (title, left, right)) in panels.iter().enumerate() {
        panel(
            &mut img,
            (k % cols) * PANEL_W,
            (k / cols) * PANEL_H,
            title,
            left,
            right.as_ref(),
        );
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(nice_step(10.0, 5), 2.0);
        assert_eq!(nice_step(0.7, 5), 0.2);
        assert_eq!(nice_step(300.0, 5), 100.0);
        let (lo, hi, step) = axis(89.9, 125.8, 5);
        assert_eq!((lo, hi, step), (80.0, 130.0, 10.0));
        assert_eq!(tick_label(0.2, 0.1), "0.2");
        assert_eq!(tick_label(120.0, 10.0), "120");
        assert_eq!(tick_label(-0.0, 0.5), "0.0");
        let (lo, hi, _) = axis(3.0, 3.0, 5);
        assert!(lo < 3.0 && hi > 3.0);
    }

    #[test]
    fn log_lines_become_series_and_result_is_skipped() {
        let log = r#"{"phase":"pretrain","layer":1,"epoch":1,"loss":2.0,"valid_error":null}
{"phase":"pretrain","layer":1,"epoch":2,"loss":1.5,"valid_error":null}

{"phase":"pretrain","layer":2,"epoch":1,"loss":null,"valid_error":null}
{"phase":"finetune","layer":0,"epoch":1,"loss":0.5,"valid_error":10.0}
{"phase":"result","test_error":7.0}"#;
        let c = parse_log(log, "t").unwrap();
        assert_eq!(c.pretrain[&1], vec![(1.0, 2.0), (2.0, 1.5)]);
        assert!(c.pretrain[&2].is_empty());
        assert_eq!(c.finetune_loss, vec![(1.0, 0.5)]);
        assert_eq!(c.valid_error, vec![(1.0, 10.0)]);
        let e = parse_log("{\"phase\":\"warmup\",\"epoch\":1}", "x.jsonl").unwrap_err();
        assert!(e.contains("x.jsonl: line 1") && e.contains("warmup"), "{e}");
        let e = parse_log("not json", "x.jsonl").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}
