//! The training commands end to end through the binary: resume after a real kill ends
//! bit-identical, `--json` lines, `eval`, `encode`, and clear errors for bad input.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "common/tiny.rs"]
mod tiny;
use tiny::write_task;

use common::{assert_says, ok, sdae, tiny_run, tmpdir, BIN};
use sdae::data::{write_dataset, Dataset};
use sdae::model::Model;

#[test]
fn resume_after_kill_is_bit_identical() {
    resume_after_kill("10");
}

/// Batch 1 pre-trains online on a private copy of the weights with an update left pending
/// between examples (src/train/dae.rs); each epoch must still end exact, so resume does too.
#[test]
fn resume_after_kill_is_bit_identical_online() {
    resume_after_kill("1");
}

fn resume_after_kill(batch: &str) {
    let dir = tmpdir(&format!("resume-b{batch}"));
    write_task(&dir, 96, [3000, 300, 300]);
    let d = dir.to_str().unwrap();
    let common = [
        "train",
        "--data",
        d,
        "--task",
        "tiny",
        "--widths",
        "96,64",
        "--epochs",
        "6",
        "--batch",
        batch,
        "--lr",
        "0.05",
        "--nu",
        "0.2",
        "--max-epochs",
        "8",
        "--patience",
        "100",
        "--finetune-batch",
        "10",
        "--seed",
        "3",
        "--threads",
        "1",
        "--json",
    ];
    // The uninterrupted run.
    let full = dir.join("full.sdae");
    let out = sdae(&[&common[..], &["--out", full.to_str().unwrap()]].concat());
    let lines = ok(&out);
    let epochs: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        epochs.len(),
        6 + 6 + 8 + 1,
        "one JSON object per epoch plus the result:\n{lines}"
    );
    for key in [
        "phase",
        "layer",
        "epoch",
        "loss",
        "valid_error",
        "examples_per_s",
        "seconds",
    ] {
        assert!(
            epochs[0].get(key).is_some(),
            "JSON epoch line lacks {key}: {}",
            epochs[0]
        );
    }
    assert_eq!(epochs[12]["phase"], "finetune");
    assert!(epochs[12]["valid_error"].as_f64().is_some());

    // The same run, killed (SIGKILL) after its 8th epoch line, then resumed.
    let cut = dir.join("cut.sdae");
    let mut child = Command::new(BIN)
        .args([&common[..], &["--out", cut.to_str().unwrap()]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = 0;
    let mut line = String::new();
    while seen < 8 {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "child ended early"
        );
        seen += 1;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run must still be going when killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!cut.exists(), "a killed run wrote no final model");
    let ckpt = dir.join("cut.sdae.ckpt");
    assert!(ckpt.exists(), "a checkpoint survived the kill");
    let out = sdae(&[&common[..], &["--out", cut.to_str().unwrap(), "--resume"]].concat());
    let resumed = ok(&out);
    let first: serde_json::Value = serde_json::from_str(resumed.lines().next().unwrap()).unwrap();
    assert!(
        first["phase"] == "pretrain"
            && first["layer"] == 2
            && first["epoch"].as_u64().unwrap() >= 2,
        "resume continued mid-run, not from scratch: {first}"
    );
    assert_eq!(
        std::fs::read(&full).unwrap(),
        std::fs::read(&cut).unwrap(),
        "resumed model differs"
    );
    // The final JSON result (test error) is identical too.
    let last =
        |s: &str| -> serde_json::Value { serde_json::from_str(s.lines().last().unwrap()).unwrap() };
    assert_eq!(last(&lines)["test_error"], last(&resumed)["test_error"]);
    if batch == "1" {
        // The checks below are about eval and encode, done once (at batch 1 this learning
        // rate saturates some codes to exactly 0 or 1 in f32).
        return;
    }

    // eval agrees with train's report and the model learned (chance is 66.7%).
    let ev = ok(&sdae(&[
        "eval",
        full.to_str().unwrap(),
        &format!("{d}/tiny/test.sdd"),
        "--json",
    ]));
    let ev: serde_json::Value = serde_json::from_str(ev.trim()).unwrap();
    assert_eq!(ev["error"], last(&lines)["test_error"]);
    assert!(ev["error"].as_f64().unwrap() < 10.0, "{ev}");
    let p = ev["errors"].as_f64().unwrap() / ev["rows"].as_f64().unwrap();
    assert_eq!(ev["rows"], 300);
    assert!((ev["ci95"].as_f64().unwrap() - 196.0 * (p * (1.0 - p) / 300.0).sqrt()).abs() < 1e-9);

    // encode writes the layer-1 representation as a dataset.
    let enc = dir.join("enc.sdd");
    ok(&sdae(&[
        "encode",
        full.to_str().unwrap(),
        &format!("{d}/tiny/valid.sdd"),
        "--layer",
        "1",
        "--out",
        enc.to_str().unwrap(),
    ]));
    let e = Dataset::open(&enc).unwrap();
    assert_eq!((e.rows(), e.cols(), e.classes()), (300, 96, 3));
    assert!(
        e.features().iter().all(|&v| v > 0.0 && v < 1.0),
        "sigmoid codes"
    );
    let m = Model::load(&full).unwrap();
    assert_eq!(m.widths(), vec![96, 96, 64]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tmpdir("errors");
    write_task(&dir, 20, [60, 20, 20]);
    let d = dir.to_str().unwrap();
    let out_path = dir.join("m.sdae");
    let o = out_path.to_str().unwrap();
    let test_file = format!("{d}/tiny/test.sdd");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["train", "--data", d, "--task", "nope", "--out", o],
            "nope/train.sdd",
        ),
        (
            vec![
                "train", "--data", d, "--task", "tiny", "--out", o, "--nu", "1.5",
            ],
            "nu = 1.5",
        ),
        (
            vec![
                "train", "--data", d, "--task", "tiny", "--out", o, "--widths", "10,0",
            ],
            "width 0",
        ),
        (
            vec![
                "train",
                "--data",
                d,
                "--task",
                "tiny",
                "--out",
                o,
                "--config",
                "/no/such.toml",
            ],
            "/no/such.toml",
        ),
        (vec!["pretrain", "--out", o], "--task"),
        (
            vec![
                "train", "--data", d, "--task", "tiny", "--out", o, "--resume",
            ],
            "does not exist",
        ),
        (vec!["eval", "/no/model.sdae", &test_file], "/no/model.sdae"),
    ];
    for (args, want) in cases {
        let out = sdae(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            err.contains(want),
            "{args:?}: stderr {err:?} should mention {want:?}"
        );
        assert!(!out_path.exists(), "{args:?}: nothing half-written");
    }
    // A pre-trained model of 20 inputs cannot be evaluated (no output layer) nor fine-tuned on
    // data of another width.
    ok(&sdae(&tiny_run("pretrain", d, o, &["--quiet"])));
    let out = sdae(&["eval", o, &format!("{d}/tiny/test.sdd")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no output layer"));
    // `train --resume` on the finished pre-training checkpoint goes on with fine-tuning.
    let ck = format!("{o}.ckpt");
    let tr = format!("{o}.tr");
    let s = ok(&sdae(&tiny_run(
        "train",
        d,
        &tr,
        &["--checkpoint", &ck, "--resume", "--quiet"],
    )));
    assert!(s.contains("test error"), "{s}");
    let ft = Model::load(Path::new(&tr)).unwrap();
    assert_eq!(ft.widths(), vec![20, 8]);
    assert!(
        ft.output.is_some(),
        "the resumed run fine-tuned the pre-trained stack"
    );
    write_task(&dir.join("wide"), 30, [30, 10, 10]);
    let wide = dir.join("wide");
    let out = sdae(&[
        "finetune",
        "--data",
        wide.to_str().unwrap(),
        "--task",
        "tiny",
        "--model",
        o,
        "--out",
        &format!("{o}.ft"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_says(&err, &["20 inputs", "30 columns"]);
    // finetune from the pre-trained model works.
    let s = ok(&sdae(&[
        "finetune",
        "--data",
        d,
        "--task",
        "tiny",
        "--model",
        o,
        "--out",
        &format!("{o}.ft"),
        "--widths",
        "8",
        "--max-epochs",
        "3",
        "--quiet",
    ]));
    assert!(s.contains("test error"), "{s}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn divergence_exits_3_and_writes_no_model() {
    // Fine-tuning online at a rate near f32::MAX overflows to NaN in the first epoch (on valid
    // inputs: values outside [0,1] are refused before training, tests/input_check.rs): the
    // exit status (3) tells this from a missing file or a bad flag (1).
    let dir = tmpdir("diverge");
    let mut x = vec![0.0f32; 40 * 6];
    for (i, v) in x.iter_mut().enumerate() {
        *v = if i % 3 == 0 { 1.0 } else { 0.0 };
    }
    let y: Vec<u32> = (0..40).map(|i| i % 2).collect();
    for split in ["train", "valid", "test"] {
        write_dataset(&sdae::data::split_path(&dir, "big", split), &x, &y, 6, 2).unwrap();
    }
    let out_path = dir.join("m.sdae");
    let (d, o) = (dir.to_str().unwrap(), out_path.to_str().unwrap());
    let out = sdae(&[
        "train",
        "--data",
        d,
        "--task",
        "big",
        "--out",
        o,
        "--widths",
        "4",
        "--epochs",
        "1",
        "--finetune-lr",
        "3e38",
        "--finetune-batch",
        "1",
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {err}");
    assert_says(&err, &["fine-tuning epoch 1", "NaN"]);
    // The message says what was ruled out.
    assert_says(&err, &["checks before the first step", "checksum"]);
    assert!(!out_path.exists(), "no model written");
    let out = sdae(&[
        "train", "--data", d, "--task", "nothere", "--out", o, "--quiet",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing file is not a divergence"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
