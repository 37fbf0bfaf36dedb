//! Hyper-parameter grids: a base training config, axes whose every combination is one run, and
//! per-task overrides. The three grids of `sdae reproduce` (best, paper, quick) are the TOML files
//! in `experiments/`, compiled into the binary; any other grid file can be given by path.
//!
//! ```toml
//! name = "quick"
//! description = "..."
//! [base]                      # a training config (same keys as `sdae train --config`)
//! seed = 1
//! [base.pretrain]
//! lr = 0.01
//! [[base.layers]]
//! width = 1000
//! [axes]                      # dotted path -> list of values; "widths" sets every layer's width
//! "pretrain.nu" = [0.0, 0.25]
//! [tasks.rectangles]          # per task: `set` overrides base keys, `axes` replaces axes
//! set = { "finetune.batch" = 10 }
//! axes = { "pretrain.nu" = [0.0, 0.10] }
//! [families]                  # the results column of a run, by its axis values
//! "SAA-3" = { "pretrain.nu" = [0.0] }
//! "SdA-3" = { "pretrain.nu" = [0.10, 0.25] }
//! ```
//!
//! A run belongs to the family whose every listed axis takes one of the listed values; exactly
//! one family must match each run (an error names the run otherwise). A grid without
//! `[families]` uses the paper's definition: RBM layers (`[model] layer_kind = "rbm"`) are a
//! DBN, DBN-1 with one layer and DBN-3 with more; otherwise SAA-3 (stacked basic autoencoders)
//! when every layer has ν = 0, SdA-3 otherwise. A declared family of RBM runs names the kind as
//! an axis, e.g. `"DBN-3" = { "model.layer_kind" = ["rbm"] }`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::config::{Config, Overrides};

/// The most runs one sweep may hold: the `MaxArraySize` of scripts/slurm-local.sh (the
/// paper's grid has a few hundred).
pub const MAX_RUNS: usize = 100_000;

/// The grids shipped with sdae, by name.
pub const BUILTIN: [(&str, &str); 3] = [
    ("best", include_str!("../../experiments/best.toml")),
    ("paper", include_str!("../../experiments/paper.toml")),
    ("quick", include_str!("../../experiments/quick.toml")),
];

/// Which column of the results table a run competes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    /// Stacked denoising autoencoders (ν > 0 in some layer).
    #[serde(rename = "SdA-3")]
    Sda,
    /// Stacked basic autoencoders (ν = 0 everywhere).
    #[serde(rename = "SAA-3")]
    Saa,
    /// A deep belief net of one RBM (`[model] layer_kind = "rbm"`, one layer).
    #[serde(rename = "DBN-1")]
    Dbn1,
    /// A deep belief net of stacked RBMs (`layer_kind = "rbm"`, more than one layer).
    #[serde(rename = "DBN-3")]
    Dbn3,
}

impl Family {
    /// Every family, in the results table's column order.
    pub const ALL: [Family; 4] = [Family::Sda, Family::Saa, Family::Dbn1, Family::Dbn3];

    pub fn name(self) -> &'static str {
        match self {
            Family::Sda => "SdA-3",
            Family::Saa => "SAA-3",
            Family::Dbn1 => "DBN-1",
            Family::Dbn3 => "DBN-3",
        }
    }

    /// The family named `s` (as written in results files and grids).
    pub fn parse(s: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// One run of a grid: a task and a complete training config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Position in the manifest (0-based); also the Slurm array index.
    pub index: usize,
    pub task: String,
    pub family: Family,
    /// The axis values of this run, e.g. `pretrain.nu=0.25 widths=[2000,1000,1000]`.
    pub label: String,
    /// The full training config as TOML text (what `sdae train --config` reads).
    pub config: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    #[serde(default)]
    set: Table,
    #[serde(default)]
    axes: Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    name: Option<String>,
    #[serde(default)]
    description: String,
    base: Table,
    #[serde(default)]
    axes: Table,
    #[serde(default)]
    tasks: BTreeMap<String, RawTask>,
    #[serde(default)]
    families: BTreeMap<String, Table>,
}

/// Axes: (dotted config path, the values it takes), first axis varying slowest.
type Axes = Vec<(String, Vec<Value>)>;

/// `[families]`: per family, the axis values that put a run in it.
type Families = Vec<(Family, Axes)>;

/// A parsed grid.
pub struct Grid {
    pub name: String,
    pub description: String,
    base: Table,
    axes: Axes,
    tasks: BTreeMap<String, (Table, Axes)>,
    /// Empty: the paper's rule (SAA-3 when every ν is 0).
    families: Families,
    /// `--seed`: the training seed of every run, over the grid's own (see [`Grid::with_seed`]).
    seed: Option<u64>,
}

fn axes_list(t: &Table, what: &str) -> Result<Axes, String> {
    t.iter()
        .map(|(k, v)| match v {
            Value::Array(a) if !a.is_empty() => Ok((k.clone(), a.clone())),
            _ => Err(format!(
                "{what}: axis '{k}' must be a non-empty list of values"
            )),
        })
        .collect()
}

impl Grid {
    /// Parse grid TOML; `what` names the source in errors.
    pub fn parse(text: &str, what: &str) -> Result<Grid, String> {
        let raw: RawGrid = toml::from_str(text).map_err(|e| format!("grid {what}: {e}"))?;
        let mut tasks = BTreeMap::new();
        for (t, rt) in raw.tasks {
            if crate::data::task_sizes(&t).is_none() {
                return Err(format!(
                    "grid {what}: [tasks.{t}]: unknown task (expected one of {})",
                    crate::data::TASKS.join(", ")
                ));
            }
            let ax = axes_list(&rt.axes, &format!("grid {what}: [tasks.{t}]"))?;
            tasks.insert(t, (rt.set, ax));
        }
        let mut families = Vec::new();
        for (name, t) in &raw.families {
            let f = Family::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Family::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "grid {what}: [families] {name:?}: unknown family (expected one of {})",
                    known.join(", ")
                )
            })?;
            let ax = axes_list(t, &format!("grid {what}: [families] {name:?}"))?;
            if ax.is_empty() {
                return Err(format!(
                    "grid {what}: [families] {name:?}: expected at least one axis and its values"
                ));
            }
            families.push((f, ax));
        }
        Ok(Grid {
            name: raw.name.unwrap_or_else(|| what.to_string()),
            description: raw.description,
            axes: axes_list(&raw.axes, &format!("grid {what}"))?,
            base: raw.base,
            tasks,
            families,
            seed: None,
        })
    }

    /// A built-in grid by name (`best`, `paper`, `quick`) or a grid file by path.
    pub fn load(name_or_path: &str) -> Result<Grid, String> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Grid::parse(text, name_or_path);
        }
        let p = Path::new(name_or_path);
        if !p.exists() {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "--grid {name_or_path}: neither a built-in grid ({}) nor an existing file",
                names.join(", ")
            ));
        }
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("--grid {}: cannot read: {e}", p.display()))?;
        Grid::parse(&text, &p.display().to_string())
    }

    /// Override the training seed of every run (base, per-task `set` and all): the same grid
    /// re-run at another seed, to measure how much the results move with it. Refused if the
    /// grid sweeps `seed` as an axis.
    pub fn with_seed(mut self, seed: u64) -> Result<Grid, String> {
        let swept = self.axes.iter().any(|(k, _)| k == "seed")
            || self
                .tasks
                .values()
                .any(|(_, ax)| ax.iter().any(|(k, _)| k == "seed"));
        if swept {
            return Err(format!(
                "--seed {seed}: grid {} already sweeps the seed as an axis",
                self.name
            ));
        }
        if i64::try_from(seed).is_err() {
            return Err(format!(
                "--seed {seed}: expected at most {} (a TOML integer)",
                i64::MAX
            ));
        }
        self.seed = Some(seed);
        Ok(self)
    }

    /// Every run of this grid for `tasks`, in task order then axis order (the first axis varies
    /// slowest). Each run's config is validated. Refuses more than [`MAX_RUNS`] runs: a few
    /// hundred bytes of axes could otherwise ask for 10^9 runs.
    pub fn expand(&self, tasks: &[String]) -> Result<Vec<RunSpec>, String> {
        let mut runs = Vec::new();
        for task in tasks {
            let (set, task_axes) = self
                .tasks
                .get(task)
                .map(|(s, a)| (s.clone(), a.clone()))
                .unwrap_or_default();
            let mut base = self.base.clone();
            for (path, v) in &set {
                set_path(&mut base, path, v.clone())
                    .map_err(|e| format!("grid {}: [tasks.{task}] set: {e}", self.name))?;
            }
            if let Some(seed) = self.seed {
                // with_seed checked that it fits a TOML integer.
                set_path(&mut base, "seed", Value::Integer(seed as i64))?;
            }
            let mut axes = self.axes.clone();
            for (k, vals) in task_axes {
                match axes.iter_mut().find(|(a, _)| *a == k) {
                    Some(slot) => slot.1 = vals,
                    None => axes.push((k, vals)),
                }
            }
            let combos = axes
                .iter()
                .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
                .filter(|&n| n.saturating_add(runs.len()) <= MAX_RUNS)
                .ok_or_else(|| {
                    let sizes: Vec<String> = axes
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.len()))
                        .collect();
                    format!(
                        "grid {}: its axes give more than {MAX_RUNS} runs ({} so far, then {} for task {task}), expected at most {MAX_RUNS}: remove axis values",
                        self.name,
                        runs.len(),
                        sizes.join(" x ")
                    )
                })?;
            for c in 0..combos {
                let mut cfg = base.clone();
                let mut label = Vec::new();
                let mut rest = c;
                let mut picks = vec![0; axes.len()];
                for (ai, (_, vals)) in axes.iter().enumerate().rev() {
                    picks[ai] = rest % vals.len();
                    rest /= vals.len();
                }
                for (ai, (k, vals)) in axes.iter().enumerate() {
                    let v = vals[picks[ai]].clone();
                    label.push(format!("{k}={}", compact(&v)));
                    set_path(&mut cfg, k, v)
                        .map_err(|e| format!("grid {}: axis {k}: {e}", self.name))?;
                }
                let text = toml::to_string(&cfg).map_err(|e| e.to_string())?;
                let what = format!("grid {} run {task} [{}]", self.name, label.join(" "));
                let parsed = Config::from_toml(&text, &what, &Overrides::default())
                    .map_err(|e| e.to_string())?;
                let family = if self.families.is_empty() {
                    if parsed.rbm.is_some() {
                        if parsed.layers.len() == 1 {
                            Family::Dbn1
                        } else {
                            Family::Dbn3
                        }
                    } else if parsed.layers.iter().all(|l| l.nu == 0.0) {
                        Family::Saa
                    } else {
                        Family::Sda
                    }
                } else {
                    let value_of = |k: &str| {
                        axes.iter()
                            .position(|(a, _)| a == k)
                            .map(|ai| &axes[ai].1[picks[ai]])
                    };
                    let matching: Vec<Family> = self
                        .families
                        .iter()
                        .filter(|(_, conds)| {
                            conds.iter().all(|(k, vals)| {
                                value_of(k).is_some_and(|v| vals.iter().any(|w| same_value(v, w)))
                            })
                        })
                        .map(|(f, _)| *f)
                        .collect();
                    match matching[..] {
                        [f] => f,
                        _ => {
                            return Err(format!(
                                "{what}: [families] should put this run in exactly one family, \
                                 {} match",
                                if matching.is_empty() {
                                    "none".to_string()
                                } else {
                                    matching
                                        .iter()
                                        .map(|f| f.name())
                                        .collect::<Vec<_>>()
                                        .join(" and ")
                                }
                            ))
                        }
                    }
                };
                runs.push(RunSpec {
                    index: runs.len(),
                    task: task.clone(),
                    family,
                    label: label.join(" "),
                    config: text,
                });
            }
        }
        Ok(runs)
    }
}

/// Equal TOML values, with `0` and `0.0` the same number (as the config reads them).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(i), Value::Float(f)) | (Value::Float(f), Value::Integer(i)) => {
            *i as f64 == *f
        }
        _ => a == b,
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(compact).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Set a dotted path (`pretrain.nu`) in a TOML table, creating tables on the way. The path
/// `widths` sets the width of every `[[layers]]` entry (creating entries as needed).
pub fn set_path(t: &mut Table, path: &str, v: Value) -> Result<(), String> {
    if path == "widths" {
        let ws = v
            .as_array()
            .ok_or_else(|| format!("widths = {v}: expected a list of layer widths"))?;
        let layers = t
            .entry("layers")
            .or_insert_with(|| Value::Array(Vec::new()));
        let arr = layers
            .as_array_mut()
            .ok_or("layers: expected an array of tables")?;
        arr.truncate(ws.len());
        while arr.len() < ws.len() {
            arr.push(Value::Table(Table::new()));
        }
        for (slot, w) in arr.iter_mut().zip(ws) {
            slot.as_table_mut()
                .ok_or("layers: expected an array of tables")?
                .insert("width".into(), w.clone());
        }
        return Ok(());
    }
    let mut cur = t;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{path}: '{p}' is not a table"))?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = r#"
name = "t"
[base]
seed = 3
[base.pretrain]
lr = 0.01
epochs = 1
batch = 4
[[base.layers]]
width = 8
[[base.layers]]
width = 8
[base.finetune]
lr = 0.1
max_epochs = 2
patience = 1
batch = 4
[axes]
"pretrain.nu" = [0.0, 0.25]
widths = [[8, 8], [16, 8]]
[tasks.rectangles]
axes = { "pretrain.nu" = [0.1] }
set = { "finetune.lr" = 0.05 }
"#;

    #[test]
    fn expands_every_combination_with_task_overrides() {
        let g = Grid::parse(G, "t").unwrap();
        let runs = g
            .expand(&["mnist-basic".into(), "rectangles".into()])
            .unwrap();
        assert_eq!(runs.len(), 4 + 2);
        assert_eq!(runs[0].family, Family::Saa);
        assert_eq!(runs[2].family, Family::Sda);
        assert_eq!(runs[1].label, "pretrain.nu=0.0 widths=[16,8]");
        assert!(runs[4..].iter().all(|r| r.family == Family::Sda));
        assert!(runs[4].config.contains("0.05"));
        let cfg = Config::from_toml(&runs[3].config, "r", &Overrides::default()).unwrap();
        assert_eq!(cfg.layers[0].width, 16);
        assert_eq!(cfg.layers[1].nu, 0.25);
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.index, i);
        }
    }

    #[test]
    fn builtin_grids_parse_and_expand() {
        let all: Vec<String> = crate::data::TASKS.iter().map(|s| s.to_string()).collect();
        for (name, _) in BUILTIN {
            let g = Grid::load(name).unwrap();
            let runs = g.expand(&all).unwrap();
            for t in &all {
                for f in [Family::Sda, Family::Saa] {
                    assert!(
                        runs.iter().any(|r| &r.task == t && r.family == f),
                        "grid {name}: no {} run for {t}",
                        f.name()
                    );
                }
            }
        }
    }

    #[test]
    fn seed_overrides_every_run_even_a_task_set() {
        let text = G.replace(
            "set = { \"finetune.lr\" = 0.05 }",
            "set = { \"finetune.lr\" = 0.05, seed = 9 }",
        );
        let tasks = ["mnist-basic".to_string(), "rectangles".to_string()];
        let seeds = |g: &Grid| -> Vec<u64> {
            g.expand(&tasks)
                .unwrap()
                .iter()
                .map(|r| {
                    Config::from_toml(&r.config, "r", &Overrides::default())
                        .unwrap()
                        .seed
                })
                .collect()
        };
        let g = Grid::parse(&text, "t").unwrap();
        assert_eq!(seeds(&g), [3, 3, 3, 3, 9, 9]);
        let g = g.with_seed(42).unwrap();
        assert_eq!(seeds(&g), [42; 6]);
        // Everything but the seed is the same plan.
        let plain = Grid::parse(&text, "t").unwrap().expand(&tasks).unwrap();
        let seeded = g.expand(&tasks).unwrap();
        for (a, b) in plain.iter().zip(&seeded) {
            assert_eq!(a.label, b.label);
            assert_eq!(a.family, b.family);
        }
    }

    #[test]
    fn seed_is_refused_for_a_grid_that_sweeps_it() {
        let text = G.replace("[axes]\n", "[axes]\nseed = [1, 2]\n");
        let e = Grid::parse(&text, "t").unwrap().with_seed(5).err().unwrap();
        assert!(e.contains("--seed 5") && e.contains("axis"), "{e}");
        let e = Grid::parse(G, "t")
            .unwrap()
            .with_seed(u64::MAX)
            .err()
            .unwrap();
        assert!(e.contains("at most"), "{e}");
    }

    #[test]
    fn families_come_from_the_grid_when_it_names_them() {
        // Declared families win over the ν rule: here ν = 0.25 is declared SAA-3 (a made-up
        // column assignment no rule could infer).
        let text = format!(
            "{G}[families]\n\"SAA-3\" = {{ \"pretrain.nu\" = [0.25] }}\n\
             \"SdA-3\" = {{ \"pretrain.nu\" = [0.0, 0.1] }}\n"
        );
        let runs = Grid::parse(&text, "t")
            .unwrap()
            .expand(&["mnist-basic".into(), "rectangles".into()])
            .unwrap();
        let fams: Vec<Family> = runs.iter().map(|r| r.family).collect();
        use Family::{Saa, Sda};
        assert_eq!(fams, [Sda, Sda, Saa, Saa, Sda, Sda]);
        // A run no family claims, or two claim, is an error naming it.
        let none = format!("{G}[families]\n\"SAA-3\" = {{ \"pretrain.nu\" = [0.0] }}\n");
        let e = Grid::parse(&none, "t")
            .unwrap()
            .expand(&["mnist-basic".into()])
            .unwrap_err();
        assert!(
            e.contains("pretrain.nu=0.25") && e.contains("none match"),
            "{e}"
        );
        let two = format!(
            "{G}[families]\n\"SAA-3\" = {{ widths = [[8, 8]] }}\n\
             \"SdA-3\" = {{ \"pretrain.nu\" = [0.0, 0.25] }}\n"
        );
        let e = Grid::parse(&two, "t")
            .unwrap()
            .expand(&["mnist-basic".into()])
            .unwrap_err();
        assert!(e.contains("SAA-3 and SdA-3"), "{e}");
        let bad = format!("{G}[families]\n\"DBN-9\" = {{ seed = [1] }}\n");
        assert!(Grid::parse(&bad, "t")
            .err()
            .unwrap()
            .contains("unknown family"));
    }

    #[test]
    fn builtin_grids_declare_the_families_the_nu_rule_gives() {
        // The built-in grids name their families; they agree with the paper's definition.
        let all: Vec<String> = crate::data::TASKS.iter().map(|s| s.to_string()).collect();
        for (name, _) in BUILTIN {
            let g = Grid::load(name).unwrap();
            assert!(!g.families.is_empty(), "grid {name} has no [families]");
            for r in g.expand(&all).unwrap() {
                let c = Config::from_toml(&r.config, "r", &Overrides::default()).unwrap();
                let saa = c.layers.iter().all(|l| l.nu == 0.0);
                assert_eq!(r.family == Family::Saa, saa, "grid {name} run {}", r.index);
            }
        }
    }

    #[test]
    fn bad_grids_are_rejected_with_the_reason() {
        let e = Grid::parse("[base]\n[tasks.nope]\n", "g").err().unwrap();
        assert!(e.contains("unknown task"), "{e}");
        let e = Grid::parse("[base]\n[axes]\nx = 3\n", "g").err().unwrap();
        assert!(e.contains("non-empty list"), "{e}");
        assert!(Grid::load("no-such-grid").is_err());
    }

    #[test]
    fn rbm_runs_are_dbn_families() {
        // Without [families]: RBM layers are DBN-1 (one layer) or DBN-3 (more), whatever ν.
        let rbm = G.replace(
            "[base.pretrain]",
            "[base.model]\nlayer_kind = \"rbm\"\n[base.pretrain]",
        );
        let runs = Grid::parse(&rbm, "t")
            .unwrap()
            .expand(&["mnist-basic".into()])
            .unwrap();
        assert_eq!(runs.len(), 4);
        assert!(runs.iter().all(|r| r.family == Family::Dbn3), "{runs:?}");
        let one = rbm.replace("widths = [[8, 8], [16, 8]]", "widths = [[8]]");
        let runs = Grid::parse(&one, "t")
            .unwrap()
            .expand(&["mnist-basic".into()])
            .unwrap();
        assert!(runs.iter().all(|r| r.family == Family::Dbn1), "{runs:?}");
        // Declared: the kind as an axis puts DAE and RBM runs of one grid in their columns.
        let mixed = G.replace(
            "widths = [[8, 8], [16, 8]]",
            "widths = [[8, 8], [16, 8]]\n\"model.layer_kind\" = [\"dae\", \"rbm\"]",
        ) + "[families]\n\
             \"DBN-3\" = { \"model.layer_kind\" = [\"rbm\"] }\n\
             \"SAA-3\" = { \"model.layer_kind\" = [\"dae\"], \"pretrain.nu\" = [0.0] }\n\
             \"SdA-3\" = { \"model.layer_kind\" = [\"dae\"], \"pretrain.nu\" = [0.25] }\n";
        let runs = Grid::parse(&mixed, "t")
            .unwrap()
            .expand(&["mnist-basic".into()])
            .unwrap();
        assert_eq!(runs.len(), 8);
        for r in &runs {
            let cfg = Config::from_toml(&r.config, "r", &Overrides::default()).unwrap();
            let want = match (cfg.rbm.is_some(), cfg.layers[0].nu == 0.0) {
                (true, _) => Family::Dbn3,
                (false, true) => Family::Saa,
                (false, false) => Family::Sda,
            };
            assert_eq!(r.family, want, "{}", r.label);
        }
        assert_eq!(Family::parse("DBN-1"), Some(Family::Dbn1));
        assert_eq!(Family::parse("DBN-3"), Some(Family::Dbn3));
    }
}
