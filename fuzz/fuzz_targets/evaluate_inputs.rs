//! Fuzzes `populace evaluate`'s inputs: an experiment spec (TOML) and a responses CSV are
//! written to a temporary folder, then `ExperimentSpec::from_path` and `evaluate`, with folds
//! and bootstrap replicates capped so that a run stays small. Any error is fine; a panic, a
//! hang or an absurd allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::evaluation::{evaluate, ExperimentSpec};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    populace_fuzz::write_parts(dir.path(), data, &["experiment.toml", "responses.csv"]);
    let Ok(mut spec) = ExperimentSpec::from_path(&dir.path().join("experiment.toml")) else { return };
    // predictors that run a program the spec names are not for fuzzing
    if spec
        .predictors
        .iter()
        .any(|p| !matches!(format!("{:?}", p.kind()).as_str(), "Population" | "Profile" | "Cell" | "History"))
    {
        return;
    }
    spec.evaluation.folds = spec.evaluation.folds.min(4);
    spec.evaluation.bootstrap = spec.evaluation.bootstrap.min(20);
    if let Ok(result) = evaluate(&spec, &mut |_| {}) {
        let _ = populace::evaluation::summary_markdown(&result);
    }
});
