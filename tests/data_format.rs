//! The .sdd format: round trips, header validation, checksum, atomic writes, XXH64 vectors.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{assert_says, tmpdir};
use sdae::data::xxh64::{xxh64, Xxh64};
use sdae::data::{split_path, task_sizes, write_dataset, Dataset, TASKS};

fn sample(rows: usize, cols: usize) -> (Vec<f32>, Vec<u32>) {
    let f: Vec<f32> = (0..rows * cols)
        .map(|i| (i as f32 * 0.37).sin().abs())
        .collect();
    let l: Vec<u32> = (0..rows).map(|i| (i * 7 % 10) as u32).collect();
    (f, l)
}

/// A fresh scratch folder for `test` and the path of `file` in it.
fn scratch_file(test: &str, file: &str) -> (PathBuf, PathBuf) {
    let d = tmpdir(test);
    let p = d.join(file);
    (d, p)
}

/// [`scratch_file`] with a `rows x cols` [`sample`] (10 classes) written to the file: the
/// folder, the file, the features and the labels.
fn with_sample(
    test: &str,
    file: &str,
    rows: usize,
    cols: usize,
) -> (PathBuf, PathBuf, Vec<f32>, Vec<u32>) {
    let (d, p) = scratch_file(test, file);
    let (f, l) = sample(rows, cols);
    write_dataset(&p, &f, &l, cols, 10).unwrap();
    (d, p, f, l)
}

#[test]
fn xxh64_known_vectors() {
    // Reference values of XXH64 with seed 0 (xxhsum -H1).
    assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
    assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
    assert_eq!(xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
    assert_eq!(
        xxh64(b"Nobody inspects the spammish repetition", 0),
        0xFBCE_A83C_8A37_8BF1
    );
}

#[test]
fn xxh64_streaming_matches_one_shot() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
    for cut in [0, 1, 7, 31, 32, 33, 64, 100, 999, 1000] {
        let mut s = Xxh64::new(0);
        s.update(&data[..cut]);
        s.update(&data[cut..]);
        assert_eq!(s.finish(), xxh64(&data, 0), "cut {cut}");
        let mut s = Xxh64::new(0);
        for b in data.chunks(13) {
            s.update(b);
        }
        assert_eq!(s.finish(), xxh64(&data, 0));
    }
}

#[test]
fn round_trip_is_exact_and_aligned() {
    let d = tmpdir("roundtrip");
    for (rows, cols) in [(0, 1), (1, 1), (3, 5), (17, 784), (100, 3)] {
        let (f, l) = sample(rows, cols);
        let p = d.join(format!("r{rows}c{cols}.sdd"));
        write_dataset(&p, &f, &l, cols, 10).unwrap();
        let ds = Dataset::open(&p).unwrap();
        assert_eq!((ds.rows(), ds.cols(), ds.classes()), (rows, cols, 10));
        assert_eq!(ds.features().len(), rows * cols);
        assert_eq!(ds.features().as_ptr() as usize % 64, 0);
        assert!(ds
            .features()
            .iter()
            .zip(&f)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(ds.labels(), &l[..]);
        for i in 0..rows {
            assert_eq!(ds.row(i), &f[i * cols..(i + 1) * cols]);
        }
        assert_eq!(ds.path(), p.as_path());
        ds.verify_checksum().unwrap();
        let len = fs::metadata(&p).unwrap().len();
        let lab_off = (64 + 4 * rows * cols).div_ceil(64) * 64;
        assert_eq!(len as usize, lab_off + 4 * rows);
    }
    // no temp file left behind
    let left: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    fs::remove_dir_all(&d).unwrap();
}

fn err_of(p: &std::path::Path) -> String {
    Dataset::open(p).unwrap_err().to_string()
}

#[test]
fn header_validation_names_file_offset_and_expectation() {
    let (d, p, _, _) = with_sample("header", "good.sdd", 4, 6);
    let good = fs::read(&p).unwrap();

    let bad = d.join("bad.sdd");
    let mut b = good.clone();
    b[0] = b'X';
    fs::write(&bad, &b).unwrap();
    let e = err_of(&bad);
    assert_says(&e, &["bad.sdd", "byte offset 0", "magic"]);

    let mut b = good.clone();
    b[8] = 2;
    fs::write(&bad, &b).unwrap();
    let e = err_of(&bad);
    assert_says(&e, &["byte offset 8", "version 2"]);

    // truncated
    fs::write(&bad, &good[..good.len() - 1]).unwrap();
    let e = err_of(&bad);
    assert!(
        e.contains("truncated") && e.contains(&format!("{}", good.len())),
        "{e}"
    );
    // too long
    let mut b = good.clone();
    b.push(0);
    fs::write(&bad, &b).unwrap();
    assert!(err_of(&bad).contains("needs exactly"));
    // shorter than a header
    fs::write(&bad, &good[..10]).unwrap();
    assert!(err_of(&bad).contains("shorter than the 64-byte"));
    // empty
    fs::write(&bad, b"").unwrap();
    assert!(err_of(&bad).contains("shorter than the 64-byte"));
    // rows field lies
    let mut b = good.clone();
    b[16] = 5;
    fs::write(&bad, &b).unwrap();
    assert!(err_of(&bad).contains("bad.sdd"));
    // missing file
    let e = err_of(&d.join("nope.sdd"));
    assert_says(&e, &["nope.sdd", "cannot open"]);

    // payload corruption: open succeeds (O(1)), verify fails
    let mut b = good.clone();
    b[70] ^= 1;
    fs::write(&bad, &b).unwrap();
    let ds = Dataset::open(&bad).unwrap();
    let e = ds.verify_checksum().unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn write_rejects_bad_shapes_and_labels_without_output() {
    let (d, p) = scratch_file("writebad", "x.sdd");
    let (f, l) = sample(3, 4);
    assert!(write_dataset(&p, &f[..11], &l, 4, 10).is_err());
    assert!(write_dataset(&p, &f, &l, 0, 10).is_err());
    let e = write_dataset(&p, &f, &[0, 1, 10], 4, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label of row 2 is 10"), "{e}");
    assert!(!p.exists());
    assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn overwrite_is_atomic_for_existing_readers() {
    let (d, p, f, _) = with_sample("overwrite", "a.sdd", 5, 3);
    let old = Dataset::open(&p).unwrap();
    let (f2, l2) = sample(9, 2);
    write_dataset(&p, &f2, &l2, 2, 10).unwrap();
    // the old mapping still sees the old inode
    assert_eq!(old.rows(), 5);
    assert_eq!(old.features(), &f[..]);
    old.verify_checksum().unwrap();
    assert_eq!(Dataset::open(&p).unwrap().rows(), 9);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn tasks_and_paths() {
    assert_eq!(TASKS.len(), 8);
    for t in TASKS {
        let (a, b, c) = task_sizes(t).unwrap();
        assert_eq!(c, 50_000);
        assert!(a >= 1000 && b >= 200);
    }
    assert_eq!(task_sizes("rectangles"), Some((1000, 200, 50_000)));
    assert_eq!(task_sizes("convex"), Some((6000, 2000, 50_000)));
    assert_eq!(task_sizes("nope"), None);
    assert_eq!(
        split_path(std::path::Path::new("data"), "convex", "valid"),
        PathBuf::from("data/convex/valid.sdd")
    );
}
