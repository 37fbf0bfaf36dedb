//! Which GEMM plan each ISA runs on this machine, and where it came from.
//!
//! At start-up every command picks, per supported ISA, the first of:
//! 1. `--plan FILE` (pinned: used whatever CPU wrote it, so a run can be repeated bit for bit
//!    on another node; refused only if it does not fit this build's kernels);
//! 2. this machine's **wisdom**, written by `sdae tune` to `$SDAE_WISDOM`, else
//!    `$XDG_CACHE_HOME/sdae/`, else `~/.cache/sdae/`, one file per CPU identity (so nodes of a
//!    cluster sharing a home directory keep their own); a file for another CPU or build, or a
//!    corrupt, truncated or hand-edited one, is ignored with a one-line warning;
//! 3. a built-in **preset** for the microarchitecture ([`PRESETS`]: CPUID family/model from
//!    `/proc/cpuinfo`, plus a short FMA probe where CPUID cannot tell);
//! 4. the **cache model** ([`GemmPlan::analytical`]).
//!
//! The identity a wisdom file is keyed by: vendor, family, model, stepping, brand string, a
//! hash of the feature flags, the cache geometry (sizes and associativity from sysfs), the
//! kernel thread count and the sdae build (version and git revision).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use sdae_kernels::gemm::registry;
use sdae_kernels::{CacheSizes, GemmPlan, Isa, LoopOrder};

/// The version of the wisdom file layout.
pub const WISDOM_FORMAT: u32 = 1;

/// What identifies a machine for its wisdom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuIdentity {
    pub vendor: String,
    pub family: u32,
    pub model: u32,
    pub stepping: u32,
    pub brand: String,
    /// FNV-1a of the sorted feature flags.
    pub features: String,
    /// `L1d/L2/L3` sizes in KiB with their associativity, e.g. `32K8w/1024K8w/32768K16w`.
    pub caches: String,
    /// The cores the machine offers (`available_parallelism`), not a run's `--threads`: a
    /// sweep's one-thread children use the wisdom their machine was tuned with.
    pub threads: usize,
    /// `sdae <version> <git revision>`.
    pub build: String,
}

impl CpuIdentity {
    /// This machine.
    pub fn detect() -> CpuIdentity {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CpuIdentity::from_cpuinfo(&info, cores)
    }

    /// The identity read off a `/proc/cpuinfo` text (x86 and aarch64 field names).
    pub fn from_cpuinfo(info: &str, threads: usize) -> CpuIdentity {
        // The first processor block describes the CPU (clusters do not mix models in a node).
        let block = info.split("\n\n").next().unwrap_or("");
        let field = |names: &[&str]| -> Option<String> {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                names.contains(&k.trim()).then(|| v.trim().to_string())
            })
        };
        let num = |names: &[&str]| -> u32 {
            field(names)
                .and_then(|v| {
                    let v = v.trim();
                    match v.strip_prefix("0x") {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => v.parse().ok(),
                    }
                })
                .unwrap_or(0)
        };
        let flags = cpuinfo_flags(info);
        CpuIdentity {
            vendor: field(&["vendor_id", "CPU implementer"]).unwrap_or_else(|| "unknown".into()),
            family: num(&["cpu family", "CPU architecture"]),
            model: num(&["model", "CPU part"]),
            stepping: num(&["stepping", "CPU variant"]),
            brand: field(&["model name"]).unwrap_or_default(),
            features: format!("{:016x}", crate::util::fnv1a64(flags.join(" ").as_bytes())),
            caches: cache_geometry(),
            threads,
            build: build_id(),
        }
    }

    /// A short hash naming this identity's wisdom file.
    pub fn key(&self) -> String {
        let text = serde_json::to_string(self).expect("identity serialises");
        format!("{:016x}", crate::util::fnv1a64(text.as_bytes()))
    }
}

/// The CPU feature flags of the first processor block of a `/proc/cpuinfo` text (x86 `flags`,
/// aarch64 `Features`), sorted and deduplicated.
pub fn cpuinfo_flags(info: &str) -> Vec<String> {
    let block = info.split("\n\n").next().unwrap_or("");
    let text = block
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            ["flags", "Features"].contains(&k.trim()).then_some(v)
        })
        .unwrap_or("");
    let mut flags: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    flags.sort_unstable();
    flags.dedup();
    flags
}

/// The sdae build: version and git revision (as recorded in results files).
pub fn build_id() -> String {
    format!(
        "sdae {} {}",
        env!("CARGO_PKG_VERSION"),
        option_env!("SDAE_BUILD_REV").unwrap_or("unknown")
    )
}

/// Cache sizes and associativity of cpu0 from sysfs (`?` where unreadable).
fn cache_geometry() -> String {
    let mut levels = [None, None, None];
    for idx in 0..16 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{idx}");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{dir}/{name}"))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(level), Some(ty), Some(size)) = (read("level"), read("type"), read("size"))
        else {
            continue;
        };
        if ty != "Data" && ty != "Unified" {
            continue;
        }
        let ways = read("ways_of_associativity").unwrap_or_else(|| "?".into());
        if let Some(slot) = level
            .parse::<usize>()
            .ok()
            .and_then(|l| levels.get_mut(l.wrapping_sub(1)))
        {
            *slot = Some(format!("{size}{ways}w"));
        }
    }
    levels
        .iter()
        .map(|l| l.clone().unwrap_or_else(|| "?".into()))
        .collect::<Vec<_>>()
        .join("/")
}

/// One ISA's plan as stored in wisdom and plan files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    pub isa: String,
    pub kernel: String,
    pub order: String,
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
    pub direct_b_max_m: usize,
    pub nt_dot_max_m: usize,
    #[serde(default)]
    pub short_k_max: usize,
}

impl PlanEntry {
    pub fn from_plan(isa: Isa, p: &GemmPlan) -> PlanEntry {
        PlanEntry {
            isa: isa.name().into(),
            kernel: p.kernel.clone(),
            order: p.order.name().into(),
            kc: p.kc,
            mc: p.mc,
            nc: p.nc,
            direct_b_max_m: p.direct_b_max_m,
            nt_dot_max_m: p.nt_dot_max_m,
            short_k_max: p.short_k_max,
        }
    }

    /// The kernel plan, validated against this build's candidates for its ISA.
    pub fn to_plan(&self) -> Result<(Isa, GemmPlan), String> {
        let isa: Isa = self.isa.parse().map_err(|e| format!("{e}"))?;
        let plan = GemmPlan {
            kernel: self.kernel.clone(),
            order: self.order.parse().map_err(|e| format!("{e}"))?,
            kc: self.kc,
            mc: self.mc,
            nc: self.nc,
            direct_b_max_m: self.direct_b_max_m,
            nt_dot_max_m: self.nt_dot_max_m,
            short_k_max: self.short_k_max,
        };
        plan.validate(isa).map_err(|e| e.to_string())?;
        Ok((isa, plan))
    }
}

/// A wisdom or plan file: the plans `sdae tune` chose, and for which machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wisdom {
    pub format: u32,
    pub identity: CpuIdentity,
    pub plans: Vec<PlanEntry>,
    /// What the tune measured (free-form rows, for the record).
    #[serde(default)]
    pub measured: Vec<serde_json::Value>,
    /// FNV-1a of the canonical JSON of the fields above (a hand edit breaks it).
    pub checksum: String,
}

impl Wisdom {
    pub fn new(
        identity: CpuIdentity,
        plans: Vec<PlanEntry>,
        measured: Vec<serde_json::Value>,
    ) -> Wisdom {
        let mut w = Wisdom {
            format: WISDOM_FORMAT,
            identity,
            plans,
            measured,
            checksum: String::new(),
        };
        w.checksum = w.compute_checksum();
        w
    }

    fn compute_checksum(&self) -> String {
        let body = serde_json::json!({
            "format": self.format,
            "identity": self.identity,
            "plans": self.plans,
            "measured": self.measured,
        });
        format!("{:016x}", crate::util::fnv1a64(body.to_string().as_bytes()))
    }

    /// Parse and check a wisdom or plan file's text (not its identity).
    pub fn parse(text: &str, what: &str) -> Result<Wisdom, String> {
        let w: Wisdom =
            serde_json::from_str(text).map_err(|e| format!("{what}: not a plan file ({e})"))?;
        if w.format != WISDOM_FORMAT {
            return Err(format!(
                "{what}: plan file format {}, this build reads {WISDOM_FORMAT}",
                w.format
            ));
        }
        if w.checksum != w.compute_checksum() {
            return Err(format!(
                "{what}: checksum mismatch (truncated, corrupted or edited by hand)"
            ));
        }
        for p in &w.plans {
            p.to_plan().map_err(|e| format!("{what}: {e}"))?;
        }
        Ok(w)
    }

    /// Write atomically (temporary file, rename).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self).expect("wisdom serialises") + "\n";
        crate::util::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
    }
}

/// Where `sdae tune` writes, and start-up reads, this identity's wisdom.
pub fn wisdom_path(identity: &CpuIdentity) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SDAE_WISDOM").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(
        base.join("sdae")
            .join(format!("wisdom-{}.json", identity.key())),
    )
}

/// A built-in starting point for one microarchitecture.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    pub name: &'static str,
    /// `"measured"`: chosen by `sdae tune` on such a machine; `"derived"`: from documented
    /// facts (cache sizes, the vendors' published blockings), never run here.
    pub basis: &'static str,
    /// `(vendor, family, models)`: CPUID vendor string and family, the models it covers.
    pub vendor: &'static str,
    pub family: u32,
    pub models: &'static [u32],
    /// Feature flags (as `/proc/cpuinfo` spells them) that identify the microarchitecture when
    /// the model number does not: hypervisors often present a generic or foreign model (a KVM
    /// guest on a Sapphire Rapids host seen here reported family 6 model 0xa7, a client part).
    /// Consulted only when no row matches the model; every flag must be present. Empty: never.
    pub flags: &'static [&'static str],
    /// For [`PresetProbe`]: which FMA width ratio this row wants (None: any).
    pub probe: Option<PresetProbe>,
    /// Up to this many rows of C, `A * B^T` takes the dot-product path (None: the cache
    /// model's threshold).
    pub nt_dot_max_m: Option<usize>,
    /// Per ISA: kernel, loop order and KC; MC and NC then come from the cache model.
    pub plans: &'static [(Isa, &'static str, LoopOrder, usize)],
}

/// What the short FMA probe tells apart when CPUID cannot: whether a 512-bit FMA runs at the
/// rate of a 256-bit one (one 512-bit unit, or double-pumped 256-bit units) or twice it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetProbe {
    /// AVX-512 peak about equal to the AVX2 peak.
    HalfRate512,
    /// AVX-512 peak about twice the AVX2 peak.
    FullRate512,
}

/// The built-in presets. MC and NC follow from the cache model for the machine's own cache
/// sizes; KC, kernel and loop order come from the row.
pub const PRESETS: &[Preset] = &[
    // AMD Zen 4 (Genoa, Bergamo, Raphael, Phoenix): AVX-512 on double-pumped 256-bit units.
    Preset {
        name: "zen4",
        basis: "measured",
        vendor: "AuthenticAMD",
        family: 0x19,
        models: &[
            0x10, 0x11, 0x12, 0x18, 0x60, 0x61, 0x70, 0x74, 0x75, 0x78, 0x7c, 0xa0, 0xa1,
        ],
        probe: None,
        flags: &[],
        nt_dot_max_m: None,
        // `sdae tune` on an EPYC (family 25 model 17, 2 cores, L1d 32 KiB, L2 1 MiB) chose
        // 6x64 with KC 384 for AVX-512 (geometric mean over the training shapes 3% above 8x48
        // at KC 256, 20% above it on the batch-10 products); the AVX2 candidates tied within
        // 1.5%, so its row keeps the cache model's kernel at KC 256.
        plans: &[
            (Isa::Avx512, "avx512_6x64", LoopOrder::BInL1, 384),
            (Isa::Avx2, "avx2_6x16", LoopOrder::BInL1, 256),
        ],
    },
    // AMD Zen 5 (Turin, Granite Ridge): full-width 512-bit units; the README's table was
    // measured on one with the cache model's KC 128 (L1d 48 KiB).
    Preset {
        name: "zen5",
        basis: "measured",
        vendor: "AuthenticAMD",
        family: 0x1a,
        models: &[
            0x00, 0x01, 0x02, 0x08, 0x10, 0x11, 0x20, 0x24, 0x40, 0x44, 0x60, 0x70,
        ],
        probe: None,
        flags: &[],
        nt_dot_max_m: None,
        plans: &[
            (Isa::Avx512, "avx512_8x48", LoopOrder::BInL1, 128),
            (Isa::Avx2, "avx2_6x16", LoopOrder::BInL1, 192),
        ],
    },
    // AMD Zen 3 (Milan): AVX2 only, 32 KiB L1d, 512 KiB L2.
    Preset {
        name: "zen3",
        basis: "measured",
        vendor: "AuthenticAMD",
        family: 0x19,
        models: &[0x01, 0x08, 0x21, 0x44, 0x50],
        probe: None,
        flags: &[],
        nt_dot_max_m: None,
        // `sdae tune` on an EPYC (family 25 model 1, 2 cores, L1d 32 KiB, L2 512 KiB) chose
        // 6x16_pf8 with B in L1 and KC 384: in the head-to-head its geometric mean over the
        // training shapes was 3.5% above 6x16 at KC 256 (the cache model), on a host whose
        // timings swing by +-30%, so the margin is small; the quick tune chose KC 256.
        plans: &[(Isa::Avx2, "avx2_6x16_pf8", LoopOrder::BInL1, 384)],
    },
    // Intel Skylake-X / Cascade Lake / Cooper Lake with two 512-bit FMA units (Gold 6xxx,
    // Platinum): BLIS skx keeps the broadcast operand in L1 with KC 384.
    Preset {
        name: "skylake-x",
        basis: "derived",
        vendor: "GenuineIntel",
        family: 6,
        models: &[0x55],
        probe: Some(PresetProbe::FullRate512),
        flags: &[],
        nt_dot_max_m: None,
        plans: &[
            (Isa::Avx512, "avx512_12x32_pf8", LoopOrder::AInL1, 384),
            (Isa::Avx2, "avx2_6x16_pf8", LoopOrder::AInL1, 256),
        ],
    },
    // The same cores with one 512-bit FMA unit (Silver, Bronze, some Gold 5xxx).
    Preset {
        name: "skylake-x-1fma",
        basis: "derived",
        vendor: "GenuineIntel",
        family: 6,
        models: &[0x55],
        probe: Some(PresetProbe::HalfRate512),
        flags: &[],
        nt_dot_max_m: None,
        plans: &[
            (Isa::Avx512, "avx512_8x48", LoopOrder::BInL1, 256),
            (Isa::Avx2, "avx2_6x16", LoopOrder::BInL1, 256),
        ],
    },
    // Intel Ice Lake-SP: 48 KiB L1d, 1.25 MiB L2.
    Preset {
        name: "icelake-sp",
        basis: "derived",
        vendor: "GenuineIntel",
        family: 6,
        models: &[0x6a, 0x6c],
        probe: None,
        flags: &[],
        nt_dot_max_m: None,
        plans: &[
            (Isa::Avx512, "avx512_12x32_pf8", LoopOrder::AInL1, 384),
            (Isa::Avx2, "avx2_6x16_pf8", LoopOrder::AInL1, 256),
        ],
    },
    // Intel Sapphire / Emerald / Granite Rapids: 48 KiB L1d, 2 MiB L2, AMX. Hypervisors hide
    // the model (a KVM guest seen here reported 0xa7), so the AMX and FP16 flags name it too.
    Preset {
        name: "sapphire-rapids",
        basis: "measured",
        vendor: "GenuineIntel",
        family: 6,
        models: &[0x8f, 0xcf, 0xad, 0xae],
        probe: None,
        flags: &["amx_tile", "avx512_fp16"],
        // Dot products only for the batch-10 and batch-20 products: at m = 64 and 128 the
        // packed path (B^T packed by register transposes) ran at 127 and 146 GFLOP/s against
        // the dot path's 90 and 91 on such a guest (one thread, interleaved medians; m = 20:
        // dot 90, packed 84).
        nt_dot_max_m: Some(32),
        // `sdae tune --quick` and `sdae tune` on such a guest (2 cores, L1d 48 KiB, L2 2 MiB)
        // both chose 6x64 with the A micro-panel in L1 (head to head 7% and 6% above the cache
        // model's 8x48 with B in L1 at KC 128; KC 256 in the quick run, 128 in the full one,
        // which ran beside compiles): KC 256 here. For AVX2 no candidate beat the cache
        // model's 6x16 at KC 384 by the 3% margin.
        plans: &[
            (Isa::Avx512, "avx512_6x64", LoopOrder::AInL1, 256),
            (Isa::Avx2, "avx2_6x16", LoopOrder::BInL1, 384),
        ],
    },
    // Arm Neoverse N1 (0xd0c), V1 (0xd40), N2 (0xd49), V2 (0xd4f): 64 KiB L1d.
    Preset {
        name: "neoverse",
        basis: "derived",
        vendor: "0x41",
        family: 8,
        models: &[0xd0c, 0xd40, 0xd49, 0xd4f],
        probe: None,
        flags: &[],
        nt_dot_max_m: None,
        plans: &[(Isa::Neon, "neon_8x12", LoopOrder::BInL1, 256)],
    },
];

/// The preset for this identity, if a row covers it (`probe` consulted only where rows with
/// the same CPUID differ by it).
pub fn find_preset(
    id: &CpuIdentity,
    flags: &[String],
    probe: impl FnOnce() -> Option<PresetProbe>,
) -> Option<&'static Preset> {
    let same_family = |p: &&Preset| p.vendor == id.vendor && p.family == id.family;
    let mut rows: Vec<&Preset> = PRESETS
        .iter()
        .filter(same_family)
        .filter(|p| p.models.contains(&id.model))
        .collect();
    if rows.is_empty() {
        // A model no row names (often a hypervisor's): the feature flags decide.
        let has = |f: &&str| flags.iter().any(|g| g == f);
        rows = PRESETS
            .iter()
            .filter(same_family)
            .filter(|p| !p.flags.is_empty() && p.flags.iter().all(has))
            .collect();
    }
    if rows.iter().all(|p| p.probe.is_none()) {
        return rows.first().copied();
    }
    let got = probe();
    rows.into_iter()
        .find(|p| p.probe.is_none() || p.probe == got)
}

/// The plan a preset row gives `isa` on caches `caches`.
pub fn preset_plan(p: &Preset, isa: Isa, caches: CacheSizes) -> Option<GemmPlan> {
    let &(_, kernel, order, kc) = p.plans.iter().find(|e| e.0 == isa)?;
    let spec = registry::find(isa, kernel)?;
    let mut plan = GemmPlan::model(spec, order, caches);
    plan.kc = kc;
    // MC and NC of the model for this KC.
    let (mc, nc) = mc_nc_for(spec.mr(), spec.nr(), order, kc, caches);
    plan.mc = mc;
    plan.nc = nc;
    if let Some(t) = p.nt_dot_max_m {
        plan.nt_dot_max_m = t;
    }
    Some(plan)
}

/// MC and NC of the cache model for a given KC (see `kernels/src/gemm/blocking.rs`).
pub fn mc_nc_for(
    mr: usize,
    nr: usize,
    order: LoopOrder,
    kc: usize,
    c: CacheSizes,
) -> (usize, usize) {
    let f = 4;
    match order {
        LoopOrder::BInL1 => (
            ((c.l2 / 2) / (kc * f) / mr * mr).clamp(mr, 4096 / mr * mr),
            ((c.l3 / 4) / (kc * f) / nr * nr).clamp(nr, 4096 / nr * nr),
        ),
        LoopOrder::AInL1 => (
            ((c.l3 / 4) / (kc * f) / mr * mr).clamp(mr, 4096 / mr * mr),
            ((c.l2 / 2) / (kc * f) / nr * nr).clamp(nr, 4096 / nr * nr),
        ),
    }
}

/// The FMA probe: ~40 ms of register-only FMAs at each width.
pub fn fma_probe() -> Option<PresetProbe> {
    if !(Isa::Avx512.is_supported() && Isa::Avx2.is_supported()) {
        return None;
    }
    let p512 = sdae_kernels::fma_peak_gflops(Isa::Avx512, 0.02).ok()?;
    let p256 = sdae_kernels::fma_peak_gflops(Isa::Avx2, 0.02).ok()?;
    Some(if p512 > 1.5 * p256 {
        PresetProbe::FullRate512
    } else {
        PresetProbe::HalfRate512
    })
}

/// Where the plan in force came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanSource {
    /// `--plan FILE`.
    Pinned(PathBuf),
    /// This machine's wisdom file.
    Wisdom(PathBuf),
    /// A built-in preset (name, basis).
    Preset(&'static str, &'static str),
    /// The cache model.
    Model,
}

impl fmt::Display for PlanSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanSource::Pinned(p) => write!(f, "pinned plan file {}", p.display()),
            PlanSource::Wisdom(p) => write!(f, "this machine's wisdom {}", p.display()),
            PlanSource::Preset(n, b) => write!(f, "built-in preset {n} ({b})"),
            PlanSource::Model => write!(f, "the cache model"),
        }
    }
}

impl PlanSource {
    /// A short tag for JSON rows: `pinned`, `wisdom`, `preset:<name>`, `model`.
    pub fn tag(&self) -> String {
        match self {
            PlanSource::Pinned(_) => "pinned".into(),
            PlanSource::Wisdom(_) => "wisdom".into(),
            PlanSource::Preset(n, _) => format!("preset:{n}"),
            PlanSource::Model => "model".into(),
        }
    }
}

/// The plans chosen at start-up.
#[derive(Clone, Debug)]
pub struct PlanChoice {
    pub plans: Vec<(Isa, GemmPlan, PlanSource)>,
    /// One-line warnings (ignored wisdom files) already printed.
    pub warnings: Vec<String>,
}

impl PlanChoice {
    /// The plan and source of `isa`.
    pub fn get(&self, isa: Isa) -> Option<(&GemmPlan, &PlanSource)> {
        self.plans.iter().find(|e| e.0 == isa).map(|e| (&e.1, &e.2))
    }
}

/// Choose every supported ISA's plan (see the module doc). `pinned` is `--plan FILE`.
pub fn choose(pinned: Option<&Path>, use_wisdom: bool) -> Result<PlanChoice, String> {
    let caches = CacheSizes::detect();
    let id = CpuIdentity::detect();
    let mut warnings = Vec::new();
    let mut from_file: Vec<(Isa, GemmPlan, PlanSource)> = Vec::new();
    if let Some(p) = pinned {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("--plan {}: cannot read: {e}", p.display()))?;
        let w = Wisdom::parse(&text, &format!("--plan {}", p.display()))?;
        for e in &w.plans {
            let (isa, plan) = e
                .to_plan()
                .map_err(|e| format!("--plan {}: {e}", p.display()))?;
            if isa.is_supported() {
                from_file.push((isa, plan, PlanSource::Pinned(p.to_path_buf())));
            }
        }
    } else if let Some(path) = wisdom_path(&id).filter(|_| use_wisdom) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            match Wisdom::parse(&text, &path.display().to_string()) {
                Ok(w) if w.identity == id => {
                    for e in &w.plans {
                        if let Ok((isa, plan)) = e.to_plan() {
                            from_file.push((isa, plan, PlanSource::Wisdom(path.clone())));
                        }
                    }
                }
                Ok(w) => warnings.push(format!(
                    "ignoring wisdom {}: written for another {} (run `sdae tune` here)",
                    path.display(),
                    identity_difference(&w.identity, &id)
                )),
                Err(e) => warnings.push(format!("ignoring wisdom: {e}")),
            }
        }
    }
    let flags = cpuinfo_flags(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
    let preset = find_preset(&id, &flags, fma_probe);
    let mut plans = Vec::new();
    for isa in Isa::supported() {
        if let Some(e) = from_file.iter().find(|e| e.0 == isa) {
            plans.push(e.clone());
            continue;
        }
        if let Some(p) = preset {
            if let Some(plan) = preset_plan(p, isa, caches) {
                plans.push((isa, plan, PlanSource::Preset(p.name, p.basis)));
                continue;
            }
        }
        plans.push((isa, GemmPlan::analytical(isa, caches), PlanSource::Model));
    }
    for w in &warnings {
        eprintln!("sdae: warning: {w}");
    }
    Ok(PlanChoice { plans, warnings })
}

/// What differs between two identities, in a few words.
fn identity_difference(a: &CpuIdentity, b: &CpuIdentity) -> String {
    if a.build != b.build {
        format!("build ({} here, {} in the file)", b.build, a.build)
    } else if a.threads != b.threads {
        format!(
            "thread count ({} here, {} in the file)",
            b.threads, a.threads
        )
    } else {
        format!("CPU ({} here, {} in the file)", b.brand, a.brand)
    }
}

static IN_FORCE: std::sync::OnceLock<PlanChoice> = std::sync::OnceLock::new();

/// Record the choice start-up made (for `sdae info`, benches and results files).
pub fn set_in_force(choice: PlanChoice) {
    let _ = IN_FORCE.set(choice);
}

/// The choice start-up made, if a front end recorded one.
pub fn in_force() -> Option<&'static PlanChoice> {
    IN_FORCE.get()
}

/// The plan, its hash and its source tag for `isa` as in force (the kernels' own plan when no
/// front end recorded a choice, e.g. in tests).
pub fn describe(isa: Isa) -> (String, String, String) {
    let k = sdae_kernels::Kernels::for_isa(isa).ok();
    let plan = k.map(|k| k.gemm_plan().clone());
    let source = in_force()
        .and_then(|c| c.get(isa).map(|(_, s)| s.tag()))
        .unwrap_or_else(|| "model".into());
    match plan {
        Some(p) => (p.to_string(), plan_hash(isa, &p), source),
        None => ("-".into(), "-".into(), source),
    }
}

/// Install the chosen plans into the kernel tables (before any kernel runs).
pub fn install(choice: &PlanChoice) -> Result<(), String> {
    for (isa, plan, _) in &choice.plans {
        sdae_kernels::install_gemm_plan(*isa, plan.clone()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The `--plan FILE` in force, if any (sweep children are started with it too).
pub fn pinned_file() -> Option<&'static Path> {
    in_force()?.plans.iter().find_map(|(_, _, s)| match s {
        PlanSource::Pinned(p) => Some(p.as_path()),
        _ => None,
    })
}

/// The hash of the process ISA's plan in force (what results and checkpoints record).
pub fn current_hash() -> String {
    describe(sdae_kernels::kernels().isa()).1
}

/// A stable hash of one ISA's plan (recorded in results and checkpoints).
pub fn plan_hash(isa: Isa, plan: &GemmPlan) -> String {
    let e = PlanEntry::from_plan(isa, plan);
    format!(
        "{:016x}",
        crate::util::fnv1a64(
            serde_json::to_string(&e)
                .expect("plan serialises")
                .as_bytes()
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZEN4: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\n";

    #[test]
    fn identity_from_cpuinfo() {
        let id = CpuIdentity::from_cpuinfo(ZEN4, 2);
        assert_eq!(id.vendor, "AuthenticAMD");
        assert_eq!((id.family, id.model, id.stepping), (25, 17, 1));
        assert_eq!(id.brand, "AMD EPYC");
        let other = CpuIdentity::from_cpuinfo(&ZEN4.replace("avx512f", ""), 2);
        assert_ne!(id.features, other.features);
        assert_ne!(id.key(), CpuIdentity::from_cpuinfo(ZEN4, 1).key());
    }

    #[test]
    fn presets_name_real_kernels() {
        let caches = CacheSizes {
            l1d: 32 << 10,
            l2: 1 << 20,
            l3: 32 << 20,
            source: "test",
        };
        for p in PRESETS {
            for &(isa, kernel, _, _) in p.plans {
                if registry::candidates(isa).is_empty() {
                    continue; // an ISA of another architecture
                }
                let plan =
                    preset_plan(p, isa, caches).unwrap_or_else(|| panic!("{} {kernel}", p.name));
                plan.validate(isa).unwrap();
            }
        }
        let id = CpuIdentity::from_cpuinfo(ZEN4, 2);
        assert_eq!(find_preset(&id, &[], || None).unwrap().name, "zen4");
    }

    #[test]
    fn hidden_model_matched_by_flags() {
        // A KVM guest on a Sapphire Rapids host: family 6, a client model number, AMX flags.
        let guest = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 167\n\
                     model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 1\n\
                     flags\t\t: fpu avx2 avx512f avx512_fp16 amx_tile amx_bf16\n";
        let id = CpuIdentity::from_cpuinfo(guest, 2);
        let flags = cpuinfo_flags(guest);
        assert!(flags.contains(&"amx_tile".to_string()) && flags.len() == 6);
        assert_eq!(
            find_preset(&id, &flags, || None).unwrap().name,
            "sapphire-rapids"
        );
        // Without the flags that name it, the unknown model gets no preset (the cache model).
        let plain = guest.replace(" avx512_fp16 amx_tile amx_bf16", "");
        assert!(find_preset(&id, &cpuinfo_flags(&plain), || None).is_none());
        // An AMD part with the same flags is not matched by an Intel row.
        let amd = guest.replace("GenuineIntel", "AuthenticAMD");
        let id = CpuIdentity::from_cpuinfo(&amd, 2);
        assert!(find_preset(&id, &flags, || None).is_none());
        // A model a row names wins over the flags (Zen 4's row has none).
        let id = CpuIdentity::from_cpuinfo(ZEN4, 2);
        assert_eq!(find_preset(&id, &flags, || None).unwrap().name, "zen4");
    }

    #[test]
    fn wisdom_round_trip_and_tamper() {
        let id = CpuIdentity::from_cpuinfo(ZEN4, 2);
        let caches = CacheSizes::detect();
        let plan = GemmPlan::analytical(Isa::Scalar, caches);
        let w = Wisdom::new(id, vec![PlanEntry::from_plan(Isa::Scalar, &plan)], vec![]);
        let text = serde_json::to_string_pretty(&w).unwrap();
        assert_eq!(Wisdom::parse(&text, "w").unwrap(), w);
        let edited = text.replace(&format!("\"kc\": {}", plan.kc), "\"kc\": 77");
        assert!(Wisdom::parse(&edited, "w")
            .unwrap_err()
            .contains("checksum"));
        assert!(Wisdom::parse(&text[..text.len() / 2], "w").is_err());
        let bad = Wisdom::new(
            w.identity.clone(),
            vec![PlanEntry {
                kernel: "scalar_9x9".into(),
                ..PlanEntry::from_plan(Isa::Scalar, &plan)
            }],
            vec![],
        );
        let e = Wisdom::parse(&serde_json::to_string(&bad).unwrap(), "w").unwrap_err();
        assert!(e.contains("unknown kernel"), "{e}");
    }
}
