//! The tiny 4-class, 24-column prototype task the in-process training tests learn
//! (`train_core`, `rbm`), a recorder of epoch reports, and one whole run on it; and the
//! 3-class prototype task the command-line tests write to disk (`train_cli`, `rbm`).
#![allow(dead_code)] // each test binary uses its own part

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::path::Path;

use sdae::config::Config;
use sdae::data::write_dataset;
use sdae::train::run::{run, EpochReport, Observer, RunOptions, RunResult};
use sdae::train::SplitView;

/// `rows` noisy copies (15 % of the pixels flipped) of four fixed binary prototypes; with
/// `scaled`, each pixel then scaled by a uniform factor in [0.7, 1).
pub fn tiny_task(rows: usize, seed: u64, scaled: bool) -> (Vec<f32>, Vec<u32>) {
    let mut prng = Xoshiro256PlusPlus::seed_from_u64(99);
    let protos: Vec<Vec<f32>> = (0..4)
        .map(|_| (0..24).map(|_| (prng.next_u32() & 1) as f32).collect())
        .collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let c = rng.next_u32() % 4;
        for &p in &protos[c as usize] {
            let flip = sdae::model::uniform01(&mut rng) < 0.15;
            let v = if flip { 1.0 - p } else { p };
            x.push(if scaled {
                v * (0.7 + 0.3 * sdae::model::uniform01(&mut rng))
            } else {
                v
            });
        }
        y.push(c);
    }
    (x, y)
}

/// Keeps every epoch report.
pub struct Recorder(pub Vec<EpochReport>);
impl Observer for Recorder {
    fn epoch(&mut self, r: &EpochReport) {
        self.0.push(r.clone());
    }
}

/// Pre-trains and fine-tunes `cfg` on the tiny task (400 / 100 / 200 rows): the result and
/// every epoch report.
pub fn train_tiny(cfg: &Config, scaled: bool) -> (RunResult, Vec<EpochReport>) {
    let (xt, yt) = tiny_task(400, 1, scaled);
    let (xv, yv) = tiny_task(100, 2, scaled);
    let (xs, ys) = tiny_task(200, 3, scaled);
    let tr = SplitView::new("train", &xt, &yt, 24, 4).unwrap();
    let va = SplitView::new("valid", &xv, &yv, 24, 4).unwrap();
    let te = SplitView::new("test", &xs, &ys, 24, 4).unwrap();
    let mut rec = Recorder(Vec::new());
    let mut opts = RunOptions {
        pretrain: true,
        finetune: true,
        checkpoint: None,
        resume: false,
        observer: &mut rec,
    };
    let k = sdae_kernels::kernels();
    let res = run(k, cfg, None, &tr, Some(&va), Some(&te), &mut opts).unwrap();
    (res, rec.0)
}

/// Asserts that layer 1's and layer 2's pre-training loss fell by at least 10 % over their
/// `epochs` epochs; `what` names the run in the message.
pub fn assert_pretrain_losses_fall(reports: &[EpochReport], epochs: usize, what: &str) {
    for layer in [1, 2] {
        let losses: Vec<f64> = reports
            .iter()
            .filter(|r| r.phase == "pretrain" && r.layer == layer)
            .map(|r| r.loss)
            .collect();
        assert_eq!(losses.len(), epochs);
        assert!(
            losses[epochs - 1] < 0.9 * losses[0],
            "{what}layer {layer}: reconstruction loss did not fall: {losses:?}"
        );
    }
}

/// A 3-class task of noisy prototypes, `cols` wide, written as `<dir>/tiny/<split>.sdd`.
pub fn write_task(dir: &Path, cols: usize, sizes: [usize; 3]) {
    let mut prng = Xoshiro256PlusPlus::seed_from_u64(42);
    let protos: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..cols).map(|_| (prng.next_u32() & 1) as f32).collect())
        .collect();
    for (split, rows) in ["train", "valid", "test"].iter().zip(sizes) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(rows as u64 + split.len() as u64);
        let mut x = Vec::with_capacity(rows * cols);
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let c = rng.next_u32() % 3;
            for &p in &protos[c as usize] {
                let flip = (rng.next_u32() % 100) < 20;
                x.push(if flip { 1.0 - p } else { p });
            }
            y.push(c);
        }
        write_dataset(&sdae::data::split_path(dir, "tiny", split), &x, &y, cols, 3).unwrap();
    }
}
