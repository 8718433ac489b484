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
    let fit = fit_dense(&problem, &mut [])?;
    println!(
        "converged: {} after {} sweeps (max margin deviation {:.2e})",
        fit.convergence.converged, fit.convergence.iterations, fit.convergence.max_deviation
    );

    // sum the fitted joint onto age_group × married
    let domain = &problem.domain;
    let age = domain.index_of("age_group").ok_or("no age_group")?;
    let married = domain.index_of("married").ok_or("no married")?;
    let yes = domain.attribute(married).code("yes").ok_or("no married=yes")? as usize;
    let sizes = &fit.joint.sizes;
    let mut totals = vec![[0.0f64; 2]; sizes[age]];
    let mut codes = vec![0usize; sizes.len()];
    for &v in &fit.joint.values {
        totals[codes[age]][usize::from(codes[married] == yes)] += v;
        for d in (0..codes.len()).rev() {
            codes[d] += 1;
            if codes[d] < sizes[d] {
                break;
            }
            codes[d] = 0;
        }
    }
    for (category, [no, yes]) in domain.attribute(age).categories().iter().zip(totals) {
        println!("{category:>6}: {:5.1}% married of {:6.1}", 100.0 * yes / (no + yes), no + yes);
    }
    Ok(())
}
