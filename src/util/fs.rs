//! Atomic file writes: a temporary file in the same directory, written, fsynced and renamed into
//! place (then the directory fsynced), so a reader sees the old file or the new one, never half.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A failed atomic write: which file, at which stage, and the OS error. The temporary file is
/// removed and the destination left untouched.
#[derive(Debug)]
pub struct WriteError {
    /// The destination.
    pub path: PathBuf,
    /// What failed: "cannot create temp file", "write failed", "fsync failed", "cannot rename
    /// temp file into place".
    pub stage: &'static str,
    pub source: std::io::Error,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// This host's name (`/proc/sys/kernel/hostname`), for names of temporary files and folders
/// in folders that may be shared over NFS.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Whether process `pid` of this host is known to be gone (false where /proc cannot tell).
pub fn pid_is_dead(pid: u32) -> bool {
    pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}

/// The temporary file next to `path` (same directory, so the rename is atomic):
/// `.<name>.<host>-<pid>.tmp`.
pub fn temp_path_for(path: &Path) -> PathBuf {
    path.with_file_name(format!(
        ".{}.{}-{}.tmp",
        file_name(path),
        host_name(),
        std::process::id()
    ))
}

/// Remove the temporary files of `path` that killed writers of this host left (SIGKILL skips
/// the clean-up): `.<name>.<host>-<pid>.tmp` whose pid no longer runs. Other hosts' are left
/// alone (they may be writing).
pub fn reap_stale_temps(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.{}-", file_name(path), host_name());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let pid = n
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(pid_is_dead) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write what `fill` produces to `path` atomically. The parent directory must exist.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&File>) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    reap_stale_temps(path);
    let tmp = temp_path_for(path);
    let fail = |stage: &'static str| {
        move |source: std::io::Error| WriteError {
            path: path.to_path_buf(),
            stage,
            source,
        }
    };
    let result = (|| {
        let file = File::create(&tmp).map_err(fail("cannot create temp file"))?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, &file);
            fill(&mut w).map_err(fail("write failed"))?;
            w.flush().map_err(fail("write failed"))?;
        }
        file.sync_all().map_err(fail("fsync failed"))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(fail("cannot rename temp file into place"))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Durability of the rename; a directory that cannot be opened (odd file systems)
        // does not undo a write that already succeeded.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_leaves_nothing_on_error() {
        let dir = std::env::temp_dir().join(format!("sdae-util-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.bin");
        write_atomic(&p, b"one").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let e = write_atomic_with(&p, |_| Err(std::io::Error::other("boom"))).unwrap_err();
        assert_eq!(e.stage, "write failed");
        assert!(e.to_string().contains("a.bin"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"one", "old file kept");
        assert!(!temp_path_for(&p).exists(), "temp file removed");
        let missing = dir.join("no-such-dir").join("b.bin");
        assert_eq!(
            write_atomic(&missing, b"x").unwrap_err().stage,
            "cannot create temp file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
