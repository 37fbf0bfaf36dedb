//! The layers a stack holds, by kind. Everything above the layer itself (the stack, the model
//! file, fine-tuning, encoding, the pictures) sees a layer only through [`StackLayer`]: a
//! sigmoid encoder `y = s(x W + b)` (the part fine-tuning trains), a decoder back to the input
//! `z = s(y W' + c)`, and its parameters. Pre-training is the one thing each kind does its own
//! way (see `train::layer`).
//!
//! Adding a kind (an RBM, issue 13): a struct implementing [`StackLayer`], a variant of
//! [`Layer`] and [`LayerKind`] (its file tag), its record reader in [`Layer::read_record`], and
//! its trainer in `train::layer`; nothing else in the driver changes.

use std::ops::{Deref, DerefMut};

use rand_xoshiro::Xoshiro256PlusPlus;
use sdae_kernels::{KernelError, Kernels, MatMut, MatRef};

use super::uniform01;
pub use crate::config::RbmInit;
use crate::util::bytes::{put_f32s, put_u32, Reader};

/// The kind of a layer; its tag is what a model file (version 2) stores before each layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// A denoising autoencoder ([`DaeLayer`]).
    Dae,
    /// A restricted Boltzmann machine with binary units ([`RbmLayer`]).
    Rbm,
}

impl LayerKind {
    /// Every kind this build knows.
    pub const ALL: [LayerKind; 2] = [LayerKind::Dae, LayerKind::Rbm];

    /// The tag in the model file.
    pub fn tag(self) -> u32 {
        match self {
            LayerKind::Dae => 1,
            LayerKind::Rbm => 2,
        }
    }

    pub fn from_tag(tag: u32) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Dae => "dae",
            LayerKind::Rbm => "rbm",
        }
    }

    /// The kind named `s` (`dae` or `rbm`, as in a config's `layer_kind`).
    pub fn parse(s: &str) -> Option<LayerKind> {
        LayerKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A layer's encoder `y = s(x W + b)`: `w` is `d x h` row-major, `b` has `h` values.
#[derive(Clone, Copy, Debug)]
pub struct Encoder<'a> {
    pub d: usize,
    pub h: usize,
    pub w: &'a [f32],
    pub b: &'a [f32],
}

/// [`Encoder`], mutable: what fine-tuning updates.
#[derive(Debug)]
pub struct EncoderMut<'a> {
    pub d: usize,
    pub h: usize,
    pub w: &'a mut [f32],
    pub b: &'a mut [f32],
}

/// The weights `W'` of a decoder `z = s(y W' + c)`.
#[derive(Clone, Copy, Debug)]
pub enum DecoderWeights<'a> {
    /// `W' = W^T`: the encoder's own `d x h` weights, used transposed.
    Tied(&'a [f32]),
    /// Separate weights, `h x d` row-major.
    Untied(&'a [f32]),
}

/// A layer's decoder back to its input: `z = s(y W' + c)`, `c` has `d` values.
#[derive(Clone, Copy, Debug)]
pub struct Decoder<'a> {
    pub d: usize,
    pub h: usize,
    pub w: DecoderWeights<'a>,
    pub c: &'a [f32],
}

impl<'a> Encoder<'a> {
    /// `W` as a `d x h` matrix view.
    pub fn weights(&self) -> Result<MatRef<'a>, KernelError> {
        MatRef::new(self.w, self.d, self.h)
    }

    /// `out = s(x W + b)` for the batch `x` (`rows x d`; `out`: `rows x h`): one GEMM and the
    /// fused bias + sigmoid.
    pub fn encode(
        &self,
        k: &Kernels,
        x: MatRef<'_>,
        mut out: MatMut<'_>,
    ) -> Result<(), KernelError> {
        k.sgemm(1.0, x, self.weights()?, 0.0, out.rb_mut())?;
        k.sigmoid_bias_inplace(out, self.b)
    }

    /// [`Encoder::encode`] of one example (`x`: `d` values, `out`: `h`) as the sum of the rows
    /// of `W` picked by its non-zero inputs (MNIST's blank pixels are skipped), streamed at full
    /// vector width: the batch-1 forward pass of fine-tuning and evaluation.
    pub fn encode_one_sparse(
        &self,
        k: &Kernels,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<(), KernelError> {
        let h = self.h;
        let out = &mut out[..h];
        out.fill(0.0);
        // AXPYs through the SGD kernel: `out -= (-x_i) W_i`.
        for (i, &v) in x[..self.d].iter().enumerate() {
            if v != 0.0 {
                k.sgd_update(out, &self.w[i * h..(i + 1) * h], -v, 0.0)?;
            }
        }
        k.sigmoid_bias_inplace(MatMut::new(out, 1, h)?, self.b)
    }
}

impl<'a> Decoder<'a> {
    /// `W'` as an `h x d` matrix view (`W^T` when tied).
    pub fn weights(&self) -> Result<MatRef<'a>, KernelError> {
        Ok(match self.w {
            DecoderWeights::Tied(w) => MatRef::new(w, self.d, self.h)?.t(),
            DecoderWeights::Untied(wd) => MatRef::new(wd, self.h, self.d)?,
        })
    }

    /// The reconstruction logits before the bias, `out = y W'` (`y`: `rows x h`, `out`:
    /// `rows x d`); the bias `c` is added by the loss kernel or [`Decoder::decode`].
    pub fn logits(&self, k: &Kernels, y: MatRef<'_>, out: MatMut<'_>) -> Result<(), KernelError> {
        k.sgemm(1.0, y, self.weights()?, 0.0, out)
    }

    /// The gradient through the decoder, `out = dA W'^T` (`da`: `rows x d`, `out`: `rows x h`).
    pub fn backprop(
        &self,
        k: &Kernels,
        da: MatRef<'_>,
        out: MatMut<'_>,
    ) -> Result<(), KernelError> {
        k.sgemm(1.0, da, self.weights()?.t(), 0.0, out)
    }

    /// `out = s(y W' + c)`: the reconstruction of the codes `y`.
    pub fn decode(
        &self,
        k: &Kernels,
        y: MatRef<'_>,
        mut out: MatMut<'_>,
    ) -> Result<(), KernelError> {
        self.logits(k, y, out.rb_mut())?;
        k.sigmoid_bias_inplace(out, self.c)
    }
}

/// The [`StackLayer`] accessors of a layer kind whose encoder is its fields `d`, `h`, `w`
/// (`d x h`) and `b` (`h`): `d`, `h`, `encoder`, `encoder_mut`.
macro_rules! encoder_methods {
    () => {
        fn d(&self) -> usize {
            self.d
        }
        fn h(&self) -> usize {
            self.h
        }
        fn encoder(&self) -> Encoder<'_> {
            Encoder {
                d: self.d,
                h: self.h,
                w: &self.w,
                b: &self.b,
            }
        }
        fn encoder_mut(&mut self) -> EncoderMut<'_> {
            EncoderMut {
                d: self.d,
                h: self.h,
                w: &mut self.w,
                b: &mut self.b,
            }
        }
    };
}

/// A layer's `W`, `b` and `c`.
type Wbc = (Vec<f32>, Vec<f32>, Vec<f32>);

/// Reads the `W` (`d x h`), `b` (`h`) and `c` (`d`) every layer record holds, in that order.
fn read_wbc(d: usize, h: usize, r: &mut Reader) -> Result<Wbc, String> {
    let n = d
        .checked_mul(h)
        .ok_or_else(|| format!("layer {d} x {h} overflows"))?;
    let w = r.f32s(n)?;
    let b = r.f32s(h)?;
    let c = r.f32s(d)?;
    Ok((w, b, c))
}

/// `W`, `b` and `c` have the sizes of a `d x h` layer.
fn check_wbc(d: usize, h: usize, w: &[f32], b: &[f32], c: &[f32]) -> Result<(), String> {
    if w.len() != d * h || b.len() != h || c.len() != d {
        return Err(format!("parameter sizes do not match {d} x {h}"));
    }
    Ok(())
}

/// What every layer kind gives the stack.
pub trait StackLayer {
    fn kind(&self) -> LayerKind;
    /// Input width.
    fn d(&self) -> usize;
    /// Hidden width.
    fn h(&self) -> usize;
    fn encoder(&self) -> Encoder<'_>;
    fn encoder_mut(&mut self) -> EncoderMut<'_>;
    fn decoder(&self) -> Decoder<'_>;
    /// Every parameter as flat slices, in file order.
    fn params(&self) -> Vec<&[f32]>;
    /// Every parameter, mutable, in the order of [`StackLayer::params`].
    fn params_mut(&mut self) -> Vec<&mut [f32]>;
    /// The kind's record in the model file, after the `kind, d, h` words.
    fn write_record(&self, out: &mut Vec<u8>);
    /// Parameter sizes that do not match `d x h`, as a message (the file reader checks).
    fn check_sizes(&self) -> Result<(), String>;
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

    /// The DAE record (`tied`, `W`, `b`, `c`, untied `W'`) of a `d x h` layer.
    fn read(d: usize, h: usize, r: &mut Reader) -> Result<DaeLayer, String> {
        let tied = r.u32()? != 0;
        let (w, b, c) = read_wbc(d, h, r)?;
        let w_dec = if tied { None } else { Some(r.f32s(d * h)?) };
        Ok(DaeLayer {
            d,
            h,
            w,
            b,
            c,
            w_dec,
        })
    }
}

impl StackLayer for DaeLayer {
    fn kind(&self) -> LayerKind {
        LayerKind::Dae
    }
    encoder_methods!();
    fn decoder(&self) -> Decoder<'_> {
        Decoder {
            d: self.d,
            h: self.h,
            w: match &self.w_dec {
                None => DecoderWeights::Tied(&self.w),
                Some(wd) => DecoderWeights::Untied(wd),
            },
            c: &self.c,
        }
    }
    fn params(&self) -> Vec<&[f32]> {
        let mut v: Vec<&[f32]> = vec![&self.w, &self.b, &self.c];
        if let Some(wd) = &self.w_dec {
            v.push(wd);
        }
        v
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        let mut v: Vec<&mut [f32]> = vec![&mut self.w, &mut self.b, &mut self.c];
        if let Some(wd) = &mut self.w_dec {
            v.push(wd);
        }
        v
    }
    fn write_record(&self, out: &mut Vec<u8>) {
        put_u32(out, u32::from(self.tied()));
        for p in self.params() {
            put_f32s(out, p);
        }
    }
    fn check_sizes(&self) -> Result<(), String> {
        check_wbc(self.d, self.h, &self.w, &self.b, &self.c)?;
        if let Some(wd) = &self.w_dec {
            if wd.len() != self.d * self.h {
                return Err(format!(
                    "decoder has {} weights, expected {}",
                    wd.len(),
                    self.d * self.h
                ));
            }
        }
        Ok(())
    }
}

/// A layer of any kind: what [`super::Model::layers`] holds. It dereferences to
/// [`StackLayer`]; code that trains one kind its own way matches on the variant.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    Dae(DaeLayer),
    Rbm(RbmLayer),
}

impl Layer {
    /// The record of a `kind` layer of `d x h` (the words after `kind, d, h` in the file).
    pub fn read_record(
        kind: LayerKind,
        d: usize,
        h: usize,
        r: &mut Reader,
    ) -> Result<Layer, String> {
        Ok(match kind {
            LayerKind::Dae => Layer::Dae(DaeLayer::read(d, h, r)?),
            LayerKind::Rbm => Layer::Rbm(RbmLayer::read(d, h, r)?),
        })
    }

    /// The DAE inside, if this is one.
    pub fn as_dae(&self) -> Option<&DaeLayer> {
        match self {
            Layer::Dae(l) => Some(l),
            _ => None,
        }
    }

    /// The DAE inside, mutable, if this is one.
    pub fn as_dae_mut(&mut self) -> Option<&mut DaeLayer> {
        match self {
            Layer::Dae(l) => Some(l),
            _ => None,
        }
    }

    /// The RBM inside, if this is one.
    pub fn as_rbm(&self) -> Option<&RbmLayer> {
        match self {
            Layer::Rbm(l) => Some(l),
            _ => None,
        }
    }

    /// The RBM inside, mutable, if this is one.
    pub fn as_rbm_mut(&mut self) -> Option<&mut RbmLayer> {
        match self {
            Layer::Rbm(l) => Some(l),
            _ => None,
        }
    }
}

impl Deref for Layer {
    type Target = dyn StackLayer;
    fn deref(&self) -> &(dyn StackLayer + 'static) {
        match self {
            Layer::Dae(l) => l,
            Layer::Rbm(l) => l,
        }
    }
}

impl DerefMut for Layer {
    fn deref_mut(&mut self) -> &mut (dyn StackLayer + 'static) {
        match self {
            Layer::Dae(l) => l,
            Layer::Rbm(l) => l,
        }
    }
}

impl From<DaeLayer> for Layer {
    fn from(l: DaeLayer) -> Layer {
        Layer::Dae(l)
    }
}

impl From<RbmLayer> for Layer {
    fn from(l: RbmLayer) -> Layer {
        Layer::Rbm(l)
    }
}

/// A restricted Boltzmann machine with binary visible and hidden units, energy
/// `E(v, h) = -v W h^T - h b - v c` (`v`: `1 x d`, `h`: `1 x h`). Its conditionals are the
/// stack's sigmoid layers: `P(h = 1 | v) = s(v W + b)` is the encoder (what the layers above,
/// fine-tuning, `encode` and `viz filters` use: the mean-field up pass) and
/// `P(v = 1 | h) = s(h W^T + c)` the tied decoder. Trained by CD-1 (`train::rbm`).
#[derive(Clone, Debug, PartialEq)]
pub struct RbmLayer {
    /// Visible units (input width).
    pub d: usize,
    /// Hidden units.
    pub h: usize,
    /// Weights, `d x h` row-major.
    pub w: Vec<f32>,
    /// Hidden bias, `h`.
    pub b: Vec<f32>,
    /// Visible bias, `d`.
    pub c: Vec<f32>,
}

impl RbmLayer {
    /// Weights uniform in `±init.range(d, h)`, biases 0.
    pub fn new(d: usize, h: usize, init: RbmInit, rng: &mut Xoshiro256PlusPlus) -> RbmLayer {
        let r = init.range(d, h);
        let w = (0..d * h)
            .map(|_| (2.0 * uniform01(rng) - 1.0) * r)
            .collect();
        RbmLayer {
            d,
            h,
            w,
            b: vec![0.0; h],
            c: vec![0.0; d],
        }
    }

    /// The RBM record (`W`, `b`, `c`) of a `d x h` layer.
    fn read(d: usize, h: usize, r: &mut Reader) -> Result<RbmLayer, String> {
        let (w, b, c) = read_wbc(d, h, r)?;
        Ok(RbmLayer { d, h, w, b, c })
    }
}

impl StackLayer for RbmLayer {
    fn kind(&self) -> LayerKind {
        LayerKind::Rbm
    }
    encoder_methods!();
    fn decoder(&self) -> Decoder<'_> {
        Decoder {
            d: self.d,
            h: self.h,
            w: DecoderWeights::Tied(&self.w),
            c: &self.c,
        }
    }
    fn params(&self) -> Vec<&[f32]> {
        vec![&self.w, &self.b, &self.c]
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        vec![&mut self.w, &mut self.b, &mut self.c]
    }
    fn write_record(&self, out: &mut Vec<u8>) {
        for p in self.params() {
            put_f32s(out, p);
        }
    }
    fn check_sizes(&self) -> Result<(), String> {
        check_wbc(self.d, self.h, &self.w, &self.b, &self.c)?;
        Ok(())
    }
}
