//! The kernels know no front end: no environment variable is read and no command-line flag is
//! named anywhere in the crate's sources (the driver turns its knobs into `isa::force`,
//! `threads::set_threads` and GEMM plans), and production code never calls the specification.

use std::path::Path;

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("kernels/src is readable") {
        let p = entry.expect("directory entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).expect("source is UTF-8");
            out.push((p.display().to_string(), text));
        }
    }
}

#[test]
fn kernel_sources_read_no_environment_and_name_no_flag() {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "found only {} sources", files.len());
    for (path, text) in &files {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            assert!(
                !code.contains("env::var") && !code.contains("var_os("),
                "{path}:{}: the kernels read an environment variable: {line}",
                n + 1
            );
            // A flag inside a string literal: `"--name` or ` --name` within quotes.
            let in_string = code.split('"').skip(1).step_by(2);
            for s in in_string {
                let flag = s.split_whitespace().any(|w| {
                    w.starts_with("--") && w.len() > 2 && w.as_bytes()[2].is_ascii_lowercase()
                });
                assert!(
                    !flag,
                    "{path}:{}: a CLI flag in a kernel message: {line}",
                    n + 1
                );
            }
            if !path.ends_with("reference.rs") && !path.ends_with("lib.rs") {
                assert!(
                    !code.contains("reference::"),
                    "{path}:{}: production code calls the specification: {line}",
                    n + 1
                );
            }
        }
    }
}
