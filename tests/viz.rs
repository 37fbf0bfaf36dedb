//! `sdae viz` end to end through the binary: the PNGs decode with the expected sizes, tiles
//! show the weights and the reconstruction the kernels compute, and bad input gives a clear
//! error with no output file left behind.

mod common;

use std::path::Path;

use common::{assert_says, ok, s, sdae, tmpdir};
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use sdae::data::write_dataset;
use sdae::model::{DaeLayer, Model};

/// Run a command that must fail: returns stderr, and checks that `out` was not created and no
/// temporary file is left in its folder.
fn fails(args: &[&str], out: &Path) -> String {
    let o = sdae(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "expected failure for {args:?}");
    assert!(err.starts_with("sdae: "), "{err}");
    assert!(!out.exists(), "{} was written", out.display());
    let dir = out.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    err
}

/// Decode a PNG: (width, height, bytes per pixel, pixels).
fn decode(path: &Path) -> (usize, usize, usize, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let ch = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::Rgb => 3,
        c => panic!("unexpected colour type {c:?}"),
    };
    buf.truncate(info.width as usize * info.height as usize * ch);
    (info.width as usize, info.height as usize, ch, buf)
}

/// Width and height of a PNG.
fn size(path: &Path) -> (usize, usize) {
    let (w, h, _, _) = decode(path);
    (w, h)
}

/// A tied 784 -> `h` layer with random weights; unit 0 is +1 on the left half of the image and
/// -1 on the right half; unit 1 is 0 everywhere but +2 at pixel (row 3, column 5) and -1 at
/// (row 20, column 20).
fn patterned_model(h: usize) -> Model {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut l = DaeLayer::new(784, h, true, &mut rng);
    for i in 0..784 {
        l.w[i * h] = if i % 28 < 14 { 1.0 } else { -1.0 };
        l.w[i * h + 1] = 0.0;
    }
    l.w[(3 * 28 + 5) * h + 1] = 2.0;
    l.w[(20 * 28 + 20) * h + 1] = -1.0;
    Model {
        layers: vec![l.into()],
        output: None,
        provenance: None,
    }
}

#[test]
fn filters_tiles_show_the_weights() {
    let dir = tmpdir("filters");
    let model = dir.join("m.sdm");
    patterned_model(6).save(&model).unwrap();
    let out = dir.join("f.png");
    // `viz filters` of the model into `out` with `flags`, decoded.
    let filters = |flags: &[&str]| {
        ok(&sdae(
            &[&["viz", "filters", s(&model), "--out", s(&out)], flags].concat(),
        ));
        decode(&out)
    };
    let (w, h, ch, px) = filters(&["--count", "4", "--scale", "1"]);
    // 4 tiles -> 2 x 2 grid of 28-pixel tiles with 2-pixel black gutters.
    assert_eq!((w, h, ch), (62, 62, 1));
    let at = |x: usize, y: usize| px[y * w + x];
    assert_eq!(at(0, 0), 0, "gutter");
    // Tile 0 at (2, 2): left half white, right half black (min/max per tile).
    for y in 0..28 {
        for x in 0..28 {
            let want = if x < 14 { 255 } else { 0 };
            assert_eq!(at(2 + x, 2 + y), want, "unit 0 pixel ({x}, {y})");
        }
    }
    // Tile 1 at (32, 2): min -1 -> black, max 2 -> white, zeros at 1/3.
    assert_eq!(at(32 + 5, 2 + 3), 255);
    assert_eq!(at(32 + 20, 2 + 20), 0);
    assert_eq!(at(32, 2), 85);

    // Symmetric: zero is mid-gray, +2 white, -1 a quarter.
    let (w, h, _, px) = filters(&["--count", "2", "--scale", "3", "--normalise", "symmetric"]);
    assert_eq!((w, h), (2 * (84 + 2) + 2, 84 + 4));
    let at = |x: usize, y: usize| px[y * w + x];
    let t1 = 2 + 84 + 2;
    assert_eq!(at(t1 + 3 * 5 + 1, 2 + 3 * 3 + 2), 255);
    assert_eq!(at(t1 + 3 * 20, 2 + 3 * 20), 64);
    assert_eq!(at(t1, 2), 128);

    // Default count (100) is capped by the hidden width: 6 units -> 3 x 2 grid.
    let (w, h, _, _) = filters(&[]);
    assert_eq!((w, h), (3 * 58 + 2, 2 * 58 + 2));
}

#[test]
fn deeper_filters_are_the_linear_projection() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let l1 = DaeLayer::new(16, 5, true, &mut rng);
    let l2 = DaeLayer::new(5, 3, true, &mut rng);
    let m = Model {
        layers: vec![l1.clone().into(), l2.clone().into()],
        output: None,
        provenance: None,
    };
    let f = sdae::viz::tiles::filters(&m, 2, 10).unwrap();
    assert_eq!(f.len(), 3);
    for (j, fj) in f.iter().enumerate() {
        for (i, &v) in fj.iter().enumerate() {
            let want: f64 = (0..5)
                .map(|p| l1.w[i * 5 + p] as f64 * l2.w[p * 3 + j] as f64)
                .sum();
            assert!(
                (v as f64 - want).abs() < 1e-5,
                "unit {j} pixel {i}: {v} vs {want}"
            );
        }
    }
    let e = sdae::viz::tiles::filters(&m, 3, 10).unwrap_err();
    assert_says(&e, &["--layer 3", "1..=2"]);
}

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

#[test]
fn reconstructions_show_clean_masked_and_decoded_rows() {
    let dir = tmpdir("rec");
    let (d, hid, rows) = (784usize, 16usize, 6usize);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let layer = DaeLayer::new(d, hid, true, &mut rng);
    let mut layer = layer;
    for (k, c) in layer.c.iter_mut().enumerate() {
        *c = (k % 7) as f32 * 0.1 - 0.3;
    }
    let model = Model {
        layers: vec![layer.clone().into()],
        output: None,
        provenance: None,
    };
    let mpath = dir.join("m.sdm");
    model.save(&mpath).unwrap();
    // Every pixel in [0.2, 1]: a zero in the corrupted row can only be the mask.
    let x: Vec<f32> = (0..rows * d)
        .map(|_| 0.2 + 0.8 * (rng.next_u32() >> 8) as f32 / 16_777_216.0)
        .collect();
    let data = dir.join("x.sdd");
    write_dataset(&data, &x, &vec![0; rows], d, 2).unwrap();
    let out = dir.join("rec.png");
    // `viz reconstructions` of the model on the data into `out` with `flags`.
    let reconstructions = |out: &Path, flags: &[&str]| {
        let args = [
            &[
                "viz",
                "reconstructions",
                s(&mpath),
                s(&data),
                "--out",
                s(out),
            ],
            flags,
        ];
        ok(&sdae(&args.concat()))
    };
    // Four columns at scale 1, half the pixels masked, the mask drawn from `seed`.
    let draw = |out: &Path, seed: &str| {
        let flags = [
            "--count", "4", "--scale", "1", "--nu", "0.5", "--seed", seed,
        ];
        reconstructions(out, &flags)
    };
    draw(&out, "9");
    let (w, h, ch, px) = decode(&out);
    // A left margin of 66 pixels for the labels, then 4 columns x 3 rows of 28 + 2 gutters.
    let left = 66;
    assert_eq!((w, h, ch), (left + 4 * 30 + 2, 3 * 30 + 2, 1));
    let tile = |row: usize, col: usize| -> Vec<u8> {
        let (ox, oy) = (left + 2 + col * 30, 2 + row * 30);
        (0..d)
            .map(|i| px[(oy + i / 28) * w + ox + i % 28])
            .collect()
    };
    let q = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as i32;
    for col in 0..4 {
        let xr = &x[col * d..(col + 1) * d];
        let clean = tile(0, col);
        let noisy = tile(1, col);
        let rec = tile(2, col);
        for i in 0..d {
            assert_eq!(clean[i] as i32, q(xr[i] as f64), "clean pixel {i}");
        }
        // Exactly round(0.5 * 784) masked pixels, the rest unchanged.
        let masked: Vec<bool> = noisy.iter().map(|&p| p == 0).collect();
        assert_eq!(masked.iter().filter(|&&m| m).count(), 392, "column {col}");
        for i in 0..d {
            if !masked[i] {
                assert_eq!(noisy[i], clean[i]);
            }
        }
        // z = s(W^T s(W^T x~ + b) + c) in f64 from the masked input.
        let xt: Vec<f64> = (0..d)
            .map(|i| if masked[i] { 0.0 } else { xr[i] as f64 })
            .collect();
        let y: Vec<f64> = (0..hid)
            .map(|j| {
                sigmoid(
                    (0..d)
                        .map(|i| xt[i] * layer.w[i * hid + j] as f64)
                        .sum::<f64>()
                        + layer.b[j] as f64,
                )
            })
            .collect();
        for (i, &got) in rec.iter().enumerate() {
            let z = sigmoid(
                (0..hid)
                    .map(|j| y[j] * layer.w[i * hid + j] as f64)
                    .sum::<f64>()
                    + layer.c[i] as f64,
            );
            assert!(
                (got as i32 - q(z)).abs() <= 1,
                "reconstruction pixel {i}: {got} vs {}",
                q(z)
            );
        }
    }
    // Same seed, same picture; another seed, another mask.
    let again = dir.join("again.png");
    draw(&again, "9");
    assert_eq!(decode(&again).3, px);
    draw(&again, "10");
    assert_ne!(decode(&again).3, px);
    // --count beyond the dataset shows every row.
    reconstructions(&again, &["--count", "50"]);
    let (w, _, _, _) = decode(&again);
    assert_eq!(w, left + rows * (84 + 2) + 2);
}

const LOG: &str = r#"{"phase":"pretrain","layer":1,"epoch":1,"loss":125.8,"valid_error":null,"examples_per_s":25630.7,"seconds":0.39}
{"phase":"pretrain","layer":1,"epoch":2,"loss":97.2,"valid_error":null,"examples_per_s":17468.1,"seconds":0.57}
{"phase":"pretrain","layer":2,"epoch":1,"loss":250.1,"valid_error":null,"examples_per_s":28231.5,"seconds":0.35}
{"phase":"pretrain","layer":2,"epoch":2,"loss":227.8,"valid_error":null,"examples_per_s":29837.6,"seconds":0.33}
{"phase":"finetune","layer":0,"epoch":1,"loss":0.55,"valid_error":10.45,"examples_per_s":22714.9,"seconds":0.44}
{"phase":"finetune","layer":0,"epoch":2,"loss":0.32,"valid_error":8.9,"examples_per_s":21466.7,"seconds":0.46}
{"best_epoch":2,"model":"m.sdm","phase":"result","seconds":5.7,"test_ci95":0.23,"test_error":7.78,"valid_error":8.9}
"#;

fn count_color(px: &[u8], c: [u8; 3]) -> usize {
    px.chunks_exact(3).filter(|p| **p == c).count()
}

#[test]
fn curves_have_one_panel_per_layer_and_one_for_finetuning() {
    let dir = tmpdir("curves");
    let log = dir.join("log.jsonl");
    std::fs::write(&log, LOG).unwrap();
    let out = dir.join("c.png");
    ok(&sdae(&["viz", "curves", s(&log), "--out", s(&out)]));
    let (w, h, ch, px) = decode(&out);
    // Three panels of 440 x 300, two per row.
    assert_eq!((w, h, ch), (880, 600, 3));
    let blue = [31, 90, 180];
    let red = [200, 50, 40];
    // The fine-tuning panel (bottom left) alone has the red validation curve.
    let region = |x0: usize, y0: usize| -> Vec<u8> {
        (y0..y0 + 300)
            .flat_map(|y| px[(y * w + x0) * 3..(y * w + x0 + 440) * 3].to_vec())
            .collect()
    };
    assert!(count_color(&region(0, 0), blue) > 100);
    assert_eq!(count_color(&region(0, 0), red), 0);
    assert!(count_color(&region(440, 0), blue) > 100);
    assert!(count_color(&region(0, 300), red) > 100);
    assert!(count_color(&region(0, 300), blue) > 100);
    // The empty fourth slot stays white.
    assert_eq!(count_color(&region(440, 300), [255, 255, 255]), 440 * 300);

    // Pre-training only: one panel.
    let pre: String = LOG.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, pre).unwrap();
    ok(&sdae(&["viz", "curves", s(&log), "--out", s(&out)]));
    let (w, h, _, _) = decode(&out);
    assert_eq!((w, h), (440, 300));
}

#[test]
fn bad_inputs_give_clear_errors_and_no_output() {
    let dir = tmpdir("bad");
    let (out, txt) = (dir.join("o.png"), dir.join("o.txt"));
    let (o, missing) = (s(&out), dir.join("nope.sdm"));
    // Input width 50: not a square image.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let narrow = dir.join("narrow.sdm");
    Model {
        layers: vec![DaeLayer::new(50, 4, true, &mut rng).into()],
        output: None,
        provenance: None,
    }
    .save(&narrow)
    .unwrap();
    let model = dir.join("m.sdm");
    patterned_model(4).save(&model).unwrap();
    let m = s(&model);
    // Datasets: one whose width does not match the model, one that does.
    let (data, data784) = (dir.join("d100.sdd"), dir.join("d784.sdd"));
    write_dataset(&data, &vec![0.5; 300], &[0, 1, 0], 100, 2).unwrap();
    write_dataset(&data784, &vec![0.5; 784], &[0], 784, 2).unwrap();
    let (none, gone) = (dir.join("none.sdd"), dir.join("gone.jsonl"));
    // (the command, what its error names)
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["filters", s(&missing), "--out", o], vec!["nope.sdm"]),
        (
            vec!["filters", s(&narrow), "--out", o],
            vec!["narrow.sdm", "50", "784"],
        ),
        (
            vec!["filters", m, "--out", o, "--layer", "2"],
            vec!["--layer 2"],
        ),
        (
            vec!["filters", m, "--out", o, "--count", "0"],
            vec!["--count 0"],
        ),
        (vec!["filters", m, "--out", s(&txt)], vec!["o.txt", ".png"]),
        (
            vec!["reconstructions", m, s(&data), "--out", o],
            vec!["d100.sdd", "100", "784"],
        ),
        (
            vec!["reconstructions", m, s(&none), "--out", o],
            vec!["none.sdd"],
        ),
        (
            vec!["reconstructions", m, s(&data784), "--out", o, "--nu", "1.5"],
            vec!["--nu 1.5"],
        ),
        (vec!["curves", s(&gone), "--out", o], vec!["gone.jsonl"]),
    ];
    for (args, wants) in cases {
        let written = if args.contains(&s(&txt)) { &txt } else { &out };
        let e = fails(&[&["viz"], &args[..]].concat(), written);
        for w in wants {
            assert!(e.contains(w), "{args:?}: {e} should name {w:?}");
        }
    }

    // Logs: empty, only a result line, malformed.
    let log = dir.join("log.jsonl");
    let first = LOG.lines().next().unwrap();
    let result_only = "{\"phase\":\"result\",\"test_error\":1.0}\n".to_string();
    for (text, wants) in [
        (String::new(), &["log.jsonl", "no epoch lines"][..]),
        (result_only, &["no epoch lines"]),
        (format!("{first}\nloss=3\n"), &["log.jsonl: line 2"]),
    ] {
        std::fs::write(&log, text).unwrap();
        let e = fails(&["viz", "curves", s(&log), "--out", o], &out);
        for w in wants {
            assert!(e.contains(w), "{e} should name {w:?}");
        }
    }
}

#[test]
fn pictures_of_a_model_trained_here() {
    // A real (tiny) run: pre-train and fine-tune on 28x28 images of two stroke classes, then
    // draw all three pictures from its model and its --json log.
    let dir = tmpdir("trained");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    for (split, rows) in [("train", 200), ("valid", 40), ("test", 40)] {
        let mut x = Vec::with_capacity(rows * 784);
        let mut y = Vec::with_capacity(rows);
        for _ in 0..rows {
            let c = rng.next_u32() % 2;
            let at = 4 + (rng.next_u32() % 20) as usize;
            for i in 0..784 {
                let (r, col) = (i / 28, i % 28);
                let on = if c == 0 { col == at } else { r == at };
                x.push(if on { 1.0 } else { 0.0 });
            }
            y.push(c);
        }
        write_dataset(
            &sdae::data::split_path(&dir, "strokes", split),
            &x,
            &y,
            784,
            2,
        )
        .unwrap();
    }
    let model = dir.join("m.sdm");
    let o = sdae(&[
        "train",
        "--data",
        s(&dir),
        "--task",
        "strokes",
        "--widths",
        "16",
        "--epochs",
        "2",
        "--batch",
        "10",
        "--nu",
        "0.25",
        "--max-epochs",
        "2",
        "--patience",
        "2",
        "--seed",
        "1",
        "--json",
        "--quiet",
        "--out",
        s(&model),
    ]);
    ok(&o);
    let log = dir.join("log.jsonl");
    std::fs::write(&log, &o.stdout).unwrap();
    let (f, r, c) = (dir.join("f.png"), dir.join("r.png"), dir.join("c.png"));
    ok(&sdae(&["viz", "filters", s(&model), "--out", s(&f)]));
    let test = sdae::data::split_path(&dir, "strokes", "test");
    ok(&sdae(&[
        "viz",
        "reconstructions",
        s(&model),
        s(&test),
        "--out",
        s(&r),
    ]));
    ok(&sdae(&["viz", "curves", s(&log), "--out", s(&c)]));
    assert_eq!(size(&f), (4 * 58 + 2, 4 * 58 + 2));
    assert_eq!(size(&r), (66 + 10 * 86 + 2, 3 * 86 + 2));
    // One pre-training layer and fine-tuning: two panels side by side.
    assert_eq!(size(&c), (880, 300));
}
