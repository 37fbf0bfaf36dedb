//! One run of a grid: train on the task's training split, stop early on its validation split,
//! save the model, and record the validation error. The test split is not opened here: it is
//! read once per *chosen* model, by [`evaluate_test`], after model selection.
//!
//! A run's folder `<sweep>/runs/<index>/` holds `model.sdm`, `model.sdm.ckpt` (the checkpoint,
//! so a pre-empted run resumes where it stopped), `log.jsonl` (one JSON object per epoch),
//! `result.json` (written atomically last: its presence means "done") and, for chosen models
//! only, `test.json`. While a worker trains it, `claim.lock` and `claim.json` (see
//! [`super::claim`]); after a failure, `failed.json`.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::claim::{self, Attempt};
use super::grid::{Family, RunSpec};
use crate::config::{Config, Overrides};
use crate::data::{split_path, Dataset, FileIdentity};
use crate::model::Model;
use crate::train::run::{run, Checkpoint, EpochReport, Observer, Phase, RunOptions};
use crate::train::{evaluate, Forward, SplitView};
use crate::util::write_atomic;

/// What a finished run records (`result.json`). Holds no test-set information.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub index: usize,
    pub task: String,
    pub family: Family,
    pub label: String,
    pub config: String,
    /// Validation error of the kept (best) parameters, in percent.
    pub valid_error: f64,
    pub valid_rows: usize,
    pub best_epoch: usize,
    pub seconds: f64,
    pub threads: usize,
    pub isa: String,
    pub git_revision: String,
    pub machine: String,
    /// The GEMM plan the run used, its hash and where it came from (wisdom, preset, model,
    /// pinned): the same plan, ISA and thread count reproduce the run bit for bit.
    #[serde(default)]
    pub plan: String,
    #[serde(default)]
    pub plan_hash: String,
    #[serde(default)]
    pub plan_source: String,
}

/// The one test-set evaluation of a chosen model (`test.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    pub index: usize,
    /// Test error in percent and the half-width of its 95% interval, in percent.
    pub test_error: f64,
    pub test_ci95: f64,
    pub test_rows: usize,
    pub seconds: f64,
}

pub fn run_dir(sweep: &Path, index: usize) -> PathBuf {
    sweep.join("runs").join(format!("{index:04}"))
}

/// The git revision of the code: `SDAE_GIT_REV` if set, else the revision the binary was built
/// from (recorded by build.rs, with `-dirty` for uncommitted changes), else "unknown".
pub fn git_revision() -> String {
    std::env::var("SDAE_GIT_REV")
        .ok()
        .or_else(|| option_env!("SDAE_BUILD_REV").map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU model, core count and host name, for the records.
pub fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let host = fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, host {host}")
}

/// The files this process has already verified (see [`open_split`]).
static VERIFIED: Mutex<Vec<FileIdentity>> = Mutex::new(Vec::new());

/// Map a task's split and check it (values, labels, checksum) before anything reads it. A
/// process that runs many runs (`sweep run-local`, `reproduce`) verifies each file once: a
/// split whose identity (device, inode, length, modification time, from the open handle) was
/// verified earlier in this process is not read again. sdae never rewrites a dataset in place
/// (it renames a new file over the old name: a new inode), so the same identity means the same
/// verified bytes; a file that changed gets a new identity and is checked again (a rewrite in
/// place is seen through its modification time, at the file system's timestamp resolution).
fn open_split(data: &Path, task: &str, split: &str) -> Result<Dataset, String> {
    let p = split_path(data, task, split);
    let ds = Dataset::open(&p).map_err(|e| {
        format!(
            "{e} (generate it with: sdae data generate --task {task} --out {})",
            data.display()
        )
    })?;
    let id = ds.identity();
    let verified =
        |v: &Mutex<Vec<FileIdentity>>| v.lock().map(|v| v.contains(&id)).unwrap_or(false);
    // Train and valid messages go to the run's log, so the check's cost can be read beside
    // the run's time; a test split is opened by `reproduce` itself, whose stderr stays quiet.
    let log = split != "test";
    if verified(&VERIFIED) {
        if log {
            eprintln!("{}: already checked by this process", p.display());
        }
        return Ok(ds);
    }
    let t0 = Instant::now();
    ds.verify_inputs().map_err(|e| {
        format!(
            "{e}; refusing to train or evaluate on it (regenerate it with: sdae data generate --task {task} --out {})",
            data.display()
        )
    })?;
    if log {
        eprintln!(
            "{}: checked (values in [0, 1], labels, checksum) in {:.1} ms",
            p.display(),
            t0.elapsed().as_secs_f64() * 1e3
        );
    }
    if let Ok(mut v) = VERIFIED.lock() {
        v.push(id);
    }
    Ok(ds)
}

fn view<'a>(name: &str, d: &'a Dataset) -> Result<SplitView<'a>, String> {
    SplitView::new(name, d.features(), d.labels(), d.cols(), d.classes()).map_err(|e| e.to_string())
}

/// Writes every epoch report as one JSON line.
struct LogObserver {
    out: BufWriter<File>,
    failed: Option<String>,
}

impl Observer for LogObserver {
    fn epoch(&mut self, r: &EpochReport) {
        let line = serde_json::to_string(r).expect("report serialises");
        if let Err(e) = writeln!(self.out, "{line}").and_then(|_| self.out.flush()) {
            self.failed.get_or_insert(e.to_string());
        }
    }
}

/// What became of a `sweep run`.
#[derive(Debug)]
pub enum RunOutcome {
    /// Trained now (or taken over and finished).
    Ran(RunRecord),
    /// Finished before: its `result.json` is returned as it is.
    AlreadyDone(RunRecord),
    /// Claimed by another live worker (who): skipped.
    Busy(String),
}

/// A worker killed between an epoch's log line and that epoch's checkpoint redoes the epoch
/// when the run is resumed: keep only the log lines of the epochs the checkpoint holds, so the
/// resumed run's log has each epoch once. An unreadable checkpoint leaves the log alone (the
/// resume then fails on it and says why).
fn trim_log_to_checkpoint(log: &Path, ckpt: &Path) -> Result<(), String> {
    let (Ok(text), Ok(bytes)) = (fs::read_to_string(log), fs::read(ckpt)) else {
        return Ok(());
    };
    let Ok(c) = Checkpoint::from_bytes(&bytes, &ckpt.display().to_string()) else {
        return Ok(());
    };
    let (phase, done) = (c.state.phase, c.state.epoch);
    let covered = |line: &str| -> bool {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            return false;
        };
        let (p, layer, epoch) = (
            v["phase"].as_str().unwrap_or(""),
            v["layer"].as_u64().unwrap_or(0) as usize,
            v["epoch"].as_u64().unwrap_or(0) as usize,
        );
        match (phase, p) {
            (Phase::Done, _) => true,
            (Phase::Finetune, "pretrain") => true,
            (Phase::Finetune, "finetune") => epoch <= done,
            (Phase::Pretrain(l), "pretrain") => layer < l + 1 || (layer == l + 1 && epoch <= done),
            _ => false,
        }
    };
    let kept: Vec<&str> = text.lines().filter(|l| covered(l)).collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    write_atomic(log, out.as_bytes()).map_err(|e| e.to_string())
}

/// A finished run whose worker was killed after writing `result.json` but before releasing its
/// claim: remove the dead claim (a live one is left to its owner, which is about to release it).
pub fn tidy_finished(dir: &Path) {
    if !dir.join("result.json").exists() {
        return;
    }
    match claim::inspect(dir) {
        claim::Seen::Stale(_) | claim::Seen::Unreadable { stale: true, .. } => {
            let _ = fs::remove_file(dir.join(claim::CLAIM_FILE));
            let _ = fs::remove_file(dir.join(claim::LOCK_FILE));
        }
        claim::Seen::Free => {
            // A lock file with no claim file: a worker killed between the two.
            if let Ok(f) = fs::File::open(dir.join(claim::LOCK_FILE)) {
                if f.try_lock().is_ok() {
                    let _ = fs::remove_file(dir.join(claim::LOCK_FILE));
                }
            }
        }
        _ => {}
    }
    let _ = fs::remove_file(dir.join("failed.json"));
}

/// Why a run failed last (`failed.json`, removed when the run succeeds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub index: usize,
    pub error: String,
    pub host: String,
    pub pid: u32,
    pub unix: u64,
}

fn read_result(path: &Path) -> Option<RunRecord> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str::<RunRecord>(&text).ok()
}

/// Train `spec` on `<data>/<task>/{train,valid}.sdd`; returns its record (also written to
/// `result.json`). A finished run (result.json present) is not run again, and a run claimed
/// by a live worker is skipped (see [`super::claim`]): the run is trained under a claim, and
/// its log is opened only once the claim is held.
pub fn run_spec(spec: &RunSpec, sweep: &Path, data: &Path) -> Result<RunOutcome, String> {
    let dir = run_dir(sweep, spec.index);
    let result_path = dir.join("result.json");
    if let Some(r) = read_result(&result_path) {
        tidy_finished(&dir);
        return Ok(RunOutcome::AlreadyDone(r));
    }
    let claim = match claim::try_claim(&dir)? {
        Attempt::Busy(who) => return Ok(RunOutcome::Busy(who)),
        Attempt::Claimed(c) => c,
    };
    // Finished between the look above and the claim: not run twice.
    if let Some(r) = read_result(&result_path) {
        return Ok(RunOutcome::AlreadyDone(r));
    }
    let resume = dir.join("model.sdm.ckpt").exists();
    eprintln!(
        "run {}: started by {}{}{}",
        spec.index,
        claim::describe(&claim.info()),
        if resume {
            ", resuming from its checkpoint"
        } else {
            ""
        },
        match &claim.took_over {
            Some(old) => format!(", taking over the stale claim of {}", claim::describe(old)),
            None => String::new(),
        }
    );
    let failed_path = dir.join("failed.json");
    match train_claimed(spec, &dir, data, &claim) {
        Ok(rec) => {
            let _ = fs::remove_file(&failed_path);
            drop(claim);
            Ok(RunOutcome::Ran(rec))
        }
        Err(e) => {
            let f = FailureRecord {
                index: spec.index,
                error: e.clone(),
                host: claim::host_name(),
                pid: std::process::id(),
                unix: claim::now_unix(),
            };
            let json = serde_json::to_string_pretty(&f).expect("record serialises");
            let _ = write_atomic(&failed_path, json.as_bytes());
            drop(claim);
            Err(e)
        }
    }
}

fn train_claimed(
    spec: &RunSpec,
    dir: &Path,
    data: &Path,
    claim: &claim::Claim,
) -> Result<RunRecord, String> {
    let result_path = dir.join("result.json");
    let what = format!("run {} ({} {})", spec.index, spec.task, spec.label);
    let cfg =
        Config::from_toml(&spec.config, &what, &Overrides::default()).map_err(|e| e.to_string())?;
    let train_ds = open_split(data, &spec.task, "train")?;
    let valid_ds = open_split(data, &spec.task, "valid")?;
    let train = view("training set", &train_ds)?;
    let valid = view("validation set", &valid_ds)?;
    let ckpt = dir.join("model.sdm.ckpt");
    let log_path = dir.join("log.jsonl");
    let resume = ckpt.exists();
    if resume {
        trim_log_to_checkpoint(&log_path, &ckpt)?;
    }
    let log = fs::OpenOptions::new()
        .create(true)
        .append(resume)
        .write(true)
        .truncate(!resume)
        .open(&log_path)
        .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?;
    let mut obs = LogObserver {
        out: BufWriter::new(log),
        failed: None,
    };
    let t0 = Instant::now();
    let res = {
        let mut opts = RunOptions {
            pretrain: true,
            finetune: true,
            checkpoint: Some(ckpt.clone()),
            resume,
            observer: &mut obs,
        };
        run(
            sdae_kernels::kernels(),
            &cfg,
            None,
            &train,
            Some(&valid),
            None,
            &mut opts,
        )
        .map_err(|e| format!("{what}: {e}"))?
    };
    if let Some(e) = obs.failed {
        return Err(format!("{what}: cannot write {}: {e}", log_path.display()));
    }
    if claim.lost() {
        return Err(format!(
            "{what}: the claim was taken over by another worker (no heartbeat for {} s); this worker's result is not written",
            claim::stale_secs()
        ));
    }
    res.model
        .save(&dir.join("model.sdm"))
        .map_err(|e| format!("{what}: {e}"))?;
    let v = res
        .valid
        .ok_or_else(|| format!("{what}: no validation error was measured"))?;
    let plan = crate::plan::describe(sdae_kernels::kernels().isa());
    let rec = RunRecord {
        index: spec.index,
        task: spec.task.clone(),
        family: spec.family,
        label: spec.label.clone(),
        config: spec.config.clone(),
        valid_error: 100.0 * v.error_rate(),
        valid_rows: v.rows,
        best_epoch: res.best_epoch,
        seconds: t0.elapsed().as_secs_f64(),
        threads: sdae_kernels::threads::threads(),
        isa: sdae_kernels::kernels().isa().name().to_string(),
        git_revision: git_revision(),
        machine: machine(),
        plan: plan.0,
        plan_hash: plan.1,
        plan_source: plan.2,
    };
    let json = serde_json::to_string_pretty(&rec).expect("record serialises");
    write_atomic(&result_path, json.as_bytes())?;
    let _ = fs::remove_file(&ckpt);
    Ok(rec)
}

/// Evaluate a chosen run's model on the task's test split, once: a `test.json` already
/// present is returned as it is, so the test set is never read twice for the same model.
pub fn evaluate_test(rec: &RunRecord, sweep: &Path, data: &Path) -> Result<TestRecord, String> {
    let dir = run_dir(sweep, rec.index);
    let path = dir.join("test.json");
    if let Ok(text) = fs::read_to_string(&path) {
        if let Ok(t) = serde_json::from_str::<TestRecord>(&text) {
            return Ok(t);
        }
    }
    let model = Model::load(&dir.join("model.sdm")).map_err(|e| e.to_string())?;
    let test_ds = open_split(data, &rec.task, "test")?;
    let test = view("test set", &test_ds)?;
    let t0 = Instant::now();
    let mut fwd = Forward::new(&model, 500);
    let k = sdae_kernels::kernels();
    let r = evaluate(k, &model, &mut fwd, test.x, test.y, test.rows).map_err(|e| e.to_string())?;
    let t = TestRecord {
        index: rec.index,
        test_error: 100.0 * r.error_rate(),
        test_ci95: 100.0 * r.ci95(),
        test_rows: r.rows,
        seconds: t0.elapsed().as_secs_f64(),
    };
    let json = serde_json::to_string_pretty(&t).expect("record serialises");
    write_atomic(&path, json.as_bytes())?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::write_dataset;

    fn write(dir: &Path, value: f32) -> PathBuf {
        let p = split_path(dir, "tiny", "test");
        // Through a temporary file and a rename, as every sdae writer does: a new inode.
        let tmp = dir.join("tmp.sdd");
        write_dataset(&tmp, &[0.5, value, 0.25, 1.0], &[0, 1], 2, 2).unwrap();
        fs::rename(&tmp, &p).unwrap();
        p
    }

    /// A split verified once is not read again by the same process, but a file that changed
    /// (renamed over, or rewritten in place) is checked again and its damage found.
    #[test]
    fn a_split_is_verified_once_per_identity() {
        let dir = std::env::temp_dir().join(format!("sdae-open-split-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("tiny")).unwrap();
        let p = write(&dir, 0.75);
        let id = open_split(&dir, "tiny", "test").unwrap().identity();
        assert!(VERIFIED.lock().unwrap().contains(&id));
        assert_eq!(open_split(&dir, "tiny", "test").unwrap().identity(), id);

        // Renamed over by a damaged file (a pixel of 2.0): a new identity, refused.
        write(&dir, 2.0);
        let e = open_split(&dir, "tiny", "test").unwrap_err();
        assert!(
            e.contains(&p.display().to_string()) && e.contains("row 0 column 1"),
            "{e}"
        );

        // Repaired, then damaged in place (same inode, later mtime): refused again.
        write(&dir, 0.75);
        open_split(&dir, "tiny", "test").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let ds = Dataset::open(&p).unwrap();
        let at = ds.header().features_offset as usize + 4;
        drop(ds);
        let mut bytes = fs::read(&p).unwrap();
        bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        fs::write(&p, bytes).unwrap();
        let e = open_split(&dir, "tiny", "test").unwrap_err();
        assert!(e.contains("row 0 column 1"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
