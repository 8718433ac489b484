//! The experiment spec (TOML) of `populace evaluate`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::binning::{Attributes, Bins, Declared};
use crate::error::{Error, Location, Result};
use crate::missing::{MissingPolicy, MissingValues};
use crate::specfile;

use super::params::{predictor_error, PredictorKind, PredictorParams};

/// The most bootstrap replicates a spec may ask for: each keeps a vector of every metric, and
/// percentile CIs need no more.
pub const MAX_BOOTSTRAP: usize = 100_000;

/// A parsed experiment spec; relative paths are already resolved against the spec's folder.
///
/// [`ExperimentSpec::from_path`] reads the TOML of docs/evaluate.md;
/// [`ExperimentSpec::new`] starts one in code from the data's columns, with the defaults.
/// The TOML's top-level `missing_values` becomes [`DataSpec::missing_values`], and its
/// binned `[attributes.NAME]` [`DataSpec::bins`].
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ExperimentToml")]
#[non_exhaustive]
pub struct ExperimentSpec {
    /// The responses file and its columns.
    pub data: DataSpec,
    /// Groupings for population-level metrics.
    pub population: PopulationSpec,
    /// The predictors to compare; exactly one must have `kind = "population"` (the baseline).
    pub predictors: Vec<PredictorSpec>,
    /// Where external predictors keep the answers they received, so a rerun resumes (not read
    /// from the TOML; `populace evaluate` sets `DIR/cache`); `None` keeps nothing.
    pub cache_dir: Option<PathBuf>,
    /// Folds, bootstrap and the decision rule.
    pub evaluation: EvaluationSpec,
    /// Simulated answers for effect replication and run-to-run variance.
    pub simulation: SimulationSpec,
    /// Persona pools whose predicted answers are compared with the respondents' (optional).
    pub pools: Vec<PoolSpec>,
}

/// The TOML of an experiment spec: [`ExperimentSpec`] with `missing_values` at the top level,
/// where every command's spec has it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentToml {
    #[serde(default)]
    missing_values: MissingValues,
    #[serde(default)]
    attributes: Attributes,
    data: DataSpec,
    #[serde(default)]
    population: PopulationSpec,
    #[serde(rename = "predictor")]
    predictors: Vec<PredictorSpec>,
    #[serde(default)]
    evaluation: EvaluationSpec,
    #[serde(default)]
    simulation: SimulationSpec,
    #[serde(default, rename = "pool")]
    pools: Vec<PoolSpec>,
}

impl TryFrom<ExperimentToml> for ExperimentSpec {
    type Error = String;

    fn try_from(toml: ExperimentToml) -> std::result::Result<ExperimentSpec, String> {
        if let Some(name) =
            toml.attributes.0.iter().find_map(|(n, d)| matches!(d, Declared::Categories(_)).then_some(n))
        {
            return Err(format!(
                "[attributes] {name}: an experiment spec declares binned attributes only \
                 ([attributes.{name}] with from, breaks and labels); categories come from the responses"
            ));
        }
        Ok(ExperimentSpec {
            data: toml.data.missing_values(toml.missing_values).bins(toml.attributes.bins()),
            population: toml.population,
            predictors: toml.predictors,
            cache_dir: None,
            evaluation: toml.evaluation,
            simulation: toml.simulation,
            pools: toml.pools,
        })
    }
}

/// `[data]`: the responses CSV.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DataSpec {
    /// The responses CSV (relative to the spec's folder).
    pub file: PathBuf,
    /// The person id column, or columns that together identify a person (`id = ["year",
    /// "respondent_id"]`; such an id reads `2016:1234`).
    #[serde(deserialize_with = "crate::specfile::one_or_many")]
    pub id: Vec<String>,
    /// Profile attribute columns (categorical).
    pub profile: Vec<String>,
    /// Item columns, one answer per person; missing values are missing answers.
    pub items: Vec<String>,
    /// Items whose answers are ordinal; the scale order is the string sort of the answers.
    #[serde(default)]
    pub ordinal: Vec<String>,
    /// The column of the persons' survey weights (design weights), if any: population metrics
    /// compare weighted answer distributions, individual metrics are weighted means, the
    /// built-in predictors fit weighted, and the bootstrap resamples persons with their
    /// weights (docs/evaluate.md, "Survey weights"). Without it every person weighs 1.
    #[serde(default)]
    pub weight: Option<String>,
    /// What becomes of a person with a missing profile attribute (default
    /// [`MissingPolicy::Drop`]); a pool's missing profile values are errors unless it is
    /// [`MissingPolicy::Category`].
    #[serde(default = "default_profile_missing")]
    pub profile_missing: MissingPolicy,
    /// The values read as missing in the responses and the pools (in TOML, the spec's
    /// top-level `missing_values`; default [`MissingValues::default`]).
    #[serde(skip)]
    pub missing_values: MissingValues,
    /// Profile attributes binned from numeric columns of the responses and pools (in TOML,
    /// the spec's `[attributes.NAME] from/breaks/labels`; see [`binning`](crate::binning)).
    #[serde(skip)]
    pub bins: Vec<Bins>,
}

/// The default [`DataSpec::profile_missing`].
fn default_profile_missing() -> MissingPolicy {
    MissingPolicy::Drop
}

/// The strings of `names`.
fn strings<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Vec<String> {
    names.into_iter().map(Into::into).collect()
}

impl DataSpec {
    /// Responses in `file` with person ids in column `id`, the `profile` attributes and the
    /// `items`, all nominal.
    pub fn new<P, I>(
        file: impl Into<PathBuf>,
        id: impl Into<String>,
        profile: impl IntoIterator<Item = P>,
        items: impl IntoIterator<Item = I>,
    ) -> DataSpec
    where
        P: Into<String>,
        I: Into<String>,
    {
        DataSpec {
            file: file.into(),
            id: vec![id.into()],
            profile: strings(profile),
            items: strings(items),
            ordinal: Vec::new(),
            weight: None,
            profile_missing: MissingPolicy::Drop,
            missing_values: MissingValues::default(),
            bins: Vec::new(),
        }
    }

    /// With persons identified by the values of `columns` together (`["year", "respondent_id"]`:
    /// ids unique only within a year); their ids read `2016:1234`.
    pub fn id_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> DataSpec {
        self.id = strings(columns);
        self
    }

    /// With the items whose answers are ordinal.
    pub fn ordinal<S: Into<String>>(mut self, items: impl IntoIterator<Item = S>) -> DataSpec {
        self.ordinal = strings(items);
        self
    }

    /// With the persons' survey weights in `column`: a number, 0 or positive, for every person
    /// (a missing, negative or non-numeric weight is an error, and so are weights that are all 0).
    ///
    /// ```
    /// use populace::evaluation::{DataSpec, Dataset};
    ///
    /// let csv = "id,age,vote,w\n1,young,yes,3\n2,old,no,1\n3,old,yes,0\n";
    /// let spec = DataSpec::new("votes.csv", "id", ["age"], ["vote"]).weight("w");
    /// let data = Dataset::from_reader(csv.as_bytes(), &spec, &[])?;
    /// // Weights are kept relative to their mean (1); the report keeps their sum.
    /// assert_eq!(data.weights(), [2.25, 0.75, 0.0]);
    /// assert_eq!(data.weighting().map(|w| (w.sum, w.n_eff)), Some((4.0, 1.6)));
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn weight(mut self, column: impl Into<String>) -> DataSpec {
        self.weight = Some(column.into());
        self
    }

    /// With this policy for persons (and pool persons) with a missing profile attribute.
    pub fn profile_missing(mut self, policy: MissingPolicy) -> DataSpec {
        self.profile_missing = policy;
        self
    }

    /// With these values read as missing, instead of [`MissingValues::default`].
    pub fn missing_values(mut self, values: MissingValues) -> DataSpec {
        self.missing_values = values;
        self
    }

    /// With numeric columns binned into the profile attributes `bins`.
    ///
    /// ```
    /// use populace::binning::Bins;
    /// use populace::evaluation::{DataSpec, Dataset};
    ///
    /// let bins = Bins::new("age_group", "age", &[0.0, 40.0], None)?;
    /// let spec = DataSpec::new("votes.csv", "id", ["age_group"], ["vote"]).bins([bins]);
    /// let data = Dataset::from_reader("id,age,vote\n1,23,a\n2,67,b\n3,41,a\n".as_bytes(), &spec, &[])?;
    /// assert_eq!(data.attribute(0).levels(), ["[0,40)", "[40,Inf)"]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn bins(mut self, bins: impl IntoIterator<Item = Bins>) -> DataSpec {
        self.bins = bins.into_iter().collect();
        self
    }

    /// The first problem with the columns named.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.profile.is_empty() {
            return Err("[data] profile is empty: name at least one profile column".into());
        }
        if self.items.is_empty() {
            return Err("[data] items is empty: name at least one item column".into());
        }
        if self.id.is_empty() {
            return Err("[data] id is empty: name the person id column".into());
        }
        let mut seen: Vec<&String> = self.id.iter().collect();
        for c in self.profile.iter().chain(&self.items) {
            if seen.contains(&c) {
                return Err(format!("column \"{c}\" is named twice among id, profile and items"));
            }
            seen.push(c);
        }
        for o in &self.ordinal {
            if !self.items.contains(o) {
                return Err(format!("ordinal \"{o}\" is not one of the items"));
            }
        }
        match &self.weight {
            Some(w) if w.is_empty() => Err("[data] weight is empty: name the weight column, or leave it out".into()),
            Some(w) if seen.contains(&w) => {
                Err(format!("the weight column \"{w}\" is also named among id, profile and items"))
            }
            _ => Ok(()),
        }
    }
}

/// `[population]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PopulationSpec {
    /// Columns whose values define groups; each grouping is one column.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Grouping columns are named once each, and not `all` (the whole sample's key).
pub(super) fn check_groups<S: AsRef<str>>(groups: &[S]) -> std::result::Result<(), String> {
    for (i, g) in groups.iter().enumerate() {
        let g = g.as_ref();
        if groups[..i].iter().any(|h| h.as_ref() == g) {
            return Err(format!("[population] groups names \"{g}\" twice"));
        }
        if g == "all" {
            return Err("[population] groups: \"all\" stands for the whole sample; rename the column".into());
        }
    }
    Ok(())
}

/// Exactly one predictor is the population baseline, and names are unique.
pub(super) fn check_predictors(predictors: &[(&str, PredictorKind)]) -> std::result::Result<(), String> {
    if predictors.iter().filter(|(_, k)| *k == PredictorKind::Population).count() != 1 {
        return Err("exactly one [[predictor]] must have kind = \"population\" (the baseline)".into());
    }
    for (i, (name, _)) in predictors.iter().enumerate() {
        if predictors[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("predictor name \"{name}\" is used twice"));
        }
    }
    Ok(())
}

/// Pool names are unique, and the predictors a pool names exist and do not need answers.
pub(super) fn check_pools(pools: &[PoolSpec], predictors: &[(&str, PredictorKind)]) -> std::result::Result<(), String> {
    for (i, pool) in pools.iter().enumerate() {
        if pools[..i].iter().any(|q| q.name == pool.name) {
            return Err(format!("pool name \"{}\" is used twice", pool.name));
        }
        for name in pool.predictors.iter().flatten() {
            match predictors.iter().find(|(p, _)| p == name) {
                None => return Err(format!("pool \"{}\": no predictor is named \"{name}\"", pool.name)),
                Some((_, PredictorKind::History)) => {
                    return Err(format!(
                        "pool \"{}\": predictor \"{name}\" conditions on answers, which pool persons do not have",
                        pool.name
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// `[[predictor]]`: a name and a built-in kind with its parameters.
///
/// In TOML, `kind` selects the parameters and every other field must be one of that kind's
/// (docs/evaluate.md): a field of another kind is an error naming the predictor and the
/// field. [`PredictorSpec::new`] checks the values, as reading a spec does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PredictorSpec {
    /// Name shown in the outputs (unique).
    pub name: String,
    /// The kind and its parameters.
    pub params: PredictorParams,
}

impl PredictorSpec {
    /// A predictor entry with checked parameters.
    ///
    /// # Errors
    /// [`Error::Input`] naming the predictor for an empty name or a parameter out of range.
    pub fn new(name: impl Into<String>, params: impl Into<PredictorParams>) -> Result<PredictorSpec> {
        let spec = PredictorSpec { name: name.into(), params: params.into() };
        spec.validate().map_err(|m| predictor_error(&spec.name, m))?;
        Ok(spec)
    }

    /// What the predictor is.
    pub fn kind(&self) -> PredictorKind {
        self.params.kind()
    }

    /// The first problem with the entry, as a message without the predictor's name.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.name.is_empty() {
            return Err("the name is empty".into());
        }
        self.params.validate()
    }
}

/// `[evaluation]`: cross-fitting, bootstrap and the decision rule, all with defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct EvaluationSpec {
    /// Number of cross-fitting folds (default 5).
    pub folds: usize,
    /// Bootstrap replicates over persons (default 1000).
    pub bootstrap: usize,
    /// Seed of the fold assignment and the bootstrap (default 1).
    pub seed: u64,
    /// Two-sided CI level is 1 − alpha (default 0.05).
    pub alpha: f64,
    /// `improves individuals` needs the pseudo-R² CI lower bound above this (default 0.0).
    pub individual_min_pseudo_r2: f64,
    /// `improves populations` needs this relative TV gain (default 0.05) with a CI lower bound above 0.
    pub population_min_relative_tv_gain: f64,
}

impl Default for EvaluationSpec {
    fn default() -> Self {
        EvaluationSpec {
            folds: 5,
            bootstrap: 1000,
            seed: 1,
            alpha: 0.05,
            individual_min_pseudo_r2: 0.0,
            population_min_relative_tv_gain: 0.05,
        }
    }
}

impl EvaluationSpec {
    /// With `n` cross-fitting folds (at least 2).
    pub fn folds(mut self, n: usize) -> Self {
        self.folds = n;
        self
    }

    /// With `n` bootstrap replicates (10 to 100,000).
    pub fn bootstrap(mut self, n: usize) -> Self {
        self.bootstrap = n;
        self
    }

    /// With the seed of the folds and the bootstrap.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// With CIs at level 1 − `alpha` (in (0, 1)).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// With the decision rule's thresholds on the pseudo-R² CI lower bound and the relative
    /// TV gain.
    pub fn rule(mut self, individual_min_pseudo_r2: f64, population_min_relative_tv_gain: f64) -> Self {
        self.individual_min_pseudo_r2 = individual_min_pseudo_r2;
        self.population_min_relative_tv_gain = population_min_relative_tv_gain;
        self
    }

    /// The first problem with the settings.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.folds < 2 {
            return Err(format!("[evaluation] folds must be at least 2, got {}", self.folds));
        }
        if !(10..=MAX_BOOTSTRAP).contains(&self.bootstrap) {
            return Err(format!(
                "[evaluation] bootstrap must be between 10 and {MAX_BOOTSTRAP}, got {}",
                self.bootstrap
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(format!("[evaluation] alpha must be in (0, 1), got {}", self.alpha));
        }
        if !self.individual_min_pseudo_r2.is_finite() || !self.population_min_relative_tv_gain.is_finite() {
            return Err("[evaluation] decision thresholds must be finite".into());
        }
        Ok(())
    }
}

/// `[[pool]]`: a persona pool (a CSV from `populace generate` with the profile attributes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PoolSpec {
    /// Name shown in the outputs (unique).
    pub name: String,
    /// The pool CSV (relative to the spec's folder).
    pub file: PathBuf,
    /// Predictors to ask (default: all that do not need answers, i.e. all but history ones).
    pub predictors: Option<Vec<String>>,
}

impl PoolSpec {
    /// The pool in `file`, asked through every predictor that does not need answers.
    pub fn new(name: impl Into<String>, file: impl Into<PathBuf>) -> PoolSpec {
        PoolSpec { name: name.into(), file: file.into(), predictors: None }
    }

    /// Asked through the predictors named.
    pub fn predictors<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> PoolSpec {
        self.predictors = Some(strings(names));
        self
    }
}

/// `[simulation]`: how simulated answers are drawn and tested, all with defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SimulationSpec {
    /// Answers drawn per person from a predictor that gives probabilities (default 5; at
    /// least 2 for run-to-run variance). Predictors that sample use their own draws.
    pub repeats: usize,
    /// Significance level of the effects' Wald tests (default 0.05).
    pub alpha: f64,
    /// Seed of the draws (default 1).
    pub seed: u64,
}

impl Default for SimulationSpec {
    fn default() -> Self {
        SimulationSpec { repeats: 5, alpha: 0.05, seed: 1 }
    }
}

impl SimulationSpec {
    /// Drawing `n` answers per person (1 to 1000).
    pub fn repeats(mut self, n: usize) -> Self {
        self.repeats = n;
        self
    }

    /// With Wald tests at level `alpha` (in (0, 1)).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// With the seed of the draws.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The first problem with the settings.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=1000).contains(&self.repeats) {
            return Err(format!("[simulation] repeats must be between 1 and 1000, got {}", self.repeats));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(format!("[simulation] alpha must be in (0, 1), got {}", self.alpha));
        }
        Ok(())
    }
}

impl ExperimentSpec {
    /// A spec for the data `data` with the default settings, no groupings, no predictors and
    /// no pools.
    pub fn new(data: DataSpec) -> ExperimentSpec {
        ExperimentSpec {
            data,
            population: PopulationSpec::default(),
            predictors: Vec::new(),
            cache_dir: None,
            evaluation: EvaluationSpec::default(),
            simulation: SimulationSpec::default(),
            pools: Vec::new(),
        }
    }

    /// Reads and validates a spec; relative paths resolve against its folder.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read; [`Error::Input`] naming the file (and
    /// the line where known) for anything invalid.
    pub fn from_path(path: &Path) -> Result<ExperimentSpec> {
        let mut spec: ExperimentSpec = specfile::read(path)?;
        let location = Location::file(path.display().to_string());
        let folder = path.parent().unwrap_or(Path::new(""));
        if spec.data.file.is_relative() {
            spec.data.file = folder.join(&spec.data.file);
        }
        for pool in spec.pools.iter_mut().filter(|p| p.file.is_relative()) {
            pool.file = folder.join(&pool.file);
        }
        for p in &mut spec.predictors {
            if let PredictorParams::External(e) = &mut p.params {
                if e.command.is_relative() && e.command.components().count() > 1 {
                    e.command = folder.join(&e.command);
                }
                if let Some(t) = e.template.as_mut().filter(|t| t.is_relative()) {
                    *t = folder.join(&*t);
                }
            }
        }
        spec.validate().map_err(|m| Error::input(location, m))?;
        Ok(spec)
    }

    /// The first problem with the spec.
    fn validate(&self) -> std::result::Result<(), String> {
        self.data.validate()?;
        check_groups(&self.population.groups)?;
        let predictors: Vec<(&str, PredictorKind)> =
            self.predictors.iter().map(|p| (p.name.as_str(), p.kind())).collect();
        check_predictors(&predictors)?;
        for p in &self.predictors {
            p.validate().map_err(|m| format!("predictor \"{}\": {m}", p.name))?;
        }
        self.evaluation.validate()?;
        check_pools(&self.pools, &predictors)?;
        self.simulation.validate()
    }
}

/// Reading `[[predictor]]` tables: `name`, `kind`, then only that kind's parameters.
mod predictor_toml {
    use std::fmt;
    use std::path::PathBuf;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
    use serde::Deserialize;

    use super::PredictorSpec;
    use crate::evaluation::params::{
        CellParams, ExternalParams, HistoryParams, PopulationParams, PredictorKind, PredictorParams, ProfileParams,
    };

    /// Every field of a `[[predictor]]`, and the kinds whose parameter it is (empty: all).
    const FIELDS: [(&str, &[PredictorKind]); 13] = {
        use PredictorKind::{Cell, External, History, Population, Profile};
        [
            ("name", &[]),
            ("kind", &[]),
            ("l2", &[Profile, History]),
            ("interactions", &[Profile]),
            ("prior_strength", &[Cell]),
            ("smoothing", &[Population, Cell, External]),
            ("command", &[External]),
            ("args", &[External]),
            ("timeout_seconds", &[External]),
            ("repeats", &[External]),
            ("concurrency", &[External]),
            ("persona", &[External]),
            ("template", &[External]),
        ]
    };
    const NAMES: &[&str] = &[
        "name",
        "kind",
        "l2",
        "interactions",
        "prior_strength",
        "smoothing",
        "command",
        "args",
        "timeout_seconds",
        "repeats",
        "concurrency",
        "persona",
        "template",
    ];
    const KINDS: &[&str] = &["population", "profile", "cell", "history", "external"];

    /// Why field `f` (an index into [`FIELDS`]) cannot be given for `kind`, if it cannot.
    fn misplaced(f: usize, kind: PredictorKind) -> Option<String> {
        let (field, kinds) = FIELDS[f];
        if kinds.is_empty() || kinds.contains(&kind) {
            return None;
        }
        let takes: Vec<&str> = FIELDS.iter().filter(|(_, k)| k.contains(&kind)).map(|(n, _)| *n).collect();
        let why = match kinds {
            [only] => format!("{field} is only for kind = \"{only}\""),
            _ => format!("{field} is not used by kind = \"{kind}\""),
        };
        Some(format!("{why} (kind = \"{kind}\" takes {})", takes.join(", ")))
    }

    /// A field name, checked as it is read, so that an error points at its line: unknown
    /// names, and names of another kind's parameters once the name and kind are known.
    struct Key<'a> {
        name: Option<&'a str>,
        kind: Option<Kind>,
    }

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = usize;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
            let key = String::deserialize(deserializer)?;
            let f = FIELDS.iter().position(|(n, _)| *n == key).ok_or_else(|| de::Error::unknown_field(&key, NAMES))?;
            if let (Some(name), Some(kind)) = (self.name, self.kind) {
                if let Some(why) = misplaced(f, kind.kind()) {
                    return Err(de::Error::custom(format!("predictor \"{name}\": {why}")));
                }
            }
            Ok(f)
        }
    }

    /// The `kind` value: a built-in kind.
    #[derive(Clone, Copy)]
    enum Kind {
        Population,
        Profile,
        Cell,
        History,
        External,
    }

    impl Kind {
        fn kind(self) -> PredictorKind {
            match self {
                Kind::Population => PredictorKind::Population,
                Kind::Profile => PredictorKind::Profile,
                Kind::Cell => PredictorKind::Cell,
                Kind::History => PredictorKind::History,
                Kind::External => PredictorKind::External,
            }
        }
    }

    impl<'de> Deserialize<'de> for Kind {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
            let kind = String::deserialize(deserializer)?;
            [Kind::Population, Kind::Profile, Kind::Cell, Kind::History, Kind::External]
                .into_iter()
                .find(|k| k.kind().as_str() == kind)
                .ok_or_else(|| de::Error::unknown_variant(&kind, KINDS))
        }
    }

    /// The values given, each read as its field's type.
    #[derive(Default)]
    struct Given {
        name: Option<String>,
        kind: Option<Kind>,
        l2: Option<f64>,
        interactions: Option<bool>,
        prior_strength: Option<f64>,
        smoothing: Option<f64>,
        command: Option<PathBuf>,
        args: Option<Vec<String>>,
        timeout_seconds: Option<f64>,
        repeats: Option<usize>,
        concurrency: Option<usize>,
        persona: Option<bool>,
        template: Option<PathBuf>,
        /// The fields in the order given.
        fields: Vec<usize>,
    }

    impl Given {
        /// The kind's parameters: its defaults, overridden by what was given.
        fn params(self, kind: Kind, name: &str) -> Result<PredictorParams, String> {
            Ok(match kind {
                Kind::Population => {
                    let d = PopulationParams::default();
                    PopulationParams { smoothing: self.smoothing.unwrap_or(d.smoothing) }.into()
                }
                Kind::Profile => {
                    let d = ProfileParams::default();
                    ProfileParams {
                        l2: self.l2.unwrap_or(d.l2),
                        interactions: self.interactions.unwrap_or(d.interactions),
                    }
                    .into()
                }
                Kind::Cell => {
                    let d = CellParams::default();
                    CellParams {
                        prior_strength: self.prior_strength.unwrap_or(d.prior_strength),
                        smoothing: self.smoothing.unwrap_or(d.smoothing),
                    }
                    .into()
                }
                Kind::History => HistoryParams { l2: self.l2.unwrap_or(HistoryParams::default().l2) }.into(),
                Kind::External => {
                    let command = self.command.filter(|c| !c.as_os_str().is_empty()).ok_or_else(|| {
                        format!("predictor \"{name}\" of kind = \"external\" needs a command (the simulator to run)")
                    })?;
                    let d = ExternalParams::new(command);
                    ExternalParams {
                        args: self.args.unwrap_or(d.args),
                        timeout_seconds: self.timeout_seconds.unwrap_or(d.timeout_seconds),
                        repeats: self.repeats.unwrap_or(d.repeats),
                        concurrency: self.concurrency.unwrap_or(d.concurrency),
                        persona: self.persona.unwrap_or(d.persona),
                        template: self.template.or(d.template),
                        smoothing: self.smoothing.unwrap_or(d.smoothing),
                        command: d.command,
                    }
                    .into()
                }
            })
        }
    }

    struct PredictorVisitor;

    impl<'de> Visitor<'de> for PredictorVisitor {
        type Value = PredictorSpec;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a [[predictor]] table with a name, a kind and the kind's parameters")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PredictorSpec, A::Error> {
            let mut g = Given::default();
            while let Some(f) = map.next_key_seed(Key { name: g.name.as_deref(), kind: g.kind })? {
                match FIELDS[f].0 {
                    "name" => g.name = Some(map.next_value()?),
                    "kind" => g.kind = Some(map.next_value()?),
                    "l2" => g.l2 = Some(map.next_value()?),
                    "interactions" => g.interactions = Some(map.next_value()?),
                    "prior_strength" => g.prior_strength = Some(map.next_value()?),
                    "smoothing" => g.smoothing = Some(map.next_value()?),
                    "command" => g.command = Some(map.next_value()?),
                    "args" => g.args = Some(map.next_value()?),
                    "timeout_seconds" => g.timeout_seconds = Some(map.next_value()?),
                    "repeats" => g.repeats = Some(map.next_value()?),
                    "concurrency" => g.concurrency = Some(map.next_value()?),
                    "persona" => g.persona = Some(map.next_value()?),
                    _ => g.template = Some(map.next_value()?),
                }
                g.fields.push(f);
            }
            let name = g.name.take().ok_or_else(|| de::Error::missing_field("name"))?;
            let kind = g.kind.ok_or_else(|| de::Error::missing_field("kind"))?;
            // Fields given before the name and kind were known.
            if let Some(why) = g.fields.iter().find_map(|&f| misplaced(f, kind.kind())) {
                return Err(de::Error::custom(format!("predictor \"{name}\": {why}")));
            }
            let params = g.params(kind, &name).map_err(de::Error::custom)?;
            let spec = PredictorSpec { name, params };
            spec.validate().map_err(|m| de::Error::custom(format!("predictor \"{}\": {m}", spec.name)))?;
            Ok(spec)
        }
    }

    impl<'de> Deserialize<'de> for PredictorSpec {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PredictorSpec, D::Error> {
            deserializer.deserialize_map(PredictorVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::params::{CellParams, ExternalParams, PopulationParams, ProfileParams};

    const DATA: &str = "[data]\nfile = \"r.csv\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q1\"]\n";

    /// Reads a spec with `predictors` after the population baseline.
    fn read(predictors: &str) -> Result<ExperimentSpec> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exp.toml");
        let text = format!("{DATA}[[predictor]]\nname = \"population\"\nkind = \"population\"\n{predictors}");
        std::fs::write(&path, text).unwrap();
        ExperimentSpec::from_path(&path)
    }

    fn message(predictors: &str) -> String {
        let e = read(predictors).unwrap_err().to_string();
        let (file, rest) = e.split_once(": ").unwrap();
        assert!(file.ends_with("exp.toml") || file.contains("exp.toml, line"), "{e}");
        rest.to_string()
    }

    fn line(predictors: &str) -> Option<u64> {
        match read(predictors).unwrap_err() {
            Error::Input { location, .. } => location.line,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn each_kind_reads_its_parameters_with_defaults() {
        let spec = read(
            "[[predictor]]\nname = \"profile\"\nkind = \"profile\"\ninteractions = true\n\
             [[predictor]]\nname = \"cell\"\nkind = \"cell\"\nsmoothing = 0.25\n\
             [[predictor]]\nname = \"sim\"\nkind = \"external\"\ncommand = \"./sim.py\"\nrepeats = 3\n",
        )
        .unwrap();
        let expected = [
            PredictorSpec::new("population", PopulationParams::default()).unwrap(),
            PredictorSpec::new("profile", ProfileParams::default().interactions(true)).unwrap(),
            PredictorSpec::new("cell", CellParams::default().smoothing(0.25)).unwrap(),
        ];
        assert_eq!(spec.predictors[..3], expected);
        let PredictorParams::External(sim) = &spec.predictors[3].params else { panic!("{:?}", spec.predictors[3]) };
        // A relative command with a folder resolves against the spec's folder.
        assert!(sim.command.is_absolute() && sim.command.ends_with("sim.py"), "{:?}", sim.command);
        assert_eq!(*sim, ExternalParams::new(&sim.command).repeats(3));
    }

    #[test]
    fn a_field_of_another_kind_names_the_predictor_the_field_and_its_line() {
        let m = message("[[predictor]]\nname = \"p\"\nkind = \"profile\"\ncommand = \"x\"\n");
        assert_eq!(
            m,
            "predictor \"p\": command is only for kind = \"external\" (kind = \"profile\" takes l2, interactions)"
        );
        assert_eq!(line("[[predictor]]\nname = \"p\"\nkind = \"profile\"\ncommand = \"x\"\n"), Some(12));
        let m = message("[[predictor]]\nname = \"c\"\nkind = \"cell\"\nl2 = 2.0\n");
        assert!(m.starts_with("predictor \"c\": l2 is not used by kind = \"cell\" (kind = \"cell\" takes"), "{m}");
        let m = message("[[predictor]]\nname = \"h\"\nkind = \"history\"\ninteractions = true\n");
        assert!(m.starts_with("predictor \"h\": interactions is only for kind = \"profile\""), "{m}");
        let m = message("[[predictor]]\nname = \"s\"\nkind = \"external\"\ncommand = \"x\"\nl2 = 1.0\n");
        assert!(m.starts_with("predictor \"s\": l2 is not used by kind = \"external\""), "{m}");
        // A field before the kind is judged once the table is read: the line of its header.
        let early = "[[predictor]]\nsmoothing = 1.0\nname = \"p\"\nkind = \"profile\"\n";
        assert!(message(early).starts_with("predictor \"p\": smoothing is not used by kind = \"profile\""), "{early}");
        assert_eq!(line(early), Some(9));
    }

    #[test]
    fn unknown_fields_and_kinds_and_bad_values_are_errors() {
        let m = message("[[predictor]]\nname = \"p\"\nkind = \"profile\"\nl3 = 1.0\n");
        assert!(m.starts_with("unknown field `l3`, expected one of `name`, `kind`, `l2`"), "{m}");
        assert_eq!(line("[[predictor]]\nname = \"p\"\nkind = \"profile\"\nl3 = 1.0\n"), Some(12));
        let m = message("[[predictor]]\nname = \"p\"\nkind = \"linear\"\n");
        assert!(m.starts_with("unknown variant `linear`, expected one of `population`"), "{m}");
        assert_eq!(line("[[predictor]]\nname = \"p\"\nkind = \"linear\"\n"), Some(11));
        assert_eq!(message("[[predictor]]\nname = \"p\"\n"), "missing field `kind`");
        let m = message("[[predictor]]\nname = \"p\"\nkind = \"profile\"\nl2 = -1.0\n");
        assert_eq!(m, "predictor \"p\": l2 must be positive, got -1");
        let m = message("[[predictor]]\nname = \"p\"\nkind = \"profile\"\nl2 = \"big\"\n");
        assert!(m.contains("invalid type: string \"big\", expected a number"), "{m}");
        assert_eq!(line("[[predictor]]\nname = \"p\"\nkind = \"profile\"\nl2 = \"big\"\n"), Some(12));
        let m = message("[[predictor]]\nname = \"s\"\nkind = \"external\"\n");
        assert_eq!(m, "predictor \"s\" of kind = \"external\" needs a command (the simulator to run)");
        let m = message("[[predictor]]\nname = \"s\"\nkind = \"external\"\ncommand = \"x\"\nconcurrency = 0\n");
        assert_eq!(m, "predictor \"s\": concurrency must be at least 1");
    }

    #[test]
    fn the_weight_column_is_read_from_data_and_optional() {
        let spec = read("").unwrap();
        assert_eq!(spec.data.weight, None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exp.toml");
        let baseline = "[[predictor]]\nname = \"b\"\nkind = \"population\"\n";
        std::fs::write(&path, format!("{DATA}weight = \"w\"\n{baseline}")).unwrap();
        assert_eq!(ExperimentSpec::from_path(&path).unwrap().data.weight.as_deref(), Some("w"));
        std::fs::write(&path, format!("{DATA}weight = \"\"\n{baseline}")).unwrap();
        let e = ExperimentSpec::from_path(&path).unwrap_err().to_string();
        assert!(e.ends_with("exp.toml: [data] weight is empty: name the weight column, or leave it out"), "{e}");
    }

    #[test]
    fn groups_are_named_once_and_not_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exp.toml");
        for (groups, expected) in [("\"age\", \"age\"", "names \"age\" twice"), ("\"all\"", "\"all\" stands for")] {
            let text = format!(
                "{DATA}[population]\ngroups = [{groups}]\n[[predictor]]\nname = \"b\"\nkind = \"population\"\n"
            );
            std::fs::write(&path, text).unwrap();
            let m = ExperimentSpec::from_path(&path).unwrap_err().to_string();
            assert!(m.contains(expected), "{m}");
        }
    }

    #[test]
    fn missing_values_are_read_at_the_top_and_the_profile_policy_in_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exp.toml");
        let read = |text: String| {
            std::fs::write(&path, text).unwrap();
            ExperimentSpec::from_path(&path)
        };
        let baseline = "[[predictor]]\nname = \"b\"\nkind = \"population\"\n";
        let spec =
            read(format!("missing_values = [\"-9\"]\n{DATA}profile_missing = \"category\"\n{baseline}")).unwrap();
        assert_eq!(
            (spec.data.missing_values, spec.data.profile_missing),
            (MissingValues::new(["-9"]), MissingPolicy::Category)
        );
        let spec = read(format!("{DATA}{baseline}")).unwrap();
        assert_eq!(
            (spec.data.missing_values, spec.data.profile_missing),
            (MissingValues::default(), MissingPolicy::Drop)
        );
        // The values are a top-level key, as in every spec; the policy is one of three.
        let e = read(format!("{DATA}missing_values = [\"-9\"]\n{baseline}")).unwrap_err().to_string();
        assert!(e.contains("exp.toml, line 6: unknown field `missing_values`"), "{e}");
        let e = read(format!("{DATA}profile_missing = \"skip\"\n{baseline}")).unwrap_err().to_string();
        assert!(e.contains("exp.toml, line 6: unknown variant `skip`"), "{e}");
    }
}
