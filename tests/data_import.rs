//! Importers on fixtures written by the tests: IDX (raw and gzip), .amat, a Larochelle folder;
//! and every kind of bad input, each with a clear error and no partial output.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_says, gz, idx_bytes, outcome, tmpdir};
use sdae::data::amat::{import_amat, import_larochelle, larochelle_files, read_amat};
use sdae::data::idx::import_idx;
use sdae::data::{split_path, Dataset, TASKS};

/// Every file in `d`, recursively (to prove nothing was left behind).
fn all_files(d: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir(d) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                v.extend(all_files(&p));
            } else {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn idx_raw_and_gz_import_as_pixels_over_255() {
    let d = tmpdir("idx");
    let pix: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 17 % 256) as u8).collect();
    let lab = [3u8, 0, 9];
    for (name, wrap) in [("raw", false), ("gz", true)] {
        let (ip, lp) = (
            d.join(format!("{name}-images")),
            d.join(format!("{name}-labels")),
        );
        let (ib, lb) = (idx_bytes(&[3, 4, 5], &pix), idx_bytes(&[3], &lab));
        fs::write(&ip, if wrap { gz(&ib) } else { ib }).unwrap();
        fs::write(&lp, if wrap { gz(&lb) } else { lb }).unwrap();
        let out = d.join(format!("{name}.sdd"));
        assert_eq!(import_idx(&ip, &lp, &out, 10).unwrap(), (3, 20));
        let ds = Dataset::open(&out).unwrap();
        assert_eq!(ds.labels(), &[3, 0, 9]);
        for (a, &b) in ds.features().iter().zip(&pix) {
            assert_eq!(*a, f32::from(b) / 255.0);
        }
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_idx_is_rejected_with_file_and_offset() {
    let d = tmpdir("idxbad");
    let lp = d.join("labels");
    fs::write(&lp, idx_bytes(&[2], &[1, 2])).unwrap();
    let ip = d.join("images");
    let out = d.join("out.sdd");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (idx_bytes(&[2, 2, 2], &[0; 7]), "truncated"),
        (idx_bytes(&[2, 2, 2], &[0; 9]), "trailing garbage"),
        (b"hello world, not idx".to_vec(), "bad IDX magic"),
        (vec![0, 0], "at least a 4-byte IDX magic"),
        (vec![0, 0, 8, 3, 0, 0], "truncated IDX header"),
        (vec![0, 0, 0x0d, 1, 0, 0, 0, 0], "data type 0x0d"),
        (vec![0x1f, 0x8b, 1, 2, 3], "corrupt gzip"),
        (idx_bytes(&[3, 2, 2], &[0; 12]), "has 3 images"),
    ];
    for (bytes, want) in cases {
        fs::write(&ip, &bytes).unwrap();
        let e = import_idx(&ip, &lp, &out, 10).unwrap_err().to_string();
        assert!(e.contains(want), "{e} (wanted {want:?})");
        assert!(e.contains("images") || e.contains("labels"), "{e}");
        assert!(!out.exists());
    }
    // labels out of range
    fs::write(&ip, idx_bytes(&[2, 2, 2], &[0; 8])).unwrap();
    let e = import_idx(&ip, &lp, &out, 2).unwrap_err().to_string();
    assert_says(&e, &["labels", "byte offset 9", "label 2"]);
    assert!(!out.exists());
    fs::remove_dir_all(&d).unwrap();
}

/// An .amat text of `rows` rows of `cols` pixels, in the originals' style (%e numbers).
fn amat_text(
    rows: usize,
    cols: usize,
    classes: usize,
    salt: usize,
) -> (String, Vec<f32>, Vec<u32>) {
    let mut s = String::from("#size: whatever\n# a PLearn header line\n");
    let mut f = Vec::new();
    let mut l = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let v = ((r * 31 + c * 7 + salt) % 101) as f32 / 100.0;
            f.push(v);
            s.push_str(&format!("{v:.18e} "));
        }
        let lab = ((r + salt) % classes) as u32;
        l.push(lab);
        s.push_str(&format!("{:.18e}\n", lab as f64));
    }
    (s, f, l)
}

#[test]
fn amat_parses_header_lines_blank_lines_and_scientific_numbers() {
    let d = tmpdir("amat");
    let (mut s, f, l) = amat_text(7, 5, 3, 1);
    s.push_str("\n   \n");
    let p = d.join("a.amat");
    fs::write(&p, &s).unwrap();
    let a = read_amat(&p, None, 3).unwrap();
    assert_eq!((a.rows(), a.cols), (7, 5));
    assert_eq!(a.labels, l);
    assert_eq!(a.features, f);
    // integers and plain decimals, tabs, CRLF
    fs::write(&p, "0 1\t0.5 2\r\n1 0.25 0 1\r\n").unwrap();
    let a = read_amat(&p, None, 3).unwrap();
    assert_eq!(a.features, vec![0.0, 1.0, 0.5, 1.0, 0.25, 0.0]);
    assert_eq!(a.labels, vec![2, 1]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn amat_import_splits_last_rows_as_validation() {
    let d = tmpdir("amatimport");
    let (tv, f, l) = amat_text(12, 6, 4, 0);
    let (te, f2, l2) = amat_text(5, 6, 4, 3);
    fs::write(d.join("tr.amat"), tv).unwrap();
    fs::write(d.join("te.amat"), te).unwrap();
    let out = d.join("out");
    assert_eq!(
        import_amat(&d.join("tr.amat"), &d.join("te.amat"), &out, 4, 3).unwrap(),
        [9, 3, 5]
    );
    let tr = Dataset::open(&out.join("train.sdd")).unwrap();
    let va = Dataset::open(&out.join("valid.sdd")).unwrap();
    let ts = Dataset::open(&out.join("test.sdd")).unwrap();
    assert_eq!(tr.features(), &f[..9 * 6]);
    assert_eq!(va.features(), &f[9 * 6..]);
    assert_eq!(va.labels(), &l[9..]);
    assert_eq!(ts.features(), &f2[..]);
    assert_eq!(ts.labels(), &l2[..]);
    assert_eq!(tr.classes(), 4);
    assert!(all_files(&out)
        .iter()
        .all(|p| p.extension().unwrap() == "sdd"));
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_amat_is_rejected_with_line_and_no_output() {
    let d = tmpdir("amatbad");
    let good = "0 0.5 1 1\n0.25 0 0 0\n0 0 0 1\n";
    let te = d.join("te.amat");
    fs::write(&te, good).unwrap();
    let tr = d.join("tr.amat");
    let out = d.join("out");
    let cases = [
        ("0 0.5 1 1\n0.25 0 0\n", "line 2", "3 values, expected 4"),
        (
            "0 0.5 1 1\n0.25 0 0 0 0\n",
            "line 2",
            "5 values, expected 4",
        ),
        (
            "# h\n0 0.5 1 1\n0.25 abc 0 0\n",
            "line 3, value 2",
            "\"abc\" is not a number",
        ),
        (
            "0 0.5 1.5 1\n0 0 0 0\n",
            "line 1, value 3",
            "outside [0, 1]",
        ),
        (
            "0 0.5 -0.1 1\n0 0 0 0\n",
            "line 1, value 3",
            "outside [0, 1]",
        ),
        (
            "0 0.5 nan 1\n0 0 0 0\n",
            "line 1, value 3",
            "outside [0, 1]",
        ),
        ("0 0.5 1 1\n0 0 0 2\n", "line 2, value 4", "label 2"),
        ("0 0.5 1 1\n0 0 0 0.5\n", "line 2, value 4", "label 0.5"),
        ("0 0.5 1 -1\n0 0 0 0\n", "line 1, value 4", "label -1"),
        ("# only a header\n", "tr.amat", "no data lines"),
        ("", "tr.amat", "no data lines"),
        (
            "0 0 0 1\n",
            "tr.amat",
            "expected more than the 1 validation rows",
        ),
        ("\u{0}\u{ff}\u{fe}", "line 1", "not text"),
    ];
    for (text, loc, msg) in cases {
        fs::write(&tr, text.as_bytes()).unwrap();
        if text.starts_with('\u{0}') {
            fs::write(&tr, [0u8, 0xff, 0xfe]).unwrap();
        }
        let e = import_amat(&tr, &te, &out, 2, 1).unwrap_err().to_string();
        assert!(
            e.contains("tr.amat") && e.contains(loc) && e.contains(msg),
            "{e} (wanted {loc:?} {msg:?})"
        );
        assert!(all_files(&out).is_empty(), "{:?}", all_files(&out));
    }
    // the test file is checked too, against the train file's column count
    fs::write(&tr, good).unwrap();
    fs::write(&te, "0 0 1\n").unwrap();
    let e = import_amat(&tr, &te, &out, 2, 1).unwrap_err().to_string();
    assert_says(&e, &["te.amat", "line 1", "expected 4"]);
    assert!(all_files(&out).is_empty());
    fs::remove_dir_all(&d).unwrap();
}

fn write_larochelle_fixture(dir: &Path, tasks: &[&str], train_rows: usize, test_rows: usize) {
    fs::create_dir_all(dir).unwrap();
    for (k, t) in tasks.iter().enumerate() {
        let classes = if t.starts_with("mnist") { 10 } else { 2 };
        let (a, b) = larochelle_files(t).unwrap();
        fs::write(dir.join(a), amat_text(train_rows, 784, classes, k).0).unwrap();
        fs::write(dir.join(b), amat_text(test_rows, 784, classes, k + 50).0).unwrap();
    }
}

#[test]
fn larochelle_folder_imports_every_task_present() {
    let d = tmpdir("laro");
    let src = d.join("src");
    write_larochelle_fixture(&src, &TASKS, 6, 4);
    let out = d.join("data");
    let done = import_larochelle(&src, &out, Some(2)).unwrap();
    assert_eq!(done.len(), 8);
    for t in TASKS {
        let (a, b, c) = (
            Dataset::open(&split_path(&out, t, "train")).unwrap(),
            Dataset::open(&split_path(&out, t, "valid")).unwrap(),
            Dataset::open(&split_path(&out, t, "test")).unwrap(),
        );
        assert_eq!((a.rows(), b.rows(), c.rows()), (4, 2, 4), "{t}");
        assert_eq!(a.cols(), 784);
        assert_eq!(a.classes(), if t.starts_with("mnist") { 10 } else { 2 });
        let (_, full, _) = amat_text(
            6,
            784,
            a.classes(),
            TASKS.iter().position(|x| *x == t).unwrap(),
        );
        assert_eq!(
            b.features(),
            &full[4 * 784..],
            "{t}: validation = last rows"
        );
    }
    // default validation sizes: the last 200 rows for rectangles, the last 2,000 for
    // rectangles-image (rectangles_im_train.amat is 10,000 train + 2,000 valid)
    let src2 = d.join("src2");
    write_larochelle_fixture(&src2, &["rectangles"], 203, 2);
    write_larochelle_fixture(&src2, &["rectangles-image"], 2003, 2);
    let out2 = d.join("data2");
    assert_eq!(
        import_larochelle(&src2, &out2, None).unwrap(),
        vec![
            ("rectangles", [3, 200, 2]),
            ("rectangles-image", [3, 2000, 2])
        ]
    );
    let (_, full, _) = amat_text(2003, 784, 2, 0);
    let valid = Dataset::open(&split_path(&out2, "rectangles-image", "valid")).unwrap();
    assert_eq!(
        valid.features(),
        &full[3 * 784..],
        "rectangles-image: validation = last 2,000 rows"
    );
    let train = Dataset::open(&split_path(&out2, "rectangles-image", "train")).unwrap();
    assert_eq!(train.features(), &full[..3 * 784]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn larochelle_errors_leave_nothing_behind() {
    let d = tmpdir("larobad");
    let src = d.join("src");
    write_larochelle_fixture(&src, &["mnist-basic", "convex"], 5, 3);
    let out = d.join("data");
    // a bad row in the second task: the first must not be written either
    let (a, _) = larochelle_files("convex").unwrap();
    fs::write(src.join(a), "0 0 1\n").unwrap();
    let e = import_larochelle(&src, &out, Some(2))
        .unwrap_err()
        .to_string();
    assert_says(&e, &["convex_train.amat", "line 1", "expected 785"]);
    assert!(all_files(&out).is_empty(), "{:?}", all_files(&out));
    assert!(
        !out.exists(),
        "the output folder was created by the failed run and left"
    );
    // half a pair
    let (_, b) = larochelle_files("convex").unwrap();
    fs::remove_file(src.join(b)).unwrap();
    let e = import_larochelle(&src, &out, Some(2))
        .unwrap_err()
        .to_string();
    assert_says(&e, &["convex_test.amat", "missing"]);
    // nothing at all
    let empty = d.join("empty");
    fs::create_dir_all(&empty).unwrap();
    let e = import_larochelle(&empty, &out, None)
        .unwrap_err()
        .to_string();
    assert_says(&e, &["no benchmark files", "mnist_train.amat"]);
    fs::remove_dir_all(&d).unwrap();
}

/// `sdae ARGS`: (succeeded, stdout, stderr).
fn sdae(args: &[&str]) -> (bool, String, String) {
    outcome(common::sdae(args))
}

#[test]
fn cli_info_verify_preview_and_errors() {
    let d = tmpdir("cli");
    let src = d.join("src");
    write_larochelle_fixture(&src, &["rectangles"], 8, 4);
    let out = d.join("data");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (ok, so, se) = sdae(&[
        "data",
        "import-larochelle",
        &s(&src),
        "--out",
        &s(&out),
        "--valid-rows",
        "2",
    ]);
    assert!(ok, "{so}{se}");
    let test = split_path(&out, "rectangles", "test");
    let (ok, so, _) = sdae(&["data", "info", &s(&test)]);
    assert!(
        ok && so.contains("rows 4  cols 784  classes 2") && so.contains("checksum ok"),
        "{so}"
    );
    let (ok, so, _) = sdae(&["data", "verify", &s(&out)]);
    assert!(ok && so.matches(": ok").count() == 3, "{so}");
    let png = d.join("grid.png");
    let (ok, so, se) = sdae(&["data", "preview", &s(&test), "--out", &s(&png)]);
    assert!(ok, "{so}{se}");
    assert_eq!(&fs::read(&png).unwrap()[1..4], b"PNG");

    // corrupt one payload byte: info and verify fail, naming the file
    let mut b = fs::read(&test).unwrap();
    b[100] ^= 0x40;
    fs::write(&test, &b).unwrap();
    let (ok, so, se) = sdae(&["data", "verify", &s(&out)]);
    assert!(
        !ok && se.contains("test.sdd") && se.contains("checksum mismatch"),
        "{so}{se}"
    );
    let (ok, so, _) = sdae(&["data", "info", &s(&test)]);
    assert!(!ok && so.contains("FAILED"), "{so}");
    // wrong magic
    b[0] = b'Z';
    fs::write(&test, &b).unwrap();
    let (ok, _, se) = sdae(&["data", "verify", &s(&test)]);
    assert!(
        !ok && se.contains("byte offset 0") && se.contains("magic"),
        "{se}"
    );
    // unknown task, missing source: (task, more flags, what the error names)
    let (g, nowhere) = (s(&d.join("g")), s(&d.join("nowhere")));
    for (task, more, wants) in [
        ("mnist-nope", vec![], ["--task", "mnist-nope"]),
        (
            "mnist-basic",
            vec!["--source", &nowhere],
            ["nowhere", "train-images-idx3-ubyte"],
        ),
    ] {
        let args = [
            &["data", "generate", "--task", task, "--out", &g][..],
            &more,
        ]
        .concat();
        let (ok, _, se) = sdae(&args);
        assert!(!ok && wants.iter().all(|w| se.contains(w)), "{se}");
    }
    assert!(!d.join("g").join("mnist-basic").exists());
    fs::remove_dir_all(&d).unwrap();
}
