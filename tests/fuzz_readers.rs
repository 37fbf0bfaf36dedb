//! Property-based fuzzing of every reader of files sdae finds on disk (proptest, stable Rust):
//! IDX (raw and gzip), .amat, .sdd, model files, checkpoints, configs, grid TOML (and its
//! expansion), sweep manifests, and the result files a sweep reads (result.json, test.json,
//! failed.json, claim.json, results.json).
//!
//! Each input is a valid file of that kind mutated (bit flips, interesting integers written over
//! header fields, truncation, insertion, deletion, duplication, format tokens spliced in) or plain
//! random bytes. The property: the reader returns (an error or a value) and never panics, never
//! allocates more than a bound derived from the input's length (a tracking allocator records
//! the peak of live heap bytes on the reader's thread), and never runs for more than
//! [`STUCK_SECS`] on one input (a watchdog ends the process and prints the input).
//!
//! `cargo test --test fuzz_readers` (in `make test`) tries `SDAE_FUZZ_CASES` inputs per target
//! (default 256) from a fixed seed: seconds per target. `make fuzz FUZZ_SECONDS=N` runs each
//! target for N seconds from fresh seeds (`SDAE_FUZZ_SECONDS`) and prints the inputs tried.
//! cargo-fuzz would need a nightly toolchain, which this project does not install.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::{gz, idx_bytes};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed, TestCaseError, TestRunner};

use sdae::config::{Config, Overrides};
use sdae::data::{amat, idx, write_dataset, Dataset, Header, HEADER_LEN};
use sdae::experiment::grid::Grid;
use sdae::experiment::report::Results;
use sdae::experiment::{claim, job, sweep};
use sdae::model::Model;
use sdae::train::run::{run, Checkpoint, RunOptions, Silent};
use sdae::train::SplitView;

// ---------------------------------------------------------------------------------------------
// The allocation bound: live heap bytes on the reader's thread, tracked while a reader runs.

struct Tracking;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// A single request this large means a reader believed a size field: refused (the process
/// aborts with "memory allocation failed", which the fuzz run reports as a crash).
const HARD_CAP: usize = 1 << 31;

fn note(delta: isize) {
    let _ = TRACK.try_with(|t| {
        if t.get() {
            let _ = LIVE.try_with(|l| {
                let v = l.get() + delta;
                l.set(v);
                let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
            });
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.size() > HARD_CAP {
            return std::ptr::null_mut();
        }
        note(l.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note(-(l.size() as isize));
        // SAFETY: `p` was allocated by `System` with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > HARD_CAP {
            return std::ptr::null_mut();
        }
        note(new as isize - l.size() as isize);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Run `f` with tracking on; returns its value and the peak of live bytes it allocated.
fn tracked<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACK.with(|t| t.set(true));
    let v = f();
    TRACK.with(|t| t.set(false));
    (v, PEAK.with(|p| p.get()).max(0) as usize)
}

fn untracked<T>(f: impl FnOnce() -> T) -> T {
    let was = TRACK.with(|t| t.replace(false));
    let v = f();
    TRACK.with(|t| t.set(was));
    v
}

// ---------------------------------------------------------------------------------------------
// The watchdog: an input that keeps a reader busy for STUCK_SECS ends the process, printed.

const STUCK_SECS: u64 = 20;

type Running = Mutex<HashMap<ThreadId, (Instant, &'static str, Vec<u8>)>>;

fn running() -> &'static Running {
    static R: OnceLock<Running> = OnceLock::new();
    static W: OnceLock<()> = OnceLock::new();
    let r = R.get_or_init(|| Mutex::new(HashMap::new()));
    W.get_or_init(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(200));
            let map = running().lock().unwrap_or_else(|p| p.into_inner());
            for (t0, target, input) in map.values() {
                if t0.elapsed() > Duration::from_secs(STUCK_SECS) {
                    eprintln!(
                        "fuzz target {target}: one input ran for more than {STUCK_SECS} s (a loop?): {} bytes, hex {}",
                        input.len(),
                        hex(&input[..input.len().min(4096)])
                    );
                    std::process::exit(3);
                }
            }
        });
    });
    r
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Inputs: mutations of a valid file, or random bytes.

#[derive(Clone, Debug)]
enum Op {
    FlipBit(u32),
    SetByte(u32, u8),
    /// Write an interesting little- or big-endian integer (index into INTERESTING) at a position.
    Int {
        at: u32,
        which: u8,
        wide: bool,
        big_endian: bool,
    },
    Truncate(u32),
    Insert(u32, Vec<u8>),
    Delete(u32, u16),
    Duplicate(u32, u16),
    /// Splice a format token (index into the target's dictionary) in at a position.
    Token(u32, u8),
}

const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    64,
    255,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x0000_0800_0000_0000,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::FlipBit),
        2 => (any::<u32>(), any::<u8>()).prop_map(|(a, b)| Op::SetByte(a, b)),
        3 => (any::<u32>(), 0u8..16, any::<bool>(), any::<bool>())
            .prop_map(|(at, which, wide, big_endian)| Op::Int { at, which, wide, big_endian }),
        1 => any::<u32>().prop_map(Op::Truncate),
        1 => (any::<u32>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(a, b)| Op::Insert(a, b)),
        1 => (any::<u32>(), any::<u16>()).prop_map(|(a, n)| Op::Delete(a, n)),
        1 => (any::<u32>(), any::<u16>()).prop_map(|(a, n)| Op::Duplicate(a, n)),
        3 => (any::<u32>(), any::<u8>()).prop_map(|(a, t)| Op::Token(a, t)),
    ]
}

/// Positions favour the start of the file (headers), half the time within its first 64 bytes.
fn pos(p: u32, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    if p & 1 == 0 {
        (p as usize >> 1) % len.min(64)
    } else {
        (p as usize >> 1) % len
    }
}

fn apply(mut b: Vec<u8>, ops: &[Op], dict: &[&str]) -> Vec<u8> {
    for o in ops {
        let len = b.len();
        match o {
            Op::FlipBit(p) if len > 0 => {
                let i = pos(*p, len);
                b[i] ^= 1 << (p % 8);
            }
            Op::SetByte(p, v) if len > 0 => {
                let i = pos(*p, len);
                b[i] = *v;
            }
            Op::Int {
                at,
                which,
                wide,
                big_endian,
            } => {
                let v = INTERESTING[*which as usize % INTERESTING.len()];
                let bytes: Vec<u8> = match (wide, big_endian) {
                    (true, false) => v.to_le_bytes().to_vec(),
                    (true, true) => v.to_be_bytes().to_vec(),
                    (false, false) => (v as u32).to_le_bytes().to_vec(),
                    (false, true) => (v as u32).to_be_bytes().to_vec(),
                };
                // Aligned to the field size, as header fields are.
                let i = pos(*at, len) / bytes.len() * bytes.len();
                for (k, x) in bytes.iter().enumerate() {
                    if i + k < len {
                        b[i + k] = *x;
                    }
                }
            }
            Op::Truncate(p) => b.truncate(pos(*p, len + 1)),
            Op::Insert(p, v) => {
                let i = pos(*p, len + 1).min(len);
                b.splice(i..i, v.iter().copied());
            }
            Op::Delete(p, n) if len > 0 => {
                let i = pos(*p, len);
                let e = (i + *n as usize % 256).min(len);
                b.drain(i..e);
            }
            Op::Duplicate(p, n) if len > 0 && len < 1 << 20 => {
                let i = pos(*p, len);
                let e = (i + *n as usize % 512).min(len);
                let part = b[i..e].to_vec();
                b.splice(e..e, part);
            }
            Op::Token(p, t) if !dict.is_empty() => {
                let tok = dict[*t as usize % dict.len()].as_bytes();
                let i = pos(*p, len + 1).min(len);
                b.splice(i..i, tok.iter().copied());
            }
            _ => {}
        }
    }
    b
}

/// Inputs for a target with these valid seed files and dictionary.
fn inputs(seeds: Vec<Vec<u8>>, dict: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        6 => (0..n, prop::collection::vec(op(), 1..8))
            .prop_map(move |(s, ops)| apply(seeds[s].clone(), &ops, dict)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

// ---------------------------------------------------------------------------------------------
// The runner.

/// Allocation allowed for an input of `len` bytes (a small constant for the parser's own
/// tables, plus a multiple of the length).
fn alloc_bound(len: usize, per_byte: usize) -> usize {
    (1 << 20) + per_byte * len
}

static TRIED: AtomicU64 = AtomicU64::new(0);

fn scratch(target: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sdae-fuzz-{}-{target}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// Fuzz `target`: `check` runs the reader on one input (inside allocation tracking) and
/// returns an error for a property other than "no panic" that does not hold.
fn fuzz(
    target: &'static str,
    strategy: impl Strategy<Value = Vec<u8>>,
    per_byte: usize,
    check: impl Fn(&[u8]) -> Result<(), String>,
) {
    let cases: u32 = std::env::var("SDAE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let seconds: Option<u64> = std::env::var("SDAE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok());
    let t0 = Instant::now();
    let tried = AtomicU64::new(0);
    let mut round = 0u64;
    loop {
        // Seeded: the short run is the same every time; long runs take a new seed per round.
        let seed = match seconds {
            None => 0x5dae_f022 ^ fnv(target),
            Some(_) => fnv(target) ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ now_nanos(),
        };
        let cfg = PtConfig {
            cases: if seconds.is_some() { 2048 } else { cases },
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            max_shrink_iters: 4096,
            ..PtConfig::default()
        };
        let mut runner = TestRunner::new(cfg);
        let result = runner.run(&strategy, |input| {
            tried.fetch_add(1, Ordering::Relaxed);
            {
                let mut m = running().lock().unwrap_or_else(|p| p.into_inner());
                m.insert(
                    std::thread::current().id(),
                    (Instant::now(), target, input.clone()),
                );
            }
            let (res, peak) = tracked(|| check(&input));
            running()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&std::thread::current().id());
            res.map_err(TestCaseError::fail)?;
            let bound = alloc_bound(input.len(), per_byte);
            if peak > bound {
                return Err(TestCaseError::fail(format!(
                    "allocated {peak} bytes for a {}-byte input (bound {bound})",
                    input.len()
                )));
            }
            Ok(())
        });
        if let Err(e) = result {
            let msg = match &e {
                proptest::test_runner::TestError::Fail(why, v) => {
                    format!("{why}\nminimal input: {} bytes, hex {}", v.len(), hex(v))
                }
                other => other.to_string(),
            };
            panic!("fuzz target {target} (seed {seed:#x}): {msg}");
        }
        round += 1;
        match seconds {
            Some(s) if t0.elapsed() < Duration::from_secs(s) => continue,
            _ => break,
        }
    }
    let n = tried.load(Ordering::Relaxed);
    TRIED.fetch_add(n, Ordering::Relaxed);
    eprintln!(
        "fuzz target {target}: {n} inputs in {:.1} s, no failure",
        t0.elapsed().as_secs_f64()
    );
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn write(dir: &Path, name: &str, b: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, b).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// Seeds: small valid files of each kind.

fn sdd_seed(dir: &Path, rows: usize, cols: usize, classes: usize) -> Vec<u8> {
    let x: Vec<f32> = (0..rows * cols).map(|i| (i % 5) as f32 / 4.0).collect();
    let y: Vec<u32> = (0..rows).map(|i| (i % classes) as u32).collect();
    let p = dir.join(format!("seed-{rows}x{cols}.sdd"));
    write_dataset(&p, &x, &y, cols, classes).unwrap();
    fs::read(&p).unwrap()
}

const TINY_CONFIG: &str = r#"
seed = 3
[pretrain]
nu = 0.2
lr = 0.1
epochs = 1
batch = 4
[[layers]]
width = 5
[[layers]]
width = 3
[finetune]
lr = 0.1
max_epochs = 2
patience = 2
batch = 4
"#;

/// A model file and a checkpoint from a real (tiny) training run.
fn model_and_checkpoint(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let cols = 6;
    let x: Vec<f32> = (0..24 * cols).map(|i| (i % 3) as f32 / 2.0).collect();
    let y: Vec<u32> = (0..24).map(|i| (i % 2) as u32).collect();
    let train = SplitView::new("train", &x, &y, cols, 2).unwrap();
    let cfg = Config::from_toml(TINY_CONFIG, "fuzz seed", &Overrides::default()).unwrap();
    let ckpt = dir.join("seed.ckpt");
    let mut obs = Silent;
    let mut opts = RunOptions {
        pretrain: true,
        finetune: false,
        checkpoint: Some(ckpt.clone()),
        resume: false,
        observer: &mut obs,
    };
    let r = run(
        sdae_kernels::kernels(),
        &cfg,
        None,
        &train,
        None,
        None,
        &mut opts,
    )
    .unwrap();
    let m = dir.join("seed.sdm");
    r.model.save(&m).unwrap();
    (fs::read(&m).unwrap(), fs::read(&ckpt).unwrap())
}

const TOML_TOKENS: &[&str] = &[
    "\n",
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'",
    ",",
    "{",
    "}",
    ".",
    "#",
    "0",
    "-1",
    "1e308",
    "1e999",
    "nan",
    "inf",
    "-inf",
    "18446744073709551616",
    "9223372036854775807",
    "true",
    "\"\"",
    "[]",
    "{}",
    "\n[base]\n",
    "\n[[base.layers]]\nwidth = 0\n",
    "\n[[layers]]\nwidth = 1\n",
    "\n[axes]\n",
    "\"pretrain.nu\" = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]\n",
    "\"finetune.lr\" = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n",
    "\"pretrain.lr\" = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n",
    "\"seed\" = [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
    "\"finetune.batch\" = [1, 2, 3, 4, 5, 6, 7, 8]\n",
    "\"pretrain.epochs\" = [1, 2, 3, 4, 5, 6, 7, 8]\n",
    "\"widths\" = [[1], [2], [3]]\n",
    "\n[tasks.rectangles]\n",
    "set = {}\n",
    "width = 4294967296\n",
    "batch = 0\n",
    "epochs = 99999999999\n",
    "nu = 1.5\n",
];

const JSON_TOKENS: &[&str] = &[
    "\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "null",
    "true",
    "-1",
    "1e999",
    "0",
    "18446744073709551616",
    "\"index\":0,",
    "\"index\":99999999,",
    "\\u0000",
    "\\ud800",
    "{}\n",
    "\"state\":\"done\",",
];

const AMAT_TOKENS: &[&str] = &[
    " ",
    "\n",
    "\t",
    "#",
    "0",
    "1",
    "-1",
    "0.5",
    "1e39",
    "nan",
    "inf",
    "-0",
    "9",
    "10",
    "4294967296",
    "1.0000001",
    "e",
    ".",
    "\r\n",
    "\u{feff}",
];

// ---------------------------------------------------------------------------------------------
// The targets.

#[test]
fn fuzz_idx() {
    let seeds = vec![
        idx_bytes(&[3, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        idx_bytes(&[4], &[1, 0, 9, 3]),
        idx_bytes(&[1, 28, 28], &[7; 784]),
    ];
    let dir = scratch("idx");
    fuzz("idx", inputs(seeds, &[]), 8, |b| {
        let p = dir.join("x.idx");
        let _ = idx::parse_idx(&p, b);
        Ok(())
    });
}

#[test]
fn fuzz_idx_gz_pair() {
    // Gzip raises the bound: deflate expands at most 1032 : 1.
    let images = gz(&idx_bytes(
        &[3, 2, 2],
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    ));
    let labels = gz(&idx_bytes(&[3], &[1, 0, 9]));
    let seeds = vec![images.clone(), labels.clone()];
    let dir = scratch("idx_gz");
    let lp = write(&dir, "labels.gz", &labels);
    let ip = write(&dir, "images.gz", &images);
    fuzz("idx_gz_pair", inputs(seeds, &[]), 1100, |b| {
        // The mutated file as images (with good labels), then as labels (with good images).
        let p = write(&dir, "m.gz", b);
        let _ = idx::read_idx_pair(&p, &lp);
        let _ = idx::read_idx_pair(&ip, &p);
        Ok(())
    });
}

#[test]
fn fuzz_amat() {
    let seeds = vec![
        b"0 0.5 1 0.25 3\n1 1 0 0 7\n0.1 0.2 0.3 0.4 0\n".to_vec(),
        b"# comment\n0.0 1.0 1\n\n1.0 0.0 0\n".to_vec(),
    ];
    let dir = scratch("amat");
    // Text: up to ~4 bytes of f32 per 2 input bytes, Vec doubling, and the line carry.
    fuzz("amat", inputs(seeds, AMAT_TOKENS), 16, |b| {
        let p = write(&dir, "x.amat", b);
        let _ = amat::read_amat(&p, None, 10);
        let _ = amat::read_amat(&p, Some(4), 10);
        Ok(())
    });
}

#[test]
fn fuzz_sdd() {
    let dir = scratch("sdd");
    let seeds = vec![
        sdd_seed(&dir, 5, 4, 3),
        sdd_seed(&dir, 1, 1, 1),
        sdd_seed(&dir, 0, 3, 2),
        sdd_seed(&dir, 40, 17, 10),
    ];
    fuzz("sdd", inputs(seeds, &[]), 4, |b| {
        let p = dir.join("x.sdd");
        let _ = Header::parse(&p, &b[..b.len().min(HEADER_LEN)], b.len() as u64);
        let p = write(&dir, "x.sdd", b);
        if let Ok(ds) = Dataset::open(&p) {
            let _ = ds.verify_checksum();
            let ok = ds.verify_inputs().is_ok();
            // What an opened dataset promises: its slices match its shape.
            if ds.features().len() != ds.rows() * ds.cols() || ds.labels().len() != ds.rows() {
                return Err("opened dataset slices do not match its shape".into());
            }
            if ok && ds.labels().iter().any(|&l| l as usize >= ds.classes()) {
                return Err("verify_inputs passed a label >= classes".into());
            }
            if ds.rows() > 0 {
                let _ = ds.row(ds.rows() - 1);
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_model_and_checkpoint_files() {
    let dir = scratch("model");
    let (model, ckpt) = model_and_checkpoint(&dir);
    fuzz("model_file", inputs(vec![model], &[]), 4, |b| {
        if let Ok(m) = Model::from_bytes(b, "fuzz") {
            // A model that loads is a valid one, and writes back to what loads the same.
            m.validate()
                .map_err(|e| format!("loaded an invalid model: {e}"))?;
            let again = Model::from_bytes(&m.to_bytes(), "again")
                .map_err(|e| format!("a loaded model does not round-trip: {e}"))?;
            if again != m {
                return Err("a loaded model does not round-trip".into());
            }
        }
        Ok(())
    });
    fuzz("checkpoint", inputs(vec![ckpt], &[]), 6, |b| {
        if let Ok(c) = Checkpoint::from_bytes(b, "fuzz") {
            c.model
                .validate()
                .map_err(|e| format!("checkpoint with an invalid model: {e}"))?;
            if let Some(best) = &c.best {
                best.validate()
                    .map_err(|e| format!("checkpoint with an invalid best model: {e}"))?;
            }
        }
        Ok(())
    });
}

fn repo_file(p: &str) -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

#[test]
fn fuzz_config() {
    let seeds = vec![
        repo_file("configs/sda3-mnist-basic.toml"),
        TINY_CONFIG.as_bytes().to_vec(),
    ];
    fuzz("config", inputs(seeds, TOML_TOKENS), 256, |b| {
        let _ = Config::from_toml(&String::from_utf8_lossy(b), "fuzz", &Overrides::default());
        Ok(())
    });
}

#[test]
fn fuzz_grid() {
    let seeds = vec![
        repo_file("experiments/quick.toml"),
        repo_file("experiments/best.toml"),
        repo_file("tests/fixtures/tiny-grid.toml"),
    ];
    // Expansion writes one full config per run: allowed a few kB per input byte.
    fuzz("grid", inputs(seeds, TOML_TOKENS), 4096, |b| {
        if let Ok(g) = Grid::parse(&String::from_utf8_lossy(b), "fuzz") {
            // Expansion is bounded by MAX_RUNS, not by the file's length (one config per run):
            // checked for panics and time here, for its bound by the regression test below.
            untracked(|| {
                let _ = g.expand(&["rectangles".to_string(), "mnist-basic".to_string()]);
            });
        }
        Ok(())
    });
}

/// A planned sweep's files, for the manifest and result-file targets.
fn planned_sweep(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let g = Grid::parse(
        &String::from_utf8(repo_file("tests/fixtures/tiny-grid.toml")).unwrap(),
        "t",
    )
    .unwrap();
    sweep::plan(&g, &["rectangles".to_string()], dir, &dir.join("data"), 1).unwrap();
    (
        fs::read(dir.join("sweep.json")).unwrap(),
        fs::read(dir.join("manifest.jsonl")).unwrap(),
    )
}

#[test]
fn fuzz_manifest() {
    let dir = scratch("manifest");
    let (info, manifest) = planned_sweep(&dir);
    let seeds = vec![info.clone(), manifest.clone()];
    fuzz("manifest", inputs(seeds, JSON_TOKENS), 64, |b| {
        // The mutated file as sweep.json, then as manifest.jsonl (the other one intact).
        fs::write(dir.join("sweep.json"), b).unwrap();
        fs::write(dir.join("manifest.jsonl"), &manifest).unwrap();
        let _ = sweep::load(&dir);
        fs::write(dir.join("sweep.json"), &info).unwrap();
        fs::write(dir.join("manifest.jsonl"), b).unwrap();
        let _ = sweep::load(&dir);
        let _ = sweep::status(&dir);
        Ok(())
    });
}

#[test]
fn fuzz_result_files() {
    let dir = scratch("results");
    planned_sweep(&dir);
    let run = job::run_dir(&dir, 0);
    fs::create_dir_all(&run).unwrap();
    let rec = job::RunRecord {
        index: 0,
        task: "rectangles".into(),
        family: sdae::experiment::grid::Family::Sda,
        label: "pretrain.nu=0.25".into(),
        config: TINY_CONFIG.into(),
        valid_error: 12.5,
        valid_rows: 200,
        best_epoch: 3,
        seconds: 1.5,
        threads: 1,
        isa: "avx2".into(),
        git_revision: "x".into(),
        machine: "m".into(),
        plan: "mc=64".into(),
        plan_hash: "0123".into(),
        plan_source: "preset".into(),
    };
    let result = serde_json::to_vec_pretty(&rec).unwrap();
    let test = serde_json::to_vec_pretty(&job::TestRecord {
        index: 0,
        test_error: 3.0,
        test_ci95: 0.1,
        test_rows: 50000,
        seconds: 2.0,
    })
    .unwrap();
    let failed = serde_json::to_vec_pretty(&job::FailureRecord {
        index: 0,
        error: "boom".into(),
        host: "h".into(),
        pid: 1,
        unix: 5,
    })
    .unwrap();
    let claim_seed = serde_json::to_vec(&claim::ClaimInfo {
        host: "node-x".into(),
        pid: 77,
        pid_start: 0,
        token: "t".into(),
        claimed_unix: 1,
        heartbeat_unix: 2,
        slurm: Some("3_4".into()),
    })
    .unwrap();
    let results = br#"{"meta":{"grid":"g","command":"c","git_revision":"r","machine":"m","wall_seconds":null,"run_seconds":1.0,"collected_unix":0},"runs":[]}"#.to_vec();
    let seeds = vec![result, test, failed, claim_seed, results];
    let names = ["result.json", "test.json", "failed.json", "claim.json"];
    fuzz("result_files", inputs(seeds, JSON_TOKENS), 64, |b| {
        for n in names {
            for m in names {
                let _ = fs::remove_file(run.join(m));
            }
            fs::write(run.join(n), b).unwrap();
            let _ = sweep::status(&dir);
            let _ = claim::inspect(&run);
        }
        let _ = serde_json::from_slice::<Results>(b);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Regression cases: the minimised inputs of what fuzzing found.

/// Found by `fuzz_amat`: a 43-byte .amat file made the reader allocate its 16 MiB read buffer.
#[test]
fn regression_a_small_amat_file_gets_a_small_buffer() {
    let dir = scratch("reg-amat");
    let p = write(
        &dir,
        "x.amat",
        b"1 0.5 0 0.25 3\n1 1 0 0 7\n0.1 0.2 0.3 0.4 0\n",
    );
    let (r, peak) = tracked(|| amat::read_amat(&p, None, 10));
    assert_eq!(r.unwrap().rows(), 3);
    assert!(
        peak < alloc_bound(43, 16),
        "{peak} bytes for a 43-byte file"
    );
}

/// Found while fuzzing the grid reader: 843 bytes of axes (nine axes of ten values) asked
/// `sweep plan` for 10^9 runs, which it tried to build until memory ran out.
#[test]
fn regression_a_grid_of_a_billion_runs_is_refused_at_once() {
    let mut text = String::from_utf8(repo_file("tests/fixtures/tiny-grid.toml")).unwrap();
    text.truncate(text.find("[axes]").unwrap());
    text.push_str("[axes]\n");
    for k in [
        "finetune.lr",
        "pretrain.lr",
        "seed",
        "finetune.batch",
        "pretrain.batch",
        "finetune.patience",
        "finetune.max_epochs",
        "pretrain.epochs",
        "pretrain.nu",
    ] {
        let vals: Vec<String> = (1..=10)
            .map(|i| {
                if k == "pretrain.nu" {
                    format!("{}", i as f64 / 20.0)
                } else {
                    i.to_string()
                }
            })
            .collect();
        text.push_str(&format!("\"{k}\" = [{}]\n", vals.join(", ")));
    }
    let g = Grid::parse(&text, "big").unwrap();
    let t0 = Instant::now();
    let (r, peak) = tracked(|| g.expand(&["rectangles".to_string()]));
    let e = r.unwrap_err();
    assert!(e.contains("more than 100000 runs"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(peak < 1 << 20, "{peak} bytes allocated before refusing");
}
