//! The responses: persons with profile attributes, grouping columns and answers to items, in
//! one categorical table.
//!
//! A [`Dataset`] holds each person's id and a [`Frame`] with a column per column of the
//! responses it uses. Profile attributes, groupings and items are *roles* of those columns,
//! read through the views [`Attribute`], [`Grouping`] and [`Item`]; a column in two roles (a
//! profile attribute that is also a grouping, say) is held once.
//!
//! A value is missing when it is one of [`DataSpec::missing_values`] (by default the empty
//! field, `NA`, `N/A`, `NaN`, `NULL` and `.`), in a file and in a frame alike, or when a
//! frame has no value. Every person left out is counted ([`Dataset::missing`],
//! [`Dataset::without_answers`]).
//!
//! - A profile attribute's levels are the column's levels. A person missing one is left out
//!   ([`MissingPolicy::Drop`], the default), keeps it as the level [`CATEGORY`]
//!   ([`MissingPolicy::Category`]), or is an error ([`MissingPolicy::Error`]), as
//!   [`DataSpec::profile_missing`] says.
//! - A grouping's groups are the values its column takes, in order of first appearance among
//!   the persons; a person without a value is in no group ([`Grouping::missing`]).
//! - An item's options are the column's levels **sorted as strings** (for ordinal items, the
//!   scale order); a person without a value has a missing answer ([`Item::missing`]), and a
//!   person with no answer at all is left out.
//! - With [`DataSpec::weight`], each person has a survey weight ([`Dataset::weights`]); a
//!   missing, negative or non-numeric weight is an error, as are weights that are all 0.
//!
//! The same values make the same dataset whether they come from a file ([`Dataset::load`]),
//! CSV text ([`Dataset::from_reader`]) or a frame in memory ([`Dataset::from_frame`]; there,
//! levels keep the frame's order, and a level only persons left out have stays a level).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::binning::Bins;
use crate::error::{Error, Location, Problems, Result};
use crate::frame::{Dictionary, Frame, FrameBuilder, Rejected};
use crate::inputs::{parse_count, BinnedRows, Contents, CsvFile, CsvRows, FrameRows, Rows};
use crate::missing::{MissingCounts, MissingPolicy, MissingValues, CATEGORY};

use super::report::WeightSummary;
use super::spec::DataSpec;
use super::stats;

/// Everything `evaluate` reads about the persons: ids, profile, groupings and answers.
///
/// A value is missing when it is one of [`DataSpec::missing_values`] (by default empty, `NA`,
/// `N/A`, `NaN`, `NULL` or `.`) or a frame has none. A person missing a profile attribute is
/// left out, keeps the level [`CATEGORY`] or is an error, as [`DataSpec::profile_missing`]
/// says; a person who answered no item is left out; both are counted ([`Dataset::missing`],
/// [`Dataset::without_answers`]). A missing answer is skipped ([`Item::missing`]), and a
/// missing grouping value puts the person in no group ([`Grouping::missing`]). With
/// [`DataSpec::weight`], every person has a survey weight ([`Dataset::weight`]).
///
/// ```
/// use populace::evaluation::{DataSpec, Dataset};
/// use populace::frame::Frame;
///
/// let spec = DataSpec::new("votes", "id", ["age"], ["vote", "voted"]);
/// let frame = Frame::from_columns(&[
///     ("age", ["young", "old", "old"]),
///     ("vote", ["yes", "no", "NA"]),
///     ("voted", ["yes", "yes", "no"]),
/// ])?;
/// let data = Dataset::from_frame(vec!["1".into(), "2".into(), "3".into()], frame, &spec, &[])?;
/// let vote = data.item(0);
/// assert_eq!((data.persons(), vote.name(), vote.missing()), (3, "vote", 1));
/// assert_eq!(vote.levels(), ["no", "yes"]); // sorted; "NA" is missing
/// assert_eq!((data.answer(0, 0), data.answer(2, 0)), (Some(1), None));
/// assert_eq!(data.attribute(0).level(1), 1); // "old", in the frame's order
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dataset {
    source: String,
    ids: Vec<String>,
    frame: Frame,
    /// The frame column of each profile attribute, in spec order.
    profile: Vec<usize>,
    groups: Vec<GroupingRole>,
    items: Vec<ItemRole>,
    warnings: Vec<String>,
    /// The values read as missing (in this data and in the pools read against it).
    missing_values: MissingValues,
    /// The profile attributes binned from numeric columns, for the pools too.
    bins: Vec<Bins>,
    /// The profile's missing values: the policy, the persons it left out, the count by column.
    missing: MissingCounts,
    /// Persons left out for answering no item.
    without_answers: usize,
    /// Each person's weight relative to the mean weight (all 1 without a weight column).
    weights: Vec<f64>,
    /// The weight column, the weights' sum and effective sample size (`None`: no column).
    weighting: Option<WeightSummary>,
}

/// A grouping: its column, and its groups in order of first appearance.
#[derive(Debug, Clone)]
struct GroupingRole {
    column: usize,
    /// The column's code of each group.
    codes: Vec<u32>,
    /// The group of each of the column's codes (`None` for a level no person has).
    group: Vec<Option<u32>>,
    /// Persons in no group.
    missing: usize,
}

/// An item: its column, whether its options are ordered, and how many answers are missing.
#[derive(Debug, Clone)]
struct ItemRole {
    column: usize,
    ordinal: bool,
    missing: usize,
}

/// The frame columns of each role, in the order the spec names them.
struct Roles {
    profile: Vec<usize>,
    groups: Vec<usize>,
    items: Vec<usize>,
}

/// The responses' missing values as persons are read: the profile policy, applied person by
/// person, and the persons it and the items left out.
struct Tally {
    missing: MissingCounts,
    without_answers: usize,
}

impl Tally {
    fn new(source: &str, policy: MissingPolicy) -> Tally {
        Tally { missing: MissingCounts::new(source, policy), without_answers: 0 }
    }

    /// Admits one person's `values` (one per frame column; `None`: missing): counts each
    /// missing profile attribute (at the positions `profile`, named `names`) and, under
    /// [`MissingPolicy::Category`], makes it [`CATEGORY`]. `Ok(false)`: the person is left
    /// out, for a missing profile attribute under [`MissingPolicy::Drop`] or for no answer to
    /// any item (at `items`). `Err(a)`: profile attribute `a` is missing under
    /// [`MissingPolicy::Error`].
    fn admit(
        &mut self,
        values: &mut [Option<&str>],
        profile: &[usize],
        names: &[String],
        items: &[usize],
    ) -> std::result::Result<bool, usize> {
        let policy = self.missing.policy;
        let mut first = None;
        for (a, &c) in profile.iter().enumerate() {
            if values[c].is_none() {
                self.missing.count(&names[a]);
                first.get_or_insert(a);
                if policy == MissingPolicy::Category {
                    values[c] = Some(CATEGORY);
                }
            }
        }
        match (first, policy) {
            (Some(a), MissingPolicy::Error) => return Err(a),
            (Some(_), MissingPolicy::Drop) => {
                self.missing.records_dropped += 1;
                return Ok(false);
            }
            _ => {}
        }
        if items.iter().all(|&i| values[i].is_none()) {
            self.without_answers += 1;
            return Ok(false);
        }
        Ok(true)
    }
}

/// A profile attribute of a [`Dataset`]: a view of its column.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    frame: &'a Frame,
    column: usize,
}

impl<'a> Attribute<'a> {
    /// The column's name.
    pub fn name(&self) -> &'a str {
        self.frame.columns()[self.column].name()
    }

    /// Its levels ([`CATEGORY`] among them when missing values are a level).
    pub fn levels(&self) -> &'a [String] {
        self.frame.levels(self.column)
    }

    /// The level of `person`, a position in [`Attribute::levels`].
    pub fn level(&self, person: usize) -> usize {
        self.frame.code(person, self.column).expect("a dataset holds nobody with a missing profile attribute") as usize
    }
}

/// A grouping of a [`Dataset`]: a view of its column and its groups.
#[derive(Debug, Clone, Copy)]
pub struct Grouping<'a> {
    frame: &'a Frame,
    role: &'a GroupingRole,
}

impl<'a> Grouping<'a> {
    /// The column's name.
    pub fn name(&self) -> &'a str {
        self.frame.columns()[self.role.column].name()
    }

    /// The groups: the values the column takes, in order of first appearance.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let levels = self.frame.levels(self.role.column);
        self.role.codes.iter().map(move |&c| levels[c as usize].as_str())
    }

    /// The group of `person`, a position in [`Grouping::groups`], or `None` when the person
    /// has no value.
    pub fn group(&self, person: usize) -> Option<usize> {
        let code = self.frame.code(person, self.role.column)?;
        self.role.group[code as usize].map(|g| g as usize)
    }

    /// Number of persons in no group: their value is missing.
    pub fn missing(&self) -> usize {
        self.role.missing
    }
}

/// An item of a [`Dataset`]: a view of its column.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    frame: &'a Frame,
    role: &'a ItemRole,
}

impl<'a> Item<'a> {
    /// The column's name.
    pub fn name(&self) -> &'a str {
        self.frame.columns()[self.role.column].name()
    }

    /// The answer options, sorted as strings (the scale order for ordinal items).
    pub fn levels(&self) -> &'a [String] {
        self.frame.levels(self.role.column)
    }

    /// Whether the options are ordered.
    pub fn ordinal(&self) -> bool {
        self.role.ordinal
    }

    /// Number of persons whose answer is missing.
    pub fn missing(&self) -> usize {
        self.role.missing
    }

    /// The answer of `person`, a position in [`Item::levels`], or `None` when it is missing.
    pub fn answer(&self, person: usize) -> Option<usize> {
        self.frame.code(person, self.role.column).map(|c| c as usize)
    }

    /// Every person's answer, in person order.
    pub fn answers(&self) -> impl ExactSizeIterator<Item = Option<usize>> + 'a {
        self.frame.column_codes(self.role.column).map(|c| c.map(|c| c as usize))
    }
}

impl Dataset {
    /// Reads the responses file named in `spec` (CSV, or Parquet when named `.parquet` or
    /// starting with `PAR1`), with the grouping columns `groups`.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read; [`Error::Input`] naming file, line,
    /// column and value for what is wrong in it, or [`Error::Problems`] for several bad rows
    /// (see [`Dataset::from_reader`]).
    pub fn load(spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        let display = spec.file.display().to_string();
        Self::read_contents(Contents::read(&spec.file, &display)?, &display, spec, groups)
    }

    /// Reads responses (CSV with a header, UTF-8) from `reader`, with the columns `spec`
    /// names and the grouping columns `groups`; `spec.file` only names the data in messages
    /// and reports. Values are trimmed of surrounding spaces; the spec's missing values are
    /// missing, and its profile policy applies (see [`Dataset`]).
    ///
    /// ```
    /// use populace::evaluation::{DataSpec, Dataset};
    ///
    /// let csv = "id,age,vote,voted\n1,young,yes,yes\n2,old,no,yes\n3,old,NA,no\n4,NA,no,no\n5,old,,\n";
    /// let spec = DataSpec::new("votes.csv", "id", ["age"], ["vote", "voted"]);
    /// let data = Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap();
    /// // Person 4 lacks an age, person 5 answered nothing: both are left out.
    /// assert_eq!((data.persons(), data.item(0).missing()), (3, 1));
    /// assert_eq!((data.missing().records_dropped, data.without_answers()), (1, 1));
    /// assert_eq!(data.item(0).levels(), ["no", "yes"]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] when the reader fails; [`Error::Input`] naming the data (and line,
    /// column and value where they apply) for columns named twice or not in the header, a
    /// missing or repeated person id, a missing profile value under
    /// [`MissingPolicy::Error`], a weight that is missing, not a number, negative or not
    /// finite (of any person read), weights that are all 0, no person left, or an item whose
    /// answers are all missing or all the same. The rows are read through first: when several
    /// are bad, [`Error::Problems`] lists each one's first problem, the first
    /// [`MAX_SHOWN`](crate::error::MAX_SHOWN) by line, with the count (a repeated id names
    /// the line it was first on).
    pub fn from_reader(reader: impl Read, spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        let display = spec.file.display().to_string();
        let bytes = crate::memory::read_input(reader, None, &display)?;
        Self::read_contents(Contents::of(bytes, &display)?, &display, spec, groups)
    }

    /// Reads responses from CSV text or a Parquet file's rows.
    fn read_contents(contents: Contents, display: &str, spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        match contents {
            Contents::Csv(bytes) => Self::read(&mut CsvRows::new(CsvFile::from_bytes(bytes, display)?), spec, groups),
            Contents::Parquet(frame) => Self::read(&mut FrameRows::new(display, &frame), spec, groups),
        }
    }

    /// The persons of `frame`, one per row, with ids `ids`, taking the columns `spec` names as
    /// profile attributes and items and the columns `groups` as groupings; `spec.file` names
    /// the data in messages and reports and `spec.id` the ids. The frame's missing values and
    /// levels that are one of the spec's missing values are missing; the spec's profile
    /// policy applies (see [`Dataset`]). Columns no role names play none. Levels keep the
    /// frame's order (a level nobody kept has stays a level); the item columns' levels are
    /// then sorted as strings.
    ///
    /// The same values read from CSV ([`Dataset::from_reader`]) make the same dataset, but
    /// for the levels only persons left out have.
    ///
    /// # Errors
    /// [`Error::Input`] naming the data (and row, column and person where they apply) for
    /// columns named twice or not in the frame, ids not one per row, a missing or repeated
    /// person id, a missing profile value under [`MissingPolicy::Error`], a bad weight or
    /// weights that are all 0 (as [`Dataset::from_reader`]), no persons, or an item whose
    /// answers are all missing or all the same. The ids are checked through first, then the
    /// rows: when several are bad, [`Error::Problems`] lists them, the first
    /// [`MAX_SHOWN`](crate::error::MAX_SHOWN) by row, with the count.
    pub fn from_frame(ids: Vec<String>, frame: Frame, spec: &DataSpec, groups: &[String]) -> Result<Dataset> {
        let source = spec.file.display().to_string();
        let location = Location::file(&source);
        spec.validate().map_err(|m| Error::input(location.clone(), m))?;
        let find = |names: &[String], role: &str| -> Result<Vec<usize>> {
            names
                .iter()
                .map(|name| {
                    frame.column(name).ok_or_else(|| {
                        let found = frame.names().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
                        Error::input(
                            location.at_column(name),
                            format!("unknown {role} column \"{name}\"; the frame has {found}"),
                        )
                    })
                })
                .collect()
        };
        let roles = Roles {
            profile: find(&spec.profile, "profile")?,
            groups: find(groups, "group")?,
            items: find(&spec.items, "item")?,
        };
        if ids.len() != frame.rows() {
            return Err(Error::input(
                location.at_column(&spec.id[0]),
                format!("{} person ids for {} rows", ids.len(), frame.rows()),
            ));
        }
        // The ids, given beside the frame, are checked first, every one; their messages name the
        // row, so they are listed in row order as pushed.
        let mut seen = HashSet::new();
        let mut problems = Problems::new(&source);
        for (row, id) in ids.iter().enumerate() {
            if let Some(why) = missing_id(id, &spec.missing_values) {
                problems.push(Error::input(
                    location.at_column(&spec.id[0]),
                    format!("the person id of row {} {why}", row + 1),
                ));
            } else if !seen.insert(id.as_str()) {
                problems
                    .push(Error::input(location.at_column(&spec.id[0]), format!("person id \"{id}\" appears twice")));
            }
        }
        problems.into_result()?;
        if ids.is_empty() {
            return Err(Error::input(location, "there are no persons"));
        }
        // Then the rows: each one's first problem, a bad weight or a missing profile value.
        let mut problems = Problems::new(&source);
        let raw = frame_weights(&frame, &ids, spec, &location, &mut problems)?;
        let (ids, frame, tally, kept) =
            Self::admit_frame(ids, frame, spec, &roles, &location, |row| raw[row].is_none(), problems)?;
        // The rows kept all have a weight: a row without one is a problem, which ends the read.
        let weights = kept.iter().filter_map(|&row| raw[row]).collect();
        Self::assemble(source, ids, frame, spec, &roles, tally, weights)
    }

    /// The persons of `frame` that `spec`'s profile policy and the items keep, with the
    /// missing values of the role columns as missing and, under [`MissingPolicy::Category`],
    /// missing profile values as [`CATEGORY`] (the frame itself when that changes nothing),
    /// and the rows they were. The rows `bad` says have a problem in `problems` already are
    /// passed over; a missing profile value under [`MissingPolicy::Error`] is a problem, and
    /// any problem ends the read.
    fn admit_frame(
        ids: Vec<String>,
        frame: Frame,
        spec: &DataSpec,
        roles: &Roles,
        location: &Location,
        bad: impl Fn(usize) -> bool,
        mut problems: Problems,
    ) -> Result<(Vec<String>, Frame, Tally, Vec<usize>)> {
        let width = frame.columns().len();
        // Per column, which levels are missing values (only in the columns roles name).
        let mut token: Vec<Vec<bool>> = (0..width).map(|c| vec![false; frame.levels(c).len()]).collect();
        for &c in roles.profile.iter().chain(&roles.groups).chain(&roles.items) {
            token[c] = frame.levels(c).iter().map(|l| spec.missing_values.is_missing(l)).collect();
        }
        /// Row `row`'s values into `values`: `None` for a missing value or a `token` level.
        fn read<'f>(frame: &'f Frame, token: &[Vec<bool>], row: usize, values: &mut Vec<Option<&'f str>>) {
            values.clear();
            values.extend(token.iter().enumerate().map(|(c, token)| {
                let code = frame.code(row, c).filter(|&k| !token[k as usize])?;
                Some(frame.levels(c)[code as usize].as_str())
            }));
        }
        let mut tally = Tally::new(location.file.as_str(), spec.profile_missing);
        let mut kept = Vec::with_capacity(frame.rows());
        let mut category = vec![false; width];
        let mut values = Vec::with_capacity(width);
        for (row, id) in ids.iter().enumerate() {
            if bad(row) {
                continue;
            }
            read(&frame, &token, row, &mut values);
            match tally.admit(&mut values, &roles.profile, &spec.profile, &roles.items) {
                Ok(true) => {
                    kept.push(row);
                    for &c in &roles.profile {
                        category[c] |= values[c] == Some(CATEGORY);
                    }
                }
                Ok(false) => {}
                Err(a) => {
                    let value = frame.value(row, roles.profile[a]).unwrap_or_default();
                    problems.push(Error::input(
                        location.at_row(row as u64 + 1).at_column(&spec.profile[a]),
                        format!("person \"{id}\": {}", profile_missing(value)),
                    ));
                }
            }
        }
        problems.into_result()?;
        if kept.len() == frame.rows() && tally.missing.is_empty() && !token.iter().flatten().any(|&t| t) {
            return Ok((ids, frame, tally, kept));
        }
        let mut columns = Vec::with_capacity(width);
        for c in 0..width {
            let mut levels: Vec<&str> =
                frame.levels(c).iter().zip(&token[c]).filter(|(_, &t)| !t).map(|(l, _)| l.as_str()).collect();
            if category[c] && !levels.contains(&CATEGORY) {
                levels.push(CATEGORY);
            }
            columns.push((frame.columns()[c].name(), Dictionary::fixed(&levels)?));
        }
        let mut builder = FrameBuilder::new(columns)?;
        for &row in &kept {
            read(&frame, &token, row, &mut values);
            for &c in &roles.profile {
                values[c] = values[c].or(Some(CATEGORY));
            }
            builder
                .push(values.iter().copied())
                .map_err(|r| Error::Inconsistent(format!("row {} of the responses: {r:?}", row + 1)))?;
        }
        let mut ids = ids;
        let ids = kept.iter().map(|&row| std::mem::take(&mut ids[row])).collect();
        Ok((ids, builder.finish(), tally, kept))
    }

    /// The persons of `rows`, their numeric columns binned as `spec` says.
    fn read(rows: &mut dyn Rows, spec: &DataSpec, group_names: &[String]) -> Result<Dataset> {
        if spec.bins.is_empty() {
            return Self::read_rows(rows, spec, group_names);
        }
        Self::read_rows(&mut BinnedRows::new(rows, &spec.bins, &spec.missing_values)?, spec, group_names)
    }

    /// [`Dataset::read`] of rows binned already.
    fn read_rows(rows: &mut dyn Rows, spec: &DataSpec, group_names: &[String]) -> Result<Dataset> {
        let display = rows.location().file.clone();
        spec.validate().map_err(|m| Error::input(Location::file(&display), m))?;
        let id: Vec<usize> = spec.id.iter().map(|name| column(rows, name, "id")).collect::<Result<_>>()?;
        let weight = spec.weight.as_ref().map(|name| column(rows, name, "weight")).transpose()?;
        // The file's columns the roles name, once each, in the order first named.
        let mut names: Vec<&str> = Vec::new();
        let mut file_columns = Vec::new();
        let mut roles = Roles { profile: Vec::new(), groups: Vec::new(), items: Vec::new() };
        for (role_names, role, frame_columns) in [
            (&spec.profile[..], "profile", &mut roles.profile),
            (group_names, "group", &mut roles.groups),
            (&spec.items[..], "item", &mut roles.items),
        ] {
            for name in role_names {
                let field = column(rows, name, role)?;
                let at = names.iter().position(|&n| n == name.as_str()).unwrap_or_else(|| {
                    names.push(name);
                    file_columns.push(field);
                    names.len() - 1
                });
                frame_columns.push(at);
            }
        }
        let fields: Vec<Option<usize>> = file_columns.iter().copied().map(Some).collect();
        let mut builder = FrameBuilder::new(names.iter().map(|&n| (n, Dictionary::learned())))?;
        let mut tally = Tally::new(&display, spec.profile_missing);
        let mut ids = Vec::new();
        let mut weights = Vec::new();
        // The line (or row) of each person id read, to name both places of a duplicate.
        let mut first_seen: HashMap<String, u64> = HashMap::new();
        let mut problems = Problems::new(display.clone());
        let mut read = 0;
        while let Some(line) = problems.next_row(|| rows.next()) {
            read += 1;
            let rows = &*rows;
            let at = |c: usize| rows.at(line).at_column(&rows.headers()[c]);
            let refuse = |a: usize| -> Result<Error> {
                let c = file_columns[roles.profile[a]];
                Ok(Error::input(at(c), profile_missing(rows.field(line, c)?.unwrap_or_default())))
            };
            // The person's id, weight and values, or the row's first problem; a person is left
            // out or admitted below.
            let person = (|| -> Result<(String, f64, Vec<Option<&str>>)> {
                let mut parts = Vec::with_capacity(id.len());
                for &c in &id {
                    let part = rows.field(line, c)?.unwrap_or_default();
                    if let Some(why) = missing_id(part, &spec.missing_values) {
                        return Err(Error::input(at(c), format!("the person id {why}")));
                    }
                    parts.push(part);
                }
                let person = parts.join(":");
                if let Some(first) = first_seen.get(&person) {
                    let message = format!("person id \"{person}\" appears twice (first on {} {first})", rows.unit());
                    return Err(Error::input(at(id[0]), message));
                }
                first_seen.insert(person.clone(), line);
                let (values, failure) = read_fields(rows, line, &fields, &spec.missing_values);
                // Profile attributes come first and are named once each: under the error policy,
                // a missing one before a field that could not be read is the first problem.
                let first_missing = values.iter().take(roles.profile.len()).position(Option::is_none);
                match (failure, first_missing) {
                    (Some(_), Some(a)) if spec.profile_missing == MissingPolicy::Error => return Err(refuse(a)?),
                    (Some(e), _) => return Err(e),
                    (None, _) => {}
                }
                // Every person's weight is checked, also of persons left out below.
                let person_weight = match weight {
                    Some(c) => {
                        weight_value(rows.field(line, c)?, &spec.missing_values).map_err(|m| Error::input(at(c), m))?
                    }
                    None => 1.0,
                };
                Ok((person, person_weight, values))
            })();
            let (person, person_weight, mut values) = match person {
                Ok(person) => person,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            match tally.admit(&mut values, &roles.profile, &spec.profile, &roles.items) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(a) => {
                    problems.push(refuse(a).unwrap_or_else(|e| e));
                    continue;
                }
            }
            ids.push(person);
            weights.push(person_weight);
            builder.push(values.iter().copied()).map_err(|rejected| match rejected {
                Rejected::Full { column } => {
                    Error::input(at(file_columns[column]), format!("more than {} distinct values", u32::MAX))
                }
                other => Error::Inconsistent(format!("a row of the responses: {other:?}")),
            })?;
        }
        problems.into_result()?;
        if read == 0 {
            return Err(Error::input(rows.location().clone(), "the file has a header but no persons"));
        }
        let mut data = Self::assemble(display, ids, builder.finish(), spec, &roles, tally, weights)?;
        data.warnings.extend(rows.note());
        Ok(data)
    }

    /// The dataset of persons whose ids, profiles and `weights` (as read, one per person;
    /// all 1 without a weight column) were checked: warns of profile attributes with a single
    /// level, checks and sorts the items, finds the groups, and makes the weights relative.
    fn assemble(
        source: String,
        ids: Vec<String>,
        mut frame: Frame,
        spec: &DataSpec,
        roles: &Roles,
        tally: Tally,
        weights: Vec<f64>,
    ) -> Result<Dataset> {
        if ids.is_empty() {
            return Err(Error::input(
                Location::file(&source),
                format!(
                    "no person is left: {} left out for a missing profile attribute (profile_missing = \"{}\"), {} for \
                     answering no item",
                    tally.missing.records_dropped, tally.missing.policy, tally.without_answers
                ),
            ));
        }
        let mut warnings = Vec::new();
        for &a in &roles.profile {
            let counts = counts(&frame, a);
            let mut seen = counts.iter().enumerate().filter(|(_, &n)| n > 0);
            if let (Some((level, _)), None) = (seen.next(), seen.next()) {
                warnings.push(format!(
                    "{source}: profile attribute \"{}\" has a single level (\"{}\"); it carries no information",
                    frame.columns()[a].name(),
                    frame.levels(a)[level]
                ));
            }
        }
        let mut items = Vec::with_capacity(roles.items.len());
        for &column in &roles.items {
            let name = frame.columns()[column].name();
            let location = Location::file(&source).at_column(name);
            let counts = counts(&frame, column);
            let mut seen = counts.iter().enumerate().filter(|(_, &n)| n > 0);
            match (seen.next(), seen.next()) {
                (None, _) => return Err(Error::input(location, "every answer to the item is missing")),
                (Some((level, _)), None) => {
                    return Err(Error::input(
                        location,
                        format!(
                            "every answer to the item is \"{}\"; there is nothing to predict",
                            frame.levels(column)[level]
                        ),
                    ))
                }
                _ => {}
            }
            let ordinal = spec.ordinal.iter().any(|o| o == name);
            let missing = frame.rows() - counts.iter().sum::<usize>();
            frame.sort_levels(column);
            items.push(ItemRole { column, ordinal, missing });
        }
        let groups = roles.groups.iter().map(|&column| GroupingRole::new(&frame, column)).collect();
        let (weights, weighting) = relative_weights(&source, spec.weight.as_deref(), weights)?;
        Ok(Dataset {
            source,
            ids,
            frame,
            profile: roles.profile.clone(),
            groups,
            items,
            warnings,
            missing_values: spec.missing_values.clone(),
            bins: spec.bins.clone(),
            missing: tally.missing,
            without_answers: tally.without_answers,
            weights,
            weighting,
        })
    }

    /// Where the responses came from, as named in messages and reports (the file, or the
    /// spec's `file` for data from a reader or a frame).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of persons.
    pub fn persons(&self) -> usize {
        self.ids.len()
    }

    /// The persons' ids, in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The table of the persons' values: one column per column a role names (and, for a
    /// dataset made from a frame, the frame's other columns).
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The profile attributes, in spec order.
    pub fn profile(&self) -> impl ExactSizeIterator<Item = Attribute<'_>> + '_ {
        self.profile.iter().map(|&column| Attribute { frame: &self.frame, column })
    }

    /// Profile attribute `a`.
    pub fn attribute(&self, a: usize) -> Attribute<'_> {
        Attribute { frame: &self.frame, column: self.profile[a] }
    }

    /// The groupings of the population metrics, in the order given.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = Grouping<'_>> + '_ {
        self.groups.iter().map(|role| Grouping { frame: &self.frame, role })
    }

    /// Grouping `g`.
    pub fn grouping(&self, g: usize) -> Grouping<'_> {
        Grouping { frame: &self.frame, role: &self.groups[g] }
    }

    /// The items, in spec order.
    pub fn items(&self) -> impl ExactSizeIterator<Item = Item<'_>> + '_ {
        self.items.iter().map(|role| Item { frame: &self.frame, role })
    }

    /// Item `i`.
    pub fn item(&self, i: usize) -> Item<'_> {
        Item { frame: &self.frame, role: &self.items[i] }
    }

    /// The answer of `person` to item `item`, a position in its options, or `None` when it
    /// is missing.
    pub fn answer(&self, person: usize, item: usize) -> Option<usize> {
        self.item(item).answer(person)
    }

    /// Non-fatal observations (a profile attribute with a single level, say).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The values read as missing, here and in the pools read against this data.
    pub fn missing_values(&self) -> &MissingValues {
        &self.missing_values
    }

    /// What the missing profile values came to, among every person read: the policy, the
    /// persons it left out, and the missing values by profile column.
    pub fn missing(&self) -> &MissingCounts {
        &self.missing
    }

    /// Number of persons left out for answering no item (besides those [`Dataset::missing`]
    /// left out).
    pub fn without_answers(&self) -> usize {
        self.without_answers
    }

    /// Each person's survey weight relative to the mean weight, in person order: the weights
    /// as read times persons / their sum, so they average 1 and sums over persons stay on the
    /// scale of a count of persons (smoothing, priors and penalties keep their meaning). All 1
    /// without a weight column, and for a pool.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The relative weight of `person` (see [`Dataset::weights`]).
    pub fn weight(&self, person: usize) -> f64 {
        self.weights[person]
    }

    /// The weight column, the sum of the weights as read and Kish's effective sample size;
    /// `None` without a weight column.
    pub fn weighting(&self) -> Option<&WeightSummary> {
        self.weighting.as_ref()
    }

    /// The persons of a persona pool `path`, a CSV with the profile attributes as columns (and
    /// optionally ids in `person_id`), as a dataset with this one's attributes, levels and
    /// items and no answers. This one's missing values are missing; a pool person missing a
    /// profile attribute is an error, unless this data's policy is
    /// [`MissingPolicy::Category`]: then it is the level [`CATEGORY`], which the responses
    /// must have.
    pub(super) fn read_pool(&self, path: &std::path::Path) -> Result<Dataset> {
        let display = path.display().to_string();
        match Contents::read(path, &display)? {
            Contents::Csv(bytes) => self.pool(&mut CsvRows::new(CsvFile::from_bytes(bytes, &display)?)),
            Contents::Parquet(frame) => self.pool(&mut FrameRows::new(&display, &frame)),
        }
    }

    /// [`Dataset::read_pool`] of the pool's rows.
    fn pool(&self, rows: &mut dyn Rows) -> Result<Dataset> {
        if !self.bins.is_empty() {
            return self.pool_rows(&mut BinnedRows::new(rows, &self.bins, &self.missing_values)?);
        }
        self.pool_rows(rows)
    }

    /// [`Dataset::pool`] of rows binned already.
    fn pool_rows(&self, rows: &mut dyn Rows) -> Result<Dataset> {
        let display = rows.location().file.clone();
        let mut file_columns = Vec::new();
        let mut columns = Vec::new();
        for a in self.profile() {
            file_columns.push(rows.column(a.name(), "profile attribute")?);
            columns.push((a.name(), Dictionary::fixed(a.levels())?));
        }
        for item in self.items() {
            columns.push((item.name(), Dictionary::fixed(item.levels())?));
        }
        let fields: Vec<Option<usize>> =
            file_columns.iter().copied().map(Some).chain(self.items.iter().map(|_| None)).collect();
        let mut builder = FrameBuilder::new(columns)?;
        let id = rows.headers().iter().position(|h| h == "person_id");
        let category = self.missing.policy == MissingPolicy::Category;
        let mut missing =
            MissingCounts::new(&display, if category { MissingPolicy::Category } else { MissingPolicy::Error });
        let attributes = self.profile.len();
        let mut ids = Vec::new();
        let mut problems = Problems::new(display.clone());
        while let Some(line) = problems.next_row(|| rows.next()) {
            let rows = &*rows;
            // The person's id, or the row's first problem in column order: a missing attribute
            // (unless a category), a value the responses do not have, or a field that could not
            // be read.
            let person = (|| -> Result<String> {
                let (mut values, failure) = read_fields(rows, line, &fields, &self.missing_values);
                let mut first_missing = None;
                for (a, value) in values.iter_mut().take(attributes).enumerate() {
                    if value.is_none() {
                        missing.count(self.attribute(a).name());
                        first_missing.get_or_insert(a);
                        if category {
                            *value = Some(CATEGORY);
                        }
                    }
                }
                let rejected = builder.push(values.iter().copied()).err();
                let unknown = match rejected {
                    Some(Rejected::Unknown { column }) => Some(column),
                    _ => None,
                };
                let first = match (first_missing.filter(|_| !category), unknown) {
                    (Some(m), Some(u)) => Some(m.min(u)),
                    (m, u) => m.or(u),
                };
                if let Some(a) = first {
                    let attribute = self.attribute(a);
                    let value = rows.field(line, file_columns[a])?.unwrap_or_default();
                    let message = if !self.missing_values.is_missing(value) {
                        format!(
                            "\"{value}\" is not a level of \"{}\" in the responses ({})",
                            attribute.name(),
                            attribute.levels().join(", ")
                        )
                    } else if category {
                        format!(
                            "\"{value}\" is read as \"{CATEGORY}\", which is not a level of \"{}\" in the responses \
                             ({})",
                            attribute.name(),
                            attribute.levels().join(", ")
                        )
                    } else {
                        format!(
                            "the profile attribute is missing (\"{value}\"); pools are complete, unless [data] \
                             profile_missing = \"category\" makes \"{CATEGORY}\" a level"
                        )
                    };
                    return Err(Error::input(rows.at(line).at_column(attribute.name()), message));
                }
                match (failure, rejected) {
                    (Some(e), _) => Err(e),
                    (None, Some(r)) => Err(Error::Inconsistent(format!("a row of the pool {display}: {r:?}"))),
                    (None, None) => match id {
                        Some(c) => Ok(rows.field(line, c)?.unwrap_or_default().to_string()),
                        None => Ok((ids.len() + 1).to_string()),
                    },
                }
            })();
            // A row with a problem may be in the builder: the pool is refused below anyway.
            match person {
                Ok(person) => ids.push(person),
                Err(e) => problems.push(e),
            }
        }
        problems.into_result()?;
        if ids.is_empty() {
            return Err(Error::input(Location::file(&display), "the pool has no persons"));
        }
        let persons = ids.len();
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| ItemRole { column: attributes + i, ordinal: it.ordinal, missing: persons })
            .collect();
        Ok(Dataset {
            source: display,
            ids,
            frame: builder.finish(),
            profile: (0..attributes).collect(),
            groups: Vec::new(),
            items,
            warnings: Vec::new(),
            missing_values: self.missing_values.clone(),
            bins: self.bins.clone(),
            missing,
            without_answers: 0,
            weights: vec![1.0; persons],
            weighting: None,
        })
    }
}

impl GroupingRole {
    /// The grouping by `column`, its groups in order of first appearance.
    fn new(frame: &Frame, column: usize) -> GroupingRole {
        let mut group = vec![None; frame.levels(column).len()];
        let mut codes = Vec::new();
        let mut missing = 0;
        for code in frame.column_codes(column) {
            let Some(code) = code else {
                missing += 1;
                continue;
            };
            let slot = &mut group[code as usize];
            if slot.is_none() {
                *slot = Some(codes.len() as u32);
                codes.push(code);
            }
        }
        GroupingRole { column, codes, group, missing }
    }
}

/// How many persons have each level of `column`.
fn counts(frame: &Frame, column: usize) -> Vec<usize> {
    let mut counts = vec![0; frame.levels(column).len()];
    frame.column_codes(column).flatten().for_each(|c| counts[c as usize] += 1);
    counts
}

/// The values of `record`, one per frame column (`fields`: the file column of each, `None`
/// for one the file does not have), `None` when missing; up to the first field that is not
/// valid UTF-8, whose error comes second.
fn read_fields<'r>(
    rows: &'r dyn Rows,
    line: u64,
    fields: &[Option<usize>],
    missing: &MissingValues,
) -> (Vec<Option<&'r str>>, Option<Error>) {
    let mut values = Vec::with_capacity(fields.len());
    for field in fields {
        match field.map(|c| rows.field(line, c)) {
            None => values.push(None),
            Some(Ok(value)) => values.push(value.filter(|v| !missing.is_missing(v))),
            Some(Err(e)) => return (values, Some(e)),
        }
    }
    (values, None)
}

/// A person's weight from its field `text` (`None`: a null), or why it is refused: missing
/// (a null or one of the missing values), not a number, NaN, infinite, negative, or outside
/// the range populace computes with.
fn weight_value(text: Option<&str>, missing: &MissingValues) -> std::result::Result<f64, String> {
    let text = text.ok_or("the weight is missing (a null): every person needs one")?;
    if missing.is_missing(text) {
        return Err(format!("the weight is missing (\"{}\"): every person needs one", text.escape_debug()));
    }
    parse_count(text).map_err(|why| format!("the weight {why}: \"{}\"", text.escape_debug()))
}

/// Each row's weight from the weight column of `frame` that `spec` names (all 1 without one),
/// `None` for a bad one, which is a problem naming the row, the column and the person.
///
/// # Errors
/// [`Error::Input`] when the frame has no such column.
fn frame_weights(
    frame: &Frame,
    ids: &[String],
    spec: &DataSpec,
    location: &Location,
    problems: &mut Problems,
) -> Result<Vec<Option<f64>>> {
    let Some(name) = &spec.weight else { return Ok(vec![Some(1.0); frame.rows()]) };
    let column = frame.column(name).ok_or_else(|| {
        let found = frame.names().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        Error::input(location.at_column(name), format!("unknown weight column \"{name}\"; the frame has {found}"))
    })?;
    let levels: Vec<_> = frame.levels(column).iter().map(|l| weight_value(Some(l), &spec.missing_values)).collect();
    Ok((0..frame.rows())
        .map(|row| {
            let value = match frame.code(row, column) {
                Some(code) => levels[code as usize].clone(),
                None => weight_value(None, &spec.missing_values),
            };
            value
                .map_err(|m| {
                    let id = ids.get(row).map_or("", String::as_str);
                    let at = location.at_row(row as u64 + 1).at_column(name);
                    problems.push(Error::input(at, format!("person \"{id}\": {m}")));
                })
                .ok()
        })
        .collect())
}

/// The persons' `weights` as read made relative (times persons / their sum), with the
/// summary of the weight column `column`; `weights` as they are without a column.
///
/// # Errors
/// [`Error::Input`] naming the column when every weight is 0.
fn relative_weights(
    source: &str,
    column: Option<&str>,
    mut weights: Vec<f64>,
) -> Result<(Vec<f64>, Option<WeightSummary>)> {
    let Some(column) = column else { return Ok((weights, None)) };
    let sum: f64 = weights.iter().sum();
    if sum == 0.0 {
        let message = format!("every weight of the {} persons kept is 0: nobody would count", weights.len());
        return Err(Error::input(Location::file(source).at_column(column), message));
    }
    let summary = WeightSummary { column: column.to_string(), sum, n_eff: stats::effective_size(&weights) };
    let scale = weights.len() as f64 / sum;
    weights.iter_mut().for_each(|w| *w *= scale);
    Ok((weights, Some(summary)))
}

/// What is wrong with a person id, if anything: it is empty, or one of the missing values.
fn missing_id(id: &str, missing: &MissingValues) -> Option<String> {
    if id.is_empty() {
        Some("is empty".into())
    } else if missing.is_missing(id) {
        Some(format!("is \"{id}\", a missing value"))
    } else {
        None
    }
}

/// The message for a profile attribute missing (`value` in the data) under
/// [`MissingPolicy::Error`].
fn profile_missing(value: &str) -> String {
    format!(
        "the profile attribute is missing (\"{value}\"); profile_missing = \"error\" needs every person's profile \
         complete (\"drop\" leaves such persons out, \"category\" makes \"{CATEGORY}\" a level)"
    )
}

/// The position of a column the experiment names, or an error naming the file, the column and
/// the columns the header has.
fn column(rows: &dyn Rows, name: &str, role: &str) -> Result<usize> {
    let headers = rows.headers();
    headers.iter().position(|h| h == name).ok_or_else(|| {
        let found = headers.iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ");
        let mut message = format!("unknown {role} column \"{name}\"; the header has {found}");
        if headers.len() == 1 && headers[0].contains([';', '\t', '|']) {
            message.push_str(
                ": the file seems delimited by something other than commas; populace reads comma-separated files",
            );
        }
        // the header is line 1 of CSV; a Parquet file's columns have no line
        let header = if rows.unit() == "line" { rows.location().at_line(1) } else { rows.location().clone() };
        Error::input(header.at_column(name), message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str, groups: &[&str]) -> Result<Dataset> {
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).ordinal(["q"]);
        let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        Dataset::from_reader(csv.as_bytes(), &spec, &groups)
    }

    const CSV: &str = "id,sex,age,q,v,region\n1,m,old,b,x,\n2,f,old,a,y,north\n3,m,old,,x,south\n";

    #[test]
    fn a_column_in_two_roles_is_held_once_with_each_roles_order() {
        let data = read(CSV, &["sex", "q", "region", "sex", "id"]).unwrap();
        // The columns in the order first named (profile, groupings, items), each once.
        assert_eq!(data.frame().names().collect::<Vec<_>>(), ["sex", "age", "q", "region", "id", "v"]);
        assert_eq!(data.attribute(0).levels(), ["m", "f"]);
        assert!(data.grouping(0).groups().eq(["m", "f"]));
        // The item's options are sorted; the grouping by the same column keeps the order of first
        // appearance, and a missing answer is in no group.
        assert_eq!(data.item(0).levels(), ["a", "b"]);
        assert!(data.grouping(1).groups().eq(["b", "a"]));
        assert_eq!((0..3).map(|p| data.grouping(1).group(p)).collect::<Vec<_>>(), [Some(0), Some(1), None]);
        assert_eq!((0..3).map(|p| data.grouping(2).group(p)).collect::<Vec<_>>(), [None, Some(0), Some(1)]);
        assert!(data.grouping(4).groups().eq(["1", "2", "3"]));
        assert_eq!((data.item(0).ordinal(), data.item(1).ordinal(), data.item(0).missing()), (true, false, 1));
        assert_eq!(
            data.warnings(),
            ["r.csv: profile attribute \"age\" has a single level (\"old\"); it carries no information"]
        );
    }

    #[test]
    fn errors_name_the_line_and_column_of_the_first_problem_in_the_row() {
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).profile_missing(MissingPolicy::Error);
        let e = |csv: &[u8]| Dataset::from_reader(csv, &spec, &["region".into()]).unwrap_err().to_string();
        assert_eq!(
            e(b"id,sex,age,q,v,region\n1,m,old,a,x,n\n2,f,NA,b,y,n\n"),
            "r.csv, line 3, column \"age\": the profile attribute is missing (\"NA\"); profile_missing = \"error\" needs \
             every person's profile complete (\"drop\" leaves such persons out, \"category\" makes \"missing\" a level)"
        );
        // A field that is not UTF-8 before the missing profile value is reported, one after it is
        // not, unless the person is left out anyway.
        let bytes = |row: &[u8]| [&b"id,sex,age,q,v,region\n"[..], row].concat();
        let utf8 = e(&bytes(b"1,\xff,,a,x,n\n"));
        assert!(utf8.starts_with("r.csv, line 2, column \"sex\": value \"\u{fffd}\" is not valid UTF-8"), "{utf8}");
        let empty = e(&bytes(b"1,m,,\xff,x,n\n"));
        assert!(empty.starts_with("r.csv, line 2, column \"age\": the profile attribute is missing (\"\")"), "{empty}");
        let dropped = read(std::str::from_utf8(&bytes(b"1,m,,a,x,n\n")).unwrap(), &[]).unwrap_err().to_string();
        assert!(dropped.starts_with("r.csv: no person is left: 1 left out for a missing profile"), "{dropped}");
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]);
        let late = Dataset::from_reader(&bytes(b"1,m,,\xff,x,n\n")[..], &spec, &[]).unwrap_err().to_string();
        assert!(late.starts_with("r.csv, line 2, column \"q\": value"), "{late}");
        assert_eq!(e(b"id,sex,age,q,v,region\n"), "r.csv: the file has a header but no persons");
        assert_eq!(
            e(b"id,sex,age,q,v,region\n1,m,old,a,x,n\n2,f,old,a,y,n\n"),
            "r.csv, column \"q\": every answer to the item is \"a\"; there is nothing to predict"
        );
        assert_eq!(
            e(b"id,sex,age,q,v,region\n1,m,old,a,x,n\nNA,f,old,b,y,n\n"),
            "r.csv, line 3, column \"id\": the person id is \"NA\", a missing value"
        );
    }

    /// Responses with missing values spelled every default way, in every role: person 4 lacks
    /// a profile attribute, person 5 answered nothing, person 7 both; persons 1 and 6 have no
    /// region.
    const TOKENS: &str = "id,sex,age,q,v,region\n1,m,old,b,x,NA\n2,f,young,a,y,north\n3,m,old,N/A,x,south\n\
                          4,NaN,old,a,y,north\n5,f,young,NULL,.,south\n6,f,old,a,x,.\n7,NA,old,,,north\n";

    fn read_as(policy: MissingPolicy, csv: &str) -> Result<Dataset> {
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).profile_missing(policy);
        Dataset::from_reader(csv.as_bytes(), &spec, &["region".into()])
    }

    /// What a dataset holds, for comparing two.
    fn contents(data: &Dataset) -> String {
        let profile: Vec<_> = data
            .profile()
            .map(|a| (a.levels().to_vec(), (0..data.persons()).map(|p| a.level(p)).collect::<Vec<_>>()))
            .collect();
        let items: Vec<_> =
            data.items().map(|i| (i.levels().to_vec(), i.answers().collect::<Vec<_>>(), i.missing())).collect();
        let groups: Vec<_> = data
            .groups()
            .map(|g| {
                (
                    g.groups().collect::<Vec<_>>(),
                    (0..data.persons()).map(|p| g.group(p)).collect::<Vec<_>>(),
                    g.missing(),
                )
            })
            .collect();
        format!("{:?} {profile:?} {items:?} {groups:?} {:?} {}", data.ids(), data.missing(), data.without_answers())
    }

    #[test]
    fn tokens_are_missing_as_profile_values_answers_and_groups() {
        let data = read_as(MissingPolicy::Drop, TOKENS).unwrap();
        assert_eq!(data.ids(), ["1", "2", "3", "6"]);
        assert_eq!((data.item(0).levels(), data.item(0).missing()), (&["a".to_string(), "b".into()][..], 1));
        assert_eq!(data.item(1).levels(), ["x", "y"]);
        assert!(data.grouping(0).groups().eq(["north", "south"]));
        assert_eq!((data.grouping(0).group(0), data.grouping(0).missing()), (None, 2));
        // Person 7 is counted once, as left out for the profile.
        assert_eq!((data.missing().records_dropped, data.without_answers()), (2, 1));
        assert_eq!(data.missing().by_column.iter().collect::<Vec<_>>(), [(&"sex".to_string(), &2)]);
        // Empty fields are the same values.
        let empty =
            TOKENS.replace("NaN", "").replace("N/A", "").replace("NULL", "").replace("NA", "").replace(",.", ",");
        assert_eq!(contents(&read_as(MissingPolicy::Drop, &empty).unwrap()), contents(&data));
        // Only the spec's values are missing: person 7 answered nothing, the rest is kept.
        let spec =
            DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).missing_values(MissingValues::new(["", "N/A"]));
        let own = Dataset::from_reader(TOKENS.as_bytes(), &spec, &[]).unwrap();
        assert_eq!((own.persons(), own.item(1).levels()), (6, &[".".to_string(), "x".into(), "y".into()][..]));
    }

    #[test]
    fn a_missing_profile_value_is_dropped_kept_as_a_level_or_an_error() {
        let category = read_as(MissingPolicy::Category, TOKENS).unwrap();
        assert_eq!(category.ids(), ["1", "2", "3", "4", "6"]);
        assert_eq!(category.attribute(0).levels(), ["m", "f", CATEGORY]);
        assert_eq!(category.attribute(0).level(3), 2);
        assert_eq!((category.missing().records_dropped, category.without_answers()), (0, 2));
        assert_eq!(category.missing().by_column["sex"], 2);
        // Persons 4 and 7 are both named.
        let error = read_as(MissingPolicy::Error, TOKENS).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "r.csv: 2 problems:\n  r.csv, line 5, column \"sex\": the profile attribute is missing (\"NaN\")"
            ),
            "{error}"
        );
        assert!(
            error.contains("\n  r.csv, line 8, column \"sex\": the profile attribute is missing (\"NA\")"),
            "{error}"
        );
        assert_eq!(
            category.missing().summary().unwrap(),
            "r.csv: missing values kept as the category \"missing\" (sex 2)"
        );
    }

    #[test]
    fn a_frame_with_the_same_values_makes_the_same_dataset() {
        let mut lines = TOKENS.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let frame = || {
            let columns: Vec<(&str, Vec<&str>)> =
                header.iter().enumerate().map(|(c, &name)| (name, rows.iter().map(|r| r[c]).collect())).collect();
            Frame::from_columns(&columns).unwrap()
        };
        let ids: Vec<String> = rows.iter().map(|r| r[0].to_string()).collect();
        for policy in [MissingPolicy::Drop, MissingPolicy::Category] {
            let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).profile_missing(policy);
            let from_frame = Dataset::from_frame(ids.clone(), frame(), &spec, &["region".into()]).unwrap();
            assert_eq!(contents(&from_frame), contents(&read_as(policy, TOKENS).unwrap()), "{policy}");
        }
        let spec = DataSpec::new("memory", "id", ["sex", "age"], ["q", "v"]).profile_missing(MissingPolicy::Error);
        let error = Dataset::from_frame(ids, frame(), &spec, &[]).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "memory: 2 problems:\n  memory, row 4, column \"sex\": person \"4\": the profile attribute is missing \
                 (\"NaN\")"
            ),
            "{error}"
        );
        assert!(error.contains("\n  memory, row 7, column \"sex\": person \"7\": the profile attribute"), "{error}");
    }

    #[test]
    fn a_pool_takes_the_respondents_levels_and_items_and_refuses_other_values() {
        let data = read(CSV, &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pool = |text: &[u8]| {
            let path = dir.path().join("pool.csv");
            std::fs::write(&path, text).unwrap();
            data.read_pool(&path).map_err(|e| e.to_string().replace(&path.display().to_string(), "pool.csv"))
        };
        let p = pool(b"age,sex,person_id\nold,f,a\nold,m,b\n").unwrap();
        assert_eq!((p.persons(), p.ids(), p.attribute(0).level(0)), (2, &["a".to_string(), "b".into()][..], 1));
        assert_eq!(
            (p.attribute(0).levels(), p.item(0).levels(), p.item(1).missing()),
            (data.attribute(0).levels(), &["a".to_string(), "b".into()][..], 2)
        );
        assert_eq!(pool(b"sex,age\nf,old\n").unwrap().ids(), ["1"]);
        assert_eq!(
            pool(b"sex,age\nf,old\nf,young\n").unwrap_err(),
            "pool.csv, line 3, column \"age\": \"young\" is not a level of \"age\" in the responses (old)"
        );
        assert_eq!(
            pool(b"sex,age\nNA,young\n").unwrap_err(),
            "pool.csv, line 2, column \"sex\": the profile attribute is missing (\"NA\"); pools are complete, unless \
             [data] profile_missing = \"category\" makes \"missing\" a level"
        );
        assert!(pool(b"sex,age\nx,\n").unwrap_err().contains("\"x\" is not a level of \"sex\""));
        assert!(pool(b"sex,age\nf,\xff\n").unwrap_err().starts_with("pool.csv, line 2, column \"age\": value"));
        assert!(pool(b"sex,age\nx,\xff\n").unwrap_err().contains("\"x\" is not a level of \"sex\""));
        assert!(pool(b"sex\nf\n").unwrap_err().contains("missing profile attribute column \"age\""));
        assert_eq!(pool(b"sex,age\n").unwrap_err(), "pool.csv: the pool has no persons");
        assert_eq!(p.missing().policy, MissingPolicy::Error);

        // Under the category policy, a pool's missing value is the responses' level "missing".
        let data = read_as(MissingPolicy::Category, TOKENS).unwrap();
        let path = dir.path().join("pool.csv");
        std::fs::write(&path, b"sex,age\nNULL,old\nf,young\n").unwrap();
        let p = data.read_pool(&path).unwrap();
        assert_eq!((p.attribute(0).level(0), p.missing().by_column["sex"]), (2, 1));
        assert_eq!(p.missing().policy, MissingPolicy::Category);
        std::fs::write(&path, b"sex,age\nf,NA\n").unwrap();
        let e = data.read_pool(&path).unwrap_err().to_string();
        assert!(e.ends_with("column \"age\": \"NA\" is read as \"missing\", which is not a level of \"age\" in the responses (old, young)"), "{e}");
    }

    #[test]
    fn weights_are_read_made_relative_and_leave_with_their_persons() {
        // Person 3 lacks a sex, person 4 answered nothing: their weights (and only theirs) go.
        let csv =
            "id,sex,age,q,v,w\n1,m,old,a,x,4\n2,f,old,b,y,2\n3,NA,old,a,x,100\n4,f,young,,,100\n5,m,young,b,x,0\n";
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).weight("w");
        let data = Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap();
        assert_eq!(data.ids(), ["1", "2", "5"]);
        assert_eq!(data.weights(), [2.0, 1.0, 0.0]);
        let summary = data.weighting().unwrap();
        assert_eq!((summary.column.as_str(), summary.sum, summary.n_eff), ("w", 6.0, 36.0 / 20.0));
        // The same from a frame; without the column every person weighs 1.
        let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        let columns: Vec<(&str, Vec<&str>)> =
            (0..6).map(|c| (rows[0][c], rows[1..].iter().map(|r| r[c]).collect())).collect();
        let ids: Vec<String> = rows[1..].iter().map(|r| r[0].to_string()).collect();
        let frame = Dataset::from_frame(ids, Frame::from_columns(&columns).unwrap(), &spec, &[]).unwrap();
        assert_eq!((frame.weights(), frame.weighting()), (data.weights(), data.weighting()));
        let plain = read(CSV, &[]).unwrap();
        assert_eq!((plain.weights(), plain.weighting()), (&[1.0; 3][..], None));
    }

    #[test]
    fn a_bad_weight_is_an_error_naming_line_column_and_value() {
        let spec = DataSpec::new("r.csv", "id", ["sex"], ["q"]).weight("w");
        let e = |rows: &str| {
            let csv = format!("id,sex,q,w\n1,m,a,1\n{rows}");
            Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap_err().to_string()
        };
        let at = "r.csv, line 3, column \"w\": the weight";
        assert_eq!(e("2,f,b,NA\n"), format!("{at} is missing (\"NA\"): every person needs one"));
        assert_eq!(e("2,f,b,\n"), format!("{at} is missing (\"\"): every person needs one"));
        assert_eq!(e("2,f,b,-2\n"), format!("{at} is negative: \"-2\""));
        assert_eq!(e("2,f,b,heavy\n"), format!("{at} is not a number: \"heavy\""));
        assert_eq!(e("2,f,b,nan\n"), format!("{at} is NaN: \"nan\""));
        assert_eq!(e("2,f,b,inf\n"), format!("{at} is infinite: \"inf\""));
        // Checked for persons left out too: a missing weight is never silent.
        assert_eq!(e("2,NA,b,.\n"), format!("{at} is missing (\".\"): every person needs one"));
        let zero = Dataset::from_reader(&b"id,sex,q,w\n1,m,a,0\n2,f,b,0\n"[..], &spec, &[]).unwrap_err();
        assert_eq!(
            zero.to_string(),
            "r.csv, column \"w\": every weight of the 2 persons kept is 0: nobody would count"
        );
        let absent = Dataset::from_reader(&b"id,sex,q\n1,m,a\n"[..], &spec, &[]).unwrap_err().to_string();
        assert!(absent.starts_with("r.csv, line 1, column \"w\": unknown weight column \"w\""), "{absent}");
        // A frame's rows, and a weight column in another role.
        let frame = Frame::from_columns(&[("sex", ["m", "f"]), ("q", ["a", "b"]), ("w", ["1", "-1"])]).unwrap();
        let e = Dataset::from_frame(vec!["1".into(), "2".into()], frame, &spec, &[]).unwrap_err().to_string();
        assert_eq!(e, "r.csv, row 2, column \"w\": person \"2\": the weight is negative: \"-1\"");
        let twice = DataSpec::new("r.csv", "id", ["sex"], ["q"]).weight("sex").validate().unwrap_err();
        assert_eq!(twice, "the weight column \"sex\" is also named among id, profile and items");
    }

    #[test]
    fn persons_are_identified_by_every_column_of_a_composite_id() {
        let spec = DataSpec::new("r.csv", "id", ["sex"], ["q"]).id_columns(["year", "id"]);
        let text = "year,id,sex,q\n2016,1,f,a\n2016,2,m,b\n2018,1,m,a\n";
        let data = Dataset::from_reader(text.as_bytes(), &spec, &[]).unwrap();
        assert_eq!(data.ids(), ["2016:1", "2016:2", "2018:1"]);
        let twice = format!("{text}2018,1,f,b\n");
        let m = Dataset::from_reader(twice.as_bytes(), &spec, &[]).unwrap_err().to_string();
        assert!(m.contains("line 5, column \"year\": person id \"2018:1\" appears twice"), "{m}");
        let gap = "year,id,sex,q\n2016,,f,a\n";
        let m = Dataset::from_reader(gap.as_bytes(), &spec, &[]).unwrap_err().to_string();
        assert!(m.contains("line 2, column \"id\": the person id is empty"), "{m}");
        let toml: DataSpec =
            toml::from_str("file = \"r.csv\"\nid = [\"year\", \"id\"]\nprofile = [\"sex\"]\nitems = [\"q\"]\n")
                .unwrap();
        assert_eq!(toml.id, ["year", "id"]);
    }

    /// Responses with a weight and the error policy whose lines 3 to 9 are each bad in another
    /// way (line 7 repeats the id of line 2), and line 10 good.
    const BAD_ROWS: &[u8] = b"id,sex,age,q,v,w\n1,m,old,a,x,1\n2,f,NA,b,y,1\nNA,f,old,b,y,1\n4,f,old,b\n\
                              5,f,old,b,y,heavy\n1,f,old,b,y,1\n7,\xff,old,a,x,1\n8,m,young,b,x,-1\n9,f,young,a,y,2\n";

    fn strict() -> DataSpec {
        DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).profile_missing(MissingPolicy::Error).weight("w")
    }

    /// Asserts that `e` has one line per `expected`, each starting with it.
    fn assert_lines_start(e: &str, expected: &[&str]) {
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), expected.len(), "{e}");
        for (line, expected) in lines.iter().zip(expected) {
            assert!(line.starts_with(expected), "{line:?} is not {expected:?}");
        }
    }

    #[test]
    fn every_bad_row_is_reported_in_line_order_with_the_count() {
        let e = Dataset::from_reader(BAD_ROWS, &strict(), &[]).unwrap_err().to_string();
        let expected = [
            "r.csv: 7 problems:",
            "  r.csv, line 3, column \"age\": the profile attribute is missing (\"NA\"); profile_missing = \"error\"",
            "  r.csv, line 4, column \"id\": the person id is \"NA\", a missing value",
            "  r.csv, line 5: the row has 4 fields",
            "  r.csv, line 6, column \"w\": the weight is not a number: \"heavy\"",
            "  r.csv, line 7, column \"id\": person id \"1\" appears twice (first on line 2)",
            "  r.csv, line 8, column \"sex\": value \"\u{fffd}\" is not valid UTF-8",
            "  r.csv, line 9, column \"w\": the weight is negative: \"-1\"",
        ];
        assert_lines_start(&e, &expected);
        // Any one of them alone reads as before.
        let header = "id,sex,age,q,v,w\n1,m,old,a,x,1\n";
        let one = |row: &str| Dataset::from_reader(format!("{header}{row}").as_bytes(), &strict(), &[]);
        assert_eq!(
            one("5,f,old,b,y,heavy\n").unwrap_err().to_string(),
            "r.csv, line 3, column \"w\": the weight is not a number: \"heavy\""
        );
        assert_eq!(
            one("1,f,old,b,y,1\n").unwrap_err().to_string(),
            "r.csv, line 3, column \"id\": person id \"1\" appears twice (first on line 2)"
        );
        assert!(matches!(one("1,f,old,b,y,1\n"), Err(Error::Input { .. })));
    }

    #[test]
    fn a_repeated_id_names_the_line_it_was_first_on_every_time() {
        let csv = "id,sex,age,q,v\n1,m,old,a,x\n2,f,old,b,y\n1,f,old,b,y\n2,m,young,a,x\n1,m,young,b,y\n";
        let e = read(csv, &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "r.csv: 3 problems:\n  r.csv, line 4, column \"id\": person id \"1\" appears twice (first on line 2)\n  \
             r.csv, line 5, column \"id\": person id \"2\" appears twice (first on line 3)\n  \
             r.csv, line 6, column \"id\": person id \"1\" appears twice (first on line 2)"
        );
        // The rows of a table in memory (Parquet) are named as rows.
        let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        let columns: Vec<(&str, Vec<&str>)> =
            (0..5).map(|c| (rows[0][c], rows[1..].iter().map(|r| r[c]).collect())).collect();
        let frame = Frame::from_columns(&columns).unwrap();
        let spec = DataSpec::new("r.parquet", "id", ["sex", "age"], ["q", "v"]);
        let e = Dataset::read(&mut FrameRows::new("r.parquet", &frame), &spec, &[]).unwrap_err().to_string();
        assert!(e.starts_with("r.parquet: 3 problems:\n  r.parquet, row 3, column \"id\": person id \"1\" appears twice (first on row 1)"), "{e}");
    }

    #[test]
    fn the_first_twenty_bad_rows_are_shown_with_the_count() {
        let mut csv = String::from("id,sex,age,q,v\n1,m,old,a,x\n2,f,young,b,y\n");
        for _ in 0..30 {
            csv.push_str(",m,old,a,x\n");
        }
        let e = read(&csv, &[]).unwrap_err().to_string();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 21, "{e}");
        assert_eq!(lines[0], "r.csv: 30 problems; the first 20:");
        assert_eq!(lines[1], "  r.csv, line 4, column \"id\": the person id is empty");
        assert_eq!(lines[20], "  r.csv, line 23, column \"id\": the person id is empty");
    }

    #[test]
    fn binned_values_without_a_bin_are_all_reported() {
        let bins = Bins::new("age", "years", &[0.0, 40.0], None).unwrap();
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]).bins([bins]);
        let csv = "id,sex,years,q,v\n1,m,23,a,x\n2,f,old,b,y\n3,f,-5,b,y\n4,m,67,a,y\n";
        let e = Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap_err().to_string();
        assert!(e.starts_with("r.csv: 2 problems:\n  r.csv, line 3, column \"years\": \"old\" is not a number"), "{e}");
        assert!(e.contains("\n  r.csv, line 4, column \"years\": -5 is below the first break (0) of age"), "{e}");
        // The pool too.
        let data = Dataset::from_reader(csv.replace("old", "30").replace("-5", "50").as_bytes(), &spec, &[]).unwrap();
        let rows = CsvFile::from_bytes(b"sex,years\nf,old\nm,-1\nf,30\n".to_vec(), "pool.csv").unwrap();
        let e = data.pool(&mut CsvRows::new(rows)).unwrap_err().to_string();
        assert!(e.starts_with("pool.csv: 2 problems:\n  pool.csv, line 2, column \"years\": \"old\""), "{e}");
        assert!(e.contains("\n  pool.csv, line 3, column \"years\": -1 is below"), "{e}");
    }

    #[test]
    fn every_bad_person_of_a_pool_is_reported() {
        let data = read(CSV, &[]).unwrap();
        let pool = |text: &[u8]| {
            let mut rows = CsvRows::new(CsvFile::from_bytes(text.to_vec(), "pool.csv").unwrap());
            data.pool_rows(&mut rows).map(|p| p.persons()).map_err(|e| e.to_string())
        };
        let e = pool(b"sex,age\nf,old\nx,old\nf,young\nm\nNA,old\nm,\xff\nm,old\n").unwrap_err();
        let expected = [
            "pool.csv: 5 problems:",
            "  pool.csv, line 3, column \"sex\": \"x\" is not a level of \"sex\" in the responses (m, f)",
            "  pool.csv, line 4, column \"age\": \"young\" is not a level of \"age\" in the responses (old)",
            "  pool.csv, line 5: the row has 1 field",
            "  pool.csv, line 6, column \"sex\": the profile attribute is missing (\"NA\"); pools are complete",
            "  pool.csv, line 7, column \"age\": value \"\u{fffd}\" is not valid UTF-8",
        ];
        assert_lines_start(&e, &expected);
        assert_eq!(
            pool(b"sex,age\nf,old\nx,old\n").unwrap_err(),
            "pool.csv, line 3, column \"sex\": \"x\" is not a level of \"sex\" in the responses (m, f)"
        );
        assert_eq!(pool(b"sex,age\nf,old\nm,old\n"), Ok(2));
    }

    #[test]
    fn every_bad_id_then_every_bad_row_of_a_frame_is_reported() {
        let spec = DataSpec::new("memory", "id", ["sex"], ["q"]).profile_missing(MissingPolicy::Error).weight("w");
        let frame = || {
            Frame::from_columns(&[
                ("sex", ["f", "m", "NA", "f", "m"]),
                ("q", ["a", "b", "a", "b", "a"]),
                ("w", ["1", "x", "1", "-1", "1"]),
            ])
            .unwrap()
        };
        let ids = |ids: [&str; 5]| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        let e = Dataset::from_frame(ids(["1", "", "3", "1", "NA"]), frame(), &spec, &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            "memory: 3 problems:\n  memory, column \"id\": the person id of row 2 is empty\n  \
             memory, column \"id\": person id \"1\" appears twice\n  \
             memory, column \"id\": the person id of row 5 is \"NA\", a missing value"
        );
        let e = Dataset::from_frame(ids(["1", "2", "3", "4", "5"]), frame(), &spec, &[]).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "memory: 3 problems:\n  memory, row 2, column \"w\": person \"2\": the weight is not a number: \"x\"\n  \
                 memory, row 3, column \"sex\": person \"3\": {}\n  \
                 memory, row 4, column \"w\": person \"4\": the weight is negative: \"-1\"",
                profile_missing("NA")
            )
        );
    }
}
