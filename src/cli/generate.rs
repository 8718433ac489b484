//! `populace generate SPEC [-n N] [--seed S] --out FILE`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{ArgGroup, Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use populace::error::Location;
use populace::generation::households::{TableFormat, DEFAULT_HOUSEHOLD_TEMPLATE};
use populace::generation::partition::{self, PartitionSummary};
use populace::generation::{CardTemplate, Format, GenerateOptions, GenerateSummary, Mode, Pool, Source};
use populace::inputs::{FitOptions, HouseholdSpec, LoadOptions, Problem, Selection};

use super::emit;
use super::exit;
use super::guard::{Files, Usage};
use super::progress::Spinner;
use super::zones::ZoneArgs;

/// Draw a pool of persons from the population a fit spec describes, with a persona card each.
///
/// Fits the spec as `populace fit` does, then writes one row per person: `person_id` (1..N; with
/// zones `ZONE-K`, K counting within the zone), `zone` (with zones), one column per attribute,
/// and `card`. The format follows the extension: .csv, .jsonl or .parquet. Exact mode
/// integerizes the fitted counts so that the pool's margins equal the targets (scaled to N) and
/// lists the persons in random order; random mode draws each person independently. The same
/// inputs and seed give the same file, byte for byte, at any thread count.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  populace generate calibration/acs2012.toml -n 2000 --seed 7 --out out/persons.csv\n  \
     populace generate calibration/acs2012.toml -n 2000 --naive independent --out out/naive.parquet\n  \
     populace generate calibration/api_counties.toml --mode random --out out/schools.jsonl\n\n\
     Sharded (one file per zone, a JSON manifest line per zone on stdout):\n  \
     populace generate calibration/api_counties.toml --shard 2/4 --out out/pool\n  \
     printf 'Fresno\\nKern\\n' | populace generate calibration/api_counties.toml --zones - --format csv --out out/pool\n\n\
     Cards: the default reads \"You are a 30-44-year-old woman. Your race is white. … You are married.\" \
     A --template is a MiniJinja template that sees every attribute by name, person_id, zone and \
     attributes (a map); {{ persona() }} gives the default description; missing names render empty.\n\n\
     Household specs ([households]): no -n (the zones' household totals decide); --out is a folder for \
     households and persons, whose cards also see household_id, role and household (size, attributes, \
     zones, members: the other persons); {{ home() }} describes the household. The default card reads \
     \"You are a 34-year-old woman. You live with 2 others: a 36-year-old man and a 7-year-old girl. \
     Household: HTYPE 1. You live in TAZ 12, TRACT 3, PUMA 600.\" --partitioned/--shard/--zones go by \
     the top geography level.\n\n\
     Exit codes: 0 ok, 1 an output could not be written, 2 usage, 3 bad input, 4 not converged (the pool is \
     written), 5 infeasible."
)]
#[command(group(ArgGroup::new("partition").args(["partitioned", "shard", "zones"]).multiple(true)))]
pub struct GenerateArgs {
    /// The fit spec (TOML), as for `populace fit`.
    spec: PathBuf,
    /// Persons to draw [default: the margins' total; with zones, each zone's own total]. With
    /// zones, N is split over the zones in proportion to their totals.
    #[arg(short = 'n', long = "persons", value_name = "N")]
    persons: Option<u64>,
    /// Seed of the random streams (each zone's stream comes from the seed and the zone's name).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Output file: .csv, .jsonl or .parquet (written atomically; folders created). With
    /// --partitioned, --shard or --zones: the output folder.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Write every zone to its own file, OUT/zone=ID/part-0.parquet (see --format; IDs escaped
    /// as Hive does), each atomically, and print one JSON line per zone on stdout: zone, persons,
    /// path, bytes, checksum. The summary goes to stderr. With a household spec: every zone of
    /// the top geography level to OUT/households/zone=ID/part-0.EXT and
    /// OUT/persons/zone=ID/part-0.EXT, ids ZONE-K, a line per zone with both files'
    /// households_/persons_path, _bytes and _checksum.
    #[arg(long)]
    partitioned: bool,
    #[command(flatten)]
    select: ZoneArgs,
    /// Format of the partitioned files [default: parquet]; with a household spec, of
    /// households and persons [default: csv; partitioned: parquet].
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// exact: integer counts meeting the margins, in random order; random: independent draws.
    #[arg(long, value_enum, default_value_t = ModeArg::Exact)]
    mode: ModeArg,
    /// Draw a naive pool instead of the calibrated one: every attribute independent from its
    /// one-way marginal, or IPF on the margins without the seed.
    #[arg(long, value_enum, value_name = "KIND")]
    naive: Option<NaiveArg>,
    /// Card template (MiniJinja) instead of the default; with a household spec it also sees
    /// household_id, role and household (size, attributes, zones, members).
    #[arg(long, value_name = "FILE", conflicts_with = "no_card")]
    template: Option<PathBuf>,
    /// Leave out the card column.
    #[arg(long)]
    no_card: bool,
    /// Scale every margin to the first margin's total when totals disagree (with a warning).
    #[arg(long)]
    rescale: bool,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
    /// Print the summary as JSON.
    #[arg(long, conflicts_with = "partition")]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Parquet,
    Csv,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Exact,
    Random,
}

#[derive(Clone, Copy, ValueEnum)]
enum NaiveArg {
    Independent,
    Seedless,
}

pub fn run(args: GenerateArgs) -> Result<i32> {
    let selection = args.select.selection()?;
    let partitioned = args.partitioned || selection.is_some();
    let spec = match super::households::read_spec(&args.spec)? {
        super::households::AnySpec::Persons(spec) => *spec,
        super::households::AnySpec::Households(spec) => return run_households(&args, *spec, partitioned, selection),
    };
    if args.format.is_some() && !partitioned {
        return Err(Usage(
            "--format picks the format of --partitioned, --shard or --zones files; one file's format follows \
             its extension"
                .into(),
        )
        .into());
    }
    if !partitioned {
        Format::from_path(&args.out)?;
    }
    let mut files = Files::default().fit_spec(&args.spec, &spec);
    if let Some(template) = &args.template {
        files = files.input("the template", template);
    }
    files = match partitioned {
        true => files.output_folder("--out", &args.out, &["part-0.csv", "part-0.jsonl", "part-0.parquet"]),
        false => files.output("--out", &args.out),
    };
    files.check()?;
    let problem = Problem::load(&spec, LoadOptions::default().rescale(args.rescale))?;
    for w in &problem.warnings {
        eprintln!("warning: {w}");
    }
    super::note_missing(&problem.missing);
    let card = match (&args.template, args.no_card) {
        (_, true) => None,
        (Some(path), false) => Some(CardTemplate::from_file(path)?),
        (None, false) => Some(CardTemplate::default()),
    };
    let options = GenerateOptions::default()
        .persons(args.persons)
        .mode(match args.mode {
            ModeArg::Exact => Mode::Exact,
            ModeArg::Random => Mode::Random,
        })
        .source(match args.naive {
            None => Source::Calibrated,
            Some(NaiveArg::Independent) => Source::Independent,
            Some(NaiveArg::Seedless) => Source::Seedless,
        })
        .seed(args.seed)
        .card(card);
    if partitioned {
        return run_partitioned(&args, &problem, &spec.fit, &options, selection);
    }
    let mut spinner = Spinner::new("fitting", args.quiet);
    let pool = Pool::new(&problem, &spec.fit, &options, &mut [&mut spinner]);
    spinner.finish();
    let pool = pool?;
    for w in pool.warnings() {
        eprintln!("warning: {w}");
    }
    check_space(&args.out, pool.persons(), &problem)?;
    let bar = progress_bar(pool.persons(), args.quiet);
    let summary = pool.write_file(&args.out, &mut |n| {
        if let Some(bar) = &bar {
            bar.inc(n);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if args.json {
        emit(&serde_json::to_string_pretty(&summary)?);
    } else if !args.quiet {
        emit(&text(&args, &summary));
    }
    Ok(if summary.converged { exit::OK } else { exit::NOT_CONVERGED })
}

/// `generate` on a household spec: DIR/households and DIR/persons, whole or per top-level zone.
fn run_households(
    args: &GenerateArgs,
    spec: HouseholdSpec,
    partitioned: bool,
    selection: Option<Selection>,
) -> Result<i32> {
    let refuse = |what: &str| -> Result<i32> {
        Err(Usage(format!(
            "{what} applies to persons specs; a household spec ([households]) makes the zones' households"
        ))
        .into())
    };
    if args.persons.is_some() {
        return refuse("-n (the zones' household totals decide how many)");
    }
    if args.naive.is_some() || !matches!(args.mode, ModeArg::Exact) || args.rescale {
        return refuse("--naive, --mode and --rescale");
    }
    let card = match (&args.template, args.no_card) {
        (_, true) => None,
        (Some(path), false) => Some(CardTemplate::from_file(path)?),
        (None, false) => Some(CardTemplate::new("the default card template", DEFAULT_HOUSEHOLD_TEMPLATE)),
    };
    let default = if partitioned { FormatArg::Parquet } else { FormatArg::Csv };
    let format = match args.format.unwrap_or(default) {
        FormatArg::Csv => TableFormat::Csv,
        FormatArg::Parquet => TableFormat::Parquet,
        FormatArg::Jsonl => return refuse("--format jsonl"),
    };
    super::households::run_generate(super::households::GenerateRequest {
        path: &args.spec,
        spec,
        out: &args.out,
        format,
        template: args.template.as_deref(),
        card,
        partition: partitioned.then_some(selection),
        json: args.json,
        quiet: args.quiet,
    })
}

/// Every zone (or the selected ones) to its own file, a manifest line per zone on stdout.
fn run_partitioned(
    args: &GenerateArgs,
    problem: &Problem,
    fit: &FitOptions,
    options: &GenerateOptions,
    selection: Option<Selection>,
) -> Result<i32> {
    let spec = args.spec.display().to_string();
    let zones = match &selection {
        Some(s) => s.zones(problem, &spec)?,
        None if problem.zones[0].name.is_none() => {
            return Err(populace::Error::input(
                Location::file(spec),
                "--partitioned writes one file per zone, but the spec has no [zones] section: write one file \
                 with --out FILE.csv, .jsonl or .parquet",
            )
            .into())
        }
        None => (0..problem.zones.len()).collect(),
    };
    let which = match &selection {
        Some(Selection::Shard(s)) => format!("shard {s}: "),
        Some(Selection::Listed { source, .. }) => format!("zones from {source}: "),
        None => String::new(),
    };
    if zones.is_empty() {
        eprintln!("warning: {which}no zones of the spec's {} to write", problem.zones.len());
        return Ok(exit::OK);
    }
    let format = match args.format.unwrap_or(FormatArg::Parquet) {
        FormatArg::Parquet => Format::Parquet,
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::Jsonl,
    };
    let all = partition::zone_persons(problem, options.persons);
    let bar = progress_bar(zones.iter().map(|&z| all[z]).sum(), args.quiet);
    let summary = partition::write_partitioned(
        problem,
        fit,
        options,
        &zones,
        &args.out,
        format,
        &mut |line| emit(&serde_json::to_string(line).unwrap_or_default()),
        &mut |n| {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        },
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    if !args.quiet {
        eprintln!("{}", partitioned_text(args, options, problem.zones.len(), &which, &summary));
    }
    Ok(if summary.converged { exit::OK } else { exit::NOT_CONVERGED })
}

fn partitioned_text(
    args: &GenerateArgs,
    options: &GenerateOptions,
    all: usize,
    which: &str,
    s: &PartitionSummary,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "populace generate {}", args.spec.display());
    let _ = writeln!(
        out,
        "  {which}{} of {all} zones, {} persons: {} mode, {} ({}), seed {}",
        s.zones,
        s.persons,
        options.mode.name(),
        options.source.name(),
        s.method,
        options.seed
    );
    match s.max_abs_margin_error {
        Some(0) => {
            let _ = writeln!(out, "  every margin met exactly in every zone (targets scaled to the persons drawn)");
        }
        Some(e) => {
            let _ = writeln!(out, "  margins met to within {e} person{} per cell", if e == 1 { "" } else { "s" });
        }
        None => {}
    }
    let per_person = s.bytes as f64 / s.persons.max(1) as f64;
    let rate = s.persons as f64 / s.seconds.max(1e-9);
    let _ = write!(
        out,
        "wrote {} files under {} ({} bytes, {per_person:.1} bytes/person; {:.2} s, {rate:.0} persons/s)",
        s.zones,
        args.out.display(),
        s.bytes,
        s.seconds
    );
    out
}

/// A bar of N persons, on a terminal only.
fn progress_bar(persons: u64, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(persons);
    let style = ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} persons [{elapsed} < {eta}]")
        .expect("valid template");
    bar.set_style(style);
    Some(bar)
}

fn text(args: &GenerateArgs, s: &GenerateSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "populace generate {}", args.spec.display());
    let zones = if s.zones > 0 { format!(" in {} zones", s.zones) } else { String::new() };
    let _ = writeln!(
        out,
        "  {} persons{zones}: {} mode, {} ({}), seed {}",
        s.persons,
        s.mode.name(),
        s.source,
        s.method,
        s.seed
    );
    let card = if s.card { ", card" } else { "" };
    let _ = writeln!(
        out,
        "  columns: person_id{}, {}{card}",
        if s.zones > 0 { ", zone" } else { "" },
        s.attributes.join(", ")
    );
    match (s.exact_margins, s.max_abs_margin_error) {
        (Some(true), _) if s.source == Source::Independent.name() => {
            let _ = writeln!(out, "  every one-way marginal met exactly");
        }
        (Some(true), _) => {
            let _ = writeln!(out, "  every margin met exactly (targets scaled to the persons drawn)");
        }
        (Some(false), Some(e)) => {
            let _ = writeln!(out, "  margins met to within {e} person{} per cell", if e == 1 { "" } else { "s" });
        }
        _ => {}
    }
    let rate = s.persons as f64 / s.seconds.max(1e-9);
    let _ = write!(out, "wrote {} ({:.2} s, {:.0} persons/s)", s.file.as_deref().unwrap_or("-"), s.seconds, rate);
    out
}

/// Refuses, before writing, a CSV or JSON Lines pool that cannot fit in the free space of its
/// file system: each person takes at least its shortest category of every attribute and a
/// separator after each column, `person_id` included (a lower bound: cards and ids only add).
fn check_space(out: &Path, persons: u64, problem: &Problem) -> Result<()> {
    if matches!(Format::from_path(out), Ok(Format::Parquet)) {
        return Ok(()); // compressed: no useful lower bound
    }
    let shortest: u64 = problem
        .domain
        .attributes()
        .iter()
        .map(|a| a.categories().iter().map(|c| c.len()).min().unwrap_or(0) as u64 + 1)
        .sum();
    let need = persons.saturating_mul(shortest + 2);
    let folder = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match free_space(folder) {
        Some(free) if need > free => Err(populace::Error::TooLarge(format!(
            "{persons} persons need at least {} to write ({} bytes each, before their cards) but the file \
             system of {} has {} free: ask for fewer persons, or write Parquet",
            bytes(need),
            shortest + 2,
            out.display(),
            bytes(free)
        ))
        .into()),
        _ => Ok(()),
    }
}

/// `2.1 TB`, `512 MB`.
fn bytes(n: u64) -> String {
    let units = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    units
        .iter()
        .find(|(_, size)| n as f64 >= *size)
        .map_or_else(|| format!("{n} bytes"), |(unit, size)| format!("{:.1} {unit}", n as f64 / size))
}

/// The bytes an unprivileged user may still write on the file system holding `folder`.
#[cfg(target_os = "linux")]
fn free_space(folder: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data (zero is a valid value of it); the call reads the
    // NUL-terminated path and writes only the struct it is given.
    let stat = unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(path.as_ptr(), &mut stat) == 0).then_some(stat)
    }?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(not(target_os = "linux"))]
fn free_space(_: &Path) -> Option<u64> {
    None
}
