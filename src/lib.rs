//! # populace
//!
//! Synthetic populations calibrated to real survey marginals, persona pools drawn from them,
//! and honest tests of whether conditioning a predictor on a persona improves predictions of
//! individuals or only of populations.
//!
//! # Layers
//!
//! The modules follow the pipeline and form layers, bottom to top; a module uses only modules
//! of the layers below it (and none uses a module that uses it):
//!
//! 1. [`error`] (typed errors), [`memory`] (large buffers), [`iteration`] (the
//!    [`Solver`](iteration::Solver)/[`Runner`](iteration::Runner)/[`Observer`](iteration::Observer)
//!    protocol every fitting and calibration method follows), [`metrics`] (fit, distribution and
//!    association measures), [`specfile`] (every TOML spec read the same way) and [`frame`] (the
//!    dictionary-encoded categorical table that seeds, compared tables and responses are held in).
//! 2. [`inputs`]: the spec, marginal tables, the seed and the zones, read and validated into a
//!    [`Problem`](inputs::Problem); and what a fit is asked to do, the
//!    [`Method`](inputs::Method) (with the [`Calibration`](inputs::Calibration) it may carry) and
//!    the [`FitOptions`](inputs::FitOptions), here because the spec reads them and both fitting
//!    stages take them.
//! 3. [`integerize`]: integer counts from real weights (truncate-replicate-sample, the
//!    margin-preserving search) and integer targets from real ones.
//! 4. [`calibration`] (raking, linear, logit, entropy; seed re-weighting of a `Problem`, zone by
//!    zone), then [`fitting`] (a dense joint table by IPF, on the table or on a junction tree),
//!    whose [`fit`](fitting::fit) dispatches on the method to either and returns a
//!    [`Fitted`](fitting::Fitted) value.
//! 5. [`reports`]: output files written atomically, the fit and calibration reports, charts,
//!    and the layout of per-zone files.
//! 6. [`generation`] (persona pools and cards, drawn from a `Fitted` value), then
//!    [`comparison`] (pools against a truth) and [`evaluation`] (does conditioning on a persona
//!    predict individuals or only populations; simulation fidelity), which draws its pools
//!    through `generation`.
//!
//! The `populace` command is built on the library with the `cli` feature (on by default); a
//! library user with `default-features = false` compiles neither it nor its dependencies (clap,
//! indicatif, anyhow), and without the `parquet` feature no Arrow or Parquet either.
//!
//! ```
//! use populace::fitting::{fit_dense, Table};
//! use populace::inputs::{LoadOptions, Problem, Spec};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("age_sex.csv"), "age,sex,count\nyoung,f,30\nyoung,m,20\nold,f,25\nold,m,25\n").unwrap();
//! std::fs::write(dir.path().join("sex_job.csv"), "sex,job,count\nf,yes,35\nf,no,20\nm,yes,30\nm,no,15\n").unwrap();
//! std::fs::write(dir.path().join("spec.toml"), "[[margin]]\nfile = \"age_sex.csv\"\n[[margin]]\nfile = \"sex_job.csv\"\n").unwrap();
//!
//! let spec = Spec::from_path(&dir.path().join("spec.toml")).unwrap();
//! let problem = Problem::load(&spec, LoadOptions::default()).unwrap();
//! let fit = fit_dense(&problem, &spec.fit, &mut []).unwrap(); // the spec's [fit]: ipf
//! assert!(fit.convergence.converged);
//! let Table { values, .. } = &fit.joint; // age × sex × job, last attribute fastest
//! assert!((values[0] - 30.0 * 35.0 / 55.0).abs() < 1e-9); // young, f, yes
//! let age_job = fit.marginal(&["age", "job"]).unwrap();
//! assert!((age_job.values[0] - 30.0 * 35.0 / 55.0 - 20.0 * 30.0 / 45.0).abs() < 1e-9); // young, yes
//! ```

#![warn(missing_docs)]

pub mod calibration;
pub mod comparison;
pub mod error;
pub mod evaluation;
pub mod fitting;
pub mod frame;
pub mod generation;
pub mod inputs;
pub mod integerize;
pub mod iteration;
pub mod memory;
pub mod metrics;
pub mod reports;
pub mod specfile;

pub use error::{Error, Result};
