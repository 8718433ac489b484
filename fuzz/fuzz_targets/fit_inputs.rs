//! Fuzzes the fit path from bytes: a spec (TOML), two margin CSVs and a seed CSV go to the
//! in-memory entry points (`Spec::from_toml_str`, then `ProblemBuilder::from_spec` with each file
//! the spec names taken from the input's parts `a.csv`, `b.csv` and `seed.csv`; any other name
//! reads as empty), then the fit the spec names (`fitting::fit`) and a small pool drawn from it.
//! Any error is fine; a panic, a hang or an absurd allocation is a bug. Limits keep each run
//! small: at most 2^16 dense cells, 200 iterations, 50 persons.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::fitting::fit;
use populace::generation::{GenerateOptions, Mode, Pool};
use populace::inputs::{Csv, ProblemBuilder, Spec};

/// The files a spec may name, in the order of the input's parts after the spec.
const FILES: [&str; 3] = ["a.csv", "b.csv", "seed.csv"];

fuzz_target!(|data: &[u8]| {
    let parts = populace_fuzz::parts(data, 1 + FILES.len());
    let Ok(text) = std::str::from_utf8(parts[0]) else { return };
    let Ok(spec) = Spec::from_toml_str(text, "spec.toml") else { return };
    let open = |file: &std::path::Path| {
        let name = file.display().to_string();
        let part = FILES.iter().position(|f| *f == name).and_then(|i| parts.get(i + 1));
        Csv::text(name, part.copied().unwrap_or_default())
    };
    let rescale = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(problem) = ProblemBuilder::from_spec(&spec, open).rescale(rescale).build() else { return };
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
