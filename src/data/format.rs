//! The `.sdd` dataset file: a 64-byte little-endian header, the f32 features row-major at a
//! 64-byte aligned offset, the labels as little-endian u32, and an XXH64 checksum of the payload.
//! Byte-by-byte specification: datasets/README.md, section "The .sdd format".
//!
//! ```text
//! offset size field
//!      0    8 magic            b"SDAEDATA"
//!      8    4 version          u32 = 1
//!     12    4 reserved         u32 = 0
//!     16    8 rows             u64
//!     24    8 cols             u64, >= 1
//!     32    8 classes          u64, >= 1 (every label < classes)
//!     40    8 features_offset  u64 = 64 (a multiple of 64)
//!     48    8 labels_offset    u64 = round_up(features_offset + 4*rows*cols, 64)
//!     56    8 checksum         u64 = XXH64(seed 0) of bytes [features_offset, file end)
//! features_offset .. +4*rows*cols   f32 LE, row-major
//! zero padding up to labels_offset
//! labels_offset   .. +4*rows        u32 LE
//! file length = labels_offset + 4*rows exactly
//! ```

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::error::DataError;
use crate::util::xxh64::{xxh64, Xxh64};

/// The 8 bytes every `.sdd` file starts with.
pub const MAGIC: [u8; 8] = *b"SDAEDATA";
/// The only format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Header size in bytes; also the features offset this build writes.
pub const HEADER_LEN: usize = 64;
/// Alignment of the features and labels sections.
pub const ALIGN: u64 = 64;

#[cfg(target_endian = "big")]
compile_error!(
    "the .sdd format is little-endian and read zero-copy: big-endian hosts are not supported"
);

/// The parsed header of a `.sdd` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub rows: u64,
    pub cols: u64,
    pub classes: u64,
    pub features_offset: u64,
    pub labels_offset: u64,
    pub checksum: u64,
}

fn round_up(x: u64, a: u64) -> Option<u64> {
    x.checked_add(a - 1).map(|v| v / a * a)
}

impl Header {
    /// The header this build writes for a `rows x cols` dataset (checksum left to the caller).
    pub fn for_shape(rows: u64, cols: u64, classes: u64) -> Option<Header> {
        let features_offset = HEADER_LEN as u64;
        let fbytes = rows.checked_mul(cols)?.checked_mul(4)?;
        let labels_offset = round_up(features_offset.checked_add(fbytes)?, ALIGN)?;
        labels_offset.checked_add(rows.checked_mul(4)?)?;
        Some(Header {
            version: VERSION,
            rows,
            cols,
            classes,
            features_offset,
            labels_offset,
            checksum: 0,
        })
    }

    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[16..24].copy_from_slice(&self.rows.to_le_bytes());
        b[24..32].copy_from_slice(&self.cols.to_le_bytes());
        b[32..40].copy_from_slice(&self.classes.to_le_bytes());
        b[40..48].copy_from_slice(&self.features_offset.to_le_bytes());
        b[48..56].copy_from_slice(&self.labels_offset.to_le_bytes());
        b[56..64].copy_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Parse and validate a header against the file length. Every check names the byte offset
    /// of the field that failed.
    pub fn parse(path: &Path, bytes: &[u8], file_len: u64) -> Result<Header, DataError> {
        if bytes.len() < HEADER_LEN {
            return Err(DataError::at_offset(
                path,
                bytes.len() as u64,
                format!(
                    "file is {} bytes, shorter than the {HEADER_LEN}-byte .sdd header (truncated or not a dataset)",
                    bytes.len()
                ),
            ));
        }
        if bytes[0..8] != MAGIC {
            return Err(DataError::at_offset(
                path,
                0,
                format!(
                    "bad magic {:?}, expected {:?} (not an sdae dataset file)",
                    String::from_utf8_lossy(&bytes[0..8]),
                    String::from_utf8_lossy(&MAGIC)
                ),
            ));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4"));
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8"));
        let version = u32_at(8);
        if version != VERSION {
            return Err(DataError::at_offset(
                path,
                8,
                format!("format version {version}, this build reads version {VERSION}"),
            ));
        }
        let reserved = u32_at(12);
        if reserved != 0 {
            return Err(DataError::at_offset(
                path,
                12,
                format!("reserved field is {reserved}, expected 0"),
            ));
        }
        let h = Header {
            version,
            rows: u64_at(16),
            cols: u64_at(24),
            classes: u64_at(32),
            features_offset: u64_at(40),
            labels_offset: u64_at(48),
            checksum: u64_at(56),
        };
        if h.cols == 0 {
            return Err(DataError::at_offset(
                path,
                24,
                "cols is 0, expected at least 1",
            ));
        }
        if h.classes == 0 || h.classes > u64::from(u32::MAX) {
            return Err(DataError::at_offset(
                path,
                32,
                format!("classes is {}, expected 1..={}", h.classes, u32::MAX),
            ));
        }
        if h.features_offset < HEADER_LEN as u64 || !h.features_offset.is_multiple_of(ALIGN) {
            return Err(DataError::at_offset(
                path,
                40,
                format!(
                    "features offset {} is not a multiple of {ALIGN} at or after the header",
                    h.features_offset
                ),
            ));
        }
        let fbytes = h
            .rows
            .checked_mul(h.cols)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| {
                DataError::at_offset(
                    path,
                    16,
                    format!("rows {} x cols {} overflows", h.rows, h.cols),
                )
            })?;
        let fend = h
            .features_offset
            .checked_add(fbytes)
            .ok_or_else(|| DataError::at_offset(path, 40, "features section overflows"))?;
        if h.labels_offset < fend || !h.labels_offset.is_multiple_of(4) {
            return Err(DataError::at_offset(
                path,
                48,
                format!(
                    "labels offset {} overlaps the features (which end at {fend}) or is not 4-aligned",
                    h.labels_offset
                ),
            ));
        }
        let expected_len = h
            .labels_offset
            .checked_add(h.rows * 4)
            .ok_or_else(|| DataError::at_offset(path, 48, "labels section overflows"))?;
        if expected_len != file_len {
            return Err(DataError::at_offset(
                path,
                file_len.min(expected_len),
                format!(
                    "file is {file_len} bytes but its header ({} rows x {} cols) needs exactly {expected_len} (truncated or corrupt)",
                    h.rows, h.cols
                ),
            ));
        }
        Ok(h)
    }
}

/// A memory-mapped, validated `.sdd` dataset: zero-copy views of its features and labels.
///
/// Opening reads and validates the 64-byte header against the file length (O(1)); it does not
/// read the payload. [`Dataset::verify_checksum`] reads it all.
pub struct Dataset {
    map: Mmap,
    header: Header,
    path: PathBuf,
    identity: FileIdentity,
}

/// Which file a [`Dataset`] maps, as the open handle saw it: device, inode, length and
/// modification time (seconds, nanoseconds). Two datasets with the same identity map the same
/// bytes (sdae never rewrites a dataset in place: writers rename a new file over the old name,
/// which gives it a new inode), so a caller may verify the payload once per identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime: (i64, i64),
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("path", &self.path)
            .field("header", &self.header)
            .finish()
    }
}

impl Dataset {
    /// Map `path` read-only and validate its header against its length.
    pub fn open(path: &Path) -> Result<Dataset, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, "cannot open dataset", e))?;
        let meta = file
            .metadata()
            .map_err(|e| DataError::io(path, "cannot stat dataset", e))?;
        let len = meta.len();
        if len < HEADER_LEN as u64 {
            return Err(DataError::at_offset(
                path,
                len,
                format!("file is {len} bytes, shorter than the {HEADER_LEN}-byte .sdd header (truncated or not a dataset)"),
            ));
        }
        // SAFETY: the file is opened read-only and the map is private to this process. memmap2
        // requires that the file not be modified while mapped: sdae never writes a dataset in
        // place (writers create a temp file and rename it over the old name, which leaves this
        // mapping's inode untouched). Concurrent truncation by another program is NOT supported:
        // it would turn later reads of the vanished pages into SIGBUS.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|e| DataError::io(path, "cannot mmap dataset", e))?;
        let header = Header::parse(path, &map[..HEADER_LEN], map.len() as u64)?;
        // The map is page-aligned and the offsets are multiples of 64 and 4: the casts below
        // cannot fail, but check once here so that the accessors can never panic.
        let ds = Dataset {
            map,
            header,
            path: path.to_path_buf(),
            identity: FileIdentity::of(&meta),
        };
        bytemuck::try_cast_slice::<u8, f32>(ds.feature_bytes()).map_err(|e| {
            DataError::at_offset(
                path,
                header.features_offset,
                format!("features not castable to f32: {e:?}"),
            )
        })?;
        bytemuck::try_cast_slice::<u8, u32>(ds.label_bytes()).map_err(|e| {
            DataError::at_offset(
                path,
                header.labels_offset,
                format!("labels not castable to u32: {e:?}"),
            )
        })?;
        Ok(ds)
    }

    fn feature_bytes(&self) -> &[u8] {
        let o = self.header.features_offset as usize;
        &self.map[o..o + self.rows() * self.cols() * 4]
    }

    fn label_bytes(&self) -> &[u8] {
        let o = self.header.labels_offset as usize;
        &self.map[o..o + self.rows() * 4]
    }

    pub fn rows(&self) -> usize {
        self.header.rows as usize
    }
    pub fn cols(&self) -> usize {
        self.header.cols as usize
    }
    pub fn classes(&self) -> usize {
        self.header.classes as usize
    }
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// The stored checksum (XXH64 of the payload).
    pub fn checksum(&self) -> u64 {
        self.header.checksum
    }
    /// All features, `rows * cols` values, row-major, 64-byte aligned, zero-copy.
    pub fn features(&self) -> &[f32] {
        bytemuck::cast_slice(self.feature_bytes())
    }
    /// All labels, `rows` values, zero-copy. Each is `< classes()` in a file that verifies.
    pub fn labels(&self) -> &[u32] {
        bytemuck::cast_slice(self.label_bytes())
    }
    /// Row `i` (`cols` values). Panics if `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f32] {
        let c = self.cols();
        &self.features()[i * c..(i + 1) * c]
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error of a payload that hashes to `got`, not to the header's checksum (the field at
    /// byte 56); `advice` ends the message.
    fn checksum_mismatch(&self, got: u64, advice: &str) -> DataError {
        DataError::at_offset(
            &self.path,
            56,
            format!(
                "checksum mismatch: header says {:016x}, payload hashes to {got:016x}{advice}",
                self.header.checksum
            ),
        )
    }

    /// Recompute the payload checksum and compare it with the header's, then check every label is
    /// below `classes`. Reads the whole file (several GB/s).
    pub fn verify_checksum(&self) -> Result<(), DataError> {
        let payload = &self.map[self.header.features_offset as usize..];
        let got = xxh64(payload, 0);
        if got != self.header.checksum {
            return Err(self.checksum_mismatch(got, " (file corrupt)"));
        }
        if let Some((i, &l)) = self
            .labels()
            .iter()
            .enumerate()
            .find(|(_, &l)| u64::from(l) >= self.header.classes)
        {
            return Err(DataError::at_offset(
                &self.path,
                self.header.labels_offset + 4 * i as u64,
                format!(
                    "label of row {i} is {l}, expected < {} classes",
                    self.header.classes
                ),
            ));
        }
        Ok(())
    }
}

/// Values per chunk of the one-pass check: 64 KiB of features, small enough to stay in L2
/// between the hash and the value test.
const CHECK_CHUNK: usize = 16 * 1024;

/// Whether any value of `v` is outside [0, 1] or not finite (NaN fails both comparisons).
/// Branch-free over the chunk, so the compiler vectorises it.
fn any_bad_value(v: &[f32]) -> bool {
    v.iter()
        .fold(false, |bad, &x| bad | !((0.0..=1.0).contains(&x)))
}

impl Dataset {
    /// The identity of the mapped file, taken from the handle at open.
    pub fn identity(&self) -> FileIdentity {
        self.identity
    }

    /// The check training and evaluation run once on every split they map, before the first
    /// step: every feature finite and in [0, 1], every label `< classes`, and the payload's
    /// XXH64 equal to the header's, in one pass over the file (chunk by chunk: hash, then test
    /// the values while they are in cache). The first bad value is named by file, row and
    /// column; a damaged byte that leaves every value valid fails the checksum.
    pub fn verify_inputs(&self) -> Result<(), DataError> {
        let (cols, classes) = (self.cols(), self.header.classes);
        let x = self.features();
        let mut h = Xxh64::new(0);
        let fbytes = self.feature_bytes();
        for (k, chunk) in x.chunks(CHECK_CHUNK).enumerate() {
            let start = k * CHECK_CHUNK;
            h.update(&fbytes[start * 4..(start + chunk.len()) * 4]);
            if any_bad_value(chunk) {
                let j = chunk
                    .iter()
                    .position(|v| !(0.0..=1.0).contains(v))
                    .expect("a bad value is in the chunk");
                let i = start + j;
                return Err(DataError::at_offset(
                    &self.path,
                    self.header.features_offset + 4 * i as u64,
                    format!(
                        "row {} column {}: feature value {} (bits {:#010x}), expected a finite value in [0, 1]",
                        i / cols,
                        i % cols,
                        chunk[j],
                        chunk[j].to_bits()
                    ),
                ));
            }
        }
        let y = self.labels();
        for (k, chunk) in y.chunks(CHECK_CHUNK).enumerate() {
            let max = chunk.iter().fold(0u32, |m, &l| m.max(l));
            if u64::from(max) >= classes {
                let j = chunk
                    .iter()
                    .position(|&l| u64::from(l) >= classes)
                    .expect("a bad label is in the chunk");
                let i = k * CHECK_CHUNK + j;
                return Err(DataError::at_offset(
                    &self.path,
                    self.header.labels_offset + 4 * i as u64,
                    format!("row {i}: label {}, expected < {classes} classes", chunk[j]),
                ));
            }
        }
        let fend = self.header.features_offset as usize + fbytes.len();
        h.update(&self.map[fend..]);
        let got = h.finish();
        if got != self.header.checksum {
            return Err(self.checksum_mismatch(
                got,
                "; every value is in range, so the damage is elsewhere in the payload (file corrupt: regenerate or re-import it)",
            ));
        }
        Ok(())
    }
}

/// Write `bytes` produced by `fill` to `path` atomically ([`crate::util::write_atomic_with`]),
/// creating the parent directory first. On any error `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir)
                .map_err(|e| DataError::io(dir, "cannot create output directory", e))?;
        }
    }
    crate::util::write_atomic_with(path, fill).map_err(|e| {
        let at = if e.stage.starts_with("cannot rename") {
            path.to_path_buf()
        } else {
            crate::util::fs::temp_path_for(path)
        };
        DataError::io(&at, e.stage, e.source)
    })
}

/// Write a dataset atomically (temp file in the same directory, write, fsync, rename) and
/// compute its checksum. `features` is `labels.len() * cols` values, row-major; every label must
/// be `< classes`. Creates the parent directory if needed.
pub fn write_dataset(
    path: &Path,
    features: &[f32],
    labels: &[u32],
    cols: usize,
    classes: usize,
) -> Result<(), DataError> {
    if cols == 0 {
        return Err(DataError::new(
            path,
            "cannot write a dataset with 0 columns",
        ));
    }
    if classes == 0 || classes > u32::MAX as usize {
        return Err(DataError::new(
            path,
            format!("classes is {classes}, expected 1..={}", u32::MAX),
        ));
    }
    let rows = labels.len();
    if Some(features.len()) != rows.checked_mul(cols) {
        return Err(DataError::new(
            path,
            format!(
                "{} feature values for {rows} labels x {cols} columns, expected {}",
                features.len(),
                rows.saturating_mul(cols)
            ),
        ));
    }
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(DataError::new(
            path,
            format!("label of row {i} is {l}, expected < {classes} classes"),
        ));
    }
    let mut header = Header::for_shape(rows as u64, cols as u64, classes as u64)
        .ok_or_else(|| DataError::new(path, format!("{rows} x {cols} is too large")))?;
    let fbytes: &[u8] = bytemuck::cast_slice(features);
    let lbytes: &[u8] = bytemuck::cast_slice(labels);
    let pad = vec![0u8; (header.labels_offset - header.features_offset) as usize - fbytes.len()];
    let mut h = Xxh64::new(0);
    h.update(fbytes);
    h.update(&pad);
    h.update(lbytes);
    header.checksum = h.finish();
    write_atomic(path, |w| {
        w.write_all(&header.to_bytes())?;
        w.write_all(fbytes)?;
        w.write_all(&pad)?;
        w.write_all(lbytes)
    })
}
