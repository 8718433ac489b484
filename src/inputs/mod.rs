//! Inputs: marginal tables, the seed and the zones, read and validated into a [`Problem`]; the
//! fit spec that names them ([`Spec`]); and the spec's `[fit]`, read into [`FitOptions`] (the
//! [`Method`] and what it reads), which fitting takes next to the problem.
//!
//! # A problem from files or from memory
//!
//! [`Problem::builder`] takes the inputs: declared attributes, margins ([`MarginInput`]), a seed
//! ([`SeedInput`]) and zones ([`ZonesInput`]). Each table is [`Csv`] text (a file, bytes, or
//! what a reader gives) or a [`Frame`](crate::frame::Frame) in memory, its counts or weights a
//! column of it or given alongside. [`ProblemBuilder::build`] reads and checks them all.
//! [`Problem::load`] is the same builder fed with the files a [`Spec`] names, so a problem from
//! memory meets every check that one from files does.
//!
//! ```
//! use populace::frame::Frame;
//! use populace::inputs::{Csv, MarginInput, Problem, SeedInput};
//! use populace::missing::MissingPolicy;
//!
//! // CSV text (a file would be `Csv::file(path)`; a reader, `Csv::read(name, reader)?`)
//! let age = MarginInput::csv(Csv::text("age.csv", "age,count\nyoung,40\nold,60\n"));
//! // columns in memory, the counts alongside
//! let sex = MarginInput::frame("sex", Frame::from_columns(&[("sex", ["f", "m"])])?).counts(vec![55.0, 45.0]);
//! let persons = Frame::from_rows(&["age", "sex"], &[["young", "f"], ["old", "m"], ["old", "f"]])?;
//! let seed = SeedInput::frame("persons", persons).weights(vec![1.0, 2.0, 1.5]);
//!
//! let problem = Problem::builder().margin(age).margin(sex).seed(seed).build()?;
//! assert_eq!(problem.single_zone().margins[1].targets, [55.0, 45.0]);
//! assert_eq!(problem.seed.as_ref().map(|s| s.len()), Some(3));
//!
//! // a margin's missing value is refused, naming the table, the row and the column …
//! let gap = Frame::from_rows(&["age"], &[["young"], ["NA"]])?;
//! let err = Problem::builder().margin(MarginInput::frame("ages", gap.clone()).counts(vec![1.0, 2.0])).build().unwrap_err();
//! assert!(err.to_string().starts_with("ages, row 2, column \"age\": missing category (\"NA\")"));
//! // … unless the margin targets missing values as the category "missing"
//! let ages = MarginInput::frame("ages", gap).counts(vec![1.0, 2.0]).missing(MissingPolicy::Category);
//! let problem = Problem::builder().margin(ages).build()?;
//! assert_eq!(problem.domain.attribute(0).categories(), ["young", "missing"]);
//! # Ok::<(), populace::Error>(())
//! ```
//!
//! Every check names the table (a file, or the name a table in memory was given), the line (of
//! CSV text) or row (of a frame), the column and the value at fault. Building enforces:
//! categories belong to their declared lists; counts and weights are finite and non-negative;
//! no cell appears twice; every margin sums to the same total (or is rescaled to the first
//! margin's total with `rescale`); overlapping margins agree on the sub-margin they share; the
//! fit's tolerance is below the targets.
//!
//! Zones: a [`Selection`] picks the zones a sharded run covers, [`for_each_chunk`] goes through
//! them in sub-problems, and [`stream_seed`] seeds each zone's own random stream.

mod builder;
mod csvfile;
mod domain;
mod expression;
mod households;
mod margin;
mod options;
mod parquetfile;
mod plain;
mod rows;
mod seed;
mod spec;
mod structural;
mod zones;

pub use builder::{Csv, MarginInput, ProblemBuilder, SeedInput, TotalInput, ZoneMap, ZonesInput};
pub(crate) use csvfile::{parse_count, CsvFile, MIN_POSITIVE_COUNT};
pub use domain::{Attribute, Domain};
pub use households::import_populationsim;
pub use households::{
    is_household_spec, Balancer, Control, ControlLayout, ControlSpec, ControlTable, ControlTableSpec, Geography,
    GeographySpec, HouseholdFit, HouseholdProblem, HouseholdSpec, Households, HouseholdsSpec, Imported, Incidence,
    Level, Mode, Persons, PersonsSpec, Role, HOUSEHOLD_ID, PERSON_ID,
};
pub use margin::MarginTable;
pub use options::{Bounds, Calibration, FitOptions, FitParams, Integerize, Method, ZeroCells};
pub(crate) use parquetfile::Contents;
pub(crate) use rows::{BinnedRows, CsvRows, FrameRows, Rows};
pub use seed::{RecordIds, Seed, ID_SEPARATOR};
pub use spec::{MarginLayout, MarginSpec, SeedSpec, Spec, TotalSpec, ZonesSpec};
pub use structural::StructuralZero;
pub use zones::{for_each_chunk, stream_seed, Selection, Shard};

use crate::error::{Error, Result};

/// Options of [`Problem::load`] that change how inputs are reconciled.
///
/// ```
/// use populace::inputs::LoadOptions;
/// assert!(LoadOptions::default().rescale(true).rescale);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Scale every margin to the first margin's total instead of rejecting totals that
    /// disagree; each scaling is reported as a warning.
    pub rescale: bool,
}

impl LoadOptions {
    /// Sets [`LoadOptions::rescale`].
    pub fn rescale(mut self, rescale: bool) -> Self {
        self.rescale = rescale;
        self
    }
}

/// The data a fit is asked to meet, validated: attributes, zones with their margins, and the
/// seed. How to fit it ([`FitOptions`]) is given to the fit alongside, so one problem can be
/// fitted several ways.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Problem {
    /// Attributes of the joint, in output order (declared first, then first appearance).
    pub domain: Domain,
    /// The zones, each with its margins; a problem without `[zones]` has one unnamed zone.
    pub zones: Vec<Zone>,
    /// The seed, if the spec names one.
    pub seed: Option<Seed>,
    /// Things the user should know that did not stop the load (rescaled margins, say).
    pub warnings: Vec<String>,
    /// What the inputs' missing values came to: the seed's (always, when there is a seed),
    /// then each margin's that keeps them as the category `missing`, in margin order.
    pub missing: Vec<crate::missing::MissingCounts>,
    /// The `[[structural_zero]]` rules: cells that cannot exist. Seed records in one were left
    /// out (with a warning); fits give them no mass.
    pub structural_zeros: Vec<StructuralZero>,
    /// The numeric totals (`[[total]]`) seed re-weighting meets alongside the margins.
    pub totals: Vec<Total>,
}

/// A numeric total: the weighted sum of a numeric seed column over the records within a
/// category (all records when `within` is empty) must equal `total`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Total {
    /// The column: an index into the seed's [`Seed::value_columns`].
    pub column: usize,
    /// Conditions on the records counted: attribute (domain position) and category code.
    pub within: Vec<(usize, u32)>,
    /// The total to reach.
    pub total: f64,
}

impl Total {
    /// Record `i`'s value on this total: its value in the column within the category, else 0.
    pub fn value(&self, seed: &Seed, i: usize) -> f64 {
        if self.within.iter().all(|&(a, c)| seed.code(i, a) == c) {
            seed.values[i * seed.value_columns.len() + self.column]
        } else {
            0.0
        }
    }
}

/// One zone: its margins and the seed records it may draw on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Zone {
    /// The zone's name; `None` for a problem without zones.
    pub name: Option<String>,
    /// Its marginal tables, in spec order.
    pub margins: Vec<MarginTable>,
    /// The seed records mapped to the zone's region; `None` means every record.
    pub records: Option<Vec<usize>>,
}

impl Zone {
    /// The common total of the zone's margins (the first margin's).
    pub fn total(&self) -> f64 {
        self.margins[0].total()
    }

    /// `zone NAME: ` for messages about a named zone, else nothing.
    pub fn prefix(&self) -> String {
        self.name.as_ref().map_or(String::new(), |n| format!("zone {n}: "))
    }

    /// `error` of a fit of this zone, its message starting with [`Zone::prefix`] when the zone
    /// is named and the message does not say where it is (errors naming a file and line do).
    pub(crate) fn name_in(&self, error: Error) -> Error {
        let prefixed = |m: String| format!("{}{m}", self.prefix());
        match error {
            Error::Infeasible(m) => Error::Infeasible(prefixed(m)),
            Error::Inconsistent(m) => Error::Inconsistent(prefixed(m)),
            Error::TooLarge(m) => Error::TooLarge(prefixed(m)),
            Error::Numerical(m) => Error::Numerical(prefixed(m)),
            e => e,
        }
    }
}

impl Problem {
    /// Loads and validates every input named by `spec`: the builder of
    /// [`ProblemBuilder::from_spec`], each file opened where the spec says, built. Its
    /// [`Spec::fit`] says how to fit the problem; it is passed to the fit alongside.
    ///
    /// # Errors
    /// Those of [`ProblemBuilder::build`].
    pub fn load(spec: &Spec, options: LoadOptions) -> Result<Problem> {
        ProblemBuilder::from_spec(spec, |file| Csv::file(spec.resolve(file))).rescale(options.rescale).build()
    }

    /// The only zone of a problem without `[zones]`.
    pub fn single_zone(&self) -> &Zone {
        &self.zones[0]
    }
}
