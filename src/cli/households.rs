//! `populace fit` on a household spec: households and persons over nested geographies.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use populace::generation::households::partition::{write_partitioned, HouseholdPartitionSummary, PartitionOutput};
use populace::generation::households::{Expansion, TableFormat};
use populace::generation::CardTemplate;
use populace::households::fit;
use populace::inputs::{HouseholdProblem, HouseholdSpec, Mode, Selection, Spec};
use populace::reports::chart::write_interval_svg;
use populace::reports::{
    check_zone_folders, file_checksum, write_household_weights_csv, write_json, write_seed_weights_csv, zone_folder,
    HouseholdReport, OutputSet,
};
use serde::Serialize;

use super::emit;
use super::exit;
use super::guard::Files;
use super::progress::Spinner;

/// The files of a household fit's output set.
pub const OUTPUTS: [&str; 4] = ["report.json", "weights.csv", "seed_weights.csv", "controls.svg"];

/// A fit spec of either kind, read once (the path may be a stream).
pub enum AnySpec {
    /// A persons spec (`[[margin]]`, `[seed]`).
    Persons(Box<Spec>),
    /// A household spec (`[households]`).
    Households(Box<HouseholdSpec>),
}

/// Reads the spec at `path` (within the input limits) as a household spec when it has
/// `[households]`, else as a persons spec.
pub fn read_spec(path: &Path) -> populace::Result<AnySpec> {
    let name = path.display().to_string();
    let bytes = populace::memory::read_file(path, &name)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        populace::Error::input(
            populace::error::Location::file(&name),
            format!("the spec is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if populace::inputs::is_household_spec(&text) {
        let mut spec = HouseholdSpec::from_toml_str(&text, &name)?;
        spec.base = base;
        Ok(AnySpec::Households(Box::new(spec)))
    } else {
        let mut spec = Spec::from_toml_str(&text, &name)?;
        spec.base = base;
        Ok(AnySpec::Persons(Box::new(spec)))
    }
}

/// Every file a household spec reads.
pub fn inputs(files: Files, path: &Path, spec: &HouseholdSpec) -> Files {
    let mut files = files.input("the spec", path).input("the household seed", spec.resolve(&spec.households.file));
    if let Some(p) = &spec.persons {
        files = files.input("the person seed", spec.resolve(&p.file));
    }
    if let Some(c) = &spec.geography.crosswalk {
        files = files.input("the crosswalk", spec.resolve(c));
    }
    for t in &spec.tables {
        files = files.input("a control table", spec.resolve(&t.file));
    }
    files
}

/// Fits the household spec at `path`, writing DIR/weights.csv, DIR/seed_weights.csv,
/// DIR/report.json and DIR/controls.svg.
pub fn run_fit(path: &Path, spec: HouseholdSpec, out: &Path, json: bool, quiet: bool) -> Result<i32> {
    let start = Instant::now();
    inputs(Files::default(), path, &spec).output_folder("--out", out, &OUTPUTS).check()?;
    let problem = HouseholdProblem::load_for_fit(&spec)?;
    for note in &problem.notes {
        eprintln!("note: {note}");
    }
    let set = OutputSet::open(out)?;
    let spinner = Spinner::new("balancing households", quiet);
    let fit_start = Instant::now();
    let weights = fit(&problem, &spec.fit);
    let fit_seconds = fit_start.elapsed().as_secs_f64();
    spinner.finish();
    let weights = weights?;
    write_household_weights_csv(&set.path("weights.csv"), &problem, &weights)?;
    write_seed_weights_csv(&set.path("seed_weights.csv"), &problem, &weights)?;
    let report = HouseholdReport::new(&problem, &weights, spec.fit.mode, fit_seconds, start.elapsed().as_secs_f64());
    write_json(&set.path("report.json"), &report)?;
    write_interval_svg(&report.panels(), &set.path("controls.svg"))?;
    let written: Vec<PathBuf> = OUTPUTS.iter().map(|n| set.destination(n)).collect();
    set.commit(&OUTPUTS)?;
    if json {
        emit(&serde_json::to_string_pretty(&report)?);
    } else if !quiet {
        emit(&summary(path, &report, &written));
    }
    if report.converged {
        Ok(exit::OK)
    } else {
        eprintln!(
            "warning: {} of {} balancings did not converge; outputs written and marked \"converged\": false",
            report.not_converged.len(),
            report.balancings
        );
        Ok(exit::NOT_CONVERGED)
    }
}

/// A zone's line of a sharded household fit's manifest.
#[derive(Serialize)]
struct FitLine<'a> {
    zone: &'a str,
    households: f64,
    converged: bool,
    path: String,
    bytes: u64,
    checksum: String,
}

/// Fits the top-level zones `selection` picks, each on its own (the problem restricted to it:
/// the whole fit's weights for the zone), to DIR/zone=ID/weights.csv, a manifest line each on
/// stdout.
pub fn run_fit_sharded(
    path: &Path,
    spec: HouseholdSpec,
    out: &Path,
    selection: &Selection,
    quiet: bool,
) -> Result<i32> {
    let start = Instant::now();
    inputs(Files::default(), path, &spec).output_folder("--out", out, &["weights.csv"]).check()?;
    let problem = HouseholdProblem::load_for_fit(&spec)?;
    for note in &problem.notes {
        eprintln!("note: {note}");
    }
    let zones = problem.select(selection, &path.display().to_string())?;
    let top = &problem.geography.levels[0];
    check_zone_folders(zones.iter().map(|&z| top.zones[z].as_str()))?;
    let mut unconverged = Vec::new();
    for &z in &zones {
        let zone = top.zones[z].as_str();
        let sub = problem.restrict(&[z])?;
        let weights = fit(&sub, &spec.fit)?;
        let folder = zone_folder(out, zone);
        std::fs::create_dir_all(&folder).map_err(|e| populace::Error::write(&folder, e))?;
        let file = folder.join("weights.csv");
        write_household_weights_csv(&file, &sub, &weights)?;
        let (checksum, bytes) = file_checksum(&file)?;
        let lowest = weights.lowest();
        let households = match &lowest.count {
            Some(counts) => counts.iter().sum::<u64>() as f64,
            None => lowest.weight.iter().sum(),
        };
        if !weights.converged() {
            unconverged.push(zone);
        }
        let line = FitLine {
            zone,
            households,
            converged: weights.converged(),
            path: file.display().to_string(),
            bytes,
            checksum,
        };
        emit(&serde_json::to_string(&line)?);
    }
    if !quiet {
        eprintln!(
            "populace fit {}: {} {} zones, {} weight files under {} ({:.2} s)",
            path.display(),
            zones.len(),
            top.name,
            zones.len(),
            out.display(),
            start.elapsed().as_secs_f64()
        );
    }
    if unconverged.is_empty() {
        return Ok(exit::OK);
    }
    eprintln!(
        "warning: some balancings of {} zones did not converge ({}); their weights were written and marked          \"converged\": false",
        unconverged.len(),
        unconverged.join(", ")
    );
    Ok(exit::NOT_CONVERGED)
}

/// The human summary of a household fit.
fn summary(path: &Path, r: &HouseholdReport, written: &[PathBuf]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "populace fit {}", path.display());
    let _ = writeln!(
        s,
        "  {} seed households ({} persons) over {}; seed level {}",
        r.seed_households,
        r.seed_persons,
        r.geographies.join(" > "),
        r.seed_geography
    );
    let status = if r.converged { "converged" } else { "NOT converged" };
    let what = if r.integerized { "whole households" } else { "households (real weights)" };
    let _ = writeln!(
        s,
        "  {status}: {} balancings; {:.0} {what}, {:.0} persons; fit {:.3} s",
        r.balancings, r.households, r.persons, r.fit_seconds
    );
    let _ = writeln!(
        s,
        "  {:<28} {:>8} {:>14} {:>14} {:>10} {:>9}",
        "control", "level", "target", "result", "mean|%d|", "%RMSE"
    );
    for c in &r.controls {
        let st = &c.statistics;
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        let _ = writeln!(
            s,
            "  {:<28} {:>8} {:>14.1} {:>14.1} {:>10} {:>9}",
            c.name,
            c.geography,
            st.observed,
            st.predicted,
            pct(st.mean_abs_pc_difference),
            pct(st.pct_rmse)
        );
    }
    let _ = write!(s, "  wrote {}", written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    s
}

/// What `populace generate` asks of a household spec.
pub struct GenerateRequest<'a> {
    pub path: &'a Path,
    pub spec: HouseholdSpec,
    pub out: &'a Path,
    pub format: TableFormat,
    /// The card template file, if one was given (an input).
    pub template: Option<&'a Path>,
    /// The persons' card template; `None`: no cards.
    pub card: Option<CardTemplate>,
    /// Per top-level zone: `Some(None)` every zone, `Some(Some(selection))` those selected.
    pub partition: Option<Option<Selection>>,
    pub json: bool,
    pub quiet: bool,
}

/// The files a household generate writes into its folder.
const GENERATED: [&str; 4] = ["households.csv", "persons.csv", "households.parquet", "persons.parquet"];

/// The files a partitioned household generate writes into each zone's folders.
const PARTS: [&str; 2] = ["part-0.csv", "part-0.parquet"];

/// Fits the household spec and writes DIR/households.EXT and DIR/persons.EXT, or, partitioned,
/// DIR/households/zone=ID/part-0.EXT and DIR/persons/zone=ID/part-0.EXT.
pub fn run_generate(request: GenerateRequest) -> Result<i32> {
    let start = Instant::now();
    let mut spec = request.spec;
    let mut files = inputs(Files::default(), request.path, &spec);
    if let Some(template) = request.template {
        files = files.input("the template", template);
    }
    files = match &request.partition {
        None => files.output_folder("--out", request.out, &GENERATED),
        Some(_) => files.output_folder("--out", &request.out.join("households"), &PARTS).output_folder(
            "--out",
            &request.out.join("persons"),
            &PARTS,
        ),
    };
    files.check()?;
    if spec.fit.mode == Mode::SurveyWeighting {
        return Err(populace::Error::input(
            populace::error::Location::file(request.path.display().to_string()),
            "mode = \"survey_weighting\" weights the seed and makes no households: use mode = \"synthesize\" to \
             generate them",
        )
        .into());
    }
    if !spec.fit.integerizes() {
        eprintln!("note: the spec says integerize = false; households are made whole to be generated");
        spec.fit.integerize = Some(true);
    }
    let problem = HouseholdProblem::load(&spec)?;
    for note in &problem.notes {
        eprintln!("note: {note}");
    }
    if let Some(selection) = &request.partition {
        let name = request.path.display().to_string();
        let top = &problem.geography.levels[0];
        let zones = match selection {
            Some(s) => problem.select(s, &name)?,
            None => (0..top.len()).collect(),
        };
        let output = PartitionOutput { dir: request.out, format: request.format, card: request.card.as_ref() };
        let spinner = Spinner::new("balancing and writing households", request.quiet);
        let summary = write_partitioned(&problem, &spec.fit, &output, &zones, &mut |line| {
            emit(&serde_json::to_string(line).unwrap_or_default());
        });
        spinner.finish();
        let summary = summary?;
        if !request.quiet {
            eprintln!("{}", partitioned_text(request.path, request.out, &top.name, top.len(), &summary));
        }
        return Ok(if summary.converged { exit::OK } else { exit::NOT_CONVERGED });
    }
    let set = OutputSet::open(request.out)?;
    let spinner = Spinner::new("balancing households", request.quiet);
    let weights = fit(&problem, &spec.fit);
    spinner.finish();
    let weights = weights?;
    let mut expansion = Expansion::new(&problem, &weights)?;
    if let Some(card) = &request.card {
        expansion = expansion.cards(card)?;
    }
    let ext = request.format.extension();
    let (households, persons) = (format!("households.{ext}"), format!("persons.{ext}"));
    expansion.write(&set.path(&households), &set.path(&persons), request.format)?;
    let written = [set.destination(&households), set.destination(&persons)];
    set.commit(&GENERATED)?;
    let summary = serde_json::json!({
        "spec": request.path.display().to_string(),
        "households": expansion.households(),
        "persons": expansion.persons(),
        "converged": weights.converged(),
        "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "seconds": start.elapsed().as_secs_f64(),
    });
    if request.json {
        emit(&serde_json::to_string_pretty(&summary)?);
    } else if !request.quiet {
        emit(&format!(
            "populace generate {}\n  {} households, {} persons{}\n  wrote {}",
            request.path.display(),
            expansion.households(),
            expansion.persons(),
            if weights.converged() { "" } else { " (some balancings did NOT converge)" },
            written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(if weights.converged() { exit::OK } else { exit::NOT_CONVERGED })
}

/// The human summary of a partitioned household generate (on stderr: stdout has the manifest).
fn partitioned_text(path: &Path, out: &Path, level: &str, all: usize, s: &HouseholdPartitionSummary) -> String {
    format!(
        "populace generate {}\n  {} of {all} {level} zones: {} households, {} persons{}\nwrote {} file pairs under {} \
         ({} bytes; {:.2} s)",
        path.display(),
        s.zones,
        s.households,
        s.persons,
        if s.converged { "" } else { " (some balancings did NOT converge)" },
        s.zones,
        out.display(),
        s.bytes,
        s.seconds
    )
}
