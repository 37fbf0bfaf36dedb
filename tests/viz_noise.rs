//! `sdae viz noise-filters`: one layer per masking level from one initialisation (the same tile
//! is the same unit in every panel), drawn as one PNG; bad levels and outputs are refused.

mod common;

use std::path::PathBuf;
use std::process::Command;

use sdae::config::Overrides;
use sdae::data::write_dataset;
use sdae::train::SplitView;
use sdae::viz::noise::{figure, train_levels, NoiseFigure};

const BIN: &str = env!("CARGO_BIN_EXE_sdae");

/// 40 rows of a 28x28 "digit": a bright bar at a row that depends on the label.
fn data() -> (Vec<f32>, Vec<u32>) {
    let (rows, d) = (40, 784);
    let mut x = vec![0.05f32; rows * d];
    let y: Vec<u32> = (0..rows as u32).map(|i| i % 2).collect();
    for i in 0..rows {
        let r = 8 + 10 * y[i] as usize + i % 3;
        for c in 4..24 {
            x[i * d + r * 28 + c] = 0.95;
        }
    }
    (x, y)
}

fn fig<'a>(train: &'a SplitView<'a>, lr: f64) -> NoiseFigure<'a> {
    NoiseFigure {
        train,
        nus: vec![0.0, 0.5],
        follow_nus: vec![0.0, 0.25, 0.5],
        layer: Overrides {
            seed: Some(3),
            widths: Some(vec![9]),
            lr: Some(lr),
            epochs: Some(2),
            batch: Some(4),
            ..Default::default()
        },
        count: 9,
        follow: 3,
        scale: 1,
    }
}

#[test]
fn every_level_starts_from_the_same_weights_and_noise_changes_them() {
    let (x, y) = data();
    let train = SplitView::new("train", &x, &y, 784, 2).unwrap();
    // A learning rate far below the weights' resolution leaves every model at its
    // initialisation: all identical, so every level started from the same weights.
    let frozen = train_levels(&fig(&train, 1e-30), |_| {}).unwrap();
    assert_eq!(
        frozen.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![0.0, 0.25, 0.5]
    );
    let w0 = frozen[0].1.layers[0].encoder().w.to_vec();
    for (_, m) in &frozen {
        assert_eq!(m.layers[0].encoder().w, &w0[..]);
    }
    // Trained, the levels differ from each other (and from the start).
    let trained = train_levels(&fig(&train, 0.1), |_| {}).unwrap();
    let w = |i: usize| trained[i].1.layers[0].encoder().w.to_vec();
    assert_ne!(w(0), w0);
    assert_ne!(w(0), w(2));
    let img = figure(&trained, &[0.0, 0.5], &[0.0, 0.25, 0.5], 9, 3, 1).unwrap();
    assert!(img.width > 2 * 3 * 28 && img.height > 28 * (3 + 3));
    // A level that was not trained is an error, not a blank panel.
    let e = figure(&trained, &[0.75], &[0.0], 9, 3, 1).err().unwrap();
    assert!(e.contains("0.75"), "{e}");
}

#[test]
fn the_command_writes_one_png_and_refuses_bad_levels() {
    let dir = common::tmpdir("cmd");
    let (x, y) = data();
    let split: PathBuf = dir.join("train.sdd");
    write_dataset(&split, &x, &y, 784, 2).unwrap();
    let out = dir.join("nf.png");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(["--threads", "1", "viz", "noise-filters"])
            .arg(&split)
            .args([
                "--width", "9", "--epochs", "1", "--count", "9", "--follow", "2",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&out).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let bad = dir.join("bad.png");
    let o = run(&["--out", bad.to_str().unwrap(), "--nu", "0,1.5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--nu 1.5"), "{err}");
    assert!(!bad.exists());
    let o = run(&["--out", dir.join("nf.jpg").to_str().unwrap()]);
    assert!(!o.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
