//! Predictor kinds and their parameters, with defaults and validation.
//!
//! Each built-in kind has its own parameter struct with the documented defaults; a
//! [`PredictorParams`] holds one of them, so a parameter that means nothing for a kind cannot
//! be given. Values are checked when a predictor or a [`PredictorSpec`](super::PredictorSpec)
//! is made from them.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Location, Result};

/// An error of predictor `name`: `predictor "NAME": MESSAGE`.
pub(super) fn predictor_error(name: &str, message: impl Into<String>) -> Error {
    Error::input(Location::file(format!("predictor \"{name}\"")), message)
}

/// A predictor's name, if it is not empty.
pub(super) fn checked_name(name: impl Into<String>) -> Result<String> {
    let name = name.into();
    if name.is_empty() {
        return Err(predictor_error("", "the name is empty"));
    }
    Ok(name)
}

/// What a predictor is (the `kind` of a `[[predictor]]`, and of its report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PredictorKind {
    /// Each item's smoothed answer distribution in the training folds: the baseline.
    Population,
    /// L2-regularized multinomial logistic regression on one-hot profile attributes.
    Profile,
    /// Smoothed distribution within the person's profile cell, shrunk toward coarser cells.
    Cell,
    /// Multinomial logistic regression on the person's answers to the other items.
    History,
    /// A program answering JSON Lines requests (an LLM simulator, say); see docs/simulate.md.
    External,
    /// A predictor of your own (the default of [`Predictor::kind`](super::Predictor::kind));
    /// not a kind of `[[predictor]]`.
    Custom,
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
            PredictorKind::Custom => "custom",
        }
    }
}

impl std::fmt::Display for PredictorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A message unless `v` is finite and positive.
fn positive(what: &str, v: f64) -> std::result::Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{what} must be positive, got {v}"))
    }
}

/// `kind = "population"`: the baseline.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PopulationParams {
    /// Added to every option's count (default 0.5).
    pub smoothing: f64,
}

impl Default for PopulationParams {
    fn default() -> Self {
        PopulationParams { smoothing: 0.5 }
    }
}

impl PopulationParams {
    /// With additive smoothing `v` (positive).
    pub fn smoothing(mut self, v: f64) -> Self {
        self.smoothing = v;
        self
    }

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        positive("smoothing", self.smoothing)
    }
}

/// `kind = "profile"`: logistic regression on the one-hot profile.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProfileParams {
    /// L2 penalty on the weights (default 1.0).
    pub l2: f64,
    /// Add every pair of levels of every pair of attributes (default false).
    pub interactions: bool,
}

impl Default for ProfileParams {
    fn default() -> Self {
        ProfileParams { l2: 1.0, interactions: false }
    }
}

impl ProfileParams {
    /// With L2 penalty `v` (positive).
    pub fn l2(mut self, v: f64) -> Self {
        self.l2 = v;
        self
    }

    /// With or without pairwise interactions.
    pub fn interactions(mut self, on: bool) -> Self {
        self.interactions = on;
        self
    }

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        positive("l2", self.l2)
    }
}

/// `kind = "cell"`: hierarchical shrinkage of profile cells.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CellParams {
    /// Weight of the parent cell's distribution, in persons (default 5.0).
    pub prior_strength: f64,
    /// Added to every option's count of the whole sample (default 0.5).
    pub smoothing: f64,
}

impl Default for CellParams {
    fn default() -> Self {
        CellParams { prior_strength: 5.0, smoothing: 0.5 }
    }
}

impl CellParams {
    /// With prior strength `v` (positive).
    pub fn prior_strength(mut self, v: f64) -> Self {
        self.prior_strength = v;
        self
    }

    /// With additive smoothing `v` (positive).
    pub fn smoothing(mut self, v: f64) -> Self {
        self.smoothing = v;
        self
    }

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        positive("prior_strength", self.prior_strength)?;
        positive("smoothing", self.smoothing)
    }
}

/// `kind = "history"`: logistic regression on the answers to the other items.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryParams {
    /// L2 penalty on the weights (default 1.0).
    pub l2: f64,
}

impl Default for HistoryParams {
    fn default() -> Self {
        HistoryParams { l2: 1.0 }
    }
}

impl HistoryParams {
    /// With L2 penalty `v` (positive).
    pub fn l2(mut self, v: f64) -> Self {
        self.l2 = v;
        self
    }

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        positive("l2", self.l2)
    }
}

/// `kind = "external"`: a program answering JSON Lines requests (docs/simulate.md).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExternalParams {
    /// The program; a bare name is looked up on `PATH`.
    pub command: PathBuf,
    /// Its arguments (default none).
    pub args: Vec<String>,
    /// The longest wait for the next answer while requests are unanswered, in seconds
    /// (default 60).
    pub timeout_seconds: f64,
    /// How often each person is asked each item (default 1).
    pub repeats: usize,
    /// How many copies of the program run in parallel (default 1).
    pub concurrency: usize,
    /// Send the persona (default true); false is the unconditioned arm.
    pub persona: bool,
    /// The persona card template (MiniJinja); `None`: the default card.
    pub template: Option<PathBuf>,
    /// Added to each option's count of sampled answers (default 0.5).
    pub smoothing: f64,
}

impl ExternalParams {
    /// Runs `command`, with the defaults for everything else.
    pub fn new(command: impl Into<PathBuf>) -> Self {
        ExternalParams {
            command: command.into(),
            args: Vec::new(),
            timeout_seconds: 60.0,
            repeats: 1,
            concurrency: 1,
            persona: true,
            template: None,
            smoothing: 0.5,
        }
    }

    /// With the program's arguments.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// With time-out `seconds` (positive).
    pub fn timeout_seconds(mut self, seconds: f64) -> Self {
        self.timeout_seconds = seconds;
        self
    }

    /// Asking each person each item `n` times (at least 1).
    pub fn repeats(mut self, n: usize) -> Self {
        self.repeats = n;
        self
    }

    /// Running `n` copies of the program (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sending the persona, or `null` (the unconditioned arm).
    pub fn persona(mut self, on: bool) -> Self {
        self.persona = on;
        self
    }

    /// With the persona card template at `path`.
    pub fn template(mut self, path: impl Into<PathBuf>) -> Self {
        self.template = Some(path.into());
        self
    }

    /// With additive smoothing `v` of sampled answers (positive).
    pub fn smoothing(mut self, v: f64) -> Self {
        self.smoothing = v;
        self
    }

    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        if self.command.as_os_str().is_empty() {
            return Err("the command is empty: name the simulator to run".into());
        }
        if self.repeats == 0 {
            return Err("repeats must be at least 1".into());
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        positive("smoothing", self.smoothing)?;
        positive("timeout_seconds", self.timeout_seconds)
    }
}

/// A built-in predictor's kind with its parameters; each parameter struct converts into it.
///
/// ```
/// use populace::evaluation::{PredictorParams, PredictorSpec, ProfileParams};
///
/// let spec = PredictorSpec::new("profile", ProfileParams::default().l2(2.0).interactions(true)).unwrap();
/// assert!(matches!(&spec.params, PredictorParams::Profile(p) if p.l2 == 2.0 && p.interactions));
/// let bad = PredictorSpec::new("profile", ProfileParams::default().l2(-1.0)).unwrap_err();
/// assert_eq!(bad.to_string(), "predictor \"profile\": l2 must be positive, got -1");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PredictorParams {
    /// `kind = "population"`.
    Population(PopulationParams),
    /// `kind = "profile"`.
    Profile(ProfileParams),
    /// `kind = "cell"`.
    Cell(CellParams),
    /// `kind = "history"`.
    History(HistoryParams),
    /// `kind = "external"`.
    External(ExternalParams),
}

impl PredictorParams {
    /// The kind.
    pub fn kind(&self) -> PredictorKind {
        match self {
            PredictorParams::Population(_) => PredictorKind::Population,
            PredictorParams::Profile(_) => PredictorKind::Profile,
            PredictorParams::Cell(_) => PredictorKind::Cell,
            PredictorParams::History(_) => PredictorKind::History,
            PredictorParams::External(_) => PredictorKind::External,
        }
    }

    /// The first problem with the values, as a message without the predictor's name.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        match self {
            PredictorParams::Population(p) => p.validate(),
            PredictorParams::Profile(p) => p.validate(),
            PredictorParams::Cell(p) => p.validate(),
            PredictorParams::History(p) => p.validate(),
            PredictorParams::External(p) => p.validate(),
        }
    }
}

macro_rules! into_params {
    ($($params:ident => $variant:ident),*) => {$(
        impl From<$params> for PredictorParams {
            fn from(p: $params) -> Self {
                PredictorParams::$variant(p)
            }
        }
    )*};
}

into_params!(PopulationParams => Population, ProfileParams => Profile, CellParams => Cell, HistoryParams => History,
    ExternalParams => External);
