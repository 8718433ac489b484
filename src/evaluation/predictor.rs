//! Predictors behind one trait: fitted on training persons for one item, they give each
//! held-out person a probability distribution over the item's options. The built-in ones
//! (population baseline, profile, cell, history) are here; external programs are in
//! `external.rs`.

use std::collections::HashMap;

use crate::error::{Error, Result};

use super::data::Dataset;
use super::logistic::Logistic;
use super::params::{
    checked_name, predictor_error, CellParams, HistoryParams, PopulationParams, PredictorKind, ProfileParams,
};

/// A predictor of persons' answers to an item.
///
/// [`evaluate`](super::evaluate) (and [`Experiment::run`](super::Experiment::run)) calls
/// [`Predictor::fit`] once per fold and item with the persons of the other folds, then
/// [`Predictor::predict`] with the fold's persons who answered the item, and once more per
/// item with everybody for persona pools. Both take `&mut self`: a predictor may keep state
/// between the calls, such as the programs an external predictor runs, which fit does not
/// start and predict asks many questions at once.
///
/// Implement it to evaluate a predictor of your own next to the built-in ones; see the
/// [module documentation](super) for an example.
pub trait Predictor: Send {
    /// The name shown in the outputs (unique among an experiment's predictors).
    fn name(&self) -> &str;
    /// What the predictor is. The one predictor of kind [`PredictorKind::Population`] is the
    /// baseline; [`PredictorKind::History`] ones condition on answers, which persona pools do
    /// not have. The default, [`PredictorKind::Custom`], is right for a predictor of your own.
    fn kind(&self) -> PredictorKind {
        PredictorKind::Custom
    }
    /// Fits the predictor for `item` on the persons `train` (indices into `data`); persons
    /// without an answer to the item are the predictor's to skip or use. With survey weights,
    /// [`Dataset::weight`] gives each person's; the built-in predictors fit weighted, and
    /// one that ignores them fits the sample rather than the population.
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()>;
    /// One prediction per person of `persons`, in order: probabilities over the item's
    /// options (`data.item(item).levels()`), summing to 1.
    fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Prediction>>;
}

/// One person's prediction for one item.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Prediction {
    /// Probabilities over the item's options, summing to 1.
    pub probabilities: Vec<f64>,
    /// Answers the predictor sampled (option indices, one per repeat); empty when it gives
    /// probabilities directly. Run-to-run variance is measured on these.
    pub draws: Vec<usize>,
}

impl Prediction {
    /// A prediction given as probabilities over the item's options (populace draws
    /// simulated answers from them).
    pub fn new(probabilities: Vec<f64>) -> Prediction {
        Prediction { probabilities, draws: Vec::new() }
    }

    /// With the answers the predictor sampled itself (option indices, one per repeat).
    pub fn with_draws(mut self, draws: Vec<usize>) -> Prediction {
        self.draws = draws;
        self
    }
}

/// Asks `predictor` about `persons` and `item`, and checks the answer: one prediction per
/// person, each a probability per option summing to 1 (within 1e-6), draws among the options.
pub(super) fn predict_checked(
    predictor: &mut dyn Predictor,
    data: &Dataset,
    persons: &[usize],
    item: usize,
) -> Result<Vec<Prediction>> {
    let predictions = predictor.predict(data, persons, item)?;
    let column = data.item(item);
    let wrong = |message: String| predictor_error(predictor.name(), message);
    if predictions.len() != persons.len() {
        return Err(wrong(format!(
            "asked about {} persons for item \"{}\", it gave {} predictions",
            persons.len(),
            column.name(),
            predictions.len()
        )));
    }
    let options = column.levels().len();
    for (&p, prediction) in persons.iter().zip(&predictions) {
        let q = &prediction.probabilities;
        let sum: f64 = q.iter().sum();
        let problem = if q.len() != options {
            format!("{} probabilities for {options} options", q.len())
        } else if !q.iter().all(|v| v.is_finite() && *v >= 0.0) || (sum - 1.0).abs() > 1e-6 {
            format!("probabilities must be non-negative and sum to 1, got {q:?}")
        } else if let Some(d) = prediction.draws.iter().find(|&&d| d >= options) {
            format!("draw {d} is not an option index (0 to {})", options - 1)
        } else {
            continue;
        };
        return Err(wrong(format!("person \"{}\", item \"{}\": {problem}", data.ids()[p], column.name())));
    }
    Ok(predictions)
}

/// Predictions of `persons`, one at a time.
fn each(persons: &[usize], mut one: impl FnMut(usize) -> Result<Vec<f64>>) -> Result<Vec<Prediction>> {
    persons.iter().map(|&p| Ok(Prediction::new(one(p)?))).collect()
}

/// Weighted answer counts of `item` among `persons` (each answer counts its person's
/// survey weight), plus `alpha` in each option.
fn counts(data: &Dataset, persons: &[usize], item: usize, alpha: f64) -> Vec<f64> {
    let column = data.item(item);
    let mut c = vec![alpha; column.levels().len()];
    for &p in persons {
        if let Some(a) = column.answer(p) {
            c[a] += data.weight(p);
        }
    }
    c
}

fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// The baseline: each item's answer distribution in the training persons (weighted by their
/// survey weights), with `smoothing` added to every option's count (default 0.5,
/// Jeffreys-style), the same for everybody.
pub struct Population {
    name: String,
    smoothing: f64,
    p: Vec<f64>,
}

impl Population {
    /// The baseline named `name`.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or a smoothing that is not
    /// positive.
    pub fn new(name: impl Into<String>, params: PopulationParams) -> Result<Population> {
        let name = checked_name(name)?;
        params.validate().map_err(|m| predictor_error(&name, m))?;
        Ok(Population { name, smoothing: params.smoothing, p: Vec::new() })
    }
}

impl Predictor for Population {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> PredictorKind {
        PredictorKind::Population
    }
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.p = normalized(counts(data, train, item, self.smoothing));
        Ok(())
    }
    fn predict(&mut self, _: &Dataset, persons: &[usize], _: usize) -> Result<Vec<Prediction>> {
        each(persons, |_| Ok(self.p.clone()))
    }
}

/// One-hot features of a person's profile: every level of every attribute, and with
/// `interactions` every pair of levels of every pair of attributes.
fn profile_features(data: &Dataset, person: usize, interactions: bool) -> (Vec<usize>, usize) {
    let mut row = Vec::new();
    let mut offset = 0;
    let level = |a: usize| data.attribute(a).level(person);
    for a in data.profile() {
        row.push(offset + a.level(person));
        offset += a.levels().len();
    }
    if interactions {
        let attributes = data.profile().len();
        for a in 0..attributes {
            for b in a + 1..attributes {
                let levels = data.attribute(b).levels().len();
                row.push(offset + level(a) * levels + level(b));
                offset += data.attribute(a).levels().len() * levels;
            }
        }
    }
    (row, offset)
}

/// Fits a logistic model on the training persons who answered `item`, each weighted by its
/// survey weight.
fn fit_logistic(
    data: &Dataset,
    train: &[usize],
    item: usize,
    l2: f64,
    features: impl Fn(usize) -> (Vec<usize>, usize),
) -> Result<Logistic> {
    let column = data.item(item);
    let (mut rows, mut y, mut weights, mut width) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for &p in train {
        if let Some(a) = column.answer(p) {
            let (row, w) = features(p);
            rows.push(row);
            y.push(a);
            weights.push(data.weight(p));
            width = w;
        }
    }
    Logistic::fit_weighted(&rows, &y, &weights, column.levels().len(), width, l2)
}

/// L2-regularized multinomial logistic regression on the one-hot profile (main effects,
/// optionally pairwise interactions), each training person weighted by its survey weight.
pub struct Profile {
    name: String,
    l2: f64,
    interactions: bool,
    model: Option<Logistic>,
}

impl Profile {
    /// The profile model named `name`.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or an `l2` that is not positive.
    pub fn new(name: impl Into<String>, params: ProfileParams) -> Result<Profile> {
        let name = checked_name(name)?;
        params.validate().map_err(|m| predictor_error(&name, m))?;
        Ok(Profile { name, l2: params.l2, interactions: params.interactions, model: None })
    }
}

impl Predictor for Profile {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> PredictorKind {
        PredictorKind::Profile
    }
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        let inter = self.interactions;
        self.model = Some(fit_logistic(data, train, item, self.l2, |p| profile_features(data, p, inter))?);
        Ok(())
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], _: usize) -> Result<Vec<Prediction>> {
        let model = fitted(&self.model, &self.name)?;
        each(persons, |p| Ok(model.predict(&profile_features(data, p, self.interactions).0)))
    }
}

/// Smoothed answer distribution within the person's profile cell, shrunk toward coarser
/// cells: with attributes a₁…a_P in spec order, level 0 is the smoothed population
/// distribution and level j the cell of a₁…a_j, estimated as
/// `p_j = (n_j · f_j + m · p_{j−1}) / (n_j + m)` from its counts `n_j · f_j` and prior strength
/// `m`; sparse cells thus back off to their parent, empty cells equal it. Counts are sums of
/// the persons' survey weights (which average 1, so `m` stays a number of persons).
pub struct Cell {
    name: String,
    smoothing: f64,
    prior_strength: f64,
    base: Vec<f64>,
    counts: Vec<HashMap<Vec<usize>, Vec<f64>>>,
}

fn profile_of(data: &Dataset, person: usize) -> Vec<usize> {
    data.profile().map(|a| a.level(person)).collect()
}

impl Cell {
    /// The cell predictor named `name`.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or a prior strength or
    /// smoothing that is not positive.
    pub fn new(name: impl Into<String>, params: CellParams) -> Result<Cell> {
        let name = checked_name(name)?;
        params.validate().map_err(|m| predictor_error(&name, m))?;
        let (smoothing, prior_strength) = (params.smoothing, params.prior_strength);
        Ok(Cell { name, smoothing, prior_strength, base: Vec::new(), counts: Vec::new() })
    }
}

impl Predictor for Cell {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> PredictorKind {
        PredictorKind::Cell
    }
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.base = normalized(counts(data, train, item, self.smoothing));
        let k = self.base.len();
        let column = data.item(item);
        self.counts = vec![HashMap::new(); data.profile().len()];
        for &p in train {
            if let Some(a) = column.answer(p) {
                let profile = profile_of(data, p);
                for (j, map) in self.counts.iter_mut().enumerate() {
                    map.entry(profile[..=j].to_vec()).or_insert_with(|| vec![0.0; k])[a] += data.weight(p);
                }
            }
        }
        Ok(())
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], _: usize) -> Result<Vec<Prediction>> {
        each(persons, |person| {
            let profile = profile_of(data, person);
            let mut p = self.base.clone();
            for (j, map) in self.counts.iter().enumerate() {
                if let Some(c) = map.get(&profile[..=j]) {
                    let n: f64 = c.iter().sum();
                    for (pk, ck) in p.iter_mut().zip(c) {
                        *pk = (ck + self.prior_strength * *pk) / (n + self.prior_strength);
                    }
                }
            }
            Ok(p)
        })
    }
}

/// Multinomial logistic regression on the person's answers to the other items (one-hot, with
/// a "missing" level per item), each training person weighted by its survey weight.
pub struct History {
    name: String,
    l2: f64,
    model: Option<Logistic>,
}

fn history_features(data: &Dataset, person: usize, item: usize) -> (Vec<usize>, usize) {
    let mut row = Vec::new();
    let mut offset = 0;
    for (j, it) in data.items().enumerate() {
        if j == item {
            continue;
        }
        let k = it.levels().len();
        row.push(offset + it.answer(person).unwrap_or(k));
        offset += k + 1;
    }
    (row, offset)
}

impl History {
    /// The answer-history model named `name`.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or an `l2` that is not positive.
    pub fn new(name: impl Into<String>, params: HistoryParams) -> Result<History> {
        let name = checked_name(name)?;
        params.validate().map_err(|m| predictor_error(&name, m))?;
        Ok(History { name, l2: params.l2, model: None })
    }
}

impl Predictor for History {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> PredictorKind {
        PredictorKind::History
    }
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.model = Some(fit_logistic(data, train, item, self.l2, |p| history_features(data, p, item))?);
        Ok(())
    }
    fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Prediction>> {
        let model = fitted(&self.model, &self.name)?;
        each(persons, |p| Ok(model.predict(&history_features(data, p, item).0)))
    }
}

fn fitted<'a>(model: &'a Option<Logistic>, name: &str) -> Result<&'a Logistic> {
    model
        .as_ref()
        .ok_or_else(|| Error::Inconsistent(format!("predictor \"{name}\" was asked to predict before fitting")))
}
