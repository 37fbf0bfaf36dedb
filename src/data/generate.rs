//! Offline generators of the eight benchmark tasks of Larochelle et al. (2007). Every choice is
//! documented in datasets/README.md ("Generators").
//!
//! Each example is drawn from its own random stream seeded by `(seed, task, split, index)` (see
//! [`super::rng`]), and rows are filled in parallel: files are byte-identical whatever the thread
//! count.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::DataError;
use super::images::{mnist_source_index, rotate, Backgrounds, Mnist, PIXELS, SIDE};
use super::recipe::{Combine, ConvexRules, ConvexTest, Corner, Geometric, Recipe, DEFAULT_RECIPE};
use super::rng::{balanced_labels, Rng};
use super::{split_path, task_classes, task_sizes, write_dataset, Dataset, SPLITS, TASKS};

/// Geometric parameter of the number of half-planes of a convex example.
pub const CONVEX_P: f64 = 0.195;
/// Smallest convex example, in white pixels.
pub const CONVEX_MIN_PIXELS: usize = 19;
/// Geometric parameter of the number of half-planes of each part of a non-convex example.
pub const NONCONVEX_PART_P: f64 = 0.07;
/// Smallest part of a non-convex example, in white pixels.
pub const NONCONVEX_PART_MIN_PIXELS: usize = 10;
/// Rectangle outline sides are uniform in this range (3 is the smallest outline with a hole).
pub const RECT_SIDE: (usize, usize) = (3, SIDE);
/// Outline sides may not differ by fewer pixels than this (else resampled).
pub const RECT_MIN_DIFF: usize = 3;
/// rectangles-image: sides uniform in this range ...
pub const RECT_IMAGE_SIDE: (usize, usize) = (10, SIDE);
/// ... area (pixels) within these bounds (25% and 75% of 784) ...
pub const RECT_IMAGE_AREA: (usize, usize) = (196, 588);
/// ... and sides differing by at least this much.
pub const RECT_IMAGE_MIN_DIFF: usize = 5;

/// File beside a generated task's splits naming the recipe and seed that made them.
pub const RECIPE_FILE: &str = "recipe.txt";

/// Label of a rectangle taller than wide (the other class, 0, is wider than tall).
pub const TALL: u32 = 1;
/// Label of a convex example (0 is non-convex).
pub const CONVEX: u32 = 1;

/// What the generators read: MNIST for the digit tasks, backgrounds for the image tasks, and the
/// recipe (the open choices) they follow.
pub struct Sources {
    pub mnist: Option<Mnist>,
    pub backgrounds: Option<Backgrounds>,
    pub recipe: Recipe,
}

impl Default for Sources {
    /// Nothing loaded, the default recipe.
    fn default() -> Sources {
        Sources::with_recipe(Recipe::named(DEFAULT_RECIPE).expect("default recipe"))
    }
}

/// Which inputs a task needs: (MNIST, backgrounds).
pub fn task_needs(task: &str) -> (bool, bool) {
    match task {
        "mnist-basic" | "mnist-rot" | "mnist-back-rand" => (true, false),
        "mnist-back-image" | "mnist-rot-back-image" => (true, true),
        "rectangles-image" => (false, true),
        _ => (false, false),
    }
}

impl Sources {
    /// Nothing loaded (enough for rectangles and convex), `recipe`.
    pub fn with_recipe(recipe: Recipe) -> Sources {
        Sources {
            mnist: None,
            backgrounds: None,
            recipe,
        }
    }

    /// Load what `tasks` need from `source` (`<source>/mnist`, `<source>/backgrounds`), for the
    /// default recipe.
    pub fn load(source: &Path, tasks: &[&str]) -> Result<Sources, DataError> {
        Sources::load_recipe(
            source,
            tasks,
            Recipe::named(DEFAULT_RECIPE).expect("default recipe"),
        )
    }

    /// Load what `tasks` need from `source` for `recipe` (backgrounds are downscaled by its
    /// patch scale).
    pub fn load_recipe(
        source: &Path,
        tasks: &[&str],
        recipe: Recipe,
    ) -> Result<Sources, DataError> {
        let need_m = tasks.iter().any(|t| task_needs(t).0);
        let need_b = tasks.iter().any(|t| task_needs(t).1);
        Ok(Sources {
            mnist: if need_m {
                Some(Mnist::load(source)?)
            } else {
                None
            },
            backgrounds: if need_b {
                let dir = source.join("backgrounds");
                let bg = Backgrounds::load_scaled(&dir, recipe.patch_scale, recipe.patch_min_std)?;
                if tasks.contains(&"rectangles-image") {
                    bg.check_textured(&dir, recipe.patch_min_std_for("rectangles-image"))?;
                }
                Some(bg)
            } else {
                None
            },
            recipe,
        })
    }
}

fn unknown_task(task: &str) -> DataError {
    DataError::new(
        Path::new("--task"),
        format!(
            "unknown task {task:?}, expected one of {} or all",
            TASKS.join(", ")
        ),
    )
}

/// Generate `rows` examples of `task`/`split` (split: train | valid | test). Returns the
/// features (`rows * 784`) and labels.
pub fn generate_split(
    task: &str,
    split: &str,
    rows: usize,
    seed: u64,
    src: &Sources,
) -> Result<(Vec<f32>, Vec<u32>), DataError> {
    let classes = task_classes(task).ok_or_else(|| unknown_task(task))?;
    if !SPLITS.contains(&split) {
        return Err(DataError::new(
            Path::new(split),
            "unknown split, expected train, valid or test",
        ));
    }
    let (need_m, need_b) = task_needs(task);
    let missing = |what: &str| {
        DataError::new(
            Path::new(task),
            format!("generator needs {what}, not loaded"),
        )
    };
    let mnist = if need_m {
        Some(src.mnist.as_ref().ok_or_else(|| missing("MNIST"))?)
    } else {
        None
    };
    let bg = if need_b {
        Some(
            src.backgrounds
                .as_ref()
                .ok_or_else(|| missing("backgrounds"))?,
        )
    } else {
        None
    };
    if let Some(m) = mnist {
        let (tr, va, _) = task_sizes(task).expect("known");
        let avail = match split {
            "train" => tr,
            "valid" => va,
            _ => m.pixels.len() / PIXELS - mnist_source_index("test", 0),
        };
        if rows > avail {
            return Err(DataError::new(
                Path::new(task),
                format!("{rows} rows of split {split} requested, only {avail} distinct MNIST digits assigned to it"),
            ));
        }
    }
    let mut feats = vec![0f32; rows * PIXELS];
    let mut labels = if classes == 2 {
        balanced_labels(seed, task, split, rows, 2)
    } else {
        vec![0u32; rows]
    };
    let r = &src.recipe;
    let area = (task == "convex" && r.convex_area_match)
        .then(|| AreaMatch::cached(seed, &r.convex_rules()));
    feats
        .par_chunks_mut(PIXELS)
        .zip(labels.par_iter_mut())
        .enumerate()
        .for_each(|(i, (row, label))| {
            let mut rng = Rng::for_example(seed, task, split, i as u64);
            let row: &mut [f32; PIXELS] = row.try_into().expect("784");
            match task {
                "rectangles" => rectangle_outline(&mut rng, *label, r.rect_corner, row),
                "rectangles-image" => {
                    let rules = (r.rect_corner, r.patch_min_std_for(task));
                    rectangle_image(&mut rng, *label, rules, bg.expect("bg"), row)
                }
                "convex" => convex_example(
                    &mut rng,
                    *label == CONVEX,
                    &r.convex_rules(),
                    area.as_deref(),
                    row,
                ),
                _ => {
                    let m = mnist.expect("mnist");
                    let k = mnist_source_index(split, i);
                    *label = m.labels[k];
                    mnist_example(task, m, k, &mut rng, bg, r, row);
                }
            }
        });
    Ok((feats, labels))
}

fn mnist_example(
    task: &str,
    m: &Mnist,
    k: usize,
    rng: &mut Rng,
    bg: Option<&Backgrounds>,
    recipe: &Recipe,
    row: &mut [f32; PIXELS],
) {
    let mut digit = [0f32; PIXELS];
    m.digit(k, &mut digit);
    let rotated = task == "mnist-rot" || task == "mnist-rot-back-image";
    if rotated {
        let angle = rng.uniform() * std::f64::consts::TAU;
        rotate(&digit, angle, recipe.rotation, row);
    } else {
        row.copy_from_slice(&digit);
    }
    match task {
        "mnist-back-rand" => {
            for p in row.iter_mut() {
                *p = combine(recipe.combine_rand, *p, rng.uniform_f32());
            }
        }
        "mnist-back-image" | "mnist-rot-back-image" => {
            let mut patch = [0f32; PIXELS];
            bg.expect("bg").patch(rng, &mut patch);
            for (p, &b) in row.iter_mut().zip(&patch) {
                *p = combine(recipe.combine_image, *p, b);
            }
        }
        _ => {}
    }
}

/// One pixel of a digit over a background.
pub fn combine(rule: Combine, digit: f32, background: f32) -> f32 {
    match rule {
        Combine::Max => digit.max(background),
        Combine::Replace => {
            if digit > 0.0 {
                digit
            } else {
                background
            }
        }
        Combine::AddClip => (digit + background).min(1.0),
    }
}

/// Top-left corner and sides (y0, x0, h, w) of a rectangle of class `label` whose sides are in
/// `side` and satisfy `ok`, placed by `corner`.
fn place_rect(
    rng: &mut Rng,
    side: (usize, usize),
    label: u32,
    corner: Corner,
    ok: impl Fn(usize, usize) -> bool,
) -> (usize, usize, usize, usize) {
    match corner {
        Corner::Fit => {
            let (h, w) = rect_shape(rng, side, label, ok);
            let y0 = rng.range_inclusive(0, SIDE - h);
            let x0 = rng.range_inclusive(0, SIDE - w);
            (y0, x0, h, w)
        }
        Corner::CornerFirst => loop {
            let y0 = rng.range_inclusive(0, SIDE - side.0);
            let x0 = rng.range_inclusive(0, SIDE - side.0);
            let h = rng.range_inclusive(side.0, side.1.min(SIDE - y0));
            let w = rng.range_inclusive(side.0, side.1.min(SIDE - x0));
            if ok(h, w) && (h > w) == (label == TALL) {
                return (y0, x0, h, w);
            }
        },
    }
}

/// Sample (height, width) uniform in `side`, resampled until `ok(h, w)`, then ordered so that the
/// rectangle is tall (h > w) iff `label == TALL`. Swapping keeps the distribution uniform over the
/// accepted shapes of each class, since the constraints are symmetric in h and w.
fn rect_shape(
    rng: &mut Rng,
    side: (usize, usize),
    label: u32,
    ok: impl Fn(usize, usize) -> bool,
) -> (usize, usize) {
    loop {
        let h = rng.range_inclusive(side.0, side.1);
        let w = rng.range_inclusive(side.0, side.1);
        if ok(h, w) {
            let (h, w) = if (h > w) == (label == TALL) {
                (h, w)
            } else {
                (w, h)
            };
            return (h, w);
        }
    }
}

fn rectangle_outline(rng: &mut Rng, label: u32, corner: Corner, row: &mut [f32; PIXELS]) {
    let (y0, x0, h, w) = place_rect(rng, RECT_SIDE, label, corner, |h, w| {
        h.abs_diff(w) >= RECT_MIN_DIFF
    });
    row.fill(0.0);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            if y == y0 || y == y0 + h - 1 || x == x0 || x == x0 + w - 1 {
                row[y * SIDE + x] = 1.0;
            }
        }
    }
}

fn rectangle_image(
    rng: &mut Rng,
    label: u32,
    (corner, min_std): (Corner, f32),
    bg: &Backgrounds,
    row: &mut [f32; PIXELS],
) {
    let (y0, x0, h, w) = place_rect(rng, RECT_IMAGE_SIDE, label, corner, |h, w| {
        h.abs_diff(w) >= RECT_IMAGE_MIN_DIFF
            && (RECT_IMAGE_AREA.0..=RECT_IMAGE_AREA.1).contains(&(h * w))
    });
    let mut inside = [0f32; PIXELS];
    bg.patch_above(rng, row, min_std);
    bg.patch_above(rng, &mut inside, min_std);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            row[y * SIDE + x] = inside[y * SIDE + x];
        }
    }
}

/// A binary 28x28 image as one bitmask per row (bit x = column x).
pub type RowMask = [u32; SIDE];
const FULL_ROW: u32 = (1 << SIDE) - 1;

/// Intersection of `geometric(p)` random half-planes, as row bitmasks; `None` as soon as it has
/// fewer than `min_pixels` pixels (it only shrinks). Each half-plane is bounded by a line through
/// a point uniform over the image square [0,28)^2 with a normal of uniform angle in [0, 2π); a
/// pixel is in it when its centre (x+0.5, y+0.5) satisfies (x+0.5-px)cos + (y+0.5-py)sin >= 0.
/// The expression is monotone in x, so each row of the set is one interval, found by solving for
/// x and then correcting with the exact expression at the interval's ends.
fn half_plane_intersection(
    rng: &mut Rng,
    p: f64,
    count: Geometric,
    min_pixels: usize,
) -> Option<RowMask> {
    let mut lo = [0usize; SIDE];
    let mut hi = [SIDE; SIDE];
    let n = match count {
        Geometric::Trials => rng.geometric(p),
        Geometric::Failures => rng.geometric(p) - 1,
    };
    for _ in 0..n {
        let px = rng.uniform() * SIDE as f64;
        let py = rng.uniform() * SIDE as f64;
        let (s, c) = (rng.uniform() * std::f64::consts::TAU).sin_cos();
        let mut count = 0;
        for y in 0..SIDE {
            let dy = (y as f64 + 0.5 - py) * s;
            let inside = |x: usize| (x as f64 + 0.5 - px) * c + dy >= 0.0;
            // first column inside (c > 0) or first column outside (c < 0), in 0..=SIDE
            let (l, h) = if c == 0.0 {
                if dy >= 0.0 {
                    (0, SIDE)
                } else {
                    (0, 0)
                }
            } else {
                // ceil without a libm call (the loops below make the guess exact anyway)
                let v = (px - 0.5 - dy / c).clamp(-1.0, SIDE as f64 + 1.0);
                let t = v as i64;
                let guess = (t + i64::from((t as f64) < v)).clamp(0, SIDE as i64) as usize;
                if c > 0.0 {
                    let mut b = guess;
                    while b > 0 && inside(b - 1) {
                        b -= 1;
                    }
                    while b < SIDE && !inside(b) {
                        b += 1;
                    }
                    (b, SIDE)
                } else {
                    let mut b = guess;
                    while b < SIDE && inside(b) {
                        b += 1;
                    }
                    while b > 0 && !inside(b - 1) {
                        b -= 1;
                    }
                    (0, b)
                }
            };
            lo[y] = lo[y].max(l);
            hi[y] = hi[y].min(h);
            count += hi[y].saturating_sub(lo[y]);
        }
        if count < min_pixels {
            return None;
        }
    }
    let mut m = [0u32; SIDE];
    for y in 0..SIDE {
        if hi[y] > lo[y] {
            m[y] = (FULL_ROW >> (SIDE - (hi[y] - lo[y]))) << lo[y];
        }
    }
    Some(m)
}

/// White pixels of a mask.
pub fn mask_count(m: &RowMask) -> usize {
    m.iter().map(|r| r.count_ones() as usize).sum()
}

/// Row bitmasks of a 784-value image (pixel > 0.5 is white).
pub fn row_mask(img: &[f32]) -> RowMask {
    let mut m = [0u32; SIDE];
    for (y, r) in m.iter_mut().enumerate() {
        for x in 0..SIDE {
            if img[y * SIDE + x] > 0.5 {
                *r |= 1 << x;
            }
        }
    }
    m
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The convexity test over pixel pairs: a set of pixels is convex iff for every pair of its
/// pixels, every pixel whose centre lies exactly on the segment joining their centres is also in
/// the set. Every rasterised intersection of half-planes passes it (a lattice point on a segment
/// between two points of a convex set is in the set).
///
/// Computed line by line rather than pair by pair (same answer, ~1000x faster): for each
/// primitive direction s = (sx, sy) whose lattice lines can hold 3 pixels (|sx|, |sy| <= 13), the
/// white pixels of every line along s must be contiguous. With rows as bitmasks, walking the
/// lines one row step at a time: A = "a white pixel lies earlier on my line", G = "a white pixel
/// then a black one lie earlier on my line"; the set fails iff some white pixel has G.
pub fn is_convex(rows: &RowMask) -> bool {
    let shift = |v: u32, sx: isize| -> u32 {
        if sx >= 0 {
            (v << sx) & FULL_ROW
        } else {
            v >> (-sx)
        }
    };
    // Horizontal lines: s = (1, 0).
    for &r in rows {
        if r != 0 {
            let run = r >> r.trailing_zeros();
            if run & (run + 1) != 0 {
                return false;
            }
        }
    }
    const MAX_STEP: isize = (SIDE as isize - 1) / 2;
    for sy in 1..=MAX_STEP {
        for sx in -MAX_STEP..=MAX_STEP {
            if gcd(sx.unsigned_abs(), sy as usize) != 1 {
                continue;
            }
            let sy_u = sy as usize;
            let mut a = [0u32; SIDE];
            let mut g = [0u32; SIDE];
            for y in sy_u..SIDE {
                let q = y - sy_u;
                a[y] = shift(rows[q] | a[q], sx);
                g[y] = shift(g[q] | (a[q] & !rows[q]), sx);
                if g[y] & rows[y] != 0 {
                    return false;
                }
            }
        }
    }
    true
}

/// Integer `num / den` rounded half away from zero (`den > 0`), as MATLAB's `round`.
fn div_round(num: isize, den: isize) -> isize {
    let q = (2 * num.abs() + den) / (2 * den);
    if num < 0 {
        -q
    } else {
        q
    }
}

/// The interior pixels of the rasterised segment from `(0, 0)` to `(dx, dy)` (pixel centres):
/// [`ConvexTest::Segment`] rounds `n = max(|dx|, |dy|)` evenly spaced points (half away from
/// zero); [`ConvexTest::Cover`] takes every pixel whose open square the segment passes through
/// (the cells between consecutive crossings of the half-integer grid lines; a pixel the segment
/// touches only at a corner is not included).
fn segment_pixels(dx: isize, dy: isize, test: ConvexTest) -> Vec<(isize, isize)> {
    let n = dx.abs().max(dy.abs());
    let mut pts: Vec<(isize, isize)> = match test {
        ConvexTest::Lattice => vec![],
        ConvexTest::Segment => (1..n)
            .map(|k| (div_round(k * dx, n), div_round(k * dy, n)))
            .collect(),
        ConvexTest::Cover => {
            // Crossings of x = +-(j - 1/2) at t = (2j - 1) / (2|dx|), likewise for y.
            let mut t: Vec<f64> = vec![0.0, 1.0];
            for (d, _) in [(dx.abs(), 0), (dy.abs(), 1)] {
                t.extend((1..=d).map(|j| (2 * j - 1) as f64 / (2 * d) as f64));
            }
            t.sort_by(f64::total_cmp);
            t.windows(2)
                .filter(|w| w[1] > w[0])
                .map(|w| {
                    let m = 0.5 * (w[0] + w[1]);
                    (
                        (m * dx as f64).round() as isize,
                        (m * dy as f64).round() as isize,
                    )
                })
                .collect()
        }
    };
    pts.retain(|&p| p != (0, 0) && p != (dx, dy));
    pts.dedup();
    pts
}

/// Every displacement `(dx, dy)` between two pixels of the image (one of each pair of opposite
/// directions) with the interior pixels of its rasterised segment. Translation-invariant, so
/// computed once per test.
type SegmentTable = Vec<((isize, isize), Vec<(isize, isize)>)>;

fn segment_table(test: ConvexTest) -> &'static SegmentTable {
    use std::sync::OnceLock;
    static TABLES: [OnceLock<SegmentTable>; 2] = [OnceLock::new(), OnceLock::new()];
    TABLES[usize::from(test == ConvexTest::Cover)].get_or_init(|| {
        let s = SIDE as isize;
        let mut t = Vec::new();
        for dy in 0..s {
            for dx in -(s - 1)..s {
                if dy == 0 && dx <= 0 {
                    continue;
                }
                let pts = segment_pixels(dx, dy, test);
                if !pts.is_empty() {
                    t.push(((dx, dy), pts));
                }
            }
        }
        t
    })
}

/// The rasterised-segment convexity tests ([`ConvexTest::Segment`], [`ConvexTest::Cover`]): a
/// set of pixels passes iff for every pair of its pixels, every pixel of the rasterised segment
/// between them is in the set. Per displacement with row bitmasks: `M` marks the pixels `p` with
/// `p + (dx, dy)` white, and each interior pixel `o` of the segment must be white at `p + o` for
/// every `p` in `M`.
pub fn is_convex_segment(rows: &RowMask, test: ConvexTest) -> bool {
    // Bit x of the result is bit x + d of v (0 outside the row).
    let at = |v: u32, d: isize| -> u32 {
        if d >= 0 {
            v >> d
        } else {
            (v << -d) & FULL_ROW
        }
    };
    let used: Vec<usize> = (0..SIDE).filter(|&y| rows[y] != 0).collect();
    let (Some(&top), Some(&bottom)) = (used.first(), used.last()) else {
        return true;
    };
    let holes: RowMask = std::array::from_fn(|y| !rows[y] & FULL_ROW);
    for ((dx, dy), pts) in segment_table(test) {
        let dy_u = *dy as usize;
        if dy_u > bottom - top {
            continue;
        }
        for y in top..=bottom - dy_u {
            let m = rows[y] & at(rows[y + dy_u], *dx);
            if m == 0 {
                continue;
            }
            for &(ox, oy) in pts {
                if m & at(holes[y + oy as usize], ox) != 0 {
                    return false;
                }
            }
        }
    }
    true
}

/// Width of the white-pixel-count bins used to match the two convex classes.
pub const AREA_BIN: usize = 16;
const AREA_BINS: usize = PIXELS / AREA_BIN + 1;
/// Unfiltered examples per class drawn to estimate the white-pixel-count distributions.
pub const AREA_REFERENCE_SAMPLES: usize = 10_000;

/// A convex or non-convex example as drawn by the construction alone (before area matching).
pub fn raw_convex_example(rng: &mut Rng, convex: bool, rules: &ConvexRules) -> RowMask {
    let (count, test) = (rules.count, rules.test);
    if convex {
        loop {
            // The pair test is a guard against floating-point ties on a boundary: a convex
            // example must pass the same test that every non-convex one fails.
            if let Some(m) = half_plane_intersection(rng, CONVEX_P, count, CONVEX_MIN_PIXELS) {
                if is_convex(&m) {
                    return m;
                }
            }
        }
    }
    loop {
        let parts = rng.range_inclusive(rules.parts.0, rules.parts.1);
        let mut mask = [0u32; SIDE];
        for _ in 0..parts {
            let part = loop {
                if let Some(m) =
                    half_plane_intersection(rng, NONCONVEX_PART_P, count, NONCONVEX_PART_MIN_PIXELS)
                {
                    break m;
                }
            };
            for (m, p) in mask.iter_mut().zip(part) {
                *m |= p;
            }
        }
        let convex = match test {
            ConvexTest::Lattice => is_convex(&mask),
            ConvexTest::Segment | ConvexTest::Cover => is_convex_segment(&mask, test),
        };
        if !convex {
            return mask;
        }
    }
}

/// Acceptance probabilities that give both classes the same distribution of white-pixel counts
/// (hence similar means): with h_c the count histogram of class c's raw construction (bins of
/// [`AREA_BIN`] pixels, [`AREA_REFERENCE_SAMPLES`] draws from the streams
/// `(seed, "convex", "area-reference-<c>", i)`) and t = min(h_0, h_1), an example of class c in
/// bin b is kept with probability t(b) / h_c(b); kept examples of both classes then follow t.
pub struct AreaMatch {
    pub accept: [[f64; AREA_BINS]; 2],
}

impl AreaMatch {
    /// The matcher of `seed`, computed once per process (each split of a run uses the same one).
    pub fn cached(seed: u64, rules: &ConvexRules) -> std::sync::Arc<AreaMatch> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, OnceLock};
        type Cache = Mutex<HashMap<(u64, ConvexRules), Arc<AreaMatch>>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let key = (seed, *rules);
        if let Some(a) = cache.lock().expect("cache").get(&key) {
            return a.clone();
        }
        let a = Arc::new(AreaMatch::new(seed, rules));
        cache.lock().expect("cache").insert(key, a.clone());
        a
    }

    pub fn new(seed: u64, rules: &ConvexRules) -> AreaMatch {
        let hist = |class: u32| -> Vec<f64> {
            let stream = format!("area-reference-{class}");
            let counts: Vec<usize> = (0..AREA_REFERENCE_SAMPLES)
                .into_par_iter()
                .map(|i| {
                    let mut rng = Rng::for_example(seed, "convex", &stream, i as u64);
                    mask_count(&raw_convex_example(&mut rng, class == CONVEX, rules))
                })
                .collect();
            let mut h = vec![0f64; AREA_BINS];
            for c in counts {
                h[c / AREA_BIN] += 1.0 / AREA_REFERENCE_SAMPLES as f64;
            }
            h
        };
        let h = [hist(0), hist(1)];
        let mut accept = [[0f64; AREA_BINS]; 2];
        for b in 0..AREA_BINS {
            let t = h[0][b].min(h[1][b]);
            for c in 0..2 {
                accept[c][b] = if h[c][b] > 0.0 { t / h[c][b] } else { 0.0 };
            }
        }
        AreaMatch { accept }
    }
}

fn convex_example(
    rng: &mut Rng,
    convex: bool,
    rules: &ConvexRules,
    area: Option<&AreaMatch>,
    row: &mut [f32; PIXELS],
) {
    let mask = loop {
        let m = raw_convex_example(rng, convex, rules);
        match area {
            None => break m,
            Some(a) => {
                if rng.uniform() < a.accept[usize::from(convex)][mask_count(&m) / AREA_BIN] {
                    break m;
                }
            }
        }
    };
    for (i, r) in row.iter_mut().enumerate() {
        *r = if mask[i / SIDE] >> (i % SIDE) & 1 == 1 {
            1.0
        } else {
            0.0
        };
    }
}

/// Generate every split of `tasks` into `out` (`<out>/<task>/<split>.sdd`). All files are first
/// written (atomically) into a staging folder `<out>/.staging-<host>-<pid>` and moved into place only
/// when every split succeeded, so a failure leaves no partial output. `sizes` overrides the
/// benchmark sizes (tests use small ones). Calls `report` after each split.
pub fn generate_tasks(
    tasks: &[&str],
    out: &Path,
    seed: u64,
    src: &Sources,
    sizes: Option<(usize, usize, usize)>,
    mut report: impl FnMut(&str, &str, &Path, usize),
) -> Result<(), DataError> {
    for t in tasks {
        task_sizes(t).ok_or_else(|| unknown_task(t))?;
    }
    let mut staging = Staging::new(out)?;
    for &task in tasks {
        let (tr, va, te) = sizes.or_else(|| task_sizes(task)).expect("checked");
        for (split, rows) in SPLITS.iter().zip([tr, va, te]) {
            let (f, l) = generate_split(task, split, rows, seed, src)?;
            let p = staging.file(&split_path(Path::new(""), task, split));
            write_dataset(&p, &f, &l, PIXELS, task_classes(task).expect("known"))?;
            report(task, split, &split_path(out, task, split), rows);
        }
        // What made these files, for `sdae data fidelity`.
        let p = staging.file(&Path::new(task).join(RECIPE_FILE));
        if let Some(d) = p.parent() {
            fs::create_dir_all(d)
                .map_err(|e| DataError::io(d, "cannot create staging folder", e))?;
        }
        fs::write(&p, format!("{}\nseed {seed}\n", src.recipe.describe()))
            .map_err(|e| DataError::io(&p, "cannot write", e))?;
    }
    staging.commit()
}

/// A staging folder inside the output folder: files written there are renamed into place on
/// `commit`; the folder (with anything left in it) is removed when dropped, so a failed run
/// leaves no partial output.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    files: Vec<PathBuf>,
    /// `out` did not exist before: remove it too (if still empty) unless committed.
    created_out: bool,
    committed: bool,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Staging, DataError> {
        let created_out = !out.exists();
        reap_stale_staging(out);
        let dir = out.join(format!("{}{}", staging_prefix(), std::process::id()));
        fs::create_dir_all(&dir)
            .map_err(|e| DataError::io(&dir, "cannot create staging folder", e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            files: Vec::new(),
            created_out,
            committed: false,
        })
    }

    /// Where to write the file that `commit` will move to `<out>/<rel>`.
    pub fn file(&mut self, rel: &Path) -> PathBuf {
        self.files.push(rel.to_path_buf());
        self.dir.join(rel)
    }

    /// Move every staged file into place (each rename is atomic).
    pub fn commit(mut self) -> Result<(), DataError> {
        self.committed = true;
        for rel in &self.files {
            let to = self.out.join(rel);
            if let Some(d) = to.parent() {
                fs::create_dir_all(d)
                    .map_err(|e| DataError::io(d, "cannot create output folder", e))?;
            }
            fs::rename(self.dir.join(rel), &to)
                .map_err(|e| DataError::io(&to, "cannot move into place", e))?;
        }
        Ok(())
    }
}

/// `.staging-<host>-`: the host is in the name so that a folder shared over NFS is only ever
/// cleaned of this host's dead processes' staging folders.
fn staging_prefix() -> String {
    format!(".staging-{}-", crate::util::fs::host_name())
}

/// Remove the staging folders a killed run of this host left in `out` (their pid no longer
/// runs): a SIGKILL skips `Drop`, and the next run must not leave the debris in place.
fn reap_stale_staging(out: &Path) {
    let prefix = staging_prefix();
    let Ok(entries) = fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(crate::util::fs::pid_is_dead) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        if self.created_out && !self.committed {
            // remove_dir only removes an empty folder: nothing we did not create goes
            let _ = fs::remove_dir(&self.out);
        }
    }
}

/// Check a generated split file: it opens, verifies, and has `rows` rows of 784 values in [0,1].
pub fn check_generated(path: &Path, rows: usize) -> Result<(), DataError> {
    let ds = Dataset::open(path)?;
    ds.verify_checksum()?;
    if ds.rows() != rows || ds.cols() != PIXELS {
        return Err(DataError::new(
            path,
            format!("{} x {}, expected {rows} x {PIXELS}", ds.rows(), ds.cols()),
        ));
    }
    Ok(())
}
