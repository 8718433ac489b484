//! A whole input table (CSV or Parquet) held as a [`Frame`] of its text values, missing values
//! as missing, with each row's place in the file for messages.

use std::path::Path;

use indexmap::IndexMap;

use crate::error::{Error, Location, Result};
use crate::frame::{Dictionary, Frame, FrameBuilder};
use crate::inputs::rows::missing_column;
use crate::inputs::{Contents, CsvFile, CsvRows, Rows};
use crate::missing::MissingValues;

/// A table read whole.
pub(crate) struct Table {
    /// Its name in messages.
    pub name: String,
    /// Its values, columns renamed as asked.
    pub frame: Frame,
    /// The line of each row (CSV), or none (Parquet: rows are numbered from 1).
    lines: Option<Vec<u64>>,
    /// Every column of the file, renamed, read or not (for messages).
    header: Vec<String>,
}

impl Table {
    /// Reads the file `path` (named `display`), renaming columns by `rename` and reading the
    /// values of `missing` as missing; with `keep`, only the columns it names (after renaming)
    /// are read.
    /// With `comment`, CSV text from that character to the end of its line is left out (as
    /// pandas' `read_csv(comment=…)`, which PopulationSim reads with `#`), outside quotes.
    pub fn read(
        path: &Path,
        display: &str,
        rename: &IndexMap<String, String>,
        missing: &MissingValues,
        comment: Option<u8>,
        keep: Option<&[String]>,
    ) -> Result<Table> {
        let renamed = |name: &str| rename.get(name).map_or(name, String::as_str).to_string();
        let read = |rows: &mut dyn Rows| -> Result<(Frame, Vec<u64>, Vec<String>)> {
            let header: Vec<String> = rows.headers().iter().map(|n| renamed(n)).collect();
            let wanted = |c: usize| keep.is_none_or(|k| k.contains(&header[c]));
            let (frame, lines) = read_rows(rows, missing, wanted)?;
            Ok((frame, lines, header))
        };
        let (frame, lines, header) = match Contents::read(path, display)? {
            Contents::Csv(mut bytes) => {
                if let Some(c) = comment {
                    strip_comments(&mut bytes, c);
                }
                let (frame, lines, header) = read(&mut CsvRows::new(CsvFile::from_bytes(bytes, display)?))?;
                (frame, Some(lines), header)
            }
            Contents::Parquet(frame) => {
                let (frame, _, header) = read(&mut crate::inputs::FrameRows::new(display, &frame))?;
                (frame, None, header)
            }
        };
        let mut table = Table { name: display.to_string(), frame, lines, header };
        table.rename(rename)?;
        Ok(table)
    }

    fn rename(&mut self, rename: &IndexMap<String, String>) -> Result<()> {
        for (from, to) in rename {
            let Some(col) = self.frame.column(from) else {
                if self.header.contains(to) {
                    continue; // a column not read
                }
                let names: Vec<String> = self.frame.names().map(str::to_string).collect();
                return Err(missing_column(&Location::file(&self.name), from, "renamed", &names));
            };
            if from != to && self.frame.column(to).is_some() {
                return Err(Error::input(
                    Location::file(&self.name).at_column(to),
                    format!("renaming \"{from}\" to \"{to}\": the table already has a column \"{to}\""),
                ));
            }
            self.frame.rename(col, to.clone());
        }
        Ok(())
    }

    /// The position of column `name`, which has role `role` (for the message).
    pub fn column(&self, name: &str, role: &str) -> Result<usize> {
        self.frame.column(name).ok_or_else(|| missing_column(&Location::file(&self.name), name, role, &self.header))
    }

    /// Where row `row` (from 0) is, at column `col`.
    pub fn at(&self, row: usize, col: usize) -> Location {
        let location = Location::file(&self.name);
        let location = match &self.lines {
            Some(lines) => location.at_line(lines[row]),
            None => location.at_row(row as u64 + 1),
        };
        location.at_column(self.frame.columns()[col].name())
    }

    /// Where row `row` is.
    pub fn at_row(&self, row: usize) -> Location {
        let location = Location::file(&self.name);
        match &self.lines {
            Some(lines) => location.at_line(lines[row]),
            None => location.at_row(row as u64 + 1),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.frame.rows()
    }

    /// The value at `row`, `col`, or `None` when missing.
    pub fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.frame.value(row, col)
    }

    /// The value at `row`, `col`, which must be present (`role` names it in the message).
    pub fn required(&self, row: usize, col: usize, role: &str) -> Result<&str> {
        self.value(row, col).ok_or_else(|| Error::input(self.at(row, col), format!("the {role} is missing")))
    }
}

/// Every row of `rows` in the columns `wanted` keeps, and each row's place.
fn read_rows(
    rows: &mut dyn Rows,
    missing: &MissingValues,
    wanted: impl Fn(usize) -> bool,
) -> Result<(Frame, Vec<u64>)> {
    let ignored = rows.ignored();
    let columns: Vec<usize> = (0..rows.headers().len()).filter(|&c| Some(c) != ignored && wanted(c)).collect();
    let names: Vec<String> = columns.iter().map(|&c| rows.headers()[c].clone()).collect();
    let mut builder = FrameBuilder::new(names.iter().map(|n| (n.as_str(), Dictionary::learned())))?;
    let mut places = Vec::new();
    while let Some(at) = rows.next()? {
        let mut fields: Vec<Option<&str>> = Vec::with_capacity(columns.len());
        for &c in &columns {
            fields.push(rows.field(at, c)?.filter(|v| !missing.is_missing(v)));
        }
        let row = places.len();
        builder.push(fields.iter().copied()).map_err(|e| e.into_error(&builder, row))?;
        places.push(at);
    }
    Ok((builder.finish(), places))
}

/// Removes every comment (from `comment` outside double quotes to the end of the line) from
/// CSV text, keeping the line breaks so that line numbers stay true.
fn strip_comments(bytes: &mut Vec<u8>, comment: u8) {
    let mut out = 0;
    let (mut quoted, mut skipping) = (false, false);
    for i in 0..bytes.len() {
        let b = bytes[i];
        if skipping && b != b'\n' {
            continue;
        }
        match b {
            b'\n' => skipping = false,
            b'"' => quoted = !quoted,
            c if c == comment && !quoted => {
                skipping = true;
                continue;
            }
            _ => {}
        }
        bytes[out] = b;
        out += 1;
    }
    bytes.truncate(out);
}

#[cfg(test)]
mod tests {
    use super::strip_comments;

    #[test]
    fn comments_go_and_lines_stay() {
        let mut text = b"a,b\n# a note\n1,2 # trailing\n\"x#y\",3\n".to_vec();
        strip_comments(&mut text, b'#');
        assert_eq!(text, b"a,b\n\n1,2 \n\"x#y\",3\n");
    }
}
