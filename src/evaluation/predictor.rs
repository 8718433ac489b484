//! Predictors behind one trait: fitted on training persons for one item, they give each
//! held-out person a probability distribution over the item's options.

use std::collections::HashMap;

use crate::error::{Error, Result};

use super::data::Dataset;
use super::logistic::Logistic;
use super::params::{checked_name, predictor_error, CellParams, HistoryParams, PopulationParams, ProfileParams};

/// A predictor of one person's answer to one item.
///
/// `evaluate` calls [`Predictor::fit`] once per fold and item with the persons of the other
/// folds, then [`Predictor::predict_many`] with the fold's persons who answered the item. An
/// external predictor (a process answering JSON lines) fits behind the same calls: `fit` may do
/// nothing, and `predict_many` may ask many questions at once and return sampled answers with
/// their smoothed frequencies.
pub trait Predictor: Send {
    /// The name shown in the outputs.
    fn name(&self) -> &str;
    /// Fits the predictor for `item` on the persons `train` (indices into `data`); persons
    /// without an answer to the item are the predictor's to skip or use.
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()>;
    /// Probabilities over the item's options (summing to 1) for person `person`.
    fn predict(&self, data: &Dataset, person: usize, item: usize) -> Result<Vec<f64>>;
    /// Predictions for several persons; the default calls [`Predictor::predict`] for each and
    /// samples nothing.
    fn predict_many(&mut self, data: &Dataset, persons: &[usize], item: usize) -> Result<Vec<Prediction>> {
        persons
            .iter()
            .map(|&p| Ok(Prediction { probabilities: self.predict(data, p, item)?, draws: Vec::new() }))
            .collect()
    }
}

/// One person's prediction for one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probabilities over the item's options, summing to 1.
    pub probabilities: Vec<f64>,
    /// Answers the predictor sampled (option indices, one per repeat); empty when it gives
    /// probabilities directly. Run-to-run variance is measured on these.
    pub draws: Vec<usize>,
}

/// Answer counts of `item` among `persons`, plus `alpha` in each option.
fn counts(data: &Dataset, persons: &[usize], item: usize, alpha: f64) -> Vec<f64> {
    let column = &data.items[item].column;
    let mut c = vec![alpha; column.levels.len()];
    for &p in persons {
        if let Some(a) = column.values[p] {
            c[a] += 1.0;
        }
    }
    c
}

fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= s);
    v
}

/// The baseline: each item's answer distribution in the training persons, with `smoothing`
/// added to every option's count (default 0.5, Jeffreys-style), the same for everybody.
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
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.p = normalized(counts(data, train, item, self.smoothing));
        Ok(())
    }
    fn predict(&self, _: &Dataset, _: usize, _: usize) -> Result<Vec<f64>> {
        Ok(self.p.clone())
    }
}

/// One-hot features of a person's profile: every level of every attribute, and with
/// `interactions` every pair of levels of every pair of attributes.
fn profile_features(data: &Dataset, person: usize, interactions: bool) -> (Vec<usize>, usize) {
    let mut row = Vec::new();
    let mut offset = 0;
    let level = |a: usize| data.profile[a].values[person].unwrap_or(0);
    for a in &data.profile {
        row.push(offset + a.values[person].unwrap_or(0));
        offset += a.levels.len();
    }
    if interactions {
        for a in 0..data.profile.len() {
            for b in a + 1..data.profile.len() {
                row.push(offset + level(a) * data.profile[b].levels.len() + level(b));
                offset += data.profile[a].levels.len() * data.profile[b].levels.len();
            }
        }
    }
    (row, offset)
}

/// Fits a logistic model on the training persons who answered `item`.
fn fit_logistic(
    data: &Dataset,
    train: &[usize],
    item: usize,
    l2: f64,
    features: impl Fn(usize) -> (Vec<usize>, usize),
) -> Result<Logistic> {
    let column = &data.items[item].column;
    let (mut rows, mut y, mut width) = (Vec::new(), Vec::new(), 0);
    for &p in train {
        if let Some(a) = column.values[p] {
            let (row, w) = features(p);
            rows.push(row);
            y.push(a);
            width = w;
        }
    }
    Logistic::fit(&rows, &y, column.levels.len(), width, l2)
}

/// L2-regularized multinomial logistic regression on the one-hot profile (main effects,
/// optionally pairwise interactions).
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
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        let inter = self.interactions;
        self.model = Some(fit_logistic(data, train, item, self.l2, |p| profile_features(data, p, inter))?);
        Ok(())
    }
    fn predict(&self, data: &Dataset, person: usize, _: usize) -> Result<Vec<f64>> {
        let model = fitted(&self.model, &self.name)?;
        Ok(model.predict(&profile_features(data, person, self.interactions).0))
    }
}

/// Smoothed answer distribution within the person's profile cell, shrunk toward coarser
/// cells: with attributes a₁…a_P in spec order, level 0 is the smoothed population
/// distribution and level j the cell of a₁…a_j, estimated as
/// `p_j = (n_j · f_j + m · p_{j−1}) / (n_j + m)` from its counts `n_j · f_j` and prior strength
/// `m`; sparse cells thus back off to their parent, empty cells equal it.
pub struct Cell {
    name: String,
    smoothing: f64,
    prior_strength: f64,
    base: Vec<f64>,
    counts: Vec<HashMap<Vec<usize>, Vec<f64>>>,
}

fn profile_of(data: &Dataset, person: usize) -> Vec<usize> {
    data.profile.iter().map(|a| a.values[person].unwrap_or(0)).collect()
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
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.base = normalized(counts(data, train, item, self.smoothing));
        let k = self.base.len();
        let column = &data.items[item].column;
        self.counts = vec![HashMap::new(); data.profile.len()];
        for &p in train {
            if let Some(a) = column.values[p] {
                let profile = profile_of(data, p);
                for (j, map) in self.counts.iter_mut().enumerate() {
                    map.entry(profile[..=j].to_vec()).or_insert_with(|| vec![0.0; k])[a] += 1.0;
                }
            }
        }
        Ok(())
    }
    fn predict(&self, data: &Dataset, person: usize, _: usize) -> Result<Vec<f64>> {
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
    }
}

/// Multinomial logistic regression on the person's answers to the other items (one-hot, with
/// a "missing" level per item).
pub struct History {
    name: String,
    l2: f64,
    model: Option<Logistic>,
}

fn history_features(data: &Dataset, person: usize, item: usize) -> (Vec<usize>, usize) {
    let mut row = Vec::new();
    let mut offset = 0;
    for (j, it) in data.items.iter().enumerate() {
        if j == item {
            continue;
        }
        let k = it.column.levels.len();
        row.push(offset + it.column.values[person].unwrap_or(k));
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
    fn fit(&mut self, data: &Dataset, train: &[usize], item: usize) -> Result<()> {
        self.model = Some(fit_logistic(data, train, item, self.l2, |p| history_features(data, p, item))?);
        Ok(())
    }
    fn predict(&self, data: &Dataset, person: usize, item: usize) -> Result<Vec<f64>> {
        let model = fitted(&self.model, &self.name)?;
        Ok(model.predict(&history_features(data, person, item).0))
    }
}

fn fitted<'a>(model: &'a Option<Logistic>, name: &str) -> Result<&'a Logistic> {
    model
        .as_ref()
        .ok_or_else(|| Error::Inconsistent(format!("predictor \"{name}\" was asked to predict before fitting")))
}
