//! Synthetic households and their persons from integer household weights: each lowest zone's
//! count of each seed household becomes that many households, each with copies of the seed
//! household's persons.
//!
//! `households` has a synthetic `household_id` (1, 2, … in zone order; `ZONE-K` within a
//! top-level zone with [`Expansion::ids_within`]), one column per geography level (the zone at
//! that level), the seed's household id column and the household attributes; `persons` has
//! `household_id`, `person_id` (numbered as households are, over the whole population), the
//! person attributes and, with [`Expansion::cards`], a persona `card` that sees the household
//! ([`cards`](self#cards)), persons always right after their household's earlier ones and
//! never without it. Households are listed by lowest zone (in crosswalk order), then by seed
//! household (in seed order): the files are the same, byte for byte, on every run and at any
//! thread count.
//!
//! # Cards
//! A MiniJinja template, as for persona pools ([`CardTemplate`]), sees every person column by
//! name, `attributes` (the person columns, a map), `person_id`, `household_id`, `role` (with
//! `[persons] role`: the label of the person's role, or its value as it is) and `household`:
//! `size`, `attributes` (the household columns), `zones` (each level's zone, top level first)
//! and `members`, the *other* persons, each with its columns by name, `attributes` and `role`.
//! `persona()` describes the person (as in pools, without the role column) and `home()` the
//! household: the person's role, the others (by age and sex where the columns say them, with
//! their roles), the household columns but the design weight, and the zones, lowest first.
//! The default template is [`DEFAULT_HOUSEHOLD_TEMPLATE`]. Names that do not exist render as
//! nothing.
//!
//! Partitioned output, a file pair per top-level zone: [`partition`].

mod cards;
pub mod partition;

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

pub use self::cards::DEFAULT_HOUSEHOLD_TEMPLATE;
use self::cards::{Home, HouseholdCards, Member, Pairs};
use crate::error::{Error, Result};
use crate::generation::CardTemplate;
use crate::households::HouseholdWeights;
use crate::inputs::{HouseholdProblem, HOUSEHOLD_ID, PERSON_ID};
use crate::reports::csvtext::csv_field;
use crate::reports::write_atomic;

/// The card column of generated persons.
pub const CARD: &str = "card";

/// Persons whose cards are rendered together (in parallel), at most, unless one household
/// entry has more.
const CARD_CHUNK: u64 = 1 << 14;

/// A synthetic population of households and persons, ready to write.
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
    /// The cards' template, when persons get cards.
    cards: Option<HouseholdCards>,
    /// Ids are `PREFIX-K` rather than `K`.
    prefix: Option<String>,
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
            cards: None,
            prefix: None,
        })
    }

    /// Gives every person a `card` rendered from `template` (see [the module docs](self#cards)).
    ///
    /// # Errors
    /// [`Error::Input`] at the template's line for a syntax error.
    pub fn cards(mut self, template: &CardTemplate) -> Result<Self> {
        let role = self.problem.persons.as_ref().and_then(|p| {
            let column = p.role.as_ref()?.column;
            Some(p.frame.columns()[column].name())
        });
        self.cards = Some(HouseholdCards::new(template, role, &self.problem.weight_column)?);
        Ok(self)
    }

    /// Numbers households and persons `ZONE-1`, `ZONE-2`, … (`zone` being the top-level zone
    /// of a partition) instead of 1, 2, …, so that a partition's ids do not depend on the others.
    pub fn ids_within(mut self, zone: &str) -> Self {
        self.prefix = Some(zone.to_string());
        self
    }

    /// Id number `k` as written.
    fn id(&self, k: u64) -> String {
        match &self.prefix {
            Some(p) => format!("{p}-{k}"),
            None => itoa::Buffer::new().format(k).to_string(),
        }
    }

    /// Number of synthetic households.
    pub fn households(&self) -> u64 {
        self.households
    }

    /// Number of synthetic persons.
    pub fn persons(&self) -> u64 {
        self.persons
    }

    /// The name of the column holding the seed's household id: the seed's own name for it,
    /// `seed_household_id` when that is [`HOUSEHOLD_ID`], the synthetic id's.
    fn seed_id_header(&self) -> String {
        if self.problem.id_column == HOUSEHOLD_ID {
            format!("seed_{HOUSEHOLD_ID}")
        } else {
            self.problem.id_column.clone()
        }
    }

    /// The household table's column names.
    pub fn household_header(&self) -> Vec<String> {
        let mut names = vec![HOUSEHOLD_ID.to_string()];
        names.extend(self.problem.geography.levels.iter().map(|l| l.name.clone()));
        names.push(self.seed_id_header());
        names.extend(self.household_columns.iter().map(|(n, _)| n.clone()));
        names
    }

    /// The person table's column names.
    pub fn person_header(&self) -> Vec<String> {
        let mut names = vec![HOUSEHOLD_ID.to_string(), PERSON_ID.to_string()];
        names.extend(self.person_columns.iter().map(|(n, _)| n.clone()));
        if self.cards.is_some() {
            names.push(CARD.to_string());
        }
        names
    }

    /// Calls `row` with the fields of every synthetic household, in order.
    pub fn for_each_household(&self, row: &mut dyn FnMut(&[&str]) -> std::io::Result<()>) -> std::io::Result<()> {
        let geography = &self.problem.geography;
        let hh = &self.problem.households;
        let lowest = geography.lowest();
        for (e, &(zone, h, count)) in self.entries.iter().enumerate() {
            let zones: Vec<&str> = (0..=lowest)
                .map(|l| geography.levels[l].zones[geography.ancestor(lowest, zone as usize, l)].as_str())
                .collect();
            let seed_row = hh.rows[h as usize];
            let attributes: Vec<&str> =
                self.household_columns.iter().map(|&(_, c)| hh.frame.value(seed_row, c).unwrap_or("")).collect();
            for k in 0..count {
                let number = self.id(self.first_household[e] + k + 1);
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

    /// Calls `row` with the fields of every synthetic person, in order. Cards are rendered a
    /// chunk of households at a time, in parallel.
    ///
    /// # Errors
    /// Those of `row`; a card that does not render comes back as an [`std::io::Error`] holding
    /// the [`Error`] (see [`Expansion::write`], which unwraps it).
    pub fn for_each_person(&self, row: &mut dyn FnMut(&[&str]) -> std::io::Result<()>) -> std::io::Result<()> {
        let Some(persons) = &self.problem.persons else { return Ok(()) };
        let mut e = 0;
        while e < self.entries.len() {
            // Entries [e, end) hold about CARD_CHUNK persons (at least one entry).
            let mut end = e;
            let mut chunk = 0;
            while end < self.entries.len() && (end == e || chunk < CARD_CHUNK) {
                let (_, h, count) = self.entries[end];
                chunk += count * persons.of(h as usize).len() as u64;
                end += 1;
            }
            let cards: Vec<Vec<Arc<str>>> = match &self.cards {
                Some(cards) => (e..end)
                    .into_par_iter()
                    .map(|i| self.entry_cards(cards, i))
                    .collect::<Result<_>>()
                    .map_err(std::io::Error::other)?,
                None => Vec::new(),
            };
            for i in e..end {
                let (_, h, count) = self.entries[i];
                let members = persons.of(h as usize);
                let values: Vec<Vec<&str>> = members
                    .iter()
                    .map(|&r| {
                        self.person_columns.iter().map(|&(_, c)| persons.frame.value(r, c).unwrap_or("")).collect()
                    })
                    .collect();
                let mut person = self.first_person[i];
                for k in 0..count {
                    let household = self.id(self.first_household[i] + k + 1);
                    for (m, v) in values.iter().enumerate() {
                        person += 1;
                        let number = self.id(person);
                        let mut fields: Vec<&str> = Vec::with_capacity(v.len() + 3);
                        fields.push(&household);
                        fields.push(&number);
                        fields.extend(v);
                        if let Some(entry) = cards.get(i - e) {
                            // one card per member, or per member of every copy
                            let at = if entry.len() == members.len() { m } else { k as usize * members.len() + m };
                            fields.push(&entry[at]);
                        }
                        row(&fields)?;
                    }
                }
            }
            e = end;
        }
        Ok(())
    }

    /// The cards of entry `e`: one per member, or, when the template reads an id, one per
    /// member of every copy.
    fn entry_cards(&self, cards: &HouseholdCards, e: usize) -> Result<Vec<Arc<str>>> {
        let Some(persons) = &self.problem.persons else { return Ok(Vec::new()) };
        let (zone, h, count) = self.entries[e];
        let geography = &self.problem.geography;
        let lowest = geography.lowest();
        let hh = &self.problem.households;
        let seed_row = hh.rows[h as usize];
        let members = persons.of(h as usize);
        let home = Arc::new(Home {
            members: members
                .iter()
                .map(|&r| {
                    Arc::new(Member {
                        attributes: Arc::new(Pairs::new(
                            self.person_columns
                                .iter()
                                .map(|(n, c)| (n.as_str(), persons.frame.value(r, *c).unwrap_or(""))),
                        )),
                        role: persons.role(r).map(minijinja::Value::from),
                    })
                })
                .collect(),
            attributes: Arc::new(Pairs::new(
                self.household_columns.iter().map(|(n, c)| (n.as_str(), hh.frame.value(seed_row, *c).unwrap_or(""))),
            )),
            zones: Arc::new(Pairs::new((0..=lowest).map(|l| {
                let level = &geography.levels[l];
                (level.name.as_str(), level.zones[geography.ancestor(lowest, zone as usize, l)].as_str())
            }))),
        });
        let copies = if cards.per_person { count } else { 1 };
        let mut out = Vec::with_capacity(copies as usize * members.len());
        let mut person = self.first_person[e];
        for k in 0..copies {
            let household = self.id(self.first_household[e] + k + 1);
            for m in 0..members.len() {
                person += 1;
                out.push(cards.render(&home, m, &household, &self.id(person))?);
            }
        }
        Ok(out)
    }

    /// Writes the households to `households` and the persons to `persons` in `format`, each
    /// atomically.
    ///
    /// # Errors
    /// [`Error::Write`] when a file cannot be written;
    /// [`Error::Input`] naming the template's line and the person when a card does not render.
    pub fn write(&self, households: &Path, persons: &Path, format: TableFormat) -> Result<()> {
        write_table(households, format, &self.household_header(), &mut |row| self.for_each_household(row))?;
        write_table(persons, format, &self.person_header(), &mut |row| self.for_each_person(row)).map_err(card_error)
    }
}

/// The card error inside a write error, if that is what it holds.
fn card_error(error: Error) -> Error {
    match error {
        Error::Write { path, source } => match source.get_ref().is_some_and(|e| e.is::<Error>()) {
            true => match source.into_inner().map(|inner| inner.downcast::<Error>()) {
                Some(Ok(card)) => *card,
                _ => Error::Inconsistent(format!("{}: a card could not be rendered", path.display())),
            },
            false => Error::Write { path, source },
        },
        other => other,
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
