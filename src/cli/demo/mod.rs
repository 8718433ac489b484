//! `populace demo [--out DIR] [--json] [--quiet]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::emit;
use super::exit;
use super::progress::Spinner;

mod pipeline;
mod report;

/// Run the whole pipeline on the shipped data and write a report of what it found.
///
/// Calibrates the ACS 2012 seed to six two-way margins; draws a calibrated and a naive pool of
/// 2000 persons; compares both with the ACS 2012 persons; evaluates whether conditioning on a
/// persona improves predictions of individuals or only of populations (ACS 2012 pools, ANES
/// 1996 answers), with effect replication and run-to-run variance; fits the EU-SILC 2006 seed
/// households and their persons to state and region controls. The data is built into the
/// binary and written to DIR/inputs/, so it runs from any folder. Writes DIR/report.html
/// (self-contained), DIR/report.md with DIR/figures/, DIR/findings.json, and each stage's
/// outputs in DIR/fit/, DIR/pools/, DIR/compare/, DIR/evaluate-acs2012/, DIR/evaluate-anes1996/,
/// DIR/households/.
#[derive(Args)]
#[command(after_help = "Example:\n  populace demo --out out/demo && xdg-open out/demo/report.html\n\n\
     Exit codes: 0 ok, 1 an output could not be written, 2 usage.")]
pub struct DemoArgs {
    /// Output folder (created if missing).
    #[arg(long, default_value = "out/demo", value_name = "DIR")]
    out: PathBuf,
    /// Print the findings as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Print nothing but errors (and the JSON with --json).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `populace demo`.
pub fn run(args: DemoArgs) -> Result<i32> {
    let spinner = Spinner::new("demo", args.quiet);
    let demo = pipeline::run(&args.out, &mut |step| spinner.message(&format!("demo: {step}")));
    spinner.finish();
    let demo = demo?;
    if !args.quiet {
        for w in &demo.warnings {
            eprintln!("warning: {w}");
        }
    }
    if args.json {
        emit(&serde_json::to_string_pretty(&demo)?);
    } else if !args.quiet {
        let f = &demo.findings;
        emit(&format!(
            "populace demo: report in {} (and {}), {:.1} s\n  1. {}\n  2. {}\n  3. {}",
            demo.html.display(),
            demo.markdown.display(),
            demo.seconds,
            f.pools.headline,
            f.conditioning.headline,
            f.replication.headline
        ));
    }
    Ok(exit::OK)
}
