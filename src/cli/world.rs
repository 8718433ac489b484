//! `populace world --out FILE.csv [--persons N] [--seed S] [--spec world.toml]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use populace::error::exit;
use populace::evaluation::world::{write_world, WorldSpec};

use super::emit;

/// Generate a known-truth responses dataset for validating `populace evaluate`.
///
/// Profiles are drawn from the spec's attributes, answers from main effects, an interaction
/// of the first two attributes, a per-person latent trait and noise (docs/evaluate.md).
#[derive(Args)]
#[command(after_help = "Example:\n  populace world --out world.csv --persons 500 --seed 7")]
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
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `populace world`.
pub fn run(args: WorldArgs) -> Result<i32> {
    let spec = match &args.spec {
        Some(path) => WorldSpec::from_path(path)?,
        None => WorldSpec::default(),
    };
    write_world(&spec, &args.out, args.persons, args.seed)?;
    if !args.quiet {
        emit(&format!("wrote {}", args.out.display()));
    }
    Ok(exit::OK)
}
