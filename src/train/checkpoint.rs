//! Checkpoints: the state of a run beside its models, rewritten atomically after every epoch,
//! so `--resume` ends bit-identical to an uninterrupted run (format: docs/model-format.md).

use std::path::Path;

use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::model::Model;
use crate::util::bytes::Reader;
use crate::util::{fnv1a64, write_atomic};

/// Where a run stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Phase {
    /// Pre-training the 0-based layer.
    Pretrain(usize),
    Finetune,
    Done,
}

/// The state a checkpoint saves beside the model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub config_fingerprint: u64,
    /// The hash of the GEMM plan the run trains with (KC changes the order of the k sums, so
    /// resuming under another plan would not end bit-identical). Empty in older checkpoints.
    #[serde(default)]
    pub plan_hash: String,
    pub phase: Phase,
    /// The next epoch to run (0-based) in the phase.
    pub epoch: usize,
    pub noise_rng: Xoshiro256PlusPlus,
    pub shuffle_rng: Xoshiro256PlusPlus,
    /// Best validation error rate so far (fine-tuning), its epoch, and epochs since.
    pub best_valid: Option<f64>,
    pub best_epoch: usize,
    pub since_best: usize,
}

const CKPT_MAGIC: &[u8; 8] = b"SDAECKP\0";

/// A checkpoint file's bytes (the parts of a [`Checkpoint`], borrowed: the training loop
/// saves every epoch without cloning its models); [`Checkpoint::from_bytes`] reads them.
fn checkpoint_bytes(state: &TrainState, model: &Model, best: Option<&Model>) -> Vec<u8> {
    let json = serde_json::to_vec(state).expect("state serialises");
    let mut out = Vec::new();
    out.extend_from_slice(CKPT_MAGIC);
    for blob in [
        json,
        model.to_bytes(),
        best.map_or(Vec::new(), |b| b.to_bytes()),
    ] {
        out.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        out.extend_from_slice(&blob);
    }
    let sum = fnv1a64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Write a checkpoint atomically from borrowed parts.
pub fn save(
    path: &Path,
    state: &TrainState,
    model: &Model,
    best: Option<&Model>,
) -> Result<(), TrainError> {
    Ok(write_atomic(path, &checkpoint_bytes(state, model, best))?)
}

/// A checkpoint: the model, the best-so-far model of fine-tuning, and the state.
pub struct Checkpoint {
    pub state: TrainState,
    pub model: Model,
    pub best: Option<Model>,
}

impl Checkpoint {
    /// Read a checkpoint written by [`save`].
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Checkpoint, TrainError> {
        let err = |message: String| TrainError::Checkpoint {
            path: what.into(),
            message,
        };
        if bytes.len() < 16 || &bytes[..8] != CKPT_MAGIC {
            return Err(err("not an sdae checkpoint (bad magic)".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        if fnv1a64(body) != u64::from_le_bytes(tail.try_into().unwrap()) {
            return Err(err("checksum mismatch: truncated or corrupted".into()));
        }
        let mut r = Reader::new(body, 8);
        fn blob(r: &mut Reader) -> Result<Vec<u8>, String> {
            let n = r.u64()? as usize;
            Ok(r.take(n)?.to_vec())
        }
        let json = blob(&mut r).map_err(&err)?;
        let model_b = blob(&mut r).map_err(&err)?;
        let best_b = blob(&mut r).map_err(&err)?;
        let state: TrainState = serde_json::from_slice(&json).map_err(|e| err(e.to_string()))?;
        let model = Model::from_bytes(&model_b, what)?;
        let best = if best_b.is_empty() {
            None
        } else {
            Some(Model::from_bytes(&best_b, what)?)
        };
        Ok(Checkpoint { state, model, best })
    }

    /// Read the checkpoint at `path` for a run whose config fingerprint is `fingerprint` and
    /// whose GEMM plan is `plan` (`(description, hash)`): a checkpoint of another configuration
    /// or plan is refused.
    pub fn resume(
        path: &Path,
        fingerprint: u64,
        plan: &(String, String),
    ) -> Result<Checkpoint, TrainError> {
        let bytes = std::fs::read(path).map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            message: format!("cannot read checkpoint: {e}"),
        })?;
        let ck = Checkpoint::from_bytes(&bytes, &path.display().to_string())?;
        let (plan_text, plan_hash) = plan;
        if !ck.state.plan_hash.is_empty() && &ck.state.plan_hash != plan_hash {
            return Err(TrainError::Checkpoint {
                path: path.display().to_string(),
                message: format!(
                    "written under GEMM plan {}, this run has plan {plan_hash} ({plan_text}): resuming would not be bit-identical; pin the original plan with --plan FILE, or delete the checkpoint to start afresh",
                    ck.state.plan_hash,
                ),
            });
        }
        if ck.state.config_fingerprint != fingerprint {
            return Err(TrainError::Checkpoint {
                path: path.display().to_string(),
                message: "written with another configuration (seed, widths or hyper-parameters differ): refusing to resume".into(),
            });
        }
        Ok(ck)
    }
}
