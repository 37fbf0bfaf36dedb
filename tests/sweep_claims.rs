//! Run claims through the `sdae` binary: concurrent workers on one sweep run each run exactly
//! once (starts counted in their logs) and give a single worker's table; a worker killed with
//! SIGKILL mid-run leaves a stale claim that another worker takes over, and the run ends
//! bit-identical to an uninterrupted one; `sweep status` says which is which.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{assert_says, ok_pinned, pinned, plan_sweep, table_body, with_rectangles};

const GRID8: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny-grid-8.toml"
);

/// How many times each run was started, counted in every log of the sweep.
fn starts(sweep: &Path, runs: usize) -> Vec<usize> {
    let mut n = vec![0; runs];
    for e in fs::read_dir(sweep.join("logs")).unwrap() {
        let text = fs::read_to_string(e.unwrap().path()).unwrap();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("run ") {
                if let Some((i, tail)) = rest.split_once(": started by ") {
                    assert!(tail.contains("pid"), "{l}");
                    n[i.parse::<usize>().unwrap()] += 1;
                }
            }
        }
    }
    n
}

/// A sweep of `grid` on the data in `data`, planned in `<root>/<name>`.
fn planned(root: &Path, name: &str, grid: &str, data: &Path) -> PathBuf {
    let dir = root.join(name);
    plan_sweep(grid, &dir, data);
    dir
}

#[test]
fn three_concurrent_workers_run_each_run_once_and_give_one_workers_table() {
    let (root, d) = with_rectangles("three");
    // Reference: one worker.
    let one = planned(&root, "one", GRID8, &d);
    ok_pinned(&["sweep", "run-local", one.to_str().unwrap(), "--jobs", "1"]);
    ok_pinned(&["sweep", "collect", one.to_str().unwrap()]);
    assert_eq!(starts(&one, 8), vec![1; 8]);

    let many = planned(&root, "many", GRID8, &d);
    let m = many.to_str().unwrap();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            pinned(&["sweep", "run-local", m, "--jobs", "1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut finished_by = Vec::new();
    for w in workers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let n: usize = out.split_whitespace().next().unwrap().parse().unwrap();
        finished_by.push(n);
    }
    assert_eq!(finished_by.iter().sum::<usize>(), 8, "{finished_by:?}");
    assert_eq!(
        starts(&many, 8),
        vec![1; 8],
        "every run started exactly once"
    );
    let st = ok_pinned(&["sweep", "status", m]);
    assert!(st.starts_with("8 runs: 8 done, 0 running"), "{st}");
    ok_pinned(&["sweep", "collect", m]);
    assert_eq!(
        table_body(&fs::read_to_string(one.join("table.md")).unwrap()),
        table_body(&fs::read_to_string(many.join("table.md")).unwrap())
    );
    for i in 0..8 {
        let r = format!("runs/{i:04}/model.sdm");
        assert_eq!(
            fs::read(one.join(&r)).unwrap(),
            fs::read(many.join(&r)).unwrap(),
            "{r}"
        );
        for f in ["claim.json", "claim.lock", "failed.json"] {
            assert!(!many.join(format!("runs/{i:04}/{f}")).exists(), "{i} {f}");
        }
    }
    let _ = fs::remove_dir_all(&root);
}

/// One run long enough to be killed in the middle (several checkpointed epochs).
const SLOW_GRID: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slow-grid.toml");

#[test]
fn a_killed_workers_run_is_taken_over_and_ends_bit_identical() {
    let (root, d) = with_rectangles("kill");
    let reference = planned(&root, "ref", SLOW_GRID, &d);
    ok_pinned(&["sweep", "run", reference.to_str().unwrap(), "--index", "0"]);

    let s = planned(&root, "s", SLOW_GRID, &d);
    let s_s = s.to_str().unwrap();
    let run = s.join("runs/0000");
    let mut victim = pinned(&["sweep", "run", s_s, "--index", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Mid-run: after its first checkpoint, before its result.
    let t0 = Instant::now();
    while !run.join("model.sdm.ckpt").exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no checkpoint");
        assert!(victim.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    // While it runs, another worker skips it.
    let busy = ok_pinned(&["sweep", "run", s_s, "--index", "0"]);
    assert!(busy.contains("skipped, claimed by host"), "{busy}");
    let st = ok_pinned(&["sweep", "status", s_s]);
    assert_says(&st, &["1 running", "running on host"]);
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    assert!(
        !run.join("result.json").exists(),
        "killed too late: the run had finished"
    );
    assert!(
        run.join("claim.json").exists(),
        "a killed worker leaves its claim"
    );
    let st = ok_pinned(&["sweep", "status", s_s]);
    assert_says(&st, &["1 stale", "resumes from its checkpoint"]);
    let js = ok_pinned(&["sweep", "status", s_s, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v[0]["state"], "stale", "{js}");

    // Another worker takes it over and resumes from the checkpoint.
    let o = pinned(&["sweep", "run-local", s_s, "--jobs", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let logs: String = fs::read_dir(s.join("logs"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        logs.contains("resuming from its checkpoint, taking over the stale claim of host"),
        "{logs}"
    );
    assert_eq!(
        fs::read(reference.join("runs/0000/model.sdm")).unwrap(),
        fs::read(run.join("model.sdm")).unwrap(),
        "the taken-over run's model differs from an uninterrupted run's"
    );
    let rec = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(p.join("runs/0000/result.json")).unwrap()).unwrap()
    };
    let (a, b) = (rec(&reference), rec(&s));
    assert_eq!(a["valid_error"], b["valid_error"]);
    assert_eq!(a["best_epoch"], b["best_epoch"]);
    let mut left: Vec<String> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["log.jsonl", "model.sdm", "result.json"]);
    assert!(ok_pinned(&["sweep", "status", s_s]).starts_with("1 runs: 1 done"));
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_failed_run_shows_as_failed_and_a_claim_from_another_host_is_respected() {
    let (root, d) = with_rectangles("failed");
    let s = planned(&root, "s", GRID8, &d);
    let s_s = s.to_str().unwrap();
    fs::create_dir_all(s.join("runs/0001")).unwrap();
    fs::write(s.join("runs/0001/model.sdm.ckpt"), b"garbage").unwrap();
    assert!(!pinned(&["sweep", "run", s_s, "--index", "1"])
        .output()
        .unwrap()
        .status
        .success());
    // A live claim from another node (fresh heartbeat): this host's workers keep out.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fs::create_dir_all(s.join("runs/0002")).unwrap();
    fs::write(
        s.join("runs/0002/claim.json"),
        format!(
            r#"{{"host":"node-elsewhere","pid":4242,"pid_start":0,"token":"x","claimed_unix":{now},"heartbeat_unix":{now},"slurm":"77_2"}}"#
        ),
    )
    .unwrap();
    let out = ok_pinned(&["sweep", "run", s_s, "--index", "2"]);
    assert!(
        out.contains("skipped, claimed by host node-elsewhere pid 4242 (Slurm 77_2)"),
        "{out}"
    );
    let st = ok_pinned(&["sweep", "status", s_s]);
    assert!(
        st.starts_with("8 runs: 0 done, 1 running, 0 stale, 1 failed, 6 to do"),
        "{st}"
    );
    assert_says(&st, &["run    1 rectangles", "failed on"]);
    assert!(
        st.contains("running on host node-elsewhere pid 4242 Slurm 77_2"),
        "{st}"
    );
    let o = pinned(&[
        "sweep",
        "run-local",
        s_s,
        "--jobs",
        "1",
        "--no-wait",
        "--quiet",
    ])
    .output()
    .unwrap();
    // Run 1 fails again (its checkpoint is still garbage); run 2 is left to its owner.
    assert!(!o.status.success());
    let st = ok_pinned(&["sweep", "status", s_s]);
    assert!(
        st.starts_with("8 runs: 6 done, 1 running, 0 stale, 1 failed, 0 to do"),
        "{st}"
    );
    let _ = fs::remove_dir_all(&root);
}
