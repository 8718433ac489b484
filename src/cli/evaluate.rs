//! `populace evaluate SPEC --out DIR [--json] [--quiet]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::evaluation::{evaluate, evaluation_panels, summary_markdown, ExperimentSpec};
use populace::reports::chart::write_interval_svg;
use populace::reports::{write_atomic, write_json, OutputSet};

use super::emit;
use super::exit;
use super::guard::Files;
use super::progress::Spinner;

/// Does conditioning on a persona improve predictions of individuals, or only of populations?
///
/// Cross-fits the spec's predictors, scores them against the population baseline at the
/// individual and the population level with bootstrap CIs, and applies the spec's decision
/// rule. Writes DIR/evaluation.json (schema in docs/evaluate.md), DIR/summary.md and
/// DIR/evaluation.svg (pseudo-R² and relative TV gain with CIs).
#[derive(Args)]
#[command(after_help = "Example:\n  populace evaluate calibration/experiment_anes1996.toml --out out/anes\n\n\
     Exit codes: 0 ok, 1 an output could not be written, 2 usage, 3 bad input.")]
pub struct EvaluateArgs {
    /// The experiment spec (TOML).
    spec: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Print the report as JSON instead of the summary.
    #[arg(long)]
    json: bool,
    /// Print nothing but errors and warnings.
    #[arg(long, short)]
    quiet: bool,
}

/// The files of an evaluation, put in place together.
const OUTPUTS: [&str; 3] = ["evaluation.json", "summary.md", "evaluation.svg"];

/// Runs `populace evaluate`.
pub fn run(args: EvaluateArgs) -> Result<i32> {
    let mut spec = ExperimentSpec::from_path(&args.spec)?;
    let mut files = Files::default().input("the spec", &args.spec).input("the responses", &spec.data.file);
    for pool in &spec.pools {
        files = files.input("a pool", &pool.file);
    }
    files.output_folder("--out", &args.out, &OUTPUTS).check()?;
    // locked, and shown to be writable, before the computing
    let set = OutputSet::open(&args.out)?;
    spec.cache_dir = Some(args.out.join("cache"));
    let spinner = Spinner::new("evaluating", args.quiet);
    let result = evaluate(&spec, &mut |step| spinner.message(&format!("evaluating: {step}")));
    spinner.finish();
    let result = result?;
    for w in result.warnings.iter().chain(&result.missing_summary()) {
        eprintln!("warning: {w}");
    }
    if let Some(line) = result.weight_summary() {
        if !args.quiet {
            eprintln!("note: {line}");
        }
    }
    let [json_name, md_name, svg_name] = OUTPUTS;
    write_json(&set.path(json_name), &result)?;
    write_interval_svg(&evaluation_panels(&result), &set.path(svg_name))?;
    let markdown = format!(
        "{}\n![Pseudo-R² and relative TV gain against the baseline, with CIs](evaluation.svg)\n",
        summary_markdown(&result)
    );
    write_atomic(&set.path(md_name), |w| w.write_all(markdown.as_bytes()))?;
    let (json_path, md_path, svg_path) =
        (set.destination(json_name), set.destination(md_name), set.destination(svg_name));
    set.commit(&OUTPUTS)?;
    if args.json {
        emit(&serde_json::to_string_pretty(&result)?);
    } else if !args.quiet {
        let mut text = format!("populace evaluate {}\n", args.spec.display());
        for (name, verdict) in result.verdicts() {
            text.push_str(&format!("  {name}: {verdict}\n"));
        }
        text.push_str(&format!("  wrote {}, {} and {}", json_path.display(), md_path.display(), svg_path.display()));
        emit(&text);
    }
    Ok(exit::OK)
}
