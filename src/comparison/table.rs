//! Reading a truth or a pool: microdata (one row per person) or a count table (one row per
//! cell with its count), dictionary-encoded column by column.

use std::collections::HashMap;
use std::path::Path;

use csv::ByteRecord;

use crate::error::{Error, Location, Result};
use crate::inputs::CsvFile;

/// What one row of a [`Table`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// One row per person, each weighing 1 or the value of its weight column.
    Microdata,
    /// One row per cell, weighing the value of its count column (rows of the same cell add up).
    Counts,
}

/// How to read a [`Table`]: the names of its count and weight columns.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { count: "count".to_string(), count_required: false, weight: None }
    }
}

/// One categorical column: its categories in order of first appearance and every row's code.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) categories: Vec<String>,
    pub(crate) codes: Vec<u32>,
}

/// A truth or a pool to compare: named categorical columns and a weight per row.
///
/// Built by [`Table::read`] from a CSV file or by [`Table::from_rows`] from memory. Every column
/// but the count or weight column is kept as categorical text, trimmed of surrounding spaces (an
/// empty value is a category of its own); which of them are compared is decided by
/// [`compare`](super::compare).
#[derive(Debug, Clone)]
pub struct Table {
    pub(crate) file: String,
    pub(crate) kind: TableKind,
    pub(crate) columns: Vec<Column>,
    pub(crate) weights: Vec<f64>,
}

impl Table {
    /// Reads a comma-separated UTF-8 file with a header (a UTF-8 byte-order mark is accepted);
    /// `path` as given is the name used in messages and reports.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] if the file cannot be opened, and [`Error::Input`] naming file, line,
    /// column and value for: an empty file, a header without rows, an empty or repeated column
    /// name, a ragged row, invalid UTF-8, a missing required count or weight column, a count
    /// table with a weight column, and a count or weight that is missing, not a number,
    /// negative, NaN or infinite.
    pub fn read(path: &Path, options: &ReadOptions) -> Result<Table> {
        let display = path.display().to_string();
        let mut csv = CsvFile::open(path, &display)?;
        let headers = csv.headers().to_vec();
        let count = headers.iter().position(|h| *h == options.count);
        if count.is_none() && options.count_required {
            csv.column(&options.count, "count")?;
        }
        let weight = options.weight.as_deref().map(|w| csv.column(w, "weight")).transpose()?;
        if let (Some(_), Some(name)) = (count, &options.weight) {
            return Err(Error::input(
                csv.location().at_line(1),
                format!(
                    "the file has both a count column \"{}\" and the weight column \"{name}\": a count table's rows \
                     are cells, not weighted persons; drop the weight option, or name a different count column",
                    options.count
                ),
            ));
        }
        let value_column = count.or(weight);
        let kind = if count.is_some() { TableKind::Counts } else { TableKind::Microdata };
        let what = if count.is_some() { "count" } else { "weight" };

        let mut columns: Vec<(Column, HashMap<String, u32>)> = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != value_column)
            .map(|(_, name)| (Column { name: name.clone(), categories: Vec::new(), codes: Vec::new() }, HashMap::new()))
            .collect();
        let mut weights = Vec::new();
        let mut record = ByteRecord::new();
        while let Some(line) = csv.next(&mut record)? {
            let mut attribute = 0;
            for (i, name) in headers.iter().enumerate() {
                if Some(i) == value_column {
                    weights.push(csv.count(&record, line, i, what)?);
                    continue;
                }
                let text = csv.field(&record, line, i)?;
                let (column, index) = &mut columns[attribute];
                attribute += 1;
                let code = match index.get(text) {
                    Some(&code) => code,
                    None => {
                        let code = u32::try_from(column.categories.len()).map_err(|_| {
                            Error::input(
                                csv.location().at_line(line).at_column(name),
                                "the column has more than 2^32 distinct values",
                            )
                        })?;
                        column.categories.push(text.to_string());
                        index.insert(text.to_string(), code);
                        code
                    }
                };
                column.codes.push(code);
            }
            if value_column.is_none() {
                weights.push(1.0);
            }
        }
        if weights.is_empty() {
            return Err(Error::input(csv.location().clone(), "the file has a header but no rows"));
        }
        Ok(Table { file: display, kind, columns: columns.into_iter().map(|(c, _)| c).collect(), weights })
    }

    /// Builds unweighted microdata from memory: `name` names the table in reports, `columns`
    /// are the column names and every row of `rows` holds one value per column.
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
        let mut built: Vec<(Column, HashMap<String, u32>)> = columns
            .iter()
            .map(|c| (Column { name: c.to_string(), categories: Vec::new(), codes: Vec::new() }, HashMap::new()))
            .collect();
        for (r, row) in rows.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(Error::input(
                    location.clone(),
                    format!("row {} has {} values but there are {} columns", r + 1, row.len(), columns.len()),
                ));
            }
            for ((column, index), value) in built.iter_mut().zip(row) {
                let value = value.as_ref().trim();
                let next = column.categories.len() as u32;
                let code = *index.entry(value.to_string()).or_insert(next);
                if code == next {
                    column.categories.push(value.to_string());
                }
                column.codes.push(code);
            }
        }
        Ok(Table {
            file: name.to_string(),
            kind: TableKind::Microdata,
            columns: built.into_iter().map(|(c, _)| c).collect(),
            weights: vec![1.0; rows.len()],
        })
    }

    /// The file name as given (or the name passed to [`Table::from_rows`]).
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
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The categorical column named `name`.
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
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
        let sex = t.column("sex").unwrap();
        assert_eq!(sex.categories, ["f", "m"]);
        assert_eq!(sex.codes, [0, 1, 0]);

        let t = read("sex,n\nf,2.5\nm,3\n", &ReadOptions { count: "n".into(), ..ReadOptions::default() }).unwrap();
        assert_eq!(t.kind(), TableKind::Counts);
        assert_eq!(t.column_names(), ["sex"]);
        assert_eq!(t.total(), 5.5);
    }

    #[test]
    fn weights_and_their_errors() {
        let options = ReadOptions { weight: Some("w".into()), ..ReadOptions::default() };
        let t = read("sex,w\nf,2\nm,0.5\n", &options).unwrap();
        assert_eq!(t.weights, [2.0, 0.5]);
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
        let required = ReadOptions { count_required: true, ..ReadOptions::default() };
        let m = read("sex\nf\n", &required).unwrap_err().to_string();
        assert!(m.contains("missing count column \"count\""), "{m}");
    }

    #[test]
    fn from_rows_checks_its_shape() {
        assert!(Table::from_rows::<&str>("x", &["a"], &[]).is_err());
        assert!(Table::from_rows("x", &["a", "a"], &[vec!["1", "2"]]).is_err());
        assert!(Table::from_rows("x", &["a", "b"], &[vec!["1"]]).is_err());
    }
}
