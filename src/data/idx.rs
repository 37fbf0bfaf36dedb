//! IDX files (LeCun's MNIST format), raw or gzip-compressed: big-endian u32 magic `0x0000_08NN`
//! (type 0x08 = unsigned byte, NN = number of dimensions), NN big-endian u32 sizes, then the
//! row-major bytes. Only the unsigned-byte type is read, which is what MNIST uses.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::error::DataError;

/// A decoded IDX file of unsigned bytes.
#[derive(Clone, Debug)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Read the file, gunzipping it if it starts with the gzip magic `1f 8b`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|e| DataError::io(path, "cannot read", e))?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::new(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parse IDX bytes (already decompressed).
pub fn parse_idx(path: &Path, b: &[u8]) -> Result<Idx, DataError> {
    // A header field that fails, at its byte offset.
    let bad = |offset: u64, message: String| Err(DataError::at_offset(path, offset, message));
    if b.len() < 4 {
        return bad(
            b.len() as u64,
            format!(
                "file is {} bytes, expected at least a 4-byte IDX magic",
                b.len()
            ),
        );
    }
    if b[0] != 0 || b[1] != 0 {
        return bad(
            0,
            format!(
                "bad IDX magic {:02x}{:02x}{:02x}{:02x}, expected 0000 08 NN (not an IDX file)",
                b[0], b[1], b[2], b[3]
            ),
        );
    }
    if b[2] != 0x08 {
        return bad(
            2,
            format!(
                "IDX data type 0x{:02x}, expected 0x08 (unsigned byte)",
                b[2]
            ),
        );
    }
    let nd = b[3] as usize;
    if nd == 0 {
        return bad(3, "IDX with 0 dimensions, expected at least 1".into());
    }
    let data_off = 4 + 4 * nd;
    if b.len() < data_off {
        return bad(
            b.len() as u64,
            format!(
                "truncated IDX header: {nd} dimensions need {data_off} bytes, file has {}",
                b.len()
            ),
        );
    }
    let dims: Vec<usize> = (0..nd)
        .map(|i| u32::from_be_bytes(b[4 + 4 * i..8 + 4 * i].try_into().expect("4")) as usize)
        .collect();
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            DataError::at_offset(path, 4, format!("IDX dimensions {dims:?} overflow"))
        })?;
    let have = b.len() - data_off;
    if have != n {
        return Err(DataError::at_offset(
            path,
            b.len() as u64,
            format!(
                "IDX dimensions {dims:?} need {n} data bytes after the {data_off}-byte header, file has {have} ({})",
                if have < n { "truncated" } else { "trailing garbage" }
            ),
        ));
    }
    Ok(Idx {
        dims,
        data: b[data_off..].to_vec(),
    })
}

pub fn read_idx(path: &Path) -> Result<Idx, DataError> {
    let b = read_maybe_gz(path)?;
    parse_idx(path, &b)
}

/// Images (N x rows x cols, or N x cols) and labels (N) from two IDX files, checked against each
/// other. Returns (pixels as bytes, row length, labels).
pub fn read_idx_pair(
    images: &Path,
    labels: &Path,
) -> Result<(Vec<u8>, usize, Vec<u32>), DataError> {
    let im = read_idx(images)?;
    if im.dims.len() < 2 {
        return Err(DataError::at_offset(
            images,
            3,
            format!(
                "image IDX has {} dimension(s), expected at least 2 (count x pixels)",
                im.dims.len()
            ),
        ));
    }
    let lb = read_idx(labels)?;
    if lb.dims.len() != 1 {
        return Err(DataError::at_offset(
            labels,
            3,
            format!("label IDX has {} dimensions, expected 1", lb.dims.len()),
        ));
    }
    if lb.dims[0] != im.dims[0] {
        return Err(DataError::at_offset(
            labels,
            4,
            format!(
                "{} labels but {} has {} images",
                lb.dims[0],
                images.display(),
                im.dims[0]
            ),
        ));
    }
    let cols: usize = im.dims[1..].iter().product();
    if cols == 0 {
        return Err(DataError::at_offset(images, 8, "images have 0 pixels"));
    }
    Ok((
        im.data,
        cols,
        lb.data.iter().map(|&l| u32::from(l)).collect(),
    ))
}

/// `sdae data import-idx`: images / 255 and labels into one `.sdd` file; every label must be
/// `< classes`. Verifies the written file's checksum.
pub fn import_idx(
    images: &Path,
    labels: &Path,
    out: &Path,
    classes: usize,
) -> Result<(usize, usize), DataError> {
    let (pix, cols, lab) = read_idx_pair(images, labels)?;
    if let Some((i, &l)) = lab.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
        return Err(DataError::at_offset(
            labels,
            8 + i as u64,
            format!("label {l} of item {i}, expected < {classes} classes"),
        ));
    }
    let feats: Vec<f32> = pix.iter().map(|&p| f32::from(p) / 255.0).collect();
    super::write_dataset(out, &feats, &lab, cols, classes)?;
    super::Dataset::open(out)?.verify_checksum()?;
    Ok((lab.len(), cols))
}
