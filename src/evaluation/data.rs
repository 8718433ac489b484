//! The responses file: persons with profile attributes, group columns and answers.

use std::io::Read;

use csv::ByteRecord;
use indexmap::IndexSet;

use crate::error::{Error, Location, Result};
use crate::inputs::CsvFile;

use super::spec::DataSpec;

/// A categorical column: its levels in order and each person's level index.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Levels in order of first appearance (items: sorted; see [`Item`]).
    pub levels: Vec<String>,
    /// Each person's level, `None` when the field is empty.
    pub values: Vec<Option<usize>>,
}

/// An item: its answer options and each person's answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Item {
    /// The item's answers, as a column; options are sorted as strings (the scale order for
    /// ordinal items).
    pub column: Column,
    /// Whether the options are ordered.
    pub ordinal: bool,
    /// Number of persons whose answer is missing.
    pub missing: usize,
}

/// Everything `evaluate` reads from the responses file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dataset {
    /// Where the responses came from, as named in messages and reports (the file).
    pub source: String,
    /// Person ids in file order.
    pub ids: Vec<String>,
    /// Profile attributes, in spec order; empty fields are an error.
    pub profile: Vec<Column>,
    /// Grouping columns for population metrics; empty fields put the person in no group.
    pub groups: Vec<Column>,
    /// Items, in spec order.
    pub items: Vec<Item>,
    /// Non-fatal observations (a profile attribute with a single level, say).
    pub warnings: Vec<String>,
}

impl Dataset {
    /// Number of persons.
    pub fn persons(&self) -> usize {
        self.ids.len()
    }

    /// Reads the responses file named in `spec`, with the grouping columns `groups`.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read; [`Error::Input`] naming file, line,
    /// column and value for what is wrong in it (see [`Dataset::from_reader`]).
    pub fn load(spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        let display = spec.file.display().to_string();
        Self::read(CsvFile::open(&spec.file, &display)?, &display, spec, groups)
    }

    /// Reads responses (CSV with a header, UTF-8) from `reader`, with the columns `spec`
    /// names and the grouping columns `groups`; `spec.file` only names the data in messages
    /// and reports.
    ///
    /// ```
    /// use populace::evaluation::{DataSpec, Dataset};
    ///
    /// let csv = "id,age,vote\n1,young,yes\n2,old,no\n3,old,\n";
    /// let spec = DataSpec::new("votes.csv", "id", ["age"], ["vote"]);
    /// let data = Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap();
    /// assert_eq!((data.persons(), data.items[0].missing), (3, 1));
    /// assert_eq!(data.items[0].column.levels, ["no", "yes"]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] when the reader fails; [`Error::Input`] naming the data (and line,
    /// column and value where they apply) for columns named twice or not in the header, an
    /// empty or repeated person id, an empty profile value, or an item whose answers are all
    /// missing or all the same.
    pub fn from_reader(mut reader: impl Read, spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        let display = spec.file.display().to_string();
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| Error::read(&spec.file, e))?;
        Self::read(CsvFile::from_bytes(bytes, &display)?, &display, spec, groups)
    }

    fn read(mut csv: CsvFile, display: &str, spec: &DataSpec, group_names: &[String]) -> Result<Dataset> {
        spec.validate().map_err(|m| Error::input(Location::file(display), m))?;
        let id_col = column(&csv, &spec.id, "id")?;
        let mut cols = Vec::new();
        for (names, role) in [(&spec.profile[..], "profile"), (group_names, "group"), (&spec.items[..], "item")] {
            for n in names {
                cols.push(column(&csv, n, role)?);
            }
        }
        let np = spec.profile.len();
        let ng = group_names.len();
        let names: Vec<&String> = spec.profile.iter().chain(group_names).chain(&spec.items).collect();
        let mut levels: Vec<IndexSet<String>> = vec![IndexSet::new(); cols.len()];
        let mut values: Vec<Vec<Option<usize>>> = vec![Vec::new(); cols.len()];
        let mut ids = Vec::new();
        let mut seen_ids = std::collections::HashSet::new();
        let mut record = ByteRecord::new();
        while let Some(line) = csv.next(&mut record)? {
            let id = csv.field(&record, line, id_col)?.to_string();
            if id.is_empty() {
                return Err(Error::input(csv.location().at_line(line).at_column(&spec.id), "the person id is empty"));
            }
            if !seen_ids.insert(id.clone()) {
                return Err(Error::input(
                    csv.location().at_line(line).at_column(&spec.id),
                    format!("person id \"{id}\" appears twice"),
                ));
            }
            ids.push(id);
            for (j, &c) in cols.iter().enumerate() {
                let v = csv.field(&record, line, c)?;
                if v.is_empty() {
                    if j < np {
                        return Err(Error::input(
                            csv.location().at_line(line).at_column(names[j]),
                            "the profile attribute is missing (empty); every person needs a complete profile",
                        ));
                    }
                    values[j].push(None);
                } else {
                    let (k, _) = levels[j].insert_full(v.to_string());
                    values[j].push(Some(k));
                }
            }
        }
        if ids.is_empty() {
            return Err(Error::input(csv.location().clone(), "the file has a header but no persons"));
        }
        let mut warnings = Vec::new();
        let mut columns: Vec<Column> = Vec::new();
        for (j, (lv, vals)) in levels.into_iter().zip(values).enumerate() {
            columns.push(Column { name: names[j].clone(), levels: lv.into_iter().collect(), values: vals });
        }
        let item_cols = columns.split_off(np + ng);
        let group_cols = columns.split_off(np);
        for c in &columns {
            if c.levels.len() < 2 {
                warnings.push(format!(
                    "{display}: profile attribute \"{}\" has a single level (\"{}\"); it carries no information",
                    c.name, c.levels[0]
                ));
            }
        }
        let mut items = Vec::new();
        for mut c in item_cols {
            let location = Location::file(display).at_column(&c.name);
            if c.levels.is_empty() {
                return Err(Error::input(location, "every answer to the item is missing"));
            }
            if c.levels.len() < 2 {
                return Err(Error::input(
                    location,
                    format!("every answer to the item is \"{}\"; there is nothing to predict", c.levels[0]),
                ));
            }
            sort_levels(&mut c);
            let missing = c.values.iter().filter(|v| v.is_none()).count();
            let ordinal = spec.ordinal.contains(&c.name);
            items.push(Item { column: c, ordinal, missing });
        }
        Ok(Dataset { source: display.to_string(), ids, profile: columns, groups: group_cols, items, warnings })
    }
}

/// Sorts a column's levels as strings and remaps the values.
fn sort_levels(c: &mut Column) {
    let mut order: Vec<usize> = (0..c.levels.len()).collect();
    order.sort_by(|&a, &b| c.levels[a].cmp(&c.levels[b]));
    let mut rank = vec![0; order.len()];
    for (r, &o) in order.iter().enumerate() {
        rank[o] = r;
    }
    c.levels = order.iter().map(|&o| c.levels[o].clone()).collect();
    for v in c.values.iter_mut().flatten() {
        *v = rank[*v];
    }
}

/// The position of a column the experiment names, or an error naming the file, the column and
/// the columns the header has.
fn column(csv: &CsvFile, name: &str, role: &str) -> Result<usize> {
    csv.headers().iter().position(|h| h == name).ok_or_else(|| {
        let found = csv.headers().iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ");
        let mut message = format!("unknown {role} column \"{name}\"; the header has {found}");
        if csv.headers().len() == 1 && csv.headers()[0].contains([';', '\t', '|']) {
            message.push_str(
                ": the file seems delimited by something other than commas; populace reads comma-separated files",
            );
        }
        Error::input(csv.location().at_line(1).at_column(name), message)
    })
}
