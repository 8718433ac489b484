//! Draw ten personas from the shipped ACS 2012 population with the library API and print their
//! cards.
//!
//! Run with `cargo run --release --example generate`.

use populace::generation::{generate, Batch, GenerateOptions, Mode};
use populace::inputs::{LoadOptions, Problem, Spec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/acs2012.toml");
    let spec = Spec::from_path(&path)?;
    let problem = Problem::load(&spec, LoadOptions::default())?;
    let options = GenerateOptions::default().persons(Some(10)).mode(Mode::Random).seed(2012);
    let summary = generate(&problem, &spec.fit, &options, &mut |batch: &Batch| {
        for i in 0..batch.len() {
            println!("{:>2}. {}", batch.person_id(i), batch.card(i).unwrap_or_default());
        }
        Ok(())
    })?;
    println!("{} persons, {} mode, {} ({})", summary.persons, summary.mode.name(), summary.source, summary.method);
    Ok(())
}
