//! Command-line parsing, dispatch, and the mapping from errors to exit codes.

mod allocator;
mod compare;
mod demo;
mod evaluate;
mod fit;
mod generate;
mod guard;
mod households;
mod import;
mod memory;
mod progress;
mod signals;
mod world;
mod zones;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Process exit codes of the `populace` command, as documented in the README.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// A failure that is not the input's fault (an output file could not be written, say).
    pub const FAILURE: i32 = 1;
    /// The command line itself is wrong (unknown flag, missing argument).
    pub const USAGE: i32 = 2;
    /// An input file or spec is invalid: the message names file, line, column and value.
    pub const BAD_INPUT: i32 = 3;
    /// The fit did not converge within its iteration limit; outputs are written and marked. Also
    /// a calibration solver that failed numerically (`Error::Numerical`; nothing is written).
    pub const NOT_CONVERGED: i32 = 4;
    /// The targets cannot be met (a positive target with no seed support, say).
    pub const INFEASIBLE: i32 = 5;
}

/// The exit code of a command that failed with `error`.
fn exit_code(error: &populace::Error) -> i32 {
    use populace::Error;
    match error {
        Error::Write { .. } | Error::Chart(_) => exit::FAILURE,
        Error::Read { .. }
        | Error::Input { .. }
        | Error::Problems { .. }
        | Error::Inconsistent(_)
        | Error::TooLarge(_) => exit::BAD_INPUT,
        Error::Infeasible(_) => exit::INFEASIBLE,
        Error::Numerical(_) => exit::NOT_CONVERGED,
        // the library's errors may grow: a kind this binary does not know is a failure
        _ => exit::FAILURE,
    }
}

/// Synthetic populations calibrated to survey marginals.
#[derive(Parser)]
#[command(name = "populace", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 ok, 1 failure (I/O), 2 usage, 3 bad input, 4 not converged, 5 infeasible.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Fit(fit::FitArgs),
    Compare(compare::CompareArgs),
    Generate(generate::GenerateArgs),
    Evaluate(evaluate::EvaluateArgs),
    World(world::WorldArgs),
    Import(import::ImportArgs),
}

/// Parses the command line, runs the command, and turns its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { exit::OK as u8 });
        }
    };
    signals::install();
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Fit(args) => fit::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::World(args) => world::run(args),
        Command::Import(args) => import::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let code = match e.downcast_ref::<populace::Error>() {
                Some(err) => {
                    eprintln!("error: {err}");
                    exit_code(err)
                }
                None if e.is::<guard::Usage>() => {
                    eprintln!("error: {e}");
                    exit::USAGE
                }
                None => {
                    eprintln!("error: {e:#}");
                    exit::FAILURE
                }
            };
            ExitCode::from(code as u8)
        }
    }
}

/// Prints a result on stdout with a final newline; a closed pipe (`| head`) is not an error.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|_| out.flush());
}

/// Tells stderr what the inputs' missing values came to, one line per input that had any
/// (whatever `--quiet` says: missing values are never silent).
pub fn note_missing<'a>(counts: impl IntoIterator<Item = &'a populace::missing::MissingCounts>) {
    for line in counts.into_iter().filter_map(|c| c.summary()) {
        eprintln!("note: {line}");
    }
}
