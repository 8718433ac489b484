//! Fuzzes the fit path from files: spec TOML, two margin CSVs and a seed CSV are written to a
//! temporary folder, then `Spec::from_path`, `Problem::load`, the fit the spec names
//! (`fitting::fit`) and a small pool drawn from it. Any error is fine; a panic, a
//! hang or an absurd allocation is a bug. Limits keep each run small: at most 2^16 dense
//! cells, 200 iterations, 50 persons.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::fitting::fit;
use populace::generation::{GenerateOptions, Mode, Pool};
use populace::inputs::{LoadOptions, Problem, Spec};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    populace_fuzz::write_parts(dir.path(), data, &["spec.toml", "a.csv", "b.csv", "seed.csv"]);
    let Ok(spec) = Spec::from_path(&dir.path().join("spec.toml")) else { return };
    let rescale = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(problem) = Problem::load(&spec, LoadOptions { rescale }) else { return };
    let limits = spec.fit.to_params().max_cells(spec.fit.max_cells().min(1 << 16));
    let limits = limits.max_iterations(spec.fit.stopping().max_iterations().min(200));
    let options = limits.check().expect("lower limits are valid");
    let Ok(fitted) = fit(&problem, &options, &mut []) else { return };
    let mode = if data.last().is_some_and(|b| b & 1 == 1) { Mode::Random } else { Mode::Exact };
    let draw = GenerateOptions::default().persons(Some(50)).mode(mode);
    let Ok(pool) = Pool::from_fitted(&problem, &fitted, &draw) else { return };
    let mut rows = 0usize;
    let _ = pool.write(
        &mut |batch: &populace::generation::Batch<'_>| {
            for i in 0..batch.len() {
                let _ = batch.card(i);
            }
            rows += batch.len();
            Ok(())
        },
        &mut |_| {},
    );
    assert!(rows <= 50, "asked for 50 persons, got {rows}");
});
