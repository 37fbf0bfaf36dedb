//! Sweeps: a grid planned into a folder of independent runs that Slurm (or `run-local`)
//! executes in any order, and that `collect` turns into the results table.
//!
//! ```text
//! DIR/sweep.json        grid, data folder, threads per run, tasks
//! DIR/manifest.jsonl    one RunSpec per line; line i is run i (= $SLURM_ARRAY_TASK_ID)
//! DIR/sweep.sbatch      the Slurm job-array script
//! DIR/runs/NNNN/        one folder per run (see experiment::job)
//! DIR/logs/             Slurm's stdout/stderr per array task
//! ```
//! A run is finished when its `result.json` exists (written atomically, last); re-running a
//! finished run does nothing, so a whole array can be resubmitted, or only the failed indices.
//! A worker trains a run only under its claim ([`super::claim`]): any number of workers
//! (array tasks, requeued tasks, `run-local` on other machines) can share one sweep folder
//! and each run is trained by one of them at a time.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::claim::{self, Seen};
use super::grid::{Grid, RunSpec};
use super::job::{self, evaluate_test, run_dir, run_spec, FailureRecord, RunOutcome, RunRecord};
use super::report::{write_all, Meta, Results, RunRow};
use super::select::{select, Candidate};
use crate::util::write_atomic;

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub grid: String,
    pub description: String,
    /// The data folder (`<data>/<task>/<split>.sdd`), absolute.
    pub data: PathBuf,
    /// Threads each run uses (`--threads`, and `--cpus-per-task` in the Slurm script).
    pub threads_per_run: usize,
    pub tasks: Vec<String>,
    pub runs: usize,
}

fn abs(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Parse `all` or a comma-separated list of task names.
pub fn parse_tasks(s: &str) -> Result<Vec<String>, String> {
    if s.trim() == "all" {
        return Ok(crate::data::TASKS.iter().map(|t| t.to_string()).collect());
    }
    let mut out = Vec::new();
    for t in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if crate::data::task_sizes(t).is_none() {
            return Err(format!(
                "--tasks: unknown task '{t}' (expected all or a comma-separated list of {})",
                crate::data::TASKS.join(", ")
            ));
        }
        out.push(t.to_string());
    }
    if out.is_empty() {
        return Err(format!("--tasks '{s}': no task named"));
    }
    Ok(out)
}

/// The Slurm job-array script of a sweep.
pub fn sbatch_script(dir: &Path, info: &SweepInfo, exe: &Path) -> String {
    format!(
        "#!/bin/bash\n\
         # sdae sweep '{grid}': {n} runs. Submit with: sbatch {script}\n\
         # Resubmit only failed runs with: sbatch --array=3,7 {script}\n\
         #SBATCH --job-name=sdae-{grid}\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={t}\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --output={logs}/slurm-%A_%a.out\n\
         #SBATCH --error={logs}/slurm-%A_%a.out\n\
         set -eu\n\
         exec \"${{SDAE_BIN:-{exe}}}\" --threads {t} sweep run \"{dir}\" --index \"$SLURM_ARRAY_TASK_ID\"\n",
        grid = info.grid,
        n = info.runs,
        script = dir.join("sweep.sbatch").display(),
        last = info.runs.saturating_sub(1),
        t = info.threads_per_run,
        logs = dir.join("logs").display(),
        exe = exe.display(),
        dir = dir.display(),
    )
}

/// Write a sweep's folder: `sweep.json`, `manifest.jsonl`, `sweep.sbatch`. Refuses to
/// overwrite a different plan in the same folder (a matching one is left as it is).
pub fn plan(
    grid: &Grid,
    tasks: &[String],
    dir: &Path,
    data: &Path,
    threads_per_run: usize,
) -> Result<(SweepInfo, Vec<RunSpec>), String> {
    if threads_per_run == 0 {
        return Err("--threads-per-run 0: expected 1 or more".into());
    }
    let runs = grid.expand(tasks)?;
    let dir = abs(dir);
    let info = SweepInfo {
        grid: grid.name.clone(),
        description: grid.description.clone(),
        data: abs(data),
        threads_per_run,
        tasks: tasks.to_vec(),
        runs: runs.len(),
    };
    let mut manifest = String::new();
    for r in &runs {
        manifest.push_str(&serde_json::to_string(r).expect("spec serialises"));
        manifest.push('\n');
    }
    if let Ok(old) = fs::read_to_string(dir.join("manifest.jsonl")) {
        if old != manifest {
            return Err(format!(
                "{}: holds a different sweep plan; choose another --out or remove it",
                dir.display()
            ));
        }
    }
    fs::create_dir_all(dir.join("logs"))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("sdae"));
    write_atomic(
        &dir.join("sweep.json"),
        serde_json::to_string_pretty(&info)
            .expect("info")
            .as_bytes(),
    )?;
    write_atomic(&dir.join("manifest.jsonl"), manifest.as_bytes())?;
    write_atomic(
        &dir.join("sweep.sbatch"),
        sbatch_script(&dir, &info, &exe).as_bytes(),
    )?;
    Ok((info, runs))
}

/// Read a planned sweep.
pub fn load(dir: &Path) -> Result<(SweepInfo, Vec<RunSpec>), String> {
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).map_err(|e| {
            format!(
                "{}: {e} (is {} a sweep folder written by 'sdae sweep plan'?)",
                dir.join(name).display(),
                dir.display()
            )
        })
    };
    let info: SweepInfo = serde_json::from_str(&read("sweep.json")?)
        .map_err(|e| format!("{}: {e}", dir.join("sweep.json").display()))?;
    let mut runs = Vec::new();
    for (i, line) in read("manifest.jsonl")?.lines().enumerate() {
        let r: RunSpec = serde_json::from_str(line).map_err(|e| {
            format!(
                "{} line {}: {e}",
                dir.join("manifest.jsonl").display(),
                i + 1
            )
        })?;
        if r.index != i {
            return Err(format!(
                "{} line {}: run index {} out of order",
                dir.join("manifest.jsonl").display(),
                i + 1,
                r.index
            ));
        }
        runs.push(r);
    }
    Ok((info, runs))
}

/// `sdae sweep run DIR --index I`: run one entry of the manifest (nothing if it is already
/// finished or claimed by a live worker).
pub fn run_index(dir: &Path, index: usize) -> Result<RunOutcome, String> {
    let (info, runs) = load(dir)?;
    let spec = runs.get(index).ok_or_else(|| {
        format!(
            "--index {index}: the sweep in {} has runs 0..{}",
            dir.display(),
            runs.len()
        )
    })?;
    run_spec(spec, dir, &info.data)
}

/// Indices of the runs without a `result.json`.
pub fn unfinished(dir: &Path, runs: &[RunSpec]) -> Vec<usize> {
    runs.iter()
        .filter(|r| !run_dir(dir, r.index).join("result.json").exists())
        .map(|r| r.index)
        .collect()
}

/// Whether a live worker holds run `i`'s claim (looked at without taking it).
fn claimed_elsewhere(dir: &Path, i: usize) -> Option<String> {
    match claim::inspect(&run_dir(dir, i)) {
        Seen::Live(c) => Some(claim::describe(&c)),
        Seen::Unreadable { stale: false, .. } => Some("a claim being written".into()),
        _ => None,
    }
}

/// `sdae sweep run-local DIR --jobs N`: every unfinished run, `jobs` child processes at a
/// time (each `sdae --threads T sweep run DIR --index I`, T from the plan). Runs claimed by
/// other workers (another `run-local`, a Slurm array task) are skipped; unless `no_wait`, it
/// then waits for them and takes over any whose claim goes stale, so that `Ok` means the
/// sweep is finished. Returns the number of runs done by this worker; an error lists the runs
/// that failed here.
pub fn run_local(dir: &Path, jobs: usize, quiet: bool, no_wait: bool) -> Result<usize, String> {
    if jobs == 0 {
        return Err("--jobs 0: expected 1 or more".into());
    }
    let dir = abs(dir);
    let (info, runs) = load(&dir)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the sdae binary: {e}"))?;
    // Each worker's child logs are its own: another worker's never truncates them.
    let log_of = |i: usize| {
        dir.join("logs")
            .join(format!("local-{i:04}-{}.out", std::process::id()))
    };
    let mut live: Vec<(usize, Child, Instant)> = Vec::new();
    let mut failed = Vec::new();
    // Runs started (or found busy) here, and when a busy one may be tried again.
    let mut tried: HashSet<usize> = HashSet::new();
    let mut retry_at: Vec<(usize, Instant)> = Vec::new();
    let mut done = 0;
    let mut waiting_said = false;
    // Runs finished by a worker that was killed before releasing its claim.
    for r in &runs {
        job::tidy_finished(&run_dir(&dir, r.index));
    }
    loop {
        let now = Instant::now();
        retry_at.retain(|&(i, t)| {
            if t <= now {
                tried.remove(&i);
                false
            } else {
                true
            }
        });
        let mut elsewhere = Vec::new();
        for i in unfinished(&dir, &runs) {
            if live.len() >= jobs {
                break;
            }
            if tried.contains(&i) || failed.contains(&i) {
                continue;
            }
            if let Some(who) = claimed_elsewhere(&dir, i) {
                elsewhere.push((i, who));
                continue;
            }
            let log = log_of(i);
            let f = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(|e| format!("cannot write {}: {e}", log.display()))?;
            // Children run on the parent's ISA (its --isa or SDAE_ISA) and pinned GEMM plan
            // (if any; otherwise they find this machine's wisdom or preset themselves), with
            // the sweep's threads.
            let mut cmd = Command::new(&exe);
            if let Some(p) = crate::plan::pinned_file() {
                cmd.arg("--plan").arg(p);
            }
            let child = cmd
                .env("SDAE_ISA", sdae_kernels::kernels().isa().name())
                .arg("--threads")
                .arg(info.threads_per_run.to_string())
                .args(["sweep", "run"])
                .arg(&dir)
                .args(["--index", &i.to_string()])
                .stdin(Stdio::null())
                .stdout(f.try_clone().map_err(|e| e.to_string())?)
                .stderr(f)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
            tried.insert(i);
            live.push((i, child, Instant::now()));
        }
        if live.is_empty() {
            let pending: Vec<usize> = unfinished(&dir, &runs)
                .into_iter()
                .filter(|i| !failed.contains(i))
                .collect();
            if pending.is_empty() {
                break;
            }
            if no_wait {
                if !quiet {
                    eprintln!(
                        "{} run(s) left to other workers: {:?}",
                        pending.len(),
                        pending
                    );
                }
                break;
            }
            if !quiet && !waiting_said && !elsewhere.is_empty() {
                let list: Vec<String> = elsewhere
                    .iter()
                    .map(|(i, who)| format!("{i} ({who})"))
                    .collect();
                eprintln!(
                    "waiting for runs claimed by other workers: {}",
                    list.join(", ")
                );
                waiting_said = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
            continue;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut k = 0;
        while k < live.len() {
            if let Some(status) = live[k].1.try_wait().map_err(|e| e.to_string())? {
                let (i, _, t0) = live.swap_remove(k);
                let spec = &runs[i];
                let finished = run_dir(&dir, i).join("result.json").exists();
                if status.success() && finished {
                    done += 1;
                    if !quiet {
                        eprintln!(
                            "run {i} done ({} {} [{}], {:.0}s) — {}/{} left",
                            spec.task,
                            spec.family.name(),
                            spec.label,
                            t0.elapsed().as_secs_f64(),
                            unfinished(&dir, &runs).len(),
                            runs.len()
                        );
                    }
                } else if status.success() {
                    // Claimed by another worker between our look and the child's claim.
                    retry_at.push((i, Instant::now() + std::time::Duration::from_secs(1)));
                } else {
                    let tail = fs::read_to_string(log_of(i)).unwrap_or_default();
                    let last = tail.lines().last().unwrap_or("").to_string();
                    eprintln!("run {i} FAILED ({status}): {last}");
                    failed.push(i);
                }
            } else {
                k += 1;
            }
        }
    }
    if !failed.is_empty() {
        failed.sort();
        return Err(format!(
            "{} run(s) failed: {:?}; logs in {}; re-run 'sdae sweep run-local {}' to retry them",
            failed.len(),
            failed,
            dir.join("logs").display(),
            dir.display()
        ));
    }
    Ok(done)
}

/// The state of one run, as `sdae sweep status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RunState {
    Done {
        valid_error: f64,
        seconds: f64,
    },
    Running {
        host: String,
        pid: u32,
        slurm: Option<String>,
        since_unix: u64,
        heartbeat_age_secs: u64,
    },
    /// A claim whose owner is gone: the next worker takes it over (from its checkpoint).
    Stale {
        host: String,
        pid: u32,
        heartbeat_age_secs: u64,
        checkpoint: bool,
    },
    Failed {
        error: String,
        host: String,
    },
    Todo {
        checkpoint: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    pub index: usize,
    pub task: String,
    pub label: String,
    #[serde(flatten)]
    pub state: RunState,
}

/// `sdae sweep status DIR`: each run's state, from its files only (claims are looked at, never
/// taken).
pub fn status(dir: &Path) -> Result<Vec<RunStatus>, String> {
    let (_, runs) = load(dir)?;
    let now = claim::now_unix();
    let mut out = Vec::new();
    for r in &runs {
        let d = run_dir(dir, r.index);
        let ckpt = d.join("model.sdm.ckpt").exists();
        let result: Option<RunRecord> = fs::read_to_string(d.join("result.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let state = if let Some(rec) = result {
            RunState::Done {
                valid_error: rec.valid_error,
                seconds: rec.seconds,
            }
        } else {
            match claim::inspect(&d) {
                Seen::Live(c) => RunState::Running {
                    host: c.host,
                    pid: c.pid,
                    slurm: c.slurm,
                    since_unix: c.claimed_unix,
                    heartbeat_age_secs: now.saturating_sub(c.heartbeat_unix),
                },
                Seen::Stale(c) => RunState::Stale {
                    host: c.host,
                    pid: c.pid,
                    heartbeat_age_secs: now.saturating_sub(c.heartbeat_unix),
                    checkpoint: ckpt,
                },
                Seen::Unreadable { age_secs, stale } if stale => RunState::Stale {
                    host: "?".into(),
                    pid: 0,
                    heartbeat_age_secs: age_secs,
                    checkpoint: ckpt,
                },
                Seen::Unreadable { age_secs, .. } => RunState::Running {
                    host: "?".into(),
                    pid: 0,
                    slurm: None,
                    since_unix: now.saturating_sub(age_secs),
                    heartbeat_age_secs: age_secs,
                },
                Seen::Free => match fs::read_to_string(d.join("failed.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<FailureRecord>(&t).ok())
                {
                    Some(f) => RunState::Failed {
                        error: f.error,
                        host: f.host,
                    },
                    None => RunState::Todo { checkpoint: ckpt },
                },
            }
        };
        out.push(RunStatus {
            index: r.index,
            task: r.task.clone(),
            label: r.label.clone(),
            state,
        });
    }
    Ok(out)
}

/// The human form of [`status`]: one count line, then one line per run that is not done.
pub fn render_status(st: &[RunStatus]) -> String {
    let mut n = [0usize; 5];
    let mut lines = String::new();
    for s in st {
        let (k, line) = match &s.state {
            RunState::Done { .. } => (0, None),
            RunState::Running {
                host,
                pid,
                slurm,
                heartbeat_age_secs,
                ..
            } => (
                1,
                Some(format!(
                    "running on host {host} pid {pid}{} (heartbeat {heartbeat_age_secs} s ago)",
                    slurm
                        .as_ref()
                        .map(|j| format!(" Slurm {j}"))
                        .unwrap_or_default()
                )),
            ),
            RunState::Stale {
                host,
                pid,
                heartbeat_age_secs,
                checkpoint,
            } => (
                2,
                Some(format!(
                    "stale claim of host {host} pid {pid} (heartbeat {heartbeat_age_secs} s ago){}: the next worker takes it over",
                    if *checkpoint { ", resumes from its checkpoint" } else { "" }
                )),
            ),
            RunState::Failed { error, host } => (3, Some(format!("failed on {host}: {error}"))),
            RunState::Todo { checkpoint } => (
                4,
                Some(if *checkpoint {
                    "to do (has a checkpoint)".to_string()
                } else {
                    "to do".to_string()
                }),
            ),
        };
        n[k] += 1;
        if let Some(l) = line {
            lines.push_str(&format!(
                "run {:4} {} [{}]: {l}\n",
                s.index, s.task, s.label
            ));
        }
    }
    format!(
        "{} runs: {} done, {} running, {} stale, {} failed, {} to do\n{lines}",
        st.len(),
        n[0],
        n[1],
        n[2],
        n[3],
        n[4]
    )
}

/// `sdae sweep collect DIR`: select each task's models on validation error, evaluate each
/// chosen model once on the test split, and write the results into `out`.
pub fn collect(
    dir: &Path,
    out: &Path,
    partial: bool,
    command: &str,
    wall_seconds: Option<f64>,
) -> Result<Results, String> {
    let (info, runs) = load(dir)?;
    let missing = unfinished(dir, &runs);
    if !missing.is_empty() && !partial {
        let list: Vec<String> = missing.iter().map(|i| i.to_string()).collect();
        return Err(format!(
            "{} of {} runs are not finished: {}; run them (sbatch --array={} {}, or 'sdae sweep run-local {}') or collect with --partial",
            missing.len(),
            runs.len(),
            list.join(","),
            list.join(","),
            dir.join("sweep.sbatch").display(),
            dir.display()
        ));
    }
    let mut records = Vec::new();
    for r in &runs {
        let p = run_dir(dir, r.index).join("result.json");
        if let Ok(text) = fs::read_to_string(&p) {
            let rec: RunRecord =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            if rec.index != r.index || rec.task != r.task || rec.config != r.config {
                return Err(format!(
                    "{}: does not belong to manifest entry {}",
                    p.display(),
                    r.index
                ));
            }
            records.push(rec);
        }
    }
    // Selection sees validation errors only.
    let cands: Vec<Candidate> = records
        .iter()
        .map(|r| Candidate {
            index: r.index,
            task: r.task.clone(),
            family: r.family,
            valid_error: r.valid_error,
        })
        .collect();
    let chosen = select(&cands);
    let mut rows = Vec::new();
    for rec in records {
        let is_chosen = chosen.get(&(rec.task.clone(), rec.family)) == Some(&rec.index);
        let test = if is_chosen {
            Some(evaluate_test(&rec, dir, &info.data)?)
        } else {
            None
        };
        rows.push(RunRow {
            run: rec,
            chosen: is_chosen,
            test,
        });
    }
    let results = Results {
        meta: Meta {
            grid: info.grid.clone(),
            command: command.to_string(),
            git_revision: job::git_revision(),
            machine: job::machine(),
            wall_seconds,
            run_seconds: rows.iter().map(|r| r.run.seconds).sum(),
            collected_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        },
        runs: rows,
    };
    write_all(&results, out)?;
    let _ = std::io::stdout().flush();
    Ok(results)
}
