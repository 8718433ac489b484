//! Population predictions from persona pools: which pool, asked through a predictor, gives the
//! population's answer distribution best?
//!
//! Each predictor is fitted on all respondents, then predicts every person of each pool (a CSV
//! from `populace generate`: one row per person with the profile attributes). A pool's predicted
//! distribution of an item, overall and within each group, is the mean of its persons'
//! predictions; the observed one is the respondents' answer frequencies. Distances are total
//! variation averaged over items (groups weighted by their respondents), and the score is
//! the mean over groupings, as in `evaluate`. CIs come from a stratified bootstrap: respondents
//! and each pool's persons are resampled separately. Each pool is compared with the first
//! pool by the paired difference of scores.

use std::path::Path;

use indexmap::IndexMap;
use rayon::prelude::*;

use super::data::{Column, Dataset, Item};
use super::predictor::{predict_checked, Predictor};
use super::report::{Estimate, PoolReport, PoolScore, PoolTv};
use super::spec::PoolSpec;
use super::stats;
use crate::error::{Error, Location, Result};
use crate::inputs::CsvFile;
use crate::metrics;

/// A pool read against the respondents' profile: a dataset with the same attributes and levels
/// and no answers.
pub fn read_pool(path: &Path, data: &Dataset) -> Result<Dataset> {
    let display = path.display().to_string();
    let mut csv = CsvFile::open(path, &display)?;
    let columns: Vec<usize> =
        data.profile.iter().map(|a| csv.column(&a.name, "profile attribute")).collect::<Result<_>>()?;
    let id = csv.headers().iter().position(|h| h == "person_id");
    let mut ids = Vec::new();
    let mut values: Vec<Vec<Option<usize>>> = vec![Vec::new(); data.profile.len()];
    let mut record = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut record)? {
        for ((a, &c), out) in data.profile.iter().zip(&columns).zip(values.iter_mut()) {
            let value = csv.field(&record, line, c)?;
            let level = a.levels.iter().position(|l| l == value).ok_or_else(|| {
                Error::input(
                    csv.location().at_line(line).at_column(&a.name),
                    format!("\"{value}\" is not a level of \"{}\" in the responses ({})", a.name, a.levels.join(", ")),
                )
            })?;
            out.push(Some(level));
        }
        ids.push(match id {
            Some(c) => csv.field(&record, line, c)?.to_string(),
            None => (ids.len() + 1).to_string(),
        });
    }
    if ids.is_empty() {
        return Err(Error::input(Location::file(&display), "the pool has no persons"));
    }
    let profile: Vec<Column> = data
        .profile
        .iter()
        .zip(values)
        .map(|(a, values)| Column { name: a.name.clone(), levels: a.levels.clone(), values })
        .collect();
    let n = ids.len();
    let items = data
        .items
        .iter()
        .map(|it| Item {
            column: Column { name: it.column.name.clone(), levels: it.column.levels.clone(), values: vec![None; n] },
            ordinal: it.ordinal,
            missing: n,
        })
        .collect();
    Ok(Dataset { source: display, ids, profile, groups: Vec::new(), items, warnings: Vec::new() })
}

/// The groupings shared by the respondents and the pools: the profile attributes among the
/// spec's groups, as indices into `data.profile`.
fn shared_groupings(data: &Dataset) -> Vec<usize> {
    data.groups.iter().filter_map(|g| data.profile.iter().position(|a| a.name == g.name)).collect()
}

/// One pool's predictions `[item][person]` by one predictor fitted on all respondents.
/// Per item, per pool person: the predicted distribution over the item's options.
type PoolPredictions = Vec<Vec<Vec<f64>>>;

fn predict_pool(predictor: &mut dyn Predictor, data: &Dataset, pool: &Dataset) -> Result<PoolPredictions> {
    let everyone: Vec<usize> = (0..data.persons()).collect();
    let persons: Vec<usize> = (0..pool.persons()).collect();
    (0..data.items.len())
        .map(|i| {
            predictor.fit(data, &everyone, i)?;
            let predictions = predict_checked(predictor, pool, &persons, i)?;
            Ok(predictions.into_iter().map(|p| p.probabilities).collect())
        })
        .collect()
}

/// Mean TV over items between a pool's predicted and the respondents' observed distributions,
/// overall (`None`) or per grouping, with respondent weights `w` and pool weights `v`.
fn tv(data: &Dataset, pool: &Dataset, preds: &[Vec<Vec<f64>>], grouping: Option<usize>, w: &[f64], v: &[f64]) -> f64 {
    let levels = grouping.map_or(1, |a| data.profile[a].levels.len());
    let group = |d: &Dataset, p: usize| grouping.map_or(0, |a| d.profile[a].values[p].unwrap_or(0));
    let (mut total, mut weight) = (0.0, 0.0);
    for (i, item) in data.items.iter().enumerate() {
        let k = item.column.levels.len();
        let mut observed = vec![vec![0.0; k]; levels];
        let mut predicted = vec![vec![0.0; k]; levels];
        for p in 0..data.persons() {
            if let Some(a) = item.column.values[p] {
                observed[group(data, p)][a] += w[p];
            }
        }
        for p in 0..pool.persons() {
            let g = group(pool, p);
            predicted[g].iter_mut().zip(&preds[i][p]).for_each(|(s, q)| *s += v[p] * q);
        }
        for g in 0..levels {
            let (n_obs, n_pred) = (observed[g].iter().sum::<f64>(), predicted[g].iter().sum::<f64>());
            if n_obs == 0.0 || n_pred == 0.0 {
                continue;
            }
            let o: Vec<f64> = observed[g].iter().map(|x| x / n_obs).collect();
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
/// grouping, and the score (mean over groupings, or overall without any).
fn statistics(
    data: &Dataset,
    pools: &[Dataset],
    preds: &[Vec<Option<PoolPredictions>>],
    groupings: &[usize],
    w: &[f64],
    v: &[Vec<f64>],
) -> Vec<f64> {
    let mut out = Vec::new();
    for (k, pool) in pools.iter().enumerate() {
        for p in preds[k].iter().flatten() {
            let overall = tv(data, pool, p, None, w, &v[k]);
            let by: Vec<f64> = groupings.iter().map(|&a| tv(data, pool, p, Some(a), w, &v[k])).collect();
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
    let names: Vec<String> = predictors.iter().map(|p| p.name().to_string()).collect();
    let chosen = |spec: &PoolSpec, m: usize| spec.predictors.as_ref().map_or(usable[m], |l| l.contains(&names[m]));
    let mut preds: Vec<Vec<Option<PoolPredictions>>> = vec![vec![None; names.len()]; pools.len()];
    for (k, (spec, pool)) in specs.iter().zip(&pools).enumerate() {
        for (m, predictor) in predictors.iter_mut().enumerate() {
            if chosen(spec, m) {
                preds[k][m] = Some(predict_pool(predictor.as_mut(), data, pool)?);
            }
        }
    }
    let groupings = shared_groupings(data);
    let ones = |n: usize| vec![1.0; n];
    let point = statistics(
        data,
        &pools,
        &preds,
        &groupings,
        &ones(data.persons()),
        &pools.iter().map(|p| ones(p.persons())).collect::<Vec<_>>(),
    );
    let replicates: Vec<Vec<f64>> = (0..bootstrap)
        .into_par_iter()
        .map(|r| {
            let w = stats::resample_weights(data.persons(), seed, r);
            let v: Vec<Vec<f64>> = pools
                .iter()
                .enumerate()
                .map(|(k, p)| stats::resample_weights(p.persons(), seed ^ ((k as u64 + 1) << 40), r))
                .collect();
            statistics(data, &pools, &preds, &groupings, &w, &v)
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
    for (k, (spec, pool)) in specs.iter().zip(&pools).enumerate() {
        let mut by_predictor = IndexMap::new();
        for (m, name) in names.iter().enumerate() {
            let Some(at) = offset[k][m] else { continue };
            let groupings = groupings
                .iter()
                .enumerate()
                .map(|(g, &a)| (data.profile[a].name.clone(), interval(column(at + 1 + g), point[at + 1 + g])))
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
