//! The experiment spec (TOML) of `populace evaluate`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Location, Result};

/// The most bootstrap replicates a spec may ask for: each keeps a vector of every metric, and
/// percentile CIs need no more.
pub const MAX_BOOTSTRAP: usize = 100_000;

/// A parsed experiment spec; relative paths are already resolved against the spec's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// The responses file and its columns.
    pub data: DataSpec,
    /// Groupings for population-level metrics.
    #[serde(default)]
    pub population: PopulationSpec,
    /// The predictors to compare; exactly one must have `kind = "population"` (the baseline).
    #[serde(rename = "predictor")]
    pub predictors: Vec<PredictorSpec>,
    /// Where external predictors keep the answers they received, so a rerun resumes (not read
    /// from the TOML; `populace evaluate` sets `DIR/cache`); `None` keeps nothing.
    #[serde(skip)]
    pub cache_dir: Option<PathBuf>,
    /// Folds, bootstrap and the decision rule.
    #[serde(default)]
    pub evaluation: EvaluationSpec,
    /// Simulated answers for effect replication and run-to-run variance.
    #[serde(default)]
    pub simulation: SimulationSpec,
    /// Persona pools whose predicted answers are compared with the respondents' (optional).
    #[serde(default, rename = "pool")]
    pub pools: Vec<PoolSpec>,
}

/// `[data]`: the responses CSV.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// The responses CSV (relative to the spec's folder).
    pub file: PathBuf,
    /// The person id column.
    pub id: String,
    /// Profile attribute columns (categorical).
    pub profile: Vec<String>,
    /// Item columns, one answer per person; empty fields are missing answers.
    pub items: Vec<String>,
    /// Items whose answers are ordinal; the scale order is the string sort of the answers.
    #[serde(default)]
    pub ordinal: Vec<String>,
}

/// `[population]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// Columns whose values define groups; each grouping is one column.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The kind of a predictor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PredictorKind {
    /// Each item's smoothed answer distribution in the training folds.
    Population,
    /// L2-regularized multinomial logistic regression on one-hot profile attributes.
    Profile,
    /// Smoothed distribution within the person's profile cell, shrunk toward coarser cells.
    Cell,
    /// Multinomial logistic regression on the person's answers to the other items.
    History,
    /// A program answering JSON Lines requests (an LLM simulator, say); see docs/simulate.md.
    External,
}

impl PredictorKind {
    /// The kind as written in specs and reports: `"population"`, `"profile"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            PredictorKind::Population => "population",
            PredictorKind::Profile => "profile",
            PredictorKind::Cell => "cell",
            PredictorKind::History => "history",
            PredictorKind::External => "external",
        }
    }
}

impl std::fmt::Display for PredictorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// `[[predictor]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictorSpec {
    /// Name shown in the outputs (unique).
    pub name: String,
    /// What the predictor conditions on.
    pub kind: PredictorKind,
    /// L2 penalty of the logistic kinds (default 1.0).
    pub l2: Option<f64>,
    /// Profile kind: add pairwise interactions of the profile attributes (default false).
    pub interactions: Option<bool>,
    /// Cell kind: prior strength of the shrinkage toward the parent cell (default 5.0).
    pub prior_strength: Option<f64>,
    /// Population, cell and external kinds: additive smoothing of counts (default 0.5).
    pub smoothing: Option<f64>,
    /// External kind: the program to run; a relative path with a `/` resolves against the
    /// spec's folder, a bare name is looked up on `PATH`.
    pub command: Option<PathBuf>,
    /// External kind: the program's arguments.
    pub args: Option<Vec<String>>,
    /// External kind: the longest wait for the next answer while requests are unanswered, in
    /// seconds (default 60).
    pub timeout_seconds: Option<f64>,
    /// External kind: how often each person is asked each item (default 1).
    pub repeats: Option<usize>,
    /// External kind: how many copies of the program run in parallel (default 1).
    pub concurrency: Option<usize>,
    /// External kind: send the persona (default true); false is the unconditioned arm.
    pub persona: Option<bool>,
    /// External kind: the persona card template (MiniJinja; default: the default card).
    pub template: Option<PathBuf>,
}

/// `[evaluation]`: cross-fitting, bootstrap and the decision rule, all with defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
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

/// `[[pool]]`: a persona pool (a CSV from `populace generate` with the profile attributes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Name shown in the outputs (unique).
    pub name: String,
    /// The pool CSV (relative to the spec's folder).
    pub file: PathBuf,
    /// Predictors to ask (default: all that do not need answers, i.e. all but history ones).
    pub predictors: Option<Vec<String>>,
}

/// `[simulation]`: how simulated answers are drawn and tested, all with defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
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

impl ExperimentSpec {
    /// Reads and validates a spec; relative paths resolve against its folder.
    pub fn from_path(path: &Path) -> Result<ExperimentSpec> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        let location = Location::file(path.display().to_string());
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::input(
                location.clone(),
                format!("the spec is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut spec: ExperimentSpec = toml::from_str(text).map_err(|e| {
            let mut at = location.clone();
            if let Some(span) = e.span() {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                at.line = Some(1 + before.iter().filter(|&&b| b == b'\n').count() as u64);
            }
            Error::input(at, e.message().to_string())
        })?;
        let folder = path.parent().unwrap_or(Path::new(""));
        if spec.data.file.is_relative() {
            spec.data.file = folder.join(&spec.data.file);
        }
        for pool in spec.pools.iter_mut().filter(|p| p.file.is_relative()) {
            pool.file = folder.join(&pool.file);
        }
        for p in &mut spec.predictors {
            if let Some(c) = p.command.as_mut().filter(|c| c.is_relative() && c.components().count() > 1) {
                *c = folder.join(&*c);
            }
            if let Some(t) = p.template.as_mut().filter(|t| t.is_relative()) {
                *t = folder.join(&*t);
            }
        }
        spec.validate().map_err(|m| Error::input(location, m))?;
        Ok(spec)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let d = &self.data;
        if d.profile.is_empty() {
            return Err("[data] profile is empty: name at least one profile column".into());
        }
        if d.items.is_empty() {
            return Err("[data] items is empty: name at least one item column".into());
        }
        let mut seen: Vec<&String> = vec![&d.id];
        for c in d.profile.iter().chain(&d.items) {
            if seen.contains(&c) {
                return Err(format!("column \"{c}\" is named twice among id, profile and items"));
            }
            seen.push(c);
        }
        for o in &d.ordinal {
            if !d.items.contains(o) {
                return Err(format!("ordinal \"{o}\" is not one of the items"));
            }
        }
        if self.predictors.iter().filter(|p| p.kind == PredictorKind::Population).count() != 1 {
            return Err("exactly one [[predictor]] must have kind = \"population\" (the baseline)".into());
        }
        for (i, p) in self.predictors.iter().enumerate() {
            if self.predictors[..i].iter().any(|q| q.name == p.name) {
                return Err(format!("predictor name \"{}\" is used twice", p.name));
            }
            p.validate_external()?;
            let timeout = ("timeout_seconds", p.timeout_seconds);
            for (what, v) in [("l2", p.l2), ("prior_strength", p.prior_strength), ("smoothing", p.smoothing), timeout] {
                if let Some(v) = v {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(format!("predictor \"{}\": {what} must be positive, got {v}", p.name));
                    }
                }
            }
        }
        let e = &self.evaluation;
        if e.folds < 2 {
            return Err(format!("[evaluation] folds must be at least 2, got {}", e.folds));
        }
        if !(10..=MAX_BOOTSTRAP).contains(&e.bootstrap) {
            return Err(format!("[evaluation] bootstrap must be between 10 and {MAX_BOOTSTRAP}, got {}", e.bootstrap));
        }
        if !(e.alpha > 0.0 && e.alpha < 1.0) {
            return Err(format!("[evaluation] alpha must be in (0, 1), got {}", e.alpha));
        }
        if !e.individual_min_pseudo_r2.is_finite() || !e.population_min_relative_tv_gain.is_finite() {
            return Err("[evaluation] decision thresholds must be finite".into());
        }
        for (i, pool) in self.pools.iter().enumerate() {
            if self.pools[..i].iter().any(|q| q.name == pool.name) {
                return Err(format!("pool name \"{}\" is used twice", pool.name));
            }
            for name in pool.predictors.iter().flatten() {
                match self.predictors.iter().find(|p| &p.name == name) {
                    None => return Err(format!("pool \"{}\": no predictor is named \"{name}\"", pool.name)),
                    Some(p) if p.kind == PredictorKind::History => {
                        return Err(format!(
                            "pool \"{}\": predictor \"{name}\" conditions on answers, which pool persons do not have",
                            pool.name
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        let sim = &self.simulation;
        if !(1..=1000).contains(&sim.repeats) {
            return Err(format!("[simulation] repeats must be between 1 and 1000, got {}", sim.repeats));
        }
        if !(sim.alpha > 0.0 && sim.alpha < 1.0) {
            return Err(format!("[simulation] alpha must be in (0, 1), got {}", sim.alpha));
        }
        Ok(())
    }
}

impl PredictorSpec {
    /// External fields only on the external kind, which needs a command and no model fields.
    fn validate_external(&self) -> std::result::Result<(), String> {
        let name = &self.name;
        let external = [
            ("command", self.command.is_some()),
            ("args", self.args.is_some()),
            ("timeout_seconds", self.timeout_seconds.is_some()),
            ("repeats", self.repeats.is_some()),
            ("concurrency", self.concurrency.is_some()),
            ("persona", self.persona.is_some()),
            ("template", self.template.is_some()),
        ];
        let model = [
            ("l2", self.l2.is_some()),
            ("interactions", self.interactions.is_some()),
            ("prior_strength", self.prior_strength.is_some()),
        ];
        if self.kind != PredictorKind::External {
            if let Some((field, _)) = external.iter().find(|(_, set)| *set) {
                return Err(format!("predictor \"{name}\": {field} is only for kind = \"external\""));
            }
            return Ok(());
        }
        if let Some((field, _)) = model.iter().find(|(_, set)| *set) {
            return Err(format!("predictor \"{name}\": {field} is not used by kind = \"external\""));
        }
        if self.command.as_ref().is_none_or(|c| c.as_os_str().is_empty()) {
            return Err(format!("predictor \"{name}\" of kind = \"external\" needs a command (the simulator to run)"));
        }
        if self.repeats == Some(0) {
            return Err(format!("predictor \"{name}\": repeats must be at least 1"));
        }
        if self.concurrency == Some(0) {
            return Err(format!("predictor \"{name}\": concurrency must be at least 1"));
        }
        Ok(())
    }
}
