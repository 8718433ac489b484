//! Fitting a dense joint table to margins: refuses tables too large for memory before
//! allocating; without a seed, runs [`FactoredIpf`] on the margins' cliques when they are much
//! smaller than the table, else builds the start table from the seed (or uniform), names
//! unsupported cells, and runs [`Ipf`].

use serde::Serialize;

use super::{FactoredIpf, Ipf, Table, ZeroReport};
use crate::error::{Error, Location, Result};
use crate::inputs::{Domain, FitOptions, MarginTable, Problem, Seed, StructuralZero, ZeroCells};
use crate::iteration::{Convergence, Observer, Runner};

/// How well a fitted table meets one margin.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MarginFit {
    /// The margin's file.
    pub file: String,
    /// The margin's attribute names.
    pub attributes: Vec<String>,
    /// Largest absolute deviation of a fitted margin cell from its target.
    pub max_abs_deviation: f64,
    /// Largest deviation relative to a positive target.
    pub max_rel_deviation: f64,
}

/// The outcome of a dense fit.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DenseFit {
    /// The fitted joint over every attribute of the domain, in domain order.
    pub joint: Table,
    /// The domain the joint's attributes belong to: their names and categories.
    pub domain: Domain,
    /// Iterations, convergence and timing.
    pub convergence: Convergence,
    /// Per-margin deviations of the final table.
    pub margins: Vec<MarginFit>,
    /// What the start's zeros came to: sampling zeros filled (or smoothed), structural zeros
    /// kept; `None` for a seedless fit without structural zeros.
    pub zeros: Option<Box<ZeroReport>>,
}

impl DenseFit {
    /// The joint summed onto the attributes named, in that order (see [`Table::marginal`]):
    /// `fit.marginal(&["age_group", "married"])`. The result's attributes are positions in
    /// [`DenseFit::domain`].
    ///
    /// # Errors
    /// [`Error::Input`] for a name that is not an attribute of the domain, or a name given twice.
    pub fn marginal(&self, names: &[&str]) -> Result<Table> {
        let attributes = names
            .iter()
            .map(|&name| {
                self.domain.index_of(name).ok_or_else(|| {
                    let known: Vec<&str> = self.domain.attributes().iter().map(|a| a.name()).collect();
                    Error::input(
                        Location::file("marginal"),
                        format!("no attribute \"{name}\" in the joint (it has {})", known.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        self.joint.marginal(&attributes)
    }
}

/// Fits the dense joint of a problem without zones by IPF: [`fit_joint`] of its margins from
/// its seed (uniform without one).
///
/// # Errors
/// [`Error::Inconsistent`] for a problem with zones (fit those by calibration); those of
/// [`fit_joint`].
pub fn fit_dense(problem: &Problem, options: &FitOptions, observers: &mut [&mut dyn Observer]) -> Result<DenseFit> {
    if problem.zones.len() > 1 || problem.zones[0].name.is_some() {
        return Err(Error::Inconsistent(
            "a dense fit is of one table: a problem with zones needs a method that re-weights the seed".into(),
        ));
    }
    fit_joint(
        &problem.domain,
        &problem.zones[0].margins,
        problem.seed.as_ref(),
        &problem.structural_zeros,
        options,
        observers,
    )
}

/// Fits the dense joint over every attribute of `domain` to `margins` by IPF, starting from
/// the seed's weighted cell counts (uniform without a seed) with sampling zeros treated as
/// `options` say ([`ZeroCells`](crate::inputs::ZeroCells)) and the `structural` zeros kept
/// empty, stopping as `options` say and
/// refusing tables of more than their `max_cells` (their method is not consulted: this is how
/// [`fit`](super::fit) fits [`Method::Ipf`](crate::inputs::Method::Ipf)). `observers` see every
/// sweep.
///
/// # Errors
/// [`Error::TooLarge`] for a table over the limit or beyond memory, before allocating;
/// [`Error::Infeasible`] for a positive target without seed support under
/// `zero_cells = "error"`, one only structural zeros could meet, or one driven to zero.
pub fn fit_joint(
    domain: &Domain,
    margins: &[MarginTable],
    seed: Option<&Seed>,
    structural: &[StructuralZero],
    options: &FitOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<DenseFit> {
    let attributes: Vec<usize> = (0..domain.attributes().len()).collect();
    let sizes = domain.sizes(&attributes);
    let cells = check_size(domain, &attributes, options.max_cells())?;
    let targets: Vec<(Vec<usize>, Vec<f64>)> =
        margins.iter().map(|m| (m.attributes.clone(), m.targets.clone())).collect();
    let labels: Vec<(String, Vec<String>)> = margins.iter().map(|m| (m.file.clone(), cell_labels(domain, m))).collect();
    let labels = std::sync::Arc::new(labels);
    let describe = move |m: usize, c: usize| format!("cell ({}) of {}", labels[m].1[c], labels[m].0);
    let mut runner = Runner::new(options.stopping());
    for o in observers.iter_mut() {
        runner = runner.observe(&mut **o);
    }
    let dims: Vec<Vec<usize>> = targets.iter().map(|m| m.0.clone()).collect();
    let mut zeros = None;
    let (values, deviations, convergence) =
        if seed.is_none() && structural.is_empty() && FactoredIpf::pays(&sizes, &dims) {
            let mut ipf = FactoredIpf::new(sizes.clone(), targets).describe_cells(describe);
            let mut convergence = runner.run(&mut ipf)?;
            convergence.algorithm = Some("junction-tree");
            let start = std::time::Instant::now();
            let table = ipf.table();
            convergence.fit_seconds += start.elapsed().as_secs_f64();
            (table, ipf.margin_deviations(), convergence)
        } else {
            let mut start = match seed {
                Some(seed) => {
                    let mut table = vec![0.0; cells];
                    for i in 0..seed.len() {
                        let index = seed.record(i).zip(&sizes).fold(0usize, |acc, (c, &s)| acc * s + c as usize);
                        table[index] += seed.weights[i];
                    }
                    table
                }
                None => vec![1.0; cells],
            };
            let mut prepared = super::zeros::prepare(domain, margins, structural, &mut start, options)?;
            let refill = options.zero_cells() == ZeroCells::Fill;
            let mut round = 0;
            let (ipf, convergence) = loop {
                // a further fill starts again from this start: keep its non-zero cells, not a second
                // dense copy (the table goes to IPF, which changes it)
                let kept: Vec<(usize, f64)> = if refill && round < FILL_ROUNDS {
                    start.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, &v)| (i, v)).collect()
                } else {
                    Vec::new()
                };
                let mut ipf = Ipf::new(sizes.clone(), start, targets.clone()).describe_cells(describe.clone());
                if let Some(u) = ipf.check_support().first() {
                    let m = &margins[u.margin];
                    return Err(Error::Infeasible(format!(
                        "{} has a positive target ({}) for cell ({}), but the seed has no weight in any cell under it; \
                         add seed records there, or collapse categories",
                        m.file,
                        m.targets[u.cell],
                        cell_labels(domain, m)[u.cell]
                    )));
                }
                let run = runner.run(&mut ipf);
                let stalled = match &run {
                    Ok(c) => !c.converged,
                    Err(Error::Infeasible(_)) => true,
                    Err(_) => false,
                };
                round += 1;
                if stalled && refill && round <= FILL_ROUNDS {
                    let short = ipf.short_of_target(options.stopping().tolerance());
                    let mut next = vec![0.0; cells];
                    for (i, v) in kept {
                        next[i] = v;
                    }
                    if prepared.fill_short(domain, margins, &short, &mut next, options)? > 0 {
                        start = next;
                        continue;
                    }
                }
                break (ipf, run?);
            };
            zeros = Some(Box::new(prepared.report));
            let mut convergence = convergence;
            convergence.algorithm = Some("dense");
            let deviations = ipf.margin_deviations();
            (ipf.into_table(), deviations, convergence)
        };
    let margins = margins
        .iter()
        .zip(deviations)
        .map(|(m, (abs, rel))| MarginFit {
            file: m.file.clone(),
            attributes: m.attributes.iter().map(|&a| domain.attribute(a).name().to_string()).collect(),
            max_abs_deviation: abs,
            max_rel_deviation: rel,
        })
        .collect();
    Ok(DenseFit { joint: Table { attributes, sizes, values }, domain: domain.clone(), convergence, margins, zeros })
}

/// How many times a seeded fit that stalls short of its targets is run again with the zero
/// cells under them filled ([`ZeroCells::Fill`](crate::inputs::ZeroCells::Fill)).
const FILL_ROUNDS: usize = 5;

fn cell_labels(domain: &Domain, margin: &MarginTable) -> Vec<String> {
    let sizes = domain.sizes(&margin.attributes);
    (0..margin.targets.len()).map(|i| domain.label(&margin.attributes, &MarginTable::codes(&sizes, i))).collect()
}

/// Refuses, before allocating, a table with more cells than `max_cells` (`[fit] max_cells`) or
/// than memory can hold.
fn check_size(domain: &Domain, attributes: &[usize], max_cells: u64) -> Result<usize> {
    let names = attributes.iter().map(|&a| domain.attribute(a).name()).collect::<Vec<_>>().join(" × ");
    let cells = domain.cells(attributes);
    let advice = "fit fewer attributes or coarser categories, or re-weight the seed as microdata instead of fitting a dense table";
    let too_large = |why: String| {
        Err(Error::TooLarge(format!(
            "the dense joint of {names} has {} cells: {why}; {advice}",
            cells.map_or("more than 2^64".into(), |c| c.to_string())
        )))
    };
    let Some(cells) = cells else { return too_large("the count overflows".into()) };
    if cells > max_cells {
        return too_large(format!("more than [fit] max_cells = {max_cells}"));
    }
    // the fitted table, plus room for the output
    let bytes = cells.saturating_mul(2 * std::mem::size_of::<f64>() as u64);
    if let Some(why) = crate::memory::shortfall(bytes) {
        return too_large(why);
    }
    usize::try_from(cells).or_else(|_| too_large("more than this machine can address".into()))
}
