//! `sdae bench gemm --json` carries the triad bandwidth probe: one line per memory level, in
//! hierarchy order, each with a working set no smaller than the one before and a positive GB/s.

use std::process::Command;

#[test]
fn bench_gemm_json_reports_triad_bandwidth_per_level() {
    let out = Command::new(env!("CARGO_BIN_EXE_sdae"))
        .args(["bench", "gemm", "--threads", "1", "--reps", "1", "--json"])
        .output()
        .expect("run sdae");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let triads: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|j| j["op"] == "triad")
        .collect();
    let levels: Vec<&str> = triads
        .iter()
        .map(|j| j["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["L1", "L2", "L3", "DRAM"], "{stdout}");
    let bytes: Vec<u64> = triads
        .iter()
        .map(|j| j["bytes"].as_u64().unwrap())
        .collect();
    assert!(
        bytes.windows(2).all(|w| w[0] <= w[1]),
        "working sets {bytes:?}"
    );
    for j in &triads {
        let gbs = j["gbs"].as_f64().unwrap();
        assert!(gbs.is_finite() && gbs > 0.0, "{j}");
    }
}
