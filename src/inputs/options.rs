//! What a fit is asked to do: the [`Method`] with its parameters, and the [`FitOptions`] every
//! method reads (stopping rule, size limit, integerization).
//!
//! The types live here, with the spec, rather than in `fitting` or `calibration`: the spec's
//! `[fit]` is read into them, and both fitting stages take them, so they sit below both. A
//! method carries its parameters ([`Calibration::Logit`] its [`Bounds`]), so a method that
//! cannot run is refused when it is made, not when a fit reaches it.
//!
//! [`FitOptions`] are made through [`FitParams`], which [`FitParams::check`]s every value once
//! (the pattern of linfa's `ParamGuard`): a function taking `&FitOptions` never sees an invalid
//! one.
//!
//! A spec value's way down, `[fit] tolerance = 1e-8` say: [`Spec::from_path`](super::Spec::from_path)
//! checks it and keeps it in [`Spec::fit`](super::Spec::fit), a `FitOptions`; the command passes
//! that to [`fitting::fit`](crate::fitting::fit) with the [`Problem`](super::Problem); the dense
//! fit, or each zone's calibration, runs a [`Runner`](crate::iteration::Runner) with
//! [`FitOptions::stopping`], which compares every iteration's deviation with it.
//!
//! ```
//! use populace::inputs::{Bounds, Calibration, FitOptions, Integerize, Method};
//!
//! let options = FitOptions::default(); // ipf, tolerance 1e-10, at most 1000 sweeps
//! assert_eq!(options.method(), Method::Ipf);
//!
//! let logit = Calibration::logit(0.5, 2.0).unwrap();
//! let options = FitOptions::params()
//!     .method(Method::Calibrate(logit))
//!     .tolerance(1e-8)
//!     .integerize(Some(Integerize::Margins))
//!     .check()
//!     .unwrap();
//! assert_eq!((options.method().name(), options.stopping().tolerance()), ("logit", 1e-8));
//!
//! assert!(Bounds::new(1.5, 2.0).is_err()); // the lower bound must be below 1
//! // integer counts come from calibrated seed weights, which ipf does not make
//! assert!(FitOptions::params().integerize(Some(Integerize::Trs)).check().is_err());
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Result};
use crate::iteration::Stopping;

/// How calibrated weights are turned into integer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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

/// Bounds `L < 1 < U` on the g-weights `g = w/d` of [`Calibration::Logit`], both finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bounds {
    lower: f64,
    upper: f64,
}

impl Bounds {
    /// Checks `lower < 1 < upper`, both finite.
    ///
    /// # Errors
    /// [`Error::Input`] for bounds that are not finite or not on either side of 1.
    pub fn new(lower: f64, upper: f64) -> Result<Bounds> {
        if !(lower.is_finite() && upper.is_finite() && lower < 1.0 && upper > 1.0) {
            return Err(Error::input(
                Location::file("logit bounds"),
                format!("bounds [{lower}, {upper}] must be finite with lower < 1 < upper"),
            ));
        }
        Ok(Bounds { lower, upper })
    }

    /// The lower bound `L`.
    pub fn lower(&self) -> f64 {
        self.lower
    }

    /// The upper bound `U`.
    pub fn upper(&self) -> f64 {
        self.upper
    }
}

/// A calibration method: how seed weights are re-weighted to meet the margins. See the
/// [calibration module](crate::calibration) for the formulas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub enum Calibration {
    /// Iterative raking (IPF on the weights): minimum cross-entropy, `g = e^{x'λ}`. Margins
    /// that contradict each other make it stop unconverged at the iteration limit (Entropy,
    /// the same estimator, reports them as infeasible).
    Rake,
    /// Linear (GREG, chi-square distance): `g = 1 + x'λ`, closed form; weights may be negative.
    Linear,
    /// Bounded logit: `L < g < U`.
    Logit(Bounds),
    /// Minimum cross-entropy by Newton on the dual, with soft margins (importance) allowed;
    /// equal to [`Calibration::Rake`] when every margin is hard.
    Entropy,
}

impl Calibration {
    /// [`Calibration::Logit`] with [`Bounds::new`]`(lower, upper)`.
    ///
    /// # Errors
    /// Those of [`Bounds::new`].
    pub fn logit(lower: f64, upper: f64) -> Result<Calibration> {
        Bounds::new(lower, upper).map(Calibration::Logit)
    }

    /// The name used in specs and reports: `rake`, `linear`, `logit` or `entropy`.
    pub fn name(self) -> &'static str {
        match self {
            Calibration::Rake => "rake",
            Calibration::Linear => "linear",
            Calibration::Logit(_) => "logit",
            Calibration::Entropy => "entropy",
        }
    }

    /// `[L, U]` for logit.
    pub fn bounds(self) -> Option<[f64; 2]> {
        match self {
            Calibration::Logit(b) => Some([b.lower, b.upper]),
            _ => None,
        }
    }
}

/// The fitting method: a dense joint table by IPF, or the seed's weights calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub enum Method {
    /// Iterative proportional fitting of a dense contingency table (Deming–Stephan).
    #[default]
    Ipf,
    /// Re-weighting the seed's records, zone by zone.
    Calibrate(Calibration),
}

impl Method {
    /// The name used in specs and reports: `ipf` or the calibration's.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ipf => "ipf",
            Method::Calibrate(c) => c.name(),
        }
    }

    /// The calibration, for a method that re-weights seed records (rather than fitting a dense
    /// table).
    pub fn calibration(self) -> Option<Calibration> {
        match self {
            Method::Calibrate(c) => Some(c),
            Method::Ipf => None,
        }
    }
}

/// What an IPF fit does with a *sampling zero*: a positive target whose cells the seed has no
/// weight in (the sample missed persons who exist). See the README's "Sampling zeros".
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ZeroCells {
    /// Give the cells under each such target prior mass from the margins-only (seedless) fit,
    /// scaled to the seed's total, and keep every other seed zero (the default).
    Fill,
    /// Refuse the fit, listing every such target.
    Error,
    /// Smooth every cell that is not a structural zero: start from `(1 − w) × seed + w × prior`,
    /// both scaled to the seed's total, the prior being the margins-only fit; `w` in (0, 1).
    Prior(f64),
}

impl ZeroCells {
    /// The name used in specs and reports: `fill`, `error` or `prior`.
    pub fn name(self) -> &'static str {
        match self {
            ZeroCells::Fill => "fill",
            ZeroCells::Error => "error",
            ZeroCells::Prior(_) => "prior",
        }
    }
}

/// What a fit does, checked: the method and everything it reads. Made by
/// [`FitParams::check`] (or [`Default`]: ipf, the defaults of the spec's `[fit]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    method: Method,
    stopping: Stopping,
    max_cells: u64,
    integerize: Option<Integerize>,
    random_seed: u64,
    zero_cells: ZeroCells,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            method: Method::Ipf,
            stopping: Stopping::default(),
            max_cells: 1 << 30,
            integerize: None,
            random_seed: 1,
            zero_cells: ZeroCells::Fill,
        }
    }
}

impl FitOptions {
    /// Unchecked options with every default, to change and [`FitParams::check`].
    pub fn params() -> FitParams {
        FitParams::default()
    }

    /// These options, unchecked again, to change some and check anew.
    pub fn to_params(&self) -> FitParams {
        FitParams {
            method: self.method,
            tolerance: self.stopping.tolerance(),
            max_iterations: self.stopping.max_iterations(),
            max_cells: self.max_cells,
            integerize: self.integerize,
            random_seed: self.random_seed,
            zero_cells: self.zero_cells,
        }
    }

    /// The fitting method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// When the iterations stop.
    pub fn stopping(&self) -> Stopping {
        self.stopping
    }

    /// The largest dense table a fit may allocate, in cells.
    pub fn max_cells(&self) -> u64 {
        self.max_cells
    }

    /// How calibrated weights become integer counts; `None`: they stay real.
    pub fn integerize(&self) -> Option<Integerize> {
        self.integerize
    }

    /// Seed of the random stream of integerization (mixed with each zone's name).
    pub fn random_seed(&self) -> u64 {
        self.random_seed
    }

    /// What IPF does with a positive target the seed has no weight under.
    pub fn zero_cells(&self) -> ZeroCells {
        self.zero_cells
    }
}

/// [`FitOptions`] being made: set what differs from the defaults, then [`FitParams::check`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitParams {
    method: Method,
    tolerance: f64,
    max_iterations: usize,
    max_cells: u64,
    integerize: Option<Integerize>,
    random_seed: u64,
    zero_cells: ZeroCells,
}

impl Default for FitParams {
    /// Those of [`FitOptions::default`]: ipf; tolerance `1e-10`, at most 1000 iterations; at
    /// most 2³⁰ cells; no integerization; random seed 1; sampling zeros filled.
    fn default() -> Self {
        FitOptions::default().to_params()
    }
}

impl FitParams {
    /// The fitting method (default: ipf).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Converged when the largest absolute deviation of a fitted margin cell from its target
    /// is at most this (default `1e-10`).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Give up (and report non-convergence) after this many iterations (default 1000).
    pub fn max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// Refuse dense tables with more cells than this (default 2³⁰).
    pub fn max_cells(mut self, max_cells: u64) -> Self {
        self.max_cells = max_cells;
        self
    }

    /// Turn calibrated weights into integer counts (default: no).
    pub fn integerize(mut self, integerize: Option<Integerize>) -> Self {
        self.integerize = integerize;
        self
    }

    /// Seed of the integerization's random stream (default 1).
    pub fn random_seed(mut self, random_seed: u64) -> Self {
        self.random_seed = random_seed;
        self
    }

    /// What IPF does with a positive target the seed has no weight under (default
    /// [`ZeroCells::Fill`]).
    pub fn zero_cells(mut self, zero_cells: ZeroCells) -> Self {
        self.zero_cells = zero_cells;
        self
    }

    /// The options, once every value is checked.
    ///
    /// # Errors
    /// [`Error::Input`] for a stopping rule [`Stopping::new`] refuses, integerization asked
    /// of ipf (which fits a table, not seed weights), or a prior weight outside (0, 1).
    pub fn check(self) -> Result<FitOptions> {
        let stopping = Stopping::new(self.tolerance, self.max_iterations)?;
        if let ZeroCells::Prior(w) = self.zero_cells {
            if !(w > 0.0 && w < 1.0) {
                return Err(Error::input(
                    Location::file("fit options"),
                    format!("the prior weight of zero_cells = \"prior\" must be in (0, 1), found {w}"),
                ));
            }
        }
        if self.method == Method::Ipf && self.integerize.is_some() {
            return Err(Error::input(
                Location::file("fit options"),
                "integerization applies to seed re-weighting methods, not ipf",
            ));
        }
        Ok(FitOptions {
            method: self.method,
            stopping,
            max_cells: self.max_cells,
            integerize: self.integerize,
            random_seed: self.random_seed,
            zero_cells: self.zero_cells,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::Spec;

    #[test]
    fn check_refuses_each_invalid_value_once_and_keeps_valid_ones() {
        let input = |p: FitParams| matches!(p.check(), Err(Error::Input { .. }));
        assert!(input(FitOptions::params().tolerance(f64::NAN)));
        assert!(input(FitOptions::params().tolerance(-1e-9)));
        assert!(input(FitOptions::params().max_iterations(0)));
        assert!(input(FitOptions::params().integerize(Some(Integerize::Margins))));
        let rake = Method::Calibrate(Calibration::Rake);
        let options = FitOptions::params()
            .method(rake)
            .tolerance(0.0)
            .max_iterations(7)
            .max_cells(99)
            .integerize(Some(Integerize::Trs))
            .random_seed(5)
            .check()
            .unwrap();
        assert_eq!(
            (options.method(), options.stopping(), options.max_cells()),
            (rake, Stopping::new(0.0, 7).unwrap(), 99)
        );
        assert_eq!((options.integerize(), options.random_seed()), (Some(Integerize::Trs), 5));
        assert_eq!(options.to_params().check().unwrap(), options);
        assert_eq!(FitParams::default().check().unwrap(), FitOptions::default());
    }

    #[test]
    fn a_spec_fit_table_becomes_typed_options() {
        let spec = |fit: &str| {
            Spec::from_toml_str(&format!("[seed]\nfile = \"s.csv\"\n[[margin]]\nfile = \"m.csv\"\n{fit}"), "t")
        };
        assert_eq!(spec("").unwrap().fit, FitOptions::default());
        let logit = spec("[fit]\nmethod = \"logit\"\nbounds = [0.25, 4]\ntolerance = 1e-6\nmax_iterations = 50\nmax_cells = 10\nintegerize = \"margins\"\nrandom_seed = 3\nconsistency_tolerance = 0.01").unwrap();
        let bounds = Bounds::new(0.25, 4.0).unwrap();
        let expected = FitOptions::params()
            .method(Method::Calibrate(Calibration::Logit(bounds)))
            .tolerance(1e-6)
            .max_iterations(50)
            .max_cells(10)
            .integerize(Some(Integerize::Margins))
            .random_seed(3)
            .check()
            .unwrap();
        assert_eq!((logit.fit, logit.consistency_tolerance), (expected, 0.01));
        assert_eq!(logit.fit.method().name(), "logit");
        assert_eq!(Calibration::Logit(bounds).bounds(), Some([0.25, 4.0]));
        for (name, method) in
            [("rake", Calibration::Rake), ("linear", Calibration::Linear), ("entropy", Calibration::Entropy)]
        {
            let fit = spec(&format!("[fit]\nmethod = \"{name}\"")).unwrap().fit;
            assert_eq!((fit.method(), fit.method().calibration()), (Method::Calibrate(method), Some(method)));
        }
    }
}
