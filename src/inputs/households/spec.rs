//! The household spec: a fit spec with `[geography]`, `[households]` and `[persons]` instead of
//! `[[margin]]`, its controls defined by `[[control]]` and their totals read from `[[controls]]`
//! tables, one per geography level.
//!
//! ```
//! use populace::inputs::{HouseholdSpec, Mode};
//!
//! let spec = HouseholdSpec::from_toml_str(r#"
//!     [geography]
//!     levels = ["PUMA", "TAZ"]
//!     seed = "PUMA"
//!     crosswalk = "crosswalk.csv"
//!     [households]
//!     file = "households.csv"
//!     id = "hh_id"
//!     weight = "WGTP"
//!     total_control = "num_hh"
//!     [persons]
//!     file = "persons.csv"
//!     household_id = "hh_id"
//!     [[controls]]
//!     geography = "TAZ"
//!     file = "taz_controls.csv"
//!     [[control]]
//!     name = "num_hh"
//!     geography = "TAZ"
//!     expression = "WGTP > 0"
//!     column = "HHBASE"
//!     [[control]]
//!     name = "workers"
//!     geography = "TAZ"
//!     table = "persons"
//!     expression = "ESR.isin([1, 2, 4, 5])"
//!     importance = 1000
//!     [fit]
//!     max_expansion_factor = 5
//! "#, "spec.toml").unwrap();
//! assert_eq!(spec.controls[1].column, "workers");
//! assert_eq!(spec.fit.mode, Mode::Synthesize);
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::missing::MissingValues;
use crate::specfile;

/// A household spec: households and their persons fitted to controls over nested geographies.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HouseholdSpec {
    /// `[geography]`: the levels, the seed level and the crosswalk.
    pub geography: GeographySpec,
    /// `[households]`: the household seed.
    pub households: HouseholdsSpec,
    /// `[persons]`: the person seed (absent: households only, and no person controls).
    pub persons: Option<PersonsSpec>,
    /// `[[controls]]`: the control tables, at most one per level.
    pub tables: Vec<ControlTableSpec>,
    /// `[[control]]`: the controls, in order.
    pub controls: Vec<ControlSpec>,
    /// `[fit]`: what to do and within which bounds.
    pub fit: HouseholdFit,
    /// `missing_values`: the field values read as missing in every table (default
    /// [`MissingValues::default`]).
    pub missing_values: MissingValues,
    /// `comment = "#"`: CSV text from this character to the end of its line is left out, as
    /// pandas' `read_csv(comment="#")` (PopulationSim's reader) does.
    pub comment: Option<u8>,
    /// The folder relative paths resolve against.
    pub base: PathBuf,
    /// The spec's name in messages.
    pub source: String,
}

/// `[geography]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GeographySpec {
    /// The levels, largest first (`["REGION", "PUMA", "TRACT", "TAZ"]`); each is the name of a
    /// crosswalk column and of the zone column of its control table.
    pub levels: Vec<String>,
    /// The level the household seed is drawn for (its households carry this column).
    pub seed: String,
    /// CSV (or Parquet) table with one row per lowest zone and a column per level; needed with
    /// more than one level.
    #[serde(default)]
    pub crosswalk: Option<PathBuf>,
    /// Crosswalk columns renamed on reading (`{ TRACTCE = "TRACT" }`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rename: IndexMap<String, String>,
}

/// `[households]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HouseholdsSpec {
    /// The household seed: one row per household.
    pub file: PathBuf,
    /// The column of household ids (unique).
    pub id: String,
    /// The column of design weights (households weighing 0 are left out and counted).
    pub weight: String,
    /// The control that counts households (every household once): the zones' household totals.
    pub total_control: String,
    /// Columns renamed on reading (`{ SERIALNO = "hh_id" }`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rename: IndexMap<String, String>,
    /// The columns written for each synthetic household (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
}

/// `[persons]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PersonsSpec {
    /// The person seed: one row per person.
    pub file: PathBuf,
    /// The column holding each person's household id.
    pub household_id: String,
    /// Columns renamed on reading.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rename: IndexMap<String, String>,
    /// The columns written for each synthetic person (default: all but `household_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// The column holding each person's role in the household (relationship to the reference
    /// person, such as PUMS `RELP`), which persona cards name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Labels of the role column's values (`{ "0" = "reference person", "1" = "spouse" }`); a
    /// value without one is shown as it is.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub roles: IndexMap<String, String>,
}

/// `[[controls]]`: the control totals of one level.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ControlTableSpec {
    /// The level (its zone column is named for it).
    pub geography: String,
    /// The table.
    pub file: PathBuf,
    /// `"wide"` (default: one row per zone, a column per control) or `"tidy"` (columns: the
    /// zone, `control` and `count`, one row per zone and control).
    #[serde(default)]
    pub layout: ControlLayout,
    /// Columns renamed on reading.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rename: IndexMap<String, String>,
}

/// How a control table is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ControlLayout {
    /// One row per zone, one column per control.
    #[default]
    Wide,
    /// One row per zone and control: the zone, `control` (the control's `column`) and `count`.
    Tidy,
}

/// Which seed a control counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ControlTable {
    /// Households: each household adds the expression's value (a condition counts 1).
    #[default]
    Households,
    /// Persons: each household adds the sum of the expression over its persons.
    Persons,
}

impl ControlTable {
    /// `households` or `persons`.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlTable::Households => "households",
            ControlTable::Persons => "persons",
        }
    }
}

/// `[[control]]`: one control.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ControlSpec {
    /// Its name in reports.
    pub name: String,
    /// The level its totals are given at.
    pub geography: String,
    /// Whether it counts households (default) or persons.
    #[serde(default)]
    pub table: ControlTable,
    /// What one household (or person) adds: a condition (`NP >= 4`, counting 1 when true) or
    /// a number (`NP`, a numeric control). pandas syntax, as PopulationSim's `controls.csv`.
    pub expression: String,
    /// The column of the level's control table holding its totals (default: `name`).
    #[serde(default)]
    pub column: String,
    /// How strongly it is enforced (PopulationSim's importance); absent: hard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<f64>,
}

/// What a household fit does: synthesize integer households, or weight a survey.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Mode {
    /// Balance, integerize and sub-balance down to the lowest level (PopulationSim's default).
    #[default]
    Synthesize,
    /// Real-valued household weights at the seed level meeting household and person totals
    /// (integrated weighting, Lemaître & Dufour 1987); no integerization, no lower levels.
    SurveyWeighting,
}

/// How households are balanced to the controls of a zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Balancer {
    /// PopulationSim's list and simultaneous balancers, sweep by sweep, importances halving
    /// every 100 sweeps: PopulationSim's weights, to reproduce a PopulationSim run (with every
    /// control hard, Newton's method finds the same raking solution faster and is used).
    Populationsim,
    /// Newton's method on the same dual with the importances as given, at the seed level and
    /// in sub-zones: a few steps instead of hundreds of sweeps, and soft controls held as firmly
    /// as their importance says throughout, so they end closer to their targets than
    /// PopulationSim's sweeps leave them. Falls back to the sweeps where it does not converge.
    #[default]
    Newton,
}

/// `[fit]` of a household spec.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HouseholdFit {
    /// [`Mode::Synthesize`] (default) or [`Mode::SurveyWeighting`].
    #[serde(default)]
    pub mode: Mode,
    /// Integer households per zone (synthesize mode: default true; survey weighting: false,
    /// and true is an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integerize: Option<bool>,
    /// A household's weight at most this multiple of its design weight (scaled so that the
    /// design weights add up to the zone's household total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_expansion_factor: Option<f64>,
    /// A household's weight at least this multiple of its design weight (so scaled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_expansion_factor: Option<f64>,
    /// No weight above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_upper_bound: Option<f64>,
    /// No weight below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_lower_bound: Option<f64>,
    /// Bound the weight-to-design-weight ratio itself (PopulationSim's `USE_HARD_CONSTRAINTS`)
    /// rather than the ratio scaled to the zone's household total.
    #[serde(default)]
    pub hard_bounds: bool,
    /// After sub-balancing, scale each parent's child-zone weights so that every child meets
    /// its household total and every household keeps its parent weight exactly (default true);
    /// false keeps PopulationSim's weights as its balancer leaves them.
    #[serde(default = "yes")]
    pub exact_household_totals: bool,
    /// `"newton"` (default) or `"populationsim"`: see [`Balancer`].
    #[serde(default)]
    pub balancer: Balancer,
    /// Sweeps of the balancer before it gives up (sub-balancing runs a tenth of them, as
    /// PopulationSim's simultaneous balancer does).
    #[serde(default = "default_max_iterations")]
    pub max_iterations: usize,
    /// The seed of the random draws (expansion picks persons' households in order; ties).
    #[serde(default = "default_random_seed")]
    pub random_seed: u64,
}

impl HouseholdFit {
    /// Whether the fit makes integer households.
    pub fn integerizes(&self) -> bool {
        self.mode == Mode::Synthesize && self.integerize.unwrap_or(true)
    }
}

impl Default for HouseholdFit {
    fn default() -> Self {
        HouseholdFit {
            mode: Mode::default(),
            integerize: None,
            max_expansion_factor: None,
            min_expansion_factor: None,
            absolute_upper_bound: None,
            absolute_lower_bound: None,
            hard_bounds: false,
            exact_household_totals: true,
            balancer: Balancer::default(),
            max_iterations: default_max_iterations(),
            random_seed: default_random_seed(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_max_iterations() -> usize {
    10_000
}
fn default_random_seed() -> u64 {
    1
}

/// The spec as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHouseholdSpec {
    geography: GeographySpec,
    households: HouseholdsSpec,
    #[serde(default)]
    persons: Option<PersonsSpec>,
    #[serde(rename = "controls", default)]
    tables: Vec<ControlTableSpec>,
    #[serde(rename = "control", default)]
    controls: Vec<ControlSpec>,
    #[serde(default)]
    fit: HouseholdFit,
    #[serde(default)]
    missing_values: MissingValues,
    #[serde(default)]
    comment: Option<String>,
}

impl HouseholdSpec {
    /// Reads and checks a household spec file; relative paths resolve against its folder.
    ///
    /// # Errors
    /// [`Error::Input`] naming the spec (and line) for a syntax error or an inconsistency
    /// among its parts (an unknown level, a control named twice, …).
    pub fn from_path(path: &Path) -> Result<HouseholdSpec> {
        let raw: RawHouseholdSpec = specfile::read(path)?;
        let mut spec = raw.checked(&path.display().to_string())?;
        spec.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(spec)
    }

    /// Parses and checks spec text named `name` in messages; paths stay relative.
    ///
    /// # Errors
    /// As [`HouseholdSpec::from_path`].
    pub fn from_toml_str(text: &str, name: &str) -> Result<HouseholdSpec> {
        specfile::parse::<RawHouseholdSpec>(text, name)?.checked(name)
    }

    /// Resolves a path named in the spec against the spec's folder.
    pub fn resolve(&self, file: &Path) -> PathBuf {
        specfile::resolve(&self.base, file)
    }

    /// The position of level `name`.
    pub fn level(&self, name: &str) -> Option<usize> {
        self.geography.levels.iter().position(|l| l == name)
    }
}

impl RawHouseholdSpec {
    fn checked(mut self, name: &str) -> Result<HouseholdSpec> {
        let bad = |message: String| Error::input(Location::file(name), message);
        let levels = &self.geography.levels;
        if levels.is_empty() {
            return Err(bad("[geography] levels is empty: name at least the seed level".into()));
        }
        for (i, level) in levels.iter().enumerate() {
            if level.is_empty() || levels[..i].contains(level) {
                return Err(bad(format!("[geography] levels: \"{level}\" is empty or named twice")));
            }
        }
        let known = |what: &str, level: &str| -> Result<()> {
            if levels.iter().any(|l| l == level) {
                Ok(())
            } else {
                Err(bad(format!("{what}: unknown geography level \"{level}\" (levels: {})", levels.join(", "))))
            }
        };
        known("[geography] seed", &self.geography.seed)?;
        if levels.len() > 1 && self.geography.crosswalk.is_none() {
            return Err(bad("[geography] crosswalk is needed with more than one level".into()));
        }
        for (i, table) in self.tables.iter().enumerate() {
            known("[[controls]] geography", &table.geography)?;
            if self.tables[..i].iter().any(|t| t.geography == table.geography) {
                return Err(bad(format!("[[controls]]: two tables for level \"{}\"", table.geography)));
            }
        }
        if self.controls.is_empty() {
            return Err(bad("no [[control]]: a household fit needs at least the household-total control".into()));
        }
        for i in 0..self.controls.len() {
            let control = &mut self.controls[i];
            if control.column.is_empty() {
                control.column = control.name.clone();
            }
            let control = &self.controls[i];
            let what = format!("[[control]] \"{}\"", control.name);
            if control.name.is_empty() {
                return Err(bad("a [[control]] has an empty name".into()));
            }
            if self.controls[..i].iter().any(|c| c.name == control.name) {
                return Err(bad(format!("{what} is defined twice")));
            }
            known(&what, &control.geography)?;
            if !self.tables.iter().any(|t| t.geography == control.geography) {
                return Err(bad(format!(
                    "{what}: no [[controls]] table for level \"{}\" gives its totals",
                    control.geography
                )));
            }
            if let Some(u) = control.importance {
                if !(u.is_finite() && u > 0.0) {
                    return Err(bad(format!("{what}: importance must be a positive number, not {u}")));
                }
            }
            if control.table == ControlTable::Persons && self.persons.is_none() {
                return Err(bad(format!("{what} counts persons, but the spec has no [persons]")));
            }
        }
        if let Some(p) = &self.persons {
            if p.role.is_none() && !p.roles.is_empty() {
                return Err(bad(
                    "[persons] roles labels the values of a role column, but role does not name one".into()
                ));
            }
        }
        let total = &self.households.total_control;
        match self.controls.iter().find(|c| &c.name == total) {
            None => {
                return Err(bad(format!("[households] total_control \"{total}\" is not a [[control]]")));
            }
            Some(c) if c.table != ControlTable::Households => {
                return Err(bad(format!("[households] total_control \"{total}\" must count households")));
            }
            Some(_) => {}
        }
        let fit = &self.fit;
        for (key, value) in [
            ("max_expansion_factor", fit.max_expansion_factor),
            ("min_expansion_factor", fit.min_expansion_factor),
            ("absolute_upper_bound", fit.absolute_upper_bound),
            ("absolute_lower_bound", fit.absolute_lower_bound),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad(format!("[fit] {key} must be a non-negative number, not {v}")));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (fit.min_expansion_factor, fit.max_expansion_factor) {
            if lo > hi {
                return Err(bad(format!("[fit] min_expansion_factor {lo} is above max_expansion_factor {hi}")));
            }
        }
        if fit.max_iterations == 0 {
            return Err(bad("[fit] max_iterations must be at least 1".into()));
        }
        if fit.mode == Mode::SurveyWeighting && fit.integerize == Some(true) {
            return Err(bad("[fit] integerize = true does not go with mode = \"survey_weighting\", \
                            whose weights are real-valued"
                .into()));
        }
        let comment = match self.comment.as_deref() {
            None => None,
            Some(c) if c.len() == 1 && c != "," && c != "\"" => c.bytes().next(),
            Some(c) => {
                return Err(bad(format!("comment = \"{c}\": expected one character other than a comma or a quote")))
            }
        };
        Ok(HouseholdSpec {
            comment,
            geography: self.geography,
            households: self.households,
            persons: self.persons,
            tables: self.tables,
            controls: self.controls,
            fit: self.fit,
            missing_values: self.missing_values,
            base: PathBuf::new(),
            source: name.to_string(),
        })
    }
}

/// Whether the TOML text is a household spec (it has `[households]`) rather than a persons
/// fit spec; text that is not TOML is neither, and is left to the reader to report.
pub fn is_household_spec(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("households"))
}
