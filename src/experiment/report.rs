//! The reproduction's outputs: `results.json` (every run), `results.csv` (the same, flat) and
//! `table.md` (the paper's Table 1 beside ours). The table is a pure function of
//! `results.json`, so the two can never disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::grid::Family;
use super::job::{RunRecord, TestRecord};
use super::paper::{ci95_pct, paper_row, within_or_better, PAPER, PAPER_TEST_SIZE};
use crate::util::write_atomic;

/// Where and how the results were produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub grid: String,
    pub command: String,
    pub git_revision: String,
    pub machine: String,
    /// Wall time of the whole reproduction (`sdae reproduce`); none when collected from a sweep.
    pub wall_seconds: Option<f64>,
    /// Sum of the runs' own times.
    pub run_seconds: f64,
    /// UTC time of collection, seconds since the epoch.
    pub collected_unix: u64,
}

/// One run in `results.json`: its record, whether selection chose it, and — for chosen runs
/// only — its one test evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    #[serde(flatten)]
    pub run: RunRecord,
    pub chosen: bool,
    pub test: Option<TestRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub meta: Meta,
    pub runs: Vec<RunRow>,
}

fn nu_of(config: &str) -> Option<f64> {
    let cfg = crate::config::Config::from_toml(config, "run", &Default::default()).ok()?;
    cfg.layers.first().map(|l| l.nu)
}

fn widths_of(config: &str) -> String {
    crate::config::Config::from_toml(config, "run", &Default::default())
        .map(|c| {
            c.layers
                .iter()
                .map(|l| l.width.to_string())
                .collect::<Vec<_>>()
                .join("-")
        })
        .unwrap_or_default()
}

/// `table.md`, from the results alone.
pub fn render_table(r: &Results) -> String {
    let mut chosen: BTreeMap<(String, Family), &RunRow> = BTreeMap::new();
    for row in r.runs.iter().filter(|x| x.chosen) {
        chosen.insert((row.run.task.clone(), row.run.family), row);
    }
    let mut s = String::new();
    let _ = writeln!(s, "# sdae reproduction of Vincent et al. (2008), Table 1\n");
    let _ = writeln!(
        s,
        "Test error % on the 50,000-example test sets, ± the 95% interval 1.96·sqrt(p(1-p)/n). \
         Each sdae cell is the run with the lowest validation error of its column (SdA-3: ν > 0; \
         SAA-3: ν = 0); the test set was read once per chosen model. ✓ = inside the paper's \
         SdA-3 interval or better; ✗ = worse.\n"
    );
    let _ = writeln!(
        s,
        "| task | sdae SdA-3 | (ν, units) | | sdae SAA-3 | paper SdA-3 (ν) | paper SAA-3 | paper DBN-3 | paper SVM-rbf |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    let mut short = Vec::new();
    let tasks: Vec<&str> = {
        let mut t: Vec<&str> = PAPER.iter().map(|p| p.task).collect();
        t.retain(|task| r.runs.iter().any(|x| x.run.task == *task));
        t
    };
    for task in tasks {
        let p = paper_row(task).expect("paper row");
        let cell = |f: Family| -> (String, Option<f64>) {
            match chosen
                .get(&(task.to_string(), f))
                .and_then(|x| x.test.as_ref())
            {
                Some(t) => (
                    format!("{:.2} ± {:.2}", t.test_error, t.test_ci95),
                    Some(t.test_error),
                ),
                None => ("—".into(), None),
            }
        };
        let (sda, sda_err) = cell(Family::Sda);
        let (saa, _) = cell(Family::Saa);
        let sda_row = chosen.get(&(task.to_string(), Family::Sda));
        let params = sda_row
            .map(|x| {
                format!(
                    "{:.0}%, {}",
                    100.0 * nu_of(&x.run.config).unwrap_or(f64::NAN),
                    widths_of(&x.run.config)
                )
            })
            .unwrap_or_default();
        let mark = match sda_err {
            Some(e) if within_or_better(e, p.sda3) => "✓",
            Some(e) => {
                short.push(format!(
                    "{task}: {e:.2}% vs the paper's {:.2}% (interval up to {:.2}%): {:+.2} points",
                    p.sda3,
                    p.sda3 + ci95_pct(p.sda3, PAPER_TEST_SIZE),
                    e - p.sda3
                ));
                "✗"
            }
            None => "",
        };
        let pc = |v: f64| format!("{v:.2} ± {:.2}", ci95_pct(v, PAPER_TEST_SIZE));
        let _ = writeln!(
            s,
            "| {task} | {sda} | {params} | {mark} | {saa} | {} ({:.0}%) | {} | {} | {} |",
            pc(p.sda3),
            100.0 * p.sda3_nu,
            pc(p.saa3),
            pc(p.dbn3),
            pc(p.svm_rbf)
        );
    }
    if !short.is_empty() {
        let _ = writeln!(s, "\nShort of the paper's interval:\n");
        for l in short {
            let _ = writeln!(s, "- {l}");
        }
    }
    let m = &r.meta;
    let _ = writeln!(
        s,
        "\nGrid `{}`, {} runs; command `{}`; revision {}; machine: {}; {}summed run time {:.1} min.",
        m.grid,
        r.runs.len(),
        m.command,
        m.git_revision,
        m.machine,
        m.wall_seconds
            .map_or(String::new(), |w| format!("wall time {:.1} min; ", w / 60.0)),
        m.run_seconds / 60.0
    );
    s
}

/// A run's config on one line: `key = value` pairs (dotted paths) separated by `; `.
pub fn config_one_line(config: &str) -> String {
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, x) in t {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&p, x, out);
                }
            }
            toml::Value::Array(a) if a.iter().all(|x| x.is_table()) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}.{}", i + 1), x, out);
                }
            }
            other => out.push(format!("{prefix} = {other}")),
        }
    }
    match config.parse::<toml::Table>() {
        Ok(t) => {
            let mut out = Vec::new();
            walk("", &toml::Value::Table(t), &mut out);
            out.join("; ")
        }
        Err(_) => config.replace('\n', "; "),
    }
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// `results.csv`: one line per run.
pub fn render_csv(r: &Results) -> String {
    let mut s = String::from(
        "index,task,family,label,valid_error,test_error,test_ci95,chosen,best_epoch,seconds,threads,isa,git_revision,machine,config\n",
    );
    for row in &r.runs {
        let x = &row.run;
        let (te, tc) = row
            .test
            .as_ref()
            .map_or((String::new(), String::new()), |t| {
                (
                    format!("{:.4}", t.test_error),
                    format!("{:.4}", t.test_ci95),
                )
            });
        let _ = writeln!(
            s,
            "{},{},{},{},{:.4},{},{},{},{},{:.1},{},{},{},{},{}",
            x.index,
            x.task,
            x.family.name(),
            csv_field(&x.label),
            x.valid_error,
            te,
            tc,
            row.chosen,
            x.best_epoch,
            x.seconds,
            x.threads,
            x.isa,
            x.git_revision,
            csv_field(&x.machine),
            csv_field(&config_one_line(&x.config))
        );
    }
    s
}

/// Write `table.md`, `results.csv` and `results.json` into `out`, each atomically.
pub fn write_all(r: &Results, out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let json = serde_json::to_string_pretty(r).expect("results serialise");
    write_atomic(&out.join("results.json"), json.as_bytes())?;
    write_atomic(&out.join("results.csv"), render_csv(r).as_bytes())?;
    write_atomic(&out.join("table.md"), render_table(r).as_bytes())?;
    Ok(())
}
