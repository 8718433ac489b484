//! Outputs of `populace fit` for seed re-weighting methods: `weights.csv` and `report.json`.

use std::path::Path;

use serde::Serialize;

use super::atomic::write_atomic;
use crate::error::Result;
use crate::fitting::{ZoneFit, ZoneReport};
use crate::inputs::Problem;

/// The content of `report.json` for seed re-weighting.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationReport {
    /// Method name (`rake`, `linear`, `logit`, `entropy`).
    pub method: &'static str,
    /// `[L, U]` for logit.
    pub bounds: Option<[f64; 2]>,
    /// Whether every zone converged.
    pub converged: bool,
    /// The largest number of iterations any zone took.
    pub iterations: usize,
    /// The largest absolute margin deviation over all zones.
    pub max_deviation: f64,
    /// Wall time of the calibration alone (no reading or writing), in seconds.
    pub fit_seconds: f64,
    /// Wall time of the whole command, in seconds.
    pub seconds: f64,
    /// The seed file.
    pub seed: Option<String>,
    /// Number of zones (1 without zones).
    pub zone_count: usize,
    /// Up to ten zones, worst first: unconverged before converged, then by deviation.
    pub worst_zones: Vec<WorstZone>,
    /// One report per zone, in zone order.
    pub zones: Vec<ZoneReport>,
    /// Warnings raised while loading (rescaled margins …).
    pub warnings: Vec<String>,
}

/// A line of the worst-zones summary.
#[derive(Debug, Clone, Serialize)]
pub struct WorstZone {
    /// The zone's name.
    pub zone: Option<String>,
    /// Whether it converged.
    pub converged: bool,
    /// Its largest absolute margin deviation.
    pub max_deviation: f64,
    /// Its Kish design effect.
    pub kish_deff: f64,
}

impl CalibrationReport {
    /// Builds the report from the zones' fits.
    pub fn new(problem: &Problem, fits: &[ZoneFit], fit_seconds: f64, seconds: f64) -> Self {
        let reports: Vec<ZoneReport> = fits.iter().map(|f| f.report.clone()).collect();
        let mut worst: Vec<WorstZone> = reports
            .iter()
            .map(|r| WorstZone {
                zone: r.zone.clone(),
                converged: r.convergence.converged,
                max_deviation: r.convergence.max_deviation,
                kish_deff: r.weights.kish_deff,
            })
            .collect();
        worst.sort_by(|a, b| a.converged.cmp(&b.converged).then(b.max_deviation.total_cmp(&a.max_deviation)));
        worst.truncate(10);
        CalibrationReport {
            method: problem.fit.method.name(),
            bounds: problem.fit.bounds,
            converged: reports.iter().all(|r| r.convergence.converged),
            iterations: reports.iter().map(|r| r.convergence.iterations).max().unwrap_or(0),
            max_deviation: reports.iter().map(|r| r.convergence.max_deviation).fold(0.0, f64::max),
            fit_seconds,
            seconds,
            seed: problem.seed.as_ref().map(|s| s.file.clone()),
            zone_count: reports.len(),
            worst_zones: worst,
            zones: reports,
            warnings: problem.warnings.clone(),
        }
    }
}

/// Writes `weights.csv`: a `zone` column when there are zones, the seed's id column (named
/// as in the seed, else `row` with 1-based row numbers), `weight`, and `count` when the
/// weights were integerized. One row per seed record per zone, in zone then seed order.
pub fn write_weights_csv(path: &Path, problem: &Problem, id_column: Option<&str>, fits: &[ZoneFit]) -> Result<()> {
    let seed = problem.seed.as_ref();
    write_atomic(path, |w| {
        let mut out = csv::Writer::from_writer(&mut *w);
        let zoned = fits.iter().any(|f| f.zone.is_some());
        let counted = fits.iter().any(|f| f.counts.is_some());
        let mut header = Vec::new();
        if zoned {
            header.push("zone");
        }
        header.push(id_column.unwrap_or("row"));
        header.push("weight");
        if counted {
            header.push("count");
        }
        out.write_record(&header)?;
        let mut number = ryu::Buffer::new();
        for fit in fits {
            for (k, (&record, &weight)) in fit.records.iter().zip(&fit.weights).enumerate() {
                if let Some(zone) = &fit.zone {
                    out.write_field(zone)?;
                }
                out.write_field(seed.map_or("", |s| s.ids[record].as_str()))?;
                out.write_field(number.format(weight))?;
                if let Some(counts) = &fit.counts {
                    out.write_field(counts[k].to_string())?;
                }
                out.write_record(None::<&[u8]>)?;
            }
        }
        out.flush()
    })
}
