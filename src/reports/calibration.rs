//! Outputs of `populace fit` for seed re-weighting methods: `weights.csv` and `report.json`.

use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use serde::Serialize;

use super::atomic::write_atomic;
use super::csvtext::csv_field;
use crate::calibration::{Calibration, ZoneFit, ZoneReport};
use crate::error::Result;
use crate::inputs::{Problem, RecordIds, ID_SEPARATOR, MIN_POSITIVE_COUNT};
use crate::missing::MissingCounts;

/// The content of `report.json` for seed re-weighting.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
    /// What the inputs' missing values came to: the seed's, then each margin's that keeps them
    /// as the category `missing` (see [`crate::missing`]).
    pub missing: Vec<MissingCounts>,
}

/// A line of the worst-zones summary.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
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
    /// Builds the report from the zones' fits by `method`.
    pub fn new(problem: &Problem, method: Calibration, fits: &[ZoneFit], fit_seconds: f64, seconds: f64) -> Self {
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
            method: method.name(),
            bounds: method.bounds(),
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
            missing: problem.missing.clone(),
        }
    }
}

/// Writes `weights.csv`: a `zone` column when there are zones, the seed's id column (or
/// columns, for a composite id; named as in the seed, else `row` with 1-based row numbers), `weight`, and `count` when the
/// weights were integerized. One row per seed record per zone, in zone then seed order.
///
/// Blocks of rows are encoded on every core and written in order, so the file is the same at
/// any thread count.
pub fn write_weights_csv(path: &Path, problem: &Problem, id_columns: &[String], fits: &[ZoneFit]) -> Result<()> {
    let ids = problem.seed.as_ref().map(|s| &s.ids);
    write_atomic(path, |w| {
        let zoned = fits.iter().any(|f| f.zone.is_some());
        let counted = fits.iter().any(|f| f.counts.is_some());
        let mut header = csv::Writer::from_writer(Vec::new());
        let id_names: Vec<&str> =
            if id_columns.is_empty() { vec!["row"] } else { id_columns.iter().map(String::as_str).collect() };
        let names =
            zoned.then_some("zone").into_iter().chain(id_names).chain(Some("weight")).chain(counted.then_some("count"));
        header.write_record(names)?;
        w.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
        // Buffers are reused from round to round: fresh ones would be faulted in page by
        // page every time.
        let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); ROUND_BLOCKS];
        for fit in fits {
            let n = fit.weights.len();
            let blocks = n.div_ceil(BLOCK_ROWS);
            for round in (0..blocks).step_by(ROUND_BLOCKS) {
                let count = (blocks - round).min(ROUND_BLOCKS);
                buffers[..count].par_iter_mut().enumerate().for_each(|(j, out)| {
                    let b = round + j;
                    out.clear();
                    encode_block(fit, ids, b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(n), out);
                });
                for block in &buffers[..count] {
                    w.write_all(block)?;
                }
            }
        }
        Ok(())
    })
}

/// Rows per block encoded by one task.
const BLOCK_ROWS: usize = 1 << 16;
/// Blocks encoded before they are written (bounds the memory held).
const ROUND_BLOCKS: usize = 32;

/// Appends the CSV text of rows `rows` of a zone's weights to `out`.
fn encode_block(fit: &ZoneFit, ids: Option<&RecordIds>, rows: Range<usize>, out: &mut Vec<u8>) {
    let (mut number, mut integer) = (ryu::Buffer::new(), itoa::Buffer::new());
    let mut zone = Vec::new();
    if let Some(name) = &fit.zone {
        csv_field(name, &mut zone);
        zone.push(b',');
    }
    for k in rows {
        let record = fit.record(k);
        out.extend_from_slice(&zone);
        match ids.and_then(|ids| ids.get(record)) {
            Some(id) => {
                for (i, part) in id.split(ID_SEPARATOR).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    csv_field(part, out);
                }
            }
            None => out.extend_from_slice(integer.format(record + 1).as_bytes()),
        }
        out.push(b',');
        // a positive weight too small for populace to read back as a seed weight is written 0
        let weight = match fit.weights[k] {
            w if w > 0.0 && w < MIN_POSITIVE_COUNT => 0.0,
            w => w,
        };
        out.extend_from_slice(number.format(weight).as_bytes());
        if let Some(counts) = &fit.counts {
            out.push(b',');
            out.extend_from_slice(integer.format(counts[k]).as_bytes());
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::fit_microdata;
    use crate::inputs::{Calibration, Csv, FitOptions, MarginInput, SeedInput};

    #[test]
    fn weights_too_small_to_read_back_are_written_as_zero() {
        let problem = Problem::builder()
            .margin(MarginInput::csv(Csv::text("sex", "sex,count\nf,6\nm,4\n")))
            .seed(SeedInput::csv(Csv::text("seed", "sex\nf\nm\nf\n")))
            .build()
            .unwrap();
        let mut fits = fit_microdata(&problem, Calibration::Rake, &FitOptions::default(), &mut []).unwrap();
        fits[0].weights[0] = 2e-298;
        fits[0].weights[1] = 1e-100;
        let mut out = Vec::new();
        encode_block(&fits[0], None, 0..3, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().map(|l| l.split(',').nth(1).unwrap()).collect::<Vec<_>>()[..2], ["0.0", "1e-100"]);
    }
}
