//! Predictors from spec entries: the one place that knows every built-in kind.

use std::path::Path;

use crate::error::Result;

use super::external::External;
use super::params::PredictorParams;
use super::predictor::{Cell, History, Population, Predictor, Profile};
use super::spec::PredictorSpec;

/// Builds the predictor a spec entry describes; external predictors keep their answers in
/// `cache_dir` (see [`External::new`]).
///
/// # Errors
/// [`Error::Input`](crate::Error::Input) for parameters out of range; for external
/// predictors, the errors of [`External::new`].
pub fn build(spec: &PredictorSpec, cache_dir: Option<&Path>) -> Result<Box<dyn Predictor>> {
    let name = spec.name.clone();
    Ok(match &spec.params {
        PredictorParams::Population(p) => Box::new(Population::new(name, p.clone())?),
        PredictorParams::Profile(p) => Box::new(Profile::new(name, p.clone())?),
        PredictorParams::Cell(p) => Box::new(Cell::new(name, p.clone())?),
        PredictorParams::History(p) => Box::new(History::new(name, p.clone())?),
        PredictorParams::External(p) => Box::new(External::new(name, p.clone(), cache_dir)?),
    })
}
