//! `populace generate SPEC [-n N] [--seed S] --out FILE`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use populace::error::exit;
use populace::generation::{CardTemplate, Format, GenerateOptions, GenerateSummary, Mode, Pool, Source};
use populace::inputs::{LoadOptions, Problem, Spec};

use super::emit;
use super::progress::Spinner;

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
     Cards: the default reads \"You are a 30-44-year-old woman. Your race is white. … You are married.\" \
     A --template is a MiniJinja template that sees every attribute by name, person_id, zone and \
     attributes (a map); {{ persona() }} gives the default description; missing names render empty."
)]
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
    /// Output file: .csv, .jsonl or .parquet (written atomically; folders created).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// exact: integer counts meeting the margins, in random order; random: independent draws.
    #[arg(long, value_enum, default_value_t = ModeArg::Exact)]
    mode: ModeArg,
    /// Draw a naive pool instead of the calibrated one: every attribute independent from its
    /// one-way marginal, or IPF on the margins without the seed.
    #[arg(long, value_enum, value_name = "KIND")]
    naive: Option<NaiveArg>,
    /// Card template (MiniJinja) instead of the default.
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
    #[arg(long)]
    json: bool,
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
    Format::from_path(&args.out)?;
    let spec = Spec::from_path(&args.spec)?;
    let problem = Problem::load(&spec, LoadOptions { rescale: args.rescale })?;
    for w in &problem.warnings {
        eprintln!("warning: {w}");
    }
    let card = match (&args.template, args.no_card) {
        (_, true) => None,
        (Some(path), false) => Some(CardTemplate::from_file(path)?),
        (None, false) => Some(CardTemplate::default()),
    };
    let options = GenerateOptions {
        persons: args.persons,
        mode: match args.mode {
            ModeArg::Exact => Mode::Exact,
            ModeArg::Random => Mode::Random,
        },
        source: match args.naive {
            None => Source::Calibrated,
            Some(NaiveArg::Independent) => Source::Independent,
            Some(NaiveArg::Seedless) => Source::Seedless,
        },
        seed: args.seed,
        card,
    };
    let mut spinner = Spinner::new("fitting", args.quiet);
    let pool = Pool::new(&problem, &options, &mut [&mut spinner]);
    spinner.finish();
    let pool = pool?;
    for w in pool.warnings() {
        eprintln!("warning: {w}");
    }
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
