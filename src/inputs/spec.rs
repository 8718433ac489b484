//! The fit spec: a TOML file naming the marginal tables, the optional seed, declared categories
//! and the fitting method. Relative paths resolve against the spec's own folder.
//!
//! ```
//! let spec = populace::inputs::Spec::from_toml_str(r#"
//!     [attributes]
//!     sex = ["female", "male"]
//!     [[margin]]
//!     file = "age_sex.csv"
//!     [fit]
//!     method = "ipf"
//! "#, "spec.toml").unwrap();
//! assert_eq!(spec.margins[0].count, "count");
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{Error, Location, Result};
use crate::specfile;

/// A parsed fit spec.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Declared attributes and their categories, in order. Declared order fixes the column
    /// order of the fitted joint; an attribute declared here but in no margin is taken from
    /// the seed.
    #[serde(default)]
    pub attributes: IndexMap<String, Vec<String>>,
    /// The seed: microdata (one row per record) or a dense table (one row per cell).
    #[serde(default)]
    pub seed: Option<SeedSpec>,
    /// The marginal tables, one `[[margin]]` block each.
    #[serde(rename = "margin", default)]
    pub margins: Vec<MarginSpec>,
    /// How to fit.
    #[serde(default)]
    pub fit: FitSpec,
    /// Zones: margins with a zone column are fitted zone by zone.
    #[serde(default)]
    pub zones: Option<ZonesSpec>,
    /// The folder relative paths resolve against (the spec's folder, as the user typed it).
    #[serde(skip)]
    pub base: PathBuf,
    /// The spec's name in messages (its path as the user typed it).
    #[serde(skip)]
    pub source: String,
}

/// `[seed]`: the sample to start from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSpec {
    /// CSV file, relative to the spec.
    pub file: PathBuf,
    /// Column holding design weights (or cell counts of a dense seed); every row weighs 1
    /// without it.
    #[serde(default)]
    pub weight: Option<String>,
    /// Column holding record identifiers.
    #[serde(default)]
    pub id: Option<String>,
}

/// `[[margin]]`: one marginal table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginSpec {
    /// CSV file, relative to the spec: one column per attribute plus the count column.
    pub file: PathBuf,
    /// Name of the count column.
    #[serde(default = "default_count")]
    pub count: String,
    /// For `method = "entropy"`: how strongly the margin is enforced; absent means hard.
    #[serde(default)]
    pub importance: Option<f64>,
}

/// `[zones]`: fit many small areas at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// How calibrated weights are turned into integer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Integerize {
    /// Truncate, replicate, sample (Lovelace & Ballas 2013).
    Trs,
    /// Integer counts that meet integer margin targets exactly where feasible.
    Margins,
}

impl Integerize {
    /// The name used in specs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Integerize::Trs => "trs",
            Integerize::Margins => "margins",
        }
    }
}

/// The fitting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Iterative proportional fitting of a dense contingency table (Deming–Stephan).
    Ipf,
    /// Raking of the seed's weights (IPF on the weights).
    Rake,
    /// Linear (GREG) calibration of the seed's weights.
    Linear,
    /// Bounded logit calibration of the seed's weights.
    Logit,
    /// Minimum cross-entropy calibration with optional soft margins.
    Entropy,
}

impl Method {
    /// The name used in specs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ipf => "ipf",
            Method::Rake => "rake",
            Method::Linear => "linear",
            Method::Logit => "logit",
            Method::Entropy => "entropy",
        }
    }

    /// Whether the method re-weights seed records (rather than fitting a dense table).
    pub fn is_microdata(self) -> bool {
        self != Method::Ipf
    }
}

/// `[fit]`: method and stopping rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitSpec {
    /// Fitting method.
    #[serde(default = "default_method")]
    pub method: Method,
    /// Convergence when the largest absolute deviation between a fitted margin cell and its
    /// target is at most this.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Give up (and report non-convergence) after this many sweeps.
    #[serde(default = "default_max_iterations")]
    pub max_iterations: usize,
    /// Margins' totals, and the sub-margins that overlapping margins share, must agree to
    /// within this fraction of the total.
    #[serde(default = "default_consistency_tolerance")]
    pub consistency_tolerance: f64,
    /// Refuse dense tables with more cells than this.
    #[serde(default = "default_max_cells")]
    pub max_cells: u64,
    /// `[L, U]` bounds on g = w/d for `method = "logit"`, with L < 1 < U.
    #[serde(default)]
    pub bounds: Option<[f64; 2]>,
    /// Turn calibrated weights into integer counts.
    #[serde(default)]
    pub integerize: Option<Integerize>,
    /// Seed of the random stream used by integerization.
    #[serde(default = "default_random_seed")]
    pub random_seed: u64,
}

impl Default for FitSpec {
    fn default() -> Self {
        FitSpec {
            method: default_method(),
            tolerance: default_tolerance(),
            max_iterations: default_max_iterations(),
            consistency_tolerance: default_consistency_tolerance(),
            max_cells: default_max_cells(),
            bounds: None,
            integerize: None,
            random_seed: default_random_seed(),
        }
    }
}

fn default_count() -> String {
    "count".to_string()
}
fn default_method() -> Method {
    Method::Ipf
}
fn default_tolerance() -> f64 {
    1e-10
}
fn default_max_iterations() -> usize {
    1000
}
fn default_consistency_tolerance() -> f64 {
    1e-6
}
fn default_max_cells() -> u64 {
    1 << 30
}
fn default_random_seed() -> u64 {
    1
}

impl Spec {
    /// Reads and validates a spec file. Relative paths inside it resolve against its folder.
    pub fn from_path(path: &Path) -> Result<Spec> {
        let mut spec: Spec = specfile::read(path)?;
        spec.checked(&path.display().to_string())?;
        spec.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(spec)
    }

    /// Parses and validates spec text; `name` is used in error messages. Paths stay relative
    /// to the current folder.
    pub fn from_toml_str(text: &str, name: &str) -> Result<Spec> {
        let mut spec: Spec = specfile::parse(text, name)?;
        spec.checked(name)?;
        Ok(spec)
    }

    /// Validates a parsed spec named `name` and records its name.
    fn checked(&mut self, name: &str) -> Result<()> {
        self.validate(name)?;
        self.source = name.to_string();
        Ok(())
    }

    /// Resolves a path named in the spec against the spec's folder.
    pub fn resolve(&self, file: &Path) -> PathBuf {
        if file.is_absolute() || self.base.as_os_str().is_empty() {
            file.to_path_buf()
        } else {
            self.base.join(file)
        }
    }

    fn validate(&self, name: &str) -> Result<()> {
        let bad = |message: String| Err(Error::input(Location::file(name), message));
        if self.margins.is_empty() {
            return bad("the spec has no [[margin]] block: at least one marginal table is needed".into());
        }
        for (attribute, categories) in &self.attributes {
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
        self.validate_method(name)
    }

    fn validate_method(&self, name: &str) -> Result<()> {
        let bad = |message: String| Err(Error::input(Location::file(name), message));
        let method = self.fit.method;
        match (method, self.fit.bounds) {
            (Method::Logit, None) => return bad("method = \"logit\" needs [fit] bounds = [L, U] with L < 1 < U".into()),
            (Method::Logit, Some([l, u])) if !(u.is_finite() && (0.0..1.0).contains(&l) && 1.0 < u) => {
                return bad(format!("[fit] bounds = [{l}, {u}]: need 0 <= L < 1 < U, both finite"))
            }
            (Method::Logit, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return bad(format!("[fit] bounds apply to method = \"logit\" only, not \"{}\"", method.name()))
            }
        }
        for m in &self.margins {
            match m.importance {
                Some(i) if method != Method::Entropy => {
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
        Ok(())
    }
}
