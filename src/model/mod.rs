//! The network: denoising-autoencoder layers, their stack, and the softmax output layer, plus
//! the model file format (see `docs/model-format.md`).
//!
//! Shapes (row-major, chosen so every product in training is a plain GEMM):
//! - encoder weights `w` are `d x h` (input width `d`, hidden width `h`): `Y = s(X W + b)`;
//! - the decoder uses `W^T` when tied, else its own `w_dec` stored `h x d`: `Z = s(Y W' + c)`;
//! - the output layer `v` is `h x K`: `P = softmax(H V + bv)`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The eight bytes every model file starts with.
pub const MODEL_MAGIC: &[u8; 8] = b"SDAEMDL\0";
/// The model file format version this build writes and reads.
pub const MODEL_VERSION: u32 = 1;

/// An error about a model: a malformed file or a shape mismatch. The message says which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ModelError {}

/// A uniform `f32` in `[0, 1)` from the top 24 bits of one draw.
#[inline]
pub fn uniform01(rng: &mut Xoshiro256PlusPlus) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// One denoising autoencoder: `y = s(x W + b)`, `z = s(y W' + c)`.
#[derive(Clone, Debug, PartialEq)]
pub struct DaeLayer {
    /// Input width.
    pub d: usize,
    /// Hidden width.
    pub h: usize,
    /// Encoder weights, `d x h` row-major.
    pub w: Vec<f32>,
    /// Hidden bias, `h`.
    pub b: Vec<f32>,
    /// Reconstruction bias, `d`.
    pub c: Vec<f32>,
    /// Untied decoder weights `h x d` row-major; `None` when tied (`W' = W^T`).
    pub w_dec: Option<Vec<f32>>,
}

impl DaeLayer {
    /// Weights uniform in `±4·sqrt(6/(d+h))` (the sigmoid variant of Glorot's range), biases 0.
    pub fn new(d: usize, h: usize, tied: bool, rng: &mut Xoshiro256PlusPlus) -> DaeLayer {
        let r = 4.0 * (6.0 / (d + h) as f64).sqrt() as f32;
        let mut draw =
            |n: usize| -> Vec<f32> { (0..n).map(|_| (2.0 * uniform01(rng) - 1.0) * r).collect() };
        let w = draw(d * h);
        let w_dec = if tied { None } else { Some(draw(h * d)) };
        DaeLayer {
            d,
            h,
            w,
            b: vec![0.0; h],
            c: vec![0.0; d],
            w_dec,
        }
    }

    /// Whether the decoder uses `W^T`.
    pub fn tied(&self) -> bool {
        self.w_dec.is_none()
    }

    /// Every parameter, as flat slices (w, b, c[, w_dec]).
    pub fn params(&self) -> Vec<&[f32]> {
        let mut v: Vec<&[f32]> = vec![&self.w, &self.b, &self.c];
        if let Some(wd) = &self.w_dec {
            v.push(wd);
        }
        v
    }

    /// Every parameter, mutable, in the order of [`DaeLayer::params`].
    pub fn params_mut(&mut self) -> Vec<&mut [f32]> {
        let mut v: Vec<&mut [f32]> = vec![&mut self.w, &mut self.b, &mut self.c];
        if let Some(wd) = &mut self.w_dec {
            v.push(wd);
        }
        v
    }
}

/// The softmax output layer of fine-tuning: `P = softmax(H V + bv)`, initialised to zero.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputLayer {
    /// Input width (the top hidden width).
    pub h: usize,
    /// Classes.
    pub k: usize,
    /// Weights `h x k` row-major.
    pub v: Vec<f32>,
    /// Bias, `k`.
    pub bv: Vec<f32>,
}

impl OutputLayer {
    pub fn zeros(h: usize, k: usize) -> OutputLayer {
        OutputLayer {
            h,
            k,
            v: vec![0.0; h * k],
            bv: vec![0.0; k],
        }
    }
}

/// A stack of DAE layers with an optional softmax output layer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Model {
    pub layers: Vec<DaeLayer>,
    pub output: Option<OutputLayer>,
}

impl Model {
    /// The input width (0 for an empty model).
    pub fn input_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.d)
    }

    /// The widths `[d, h_1, ..., h_L]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut v = vec![self.input_dim()];
        v.extend(self.layers.iter().map(|l| l.h));
        v
    }

    /// Check that consecutive layers fit together and the output layer fits the top.
    pub fn validate(&self) -> Result<(), ModelError> {
        for (i, l) in self.layers.iter().enumerate() {
            if l.d == 0 || l.h == 0 {
                return Err(ModelError(format!(
                    "layer {}: width {} -> {} has a zero",
                    i + 1,
                    l.d,
                    l.h
                )));
            }
            if l.w.len() != l.d * l.h || l.b.len() != l.h || l.c.len() != l.d {
                return Err(ModelError(format!(
                    "layer {}: parameter sizes do not match {} x {}",
                    i + 1,
                    l.d,
                    l.h
                )));
            }
            if let Some(wd) = &l.w_dec {
                if wd.len() != l.d * l.h {
                    return Err(ModelError(format!(
                        "layer {}: decoder has {} weights, expected {}",
                        i + 1,
                        wd.len(),
                        l.d * l.h
                    )));
                }
            }
            if i > 0 && self.layers[i - 1].h != l.d {
                return Err(ModelError(format!(
                    "layer {} takes {} inputs but layer {} gives {}",
                    i + 1,
                    l.d,
                    i,
                    self.layers[i - 1].h
                )));
            }
        }
        if let Some(o) = &self.output {
            let top = self.layers.last().map_or(0, |l| l.h);
            if o.h != top || o.v.len() != o.h * o.k || o.bv.len() != o.k || o.k == 0 {
                return Err(ModelError(format!(
                    "output layer {} x {} does not fit the top hidden width {top}",
                    o.h, o.k
                )));
            }
        }
        Ok(())
    }

    /// The model file bytes (format: `docs/model-format.md`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MODEL_MAGIC);
        put_u32(&mut out, MODEL_VERSION);
        put_u32(&mut out, self.layers.len() as u32);
        put_u32(&mut out, self.output.as_ref().map_or(0, |o| o.k as u32));
        for l in &self.layers {
            put_u32(&mut out, l.d as u32);
            put_u32(&mut out, l.h as u32);
            put_u32(&mut out, u32::from(l.tied()));
            for p in l.params() {
                put_f32s(&mut out, p);
            }
        }
        if let Some(o) = &self.output {
            put_f32s(&mut out, &o.v);
            put_f32s(&mut out, &o.bv);
        }
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parse model file bytes; `what` names the source in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Model, ModelError> {
        let err = |m: String| ModelError(format!("{what}: {m}"));
        if bytes.len() < 8 + 12 + 8 || &bytes[..8] != MODEL_MAGIC {
            return Err(err(
                "not an sdae model file (expected magic \"SDAEMDL\\0\")".into(),
            ));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        let sum = u64::from_le_bytes(tail.try_into().unwrap());
        if fnv1a64(body) != sum {
            return Err(err(
                "checksum mismatch: the file is truncated or corrupted".into()
            ));
        }
        let mut r = Reader { b: body, at: 8 };
        let version = r.u32().map_err(&err)?;
        if version != MODEL_VERSION {
            return Err(err(format!(
                "format version {version}, this build reads version {MODEL_VERSION}"
            )));
        }
        let nl = r.u32().map_err(&err)? as usize;
        let k = r.u32().map_err(&err)? as usize;
        let mut m = Model::default();
        for _ in 0..nl {
            let d = r.u32().map_err(&err)? as usize;
            let h = r.u32().map_err(&err)? as usize;
            let tied = r.u32().map_err(&err)? != 0;
            let w = r.f32s(d * h).map_err(&err)?;
            let b = r.f32s(h).map_err(&err)?;
            let c = r.f32s(d).map_err(&err)?;
            let w_dec = if tied {
                None
            } else {
                Some(r.f32s(h * d).map_err(&err)?)
            };
            m.layers.push(DaeLayer {
                d,
                h,
                w,
                b,
                c,
                w_dec,
            });
        }
        if k > 0 {
            let h = m.layers.last().map_or(0, |l| l.h);
            let v = r.f32s(h * k).map_err(&err)?;
            let bv = r.f32s(k).map_err(&err)?;
            m.output = Some(OutputLayer { h, k, v, bv });
        }
        if r.at != body.len() {
            return Err(err(format!(
                "{} trailing bytes after the model",
                body.len() - r.at
            )));
        }
        m.validate().map_err(|e| err(e.0))?;
        Ok(m)
    }

    /// Write atomically: temporary file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomic(path, &self.to_bytes()).map_err(ModelError)
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path)
            .map_err(|e| ModelError(format!("cannot read model file {}: {e}", path.display())))?;
        Model::from_bytes(&bytes, &path.display().to_string())
    }

    /// Whether every parameter is finite.
    pub fn all_finite(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.params().iter().all(|p| p.iter().all(|v| v.is_finite())))
            && self
                .output
                .as_ref()
                .is_none_or(|o| o.v.iter().chain(&o.bv).all(|v| v.is_finite()))
    }

    /// Copy every parameter of `src` (same shapes) into `self` without allocating.
    pub fn copy_from(&mut self, src: &Model) {
        for (a, b) in self.layers.iter_mut().zip(&src.layers) {
            for (pa, pb) in a.params_mut().into_iter().zip(b.params()) {
                pa.copy_from_slice(pb);
            }
        }
        if let (Some(a), Some(b)) = (&mut self.output, &src.output) {
            a.v.copy_from_slice(&b.v);
            a.bv.copy_from_slice(&b.bv);
        }
    }
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// FNV-1a, 64 bit: a cheap guard against truncated or damaged files.
pub fn fnv1a64(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    out.reserve(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

pub(crate) struct Reader<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) at: usize,
}

impl Reader<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.b.len() - self.at < n {
            return Err(format!(
                "truncated at byte {} (wanted {n} more bytes)",
                self.at
            ));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    pub(crate) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub(crate) fn f32s(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| format!("size {n} overflows"))?;
        let s = self.take(bytes)?;
        Ok(s.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}

/// A generator seeded from the run seed and a stream tag, so every phase has its own stream.
pub fn rng_for(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
