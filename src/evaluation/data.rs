//! The responses: persons with profile attributes, grouping columns and answers to items, in
//! one categorical table.
//!
//! A [`Dataset`] holds each person's id and a [`Frame`] with a column per column of the
//! responses it uses. Profile attributes, groupings and items are *roles* of those columns,
//! read through the views [`Attribute`], [`Grouping`] and [`Item`]; a column in two roles (a
//! profile attribute that is also a grouping, say) is held once.
//!
//! - A profile attribute's levels are the column's levels; no person may lack one.
//! - A grouping's groups are the values its column takes, in order of first appearance among
//!   the persons; a person without a value is in no group.
//! - An item's options are the column's levels **sorted as strings** (for ordinal items, the
//!   scale order); a person without a value has a missing answer.
//!
//! The same values make the same dataset whether they come from a file ([`Dataset::load`]),
//! CSV text ([`Dataset::from_reader`]) or a frame in memory ([`Dataset::from_frame`]).

use std::collections::HashSet;
use std::io::Read;

use csv::ByteRecord;

use crate::error::{Error, Location, Result};
use crate::frame::{Dictionary, Frame, FrameBuilder, Rejected};
use crate::inputs::CsvFile;

use super::spec::DataSpec;

/// Everything `evaluate` reads about the persons: ids, profile, groupings and answers.
///
/// ```
/// use populace::evaluation::{DataSpec, Dataset};
/// use populace::frame::Frame;
///
/// let spec = DataSpec::new("votes", "id", ["age"], ["vote"]);
/// let frame = Frame::from_columns(&[("age", ["young", "old", "old"]), ("vote", ["yes", "no", ""])])?;
/// let data = Dataset::from_frame(vec!["1".into(), "2".into(), "3".into()], frame, &spec, &[])?;
/// let vote = data.item(0);
/// assert_eq!((data.persons(), vote.name(), vote.missing()), (3, "vote", 1));
/// assert_eq!(vote.levels(), ["no", "yes"]); // sorted
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
}

/// A grouping: its column, and its groups in order of first appearance.
#[derive(Debug, Clone)]
struct GroupingRole {
    column: usize,
    /// The column's code of each group.
    codes: Vec<u32>,
    /// The group of each of the column's codes (`None` for a level no person has).
    group: Vec<Option<u32>>,
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

    /// Its levels.
    pub fn levels(&self) -> &'a [String] {
        self.frame.levels(self.column)
    }

    /// The level of `person`, a position in [`Attribute::levels`].
    pub fn level(&self, person: usize) -> usize {
        self.frame.code(person, self.column).expect("a dataset refuses a profile with a missing attribute") as usize
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
    /// and reports. Values are trimmed of surrounding spaces.
    ///
    /// ```
    /// use populace::evaluation::{DataSpec, Dataset};
    ///
    /// let csv = "id,age,vote\n1,young,yes\n2,old,no\n3,old,\n";
    /// let spec = DataSpec::new("votes.csv", "id", ["age"], ["vote"]);
    /// let data = Dataset::from_reader(csv.as_bytes(), &spec, &[]).unwrap();
    /// assert_eq!((data.persons(), data.item(0).missing()), (3, 1));
    /// assert_eq!(data.item(0).levels(), ["no", "yes"]);
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

    /// The persons of `frame`, one per row, with ids `ids`, taking the columns `spec` names as
    /// profile attributes and items and the columns `groups` as groupings; `spec.file` names
    /// the data in messages and reports and `spec.id` the ids. The frame's missing values are
    /// missing answers, or persons in no group; columns no role names play none. The item
    /// columns' levels are sorted as strings.
    ///
    /// The same values read from CSV ([`Dataset::from_reader`]) make the same dataset.
    ///
    /// # Errors
    /// [`Error::Input`] naming the data (and column and person where they apply) for columns
    /// named twice or not in the frame, ids not one per row, an empty or repeated person id,
    /// a missing profile value, no persons, or an item whose answers are all missing or all
    /// the same.
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
                location.at_column(&spec.id),
                format!("{} person ids for {} rows", ids.len(), frame.rows()),
            ));
        }
        let mut seen = HashSet::new();
        for (row, id) in ids.iter().enumerate() {
            if id.is_empty() {
                return Err(Error::input(
                    location.at_column(&spec.id),
                    format!("the person id of row {} is empty", row + 1),
                ));
            }
            if !seen.insert(id.as_str()) {
                return Err(Error::input(location.at_column(&spec.id), format!("person id \"{id}\" appears twice")));
            }
            if let Some((name, _)) =
                spec.profile.iter().zip(&roles.profile).find(|(_, &a)| frame.code(row, a).is_none())
            {
                return Err(Error::input(
                    location.at_column(name),
                    format!("person \"{id}\": the profile attribute is missing; every person needs a complete profile"),
                ));
            }
        }
        if ids.is_empty() {
            return Err(Error::input(location, "there are no persons"));
        }
        Self::assemble(source, ids, frame, spec, &roles)
    }

    fn read(mut csv: CsvFile, display: &str, spec: &DataSpec, group_names: &[String]) -> Result<Dataset> {
        spec.validate().map_err(|m| Error::input(Location::file(display), m))?;
        let id = column(&csv, &spec.id, "id")?;
        // The file's columns the roles name, once each, in the order first named.
        let mut names: Vec<&str> = Vec::new();
        let mut fields = Vec::new();
        let mut roles = Roles { profile: Vec::new(), groups: Vec::new(), items: Vec::new() };
        for (role_names, role, frame_columns) in [
            (&spec.profile[..], "profile", &mut roles.profile),
            (group_names, "group", &mut roles.groups),
            (&spec.items[..], "item", &mut roles.items),
        ] {
            for name in role_names {
                let field = column(&csv, name, role)?;
                let at = names.iter().position(|&n| n == name.as_str()).unwrap_or_else(|| {
                    names.push(name);
                    fields.push(Some(field));
                    names.len() - 1
                });
                frame_columns.push(at);
            }
        }
        let mut builder = FrameBuilder::new(names.iter().map(|&n| (n, Dictionary::learned())))?;
        // Profile attributes come first and are named once each.
        let profile = spec.profile.len();
        let mut ids = Vec::new();
        let mut seen = HashSet::new();
        let mut record = ByteRecord::new();
        while let Some(line) = csv.next(&mut record)? {
            let person = csv.field(&record, line, id)?;
            if person.is_empty() {
                return Err(Error::input(csv.location().at_line(line).at_column(&spec.id), "the person id is empty"));
            }
            if !seen.insert(person.to_string()) {
                return Err(Error::input(
                    csv.location().at_line(line).at_column(&spec.id),
                    format!("person id \"{person}\" appears twice"),
                ));
            }
            ids.push(person.to_string());
            // Learned dictionaries know every value: only empty profile values are refused.
            push_record(
                &csv,
                &record,
                line,
                &fields,
                &mut builder,
                |j| j < profile,
                |_, _| "the profile attribute is missing (empty); every person needs a complete profile".to_string(),
            )?;
        }
        if ids.is_empty() {
            return Err(Error::input(csv.location().clone(), "the file has a header but no persons"));
        }
        Self::assemble(display.to_string(), ids, builder.finish(), spec, &roles)
    }

    /// The dataset of persons whose ids and profiles were checked: warns of profile attributes
    /// with a single level, checks and sorts the items, and finds the groups.
    fn assemble(source: String, ids: Vec<String>, mut frame: Frame, spec: &DataSpec, roles: &Roles) -> Result<Dataset> {
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
        Ok(Dataset { source, ids, frame, profile: roles.profile.clone(), groups, items, warnings })
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

    /// The persons of a persona pool `path`, a CSV with the profile attributes as columns (and
    /// optionally ids in `person_id`), as a dataset with this one's attributes, levels and
    /// items and no answers.
    pub(super) fn read_pool(&self, path: &std::path::Path) -> Result<Dataset> {
        let display = path.display().to_string();
        let mut csv = CsvFile::open(path, &display)?;
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for a in self.profile() {
            fields.push(Some(csv.column(a.name(), "profile attribute")?));
            columns.push((a.name(), Dictionary::fixed(a.levels())?));
        }
        for item in self.items() {
            fields.push(None);
            columns.push((item.name(), Dictionary::fixed(item.levels())?));
        }
        let mut builder = FrameBuilder::new(columns)?;
        let id = csv.headers().iter().position(|h| h == "person_id");
        let unknown = |a: usize, value: &str| {
            let a = self.attribute(a);
            format!("\"{value}\" is not a level of \"{}\" in the responses ({})", a.name(), a.levels().join(", "))
        };
        let mut ids = Vec::new();
        let mut record = ByteRecord::new();
        while let Some(line) = csv.next(&mut record)? {
            push_record(&csv, &record, line, &fields, &mut builder, |_| true, unknown)?;
            ids.push(match id {
                Some(c) => csv.field(&record, line, c)?.to_string(),
                None => (ids.len() + 1).to_string(),
            });
        }
        if ids.is_empty() {
            return Err(Error::input(Location::file(&display), "the pool has no persons"));
        }
        let persons = ids.len();
        let attributes = self.profile.len();
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
        })
    }
}

impl GroupingRole {
    /// The grouping by `column`, its groups in order of first appearance.
    fn new(frame: &Frame, column: usize) -> GroupingRole {
        let mut group = vec![None; frame.levels(column).len()];
        let mut codes = Vec::new();
        for code in frame.column_codes(column).flatten() {
            let slot = &mut group[code as usize];
            if slot.is_none() {
                *slot = Some(codes.len() as u32);
                codes.push(code);
            }
        }
        GroupingRole { column, codes, group }
    }
}

/// How many persons have each level of `column`.
fn counts(frame: &Frame, column: usize) -> Vec<usize> {
    let mut counts = vec![0; frame.levels(column).len()];
    frame.column_codes(column).flatten().for_each(|c| counts[c as usize] += 1);
    counts
}

/// Reads the fields of `record` (the file column of each column of `frame`; `None`: a missing
/// value) and adds them as a row. An empty field is missing, except in the columns `required`
/// names. The first problem in column order is reported: a field that is not UTF-8, or a value
/// refused (empty in a required column, or not a level of the column's fixed dictionary) with
/// the message `refused` gives for the column and value.
fn push_record(
    csv: &CsvFile,
    record: &ByteRecord,
    line: u64,
    fields: &[Option<usize>],
    frame: &mut FrameBuilder,
    required: impl Fn(usize) -> bool,
    refused: impl Fn(usize, &str) -> String,
) -> Result<()> {
    let at = |j: usize| {
        let name = fields[j].map_or("", |c| csv.headers()[c].as_str());
        csv.location().at_line(line).at_column(name)
    };
    let mut values = Vec::with_capacity(fields.len());
    let mut failure = None;
    for (j, field) in fields.iter().enumerate() {
        let value = match *field {
            Some(c) => match csv.field(record, line, c) {
                Ok("") if required(j) => Err(Error::input(at(j), refused(j, ""))),
                Ok("") => Ok(None),
                Ok(value) => Ok(Some(value)),
                Err(e) => Err(e),
            },
            None => Ok(None),
        };
        match value {
            Ok(value) => values.push(value),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // A row cut short by a failure is rejected, but first for any column before it.
    match (frame.push(values.iter().copied()), failure) {
        (Err(Rejected::Unknown { column }), _) => {
            Err(Error::input(at(column), refused(column, values[column].unwrap_or_default())))
        }
        (Err(Rejected::Full { column }), _) => {
            Err(Error::input(at(column), format!("more than {} distinct values", u32::MAX)))
        }
        (_, Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
        (Err(rejected), None) => Err(Error::Inconsistent(format!("a row of the responses: {rejected:?}"))),
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
        let e = |csv: &str| read(csv, &["region"]).unwrap_err().to_string();
        assert_eq!(
            e("id,sex,age,q,v,region\n1,m,old,a,x,n\n2,f,,b,y,n\n"),
            "r.csv, line 3, column \"age\": the profile attribute is missing (empty); every person needs a complete profile"
        );
        // A field that is not UTF-8 before the empty profile value is reported, one after it is not.
        let spec = DataSpec::new("r.csv", "id", ["sex", "age"], ["q", "v"]);
        let bytes = |row: &[u8]| [&b"id,sex,age,q,v\n"[..], row].concat();
        let utf8 = Dataset::from_reader(&bytes(b"1,\xff,,a,x\n")[..], &spec, &[]).unwrap_err().to_string();
        assert!(utf8.starts_with("r.csv, line 2, column \"sex\": value \"\u{fffd}\" is not valid UTF-8"), "{utf8}");
        let empty = Dataset::from_reader(&bytes(b"1,m,,\xff,x\n")[..], &spec, &[]).unwrap_err().to_string();
        assert!(empty.starts_with("r.csv, line 2, column \"age\": the profile attribute is missing"), "{empty}");
        assert_eq!(e("id,sex,age,q,v,region\n"), "r.csv: the file has a header but no persons");
        assert_eq!(
            e("id,sex,age,q,v,region\n1,m,old,a,x,n\n2,f,old,a,y,n\n"),
            "r.csv, column \"q\": every answer to the item is \"a\"; there is nothing to predict"
        );
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
            pool(b"sex,age\n,young\n").unwrap_err(),
            "pool.csv, line 2, column \"sex\": \"\" is not a level of \"sex\" in the responses (m, f)"
        );
        assert!(pool(b"sex,age\nf,\xff\n").unwrap_err().starts_with("pool.csv, line 2, column \"age\": value"));
        assert!(pool(b"sex,age\nx,\xff\n").unwrap_err().contains("\"x\" is not a level of \"sex\""));
        assert!(pool(b"sex\nf\n").unwrap_err().contains("missing profile attribute column \"age\""));
        assert_eq!(pool(b"sex,age\n").unwrap_err(), "pool.csv: the pool has no persons");
    }
}
