//! `populace world --out FILE.csv [--persons N] [--seed S] [--spec world.toml]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::evaluation::world::{write_world, WorldSpec};

use super::emit;
use super::exit;
use super::guard::{extension, Files};

/// Generate a known-truth responses dataset for validating `populace evaluate`.
///
/// Profiles are drawn from the spec's attributes, answers from main effects, an interaction
/// of the first two attributes, a per-person latent trait and noise (docs/evaluate.md).
#[derive(Args)]
#[command(after_help = "Example:\n  populace world --out world.csv --persons 500 --seed 7\n\n\
     Exit codes: 0 ok, 1 the file could not be written, 2 usage, 3 bad spec.")]
pub struct WorldArgs {
    /// Output CSV.
    #[arg(long)]
    out: PathBuf,
    /// Number of persons (overrides the spec).
    #[arg(long)]
    persons: Option<usize>,
    /// Random seed (overrides the spec).
    #[arg(long)]
    seed: Option<u64>,
    /// World spec (TOML); the built-in default world without it.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Print a JSON summary (file, persons, seed, attributes, items) instead of the summary line.
    #[arg(long)]
    json: bool,
    /// Print nothing but errors (and the JSON with --json).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `populace world`.
pub fn run(args: WorldArgs) -> Result<i32> {
    extension("--out", &args.out, "csv")?;
    let mut files = Files::default().output("--out", &args.out);
    if let Some(spec) = &args.spec {
        files = files.input("the spec", spec);
    }
    files.check()?;
    let spec = match &args.spec {
        Some(path) => WorldSpec::from_path(path)?,
        None => WorldSpec::default(),
    };
    write_world(&spec, &args.out, args.persons, args.seed)?;
    if args.json {
        let names = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
        emit(&serde_json::to_string_pretty(&serde_json::json!({
            "file": args.out.display().to_string(),
            "persons": args.persons.unwrap_or(spec.persons),
            "seed": args.seed.unwrap_or(spec.seed),
            "attributes": names(spec.attributes.iter().map(|a| a.name.as_str()).collect()),
            "items": names(spec.items.iter().map(|i| i.name.as_str()).collect()),
        }))?);
    } else if !args.quiet {
        emit(&format!("wrote {}", args.out.display()));
    }
    Ok(exit::OK)
}
