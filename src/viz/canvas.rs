//! A tiny raster canvas: filled rectangles, thick lines, bitmap text, written as PNG through
//! [`super::png::write_png`].

use std::path::Path;

use super::font;
use super::png::{write_png, PngColor};

/// An RGB colour.
pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];

/// An 8-bit image, gray (1 byte a pixel) or RGB (3 bytes), row-major. Drawing outside the image
/// is clipped. On a gray canvas a colour is drawn as its luma.
#[derive(Clone, Debug)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub color: PngColor,
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A `width x height` canvas filled with `fill`.
    pub fn new(width: usize, height: usize, color: PngColor, fill: Rgb) -> Canvas {
        let mut c = Canvas {
            width,
            height,
            color,
            pixels: vec![0; width * height * color.channels()],
        };
        c.fill_rect(0, 0, width, height, fill);
        c
    }

    /// Set one pixel (clipped).
    pub fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let i = y as usize * self.width + x as usize;
        match self.color {
            PngColor::Gray => {
                let l = 0.299 * c[0] as f32 + 0.587 * c[1] as f32 + 0.114 * c[2] as f32;
                self.pixels[i] = l.round() as u8;
            }
            PngColor::Rgb => self.pixels[3 * i..3 * i + 3].copy_from_slice(&c),
        }
    }

    /// Set one gray pixel from a value in `[0, 1]` (clamped; NaN draws black).
    pub fn set_gray(&mut self, x: usize, y: usize, v: f32) {
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        self.set(x as i64, y as i64, [g, g, g]);
    }

    /// Fill the rectangle with top-left `(x, y)` and size `w x h` (clipped).
    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: Rgb) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.set(xx as i64, yy as i64, c);
            }
        }
    }

    /// A line from `(x0, y0)` to `(x1, y1)` (Bresenham), `thick` pixels wide (square pen).
    pub fn line(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, thick: usize, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let lo = -((thick as i64 - 1) / 2);
        let hi = lo + thick as i64;
        loop {
            for oy in lo..hi {
                for ox in lo..hi {
                    self.set(x + ox, y + oy, c);
                }
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Draw `text` with its top-left corner at `(x, y)`, each font pixel `scale x scale`.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, c: Rgb) {
        let s = scale as i64;
        for (k, ch) in text.chars().enumerate() {
            let gx = x + (k * font::ADVANCE) as i64 * s;
            for (col, bits) in font::glyph(ch).iter().enumerate() {
                for row in 0..font::GLYPH_H {
                    if bits >> row & 1 == 1 {
                        for py in 0..s {
                            for px in 0..s {
                                self.set(gx + col as i64 * s + px, y + row as i64 * s + py, c);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Draw `text` rotated a quarter turn counter-clockwise (reading bottom to top), with the
    /// top-left of its bounding box at `(x, y)`: for vertical axis titles.
    pub fn text_vertical(&mut self, x: i64, y: i64, text: &str, scale: usize, c: Rgb) {
        let s = scale as i64;
        let len = font::text_width(text) as i64;
        for (k, ch) in text.chars().enumerate() {
            for (col, bits) in font::glyph(ch).iter().enumerate() {
                for row in 0..font::GLYPH_H {
                    if bits >> row & 1 == 1 {
                        // Unrotated (u, v) = (k * ADVANCE + col, row) maps to (v, len - 1 - u).
                        let u = (k * font::ADVANCE + col) as i64;
                        let (rx, ry) = (row as i64, len - 1 - u);
                        for py in 0..s {
                            for px in 0..s {
                                self.set(x + rx * s + px, y + ry * s + py, c);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Write the canvas as a PNG, atomically.
    pub fn save(&self, out: &Path) -> Result<(), String> {
        write_png(out, self.width, self.height, self.color, &self.pixels).map_err(|e| e.to_string())
    }
}
