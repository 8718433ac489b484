//! The fit spec: a TOML file naming the marginal tables, the optional seed, declared categories
//! and the fitting method. Relative paths resolve against the spec's own folder. Its `[fit]` is
//! read into [`FitOptions`]: `method` (with `bounds` for logit) into a [`Method`], the rest
//! into the options' fields of the same names, except `consistency_tolerance`, which loading
//! uses ([`Spec::consistency_tolerance`]).
//!
//! ```
//! use populace::inputs::{Calibration, Method, Spec};
//!
//! let spec = Spec::from_toml_str(r#"
//!     [attributes]
//!     sex = ["female", "male"]
//!     [seed]
//!     file = "persons.csv"
//!     [[margin]]
//!     file = "age_sex.csv"
//!     [fit]
//!     method = "logit"
//!     bounds = [0.5, 2.0]
//!     tolerance = 1e-8
//! "#, "spec.toml").unwrap();
//! assert_eq!(spec.margins[0].count, "count");
//! assert_eq!(spec.fit.method(), Method::Calibrate(Calibration::logit(0.5, 2.0).unwrap()));
//! assert_eq!(spec.fit.stopping().tolerance(), 1e-8);
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use super::options::{Bounds, Calibration, FitOptions, Integerize, Method, ZeroCells};
use crate::binning::{Attributes, Bins, Declared};
use crate::error::{Error, Location, Result};
use crate::missing::{MissingPolicy, MissingValues};
use crate::specfile;

/// A parsed fit spec.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Spec {
    /// Declared attributes and their categories, in order. Declared order fixes the column
    /// order of the fitted joint; an attribute declared here but in no margin is taken from
    /// the seed.
    pub attributes: IndexMap<String, Vec<String>>,
    /// `[attributes.NAME] from = …, breaks = […], labels = […]`: attributes binned from a
    /// numeric column of the seed; each is also in [`Spec::attributes`], its labels as its
    /// categories.
    pub bins: Vec<Bins>,
    /// The seed: microdata (one row per record) or a dense table (one row per cell).
    pub seed: Option<SeedSpec>,
    /// The marginal tables, one `[[margin]]` block each.
    pub margins: Vec<MarginSpec>,
    /// `[fit]`: how to fit (`method` with its `bounds`, the stopping rule, `max_cells`,
    /// `integerize`, `random_seed`).
    pub fit: FitOptions,
    /// `[fit] consistency_tolerance`: margins' totals, and the sub-margins that overlapping
    /// margins share, must agree to within this fraction of the total when the problem is
    /// loaded.
    pub consistency_tolerance: f64,
    /// Zones: margins with a zone column are fitted zone by zone.
    pub zones: Option<ZonesSpec>,
    /// `[[structural_zero]]`: each a table of attribute → categories naming cells that cannot
    /// exist (every named attribute has one of its listed categories).
    pub structural_zeros: Vec<IndexMap<String, Vec<String>>>,
    /// `[[total]]`: numeric totals of seed columns, met by seed re-weighting.
    pub totals: Vec<TotalSpec>,
    /// `missing_values`: the field values read as missing in the seed and the margins
    /// (default [`MissingValues::default`]: empty, `NA`, `N/A`, `NaN`, `NULL`, `.`).
    pub missing_values: MissingValues,
    /// The folder relative paths resolve against (the spec's folder, as the user typed it).
    pub base: PathBuf,
    /// The spec's name in messages (its path as the user typed it).
    pub source: String,
}

/// The spec as written, before its `[fit]` is checked and made typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    seed: Option<SeedSpec>,
    #[serde(rename = "margin", default)]
    margins: Vec<MarginSpec>,
    #[serde(default)]
    fit: RawFit,
    #[serde(default)]
    zones: Option<ZonesSpec>,
    #[serde(default)]
    missing_values: MissingValues,
    #[serde(rename = "structural_zero", default)]
    structural_zeros: Vec<IndexMap<String, Vec<String>>>,
    #[serde(rename = "total", default)]
    totals: Vec<TotalSpec>,
}

/// `[[total]]`: the population total of a numeric seed column, optionally within a category.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TotalSpec {
    /// The seed's numeric column.
    pub column: String,
    /// The total its weighted sum must reach.
    pub total: f64,
    /// Attribute → category: only records in it count (`within = { sex = "female" }`).
    #[serde(default)]
    pub within: IndexMap<String, String>,
}

/// `[seed]`: the sample to start from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SeedSpec {
    /// CSV file, relative to the spec.
    pub file: PathBuf,
    /// Column holding design weights (or cell counts of a dense seed); every row weighs 1
    /// without it.
    #[serde(default)]
    pub weight: Option<String>,
    /// Column holding record identifiers, or columns that together do (`id = ["year",
    /// "respondent_id"]`: GSS ids are unique only within a year).
    #[serde(default, deserialize_with = "one_or_many")]
    pub id: Option<Vec<String>>,
    /// What a record with a missing attribute value is: left out and counted (`drop`, the
    /// default), kept with the category `missing` (`category`), or an error (`error`).
    #[serde(default = "default_seed_missing")]
    pub missing: MissingPolicy,
}

/// `[[margin]]`: one marginal table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MarginSpec {
    /// CSV file, relative to the spec: one column per attribute plus the count column.
    pub file: PathBuf,
    /// Name of the count column.
    #[serde(default = "default_count")]
    pub count: String,
    /// For `method = "entropy"`: how strongly the margin is enforced; absent means hard.
    #[serde(default)]
    pub importance: Option<f64>,
    /// What a row with a missing attribute value is: an error (`error`, the default), or a
    /// target for the category `missing` (`category`).
    #[serde(default = "default_margin_missing")]
    pub missing: MissingPolicy,
    /// `"tidy"` (default: one column per attribute, one row per cell) or `"wide"` (one row per
    /// zone, one column per category of `attribute`, named by `columns`).
    #[serde(default)]
    pub layout: MarginLayout,
    /// Wide layout: the attribute whose categories the columns are.
    #[serde(default)]
    pub attribute: Option<String>,
    /// Wide layout: column → category, e.g. `{ HHSIZE1 = "1", HHSIZE2 = "2" }`.
    #[serde(default)]
    pub columns: Option<IndexMap<String, String>>,
}

/// How a margin file is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MarginLayout {
    /// One column per attribute plus the count column, one row per cell.
    #[default]
    Tidy,
    /// One row per zone, one column per category of one attribute.
    Wide,
}

/// `[zones]`: fit many small areas at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ZonesSpec {
    /// The zone column of the margin files.
    pub column: String,
    /// The seed column naming each record's region, when seeds are regional (PUMA → tract).
    #[serde(default)]
    pub seed_region: Option<String>,
    /// CSV mapping each zone (column `column`) to its region (column `seed_region`).
    #[serde(default)]
    pub map: Option<PathBuf>,
}

/// `method = "…"` as written; with `bounds`, it makes a [`Method`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MethodName {
    Ipf,
    Rake,
    Linear,
    Logit,
    Entropy,
}

impl MethodName {
    fn name(self) -> &'static str {
        match self {
            MethodName::Ipf => "ipf",
            MethodName::Rake => "rake",
            MethodName::Linear => "linear",
            MethodName::Logit => "logit",
            MethodName::Entropy => "entropy",
        }
    }

    fn is_microdata(self) -> bool {
        self != MethodName::Ipf
    }
}

/// `[fit]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFit {
    #[serde(default = "default_method")]
    method: MethodName,
    #[serde(default = "default_tolerance")]
    tolerance: f64,
    #[serde(default = "default_max_iterations")]
    max_iterations: usize,
    #[serde(default = "default_consistency_tolerance")]
    consistency_tolerance: f64,
    #[serde(default = "default_max_cells")]
    max_cells: u64,
    /// `[L, U]` for `method = "logit"`.
    #[serde(default)]
    bounds: Option<[f64; 2]>,
    #[serde(default)]
    integerize: Option<Integerize>,
    #[serde(default = "default_random_seed")]
    random_seed: u64,
    #[serde(default)]
    zero_cells: ZeroCellsName,
    /// For `zero_cells = "prior"`.
    #[serde(default)]
    prior_weight: Option<f64>,
}

/// `zero_cells = "…"` as written; with `prior_weight`, it makes a [`ZeroCells`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ZeroCellsName {
    #[default]
    Fill,
    Error,
    Prior,
}

impl Default for RawFit {
    fn default() -> Self {
        RawFit {
            method: default_method(),
            tolerance: default_tolerance(),
            max_iterations: default_max_iterations(),
            consistency_tolerance: default_consistency_tolerance(),
            max_cells: default_max_cells(),
            bounds: None,
            integerize: None,
            random_seed: default_random_seed(),
            zero_cells: ZeroCellsName::default(),
            prior_weight: None,
        }
    }
}

/// `prior_weight` when `zero_cells = "prior"` does not say: a hundredth of the seed's mass.
pub const DEFAULT_PRIOR_WEIGHT: f64 = 0.01;

/// `"name"` or `["a", "b"]`, as a present list.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    crate::specfile::one_or_many(deserializer).map(Some)
}

fn default_seed_missing() -> MissingPolicy {
    MissingPolicy::Drop
}
fn default_margin_missing() -> MissingPolicy {
    MissingPolicy::Error
}
fn default_count() -> String {
    "count".to_string()
}
fn default_method() -> MethodName {
    MethodName::Ipf
}
fn default_tolerance() -> f64 {
    FitOptions::default().stopping().tolerance()
}
fn default_max_iterations() -> usize {
    FitOptions::default().stopping().max_iterations()
}
fn default_consistency_tolerance() -> f64 {
    super::builder::CONSISTENCY_TOLERANCE
}
fn default_max_cells() -> u64 {
    FitOptions::default().max_cells()
}
fn default_random_seed() -> u64 {
    FitOptions::default().random_seed()
}

impl Spec {
    /// Reads and validates a spec file. Relative paths inside it resolve against its folder.
    pub fn from_path(path: &Path) -> Result<Spec> {
        let raw: RawSpec = specfile::read(path)?;
        let mut spec = raw.checked(&path.display().to_string())?;
        spec.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(spec)
    }

    /// Parses and validates spec text; `name` is used in error messages. Paths stay relative
    /// to the current folder.
    pub fn from_toml_str(text: &str, name: &str) -> Result<Spec> {
        specfile::parse::<RawSpec>(text, name)?.checked(name)
    }

    /// Resolves a path named in the spec against the spec's folder.
    pub fn resolve(&self, file: &Path) -> PathBuf {
        specfile::resolve(&self.base, file)
    }
}

impl RawSpec {
    /// The spec named `name`, checked, with its `[fit]` typed; paths stay relative.
    fn checked(self, name: &str) -> Result<Spec> {
        let fit = self.validate(name)?;
        let bins = self.attributes.bins();
        let attributes = self
            .attributes
            .0
            .into_iter()
            .map(|(name, declared)| match declared {
                Declared::Categories(categories) => (name, categories),
                Declared::Binned(bins) => (name, bins.labels().to_vec()),
            })
            .collect();
        Ok(Spec {
            attributes,
            bins,
            seed: self.seed,
            margins: self.margins,
            fit,
            consistency_tolerance: self.fit.consistency_tolerance,
            zones: self.zones,
            missing_values: self.missing_values,
            structural_zeros: self.structural_zeros,
            totals: self.totals,
            base: PathBuf::new(),
            source: name.to_string(),
        })
    }

    /// Checks the spec and makes its `[fit]` typed.
    fn validate(&self, name: &str) -> Result<FitOptions> {
        let bad = |message: String| Err(Error::input(Location::file(name), message));
        if self.margins.is_empty() {
            return bad("the spec has no [[margin]] block: at least one marginal table is needed".into());
        }
        for m in &self.margins {
            let file = m.file.display();
            match (m.layout, &m.attribute, &m.columns) {
                (MarginLayout::Wide, Some(a), Some(c)) if !a.is_empty() && !c.is_empty() => {}
                (MarginLayout::Wide, ..) => {
                    return bad(format!(
                        "margin {file}: layout = \"wide\" needs attribute = \"NAME\" and columns = {{ COLUMN = \"category\", … }}"
                    ))
                }
                (MarginLayout::Tidy, None, None) => {}
                (MarginLayout::Tidy, ..) => {
                    return bad(format!("margin {file}: attribute and columns apply to layout = \"wide\" only"))
                }
            }
            if m.missing == MissingPolicy::Drop {
                return bad(format!(
                    "margin {}: missing = \"drop\" would change its targets; a margin's missing values are \
                     an error (missing = \"error\", the default) or the category \"missing\" (missing = \"category\")",
                    m.file.display()
                ));
            }
        }
        for (attribute, declared) in &self.attributes.0 {
            let Declared::Categories(categories) = declared else { continue };
            if categories.is_empty() {
                return bad(format!("[attributes] {attribute} declares no categories"));
            }
            let mut seen = std::collections::HashSet::new();
            for c in categories {
                if !seen.insert(c.trim()) {
                    return bad(format!("[attributes] {attribute} declares category \"{c}\" twice"));
                }
            }
        }
        let fit = &self.fit;
        if !(fit.tolerance.is_finite() && fit.tolerance > 0.0) {
            return bad(format!("[fit] tolerance must be a positive number, found {}", fit.tolerance));
        }
        if fit.max_iterations == 0 {
            return bad("[fit] max_iterations must be at least 1".into());
        }
        if !(fit.consistency_tolerance.is_finite() && fit.consistency_tolerance >= 0.0) {
            return bad(format!(
                "[fit] consistency_tolerance must be a non-negative number, found {}",
                fit.consistency_tolerance
            ));
        }
        let method = self.validate_method(name)?;
        let zero_cells = match (fit.zero_cells, fit.prior_weight) {
            (ZeroCellsName::Prior, Some(w)) if w > 0.0 && w < 1.0 => ZeroCells::Prior(w),
            (ZeroCellsName::Prior, Some(w)) => {
                return bad(format!("[fit] prior_weight must be in (0, 1), found {w}"));
            }
            (ZeroCellsName::Prior, None) => ZeroCells::Prior(DEFAULT_PRIOR_WEIGHT),
            (_, Some(_)) => return bad("[fit] prior_weight applies to zero_cells = \"prior\" only".into()),
            (ZeroCellsName::Fill, None) => ZeroCells::Fill,
            (ZeroCellsName::Error, None) => ZeroCells::Error,
        };
        FitOptions::params()
            .zero_cells(zero_cells)
            .method(method)
            .tolerance(fit.tolerance)
            .max_iterations(fit.max_iterations)
            .max_cells(fit.max_cells)
            .integerize(fit.integerize)
            .random_seed(fit.random_seed)
            .check()
    }

    /// Checks the method against the rest of the spec and makes it typed.
    fn validate_method(&self, name: &str) -> Result<Method> {
        let bad = |message: String| Err(Error::input(Location::file(name), message));
        let method = self.fit.method;
        let typed = match (method, self.fit.bounds) {
            (MethodName::Logit, None) => {
                return bad("method = \"logit\" needs [fit] bounds = [L, U] with L < 1 < U".into())
            }
            (MethodName::Logit, Some([l, u])) if !(u.is_finite() && (0.0..1.0).contains(&l) && 1.0 < u) => {
                return bad(format!("[fit] bounds = [{l}, {u}]: need 0 <= L < 1 < U, both finite"))
            }
            (MethodName::Logit, Some([l, u])) => Method::Calibrate(Calibration::Logit(Bounds::new(l, u)?)),
            (_, Some(_)) => {
                return bad(format!("[fit] bounds apply to method = \"logit\" only, not \"{}\"", method.name()))
            }
            (MethodName::Ipf, None) => Method::Ipf,
            (MethodName::Rake, None) => Method::Calibrate(Calibration::Rake),
            (MethodName::Linear, None) => Method::Calibrate(Calibration::Linear),
            (MethodName::Entropy, None) => Method::Calibrate(Calibration::Entropy),
        };
        for m in &self.margins {
            match m.importance {
                Some(i) if method != MethodName::Entropy => {
                    return bad(format!(
                        "margin {}: importance = {i} applies to method = \"entropy\" only",
                        m.file.display()
                    ))
                }
                Some(i) if !(i.is_finite() && i > 0.0) => {
                    return bad(format!("margin {}: importance must be a positive number, found {i}", m.file.display()))
                }
                _ => {}
            }
        }
        if method.is_microdata() && self.seed.is_none() {
            return bad(format!("method = \"{}\" re-weights a seed: add a [seed] block", method.name()));
        }
        if !method.is_microdata() {
            if self.zones.is_some() {
                return bad(
                    "[zones] need a method that re-weights the seed (rake, linear, logit or entropy), not ipf".into()
                );
            }
            if self.fit.integerize.is_some() {
                return bad("[fit] integerize applies to seed re-weighting methods, not ipf".into());
            }
        }
        if let Some(z) = &self.zones {
            if z.seed_region.is_some() != z.map.is_some() {
                return bad("[zones] seed_region and map go together: name the seed's region column and the zone-to-region file".into());
            }
        }
        Ok(typed)
    }
}
