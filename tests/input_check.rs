//! Inputs are checked once per run, before the first step: a split with a NaN, a pixel out of
//! [0, 1], a label >= the class count or a damaged payload byte is refused by `train`, `eval`
//! and `sweep run`, naming the file, the row and column (or the checksum), with nothing written.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_says, plan_sweep, run_pinned, tiny_run, tmpdir};
use sdae::data::{split_path, write_dataset, Dataset};

const GRID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-grid.toml");
const COLS: usize = 20;

/// A clean 2-class task `tiny` under `dir`: features k/7 (exact in [0, 1]), labels 0/1.
fn write_task(dir: &Path) {
    for (split, rows) in [("train", 60), ("valid", 20), ("test", 20)] {
        let x: Vec<f32> = (0..rows * COLS).map(|i| (i % 8) as f32 / 7.0).collect();
        let y: Vec<u32> = (0..rows).map(|i| (i % 2) as u32).collect();
        write_dataset(&split_path(dir, "tiny", split), &x, &y, COLS, 2).unwrap();
    }
}

/// Overwrite 4 bytes at `offset` of a file.
fn poke(path: &Path, offset: u64, bytes: [u8; 4]) {
    let mut b = fs::read(path).unwrap();
    b[offset as usize..offset as usize + 4].copy_from_slice(&bytes);
    fs::write(path, b).unwrap();
}

/// A damage: its name, what does it, and what the error must say.
type Damage = (&'static str, Box<dyn Fn()>, Vec<String>);

/// The damages and what the error must say. Row 1, column 3 is feature index 23.
fn damages(file: &Path) -> Vec<Damage> {
    let ds = Dataset::open(file).unwrap();
    let (fo, lo) = (ds.header().features_offset, ds.header().labels_offset);
    drop(ds);
    let f = file.to_path_buf();
    let name = file.display().to_string();
    let at = |s: &str| vec![name.clone(), s.to_string()];
    let (f1, f2, f3, f4) = (f.clone(), f.clone(), f.clone(), f);
    vec![
        (
            "NaN",
            Box::new(move || poke(&f1, fo + 4 * 23, [0xff; 4])) as Box<dyn Fn()>,
            at("row 1 column 3: feature value NaN"),
        ),
        (
            "pixel 2.5",
            Box::new(move || poke(&f2, fo + 4 * 23, 2.5f32.to_le_bytes())),
            at("row 1 column 3: feature value 2.5"),
        ),
        (
            "label 7 of 2 classes",
            Box::new(move || poke(&f3, lo + 4 * 5, 7u32.to_le_bytes())),
            at("row 5: label 7, expected < 2 classes"),
        ),
        (
            // 0/7 = 0.0 -> 0x00000001 (a denormal, still in [0, 1]): only the checksum sees it.
            "flipped payload byte",
            Box::new(move || {
                let mut b = fs::read(&f4).unwrap();
                b[fo as usize] ^= 0x01;
                fs::write(&f4, b).unwrap();
            }),
            at("checksum mismatch"),
        ),
    ]
}

#[test]
fn a_corrupt_training_split_is_refused_before_the_first_step() {
    let dir = tmpdir("train");
    let d = dir.to_str().unwrap();
    let train = split_path(&dir, "tiny", "train");
    write_task(&dir);
    for (what, damage, want) in damages(&train) {
        write_task(&dir);
        damage();
        let out_path = dir.join("m.sdae");
        let o = run_pinned(&tiny_run(
            "train",
            d,
            out_path.to_str().unwrap(),
            &["--json"],
        ));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: training must refuse");
        for w in &want {
            assert!(err.contains(w.as_str()), "{what}: {err:?} should say {w:?}");
        }
        assert!(o.stdout.is_empty(), "{what}: an epoch ran: {:?}", o.stdout);
        assert!(!out_path.exists(), "{what}: a model was written");
        assert!(
            !dir.join("m.sdae.ckpt").exists(),
            "{what}: a checkpoint was written"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_test_split_is_refused_by_eval_and_a_corrupt_valid_split_by_a_sweep_run() {
    let dir = tmpdir("eval");
    let d = dir.to_str().unwrap();
    write_task(&dir);
    let model = dir.join("m.sdae");
    let m = model.to_str().unwrap();
    let o = run_pinned(&tiny_run("train", d, m, &["--quiet"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let test = split_path(&dir, "tiny", "test");
    for (what, damage, want) in damages(&test) {
        write_task(&dir);
        damage();
        let o = run_pinned(&["eval", m, test.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: eval must refuse");
        for w in &want {
            assert!(err.contains(w.as_str()), "{what}: {err:?} should say {w:?}");
        }
    }

    // A sweep run on a damaged validation split: refused, recorded as failed, nothing trained.
    // The sweep's data are the rectangles task's shape (784 columns), so make a tiny one.
    let data = dir.join("data");
    for (split, rows) in [("train", 30), ("valid", 10), ("test", 10)] {
        let x: Vec<f32> = (0..rows * 784).map(|i| (i % 3) as f32 / 2.0).collect();
        let y: Vec<u32> = (0..rows).map(|i| (i % 2) as u32).collect();
        write_dataset(&split_path(&data, "rectangles", split), &x, &y, 784, 2).unwrap();
    }
    let valid = split_path(&data, "rectangles", "valid");
    let fo = Dataset::open(&valid).unwrap().header().features_offset;
    poke(&valid, fo + 4 * (2 * 784 + 9), (-0.5f32).to_le_bytes());
    let s = dir.join("s");
    let s_s = s.to_str().unwrap();
    plan_sweep(GRID, &s, &data);
    let o = run_pinned(&["sweep", "run", s_s, "--index", "0"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_says(
        &err,
        &[
            &valid.display().to_string(),
            "row 2 column 9: feature value -0.5",
        ],
    );
    assert!(!s.join("runs/0000/log.jsonl").exists(), "training started");
    let st = String::from_utf8_lossy(&run_pinned(&["sweep", "status", s_s]).stdout).into_owned();
    assert_says(&st, &["1 failed", "row 2 column 9"]);
    let _ = fs::remove_dir_all(&dir);
}
