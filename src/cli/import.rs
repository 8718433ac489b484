//! `populace import populationsim CONFIGS_DIR DATA_DIR --out DIR`.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use populace::inputs::import_populationsim;
use populace::reports::write_atomic;

use super::emit;
use super::exit;
use super::guard::Files;

/// Translate another tool's project into a populace spec.
#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    what: ImportKind,
}

#[derive(Subcommand)]
enum ImportKind {
    Populationsim(PopulationSimArgs),
}

/// Read a PopulationSim project as it is (settings.yaml, controls.csv) and write DIR/spec.toml,
/// which `populace fit` and `populace generate` run as they are.
///
/// Every setting is translated, or known to need nothing here (said on stderr and in the spec's
/// header), or an error naming its line: a misspelled key PopulationSim would silently ignore is
/// reported. Control expressions (pandas syntax) are read as they are; the data files stay where
/// they are, named relative to DIR.
#[derive(Args)]
#[command(
    after_help = "Example:\n  populace import populationsim example_test/configs example_test/data --out out/example_test\n  \
     populace fit out/example_test/spec.toml --out out/example_test/fit\n\n\
     Exit codes: 0 ok, 1 the spec could not be written, 2 usage, 3 a setting or control cannot be translated."
)]
struct PopulationSimArgs {
    /// The project's configs folder (settings.yaml, controls.csv).
    configs: PathBuf,
    /// The project's data folder (seeds, crosswalk, control tables).
    data: PathBuf,
    /// Output folder: DIR/spec.toml (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Print nothing but errors and notes.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: ImportArgs) -> Result<i32> {
    let ImportKind::Populationsim(args) = args.what;
    let spec = args.out.join("spec.toml");
    Files::default()
        .input("settings.yaml", args.configs.join("settings.yaml"))
        .input("controls.csv", args.configs.join("controls.csv"))
        .output("--out", &spec)
        .check()?;
    let imported = import_populationsim(&args.configs, &args.data, &args.out)?;
    std::fs::create_dir_all(&args.out).map_err(|e| populace::Error::write(&args.out, e))?;
    write_atomic(&spec, |out| out.write_all(imported.spec.as_bytes()))?;
    if !imported.notes.is_empty() {
        eprintln!(
            "note: {} settings need nothing here; {} lists them with why at its top",
            imported.notes.len(),
            spec.display()
        );
    }
    if !args.quiet {
        emit(&format!("wrote {}\n  next: populace fit {} --out DIR", spec.display(), spec.display()));
    }
    Ok(exit::OK)
}
