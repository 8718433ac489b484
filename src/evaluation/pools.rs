//! Population predictions from persona pools: which pool, asked through a predictor, gives the
//! population's answer distribution best?
//!
//! Each predictor is fitted on all respondents, then predicts every person of each pool (a CSV
//! from `populace generate`: one row per person with the profile attributes). A pool's predicted
//! distribution of an item, overall and within each group, is the mean of its persons'
//! predictions; the observed one is the respondents' answer frequencies, weighted by their
//! survey weights. Distances are total variation averaged over items (groups weighted by
//! their respondents' weights), and the score is the mean over groupings, as in `evaluate`.
//! CIs come from a stratified bootstrap: respondents (each with its weight) and each pool's
//! persons are resampled separately. Each pool is compared with the first pool by the paired
//! difference of scores.

use std::path::Path;

use indexmap::IndexMap;
use rayon::prelude::*;

use super::data::Dataset;
use super::predictor::{predict_checked, Predictor};
use super::report::{Estimate, PoolReport, PoolScore, PoolTv};
use super::spec::PoolSpec;
use super::stats;
use crate::error::Result;
use crate::metrics;

/// A pool read against the respondents' profile: a dataset with the same attributes, levels
/// and items, and no answers. The responses' missing values are missing in the pool too; a
/// missing profile value is an error unless the responses' policy is
/// [`MissingPolicy::Category`](crate::missing::MissingPolicy::Category), which reads it as the
/// level `missing` (counted in the pool's [`Dataset::missing`]).
///
/// # Errors
/// [`Error::Read`](crate::Error::Read) when the file cannot be read; [`Error::Input`](crate::Error::Input)
/// naming file, line and column for a missing attribute column, a missing profile value (but
/// under the category policy), a value that is not a level of its attribute in the responses,
/// or a pool without persons.
pub fn read_pool(path: &Path, data: &Dataset) -> Result<Dataset> {
    data.read_pool(path)
}

/// The groupings shared by the respondents and the pools: the profile attributes among the
/// spec's groups, as profile positions.
fn shared_groupings(data: &Dataset) -> Vec<usize> {
    data.groups().filter_map(|g| data.profile().position(|a| a.name() == g.name())).collect()
}

/// One pool's predictions `[item][person]` by one predictor fitted on all respondents.
/// Per item, per pool person: the predicted distribution over the item's options.
type PoolPredictions = Vec<Vec<Vec<f64>>>;

fn predict_pool(predictor: &mut dyn Predictor, data: &Dataset, pool: &Dataset) -> Result<PoolPredictions> {
    let everyone: Vec<usize> = (0..data.persons()).collect();
    let persons: Vec<usize> = (0..pool.persons()).collect();
    (0..data.items().len())
        .map(|i| {
            predictor.fit(data, &everyone, i)?;
            let predictions = predict_checked(predictor, pool, &persons, i)?;
            Ok(predictions.into_iter().map(|p| p.probabilities).collect())
        })
        .collect()
}

/// Each person's level of every shared grouping `[grouping][person]`, read from the dataset
/// once for the bootstrap.
fn levels(data: &Dataset, groupings: &[usize]) -> Vec<Vec<usize>> {
    groupings
        .iter()
        .map(|&a| {
            let attribute = data.attribute(a);
            (0..data.persons()).map(|p| attribute.level(p)).collect()
        })
        .collect()
}

/// What the statistics of every bootstrap replicate read of the respondents, read from the
/// dataset once: each item's number of options and answers `[item][person]`, and the
/// number of groups and each person's group in every shared grouping.
struct Observed {
    options: Vec<usize>,
    answers: Vec<Vec<Option<usize>>>,
    groups: Vec<usize>,
    levels: Vec<Vec<usize>>,
}

impl Observed {
    fn new(data: &Dataset, groupings: &[usize]) -> Observed {
        Observed {
            options: data.items().map(|it| it.levels().len()).collect(),
            answers: data.items().map(|it| it.answers().collect()).collect(),
            groups: groupings.iter().map(|&a| data.attribute(a).levels().len()).collect(),
            levels: levels(data, groupings),
        }
    }
}

/// Mean TV over items between a pool's predicted and the respondents' observed distributions,
/// overall (`None`) or per shared grouping, with respondent weights `w` and pool weights `v`;
/// `pool` holds the pool persons' levels of the shared groupings.
fn tv(
    observed: &Observed,
    pool: &[Vec<usize>],
    preds: &[Vec<Vec<f64>>],
    grouping: Option<usize>,
    w: &[f64],
    v: &[f64],
) -> f64 {
    let groups = grouping.map_or(1, |g| observed.groups[g]);
    let group = |of: &[Vec<usize>], p: usize| grouping.map_or(0, |g| of[g][p]);
    let (mut total, mut weight) = (0.0, 0.0);
    for (i, (answers, &k)) in observed.answers.iter().zip(&observed.options).enumerate() {
        let mut seen = vec![vec![0.0; k]; groups];
        let mut predicted = vec![vec![0.0; k]; groups];
        for (p, answer) in answers.iter().enumerate() {
            if let Some(a) = *answer {
                seen[group(&observed.levels, p)][a] += w[p];
            }
        }
        for (p, q) in preds[i].iter().enumerate() {
            let g = group(pool, p);
            predicted[g].iter_mut().zip(q).for_each(|(s, q)| *s += v[p] * q);
        }
        for g in 0..groups {
            let (n_obs, n_pred) = (seen[g].iter().sum::<f64>(), predicted[g].iter().sum::<f64>());
            if n_obs == 0.0 || n_pred == 0.0 {
                continue;
            }
            let o: Vec<f64> = seen[g].iter().map(|x| x / n_obs).collect();
            let q: Vec<f64> = predicted[g].iter().map(|x| x / n_pred).collect();
            total += n_obs * metrics::total_variation(&q, &o);
            weight += n_obs;
        }
    }
    if weight > 0.0 {
        total / weight
    } else {
        f64::NAN
    }
}

/// The statistics of one bootstrap replicate: per pool and predictor, TV overall, per shared
/// grouping, and the score (mean over groupings, or overall without any). `pools` holds each
/// pool's levels of the shared groupings.
fn statistics(
    observed: &Observed,
    pools: &[Vec<Vec<usize>>],
    preds: &[Vec<Option<PoolPredictions>>],
    w: &[f64],
    v: &[Vec<f64>],
) -> Vec<f64> {
    let mut out = Vec::new();
    for (k, pool) in pools.iter().enumerate() {
        for p in preds[k].iter().flatten() {
            let overall = tv(observed, pool, p, None, w, &v[k]);
            let by: Vec<f64> = (0..observed.groups.len()).map(|g| tv(observed, pool, p, Some(g), w, &v[k])).collect();
            let score = if by.is_empty() { overall } else { by.iter().sum::<f64>() / by.len() as f64 };
            out.push(overall);
            out.extend(by);
            out.push(score);
        }
    }
    out
}

/// Scores every pool through the predictors the spec names for it (default: the `usable`
/// ones, all but those that need answers), by pool name.
pub fn score_pools(
    data: &Dataset,
    specs: &[PoolSpec],
    predictors: &mut [Box<dyn Predictor>],
    usable: &[bool],
    bootstrap: usize,
    seed: u64,
    alpha: f64,
) -> Result<IndexMap<String, PoolReport>> {
    let pools: Vec<Dataset> = specs.iter().map(|s| read_pool(&s.file, data)).collect::<Result<_>>()?;
    score(data, specs, &pools, predictors, usable, bootstrap, seed, alpha)
}

/// [`score_pools`] with each spec's pool already read ([`read_pool`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn score(
    data: &Dataset,
    specs: &[PoolSpec],
    pools: &[Dataset],
    predictors: &mut [Box<dyn Predictor>],
    usable: &[bool],
    bootstrap: usize,
    seed: u64,
    alpha: f64,
) -> Result<IndexMap<String, PoolReport>> {
    let names: Vec<String> = predictors.iter().map(|p| p.name().to_string()).collect();
    let chosen = |spec: &PoolSpec, m: usize| spec.predictors.as_ref().map_or(usable[m], |l| l.contains(&names[m]));
    let mut preds: Vec<Vec<Option<PoolPredictions>>> = vec![vec![None; names.len()]; pools.len()];
    for (k, (spec, pool)) in specs.iter().zip(pools).enumerate() {
        for (m, predictor) in predictors.iter_mut().enumerate() {
            if chosen(spec, m) {
                preds[k][m] = Some(predict_pool(predictor.as_mut(), data, pool)?);
            }
        }
    }
    let groupings = shared_groupings(data);
    let observed = Observed::new(data, &groupings);
    let pool_levels: Vec<Vec<Vec<usize>>> = pools.iter().map(|pool| levels(pool, &groupings)).collect();
    let ones: Vec<Vec<f64>> = pools.iter().map(|p| vec![1.0; p.persons()]).collect();
    let point = statistics(&observed, &pool_levels, &preds, data.weights(), &ones);
    let replicates: Vec<Vec<f64>> = (0..bootstrap)
        .into_par_iter()
        .map(|r| {
            let w = stats::weighted_resample(data.weights(), seed, r);
            let v: Vec<Vec<f64>> = pools
                .iter()
                .enumerate()
                .map(|(k, p)| stats::resample_weights(p.persons(), seed ^ ((k as u64 + 1) << 40), r))
                .collect();
            statistics(&observed, &pool_levels, &preds, &w, &v)
        })
        .collect();
    let per = 2 + groupings.len();
    let interval = |values: Vec<f64>, estimate: f64| {
        let mut sorted: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let (lo, hi) = stats::percentile_interval(&sorted, alpha);
        Estimate::new(estimate, lo, hi)
    };
    let column = |at: usize| replicates.iter().map(|r| r[at]).collect::<Vec<f64>>();
    // Offsets of each (pool, predictor) block in the statistics.
    let mut offset = vec![vec![None; names.len()]; pools.len()];
    let mut next = 0;
    for (k, row) in preds.iter().enumerate() {
        for (m, p) in row.iter().enumerate() {
            if p.is_some() {
                offset[k][m] = Some(next);
                next += per;
            }
        }
    }
    let mut out = IndexMap::new();
    for (k, (spec, pool)) in specs.iter().zip(pools).enumerate() {
        let mut by_predictor = IndexMap::new();
        for (m, name) in names.iter().enumerate() {
            let Some(at) = offset[k][m] else { continue };
            let groupings = groupings
                .iter()
                .enumerate()
                .map(|(g, &a)| (data.attribute(a).name().to_string(), interval(column(at + 1 + g), point[at + 1 + g])))
                .collect();
            let score = at + per - 1;
            let difference_from_first = offset[0][m].filter(|_| k > 0).map(|first| {
                let reference = first + per - 1;
                let diff: Vec<f64> = replicates.iter().map(|r| r[score] - r[reference]).collect();
                interval(diff, point[score] - point[reference])
            });
            let tv = PoolTv { overall: interval(column(at), point[at]), groupings };
            by_predictor.insert(
                name.clone(),
                PoolScore { tv, tv_score: interval(column(score), point[score]), difference_from_first },
            );
        }
        let report =
            PoolReport { file: spec.file.display().to_string(), persons: pool.persons(), predictors: by_predictor };
        out.insert(spec.name.clone(), report);
    }
    Ok(out)
}
