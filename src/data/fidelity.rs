//! `sdae data fidelity DIR`: how close a folder of generated (or imported) tasks is to the
//! published benchmark: sizes against the published ones, label balance, pixel statistics,
//! per-class white-pixel means of the binary tasks, the recipe that made the files, and the
//! committed SVM-rbf yardstick figure beside the paper's.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use super::error::DataError;
use super::generate::RECIPE_FILE;
use super::{split_path, task_classes, task_sizes, Dataset, SPLITS, TASKS};
use crate::experiment::paper::PAPER;

/// Where the committed yardstick result lives (relative to the checkout).
pub const DEFAULT_YARDSTICK: &str = "results/calibration/yardstick.json";

/// Statistics of one split.
fn split_stats(ds: &Dataset, classes: usize) -> Value {
    let f = ds.features();
    let cols = ds.cols().max(1);
    let (mut sum, mut sq, mut lo, mut hi) = (0f64, 0f64, f32::INFINITY, f32::NEG_INFINITY);
    for &v in f {
        sum += f64::from(v);
        sq += f64::from(v) * f64::from(v);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let n = f.len().max(1) as f64;
    let mean = sum / n;
    let mut hist = vec![0usize; classes];
    let mut white = vec![0f64; classes];
    for (row, &l) in f.chunks(cols).zip(ds.labels()) {
        if let Some(h) = hist.get_mut(l as usize) {
            *h += 1;
            white[l as usize] += row.iter().filter(|&&v| v > 0.5).count() as f64;
        }
    }
    let mut out = json!({
        "rows": ds.rows(),
        "labels": hist,
        "pixel_mean": mean,
        "pixel_std": (sq / n - mean * mean).max(0.0).sqrt(),
        "pixel_min": if f.is_empty() { 0.0 } else { f64::from(lo) },
        "pixel_max": if f.is_empty() { 0.0 } else { f64::from(hi) },
        "checksum": format!("{:016x}", ds.checksum()),
    });
    if classes == 2 {
        let means: Vec<f64> = white
            .iter()
            .zip(&hist)
            .map(|(w, &h)| if h > 0 { w / h as f64 } else { 0.0 })
            .collect();
        out["white_pixel_mean_per_class"] = json!(means);
    }
    out
}

/// The yardstick file's entry for `task`, if the file is there and has one.
fn yardstick_entry(doc: &Option<Value>, task: &str) -> Option<Value> {
    doc.as_ref()?.get("tasks")?.get(task).cloned()
}

/// Everything `fidelity` reports, as JSON (one object per task found in `dir`).
pub fn fidelity(dir: &Path, yardstick: &Path) -> Result<Value, DataError> {
    if !dir.is_dir() {
        return Err(DataError::new(
            dir,
            "not a folder (expected a data folder of <task>/{train,valid,test}.sdd)",
        ));
    }
    let doc: Option<Value> = match fs::read_to_string(yardstick) {
        Ok(t) => Some(serde_json::from_str(&t).map_err(|e| {
            DataError::new(
                yardstick,
                format!("not a yardstick result (JSON written by experiments/svm_rbf.py): {e}"),
            )
        })?),
        Err(_) => None,
    };
    let mut tasks = Vec::new();
    for task in TASKS {
        if !SPLITS.iter().all(|s| split_path(dir, task, s).is_file()) {
            continue;
        }
        let classes = task_classes(task).expect("known");
        let (tr, va, te) = task_sizes(task).expect("known");
        let mut splits = serde_json::Map::new();
        let mut sums = Vec::new();
        for s in SPLITS {
            let ds = Dataset::open(&split_path(dir, task, s))?;
            let st = split_stats(&ds, ds.classes());
            sums.push(st["checksum"].clone());
            splits.insert(s.to_string(), st);
        }
        let recipe = fs::read_to_string(dir.join(task).join(RECIPE_FILE))
            .ok()
            .map(|t| t.trim().to_string());
        let paper = PAPER.iter().find(|r| r.task == task).map(|r| r.svm_rbf);
        let ys = yardstick_entry(&doc, task).map(|e| {
            let same = e
                .get("checksums")
                .map(|c| SPLITS.iter().zip(&sums).all(|(s, v)| c.get(*s) == Some(v)))
                .unwrap_or(false);
            json!({
                "test_error": e.get("test_error"),
                "ci95": e.get("ci95"),
                "chosen": e.get("chosen"),
                "recipe": e.get("recipe"),
                "measured_on_these_files": same,
            })
        });
        tasks.push(json!({
            "task": task,
            "classes": classes,
            "published_sizes": [tr, va, te],
            "splits": splits,
            "recipe": recipe,
            "paper_svm_rbf": paper,
            "yardstick": ys,
        }));
    }
    if tasks.is_empty() {
        return Err(DataError::new(
            dir,
            format!(
                "no task folder with train, valid and test .sdd files; expected some of {}",
                TASKS.join(", ")
            ),
        ));
    }
    Ok(json!({
        "dir": dir.display().to_string(),
        "yardstick_file": yardstick.display().to_string(),
        "yardstick_found": doc.is_some(),
        "tasks": tasks,
    }))
}

/// The human-readable report of [`fidelity`]'s JSON.
pub fn fidelity_text(v: &Value) -> String {
    let mut s = String::new();
    let num = |x: &Value| x.as_f64().unwrap_or(f64::NAN);
    for t in v["tasks"].as_array().into_iter().flatten() {
        let name = t["task"].as_str().unwrap_or("?");
        s.push_str(&format!("{name}\n"));
        let sizes: Vec<String> = SPLITS
            .iter()
            .map(|sp| t["splits"][*sp]["rows"].to_string())
            .collect();
        let publ = items(&t["published_sizes"]);
        let same = sizes == publ;
        s.push_str(&format!(
            "  sizes {} (published {}){}\n",
            sizes.join(" / "),
            publ.join(" / "),
            if same { "" } else { "  DIFFERENT" }
        ));
        for sp in SPLITS {
            let st = &t["splits"][sp];
            let labels = items(&st["labels"]);
            let mut line = format!(
                "  {sp:5}  labels {}  pixels mean {:.4} std {:.4} [{:.4}, {:.4}]",
                labels.join(":"),
                num(&st["pixel_mean"]),
                num(&st["pixel_std"]),
                num(&st["pixel_min"]),
                num(&st["pixel_max"])
            );
            if let Some(w) = st["white_pixel_mean_per_class"].as_array() {
                let w: Vec<String> = w.iter().map(|x| format!("{:.1}", num(x))).collect();
                line.push_str(&format!("  white pixels/class {}", w.join(" / ")));
            }
            s.push_str(&line);
            s.push('\n');
        }
        match t["recipe"].as_str() {
            Some(r) => s.push_str(&format!("  recipe {}\n", r.replace('\n', ", "))),
            None => s.push_str(&format!(
                "  recipe unknown (no {RECIPE_FILE}: imported, or generated before recipes)\n"
            )),
        }
        let paper = num(&t["paper_svm_rbf"]);
        match t.get("yardstick").filter(|y| !y.is_null()) {
            Some(y) => s.push_str(&format!(
                "  SVM-rbf yardstick {:.2} ± {:.2} (paper {paper:.2}, gap {:+.2}){}\n",
                num(&y["test_error"]),
                num(&y["ci95"]),
                num(&y["test_error"]) - paper,
                if y["measured_on_these_files"].as_bool() == Some(true) {
                    ", measured on these files"
                } else {
                    ", measured on other files (checksums differ)"
                }
            )),
            None => s.push_str(&format!(
                "  SVM-rbf yardstick: none committed (paper {paper:.2})\n"
            )),
        }
    }
    if v["yardstick_found"].as_bool() != Some(true) {
        s.push_str(&format!(
            "(no yardstick file at {}; --yardstick FILE)\n",
            v["yardstick_file"].as_str().unwrap_or("")
        ));
    }
    s
}

/// The items of a JSON array as text (none when `v` is not an array).
fn items(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| x.to_string())
        .collect()
}
