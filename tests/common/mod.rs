//! What the integration tests share: scratch folders, running the `sdae` binary and checking
//! how it ended, and the small inputs several tests build (the rectangles task, IDX files).
#![allow(dead_code)] // each test binary uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sdae::data::generate::{generate_tasks, Sources};

/// The `sdae` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sdae");

/// A fresh, empty scratch folder for `name`, private to this test binary and process.
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sdae-{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A path as the `&str` a command line takes.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sdae ARGS`, run to the end.
pub fn sdae(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run sdae")
}

/// `sdae --threads 1 ARGS` with the revision stamp fixed (`SDAE_GIT_REV=test`), not yet
/// started: what the sweep tests run, so tables do not depend on the build or the machine.
pub fn pinned(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["--threads", "1"])
        .args(args)
        .env("SDAE_GIT_REV", "test");
    c
}

/// The stdout of a command that must have succeeded (stdout and stderr shown if it did not).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sdae failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How `out` ended: (succeeded, stdout, stderr).
pub fn outcome(out: Output) -> (bool, String, String) {
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`pinned`] run to the end.
pub fn run_pinned(args: &[&str]) -> Output {
    pinned(args).output().expect("run sdae")
}

/// [`pinned`] run to the end; its stdout, after asserting it succeeded.
pub fn ok_pinned(args: &[&str]) -> String {
    let o = run_pinned(args);
    assert!(o.status.success(), "sdae {args:?} failed");
    ok(&o)
}

/// `sdae sweep plan` of `grid` over the rectangles task into `out`, from the data in `data`.
pub fn plan_sweep(grid: &str, out: &Path, data: &Path) -> String {
    ok_pinned(&[
        "sweep",
        "plan",
        "--grid",
        grid,
        "--tasks",
        "rectangles",
        "--out",
        s(out),
        "--data",
        s(data),
    ])
}

/// Assert that the error message `e` says every one of `wants`.
#[track_caller]
pub fn assert_says(e: &str, wants: &[&str]) {
    for w in wants {
        assert!(e.contains(w), "{e:?} should say {w:?}");
    }
}

/// A small rectangles task (300 / 100 / 300 rows, seed 3) in `dir`.
pub fn rectangles(dir: &Path) {
    generate_tasks(
        &["rectangles"],
        dir,
        3,
        &Sources::default(),
        Some((300, 100, 300)),
        |_, _, _, _| {},
    )
    .unwrap();
}

/// A scratch folder for `name` ([`tmpdir`]) with the small [`rectangles`] task in its `data/`:
/// (folder, data folder).
pub fn with_rectangles(name: &str) -> (PathBuf, PathBuf) {
    let root = tmpdir(name);
    let data = root.join("data");
    rectangles(&data);
    (root, data)
}

/// A sweep's `table.md` without its last line, which names the command, revision, machine and
/// times.
pub fn table_body(t: &str) -> String {
    t.lines()
        .filter(|l| !l.starts_with("Grid `"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An IDX file of unsigned bytes: the magic, the dimensions (big-endian), the data.
pub fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// `b` gzipped.
pub fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// `sdae COMMAND` (train, pretrain) on the task `tiny` in `data` into `out`: one layer of 8
/// units, one pre-training epoch, at most two fine-tuning epochs; then `extra`.
pub fn tiny_run<'a>(
    command: &'a str,
    data: &'a str,
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--data",
        data,
        "--task",
        "tiny",
        "--out",
        out,
        "--widths",
        "8",
        "--epochs",
        "1",
        "--max-epochs",
        "2",
    ];
    args.extend_from_slice(extra);
    args
}
