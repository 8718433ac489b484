//! Fuzzes persona-card templates: the input is a MiniJinja template, rendered for the persons of
//! a small fitted pool under the card limits (fuel, output size). Any error is fine; a panic or
//! a hang is a bug.
//!
//! Templates that can build large strings in few steps (`~`, `+`, `*`, `replace`, `format`,
//! numbers of six digits or more) are left out: MiniJinja builds those values before fuel or
//! the output cap see them, and the `populace` command bounds them with its per-card
//! allocation budget (`populace::memory::CARD_MAX_ALLOCATION`, tested in
//! tests/resource_limits.rs), which a fuzzing process cannot enforce without ending the run.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::fitting::fit;
use populace::generation::{Batch, CardTemplate, GenerateOptions, Pool};
use populace::inputs::{Csv, FitOptions, MarginInput, Problem};

/// Whether `source` holds an operator or filter that builds a large value in one step.
fn grows(source: &str) -> bool {
    let digits = source.as_bytes().split(|b| !b.is_ascii_digit()).any(|run| run.len() >= 6);
    digits || ["~", "+", "*", "replace", "format"].iter().any(|op| source.contains(op))
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if grows(source) {
        return;
    }
    let problem = Problem::builder()
        .margin(MarginInput::csv(Csv::text("age_sex.csv", "age,sex,count\nyoung,f,3\nyoung,m,2\nold,f,1\nold,m,4\n")))
        .build()
        .expect("a valid problem");
    let options = FitOptions::params().check().expect("default options");
    let fitted = fit(&problem, &options, &mut []).expect("the fit converges");
    let draw = GenerateOptions::default().persons(Some(10)).card(Some(CardTemplate::new("card.j2", source)));
    let Ok(pool) = Pool::from_fitted(&problem, &fitted, &draw) else { return };
    let _ = pool.write(
        &mut |batch: &Batch<'_>| {
            for i in 0..batch.len() {
                let _ = batch.card(i);
            }
            Ok(())
        },
        &mut |_| {},
    );
});
