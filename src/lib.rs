//! # populace
//!
//! Synthetic populations calibrated to real survey marginals, persona pools drawn from them,
//! and honest tests of whether conditioning a predictor on a persona improves predictions of
//! individuals or only of populations.
//!
//! The modules follow the pipeline: [`inputs`] (spec, marginal tables, seed, validation) →
//! [`fitting`] (dense and junction-tree IPF, each an [`iteration::Solver`]) and
//! [`calibration`] (raking, linear, logit, entropy; integerization) → [`generation`] (persona
//! pools and cards) → [`comparison`] (pools against a truth) → [`evaluation`] (does
//! conditioning on a persona predict individuals or only populations; simulation fidelity) →
//! [`reports`] (output files written atomically, charts, the demo report). [`metrics`] scores
//! fit quality; [`frame`] is the categorical table the seed and the compared tables are
//! stored in; [`demo`] runs the whole pipeline on the embedded data.
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
//! let fit = fit_dense(&problem, &mut []).unwrap();
//! assert!(fit.convergence.converged);
//! let Table { values, .. } = &fit.joint; // age × sex × job, last attribute fastest
//! assert!((values[0] - 30.0 * 35.0 / 55.0).abs() < 1e-9); // young, f, yes
//! ```

#![warn(missing_docs)]

pub mod calibration;
pub mod comparison;
pub mod demo;
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

pub use error::{Error, Result};
