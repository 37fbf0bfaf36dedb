//! RBM layers and DBNs (issue 13): the CD-1 step against a straightforward scalar CD-1 on the
//! same random stream, a tiny DBN that learns, the model file's `rbm` kind, the config keys,
//! and the commands end to end (`train --layer-kind rbm`, `eval`, `encode`, `viz filters`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/tiny.rs"]
mod tiny;
use tiny::tiny_task;

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::config::{Config, Overrides, RbmInit};
use sdae::data::Dataset;
use sdae::model::{DaeLayer, Layer, LayerKind, Model, OutputLayer, RbmLayer};
use sdae::train::rbm::{RbmSgd, RbmStep};
use sdae::train::run::{run, RunOptions};
use sdae::train::SplitView;
use sdae_kernels::reference::{bernoulli_sample, sigmoid, softplus};
use sdae_kernels::{Isa, Kernels, MatRef};

const BIN: &str = env!("CARGO_BIN_EXE_sdae");

/// The result of one CD-1 step written out loop by loop, in `f64`, drawing its samples with
/// the reference sampler from `rng`.
struct Cd1 {
    w: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    loss: f64,
    hs: Vec<f32>,
    v1: Vec<f32>,
}

#[allow(clippy::needless_range_loop)]
fn cd1_reference(
    l: &RbmLayer,
    x: &[f32],
    rows: usize,
    sgd: RbmSgd,
    rng: &mut Xoshiro256PlusPlus,
) -> Cd1 {
    let (d, h) = (l.d, l.h);
    let wt = |i: usize, j: usize| l.w[i * h + j] as f64;
    let up = |v: &[f32]| -> Vec<f64> {
        let mut out = vec![0.0; rows * h];
        for r in 0..rows {
            for j in 0..h {
                let t: f64 = (0..d).map(|i| v[r * d + i] as f64 * wt(i, j)).sum();
                out[r * h + j] = sigmoid(t + l.b[j] as f64);
            }
        }
        out
    };
    let h0 = up(x);
    let h0f: Vec<f32> = h0.iter().map(|&v| v as f32).collect();
    let mut hs = vec![0.0f32; rows * h];
    bernoulli_sample(&h0f, &mut hs, rng);
    let mut p1 = vec![0.0f32; rows * d];
    let mut loss = 0.0;
    for r in 0..rows {
        for i in 0..d {
            let t: f64 =
                (0..h).map(|j| hs[r * h + j] as f64 * wt(i, j)).sum::<f64>() + l.c[i] as f64;
            p1[r * d + i] = sigmoid(t) as f32;
            loss += softplus(t) - x[r * d + i] as f64 * t;
        }
    }
    let v1 = if sgd.sample_visible {
        let mut v1 = vec![0.0f32; rows * d];
        bernoulli_sample(&p1, &mut v1, rng);
        v1
    } else {
        p1
    };
    let h1 = up(&v1);
    let s = sgd.lr as f64 / rows as f64;
    let keep = 1.0 - sgd.lr as f64 * sgd.weight_decay as f64;
    let mut w = l.w.clone();
    for i in 0..d {
        for j in 0..h {
            let g: f64 = (0..rows)
                .map(|r| x[r * d + i] as f64 * h0[r * h + j] - v1[r * d + i] as f64 * h1[r * h + j])
                .sum();
            w[i * h + j] = (keep * wt(i, j) + s * g) as f32;
        }
    }
    let b = (0..h)
        .map(|j| {
            let g: f64 = (0..rows).map(|r| h0[r * h + j] - h1[r * h + j]).sum();
            (l.b[j] as f64 + s * g) as f32
        })
        .collect();
    let c = (0..d)
        .map(|i| {
            let g: f64 = (0..rows)
                .map(|r| x[r * d + i] as f64 - v1[r * d + i] as f64)
                .sum();
            (l.c[i] as f64 + s * g) as f32
        })
        .collect();
    Cd1 {
        w,
        b,
        c,
        loss,
        hs,
        v1,
    }
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn cd1_step_matches_a_scalar_cd1_on_every_isa() {
    let (d, h) = (13, 7);
    for isa in Isa::supported() {
        let k = Kernels::for_isa(isa).unwrap();
        for (rows, sample_visible, wd) in [(1, true, 0.0), (4, true, 0.0), (5, false, 0.01)] {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
            let mut layer = RbmLayer::new(d, h, RbmInit::Glorot, &mut rng);
            for v in layer.b.iter_mut().chain(layer.c.iter_mut()) {
                *v = sdae::model::uniform01(&mut rng) - 0.5;
            }
            let x: Vec<f32> = (0..rows * d)
                .map(|_| sdae::model::uniform01(&mut rng))
                .collect();
            let sgd = RbmSgd {
                lr: 0.1,
                weight_decay: wd,
                sample_visible,
            };
            let what = format!("{isa} rows={rows} sample_visible={sample_visible}");
            for step_no in 0..3 {
                let seed = 100 + step_no;
                let want = cd1_reference(
                    &layer,
                    &x,
                    rows,
                    sgd,
                    &mut Xoshiro256PlusPlus::seed_from_u64(seed),
                );
                let mut step = RbmStep::new(d, h, 8);
                let mut grng = Xoshiro256PlusPlus::seed_from_u64(seed);
                let loss = step
                    .step(
                        k,
                        &mut layer,
                        sgd,
                        MatRef::new(&x, rows, d).unwrap(),
                        &mut grng,
                    )
                    .unwrap();
                // The same stream draws the same samples (a sample could only differ where a
                // uniform falls between two roundings of its probability: not on these).
                let (_, hs, v1, _) = step.chain(rows);
                assert_eq!(hs, &want.hs[..], "{what} step {step_no}: hidden samples");
                close(&format!("{what} v1"), v1, &want.v1, 1e-6);
                assert!(
                    (loss - want.loss).abs() <= 1e-5 * (1.0 + want.loss.abs()),
                    "{what}: loss {loss} vs {}",
                    want.loss
                );
                close(&format!("{what} step {step_no} W"), &layer.w, &want.w, 2e-6);
                close(&format!("{what} step {step_no} b"), &layer.b, &want.b, 2e-6);
                close(&format!("{what} step {step_no} c"), &layer.c, &want.c, 2e-6);
                // Continue from the reference's parameters so the steps stay comparable.
                layer.w = want.w;
                layer.b = want.b;
                layer.c = want.c;
            }
        }
    }
}

#[test]
fn rbm_init_ranges() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for (init, r) in [
        (RbmInit::InvSqrtMax, 1.0 / 30.0f32),
        (RbmInit::Glorot, 4.0 * (6.0f32 / 1300.0).sqrt()),
    ] {
        let l = RbmLayer::new(400, 900, init, &mut rng);
        let max = l.w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            max <= r && max > 0.99 * r,
            "{init:?}: max |w| {max}, range {r}"
        );
        assert!(l.b.iter().chain(&l.c).all(|&v| v == 0.0));
    }
}

fn dbn_config(batch: usize) -> Config {
    let text = format!(
        "seed = 5\n[model]\nlayer_kind = \"rbm\"\n[pretrain]\nlr = 0.1\nepochs = 8\nbatch = {batch}\n\
         [[layers]]\nwidth = 16\n[[layers]]\nwidth = 12\n\
         [finetune]\nlr = 0.2\nmax_epochs = 30\npatience = 8\nbatch = 4\n"
    );
    Config::from_toml(&text, "dbn.toml", &Overrides::default()).unwrap()
}

#[test]
fn tiny_dbn_learns_and_beats_chance() {
    for batch in [1, 8] {
        let (res, reports) = tiny::train_tiny(&dbn_config(batch), false);
        tiny::assert_pretrain_losses_fall(&reports, 8, &format!("batch {batch} "));
        assert!(res.model.layers.iter().all(|l| l.kind() == LayerKind::Rbm));
        let err = res.test.unwrap().error_rate();
        assert!(err < 0.15, "batch {batch}: test error {err} (chance 0.75)");
    }
}

#[test]
fn dbn_runs_are_bit_identical_for_a_seed() {
    let (xt, yt) = tiny_task(120, 1, false);
    let tr = SplitView::new("train", &xt, &yt, 24, 4).unwrap();
    let once = || {
        let mut opts = RunOptions {
            pretrain: true,
            finetune: false,
            checkpoint: None,
            resume: false,
            observer: &mut sdae::train::run::Silent,
        };
        run(
            sdae_kernels::kernels(),
            &dbn_config(8),
            None,
            &tr,
            None,
            None,
            &mut opts,
        )
        .unwrap()
        .model
        .to_bytes()
    };
    assert_eq!(once(), once());
}

#[test]
fn rbm_model_file_round_trips() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let m = Model {
        layers: vec![
            RbmLayer::new(20, 9, RbmInit::InvSqrtMax, &mut rng).into(),
            DaeLayer::new(9, 5, true, &mut rng).into(),
            RbmLayer::new(5, 4, RbmInit::Glorot, &mut rng).into(),
        ],
        output: Some(OutputLayer {
            h: 4,
            k: 3,
            v: (0..12).map(|i| i as f32 * 0.1).collect(),
            bv: vec![0.5, -0.5, 0.0],
        }),
        provenance: None,
    };
    let bytes = m.to_bytes();
    // The first layer record: kind tag 2 (rbm), d = 20, h = 9, then W, b, c.
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    assert_eq!(u32_at(8), sdae::model::MODEL_VERSION, "format version");
    assert_eq!((u32_at(20), u32_at(24), u32_at(28)), (2, 20, 9));
    let first_w = f32::from_le_bytes(bytes[32..36].try_into().unwrap());
    assert_eq!(first_w.to_bits(), m.layers[0].params()[0][0].to_bits());
    let back = Model::from_bytes(&bytes, "mem").unwrap();
    assert_eq!(back, m);
    assert!(matches!(back.layers[0], Layer::Rbm(_)));
    assert!(matches!(back.layers[1], Layer::Dae(_)));
    assert_eq!(back.to_bytes(), bytes);
    // A truncated RBM record is refused, naming the file.
    let mut cut = bytes[..bytes.len() - 8 - 40].to_vec();
    let sum = sdae::util::fnv1a64(&cut);
    cut.extend_from_slice(&sum.to_le_bytes());
    let e = Model::from_bytes(&cut, "cut.sdae").unwrap_err().to_string();
    assert!(e.starts_with("cut.sdae"), "{e}");
    // An unknown kind names the ones this build knows.
    let mut bad = bytes[..bytes.len() - 8].to_vec();
    bad[20..24].copy_from_slice(&9u32.to_le_bytes());
    let sum = sdae::util::fnv1a64(&bad);
    bad.extend_from_slice(&sum.to_le_bytes());
    let e = Model::from_bytes(&bad, "bad.sdae").unwrap_err().to_string();
    assert!(
        e.contains("unknown layer kind 9") && e.contains("2 = rbm"),
        "{e}"
    );
}

#[test]
fn config_keys_for_rbm_layers() {
    let base = "[[layers]]\nwidth = 7\n";
    let ov = Overrides::default();
    let dae = Config::from_toml(base, "a.toml", &ov).unwrap();
    assert!(dae.rbm.is_none());
    // A DAE config's canonical text (and fingerprint) does not change with the new keys.
    assert!(!dae.canonical_toml().contains("layer_kind"));
    let rbm = Config::from_toml(
        &format!("[model]\nlayer_kind = \"rbm\"\nrbm_init = \"glorot\"\n{base}"),
        "b.toml",
        &ov,
    )
    .unwrap();
    let r = rbm.rbm.unwrap();
    assert_eq!((r.init, r.sample_visible), (RbmInit::Glorot, true));
    let text = rbm.canonical_toml();
    assert!(text.contains("layer_kind = \"rbm\""), "{text}");
    let again = Config::from_toml(&text, "canon", &ov).unwrap();
    assert_eq!(again, rbm);
    assert_ne!(again.fingerprint(), dae.fingerprint());
    // --layer-kind overrides the file.
    let flag = Overrides {
        layer_kind: Some("rbm".into()),
        ..Default::default()
    };
    let c = Config::from_toml(base, "a.toml", &flag).unwrap();
    assert_eq!(c.rbm, Some(sdae::config::RbmConfig::default()));
    for (text, want) in [
        ("[model]\nlayer_kind = \"gbm\"\n", "layer_kind = \"gbm\""),
        (
            "[model]\nlayer_kind = \"rbm\"\nrbm_init = \"normal\"\n",
            "rbm_init = \"normal\"",
        ),
        (
            "[model]\nrbm_sample_visible = false\n",
            "layer_kind is \"dae\"",
        ),
        ("[model]\nkind = \"rbm\"\n", "unknown field"),
    ] {
        let e = Config::from_toml(&format!("{text}{base}"), "bad.toml", &ov)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad.toml") && e.contains(want), "{e}");
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sdae-rbm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A 3-class task of noisy 28x28 prototypes as `<dir>/tiny/<split>.sdd` (28x28 so that
/// `viz filters` can tile it).
fn write_task(dir: &Path, sizes: [usize; 3]) {
    tiny::write_task(dir, 784, sizes);
}

fn sdae(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "sdae failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn cli_trains_evaluates_encodes_and_draws_a_dbn() {
    let dir = tmpdir("cli");
    write_task(&dir, [150, 60, 60]);
    let data = dir.to_str().unwrap();
    let model = dir.join("dbn.sdae");
    let m = model.to_str().unwrap();
    let out = ok(&sdae(&[
        "train",
        "--layer-kind",
        "rbm",
        "--data",
        data,
        "--task",
        "tiny",
        "--widths",
        "20,8",
        "--epochs",
        "3",
        "--batch",
        "5",
        "--lr",
        "0.05",
        "--max-epochs",
        "8",
        "--finetune-batch",
        "5",
        "--threads",
        "1",
        "--json",
        "--out",
        m,
    ]));
    assert!(
        out.lines().any(|l| l.contains("\"phase\":\"pretrain\"")),
        "{out}"
    );
    let loaded = Model::load(&model).unwrap();
    assert_eq!(loaded.widths(), vec![784, 20, 8]);
    assert!(loaded.layers.iter().all(|l| l.kind() == LayerKind::Rbm));
    assert!(loaded.output.is_some());
    let test = dir.join("tiny").join("test.sdd");
    let ev = ok(&sdae(&["eval", m, test.to_str().unwrap(), "--json"]));
    assert!(ev.contains("error"), "{ev}");
    let enc = dir.join("h1.sdd");
    ok(&sdae(&[
        "encode",
        m,
        test.to_str().unwrap(),
        "--layer",
        "1",
        "--out",
        enc.to_str().unwrap(),
    ]));
    let ds = Dataset::open(&enc).unwrap();
    assert_eq!((ds.rows(), ds.cols()), (60, 20));
    let png = dir.join("filters.png");
    ok(&sdae(&[
        "viz",
        "filters",
        m,
        "--count",
        "20",
        "--out",
        png.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // A kind this build does not know is refused by the argument parser, naming the choices.
    let bad = sdae(&[
        "train",
        "--layer-kind",
        "gbm",
        "--data",
        data,
        "--task",
        "tiny",
        "--out",
        m,
    ]);
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(e.contains("gbm") && e.contains("rbm"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
