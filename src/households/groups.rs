//! Households grouped by their incidence on the controls: households with the same incidence
//! on every control are interchangeable for balancing and integerizing, so both work on groups.

use std::collections::HashMap;

use super::balance::Controls;

/// Households grouped by incidence signature.
pub(crate) struct Groups {
    /// Each group's incidence, dense: `incidence[g * k + c]`.
    pub incidence: Vec<f64>,
    /// Each group's households.
    pub members: Vec<Vec<usize>>,
    /// Number of controls.
    pub k: usize,
}

impl Groups {
    /// The households `0..n` that `keep` keeps, grouped by their incidence on `controls`.
    pub fn new(controls: &Controls, n: usize, keep: impl Fn(usize) -> bool) -> Groups {
        let k = controls.len();
        let mut rows = vec![0.0; n * k];
        for c in 0..k {
            let (h, v) = controls.control(c);
            for (&h, &v) in h.iter().zip(v) {
                rows[h as usize * k + c] = v;
            }
        }
        let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
        let mut incidence = Vec::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for h in (0..n).filter(|&h| keep(h)) {
            let row = &rows[h * k..(h + 1) * k];
            let signature: Vec<u64> = row.iter().map(|v| v.to_bits()).collect();
            let g = *index.entry(signature).or_insert_with(|| {
                incidence.extend_from_slice(row);
                members.push(Vec::new());
                members.len() - 1
            });
            members[g].push(h);
        }
        Groups { incidence, members, k }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Group `g`'s incidence on each control.
    pub fn row(&self, g: usize) -> &[f64] {
        &self.incidence[g * self.k..(g + 1) * self.k]
    }
}
