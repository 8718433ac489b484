//! The `populace` command: a thin layer over the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    populace::memory::retain_freed_memory();
    cli::main()
}
