//! Sweeps end to end through the `sdae` binary: plan, run (in any order, with failures and
//! resubmission), collect; the table equals an uninterrupted run's; selection ignores test labels.

mod common;

use std::fs;
use std::path::Path;

use common::{assert_says, ok_pinned, plan_sweep, run_pinned, table_body, tmpdir, with_rectangles};
use sdae::data::{split_path, write_dataset, Dataset};
use sdae::experiment::report::{render_table, Results};

const GRID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny-grid.toml");

fn results(dir: &Path) -> Results {
    serde_json::from_str(&fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// Plan the tiny grid over the rectangles in `data` into `out`, run it two at a time, collect:
/// the results.
fn sweep_to_the_end(out: &Path, data: &Path) -> Results {
    plan_sweep(GRID, out, data);
    let o = out.to_str().unwrap();
    ok_pinned(&["sweep", "run-local", o, "--jobs", "2", "--quiet"]);
    ok_pinned(&["sweep", "collect", o]);
    results(out)
}

/// The parts of a results table that must not depend on how the sweep was executed.
fn outcome(r: &Results) -> Vec<(usize, bool, String, Option<String>)> {
    r.runs
        .iter()
        .map(|x| {
            (
                x.run.index,
                x.chosen,
                format!("{:.6}", x.run.valid_error),
                x.test.as_ref().map(|t| format!("{:.6}", t.test_error)),
            )
        })
        .collect()
}

#[test]
fn interrupted_shuffled_resubmitted_sweep_gives_the_same_table() {
    let (root, d) = with_rectangles("same");

    // A: uninterrupted, two at a time.
    let a = root.join("a");
    let ra = sweep_to_the_end(&a, &d);
    assert!(fs::read_to_string(a.join("sweep.sbatch"))
        .unwrap()
        .contains("#SBATCH --array=0-3"));
    assert_eq!(ra.runs.len(), 4);
    assert_eq!(
        ra.runs.iter().filter(|r| r.chosen).count(),
        2,
        "one SdA-3 and one SAA-3"
    );
    // The table is a function of results.json.
    assert_eq!(
        fs::read_to_string(a.join("table.md")).unwrap(),
        render_table(&ra)
    );

    // B: runs in a shuffled order; run 2 killed mid-way, collect refuses, resubmitted alone.
    let b = root.join("b");
    let b_s = b.to_str().unwrap();
    plan_sweep(GRID, &b, &d);
    for i in ["3", "0"] {
        ok_pinned(&["sweep", "run", b_s, "--index", i]);
    }
    // Run 2 fails (a damaged checkpoint from a killed job): collect refuses and names it.
    fs::create_dir_all(b.join("runs/0002")).unwrap();
    fs::write(b.join("runs/0002/model.sdm.ckpt"), b"garbage").unwrap();
    let o = run_pinned(&["sweep", "run", b_s, "--index", "2"]);
    assert!(
        !o.status.success(),
        "a damaged checkpoint must fail the run"
    );
    let o = run_pinned(&["sweep", "collect", b_s]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_says(&err, &["not finished", "1,2"]);
    assert!(
        !b.join("table.md").exists(),
        "no table from an incomplete sweep"
    );
    fs::remove_file(b.join("runs/0002/model.sdm.ckpt")).unwrap();
    ok_pinned(&["sweep", "run", b_s, "--index", "1"]);
    ok_pinned(&["sweep", "run", b_s, "--index", "2"]);
    // Re-running a finished run does nothing (and keeps its result).
    let before = fs::read_to_string(b.join("runs/0001/result.json")).unwrap();
    ok_pinned(&["sweep", "run", b_s, "--index", "1"]);
    assert_eq!(
        before,
        fs::read_to_string(b.join("runs/0001/result.json")).unwrap()
    );
    ok_pinned(&["sweep", "collect", b_s]);
    let rb = results(&b);
    assert_eq!(outcome(&ra), outcome(&rb));
    assert_eq!(
        table_body(&fs::read_to_string(a.join("table.md")).unwrap()),
        table_body(&fs::read_to_string(b.join("table.md")).unwrap())
    );
    let _ = fs::remove_dir_all(&root);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn model_selection_never_reads_test_labels() {
    let (root, d) = with_rectangles("select");
    let s = root.join("s");
    let r1 = sweep_to_the_end(&s, &d);

    // Same runs, same train/valid data, test labels flipped: the choice must not move.
    let d2 = root.join("data2");
    copy_dir(&d, &d2);
    let t = Dataset::open(&split_path(&d, "rectangles", "test")).unwrap();
    let flipped: Vec<u32> = t.labels().iter().map(|&y| 1 - y).collect();
    write_dataset(
        &split_path(&d2, "rectangles", "test"),
        t.features(),
        &flipped,
        t.cols(),
        t.classes(),
    )
    .unwrap();
    let s2 = root.join("s2");
    copy_dir(&s, &s2);
    for i in 0..4 {
        let _ = fs::remove_file(s2.join(format!("runs/{i:04}/test.json")));
    }
    let info = fs::read_to_string(s2.join("sweep.json")).unwrap();
    let info = info.replace(d.to_str().unwrap(), d2.to_str().unwrap());
    fs::write(s2.join("sweep.json"), info).unwrap();
    ok_pinned(&["sweep", "collect", s2.to_str().unwrap()]);
    let r2 = results(&s2);
    let chosen = |r: &Results| {
        r.runs
            .iter()
            .filter(|x| x.chosen)
            .map(|x| x.run.index)
            .collect::<Vec<_>>()
    };
    assert_eq!(chosen(&r1), chosen(&r2));
    // ...while the test errors did see the flipped labels (binary task: e -> 100 - e).
    for (a, b) in r1.runs.iter().zip(&r2.runs).filter(|(a, _)| a.chosen) {
        let (ea, eb) = (
            a.test.as_ref().unwrap().test_error,
            b.test.as_ref().unwrap().test_error,
        );
        assert!((ea + eb - 100.0).abs() < 1e-9, "{ea} {eb}");
    }
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn sweep_errors_name_what_is_wrong() {
    let root = tmpdir("err");
    let o = run_pinned(&[
        "sweep",
        "plan",
        "--grid",
        "nope",
        "--out",
        root.join("x").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--grid nope"));
    let o = run_pinned(&[
        "sweep",
        "plan",
        "--grid",
        GRID,
        "--tasks",
        "mnist-basik",
        "--out",
        root.join("x").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown task 'mnist-basik'"));
    let o = run_pinned(&["sweep", "run", root.to_str().unwrap(), "--index", "0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("sweep.json"));
    let _ = fs::remove_dir_all(&root);
}
