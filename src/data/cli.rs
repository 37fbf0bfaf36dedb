//! `sdae data ...`: what each data subcommand does (its arguments: [`crate::cli::data`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::amat::{import_amat, import_larochelle};
use super::generate::{generate_tasks, Sources};
use super::idx::import_idx;
use super::inspect::{dataset_files, info_text};
use super::recipe::Recipe;
use super::{Dataset, TASKS};
use crate::cli::data::DataCommand;
use crate::viz::montage::preview;

/// Default source folder: `$DATA_SRC`, else `../shared/datasets` (relative to the checkout).
pub fn default_source() -> PathBuf {
    std::env::var_os("DATA_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/datasets"))
}

fn verify_one(p: &Path) -> Result<String, String> {
    let ds = Dataset::open(p).map_err(|e| e.to_string())?;
    // The same one-pass check training runs on every split it maps.
    let t0 = std::time::Instant::now();
    ds.verify_inputs().map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    let mb = std::fs::metadata(p).map_or(0, |m| m.len()) as f64 / 1e6;
    Ok(format!(
        "{}: ok ({} x {}, {} classes, values in [0, 1], checksum {:016x}; {mb:.1} MB checked in {:.1} ms, {:.1} GB/s)",
        p.display(),
        ds.rows(),
        ds.cols(),
        ds.classes(),
        ds.checksum(),
        secs * 1e3,
        mb / 1e3 / secs.max(1e-9)
    ))
}

pub fn run(cmd: DataCommand) -> Result<(), String> {
    match cmd {
        DataCommand::Info { path } => {
            let files = dataset_files(&path).map_err(|e| e.to_string())?;
            let mut failed = 0;
            for f in &files {
                match info_text(f) {
                    Ok(t) if t.contains("checksum FAILED") => {
                        failed += 1;
                        print!("{t}");
                    }
                    Ok(t) => print!("{t}"),
                    Err(e) => {
                        failed += 1;
                        eprintln!("sdae: {e}");
                    }
                }
            }
            if failed > 0 {
                return Err(format!("{failed} of {} file(s) failed", files.len()));
            }
            Ok(())
        }
        DataCommand::Fidelity {
            dir,
            json,
            yardstick,
        } => {
            let v = super::fidelity::fidelity(&dir, &yardstick).map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", super::fidelity::fidelity_text(&v));
            }
            Ok(())
        }
        DataCommand::Verify { path } => {
            let files = dataset_files(&path).map_err(|e| e.to_string())?;
            let mut failed = 0;
            for f in &files {
                match verify_one(f) {
                    Ok(t) => println!("{t}"),
                    Err(e) => {
                        failed += 1;
                        eprintln!("sdae: {e}");
                    }
                }
            }
            if failed > 0 {
                return Err(format!(
                    "{failed} of {} file(s) failed verification",
                    files.len()
                ));
            }
            Ok(())
        }
        DataCommand::Preview {
            file,
            out,
            per_class,
            scale,
        } => {
            let ds = Dataset::open(&file).map_err(|e| e.to_string())?;
            preview(&ds, &out, per_class, scale).map_err(|e| e.to_string())?;
            println!("wrote {}", out.display());
            Ok(())
        }
        DataCommand::ImportIdx {
            images,
            labels,
            out,
            classes,
        } => {
            let (rows, cols) =
                import_idx(&images, &labels, &out, classes).map_err(|e| e.to_string())?;
            println!("wrote {} ({rows} x {cols})", out.display());
            Ok(())
        }
        DataCommand::ImportAmat {
            train,
            test,
            out,
            classes,
            valid_rows,
        } => {
            let t0 = Instant::now();
            let [a, b, c] =
                import_amat(&train, &test, &out, classes, valid_rows).map_err(|e| e.to_string())?;
            let secs = t0.elapsed().as_secs_f64();
            let bytes: u64 = [&train, &test]
                .iter()
                .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
                .sum();
            println!(
                "wrote {}/{{train,valid,test}}.sdd ({a} / {b} / {c} rows) in {secs:.2} s: {:.0} MB/s of text",
                out.display(),
                bytes as f64 / 1e6 / secs
            );
            Ok(())
        }
        DataCommand::ImportLarochelle {
            dir,
            out,
            valid_rows,
        } => {
            let t0 = Instant::now();
            let done = import_larochelle(&dir, &out, valid_rows).map_err(|e| e.to_string())?;
            for (task, [a, b, c]) in done {
                println!("{task}: {a} / {b} / {c} rows");
            }
            println!(
                "wrote {} in {:.2} s",
                out.display(),
                t0.elapsed().as_secs_f64()
            );
            Ok(())
        }
        DataCommand::Generate {
            task,
            out,
            source,
            seed,
            recipe,
            set,
        } => {
            let mut recipe = Recipe::named(&recipe)?;
            for kv in &set {
                recipe.set(kv)?;
            }
            let tasks: Vec<&str> = if task == "all" {
                TASKS.to_vec()
            } else if let Some(t) = TASKS.iter().find(|t| **t == task) {
                vec![*t]
            } else {
                return Err(format!(
                    "--task: unknown task {task:?}, expected one of {} or all",
                    TASKS.join(", ")
                ));
            };
            let source = source.unwrap_or_else(default_source);
            let t0 = Instant::now();
            eprintln!("recipe {recipe}");
            let src = Sources::load_recipe(&source, &tasks, recipe).map_err(|e| e.to_string())?;
            generate_tasks(&tasks, &out, seed, &src, None, |task, split, path, rows| {
                eprintln!(
                    "{:6.2} s  {task}/{split}: {rows} rows -> {}",
                    t0.elapsed().as_secs_f64(),
                    path.display()
                );
            })
            .map_err(|e| e.to_string())?;
            println!(
                "generated {} task(s) in {} in {:.2} s",
                tasks.len(),
                out.display(),
                t0.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}
