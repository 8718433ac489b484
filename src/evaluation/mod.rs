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
pub use data::{Column, Dataset, Item};
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

use crate::error::Result;
use report::{DataSummary, ItemSummary, PredictorReport, Rule, Settings, SimulationReport, SimulationSettings};

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
    let baseline = spec.predictors.iter().position(|p| p.kind() == PredictorKind::Population).unwrap_or(0);
    let scores = scoring::score(&data, &preds, baseline, e.folds, e.bootstrap, e.seed, e.alpha);
    progress("effect replication and run-to-run variance");
    let sim = &spec.simulation;
    let (draws, sources) = simulation::draws(&preds, sim);
    let real = replication::RealEffects::estimate(&data);
    let rule = Rule {
        individual_min_pseudo_r2: e.individual_min_pseudo_r2,
        population_min_relative_tv_gain: e.population_min_relative_tv_gain,
    };
    let mut reports = IndexMap::new();
    for (m, ((individual, population), (p, draws))) in
        scores.into_iter().zip(spec.predictors.iter().zip(draws)).enumerate()
    {
        let verdict = if m == baseline {
            Verdict::Baseline
        } else {
            rule.verdict(&individual.overall.pseudo_r2, &population.relative_gain)
        };
        let simulation = SimulationReport {
            draws: sources[m],
            replication: replication::replication(&data, &real, &draws, sim.alpha),
            variance: variance::run_to_run(&data, &draws, e.bootstrap, e.seed, e.alpha),
        };
        reports.insert(p.name.clone(), PredictorReport { individual, population, kind: p.kind(), verdict, simulation });
    }
    let pools = if spec.pools.is_empty() {
        IndexMap::new()
    } else {
        progress("persona pools");
        let usable: Vec<bool> = spec.predictors.iter().map(|p| p.kind() != PredictorKind::History).collect();
        pools::score_pools(&data, &spec.pools, &mut predictors, &usable, e.bootstrap, e.seed, e.alpha)?
    };
    let items = data
        .items
        .iter()
        .map(|it| ItemSummary {
            name: it.column.name.clone(),
            ordinal: it.ordinal,
            options: it.column.levels.clone(),
            answers: data.persons() - it.missing,
            missing: it.missing,
        })
        .collect();
    Ok(Evaluation {
        data: DataSummary {
            file: spec.data.file.display().to_string(),
            persons: data.persons(),
            items,
            profile: spec.data.profile.clone(),
            groups: spec.population.groups.clone(),
        },
        evaluation: Settings {
            folds: e.folds,
            bootstrap: e.bootstrap,
            seed: e.seed,
            alpha: e.alpha,
            baseline: spec.predictors[baseline].name.clone(),
            rule,
        },
        predictors: reports,
        warnings: data.warnings,
        simulation: SimulationSettings { repeats: sim.repeats, alpha: sim.alpha, seed: sim.seed },
        pools,
    })
}
