//! Households and their persons over nested geographies: the [`HouseholdSpec`] and the
//! [`HouseholdProblem`] it loads (seeds linked by household id, the crosswalk's nested zones,
//! each control's incidence per household and its totals per zone).
//!
//! A control counts households (each adds the value of its expression: a condition counts 1)
//! or persons (each household adds the sum over its persons: a household with three workers
//! counts three toward a workers control). Expressions are written as PopulationSim's
//! `controls.csv` writes them, in pandas syntax: `NP >= 4`, `(households.HINCP > 30000) &
//! (households.HINCP <= 60000)`, `persons.ESR.isin([1, 2, 4, 5])`, `persons.PComm.isna()`. A
//! missing value behaves as pandas' NaN (every comparison but `!=` is false); an expression
//! whose value is missing for a household is an error naming the row.

mod geography;
mod populationsim;
mod spec;
mod table;

pub(crate) use geography::key;
pub use geography::{Geography, Level};
pub use populationsim::{import_populationsim, Imported};
pub use spec::{
    is_household_spec, Balancer, ControlLayout, ControlSpec, ControlTable, ControlTableSpec, GeographySpec,
    HouseholdFit, HouseholdSpec, HouseholdsSpec, Mode, PersonsSpec,
};
pub(crate) use table::Table;

use super::csvfile::parse_count;
use super::expression::{Expression, Value};
use super::Selection;
use crate::error::{Error, Location, Result};
use crate::frame::Frame;

/// The synthetic household id column of generated households and persons.
pub const HOUSEHOLD_ID: &str = "household_id";
/// The synthetic person id column of generated persons.
pub const PERSON_ID: &str = "person_id";

/// One control, loaded: its definition and its totals.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Control {
    /// Its name.
    pub name: String,
    /// The level its totals are given at.
    pub level: usize,
    /// Whether it counts households or persons.
    pub table: ControlTable,
    /// How strongly it is enforced; `None`: hard.
    pub importance: Option<f64>,
    /// Its expression, as written.
    pub expression: String,
    /// Its total in each zone of its level.
    pub targets: Vec<f64>,
}

/// The seed households, ordered by seed zone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Households {
    /// Each household's id, as written.
    pub ids: Vec<String>,
    /// Each household's design weight.
    pub weights: Vec<f64>,
    /// Each household's seed zone.
    pub seed_zone: Vec<u32>,
    /// The households of seed zone `s` are `start[s]..start[s + 1]`.
    pub start: Vec<usize>,
    /// The row of the seed table each household was read from.
    pub rows: Vec<usize>,
    /// The seed table's values.
    pub frame: Frame,
    /// The columns written for each synthetic household.
    pub columns: Vec<usize>,
}

impl Households {
    /// Number of households.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The households of seed zone `s`.
    pub fn of_zone(&self, s: usize) -> std::ops::Range<usize> {
        self.start[s]..self.start[s + 1]
    }
}

/// The seed persons, grouped by household.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Persons {
    /// The persons of household `h` are the table rows `rows[start[h]..start[h + 1]]`, in
    /// file order.
    pub start: Vec<usize>,
    /// Rows of the person table.
    pub rows: Vec<usize>,
    /// The person table's values.
    pub frame: Frame,
    /// The columns written for each synthetic person.
    pub columns: Vec<usize>,
    /// The role column (`[persons] role`), if the spec names one.
    pub role: Option<Role>,
}

impl Persons {
    /// The person-table rows of household `h`.
    pub fn of(&self, h: usize) -> &[usize] {
        &self.rows[self.start[h]..self.start[h + 1]]
    }

    /// The role of the person on table row `row`: its label, or its value as it is; `None`
    /// without a role column or value.
    pub fn role(&self, row: usize) -> Option<&str> {
        let role = self.role.as_ref()?;
        let value = self.frame.value(row, role.column)?;
        Some(role.labels.get(key(value).as_ref()).map_or(value, String::as_str))
    }
}

/// The persons' role column and the labels of its values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Role {
    /// The column of the person table.
    pub column: usize,
    /// Labels by value (values compared as zone ids are: `01` is `1`).
    pub labels: std::collections::HashMap<String, String>,
}

/// Each control's value per household, sparse: the households with a non-zero value.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Incidence {
    start: Vec<usize>,
    households: Vec<u32>,
    values: Vec<f64>,
}

impl Incidence {
    /// Control `c`'s households (ascending) and their values.
    pub fn control(&self, c: usize) -> (&[u32], &[f64]) {
        let range = self.start[c]..self.start[c + 1];
        (&self.households[range.clone()], &self.values[range])
    }

    /// Control `c`'s entries for the households in `range`.
    pub fn within(&self, c: usize, range: std::ops::Range<usize>) -> (&[u32], &[f64]) {
        let (h, v) = self.control(c);
        let a = h.partition_point(|&x| (x as usize) < range.start);
        let b = h.partition_point(|&x| (x as usize) < range.end);
        (&h[a..b], &v[a..b])
    }

    /// The entries of the households that `map` keeps, renumbered as it says (it must keep
    /// their order).
    fn restricted(&self, map: &[Option<u32>]) -> Incidence {
        let mut out = Incidence { start: vec![0], ..Incidence::default() };
        for c in 0..self.start.len().saturating_sub(1) {
            let (h, v) = self.control(c);
            for (&h, &v) in h.iter().zip(v) {
                if let Some(n) = map[h as usize] {
                    out.households.push(n);
                    out.values.push(v);
                }
            }
            out.start.push(out.households.len());
        }
        out
    }

    fn push(&mut self, values: &[f64]) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        for (h, &v) in values.iter().enumerate() {
            if v != 0.0 {
                self.households.push(h as u32);
                self.values.push(v);
            }
        }
        self.start.push(self.households.len());
    }
}

/// Everything a household fit needs, read and checked.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HouseholdProblem {
    /// The levels and their zones.
    pub geography: Geography,
    /// The seed households.
    pub households: Households,
    /// The seed persons, if the spec has them.
    pub persons: Option<Persons>,
    /// The controls, in spec order.
    pub controls: Vec<Control>,
    /// The household-total control's position.
    pub total: usize,
    /// Each control's value per household.
    pub incidence: Incidence,
    /// The seed's household id column and the persons' household id column, for output.
    pub id_column: String,
    /// The seed's design weight column.
    pub weight_column: String,
    /// Things the user should know that did not stop the load (households left out, …).
    pub notes: Vec<String>,
}

impl HouseholdProblem {
    /// Reads every file `spec` names and checks them against each other.
    ///
    /// # Errors
    /// [`Error::Input`] naming the file, line, column and value of the first problem: a
    /// duplicated or missing household id, a person whose household is not in the seed, a
    /// household without persons, a zone in two parents, a missing total, an expression that
    /// does not parse or whose value is missing for a household.
    pub fn load(spec: &HouseholdSpec) -> Result<HouseholdProblem> {
        HouseholdProblem::read(spec, false)
    }

    /// As [`HouseholdProblem::load`], but reading only the seed columns a fit uses (ids,
    /// weights, zones, those the controls' expressions name, those the spec lists to be
    /// written): the other columns of a wide seed are neither read nor checked.
    ///
    /// # Errors
    /// As [`HouseholdProblem::load`].
    pub fn load_for_fit(spec: &HouseholdSpec) -> Result<HouseholdProblem> {
        HouseholdProblem::read(spec, true)
    }

    fn read(spec: &HouseholdSpec, fit_only: bool) -> Result<HouseholdProblem> {
        let missing = &spec.missing_values;
        let open = |file: &std::path::Path, rename, keep: Option<&[String]>| {
            let path = spec.resolve(file);
            Table::read(&path, &path.display().to_string(), rename, missing, spec.comment, keep)
        };
        let (household_columns, person_columns) = fit_columns(spec);
        let (household_keep, person_keep) = match fit_only {
            true => (Some(household_columns.as_slice()), Some(person_columns.as_slice())),
            false => (None, None),
        };
        let mut notes = Vec::new();
        let names = &spec.geography.levels;
        let seed_level = spec.level(&spec.geography.seed).unwrap_or_default();
        let lowest = names.len() - 1;

        // Control tables, each read once.
        let tables: Vec<(usize, &ControlTableSpec, Table)> = spec
            .tables
            .iter()
            .map(|t| Ok((spec.level(&t.geography).unwrap_or_default(), t, open(&t.file, &t.rename, None)?)))
            .collect::<Result<_>>()?;
        let household_table = open(&spec.households.file, &spec.households.rename, household_keep)?;

        // The geography: the crosswalk's zones (those of the lowest level's control table,
        // when it has one), or the one level's zones.
        let lowest_table = tables.iter().find(|(l, _, _)| *l == lowest);
        let lowest_zones: Option<std::collections::HashSet<String>> = match lowest_table {
            Some((_, _, t)) => {
                let col = t.column(&names[lowest], "zone")?;
                Some((0..t.rows()).filter_map(|r| t.value(r, col).map(|z| key(z).into_owned())).collect())
            }
            None => None,
        };
        let geography = match &spec.geography.crosswalk {
            Some(file) => {
                let crosswalk = open(file, &spec.geography.rename, None)?;
                let keep = |z: &str| lowest_zones.as_ref().is_none_or(|set| set.contains(key(z).as_ref()));
                let (geography, left_out) = Geography::read(&crosswalk, names, seed_level, &keep)?;
                if left_out > 0 {
                    notes.push(format!(
                        "{}: {left_out} rows left out: their {} zone has no row in the {} control table",
                        crosswalk.name, names[lowest], names[lowest]
                    ));
                }
                geography
            }
            None => {
                let zones: Vec<String> = match lowest_table {
                    Some((_, _, t)) => {
                        let col = t.column(&names[lowest], "zone")?;
                        (0..t.rows()).map(|r| t.required(r, col, "zone").map(str::to_string)).collect::<Result<_>>()?
                    }
                    None => {
                        let col = household_table.column(&names[0], "seed zone")?;
                        let mut seen = std::collections::HashSet::new();
                        let mut zones = Vec::new();
                        for r in 0..household_table.rows() {
                            let z = household_table.required(r, col, "seed zone")?;
                            if seen.insert(key(z).into_owned()) {
                                zones.push(z.to_string());
                            }
                        }
                        zones
                    }
                };
                Geography::single(&names[0], zones)
            }
        };

        let households = read_households(spec, &household_table, &geography, &mut notes)?;
        let (persons, person_table) = match &spec.persons {
            Some(p) => {
                let table = open(&p.file, &p.rename, person_keep)?;
                let persons = read_persons(spec, p, &table, &households, &household_table)?;
                (Some(persons), Some(table))
            }
            None => (None, None),
        };

        // Controls: totals from their level's table, incidence from their expression.
        let mut controls = Vec::with_capacity(spec.controls.len());
        let mut incidence = Incidence::default();
        for control in &spec.controls {
            let level = spec.level(&control.geography).unwrap_or_default();
            let Some((_, table_spec, table)) = tables.iter().find(|(l, _, _)| *l == level) else {
                return Err(Error::input(Location::file(&spec.source), "a control without a table"));
            };
            let targets = read_targets(control, table_spec, table, &geography.levels[level])?;
            let values = match control.table {
                ControlTable::Households => evaluate(control, &household_table, &households.rows)?,
                ControlTable::Persons => match (&persons, &person_table) {
                    (Some(persons), Some(table)) => {
                        let each = evaluate(control, table, &persons.rows)?;
                        (0..households.len())
                            .map(|h| (persons.start[h]..persons.start[h + 1]).map(|i| each[i]).sum())
                            .collect()
                    }
                    _ => return Err(Error::input(Location::file(&spec.source), "a person control without persons")),
                },
            };
            if control.name == spec.households.total_control {
                if let Some(h) = values.iter().position(|&v| v != 1.0) {
                    return Err(Error::input(
                        household_table.at_row(households.rows[h]),
                        format!(
                            "the household-total control \"{}\" ({}) counts household \"{}\" {} times: it must count \
                             every household once",
                            control.name, control.expression, households.ids[h], values[h]
                        ),
                    ));
                }
            }
            incidence.push(&values);
            controls.push(Control {
                name: control.name.clone(),
                level,
                table: control.table,
                importance: control.importance,
                expression: control.expression.clone(),
                targets,
            });
        }
        let total = spec.controls.iter().position(|c| c.name == spec.households.total_control).unwrap_or_default();
        Ok(HouseholdProblem {
            geography,
            households,
            persons,
            controls,
            total,
            incidence,
            id_column: spec.households.id.clone(),
            weight_column: spec.households.weight.clone(),
            notes,
        })
    }

    /// Positions of the top-level zones (`geography.levels[0]`) that `selection` picks: a shard
    /// of them in crosswalk order, or those listed. `spec` names the spec in messages.
    ///
    /// # Errors
    /// [`Error::Input`], naming the list's source and line, for an unknown or repeated zone id.
    pub fn select(&self, selection: &Selection, spec: &str) -> Result<Vec<usize>> {
        let top = &self.geography.levels[0];
        let unknown = format!("{spec} has no {} zone of this id", top.name);
        selection.pick(top.len(), |id| top.zone(id), &unknown)
    }

    /// The problem restricted to the top-level zones at positions `zones` (in any order): their
    /// zones at every level, the seed zones' households and persons, and the controls' totals
    /// in those zones. Zones and households keep their order, so
    /// [`households::fit`](crate::households::fit) gives the restricted problem exactly the
    /// weights the whole problem's fit gives those zones: nothing in a fit crosses a top-level
    /// zone.
    ///
    /// # Errors
    /// [`Error::Inconsistent`] for a position past the last top-level zone.
    pub fn restrict(&self, zones: &[usize]) -> Result<HouseholdProblem> {
        let top = &self.geography.levels[0];
        let mut keep = vec![false; top.len()];
        for &z in zones {
            match keep.get_mut(z) {
                Some(k) => *k = true,
                None => {
                    return Err(Error::Inconsistent(format!(
                        "{} zone position {z} is past the last of {} zones",
                        top.name,
                        top.len()
                    )))
                }
            }
        }
        let (geography, maps) = self.geography.within(&keep);
        let seed_map = &maps[self.geography.seed];
        let old = &self.households;
        let mut map = vec![None; old.len()];
        let mut kept = Vec::with_capacity(old.len());
        let mut start = vec![0];
        for (s, new) in seed_map.iter().enumerate() {
            if new.is_some() {
                for h in old.of_zone(s) {
                    map[h] = Some(kept.len() as u32);
                    kept.push(h);
                }
                start.push(kept.len());
            }
        }
        let households = Households {
            ids: kept.iter().map(|&h| old.ids[h].clone()).collect(),
            weights: kept.iter().map(|&h| old.weights[h]).collect(),
            seed_zone: kept.iter().map(|&h| seed_map[old.seed_zone[h] as usize].unwrap_or_default()).collect(),
            start,
            rows: kept.iter().map(|&h| old.rows[h]).collect(),
            frame: old.frame.clone(),
            columns: old.columns.clone(),
        };
        let persons = self.persons.as_ref().map(|p| {
            let mut start = vec![0];
            let mut rows = Vec::new();
            for &h in &kept {
                rows.extend_from_slice(p.of(h));
                start.push(rows.len());
            }
            Persons { start, rows, frame: p.frame.clone(), columns: p.columns.clone(), role: p.role.clone() }
        });
        let controls = self
            .controls
            .iter()
            .map(|c| {
                let targets = c.targets.iter().zip(&maps[c.level]).filter(|(_, m)| m.is_some()).map(|(&t, _)| t);
                Control { targets: targets.collect(), ..c.clone() }
            })
            .collect();
        Ok(HouseholdProblem {
            geography,
            households,
            persons,
            controls,
            total: self.total,
            incidence: self.incidence.restricted(&map),
            id_column: self.id_column.clone(),
            weight_column: self.weight_column.clone(),
            notes: self.notes.clone(),
        })
    }

    /// The targets of control `c` summed to the zones of level `level` (at or above the
    /// control's own level).
    pub fn targets_at(&self, c: usize, level: usize) -> Vec<f64> {
        let control = &self.controls[c];
        let mut out = vec![0.0; self.geography.levels[level].len()];
        for (z, &t) in control.targets.iter().enumerate() {
            out[self.geography.ancestor(control.level, z, level)] += t;
        }
        out
    }
}

/// The household and person columns a fit reads: ids, weights, zones, the columns the
/// controls' expressions name (an expression that does not parse names none here: reading the
/// controls reports it), the columns to be written and the role.
fn fit_columns(spec: &HouseholdSpec) -> (Vec<String>, Vec<String>) {
    let hs = &spec.households;
    let mut households: Vec<String> = vec![hs.id.clone(), hs.weight.clone()];
    households.extend(spec.geography.levels.iter().cloned());
    households.extend(hs.columns.iter().flatten().cloned());
    let mut persons: Vec<String> = Vec::new();
    if let Some(ps) = &spec.persons {
        persons.push(ps.household_id.clone());
        persons.extend(ps.columns.iter().flatten().cloned());
        persons.extend(ps.role.iter().cloned());
    }
    for control in &spec.controls {
        let alias = control.table.as_str();
        if let Ok(expression) = Expression::parse(&control.expression, &[alias]) {
            let columns = expression.columns().iter().cloned();
            match control.table {
                ControlTable::Households => households.extend(columns),
                ControlTable::Persons => persons.extend(columns),
            }
        }
    }
    (households, persons)
}

/// The households of the seed table, in seed-zone order, those with weight 0 or in a seed zone
/// not fitted left out (and noted).
fn read_households(
    spec: &HouseholdSpec,
    table: &Table,
    geography: &Geography,
    notes: &mut Vec<String>,
) -> Result<Households> {
    let hs = &spec.households;
    let id = table.column(&hs.id, "household id")?;
    let weight = table.column(&hs.weight, "household weight")?;
    let zone_name = &spec.geography.seed;
    let zone = table.column(zone_name, "seed zone")?;
    let seed = &geography.levels[geography.seed];
    let mut seen: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    let mut kept: Vec<(u32, usize, f64)> = Vec::with_capacity(table.rows());
    let (mut zero, mut outside) = (0usize, 0usize);
    for row in 0..table.rows() {
        let text = table.required(row, id, "household id")?;
        if let Some(before) = seen.insert(key(text).into_owned(), row) {
            return Err(Error::input(
                table.at(row, id),
                format!("household id \"{text}\" appears twice (also at {})", table.at_row(before)),
            ));
        }
        let w = table.required(row, weight, "household weight")?;
        let w =
            parse_count(w).map_err(|why| Error::input(table.at(row, weight), format!("the weight \"{w}\" {why}")))?;
        let z = table.required(row, zone, "seed zone")?;
        match seed.zone(z) {
            None => outside += 1,
            Some(_) if w == 0.0 => zero += 1,
            Some(s) => kept.push((s as u32, row, w)),
        }
    }
    if zero > 0 {
        notes.push(format!("{}: {zero} households of weight 0 left out", table.name));
    }
    if outside > 0 {
        notes.push(format!(
            "{}: {outside} households left out: their {zone_name} is not in the geography fitted",
            table.name
        ));
    }
    kept.sort_by_key(|&(s, row, _)| (s, row));
    let mut start = vec![0; seed.len() + 1];
    for &(s, _, _) in &kept {
        start[s as usize + 1] += 1;
    }
    for s in 0..seed.len() {
        start[s + 1] += start[s];
    }
    let columns = output_columns(table, hs.columns.as_deref(), &[])?;
    Ok(Households {
        ids: kept.iter().map(|&(_, row, _)| table.value(row, id).unwrap_or_default().to_string()).collect(),
        weights: kept.iter().map(|&(_, _, w)| w).collect(),
        seed_zone: kept.iter().map(|&(s, _, _)| s).collect(),
        start,
        rows: kept.iter().map(|&(_, row, _)| row).collect(),
        frame: table.frame.clone(),
        columns,
    })
}

/// The columns written: those named, or all but `except`.
fn output_columns(table: &Table, named: Option<&[String]>, except: &[&str]) -> Result<Vec<usize>> {
    match named {
        Some(names) => names.iter().map(|n| table.column(n, "output")).collect(),
        None => Ok((0..table.frame.columns().len())
            .filter(|&c| !except.contains(&table.frame.columns()[c].name()))
            .collect()),
    }
}

/// The persons of the kept households, grouped by household; a person whose household is not
/// in the seed and a kept household without persons are errors.
fn read_persons(
    spec: &HouseholdSpec,
    ps: &PersonsSpec,
    table: &Table,
    households: &Households,
    household_table: &Table,
) -> Result<Persons> {
    let link = table.column(&ps.household_id, "household id")?;
    let hid = household_table.column(&spec.households.id, "household id")?;
    let mut all: foldhash::HashMap<String, Option<u32>> = foldhash::HashMap::default();
    for row in 0..household_table.rows() {
        if let Some(text) = household_table.value(row, hid) {
            all.insert(key(text).into_owned(), None);
        }
    }
    for (h, id) in households.ids.iter().enumerate() {
        all.insert(key(id).into_owned(), Some(h as u32));
    }
    let mut count = vec![0usize; households.len() + 1];
    let mut of: Vec<(u32, usize)> = Vec::with_capacity(table.rows());
    for row in 0..table.rows() {
        let text = table.required(row, link, "household id")?;
        match all.get(key(text).as_ref()) {
            None => {
                return Err(Error::input(
                    table.at(row, link),
                    format!("the person's household \"{text}\" is not in {}", household_table.name),
                ))
            }
            Some(None) => {}
            Some(&Some(h)) => {
                count[h as usize + 1] += 1;
                of.push((h, row));
            }
        }
    }
    if let Some(h) = (0..households.len()).find(|&h| count[h + 1] == 0) {
        return Err(Error::input(
            household_table.at(households.rows[h], hid),
            format!("household \"{}\" has no person in {}", households.ids[h], table.name),
        ));
    }
    for h in 0..households.len() {
        count[h + 1] += count[h];
    }
    of.sort_by_key(|&(h, row)| (h, row));
    let columns = output_columns(table, ps.columns.as_deref(), &[ps.household_id.as_str()])?;
    let role = match &ps.role {
        Some(name) => Some(Role {
            column: table.column(name, "role")?,
            labels: ps.roles.iter().map(|(v, label)| (key(v).into_owned(), label.clone())).collect(),
        }),
        None => None,
    };
    Ok(Persons {
        start: count,
        rows: of.into_iter().map(|(_, r)| r).collect(),
        frame: table.frame.clone(),
        columns,
        role,
    })
}

/// Control `control`'s total in every zone of `level`, from its table.
fn read_targets(control: &ControlSpec, spec: &ControlTableSpec, table: &Table, level: &Level) -> Result<Vec<f64>> {
    let zone = table.column(&level.name, "zone")?;
    let mut targets = vec![f64::NAN; level.len()];
    let mut seen: Vec<Option<usize>> = vec![None; level.len()];
    let count = match spec.layout {
        ControlLayout::Wide => table.column(&control.column, &format!("control \"{}\"", control.name))?,
        ControlLayout::Tidy => table.column("count", "count")?,
    };
    let name_col = match spec.layout {
        ControlLayout::Wide => None,
        ControlLayout::Tidy => Some(table.column("control", "control")?),
    };
    for row in 0..table.rows() {
        if let Some(c) = name_col {
            if table.value(row, c) != Some(control.column.as_str()) {
                continue;
            }
        }
        let z = table.required(row, zone, "zone")?;
        let Some(z) = level.zone(z) else { continue };
        if let Some(before) = seen[z] {
            return Err(Error::input(
                table.at(row, zone),
                format!(
                    "zone \"{}\" has a second row for control \"{}\" (also at {})",
                    level.zones[z],
                    control.name,
                    table.at_row(before)
                ),
            ));
        }
        seen[z] = Some(row);
        let text = table.required(row, count, &format!("total of control \"{}\"", control.name))?;
        targets[z] = parse_count(text)
            .map_err(|why| Error::input(table.at(row, count), format!("the total \"{text}\" {why}")))?;
    }
    if let Some(z) = seen.iter().position(Option::is_none) {
        return Err(Error::input(
            Location::file(&table.name),
            format!(
                "{} zone \"{}\" has no total for control \"{}\" (column \"{}\")",
                level.name, level.zones[z], control.name, control.column
            ),
        ));
    }
    Ok(targets)
}

/// The value of `control`'s expression for each of `rows` of `table`.
fn evaluate(control: &ControlSpec, table: &Table, rows: &[usize]) -> Result<Vec<f64>> {
    let alias = control.table.as_str();
    let what = format!("control \"{}\"", control.name);
    let expression = Expression::parse(&control.expression, &[alias])
        .map_err(|m| Error::input(Location::file(&table.name), format!("{what}: {m}")))?;
    let columns: Vec<usize> =
        expression.columns().iter().map(|c| table.column(c, &format!("{what}'s"))).collect::<Result<_>>()?;
    // Each column's levels as values, parsed once.
    let levels: Vec<Vec<Value>> = columns
        .iter()
        .map(|&c| {
            table.frame.levels(c).iter().map(|v| v.parse::<f64>().map_or(Value::Text(v), Value::Number)).collect()
        })
        .collect();
    // The value of a row: it depends only on the row's codes in the columns used, so each
    // combination of codes is evaluated once (most controls read one column of few values).
    let value_of = |row: usize| -> Result<f64> {
        let field = |i: usize| table.frame.code(row, columns[i]).map_or(Value::Missing, |l| levels[i][l as usize]);
        let value = expression
            .evaluate(&field)
            .map_err(|m| Error::input(table.at_row(row), format!("{what} ({}): {m}", expression.text())))?;
        match value {
            Value::Bool(b) => Ok(f64::from(u8::from(b))),
            Value::Number(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Value::Number(v) => Err(Error::input(
                table.at_row(row),
                format!("{what} ({}) is {v} here: a control counts, so it must be 0 or more", control.expression),
            )),
            Value::Missing => {
                let gaps: Vec<&str> = (0..columns.len())
                    .filter(|&i| table.frame.code(row, columns[i]).is_none())
                    .map(|i| expression.columns()[i].as_str())
                    .collect();
                Err(Error::input(
                    table.at_row(row),
                    format!(
                        "{what} ({}) is missing here (missing: {}); say what a missing value counts, \
                         e.g. with .isna() or .fillna(0)",
                        control.expression,
                        gaps.join(", ")
                    ),
                ))
            }
            Value::Text(t) => Err(Error::input(
                table.at_row(row),
                format!("{what} ({}) is the text \"{t}\" here, not a number or a condition", control.expression),
            )),
        }
    };
    let mut known: foldhash::HashMap<Vec<Option<u32>>, f64> = foldhash::HashMap::default();
    let mut key = Vec::with_capacity(columns.len());
    let mut out = Vec::with_capacity(rows.len());
    for &row in rows {
        key.clear();
        key.extend(columns.iter().map(|&c| table.frame.code(row, c)));
        let v = match known.get(&key) {
            Some(&v) => v,
            None => {
                let v = value_of(row)?;
                known.insert(key.clone(), v);
                v
            }
        };
        out.push(v);
    }
    Ok(out)
}
