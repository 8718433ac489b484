//! Predictors from spec entries: the one place that knows every built-in kind.

use std::path::Path;

use crate::error::Result;

use super::external::External;
use super::predictor::{Cell, History, Population, Predictor, Profile};
use super::spec::{PredictorKind, PredictorSpec};

/// Builds the predictor a spec entry describes; external predictors keep their answers in
/// `cache_dir` (see [`External::new`]).
pub fn build(spec: &PredictorSpec, cache_dir: Option<&Path>) -> Result<Box<dyn Predictor>> {
    let name = spec.name.clone();
    let smoothing = spec.smoothing.unwrap_or(0.5);
    let l2 = spec.l2.unwrap_or(1.0);
    Ok(match spec.kind {
        PredictorKind::Population => Box::new(Population::new(name, smoothing)),
        PredictorKind::Profile => Box::new(Profile::new(name, l2, spec.interactions.unwrap_or(false))),
        PredictorKind::Cell => Box::new(Cell::new(name, smoothing, spec.prior_strength.unwrap_or(5.0))),
        PredictorKind::History => Box::new(History::new(name, l2)),
        PredictorKind::External => Box::new(External::new(spec, cache_dir)?),
    })
}
