//! The rows of a small input table, whether CSV text or a table in memory, behind one
//! interface, so that margins and the zone map are read by the same code with the same
//! checks. CSV places are lines (the header is line 1); in-memory places are rows (from 1).

use csv::ByteRecord;

use super::csvfile::CsvFile;
use crate::binning::Bins;
use crate::error::{Error, Location, Result};
use crate::frame::Frame;
use crate::missing::MissingValues;

/// Where the numbers of a table (a margin's counts, a seed's weights) are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Numbers {
    /// In the column of this name, as text.
    Column(String),
    /// Given alongside the table, one per row.
    Values(Vec<f64>),
}

/// A table read one row at a time.
pub(crate) trait Rows {
    /// The table, for messages.
    fn location(&self) -> &Location;

    /// Column names in order.
    fn headers(&self) -> &[String];

    /// The position of a required column.
    fn column(&self, name: &str, role: &str) -> Result<usize>;

    /// Moves to the next row: its place (line or row number), or `None` at the end.
    fn next(&mut self) -> Result<Option<u64>>;

    /// Field `col` of the current row, at place `at`: its text, or `None` when missing (an
    /// empty CSV field is `Some("")`).
    fn field(&self, at: u64, col: usize) -> Result<Option<&str>>;

    /// The location of place `at`.
    fn at(&self, at: u64) -> Location;

    /// What a place is called: `line` or `row`.
    fn unit(&self) -> &'static str;

    /// What an absent value is called: `empty` (CSV) or `missing`.
    fn absent(&self) -> &'static str {
        "missing"
    }

    /// A column no reader uses: a CSV file's unnamed row index.
    fn ignored(&self) -> Option<usize> {
        None
    }

    /// What the user should know about how the table was read.
    fn note(&self) -> Option<String> {
        None
    }
}

/// CSV records.
pub(crate) struct CsvRows {
    csv: CsvFile,
    record: ByteRecord,
}

impl CsvRows {
    pub fn new(csv: CsvFile) -> CsvRows {
        CsvRows { csv, record: ByteRecord::new() }
    }
}

impl Rows for CsvRows {
    fn location(&self) -> &Location {
        self.csv.location()
    }

    fn headers(&self) -> &[String] {
        self.csv.headers()
    }

    fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.csv.column(name, role)
    }

    fn next(&mut self) -> Result<Option<u64>> {
        self.csv.next(&mut self.record)
    }

    fn field(&self, at: u64, col: usize) -> Result<Option<&str>> {
        self.csv.field(&self.record, at, col).map(Some)
    }

    fn at(&self, at: u64) -> Location {
        self.csv.location().at_line(at)
    }

    fn unit(&self) -> &'static str {
        "line"
    }

    fn absent(&self) -> &'static str {
        "empty"
    }

    fn ignored(&self) -> Option<usize> {
        self.csv.row_index()
    }

    fn note(&self) -> Option<String> {
        self.csv.note()
    }
}

/// The rows of a [`Frame`].
pub(crate) struct FrameRows<'a> {
    location: Location,
    headers: Vec<String>,
    frame: &'a Frame,
    row: usize,
}

impl<'a> FrameRows<'a> {
    pub fn new(name: &str, frame: &'a Frame) -> FrameRows<'a> {
        let headers = frame.names().map(str::to_string).collect();
        FrameRows { location: Location::file(name), headers, frame, row: 0 }
    }
}

impl Rows for FrameRows<'_> {
    fn location(&self) -> &Location {
        &self.location
    }

    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.frame.column(name).ok_or_else(|| missing_column(&self.location, name, role, &self.headers))
    }

    fn next(&mut self) -> Result<Option<u64>> {
        if self.row == self.frame.rows() {
            return Ok(None);
        }
        self.row += 1;
        Ok(Some(self.row as u64))
    }

    fn field(&self, at: u64, col: usize) -> Result<Option<&str>> {
        Ok(self.frame.value(at as usize - 1, col))
    }

    fn at(&self, at: u64) -> Location {
        self.location.at_row(at)
    }

    fn unit(&self) -> &'static str {
        "row"
    }
}

/// Pairs of values in memory, as a table of two named columns.
pub(crate) struct PairRows<'a> {
    location: Location,
    headers: Vec<String>,
    pairs: &'a [(String, String)],
    row: usize,
}

impl<'a> PairRows<'a> {
    pub fn new(name: &str, columns: [&str; 2], pairs: &'a [(String, String)]) -> PairRows<'a> {
        let headers = columns.iter().map(|c| c.to_string()).collect();
        PairRows { location: Location::file(name), headers, pairs, row: 0 }
    }
}

impl Rows for PairRows<'_> {
    fn location(&self) -> &Location {
        &self.location
    }

    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| missing_column(&self.location, name, role, &self.headers))
    }

    fn next(&mut self) -> Result<Option<u64>> {
        if self.row == self.pairs.len() {
            return Ok(None);
        }
        self.row += 1;
        Ok(Some(self.row as u64))
    }

    fn field(&self, at: u64, col: usize) -> Result<Option<&str>> {
        let (a, b) = &self.pairs[at as usize - 1];
        Ok(Some(if col == 0 { a } else { b }))
    }

    fn at(&self, at: u64) -> Location {
        self.location.at_row(at)
    }

    fn unit(&self) -> &'static str {
        "row"
    }
}

/// Another table's rows with numeric columns binned: each attribute of `bins` whose `from`
/// column the table has is that column, renamed for the attribute, its values the labels of
/// their bins (missing values stay as they are).
pub(crate) struct BinnedRows<'a> {
    rows: &'a mut dyn Rows,
    headers: Vec<String>,
    /// The bins of each column (`None`: read as it is).
    bins: Vec<Option<&'a Bins>>,
    missing_values: &'a MissingValues,
}

impl<'a> BinnedRows<'a> {
    /// `rows` with `bins` applied.
    ///
    /// # Errors
    /// [`Error::Input`] at the header for a table with both an attribute's `from` column and
    /// one named for it.
    pub fn new(rows: &'a mut dyn Rows, bins: &'a [Bins], missing_values: &'a MissingValues) -> Result<Self> {
        let mut headers = rows.headers().to_vec();
        let mut binned = vec![None; headers.len()];
        for b in bins {
            let header = if rows.unit() == "line" { rows.at(1) } else { rows.location().clone() };
            if let Some((col, true)) = b.source(rows.headers()).map_err(|m| Error::input(header, m))? {
                headers[col] = b.name().to_string();
                binned[col] = Some(b);
            }
        }
        Ok(BinnedRows { rows, headers, bins: binned, missing_values })
    }
}

impl Rows for BinnedRows<'_> {
    fn location(&self) -> &Location {
        self.rows.location()
    }

    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn column(&self, name: &str, role: &str) -> Result<usize> {
        match self.headers.iter().position(|h| h == name) {
            Some(col) => Ok(col),
            None => self.rows.column(name, role),
        }
    }

    fn next(&mut self) -> Result<Option<u64>> {
        self.rows.next()
    }

    fn field(&self, at: u64, col: usize) -> Result<Option<&str>> {
        let value = self.rows.field(at, col)?;
        match (self.bins[col], value) {
            (Some(b), Some(v)) if !self.missing_values.is_missing(v) => match b.bin(v) {
                Ok(bin) => Ok(Some(b.labels()[bin].as_str())),
                Err(message) => Err(Error::input(self.rows.at(at).at_column(b.from()), message)),
            },
            _ => Ok(value),
        }
    }

    fn at(&self, at: u64) -> Location {
        self.rows.at(at)
    }

    fn unit(&self) -> &'static str {
        self.rows.unit()
    }

    fn absent(&self) -> &'static str {
        self.rows.absent()
    }

    fn ignored(&self) -> Option<usize> {
        self.rows.ignored()
    }

    fn note(&self) -> Option<String> {
        self.rows.note()
    }
}

/// The error for a column a table in memory lacks.
pub(crate) fn missing_column(location: &Location, name: &str, role: &str, columns: &[String]) -> Error {
    let columns = columns.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    Error::input(location.clone(), format!("missing {role} column \"{name}\"; the table has {columns}"))
}
