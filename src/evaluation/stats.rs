//! The percentile bootstrap over persons, with their survey weights (distances between
//! distributions are in [`metrics::distribution`](crate::metrics::distribution)).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The multiplicities of one bootstrap resample of `n` persons: replicate `rep` of `seed`,
/// drawn from its own ChaCha8 stream so results do not depend on the thread count.
pub fn resample_weights(n: usize, seed: u64, rep: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(rep as u64 + 1);
    let mut w = vec![0.0; n];
    for _ in 0..n {
        w[rng.random_range(0..n)] += 1.0;
    }
    w
}

/// The weights of one bootstrap resample of persons with survey weights `weights`: each
/// person's multiplicity in replicate `rep` of `seed` ([`resample_weights`]) times its weight.
/// Persons are drawn uniformly, and each brings its weight into the weighted statistics: the
/// bootstrap of independently sampled weighted units.
///
/// ```
/// use populace::evaluation::stats::{resample_weights, weighted_resample};
///
/// let weights = [2.0, 0.5, 1.0];
/// let drawn = resample_weights(3, 7, 0);
/// let expected: Vec<f64> = drawn.iter().zip(weights).map(|(m, w)| m * w).collect();
/// assert_eq!(weighted_resample(&weights, 7, 0), expected);
/// assert_eq!(weighted_resample(&[1.0; 3], 7, 0), drawn); // unweighted: the multiplicities
/// ```
pub fn weighted_resample(weights: &[f64], seed: u64, rep: usize) -> Vec<f64> {
    let mut w = resample_weights(weights.len(), seed, rep);
    w.iter_mut().zip(weights).for_each(|(m, s)| *m *= s);
    w
}

/// Kish's effective sample size of `weights`, (Σw)² / Σw²: the number of equally weighted
/// persons that would estimate a mean as precisely (NaN when every weight is 0).
///
/// ```
/// use populace::evaluation::stats::effective_size;
///
/// assert_eq!(effective_size(&[1.0; 4]), 4.0);
/// assert_eq!(effective_size(&[3.0, 1.0, 0.0]), 1.6);
/// ```
pub fn effective_size(weights: &[f64]) -> f64 {
    let sum: f64 = weights.iter().sum();
    sum * sum / weights.iter().map(|w| w * w).sum::<f64>()
}

/// Runs `statistic` on the full sample (all weights 1) and on `reps` resamples, in parallel;
/// returns the point estimates and, per statistic, the sorted finite replicate values.
///
/// # Panics
/// When a resample's statistics are not as many as the full sample's: `statistic` must give
/// the same statistics, in the same order, whatever the weights.
pub fn bootstrap<F>(n: usize, reps: usize, seed: u64, statistic: F) -> (Vec<f64>, Vec<Vec<f64>>)
where
    F: Fn(&[f64]) -> Vec<f64> + Sync,
{
    bootstrap_weighted(&vec![1.0; n], reps, seed, statistic)
}

/// [`bootstrap`] of persons with survey weights `weights`: `statistic` gets the weights
/// themselves for the point estimates and [`weighted_resample`]s for the replicates.
///
/// # Panics
/// As [`bootstrap`].
pub fn bootstrap_weighted<F>(weights: &[f64], reps: usize, seed: u64, statistic: F) -> (Vec<f64>, Vec<Vec<f64>>)
where
    F: Fn(&[f64]) -> Vec<f64> + Sync,
{
    let point = statistic(weights);
    let replicates: Vec<Vec<f64>> =
        (0..reps).into_par_iter().map(|r| statistic(&weighted_resample(weights, seed, r))).collect();
    let mut columns = vec![Vec::with_capacity(reps); point.len()];
    for rep in &replicates {
        assert_eq!(rep.len(), point.len(), "a bootstrap replicate has a value for every statistic");
        for (c, v) in columns.iter_mut().zip(rep) {
            if v.is_finite() {
                c.push(*v);
            }
        }
    }
    for c in &mut columns {
        c.sort_by(f64::total_cmp);
    }
    (point, columns)
}

/// The percentile interval `[alpha/2, 1 − alpha/2]` of sorted replicates (NaN when empty).
pub fn percentile_interval(sorted: &[f64], alpha: f64) -> (f64, f64) {
    if sorted.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let q = |p: f64| {
        let pos = p * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    (q(alpha / 2.0), q(1.0 - alpha / 2.0))
}

/// Percentile bootstrap CI of the mean of `values` (a convenience for checking coverage).
pub fn mean_interval(values: &[f64], reps: usize, seed: u64, alpha: f64) -> (f64, f64, f64) {
    let (point, columns) = bootstrap(values.len(), reps, seed, |w| {
        vec![values.iter().zip(w).map(|(v, w)| v * w).sum::<f64>() / w.iter().sum::<f64>()]
    });
    let (lo, hi) = percentile_interval(&columns[0], alpha);
    (point[0], lo, hi)
}
