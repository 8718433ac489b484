//! `populace fit SPEC [--out DIR]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use populace::error::exit;
use populace::fitting::fit_dense;
use populace::inputs::{LoadOptions, Problem, Spec};
use populace::reports::{write_joint_csv, write_json, FitReport};

use super::emit;
use super::progress::Spinner;

/// Fit the joint distribution described by a spec and write it with a report.
///
/// Writes DIR/joint.csv (the fitted joint: one column per attribute plus `count`, every cell
/// in category order) and DIR/report.json (iterations, convergence, per-margin deviations).
#[derive(Args)]
#[command(after_help = "Example:\n  populace fit calibration/acs2012.toml --out out/fit")]
pub struct FitArgs {
    /// The fit spec (TOML).
    spec: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Scale every margin to the first margin's total when totals disagree (with a warning).
    #[arg(long)]
    rescale: bool,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: FitArgs) -> Result<i32> {
    let start = Instant::now();
    let spec = Spec::from_path(&args.spec)?;
    let problem = Problem::load(&spec, LoadOptions { rescale: args.rescale })?;
    for w in &problem.warnings {
        eprintln!("warning: {w}");
    }
    let mut spinner = Spinner::new("fitting", args.quiet);
    let fit = fit_dense(&problem, &mut [&mut spinner]);
    spinner.finish();
    let fit = fit?;
    std::fs::create_dir_all(&args.out).map_err(|e| populace::Error::write(&args.out, e))?;
    let joint = args.out.join("joint.csv");
    let report_path = args.out.join("report.json");
    write_joint_csv(&joint, &problem.domain, &fit.joint)?;
    let report = FitReport::new(&problem, &fit, start.elapsed().as_secs_f64());
    write_json(&report_path, &report)?;

    if args.json {
        emit(&serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        emit(&summary(&args, &report, &[&joint, &report_path]));
    }
    if !report.converged {
        eprintln!(
            "warning: not converged after {} sweeps: max margin deviation {:.3e} > tolerance {:.1e}; \
             the last iterate was written and marked \"converged\": false",
            report.iterations, report.max_deviation, report.effective_tolerance
        );
        return Ok(exit::NOT_CONVERGED);
    }
    Ok(exit::OK)
}

fn summary(args: &FitArgs, r: &FitReport, written: &[&PathBuf]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "populace fit {}", args.spec.display());
    let _ = writeln!(
        s,
        "  {} of {} attributes ({}), {} cells, total {}",
        r.method,
        r.attributes.len(),
        r.attributes.join(", "),
        r.cells,
        count(r.total)
    );
    let status = if r.converged { "converged" } else { "NOT converged" };
    let _ = writeln!(
        s,
        "  {status} after {} sweeps: max margin deviation {:.2e} (tolerance {:.1e}); fit {:.3} s",
        r.iterations, r.max_deviation, r.effective_tolerance, r.fit_seconds
    );
    let width = r.margins.iter().map(|m| m.file.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(s, "  {:<width$}  {:>12}  {:>12}", "margin", "max abs dev", "max rel dev");
    for m in &r.margins {
        let _ = writeln!(s, "  {:<width$}  {:>12.3e}  {:>12.3e}", m.file, m.max_abs_deviation, m.max_rel_deviation);
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let _ = write!(s, "wrote {}", names.join(", "));
    s
}

/// A count for people: an integer when it is one to round-off, else six decimals.
fn count(x: f64) -> String {
    if (x - x.round()).abs() <= 1e-9 * x.abs().max(1.0) {
        format!("{}", x.round())
    } else {
        format!("{x:.6}")
    }
}
