//! Evaluate an experiment with the library API and print each predictor's verdict: does
//! conditioning on a persona improve predictions of individuals, or only of populations?
//!
//! Run with `cargo run --release --example evaluate [SPEC.toml]`; without a spec it runs the
//! shipped ANES 1996 experiment (`calibration/experiment_anes1996.toml`).

use populace::evaluation::{evaluate, Estimate, ExperimentSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/experiment_anes1996.toml"),
    };
    let spec = ExperimentSpec::from_path(&path)?;
    let result = evaluate(&spec, &mut |_| {})?;
    for w in &result.warnings {
        eprintln!("warning: {w}");
    }
    let ci = |v: &Estimate| format!("{:.4} [{:.4}, {:.4}]", v.estimate, v.ci_low, v.ci_high);
    println!(
        "{}: {} persons, {} bootstrap resamples, baseline {}",
        path.display(),
        result.data.persons,
        result.evaluation.bootstrap,
        result.evaluation.baseline
    );
    for (name, verdict) in result.verdicts() {
        let p = &result.predictors[name];
        let replication = &p.simulation.replication;
        let (main, interaction) = (&replication.main, &replication.interaction);
        println!(
            "  {name:<12} {verdict:<26} pseudo-R² {}  relative TV gain {}  replicates {}/{} main effects, {}/{} interactions",
            ci(&p.individual.overall.pseudo_r2),
            ci(&p.population.relative_gain),
            main.replicated,
            main.real_significant,
            interaction.replicated,
            interaction.real_significant
        );
    }
    Ok(())
}
