//! The numbers of Vincent et al. (2008), Table 1, that a reproduction is compared against.
//!
//! Test error in percent on the 50,000-example test sets of the Larochelle et al. (2007)
//! benchmark; `sda3_nu` is the masking fraction the paper's model selection chose for SdA-3.

/// One task's row of the paper's Table 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaperRow {
    /// Task name as used by `sdae data` (`mnist-basic`, ...).
    pub task: &'static str,
    /// The paper's short name for the column header.
    pub short: &'static str,
    pub svm_rbf: f64,
    pub dbn3: f64,
    pub saa3: f64,
    pub sda3: f64,
    /// Destruction fraction ν chosen for SdA-3.
    pub sda3_nu: f64,
}

/// Table 1 of the paper, in the benchmark's usual task order.
pub const PAPER: [PaperRow; 8] = [
    PaperRow {
        task: "mnist-basic",
        short: "basic",
        svm_rbf: 3.03,
        dbn3: 3.11,
        saa3: 3.46,
        sda3: 2.80,
        sda3_nu: 0.10,
    },
    PaperRow {
        task: "mnist-rot",
        short: "rot",
        svm_rbf: 11.11,
        dbn3: 10.30,
        saa3: 10.30,
        sda3: 10.29,
        sda3_nu: 0.10,
    },
    PaperRow {
        task: "mnist-back-rand",
        short: "bg-rand",
        svm_rbf: 14.58,
        dbn3: 6.73,
        saa3: 11.28,
        sda3: 10.38,
        sda3_nu: 0.40,
    },
    PaperRow {
        task: "mnist-back-image",
        short: "bg-img",
        svm_rbf: 22.61,
        dbn3: 16.31,
        saa3: 23.00,
        sda3: 16.68,
        sda3_nu: 0.25,
    },
    PaperRow {
        task: "mnist-rot-back-image",
        short: "rot-bg-img",
        svm_rbf: 55.18,
        dbn3: 47.39,
        saa3: 51.93,
        sda3: 44.49,
        sda3_nu: 0.25,
    },
    PaperRow {
        task: "rectangles",
        short: "rect",
        svm_rbf: 2.15,
        dbn3: 2.60,
        saa3: 2.41,
        sda3: 1.99,
        sda3_nu: 0.10,
    },
    PaperRow {
        task: "rectangles-image",
        short: "rect-img",
        svm_rbf: 24.04,
        dbn3: 22.50,
        saa3: 24.05,
        sda3: 21.59,
        sda3_nu: 0.25,
    },
    PaperRow {
        task: "convex",
        short: "convex",
        svm_rbf: 19.13,
        dbn3: 18.63,
        saa3: 18.41,
        sda3: 19.06,
        sda3_nu: 0.10,
    },
];

/// Size of every task's test set in the paper.
pub const PAPER_TEST_SIZE: usize = 50_000;

/// The paper's row for `task`, if it is one of the eight.
pub fn paper_row(task: &str) -> Option<&'static PaperRow> {
    PAPER.iter().find(|r| r.task == task)
}

/// Half-width, in percent, of the 95% interval of an error rate measured on `n` examples:
/// `1.96 * sqrt(p (1 - p) / n)` with `p = error_pct / 100`.
pub fn ci95_pct(error_pct: f64, n: usize) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let p = (error_pct / 100.0).clamp(0.0, 1.0);
    100.0 * 1.96 * (p * (1.0 - p) / n as f64).sqrt()
}

/// Is `ours` inside the paper's 95% interval around `paper`, or better (lower)?
pub fn within_or_better(ours_pct: f64, paper_pct: f64) -> bool {
    ours_pct <= paper_pct + ci95_pct(paper_pct, PAPER_TEST_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_matches_the_papers_formula() {
        // 2.80% on 50,000 examples: 1.96 * sqrt(0.028 * 0.972 / 50000) = 0.1446...%
        assert!((ci95_pct(2.80, 50_000) - 0.14459).abs() < 1e-4);
        assert!(within_or_better(2.9, 2.80));
        assert!(!within_or_better(3.0, 2.80));
        assert!(within_or_better(1.0, 2.80));
    }

    #[test]
    fn every_task_has_a_row() {
        for t in crate::data::TASKS {
            assert!(paper_row(t).is_some(), "{t}");
        }
    }
}
