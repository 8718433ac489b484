//! Planning a pool: the fit (or naive stand-in) of every zone, the persons each zone gets, and
//! in exact mode the integer counts; then drawing persons from the plan.

use std::borrow::Cow;

use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::draw::{Choice, Picker};
use super::kinds::Kinds;
use super::{zone_rng, GenerateOptions, Mode};
use crate::error::{Error, Result};
use crate::fitting::{fit_joint, DenseFit, Fitted, Table};
use crate::inputs::{FitOptions, MarginTable, Problem, Seed, Zone};
use crate::integerize::{margin_preserving, round_margins, round_preserving_total, trs};
use crate::iteration::Observer;

/// Everything a pool draws from.
pub(crate) struct Planned<'a> {
    pub zones: Vec<ZonePlan<'a>>,
    pub method: String,
    pub converged: bool,
    pub warnings: Vec<String>,
}

/// One zone, ready to draw.
pub(crate) struct ZonePlan<'a> {
    /// The zone's name (`None` without zones).
    pub name: Option<String>,
    /// Persons to draw.
    pub persons: u64,
    /// Exact mode: the largest absolute error of a margin cell of the integer counts.
    pub margin_error: u64,
    /// The zone's stream, after integerization.
    rng: ChaCha8Rng,
    /// What a draw picks; `None`: every attribute separately (naive independent).
    units: Option<Units<'a>>,
    /// One choice of a unit, or one per attribute without units.
    choices: Vec<Choice>,
}

/// What one draw picks.
enum Units<'a> {
    /// Cells of a dense joint (row-major positions over `sizes`).
    Cells { sizes: Vec<usize>, cells: Vec<usize> },
    /// Seed records (positions in the seed; `None`: all of them).
    Records { seed: &'a Seed, records: Option<Vec<usize>> },
}

impl Units<'_> {
    /// Appends the category codes of unit `u`.
    fn push_codes(&self, u: usize, codes: &mut Vec<u32>) {
        match self {
            Units::Cells { sizes, cells } => {
                let start = codes.len();
                codes.resize(start + sizes.len(), 0);
                let mut index = cells[u];
                for (code, &size) in codes[start..].iter_mut().zip(sizes).rev() {
                    *code = (index % size) as u32;
                    index /= size;
                }
            }
            Units::Records { seed, records } => codes.extend(seed.record(records.as_ref().map_or(u, |r| r[u]))),
        }
    }
}

/// A zone's fitted counts, before the persons are decided.
enum Counts<'a> {
    /// Units with their (non-negative) weights.
    Units(Units<'a>, Vec<f64>),
    /// One-way distributions, one per attribute.
    OneWay(Vec<Vec<f64>>),
}

/// What a pool draws from, zone by zone, before the persons are decided: the fit of the
/// problem, or a naive stand-in for it.
pub(crate) struct Basis<'a> {
    /// Every zone's counts, in zone order.
    zones: Vec<Counts<'a>>,
    /// What the persons are drawn from (see [`GenerateSummary::method`](super::GenerateSummary::method)).
    method: String,
    converged: bool,
    warnings: Vec<String>,
}

/// The basis of a calibrated pool: the fitted joint's cells, or each zone's seed records with
/// their calibrated weights (negative weights count as zero). An owned fit gives its weights
/// up, so a pool fitted for itself holds them once.
///
/// # Errors
/// [`Error::Inconsistent`] when `fitted` is not a fit of `problem`'s zones and attributes.
pub(crate) fn calibrated<'a>(problem: &'a Problem, fitted: Cow<'_, Fitted>) -> Result<Basis<'a>> {
    let warnings = check_fitted(problem, &fitted)?;
    let (method, converged) = (fitted.method().name().to_string(), fitted.converged());
    let records = |records, weights| match &problem.seed {
        Some(seed) => Ok(Counts::Units(Units::Records { seed, records }, weights)),
        None => Err(Error::Inconsistent("seed re-weighting needs a [seed]".into())),
    };
    let zones = match fitted {
        Cow::Borrowed(Fitted::Joint(fit)) => vec![cells(&fit.joint)],
        Cow::Owned(Fitted::Joint(fit)) => vec![cells(&fit.joint)],
        Cow::Borrowed(Fitted::Weights { zones, .. }) => zones
            .iter()
            .map(|f| records(f.records.clone(), f.weights.iter().map(|&w| w.max(0.0)).collect()))
            .collect::<Result<_>>()?,
        Cow::Owned(Fitted::Weights { zones, .. }) => zones
            .into_iter()
            .map(|f| {
                let mut weights = f.weights;
                weights.iter_mut().for_each(|w| *w = w.max(0.0));
                records(f.records, weights)
            })
            .collect::<Result<_>>()?,
    };
    Ok(Basis { zones, method, converged, warnings })
}

/// Refuses a fit of other zones or attributes than `problem`'s; the warnings about the fit
/// (non-convergence, negative weights).
fn check_fitted(problem: &Problem, fitted: &Fitted) -> Result<Vec<String>> {
    let mismatch =
        |what: String| Err(Error::Inconsistent(format!("the fitted value is not a fit of the problem: {what}")));
    let mut warnings = Vec::new();
    match fitted {
        Fitted::Joint(fit) => {
            if problem.zones.len() != 1 {
                return mismatch(format!("one dense joint for {} zones", problem.zones.len()));
            }
            if fit.joint.sizes != problem.domain.all_sizes() {
                return mismatch(format!(
                    "a joint of sizes {:?} over attributes of sizes {:?}",
                    fit.joint.sizes,
                    problem.domain.all_sizes()
                ));
            }
            if !fit.convergence.converged {
                warnings.push(not_converged(problem, &[""]));
            }
            warnings.extend(fit.zeros.as_ref().and_then(|z| z.summary()));
        }
        Fitted::Weights { zones: fits, .. } => {
            let seed =
                problem.seed.as_ref().ok_or_else(|| Error::Inconsistent("seed re-weighting needs a [seed]".into()))?;
            if fits.len() != problem.zones.len() {
                return mismatch(format!("{} zones fitted for {}", fits.len(), problem.zones.len()));
            }
            for (fit, zone) in fits.iter().zip(&problem.zones) {
                let records = zone.records.as_ref().map_or(seed.len(), Vec::len);
                if fit.zone != zone.name || fit.weights.len() != records {
                    return mismatch(format!(
                        "{} weights of zone {:?} for {records} records of zone {:?}",
                        fit.weights.len(),
                        fit.zone,
                        zone.name
                    ));
                }
            }
            let unconverged: Vec<&str> = fits
                .iter()
                .filter(|f| !f.report.convergence.converged)
                .map(|f| f.zone.as_deref().unwrap_or(""))
                .collect();
            if !unconverged.is_empty() {
                warnings.push(not_converged(problem, &unconverged));
            }
            let negative: usize = fits.iter().map(|f| f.weights.iter().filter(|&&w| w < 0.0).count()).sum();
            if negative > 0 {
                warnings.push(format!("{negative} negative calibrated weights count as zero"));
            }
        }
    }
    Ok(warnings)
}

/// The basis of the naive seedless pool: IPF on every zone's margins from a uniform start,
/// stopping as `options` say (their method is not consulted).
pub(crate) fn seedless<'a>(
    problem: &'a Problem,
    options: &FitOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<Basis<'a>> {
    let fit_zone = |zone: &Zone, observers: &mut [&mut dyn Observer]| {
        fit_joint(&problem.domain, &zone.margins, None, &problem.structural_zeros, options, observers)
            .map_err(|e| zone.name_in(e))
    };
    let fits: Vec<DenseFit> = if problem.zones.len() == 1 {
        vec![fit_zone(&problem.zones[0], observers)?]
    } else {
        problem.zones.par_iter().map(|z| fit_zone(z, &mut [])).collect::<Result<_>>()?
    };
    let mut warnings = Vec::new();
    let unconverged: Vec<&str> = fits
        .iter()
        .zip(&problem.zones)
        .filter(|(f, _)| !f.convergence.converged)
        .map(|(_, z)| z.name.as_deref().unwrap_or(""))
        .collect();
    let converged = unconverged.is_empty();
    if !converged {
        warnings.push(not_converged(problem, &unconverged));
    }
    for (a, attribute) in problem.domain.attributes().iter().enumerate() {
        if !problem.zones[0].margins.iter().any(|m| m.attributes.contains(&a)) {
            warnings.push(format!(
                "naive seedless: {} is in no margin, so it is drawn uniformly over its categories",
                attribute.name()
            ));
        }
    }
    let zones = fits.iter().map(|f| cells(&f.joint)).collect();
    Ok(Basis { zones, method: "ipf".to_string(), converged, warnings })
}

/// The basis of the naive independent pool: every attribute's one-way distribution per zone.
pub(crate) fn independent(problem: &Problem) -> Result<Basis<'_>> {
    let zones = problem.zones.iter().map(|z| one_way(problem, z).map(Counts::OneWay)).collect::<Result<_>>()?;
    Ok(Basis { zones, method: "one-way margins".to_string(), converged: true, warnings: Vec::new() })
}

/// Decides every zone's draws from `basis`: `persons[z]` persons in zone `z` (see
/// [`zone_persons`]), integerized in exact mode.
pub(crate) fn plan<'a>(
    problem: &'a Problem,
    basis: Basis<'a>,
    options: &GenerateOptions,
    persons: Vec<u64>,
) -> Result<Planned<'a>> {
    let Basis { zones: counts, method, converged, mut warnings } = basis;
    let zones: Vec<ZonePlan<'a>> = problem
        .zones
        .par_iter()
        .zip(counts)
        .zip(persons)
        .map(|((zone, counts), persons)| build(problem, zone, counts, persons, options))
        .collect::<Result<_>>()?;
    for (z, zone) in zones.iter().zip(&problem.zones) {
        if options.mode == Mode::Exact && z.margin_error > 0 {
            warnings.push(format!(
                "{}exact mode could not meet every margin: a margin cell is off by up to {} (the fitted units \
                 cannot be combined into integer counts that meet every rounded target)",
                zone.prefix(),
                persons_count(z.margin_error)
            ));
        }
    }
    Ok(Planned { zones, method, converged, warnings })
}

/// `1 person`, `2 persons`.
fn persons_count(n: u64) -> String {
    format!("{n} person{}", if n == 1 { "" } else { "s" })
}

fn not_converged(problem: &Problem, zones: &[&str]) -> String {
    let which = if problem.zones.len() > 1 {
        let shown: Vec<&str> = zones.iter().take(5).copied().collect();
        let more = if zones.len() > 5 { format!(" and {} more", zones.len() - 5) } else { String::new() };
        format!(" in zones {}{more}", shown.join(", "))
    } else {
        String::new()
    };
    format!("the fit did not converge within [fit] max_iterations{which}; persons are drawn from the last iterate")
}

/// The positive cells of a fitted joint, as units.
fn cells<'a>(joint: &Table) -> Counts<'a> {
    let (cells, weights): (Vec<usize>, Vec<f64>) =
        joint.values.iter().enumerate().filter(|(_, &v)| v > 0.0).map(|(i, &v)| (i, v)).unzip();
    Counts::Units(Units::Cells { sizes: joint.sizes.clone(), cells }, weights)
}

/// Every attribute's one-way distribution in a zone: from the first margin that contains it,
/// else from the seed's design weights (of the zone's region).
fn one_way(problem: &Problem, zone: &Zone) -> Result<Vec<Vec<f64>>> {
    let domain = &problem.domain;
    (0..domain.attributes().len())
        .map(|a| {
            let mut dist = vec![0.0; domain.attribute(a).len()];
            if let Some(m) = zone.margins.iter().find(|m| m.attributes.contains(&a)) {
                let sizes = domain.sizes(&m.attributes);
                let position = m.attributes.iter().position(|&x| x == a).unwrap_or(0);
                for (cell, &t) in m.targets.iter().enumerate() {
                    dist[MarginTable::codes(&sizes, cell)[position] as usize] += t;
                }
            } else {
                let seed = problem.seed.as_ref().ok_or_else(|| {
                    Error::Inconsistent(format!("{} is in no margin and there is no seed", domain.attribute(a).name()))
                })?;
                let all: Vec<usize>;
                let records = match &zone.records {
                    Some(r) => r,
                    None => {
                        all = (0..seed.len()).collect();
                        &all
                    }
                };
                for &r in records {
                    dist[seed.code(r, a) as usize] += seed.weights[r];
                }
            }
            Ok(dist)
        })
        .collect()
}

/// Persons per zone: `persons` split over the zones in proportion to their totals (largest
/// remainders), or every zone's total rounded.
pub(crate) fn zone_persons(problem: &Problem, persons: Option<u64>) -> Vec<u64> {
    let totals: Vec<f64> = problem.zones.iter().map(Zone::total).collect();
    match persons {
        None => totals.iter().map(|t| t.round() as u64).collect(),
        Some(n) => {
            let sum: f64 = totals.iter().sum();
            round_preserving_total(&totals.iter().map(|t| t / sum * n as f64).collect::<Vec<_>>())
        }
    }
}

/// Decides a zone's choices: integer counts (exact) or weights (random).
fn build<'a>(
    problem: &Problem,
    zone: &Zone,
    counts: Counts<'a>,
    persons: u64,
    options: &GenerateOptions,
) -> Result<ZonePlan<'a>> {
    let mut rng = zone_rng(options.seed, zone.name.as_deref());
    let nothing = || {
        Error::Infeasible(format!("{}every fitted count is zero: there is nothing to draw persons from", zone.prefix()))
    };
    let mut plan = ZonePlan {
        name: zone.name.clone(),
        persons,
        margin_error: 0,
        rng: rng.clone(),
        units: None,
        choices: Vec::new(),
    };
    if persons == 0 {
        return Ok(plan);
    }
    match counts {
        Counts::OneWay(dists) => {
            for dist in dists {
                let total: f64 = dist.iter().sum();
                if total <= 0.0 {
                    return Err(nothing());
                }
                plan.choices.push(match options.mode {
                    Mode::Exact => Choice::Counts(round_preserving_total(
                        &dist.iter().map(|x| x / total * persons as f64).collect::<Vec<_>>(),
                    )),
                    Mode::Random => Choice::Weights(WeightedIndex::new(&dist).map_err(|_| nothing())?),
                });
            }
        }
        Counts::Units(units, weights) => {
            let total: f64 = weights.iter().sum();
            if total <= 0.0 || !total.is_finite() {
                return Err(nothing());
            }
            match options.mode {
                Mode::Random => {
                    plan.choices.push(Choice::Weights(WeightedIndex::new(&weights).map_err(|_| nothing())?));
                }
                Mode::Exact => {
                    let scaled: Vec<f64> = weights.iter().map(|w| w / total * persons as f64).collect();
                    let (counts, error) =
                        integerize(problem, zone, &units, &scaled, persons, &mut rng).map_err(|e| zone.name_in(e))?;
                    plan.persons = counts.iter().sum();
                    plan.margin_error = error;
                    plan.choices.push(Choice::Counts(counts));
                }
            }
            plan.units = Some(units);
        }
    }
    plan.rng = rng;
    Ok(plan)
}

/// Integer counts of the units meeting the zone's hard margins, scaled to `persons` and
/// rounded, where the units allow; and the largest margin cell error.
fn integerize(
    problem: &Problem,
    zone: &Zone,
    units: &Units<'_>,
    scaled: &[f64],
    persons: u64,
    rng: &mut ChaCha8Rng,
) -> Result<(Vec<u64>, u64)> {
    let hard: Vec<&MarginTable> = zone.margins.iter().filter(|m| m.importance.is_none()).collect();
    if hard.is_empty() {
        return Ok((trs(scaled, rng)?, 0));
    }
    let sizes: Vec<Vec<usize>> = hard.iter().map(|m| problem.domain.sizes(&m.attributes)).collect();
    let scaled_targets: Vec<Vec<f64>> = hard
        .iter()
        .map(|m| {
            let total = m.total();
            m.targets.iter().map(|t| t / total * persons as f64).collect()
        })
        .collect();
    let attributes: Vec<&[usize]> = hard.iter().map(|m| m.attributes.as_slice()).collect();
    let targets = round_margins(&problem.domain.all_sizes(), &attributes, &scaled_targets)?;
    let mut membership = Vec::with_capacity(scaled.len() * hard.len());
    let mut codes = Vec::with_capacity(problem.domain.attributes().len());
    for u in 0..scaled.len() {
        codes.clear();
        units.push_codes(u, &mut codes);
        for (m, s) in hard.iter().zip(&sizes) {
            let cell = m.attributes.iter().zip(s).fold(0usize, |acc, (&a, &n)| acc * n + codes[a] as usize);
            membership.push(cell as u32);
        }
    }
    let margin_sizes: Vec<usize> = hard.iter().map(|m| m.targets.len()).collect();
    let integerized = margin_preserving(scaled, &membership, &margin_sizes, &targets, rng)?;
    Ok((integerized.counts, integerized.max_abs_margin_error))
}

impl<'a> ZonePlan<'a> {
    /// A fresh start of the zone's draws: the same persons every time.
    pub(crate) fn draws(&self) -> Draws<'_> {
        Draws {
            rng: self.rng.clone(),
            units: self.units.as_ref(),
            pickers: self.choices.iter().map(Choice::picker).collect(),
        }
    }
}

/// The draws of one zone in progress.
pub(crate) struct Draws<'p> {
    rng: ChaCha8Rng,
    units: Option<&'p Units<'p>>,
    pickers: Vec<Picker<'p>>,
}

impl Draws<'_> {
    /// Number of units the zone draws from (0 when persons are drawn attribute by attribute).
    pub(crate) fn units(&self) -> usize {
        match self.units {
            Some(Units::Cells { cells, .. }) => cells.len(),
            Some(Units::Records { seed, records }) => records.as_ref().map_or(seed.len(), Vec::len),
            None => 0,
        }
    }

    /// Draws `persons` persons, appending the kind of each to `numbered`; `kinds` numbers the
    /// kinds not seen before (see [`Kinds::take_new`]).
    pub(crate) fn fill(&mut self, persons: usize, kinds: &mut Kinds, numbered: &mut Vec<u32>) {
        numbered.reserve(persons);
        match self.units {
            Some(units) => {
                for i in 0..persons {
                    let u = self.pickers[0].pick(&mut self.rng);
                    numbered.push(kinds.of_unit(u, i, |codes| units.push_codes(u, codes)));
                }
            }
            None => {
                let mut codes = Vec::with_capacity(self.pickers.len());
                for i in 0..persons {
                    codes.clear();
                    codes.extend(self.pickers.iter_mut().map(|p| p.pick(&mut self.rng) as u32));
                    numbered.push(kinds.of_codes(&codes, i));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{LoadOptions, Spec};

    /// A problem and the fit options of its spec.
    fn problem(zones: bool) -> (Problem, FitOptions) {
        let dir = tempfile::tempdir().unwrap();
        let (zone_col, rows) =
            if zones { ("zone,", vec!["a,x,10", "a,y,5", "b,x,2", "b,y,2"]) } else { ("", vec!["x,10", "y,5"]) };
        let text = format!("{zone_col}kind,count\n{}\n", rows.join("\n"));
        std::fs::write(dir.path().join("m.csv"), text).unwrap();
        let zones_block =
            if zones { "[zones]\ncolumn = \"zone\"\n[fit]\nmethod = \"rake\"\n[seed]\nfile = \"s.csv\"\n" } else { "" };
        std::fs::write(dir.path().join("s.csv"), "kind\nx\ny\n").unwrap();
        std::fs::write(dir.path().join("spec.toml"), format!("[[margin]]\nfile = \"m.csv\"\n{zones_block}")).unwrap();
        let spec = Spec::from_path(&dir.path().join("spec.toml")).unwrap();
        (Problem::load(&spec, LoadOptions::default()).unwrap(), spec.fit)
    }

    /// The calibrated basis of `problem`, fitted with `options`.
    fn basis<'a>(problem: &'a Problem, options: &FitOptions) -> Basis<'a> {
        calibrated(problem, Cow::Owned(crate::fitting::fit(problem, options, &mut []).unwrap())).unwrap()
    }

    #[test]
    fn persons_default_to_each_zone_total_and_split_in_proportion() {
        let (p, _) = problem(true);
        assert_eq!(zone_persons(&p, None), vec![15, 4]);
        assert_eq!(zone_persons(&p, Some(38)), vec![30, 8]);
        assert_eq!(zone_persons(&p, Some(1)), vec![1, 0]);
        assert_eq!(zone_persons(&problem(false).0, None), vec![15]);
    }

    #[test]
    fn cells_decode_row_major_with_the_last_attribute_fastest() {
        let units = Units::Cells { sizes: vec![2, 3], cells: vec![0, 4, 5] };
        let mut codes = Vec::new();
        for u in 0..3 {
            units.push_codes(u, &mut codes);
        }
        assert_eq!(codes, vec![0, 0, 1, 1, 1, 2]);
    }

    #[test]
    fn exact_plans_meet_the_scaled_margin() {
        let (p, fit) = problem(false);
        let options = GenerateOptions { persons: Some(30), ..GenerateOptions::default() };
        let planned = plan(&p, basis(&p, &fit), &options, zone_persons(&p, options.persons)).unwrap();
        let zone = &planned.zones[0];
        assert_eq!((zone.persons, zone.margin_error), (30, 0));
        let (mut kinds, mut numbered) = (Kinds::new(1, 2), Vec::new());
        zone.draws().fill(30, &mut kinds, &mut numbered);
        assert_eq!(numbered.iter().filter(|&&k| kinds.codes(k) == [0]).count(), 20);
    }

    #[test]
    fn an_empty_zone_draws_nothing() {
        let (p, fit) = problem(true);
        let options = GenerateOptions { persons: Some(1), ..GenerateOptions::default() };
        let planned = plan(&p, basis(&p, &fit), &options, zone_persons(&p, options.persons)).unwrap();
        assert_eq!(planned.zones.iter().map(|z| z.persons).collect::<Vec<_>>(), vec![1, 0]);
    }
}
