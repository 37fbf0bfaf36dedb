//! The network: a stack of layers ([`layer`]: what every kind gives the stack, and the
//! denoising autoencoder), the softmax output layer, and the model file format (see
//! `docs/model-format.md`).
//!
//! Shapes (row-major, chosen so every product in training is a plain GEMM):
//! - encoder weights `w` are `d x h` (input width `d`, hidden width `h`): `Y = s(X W + b)`;
//! - the decoder uses `W^T` when tied, else its own `w_dec` stored `h x d`: `Z = s(Y W' + c)`;
//! - the output layer `v` is `h x K`: `P = softmax(H V + bv)`.

use std::fmt;
use std::path::{Path, PathBuf};

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::util::bytes::{put_f32s, put_u32, Reader};
use crate::util::{fnv1a64, write_atomic, WriteError};

/// The eight bytes every model file starts with.
pub const MODEL_MAGIC: &[u8; 8] = b"SDAEMDL\0";
/// The model file format version this build writes. Version 3 adds the provenance (ISA and GEMM
/// plan the parameters were computed under); version 2 tags every layer with its kind; version 1
/// files (every layer a DAE, no tag) are still read.
pub const MODEL_VERSION: u32 = 3;

/// The largest provenance section a reader accepts (it is a few hundred bytes).
const MAX_PROVENANCE: usize = 64 * 1024;

/// What the parameters of a model were computed under, so that a user can tell whether
/// retraining elsewhere can be bit-identical: the kernels' ISA and the GEMM plan (KC changes the
/// order of the k sums). Only what decides the numbers: no host, time or build, so the same
/// training under the same plan writes the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The ISA of the kernels (`scalar`, `avx2`, `avx512`, `neon`).
    pub isa: String,
    /// The GEMM plan in force, as `sdae info` prints it.
    pub plan: String,
    /// The plan's hash (what checkpoints and results record).
    pub plan_hash: String,
}

pub mod layer;

pub use layer::{
    DaeLayer, Decoder, DecoderWeights, Encoder, EncoderMut, Layer, LayerKind, RbmInit, RbmLayer,
    StackLayer,
};

/// An error about a model: a file that cannot be read or written, bytes that are not a model
/// file, or layers whose shapes do not fit. The message names the file and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// The file could not be read or written (the OS error, as text).
    Io { path: PathBuf, message: String },
    /// The bytes are not a valid model file; `what` names the file.
    Format { what: String, message: String },
    /// Layers or the output layer do not fit together.
    Shape(String),
}

impl ModelError {
    /// This error, prefixed with where the model came from (a file name).
    fn in_file(self, what: &str) -> ModelError {
        match self {
            ModelError::Shape(message) => ModelError::Format {
                what: what.into(),
                message,
            },
            e => e,
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            ModelError::Format { what, message } => write!(f, "{what}: {message}"),
            ModelError::Shape(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<WriteError> for ModelError {
    fn from(e: WriteError) -> ModelError {
        ModelError::Io {
            message: format!("cannot write: {}", e.source),
            path: e.path,
        }
    }
}

/// A uniform `f32` in `[0, 1)` from the top 24 bits of one draw.
#[inline]
pub fn uniform01(rng: &mut Xoshiro256PlusPlus) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
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

/// A stack of layers with an optional softmax output layer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Model {
    pub layers: Vec<Layer>,
    pub output: Option<OutputLayer>,
    /// Under which ISA and GEMM plan the parameters were last trained (none in files of
    /// format versions 1 and 2, and in models not trained by this build).
    pub provenance: Option<Provenance>,
}

impl Model {
    /// The input width (0 for an empty model).
    pub fn input_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.d())
    }

    /// The widths `[d, h_1, ..., h_L]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut v = vec![self.input_dim()];
        v.extend(self.layers.iter().map(|l| l.h()));
        v
    }

    /// Check that consecutive layers fit together and the output layer fits the top.
    pub fn validate(&self) -> Result<(), ModelError> {
        for (i, l) in self.layers.iter().enumerate() {
            let (d, h) = (l.d(), l.h());
            if d == 0 || h == 0 {
                return Err(ModelError::Shape(format!(
                    "layer {}: width {d} -> {h} has a zero",
                    i + 1
                )));
            }
            l.check_sizes()
                .map_err(|m| ModelError::Shape(format!("layer {}: {m}", i + 1)))?;
            if i > 0 && self.layers[i - 1].h() != d {
                return Err(ModelError::Shape(format!(
                    "layer {} takes {d} inputs but layer {i} gives {}",
                    i + 1,
                    self.layers[i - 1].h()
                )));
            }
        }
        if let Some(o) = &self.output {
            let top = self.layers.last().map_or(0, |l| l.h());
            if o.h != top || o.v.len() != o.h * o.k || o.bv.len() != o.k || o.k == 0 {
                return Err(ModelError::Shape(format!(
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
            put_u32(&mut out, l.kind().tag());
            put_u32(&mut out, l.d() as u32);
            put_u32(&mut out, l.h() as u32);
            l.write_record(&mut out);
        }
        if let Some(o) = &self.output {
            put_f32s(&mut out, &o.v);
            put_f32s(&mut out, &o.bv);
        }
        let prov = self.provenance.as_ref().map_or(Vec::new(), |p| {
            serde_json::to_vec(p).expect("provenance serialises")
        });
        put_u32(&mut out, prov.len() as u32);
        out.extend_from_slice(&prov);
        let sum = fnv1a64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Parse model file bytes; `what` names the source in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Model, ModelError> {
        let err = |message: String| ModelError::Format {
            what: what.into(),
            message,
        };
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
        let mut r = Reader::new(body, 8);
        let version = r.u32().map_err(&err)?;
        if !(1..=MODEL_VERSION).contains(&version) {
            return Err(err(format!(
                "format version {version}, this build reads versions 1 to {MODEL_VERSION}"
            )));
        }
        let nl = r.u32().map_err(&err)? as usize;
        let k = r.u32().map_err(&err)? as usize;
        let mut m = Model::default();
        for i in 0..nl {
            // Version 1 has no kind tag: every layer is a DAE.
            let kind = if version >= 2 {
                let tag = r.u32().map_err(&err)?;
                LayerKind::from_tag(tag).ok_or_else(|| {
                    err(format!(
                        "layer {}: unknown layer kind {tag} (this build knows {})",
                        i + 1,
                        LayerKind::ALL
                            .iter()
                            .map(|k| format!("{} = {}", k.tag(), k.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?
            } else {
                LayerKind::Dae
            };
            let d = r.u32().map_err(&err)? as usize;
            let h = r.u32().map_err(&err)? as usize;
            m.layers
                .push(Layer::read_record(kind, d, h, &mut r).map_err(&err)?);
        }
        if k > 0 {
            let h = m.layers.last().map_or(0, |l| l.h());
            let v = r.f32s(h * k).map_err(&err)?;
            let bv = r.f32s(k).map_err(&err)?;
            m.output = Some(OutputLayer { h, k, v, bv });
        }
        if version >= 3 {
            let n = r.u32().map_err(&err)? as usize;
            if n > MAX_PROVENANCE {
                return Err(err(format!(
                    "provenance section of {n} bytes, expected at most {MAX_PROVENANCE}"
                )));
            }
            if n > 0 {
                let text = r.take(n).map_err(&err)?;
                let p = serde_json::from_slice(text)
                    .map_err(|e| err(format!("provenance section: {e}")))?;
                m.provenance = Some(p);
            }
        }
        if r.remaining() != 0 {
            return Err(err(format!(
                "{} trailing bytes after the model",
                r.remaining()
            )));
        }
        m.validate().map_err(|e| e.in_file(what))?;
        Ok(m)
    }

    /// Write atomically: temporary file in the same directory, fsync, rename.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        Ok(write_atomic(path, &self.to_bytes())?)
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io {
            path: path.to_path_buf(),
            message: format!("cannot read model file: {e}"),
        })?;
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

/// A generator seeded from the run seed and a stream tag, so every phase has its own stream.
pub fn rng_for(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
