//! Does conditioning on a persona improve predictions of individuals, or only of populations?
//!
//! [`evaluate`] reads an [`ExperimentSpec`], cross-fits every [`Predictor`] over seeded folds
//! of persons (nobody is predicted by a model that saw them), scores the held-out predictions
//! at the individual level (NLL, Brier, accuracy, pseudo-R², paired differences against the
//! population baseline) and at the population level (total variation, Jensen–Shannon,
//! Wasserstein-1 between predicted and observed answer distributions, overall and per group),
//! attaches percentile bootstrap CIs over persons, and applies the spec's decision rule.
//! [`world`] generates known-truth datasets to validate all this.

mod crossfit;
mod data;
pub mod effects;
mod external;
mod factory;
mod logistic;
mod plot;
pub mod pools;
mod predictor;
pub mod replication;
mod report;
pub mod simulation;
mod spec;
pub mod stats;
pub mod variance;
pub mod world;

pub use crossfit::{assign_folds, cross_fit, Predictions};
pub use data::{Column, Dataset, Item};
pub use external::External;
pub use factory::build;
pub use logistic::Logistic;
pub use plot::evaluation_panels;
pub use predictor::{Cell, History, Population, Prediction, Predictor, Profile};
pub use report::summary_markdown;
pub use spec::{
    DataSpec, EvaluationSpec, ExperimentSpec, PoolSpec, PopulationSpec, PredictorKind, PredictorSpec, SimulationSpec,
};

use serde_json::{json, Map, Value};

use crate::error::Result;

/// The three verdicts of the decision rule.
pub const VERDICTS: [&str; 3] = ["improves individuals", "improves populations only", "neither"];

/// Key separator in flat metric names (a control character, never in column values).
const SEP: char = '\u{1f}';

/// The outcome of an evaluation.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The whole report, as written to `evaluation.json` (schema in docs/evaluate.md).
    pub json: Value,
    /// Each non-baseline predictor's name and verdict.
    pub verdicts: Vec<(String, String)>,
    /// Warnings from reading the data.
    pub warnings: Vec<String>,
}

/// Runs the experiment a spec describes.
pub fn evaluate(spec: &ExperimentSpec, progress: &mut dyn FnMut(&str)) -> Result<Evaluation> {
    let data = Dataset::load(&spec.data, &spec.population.groups)?;
    let mut predictors: Vec<Box<dyn Predictor>> =
        spec.predictors.iter().map(|p| build(p, spec.cache_dir.as_deref())).collect::<Result<_>>()?;
    let e = &spec.evaluation;
    if data.persons() < 2 * e.folds {
        return Err(crate::Error::input(
            crate::error::Location::file(spec.data.file.display().to_string()),
            format!("{} persons are too few for {} folds (need at least 2 per fold)", data.persons(), e.folds),
        ));
    }
    let preds = cross_fit(&data, &mut predictors, e.folds, e.seed, progress)?;
    progress("bootstrap");
    let baseline = spec.predictors.iter().position(|p| p.kind == PredictorKind::Population).unwrap_or(0);
    let names: Vec<String> = spec.predictors.iter().map(|p| p.name.clone()).collect();
    let mut evaluation = score(&data, &names, baseline, &preds, spec);
    progress("effect replication and run-to-run variance");
    simulate(&data, &names, &preds, spec, &mut evaluation.json);
    if !spec.pools.is_empty() {
        progress("persona pools");
        let usable: Vec<bool> = spec.predictors.iter().map(|p| p.kind != PredictorKind::History).collect();
        evaluation.json["pools"] =
            pools::score_pools(&data, &spec.pools, &mut predictors, &usable, e.bootstrap, e.seed, e.alpha)?;
    }
    Ok(evaluation)
}

/// Adds each predictor's effect replication and run-to-run variance to the report.
fn simulate(data: &Dataset, names: &[String], preds: &Predictions, spec: &ExperimentSpec, json: &mut Value) {
    let sim = &spec.simulation;
    let (draws, sources) = simulation::draws(preds, sim);
    let real = replication::RealEffects::estimate(data);
    for (m, name) in names.iter().enumerate() {
        let block = json!({
            "draws": sources[m],
            "replication": replication::replication(data, &real, &draws[m], sim.alpha),
            "variance": run_to_run(data, &draws[m], &spec.evaluation),
        });
        if let Some(Value::Object(p)) = json["predictors"].get_mut(name) {
            p.insert("simulation".into(), block);
        }
    }
    json["simulation"] = json!({"repeats": sim.repeats, "alpha": sim.alpha, "seed": sim.seed});
}

/// Within-person, between-persona variance and ICC per item and averaged over items, with
/// bootstrap CIs over persons; null without two draws per person.
fn run_to_run(data: &Dataset, draws: &[Vec<Vec<usize>>], e: &EvaluationSpec) -> Value {
    let items: Vec<variance::ItemDraws> =
        (0..data.items.len()).map(|i| variance::ItemDraws::new(data, i, &draws[i])).collect();
    let repeats = items.iter().map(variance::ItemDraws::repeats).min().unwrap_or(0);
    if repeats < 2 {
        return Value::Null;
    }
    let statistic = |w: &[f64]| -> Vec<f64> {
        let per_item: Vec<[f64; 3]> = items.iter().map(|it| it.decompose(w)).collect();
        let mut out: Vec<f64> =
            (0..3).map(|k| per_item.iter().map(|v| v[k]).sum::<f64>() / per_item.len() as f64).collect();
        out.extend(per_item.iter().flatten());
        out
    };
    let (point, reps) = stats::bootstrap(data.persons(), e.bootstrap, e.seed, statistic);
    let block = |k: usize| {
        let (lo, hi) = stats::percentile_interval(&reps[k], e.alpha);
        json!({"estimate": stats::num(point[k]), "ci_low": stats::num(lo), "ci_high": stats::num(hi)})
    };
    let names = ["within", "between", "icc"];
    let triple = |base: usize| names.iter().enumerate().map(|(k, n)| (n.to_string(), block(base + k))).collect();
    let mut by_item = Map::new();
    for (i, item) in data.items.iter().enumerate() {
        by_item.insert(item.column.name.clone(), Value::Object(triple(3 + 3 * i)));
    }
    let mut overall: Map<String, Value> = triple(0);
    overall.insert("repeats".into(), json!(repeats));
    overall.insert("items".into(), Value::Object(by_item));
    Value::Object(overall)
}

/// Per-person losses of one predictor on one item: (nll, brier, correct), NaN when missing.
struct Losses {
    nll: Vec<f64>,
    brier: Vec<f64>,
    correct: Vec<f64>,
}

fn losses(data: &Dataset, item: usize, preds: &[Option<Prediction>]) -> Losses {
    let column = &data.items[item].column;
    let n = data.persons();
    let mut l = Losses { nll: vec![f64::NAN; n], brier: vec![f64::NAN; n], correct: vec![f64::NAN; n] };
    for (p, pred) in preds.iter().enumerate() {
        if let (Some(a), Some(Prediction { probabilities: q, .. })) = (column.values[p], pred) {
            l.nll[p] = -q[a].max(1e-300).ln();
            l.brier[p] = q.iter().enumerate().map(|(k, v)| (v - f64::from(u8::from(k == a))).powi(2)).sum();
            let best = (0..q.len()).max_by(|&x, &y| q[x].total_cmp(&q[y]).then(y.cmp(&x))).unwrap_or(0);
            l.correct[p] = f64::from(u8::from(best == a));
        }
    }
    l
}

/// Flat metrics: names (path segments joined by [`SEP`]) and values.
#[derive(Default)]
struct Flat {
    keys: Vec<String>,
    values: Vec<f64>,
}

impl Flat {
    fn push(&mut self, path: &[&str], value: f64) {
        self.keys.push(path.join(&SEP.to_string()));
        self.values.push(value);
    }
}

/// Individual-level metrics of predictor `m` against the baseline from per-person totals.
fn individual(flat: &mut Flat, prefix: &[&str], w: &[f64], model: [&[f64]; 4], base: [&[f64]; 2]) {
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
    let path = |k: &'static str| [prefix, &[k]].concat();
    flat.push(&path("nll"), s_nll / sw);
    flat.push(&path("brier"), s_brier / sw);
    flat.push(&path("accuracy"), s_correct / sw);
    flat.push(&path("pseudo_r2"), 1.0 - s_nll / s_base);
    flat.push(&path("nll_gain_per_person"), diff / persons);
    flat.push(&path("share_improved"), improved / persons);
    let (ma, mb) = (ma / persons, mb / persons);
    let var = |q: f64, m: f64| (q / persons - m * m).max(0.0) * persons / (persons - 1.0).max(1.0);
    let pooled = ((var(qa, ma) + var(qb, mb)) / 2.0).sqrt();
    flat.push(&path("d"), if pooled > 0.0 { (ma - mb) / pooled } else { 0.0 });
}

/// One predictor's per-person losses summed over items, `[nll, brier, correct, items]`.
type Totals = [Vec<f64>; 4];

/// Per-person losses of one item with missing ones as 0, `[nll, brier, correct, answered]`.
type ItemLosses = [Vec<f64>; 4];

/// What the metrics need besides the bootstrap weights; everything that does not depend on
/// the weights is computed once here rather than per resample.
struct Scored<'a> {
    data: &'a Dataset,
    names: &'a [String],
    baseline: usize,
    /// `[predictor]`.
    totals: Vec<Totals>,
    /// `[predictor][item]`.
    items: Vec<Vec<ItemLosses>>,
    population: PopulationData<'a>,
}

impl<'a> Scored<'a> {
    fn new(
        data: &'a Dataset,
        names: &'a [String],
        baseline: usize,
        preds: &Predictions,
        population: PopulationData<'a>,
    ) -> Self {
        let all: Vec<Vec<Losses>> = preds
            .iter()
            .map(|per_item| (0..data.items.len()).map(|i| losses(data, i, &per_item[i])).collect())
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
        Scored { data, names, baseline, totals, items, population }
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

/// Computes every metric for bootstrap weights `w`.
fn metrics(s: &Scored, w: &[f64]) -> Flat {
    let Scored { data, names, baseline, ref totals, ref items, ref population } = *s;
    let mut flat = Flat::default();
    for (m, name) in names.iter().enumerate() {
        let t = &totals[m];
        let b = &totals[baseline];
        individual(&mut flat, &[name, "individual"], w, [&t[0], &t[1], &t[2], &t[3]], [&b[0], &b[3]]);
        for (i, item) in data.items.iter().enumerate() {
            let [nll, brier, correct, count] = &items[m][i];
            individual(
                &mut flat,
                &[name, "individual", "items", &item.column.name],
                w,
                [nll, brier, correct, count],
                [&items[baseline][i][0], count],
            );
        }
    }
    population.metrics(names, baseline, w, &mut flat);
    flat
}

/// Each person's (group, fold) cell per grouping, `None` outside every group.
type Cells = Vec<Vec<Option<usize>>>;

/// The groupings of the population metrics, the whole sample first.
fn groupings(data: &Dataset) -> Vec<(&str, Vec<String>)> {
    let mut out = vec![("all", vec!["all".to_string()])];
    out.extend(data.groups.iter().map(|g| (g.name.as_str(), g.levels.clone())));
    out
}

/// Each person's cell `group · folds + fold` in every grouping of [`groupings`].
fn cells(data: &Dataset, fold: &[usize], folds: usize) -> Cells {
    let everyone = vec![Some(0); data.persons()];
    std::iter::once(&everyone[..])
        .chain(data.groups.iter().map(|g| &g.values[..]))
        .map(|values| values.iter().zip(fold).map(|(g, f)| g.map(|g| g * folds + f)).collect())
        .collect()
}

/// What population metrics need, computed once: each person's cell in every grouping, and per
/// predictor and item the persons predicted with their answers and probabilities, contiguous.
struct PopulationData<'a> {
    data: &'a Dataset,
    groupings: Vec<(&'a str, Vec<String>)>,
    folds: usize,
    cells: Cells,
    /// `[predictor][item]`: the persons with an answer and a prediction.
    persons: Vec<Vec<Vec<usize>>>,
    /// `[predictor][item]`: their probabilities, the item's options per person.
    probabilities: Vec<Vec<Vec<f64>>>,
}

/// Weighted sums over one grouping's (group, fold) cells for one predictor and item.
struct CellSums {
    pred: Vec<Vec<f64>>,
    obs: Vec<Vec<f64>>,
    size: Vec<f64>,
}

impl<'a> PopulationData<'a> {
    fn new(data: &'a Dataset, preds: &Predictions, fold: &[usize], folds: usize) -> Self {
        let mut persons = Vec::new();
        let mut probabilities = Vec::new();
        for per_item in preds {
            let (mut ps, mut qs) = (Vec::new(), Vec::new());
            for (item, per_person) in data.items.iter().zip(per_item) {
                let (mut p_i, mut q_i) = (Vec::new(), Vec::new());
                for (p, pred) in per_person.iter().enumerate() {
                    if let (Some(_), Some(pred)) = (item.column.values[p], pred) {
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
        PopulationData {
            data,
            groupings: groupings(data),
            folds,
            cells: cells(data, fold, folds),
            persons,
            probabilities,
        }
    }

    /// Sums with weights `w` over the cells of grouping `g` for predictor `m` and item `i`, in
    /// person order.
    fn sums(&self, m: usize, i: usize, g: usize, w: &[f64]) -> CellSums {
        let column = &self.data.items[i].column;
        let k = column.levels.len();
        let cells = self.groupings[g].1.len() * self.folds;
        let mut s =
            CellSums { pred: vec![vec![0.0; k]; cells], obs: vec![vec![0.0; k]; cells], size: vec![0.0; cells] };
        let probabilities = self.probabilities[m][i].chunks_exact(k);
        for (&p, q) in self.persons[m][i].iter().zip(probabilities) {
            if let (Some(c), Some(a)) = (self.cells[g][p], column.values[p]) {
                s.size[c] += w[p];
                s.obs[c][a] += w[p];
                s.pred[c].iter_mut().zip(q).for_each(|(s, v)| *s += w[p] * v);
            }
        }
        s
    }

    /// Population-level metrics: for the whole sample and each group of each grouping.
    fn metrics(&self, names: &[String], baseline: usize, w: &[f64], flat: &mut Flat) {
        let (data, groupings) = (self.data, &self.groupings);
        // score[m][grouping] = size-weighted mean TV over groups and items.
        let mut score = vec![vec![0.0; groupings.len()]; names.len()];
        for (m, name) in names.iter().enumerate() {
            for (gi, (gname, levels)) in groupings.iter().enumerate() {
                let mut group_tv = vec![(0.0, 0.0); levels.len()];
                for (i, item) in data.items.iter().enumerate() {
                    let k = item.column.levels.len();
                    // Cells are (group, fold): each fold's predictions come from a model that saw
                    // no person of that fold, so the comparison is out of sample.
                    let CellSums { pred, obs, size } = self.sums(m, i, gi, w);
                    for g in 0..levels.len() {
                        let mut d = [0.0; 4];
                        let mut total = 0.0;
                        for c in g * self.folds..(g + 1) * self.folds {
                            if size[c] == 0.0 {
                                continue;
                            }
                            let pr: Vec<f64> = pred[c].iter().map(|v| v / size[c]).collect();
                            let ob: Vec<f64> = obs[c].iter().map(|v| v / size[c]).collect();
                            total += size[c];
                            d[0] += size[c] * stats::total_variation(&pr, &ob);
                            d[1] += size[c] * stats::jensen_shannon(&pr, &ob);
                            d[2] += size[c] * stats::wasserstein1(&pr, &ob);
                        }
                        if total == 0.0 {
                            continue;
                        }
                        d.iter_mut().for_each(|v| *v /= total);
                        d[3] = 1.0 - d[2] / (k - 1) as f64;
                        group_tv[g].0 += total * d[0];
                        group_tv[g].1 += total;
                        let path = [name.as_str(), "population", "items", &item.column.name, gname, &levels[g]];
                        let at = |k: &'static str| [&path[..], &[k]].concat();
                        flat.push(&at("tv"), d[0]);
                        flat.push(&at("js"), d[1]);
                        if item.ordinal {
                            flat.push(&at("w1"), d[2]);
                            flat.push(&at("representativeness"), d[3]);
                        }
                    }
                }
                let (mut num, mut den) = (0.0, 0.0);
                for (g, level) in levels.iter().enumerate() {
                    let (s, c) = group_tv[g];
                    num += s;
                    den += c;
                    if gi > 0 {
                        flat.push(
                            &[name, "population", "tv", "groups", gname, level],
                            if c > 0.0 { s / c } else { f64::NAN },
                        );
                    }
                }
                score[m][gi] = num / den;
                if gi == 0 {
                    flat.push(&[name, "population", "tv", "overall"], num / den);
                } else {
                    flat.push(&[name, "population", "tv", "groupings", gname, "mean"], num / den);
                }
            }
        }
        for (m, name) in names.iter().enumerate() {
            for (gi, (gname, _)) in groupings.iter().enumerate().skip(1) {
                flat.push(
                    &[name, "population", "tv", "groupings", gname, "relative_gain"],
                    1.0 - score[m][gi] / score[baseline][gi],
                );
            }
            // The verdict's population score: mean over groupings (the whole sample if none).
            let pick = |s: &[f64]| if s.len() > 1 { s[1..].iter().sum::<f64>() / (s.len() - 1) as f64 } else { s[0] };
            flat.push(&[name, "population", "tv_score"], pick(&score[m]));
            flat.push(&[name, "population", "relative_gain"], 1.0 - pick(&score[m]) / pick(&score[baseline]));
        }
    }
}

/// Scores cross-fitted predictions: metrics with bootstrap CIs, and the verdicts.
pub fn score(
    data: &Dataset,
    names: &[String],
    baseline: usize,
    preds: &Predictions,
    spec: &ExperimentSpec,
) -> Evaluation {
    let e = &spec.evaluation;
    let fold = assign_folds(data.persons(), e.folds, e.seed);
    let scored = Scored::new(data, names, baseline, preds, PopulationData::new(data, preds, &fold, e.folds));
    let keys = metrics(&scored, &vec![1.0; data.persons()]).keys;
    let (point, reps) = stats::bootstrap(data.persons(), e.bootstrap, e.seed, |w| metrics(&scored, w).values);
    let mut root = Map::new();
    let mut lookup = std::collections::HashMap::new();
    for ((key, est), sorted) in keys.iter().zip(&point).zip(&reps) {
        let (lo, hi) = stats::percentile_interval(sorted, e.alpha);
        lookup.insert(key.clone(), (*est, lo, hi));
        insert(
            &mut root,
            key,
            json!({"estimate": stats::num(*est), "ci_low": stats::num(lo), "ci_high": stats::num(hi)}),
        );
    }
    let mut verdicts = Vec::new();
    for (m, name) in names.iter().enumerate() {
        let entry = root.entry(name.clone()).or_insert_with(|| json!({}));
        let get = |k: &[&str]| lookup.get(&[&[name.as_str()], k].concat().join(&SEP.to_string())).copied();
        let verdict = if m == baseline {
            json!("baseline")
        } else {
            let r2 = get(&["individual", "pseudo_r2"]).unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            let gain = get(&["population", "relative_gain"]).unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            let v = if r2.1 > e.individual_min_pseudo_r2 {
                VERDICTS[0]
            } else if gain.0 >= e.population_min_relative_tv_gain && gain.1 > 0.0 {
                VERDICTS[1]
            } else {
                VERDICTS[2]
            };
            verdicts.push((name.clone(), v.to_string()));
            json!({
                "verdict": v,
                "pseudo_r2": {"estimate": stats::num(r2.0), "ci_low": stats::num(r2.1), "ci_high": stats::num(r2.2)},
                "population_relative_gain": {"estimate": stats::num(gain.0), "ci_low": stats::num(gain.1), "ci_high": stats::num(gain.2)},
            })
        };
        if let Value::Object(o) = entry {
            o.insert("kind".into(), serde_json::to_value(spec.predictors[m].kind).unwrap_or(Value::Null));
            o.insert("verdict".into(), verdict);
        }
    }
    let items: Vec<Value> = data
        .items
        .iter()
        .map(|it| {
            json!({"name": it.column.name, "ordinal": it.ordinal, "options": it.column.levels,
                   "answers": data.persons() - it.missing, "missing": it.missing})
        })
        .collect();
    let json = json!({
        "data": {"file": spec.data.file.display().to_string(), "persons": data.persons(), "items": items,
                 "profile": spec.data.profile, "groups": spec.population.groups},
        "evaluation": {"folds": e.folds, "bootstrap": e.bootstrap, "seed": e.seed, "alpha": e.alpha,
                       "baseline": names[baseline],
                       "rule": {"individual_min_pseudo_r2": e.individual_min_pseudo_r2,
                                "population_min_relative_tv_gain": e.population_min_relative_tv_gain}},
        "predictors": Value::Object(root),
        "warnings": data.warnings,
    });
    Evaluation { json, verdicts, warnings: data.warnings.clone() }
}

/// Inserts `value` at the [`SEP`]-separated path `key`.
fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let parts: Vec<&str> = key.split(SEP).collect();
    let mut node = root;
    for part in &parts[..parts.len() - 1] {
        let next = node.entry(part.to_string()).or_insert_with(|| json!({}));
        node = match next {
            Value::Object(o) => o,
            _ => return,
        };
    }
    node.insert(parts[parts.len() - 1].to_string(), value);
}
