//! `sdae bench rbm-step` (and `dae-step`, whose report it shares) runs the step and prints a
//! positive rate and a share of the FMA peak measured in the same run; bad sizes are refused.

use std::process::Command;

fn sdae(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sdae"))
        .args(args)
        .output()
        .expect("run sdae")
}

fn step_json(bench: &str, batch: &str) -> serde_json::Value {
    let out = sdae(&[
        "bench",
        bench,
        "--batch",
        batch,
        "--threads",
        "1",
        "--seconds",
        "0.2",
        "--reps",
        "1",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.trim()).expect("one JSON object")
}

#[test]
fn rbm_step_reports_a_positive_rate_and_peak_share() {
    for batch in ["1", "20"] {
        let j = step_json("rbm-step", batch);
        assert_eq!(j["op"], "rbm_step", "{j}");
        assert_eq!(j["batch"].as_u64().unwrap().to_string(), batch, "{j}");
        assert_eq!(j["threads"], 1, "{j}");
        let eps = j["examples_per_s"].as_f64().unwrap();
        assert!(eps.is_finite() && eps > 0.0, "{j}");
        let peak = j["fma_peak_gflops"].as_f64().unwrap();
        let share = j["peak_percent"].as_f64().unwrap();
        assert!(peak.is_finite() && peak > 0.0, "{j}");
        // 10 d h flops per example, as a share of the peak
        let gflops = eps * 10.0 * 784.0 * 1000.0 / 1e9;
        assert!(
            (j["gflops"].as_f64().unwrap() - gflops).abs() <= 1e-6 * gflops,
            "{j}"
        );
        assert!((share - 100.0 * gflops / peak).abs() <= 1e-6 * share, "{j}");
    }
}

#[test]
fn dae_step_reports_the_same_fields() {
    let j = step_json("dae-step", "20");
    assert_eq!(j["op"], "dae_step", "{j}");
    assert!(j["examples_per_s"].as_f64().unwrap() > 0.0, "{j}");
    assert!(j["peak_percent"].as_f64().unwrap() > 0.0, "{j}");
}

#[test]
fn rbm_step_text_line_and_bad_batch() {
    let out = sdae(&[
        "bench",
        "rbm-step",
        "--batch",
        "4",
        "--threads",
        "1",
        "--seconds",
        "0.1",
        "--reps",
        "1",
    ]);
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(
        line.starts_with("rbm_step 784->1000 batch    4 threads 1"),
        "{line}"
    );
    let eps: f64 = line
        .split(": ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("examples/s figure");
    assert!(eps > 0.0, "{line}");
    assert!(line.contains("% of the"), "{line}");

    let bad = sdae(&["bench", "rbm-step", "--batch", "0", "--seconds", "0.1"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("rbm-step") && err.contains("--batch 0") && err.contains(">= 1"),
        "{err}"
    );
}
