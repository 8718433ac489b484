//! Integerization: turning real-valued weights of seed records into non-negative integer counts
//! (how many copies of each record go into a synthetic population), reproducibly from a seed, and
//! rounding the real margin targets those counts must meet. Seed re-weighting
//! ([`fit_microdata`](crate::calibration::fit_microdata)) and exact-mode generation use it.
//!
//! Two methods are provided:
//!
//! * [`trs`] — truncate, replicate, sample (Lovelace & Ballas 2013, *Computers, Environment and Urban
//!   Systems* 39:51–56). Every record keeps the integer part of its weight; the remaining
//!   `R = round(Σw) − Σ⌊w⌋` units go to distinct records drawn without replacement with inclusion
//!   probability proportional to the fractional parts. The total is exact, each count is the floor
//!   or the ceiling of its weight, and the expected count equals the weight whenever `Σw` is an
//!   integer. Margins are preserved only in expectation.
//! * [`margin_preserving`] — a controlled-rounding heuristic that returns counts whose margin totals
//!   equal given integer targets exactly whenever it can find such counts, keeping each count at
//!   the floor or the ceiling of its weight wherever it can, and reporting honestly (through
//!   [`Integerized::exact`] and [`Integerized::margin_errors`]) when it could not. PopulationSim's
//!   integerizer solves a linear-programming relaxation and then an integer program for the same
//!   purpose; the heuristic here needs no solver and runs in about linear time on typical problems.
//!
//! Quasirandom integer sampling (Smith, Lovelace & Birkin 2017, *JASSS* 20(4):14) is a different
//! route to integer populations that meet margins exactly: it samples directly from the margins
//! instead of rounding calibrated weights of seed records.
//!
//! [`margin_errors`] measures what integerization did to the margins: per margin, the largest
//! absolute cell error and the sum of absolute cell errors.
//!
//! All randomness comes from the caller's generator, so a seeded generator gives identical counts on
//! every run (no hash-map iteration order or thread scheduling is involved).
//!
//! # Rounding the targets
//!
//! [`margin_preserving`] meets integer targets; margins come with real ones. Rounding each margin on
//! its own ([`round_preserving_total`]) keeps every margin's total, but two margins that share
//! attributes can then disagree on their shared sub-margin: with targets for age × sex and age ×
//! region, the age totals implied by the two rounded tables may differ by a unit. No integer
//! population meets both, so an exact integerizer can only spend its search budget and report an
//! error of one. [`round_margins`] keeps the independent rounding whenever it is consistent and
//! otherwise rounds the shared sub-margins first and every margin given them, so that exactness
//! stays within reach.
//!
//! ```
//! use populace::integerize::round_margins;
//!
//! // attributes 0 (2 levels), 1 (2 levels), 2 (2 levels); margins {0,1} and {0,2}
//! let sizes = [2, 2, 2];
//! let attributes: [&[usize]; 2] = [&[0, 1], &[0, 2]];
//! let targets = [vec![0.5, 0.5, 0.5, 1.5], vec![0.6, 0.4, 1.4, 0.6]];
//! let rounded = round_margins(&sizes, &attributes, &targets).unwrap();
//! // both agree on attribute 0: the first two cells of each sum to the same total
//! assert_eq!(rounded[0][0] + rounded[0][1], rounded[1][0] + rounded[1][1]);
//! assert_eq!(rounded[0].iter().sum::<u64>(), 3);
//! ```

mod rounding;
mod search;
mod trs;

pub use rounding::{round_margins, round_preserving_total};
pub use search::{margin_preserving, Integerized};
pub use trs::trs;

use crate::error::{Error, Location, Result};

/// Weights above this cannot be split into an exact integer part and a meaningful fractional part in
/// `f64` (2^52).
const MAX_WEIGHT: f64 = 4_503_599_627_370_496.0;

/// Target totals and total weights above this are refused so that signed residual arithmetic cannot
/// overflow (2^52).
const MAX_TOTAL: u64 = 1 << 52;

/// Error added by integerization to one margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct MarginError {
    /// Largest absolute difference between a cell's integer total and its target.
    pub max_abs_error: u64,
    /// Sum over the margin's cells of the absolute differences.
    pub sum_abs_error: u64,
}

/// Margin error added by integerization: per margin, max |Σ counts − target| and the sum of
/// absolute errors.
///
/// `membership` is records × margins, row-major, as in [`margin_preserving`].
///
/// # Panics
/// If the lengths disagree (`membership.len() != counts.len() * margin_sizes.len()`,
/// `targets.len() != margin_sizes.len()`, `targets[m].len() != margin_sizes[m]`) or a membership
/// code is out of range. [`margin_preserving`] validates the same inputs and returns errors instead.
pub fn margin_errors(
    counts: &[u64],
    membership: &[u32],
    margin_sizes: &[usize],
    targets: &[Vec<u64>],
) -> Vec<MarginError> {
    let nm = margin_sizes.len();
    assert_eq!(membership.len(), counts.len() * nm, "membership must hold one cell per record and margin");
    assert_eq!(targets.len(), nm, "one target vector per margin");
    let mut totals: Vec<Vec<u128>> = margin_sizes.iter().map(|&k| vec![0; k]).collect();
    for (i, &c) in counts.iter().enumerate() {
        for (m, total) in totals.iter_mut().enumerate() {
            total[membership[i * nm + m] as usize] += c as u128;
        }
    }
    totals
        .iter()
        .zip(targets)
        .map(|(total, target)| {
            assert_eq!(total.len(), target.len(), "one target per cell");
            let mut e = MarginError::default();
            for (&got, &want) in total.iter().zip(target) {
                let d = got.abs_diff(want as u128).min(u64::MAX as u128) as u64;
                e.max_abs_error = e.max_abs_error.max(d);
                e.sum_abs_error = e.sum_abs_error.saturating_add(d);
            }
            e
        })
        .collect()
}

/// Checks that every weight is finite, non-negative and at most [`MAX_WEIGHT`].
fn validate_weights(weights: &[f64]) -> Result<()> {
    for (i, &w) in weights.iter().enumerate() {
        if !(w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w)) {
            let why = if w.is_nan() {
                "is NaN".to_string()
            } else if w < 0.0 {
                format!("is negative ({w})")
            } else {
                format!("is {w}; weights must be finite and at most 2^52")
            };
            return Err(Error::input(Location::file("weights"), format!("weight of record {i} {why}")));
        }
    }
    Ok(())
}

/// Checks shapes, membership codes and the agreement of the margins' target totals.
fn validate_margins(n: usize, membership: &[u32], margin_sizes: &[usize], targets: &[Vec<u64>]) -> Result<()> {
    let nm = margin_sizes.len();
    if nm == 0 {
        return Err(Error::input(
            Location::file("margins"),
            "no margins given (use trs to integerize without margins)",
        ));
    }
    if let Some(m) = margin_sizes.iter().position(|&k| k == 0) {
        return Err(Error::input(Location::file("margins"), format!("margin {m} has no cells")));
    }
    if margin_sizes.iter().any(|&k| k as u64 > u32::MAX as u64 + 1) {
        return Err(Error::input(Location::file("margins"), "a margin has more cells than a u32 code can name"));
    }
    if n.checked_mul(nm) != Some(membership.len()) {
        return Err(Error::input(
            Location::file("membership"),
            format!(
                "has {} entries but {n} records × {nm} margins need {}",
                membership.len(),
                n.checked_mul(nm).map_or("more".to_string(), |x| x.to_string())
            ),
        ));
    }
    if targets.len() != nm {
        return Err(Error::input(
            Location::file("targets"),
            format!("has {} margins but margin_sizes lists {nm}", targets.len()),
        ));
    }
    for (m, (t, &k)) in targets.iter().zip(margin_sizes).enumerate() {
        if t.len() != k {
            return Err(Error::input(
                Location::file("targets"),
                format!("margin {m} has {} targets but {k} cells", t.len()),
            ));
        }
    }
    for (idx, &code) in membership.iter().enumerate() {
        let (i, m) = (idx / nm, idx % nm);
        if code as usize >= margin_sizes[m] {
            return Err(Error::input(
                Location::file("membership"),
                format!(
                    "record {i}, margin {m}: cell {code} is out of range (the margin has {} cells)",
                    margin_sizes[m]
                ),
            ));
        }
    }
    let mut totals = Vec::with_capacity(nm);
    for (m, t) in targets.iter().enumerate() {
        let total = t.iter().try_fold(0u64, |a, &v| a.checked_add(v).filter(|&s| s <= MAX_TOTAL));
        match total {
            Some(s) => totals.push(s),
            None => return Err(Error::TooLarge(format!("margin {m}: target total exceeds 2^52"))),
        }
    }
    if let Some(m) = totals.iter().position(|&s| s != totals[0]) {
        return Err(Error::Inconsistent(format!(
            "margin targets disagree on the total: margin 0 sums to {} but margin {m} sums to {}",
            totals[0], totals[m]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_errors_hand_example() {
        // Records: (a0, b0), (a1, b0), (a1, b1), (a0, b2).
        let membership = [0, 0, 1, 0, 1, 1, 0, 2];
        let sizes = [2, 3];
        let counts = [3, 1, 2, 0];
        // Margin A totals: a0 = 3, a1 = 3. Margin B totals: b0 = 4, b1 = 2, b2 = 0.
        let targets = vec![vec![3, 3], vec![1, 4, 1]];
        let errs = margin_errors(&counts, &membership, &sizes, &targets);
        assert_eq!(
            errs,
            vec![
                MarginError { max_abs_error: 0, sum_abs_error: 0 },
                MarginError { max_abs_error: 3, sum_abs_error: 6 }
            ]
        );
    }
}
