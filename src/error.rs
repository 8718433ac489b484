//! Typed errors for the library.

use std::fmt;
use std::path::PathBuf;

/// Where in an input a problem was found.
///
/// Displays as `file, line 14, column "weight"` (a CSV file or text) or `name, row 14, column
/// "weight"` (a table in memory), omitting the parts that are unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it (relative paths are kept relative).
    pub file: String,
    /// 1-based line number of the record, counting the header as line 1.
    pub line: Option<u64>,
    /// 1-based row number in a table held in memory (which has no lines).
    pub row: Option<u64>,
    /// Column name from the header.
    pub column: Option<String>,
}

impl Location {
    /// A location naming only a file.
    pub fn file(file: impl Into<String>) -> Self {
        Location { file: file.into(), line: None, row: None, column: None }
    }

    /// This location at a given line.
    pub fn at_line(&self, line: u64) -> Self {
        Location { line: Some(line), ..self.clone() }
    }

    /// This location at a given row of a table in memory.
    pub fn at_row(&self, row: u64) -> Self {
        Location { row: Some(row), ..self.clone() }
    }

    /// This location at a given column.
    pub fn at_column(&self, column: &str) -> Self {
        Location { column: Some(column.to_string()), ..self.clone() }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column \"{column}\"")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in populace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path as the user gave it.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path as the user gave it.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An input value or file structure is invalid.
    #[error("{location}: {message}")]
    Input {
        /// Where the problem is.
        location: Location,
        /// What is wrong, including the offending value.
        message: String,
    },
    /// The inputs are individually valid but disagree with each other (margin totals,
    /// shared sub-margins).
    #[error("{0}")]
    Inconsistent(String),
    /// The targets cannot be met from the seed's support or within the bounds given.
    #[error("infeasible: {0}")]
    Infeasible(String),
    /// The problem is too large to hold in memory in the requested form.
    #[error("{0}")]
    TooLarge(String),
    /// A chart could not be drawn.
    #[error("cannot draw the chart: {0}")]
    Chart(String),
}

impl Error {
    /// Shorthand for an [`Error::Input`].
    pub fn input(location: Location, message: impl Into<String>) -> Self {
        Error::Input { location, message: message.into() }
    }

    /// Shorthand for an [`Error::Read`].
    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Read { path: path.into(), source }
    }

    /// Shorthand for an [`Error::Write`].
    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Write { path: path.into(), source }
    }
}

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
