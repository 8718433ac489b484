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
//!    association measures), [`specfile`] (every TOML spec read the same way), [`missing`] (the
//!    one missing-value policy: which values are missing, and what is done with them) and
//!    [`frame`] (the dictionary-encoded categorical table that seeds, compared tables and
//!    responses are held in).
//! 2. [`inputs`]: the spec, marginal tables, the seed and the zones, read and validated into a
//!    [`Problem`](inputs::Problem) — or, for a household spec, households, persons, nested
//!    zones and controls into a [`HouseholdProblem`](inputs::HouseholdProblem), PopulationSim
//!    projects translated by [`import_populationsim`](inputs::import_populationsim); and what a fit is asked to do, the
//!    [`Method`](inputs::Method) (with the [`Calibration`](inputs::Calibration) it may carry) and
//!    the [`FitOptions`](inputs::FitOptions), here because the spec reads them and both fitting
//!    stages take them.
//! 3. [`integerize`]: integer counts from real weights (truncate-replicate-sample, the
//!    margin-preserving search) and integer targets from real ones.
//! 4. [`calibration`] (raking, linear, logit, entropy; seed re-weighting of a `Problem`, zone by
//!    zone), then [`fitting`] (a dense joint table by IPF, on the table or on a junction tree),
//!    whose [`fit`](fitting::fit) dispatches on the method to either and returns a
//!    [`Fitted`](fitting::Fitted) value; [`households`] fits household weights level by level
//!    (balancing, meta factoring, sub-balancing, integerizing) into
//!    [`HouseholdWeights`](households::HouseholdWeights).
//! 5. [`reports`]: output files written atomically, the fit and calibration reports, charts,
//!    and the layout of per-zone files.
//! 6. [`generation`] (persona pools and cards, drawn from a `Fitted` value; synthetic
//!    households and persons from household weights), then
//!    [`comparison`] (pools against a truth) and [`evaluation`] (does conditioning on a persona
//!    predict individuals or only populations; simulation fidelity), which draws its pools
//!    through `generation`.
//!
//! `docs/architecture.md` draws the data types passed between the stages and follows one spec
//! value from the command line down to a kernel.
//!
//! The `populace` command is built on the library with the `cli` feature (on by default); a
//! library user with `default-features = false` compiles neither it nor its dependencies (clap,
//! indicatif, anyhow), and without the `parquet` feature no Arrow or Parquet either.
//!
//! The stages work in memory, from margins given as text or columns to a verdict, with its
//! interval, on whether knowing a persona's profile predicts individuals (the command runs
//! the same code on files; [`evaluation`] shows a predictor of one's own):
//!
//! ```
//! use populace::evaluation::{
//!     DataSpec, Dataset, EvaluationSpec, Experiment, Population, PopulationParams, Profile, ProfileParams, Verdict,
//! };
//! use populace::fitting::{fit, FitOptions};
//! use populace::frame::Frame;
//! use populace::generation::{Batch, GenerateOptions, Pool};
//! use populace::inputs::{Csv, MarginInput, Problem};
//!
//! // Two margins that share sex: one as CSV text, one as columns in memory.
//! let age_sex = Csv::text("age_sex", "age,sex,count\nyoung,f,300\nyoung,m,200\nold,f,250\nold,m,250\n");
//! let sex_job = Frame::from_columns(&[("sex", ["f", "f", "m", "m"]), ("job", ["yes", "no", "yes", "no"])])?;
//! let problem = Problem::builder()
//!     .margin(MarginInput::csv(age_sex))
//!     .margin(MarginInput::frame("sex_job", sex_job).counts(vec![350.0, 200.0, 300.0, 150.0]))
//!     .build()?;
//!
//! // Fit the joint age × sex × job (IPF, the default)…
//! let fitted = fit(&problem, &FitOptions::default(), &mut [])?;
//! assert!(fitted.converged());
//!
//! // …and draw its 1,000 persons into memory: exact draws meet the margins.
//! let pool = Pool::from_fitted(&problem, &fitted, &GenerateOptions::default().card(None))?;
//! let mut persons: Vec<[String; 3]> = Vec::new();
//! let mut keep = |batch: &Batch| {
//!     persons.extend((0..batch.len()).map(|i| [0, 1, 2].map(|a| batch.value(i, a).to_string())));
//!     Ok(())
//! };
//! pool.write(&mut keep, &mut |_| {})?;
//! assert_eq!(persons.len(), 1000);
//! assert_eq!(persons.iter().filter(|[age, sex, _]| age == "young" && sex == "f").count(), 300);
//! assert_eq!(persons.iter().filter(|[_, sex, job]| sex == "m" && job == "no").count(), 150);
//!
//! // Give each person an answer that follows their job three times in four, and ask whether
//! // knowing the profile predicts individuals better than the population baseline does.
//! let answers: Vec<&str> = persons.iter().enumerate()
//!     .map(|(i, [_, _, job])| if (job == "yes") != (i % 4 == 0) { "agree" } else { "disagree" })
//!     .collect();
//! let ids: Vec<String> = (1..=persons.len()).map(|i| i.to_string()).collect();
//! let column = |a: usize| persons.iter().map(|p| p[a].as_str()).collect::<Vec<_>>();
//! let frame =
//!     Frame::from_columns(&[("age", column(0)), ("sex", column(1)), ("job", column(2)), ("answer", answers)])?;
//! let roles = DataSpec::new("pool", "id", ["age", "sex", "job"], ["answer"]);
//! let data = Dataset::from_frame(ids, frame, &roles, &[])?;
//! let result = Experiment::new()
//!     .with_predictor(Box::new(Population::new("population", PopulationParams::default())?))
//!     .with_predictor(Box::new(Profile::new("profile", ProfileParams::default())?))
//!     .with_evaluation(EvaluationSpec::default().bootstrap(200))
//!     .run(&data, &mut |_| {})?;
//! let r2 = &result.predictors["profile"].individual.overall.pseudo_r2;
//! assert!(r2.ci_low <= r2.estimate && r2.estimate <= r2.ci_high && r2.ci_low > 0.0);
//! assert_eq!(result.predictors["profile"].verdict, Verdict::ImprovesIndividuals);
//! # Ok::<(), populace::Error>(())
//! ```

#![warn(missing_docs)]

pub mod binning;
pub mod calibration;
pub mod cleanup;
pub mod comparison;
pub mod error;
pub mod evaluation;
pub mod fitting;
pub mod frame;
pub mod generation;
pub mod households;
pub mod inputs;
pub mod integerize;
pub mod iteration;
pub mod memory;
pub mod metrics;
pub mod missing;
pub mod reports;
pub mod specfile;

pub use error::{Error, Result};
