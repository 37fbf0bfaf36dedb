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
//! [finetune]
//! lr = 0.1
//! max_epochs = 100
//! patience = 10
//! batch = 20
//! ```

use serde::Deserialize;

use crate::train::{Loss, Noise};

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
struct RawConfig {
    seed: Option<u64>,
    tied: Option<bool>,
    loss: Option<String>,
    noise: Option<String>,
    weight_decay: Option<f64>,
    pretrain: Option<RawLayer>,
    #[serde(default)]
    layers: Vec<RawLayer>,
    finetune: Option<RawFinetune>,
}

/// Hyper-parameters of one DAE layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerConfig {
    pub width: usize,
    pub nu: f64,
    pub lr: f32,
    pub epochs: usize,
    pub batch: usize,
}

/// Hyper-parameters of fine-tuning.
#[derive(Clone, Debug, PartialEq)]
pub struct FinetuneConfig {
    pub lr: f32,
    pub max_epochs: usize,
    pub patience: usize,
    pub batch: usize,
}

/// A validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub tied: bool,
    pub loss: Loss,
    pub noise_kind: String,
    pub weight_decay: f32,
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
    pub finetune_lr: Option<f64>,
    pub max_epochs: Option<usize>,
    pub patience: Option<usize>,
    pub finetune_batch: Option<usize>,
}

impl Config {
    /// Parse TOML text; `what` names the source (file) in errors.
    pub fn from_toml(text: &str, what: &str, ov: &Overrides) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| format!("{what}: {e}"))?;
        build(raw, ov).map_err(|e| format!("{what}: {e}"))
    }

    /// Read and parse a TOML file.
    pub fn load(path: &std::path::Path, ov: &Overrides) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        Config::from_toml(&text, &path.display().to_string(), ov)
    }

    /// Defaults (the paper's MNIST-like settings, 3 x 1000) with overrides, no file.
    pub fn defaults(ov: &Overrides) -> Result<Config, String> {
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
        build(raw, ov)
    }

    /// The noise of layer `l`.
    pub fn noise(&self, l: usize) -> Noise {
        Noise::parse(&self.noise_kind, self.layers[l].nu).expect("validated")
    }

    /// A stable fingerprint of the settings that shape a run (a checkpoint refuses another).
    pub fn fingerprint(&self) -> u64 {
        crate::model::fnv1a64(format!("{self:?}").as_bytes())
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
    let loss =
        crate::train::parse_loss(ov.loss.as_deref().or(raw.loss.as_deref()).unwrap_or("xent"))?;
    let wd = raw.weight_decay.unwrap_or(0.0);
    if !(wd.is_finite() && wd >= 0.0) {
        return Err(format!("weight_decay = {wd}: expected a finite value >= 0"));
    }
    Ok(Config {
        seed: ov.seed.or(raw.seed).unwrap_or(1),
        tied: raw.tied.unwrap_or(true) && !ov.untied,
        loss,
        noise_kind,
        weight_decay: wd as f32,
        layers,
        finetune,
    })
}
