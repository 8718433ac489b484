//! Fuzzes `populace evaluate`'s inputs in memory: an experiment spec (TOML) and a responses CSV,
//! separated by `populace_fuzz::MARKER`, go through `specfile::parse`, `Dataset::from_reader`
//! and `Experiment::run`, with folds and bootstrap replicates capped so that a run stays small.
//! Pools are left out (they are files, and the responses' reader reads them). Any error is
//! fine; a panic, a hang or an absurd allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::evaluation::{summary_markdown, Dataset, Experiment, ExperimentSpec, PredictorKind};

fuzz_target!(|data: &[u8]| {
    let parts = populace_fuzz::parts(data, 2);
    let csv = parts.get(1).copied().unwrap_or_default();
    let Ok(toml) = std::str::from_utf8(parts[0]) else { return };
    let Ok(mut spec) = populace::specfile::parse::<ExperimentSpec>(toml, "experiment.toml") else { return };
    // predictors that run a program the spec names are not for fuzzing
    if spec.predictors.iter().any(|p| p.kind() == PredictorKind::External) {
        return;
    }
    spec.evaluation.folds = spec.evaluation.folds.min(4);
    spec.evaluation.bootstrap = spec.evaluation.bootstrap.min(20);
    spec.pools.clear();
    let Ok(responses) = Dataset::from_reader(csv, &spec.data, &spec.population.groups) else { return };
    let Ok(mut experiment) = Experiment::from_spec(&spec) else { return };
    if let Ok(result) = experiment.run(&responses, &mut |_| {}) {
        let _ = summary_markdown(&result);
    }
});
