//! Effect replication: do a predictor's simulated answers reproduce the profile effects found
//! in the real answers of the same persons?
//!
//! For each item, the effects of [`effects::estimate`] are estimated on the real answers and
//! on one simulated answer per person (the first draw). An effect significant in the real data
//! is *replicated* when the simulated estimate is significant at the same level with the same
//! sign. Rates come separately for main and interaction effects, with Wilson intervals; the
//! false-positive rate is the share of real-null effects (p ≥ alpha) significant in the
//! simulation; and replication is binned by the real effect's p-value.

use super::data::Dataset;
use super::effects::{self, Effect, EffectKind};
use super::report::{
    EffectEstimate, EffectReplication, Estimate, FalsePositives, Replication, ReplicationRate, StrengthBin,
};

/// Bins of the real p-value for replication by effect strength.
const STRENGTH_BINS: [(f64, f64); 3] = [(0.0, 0.001), (0.001, 0.01), (0.01, 0.05)];

/// The Wilson score interval of a proportion `k/n` at level 1 − alpha (NaN when n = 0).
pub fn wilson(k: usize, n: usize, alpha: f64) -> Estimate {
    if n == 0 {
        return Estimate::new(f64::NAN, f64::NAN, f64::NAN);
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (n, p) = (n as f64, k as f64 / n as f64);
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Estimate::new(p, (centre - half).max(0.0), (centre + half).min(1.0))
}

/// The standard normal quantile, by bisection on the complementary error function.
pub fn normal_quantile(q: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0, 40.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if 0.5 * libm::erfc(-mid / std::f64::consts::SQRT_2) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Real effects per item: the persons who answered, and their estimated effects.
pub struct RealEffects {
    /// `[item]`: (persons, reference option, effects).
    items: Vec<(Vec<usize>, usize, Vec<Effect>)>,
}

impl RealEffects {
    /// Estimates the effects of the profile on every item's real answers.
    pub fn estimate(data: &Dataset) -> RealEffects {
        let items = data
            .items()
            .enumerate()
            .map(|(i, item)| {
                let (persons, answers): (Vec<usize>, Vec<usize>) =
                    item.answers().enumerate().filter_map(|(p, a)| Some((p, a?))).unzip();
                let mut counts = vec![0usize; item.levels().len()];
                answers.iter().for_each(|&a| counts[a] += 1);
                let reference =
                    (0..counts.len()).max_by(|&x, &y| counts[x].cmp(&counts[y]).then(y.cmp(&x))).unwrap_or(0);
                let found = effects::estimate(data, i, &persons, &answers, reference);
                (persons, reference, found)
            })
            .collect();
        RealEffects { items }
    }
}

fn effect_estimate(e: &Effect) -> EffectEstimate {
    EffectEstimate { estimate: e.estimate, se: e.se, p: e.p }
}

/// The effect replication of one predictor, from its draws `[item][person]`.
pub fn replication(data: &Dataset, real: &RealEffects, draws: &[Vec<Vec<usize>>], alpha: f64) -> Replication {
    let mut list = Vec::new();
    // (real significant, replicated) per kind; (real null, significant in simulation).
    let mut tally = [(0usize, 0usize); 2];
    let mut nulls = (0usize, 0usize);
    let mut bins = [(0usize, 0usize); STRENGTH_BINS.len()];
    for (i, (persons, reference, real_effects)) in real.items.iter().enumerate() {
        // Only persons with a draw: the simulation must cover the same persons.
        let covered: Vec<usize> = persons.iter().copied().filter(|&p| !draws[i][p].is_empty()).collect();
        if covered.len() < persons.len() {
            continue;
        }
        let answers: Vec<usize> = covered.iter().map(|&p| draws[i][p][0]).collect();
        let simulated = effects::estimate(data, i, &covered, &answers, *reference);
        for e in real_effects {
            let s = simulated.iter().find(|s| s.kind == e.kind && s.term == e.term && s.contrast == e.contrast);
            let significant = e.p < alpha;
            let sim_significant = s.is_some_and(|s| s.p < alpha);
            let replicated =
                significant && s.is_some_and(|s| s.p < alpha && s.estimate.signum() == e.estimate.signum());
            let k = usize::from(e.kind == EffectKind::Interaction);
            if significant {
                tally[k].0 += 1;
                tally[k].1 += usize::from(replicated);
                if let Some(b) = STRENGTH_BINS.iter().position(|&(lo, hi)| e.p >= lo && e.p < hi) {
                    bins[b].0 += 1;
                    bins[b].1 += usize::from(replicated);
                }
            } else if e.p.is_finite() {
                nulls.0 += 1;
                nulls.1 += usize::from(sim_significant);
            }
            list.push(EffectReplication {
                item: data.item(i).name().to_string(),
                kind: e.kind,
                term: e.term.clone(),
                contrast: e.contrast.clone(),
                real: effect_estimate(e),
                simulated: s.map(effect_estimate),
                replicated,
            });
        }
    }
    let rate =
        |(n, k): (usize, usize)| ReplicationRate { real_significant: n, replicated: k, rate: wilson(k, n, alpha) };
    Replication {
        alpha,
        main: rate(tally[0]),
        interaction: rate(tally[1]),
        false_positive: FalsePositives {
            real_null: nulls.0,
            significant: nulls.1,
            rate: wilson(nulls.1, nulls.0, alpha),
        },
        by_strength: STRENGTH_BINS
            .iter()
            .zip(bins)
            .map(|(&(lo, hi), (n, k))| StrengthBin {
                p_from: lo,
                p_below: hi,
                real_significant: n,
                replicated: k,
                rate: wilson(k, n, alpha),
            })
            .collect(),
        effects: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_example() {
        // 8 of 10 at 95%: (0.490, 0.943) (Newcombe 1998, method 3).
        let v = wilson(8, 10, 0.05);
        assert_eq!(v.estimate, 0.8);
        assert!((v.ci_low - 0.4902).abs() < 1e-3);
        assert!((v.ci_high - 0.9433).abs() < 1e-3);
        assert!(wilson(0, 0, 0.05).estimate.is_nan());
    }

    #[test]
    fn normal_quantile_is_the_inverse_cdf() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-9);
        assert!(normal_quantile(0.5).abs() < 1e-12);
    }
}
