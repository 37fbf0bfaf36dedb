//! The PNG writer of every picture sdae draws (8-bit gray or RGB), atomic through
//! [`crate::util::write_atomic_with`]: on any error nothing is left at the destination.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::util::WriteError;

/// A PNG that could not be written: pixels that do not fit the size, or the file write.
#[derive(Debug)]
pub enum PngError {
    /// The pixel buffer does not match `width x height`, or the size is 0 or too large.
    Shape {
        path: PathBuf,
        message: String,
    },
    Write(WriteError),
}

impl fmt::Display for PngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PngError::Shape { path, message } => write!(f, "{}: {message}", path.display()),
            PngError::Write(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for PngError {}

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
) -> Result<(), PngError> {
    let want = width * height * color.channels();
    if width == 0 || height == 0 || pixels.len() != want {
        return Err(PngError::Shape {
            path: out.to_path_buf(),
            message: format!(
                "cannot write a {width} x {height} PNG from {} bytes (expected {want}, non-empty)",
                pixels.len()
            ),
        });
    }
    if u32::try_from(width).is_err() || u32::try_from(height).is_err() {
        return Err(PngError::Shape {
            path: out.to_path_buf(),
            message: format!("{width} x {height} is too large for a PNG"),
        });
    }
    // Pictures go where asked, like datasets: create the folder (the file itself is atomic).
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| {
            PngError::Write(WriteError {
                path: out.to_path_buf(),
                stage: "cannot create output directory",
                source,
            })
        })?;
    }
    crate::util::write_atomic_with(out, |w| {
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
    .map_err(PngError::Write)
}
