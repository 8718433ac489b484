//! Held-out predictions scored at the individual and the population level, with percentile
//! bootstrap CIs over persons.
//!
//! Every metric of every predictor is a weighted statistic of the persons, computed for the
//! data (weights: the persons' survey weights, all 1 without a weight column) and for each
//! bootstrap resample (weights: the persons' multiplicities times their survey weights) into
//! the same typed shape; the shape depends only on the data, so a replicate's values line up
//! with the estimate's. Means over answers and persons are weighted means, ratios of means are
//! ratios of weighted means, a group's observed answer distribution is the weighted share of
//! each option among its persons who answered and its predicted one the weighted mean of their
//! predictions, and distances are averaged over folds, groups and items by weighted sizes.

use indexmap::IndexMap;

use super::crossfit::{assign_folds, Predictions};
use super::data::Dataset;
use super::predictor::Prediction;
use super::report::{ByGroup, Distances, Estimate, GroupingTv, Individual, IndividualMetrics, Population, Tv};
use super::stats;
use crate::metrics;

/// One predictor's metrics.
type Scores<T> = (Individual<T>, Population<T>);

/// Scores cross-fitted predictions `[predictor][item][person]` against predictor `baseline`,
/// with folds and bootstrap as given.
pub(super) fn score(
    data: &Dataset,
    preds: &Predictions,
    baseline: usize,
    folds: usize,
    bootstrap: usize,
    seed: u64,
    alpha: f64,
) -> Vec<Scores<Estimate>> {
    let fold = assign_folds(data.persons(), folds, seed);
    let scored = Scored::new(data, baseline, preds, PopulationData::new(data, preds, &fold, folds));
    let point = scored.metrics(data.weights());
    let (_, replicates) = stats::bootstrap_weighted(data.weights(), bootstrap, seed, |w| flatten(scored.metrics(w)));
    // The shape depends on the data alone: the k-th value of the estimate's shape is the k-th
    // statistic of every replicate.
    let mut k = 0;
    let mut estimate = |x: f64| {
        let (lo, hi) = stats::percentile_interval(&replicates[k], alpha);
        k += 1;
        Estimate::new(x, lo, hi)
    };
    point.into_iter().map(|(i, p)| (i.map(&mut estimate), p.map(&mut estimate))).collect()
}

/// Every value of `scores` in the order of their `map`s.
fn flatten(scores: Vec<Scores<f64>>) -> Vec<f64> {
    let mut out = Vec::new();
    for (individual, population) in scores {
        individual.map(&mut |x| out.push(x));
        population.map(&mut |x| out.push(x));
    }
    out
}

/// Per-person losses of one predictor on one item: (nll, brier, correct), NaN when missing.
struct Losses {
    nll: Vec<f64>,
    brier: Vec<f64>,
    correct: Vec<f64>,
}

/// Per-person losses of one predictor's predictions `preds` of one item whose answers are
/// `answers`.
fn losses(answers: &[Option<usize>], preds: &[Option<Prediction>]) -> Losses {
    let n = answers.len();
    let mut l = Losses { nll: vec![f64::NAN; n], brier: vec![f64::NAN; n], correct: vec![f64::NAN; n] };
    for (p, pred) in preds.iter().enumerate() {
        if let (Some(a), Some(Prediction { probabilities: q, .. })) = (answers[p], pred) {
            l.nll[p] = -q[a].max(1e-300).ln();
            l.brier[p] = q.iter().enumerate().map(|(k, v)| (v - f64::from(u8::from(k == a))).powi(2)).sum();
            let best = (0..q.len()).max_by(|&x, &y| q[x].total_cmp(&q[y]).then(y.cmp(&x))).unwrap_or(0);
            l.correct[p] = f64::from(u8::from(best == a));
        }
    }
    l
}

/// Individual-level metrics of a model against the baseline from per-person totals
/// `[nll, brier, correct, answers]` and the baseline's `[nll, answers]`, with person weights
/// `w`: weighted means per answer and per person, and `d` from weighted variances corrected
/// by Σw / (Σw − 1) (survey weights average 1, so Σw counts persons).
fn individual(w: &[f64], model: [&[f64]; 4], base: [&[f64]; 2]) -> IndividualMetrics<f64> {
    let [nll, brier, correct, count] = model;
    let [base_nll, _] = base;
    let (mut sw, mut s_nll, mut s_brier, mut s_correct, mut s_base) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut persons, mut diff, mut improved) = (0.0, 0.0, 0.0);
    let (mut ma, mut mb, mut qa, mut qb) = (0.0, 0.0, 0.0, 0.0);
    for p in 0..w.len() {
        if count[p] == 0.0 || w[p] == 0.0 {
            continue;
        }
        let wp = w[p];
        sw += wp * count[p];
        s_nll += wp * nll[p];
        s_brier += wp * brier[p];
        s_correct += wp * correct[p];
        s_base += wp * base_nll[p];
        let (a, b) = (nll[p] / count[p], base_nll[p] / count[p]);
        persons += wp;
        diff += wp * (b - a);
        improved += wp * f64::from(u8::from(a < b));
        ma += wp * a;
        mb += wp * b;
        qa += wp * a * a;
        qb += wp * b * b;
    }
    let (ma, mb) = (ma / persons, mb / persons);
    let var = |q: f64, m: f64| (q / persons - m * m).max(0.0) * persons / (persons - 1.0).max(1.0);
    let pooled = ((var(qa, ma) + var(qb, mb)) / 2.0).sqrt();
    IndividualMetrics {
        nll: s_nll / sw,
        brier: s_brier / sw,
        accuracy: s_correct / sw,
        pseudo_r2: 1.0 - s_nll / s_base,
        nll_gain_per_person: diff / persons,
        share_improved: improved / persons,
        d: if pooled > 0.0 { (ma - mb) / pooled } else { 0.0 },
    }
}

/// One predictor's per-person losses summed over items, `[nll, brier, correct, items]`.
type Totals = [Vec<f64>; 4];

/// Per-person losses of one item with missing ones as 0, `[nll, brier, correct, answered]`.
type ItemLosses = [Vec<f64>; 4];

/// What the metrics need besides the bootstrap weights; everything that does not depend on
/// the weights is computed once here rather than per resample.
struct Scored<'a> {
    data: &'a Dataset,
    baseline: usize,
    /// `[predictor]`.
    totals: Vec<Totals>,
    /// `[predictor][item]`.
    items: Vec<Vec<ItemLosses>>,
    population: PopulationData<'a>,
}

impl<'a> Scored<'a> {
    fn new(data: &'a Dataset, baseline: usize, preds: &Predictions, population: PopulationData<'a>) -> Self {
        let all: Vec<Vec<Losses>> = preds
            .iter()
            .map(|per_item| population.answers.iter().zip(per_item).map(|(a, p)| losses(a, p)).collect())
            .collect();
        let totals = all.iter().map(|per_item| totals(data.persons(), per_item)).collect();
        let zero = |v: &[f64]| v.iter().map(|x| if x.is_finite() { *x } else { 0.0 }).collect::<Vec<f64>>();
        let items = all
            .iter()
            .map(|per_item| {
                per_item
                    .iter()
                    .map(|l| {
                        let count = l.nll.iter().map(|x| f64::from(u8::from(x.is_finite()))).collect();
                        [zero(&l.nll), zero(&l.brier), zero(&l.correct), count]
                    })
                    .collect()
            })
            .collect();
        Scored { data, baseline, totals, items, population }
    }

    /// Every metric of every predictor for bootstrap weights `w`.
    fn metrics(&self, w: &[f64]) -> Vec<Scores<f64>> {
        let Scored { data, baseline, ref totals, ref items, ref population } = *self;
        let individual = (0..totals.len()).map(|m| {
            let (t, b) = (&totals[m], &totals[baseline]);
            let overall = individual(w, [&t[0], &t[1], &t[2], &t[3]], [&b[0], &b[3]]);
            let per_item = data.items().enumerate().map(|(i, item)| {
                let [nll, brier, correct, count] = &items[m][i];
                let metrics = individual(w, [nll, brier, correct, count], [&items[baseline][i][0], count]);
                (item.name().to_string(), metrics)
            });
            Individual { overall, items: per_item.collect() }
        });
        individual.zip(population.metrics(baseline, w)).collect()
    }
}

/// Sums a predictor's per-item losses per person.
fn totals(n: usize, per_item: &[Losses]) -> Totals {
    let mut t = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    for l in per_item {
        for (p, &nll) in l.nll.iter().enumerate() {
            if nll.is_finite() {
                t[0][p] += nll;
                t[1][p] += l.brier[p];
                t[2][p] += l.correct[p];
                t[3][p] += 1.0;
            }
        }
    }
    t
}

/// Each person's (group, fold) cell per grouping, `None` outside every group.
type Cells = Vec<Vec<Option<usize>>>;

/// The groupings of the population metrics, the whole sample first.
fn groupings(data: &Dataset) -> Vec<(&str, Vec<String>)> {
    let mut out = vec![("all", vec!["all".to_string()])];
    out.extend(data.groups().map(|g| (g.name(), g.groups().map(str::to_string).collect())));
    out
}

/// Each person's cell `group · folds + fold` in every grouping of [`groupings`].
fn cells(data: &Dataset, fold: &[usize], folds: usize) -> Cells {
    let everyone = fold.iter().map(|&f| Some(f)).collect();
    let by_group =
        data.groups().map(|g| fold.iter().enumerate().map(|(p, f)| g.group(p).map(|g| g * folds + f)).collect());
    std::iter::once(everyone).chain(by_group).collect()
}

/// What population metrics need, computed once: each person's answers and cell in every
/// grouping, and per predictor and item the persons predicted with their probabilities,
/// contiguous.
struct PopulationData<'a> {
    data: &'a Dataset,
    groupings: Vec<(&'a str, Vec<String>)>,
    folds: usize,
    /// `[item][person]`: the answers, read from the dataset once for the loops that visit
    /// every person in every resample.
    answers: Vec<Vec<Option<usize>>>,
    cells: Cells,
    /// `[predictor][item]`: the persons with an answer and a prediction.
    persons: Vec<Vec<Vec<usize>>>,
    /// `[predictor][item]`: their probabilities, the item's options per person.
    probabilities: Vec<Vec<Vec<f64>>>,
    /// `[predictor][item][grouping][group]`: whether any of those persons with a positive
    /// weight is in the group; only such groups are reported, in every resample (NaN where it
    /// lost them all).
    present: Vec<Vec<Vec<Vec<bool>>>>,
}

/// Weighted sums over one grouping's (group, fold) cells for one predictor and item.
struct CellSums {
    pred: Vec<Vec<f64>>,
    obs: Vec<Vec<f64>>,
    size: Vec<f64>,
}

impl<'a> PopulationData<'a> {
    fn new(data: &'a Dataset, preds: &Predictions, fold: &[usize], folds: usize) -> Self {
        let answers: Vec<Vec<Option<usize>>> = data.items().map(|item| item.answers().collect()).collect();
        let mut persons = Vec::new();
        let mut probabilities = Vec::new();
        for per_item in preds {
            let (mut ps, mut qs) = (Vec::new(), Vec::new());
            for (answers, per_person) in answers.iter().zip(per_item) {
                let (mut p_i, mut q_i) = (Vec::new(), Vec::new());
                for (p, pred) in per_person.iter().enumerate() {
                    if let (Some(_), Some(pred)) = (answers[p], pred) {
                        p_i.push(p);
                        q_i.extend_from_slice(&pred.probabilities);
                    }
                }
                ps.push(p_i);
                qs.push(q_i);
            }
            persons.push(ps);
            probabilities.push(qs);
        }
        let groupings = groupings(data);
        let cells = cells(data, fold, folds);
        let present = persons
            .iter()
            .map(|per_item| {
                per_item
                    .iter()
                    .map(|ps| {
                        groupings
                            .iter()
                            .zip(&cells)
                            .map(|((_, levels), cell)| {
                                let mut any = vec![false; levels.len()];
                                let weighed = ps.iter().filter(|&&p| data.weight(p) > 0.0);
                                weighed.filter_map(|&p| cell[p]).for_each(|c| any[c / folds] = true);
                                any
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        PopulationData { data, groupings, folds, answers, cells, persons, probabilities, present }
    }

    /// Sums with weights `w` over the cells of grouping `g` for predictor `m` and item `i`, in
    /// person order.
    fn sums(&self, m: usize, i: usize, g: usize, w: &[f64]) -> CellSums {
        let answers = &self.answers[i];
        let k = self.data.item(i).levels().len();
        let cells = self.groupings[g].1.len() * self.folds;
        let mut s =
            CellSums { pred: vec![vec![0.0; k]; cells], obs: vec![vec![0.0; k]; cells], size: vec![0.0; cells] };
        let probabilities = self.probabilities[m][i].chunks_exact(k);
        for (&p, q) in self.persons[m][i].iter().zip(probabilities) {
            if let (Some(c), Some(a)) = (self.cells[g][p], answers[p]) {
                s.size[c] += w[p];
                s.obs[c][a] += w[p];
                s.pred[c].iter_mut().zip(q).for_each(|(s, v)| *s += w[p] * v);
            }
        }
        s
    }

    /// Distances of predictor `m` on item `i` for every reported group of grouping `gi`, and
    /// each group's (size · TV, size) to add up over items.
    fn distances(&self, m: usize, i: usize, gi: usize, w: &[f64]) -> (IndexMap<String, Distances<f64>>, Vec<[f64; 2]>) {
        let item = self.data.item(i);
        let k = item.levels().len();
        let levels = &self.groupings[gi].1;
        // Cells are (group, fold): each fold's predictions come from a model that saw no
        // person of that fold, so the comparison is out of sample.
        let CellSums { pred, obs, size } = self.sums(m, i, gi, w);
        let mut out = IndexMap::new();
        let mut tv = vec![[0.0; 2]; levels.len()];
        for (g, level) in levels.iter().enumerate() {
            if !self.present[m][i][gi][g] {
                continue;
            }
            let mut d = [0.0; 4];
            let mut total = 0.0;
            for c in g * self.folds..(g + 1) * self.folds {
                if size[c] == 0.0 {
                    continue;
                }
                let pr: Vec<f64> = pred[c].iter().map(|v| v / size[c]).collect();
                let ob: Vec<f64> = obs[c].iter().map(|v| v / size[c]).collect();
                total += size[c];
                d[0] += size[c] * metrics::total_variation(&pr, &ob);
                d[1] += size[c] * metrics::jensen_shannon(&pr, &ob);
                d[2] += size[c] * metrics::wasserstein1(&pr, &ob);
            }
            if total == 0.0 {
                // A resample without the group's persons.
                d = [f64::NAN; 4];
            } else {
                d.iter_mut().for_each(|v| *v /= total);
                d[3] = 1.0 - d[2] / (k - 1) as f64;
                tv[g] = [total * d[0], total];
            }
            let ordinal = item.ordinal();
            let distances = Distances {
                tv: d[0],
                js: d[1],
                w1: ordinal.then_some(d[2]),
                representativeness: ordinal.then_some(d[3]),
            };
            out.insert(level.clone(), distances);
        }
        (out, tv)
    }

    /// Population-level metrics of every predictor: for the whole sample and each group of
    /// each grouping.
    fn metrics(&self, baseline: usize, w: &[f64]) -> Vec<Population<f64>> {
        let (data, groupings) = (self.data, &self.groupings);
        let predictors = self.persons.len();
        // score[m][grouping] = size-weighted mean TV over groups and items.
        let mut score = vec![vec![0.0; groupings.len()]; predictors];
        let mut partial = Vec::with_capacity(predictors);
        for (m, score) in score.iter_mut().enumerate() {
            let mut items: Vec<ByGroup<Distances<f64>>> = vec![IndexMap::new(); data.items().len()];
            let mut groups = IndexMap::new();
            for (gi, (gname, levels)) in groupings.iter().enumerate() {
                let mut group_tv = vec![[0.0; 2]; levels.len()];
                for (i, by_group) in items.iter_mut().enumerate() {
                    let (distances, tv) = self.distances(m, i, gi, w);
                    if !distances.is_empty() {
                        by_group.insert(gname.to_string(), distances);
                    }
                    for (sum, [s, c]) in group_tv.iter_mut().zip(tv) {
                        sum[0] += s;
                        sum[1] += c;
                    }
                }
                let (num, den) = group_tv.iter().fold((0.0, 0.0), |(n, d), [s, c]| (n + s, d + c));
                score[gi] = num / den;
                if gi > 0 && !levels.is_empty() {
                    let by_level = levels
                        .iter()
                        .zip(&group_tv)
                        .map(|(l, [s, c])| (l.clone(), if *c > 0.0 { s / c } else { f64::NAN }));
                    groups.insert(gname.to_string(), by_level.collect());
                }
            }
            let items: IndexMap<String, _> = data
                .items()
                .zip(items)
                .filter(|(_, by_group)| !by_group.is_empty())
                .map(|(item, by_group)| (item.name().to_string(), by_group))
                .collect();
            partial.push((items, groups));
        }
        // The verdict's population score: mean over groupings (the whole sample if none).
        let pick = |s: &[f64]| if s.len() > 1 { s[1..].iter().sum::<f64>() / (s.len() - 1) as f64 } else { s[0] };
        partial
            .into_iter()
            .enumerate()
            .map(|(m, (items, groups))| {
                let groupings = groupings
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(gi, (gname, _))| {
                        let mean = score[m][gi];
                        (gname.to_string(), GroupingTv { mean, relative_gain: 1.0 - mean / score[baseline][gi] })
                    })
                    .collect();
                Population {
                    items,
                    tv: Tv { overall: score[m][0], groups, groupings },
                    tv_score: pick(&score[m]),
                    relative_gain: 1.0 - pick(&score[m]) / pick(&score[baseline]),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::spec::DataSpec;

    /// Four persons in two groups, weighing 3, 1, 1 and 1, answer a, b, b, a; the baseline
    /// predicts (½, ½) for everyone, the model (0.8, 0.2). The scores, with `weight` as the
    /// weight column or none.
    fn scores(weight: Option<&str>) -> Vec<Scores<Estimate>> {
        let csv = "id,g,q,w\n1,x,a,3\n2,x,b,1\n3,y,b,1\n4,y,a,1\n";
        let spec = DataSpec::new("r.csv", "id", ["g"], ["q"]);
        let spec = if let Some(w) = weight { spec.weight(w) } else { spec };
        let data = Dataset::from_reader(csv.as_bytes(), &spec, &["g".into()]).unwrap();
        let constant = |q: [f64; 2]| vec![(0..4).map(|_| Some(Prediction::new(q.to_vec()))).collect()];
        score(&data, &vec![constant([0.5, 0.5]), constant([0.8, 0.2])], 0, 1, 20, 1, 0.05)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn distributions_are_weighted_shares_and_groups_weigh_their_weights() {
        let weighted = scores(Some("w"));
        // Observed: a has 4 of the weight 6 overall, 3 of 4 in group x and 1 of 2 in group y.
        let model = &weighted[1].1;
        assert!(close(model.items["q"]["all"]["all"].tv.estimate, 0.8 - 4.0 / 6.0));
        assert!(close(weighted[0].1.tv.overall.estimate, 4.0 / 6.0 - 0.5));
        let (x, y) = (model.tv.groups["g"]["x"].estimate, model.tv.groups["g"]["y"].estimate);
        assert!(close(x, 0.05) && close(y, 0.3), "{x} {y}");
        // Groups are averaged by their weight (4 and 2), not their persons (2 and 2).
        assert!(close(model.tv.groupings["g"].mean.estimate, (4.0 * 0.05 + 2.0 * 0.3) / 6.0));
        // Unweighted, a is half the answers everywhere.
        let unweighted = &scores(None)[1].1;
        assert!(close(unweighted.tv.overall.estimate, 0.3) && close(unweighted.tv.groupings["g"].mean.estimate, 0.3));
    }

    #[test]
    fn individual_metrics_are_weighted_means_and_ratios_of_them() {
        let weighted = scores(Some("w"));
        let i = &weighted[1].0.overall;
        let nll = (4.0 * -(0.8f64.ln()) + 2.0 * -(0.2f64.ln())) / 6.0;
        assert!(close(i.nll.estimate, nll), "{:?}", i.nll);
        assert!(close(i.pseudo_r2.estimate, 1.0 - nll / 2f64.ln()));
        assert!(close(i.accuracy.estimate, 4.0 / 6.0) && close(i.share_improved.estimate, 4.0 / 6.0));
        let brier = (4.0 * 2.0 * 0.2f64.powi(2) + 2.0 * 2.0 * 0.8f64.powi(2)) / 6.0;
        assert!(close(i.brier.estimate, brier));
        for m in [&i.nll, &i.brier, &i.accuracy, &i.pseudo_r2] {
            assert!(m.contains(m.estimate), "{m:?}");
        }
        assert!(close(scores(None)[1].0.overall.accuracy.estimate, 0.5));
    }
}
