//! GEMM plans through the binary: this machine's wisdom is loaded, a truncated, corrupt,
//! hand-edited, foreign-CPU or foreign-build wisdom file is ignored with a one-line warning,
//! `--plan FILE` pins a plan (and refuses a bad one), and resuming under another plan is refused.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_says, outcome, tmpdir, BIN};
use sdae::plan::{CpuIdentity, PlanEntry, Wisdom};
use sdae_kernels::gemm::registry;
use sdae_kernels::{CacheSizes, GemmPlan, Isa, LoopOrder};

/// `sdae --isa scalar ARGS` with `SDAE_WISDOM=wisdom`: (status ok, stdout, stderr).
fn run(wisdom: &Path, args: &[&str]) -> (bool, String, String) {
    outcome(
        Command::new(BIN)
            .env("SDAE_WISDOM", wisdom)
            .args(["--isa", "scalar"])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A valid scalar plan that differs from the cache model's (KC 40).
fn odd_plan() -> GemmPlan {
    let spec = &registry::candidates(Isa::Scalar)[0];
    let mut p = GemmPlan::model(spec, LoopOrder::AInL1, CacheSizes::detect());
    p.kc = 40;
    p
}

fn wisdom_with(identity: CpuIdentity) -> Wisdom {
    Wisdom::new(
        identity,
        vec![PlanEntry::from_plan(Isa::Scalar, &odd_plan())],
        vec![],
    )
}

fn scalar_line(info: &str) -> String {
    info.lines()
        .find(|l| l.starts_with("gemm scalar:"))
        .unwrap_or_else(|| panic!("no scalar plan line in:\n{info}"))
        .to_string()
}

#[test]
fn wisdom_is_loaded_and_bad_files_fall_back_with_a_warning() {
    let dir = tmpdir("wisdom");
    let path = dir.join("w.json");
    // No file: the plan is the preset's or the model's, no warning.
    let (ok, info, err) = run(&path, &["info"]);
    assert!(ok && err.is_empty(), "{err}");
    let untuned = scalar_line(&info);
    assert!(!untuned.contains("wisdom"), "{untuned}");

    // This machine's wisdom is in force.
    let good = wisdom_with(CpuIdentity::detect());
    good.save(&path).unwrap();
    let (ok, info, err) = run(&path, &["info"]);
    assert!(ok && err.is_empty(), "{err}");
    let line = scalar_line(&info);
    assert_says(&line, &["KC 40", "this machine's wisdom"]);

    let text = std::fs::read_to_string(&path).unwrap();
    let mut foreign_cpu = CpuIdentity::detect();
    foreign_cpu.brand = "Some Other CPU".into();
    foreign_cpu.model ^= 1;
    let mut foreign_build = CpuIdentity::detect();
    foreign_build.build = "sdae 0.0.0 000000000000".into();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            text[..text.len() / 2].to_string(),
            "not a plan file",
        ),
        ("empty", String::new(), "not a plan file"),
        (
            "hand-edited",
            text.replace("\"kc\": 40", "\"kc\": 48"),
            "checksum mismatch",
        ),
        ("garbage", "\u{0}\u{1}binary junk".into(), "not a plan file"),
        (
            "foreign CPU",
            serde_json::to_string(&wisdom_with(foreign_cpu)).unwrap(),
            "another CPU",
        ),
        (
            "foreign build",
            serde_json::to_string(&wisdom_with(foreign_build)).unwrap(),
            "another build",
        ),
    ];
    for (what, body, expect) in cases {
        std::fs::write(&path, body).unwrap();
        let (ok, info, err) = run(&path, &["info"]);
        assert!(ok, "{what}: sdae info failed: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "{what}: expected one warning line, got:\n{err}"
        );
        assert!(
            err.contains("warning: ignoring wisdom") && err.contains(expect),
            "{what}: {err}"
        );
        assert_eq!(
            scalar_line(&info),
            untuned,
            "{what}: fell back to the untuned plan"
        );
    }
}

#[test]
fn a_pinned_plan_is_used_and_a_bad_one_refused() {
    let dir = tmpdir("pinned");
    let nowhere = dir.join("no-wisdom.json");
    // A plan file written for another machine is still used when pinned.
    let mut other = CpuIdentity::detect();
    other.brand = "Another node".into();
    let pinned = dir.join("pinned.json");
    wisdom_with(other).save(&pinned).unwrap();
    let p = pinned.to_str().unwrap();
    let (ok, info, err) = run(&nowhere, &["--plan", p, "info"]);
    assert!(ok, "{err}");
    let line = scalar_line(&info);
    assert_says(&line, &["KC 40", "pinned plan file"]);

    // Missing, corrupt and unknown-kernel plan files are errors naming the flag and file.
    let missing = dir.join("missing.json");
    let (ok, _, err) = run(&nowhere, &["--plan", missing.to_str().unwrap(), "info"]);
    assert!(
        !ok && err.contains("--plan") && err.contains("missing.json"),
        "{err}"
    );
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, "{\"format\": 1").unwrap();
    let (ok, _, err) = run(&nowhere, &["--plan", corrupt.to_str().unwrap(), "info"]);
    assert!(!ok && err.contains("corrupt.json"), "{err}");
    let mut e = PlanEntry::from_plan(Isa::Scalar, &odd_plan());
    e.kernel = "scalar_99x99".into();
    let unknown = dir.join("unknown.json");
    let w = Wisdom::new(CpuIdentity::detect(), vec![e], vec![]);
    std::fs::write(&unknown, serde_json::to_string(&w).unwrap()).unwrap();
    let (ok, _, err) = run(&nowhere, &["--plan", unknown.to_str().unwrap(), "info"]);
    assert!(
        !ok && err.contains("unknown kernel 'scalar_99x99'"),
        "{err}"
    );
}

#[test]
fn resuming_under_another_plan_is_refused() {
    let dir = tmpdir("resume");
    let nowhere = dir.join("no-wisdom.json");
    // A tiny task.
    let (cols, rows) = (12, 60);
    for split in ["train", "valid", "test"] {
        let x: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7 + split.len()) % 5) as f32 / 4.0)
            .collect();
        let y: Vec<u32> = (0..rows).map(|i| (i % 2) as u32).collect();
        sdae::data::write_dataset(&sdae::data::split_path(&dir, "t", split), &x, &y, cols, 2)
            .unwrap();
    }
    let pinned = dir.join("pinned.json");
    wisdom_with(CpuIdentity::detect()).save(&pinned).unwrap();
    let d = dir.to_str().unwrap();
    let model = dir.join("m.sdae");
    let m = model.to_str().unwrap();
    let ck = format!("{m}.ckpt");
    let common = [
        "--data",
        d,
        "--task",
        "t",
        "--widths",
        "6",
        "--epochs",
        "1",
        "--max-epochs",
        "1",
        "--checkpoint",
        &ck,
        "--quiet",
    ];
    let (ok, _, err) = run(
        &nowhere,
        &[
            &["--plan", pinned.to_str().unwrap(), "pretrain", "--out", m][..],
            &common,
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    // The same checkpoint resumed without the pinned plan (the untuned one).
    let (ok, _, err) = run(
        &nowhere,
        &[&["train", "--out", m, "--resume"][..], &common].concat(),
    );
    assert!(
        !ok && err.contains("GEMM plan") && err.contains("--plan FILE"),
        "{err}"
    );
    // With the plan pinned again it goes on.
    let (ok, _, err) = run(
        &nowhere,
        &[
            &[
                "--plan",
                pinned.to_str().unwrap(),
                "train",
                "--out",
                m,
                "--resume",
            ][..],
            &common,
        ]
        .concat(),
    );
    assert!(ok, "{err}");

    // The model file records the plan it was trained under, and `eval --json` reports it.
    let rec = sdae::model::Model::load(&model)
        .unwrap()
        .provenance
        .unwrap();
    assert_eq!(rec.isa, "scalar");
    assert!(rec.plan.contains("KC 40"), "{rec:?}");
    let test = sdae::data::split_path(&dir, "t", "test");
    let (ok, out, err) = run(&nowhere, &["eval", m, test.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trained_under"]["plan_hash"], rec.plan_hash.as_str());
    // Fine-tuning it under another plan warns that the result mixes two plans; under the
    // same plan it does not.
    let ft = dir.join("ft.sdae");
    let ft_args = [
        &["finetune", "--model", m, "--out", ft.to_str().unwrap()][..],
        &["--data", d, "--task", "t", "--max-epochs", "1", "--quiet"],
    ]
    .concat();
    let (ok, _, err) = run(&nowhere, &ft_args);
    assert!(ok, "{err}");
    assert!(
        err.contains("pre-trained under GEMM plan") && err.contains(&rec.plan_hash),
        "{err}"
    );
    let pinned_args = [&["--plan", pinned.to_str().unwrap()][..], &ft_args].concat();
    let (ok, _, err) = run(&nowhere, &pinned_args);
    assert!(ok && !err.contains("warning"), "{err}");
}
