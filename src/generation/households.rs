//! Synthetic households and their persons from integer household weights: each lowest zone's
//! count of each seed household becomes that many households, each with copies of the seed
//! household's persons.
//!
//! `households` has a synthetic `household_id` (1, 2, … in zone order), one column per
//! geography level (the zone at that level), the seed's household id column and the household
//! attributes; `persons` has `household_id`, `person_id` (1, 2, … over the whole population)
//! and the person attributes, persons always right after their household's earlier ones and
//! never without it. Households are listed by lowest zone (in crosswalk order), then by seed
//! household (in seed order): the files are the same, byte for byte, on every run.

use std::path::Path;

use crate::error::{Error, Result};
use crate::households::HouseholdWeights;
use crate::inputs::{HouseholdProblem, HOUSEHOLD_ID, PERSON_ID};
use crate::reports::csvtext::csv_field;
use crate::reports::write_atomic;

/// A synthetic population of households and persons, ready to write.
#[derive(Debug, Clone)]
pub struct Expansion<'a> {
    problem: &'a HouseholdProblem,
    /// (lowest zone, seed household, count), in output order.
    entries: Vec<(u32, u32, u64)>,
    /// The first synthetic household id of each entry minus one.
    first_household: Vec<u64>,
    /// The first person id of each entry minus one.
    first_person: Vec<u64>,
    households: u64,
    persons: u64,
    /// The household columns written: (name, source column in the seed table).
    household_columns: Vec<(String, usize)>,
    /// The person columns written.
    person_columns: Vec<(String, usize)>,
}

/// Output formats of an expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableFormat {
    /// Comma-separated text with a header.
    Csv,
    /// Apache Parquet (every column text).
    Parquet,
}

impl TableFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }
}

impl<'a> Expansion<'a> {
    /// The population that `weights` (integerized) make of `problem`'s seed.
    ///
    /// # Errors
    /// [`Error::Inconsistent`] when the weights are not whole households.
    pub fn new(problem: &'a HouseholdProblem, weights: &HouseholdWeights) -> Result<Expansion<'a>> {
        let lowest = weights.lowest();
        let Some(counts) = &lowest.count else {
            return Err(Error::Inconsistent(
                "households can only be made from whole-household weights: the fit was not integerized \
                 ([fit] integerize = false, or mode = \"survey_weighting\")"
                    .into(),
            ));
        };
        let mut entries: Vec<(u32, u32, u64)> = (0..lowest.len())
            .filter(|&i| counts[i] > 0)
            .map(|i| (lowest.zone[i], lowest.household[i], counts[i]))
            .collect();
        entries.sort_unstable();
        let persons_of = |h: u32| problem.persons.as_ref().map_or(0, |p| p.of(h as usize).len() as u64);
        let mut first_household = Vec::with_capacity(entries.len());
        let mut first_person = Vec::with_capacity(entries.len());
        let (mut households, mut persons) = (0u64, 0u64);
        for &(_, h, count) in &entries {
            first_household.push(households);
            first_person.push(persons);
            households += count;
            persons += count * persons_of(h);
        }
        let levels: Vec<&str> = problem.geography.levels.iter().map(|l| l.name.as_str()).collect();
        let hh = &problem.households;
        let mut reserved: Vec<&str> = vec![HOUSEHOLD_ID];
        reserved.extend(&levels);
        reserved.push(&problem.id_column);
        let household_columns = hh
            .columns
            .iter()
            .map(|&c| (hh.frame.columns()[c].name().to_string(), c))
            .filter(|(name, _)| !reserved.contains(&name.as_str()))
            .collect();
        let person_columns = problem
            .persons
            .as_ref()
            .map(|p| {
                p.columns
                    .iter()
                    .map(|&c| (p.frame.columns()[c].name().to_string(), c))
                    .filter(|(name, _)| name != HOUSEHOLD_ID && name != PERSON_ID)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Expansion {
            problem,
            entries,
            first_household,
            first_person,
            households,
            persons,
            household_columns,
            person_columns,
        })
    }

    /// Number of synthetic households.
    pub fn households(&self) -> u64 {
        self.households
    }

    /// Number of synthetic persons.
    pub fn persons(&self) -> u64 {
        self.persons
    }

    /// The household table's column names.
    pub fn household_header(&self) -> Vec<String> {
        let mut names = vec![HOUSEHOLD_ID.to_string()];
        names.extend(self.problem.geography.levels.iter().map(|l| l.name.clone()));
        names.push(self.problem.id_column.clone());
        names.extend(self.household_columns.iter().map(|(n, _)| n.clone()));
        names
    }

    /// The person table's column names.
    pub fn person_header(&self) -> Vec<String> {
        let mut names = vec![HOUSEHOLD_ID.to_string(), PERSON_ID.to_string()];
        names.extend(self.person_columns.iter().map(|(n, _)| n.clone()));
        names
    }

    /// Calls `row` with the fields of every synthetic household, in order.
    pub fn for_each_household(&self, row: &mut dyn FnMut(&[&str]) -> std::io::Result<()>) -> std::io::Result<()> {
        let geography = &self.problem.geography;
        let hh = &self.problem.households;
        let lowest = geography.lowest();
        let mut id = itoa::Buffer::new();
        for (e, &(zone, h, count)) in self.entries.iter().enumerate() {
            let zones: Vec<&str> = (0..=lowest)
                .map(|l| geography.levels[l].zones[geography.ancestor(lowest, zone as usize, l)].as_str())
                .collect();
            let seed_row = hh.rows[h as usize];
            let attributes: Vec<&str> =
                self.household_columns.iter().map(|&(_, c)| hh.frame.value(seed_row, c).unwrap_or("")).collect();
            for k in 0..count {
                let number = id.format(self.first_household[e] + k + 1).to_string();
                let mut fields: Vec<&str> = Vec::with_capacity(self.household_columns.len() + zones.len() + 2);
                fields.push(&number);
                fields.extend(&zones);
                fields.push(&hh.ids[h as usize]);
                fields.extend(&attributes);
                row(&fields)?;
            }
        }
        Ok(())
    }

    /// Calls `row` with the fields of every synthetic person, in order.
    pub fn for_each_person(&self, row: &mut dyn FnMut(&[&str]) -> std::io::Result<()>) -> std::io::Result<()> {
        let Some(persons) = &self.problem.persons else { return Ok(()) };
        let (mut hid, mut pid) = (itoa::Buffer::new(), itoa::Buffer::new());
        for (e, &(_, h, count)) in self.entries.iter().enumerate() {
            let members = persons.of(h as usize);
            let values: Vec<Vec<&str>> = members
                .iter()
                .map(|&r| self.person_columns.iter().map(|&(_, c)| persons.frame.value(r, c).unwrap_or("")).collect())
                .collect();
            let mut person = self.first_person[e];
            for k in 0..count {
                let household = hid.format(self.first_household[e] + k + 1).to_string();
                for v in &values {
                    person += 1;
                    let number = pid.format(person).to_string();
                    let mut fields: Vec<&str> = Vec::with_capacity(v.len() + 2);
                    fields.push(&household);
                    fields.push(&number);
                    fields.extend(v);
                    row(&fields)?;
                }
            }
        }
        Ok(())
    }

    /// Writes `households.EXT` and `persons.EXT` into `dir` (each atomically).
    ///
    /// # Errors
    /// [`Error::Write`] when a file cannot be written.
    pub fn write(&self, households: &Path, persons: &Path, format: TableFormat) -> Result<()> {
        write_table(households, format, &self.household_header(), &mut |row| self.for_each_household(row))?;
        write_table(persons, format, &self.person_header(), &mut |row| self.for_each_person(row))
    }
}

type Rows<'r> = dyn FnMut(&mut dyn FnMut(&[&str]) -> std::io::Result<()>) -> std::io::Result<()> + 'r;

/// Writes a table of text fields atomically.
fn write_table(path: &Path, format: TableFormat, header: &[String], rows: &mut Rows) -> Result<()> {
    match format {
        TableFormat::Csv => write_atomic(path, |out| {
            let mut line = Vec::with_capacity(256);
            for (i, name) in header.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                csv_field(name, &mut line);
            }
            line.push(b'\n');
            out.write_all(&line)?;
            rows(&mut |fields| {
                line.clear();
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    csv_field(f, &mut line);
                }
                line.push(b'\n');
                out.write_all(&line)
            })
        }),
        TableFormat::Parquet => parquet_table::write(path, header, rows),
    }
}

#[cfg(not(feature = "parquet"))]
mod parquet_table {
    use std::path::Path;

    use crate::error::{Error, Result};

    pub(super) fn write(_: &Path, _: &[String], _: &mut super::Rows) -> Result<()> {
        Err(Error::Inconsistent("this populace was built without the \"parquet\" feature: write CSV".into()))
    }
}

#[cfg(feature = "parquet")]
mod parquet_table {
    use std::path::Path;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    use crate::error::Result;
    use crate::reports::write_atomic;

    /// Rows per record batch.
    const BATCH: usize = 65_536;

    pub(super) fn write(path: &Path, header: &[String], rows: &mut super::Rows) -> Result<()> {
        // Encoded in memory (the writer needs a `Send` sink), then written atomically.
        let mut encode = || -> std::io::Result<Vec<u8>> {
            let schema =
                Arc::new(Schema::new(header.iter().map(|n| Field::new(n, DataType::Utf8, false)).collect::<Vec<_>>()));
            let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let mut writer =
                ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties)).map_err(std::io::Error::other)?;
            let mut columns: Vec<Vec<String>> = vec![Vec::with_capacity(BATCH); header.len()];
            let flush = |columns: &mut Vec<Vec<String>>, writer: &mut ArrowWriter<Vec<u8>>| {
                if columns[0].is_empty() {
                    return Ok(());
                }
                let arrays: Vec<ArrayRef> =
                    columns.iter_mut().map(|c| Arc::new(StringArray::from(std::mem::take(c))) as ArrayRef).collect();
                let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(std::io::Error::other)?;
                writer.write(&batch).map_err(std::io::Error::other)
            };
            rows(&mut |fields| {
                for (c, f) in columns.iter_mut().zip(fields) {
                    c.push((*f).to_string());
                }
                if columns[0].len() == BATCH {
                    flush(&mut columns, &mut writer)?;
                }
                Ok(())
            })?;
            flush(&mut columns, &mut writer)?;
            writer.into_inner().map_err(std::io::Error::other)
        };
        let bytes = encode().map_err(|e| crate::error::Error::write(path, e))?;
        write_atomic(path, |out| out.write_all(&bytes))
    }
}
