//! Fit quality: how far an estimated table of counts is from a reference ("truth") table.
//!
//! `populace` uses these to compare a fitted joint, a persona pool or any other estimate with
//! a table treated as the truth. Both tables are flat slices over the **same cells in the same
//! order**; the layout of the cells does not matter to any metric.
//!
//! # Notation
//!
//! For cells k = 1..K, let x̂ₖ be the estimate and xₖ the truth, and
//!
//! * N = Σₖ xₖ, the truth total, and N̂ = Σₖ x̂ₖ, the estimate total;
//! * pₖ = xₖ / N and p̂ₖ = x̂ₖ / N̂, the proportions (each sums to 1).
//!
//! # Formulas
//!
//! | metric | formula | units |
//! |---|---|---|
//! | [`tae`] | TAE = Σₖ \|x̂ₖ − xₖ\| | counts |
//! | [`rmse`] | RMSE = √( Σₖ (x̂ₖ − xₖ)² / K ) | counts |
//! | [`srmse`] | SRMSE = RMSE / (N / K) = K · RMSE / N | none |
//! | [`max_abs_error`] | MAE∞ = maxₖ \|x̂ₖ − xₖ\| | counts |
//! | [`hellinger`] | H = √( max(0, 1 − Σₖ √(p̂ₖ pₖ)) ) | none, in \[0, 1\] |
//! | [`kl_divergence`] | KL(p ‖ p̂) = Σₖ pₖ ln(pₖ / p̂ₖ) | nats |
//!
//! * **TAE, RMSE and the maximum absolute error** are in the tables' own units: scaling both
//!   tables by c > 0 scales them by c. They are defined for all-zero tables.
//! * **SRMSE** (standardised RMSE) is the RMSE divided by the mean truth cell count N/K, as used
//!   throughout the population-synthesis literature, e.g. D. R. Pritchard & E. J. Miller (2012),
//!   "Advances in population synthesis: fitting many attributes per agent and fitting to
//!   household and person margins simultaneously", *Transportation* 39(3), 685–704; and
//!   R. Lovelace, M. Birkin, D. Ballas & E. van Leeuwen (2015), "Evaluating the performance of
//!   iterative proportional fitting for spatial microsimulation: new tests for an established
//!   technique", *Journal of Artificial Societies and Social Simulation* 18(2), 21. It is 0 for
//!   a perfect fit and has no fixed upper bound. When both tables have the same total it equals
//!   the same statistic computed on proportions, √(Σₖ(p̂ₖ − pₖ)²/K) / (1/K). It needs N > 0.
//! * **Hellinger distance** compares the *shapes* of the two tables (their proportions) and
//!   ignores a difference in totals. It is symmetric, lies in \[0, 1\], is 0 exactly when the
//!   proportions agree and 1 when the two tables have disjoint support. It needs N > 0 and
//!   N̂ > 0.
//! * **Kullback–Leibler divergence** is taken in the direction **KL(truth ‖ estimate)**: the
//!   truth p is the reference distribution and the estimate p̂ the approximating one, so the
//!   value is the expected extra log-loss, in nats (natural logarithm), of describing draws from
//!   the truth with the estimate. Cells with pₖ = 0 contribute 0 (the limit of t ln t); a cell
//!   with pₖ > 0 but p̂ₖ = 0 makes the divergence +∞, since the estimate rules out something the
//!   truth contains. Support is decided on the raw values (xₖ > 0, x̂ₖ = 0), not on proportions
//!   that may underflow. KL is not symmetric and has no upper bound; it is ≥ 0 (Gibbs'
//!   inequality) and 0 exactly when the proportions agree. It needs N > 0 and N̂ > 0.
//!   [`FitQuality`] serialises an infinite value through serde, which `serde_json` writes as
//!   `null`.
//!
//! # Validation
//!
//! Every function checks, in this order, that the tables have the same length
//! ([`MetricError::LengthMismatch`]), that they are not empty ([`MetricError::Empty`]), and that
//! every value is finite and non-negative ([`MetricError::InvalidValue`], reporting the first
//! bad cell of the estimate, then of the truth; −0.0 counts as zero). Metrics that divide by a
//! total return [`MetricError::ZeroTotal`] when it is zero: SRMSE for the truth, Hellinger and KL
//! for the truth and then the estimate. [`fit_quality`] computes all of them and so needs both
//! totals to be positive.
//!
//! # Numerics
//!
//! * Every sum (totals, Σ|d|, Σd², Σ√…, Σ p ln …) uses Neumaier's variant of Kahan compensated
//!   summation, so the result does not depend noticeably on the number of cells or their order.
//! * RMSE is computed as m · √(Σₖ (dₖ/m)² / K) with m = maxₖ |dₖ|, and totals as
//!   M · Σₖ (xₖ/M) with M = maxₖ xₖ, so squares and totals neither overflow nor underflow even
//!   for cells near `f64::MAX` or in the subnormal range.
//! * The Hellinger distance is evaluated as √( min(1, ½ Σₖ (√p̂ₖ − √pₖ)²) ), which equals the
//!   formula above exactly in real arithmetic (because Σ p̂ = Σ p = 1) but avoids the
//!   cancellation in 1 − Σ√(p̂ p): that form returns about 1e−8 for two identical tables, this
//!   one returns 0.
//! * KL uses ln(pₖ/p̂ₖ) directly; where a proportion is subnormal or underflows to zero it falls
//!   back to (ln xₖ − ln N) − (ln x̂ₖ − ln N̂), so such cells still give a finite term. The sum
//!   is clamped at 0 to absorb rounding (which could otherwise produce, say, −1e−17 for nearly
//!   identical tables).
//!
//! # Example
//!
//! ```
//! use populace::metrics::{fit_quality, kl_divergence, MetricError, Side};
//!
//! let truth = [10.0, 20.0, 30.0, 40.0]; // N = 100, K = 4, mean cell 25
//! let estimate = [12.0, 18.0, 30.0, 44.0]; // differences 2, −2, 0, 4
//!
//! let q = fit_quality(&estimate, &truth)?;
//! assert_eq!(q.cells, 4);
//! assert_eq!(q.tae, 8.0); // 2 + 2 + 0 + 4
//! assert_eq!(q.max_abs_error, 4.0);
//! assert!((q.rmse - 6f64.sqrt()).abs() < 1e-12); // √((4 + 4 + 0 + 16) / 4)
//! assert!((q.srmse - 6f64.sqrt() / 25.0).abs() < 1e-12); // RMSE / (100 / 4)
//! assert!(q.hellinger > 0.0 && q.hellinger < 1.0);
//! assert!(q.kl_divergence > 0.0);
//!
//! // The truth is the reference: an estimate that empties a populated cell is infinitely far.
//! assert_eq!(kl_divergence(&[1.0, 0.0], &[1.0, 1.0])?, f64::INFINITY);
//! // ... but a cell the truth leaves empty costs nothing.
//! assert_eq!(kl_divergence(&[1.0, 1.0], &[1.0, 0.0])?, 2f64.ln());
//!
//! assert_eq!(fit_quality(&[1.0], &[1.0, 2.0]), Err(MetricError::LengthMismatch { estimate: 1, truth: 2 }));
//! assert_eq!(fit_quality(&[1.0], &[0.0]), Err(MetricError::ZeroTotal { side: Side::Truth }));
//! # Ok::<(), MetricError>(())
//! ```

use std::fmt;

/// All fit-quality metrics of one estimate against one truth, as computed by [`fit_quality`].
///
/// Each field equals what the function of the same name returns for the same inputs; see the
/// [module documentation](self) for the formulas.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct FitQuality {
    /// Standardised root mean square error, RMSE / (N/K); see [`srmse`].
    pub srmse: f64,
    /// Total absolute error, Σ|x̂ₖ − xₖ|; see [`tae`].
    pub tae: f64,
    /// Root mean square error over cells, √(Σ(x̂ₖ − xₖ)²/K); see [`rmse`].
    pub rmse: f64,
    /// Hellinger distance between the proportions, in \[0, 1\]; see [`hellinger`].
    pub hellinger: f64,
    /// KL(truth ‖ estimate) between the proportions, in nats, possibly +∞; see
    /// [`kl_divergence`].
    pub kl_divergence: f64,
    /// Largest absolute cell error, maxₖ |x̂ₖ − xₖ|; see [`max_abs_error`].
    pub max_abs_error: f64,
    /// Number of cells K compared.
    pub cells: usize,
}

/// Which of the two tables a [`MetricError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The estimated table (first argument of every metric).
    Estimate,
    /// The reference table (second argument of every metric).
    Truth,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Estimate => "estimate",
            Side::Truth => "truth",
        })
    }
}

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricError {
    /// The two tables do not have the same number of cells.
    #[error("the tables differ in length: the estimate has {estimate} cells, the truth has {truth}")]
    LengthMismatch {
        /// Number of cells in the estimate.
        estimate: usize,
        /// Number of cells in the truth.
        truth: usize,
    },
    /// Both tables have no cells.
    #[error("the tables are empty: at least one cell is needed")]
    Empty,
    /// A cell is negative, NaN or infinite.
    #[error("{side} cell {index} is {value}: cell values must be finite and non-negative")]
    InvalidValue {
        /// The table holding the bad value.
        side: Side,
        /// 0-based index of the first bad cell in that table.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A table sums to zero, but the metric needs its proportions (Hellinger, KL) or, for the
    /// truth, its mean cell count (SRMSE).
    #[error("the {side} table sums to zero, so its proportions and mean cell count are undefined")]
    ZeroTotal {
        /// The table whose total is zero.
        side: Side,
    },
}

/// Computes every metric at once; needs both tables to have a positive total.
///
/// # Errors
///
/// [`MetricError::LengthMismatch`], [`MetricError::Empty`], [`MetricError::InvalidValue`] as
/// described in the [module documentation](self#validation), and [`MetricError::ZeroTotal`] if
/// the truth or the estimate sums to zero (the truth is reported first).
pub fn fit_quality(estimate: &[f64], truth: &[f64]) -> Result<FitQuality, MetricError> {
    validate(estimate, truth)?;
    let truth_total = total(truth, Side::Truth)?;
    let estimate_total = total(estimate, Side::Estimate)?;
    let diffs = differences(estimate, truth);
    let p = proportions(truth, truth_total);
    let p_hat = proportions(estimate, estimate_total);
    Ok(FitQuality {
        srmse: standardise(diffs.rmse, truth_total, truth.len()),
        tae: diffs.tae,
        rmse: diffs.rmse,
        hellinger: hellinger_of(&p_hat, &p),
        kl_divergence: kl_of(estimate, truth, &p_hat, &p, estimate_total, truth_total),
        max_abs_error: diffs.max_abs,
        cells: truth.len(),
    })
}

/// Standardised root mean square error: SRMSE = √(Σₖ(x̂ₖ − xₖ)²/K) / (N/K), the RMSE divided by
/// the mean truth cell count (Pritchard & Miller 2012; Lovelace et al. 2015).
///
/// Dimensionless and unchanged when both tables are scaled by the same factor; 0 for a perfect
/// fit. The truth total N is the denominator, so the estimate's total is free.
///
/// # Errors
///
/// The validation errors of the [module documentation](self#validation), and
/// [`MetricError::ZeroTotal`] for the truth if N = 0.
pub fn srmse(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    let truth_total = total(truth, Side::Truth)?;
    Ok(standardise(differences(estimate, truth).rmse, truth_total, truth.len()))
}

/// Total absolute error: TAE = Σₖ |x̂ₖ − xₖ|, in the tables' units.
///
/// # Errors
///
/// Only the validation errors of the [module documentation](self#validation); all-zero tables
/// are fine.
pub fn tae(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    Ok(differences(estimate, truth).tae)
}

/// Root mean square error over cells: RMSE = √(Σₖ (x̂ₖ − xₖ)² / K), in the tables' units.
///
/// # Errors
///
/// Only the validation errors of the [module documentation](self#validation); all-zero tables
/// are fine.
pub fn rmse(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    Ok(differences(estimate, truth).rmse)
}

/// Hellinger distance between the proportions: H = √(max(0, 1 − Σₖ √(p̂ₖ pₖ))), in \[0, 1\].
///
/// Symmetric in its arguments; 0 when the tables are proportional, 1 when their supports are
/// disjoint. Evaluated as √(min(1, ½ Σₖ (√p̂ₖ − √pₖ)²)), equal in exact arithmetic but free of
/// cancellation near 0.
///
/// # Errors
///
/// The validation errors of the [module documentation](self#validation), and
/// [`MetricError::ZeroTotal`] if the truth, or else the estimate, sums to zero.
pub fn hellinger(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    let truth_total = total(truth, Side::Truth)?;
    let estimate_total = total(estimate, Side::Estimate)?;
    Ok(hellinger_of(&proportions(estimate, estimate_total), &proportions(truth, truth_total)))
}

/// Kullback–Leibler divergence of the estimate from the truth, **KL(truth ‖ estimate)** =
/// Σₖ pₖ ln(pₖ / p̂ₖ), on proportions, in nats (natural logarithm).
///
/// The truth is the reference distribution. Cells with pₖ = 0 contribute 0; the result is +∞ as
/// soon as a cell has pₖ > 0 and p̂ₖ = 0. Otherwise it is finite and ≥ 0 (Gibbs' inequality),
/// 0 when the tables are proportional. Not symmetric: swap the arguments for KL(estimate ‖ truth).
///
/// # Errors
///
/// The validation errors of the [module documentation](self#validation), and
/// [`MetricError::ZeroTotal`] if the truth, or else the estimate, sums to zero.
pub fn kl_divergence(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    let truth_total = total(truth, Side::Truth)?;
    let estimate_total = total(estimate, Side::Estimate)?;
    let p = proportions(truth, truth_total);
    let p_hat = proportions(estimate, estimate_total);
    Ok(kl_of(estimate, truth, &p_hat, &p, estimate_total, truth_total))
}

/// Largest absolute cell error: maxₖ |x̂ₖ − xₖ|, in the tables' units.
///
/// # Errors
///
/// Only the validation errors of the [module documentation](self#validation); all-zero tables
/// are fine.
pub fn max_abs_error(estimate: &[f64], truth: &[f64]) -> Result<f64, MetricError> {
    validate(estimate, truth)?;
    Ok(differences(estimate, truth).max_abs)
}

/// Checks lengths, emptiness and values, in that order.
fn validate(estimate: &[f64], truth: &[f64]) -> Result<(), MetricError> {
    if estimate.len() != truth.len() {
        return Err(MetricError::LengthMismatch { estimate: estimate.len(), truth: truth.len() });
    }
    if truth.is_empty() {
        return Err(MetricError::Empty);
    }
    for (side, values) in [(Side::Estimate, estimate), (Side::Truth, truth)] {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
            return Err(MetricError::InvalidValue { side, index, value });
        }
    }
    Ok(())
}

/// Neumaier's improved Kahan summation. An overflow to ±∞ is returned as such (rather than the
/// NaN the compensation term would produce).
fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut sum = 0.0_f64;
    let mut compensation = 0.0_f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            compensation += (sum - t) + v;
        } else {
            compensation += (v - t) + sum;
        }
        sum = t;
    }
    if sum.is_finite() {
        sum + compensation
    } else {
        sum
    }
}

/// A positive table total, held as `max · scaled_sum` so that it cannot overflow.
#[derive(Debug, Clone, Copy)]
struct Total {
    /// Largest cell, > 0.
    max: f64,
    /// Σₖ xₖ / max, in \[1, K\].
    scaled_sum: f64,
}

impl Total {
    /// ln of the total, without forming the (possibly overflowing) product.
    fn ln(self) -> f64 {
        self.max.ln() + self.scaled_sum.ln()
    }
}

/// The total of a validated table, or [`MetricError::ZeroTotal`] if every cell is zero.
fn total(values: &[f64], side: Side) -> Result<Total, MetricError> {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    if max == 0.0 {
        return Err(MetricError::ZeroTotal { side });
    }
    Ok(Total { max, scaled_sum: compensated_sum(values.iter().map(|&v| v / max)) })
}

/// Proportions xₖ / N of a table with a positive total.
fn proportions(values: &[f64], total: Total) -> Vec<f64> {
    values.iter().map(|&v| (v / total.max) / total.scaled_sum).collect()
}

/// The metrics built from the cell differences dₖ = x̂ₖ − xₖ.
struct Differences {
    tae: f64,
    rmse: f64,
    max_abs: f64,
}

fn differences(estimate: &[f64], truth: &[f64]) -> Differences {
    let diffs = || estimate.iter().zip(truth).map(|(&e, &t)| (e - t).abs());
    let max_abs = diffs().fold(0.0_f64, f64::max);
    let tae = compensated_sum(diffs());
    let rmse = if max_abs == 0.0 {
        0.0
    } else {
        let mean_square = compensated_sum(diffs().map(|d| (d / max_abs) * (d / max_abs))) / truth.len() as f64;
        max_abs * mean_square.sqrt()
    };
    Differences { tae, rmse, max_abs }
}

/// RMSE / (N / K), with N / K formed as max · (scaled_sum / K) so it cannot overflow.
fn standardise(rmse: f64, truth_total: Total, cells: usize) -> f64 {
    rmse / (truth_total.max * (truth_total.scaled_sum / cells as f64))
}

/// √(min(1, ½ Σₖ (√p̂ₖ − √pₖ)²)).
fn hellinger_of(p_hat: &[f64], p: &[f64]) -> f64 {
    let half_sum = 0.5 * compensated_sum(p_hat.iter().zip(p).map(|(&a, &b)| (a.sqrt() - b.sqrt()).powi(2)));
    half_sum.min(1.0).sqrt()
}

/// Σₖ pₖ ln(pₖ / p̂ₖ) over cells with xₖ > 0, +∞ if any such cell has x̂ₖ = 0; clamped at 0.
fn kl_of(estimate: &[f64], truth: &[f64], p_hat: &[f64], p: &[f64], estimate_total: Total, truth_total: Total) -> f64 {
    let mut terms = Vec::with_capacity(truth.len());
    for (((&x_hat, &x), &q), &r) in estimate.iter().zip(truth).zip(p_hat).zip(p) {
        if x == 0.0 {
            continue; // pₖ = 0: the term's limit is 0
        }
        if x_hat == 0.0 {
            return f64::INFINITY; // pₖ > 0, p̂ₖ = 0
        }
        if r == 0.0 {
            continue; // pₖ below the smallest subnormal: pₖ ln(pₖ/p̂ₖ) is 0 to working precision
        }
        let ratio = r / q;
        let log_ratio = if r.is_normal() && q.is_normal() && ratio.is_normal() {
            ratio.ln()
        } else {
            (x.ln() - truth_total.ln()) - (x_hat.ln() - estimate_total.ln())
        };
        terms.push(r * log_ratio);
    }
    compensated_sum(terms).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// |a − b| ≤ rel · max(|a|, |b|) + abs.
    fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
    }

    fn assert_close(actual: f64, expected: f64, what: &str) {
        assert!(close(actual, expected, 1e-12, 0.0), "{what}: got {actual:e}, expected {expected:e}");
    }

    // ---- hand-computed values ------------------------------------------------------------

    #[test]
    fn hand_computed_count_metrics() {
        // truth x = [10, 20, 30, 40]: N = 100, K = 4, N/K = 25.
        // estimate x̂ = [12, 18, 30, 44]: d = [2, −2, 0, 4].
        // TAE  = 2 + 2 + 0 + 4 = 8
        // max  = 4
        // RMSE = √((4 + 4 + 0 + 16) / 4) = √6 = 2.449489742783178
        // SRMSE = √6 / 25 = 0.09797958971132711
        let (e, t) = ([12.0, 18.0, 30.0, 44.0], [10.0, 20.0, 30.0, 40.0]);
        assert_eq!(tae(&e, &t).unwrap(), 8.0);
        assert_eq!(max_abs_error(&e, &t).unwrap(), 4.0);
        assert_close(rmse(&e, &t).unwrap(), 2.449489742783178, "rmse");
        assert_close(srmse(&e, &t).unwrap(), 0.09797958971132711, "srmse");
    }

    #[test]
    fn hand_computed_hellinger() {
        // truth [1, 1, 1, 1] → p = [1/4, 1/4, 1/4, 1/4];
        // estimate [9, 16, 0, 0] → p̂ = [9/25, 16/25, 0, 0].
        // Σ√(p̂p) = √(9/100) + √(16/100) = 0.3 + 0.4 = 0.7, H = √(1 − 0.7) = √0.3 = 0.5477225575051661.
        // Symmetric, so swapping gives the same.
        let (e, t) = ([9.0, 16.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]);
        assert_close(hellinger(&e, &t).unwrap(), 0.5477225575051661, "hellinger");
        assert_close(hellinger(&t, &e).unwrap(), 0.5477225575051661, "hellinger swapped");
        // Disjoint supports: Σ√(p̂p) = 0, H = 1.
        assert_eq!(hellinger(&[0.0, 3.0], &[5.0, 0.0]).unwrap(), 1.0);
    }

    #[test]
    fn hand_computed_kl() {
        // truth [5, 5] → p = [1/2, 1/2]; estimate [1, 3] → p̂ = [1/4, 3/4] (totals differ: 10 vs 4).
        // KL = ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ (ln 2 + ln(2/3)) = ½ ln(4/3) = 0.14384103622589042.
        assert_close(kl_divergence(&[1.0, 3.0], &[5.0, 5.0]).unwrap(), 0.14384103622589042, "kl");

        // Zero truth cells contribute nothing: truth [9, 16, 0, 0] → p = [0.36, 0.64, 0, 0],
        // estimate [1, 1, 1, 1] → p̂ = ¼ each.
        // KL = 0.36 ln(0.36/0.25) + 0.64 ln(0.64/0.25) = 0.36 ln 1.44 + 0.64 ln 2.56
        //    = 0.72 ln 1.2 + 1.28 ln 1.6 = 0.72 · 0.18232155679395462 + 1.28 · 0.47000362924573558
        //    = 0.13127152089164733 + 0.60160464543454154 = 0.7328761663261889.
        let (e, t) = ([1.0, 1.0, 1.0, 1.0], [9.0, 16.0, 0.0, 0.0]);
        assert_close(kl_divergence(&e, &t).unwrap(), 0.7328761663261889, "kl with empty truth cells");

        // The other direction: the estimate empties cells the truth populates → +∞.
        assert_eq!(kl_divergence(&t, &e).unwrap(), f64::INFINITY);
        assert_eq!(fit_quality(&t, &e).unwrap().kl_divergence, f64::INFINITY);
    }

    // ---- identical tables ----------------------------------------------------------------

    #[test]
    fn identical_tables_give_zero_everywhere() {
        let tables: [&[f64]; 5] = [
            &[1.0],
            &[3.0, 0.0, 7.5],
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
            &[1e-300, 5e-324, 0.0, 2.5e-310],
            &[1e308, 1.7e308, 0.0, 1.0],
        ];
        for t in tables {
            let q = fit_quality(t, t).unwrap();
            let expected = FitQuality {
                srmse: 0.0,
                tae: 0.0,
                rmse: 0.0,
                hellinger: 0.0,
                kl_divergence: 0.0,
                max_abs_error: 0.0,
                cells: t.len(),
            };
            assert_eq!(q, expected, "{t:?}");
            assert_eq!(srmse(t, t).unwrap(), 0.0);
            assert_eq!(tae(t, t).unwrap(), 0.0);
            assert_eq!(rmse(t, t).unwrap(), 0.0);
            assert_eq!(hellinger(t, t).unwrap(), 0.0);
            assert_eq!(kl_divergence(t, t).unwrap(), 0.0);
            assert_eq!(max_abs_error(t, t).unwrap(), 0.0);
        }
        // All-zero tables: the count metrics are defined and zero.
        let z = [0.0; 5];
        assert_eq!((tae(&z, &z), rmse(&z, &z), max_abs_error(&z, &z)), (Ok(0.0), Ok(0.0), Ok(0.0)));
    }

    // ---- independent reference values ----------------------------------------------------

    const EST12: [f64; 12] = [110.5, 52.25, 3.0, 325.0, 91.75, 12.5, 70.0, 244.25, 7.5, 1.0, 130.0, 85.5];
    const TRUTH12: [f64; 12] = [120.0, 45.0, 0.0, 310.0, 88.0, 17.0, 64.0, 230.0, 5.0, 0.0, 142.0, 79.0];

    // Computed once with python3 (standard library only); N = 1100, N̂ = 1133.25:
    //
    // import math
    // est = [110.5, 52.25, 3.0, 325.0, 91.75, 12.5, 70.0, 244.25, 7.5, 1.0, 130.0, 85.5]
    // tru = [120.0, 45.0, 0.0, 310.0, 88.0, 17.0, 64.0, 230.0, 5.0, 0.0, 142.0, 79.0]
    // K = len(tru); N = math.fsum(tru); Ne = math.fsum(est)
    // d = [a - b for a, b in zip(est, tru)]
    // rmse = math.sqrt(math.fsum(x * x for x in d) / K)
    // pe = [a / Ne for a in est]; pt = [b / N for b in tru]
    // print("SRMSE", repr(rmse / (N / K)))
    // print("TAE", repr(math.fsum(abs(x) for x in d)))
    // print("RMSE", repr(rmse))
    // print("HELLINGER", repr(math.sqrt(max(0.0, 1.0 - math.fsum(math.sqrt(a * b) for a, b in zip(pe, pt))))))
    // print("KL", repr(math.fsum(b * math.log(b / a) for a, b in zip(pe, pt) if b > 0)))
    // print("MAX", repr(max(abs(x) for x in d)))
    const PY_SRMSE: f64 = 0.09147212012591913;
    const PY_TAE: f64 = 85.25;
    const PY_RMSE: f64 = 8.38494434487592;
    const PY_HELLINGER: f64 = 0.05085419143339012;
    const PY_KL: f64 = 0.006856119479881839;
    const PY_MAX: f64 = 15.0;

    #[test]
    fn matches_python_reference_on_twelve_cells() {
        let q = fit_quality(&EST12, &TRUTH12).unwrap();
        assert_eq!(q.cells, 12);
        assert_close(q.srmse, PY_SRMSE, "srmse");
        assert_close(q.tae, PY_TAE, "tae");
        assert_close(q.rmse, PY_RMSE, "rmse");
        assert_close(q.hellinger, PY_HELLINGER, "hellinger");
        assert_close(q.kl_divergence, PY_KL, "kl");
        assert_close(q.max_abs_error, PY_MAX, "max");
    }

    #[test]
    fn fit_quality_agrees_with_the_single_metrics() {
        let (e, t) = (&EST12[..], &TRUTH12[..]);
        let q = fit_quality(e, t).unwrap();
        assert_eq!(q.srmse, srmse(e, t).unwrap());
        assert_eq!(q.tae, tae(e, t).unwrap());
        assert_eq!(q.rmse, rmse(e, t).unwrap());
        assert_eq!(q.hellinger, hellinger(e, t).unwrap());
        assert_eq!(q.kl_divergence, kl_divergence(e, t).unwrap());
        assert_eq!(q.max_abs_error, max_abs_error(e, t).unwrap());
    }

    // ---- extreme magnitudes ----------------------------------------------------------------

    #[test]
    fn squares_and_totals_do_not_overflow_or_underflow() {
        // Naively Σd² = 2e600 overflows; RMSE = √((1e600 + 1e600)/2) = 1e300.
        assert_close(rmse(&[1e300, 0.0], &[0.0, 1e300]).unwrap(), 1e300, "huge rmse");
        // Naively Σd² = 2e-600 underflows to 0; RMSE = 1e-300.
        assert_close(rmse(&[1e-300, 0.0], &[0.0, 1e-300]).unwrap(), 1e-300, "tiny rmse");
        // N = 1e300, K = 2, N/K = 5e299: SRMSE = 1e300 / 5e299 = 2.
        assert_close(srmse(&[1e300, 0.0], &[0.0, 1e300]).unwrap(), 2.0, "huge srmse");

        // Totals overflow naively (N = 2e308). p = [½, ½], p̂ = [⅔, ⅓]:
        // KL = ½ ln(¾) + ½ ln(3/2) = ½ ln(9/8); Hellinger² = 1 − (√(1/3) + √(1/6)).
        let (e, t) = ([1e308, 5e307], [1e308, 1e308]);
        assert_close(kl_divergence(&e, &t).unwrap(), 0.5 * (9.0f64 / 8.0).ln(), "kl huge");
        let bc = (1.0f64 / 3.0).sqrt() + (1.0f64 / 6.0).sqrt();
        assert!(close(hellinger(&e, &t).unwrap(), (1.0 - bc).sqrt(), 1e-10, 0.0));
    }

    #[test]
    fn kl_stays_finite_when_an_estimate_proportion_underflows() {
        // p̂₂ = 5e-324 / 1e308 underflows to 0 though x̂₂ > 0; N̂ = 1e308 (the tiny cell is lost).
        // KL = ½ ln(½ / 1) + ½ (ln ½ − (ln 5e-324 − ln 1e308)) ≈ 726.1, finite.
        let expected = 0.5 * 0.5f64.ln() + 0.5 * (0.5f64.ln() - (5e-324f64.ln() - 1e308f64.ln()));
        let kl = kl_divergence(&[1e308, 5e-324], &[1.0, 1.0]).unwrap();
        assert!(kl.is_finite() && kl > 700.0, "{kl}");
        assert_close(kl, expected, "kl underflow");
    }

    #[test]
    fn sums_are_compensated() {
        // d = [1e16, 1, 1, …, 1] (ten ones): a plain left-to-right sum gives 1e16, because
        // 1e16 + 1 rounds back to 1e16 (the spacing of doubles there is 2); the exact TAE is 1e16 + 10.
        let mut estimate = vec![1.0; 11];
        estimate[0] = 1e16;
        assert_eq!(tae(&estimate, &[0.0; 11]).unwrap(), 1e16 + 10.0);
        assert_eq!(compensated_sum([1.0, 1e100, 1.0, -1e100]), 2.0);
        assert_eq!(compensated_sum([f64::MAX, f64::MAX, -1.0]), f64::INFINITY);
    }

    #[test]
    fn kl_rounding_below_zero_is_clamped() {
        // The estimate is 3 × truth up to one rounding per cell, so the exact KL is ~1e-31; the
        // rounded terms p ln(p/p̂) sum to about −6.3e-17 before clamping.
        let (e, t) = ([5.699999999999998, 10.2], [1.9000000000000001, 3.4]);
        let p = proportions(&t, total(&t, Side::Truth).unwrap());
        let q = proportions(&e, total(&e, Side::Estimate).unwrap());
        let raw = compensated_sum(p.iter().zip(&q).map(|(a, b)| a * (a / b).ln()));
        assert!(raw < 0.0, "the example no longer exercises the clamp: {raw:e}");
        assert_eq!(kl_divergence(&e, &t).unwrap(), 0.0);
    }

    // ---- errors ----------------------------------------------------------------------------

    type Metric = fn(&[f64], &[f64]) -> Result<f64, MetricError>;
    const ALL: [(&str, Metric); 7] = [
        ("srmse", srmse),
        ("tae", tae),
        ("rmse", rmse),
        ("hellinger", hellinger),
        ("kl", kl_divergence),
        ("max", max_abs_error),
        ("fit_quality", |e, t| fit_quality(e, t).map(|q| q.tae)),
    ];

    #[test]
    fn length_mismatch_is_reported_with_both_lengths() {
        for (name, f) in ALL {
            assert_eq!(f(&[1.0, 2.0], &[1.0, 2.0, 3.0]), Err(MetricError::LengthMismatch { estimate: 2, truth: 3 }));
            assert_eq!(f(&[], &[1.0]), Err(MetricError::LengthMismatch { estimate: 0, truth: 1 }), "{name}");
        }
        let message = MetricError::LengthMismatch { estimate: 2, truth: 3 }.to_string();
        assert!(message.contains("estimate has 2") && message.contains("truth has 3"), "{message}");
    }

    #[test]
    fn empty_tables_are_rejected() {
        for (name, f) in ALL {
            assert_eq!(f(&[], &[]), Err(MetricError::Empty), "{name}");
        }
    }

    #[test]
    fn bad_values_are_reported_with_side_and_index() {
        let bad = [-1.0, -1e-300, f64::INFINITY, f64::NEG_INFINITY];
        for (name, f) in ALL {
            for value in bad {
                let err = f(&[1.0, 2.0, value], &[1.0, 2.0, 3.0]);
                assert_eq!(err, Err(MetricError::InvalidValue { side: Side::Estimate, index: 2, value }), "{name}");
                let err = f(&[1.0, 2.0, 3.0], &[1.0, value, 3.0]);
                assert_eq!(err, Err(MetricError::InvalidValue { side: Side::Truth, index: 1, value }), "{name}");
            }
            // NaN ≠ NaN, so match instead of comparing.
            let err = f(&[1.0, 2.0, 3.0], &[f64::NAN, 2.0, 3.0]).unwrap_err();
            assert!(
                matches!(err, MetricError::InvalidValue { side: Side::Truth, index: 0, value } if value.is_nan()),
                "{name}: {err:?}"
            );
            // The estimate is checked before the truth.
            let err = f(&[1.0, f64::NAN], &[-1.0, 2.0]).unwrap_err();
            assert!(matches!(err, MetricError::InvalidValue { side: Side::Estimate, index: 1, .. }), "{name}");
            // −0.0 is zero, not negative.
            assert!(f(&[-0.0, 1.0], &[1.0, 1.0]).is_ok(), "{name}");
        }
        let message = MetricError::InvalidValue { side: Side::Truth, index: 4, value: -2.5 }.to_string();
        assert!(message.contains("truth cell 4 is -2.5"), "{message}");
    }

    #[test]
    fn zero_totals_are_rejected_only_where_a_total_is_needed() {
        let zero = Err(MetricError::ZeroTotal { side: Side::Truth });
        assert_eq!(srmse(&[1.0, 2.0], &[0.0, 0.0]), zero);
        assert_eq!(hellinger(&[1.0, 2.0], &[0.0, 0.0]), zero);
        assert_eq!(kl_divergence(&[1.0, 2.0], &[0.0, 0.0]), zero);
        assert_eq!(fit_quality(&[1.0, 2.0], &[0.0, 0.0]), Err(MetricError::ZeroTotal { side: Side::Truth }));
        // Both zero: the truth is reported.
        assert_eq!(kl_divergence(&[0.0], &[0.0]), zero);

        let zero = Err(MetricError::ZeroTotal { side: Side::Estimate });
        assert_eq!(hellinger(&[0.0, 0.0], &[1.0, 2.0]), zero);
        assert_eq!(kl_divergence(&[0.0, 0.0], &[1.0, 2.0]), zero);
        assert_eq!(fit_quality(&[0.0, 0.0], &[1.0, 2.0]), Err(MetricError::ZeroTotal { side: Side::Estimate }));
        // SRMSE only divides by the truth total: d = [−1, −3], RMSE = √((1 + 9)/2) = √5, N/K = 4/2 = 2.
        assert_close(srmse(&[0.0, 0.0], &[1.0, 3.0]).unwrap(), 5f64.sqrt() / 2.0, "srmse, zero estimate");

        // TAE, RMSE and max need no total: x̂ = [1, 2], x = 0 → TAE 3, RMSE √(5/2), max 2.
        assert_eq!(tae(&[1.0, 2.0], &[0.0, 0.0]), Ok(3.0));
        assert_close(rmse(&[1.0, 2.0], &[0.0, 0.0]).unwrap(), 2.5f64.sqrt(), "rmse, zero truth");
        assert_eq!(max_abs_error(&[1.0, 2.0], &[0.0, 0.0]), Ok(2.0));

        let message = MetricError::ZeroTotal { side: Side::Estimate }.to_string();
        assert!(message.contains("estimate table sums to zero"), "{message}");
    }

    // ---- properties ------------------------------------------------------------------------

    /// A cell value: exact zeros are common so that sparse tables are exercised.
    fn cell() -> impl Strategy<Value = f64> {
        prop_oneof![1 => Just(0.0), 1 => 0.0..1.0f64, 4 => 0.0..1e6f64]
    }

    /// Two tables of equal length 1..=32.
    fn tables() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (1usize..=32).prop_flat_map(|k| (prop::collection::vec(cell(), k), prop::collection::vec(cell(), k)))
    }

    /// An estimate with full support (every cell > 0) and a truth with a positive total.
    fn full_support() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (1usize..=32)
            .prop_flat_map(|k| (prop::collection::vec(1e-3..1e6f64, k), prop::collection::vec(cell(), k)))
            .prop_filter("truth total must be positive", |(_, t)| t.iter().any(|&v| v > 0.0))
    }

    fn sum(v: &[f64]) -> f64 {
        v.iter().sum()
    }

    proptest! {
        #[test]
        fn count_metrics_are_nonnegative_symmetric_and_ordered((e, t) in tables()) {
            let k = e.len() as f64;
            let (a, r, m) = (tae(&e, &t).unwrap(), rmse(&e, &t).unwrap(), max_abs_error(&e, &t).unwrap());
            prop_assert!(a >= 0.0 && r >= 0.0 && m >= 0.0);
            prop_assert_eq!(a, tae(&t, &e).unwrap());
            prop_assert_eq!(r, rmse(&t, &e).unwrap());
            prop_assert_eq!(m, max_abs_error(&t, &e).unwrap());
            // mean |d| ≤ RMSE ≤ max |d| ≤ TAE ≤ K · max |d|, and RMSE ≥ max |d| / √K.
            let tol = 1e-12 * m;
            prop_assert!(a / k <= r + tol, "tae/K {} > rmse {}", a / k, r);
            prop_assert!(r <= m + tol && m <= a + tol && a <= k * m + k * tol);
            prop_assert!(m / k.sqrt() <= r + tol);
            match srmse(&e, &t) {
                Ok(s) => {
                    prop_assert!(s >= 0.0);
                    prop_assert!(close(s, r / (sum(&t) / k), 1e-12, 0.0));
                }
                Err(err) => {
                    prop_assert_eq!(err, MetricError::ZeroTotal { side: Side::Truth });
                    prop_assert_eq!(sum(&t), 0.0);
                }
            }
        }

        #[test]
        fn hellinger_is_bounded_and_symmetric((e, t) in tables()) {
            prop_assume!(sum(&e) > 0.0 && sum(&t) > 0.0);
            let h = hellinger(&e, &t).unwrap();
            prop_assert!((0.0..=1.0).contains(&h), "{}", h);
            prop_assert_eq!(h, hellinger(&t, &e).unwrap());
            // Against the textbook form √(1 − Σ√(p̂p)) (absolute tolerance: that form cancels near 0).
            let (ne, nt) = (sum(&e), sum(&t));
            let bc: f64 = e.iter().zip(&t).map(|(a, b)| (a / ne * b / nt).sqrt()).sum();
            prop_assert!(close(h * h, (1.0 - bc).max(0.0), 0.0, 1e-12), "{} vs {}", h * h, 1.0 - bc);
        }

        #[test]
        fn kl_is_nonnegative_and_bounded_below_by_pinsker_and_hellinger((e, t) in full_support()) {
            let kl = kl_divergence(&e, &t).unwrap();
            prop_assert!(kl.is_finite() && kl >= 0.0, "{}", kl);
            // Pinsker: KL ≥ 2 δ² with δ = ½ Σ |p̂ − p| the total variation distance.
            let (ne, nt) = (sum(&e), sum(&t));
            let tv = 0.5 * e.iter().zip(&t).map(|(a, b)| (a / ne - b / nt).abs()).sum::<f64>();
            prop_assert!(kl >= 2.0 * tv * tv - 1e-12, "kl {} < 2·tv² {}", kl, 2.0 * tv * tv);
            // Rényi divergences increase with order: KL ≥ D½ = −2 ln(1 − H²).
            let h = hellinger(&e, &t).unwrap();
            prop_assert!(kl >= -2.0 * (1.0 - h * h).ln() - 1e-12, "kl {} vs h {}", kl, h);
            // And KL is 0 exactly when the estimate is proportional to the truth.
            prop_assert_eq!(kl_divergence(&t.iter().map(|v| v * 4.0).collect::<Vec<_>>(), &t).unwrap(), 0.0);
        }

        #[test]
        fn scaling_both_tables((e, t) in tables(), c in 1e-3..1e3f64) {
            let (ce, ct): (Vec<f64>, Vec<f64>) = (e.iter().map(|v| c * v).collect(), t.iter().map(|v| c * v).collect());
            // Relative tolerance 1e-9, plus an absolute floor at the rounding level of the inputs
            // (c·x̂ and c·x are rounded before they are subtracted).
            let floor = 1e-12 * c * e.iter().chain(&t).fold(0.0_f64, |m, &v| m.max(v)) * e.len() as f64;
            let pairs = [
                (tae(&ce, &ct).unwrap(), c * tae(&e, &t).unwrap()),
                (rmse(&ce, &ct).unwrap(), c * rmse(&e, &t).unwrap()),
                (max_abs_error(&ce, &ct).unwrap(), c * max_abs_error(&e, &t).unwrap()),
            ];
            for (scaled, expected) in pairs {
                prop_assert!(close(scaled, expected, 1e-9, floor), "{} vs {}", scaled, expected);
            }
            if sum(&t) > 0.0 {
                let (a, b) = (srmse(&ce, &ct).unwrap(), srmse(&e, &t).unwrap());
                prop_assert!(close(a, b, 1e-9, 1e-12), "srmse {} vs {}", a, b);
            }
            if sum(&t) > 0.0 && sum(&e) > 0.0 {
                let (a, b) = (hellinger(&ce, &ct).unwrap(), hellinger(&e, &t).unwrap());
                prop_assert!(close(a, b, 1e-9, 1e-12), "hellinger {} vs {}", a, b);
                let (a, b) = (kl_divergence(&ce, &ct).unwrap(), kl_divergence(&e, &t).unwrap());
                prop_assert!(a == b || close(a, b, 1e-9, 1e-12), "kl {} vs {}", a, b);
            }
        }

        #[test]
        fn fit_quality_matches_the_single_metrics((e, t) in full_support()) {
            let q = fit_quality(&e, &t).unwrap();
            prop_assert_eq!(q.cells, e.len());
            prop_assert_eq!(q.srmse, srmse(&e, &t).unwrap());
            prop_assert_eq!(q.tae, tae(&e, &t).unwrap());
            prop_assert_eq!(q.rmse, rmse(&e, &t).unwrap());
            prop_assert_eq!(q.hellinger, hellinger(&e, &t).unwrap());
            prop_assert_eq!(q.kl_divergence, kl_divergence(&e, &t).unwrap());
            prop_assert_eq!(q.max_abs_error, max_abs_error(&e, &t).unwrap());
        }
    }
}
