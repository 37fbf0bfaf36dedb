//! The training engine on tiny in-memory tasks: gradient checks, learning, determinism, configs.

#[path = "common/tiny.rs"]
mod tiny;
use tiny::tiny_task;

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::config::{Config, ConfigError, Overrides};
use sdae::model::{DaeLayer, Model, ModelError, OutputLayer, StackLayer};
use sdae::train::dae::{DaeSgd, DaeStep};
use sdae::train::finetune::FinetuneStep;
use sdae::train::run::{run, RunOptions, Silent};
use sdae::train::{Loss, Noise, SplitView, TrainError};
use sdae_kernels::reference::{sigmoid, softplus};
use sdae_kernels::{kernels, MatRef};

/// The reconstruction loss of `x` given the corrupted `xt` (both `rows x d`), no update, in
/// `f64` on the reference formulas: the gradient checks' objective.
fn dae_loss_reference(layer: &DaeLayer, loss: Loss, xt: &[f32], x: &[f32], rows: usize) -> f64 {
    let (d, h) = (layer.d, layer.h);
    let mut total = 0.0;
    let mut y = vec![0.0f64; h];
    for r in 0..rows {
        for (j, yj) in y.iter_mut().enumerate() {
            let mut t = layer.b[j] as f64;
            for i in 0..d {
                t += xt[r * d + i] as f64 * layer.w[i * h + j] as f64;
            }
            *yj = sigmoid(t);
        }
        for i in 0..d {
            let mut t = layer.c[i] as f64;
            for (j, yj) in y.iter().enumerate() {
                let w = match &layer.w_dec {
                    None => layer.w[i * h + j],
                    Some(wd) => wd[j * d + i],
                };
                t += yj * w as f64;
            }
            let xi = x[r * d + i] as f64;
            total += match loss {
                Loss::CrossEntropy => softplus(t) - xi * t,
                Loss::SquaredError => (sigmoid(t) - xi).powi(2),
            };
        }
    }
    total
}

/// The summed NLL of a batch in `f64` on the reference formulas: the gradient checks' objective.
fn nll_reference(model: &Model, x: &[f32], labels: &[u32], rows: usize) -> f64 {
    let o = model.output.as_ref().expect("output layer");
    let mut total = 0.0;
    for r in 0..rows {
        let mut h: Vec<f64> = x[r * model.input_dim()..(r + 1) * model.input_dim()]
            .iter()
            .map(|&v| v as f64)
            .collect();
        for l in model.layers.iter().map(|l| l.encoder()) {
            let mut nh = vec![0.0; l.h];
            for (j, v) in nh.iter_mut().enumerate() {
                let mut t = l.b[j] as f64;
                for (i, hi) in h.iter().enumerate() {
                    t += hi * l.w[i * l.h + j] as f64;
                }
                *v = sigmoid(t);
            }
            h = nh;
        }
        let t: Vec<f64> = (0..o.k)
            .map(|c| {
                o.bv[c] as f64
                    + (0..o.h)
                        .map(|j| h[j] * o.v[j * o.k + c] as f64)
                        .sum::<f64>()
            })
            .collect();
        let mx = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = mx + t.iter().map(|v| (v - mx).exp()).sum::<f64>().ln();
        total += lse - t[labels[r] as usize];
    }
    total
}

fn rand_vec(n: usize, lo: f32, hi: f32, rng: &mut Xoshiro256PlusPlus) -> Vec<f32> {
    (0..n)
        .map(|_| lo + (hi - lo) * sdae::model::uniform01(rng))
        .collect()
}

/// Analytic gradient from one SGD step with lr = 1: `grad_sum = -(new - old) * rows`.
fn grad_from_step(old: &[f32], new: &[f32], rows: usize) -> Vec<f64> {
    old.iter()
        .zip(new)
        .map(|(&o, &n)| -(n as f64 - o as f64) * rows as f64)
        .collect()
}

fn check_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let tol = 2e-3 * (1.0 + a.abs().max(n.abs()));
        assert!(
            (a - n).abs() <= tol,
            "{what}[{i}]: analytic {a} vs finite difference {n}"
        );
    }
    assert!(
        analytic.iter().any(|v| v.abs() > 1e-3),
        "{what}: gradient is all ~0, check is vacuous"
    );
}

fn dae_gradcheck(tied: bool, loss: Loss, rows: usize) {
    dae_gradcheck_path(tied, loss, rows, false)
}

/// The gradient check of one step of the online session (`DaeStep::online`): the fused
/// batch-1 path when tied.
fn dae_gradcheck_online(tied: bool, loss: Loss) {
    dae_gradcheck_path(tied, loss, 1, true)
}

fn dae_gradcheck_path(tied: bool, loss: Loss, rows: usize, online: bool) {
    let k = kernels();
    let (d, h) = (9, 6);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut layer = DaeLayer::new(d, h, tied, &mut rng);
    for v in layer.b.iter_mut().chain(layer.c.iter_mut()) {
        *v = sdae::model::uniform01(&mut rng) - 0.5;
    }
    let x = rand_vec(rows * d, 0.0, 1.0, &mut rng);
    let mut step = DaeStep::new(d, h, rows);
    let mut nrng = Xoshiro256PlusPlus::seed_from_u64(3);
    let before = layer.clone();
    let mut reported = None;
    if online {
        let mut session = step.online(k, &mut layer, 0.0).unwrap();
        reported = Some(
            session
                .step(Noise::Mask(0.3), loss, &x, 1.0, &mut nrng)
                .unwrap(),
        );
        session.finish();
    } else {
        let xv = MatRef::new(&x, rows, d).unwrap();
        step.corrupt(k, Noise::Mask(0.3), xv, &mut nrng).unwrap();
    }
    let xt = step.corrupted(rows).to_vec();
    assert!(
        xt.iter().filter(|&&v| v == 0.0).count() >= rows * 3,
        "masking zeroed round(0.3*9)=3 per row"
    );
    let l0 = dae_loss_reference(&before, loss, &xt, &x, rows);
    let reported = match reported {
        Some(r) => r,
        None => step
            .step_corrupted(
                k,
                &mut layer,
                MatRef::new(&x, rows, d).unwrap(),
                loss,
                1.0,
                0.0,
            )
            .unwrap(),
    };
    assert!(
        (reported - l0).abs() < 1e-4 * l0.abs().max(1.0),
        "step loss {reported} vs reference {l0}"
    );
    let after = layer.clone();
    let names = ["w", "b", "c", "w_dec"];
    for (pi, name) in names.iter().enumerate().take(before.params().len()) {
        let analytic = grad_from_step(before.params()[pi], after.params()[pi], rows);
        let mut numeric = Vec::new();
        for i in 0..before.params()[pi].len() {
            let eps = 1e-2f32;
            let mut p = before.clone();
            let orig = p.params()[pi][i];
            p.params_mut()[pi][i] = orig + eps;
            let up = dae_loss_reference(&p, loss, &xt, &x, rows);
            let hi = p.params()[pi][i] as f64;
            p.params_mut()[pi][i] = orig - eps;
            let dn = dae_loss_reference(&p, loss, &xt, &x, rows);
            let lo = p.params()[pi][i] as f64;
            numeric.push((up - dn) / (hi - lo));
        }
        check_close(
            &format!("tied={tied} {loss:?} rows={rows} online={online} {name}"),
            &analytic,
            &numeric,
        );
    }
}

/// The DAE gradient at batch 4 and batch 1, and through the online session (the fused row
/// pass when tied), for one weight tying and loss.
fn dae_gradchecks(tied: bool, loss: Loss) {
    dae_gradcheck(tied, loss, 4);
    dae_gradcheck(tied, loss, 1);
    dae_gradcheck_online(tied, loss);
}

#[test]
fn dae_gradients_for_every_tying_and_loss() {
    for tied in [true, false] {
        for loss in [Loss::CrossEntropy, Loss::SquaredError] {
            dae_gradchecks(tied, loss);
        }
    }
}

#[test]
fn finetune_gradient() {
    finetune_gradcheck(4);
    finetune_gradcheck(1); // batch 1: row-sum forward and sparse first-layer update
}

fn finetune_gradcheck(rows: usize) {
    let k = kernels();
    let (d, h1, h2, classes) = (7, 6, 5, 3);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut model = Model {
        layers: vec![
            DaeLayer::new(d, h1, true, &mut rng).into(),
            DaeLayer::new(h1, h2, true, &mut rng).into(),
        ],
        output: Some(OutputLayer::zeros(h2, classes)),
        provenance: None,
    };
    let o = model.output.as_mut().unwrap();
    o.v = rand_vec(h2 * classes, -1.0, 1.0, &mut rng);
    o.bv = rand_vec(classes, -0.5, 0.5, &mut rng);
    for l in &mut model.layers {
        let l = l.as_dae_mut().unwrap();
        l.b = rand_vec(l.h, -0.5, 0.5, &mut rng);
    }
    let mut x = rand_vec(rows * d, 0.0, 1.0, &mut rng);
    x[1] = 0.0; // a blank input: its weight row must not move, and the check must still hold
    let y: Vec<u32> = (0..rows).map(|_| rng.next_u32() % classes as u32).collect();
    let before = model.clone();
    let l0 = nll_reference(&model, &x, &y, rows);
    let mut step = FinetuneStep::new(&model, rows);
    let xv = MatRef::new(&x, rows, d).unwrap();
    let st = step.step(k, &mut model, xv, &y, 1.0, 0.0).unwrap();
    assert!((st.loss - l0).abs() < 1e-4 * l0.max(1.0));
    let after = model.clone();
    // Parameters as (getter) so before/after/perturbed models share one indexing.
    type Get = fn(&mut Model) -> &mut Vec<f32>;
    let params: [(&str, Get); 6] = [
        ("w1", |m| &mut m.layers[0].as_dae_mut().unwrap().w),
        ("b1", |m| &mut m.layers[0].as_dae_mut().unwrap().b),
        ("w2", |m| &mut m.layers[1].as_dae_mut().unwrap().w),
        ("b2", |m| &mut m.layers[1].as_dae_mut().unwrap().b),
        ("v", |m| &mut m.output.as_mut().unwrap().v),
        ("bv", |m| &mut m.output.as_mut().unwrap().bv),
    ];
    for (name, get) in params {
        let (mut b, mut a) = (before.clone(), after.clone());
        let analytic = grad_from_step(get(&mut b), get(&mut a), rows);
        let mut numeric = Vec::new();
        for i in 0..get(&mut b).len() {
            let mut p = before.clone();
            let orig = get(&mut p)[i];
            get(&mut p)[i] = orig + 1e-2;
            let hi = get(&mut p)[i] as f64;
            let up = nll_reference(&p, &x, &y, rows);
            get(&mut p)[i] = orig - 1e-2;
            let lo = get(&mut p)[i] as f64;
            let dn = nll_reference(&p, &x, &y, rows);
            numeric.push((up - dn) / (hi - lo));
        }
        check_close(&format!("finetune rows={rows} {name}"), &analytic, &numeric);
    }
}

/// Four classes of noisy 24-pixel prototypes: easy for a small net, 75% error by chance.
fn tiny_config(extra: &str) -> Config {
    let text = format!(
        "seed = 5\n{extra}\n[pretrain]\nnu = 0.2\nlr = 0.1\nepochs = 6\nbatch = 8\n[[layers]]\nwidth = 16\n[[layers]]\nwidth = 12\n[finetune]\nlr = 0.2\nmax_epochs = 30\npatience = 8\nbatch = 4\n"
    );
    Config::from_toml(&text, "tiny.toml", &Overrides::default()).unwrap()
}

fn train_tiny(
    cfg: &Config,
) -> (
    sdae::train::run::RunResult,
    Vec<sdae::train::run::EpochReport>,
) {
    tiny::train_tiny(cfg, true)
}

#[test]
fn tiny_stack_learns() {
    let (res, reports) = train_tiny(&tiny_config(""));
    tiny::assert_pretrain_losses_fall(&reports, 6, "");
    let test = res.test.unwrap();
    assert_eq!(test.rows, 200);
    assert!(
        test.error_rate() < 0.10,
        "test error {} (chance 0.75)",
        test.error_rate()
    );
    assert!(res.model.output.is_some() && res.model.layers.len() == 2);
}

#[test]
fn untied_sqerr_bernoulli_and_other_noises_learn() {
    for extra in [
        "tied = false\nloss = \"sqerr\"\nnoise = \"bernoulli\"",
        "noise = \"salt-pepper\"",
        "noise = \"gaussian\"",
    ] {
        let (res, _) = train_tiny(&tiny_config(extra));
        assert!(
            res.test.unwrap().error_rate() < 0.15,
            "{extra}: {:?}",
            res.test
        );
    }
}

#[test]
fn same_seed_gives_bit_identical_models() {
    let cfg = tiny_config("");
    let (a, ra) = train_tiny(&cfg);
    let (b, rb) = train_tiny(&cfg);
    assert_eq!(a.model.to_bytes(), b.model.to_bytes());
    assert_eq!(a.test.unwrap().errors, b.test.unwrap().errors);
    let la: Vec<u64> = ra.iter().map(|r| r.loss.to_bits()).collect();
    let lb: Vec<u64> = rb.iter().map(|r| r.loss.to_bits()).collect();
    assert_eq!(la, lb);
    let mut other = cfg.clone();
    other.seed = 6;
    let (c, _) = train_tiny(&other);
    assert_ne!(
        a.model.to_bytes(),
        c.model.to_bytes(),
        "the seed must matter"
    );
}

#[test]
fn bad_configs_are_rejected_with_clear_errors() {
    let ov = Overrides::default();
    let cases = [
        ("[[layers]]\nwidth = 10\nnu = 1.0", "nu = 1"),
        ("[[layers]]\nwidth = 10\nnu = -0.1", "nu = -0.1"),
        ("[[layers]]\nwidth = 0", "width 0"),
        ("[[layers]]\nnu = 0.1", "missing width"),
        ("[[layers]]\nwidth = 5\nlr = 0", "lr = 0"),
        ("[[layers]]\nwidth = 5\nbatch = 0", "batch 0"),
        ("noise = \"pink\"\n[[layers]]\nwidth = 5", "noise \"pink\""),
        ("loss = \"hinge\"\n[[layers]]\nwidth = 5", "loss \"hinge\""),
        ("[[layers]]\nwidth = 5\nwidht = 3", "widht"),
        (
            "[finetune]\npatience = 0\n[[layers]]\nwidth = 5",
            "patience 0",
        ),
        ("", "no layers"),
    ];
    for (text, want) in cases {
        let err = Config::from_toml(text, "bad.toml", &ov).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { source, .. } if source == "bad.toml"),
            "{err:?}"
        );
        let e = err.to_string();
        assert!(
            e.contains("bad.toml") && e.contains(want),
            "config {text:?}: error {e:?} should name {want:?}"
        );
    }
    let e = Config::load(std::path::Path::new("/nonexistent/x.toml"), &ov).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/x.toml"), "{e}");
}

#[test]
fn width_mismatch_and_nan_are_reported() {
    let k = kernels();
    let cfg = tiny_config("");
    let (x, y) = tiny_task(40, 1, true);
    let tr = SplitView::new("train", &x, &y, 24, 4).unwrap();
    // A pre-trained model for 30 inputs cannot be fine-tuned on 24 columns.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let m = Model {
        layers: vec![DaeLayer::new(30, 16, true, &mut rng).into()],
        output: None,
        provenance: None,
    };
    let mut opts = RunOptions {
        pretrain: false,
        finetune: true,
        checkpoint: None,
        resume: false,
        observer: &mut Silent,
    };
    let e = run(k, &cfg, Some(m), &tr, Some(&tr), None, &mut opts).unwrap_err();
    assert!(matches!(e, TrainError::Input(_)), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("30") && e.contains("24"), "{e}");
    // A huge learning rate on squared error with inputs far outside [0,1] overflows to NaN.
    let big: Vec<f32> = x.iter().map(|v| v * 1e30).collect();
    let trb = SplitView::new("train", &big, &y, 24, 4).unwrap();
    let mut hot = cfg.clone();
    hot.layers[0].lr = 1e30;
    let mut opts = RunOptions {
        pretrain: true,
        finetune: false,
        checkpoint: None,
        resume: false,
        observer: &mut Silent,
    };
    let e = run(k, &hot, None, &trb, None, None, &mut opts).unwrap_err();
    // Divergence is its own kind: a caller can tell it from a file or input error.
    assert!(e.is_divergence(), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("pre-training layer 1 epoch 1") && e.contains("NaN"),
        "{e}"
    );
}

#[test]
fn model_file_round_trips_and_rejects_damage() {
    let (res, _) = train_tiny(&tiny_config("tied = false"));
    let dir = std::env::temp_dir().join(format!("sdae-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("m.sdae");
    res.model.save(&p).unwrap();
    assert_eq!(Model::load(&p).unwrap(), res.model);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[40] ^= 1;
    let e = Model::from_bytes(&bytes, "damaged.sdae").unwrap_err();
    assert!(matches!(e, ModelError::Format { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("damaged.sdae") && e.contains("checksum"), "{e}");
    let e = Model::from_bytes(&bytes[..20], "short.sdae")
        .unwrap_err()
        .to_string();
    assert!(e.contains("short.sdae"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The fused online path (`DaeStep::online`, tied, batch 1) against the general path at batch
/// 1 (the four GEMMs and fused kernels of `DaeStep::step`), on every ISA of this CPU: the same
/// SGD steps on the same corrupted examples, so parameters and losses agree within rounding
/// (a tolerance of steps x (d + h) x f32::EPSILON relative to the parameters' size). And the
/// online path is deterministic: a second run is bit-identical.
#[test]
fn online_steps_match_the_general_batch1_path() {
    let (d, h, steps) = (37, 45, 12); // h = 45 pads the private rows to 48
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let x = rand_vec(steps * d, 0.0, 1.0, &mut rng);
    let layer0 = DaeLayer::new(d, h, true, &mut rng);
    for isa in sdae_kernels::Isa::supported() {
        let k = sdae_kernels::Kernels::for_isa(isa).unwrap();
        for loss in [Loss::CrossEntropy, Loss::SquaredError] {
            let run_online = || {
                let mut layer = layer0.clone();
                let mut step = DaeStep::new(d, h, 1);
                let mut nrng = Xoshiro256PlusPlus::seed_from_u64(5);
                let mut session = step.online(k, &mut layer, 0.0).unwrap();
                let losses: Vec<f64> = (0..steps)
                    .map(|t| {
                        let xe = &x[t * d..(t + 1) * d];
                        session
                            .step(Noise::Mask(0.25), loss, xe, 0.3, &mut nrng)
                            .unwrap()
                    })
                    .collect();
                session.finish();
                (layer, losses)
            };
            let (online, lo) = run_online();
            let mut general = layer0.clone();
            let mut step = DaeStep::new(d, h, 1);
            let mut nrng = Xoshiro256PlusPlus::seed_from_u64(5);
            let lg: Vec<f64> = (0..steps)
                .map(|t| {
                    let xe = &x[t * d..(t + 1) * d];
                    let sgd = DaeSgd {
                        noise: Noise::Mask(0.25),
                        loss,
                        lr: 0.3,
                        weight_decay: 0.0,
                    };
                    let xe = MatRef::new(xe, 1, d).unwrap();
                    step.step(k, &mut general, sgd, xe, &mut nrng).unwrap()
                })
                .collect();
            let tol = steps as f64 * (d + h) as f64 * f32::EPSILON as f64;
            for (t, (a, b)) in lo.iter().zip(&lg).enumerate() {
                assert!(
                    (a - b).abs() <= tol * b.abs().max(1.0),
                    "{isa} {loss:?} step {t}: online loss {a} vs general {b}"
                );
            }
            for (name, (po, pg)) in ["w", "b", "c"]
                .iter()
                .zip(online.params().iter().zip(general.params()))
            {
                let scale = pg.iter().fold(1.0f64, |m, v| m.max(v.abs() as f64));
                for (i, (a, b)) in po.iter().zip(pg.iter()).enumerate() {
                    assert!(
                        ((a - b) as f64).abs() <= tol * scale,
                        "{isa} {loss:?} {name}[{i}]: online {a} vs general {b} (tol {})",
                        tol * scale
                    );
                }
                assert!(
                    po.iter()
                        .zip(layer0.params()[0].iter())
                        .any(|(a, b)| a != b)
                        || *name != "w",
                    "the steps changed W"
                );
            }
            let (again, _) = run_online();
            for (po, pa) in online.params().iter().zip(again.params()) {
                assert!(
                    po.iter()
                        .zip(pa.iter())
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{isa} {loss:?}: the online path is not deterministic"
                );
            }
        }
    }
}
