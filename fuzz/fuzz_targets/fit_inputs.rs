//! Fuzzes the fit path from files: spec TOML, two margin CSVs and a seed CSV are written to a
//! temporary folder, then `Spec::from_path`, `Problem::load`, the fit the spec names
//! (`fit_dense` or `fit_microdata`) and a small generated pool. Any error is fine; a panic, a
//! hang or an absurd allocation is a bug. Limits keep each run small: at most 2^16 dense
//! cells, 200 iterations, 50 persons.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::calibration::fit_microdata;
use populace::fitting::fit_dense;
use populace::generation::{generate, GenerateOptions, Mode};
use populace::inputs::{LoadOptions, Problem, Spec};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    populace_fuzz::write_parts(dir.path(), data, &["spec.toml", "a.csv", "b.csv", "seed.csv"]);
    let Ok(spec) = Spec::from_path(&dir.path().join("spec.toml")) else { return };
    let rescale = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(mut problem) = Problem::load(&spec, LoadOptions { rescale }) else { return };
    problem.fit.max_cells = problem.fit.max_cells.min(1 << 16);
    problem.fit.max_iterations = problem.fit.max_iterations.min(200);
    let fitted = if problem.fit.method.is_microdata() {
        fit_microdata(&problem, &mut []).map(|_| ())
    } else {
        fit_dense(&problem, &mut []).map(|_| ())
    };
    if fitted.is_err() {
        return;
    }
    let mode = if data.last().is_some_and(|b| b & 1 == 1) { Mode::Random } else { Mode::Exact };
    let options = GenerateOptions { persons: Some(50), mode, ..GenerateOptions::default() };
    let mut rows = 0usize;
    let _ = generate(&problem, &options, &mut |batch: &populace::generation::Batch<'_>| {
        for i in 0..batch.len() {
            let _ = batch.card(i);
        }
        rows += batch.len();
        Ok(())
    });
    assert!(rows <= 50, "asked for 50 persons, got {rows}");
});
