//! `sdae eval --robustness`: the seed's criterion measured. At ν = 0 the code does not change and
//! the error is the plain evaluation's; at ν > 0 the code moves, more at higher ν; two models see
//! the very same corrupted inputs (identical models give identical rows); bad flags are refused.

mod common;

use std::process::Command;

use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::data::write_dataset;
use sdae::model::{DaeLayer, Model, OutputLayer};
use sdae::train::robustness::measure;
use sdae::train::{evaluate, Forward};

const BIN: &str = env!("CARGO_BIN_EXE_sdae");

fn model(seed: u64) -> Model {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = OutputLayer::zeros(8, 3);
    for (i, v) in out.v.iter_mut().enumerate() {
        *v = ((i * 7 % 11) as f32 - 5.0) / 3.0;
    }
    Model {
        layers: vec![
            DaeLayer::new(36, 12, true, &mut rng).into(),
            DaeLayer::new(12, 8, true, &mut rng).into(),
        ],
        output: Some(out),
        provenance: None,
    }
}

fn data(rows: usize) -> (Vec<f32>, Vec<u32>) {
    let x = (0..rows * 36)
        .map(|i| ((i * 13 % 17) as f32) / 16.0)
        .collect();
    let y = (0..rows as u32).map(|i| i % 3).collect();
    (x, y)
}

#[test]
fn codes_move_with_the_noise_and_every_model_sees_the_same_inputs() {
    let k = sdae_kernels::kernels();
    let m = model(1);
    // 1,234 rows: more than one chunk, and a partial last one.
    let rows = 1234;
    let (x, y) = data(rows);
    let levels = measure(k, &m, &x, &y, rows, &[0.0, 0.1, 0.5], 7).unwrap();
    assert_eq!(levels.len(), 3);
    let plain = evaluate(k, &m, &mut Forward::new(&m, 100), &x, &y, rows).unwrap();
    assert_eq!(levels[0].error, Some(100.0 * plain.error_rate()));
    assert_eq!(levels[0].code_change, vec![0.0, 0.0]);
    for l in 0..2 {
        assert!(levels[1].code_change[l] > 0.0);
        assert!(
            levels[2].code_change[l] > levels[1].code_change[l],
            "{levels:?}"
        );
    }
    // The same model twice: the same rows, to the bit (the corruption depends on seed and nu).
    assert_eq!(
        measure(k, &m, &x, &y, rows, &[0.5], 7).unwrap()[0],
        levels[2]
    );
    // Another seed corrupts other components.
    assert_ne!(
        measure(k, &m, &x, &y, rows, &[0.5], 8).unwrap()[0],
        levels[2]
    );
    let e = measure(k, &m, &x, &y, rows, &[1.5], 7)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--nu 1.5"), "{e}");
}

#[test]
fn the_command_prints_a_row_per_model_and_level_and_draws_the_plot() {
    let dir = common::tmpdir("cmd");
    let (x, y) = data(300);
    let split = dir.join("test.sdd");
    write_dataset(&split, &x, &y, 36, 3).unwrap();
    let (a, b) = (dir.join("a.sdae"), dir.join("b.sdae"));
    model(1).save(&a).unwrap();
    model(2).save(&b).unwrap();
    let run = |extra: &[&str]| {
        let o = Command::new(BIN)
            .args(["--threads", "1", "eval", "--robustness"])
            .arg(&a)
            .arg(&split)
            .args(["--and", b.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let png = dir.join("r.png");
    let (ok, out, err) = run(&[
        "--labels",
        "one,two",
        "--json",
        "--plot",
        png.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let models = v["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models[1]["model"], "two");
    // nu = 0 first, then the default 0.1, 0.25, 0.5.
    let nus: Vec<f64> = models[0]["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["nu"].as_f64().unwrap())
        .collect();
    assert_eq!(nus, vec![0.0, 0.1, 0.25, 0.5]);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    let (ok, out, _) = run(&["--nu", "0.2"]);
    assert!(
        ok && out.lines().filter(|l| l.contains("20%")).count() == 2,
        "{out}"
    );
    let (ok, _, err) = run(&["--labels", "one"]);
    assert!(
        !ok && err.contains("--labels") && err.contains("2 models"),
        "{err}"
    );
    let (ok, _, err) = run(&["--plot", dir.join("r.jpg").to_str().unwrap()]);
    assert!(!ok && err.contains("--plot"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
