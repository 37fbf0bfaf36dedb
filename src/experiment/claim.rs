//! Run claims: a worker (a Slurm array task, or a `run-local` child) claims a run before it
//! starts it, so that two workers never train the same run at once.
//!
//! A claim is two things in the run's folder:
//! - `claim.lock`, held with an exclusive `flock` (`File::try_lock`) for the whole run. The OS
//!   drops it when the process dies, however it dies (SIGKILL included), so on one host a dead
//!   worker's run is free at once.
//! - `claim.json`: host, pid (and the pid's start time, against pid reuse), a random token and
//!   a heartbeat refreshed every [`heartbeat_secs`]. It is created atomically with `link(2)`
//!   (which fails if the file exists, on NFS too), so of two workers on hosts where `flock`
//!   is advisory, absent or local-only, exactly one gets the claim. A claim whose owner is
//!   gone (same host: the pid is not running; another host: no heartbeat for
//!   [`stale_secs`]) is stale and taken over by the next worker; the run then resumes from
//!   its checkpoint.
//!
//! A worker that holds a claim checks `result.json` again before training (a run finished
//! between the scan and the claim is not run twice), and releases the claim only after the
//! result is written, so a later claimant always sees the result.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::util::write_atomic;

pub const LOCK_FILE: &str = "claim.lock";
pub const CLAIM_FILE: &str = "claim.json";

/// What `claim.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimInfo {
    pub host: String,
    pub pid: u32,
    /// Start time of `pid` in clock ticks since boot (`/proc/PID/stat` field 22), 0 if unknown.
    pub pid_start: u64,
    pub token: String,
    pub claimed_unix: u64,
    pub heartbeat_unix: u64,
    /// `SLURM_JOB_ID` / `SLURM_ARRAY_JOB_ID_TASK` of the owner, when it runs under Slurm.
    #[serde(default)]
    pub slurm: Option<String>,
}

/// A claim seen from outside.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    /// No claim file.
    Free,
    /// Owned by a live worker.
    Live(ClaimInfo),
    /// The owner is gone: the next worker takes it over.
    Stale(ClaimInfo),
    /// A claim file that cannot be read (being written, or damaged); judged by its age.
    Unreadable { age_secs: u64, stale: bool },
}

/// Seconds without a heartbeat after which a claim from another host is stale
/// (`SDAE_CLAIM_STALE_SECS`, default 120).
pub fn stale_secs() -> u64 {
    std::env::var("SDAE_CLAIM_STALE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&s| s > 0)
        .unwrap_or(120)
}

/// How often a claim's heartbeat is refreshed: a quarter of [`stale_secs`], at least 1 s.
pub fn heartbeat_secs() -> u64 {
    (stale_secs() / 4).max(1)
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Start time of a process (ticks since boot), `None` if it does not run (or no /proc).
fn pid_start(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a process is a zombie (dead, not yet reaped by its parent): `/proc/PID/stat`
/// field 3 is `Z` (or `X`).
fn pid_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s[s.rfind(')')? + 1..].trim_start().to_string();
            rest.chars().next()
        })
        .is_some_and(|c| c == 'Z' || c == 'X')
}

fn pid_alive(pid: u32, start: u64) -> bool {
    if pid_zombie(pid) {
        return false;
    }
    match pid_start(pid) {
        None => {
            // No /proc (not Linux): fall back to the heartbeat alone.
            !Path::new("/proc/self/stat").exists()
        }
        Some(s) => start == 0 || s == start,
    }
}

fn token() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}-{}", t, std::process::id(), host_name())
}

/// Judge a claim file's contents.
pub fn judge(info: &ClaimInfo, now: u64) -> bool {
    if info.host == host_name() {
        pid_alive(info.pid, info.pid_start)
    } else {
        now.saturating_sub(info.heartbeat_unix) <= stale_secs()
    }
}

/// What the claim of run folder `dir` looks like now (reads `claim.json` only: never takes
/// the lock, so looking cannot make a worker skip a run).
pub fn inspect(dir: &Path) -> Seen {
    let p = dir.join(CLAIM_FILE);
    let text = match fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Seen::Free,
        Err(_) => return unreadable(&p),
    };
    match serde_json::from_str::<ClaimInfo>(&text) {
        Ok(info) => {
            if judge(&info, now_unix()) {
                Seen::Live(info)
            } else {
                Seen::Stale(info)
            }
        }
        Err(_) => unreadable(&p),
    }
}

fn unreadable(p: &Path) -> Seen {
    let age = fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .map_or(0, |d| d.as_secs());
    Seen::Unreadable {
        age_secs: age,
        stale: age > stale_secs(),
    }
}

/// Who holds a claim, for messages: "host h pid 123 (Slurm 45_6)".
pub fn describe(info: &ClaimInfo) -> String {
    let mut s = format!("host {} pid {}", info.host, info.pid);
    if let Some(j) = &info.slurm {
        s.push_str(&format!(" (Slurm {j})"));
    }
    s
}

/// A held claim. Dropping it stops the heartbeat and removes `claim.json` and `claim.lock`.
pub struct Claim {
    dir: PathBuf,
    info: Arc<Mutex<ClaimInfo>>,
    lost: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    heartbeat: Option<JoinHandle<()>>,
    lock: Option<File>,
    /// Whether a stale claim was taken over.
    pub took_over: Option<ClaimInfo>,
}

/// The result of trying to claim a run.
pub enum Attempt {
    Claimed(Claim),
    /// Someone else holds it: who, for the message.
    Busy(String),
}

fn slurm_id() -> Option<String> {
    let job = std::env::var("SLURM_ARRAY_JOB_ID")
        .ok()
        .zip(std::env::var("SLURM_ARRAY_TASK_ID").ok())
        .map(|(j, t)| format!("{j}_{t}"));
    job.or_else(|| std::env::var("SLURM_JOB_ID").ok())
}

/// Create `claim.json` with `info` atomically and only if absent: write a private file, then
/// hard-link it to the claim's name (`link` fails if the name exists, on NFS as well).
fn create_claim_file(dir: &Path, info: &ClaimInfo) -> std::io::Result<bool> {
    let tmp = dir.join(format!(".{CLAIM_FILE}.new-{}", info.token));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(serde_json::to_string(info).expect("claim").as_bytes())?;
        drop(f);
        match fs::hard_link(&tmp, dir.join(CLAIM_FILE)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    })();
    let _ = fs::remove_file(&tmp);
    res
}

/// Remove a stale claim file, but only the one judged (not a fresh claim that replaced it in
/// the meantime): move it aside under a private name, check its token, put back a stranger's.
fn remove_stale(dir: &Path, stale_token: Option<&str>, mine: &str) -> std::io::Result<bool> {
    let aside = dir.join(format!(".{CLAIM_FILE}.stale-{mine}"));
    match fs::rename(dir.join(CLAIM_FILE), &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    }
    let moved: Option<ClaimInfo> = fs::read_to_string(&aside)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let same = match (stale_token, &moved) {
        (Some(t), Some(m)) => m.token == t,
        (None, None) => true,
        _ => false,
    };
    if !same {
        // Another worker claimed it between our look and the move: give it back.
        let _ = fs::hard_link(&aside, dir.join(CLAIM_FILE));
    }
    let _ = fs::remove_file(&aside);
    Ok(same)
}

/// Remove the private files (`.claim.json.new-TOKEN`, `.claim.json.stale-TOKEN`) that a worker
/// of this host left when it was killed between creating and removing one (the token holds
/// its pid in hex and its host).
fn reap_dead_claim_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let host = host_name();
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(tok) = n
            .strip_prefix(&format!(".{CLAIM_FILE}.new-"))
            .or_else(|| n.strip_prefix(&format!(".{CLAIM_FILE}.stale-")))
        else {
            continue;
        };
        let mut parts = tok.splitn(3, '-');
        let (_, pid, h) = (parts.next(), parts.next(), parts.next());
        let pid = pid.and_then(|p| u32::from_str_radix(p, 16).ok());
        if h == Some(host.as_str()) && pid.is_some_and(crate::util::fs::pid_is_dead) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Try to claim the run in folder `dir` (created if missing).
pub fn try_claim(dir: &Path) -> Result<Attempt, String> {
    let io = |what: &str, e: std::io::Error| format!("{what} {}: {e}", dir.display());
    fs::create_dir_all(dir).map_err(|e| io("cannot create", e))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    let lock = match lock.try_lock() {
        Ok(()) => Some(lock),
        Err(fs::TryLockError::WouldBlock) => {
            let who = match inspect(dir) {
                Seen::Live(i) | Seen::Stale(i) => describe(&i),
                _ => "another process on this host".into(),
            };
            return Ok(Attempt::Busy(who));
        }
        // flock refused by the file system (some NFS mounts): the claim file alone decides.
        Err(fs::TryLockError::Error(_)) => None,
    };
    let now = now_unix();
    let info = ClaimInfo {
        host: host_name(),
        pid: std::process::id(),
        pid_start: pid_start(std::process::id()).unwrap_or(0),
        token: token(),
        claimed_unix: now,
        heartbeat_unix: now,
        slurm: slurm_id(),
    };
    reap_dead_claim_temps(dir);
    let mut took_over = None;
    if !create_claim_file(dir, &info).map_err(|e| io("cannot claim", e))? {
        // A claim file exists. Holding the flock means no live process on this host holds it
        // (unless flock is not effective here); judge it by owner and heartbeat.
        let (stale_token, owner) = match inspect(dir) {
            Seen::Free => (None, None),
            Seen::Live(i) => return Ok(Attempt::Busy(describe(&i))),
            Seen::Stale(i) => (Some(i.token.clone()), Some(i)),
            Seen::Unreadable { stale: false, .. } => {
                return Ok(Attempt::Busy("a claim being written".into()))
            }
            Seen::Unreadable { stale: true, .. } => (None, None),
        };
        if !remove_stale(dir, stale_token.as_deref(), &info.token)
            .map_err(|e| io("cannot take over the claim in", e))?
        {
            return Ok(Attempt::Busy("a worker that claimed it just now".into()));
        }
        if !create_claim_file(dir, &info).map_err(|e| io("cannot claim", e))? {
            return Ok(Attempt::Busy("a worker that claimed it just now".into()));
        }
        took_over = owner;
    }
    let info = Arc::new(Mutex::new(info));
    let lost = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = {
        let (dir, info, lost, stop) = (dir.to_path_buf(), info.clone(), lost.clone(), stop.clone());
        std::thread::Builder::new()
            .name("claim-heartbeat".into())
            .spawn(move || heartbeat_loop(&dir, &info, &lost, &stop))
            .ok()
    };
    Ok(Attempt::Claimed(Claim {
        dir: dir.to_path_buf(),
        info,
        lost,
        stop,
        heartbeat,
        lock,
        took_over,
    }))
}

fn heartbeat_loop(dir: &Path, info: &Mutex<ClaimInfo>, lost: &AtomicBool, stop: &AtomicBool) {
    let every = Duration::from_secs(heartbeat_secs());
    let mut last = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if last.elapsed() < every {
            continue;
        }
        last = std::time::Instant::now();
        let mut i = info.lock().unwrap_or_else(|p| p.into_inner());
        let on_disk: Option<ClaimInfo> = fs::read_to_string(dir.join(CLAIM_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        if on_disk.map(|d| d.token) != Some(i.token.clone()) {
            lost.store(true, Ordering::Relaxed);
            return;
        }
        i.heartbeat_unix = now_unix();
        let _ = write_atomic(
            &dir.join(CLAIM_FILE),
            serde_json::to_string(&*i).expect("claim").as_bytes(),
        );
    }
}

impl Claim {
    /// True if another worker took the claim over (this one's heartbeat stopped for longer
    /// than the stale limit): the holder must not write its result.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    pub fn info(&self) -> ClaimInfo {
        self.info.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        let token = self.info().token;
        let p = self.dir.join(CLAIM_FILE);
        let mine = fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str::<ClaimInfo>(&t).ok())
            .is_some_and(|i| i.token == token);
        if mine && !self.lost() {
            let _ = fs::remove_file(&p);
        }
        // Removing the lock file before unlocking is safe: whoever locks the old inode or
        // creates a new one must still create claim.json, and re-checks result.json.
        if self.lock.is_some() {
            let _ = fs::remove_file(self.dir.join(LOCK_FILE));
        }
        if let Some(l) = self.lock.take() {
            let _ = l.unlock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sdae-claim-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    /// A claim by `host`'s process `pid` with `token`, made and last heard of at `now`.
    fn claim_of(host: &str, pid: u32, token: &str, now: u64) -> ClaimInfo {
        ClaimInfo {
            host: host.into(),
            pid,
            pid_start: 0,
            token: token.into(),
            claimed_unix: now,
            heartbeat_unix: now,
            slurm: None,
        }
    }

    /// Writes `info` as the claim file of `d` (no lock held).
    fn put_claim(d: &Path, info: &ClaimInfo) {
        fs::write(d.join(CLAIM_FILE), serde_json::to_string(info).unwrap()).unwrap();
    }

    #[test]
    fn one_claim_at_a_time_and_released_on_drop() {
        let d = tmp("one");
        let Attempt::Claimed(c) = try_claim(&d).unwrap() else {
            panic!("first claim")
        };
        // Same process, second open file description: flock refuses it.
        assert!(matches!(try_claim(&d).unwrap(), Attempt::Busy(_)));
        assert!(matches!(inspect(&d), Seen::Live(_)));
        drop(c);
        assert_eq!(inspect(&d), Seen::Free);
        assert!(!d.join(LOCK_FILE).exists() && !d.join(CLAIM_FILE).exists());
        assert!(matches!(try_claim(&d).unwrap(), Attempt::Claimed(_)));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_dead_or_silent_owner_is_stale_a_live_one_is_not() {
        let d = tmp("stale");
        fs::create_dir_all(&d).unwrap();
        let now = now_unix();
        let mut other = claim_of("some-other-node", 1, "t-other", now);
        // Another host, fresh heartbeat: live, and the claim file (no flock) keeps us out.
        put_claim(&d, &other);
        assert!(matches!(inspect(&d), Seen::Live(_)));
        assert!(
            matches!(try_claim(&d).unwrap(), Attempt::Busy(w) if w.contains("some-other-node"))
        );
        // No heartbeat for longer than the limit: stale, taken over.
        other.heartbeat_unix = now - stale_secs() - 5;
        put_claim(&d, &other);
        assert!(matches!(inspect(&d), Seen::Stale(_)));
        let Attempt::Claimed(c) = try_claim(&d).unwrap() else {
            panic!("stale claim not taken over")
        };
        assert_eq!(
            c.took_over.as_ref().map(|i| i.token.as_str()),
            Some("t-other")
        );
        drop(c);
        // This host, a pid that does not run: stale at once, whatever the heartbeat says.
        let dead = ClaimInfo {
            host: host_name(),
            pid: u32::MAX - 7,
            heartbeat_unix: now,
            token: "t-dead".into(),
            ..other
        };
        put_claim(&d, &dead);
        assert!(matches!(inspect(&d), Seen::Stale(_)));
        assert!(matches!(try_claim(&d).unwrap(), Attempt::Claimed(_)));
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn taking_over_never_removes_a_fresh_claim() {
        let d = tmp("race");
        fs::create_dir_all(&d).unwrap();
        let now = now_unix();
        let fresh = claim_of("node-b", 2, "t-fresh", now);
        put_claim(&d, &fresh);
        // We judged an older claim "t-old" stale, but the file now holds a fresh one.
        assert!(!remove_stale(&d, Some("t-old"), "t-me").unwrap());
        let back: ClaimInfo =
            serde_json::from_str(&fs::read_to_string(d.join(CLAIM_FILE)).unwrap()).unwrap();
        assert_eq!(back, fresh);
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "nothing left aside");
        let _ = fs::remove_dir_all(&d);
    }
}
