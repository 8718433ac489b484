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
    /// Several problems in one input, found by reading it through: the first
    /// [`MAX_SHOWN`] in the order of the input, and how many there are in all.
    #[error("{}", problems_text(file, *total, problems))]
    Problems {
        /// The input, as named in messages.
        file: String,
        /// How many problems it has.
        total: usize,
        /// The first of them (at most [`MAX_SHOWN`]), each an [`Error::Input`].
        problems: Vec<Error>,
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
    /// A solver failed for numerical reasons (round-off, ill-conditioning) on a problem not
    /// shown to be infeasible; the message says what was tried and how close it came.
    #[error("the solver failed numerically: {0}")]
    Numerical(String),
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

/// How many problems an [`Error::Problems`] lists.
pub const MAX_SHOWN: usize = 20;

/// `file: N problems; the first 20:` and one problem per indented line.
fn problems_text(file: &str, total: usize, problems: &[Error]) -> String {
    let mut text = if total > problems.len() {
        format!("{file}: {total} problems; the first {}:", problems.len())
    } else {
        format!("{file}: {total} problems:")
    };
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

/// The problems of one input, collected while it is read through so that all of them are
/// reported at once: every one is counted, and the first [`MAX_SHOWN`] by line (or row) kept.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    total: usize,
    first: Vec<Error>,
}

impl Problems {
    /// No problems yet in the input named `file`.
    pub fn new(file: impl Into<String>) -> Problems {
        Problems { file: file.into(), total: 0, first: Vec::new() }
    }

    /// Counts `error`, keeping it if it is among the first [`MAX_SHOWN`] by place.
    pub fn push(&mut self, error: Error) {
        self.total += 1;
        let here = place(&error);
        let at = self.first.partition_point(|e| place(e) <= here);
        if at < MAX_SHOWN {
            self.first.insert(at, error);
            self.first.truncate(MAX_SHOWN);
        }
    }

    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: Problems) {
        let hidden = other.total - other.first.len();
        other.first.into_iter().for_each(|e| self.push(e));
        self.total += hidden;
    }

    /// The place (line or row) of the next row `next` reads, or `None` at the end: a row that
    /// cannot be read (a ragged CSV row) is a problem and is skipped; an error that does not
    /// move on (none at a new line) ends the input.
    pub fn next_row(&mut self, mut next: impl FnMut() -> Result<Option<u64>>) -> Option<u64> {
        let mut last = None;
        loop {
            match next() {
                Ok(at) => return at,
                Err(e) => {
                    let at = match &e {
                        Error::Input { location, .. } => location.line.or(location.row),
                        _ => None,
                    };
                    self.push(e);
                    if at.is_none() || at == last {
                        return None;
                    }
                    last = at;
                }
            }
        }
    }

    /// `Ok` without problems, the problem itself when there is one, else an
    /// [`Error::Problems`].
    pub fn into_result(mut self) -> Result<()> {
        match self.total {
            0 => Ok(()),
            1 => Err(self.first.remove(0)),
            total => Err(Error::Problems { file: self.file, total, problems: self.first }),
        }
    }
}

/// Where an error is, for ordering: its line or row (errors without one come last).
fn place(error: &Error) -> u64 {
    match error {
        Error::Input { location, .. } => location.line.or(location.row).unwrap_or(u64::MAX),
        _ => u64::MAX,
    }
}

/// Result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64) -> Error {
        Error::input(Location::file("f.csv").at_line(line), format!("bad {line}"))
    }

    #[test]
    fn problems_keep_the_first_twenty_by_line_and_count_all() {
        let mut problems = Problems::new("f.csv");
        assert!(Problems::new("f.csv").into_result().is_ok());
        for line in (2..40).rev() {
            problems.push(at(line));
        }
        let mut later = Problems::new("f.csv");
        later.push(at(1));
        later.push(at(99));
        problems.extend(later);
        let text = problems.into_result().unwrap_err().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "f.csv: 40 problems; the first 20:");
        assert_eq!(lines[1], "  f.csv, line 1: bad 1");
        assert_eq!(lines[20], "  f.csv, line 20: bad 20");
        assert_eq!(lines.len(), 21);
    }

    #[test]
    fn one_problem_is_itself_and_a_few_are_all_shown() {
        let mut one = Problems::new("f.csv");
        one.push(at(3));
        assert_eq!(one.into_result().unwrap_err().to_string(), "f.csv, line 3: bad 3");
        let mut two = Problems::new("f.csv");
        two.push(at(5));
        two.push(at(4));
        let text = two.into_result().unwrap_err().to_string();
        assert_eq!(text, "f.csv: 2 problems:\n  f.csv, line 4: bad 4\n  f.csv, line 5: bad 5");
    }

    #[test]
    fn a_reader_reads_on_past_a_bad_row_but_not_past_a_stuck_one() {
        let mut problems = Problems::new("f.csv");
        let mut script = vec![Ok(None), Ok(Some(4)), Err(at(3)), Ok(Some(2))]; // popped from the end
        let mut next = || script.pop().unwrap_or(Ok(None));
        let places: Vec<u64> = std::iter::from_fn(|| problems.next_row(&mut next)).collect();
        assert_eq!(places, [2, 4]);
        let mut stuck = Problems::new("f.csv");
        assert_eq!(stuck.next_row(|| Err(at(7))), None);
        assert!(stuck.into_result().unwrap_err().to_string().starts_with("f.csv: 2 problems"));
    }
}
