//! Distances between two probability distributions over the same K options, as the evaluation
//! compares a group's predicted answers with its observed ones.
//!
//! Both slices hold proportions over the same options in the same order (each summing to 1);
//! these functions are called inside bootstrap loops and do not validate their inputs.
//!
//! | distance | formula | range |
//! |---|---|---|
//! | [`total_variation`] | TV = ½ Σₖ \|pₖ − qₖ\| | \[0, 1\] |
//! | [`jensen_shannon`] | JS = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2, in bits | \[0, 1\] |
//! | [`wasserstein1`] | W1 = Σₖ₌₁^{K−1} \|Pₖ − Qₖ\|, P, Q the cumulative sums | \[0, K − 1\] |
//!
//! W1 treats the options as the ordered points 0, 1, …, K−1 (an ordinal scale); TV and JS
//! ignore the order.
//!
//! ```
//! use populace::metrics::{jensen_shannon, total_variation, wasserstein1};
//!
//! let (p, q) = ([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]);
//! assert_eq!(total_variation(&p, &q), 0.5);
//! assert_eq!(wasserstein1(&p, &q), 1.0); // half the mass moves two steps
//! assert!((jensen_shannon(&p, &q) - 0.5).abs() < 1e-15);
//! ```

/// Total variation distance: half the L1 distance.
pub fn total_variation(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

/// Jensen–Shannon divergence in bits (between 0 and 1).
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let kl = |a: &[f64], m: &[f64]| -> f64 {
        a.iter().zip(m).filter(|(x, _)| **x > 0.0).map(|(x, y)| x * (x / y).log2()).sum()
    };
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| 0.5 * (a + b)).collect();
    (0.5 * kl(p, &m) + 0.5 * kl(q, &m)).max(0.0)
}

/// Wasserstein-1 distance between distributions on the ordered points 0, 1, …, K−1.
pub fn wasserstein1(p: &[f64], q: &[f64]) -> f64 {
    let (mut cp, mut cq, mut total) = (0.0, 0.0, 0.0);
    for (a, b) in p.iter().zip(q).take(p.len().saturating_sub(1)) {
        cp += a;
        cq += b;
        total += (cp - cq).abs();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_distributions_are_at_distance_zero() {
        let p = [0.2, 0.3, 0.5];
        assert_eq!(total_variation(&p, &p), 0.0);
        assert_eq!(jensen_shannon(&p, &p), 0.0);
        assert_eq!(wasserstein1(&p, &p), 0.0);
    }

    #[test]
    fn disjoint_distributions_are_at_the_maximum() {
        let (p, q) = ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0]);
        assert_eq!(total_variation(&p, &q), 1.0);
        assert!((jensen_shannon(&p, &q) - 1.0).abs() < 1e-15);
        assert_eq!(wasserstein1(&p, &q), 2.0); // K − 1
    }

    #[test]
    fn jensen_shannon_matches_a_hand_computation() {
        // p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4);
        // KL(p‖m) = ½ log2(2/3) + ½ log2(2), KL(q‖m) = log2(4/3).
        let expected = 0.5 * (0.5 * (2.0f64 / 3.0).log2() + 0.5) + 0.5 * (4.0f64 / 3.0).log2();
        assert!((jensen_shannon(&[0.5, 0.5], &[1.0, 0.0]) - expected).abs() < 1e-15);
    }

    #[test]
    fn distances_are_symmetric() {
        let (p, q) = ([0.1, 0.6, 0.3], [0.4, 0.4, 0.2]);
        assert_eq!(total_variation(&p, &q), total_variation(&q, &p));
        assert_eq!(jensen_shannon(&p, &q), jensen_shannon(&q, &p));
        assert_eq!(wasserstein1(&p, &q), wasserstein1(&q, &p));
    }
}
