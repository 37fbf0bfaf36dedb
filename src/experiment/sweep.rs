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

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::grid::{Grid, RunSpec};
use super::job::{self, evaluate_test, run_dir, run_spec, RunRecord};
use super::report::{write_all, Meta, Results, RunRow};
use super::select::{select, Candidate};
use crate::model::write_atomic;

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

/// `sdae sweep run DIR --index I`: run one entry of the manifest (nothing if already done).
pub fn run_index(dir: &Path, index: usize) -> Result<RunRecord, String> {
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

/// `sdae sweep run-local DIR --jobs N`: every unfinished run, `jobs` child processes at a
/// time (each `sdae --threads T sweep run DIR --index I`, T from the plan). Returns the number
/// of runs done now; an error lists the runs that failed.
pub fn run_local(dir: &Path, jobs: usize, quiet: bool) -> Result<usize, String> {
    if jobs == 0 {
        return Err("--jobs 0: expected 1 or more".into());
    }
    let dir = abs(dir);
    let (info, runs) = load(&dir)?;
    let todo = unfinished(&dir, &runs);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the sdae binary: {e}"))?;
    let mut queue = todo.iter().copied();
    let mut live: Vec<(usize, Child, Instant)> = Vec::new();
    let mut failed = Vec::new();
    let mut done = 0;
    loop {
        while live.len() < jobs {
            let Some(i) = queue.next() else { break };
            let log = dir.join("logs").join(format!("local-{i:04}.out"));
            let f = fs::File::create(&log)
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
            live.push((i, child, Instant::now()));
        }
        if live.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut k = 0;
        while k < live.len() {
            if let Some(status) = live[k].1.try_wait().map_err(|e| e.to_string())? {
                let (i, _, t0) = live.swap_remove(k);
                let spec = &runs[i];
                if status.success() {
                    done += 1;
                    if !quiet {
                        eprintln!(
                            "run {i} done ({} {} [{}], {:.0}s) — {}/{} left",
                            spec.task,
                            spec.family.name(),
                            spec.label,
                            t0.elapsed().as_secs_f64(),
                            todo.len() - done - failed.len(),
                            runs.len()
                        );
                    }
                } else {
                    let log = dir.join("logs").join(format!("local-{i:04}.out"));
                    let tail = fs::read_to_string(&log).unwrap_or_default();
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
