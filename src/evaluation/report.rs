//! The typed result of an evaluation: what `evaluation.json` holds, field for field.
//!
//! [`Evaluation`] serializes to the schema of docs/evaluate.md (fields in that order; numbers
//! that are not finite become `null`). Metrics are [`Estimate`]s: the value on the data and
//! its percentile bootstrap interval. The metric structs are generic so that each bootstrap
//! replicate fills the same shape with plain `f64`s; reports hold `Estimate`s (the default).

use indexmap::IndexMap;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::effects::EffectKind;
use super::params::PredictorKind;
use super::simulation::DrawSource;
use crate::missing::{MissingCounts, MissingValues};

/// Values per group: grouping (a column) → level → value, in column and level order.
pub type ByGroup<V> = IndexMap<String, IndexMap<String, V>>;

/// A statistic with its confidence interval.
///
/// The interval is a percentile bootstrap interval at level 1 − alpha (proportions of
/// replicated effects: a Wilson interval). Any of the three may be NaN when it cannot be
/// computed (a ratio with nothing to divide by, no finite replicate); it serializes as `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The value on the data.
    pub estimate: f64,
    /// Lower end of the interval.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
}

impl Estimate {
    /// An estimate and its interval.
    pub fn new(estimate: f64, ci_low: f64, ci_high: f64) -> Estimate {
        Estimate { estimate, ci_low, ci_high }
    }

    /// Whether all three numbers are finite.
    pub fn is_finite(&self) -> bool {
        self.estimate.is_finite() && self.ci_low.is_finite() && self.ci_high.is_finite()
    }

    /// Whether `x` lies in the interval (ends included).
    pub fn contains(&self, x: f64) -> bool {
        self.ci_low <= x && x <= self.ci_high
    }
}

/// The decision rule's verdict on a predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The population baseline every other predictor is judged against.
    Baseline,
    /// The pseudo-R² CI lower bound exceeds the rule's threshold.
    ImprovesIndividuals,
    /// Not individuals, but the relative TV gain reaches the threshold with a CI above 0.
    ImprovesPopulationsOnly,
    /// Neither.
    Neither,
}

impl Verdict {
    /// The verdict as written in reports: `"improves individuals"`, `"baseline"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Baseline => "baseline",
            Verdict::ImprovesIndividuals => "improves individuals",
            Verdict::ImprovesPopulationsOnly => "improves populations only",
            Verdict::Neither => "neither",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The decision rule, declared in the spec before the data is seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Rule {
    /// *improves individuals* needs the pseudo-R² CI lower bound above this.
    pub individual_min_pseudo_r2: f64,
    /// *improves populations only* needs at least this relative TV gain, with a CI lower
    /// bound above 0.
    pub population_min_relative_tv_gain: f64,
}

impl Rule {
    /// The verdict on a (non-baseline) predictor from its pseudo-R² and relative TV gain.
    pub fn verdict(&self, pseudo_r2: &Estimate, population_relative_gain: &Estimate) -> Verdict {
        if pseudo_r2.ci_low > self.individual_min_pseudo_r2 {
            Verdict::ImprovesIndividuals
        } else if population_relative_gain.estimate >= self.population_min_relative_tv_gain
            && population_relative_gain.ci_low > 0.0
        {
            Verdict::ImprovesPopulationsOnly
        } else {
            Verdict::Neither
        }
    }
}

/// The outcome of an evaluation; serializes to `evaluation.json`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Evaluation {
    /// The data evaluated on.
    pub data: DataSummary,
    /// The values read as missing, and every person they left out.
    pub missing: MissingReport,
    /// Cross-fitting, bootstrap and the decision rule.
    pub evaluation: Settings,
    /// Every predictor's report, by name, in the order they were given (the spec's, then
    /// the ones added in code).
    pub predictors: IndexMap<String, PredictorReport>,
    /// Warnings from reading the data.
    pub warnings: Vec<String>,
    /// How simulated answers were drawn and tested.
    pub simulation: SimulationSettings,
    /// Persona pools, by name (empty, and left out of the JSON, without pools).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub pools: IndexMap<String, PoolReport>,
}

impl Evaluation {
    /// Each predictor but the baseline, with its verdict, in report order.
    pub fn verdicts(&self) -> impl Iterator<Item = (&str, Verdict)> {
        self.predictors.iter().filter(|(_, p)| p.verdict != Verdict::Baseline).map(|(n, p)| (n.as_str(), p.verdict))
    }

    /// The line that tells how persons were weighted, for stderr; `None` without weights.
    pub fn weight_summary(&self) -> Option<String> {
        let w = self.data.weight.as_ref()?;
        Some(format!(
            "{}: persons weighted by \"{}\": {} persons, weights summing to {}, Kish effective sample size {:.1}",
            self.data.file, w.column, self.data.persons, w.sum, w.n_eff
        ))
    }

    /// The lines that tell what missing values came to, for stderr: each input's
    /// [`MissingCounts::summary`], then one for the responses' answers and groupings; none
    /// when nothing was missing.
    pub fn missing_summary(&self) -> Vec<String> {
        let missing = &self.missing;
        let mut lines: Vec<String> = missing.inputs.iter().filter_map(MissingCounts::summary).collect();
        let mut parts = Vec::new();
        let persons = |n: usize| format!("{n} person{}", if n == 1 { "" } else { "s" });
        if missing.persons_without_answers > 0 {
            parts.push(format!("{} who answered no item left out", persons(missing.persons_without_answers)));
        }
        let answers: Vec<String> =
            self.data.items.iter().filter(|i| i.missing > 0).map(|i| format!("{} {}", i.name, i.missing)).collect();
        if !answers.is_empty() {
            parts.push(format!("missing answers skipped ({})", answers.join(", ")));
        }
        let groups: Vec<String> = missing.persons_without_group.iter().map(|(g, n)| format!("{g} {n}")).collect();
        if !groups.is_empty() {
            parts.push(format!("persons in no group ({})", groups.join(", ")));
        }
        if !parts.is_empty() {
            lines.push(format!("{}: {}", self.data.file, parts.join("; ")));
        }
        lines
    }
}

/// `missing`: which values were read as missing, and what became of the persons with them.
/// Missing answers are counted per item in [`ItemSummary::missing`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MissingReport {
    /// The values read as missing.
    pub values: MissingValues,
    /// The responses' missing profile values (policy, persons left out, count by column),
    /// then each pool's.
    pub inputs: Vec<MissingCounts>,
    /// Persons of the responses left out for answering no item.
    pub persons_without_answers: usize,
    /// Persons in no group for lack of a value, by grouping (groupings where everybody has
    /// one are left out).
    pub persons_without_group: IndexMap<String, usize>,
}

/// `data`: what was read.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DataSummary {
    /// The responses file, as named in messages.
    pub file: String,
    /// Number of persons.
    pub persons: usize,
    /// The survey weights, when the data has a weight column (left out of the JSON without).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<WeightSummary>,
    /// The items, in order.
    pub items: Vec<ItemSummary>,
    /// The profile attributes, in order.
    pub profile: Vec<String>,
    /// The grouping columns, in order.
    pub groups: Vec<String>,
}

/// `data.weight`: the survey weights of the persons kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WeightSummary {
    /// The weight column.
    pub column: String,
    /// The weights as read, summed: the population the persons stand for.
    pub sum: f64,
    /// Kish's effective sample size, (Σw)² / Σw².
    pub n_eff: f64,
}

/// One item of [`DataSummary`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ItemSummary {
    /// The item's column.
    pub name: String,
    /// Whether its options are ordered.
    pub ordinal: bool,
    /// Its options, in order.
    pub options: Vec<String>,
    /// Persons who answered.
    pub answers: usize,
    /// Persons whose answer is missing.
    pub missing: usize,
}

/// `evaluation`: the settings the metrics and verdicts come from.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Settings {
    /// Cross-fitting folds.
    pub folds: usize,
    /// Bootstrap replicates.
    pub bootstrap: usize,
    /// Seed of the folds and the bootstrap.
    pub seed: u64,
    /// CIs are at level 1 − alpha.
    pub alpha: f64,
    /// The baseline predictor's name.
    pub baseline: String,
    /// The decision rule.
    pub rule: Rule,
}

/// `simulation`: how simulated answers were drawn and tested.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SimulationSettings {
    /// Answers drawn per person from a predictor that gives probabilities.
    pub repeats: usize,
    /// Level of the effects' Wald tests.
    pub alpha: f64,
    /// Seed of the draws.
    pub seed: u64,
}

/// One predictor's report.
///
/// In JSON, `verdict` is `"baseline"` for the baseline and otherwise an object with the
/// verdict and the two estimates it rests on (`individual.pseudo_r2` and
/// `population.relative_gain`, repeated).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PredictorReport {
    /// Individual-level metrics.
    pub individual: Individual,
    /// Population-level metrics.
    pub population: Population,
    /// What the predictor is.
    pub kind: PredictorKind,
    /// The decision rule's verdict.
    pub verdict: Verdict,
    /// Simulation fidelity.
    pub simulation: SimulationReport,
}

impl Serialize for PredictorReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Judged<'a> {
            verdict: Verdict,
            pseudo_r2: &'a Estimate,
            population_relative_gain: &'a Estimate,
        }
        let mut s = serializer.serialize_struct("PredictorReport", 5)?;
        s.serialize_field("individual", &self.individual)?;
        s.serialize_field("population", &self.population)?;
        s.serialize_field("kind", &self.kind)?;
        match self.verdict {
            Verdict::Baseline => s.serialize_field("verdict", &self.verdict)?,
            verdict => s.serialize_field(
                "verdict",
                &Judged {
                    verdict,
                    pseudo_r2: &self.individual.overall.pseudo_r2,
                    population_relative_gain: &self.population.relative_gain,
                },
            )?,
        }
        s.serialize_field("simulation", &self.simulation)?;
        s.end()
    }
}

/// Held-out individual-level metrics per answer, the paired ones against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IndividualMetrics<T = Estimate> {
    /// Mean negative log-likelihood (natural log).
    pub nll: T,
    /// Mean multi-class Brier score.
    pub brier: T,
    /// Share of answers equal to the most probable option.
    pub accuracy: T,
    /// 1 − Σ NLL / Σ NLL of the baseline.
    pub pseudo_r2: T,
    /// Mean over persons of the baseline's minus the model's mean NLL.
    pub nll_gain_per_person: T,
    /// Share of persons whose mean NLL is below the baseline's.
    pub share_improved: T,
    /// Standardized mean difference of persons' mean NLL, model against baseline (negative
    /// is better).
    pub d: T,
}

impl<T> IndividualMetrics<T> {
    pub(super) fn map<U>(self, f: &mut dyn FnMut(T) -> U) -> IndividualMetrics<U> {
        IndividualMetrics {
            nll: f(self.nll),
            brier: f(self.brier),
            accuracy: f(self.accuracy),
            pseudo_r2: f(self.pseudo_r2),
            nll_gain_per_person: f(self.nll_gain_per_person),
            share_improved: f(self.share_improved),
            d: f(self.d),
        }
    }
}

/// `individual`: over all items, and per item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Individual<T = Estimate> {
    /// Over all items.
    #[serde(flatten)]
    pub overall: IndividualMetrics<T>,
    /// Per item, by name.
    pub items: IndexMap<String, IndividualMetrics<T>>,
}

impl<T> Individual<T> {
    pub(super) fn map<U>(self, f: &mut dyn FnMut(T) -> U) -> Individual<U> {
        Individual { overall: self.overall.map(f), items: self.items.into_iter().map(|(k, v)| (k, v.map(f))).collect() }
    }
}

/// Distances between a group's predicted and observed answer distributions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Distances<T = Estimate> {
    /// Total variation.
    pub tv: T,
    /// Jensen–Shannon divergence, in bits.
    pub js: T,
    /// Ordinal items: Wasserstein-1 on the positions 0…K−1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w1: Option<T>,
    /// Ordinal items: 1 − W1/(K−1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub representativeness: Option<T>,
}

impl<T> Distances<T> {
    pub(super) fn map<U>(self, f: &mut dyn FnMut(T) -> U) -> Distances<U> {
        Distances {
            tv: f(self.tv),
            js: f(self.js),
            w1: self.w1.map(&mut *f),
            representativeness: self.representativeness.map(f),
        }
    }
}

/// One grouping's TV, averaged over its groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GroupingTv<T = Estimate> {
    /// Size-weighted mean TV over groups and items.
    pub mean: T,
    /// 1 − mean / the baseline's mean.
    pub relative_gain: T,
}

/// `population.tv`: total variation averaged over items.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Tv<T = Estimate> {
    /// The whole sample, size-weighted over items.
    pub overall: T,
    /// Per group of each grouping (left out of the JSON without groupings).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub groups: ByGroup<T>,
    /// Per grouping (left out of the JSON without groupings).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub groupings: IndexMap<String, GroupingTv<T>>,
}

/// `population`: predicted against observed answer distributions, within each fold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Population<T = Estimate> {
    /// Item → grouping (`all`: the whole sample, level `all`) → level → distances; groups
    /// without answers are left out.
    pub items: IndexMap<String, ByGroup<Distances<T>>>,
    /// Total variation averaged over items.
    pub tv: Tv<T>,
    /// Mean of the groupings' mean TV (the whole sample's without groupings).
    pub tv_score: T,
    /// 1 − tv_score / the baseline's tv_score: the verdict's population gain.
    pub relative_gain: T,
}

impl<T> Population<T> {
    pub(super) fn map<U>(self, f: &mut dyn FnMut(T) -> U) -> Population<U> {
        let mut items = IndexMap::with_capacity(self.items.len());
        for (item, groupings) in self.items {
            let groupings = groupings
                .into_iter()
                .map(|(g, levels)| (g, levels.into_iter().map(|(l, d)| (l, d.map(f))).collect()))
                .collect();
            items.insert(item, groupings);
        }
        Population {
            items,
            tv: Tv {
                overall: f(self.tv.overall),
                groups: self
                    .tv
                    .groups
                    .into_iter()
                    .map(|(k, levels)| (k, levels.into_iter().map(|(l, v)| (l, f(v))).collect()))
                    .collect(),
                groupings: self
                    .tv
                    .groupings
                    .into_iter()
                    .map(|(k, g)| (k, GroupingTv { mean: f(g.mean), relative_gain: f(g.relative_gain) }))
                    .collect(),
            },
            tv_score: f(self.tv_score),
            relative_gain: f(self.relative_gain),
        }
    }
}

/// `simulation` of a predictor: effect replication and run-to-run variance of its simulated
/// answers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SimulationReport {
    /// Whether the predictor sampled its answers or populace drew them.
    pub draws: DrawSource,
    /// Effect replication.
    pub replication: Replication,
    /// Run-to-run against between-persona variance; `None` (`null`) without two draws per
    /// person.
    pub variance: Option<Variance>,
}

/// Effect replication: real effects found again in the simulated answers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Replication {
    /// Level of the Wald tests.
    pub alpha: f64,
    /// Main effects.
    pub main: ReplicationRate,
    /// Two-way interactions.
    pub interaction: ReplicationRate,
    /// Real-null effects significant in the simulation.
    pub false_positive: FalsePositives,
    /// Replication by the real p-value.
    pub by_strength: Vec<StrengthBin>,
    /// Every effect with both estimates.
    pub effects: Vec<EffectReplication>,
}

/// Replicated real effects of one kind.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ReplicationRate {
    /// Effects significant in the real answers.
    pub real_significant: usize,
    /// Those significant with the same sign in the simulated answers.
    pub replicated: usize,
    /// replicated / real_significant with a Wilson interval.
    pub rate: Estimate,
}

/// Real-null effects (p ≥ alpha) significant in the simulation.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FalsePositives {
    /// Effects null in the real answers.
    pub real_null: usize,
    /// Those significant in the simulated answers.
    pub significant: usize,
    /// significant / real_null with a Wilson interval.
    pub rate: Estimate,
}

/// Replication of the real effects whose p-value lies in `[p_from, p_below)`.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StrengthBin {
    /// Lower end of the real p-values.
    pub p_from: f64,
    /// Upper end (excluded).
    pub p_below: f64,
    /// Effects significant in the real answers in the bin.
    pub real_significant: usize,
    /// Those replicated.
    pub replicated: usize,
    /// replicated / real_significant with a Wilson interval.
    pub rate: Estimate,
}

/// One real effect and its estimate in the simulated answers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EffectReplication {
    /// The item.
    pub item: String,
    /// Main or interaction.
    pub kind: EffectKind,
    /// The term, e.g. `sex=female`.
    pub term: String,
    /// `option vs reference` (nominal items) or `scale` (ordinal ones).
    pub contrast: String,
    /// On the real answers.
    pub real: EffectEstimate,
    /// On the simulated answers; `None` when the term could not be estimated there.
    pub simulated: Option<EffectEstimate>,
    /// Significant in both, with the same sign.
    pub replicated: bool,
}

/// A coefficient with its Wald test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EffectEstimate {
    /// Coefficient.
    pub estimate: f64,
    /// Standard error.
    pub se: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// Run-to-run (within-person) against between-persona variance of simulated answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VarianceComponents {
    /// Mean within-person variance.
    pub within: Estimate,
    /// Total minus within.
    pub between: Estimate,
    /// between / total.
    pub icc: Estimate,
}

/// `variance`: averaged over items, and per item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Variance {
    /// Averaged over items.
    #[serde(flatten)]
    pub overall: VarianceComponents,
    /// The fewest draws any person has.
    pub repeats: usize,
    /// Per item, by name.
    pub items: IndexMap<String, VarianceComponents>,
}

/// One persona pool's predicted answers against the respondents'.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PoolReport {
    /// The pool file, as named in messages.
    pub file: String,
    /// Persons in the pool.
    pub persons: usize,
    /// Per predictor asked, by name.
    pub predictors: IndexMap<String, PoolScore>,
}

/// A pool's distance from the respondents' answers through one predictor.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PoolScore {
    /// Total variation, averaged over items.
    pub tv: PoolTv,
    /// Mean over the groupings (the whole sample's TV without any).
    pub tv_score: Estimate,
    /// Paired difference of tv_score from the first pool's (not for the first pool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference_from_first: Option<Estimate>,
}

/// A pool's TV on the whole sample and per grouping.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PoolTv {
    /// The whole sample.
    pub overall: Estimate,
    /// Per grouping that is a profile attribute, groups weighted by their respondents.
    pub groupings: IndexMap<String, Estimate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_that_are_not_finite_serialize_as_null() {
        let e = Estimate::new(f64::NAN, 0.5, f64::INFINITY);
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"estimate":null,"ci_low":0.5,"ci_high":null}"#);
        assert!(!e.is_finite() && Estimate::new(1.0, 0.5, 2.0).is_finite());
    }

    #[test]
    fn the_rule_gives_each_verdict() {
        let rule = Rule { individual_min_pseudo_r2: 0.0, population_min_relative_tv_gain: 0.05 };
        let (none, some) = (Estimate::new(0.0, -0.1, 0.1), Estimate::new(0.2, 0.1, 0.3));
        assert_eq!(rule.verdict(&some, &none), Verdict::ImprovesIndividuals);
        assert_eq!(rule.verdict(&none, &some), Verdict::ImprovesPopulationsOnly);
        assert_eq!(rule.verdict(&none, &Estimate::new(0.04, 0.01, 0.07)), Verdict::Neither);
        assert_eq!(rule.verdict(&none, &Estimate::new(0.2, -0.01, 0.4)), Verdict::Neither);
        assert_eq!(serde_json::to_string(&Verdict::ImprovesPopulationsOnly).unwrap(), "\"improves populations only\"");
        assert_eq!(format!("[{:<10}]", Verdict::Neither), "[neither   ]");
    }
}
