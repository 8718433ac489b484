//! The outputs of a household fit: `weights.csv` (zone, seed household id, weight, and the
//! whole count when integerized) and `report.json` (per control and zone: target, result,
//! difference, % difference; per control: the statistics of PopulationSim's validation script
//! plus mean |% difference| and %RMSE; the expansion factors' uniformity per seed zone), and a
//! chart of each control's % differences.

use std::path::Path;

use serde::Serialize;

use super::chart::{Interval, IntervalPanel};
use super::csvtext::csv_field;
use super::write_atomic;
use crate::error::Result;
use crate::households::{Balancing, HouseholdWeights};
use crate::inputs::{HouseholdProblem, Mode};

/// One zone's result for one control.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ZoneResult {
    /// The zone.
    pub zone: String,
    /// Its target.
    pub target: f64,
    /// What the population gives: whole households when integerized, else the real weights.
    pub result: f64,
    /// `result − target`.
    pub difference: f64,
    /// `100 · difference / target` (absent for a zero target).
    pub pct_difference: Option<f64>,
}

/// A control's fit over the zones of its level, with the statistics of PopulationSim's
/// validation script (`scripts/validation.ipynb`).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ControlStatistics {
    /// Σ target.
    pub observed: f64,
    /// Σ result.
    pub predicted: f64,
    /// Σ (result − target).
    pub difference: f64,
    /// `100 · difference / observed`.
    pub pc_difference: Option<f64>,
    /// Mean % difference over the zones with a positive target.
    pub mean_pc_difference: Option<f64>,
    /// Mean |% difference| over the zones with a positive target.
    pub mean_abs_pc_difference: Option<f64>,
    /// Zones with a positive target.
    #[serde(rename = "N")]
    pub n: usize,
    /// `√ mean (result − target)²` over all zones.
    pub rmse: f64,
    /// `100 · rmse / mean target` (the %RMSE transport modellers quote).
    pub pct_rmse: Option<f64>,
    /// Standard deviation (n − 1) of the % differences of zones with a positive target.
    pub std: Option<f64>,
}

/// One control in the report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ControlReport {
    /// Its name.
    pub name: String,
    /// Its level.
    pub geography: String,
    /// `households` or `persons`.
    pub table: &'static str,
    /// Its importance (`null`: hard).
    pub importance: Option<f64>,
    /// Its expression.
    pub expression: String,
    /// The statistics over its zones.
    pub statistics: ControlStatistics,
    /// Each zone.
    pub zones: Vec<ZoneResult>,
}

/// Expansion factors (weight over design weight) in one seed zone, as PopulationSim's
/// validation script's uniformity table.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Uniformity {
    /// The seed zone.
    pub zone: String,
    /// Σ design weights.
    #[serde(rename = "W")]
    pub w: f64,
    /// Σ final weights.
    #[serde(rename = "Z")]
    pub z: f64,
    /// Households in the seed.
    #[serde(rename = "N")]
    pub n: usize,
    /// `Z / W`.
    pub expansion: f64,
    /// The least household expansion factor.
    pub expansion_min: f64,
    /// The largest.
    pub expansion_max: f64,
    /// Root mean square of the households' expansion factors around `Z / W`.
    pub rmse: f64,
}

/// `report.json` of a household fit.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HouseholdReport {
    /// `households`.
    pub kind: &'static str,
    /// `synthesize` or `survey_weighting`.
    pub mode: Mode,
    /// Whether every balancing converged.
    pub converged: bool,
    /// Whether the weights are whole households.
    pub integerized: bool,
    /// The levels, largest first.
    pub geographies: Vec<String>,
    /// The seed level.
    pub seed_geography: String,
    /// Households in the seed (fitted), persons with them.
    pub seed_households: usize,
    /// Persons of the seed households.
    pub seed_persons: usize,
    /// Households in the population (Σ of the lowest level's counts or weights).
    pub households: f64,
    /// Persons in the population.
    pub persons: f64,
    /// Balancings run.
    pub balancings: usize,
    /// Sweeps per balancing step (`initial`, `final`, `sub`): runs, mean and largest sweeps.
    pub sweeps: Vec<Sweeps>,
    /// Those that did not converge.
    pub not_converged: Vec<Balancing>,
    /// Each control.
    pub controls: Vec<ControlReport>,
    /// Expansion factors per seed zone.
    pub uniformity: Vec<Uniformity>,
    /// What the user should know about the inputs.
    pub notes: Vec<String>,
    /// Wall time of the fit, seconds.
    pub fit_seconds: f64,
    /// Wall time of the command, seconds.
    pub seconds: f64,
}

impl HouseholdReport {
    /// The report of `weights`, fitted to `problem`.
    pub fn new(
        problem: &HouseholdProblem,
        weights: &HouseholdWeights,
        mode: Mode,
        fit_seconds: f64,
        seconds: f64,
    ) -> Self {
        let geography = &problem.geography;
        let lowest = weights.lowest();
        let final_of = |i: usize| lowest.count.as_ref().map_or(lowest.weight[i], |c| c[i] as f64);
        let persons_of = |h: usize| problem.persons.as_ref().map_or(0.0, |p| p.of(h).len() as f64);
        let controls = problem
            .controls
            .iter()
            .enumerate()
            .map(|(c, control)| {
                let zones_of_level = &geography.levels[control.level];
                let mut result = vec![0.0; zones_of_level.len()];
                // The household's value on the control.
                let mut value = vec![0.0; problem.households.len()];
                let (h, v) = problem.incidence.control(c);
                for (&h, &v) in h.iter().zip(v) {
                    value[h as usize] = v;
                }
                for i in 0..lowest.len() {
                    let zone = lowest.zone[i] as usize;
                    let z = if control.level <= lowest.level {
                        geography.ancestor(lowest.level, zone, control.level)
                    } else {
                        continue;
                    };
                    result[z] += final_of(i) * value[lowest.household[i] as usize];
                }
                let zones: Vec<ZoneResult> = control
                    .targets
                    .iter()
                    .zip(&result)
                    .enumerate()
                    .map(|(z, (&target, &result))| ZoneResult {
                        zone: zones_of_level.zones[z].clone(),
                        target,
                        result,
                        difference: result - target,
                        pct_difference: (target > 0.0).then(|| 100.0 * (result - target) / target),
                    })
                    .collect();
                ControlReport {
                    name: control.name.clone(),
                    geography: zones_of_level.name.clone(),
                    table: control.table.as_str(),
                    importance: control.importance,
                    expression: control.expression.clone(),
                    statistics: statistics(&zones),
                    zones,
                }
            })
            .collect();
        let mut uniformity = Vec::new();
        let seed = &geography.levels[geography.seed];
        let mut final_weight = vec![0.0; problem.households.len()];
        for i in 0..lowest.len() {
            final_weight[lowest.household[i] as usize] += final_of(i);
        }
        for s in 0..seed.len() {
            let range = problem.households.of_zone(s);
            if range.is_empty() {
                continue;
            }
            let w: f64 = problem.households.weights[range.clone()].iter().sum();
            let z: f64 = final_weight[range.clone()].iter().sum();
            let expansion = if w > 0.0 { z / w } else { 0.0 };
            let factors: Vec<f64> = range.clone().map(|h| final_weight[h] / problem.households.weights[h]).collect();
            let rmse = (factors.iter().map(|f| (f - expansion).powi(2)).sum::<f64>() / factors.len() as f64).sqrt();
            uniformity.push(Uniformity {
                zone: seed.zones[s].clone(),
                w,
                z,
                n: range.len(),
                expansion,
                expansion_min: factors.iter().copied().fold(f64::INFINITY, f64::min),
                expansion_max: factors.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                rmse,
            });
        }
        let households: f64 = (0..lowest.len()).map(final_of).sum();
        let persons: f64 = (0..lowest.len()).map(|i| final_of(i) * persons_of(lowest.household[i] as usize)).sum();
        HouseholdReport {
            kind: "households",
            mode,
            converged: weights.converged(),
            integerized: weights.integerized,
            geographies: geography.levels.iter().map(|l| l.name.clone()).collect(),
            seed_geography: seed.name.clone(),
            seed_households: problem.households.len(),
            seed_persons: problem.persons.as_ref().map_or(0, |p| p.rows.len()),
            households,
            persons,
            balancings: weights.balancings.len(),
            sweeps: sweeps(&weights.balancings),
            not_converged: weights.balancings.iter().filter(|b| !b.convergence.converged).cloned().collect(),
            controls,
            uniformity,
            notes: problem.notes.clone(),
            fit_seconds,
            seconds,
        }
    }

    /// One forest panel per level: each control's mean % difference over its zones, with
    /// ± one standard deviation.
    pub fn panels(&self) -> Vec<IntervalPanel> {
        self.geographies
            .iter()
            .filter_map(|level| {
                let controls: Vec<&ControlReport> = self.controls.iter().filter(|c| &c.geography == level).collect();
                if controls.is_empty() {
                    return None;
                }
                let points = controls
                    .iter()
                    .enumerate()
                    .filter_map(|(row, c)| {
                        let mean = c.statistics.mean_pc_difference?;
                        let sd = c.statistics.std.unwrap_or(0.0);
                        Some(Interval { row, series: 0, estimate: mean, low: mean - sd, high: mean + sd })
                    })
                    .collect();
                Some(IntervalPanel {
                    title: format!("{level} controls: % difference from target (mean ± sd over zones)"),
                    axis: "% difference".into(),
                    rows: controls.iter().map(|c| c.name.clone()).collect(),
                    series: vec![if self.integerized { "whole households".into() } else { "weights".into() }],
                    points,
                    reference: Some(0.0),
                })
            })
            .collect()
    }
}

/// How many sweeps one balancing step took over its runs.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Sweeps {
    /// `initial`, `final` or `sub`.
    pub step: &'static str,
    /// Balancings run in the step.
    pub runs: usize,
    /// Mean sweeps per run.
    pub mean: f64,
    /// The most sweeps of a run.
    pub max: usize,
}

/// Sweeps per step of `balancings`, in step order.
fn sweeps(balancings: &[Balancing]) -> Vec<Sweeps> {
    ["initial", "final", "sub"]
        .into_iter()
        .filter_map(|step| {
            let runs: Vec<usize> =
                balancings.iter().filter(|b| b.step == step).map(|b| b.convergence.iterations).collect();
            (!runs.is_empty()).then(|| Sweeps {
                step,
                runs: runs.len(),
                mean: runs.iter().sum::<usize>() as f64 / runs.len() as f64,
                max: runs.iter().copied().max().unwrap_or(0),
            })
        })
        .collect()
}

/// The validation statistics of a control's zones.
fn statistics(zones: &[ZoneResult]) -> ControlStatistics {
    let observed: f64 = zones.iter().map(|z| z.target).sum();
    let predicted: f64 = zones.iter().map(|z| z.result).sum();
    let pcs: Vec<f64> = zones.iter().filter_map(|z| z.pct_difference).collect();
    let n = pcs.len();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let mean_pc = mean(&pcs);
    let abs: Vec<f64> = pcs.iter().map(|p| p.abs()).collect();
    let rmse = if zones.is_empty() {
        0.0
    } else {
        (zones.iter().map(|z| z.difference * z.difference).sum::<f64>() / zones.len() as f64).sqrt()
    };
    let mean_target = observed / zones.len().max(1) as f64;
    let std = (n > 1).then(|| {
        let m = mean_pc.unwrap_or(0.0);
        (pcs.iter().map(|p| (p - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    });
    ControlStatistics {
        observed,
        predicted,
        difference: predicted - observed,
        pc_difference: (observed > 0.0).then(|| 100.0 * (predicted - observed) / observed),
        mean_pc_difference: mean_pc,
        mean_abs_pc_difference: mean(&abs),
        n,
        rmse,
        pct_rmse: (mean_target > 0.0).then(|| 100.0 * rmse / mean_target),
        std,
    }
}

/// Writes the lowest level's weights: the zone, the seed household id, the real weight and,
/// when integerized, the whole count; one row per zone and household with a positive weight or
/// count, in zone order.
pub fn write_household_weights_csv(path: &Path, problem: &HouseholdProblem, weights: &HouseholdWeights) -> Result<()> {
    let lowest = weights.lowest();
    let level = &problem.geography.levels[lowest.level];
    let mut order: Vec<usize> = (0..lowest.len()).collect();
    order.sort_by_key(|&i| (lowest.zone[i], lowest.household[i]));
    write_atomic(path, |out| {
        let mut line = Vec::with_capacity(128);
        csv_field(&level.name, &mut line);
        line.push(b',');
        csv_field(&problem.id_column, &mut line);
        line.extend_from_slice(b",weight");
        if lowest.count.is_some() {
            line.extend_from_slice(b",count");
        }
        line.push(b'\n');
        out.write_all(&line)?;
        let mut ryu = ryu::Buffer::new();
        for i in order {
            line.clear();
            csv_field(&level.zones[lowest.zone[i] as usize], &mut line);
            line.push(b',');
            csv_field(&problem.households.ids[lowest.household[i] as usize], &mut line);
            line.push(b',');
            line.extend_from_slice(ryu.format(lowest.weight[i]).as_bytes());
            if let Some(count) = &lowest.count {
                line.push(b',');
                line.extend_from_slice(itoa::Buffer::new().format(count[i]).as_bytes());
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    })
}

/// Writes the seed level's weights, one row per seed household: the seed zone, the household
/// id, its design weight, its weight after initial balancing (`preliminary_weight`), after
/// final balancing (`weight`) and, when integerized, its whole count — PopulationSim's
/// `<SEED>_weights` table.
pub fn write_seed_weights_csv(path: &Path, problem: &HouseholdProblem, weights: &HouseholdWeights) -> Result<()> {
    let seed = &weights.levels[0];
    let level = &problem.geography.levels[seed.level];
    let n = problem.households.len();
    let mut balanced = vec![0.0; n];
    let mut counts = seed.count.as_ref().map(|_| vec![0u64; n]);
    for i in 0..seed.len() {
        let h = seed.household[i] as usize;
        balanced[h] = seed.weight[i];
        if let (Some(all), Some(c)) = (&mut counts, &seed.count) {
            all[h] = c[i];
        }
    }
    write_atomic(path, |out| {
        let mut line = Vec::with_capacity(128);
        csv_field(&level.name, &mut line);
        line.push(b',');
        csv_field(&problem.id_column, &mut line);
        line.extend_from_slice(b",design_weight,preliminary_weight,weight");
        if counts.is_some() {
            line.extend_from_slice(b",count");
        }
        line.push(b'\n');
        out.write_all(&line)?;
        let mut ryu = ryu::Buffer::new();
        for h in 0..n {
            line.clear();
            csv_field(&level.zones[problem.households.seed_zone[h] as usize], &mut line);
            line.push(b',');
            csv_field(&problem.households.ids[h], &mut line);
            for w in [problem.households.weights[h], weights.preliminary[h], balanced[h]] {
                line.push(b',');
                line.extend_from_slice(ryu.format(w).as_bytes());
            }
            if let Some(c) = &counts {
                line.push(b',');
                line.extend_from_slice(itoa::Buffer::new().format(c[h]).as_bytes());
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
        Ok(())
    })
}
