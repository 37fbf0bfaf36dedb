//! What the `pretrain`, `finetune`, `train`, `eval` and `encode` subcommands do, over
//! [`super::run`] (their arguments: [`crate::cli::train`]). Progress bars go to stderr; `--json` prints one JSON
//! object per epoch on stdout instead; `--quiet` prints only the final result.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sdae_kernels::kernels;

use super::run::{encode_all, run, EpochReport, Observer, RunOptions};
use super::{evaluate, Forward, SplitView};
use crate::cli::train::{DataArgs, EncodeArgs, EvalArgs, TrainArgs};
use crate::config::{Config, Overrides};
use crate::data::{split_path, write_dataset, Dataset};
use crate::error::Error;
use crate::model::Model;

/// `println!` that ignores a closed stdout (`sdae ... | head`) instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// Which phases a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phases {
    Pretrain,
    Finetune,
    Both,
}

/// Map a split and check it once (values, labels, checksum) before anything reads it.
fn open(path: &Path) -> Result<Dataset, Error> {
    let ds = Dataset::open(path)?;
    ds.verify_inputs()?;
    Ok(ds)
}

fn view<'a>(name: &str, ds: &'a Dataset) -> Result<SplitView<'a>, Error> {
    Ok(SplitView::new(
        &format!("{name} {}", ds.path().display()),
        ds.features(),
        ds.labels(),
        ds.cols(),
        ds.classes(),
    )?)
}

fn split_file(a: &DataArgs, explicit: &Option<PathBuf>, split: &str) -> Result<PathBuf, Error> {
    if let Some(p) = explicit {
        return Ok(p.clone());
    }
    match &a.task {
        Some(t) => Ok(split_path(&a.data, t, split)),
        None => Err(Error::Usage(format!(
            "no {split} split: give --{split} FILE or --task NAME (with --data DIR)"
        ))),
    }
}

/// The terminal observer: progress bars, per-epoch lines or JSON.
struct Console {
    quiet: bool,
    json: bool,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Console {
    fn drawing(&self) -> bool {
        !self.quiet && !self.json
    }
}

impl Observer for Console {
    fn layer_start(&mut self, layer: usize, epochs: usize) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.drawing() {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(4));
            b.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            b.set_prefix(if layer == 0 {
                format!("finetune (max {epochs} epochs)")
            } else {
                format!("pretrain layer {layer} ({epochs} epochs)")
            });
            self.bar = Some(b);
        }
    }

    fn batches(
        &mut self,
        done: usize,
        total: usize,
        _phase: &'static str,
        _layer: usize,
        epoch: usize,
    ) {
        if let Some(b) = &self.bar {
            // Touch the bar about 100 times per epoch: its redraws stay out of the hot loop.
            if done == 1 || done == total || done.is_multiple_of((total / 100).max(1)) {
                if done == 1 {
                    b.set_length(total as u64);
                    b.set_message(format!("epoch {epoch}"));
                }
                b.set_position(done as u64);
            }
        }
    }

    fn epoch(&mut self, r: &EpochReport) {
        if self.json {
            // A closed pipe (`| head`) must not abort training: ignore write errors here.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string(r).expect("report serialises")
            );
        } else if !self.quiet {
            let v = r
                .valid_error
                .map_or(String::new(), |v| format!("  valid error {v:.2}%"));
            let line = format!(
                "{} {}epoch {:>3}  loss {:.4}{v}  {:.0} ex/s  {:.1}s  (total {:.0}s)",
                r.phase,
                if r.layer > 0 {
                    format!("layer {} ", r.layer)
                } else {
                    String::new()
                },
                r.epoch,
                r.loss,
                r.examples_per_s,
                r.seconds,
                self.started.elapsed().as_secs_f64()
            );
            match &self.bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    }
}

fn overrides(a: &TrainArgs) -> Overrides {
    Overrides {
        seed: a.seed,
        widths: a.widths.clone(),
        nu: a.nu,
        lr: a.lr,
        epochs: a.epochs,
        batch: a.batch,
        noise: a.noise.clone(),
        loss: a.loss.clone(),
        untied: a.untied,
        layer_kind: a.layer_kind.clone(),
        finetune_lr: a.finetune_lr,
        max_epochs: a.max_epochs,
        patience: a.patience,
        finetune_batch: a.finetune_batch,
    }
}

/// `sdae pretrain | finetune | train`.
pub fn train_command(a: TrainArgs, phases: Phases) -> Result<(), Error> {
    let ov = overrides(&a);
    let cfg = match &a.config {
        Some(p) => Config::load(p, &ov)?,
        None => Config::defaults(&ov)?,
    };
    let want_ft = phases != Phases::Pretrain;
    let train_ds = open(&split_file(&a.data, &a.data.train, "train")?)?;
    let valid_ds = if want_ft {
        Some(open(&split_file(&a.data, &a.data.valid, "valid")?)?)
    } else {
        None
    };
    let test_ds = match (&a.data.test, &a.data.task) {
        (None, None) => None,
        _ if want_ft => Some(open(&split_file(&a.data, &a.data.test, "test")?)?),
        _ => None,
    };
    let train = view("training set", &train_ds)?;
    let valid = valid_ds
        .as_ref()
        .map(|d| view("validation set", d))
        .transpose()?;
    let test = test_ds.as_ref().map(|d| view("test set", d)).transpose()?;
    let start = match (phases, &a.model) {
        (Phases::Finetune, Some(p)) => {
            let m = Model::load(p)?;
            if m.input_dim() != train.cols {
                return Err(Error::Usage(format!(
                    "--model {}: takes {} inputs but the training set {} has {} columns",
                    p.display(),
                    m.input_dim(),
                    train_ds.path().display(),
                    train.cols
                )));
            }
            let here = crate::plan::current_hash();
            if let Some(pv) = m.provenance.as_ref().filter(|pv| pv.plan_hash != here) {
                eprintln!(
                    "warning: --model {} was pre-trained under GEMM plan {} ({}, {}); this run fine-tunes under plan {here}: the result will not be bit-identical to one run under either plan",
                    p.display(),
                    pv.plan_hash,
                    pv.isa,
                    pv.plan
                );
            }
            Some(Model { output: None, ..m })
        }
        (Phases::Finetune, None) => {
            return Err(Error::Usage(
                "finetune: --model PRETRAINED is required".into(),
            ))
        }
        _ => None,
    };
    let ckpt = a.checkpoint.clone().unwrap_or_else(|| {
        let mut s = a.out.clone().into_os_string();
        s.push(".ckpt");
        PathBuf::from(s)
    });
    if a.resume && !ckpt.exists() {
        return Err(Error::Usage(format!(
            "--resume: checkpoint {} does not exist",
            ckpt.display()
        )));
    }
    let mut console = Console {
        quiet: a.quiet,
        json: a.json,
        bar: None,
        started: Instant::now(),
    };
    let t0 = Instant::now();
    let res = {
        let mut opts = RunOptions {
            pretrain: phases != Phases::Finetune,
            finetune: want_ft,
            checkpoint: Some(ckpt.clone()),
            resume: a.resume,
            observer: &mut console,
        };
        run(
            kernels(),
            &cfg,
            start,
            &train,
            valid.as_ref(),
            test.as_ref(),
            &mut opts,
        )?
    };
    if let Some(b) = console.bar.take() {
        b.finish_and_clear();
    }
    res.model.save(&a.out)?;
    let secs = t0.elapsed().as_secs_f64();
    let pct = |e: &super::EvalResult| (100.0 * e.error_rate(), 100.0 * e.ci95());
    if a.json {
        let obj = serde_json::json!({
            "phase": "result",
            "model": a.out.display().to_string(),
            "best_epoch": res.best_epoch,
            "valid_error": res.valid.as_ref().map(|v| pct(v).0),
            "test_error": res.test.as_ref().map(|v| pct(v).0),
            "test_ci95": res.test.as_ref().map(|v| pct(v).1),
            "seconds": secs,
        });
        say!("{obj}");
    } else {
        say!("model written to {} ({secs:.1}s)", a.out.display());
        if let Some(v) = &res.valid {
            say!(
                "valid error {:.2}% (best epoch {})",
                pct(v).0,
                res.best_epoch
            );
        }
        if let Some(t) = &res.test {
            let (e, ci) = pct(t);
            say!(
                "test error {e:.2}% ± {ci:.2}% (95% interval, n = {})",
                t.rows
            );
        }
    }
    Ok(())
}

/// That the dataset at `data_path` has as many columns as the model at `model_path` inputs.
fn fits_model(
    data_path: &Path,
    ds: &Dataset,
    model_path: &Path,
    model: &Model,
) -> Result<(), Error> {
    if ds.cols() != model.input_dim() {
        return Err(Error::Usage(format!(
            "{}: {} columns, but the model {} takes {} inputs",
            data_path.display(),
            ds.cols(),
            model_path.display(),
            model.input_dim()
        )));
    }
    Ok(())
}

/// `sdae eval MODEL DATASET`.
pub fn eval_command(a: EvalArgs) -> Result<(), Error> {
    if a.robustness {
        return robustness_command(a);
    }
    let model = Model::load(&a.model)?;
    let ds = open(&a.dataset)?;
    fits_model(&a.dataset, &ds, &a.model, &model)?;
    let classes = model.output.as_ref().map_or(0, |o| o.k);
    if classes == 0 {
        return Err(Error::Usage(format!(
            "{}: the model has no output layer (pre-trained only): fine-tune it first",
            a.model.display()
        )));
    }
    if let Some(&bad) = ds.labels().iter().find(|&&l| l as usize >= classes) {
        return Err(Error::Usage(format!(
            "{}: label {bad} but the model has {classes} classes",
            a.dataset.display()
        )));
    }
    let k = kernels();
    let mut fwd = Forward::new(&model, 256);
    let r = evaluate(k, &model, &mut fwd, ds.features(), ds.labels(), ds.rows())?;
    let (e, ci) = (100.0 * r.error_rate(), 100.0 * r.ci95());
    if a.json {
        say!(
            "{}",
            serde_json::json!({"model": a.model.display().to_string(), "dataset": a.dataset.display().to_string(),
                "rows": r.rows, "errors": r.errors, "error": e, "ci95": ci, "nll": r.nll,
                "trained_under": model.provenance})
        );
    } else {
        say!(
            "error {e:.2}% ± {ci:.2}% (95% interval; {} of {} wrong), mean NLL {:.4}",
            r.errors,
            r.rows,
            r.nll
        );
    }
    Ok(())
}

/// `sdae encode MODEL DATASET --layer K --out PATH`.
pub fn encode_command(a: EncodeArgs) -> Result<(), Error> {
    let model = Model::load(&a.model)?;
    let ds = open(&a.dataset)?;
    let nl = model.layers.len();
    let layer = a.layer.unwrap_or(nl);
    if layer == 0 || layer > nl {
        return Err(Error::Usage(format!(
            "--layer {layer}: expected 1..={nl} (the model {} has {nl} layers)",
            a.model.display()
        )));
    }
    fits_model(&a.dataset, &ds, &a.model, &model)?;
    let rep = encode_all(kernels(), &model, layer, ds.features(), ds.rows())?;
    let h = model.layers[layer - 1].h();
    write_dataset(&a.out, &rep, ds.labels(), h, ds.classes())?;
    say!(
        "wrote {} ({} rows x {h} columns, layer {layer})",
        a.out.display(),
        ds.rows()
    );
    Ok(())
}

/// `sdae eval --robustness MODEL DATASET [--and MODEL ...]`: see [`super::robustness`].
fn robustness_command(a: EvalArgs) -> Result<(), Error> {
    if let Some(p) = &a.plot {
        if !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            return Err(Error::Usage(format!(
                "--plot {}: expected a file name ending in .png",
                p.display()
            )));
        }
    }
    let paths: Vec<&PathBuf> = std::iter::once(&a.model).chain(&a.and).collect();
    if !a.labels.is_empty() && a.labels.len() != paths.len() {
        return Err(Error::Usage(format!(
            "--labels: {} names for {} models",
            a.labels.len(),
            paths.len()
        )));
    }
    let mut nus = vec![0.0];
    nus.extend(a.nu.iter().copied().filter(|&v| v != 0.0));
    let ds = open(&a.dataset)?;
    let k = kernels();
    let mut labels = Vec::new();
    let mut all = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let model = Model::load(p)?;
        if ds.cols() != model.input_dim() {
            return Err(Error::Usage(format!(
                "{}: {} columns, but the model {} takes {} inputs",
                a.dataset.display(),
                ds.cols(),
                p.display(),
                model.input_dim()
            )));
        }
        let name = a.labels.get(i).cloned().unwrap_or_else(|| {
            p.file_stem()
                .map_or_else(|| p.display().to_string(), |s| s.to_string_lossy().into())
        });
        let levels = super::robustness::measure(
            k,
            &model,
            ds.features(),
            ds.labels(),
            ds.rows(),
            &nus,
            a.seed,
        )?;
        labels.push(name);
        all.push(levels);
    }
    if a.json {
        let rows: Vec<_> = labels
            .iter()
            .zip(&all)
            .map(|(n, l)| serde_json::json!({"model": n, "levels": l}))
            .collect();
        say!(
            "{}",
            serde_json::json!({"dataset": a.dataset.display().to_string(), "rows": ds.rows(),
                "seed": a.seed, "models": rows})
        );
    } else {
        say!(
            "{}: {} rows, masking noise seed {} (the same corrupted inputs for every model)",
            a.dataset.display(),
            ds.rows(),
            a.seed
        );
        say!("model            nu   error %   code change |f(x~)-f(x)|/|f(x)| by layer");
        for (n, levels) in labels.iter().zip(&all) {
            for l in levels {
                let e = l.error.map_or("-".to_string(), |e| format!("{e:.2}"));
                let c: Vec<String> = l.code_change.iter().map(|c| format!("{c:.3}")).collect();
                say!("{n:<14} {:>4.0}%  {e:>7}   {}", 100.0 * l.nu, c.join("  "));
            }
        }
    }
    if let Some(p) = &a.plot {
        crate::viz::robustness::plot(&labels, &all)
            .save(p)
            .map_err(Error::Usage)?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
