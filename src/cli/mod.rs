//! Command-line parsing, dispatch, and the mapping from errors to exit codes.

mod compare;
mod demo;
mod evaluate;
mod fit;
mod generate;
mod progress;
mod world;
mod zones;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use populace::error::exit;

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
    let outcome = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Fit(args) => fit::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::World(args) => world::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            let code = match e.downcast_ref::<populace::Error>() {
                Some(err) => {
                    eprintln!("error: {err}");
                    err.exit_code()
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
