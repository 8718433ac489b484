//! Inputs: the spec, marginal tables and the seed, read and validated into a [`Problem`]; the
//! spec's `[fit]`, read into [`FitOptions`] (the [`Method`] and what it reads), which fitting
//! takes next to the problem.
//!
//! Every check names the file, line, column and value at fault. Loading enforces:
//! categories belong to their declared lists; counts and weights are finite and
//! non-negative; no cell appears twice; every margin sums to the same total (or is rescaled
//! to the first margin's total with `rescale`); overlapping margins agree on the
//! sub-margin they share.
//!
//! Zones: a [`Selection`] picks the zones a sharded run covers, [`for_each_chunk`] goes through
//! them in sub-problems, and [`stream_seed`] seeds each zone's own random stream.

mod csvfile;
mod domain;
mod margin;
mod options;
mod plain;
mod seed;
mod spec;
mod zones;

pub(crate) use csvfile::CsvFile;
pub use domain::{Attribute, Domain};
pub use margin::MarginTable;
pub use options::{Bounds, Calibration, FitOptions, FitParams, Integerize, Method};
pub use seed::{RecordIds, Seed};
pub use spec::{MarginSpec, SeedSpec, Spec, ZonesSpec};
pub use zones::{for_each_chunk, stream_seed, Selection, Shard};

use crate::error::{Error, Location, Result};

/// Options that change how inputs are reconciled.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Scale every margin to the first margin's total instead of rejecting totals that
    /// disagree; each scaling is reported as a warning.
    pub rescale: bool,
}

/// The data a fit is asked to meet, validated: attributes, zones with their margins, and the
/// seed. How to fit it ([`FitOptions`]) is given to the fit alongside, so one problem can be
/// fitted several ways.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Attributes of the joint, in output order (declared first, then first appearance).
    pub domain: Domain,
    /// The zones, each with its margins; a problem without `[zones]` has one unnamed zone.
    pub zones: Vec<Zone>,
    /// The seed, if the spec names one.
    pub seed: Option<Seed>,
    /// Things the user should know that did not stop the load (rescaled margins, say).
    pub warnings: Vec<String>,
}

/// One zone: its margins and the seed records it may draw on.
#[derive(Debug, Clone)]
pub struct Zone {
    /// The zone's name; `None` for a problem without zones.
    pub name: Option<String>,
    /// Its marginal tables, in spec order.
    pub margins: Vec<MarginTable>,
    /// The seed records mapped to the zone's region; `None` means every record.
    pub records: Option<Vec<usize>>,
}

impl Zone {
    /// The common total of the zone's margins (the first margin's).
    pub fn total(&self) -> f64 {
        self.margins[0].total()
    }

    /// `zone NAME: ` for messages about a named zone, else nothing.
    pub fn prefix(&self) -> String {
        self.name.as_ref().map_or(String::new(), |n| format!("zone {n}: "))
    }
}

impl Problem {
    /// Loads and validates every input named by `spec`, reconciling margins to within its
    /// `consistency_tolerance`. Its [`Spec::fit`] says how to fit the problem; it is passed to
    /// the fit alongside.
    pub fn load(spec: &Spec, options: LoadOptions) -> Result<Problem> {
        let mut domain = Domain::declared(&spec.attributes);
        let mut zone_names = margin::ZoneNames::default();
        let zone_column = spec.zones.as_ref().map(|z| z.column.as_str());
        let mut raw = Vec::with_capacity(spec.margins.len());
        for m in &spec.margins {
            let path = spec.resolve(&m.file);
            let how = margin::MarginRead {
                display: &path.display().to_string(),
                count: &m.count,
                importance: m.importance,
                zone: zone_column,
            };
            raw.push(margin::read(&path, how, &mut domain, &mut zone_names)?);
        }
        let all: Vec<usize> = (0..domain.attributes().len()).collect();
        let seed = match &spec.seed {
            Some(s) => {
                let path = spec.resolve(&s.file);
                let columns = seed::SeedColumns {
                    weight: s.weight.as_deref(),
                    id: s.id.as_deref(),
                    region: spec.zones.as_ref().and_then(|z| z.seed_region.as_deref()),
                };
                Some(seed::read(&path, &path.display().to_string(), columns, &domain)?)
            }
            None => None,
        };
        let nzones = zone_names.names.len();
        let per_margin: Vec<Vec<MarginTable>> = raw.into_iter().map(|m| m.finish(&domain, nzones)).collect();
        let in_margin = |a: usize| per_margin.iter().any(|m| m[0].attributes.contains(&a));
        if let Some(unused) = all.iter().find(|&&a| !in_margin(a) && seed.is_none()) {
            return Err(Error::input(
                Location::file(&spec.source),
                format!(
                    "[attributes] declares {}, which appears in no margin, and there is no seed to take it from",
                    domain.attribute(*unused).name()
                ),
            ));
        }
        let records = match (&spec.zones, &seed) {
            (Some(z), Some(seed)) if z.map.is_some() => Some(zones::records_by_region(spec, z, &zone_names, seed)?),
            _ => None,
        };
        let mut zones: Vec<Zone> = (0..nzones.max(1))
            .map(|z| Zone {
                name: spec.zones.as_ref().map(|_| zone_names.names[z].clone()),
                margins: per_margin.iter().map(|m| m[z].clone()).collect(),
                records: records.as_ref().map(|r| r[z].clone()),
            })
            .collect();
        let mut warnings = Vec::new();
        for zone in &mut zones {
            reconcile_totals(zone, spec.consistency_tolerance, options.rescale, &mut warnings)?;
            check_shared_margins(&domain, zone, spec.consistency_tolerance)?;
        }
        check_tolerance(spec, &zones, &mut warnings)?;
        Ok(Problem { domain, zones, seed, warnings })
    }

    /// The only zone of a problem without `[zones]`.
    pub fn single_zone(&self) -> &Zone {
        &self.zones[0]
    }
}

/// Sums a margin's targets onto a subset of its attributes (row-major in `onto` order).
fn project(domain: &Domain, margin: &MarginTable, onto: &[usize]) -> Vec<f64> {
    {
        let sizes = domain.sizes(&margin.attributes);
        let onto_sizes = domain.sizes(onto);
        let position: Vec<usize> =
            onto.iter().map(|a| margin.attributes.iter().position(|x| x == a).expect("subset of the margin")).collect();
        let mut out = vec![0.0; onto_sizes.iter().product()];
        for (index, &t) in margin.targets.iter().enumerate() {
            let codes = MarginTable::codes(&sizes, index);
            let j = position.iter().zip(&onto_sizes).fold(0usize, |acc, (&p, &s)| acc * s + codes[p] as usize);
            out[j] += t;
        }
        out
    }
}

fn reconcile_totals(zone: &mut Zone, tolerance: f64, rescale: bool, warnings: &mut Vec<String>) -> Result<()> {
    let prefix = zone.prefix();
    let totals: Vec<f64> = zone.margins.iter().map(MarginTable::total).collect();
    for (m, &t) in zone.margins.iter().zip(&totals) {
        if !t.is_finite() {
            return Err(Error::input(Location::file(&m.file), format!("{prefix}the counts sum to infinity")));
        }
        if t <= 0.0 {
            return Err(Error::input(
                Location::file(&m.file),
                format!("{prefix}every count is zero (or the zone has no rows): a margin needs a positive total"),
            ));
        }
    }
    let reference = totals[0];
    for (i, &total) in totals.iter().enumerate().skip(1) {
        let relative = (total - reference).abs() / reference;
        if relative <= tolerance {
            continue;
        }
        let (first, this) = (&zone.margins[0].file, &zone.margins[i].file);
        if !rescale {
            return Err(Error::Inconsistent(format!(
                "{prefix}margin totals disagree: {first} sums to {reference} but {this} sums to {total} \
                 (relative difference {relative:.3e}, tolerance {tolerance:.1e}); fix the tables, or pass \
                 --rescale to scale every margin to the first one's total"
            )));
        }
        let factor = reference / total;
        warnings.push(format!("{prefix}rescaled {this} from total {total} to {reference} (factor {factor:.9})"));
        zone.margins[i].targets.iter_mut().for_each(|t| *t *= factor);
    }
    Ok(())
}

/// The tolerance is absolute: refuses one that every target is within (any weights, even all
/// zero, would "converge"), and warns when it exceeds a millionth of a zone's total.
fn check_tolerance(spec: &Spec, zones: &[Zone], warnings: &mut Vec<String>) -> Result<()> {
    let tolerance = spec.fit.stopping().tolerance();
    let mut coarse: Option<(&Zone, f64)> = None;
    let mut count = 0;
    for zone in zones {
        let largest = zone.margins.iter().flat_map(|m| m.targets.iter().copied()).fold(0.0, f64::max);
        if largest <= tolerance {
            return Err(Error::input(
                Location::file(&spec.source),
                format!(
                    "{}[fit] tolerance = {tolerance:e} is at least every target (the largest is {largest:e}): any \
                     weights, even all zero, would meet it; lower the tolerance or scale the counts up",
                    zone.prefix()
                ),
            ));
        }
        let total = zone.total();
        if tolerance > 1e-6 * total {
            count += 1;
            if coarse.is_none_or(|(_, t)| total < t) {
                coarse = Some((zone, total));
            }
        }
    }
    if let Some((zone, total)) = coarse {
        let others = if count > 1 { format!(" (and {} other zones)", count - 1) } else { String::new() };
        warnings.push(format!(
            "{}[fit] tolerance = {tolerance:e} is more than a millionth of the margins' total {total:e}{others}: a \
             fit that meets it may still be off by a noticeable fraction; lower the tolerance",
            zone.prefix()
        ));
    }
    Ok(())
}

fn check_shared_margins(domain: &Domain, zone: &Zone, tolerance: f64) -> Result<()> {
    let limit = tolerance * zone.total();
    for (i, a) in zone.margins.iter().enumerate() {
        for b in &zone.margins[i + 1..] {
            let shared: Vec<usize> = a.attributes.iter().copied().filter(|x| b.attributes.contains(x)).collect();
            if shared.is_empty() {
                continue;
            }
            let pa = project(domain, a, &shared);
            let pb = project(domain, b, &shared);
            let worst =
                (0..pa.len()).max_by(|&x, &y| (pa[x] - pb[x]).abs().total_cmp(&(pa[y] - pb[y]).abs())).unwrap_or(0);
            if (pa[worst] - pb[worst]).abs() > limit {
                let codes = MarginTable::codes(&domain.sizes(&shared), worst);
                return Err(Error::Inconsistent(format!(
                    "{}overlapping margins disagree on their shared cell ({}): {} gives {} but {} gives {} \
                     (tolerance {:.1e} of the total); overlapping tables must agree on what they share",
                    zone.prefix(),
                    domain.label(&shared, &codes),
                    a.file,
                    pa[worst],
                    b.file,
                    pb[worst],
                    tolerance
                )));
            }
        }
    }
    Ok(())
}
