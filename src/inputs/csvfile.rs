//! A thin reader over the `csv` crate that turns every problem into an [`Error::Input`]
//! naming file, line, column and value.
//!
//! Files are read whole: that is faster than streaming, lets large plain files be parsed on
//! every core (the seed), and gives true line numbers (the `csv` crate's record positions
//! precede the blank lines it skips).

use std::io::Cursor;

use csv::ByteRecord;

use crate::error::{Error, Location, Result};

/// An open CSV file with a header. A first column without a name is a row index (R's
/// `write.csv` row names, pandas' `to_csv` index): it keeps the empty name, no reader uses it,
/// and [`CsvFile::note`] says so.
pub(crate) struct CsvFile {
    location: Location,
    headers: Vec<String>,
    reader: csv::Reader<Cursor<Vec<u8>>>,
    row_index: bool,
}

impl CsvFile {
    /// Reads the header of the CSV text `data`, named `display` in messages.
    pub fn from_bytes(data: Vec<u8>, display: &str) -> Result<CsvFile> {
        let location = Location::file(display);
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(Cursor::new(data));
        let raw = reader.byte_headers().map_err(|e| csv_error(&location, None, e))?.clone();
        if raw.is_empty() || (raw.len() == 1 && raw[0].is_empty()) {
            return Err(Error::input(location, "the file is empty: expected a header row"));
        }
        let mut headers = Vec::with_capacity(raw.len());
        let mut row_index = false;
        for (i, field) in raw.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|_| {
                Error::input(
                    location.at_line(1),
                    format!(
                        "header field {} is not valid UTF-8 (\"{}\"): save the file as UTF-8",
                        i + 1,
                        String::from_utf8_lossy(field)
                    ),
                )
            })?;
            let name = name.trim_start_matches('\u{feff}').to_string();
            if name.is_empty() && i == 0 && raw.len() > 1 {
                row_index = true;
                headers.push(name);
                continue;
            }
            if name.is_empty() {
                return Err(Error::input(location.at_line(1), format!("header field {} is empty", i + 1)));
            }
            if headers.contains(&name) {
                return Err(Error::input(
                    location.at_line(1).at_column(&name),
                    "the column name appears twice in the header",
                ));
            }
            headers.push(name);
        }
        Ok(CsvFile { location, headers, reader, row_index })
    }

    /// The position of the row-index column (a first column without a name), if there is one.
    pub fn row_index(&self) -> Option<usize> {
        self.row_index.then_some(0)
    }

    /// What the user should know about how the file was read: its row-index column, ignored.
    pub fn note(&self) -> Option<String> {
        self.row_index.then(|| {
            format!(
                "{}: the first column has no name: read as a row index (R's row names, pandas' index) and ignored",
                self.location.file
            )
        })
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.reader.get_ref().get_ref()
    }

    /// Where the records start, right after the header: byte offset and line number.
    pub fn body_start(&self) -> (usize, u64) {
        let p = self.reader.position();
        (usize::try_from(p.byte()).unwrap_or(usize::MAX), p.line())
    }

    /// The line a record really starts on, given the `csv` crate's position for it (which
    /// is where reading started, before any blank lines it skipped).
    fn line_at(&self, p: &csv::Position) -> u64 {
        let rest = self.bytes().get(usize::try_from(p.byte()).unwrap_or(usize::MAX)..).unwrap_or_default();
        let blank = rest.iter().take_while(|&&b| b == b'\n' || b == b'\r').filter(|&&b| b == b'\n').count();
        p.line() + blank as u64
    }

    /// The file's location (for messages).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Column names in order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The position of a required column; the error lists the columns found and hints at a
    /// wrong delimiter when the header is a single field.
    pub fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.headers.iter().position(|h| h == name).ok_or_else(|| {
            let mut message = format!("missing {role} column \"{name}\"; the header has {}", quoted(&self.headers));
            if self.headers.len() == 1 && self.headers[0].contains([';', '\t', '|']) {
                message.push_str(
                    ": the file seems delimited by something other than commas; populace reads comma-separated files",
                );
            }
            Error::input(self.location.at_line(1), message)
        })
    }

    /// Reads the next record into `record`, returning its 1-based line number, or `None` at
    /// the end of the file.
    pub fn next(&mut self, record: &mut ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => Ok(Some(record.position().map_or(0, |p| self.line_at(p)))),
            Err(e) => Err(csv_error(&self.location, e.position().map(|p| self.line_at(p)), e)),
        }
    }

    /// Field `column` of `record` as text, or an error naming the place.
    pub fn field<'r>(&self, record: &'r ByteRecord, line: u64, column: usize) -> Result<&'r str> {
        let bytes = &record[column];
        std::str::from_utf8(bytes).map_err(|_| {
            Error::input(
                self.location.at_line(line).at_column(&self.headers[column]),
                format!("value \"{}\" is not valid UTF-8: save the file as UTF-8", String::from_utf8_lossy(bytes)),
            )
        })
    }

    /// Field `column` of `record` parsed as a finite, non-negative number.
    pub fn count(&self, record: &ByteRecord, line: u64, column: usize, what: &str) -> Result<f64> {
        let text = self.field(record, line, column)?;
        parse_count(text).map_err(|why| {
            Error::input(
                self.location.at_line(line).at_column(&self.headers[column]),
                format!("{what} {why}: \"{}\"", text.escape_debug()),
            )
        })
    }
}

/// The largest count or weight accepted: far below `f64::MAX`, so that sums, squares and the
/// ratios of targets to seed weights that the fits form stay finite.
pub(crate) const MAX_COUNT: f64 = 1e100;

/// The smallest positive count or weight accepted: far above the subnormal range, where
/// doubles lose precision and the ratios the fits form overflow.
pub(crate) const MIN_POSITIVE_COUNT: f64 = 1e-100;

/// Parses a finite, non-negative number within [`MIN_POSITIVE_COUNT`, `MAX_COUNT`] (or zero);
/// the error says why not.
pub(crate) fn parse_count(text: &str) -> std::result::Result<f64, &'static str> {
    if text.is_empty() {
        return Err("is missing");
    }
    let value: f64 = text.parse().map_err(|_| "is not a number")?;
    check_count(value)
}

/// Checks a count or weight as [`parse_count`] does one it has parsed: finite, non-negative,
/// within [`MIN_POSITIVE_COUNT`, `MAX_COUNT`] (or zero); `-0` becomes 0.
#[inline]
pub(crate) fn check_count(value: f64) -> std::result::Result<f64, &'static str> {
    if value.is_nan() {
        Err("is NaN")
    } else if value.is_infinite() {
        Err("is infinite")
    } else if value < 0.0 {
        Err("is negative")
    } else if value > MAX_COUNT {
        Err("is too large to compute with (above 1e100); scale the counts down")
    } else if value > 0.0 && value < MIN_POSITIVE_COUNT {
        Err("is too small to compute with (positive but below 1e-100); scale the counts up, or write 0")
    } else {
        Ok(value.abs()) // -0 reads as 0
    }
}

/// The message for a row whose field count differs from the header's.
pub(crate) fn ragged(found: usize, expected: usize) -> String {
    format!(
        "the row has {found} fields but the header has {expected} (ragged row, or a delimiter inside an unquoted value)"
    )
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

/// The error for a `csv` crate failure on `line`.
fn csv_error(location: &Location, line: Option<u64>, e: csv::Error) -> Error {
    let location = Location { line, ..location.clone() };
    match e.into_kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            Error::input(location, ragged(len as usize, expected_len as usize))
        }
        csv::ErrorKind::Io(err) => Error::read(location.file, err),
        other => Error::input(location, format!("malformed CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unnamed_first_column_is_a_row_index_and_no_other_empty_name_is_accepted() {
        let csv = |text: &str| CsvFile::from_bytes(text.as_bytes().to_vec(), "t.csv");
        // R's write.csv and pandas' to_csv
        for text in ["\"\",\"sex\",\"n\"\n\"1\",\"f\",2\n", ",sex,n\n0,f,2\n"] {
            let file = csv(text).unwrap();
            assert_eq!((file.row_index(), file.headers()), (Some(0), &["".to_string(), "sex".into(), "n".into()][..]));
            assert!(file.note().unwrap().starts_with("t.csv: the first column has no name: read as a row index"));
        }
        assert_eq!(csv("sex,n\nf,2\n").unwrap().row_index(), None);
        let error = |text: &str| csv(text).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error("sex,,n\nf,,2\n").contains("header field 2 is empty"));
        assert!(error(",\n1,\n").contains("header field 2 is empty"));
        assert!(error("\n").contains("the file is empty"));
    }
}
