//! Outputs of `populace fit`: `joint.csv` and `report.json`.

use std::path::Path;

use serde::Serialize;

use super::atomic::write_atomic;
use crate::error::Result;
use crate::fitting::{DenseFit, MarginFit, Table, ZeroReport};
use crate::inputs::{Domain, Method, Problem};
use crate::iteration::Convergence;
use crate::missing::MissingCounts;

/// The content of `report.json` for a dense fit.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FitReport {
    /// Method name (`ipf`).
    pub method: &'static str,
    /// Sweeps, convergence (when false, the joint written is the last iterate), the largest
    /// margin deviation, the tolerances (`effective_tolerance = max(tolerance, 1e-14 × total)`:
    /// targets cannot be met more closely than round-off) and `fit_seconds`, the fit alone.
    #[serde(flatten)]
    pub convergence: Convergence,
    /// Wall time of the whole command, in seconds.
    pub seconds: f64,
    /// Total count of the fitted joint.
    pub total: f64,
    /// Number of cells of the joint.
    pub cells: usize,
    /// The joint's attributes, in column order.
    pub attributes: Vec<String>,
    /// The seed file, if any.
    pub seed: Option<String>,
    /// Per-margin fit.
    pub margins: Vec<MarginFit>,
    /// Warnings raised while loading (rescaled margins …).
    pub warnings: Vec<String>,
    /// What the inputs' missing values came to: the seed's, then each margin's that keeps them
    /// as the category `missing` (see [`crate::missing`]).
    pub missing: Vec<MissingCounts>,
    /// What the seed's zeros came to: sampling zeros filled (every one listed) or smoothed,
    /// structural zeros kept; absent for a seedless fit without structural zeros.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero_cells: Option<ZeroReport>,
}

impl FitReport {
    /// Builds the report of a dense fit; `seconds` is the command's wall time so far.
    pub fn new(problem: &Problem, fit: &DenseFit, seconds: f64) -> Self {
        FitReport {
            method: Method::Ipf.name(),
            convergence: fit.convergence.clone(),
            seconds,
            total: fit.joint.values.iter().sum(),
            cells: fit.joint.values.len(),
            attributes: fit.joint.attributes.iter().map(|&a| problem.domain.attribute(a).name().to_string()).collect(),
            seed: problem.seed.as_ref().map(|s| s.file.clone()),
            margins: fit.margins.clone(),
            warnings: problem.warnings.clone(),
            missing: problem.missing.clone(),
            zero_cells: fit.zeros.as_deref().cloned(),
        }
    }
}

/// Writes a table as tidy CSV: one column per attribute (in table order) plus `count`, one
/// row per cell in category order, zero cells included. Counts are written in the shortest
/// form that reads back to the same double.
pub fn write_joint_csv(path: &Path, domain: &Domain, table: &Table) -> Result<()> {
    write_atomic(path, |w| {
        let attrs: Vec<_> = table.attributes.iter().map(|&a| domain.attribute(a)).collect();
        let mut out = csv::Writer::from_writer(&mut *w);
        let mut header: Vec<&str> = attrs.iter().map(|a| a.name()).collect();
        header.push("count");
        out.write_record(&header)?;
        let mut number = ryu::Buffer::new();
        for (codes, value) in table.cells() {
            for (a, c) in attrs.iter().zip(codes) {
                out.write_field(&a.categories()[c as usize])?;
            }
            out.write_field(number.format(value))?;
            out.write_record(None::<&[u8]>)?;
        }
        out.flush()?;
        drop(out);
        w.flush()
    })
}
