//! Does conditioning on a persona improve predictions of individuals, or only of populations?
//!
//! An [`Experiment`] cross-fits every [`Predictor`] over seeded folds of persons (nobody is
//! predicted by a model that saw them), scores the held-out predictions at the individual
//! level (NLL, Brier, accuracy, pseudo-R², paired differences against the population
//! baseline) and at the population level (total variation, Jensen–Shannon, Wasserstein-1
//! between predicted and observed answer distributions, overall and per group), attaches
//! percentile bootstrap CIs over persons, applies the decision rule, and measures how well
//! each predictor's simulated answers replicate the real profile effects. The result is an
//! [`Evaluation`]: typed, and serialized as `evaluation.json` (docs/evaluate.md). With survey
//! weights ([`DataSpec::weight`]), every statistic over persons is weighted, the built-in
//! predictors fit weighted, and the bootstrap resamples persons with their weights.
//!
//! [`evaluate`] runs the experiment an [`ExperimentSpec`] (TOML) describes. In code, build
//! the predictors — the built-in [`Population`], [`Profile`], [`Cell`], [`History`] and
//! [`External`], or any type implementing [`Predictor`] — and run them on a [`Dataset`] read
//! from a file or any reader, or built from a [`Frame`](crate::frame::Frame) in memory
//! ([`Dataset::from_frame`]). [`world`] generates known-truth data to validate all this:
//!
//! ```
//! use populace::evaluation::world::WorldSpec;
//! use populace::evaluation::{
//!     DataSpec, Dataset, EvaluationSpec, Experiment, Population, PopulationParams, Prediction, Predictor, Profile,
//!     ProfileParams, Verdict,
//! };
//!
//! /// Every option equally likely, whoever is asked.
//! struct Uniform;
//!
//! impl Predictor for Uniform {
//!     fn name(&self) -> &str {
//!         "uniform"
//!     }
//!     fn fit(&mut self, _: &Dataset, _: &[usize], _: usize) -> populace::Result<()> {
//!         Ok(())
//!     }
//!     fn predict(&mut self, data: &Dataset, persons: &[usize], item: usize) -> populace::Result<Vec<Prediction>> {
//!         let k = data.item(item).levels().len();
//!         Ok(persons.iter().map(|_| Prediction::new(vec![1.0 / k as f64; k])).collect())
//!     }
//! }
//!
//! // 400 persons whose answers depend on their profile (age group, sex, education, region).
//! let world = WorldSpec { persons: 400, ..WorldSpec::default() };
//! let columns = DataSpec::new("world", "person_id", ["age_group", "sex", "education", "region"], ["q1", "choice"]);
//! let data = Dataset::from_reader(&world.to_csv()[..], &columns.ordinal(["q1"]), &[])?;
//!
//! let result = Experiment::new()
//!     .with_predictor(Box::new(Population::new("population", PopulationParams::default())?))
//!     .with_predictor(Box::new(Profile::new("profile", ProfileParams::default())?))
//!     .with_predictor(Box::new(Uniform))
//!     .with_evaluation(EvaluationSpec::default().bootstrap(200))
//!     .run(&data, &mut |_| {})?;
//! assert_eq!(result.predictors["profile"].verdict, Verdict::ImprovesIndividuals);
//! assert_eq!(result.predictors["uniform"].verdict, Verdict::Neither);
//! // Ignoring the answers' distribution costs: the uniform guess is worse than the baseline.
//! assert!(result.predictors["uniform"].individual.overall.pseudo_r2.ci_high < 0.0);
//! # Ok::<(), populace::Error>(())
//! ```

mod crossfit;
mod data;
pub mod effects;
mod external;
mod factory;
mod logistic;
mod params;
mod plot;
pub mod pools;
mod predictor;
pub mod replication;
pub mod report;
mod scoring;
pub mod simulation;
mod spec;
pub mod stats;
mod summary;
pub mod variance;
pub mod world;

pub use crossfit::{assign_folds, cross_fit, Predictions};
pub use data::{Attribute, Dataset, Grouping, Item};
pub use external::External;
pub use factory::build;
pub use logistic::Logistic;
pub use params::{
    CellParams, ExternalParams, HistoryParams, PopulationParams, PredictorKind, PredictorParams, ProfileParams,
};
pub use plot::evaluation_panels;
pub use predictor::{Cell, History, Population, Prediction, Predictor, Profile};
pub use report::{Estimate, Evaluation, Verdict};
pub use spec::{DataSpec, EvaluationSpec, ExperimentSpec, PoolSpec, PopulationSpec, PredictorSpec, SimulationSpec};
pub use summary::summary_markdown;

use indexmap::IndexMap;

use crate::error::{Error, Location, Result};
use params::predictor_error;
use report::{
    DataSummary, ItemSummary, MissingReport, PredictorReport, Rule, Settings, SimulationReport, SimulationSettings,
};

/// Runs the experiment a spec describes on its responses file.
///
/// # Errors
/// Everything [`Dataset::load`], [`Experiment::from_spec`] and [`Experiment::run`] report.
pub fn evaluate(spec: &ExperimentSpec, progress: &mut dyn FnMut(&str)) -> Result<Evaluation> {
    let data = Dataset::load(&spec.data, &spec.population.groups)?;
    Experiment::from_spec(spec)?.run(&data, progress)
}

/// Predictors and settings, ready to run on a [`Dataset`].
///
/// [`Experiment::from_spec`] builds a spec's predictors; [`Experiment::with_predictor`] adds
/// any other, built-in or your own. Exactly one must be of kind
/// [`PredictorKind::Population`]: the baseline. See the [module documentation](self) for an
/// example.
pub struct Experiment {
    predictors: Vec<Box<dyn Predictor>>,
    evaluation: EvaluationSpec,
    simulation: SimulationSpec,
    pools: Vec<PoolSpec>,
}

impl Default for Experiment {
    fn default() -> Self {
        Experiment::new()
    }
}

impl Experiment {
    /// No predictors, the default settings, no pools.
    pub fn new() -> Experiment {
        Experiment {
            predictors: Vec::new(),
            evaluation: EvaluationSpec::default(),
            simulation: SimulationSpec::default(),
            pools: Vec::new(),
        }
    }

    /// The predictors (built; external ones keep their answers in `spec.cache_dir`), settings
    /// and pools of a spec.
    ///
    /// # Errors
    /// What [`build`] reports for a predictor.
    pub fn from_spec(spec: &ExperimentSpec) -> Result<Experiment> {
        let predictors = spec.predictors.iter().map(|p| build(p, spec.cache_dir.as_deref())).collect::<Result<_>>()?;
        Ok(Experiment {
            predictors,
            evaluation: spec.evaluation.clone(),
            simulation: spec.simulation.clone(),
            pools: spec.pools.clone(),
        })
    }

    /// With one more predictor, after those already there; it is cross-fitted, scored and
    /// judged like every other.
    pub fn with_predictor(mut self, predictor: Box<dyn Predictor>) -> Experiment {
        self.predictors.push(predictor);
        self
    }

    /// With these cross-fitting, bootstrap and decision-rule settings.
    pub fn with_evaluation(mut self, evaluation: EvaluationSpec) -> Experiment {
        self.evaluation = evaluation;
        self
    }

    /// With these simulation settings.
    pub fn with_simulation(mut self, simulation: SimulationSpec) -> Experiment {
        self.simulation = simulation;
        self
    }

    /// With one more persona pool.
    pub fn with_pool(mut self, pool: PoolSpec) -> Experiment {
        self.pools.push(pool);
        self
    }

    /// The settings, predictors, pools and groupings make sense together.
    fn check(&self, data: &Dataset) -> Result<()> {
        let settings = |m: String| Error::input(Location::file("experiment"), m);
        self.evaluation.validate().map_err(settings)?;
        self.simulation.validate().map_err(settings)?;
        let predictors: Vec<(&str, PredictorKind)> = self.predictors.iter().map(|p| (p.name(), p.kind())).collect();
        if let Some((name, _)) = predictors.iter().find(|(name, _)| name.is_empty()) {
            return Err(predictor_error(name, "the name is empty"));
        }
        spec::check_predictors(&predictors).map_err(settings)?;
        spec::check_pools(&self.pools, &predictors).map_err(settings)?;
        let groups: Vec<&str> = data.groups().map(|g| g.name()).collect();
        spec::check_groups(&groups).map_err(|m| Error::input(Location::file(data.source()), m))?;
        let folds = self.evaluation.folds;
        if data.persons() < 2 * folds {
            return Err(Error::input(
                Location::file(data.source()),
                format!("{} persons are too few for {folds} folds (need at least 2 per fold)", data.persons()),
            ));
        }
        Ok(())
    }

    /// Cross-fits and scores every predictor on `data`, reporting each step to `progress`.
    ///
    /// # Errors
    /// [`Error::Input`] for settings out of range, predictors without exactly one baseline
    /// or with a name used twice, pools naming unknown predictors or ones that need answers,
    /// a pool [`pools::read_pool`] refuses (read before any predictor is fitted),
    /// groupings named twice or `all`, fewer than 2 persons per fold, or predictions that are
    /// not one distribution over the options per person asked; and whatever a predictor's
    /// `fit` or `predict` reports.
    pub fn run(&mut self, data: &Dataset, progress: &mut dyn FnMut(&str)) -> Result<Evaluation> {
        self.check(data)?;
        let pool_data: Vec<Dataset> = self.pools.iter().map(|p| data.read_pool(&p.file)).collect::<Result<_>>()?;
        let e = &self.evaluation;
        let preds = cross_fit(data, &mut self.predictors, e.folds, e.seed, progress)?;
        progress("bootstrap");
        let baseline = self.predictors.iter().position(|p| p.kind() == PredictorKind::Population).unwrap_or(0);
        let scores = scoring::score(data, &preds, baseline, e.folds, e.bootstrap, e.seed, e.alpha);
        progress("effect replication and run-to-run variance");
        let sim = &self.simulation;
        let (draws, sources) = simulation::draws(&preds, sim);
        let real = replication::RealEffects::estimate(data);
        let rule = Rule {
            individual_min_pseudo_r2: e.individual_min_pseudo_r2,
            population_min_relative_tv_gain: e.population_min_relative_tv_gain,
        };
        let mut reports = IndexMap::new();
        for (m, ((individual, population), (p, draws))) in
            scores.into_iter().zip(self.predictors.iter().zip(draws)).enumerate()
        {
            let verdict = if m == baseline {
                Verdict::Baseline
            } else {
                rule.verdict(&individual.overall.pseudo_r2, &population.relative_gain)
            };
            let simulation = SimulationReport {
                draws: sources[m],
                replication: replication::replication(data, &real, &draws, sim.alpha),
                variance: variance::run_to_run(data, &draws, e.bootstrap, e.seed, e.alpha),
            };
            let report = PredictorReport { individual, population, kind: p.kind(), verdict, simulation };
            reports.insert(p.name().to_string(), report);
        }
        let pools = if self.pools.is_empty() {
            IndexMap::new()
        } else {
            progress("persona pools");
            let usable: Vec<bool> = self.predictors.iter().map(|p| p.kind() != PredictorKind::History).collect();
            pools::score(data, &self.pools, &pool_data, &mut self.predictors, &usable, e.bootstrap, e.seed, e.alpha)?
        };
        let items = data
            .items()
            .map(|it| ItemSummary {
                name: it.name().to_string(),
                ordinal: it.ordinal(),
                options: it.levels().to_vec(),
                answers: data.persons() - it.missing(),
                missing: it.missing(),
            })
            .collect();
        let missing = MissingReport {
            values: data.missing_values().clone(),
            inputs: std::iter::once(data).chain(&pool_data).map(|d| d.missing().clone()).collect(),
            persons_without_answers: data.without_answers(),
            persons_without_group: data
                .groups()
                .filter(|g| g.missing() > 0)
                .map(|g| (g.name().to_string(), g.missing()))
                .collect(),
        };
        Ok(Evaluation {
            missing,
            data: DataSummary {
                file: data.source().to_string(),
                persons: data.persons(),
                weight: data.weighting().cloned(),
                items,
                profile: data.profile().map(|a| a.name().to_string()).collect(),
                groups: data.groups().map(|g| g.name().to_string()).collect(),
            },
            evaluation: Settings {
                folds: e.folds,
                bootstrap: e.bootstrap,
                seed: e.seed,
                alpha: e.alpha,
                baseline: self.predictors[baseline].name().to_string(),
                rule,
            },
            predictors: reports,
            warnings: data.warnings().to_vec(),
            simulation: SimulationSettings { repeats: sim.repeats, alpha: sim.alpha, seed: sim.seed },
            pools,
        })
    }
}
