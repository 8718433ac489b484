//! Every distance and fit measure populace reports, by kind:
//!
//! * [`fit`]: how far an estimated table of counts is from a truth table, cell by cell (TAE,
//!   RMSE, SRMSE, the largest error, Hellinger, Kullback–Leibler), validated, as `compare` and
//!   the demo's margin fit use them;
//! * [`distribution`]: distances between two probability distributions over the same options
//!   (total variation, Jensen–Shannon, Wasserstein-1), as the evaluation compares predicted and
//!   observed answers;
//! * [`association`]: how strongly two categorical variables go together (Cramér's V), as
//!   `compare` checks that a pool keeps the truth's associations.
//!
//! Every function is re-exported here: `populace::metrics::srmse`,
//! `populace::metrics::total_variation`, `populace::metrics::cramers_v`.

pub mod association;
pub mod distribution;
pub mod fit;

pub use association::cramers_v;
pub use distribution::{jensen_shannon, total_variation, wasserstein1};
pub use fit::{fit_quality, hellinger, kl_divergence, max_abs_error, rmse, srmse, tae, FitQuality, MetricError, Side};
