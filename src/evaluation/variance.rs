//! Run-to-run against between-persona variance of simulated answers, and the ICC.
//!
//! With R ≥ 2 draws per person, the total variance of all draws splits into the mean
//! within-person (run-to-run) variance and the between-persona rest:
//! `between = total − within`, `ICC = between / total`. Ordinal items use the variance of the
//! scale position; nominal items the Gini variance `1 − Σ f_k²` (Light & Margolin's
//! categorical analysis of variance). Both use the unbiased n/(n−1) corrections, so with pure
//! run noise the ICC is 0 in expectation (and may come out slightly negative).

use indexmap::IndexMap;

use super::data::Dataset;
use super::report::{Estimate, Variance, VarianceComponents};
use super::stats;

/// Within-person, between-persona variance and ICC per item and averaged over items, from
/// draws `[item][person]`, persons weighted by their survey weights, with percentile bootstrap
/// CIs over persons; `None` without two draws per person.
pub fn run_to_run(
    data: &Dataset,
    draws: &[Vec<Vec<usize>>],
    bootstrap: usize,
    seed: u64,
    alpha: f64,
) -> Option<Variance> {
    let items: Vec<ItemDraws> = (0..data.items().len()).map(|i| ItemDraws::new(data, i, &draws[i])).collect();
    let repeats = items.iter().map(ItemDraws::repeats).min().unwrap_or(0);
    if repeats < 2 {
        return None;
    }
    let statistic = |w: &[f64]| -> Vec<f64> {
        let per_item: Vec<[f64; 3]> = items.iter().map(|it| it.decompose(w)).collect();
        let mut out: Vec<f64> =
            (0..3).map(|k| per_item.iter().map(|v| v[k]).sum::<f64>() / per_item.len() as f64).collect();
        out.extend(per_item.iter().flatten());
        out
    };
    let (point, reps) = stats::bootstrap_weighted(data.weights(), bootstrap, seed, statistic);
    let estimate = |k: usize| {
        let (lo, hi) = stats::percentile_interval(&reps[k], alpha);
        Estimate::new(point[k], lo, hi)
    };
    let components = |base: usize| VarianceComponents {
        within: estimate(base),
        between: estimate(base + 1),
        icc: estimate(base + 2),
    };
    let by_item: IndexMap<String, VarianceComponents> =
        data.items().enumerate().map(|(i, item)| (item.name().to_string(), components(3 + 3 * i))).collect();
    Some(Variance { overall: components(0), repeats, items: by_item })
}

/// Per-person summaries of an item's draws, for weighted (bootstrap) aggregation; computed
/// once, so that a resample costs one pass over persons.
pub struct ItemDraws {
    ordinal: bool,
    options: usize,
    /// `[person]`: number of draws (0 when the person has none).
    draws: Vec<usize>,
    /// `[person · options + option]`: how many of the person's draws chose the option.
    counts: Vec<f64>,
    /// `[person]`: the unbiased spread of the person's draws (NaN with fewer than two).
    spread: Vec<f64>,
    /// The smallest number of draws among persons who have any.
    repeats: usize,
}

impl ItemDraws {
    /// Collects one item's draws `[person]`.
    pub fn new(data: &Dataset, item: usize, draws: &[Vec<usize>]) -> ItemDraws {
        let it = data.item(item);
        ItemDraws::summarize(it.ordinal(), it.levels().len(), draws)
    }

    fn summarize(ordinal: bool, options: usize, draws: &[Vec<usize>]) -> ItemDraws {
        let mut out = ItemDraws {
            ordinal,
            options,
            draws: draws.iter().map(Vec::len).collect(),
            counts: vec![0.0; draws.len() * options],
            spread: Vec::with_capacity(draws.len()),
            repeats: draws.iter().map(Vec::len).filter(|&r| r > 0).min().unwrap_or(0),
        };
        for (d, f) in draws.iter().zip(out.counts.chunks_exact_mut(options.max(1))) {
            d.iter().for_each(|&a| f[a] += 1.0);
        }
        for (p, d) in draws.iter().enumerate() {
            let spread = out.spread(&out.counts[p * options..(p + 1) * options], d.len() as f64);
            out.spread.push(spread);
        }
        out
    }

    /// The smallest number of draws among persons who have any (0 if nobody has).
    pub fn repeats(&self) -> usize {
        self.repeats
    }

    /// (within, between, icc) with person weights `w`; NaN without two draws per person.
    pub fn decompose(&self, w: &[f64]) -> [f64; 3] {
        if self.repeats() < 2 {
            return [f64::NAN; 3];
        }
        let (mut within, mut weight) = (0.0, 0.0);
        let mut pooled = vec![0.0; self.options];
        let mut count = 0.0;
        for (p, &r) in self.draws.iter().enumerate() {
            if r == 0 || w[p] == 0.0 {
                continue;
            }
            within += w[p] * self.spread[p];
            weight += w[p];
            let f = &self.counts[p * self.options..(p + 1) * self.options];
            pooled.iter_mut().zip(f).for_each(|(s, v)| *s += w[p] * v);
            count += w[p] * r as f64;
        }
        if weight == 0.0 || count <= 1.0 {
            return [f64::NAN; 3];
        }
        let within = within / weight;
        let total = self.spread(&pooled, count);
        let between = total - within;
        [within, between, if total > 0.0 { between / total } else { f64::NAN }]
    }

    /// Unbiased variance of `n` draws with option counts `f`: of the position for ordinal
    /// items, Gini for nominal ones.
    fn spread(&self, f: &[f64], n: f64) -> f64 {
        if n <= 1.0 {
            return f64::NAN;
        }
        let correction = n / (n - 1.0);
        if self.ordinal {
            let mean = f.iter().enumerate().map(|(k, c)| k as f64 * c).sum::<f64>() / n;
            let second = f.iter().enumerate().map(|(k, c)| (k as f64).powi(2) * c).sum::<f64>() / n;
            correction * (second - mean * mean).max(0.0)
        } else {
            correction * (1.0 - f.iter().map(|c| (c / n).powi(2)).sum::<f64>())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ordinal: bool, draws: Vec<Vec<usize>>) -> ItemDraws {
        ItemDraws::summarize(ordinal, 3, &draws)
    }

    #[test]
    fn identical_runs_give_icc_one_and_constant_personas_give_zero_within() {
        let d = item(true, vec![vec![0, 0, 0], vec![2, 2, 2], vec![1, 1, 1]]);
        let [within, between, icc] = d.decompose(&[1.0; 3]);
        assert_eq!(within, 0.0);
        assert!(between > 0.0);
        assert!((icc - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_same_distribution_for_everyone_gives_icc_near_zero() {
        // Independent uniform draws for every persona: all variance is run-to-run.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % 3) as usize
        };
        for ordinal in [false, true] {
            let d = item(ordinal, (0..4000).map(|_| (0..5).map(|_| next()).collect()).collect());
            let [within, between, icc] = d.decompose(&[1.0; 4000]);
            // Both the variance of a uniform 0, 1, 2 and the Gini variance of 3 options are 2/3.
            let expected = 2.0 / 3.0;
            assert!((within - expected).abs() < 0.02, "{within}");
            assert!(between.abs() < 0.01 && icc.abs() < 0.015, "{between} {icc}");
        }
    }

    #[test]
    fn too_few_draws_give_nan() {
        assert!(item(true, vec![vec![1], vec![2]]).decompose(&[1.0, 1.0])[2].is_nan());
    }
}
