//! Model selection on validation error only.
//!
//! [`select`] sees nothing but [`Candidate`]s — run index, task, family and validation error —
//! so it cannot depend on the test set: the type has no place to put a test number.

use std::collections::BTreeMap;

use super::grid::Family;

/// What selection may look at.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub index: usize,
    pub task: String,
    pub family: Family,
    pub valid_error: f64,
}

/// The chosen run index per (task, family): lowest validation error; ties go to the lower
/// run index, so the choice does not depend on the order the runs finished in.
pub fn select(cands: &[Candidate]) -> BTreeMap<(String, Family), usize> {
    let mut best: BTreeMap<(String, Family), (f64, usize)> = BTreeMap::new();
    for c in cands {
        let key = (c.task.clone(), c.family);
        let better = match best.get(&key) {
            None => true,
            Some(&(e, i)) => c.valid_error < e || (c.valid_error == e && c.index < i),
        };
        if better && c.valid_error.is_finite() {
            best.insert(key, (c.valid_error, c.index));
        }
    }
    best.into_iter().map(|(k, (_, i))| (k, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: usize, task: &str, family: Family, valid_error: f64) -> Candidate {
        Candidate {
            index,
            task: task.into(),
            family,
            valid_error,
        }
    }

    #[test]
    fn lowest_validation_error_wins_ties_to_lower_index_in_any_order() {
        let mut v = vec![
            c(0, "convex", Family::Sda, 20.0),
            c(1, "convex", Family::Sda, 18.5),
            c(2, "convex", Family::Sda, 18.5),
            c(3, "convex", Family::Saa, 21.0),
            c(4, "rectangles", Family::Sda, f64::NAN),
            c(5, "rectangles", Family::Sda, 3.0),
        ];
        let a = select(&v);
        v.reverse();
        assert_eq!(select(&v), a);
        assert_eq!(a[&("convex".into(), Family::Sda)], 1);
        assert_eq!(a[&("convex".into(), Family::Saa)], 3);
        assert_eq!(a[&("rectangles".into(), Family::Sda)], 5);
        assert_eq!(a.len(), 3);
    }
}
