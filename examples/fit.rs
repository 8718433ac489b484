//! Fit the shipped ACS 2012 joint with the library API and print the fitted share of each
//! age group that is married.
//!
//! Run with `cargo run --release --example fit`.

use populace::fitting::fit_dense;
use populace::inputs::{LoadOptions, Problem, Spec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/acs2012.toml");
    let spec = Spec::from_path(&path)?;
    let problem = Problem::load(&spec, LoadOptions::default())?;
    let fit = fit_dense(&problem, &spec.fit, &mut [])?;
    println!(
        "converged: {} after {} sweeps (max margin deviation {:.2e})",
        fit.convergence.converged, fit.convergence.iterations, fit.convergence.max_deviation
    );

    // the fitted joint summed onto age_group × married (married fastest)
    let table = fit.marginal(&["age_group", "married"])?;
    let [age, married] = [table.attributes[0], table.attributes[1]].map(|a| fit.domain.attribute(a));
    let yes = married.code("yes").ok_or("no married=yes")? as usize;
    for (category, counts) in age.categories().iter().zip(table.values.chunks(married.len())) {
        let total: f64 = counts.iter().sum();
        println!("{category:>6}: {:5.1}% married of {total:6.1}", 100.0 * counts[yes] / total);
    }
    Ok(())
}
