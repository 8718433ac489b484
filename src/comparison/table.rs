//! Reading a truth or a pool: microdata (one row per person) or a count table (one row per
//! cell with its count), dictionary-encoded column by column.

use std::io::Read;
use std::path::Path;

use csv::ByteRecord;

use crate::binning::Bins;
use crate::error::{Error, Location, Problems, Result};
use crate::frame::{Dictionary, Frame, FrameBuilder, Rejected};
use crate::inputs::{parse_count, Contents, CsvFile, FrameRows, Rows};
use crate::missing::MissingValues;

/// What one row of a [`Table`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// One row per person, each weighing 1 or the value of its weight column.
    Microdata,
    /// One row per cell, weighing the value of its count column (rows of the same cell add up).
    Counts,
}

/// How to read a [`Table`]: the names of its count and weight columns, and the values that
/// mean missing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// The count column's name. A file with a column of this name is a count table; any other
    /// file is microdata. Default `count`.
    pub count: String,
    /// Make a file without the count column an error instead of reading it as microdata (for a
    /// count column the user named explicitly).
    pub count_required: bool,
    /// A design-weight column of microdata: each row weighs its value instead of 1. The column
    /// must exist; a count table cannot also have one.
    pub weight: Option<String>,
    /// The values of a categorical column read as missing (default [`MissingValues::default`]).
    pub missing_values: MissingValues,
    /// Attributes binned from numeric columns: a file with an attribute's `from` column has it
    /// binned, under the attribute's name (see [`binning`](crate::binning)).
    pub bins: Vec<Bins>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            count: "count".to_string(),
            count_required: false,
            weight: None,
            missing_values: MissingValues::default(),
            bins: Vec::new(),
        }
    }
}

impl ReadOptions {
    /// With the count column named `name`.
    pub fn count(mut self, name: impl Into<String>) -> ReadOptions {
        self.count = name.into();
        self
    }

    /// With a file without the count column an error (`true`) or microdata (`false`).
    pub fn count_required(mut self, required: bool) -> ReadOptions {
        self.count_required = required;
        self
    }

    /// With the design-weight column `name` for microdata.
    pub fn weight(mut self, name: impl Into<String>) -> ReadOptions {
        self.weight = Some(name.into());
        self
    }

    /// With `values` read as missing in the categorical columns.
    pub fn missing_values(mut self, values: MissingValues) -> ReadOptions {
        self.missing_values = values;
        self
    }

    /// With numeric columns binned into the attributes `bins`.
    ///
    /// ```
    /// use populace::binning::Bins;
    /// use populace::comparison::{ReadOptions, Table};
    ///
    /// let options = ReadOptions::default().bins([Bins::new("age_group", "age", &[0.0, 18.0], None)?]);
    /// let t = Table::from_reader("age,sex\n4,f\n40,m\nNA,f\n".as_bytes(), "truth", &options)?;
    /// assert_eq!(t.column_names(), ["age_group", "sex"]);
    /// assert_eq!(t.frame().levels(0), ["[0,18)", "[18,Inf)", "NA"]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn bins(mut self, bins: impl IntoIterator<Item = Bins>) -> ReadOptions {
        self.bins = bins.into_iter().collect();
        self
    }
}

/// A truth or a pool to compare: named categorical columns ([`Frame`]) and a weight per row.
///
/// Built by [`Table::read`] from a CSV file, by [`Table::from_reader`] from CSV text in memory, by
/// [`Table::from_rows`] from values, or by [`Table::from_frame`] and [`Table::from_frame_counts`]
/// from columns in memory. Every column but the count or weight column is kept as
/// categorical text, trimmed of surrounding spaces; which of them are compared, and what their
/// missing values (the table's [`MissingValues`], and values missing from a frame) become, is
/// decided by [`compare`](super::compare).
#[derive(Debug, Clone)]
pub struct Table {
    pub(crate) file: String,
    pub(crate) kind: TableKind,
    pub(crate) frame: Frame,
    pub(crate) weights: Vec<f64>,
    pub(crate) missing_values: MissingValues,
    /// What the user should know about how it was read (a row-index column ignored).
    pub(crate) notes: Vec<String>,
}

impl Table {
    /// Reads a comma-separated UTF-8 file with a header (a UTF-8 byte-order mark is accepted),
    /// or a Parquet file (named `.parquet`, or starting with `PAR1`); `path` as given is the
    /// name used in messages and reports.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] if the file cannot be opened, and the errors of [`Table::from_reader`].
    pub fn read(path: &Path, options: &ReadOptions) -> Result<Table> {
        let display = path.display().to_string();
        Table::from_contents(Contents::read(path, &display)?, &display, options)
    }

    /// Reads comma-separated UTF-8 text with a header from `reader`, as [`Table::read`] reads a
    /// file; `name` names the table in messages and reports.
    ///
    /// ```
    /// use populace::comparison::{ReadOptions, Table, TableKind};
    ///
    /// let t = Table::from_reader("sex,count\nf,2.5\nm,3\n".as_bytes(), "cells", &ReadOptions::default())?;
    /// assert_eq!((t.kind(), t.rows(), t.total()), (TableKind::Counts, 2, 5.5));
    /// assert_eq!(t.frame().levels(0), ["f", "m"]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Read`] if the reader fails, and [`Error::Input`] naming the table, line, column
    /// and value for: empty text, a header without rows, an empty or repeated column name, a
    /// ragged row, invalid UTF-8, a missing required count or weight column, a count table with
    /// a weight column, and a count or weight that is missing, not a number, negative, NaN or
    /// infinite.
    pub fn from_reader(reader: impl Read, name: &str, options: &ReadOptions) -> Result<Table> {
        let bytes = crate::memory::read_input(reader, None, name)?;
        Table::from_contents(Contents::of(bytes, name)?, name, options)
    }

    fn from_contents(contents: Contents, name: &str, options: &ReadOptions) -> Result<Table> {
        match contents {
            Contents::Csv(bytes) => Table::from_csv(CsvFile::from_bytes(bytes, name)?, options),
            Contents::Parquet(frame) => {
                Table::from_parquet(name, &Bins::apply(&options.bins, frame, name, &options.missing_values)?, options)
            }
        }
    }

    /// The table of a Parquet file's rows: as [`Table::from_csv`], its count or weight column
    /// parsed as numbers, its other columns categorical.
    fn from_parquet(name: &str, frame: &Frame, options: &ReadOptions) -> Result<Table> {
        let rows = FrameRows::new(name, frame);
        let count = frame.column(&options.count);
        if count.is_none() && options.count_required {
            rows.column(&options.count, "count")?;
        }
        let weight = options.weight.as_deref().map(|w| rows.column(w, "weight")).transpose()?;
        if let (Some(_), Some(weight)) = (count, &options.weight) {
            return Err(Error::input(rows.location().clone(), both(&options.count, weight)));
        }
        let (kind, what) =
            if count.is_some() { (TableKind::Counts, "count") } else { (TableKind::Microdata, "weight") };
        let categorical: Vec<usize> = (0..frame.columns().len()).filter(|&i| Some(i) != count.or(weight)).collect();
        let weights = match count.or(weight) {
            Some(col) => {
                let parsed: Vec<_> = frame.levels(col).iter().map(|l| parse_count(l)).collect();
                (0..frame.rows())
                    .map(|row| {
                        frame.code(row, col).map_or(Err("is missing"), |l| parsed[l as usize]).map_err(|why| {
                            let text = frame.value(row, col).unwrap_or_default().escape_debug().to_string();
                            let at = rows.at(row as u64 + 1).at_column(frame.names().nth(col).unwrap_or_default());
                            Error::input(at, format!("{what} {why}: \"{text}\""))
                        })
                    })
                    .collect::<Result<Vec<f64>>>()?
            }
            None => vec![1.0; frame.rows()],
        };
        if weights.is_empty() {
            return Err(Error::input(rows.location().clone(), "the file has columns but no rows"));
        }
        Ok(Table::of_frame(name, frame.select(&categorical), kind, weights, what)?
            .with_missing_values(options.missing_values.clone()))
    }

    fn from_csv(mut csv: CsvFile, options: &ReadOptions) -> Result<Table> {
        let headers = csv.headers().to_vec();
        let count = headers.iter().position(|h| *h == options.count);
        if count.is_none() && options.count_required {
            csv.column(&options.count, "count")?;
        }
        let weight = options.weight.as_deref().map(|w| csv.column(w, "weight")).transpose()?;
        if let (Some(_), Some(name)) = (count, &options.weight) {
            return Err(Error::input(csv.location().at_line(1), both(&options.count, name)));
        }
        let value_column = count.or(weight);
        let kind = if count.is_some() { TableKind::Counts } else { TableKind::Microdata };
        let what = if count.is_some() { "count" } else { "weight" };

        let categorical: Vec<usize> =
            (0..headers.len()).filter(|&i| Some(i) != value_column && Some(i) != csv.row_index()).collect();
        // the bins of each categorical column binned into an attribute
        let mut binned: Vec<Option<&Bins>> = vec![None; categorical.len()];
        let mut names: Vec<&str> = categorical.iter().map(|&i| headers[i].as_str()).collect();
        for b in &options.bins {
            let found = b.source(&headers).map_err(|m| Error::input(csv.location().at_line(1), m))?;
            if let Some((col, true)) = found {
                if let Some(c) = categorical.iter().position(|&i| i == col) {
                    binned[c] = Some(b);
                    names[c] = b.name();
                }
            }
        }
        // a binned column's levels are its labels in order, then any missing values
        let dictionaries = binned.iter().map(|b| {
            let mut dictionary = Dictionary::learned();
            for label in b.map(Bins::labels).unwrap_or_default() {
                dictionary.encode(label);
            }
            dictionary
        });
        let mut frame = FrameBuilder::new(names.iter().copied().zip(dictionaries))?;
        let mut weights = Vec::new();
        let mut record = ByteRecord::new();
        let mut problems = Problems::new(csv.location().file.clone());
        while let Some(line) = problems.next_row(|| csv.next(&mut record)) {
            // A row's first problem, in column order, is reported; the row is left out.
            let mut failure = None;
            let fields = categorical.iter().zip(&binned).map_while(|(&i, bins)| {
                let value = csv.field(&record, line, i).and_then(|value| match bins {
                    Some(b) if !options.missing_values.is_missing(value) => b
                        .bin(value)
                        .map(|bin| b.labels()[bin].as_str())
                        .map_err(|m| Error::input(csv.location().at_line(line).at_column(&headers[i]), m)),
                    _ => Ok(value),
                });
                match value {
                    Ok(value) => Some(Some(value)),
                    Err(e) => {
                        failure = Some((i, e));
                        None
                    }
                }
            });
            let pushed = frame.push(fields);
            let weight = match value_column {
                Some(i) if failure.as_ref().is_none_or(|(at, _)| i < *at) => csv.count(&record, line, i, what),
                _ => Ok(1.0),
            };
            let weight = match (weight, failure) {
                (Ok(weight), None) => weight,
                (Err(e), _) | (Ok(_), Some((_, e))) => {
                    problems.push(e);
                    continue;
                }
            };
            pushed
                .map_err(|rejected| too_many_values(csv.location().at_line(line), &headers, &categorical, rejected))?;
            weights.push(weight);
        }
        problems.into_result()?;
        if weights.is_empty() {
            return Err(Error::input(csv.location().clone(), "the file has a header but no rows"));
        }
        Ok(Table {
            file: csv.location().file.clone(),
            kind,
            frame: frame.finish(),
            weights,
            missing_values: options.missing_values.clone(),
            notes: csv.note().into_iter().collect(),
        })
    }

    /// Builds unweighted microdata from memory: `name` names the table in reports, `columns`
    /// are the column names and every row of `rows` holds one value per column (trimmed of
    /// surrounding spaces; the empty value, `NA` and the other [`MissingValues::default`] are
    /// missing).
    ///
    /// ```
    /// use populace::comparison::Table;
    ///
    /// let t = Table::from_rows("people", &["sex", "age"], &[vec!["f", "old"], vec!["m", "young"]])?;
    /// assert_eq!(t.rows(), 2);
    /// assert_eq!(t.column_names(), ["sex", "age"]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Input`] when there are no rows, a column name is empty or repeated, or a row
    /// does not have one value per column.
    pub fn from_rows<S: AsRef<str>>(name: &str, columns: &[&str], rows: &[Vec<S>]) -> Result<Table> {
        let location = Location::file(name);
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() || columns[..i].contains(c) {
                return Err(Error::input(location.at_column(c), "column names must be non-empty and distinct"));
            }
        }
        if rows.is_empty() {
            return Err(Error::input(location, "the table has no rows"));
        }
        let mut frame = FrameBuilder::new(columns.iter().map(|&c| (c, Dictionary::learned())))?;
        for (r, row) in rows.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(Error::input(
                    location.clone(),
                    format!("row {} has {} values but there are {} columns", r + 1, row.len(), columns.len()),
                ));
            }
            if let Err(rejected) = frame.push(row.iter().map(|v| Some(v.as_ref().trim()))) {
                let names: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
                let all: Vec<usize> = (0..columns.len()).collect();
                return Err(too_many_values(location, &names, &all, rejected));
            }
        }
        Ok(Table {
            file: name.to_string(),
            kind: TableKind::Microdata,
            frame: frame.finish(),
            weights: vec![1.0; rows.len()],
            missing_values: MissingValues::default(),
            notes: Vec::new(),
        })
    }

    /// Microdata held in a [`Frame`] (one row per person), each row weighing its value of
    /// `weights` (design weights), or 1 without them; `name` names the table in reports.
    /// Columns and categories are the frame's, in its order; a value missing from the frame,
    /// or one of [`MissingValues::default`], is missing.
    ///
    /// ```
    /// use populace::comparison::{Table, TableKind};
    /// use populace::frame::Frame;
    ///
    /// let persons = Frame::from_columns(&[("sex", ["f", "m", "f"])])?;
    /// let t = Table::from_frame("survey", persons, Some(vec![1.5, 2.0, 0.5]))?;
    /// assert_eq!((t.kind(), t.rows(), t.total()), (TableKind::Microdata, 3, 4.0));
    /// # Ok::<(), populace::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Input`] naming the table, and the column and row where they apply, for a frame
    /// without rows or columns, weights not one per row, or a weight that is negative, NaN or
    /// infinite.
    pub fn from_frame(name: &str, frame: Frame, weights: Option<Vec<f64>>) -> Result<Table> {
        let weights = weights.unwrap_or_else(|| vec![1.0; frame.rows()]);
        Table::of_frame(name, frame, TableKind::Microdata, weights, "weight")
    }

    /// A count table held in a [`Frame`]: one row per cell, weighing its value of `counts`
    /// (rows of the same cell add up); `name` names the table in reports.
    ///
    /// # Errors
    ///
    /// As [`Table::from_frame`], for counts.
    pub fn from_frame_counts(name: &str, frame: Frame, counts: Vec<f64>) -> Result<Table> {
        Table::of_frame(name, frame, TableKind::Counts, counts, "count")
    }

    fn of_frame(name: &str, frame: Frame, kind: TableKind, weights: Vec<f64>, what: &str) -> Result<Table> {
        let location = Location::file(name);
        if frame.rows() == 0 || frame.columns().is_empty() {
            return Err(Error::input(location, "the table has no rows or no columns"));
        }
        if weights.len() != frame.rows() {
            return Err(Error::input(location, format!("{} {what}s for {} rows", weights.len(), frame.rows())));
        }
        if let Some(row) = weights.iter().position(|w| !w.is_finite() || *w < 0.0) {
            let message = format!("the {what} is {}: {what}s must be finite and not negative", weights[row]);
            return Err(Error::input(location.at_row(row as u64 + 1), message));
        }
        Ok(Table {
            file: name.to_string(),
            kind,
            frame,
            weights,
            missing_values: MissingValues::default(),
            notes: Vec::new(),
        })
    }

    /// The same table with `values`, not [`MissingValues::default`], read as missing.
    pub fn with_missing_values(mut self, values: MissingValues) -> Table {
        self.missing_values = values;
        self
    }

    /// The file name as given (or the name passed to [`Table::from_rows`],
    /// [`Table::from_reader`] or [`Table::from_frame`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Microdata or count table.
    pub fn kind(&self) -> TableKind {
        self.kind
    }

    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.weights.len()
    }

    /// Total weight: persons (or weighted persons) of microdata, the sum of a count table's counts.
    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// The categorical columns' names in file order (the count or weight column left out).
    pub fn column_names(&self) -> Vec<&str> {
        self.frame.names().collect()
    }

    /// The categorical columns: their categories in order of first appearance and every row's
    /// code.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Each row's weight: 1, its weight, or its count.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

/// The error for a row the frame builder rejected: a column of learned categories only rejects
/// a value when it already has as many categories as codes can name (`columns` maps the
/// builder's columns to the header's).
fn too_many_values(location: Location, headers: &[String], columns: &[usize], rejected: Rejected) -> Error {
    let column = match rejected {
        Rejected::Full { column } | Rejected::Unknown { column } => &headers[columns[column]],
        _ => return Error::input(location, "the row does not have one value per column"),
    };
    Error::input(location.at_column(column), "the column has more distinct values than codes can name (2^32 - 1)")
}

/// The message for a table with both a count and a weight column.
fn both(count: &str, weight: &str) -> String {
    format!(
        "the file has both a count column \"{count}\" and the weight column \"{weight}\": a count table's rows are \
         cells, not weighted persons; drop the weight option, or name a different count column"
    )
}

/// `"a", "b", "c"`, for messages.
pub(crate) fn quoted<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|n| format!("\"{}\"", n.as_ref())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, options: &ReadOptions) -> Result<Table> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        Table::read(&path, options)
    }

    #[test]
    fn microdata_and_count_tables_are_told_apart() {
        let t = read("\u{feff}sex, age\nf , old\nm,young\nf,old\n", &ReadOptions::default()).unwrap();
        assert_eq!(t.kind(), TableKind::Microdata);
        assert_eq!(t.column_names(), ["sex", "age"]);
        assert_eq!(t.rows(), 3);
        assert_eq!(t.total(), 3.0);
        let sex = t.frame().column("sex").unwrap();
        assert_eq!(t.frame().levels(sex), ["f", "m"]);
        assert_eq!(t.frame().column_codes(sex).collect::<Vec<_>>(), [Some(0), Some(1), Some(0)]);

        let t = read("sex,n\nf,2.5\nm,3\n", &ReadOptions::default().count("n")).unwrap();
        assert_eq!(t.kind(), TableKind::Counts);
        assert_eq!(t.column_names(), ["sex"]);
        assert_eq!(t.total(), 5.5);
    }

    #[test]
    fn weights_and_their_errors() {
        let options = ReadOptions::default().weight("w");
        let t = read("sex,w\nf,2\nm,0.5\n", &options).unwrap();
        assert_eq!(t.weights(), [2.0, 0.5]);
        let message = read("sex,w\nf,2\nm,-1\n", &options).unwrap_err().to_string();
        assert!(message.contains("line 3, column \"w\": weight is negative: \"-1\""), "{message}");
        let message = read("sex\nf\n", &options).unwrap_err().to_string();
        assert!(message.contains("line 1: missing weight column \"w\""), "{message}");
        let message = read("sex,w,count\nf,1,1\n", &options).unwrap_err().to_string();
        assert!(message.contains("both a count column"), "{message}");
    }

    #[test]
    fn structural_errors_name_the_place() {
        let o = ReadOptions::default();
        assert!(read("", &o).unwrap_err().to_string().contains("the file is empty"));
        assert!(read("sex,count\n", &o).unwrap_err().to_string().contains("header but no rows"));
        let m = read("sex,count\nf,abc\n", &o).unwrap_err().to_string();
        assert!(m.contains("line 2, column \"count\": count is not a number: \"abc\""), "{m}");
        let m = read("sex,age\nf\n", &o).unwrap_err().to_string();
        assert!(m.contains("line 2: the row has 1 fields but the header has 2"), "{m}");
        let m = read("sex,sex\nf,f\n", &o).unwrap_err().to_string();
        assert!(m.contains("appears twice"), "{m}");
        let required = ReadOptions::default().count_required(true);
        let m = read("sex\nf\n", &required).unwrap_err().to_string();
        assert!(m.contains("missing count column \"count\""), "{m}");
    }

    #[test]
    fn text_in_memory_reads_as_the_same_file_would() {
        let text = "sex,count,age\nf,2,old\n m ,1,\nf,3,young\n";
        let options = ReadOptions::default();
        let file = read(text, &options).unwrap();
        let memory = Table::from_reader(text.as_bytes(), "t.csv", &options).unwrap();
        assert!(file.file().ends_with("t.csv") && memory.file() == "t.csv");
        assert_eq!((memory.kind, &memory.frame, &memory.weights), (file.kind, &file.frame, &file.weights));
        // the table keeps the values as read; compare decides what a missing one becomes
        assert_eq!(memory.frame().levels(1), ["old", "", "young"]);
        assert!(memory.missing_values.is_missing(""));
        assert_eq!(memory.frame().value(1, 0), Some("m"));

        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let m = Table::from_reader(Failing, "broken", &options).unwrap_err().to_string();
        assert_eq!(m, "cannot read broken: disk on fire");
    }

    #[test]
    fn a_frame_reads_as_the_same_csv_would_and_its_errors_name_the_place() {
        let text = "sex,count,age\nf,2,old\nm,1,young\nf,3,young\n";
        let csv = Table::from_reader(text.as_bytes(), "t", &ReadOptions::default()).unwrap();
        let frame = Frame::from_columns(&[("sex", ["f", "m", "f"]), ("age", ["old", "young", "young"])]).unwrap();
        let t = Table::from_frame_counts("t", frame.clone(), vec![2.0, 1.0, 3.0]).unwrap();
        assert_eq!((t.kind, &t.frame, &t.weights), (csv.kind, &csv.frame, &csv.weights));
        let t = Table::from_frame("t", frame.clone(), None).unwrap();
        assert_eq!((t.kind(), t.total()), (TableKind::Microdata, 3.0));

        let m = |r: Result<Table>| r.unwrap_err().to_string();
        assert!(m(Table::from_frame("t", frame.clone(), Some(vec![1.0]))).contains("1 weights for 3 rows"));
        let bad = m(Table::from_frame_counts("t", frame.clone(), vec![1.0, f64::NAN, 1.0]));
        assert!(bad.contains("row 2") && bad.contains("the count is NaN"), "{bad}");
        // values missing from a frame are accepted: compare applies its policy to them
        let holes = Frame::from_columns(&[("sex", vec![Some("f"), None])]).unwrap();
        assert_eq!(Table::from_frame("t", holes, None).unwrap().rows(), 2);
        let empty = Frame::from_columns::<&str, [&str; 0], &str>(&[("sex", [])]).unwrap();
        assert!(m(Table::from_frame("t", empty, None)).contains("no rows"));
    }

    #[test]
    fn a_row_reports_its_first_bad_field_in_column_order() {
        let o = ReadOptions::default();
        let count_first = Table::from_reader(&b"sex,count,age\nf,x,\xff\n"[..], "t", &o).unwrap_err().to_string();
        assert!(count_first.contains("column \"count\": count is not a number"), "{count_first}");
        let text_first = Table::from_reader(&b"sex,age,count\nf,\xff,x\n"[..], "t", &o).unwrap_err().to_string();
        assert!(text_first.contains("column \"age\": value \"\u{fffd}\" is not valid UTF-8"), "{text_first}");
    }

    #[test]
    fn from_rows_checks_its_shape() {
        assert!(Table::from_rows::<&str>("x", &["a"], &[]).is_err());
        assert!(Table::from_rows("x", &["a", "a"], &[vec!["1", "2"]]).is_err());
        assert!(Table::from_rows("x", &["a", "b"], &[vec!["1"]]).is_err());
    }
}
