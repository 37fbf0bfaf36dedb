//! Records the git revision sdae is built from (`SDAE_BUILD_REV`), so that results written by
//! the binary name the code that produced them wherever it runs.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(rev) = git(&["rev-parse", "--short=12", "HEAD"]) {
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
            .map(|s| !s.is_empty())
            .unwrap_or(false);
        let rev = if dirty { format!("{rev}-dirty") } else { rev };
        println!("cargo:rustc-env=SDAE_BUILD_REV={rev}");
    }
}
