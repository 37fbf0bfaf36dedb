//! The generator's open choices: what the published recipes (Larochelle et al. 2007) leave
//! unsaid, as explicit parameters. A [`Recipe`] is a named set of them (`v1`: the choices of the
//! first generator; `v2`: calibrated against the SVM-rbf yardstick, see datasets/README.md
//! "Calibration"; `v3`: v2 with convex's pair test and part count and rectangles-image's own
//! patch threshold calibrated too), and each parameter can be overridden (`--set key=value`).

use std::fmt;

/// Name of the recipe `sdae data generate` uses when none is given.
pub const DEFAULT_RECIPE: &str = "v3";
/// Every named recipe.
pub const RECIPES: [&str; 3] = ["v1", "v2", "v3"];

/// How mnist-rot and mnist-rot-back-image resample the rotated digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    /// The nearest source pixel (MATLAB `imrotate`'s default).
    Nearest,
    /// The four neighbours, bilinear weights.
    Bilinear,
    /// The sixteen neighbours, Keys' cubic convolution with a = -0.5 (MATLAB's bicubic).
    Bicubic,
}

/// How a digit and its background (uniform noise or an image patch) make one pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// max(digit, background).
    Max,
    /// The digit where it has ink (> 0), the background where the digit is black.
    Replace,
    /// min(digit + background, 1).
    AddClip,
}

/// The number of half-planes of a convex set (or of each part of a non-convex one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Geometric {
    /// Bernoulli trials up to and including the first success: 1, 2, ... (mean 1/p).
    Trials,
    /// Failures before the first success: 0, 1, ... (mean (1-p)/p; MATLAB's `geornd`). Zero
    /// half-planes is the whole image.
    Failures,
}

/// How a convex or non-convex example is drawn (the recipe's convex parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvexRules {
    pub count: Geometric,
    pub test: ConvexTest,
    /// The number of convex parts of a non-convex example is uniform in this inclusive range.
    pub parts: (usize, usize),
}

/// The convexity test a non-convex candidate (a union of convex sets) must fail to be kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvexTest {
    /// For every pair of white pixels, every pixel whose centre lies exactly on the segment
    /// between their centres must be white (the weakest reading: most segments hold no lattice
    /// point, so only clear gaps fail).
    Lattice,
    /// For every pair of white pixels, the pixels of the segment between them rasterised by
    /// rounding (n = max(|dx|, |dy|) steps, each point rounded half away from zero, as MATLAB's
    /// `round(linspace(...))` gives) must be white: notches and dents fail too.
    Segment,
    /// For every pair of white pixels, every pixel whose open square the segment between their
    /// centres passes through must be white (what a fine sampling of the segment sees): the
    /// strictest reading.
    Cover,
}

/// Where a rectangle goes (rectangles, rectangles-image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    /// Sides first, then the top-left corner uniform among the positions that keep the whole
    /// rectangle inside the image.
    Fit,
    /// The top-left corner uniform over the image first, then each side uniform among the
    /// lengths that fit from there (resampled as a whole until the shape rules hold).
    CornerFirst,
}

/// Every open choice of the generators.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// `v1`, `v2`, `v3`, or `custom` once a parameter was overridden.
    pub name: String,
    pub rotation: Interp,
    pub combine_rand: Combine,
    pub combine_image: Combine,
    /// Background photos are box-filtered down by this integer factor before patches are cut,
    /// so a 28x28 patch covers `patch_scale`² times more of the scene (1 = as shipped).
    pub patch_scale: usize,
    /// A patch whose pixel standard deviation is below this is redrawn.
    pub patch_min_std: f32,
    /// rectangles-image's own patch threshold (`None`: `patch_min_std`, as v1 and v2).
    pub rect_patch_min_std: Option<f32>,
    pub convex_geometric: Geometric,
    /// Match the two convex classes' white-pixel-count histograms by rejection (v1's fix for a
    /// construction whose classes did not balance by themselves).
    pub convex_area_match: bool,
    pub convex_test: ConvexTest,
    /// A non-convex example is the union of k convex parts, k uniform in this inclusive range.
    pub convex_parts: (usize, usize),
    pub rect_corner: Corner,
}

impl Recipe {
    pub fn v1() -> Recipe {
        Recipe {
            name: "v1".into(),
            rotation: Interp::Bilinear,
            combine_rand: Combine::Max,
            combine_image: Combine::Max,
            patch_scale: 1,
            patch_min_std: 0.04,
            rect_patch_min_std: None,
            convex_geometric: Geometric::Trials,
            convex_area_match: true,
            convex_test: ConvexTest::Lattice,
            convex_parts: (2, 4),
            rect_corner: Corner::Fit,
        }
    }

    /// The calibrated recipe (datasets/README.md, "Calibration").
    pub fn v2() -> Recipe {
        Recipe {
            name: "v2".into(),
            patch_min_std: 0.13,
            convex_geometric: Geometric::Failures,
            convex_area_match: false,
            ..Recipe::v1()
        }
    }

    /// The patch threshold of `task`'s backgrounds.
    pub fn patch_min_std_for(&self, task: &str) -> f32 {
        match (task, self.rect_patch_min_std) {
            ("rectangles-image", Some(s)) => s,
            _ => self.patch_min_std,
        }
    }

    /// The convex parameters, as the generator takes them.
    pub fn convex_rules(&self) -> ConvexRules {
        ConvexRules {
            count: self.convex_geometric,
            test: self.convex_test,
            parts: self.convex_parts,
        }
    }

    /// v2 with the readings a second calibration chose (datasets/README.md, "Calibration"):
    /// convex's non-convex unions of 2 or 3 parts that fail the rounded-segment pair test, the
    /// digit tasks' patch threshold at 0.14 (the highest every background image can meet) and
    /// rectangles-image's own at 0.06.
    pub fn v3() -> Recipe {
        Recipe {
            name: "v3".into(),
            patch_min_std: 0.14,
            rect_patch_min_std: Some(0.06),
            convex_test: ConvexTest::Segment,
            convex_parts: (2, 3),
            ..Recipe::v2()
        }
    }

    /// A named recipe, or an error naming the expected ones.
    pub fn named(name: &str) -> Result<Recipe, String> {
        match name {
            "v1" => Ok(Recipe::v1()),
            "v2" => Ok(Recipe::v2()),
            "v3" => Ok(Recipe::v3()),
            _ => Err(format!(
                "--recipe: unknown recipe {name:?}, expected one of {}",
                RECIPES.join(", ")
            )),
        }
    }

    /// Override one parameter from `key=value` (the `--set` flag).
    pub fn set(&mut self, kv: &str) -> Result<(), String> {
        let (k, v) = kv.split_once('=').ok_or_else(|| {
            format!(
                "--set {kv:?}: expected key=value with key one of {}",
                KEYS.join(", ")
            )
        })?;
        let bad = |expected: &str| format!("--set {k}={v:?}: expected {expected}");
        match k {
            "rotation" => {
                self.rotation = choose(
                    v,
                    &[
                        ("nearest", Interp::Nearest),
                        ("bilinear", Interp::Bilinear),
                        ("bicubic", Interp::Bicubic),
                    ],
                )
                .map_err(|e| bad(&e))?
            }
            "combine-rand" | "combine-image" => {
                let choices = [
                    ("max", Combine::Max),
                    ("replace", Combine::Replace),
                    ("add", Combine::AddClip),
                ];
                let c = choose(v, &choices).map_err(|e| bad(&e))?;
                if k == "combine-rand" {
                    self.combine_rand = c
                } else {
                    self.combine_image = c
                }
            }
            "patch-scale" => {
                self.patch_scale = match v.parse::<usize>() {
                    Ok(s) if (1..=8).contains(&s) => s,
                    _ => return Err(bad("an integer 1..=8")),
                }
            }
            "patch-min-std" => {
                self.patch_min_std = match v.parse::<f32>() {
                    Ok(s) if (0.0..0.5).contains(&s) => s,
                    _ => return Err(bad("a number in [0, 0.5)")),
                }
            }
            "rect-patch-min-std" => {
                self.rect_patch_min_std = match v.parse::<f32>() {
                    Ok(s) if (0.0..0.5).contains(&s) => Some(s),
                    _ => return Err(bad("a number in [0, 0.5)")),
                }
            }
            "convex-geometric" => {
                let choices = [
                    ("trials", Geometric::Trials),
                    ("failures", Geometric::Failures),
                ];
                self.convex_geometric = choose(v, &choices).map_err(|e| bad(&e))?
            }
            "convex-area-match" => {
                self.convex_area_match =
                    choose(v, &[("on", true), ("off", false)]).map_err(|e| bad(&e))?
            }
            "convex-test" => {
                self.convex_test = match v {
                    "lattice" => ConvexTest::Lattice,
                    "segment" => ConvexTest::Segment,
                    "cover" => ConvexTest::Cover,
                    _ => return Err(bad("lattice, segment or cover")),
                }
            }
            "convex-parts" => {
                let range = v.split_once('-').and_then(|(a, b)| {
                    Some((
                        a.trim().parse::<usize>().ok()?,
                        b.trim().parse::<usize>().ok()?,
                    ))
                });
                self.convex_parts = match range {
                    Some((a, b)) if 2 <= a && a <= b && b <= 8 => (a, b),
                    _ => return Err(bad("a range LO-HI with 2 <= LO <= HI <= 8, e.g. 2-4")),
                }
            }
            "rect-corner" => {
                let choices = [("fit", Corner::Fit), ("corner-first", Corner::CornerFirst)];
                self.rect_corner = choose(v, &choices).map_err(|e| bad(&e))?
            }
            _ => {
                return Err(format!(
                    "--set {kv:?}: unknown key {k:?}, expected one of {}",
                    KEYS.join(", ")
                ))
            }
        }
        self.name = if Recipe::v1().same_params(self) {
            "v1".into()
        } else if Recipe::v2().same_params(self) {
            "v2".into()
        } else if Recipe::v3().same_params(self) {
            "v3".into()
        } else {
            "custom".into()
        };
        Ok(())
    }

    fn same_params(&self, o: &Recipe) -> bool {
        let mut a = self.clone();
        a.name = o.name.clone();
        a == *o
    }

    /// `(key, value)` of every parameter, in `--set` spelling.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let interp = match self.rotation {
            Interp::Nearest => "nearest",
            Interp::Bilinear => "bilinear",
            Interp::Bicubic => "bicubic",
        };
        let comb = |c: Combine| match c {
            Combine::Max => "max",
            Combine::Replace => "replace",
            Combine::AddClip => "add",
        };
        let mut p = vec![
            ("rotation", interp.into()),
            ("combine-rand", comb(self.combine_rand).into()),
            ("combine-image", comb(self.combine_image).into()),
            ("patch-scale", self.patch_scale.to_string()),
            ("patch-min-std", self.patch_min_std.to_string()),
            (
                "convex-geometric",
                match self.convex_geometric {
                    Geometric::Trials => "trials",
                    Geometric::Failures => "failures",
                }
                .into(),
            ),
            (
                "convex-area-match",
                if self.convex_area_match { "on" } else { "off" }.into(),
            ),
            (
                "rect-corner",
                match self.rect_corner {
                    Corner::Fit => "fit",
                    Corner::CornerFirst => "corner-first",
                }
                .into(),
            ),
        ];
        // Added after v2: listed only when they differ from what v1 and v2 do, so the recipe
        // line of data generated by earlier builds still reads the same.
        match self.convex_test {
            ConvexTest::Lattice => {}
            ConvexTest::Segment => p.push(("convex-test", "segment".into())),
            ConvexTest::Cover => p.push(("convex-test", "cover".into())),
        }
        if let Some(s) = self.rect_patch_min_std {
            p.push(("rect-patch-min-std", s.to_string()));
        }
        if self.convex_parts != (2, 4) {
            let (a, b) = self.convex_parts;
            p.push(("convex-parts", format!("{a}-{b}")));
        }
        p
    }

    /// A stable one-line spelling (`v2: rotation=bilinear, ...`), stored beside the data.
    pub fn describe(&self) -> String {
        let p: Vec<String> = self
            .params()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{}: {}", self.name, p.join(", "))
    }
}

impl fmt::Display for Recipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The keys `--set` accepts.
pub const KEYS: [&str; 11] = [
    "rotation",
    "combine-rand",
    "combine-image",
    "patch-scale",
    "patch-min-std",
    "rect-patch-min-std",
    "convex-geometric",
    "convex-area-match",
    "convex-test",
    "convex-parts",
    "rect-corner",
];

/// The value named `v` among `choices`, or what was expected: their names, "a, b or c".
fn choose<T: Copy>(v: &str, choices: &[(&str, T)]) -> Result<T, String> {
    if let Some(&(_, t)) = choices.iter().find(|(name, _)| *name == v) {
        return Ok(t);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let (last, rest) = names.split_last().expect("at least one choice");
    Err(if rest.is_empty() {
        last.to_string()
    } else {
        format!("{} or {last}", rest.join(", "))
    })
}
