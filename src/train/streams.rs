//! Every random stream of a run, in one place: each is `model::rng_for(seed, tag)` with its own
//! tag, so phases draw independently and a checkpoint can hold the live ones.

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::rng_for;

/// A stream of a run seeded by the run seed (layers 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// What a state holds before its phase draws its own streams (never drawn from).
    Idle,
    /// Initial parameters of layer `l`.
    LayerInit(usize),
    /// Corruption (a DAE) or Gibbs sampling (an RBM) while pre-training layer `l`.
    Noise(usize),
    /// Batch order while pre-training layer `l`.
    Shuffle(usize),
    /// Batch order while fine-tuning.
    Finetune,
}

impl Stream {
    /// The tag mixed into the seed (the values of every build so far: changing one changes
    /// every trained model).
    pub fn tag(self) -> u64 {
        match self {
            Stream::Idle => 0,
            Stream::LayerInit(l) => 100 + l as u64,
            Stream::Noise(l) => 200 + l as u64,
            Stream::Shuffle(l) => 300 + l as u64,
            Stream::Finetune => 400,
        }
    }

    /// The generator of this stream for `seed`.
    pub fn rng(self, seed: u64) -> Xoshiro256PlusPlus {
        rng_for(seed, self.tag())
    }
}
