//! The iteration protocol every fitting and calibration method follows: a [`Solver`] advances
//! one iteration at a time, a [`Runner`] iterates it until the [`Stopping`] rule says stop and
//! tells [`Observer`]s about each iteration, and a [`Convergence`] says how the run ended.
//!
//! ```
//! use populace::iteration::{Runner, Solver, Stopping};
//!
//! /// Halves the distance to a target each iteration.
//! struct Halving {
//!     x: f64,
//!     target: f64,
//! }
//!
//! impl Solver for Halving {
//!     fn iterate(&mut self) -> populace::Result<f64> {
//!         self.x += (self.target - self.x) / 2.0;
//!         Ok(self.deviation())
//!     }
//!     fn deviation(&mut self) -> f64 {
//!         (self.target - self.x).abs()
//!     }
//! }
//!
//! let mut solver = Halving { x: 0.0, target: 1.0 };
//! let outcome = Runner::new(Stopping::new(1e-3, 100).unwrap()).run(&mut solver).unwrap();
//! assert!(outcome.converged);
//! assert_eq!(outcome.iterations, 10); // 2⁻¹⁰ < 10⁻³ < 2⁻⁹
//! ```

use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Location, Result};

/// A fitting method, advanced one iteration at a time by a [`Runner`].
pub trait Solver {
    /// Performs one iteration (a sweep over the margins, a Newton step …) and returns an
    /// indicator of the largest absolute margin deviation. The indicator may be inexact; the
    /// runner asks [`Solver::deviation`] for the exact value before declaring convergence.
    fn iterate(&mut self) -> Result<f64>;

    /// The exact largest absolute deviation between the current fit's margins and their
    /// targets.
    fn deviation(&mut self) -> f64;

    /// The round-off floor of the problem: deviations below it cannot be told from zero.
    fn floor(&self) -> f64 {
        0.0
    }
}

/// Watches a run: called after every iteration.
pub trait Observer {
    /// `deviation` is the solver's indicator after `iteration` iterations (1-based).
    fn observe(&mut self, iteration: usize, deviation: f64);
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Convergence {
    /// Iterations performed.
    pub iterations: usize,
    /// Whether the exact deviation reached the effective tolerance.
    pub converged: bool,
    /// The exact largest absolute margin deviation at the end.
    pub max_deviation: f64,
    /// The tolerance asked for.
    pub tolerance: f64,
    /// `max(tolerance, solver floor)`: the tolerance actually applied.
    pub effective_tolerance: f64,
    /// Wall time of the iterations alone, in seconds (no input or output).
    pub fit_seconds: f64,
    /// How a dense fit ran: `dense` (on the table) or `junction-tree` (on the margins'
    /// cliques, the table built once at the end); absent for other fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<&'static str>,
}

/// The stopping rule of a run: converged when the largest absolute margin deviation is at most
/// `tolerance` (or the solver's round-off floor, if larger); given up after `max_iterations`
/// iterations. Checked when made, so a run never sees a tolerance that is negative or NaN, or
/// an iteration limit of zero.
///
/// ```
/// use populace::iteration::Stopping;
/// let stopping = Stopping::new(1e-8, 200).unwrap();
/// assert_eq!((stopping.tolerance(), stopping.max_iterations()), (1e-8, 200));
/// assert_eq!(Stopping::default(), Stopping::new(1e-10, 1000).unwrap());
/// assert!(Stopping::new(f64::NAN, 200).is_err() && Stopping::new(1e-8, 0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopping {
    tolerance: f64,
    max_iterations: usize,
}

impl Stopping {
    /// An absolute tolerance (finite, at least 0: a tolerance of 0 stops at the solver's
    /// round-off floor) and an iteration limit (at least 1).
    ///
    /// # Errors
    /// [`Error::Input`] naming the value out of range.
    pub fn new(tolerance: f64, max_iterations: usize) -> Result<Stopping> {
        let bad = |message: String| Err(Error::input(Location::file("stopping rule"), message));
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return bad(format!("tolerance must be a finite non-negative number, found {tolerance}"));
        }
        if max_iterations == 0 {
            return bad("max_iterations must be at least 1".into());
        }
        Ok(Stopping { tolerance, max_iterations })
    }

    /// The absolute tolerance on the largest margin deviation.
    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    /// The iteration limit.
    pub fn max_iterations(&self) -> usize {
        self.max_iterations
    }
}

impl Default for Stopping {
    /// Tolerance `1e-10`, at most 1000 iterations (the spec's `[fit]` defaults).
    fn default() -> Self {
        Stopping { tolerance: 1e-10, max_iterations: 1000 }
    }
}

/// Runs a solver until the largest absolute margin deviation is at most the tolerance, or
/// the iteration limit is reached.
pub struct Runner<'o> {
    tolerance: f64,
    max_iterations: usize,
    observers: Vec<&'o mut dyn Observer>,
}

impl<'o> Runner<'o> {
    /// A runner that stops as `stopping` says.
    pub fn new(stopping: Stopping) -> Self {
        Runner { tolerance: stopping.tolerance, max_iterations: stopping.max_iterations, observers: Vec::new() }
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: &'o mut dyn Observer) -> Self {
        self.observers.push(observer);
        self
    }

    /// Iterates `solver`; an error from the solver (infeasibility found mid-run) ends the run.
    pub fn run<S: Solver + ?Sized>(&mut self, solver: &mut S) -> Result<Convergence> {
        let start = Instant::now();
        let effective = self.tolerance.max(solver.floor());
        let mut iterations = 0;
        let mut converged = false;
        let mut deviation = f64::INFINITY;
        while iterations < self.max_iterations {
            let indicator = solver.iterate()?;
            iterations += 1;
            for o in self.observers.iter_mut() {
                o.observe(iterations, indicator);
            }
            if indicator <= effective {
                deviation = solver.deviation();
                if deviation <= effective {
                    converged = true;
                    break;
                }
            }
        }
        if !converged {
            deviation = solver.deviation();
            converged = deviation <= effective;
        }
        Ok(Convergence {
            iterations,
            converged,
            max_deviation: deviation,
            tolerance: self.tolerance,
            effective_tolerance: effective,
            fit_seconds: start.elapsed().as_secs_f64(),
            algorithm: None,
        })
    }
}
