//! The training configuration: a TOML file with command-line overrides.
//!
//! ```toml
//! seed = 1
//! tied = true            # decoder uses W^T
//! loss = "xent"          # or "sqerr"
//! noise = "mask"         # mask | bernoulli | gaussian | salt-pepper
//! weight_decay = 0.0
//!
//! [pretrain]             # defaults for every layer
//! nu = 0.25
//! lr = 0.01
//! epochs = 15
//! batch = 20
//!
//! [[layers]]             # one entry per hidden layer; any pretrain key may be overridden
//! width = 1000
//! [[layers]]
//! width = 1000
//! nu = 0.1
//!
//! [model]              # optional: the kind of every hidden layer
//! layer_kind = "dae"     # or "rbm" (DBN-1 / DBN-3): CD-1 pre-training, see train/rbm.rs
//! rbm_init = "inv-sqrt-max"   # or "glorot" (±4 sqrt(6/(n_v+n_h)), the tutorial's)
//! rbm_sample_visible = true   # CD-1 samples v1 (false: uses its mean)
//!
//! [finetune]
//! lr = 0.1
//! max_epochs = 100
//! patience = 10
//! batch = 20
//! ```

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    width: Option<usize>,
    nu: Option<f64>,
    lr: Option<f64>,
    epochs: Option<usize>,
    batch: Option<usize>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFinetune {
    lr: Option<f64>,
    max_epochs: Option<usize>,
    patience: Option<usize>,
    batch: Option<usize>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModel {
    layer_kind: Option<String>,
    rbm_init: Option<String>,
    rbm_sample_visible: Option<bool>,
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    seed: Option<u64>,
    tied: Option<bool>,
    loss: Option<String>,
    noise: Option<String>,
    weight_decay: Option<f64>,
    pretrain: Option<RawLayer>,
    model: Option<RawModel>,
    #[serde(default)]
    layers: Vec<RawLayer>,
    finetune: Option<RawFinetune>,
}

/// A configuration that cannot be read or is not valid. The message names the file (or the
/// command line), the key, its value and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    Read { path: PathBuf, message: String },
    /// The TOML does not parse, has an unknown key, or a value is out of range; `source` is the
    /// file name, or "command line" for the defaults with flags.
    Invalid { source: String, message: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, message } => {
                write!(f, "cannot read config file {}: {message}", path.display())
            }
            ConfigError::Invalid { source, message } => write!(f, "{source}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Hyper-parameters of one DAE layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerConfig {
    pub width: usize,
    pub nu: f64,
    pub lr: f32,
    pub epochs: usize,
    pub batch: usize,
}

/// Hyper-parameters of fine-tuning.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FinetuneConfig {
    pub lr: f32,
    pub max_epochs: usize,
    pub patience: usize,
    pub batch: usize,
}

/// How an RBM's weights are drawn (biases start at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RbmInit {
    /// Uniform in `±1/sqrt(max(n_v, n_h))`, as the lab's PLearn RBMs of 2007.
    InvSqrtMax,
    /// Uniform in `±4·sqrt(6/(n_v + n_h))`, the Deep Learning Tutorial's (and the DAE's) range.
    Glorot,
}

impl RbmInit {
    pub const ALL: [RbmInit; 2] = [RbmInit::InvSqrtMax, RbmInit::Glorot];

    /// The name in a config (`[model] rbm_init`).
    pub fn name(self) -> &'static str {
        match self {
            RbmInit::InvSqrtMax => "inv-sqrt-max",
            RbmInit::Glorot => "glorot",
        }
    }

    pub fn parse(s: &str) -> Option<RbmInit> {
        RbmInit::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The half-width of the uniform range for `d` visible and `h` hidden units.
    pub fn range(self, d: usize, h: usize) -> f32 {
        match self {
            RbmInit::InvSqrtMax => (1.0 / (d.max(h) as f64).sqrt()) as f32,
            RbmInit::Glorot => (4.0 * (6.0 / (d + h) as f64).sqrt()) as f32,
        }
    }
}

/// How RBM layers are built and trained (`[model] layer_kind = "rbm"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RbmConfig {
    pub init: RbmInit,
    /// CD-1 samples the reconstruction `v1 ~ P(v | h0~)` (true, the default) or uses its mean.
    pub sample_visible: bool,
}

impl Default for RbmConfig {
    /// PLearn's: weights in `±1/sqrt(max(n_v, n_h))`, `v1` sampled.
    fn default() -> RbmConfig {
        RbmConfig {
            init: RbmInit::InvSqrtMax,
            sample_visible: true,
        }
    }
}

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub tied: bool,
    pub loss: Loss,
    pub noise_kind: String,
    pub weight_decay: f32,
    /// `Some`: every hidden layer is an RBM (a DBN); `None`: denoising autoencoders.
    pub rbm: Option<RbmConfig>,
    pub layers: Vec<LayerConfig>,
    pub finetune: FinetuneConfig,
}

/// Command-line overrides; `None` keeps the file's value. Layer overrides apply to every layer.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    pub widths: Option<Vec<usize>>,
    pub nu: Option<f64>,
    pub lr: Option<f64>,
    pub epochs: Option<usize>,
    pub batch: Option<usize>,
    pub noise: Option<String>,
    pub loss: Option<String>,
    pub untied: bool,
    /// `dae` or `rbm` (`--layer-kind`).
    pub layer_kind: Option<String>,
    pub finetune_lr: Option<f64>,
    pub max_epochs: Option<usize>,
    pub patience: Option<usize>,
    pub finetune_batch: Option<usize>,
}

impl Config {
    /// Parse TOML text; `what` names the source (file) in errors.
    pub fn from_toml(text: &str, what: &str, ov: &Overrides) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            source: what.into(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        build(raw, ov).map_err(invalid)
    }

    /// Read and parse a TOML file.
    pub fn load(path: &std::path::Path, ov: &Overrides) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::from_toml(&text, &path.display().to_string(), ov)
    }

    /// Defaults (the paper's MNIST-like settings, 3 x 1000) with overrides, no file.
    pub fn defaults(ov: &Overrides) -> Result<Config, ConfigError> {
        let raw = RawConfig {
            layers: vec![
                RawLayer {
                    width: Some(1000),
                    ..Default::default()
                };
                3
            ],
            ..Default::default()
        };
        build(raw, ov).map_err(|message| ConfigError::Invalid {
            source: "command line".into(),
            message,
        })
    }

    /// The noise of layer `l`.
    pub fn noise(&self, l: usize) -> Noise {
        Noise::parse(&self.noise_kind, self.layers[l].nu).expect("validated")
    }

    /// The configuration's values as canonical TOML: every resolved value (no defaults left
    /// implicit), keys in a fixed order, numbers as TOML writes them. [`Config::from_toml`] reads
    /// it back to the same `Config`.
    ///
    /// A key added in a later build must be left out while it holds the value that behaves as
    /// builds without it did (`skip_serializing_if`, as `weight_decay = 0` is): then the text,
    /// and so [`Config::fingerprint`], of every older configuration stays the same.
    pub fn canonical_toml(&self) -> String {
        #[derive(Serialize)]
        struct Canonical<'a> {
            seed: u64,
            tied: bool,
            loss: &'static str,
            noise: &'a str,
            #[serde(skip_serializing_if = "is_zero")]
            weight_decay: f32,
            #[serde(skip_serializing_if = "Option::is_none")]
            model: Option<CanonModel>,
            finetune: &'a FinetuneConfig,
            layers: &'a [LayerConfig],
        }
        /// Only for RBM layers: DAE configurations keep the text of older builds.
        #[derive(Serialize)]
        struct CanonModel {
            layer_kind: &'static str,
            rbm_init: &'static str,
            rbm_sample_visible: bool,
        }
        fn is_zero(v: &f32) -> bool {
            *v == 0.0
        }
        toml::to_string(&Canonical {
            seed: self.seed,
            tied: self.tied,
            loss: self.loss.name(),
            noise: &self.noise_kind,
            weight_decay: self.weight_decay,
            model: self.rbm.map(|r| CanonModel {
                layer_kind: "rbm",
                rbm_init: r.init.name(),
                rbm_sample_visible: r.sample_visible,
            }),
            finetune: &self.finetune,
            layers: &self.layers,
        })
        .expect("a validated config serialises as TOML")
    }

    /// A stable fingerprint of the settings that shape a run (a checkpoint refuses another):
    /// FNV-1a of [`Config::canonical_toml`], so it depends on the values only, not on how this
    /// build prints its structs.
    pub fn fingerprint(&self) -> u64 {
        crate::util::fnv1a64(self.canonical_toml().as_bytes())
    }
}

fn pos_lr(name: &str, v: f64) -> Result<f32, String> {
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("{name} = {v}: expected a finite learning rate > 0"));
    }
    Ok(v as f32)
}

fn build(raw: RawConfig, ov: &Overrides) -> Result<Config, String> {
    let def = raw.pretrain.clone().unwrap_or_default();
    let mut raw_layers = raw.layers.clone();
    if let Some(ws) = &ov.widths {
        raw_layers = ws
            .iter()
            .enumerate()
            .map(|(i, &w)| RawLayer {
                width: Some(w),
                ..raw_layers.get(i).cloned().unwrap_or_default()
            })
            .collect();
    }
    if raw_layers.is_empty() {
        return Err("no layers: give [[layers]] entries with a width, or --widths".into());
    }
    let noise_kind = ov
        .noise
        .clone()
        .or(raw.noise)
        .unwrap_or_else(|| "mask".into());
    Noise::parse(&noise_kind, 0.0)?;
    let mut layers = Vec::new();
    for (i, rl) in raw_layers.iter().enumerate() {
        let n = i + 1;
        let width = rl
            .width
            .ok_or_else(|| format!("layer {n}: missing width"))?;
        if width == 0 {
            return Err(format!("layer {n}: width 0: expected at least 1 unit"));
        }
        let nu = ov.nu.or(rl.nu).or(def.nu).unwrap_or(0.25);
        let nu_ok = if noise_kind == "gaussian" {
            nu.is_finite() && nu >= 0.0
        } else {
            (0.0..1.0).contains(&nu)
        };
        if !nu_ok {
            return Err(format!(
                "layer {n}: nu = {nu}: expected a corruption level in [0, 1){}",
                if noise_kind == "gaussian" {
                    " or a Gaussian std >= 0"
                } else {
                    ""
                }
            ));
        }
        let lr = pos_lr(
            &format!("layer {n}: lr"),
            ov.lr.or(rl.lr).or(def.lr).unwrap_or(0.01),
        )?;
        let epochs = ov.epochs.or(rl.epochs).or(def.epochs).unwrap_or(15);
        let batch = ov.batch.or(rl.batch).or(def.batch).unwrap_or(20);
        if batch == 0 {
            return Err(format!("layer {n}: batch 0: expected a batch size >= 1"));
        }
        layers.push(LayerConfig {
            width,
            nu,
            lr,
            epochs,
            batch,
        });
    }
    let f = raw.finetune.unwrap_or_default();
    let finetune = FinetuneConfig {
        lr: pos_lr("finetune lr", ov.finetune_lr.or(f.lr).unwrap_or(0.1))?,
        max_epochs: ov.max_epochs.or(f.max_epochs).unwrap_or(100),
        patience: ov.patience.or(f.patience).unwrap_or(10),
        batch: ov.finetune_batch.or(f.batch).unwrap_or(20),
    };
    if finetune.batch == 0 {
        return Err("finetune batch 0: expected a batch size >= 1".into());
    }
    if finetune.patience == 0 {
        return Err("finetune patience 0: expected at least 1 epoch".into());
    }
    let loss = parse_loss(ov.loss.as_deref().or(raw.loss.as_deref()).unwrap_or("xent"))?;
    let wd = raw.weight_decay.unwrap_or(0.0);
    if !(wd.is_finite() && wd >= 0.0) {
        return Err(format!("weight_decay = {wd}: expected a finite value >= 0"));
    }
    let rbm = build_model(raw.model.unwrap_or_default(), ov)?;
    Ok(Config {
        seed: ov.seed.or(raw.seed).unwrap_or(1),
        tied: raw.tied.unwrap_or(true) && !ov.untied,
        loss,
        noise_kind,
        weight_decay: wd as f32,
        rbm,
        layers,
        finetune,
    })
}

/// The `[model]` table (with `--layer-kind`): `Some` for RBM layers.
fn build_model(m: RawModel, ov: &Overrides) -> Result<Option<RbmConfig>, String> {
    let kind = ov
        .layer_kind
        .as_deref()
        .or(m.layer_kind.as_deref())
        .unwrap_or("dae");
    match kind {
        "dae" => {
            if m.rbm_init.is_some() || m.rbm_sample_visible.is_some() {
                return Err(
                    "[model] rbm_init / rbm_sample_visible given, but layer_kind is \"dae\": \
                     expected layer_kind = \"rbm\""
                        .into(),
                );
            }
            Ok(None)
        }
        "rbm" => {
            let init = match m.rbm_init.as_deref() {
                None => RbmInit::InvSqrtMax,
                Some(s) => RbmInit::parse(s).ok_or_else(|| {
                    format!("[model] rbm_init = \"{s}\": expected \"inv-sqrt-max\" or \"glorot\"")
                })?,
            };
            Ok(Some(RbmConfig {
                init,
                sample_visible: m.rbm_sample_visible.unwrap_or(true),
            }))
        }
        other => Err(format!(
            "layer_kind = \"{other}\": expected \"dae\" or \"rbm\""
        )),
    }
}

/// Reconstruction loss of a DAE layer: the kernels' [`sdae_kernels::Loss`] (cross-entropy,
/// the paper's choice for inputs in [0,1], or squared error), so one type goes from the config
/// to the fused kernels.
pub use sdae_kernels::Loss;

/// The loss named `s` in a config or on the command line (`xent` or `sqerr`).
pub fn parse_loss(s: &str) -> Result<Loss, String> {
    Loss::from_name(s).ok_or_else(|| format!("loss \"{s}\": expected \"xent\" or \"sqerr\""))
}

/// Corruption of a DAE's input (training only); the level is ν.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// The paper's masking: exactly `round(ν d)` random inputs of each example set to 0.
    Mask(f64),
    /// Each input set to 0 independently with probability ν.
    Bernoulli(f64),
    /// Additive Gaussian noise of standard deviation ν.
    Gaussian(f64),
    /// Exactly `round(ν d)` random inputs of each example set to 0 or 1 (a fair coin each).
    SaltPepper(f64),
}

impl Noise {
    /// The noise named `kind` at level `nu`.
    pub fn parse(kind: &str, nu: f64) -> Result<Noise, String> {
        match kind {
            "mask" => Ok(Noise::Mask(nu)),
            "bernoulli" => Ok(Noise::Bernoulli(nu)),
            "gaussian" => Ok(Noise::Gaussian(nu)),
            "salt-pepper" => Ok(Noise::SaltPepper(nu)),
            _ => Err(format!(
                "noise \"{kind}\": expected \"mask\", \"bernoulli\", \"gaussian\" or \"salt-pepper\""
            )),
        }
    }
    pub fn level(self) -> f64 {
        match self {
            Noise::Mask(v) | Noise::Bernoulli(v) | Noise::Gaussian(v) | Noise::SaltPepper(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_toml(text, "t.toml", &Overrides::default()).unwrap()
    }

    /// The canonical text of a small config, pinned: if this changes, every checkpoint written
    /// by earlier builds stops resuming, so a change here must be deliberate.
    const SMALL: &str = "seed = 3\ntied = true\nloss = \"xent\"\nnoise = \"mask\"\n\n\
        [finetune]\nlr = 0.1\nmax_epochs = 100\npatience = 10\nbatch = 1\n\n\
        [[layers]]\nwidth = 7\nnu = 0.25\nlr = 0.01\nepochs = 15\nbatch = 20\n";

    #[test]
    fn canonical_toml_is_the_values_and_reads_back() {
        let c = cfg("seed = 3\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n");
        assert_eq!(c.canonical_toml(), SMALL);
        assert_eq!(c.fingerprint(), crate::util::fnv1a64(SMALL.as_bytes()));
        for text in [
            SMALL,
            "tied = false\nloss = \"sqerr\"\nnoise = \"gaussian\"\nweight_decay = 0.001\n\
             [pretrain]\nnu = 0.5\n[[layers]]\nwidth = 5\n[[layers]]\nwidth = 3\nlr = 0.3\nbatch = 1\n",
        ] {
            let c = cfg(text);
            let again = cfg(&c.canonical_toml());
            assert_eq!(again, c, "{text}");
            assert_eq!(again.fingerprint(), c.fingerprint());
        }
    }

    #[test]
    fn fingerprint_follows_values_not_spelling() {
        let base = cfg("seed = 3\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n");
        // The same values spelt otherwise (defaults written out, other key order, aliases).
        let same = cfg(
            "loss = \"cross-entropy\" # comment\nseed = 3\n[[layers]]\nwidth = 7\n\
                        nu = 0.25\n[finetune]\nbatch = 1\nlr = 0.1\n[pretrain]\nepochs = 15\n",
        );
        assert_eq!(same.fingerprint(), base.fingerprint());
        // Any value that shapes the run changes it.
        for other in [
            "seed = 4\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n",
            "seed = 3\n[finetune]\nbatch = 2\n[[layers]]\nwidth = 7\n",
            "seed = 3\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 8\n",
            "seed = 3\nweight_decay = 0.5\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n",
            "seed = 3\nnoise = \"bernoulli\"\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n",
        ] {
            assert_ne!(cfg(other).fingerprint(), base.fingerprint(), "{other}");
        }
    }

    #[test]
    fn a_key_at_its_neutral_value_leaves_the_fingerprint_alone() {
        // weight_decay stands for any key a later build adds: at the value that behaves as
        // builds without it did (0 here), it is not part of the canonical text, so checkpoints
        // of a build that never knew the key still resume.
        let with =
            cfg("weight_decay = 0.0\nseed = 3\n[finetune]\nbatch = 1\n[[layers]]\nwidth = 7\n");
        assert!(!with.canonical_toml().contains("weight_decay"));
        assert_eq!(with.fingerprint(), crate::util::fnv1a64(SMALL.as_bytes()));
    }
}
