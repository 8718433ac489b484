//! `populace fit SPEC [--out DIR]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use populace::calibration::{Calibration, ZoneFit};
use populace::fitting::{fit, DenseFit, Fitted};
use populace::inputs::{for_each_chunk, LoadOptions, Method, Problem, Selection, Spec};
use populace::reports::{
    check_zone_folders, file_checksum, write_joint_csv, write_json, write_weights_csv, zone_folder, CalibrationReport,
    FitReport, OutputSet,
};
use serde::Serialize;

use super::emit;
use super::exit;
use super::guard::Files;
use super::progress::Spinner;
use super::zones::ZoneArgs;

/// Fit the joint distribution, or calibrate the seed's weights, as a spec describes.
///
/// With method = "ipf" writes DIR/joint.csv (the fitted joint: one column per attribute plus
/// `count`, every cell in category order); with rake, linear, logit or entropy writes
/// DIR/weights.csv (the seed's id and its calibrated weight, per zone). Both write
/// DIR/report.json (iterations, convergence, per-margin deviations). With --shard or --zones,
/// fits only those zones and writes DIR/zone=ID/weights.csv per zone, printing one JSON line per
/// zone on stdout (zone, records, weight_total, converged, max_deviation, path, bytes, checksum);
/// with a household spec, per zone of the top geography level, each fitted on its own (the same
/// weights as the whole fit), its line giving zone, households, converged, path, bytes, checksum.
#[derive(Args)]
#[command(after_help = "Examples:\n  populace fit calibration/acs2012.toml --out out/fit\n  \
     populace fit calibration/api_counties.toml --shard 1/4 --out out/weights\n\n\
     Exit codes: 0 ok, 1 an output could not be written, 2 usage, 3 bad input, 4 not converged (outputs \
     written and marked \"converged\": false), 5 infeasible.")]
pub struct FitArgs {
    /// The fit spec (TOML).
    spec: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Print the report as JSON instead of the summary.
    #[arg(long, conflicts_with_all = ["shard", "zones"])]
    json: bool,
    #[command(flatten)]
    select: ZoneArgs,
    /// Scale every margin to the first margin's total when totals disagree (with a warning).
    #[arg(long)]
    rescale: bool,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: FitArgs) -> Result<i32> {
    // the fit's weights then land in the pages the seed file was read into
    super::memory::retain_freed_memory();
    let start = Instant::now();
    let selection = args.select.selection()?;
    let spec = match super::households::read_spec(&args.spec)? {
        super::households::AnySpec::Persons(spec) => *spec,
        super::households::AnySpec::Households(spec) => {
            if args.rescale {
                return Err(super::guard::Usage(
                    "--rescale applies to persons specs; a household spec ([households]) has no margins to rescale"
                        .into(),
                )
                .into());
            }
            return match &selection {
                Some(selection) => {
                    super::households::run_fit_sharded(&args.spec, *spec, &args.out, selection, args.quiet)
                }
                None => super::households::run_fit(&args.spec, *spec, &args.out, args.json, args.quiet),
            };
        }
    };
    Files::default().fit_spec(&args.spec, &spec).output_folder("--out", &args.out, &OUTPUTS).check()?;
    let problem = Problem::load(&spec, LoadOptions::default().rescale(args.rescale))?;
    for w in &problem.warnings {
        eprintln!("warning: {w}");
    }
    super::note_missing(&problem.missing);
    // a sharded run's zones are written file by file, by many workers into one folder; else the
    // folder is locked from here (inputs read: a bad one writes nothing) to the end of the fit
    let set = match selection {
        None => OutputSet::open(&args.out)?,
        Some(selection) => return run_sharded(&args, &spec, &problem, &selection, start),
    };
    let what = if spec.fit.method() == Method::Ipf { "fitting" } else { "calibrating" };
    let mut spinner = Spinner::new(what, args.quiet);
    let fit_start = Instant::now();
    let fitted = fit(&problem, &spec.fit, &mut [&mut spinner]);
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    spinner.finish();
    let fitted = match fitted {
        Ok(fitted) => fitted,
        Err(e) => return Err(report_failure(set, e)),
    };
    match fitted {
        Fitted::Joint(joint) => {
            if let Some(note) = joint.zeros.as_ref().and_then(|z| z.summary()) {
                eprintln!("note: {note}");
            }
            write_dense(&args, set, &problem, &joint, start)
        }
        fitted => write_microdata(&args, set, &spec, &problem, fitted, fit_seconds, start),
    }
}

/// The files of a fit's output set: a run writes some of them and removes the others, so
/// that none is left from an earlier run.
const OUTPUTS: [&str; 3] = ["joint.csv", "report.json", "weights.csv"];

/// The method and zones of a fit of seed weights.
fn weights(fitted: Fitted) -> populace::Result<(Calibration, Vec<ZoneFit>)> {
    match fitted {
        Fitted::Weights { method, zones } => Ok((method, zones)),
        other => Err(populace::Error::Inconsistent(format!(
            "method = \"{}\" makes no seed weights to write",
            other.method().name()
        ))),
    }
}

/// Writes DIR/joint.csv and DIR/report.json of a dense fit.
fn write_dense(args: &FitArgs, set: OutputSet, problem: &Problem, fit: &DenseFit, start: Instant) -> Result<i32> {
    write_joint_csv(&set.path("joint.csv"), &problem.domain, &fit.joint)?;
    let report = FitReport::new(problem, fit, start.elapsed().as_secs_f64());
    write_json(&set.path("report.json"), &report)?;
    let (joint, report_path) = (set.destination("joint.csv"), set.destination("report.json"));
    set.commit(&OUTPUTS)?;

    if args.json {
        emit(&serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        emit(&summary(args, &report, &[&joint, &report_path]));
    }
    let c = &report.convergence;
    Ok(not_converged(c.converged, c.iterations, c.max_deviation, "the last iterate was"))
}

/// Records an infeasible fit, or one whose solver failed numerically, in DIR/report.json
/// (`"status": "infeasible"` or `"failed_numerically"`, and the reason) and removes an earlier
/// run's joint.csv or weights.csv, so that the folder never shows an earlier run's result, and
/// passes the error on for its exit code.
fn report_failure(set: OutputSet, error: populace::Error) -> anyhow::Error {
    let status = match &error {
        populace::Error::Infeasible(reason) => Some(("infeasible", reason)),
        populace::Error::Numerical(reason) => Some(("failed_numerically", reason)),
        _ => None,
    };
    if let Some((status, reason)) = status {
        let report = serde_json::json!({"converged": false, "status": status, "reason": reason});
        let written = write_json(&set.path("report.json"), &report).and_then(|()| set.commit(&OUTPUTS));
        if let Err(e) = written {
            eprintln!("warning: {e}");
        }
    }
    error.into()
}

/// Warns about non-convergence and picks the exit code.
fn not_converged(converged: bool, iterations: usize, deviation: f64, what: &str) -> i32 {
    if converged {
        return exit::OK;
    }
    eprintln!(
        "warning: not converged after {iterations} iterations: max margin deviation {deviation:.3e} is above \
         the tolerance; {what} written and marked \"converged\": false"
    );
    exit::NOT_CONVERGED
}

/// Writes DIR/weights.csv and DIR/report.json of calibrated seed weights.
fn write_microdata(
    args: &FitArgs,
    set: OutputSet,
    spec: &Spec,
    problem: &Problem,
    fitted: Fitted,
    fit_seconds: f64,
    start: Instant,
) -> Result<i32> {
    let (method, fits) = weights(fitted)?;
    let fits = fits.as_slice();
    let id = spec.seed.as_ref().and_then(|s| s.id.as_deref()).unwrap_or_default();
    write_weights_csv(&set.path("weights.csv"), problem, id, fits)?;
    let report = CalibrationReport::new(problem, method, fits, fit_seconds, start.elapsed().as_secs_f64());
    write_json(&set.path("report.json"), &report)?;
    let (weights, report_path) = (set.destination("weights.csv"), set.destination("report.json"));
    set.commit(&OUTPUTS)?;
    if args.json {
        emit(&serde_json::to_string_pretty(&report)?);
    } else if !args.quiet {
        emit(&calibration_summary(args, &report, &[&weights, &report_path]));
    }
    Ok(not_converged(report.converged, report.iterations, report.max_deviation, "the last weights were"))
}

/// A zone's line of a sharded fit's manifest.
#[derive(Serialize)]
struct FitLine<'a> {
    zone: &'a str,
    records: usize,
    weight_total: f64,
    converged: bool,
    max_deviation: f64,
    path: String,
    bytes: u64,
    checksum: String,
}

/// The selected zones, each to DIR/zone=ID/weights.csv, a manifest line each on stdout.
fn run_sharded(args: &FitArgs, spec: &Spec, problem: &Problem, selection: &Selection, start: Instant) -> Result<i32> {
    let zones = selection.zones(problem, &args.spec.display().to_string())?;
    check_zone_folders(zones.iter().map(|&z| problem.zones[z].name.as_deref().unwrap_or("")))?;
    let id = spec.seed.as_ref().and_then(|s| s.id.as_deref()).unwrap_or_default();
    let mut unconverged = Vec::new();
    for_each_chunk(problem, &zones, |sub, _| {
        let (_, fits) = weights(fit(sub, &spec.fit, &mut [])?)?;
        for fit in fits {
            let zone = fit.zone.as_deref().unwrap_or("");
            let folder = zone_folder(&args.out, zone);
            std::fs::create_dir_all(&folder).map_err(|e| populace::Error::write(&folder, e))?;
            let path = folder.join("weights.csv");
            write_weights_csv(&path, sub, id, std::slice::from_ref(&fit))?;
            let (checksum, bytes) = file_checksum(&path)?;
            let c = &fit.report.convergence;
            if !c.converged {
                unconverged.push(zone.to_string());
            }
            let line = FitLine {
                zone,
                records: fit.weights.len(),
                weight_total: fit.report.weights.total,
                converged: c.converged,
                max_deviation: c.max_deviation,
                path: path.display().to_string(),
                bytes,
                checksum,
            };
            emit(&serde_json::to_string(&line).unwrap_or_default());
        }
        Ok(())
    })?;
    if !args.quiet {
        eprintln!(
            "populace fit {}: {} {} zones, {} weight files under {} ({:.2} s)",
            args.spec.display(),
            spec.fit.method().name(),
            zones.len(),
            zones.len(),
            args.out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    if unconverged.is_empty() {
        return Ok(exit::OK);
    }
    let shown: Vec<&str> = unconverged.iter().take(5).map(String::as_str).collect();
    let more = if unconverged.len() > 5 { format!(" and {} more", unconverged.len() - 5) } else { String::new() };
    eprintln!(
        "warning: {} zones did not converge within [fit] max_iterations ({}{more}); their last weights were \
         written and marked \"converged\": false",
        unconverged.len(),
        shown.join(", ")
    );
    Ok(exit::NOT_CONVERGED)
}

fn calibration_summary(args: &FitArgs, r: &CalibrationReport, written: &[&PathBuf]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "populace fit {}", args.spec.display());
    let bounds = r.bounds.map_or(String::new(), |[l, u]| format!(" (bounds {l}–{u})"));
    let zones = if r.zone_count > 1 { format!(", {} zones", r.zone_count) } else { String::new() };
    let _ = writeln!(s, "  {}{bounds} calibration of the seed's weights{zones}", r.method);
    let status = if r.converged { "converged" } else { "NOT converged" };
    let _ = writeln!(
        s,
        "  {status}: at most {} iterations, max margin deviation {:.2e}; fit {:.3} s",
        r.iterations, r.max_deviation, r.fit_seconds
    );
    if let [zone] = r.zones.as_slice() {
        let w = &zone.weights;
        let _ = writeln!(
            s,
            "  {} records; weights {:.4}–{:.4} (g {:.4}–{:.4}), {} negative; Kish deff {:.3}, effective n {:.1}",
            zone.records, w.min, w.max, w.g_min, w.g_max, w.negative, w.kish_deff, w.effective_sample_size
        );
        for t in &zone.totals {
            let _ = writeln!(
                s,
                "  total {}: target {}, achieved {}, difference {:.2e}",
                t.label(),
                t.target,
                t.achieved,
                t.deviation
            );
        }
        if let Some(i) = &zone.integerization {
            let exact = if i.exact { "every margin exact" } else { "margins not all exact" };
            let _ = writeln!(s, "  integerized ({}): {} persons, {exact}", i.method.name(), i.total);
        }
    } else {
        let _ = writeln!(s, "  worst zones:");
        for z in r.worst_zones.iter().take(5) {
            let name = z.zone.as_deref().unwrap_or("-");
            let _ = writeln!(s, "    {name:<16} max deviation {:.2e}, Kish deff {:.3}", z.max_deviation, z.kish_deff);
        }
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    let _ = write!(s, "wrote {}", names.join(", "));
    s
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
    let c = &r.convergence;
    let status = if c.converged { "converged" } else { "NOT converged" };
    let _ = writeln!(
        s,
        "  {status} after {} sweeps: max margin deviation {:.2e} (tolerance {:.1e}); fit {:.3} s",
        c.iterations, c.max_deviation, c.effective_tolerance, c.fit_seconds
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
