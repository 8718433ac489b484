//! Sampling zeros and structural zeros in the start of a seeded IPF.
//!
//! IPF keeps every zero of its start table, so a positive target whose cells the seed never saw
//! (a *sampling zero*: a 1% sample of a real population misses rare combinations that exist)
//! cannot be met. [`ZeroCells::Fill`] gives such cells prior mass and no others: for every
//! margin cell with a positive target and no seed weight under it, each zero joint cell under
//! it that is not a structural zero receives the mass the margins-only (seedless) fit gives it,
//! scaled from the population's total to the seed's. The seedless fit is the maximum-entropy
//! joint of the margins, so the filled cells carry no association the margins do not imply, and
//! every other seed zero stays zero (the seed's own structure is untouched where it has data).
//! Support under every target is necessary but not sufficient: margins can together ask more of
//! a sparse seed's cells than any table on them can give, and IPF then stalls short of some
//! targets. The fit is then run again with the zero cells under every target still short filled
//! the same way, for a few rounds ([`Start::fill_short`]); the margins-only fit itself meets the
//! margins, so filling every zero cell would always end the stall.
//! [`ZeroCells::Prior`] instead mixes the margins-only fit into every cell that is not a
//! structural zero, with a stated weight, in the spirit of adding a small constant to every cell
//! (Bishop, Fienberg & Holland 1975, ch. 3; Ye et al. 2009 on sampling and structural zeros in
//! population synthesis), but proportionate to the margins rather than uniform.
//!
//! Structural zeros ([`StructuralZero`]) are cells that cannot exist: they get no fill and no
//! prior; a target that only structural zeros could meet is infeasible.

use serde::Serialize;

use super::factored::FactoredIpf;
use super::ipf::{Ipf, Unsupported};
use crate::error::{Error, Result};
use crate::inputs::{Domain, FitOptions, MarginTable, StructuralZero, ZeroCells};
use crate::iteration::Runner;

/// A margin cell with a positive target and no seed weight under it, and the prior mass its
/// joint cells received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FilledCell {
    /// The margin's file.
    pub margin: String,
    /// The margin cell, as `attribute=category, …`.
    pub cell: String,
    /// Its target.
    pub target: f64,
    /// The mass given to the joint cells under it (in the seed's units).
    pub mass: f64,
    /// How many joint cells under it received mass.
    pub cells: usize,
}

/// What was done to the start of a seeded fit about its zeros.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ZeroReport {
    /// `fill`, `error` or `prior`.
    pub policy: &'static str,
    /// With `prior`: the weight of the margins-only fit in the start.
    pub prior_weight: Option<f64>,
    /// Every margin cell that had a positive target and no seed weight under it, in margin
    /// then cell order, with the mass it received.
    pub filled: Vec<FilledCell>,
    /// The total mass added to the start.
    pub mass: f64,
    /// Joint cells that are structural zeros.
    pub structural_zero_cells: usize,
}

impl ZeroReport {
    /// One line for stderr when the start was changed, else `None`; the first five filled
    /// cells are named, every one is in the report.
    pub fn summary(&self) -> Option<String> {
        if let Some(w) = self.prior_weight {
            return Some(format!(
                "zero_cells = \"prior\": every cell that is not a structural zero was mixed with the margins-only fit \
                 at weight {w} (mass {:.6})",
                self.mass
            ));
        }
        if self.filled.is_empty() {
            return None;
        }
        let mut named: Vec<String> =
            self.filled.iter().take(5).map(|f| format!("({}) of {}: {:.6}", f.cell, f.margin, f.mass)).collect();
        if self.filled.len() > 5 {
            named.push(format!("and {} more in report.json", self.filled.len() - 5));
        }
        Some(format!(
            "zero_cells = \"fill\": {} margin cell{} with a positive target had no seed weight under {} and \
             received prior mass {:.6} from the margins-only fit: {}",
            self.filled.len(),
            if self.filled.len() == 1 { "" } else { "s" },
            if self.filled.len() == 1 { "it" } else { "them" },
            self.mass,
            named.join("; ")
        ))
    }
}

/// The margin cells of `margins` (each over the table of `sizes`) whose targets are positive
/// and whose cells in `table` are all zero.
fn unsupported(sizes: &[usize], table: &[f64], margins: &[MarginTable]) -> Vec<Unsupported> {
    let targets = margins.iter().map(|m| (m.attributes.clone(), m.targets.clone())).collect();
    Ipf::new(sizes.to_vec(), table.to_vec(), targets).check_support()
}

/// `margin`'s cell labels, as `attribute=category, …`.
fn label(domain: &Domain, margin: &MarginTable, cell: usize) -> String {
    let sizes = domain.sizes(&margin.attributes);
    domain.label(&margin.attributes, &MarginTable::codes(&sizes, cell))
}

/// Every cell of `list`, as `cell (…) of FILE (target T)`, one per line.
fn listed(domain: &Domain, margins: &[MarginTable], list: &[Unsupported]) -> String {
    list.iter()
        .map(|u| {
            let m = &margins[u.margin];
            format!("\n  cell ({}) of {} (target {})", label(domain, m, u.cell), m.file, m.targets[u.cell])
        })
        .collect()
}

/// A seeded fit's start being prepared: what is needed to fill more cells after a stalled run.
pub(crate) struct Start {
    /// What was done so far.
    pub report: ZeroReport,
    /// The margins-only fit, once needed.
    prior: Option<Vec<f64>>,
    /// Seed total over population total.
    scale: f64,
    /// Structural zeros over the joint.
    mask: Vec<bool>,
}

impl Start {
    /// After a [`ZeroCells::Fill`] run that stopped short of the targets `short`, fills the zero
    /// cells under them in `start` (the start that run began from) as [`prepare`] fills sampling
    /// zeros. Returns how many cells it filled:
    /// none means running again would not help.
    pub(crate) fn fill_short(
        &mut self,
        domain: &Domain,
        margins: &[MarginTable],
        short: &[Unsupported],
        start: &mut [f64],
        options: &FitOptions,
    ) -> Result<usize> {
        if short.is_empty() {
            return Ok(0);
        }
        if self.prior.is_none() {
            let prior = margins_only(domain, margins, &self.mask, options)?;
            let population: f64 = prior.iter().sum();
            let seed_total: f64 = start.iter().sum();
            self.scale = if population > 0.0 { seed_total / population } else { 0.0 };
            self.prior = Some(prior);
        }
        let prior = self.prior.as_deref().unwrap_or_default();
        Ok(fill(domain, margins, short, prior, self.scale, &self.mask, start, &mut self.report))
    }
}

/// The margins-only fit of every attribute of `domain`, with no mass on `mask`'s cells.
///
/// # Errors
/// [`Error::Infeasible`] listing every positive target that only structural zeros could meet.
pub(crate) fn margins_only(
    domain: &Domain,
    margins: &[MarginTable],
    mask: &[bool],
    options: &FitOptions,
) -> Result<Vec<f64>> {
    let sizes = domain.all_sizes();
    let targets: Vec<(Vec<usize>, Vec<f64>)> =
        margins.iter().map(|m| (m.attributes.clone(), m.targets.clone())).collect();
    let dims: Vec<Vec<usize>> = targets.iter().map(|t| t.0.clone()).collect();
    let mut runner = Runner::new(options.stopping());
    if !mask.contains(&true) && FactoredIpf::pays(&sizes, &dims) {
        let mut ipf = FactoredIpf::new(sizes, targets);
        runner.run(&mut ipf)?;
        return Ok(ipf.table());
    }
    let start: Vec<f64> = mask.iter().map(|&m| if m { 0.0 } else { 1.0 }).collect();
    let impossible = unsupported(&sizes, &start, margins);
    if !impossible.is_empty() {
        return Err(Error::Infeasible(format!(
            "{} margin cell(s) have a positive target that only structural zeros could meet; \
             the [[structural_zero]] rules or the margins are wrong:{}",
            impossible.len(),
            listed(domain, margins, &impossible)
        )));
    }
    let mut ipf = Ipf::new(sizes, start, targets);
    runner.run(&mut ipf)?;
    Ok(ipf.into_table())
}

/// Makes `start`, the seed's weighted cross-table over every attribute of `domain`, fit to be
/// raked to `margins` as `options` say about zeros: sampling zeros filled (or every cell
/// smoothed, or an error), structural zeros (`structural`) kept empty.
///
/// # Errors
/// [`Error::Infeasible`] listing every unsupported target under [`ZeroCells::Error`], every
/// target only structural zeros could meet, and every target still unsupported after the fill
/// (the margins-only fit has no mass there either).
pub(crate) fn prepare(
    domain: &Domain,
    margins: &[MarginTable],
    structural: &[StructuralZero],
    start: &mut [f64],
    options: &FitOptions,
) -> Result<Start> {
    let sizes = domain.all_sizes();
    let mask = StructuralZero::mask(structural, &sizes);
    let zero_cells = options.zero_cells();
    let mut report = ZeroReport {
        policy: zero_cells.name(),
        prior_weight: match zero_cells {
            ZeroCells::Prior(w) => Some(w),
            _ => None,
        },
        filled: Vec::new(),
        mass: 0.0,
        structural_zero_cells: mask.iter().filter(|&&m| m).count(),
    };
    for (cell, _) in start.iter_mut().zip(&mask).filter(|(_, &m)| m) {
        *cell = 0.0;
    }
    let missing = unsupported(&sizes, start, margins);
    let prior_weight = match zero_cells {
        ZeroCells::Prior(w) => w,
        _ if missing.is_empty() => return Ok(Start { report, prior: None, scale: 0.0, mask }),
        ZeroCells::Error => {
            return Err(Error::Infeasible(format!(
                "{} margin cell(s) have a positive target but no seed weight in any cell under them \
                 (sampling zeros; zero_cells = \"fill\" gives them prior mass from the margins):{}",
                missing.len(),
                listed(domain, margins, &missing)
            )))
        }
        _ => 0.0,
    };
    let prior = margins_only(domain, margins, &mask, options)?;
    let seed_total: f64 = start.iter().sum();
    let population: f64 = prior.iter().sum();
    let scale = if population > 0.0 { seed_total / population } else { 0.0 };
    if prior_weight > 0.0 {
        for ((cell, &p), &m) in start.iter_mut().zip(&prior).zip(&mask) {
            *cell = if m { 0.0 } else { (1.0 - prior_weight) * *cell + prior_weight * p * scale };
        }
        report.mass = prior_weight * seed_total;
    } else {
        fill(domain, margins, &missing, &prior, scale, &mask, start, &mut report);
    }
    let left = unsupported(&sizes, start, margins);
    if !left.is_empty() {
        return Err(Error::Infeasible(format!(
            "{} margin cell(s) have a positive target, but neither the seed nor the margins-only fit has \
             mass under them:{}",
            left.len(),
            listed(domain, margins, &left)
        )));
    }
    Ok(Start { report, prior: Some(prior), scale, mask })
}

/// Gives the zero joint cells under each margin cell of `missing` their mass in `prior` times
/// `scale`, structural zeros (`mask`) excepted, and records each group (a group filled before
/// adds to its entry). Returns the number of cells filled.
#[allow(clippy::too_many_arguments)]
fn fill(
    domain: &Domain,
    margins: &[MarginTable],
    missing: &[Unsupported],
    prior: &[f64],
    scale: f64,
    mask: &[bool],
    start: &mut [f64],
    report: &mut ZeroReport,
) -> usize {
    let sizes = domain.all_sizes();
    // per margin, whether each of its cells is to be filled, and the group's place in `report`
    let mut group: Vec<Vec<Option<usize>>> = margins.iter().map(|m| vec![None; m.targets.len()]).collect();
    for u in missing {
        let m = &margins[u.margin];
        let cell = label(domain, m, u.cell);
        let known = report.filled.iter().position(|f| f.margin == m.file && f.cell == cell);
        group[u.margin][u.cell] = Some(known.unwrap_or_else(|| {
            report.filled.push(FilledCell {
                margin: m.file.clone(),
                cell,
                target: m.targets[u.cell],
                mass: 0.0,
                cells: 0,
            });
            report.filled.len() - 1
        }));
    }
    let mut filled = 0;
    let margin_sizes: Vec<Vec<usize>> = margins.iter().map(|m| domain.sizes(&m.attributes)).collect();
    let mut codes = vec![0u32; sizes.len()];
    for x in 0..start.len() {
        if !mask[x] && start[x] == 0.0 && prior[x] > 0.0 {
            let mut under = Vec::new();
            for (m, margin) in margins.iter().enumerate() {
                let cell = margin
                    .attributes
                    .iter()
                    .zip(&margin_sizes[m])
                    .fold(0usize, |acc, (&a, &s)| acc * s + codes[a] as usize);
                if let Some(g) = group[m][cell] {
                    under.push(g);
                }
            }
            if !under.is_empty() {
                let mass = prior[x] * scale;
                start[x] = mass;
                filled += 1;
                report.mass += mass;
                for g in under {
                    report.filled[g].mass += mass;
                    report.filled[g].cells += 1;
                }
            }
        }
        for (code, &size) in codes.iter_mut().zip(&sizes).rev() {
            *code += 1;
            if (*code as usize) < size {
                break;
            }
            *code = 0;
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitting::{fit_dense, DenseFit};
    use crate::inputs::{Csv, MarginInput, Problem, SeedInput};

    /// rank × sex and sex × edu margins; the seed has no one of rank 01, and no woman of rank 03.
    fn problem(structural: bool) -> Problem {
        let mut builder = Problem::builder()
            .margin(MarginInput::csv(Csv::text("ranks.csv", "rank,sex,count\n01,f,9\n02,f,20\n02,m,30\n03,m,41\n")))
            .margin(MarginInput::csv(Csv::text("edu.csv", "sex,edu,count\nf,lo,19\nf,hi,10\nm,lo,40\nm,hi,31\n")))
            .seed(SeedInput::csv(Csv::text("seed.csv", "rank,sex,edu\n02,f,lo\n02,m,hi\n03,m,lo\n03,m,hi\n02,f,hi\n")));
        if structural {
            builder = builder.structural_zero([("rank", ["01"]), ("edu", ["hi"])]);
        }
        builder.build().unwrap()
    }

    fn fit(problem: &Problem, zero_cells: ZeroCells) -> Result<DenseFit> {
        fit_dense(problem, &FitOptions::params().zero_cells(zero_cells).check().unwrap(), &mut [])
    }

    #[test]
    fn fill_gives_mass_to_unsupported_targets_only_and_reports_every_one() {
        let p = problem(false);
        let fit = fit(&p, ZeroCells::Fill).unwrap();
        assert!(fit.convergence.converged);
        let zeros = fit.zeros.unwrap();
        assert_eq!(zeros.filled.len(), 1);
        let filled = &zeros.filled[0];
        assert_eq!(
            (filled.margin.as_str(), filled.cell.as_str(), filled.target, filled.cells),
            ("ranks.csv", "rank=01, sex=f", 9.0, 2)
        );
        // the margins-only fit gives (01, f) 9 persons of 100, split 19:10 by education; the
        // seed's 5 records make the scale 5/100
        assert!((filled.mass - 9.0 * 0.05).abs() < 1e-9 && (zeros.mass - filled.mass).abs() < 1e-12);
        let values = &fit.joint.values; // rank, sex, edu; edu fastest
        let cell = |r: usize, s: usize, e: usize| values[(r * 2 + s) * 2 + e];
        assert!((cell(0, 0, 0) + cell(0, 0, 1) - 9.0).abs() < 1e-8, "the target is met");
        // seed zeros that no target needed stay zero: no man of rank 01, no woman of rank 03
        assert_eq!((cell(0, 1, 0), cell(0, 1, 1), cell(2, 0, 0), cell(2, 0, 1)), (0.0, 0.0, 0.0, 0.0));
        assert!(zeros.summary().unwrap().contains("1 margin cell with a positive target had no seed weight"));
    }

    #[test]
    fn error_lists_every_unsupported_target_and_prior_smooths_every_cell() {
        let m = fit(&problem(false), ZeroCells::Error).unwrap_err().to_string();
        assert!(m.contains("1 margin cell(s)") && m.contains("cell (rank=01, sex=f) of ranks.csv (target 9)"), "{m}");
        let p = problem(false);
        let smooth = fit(&p, ZeroCells::Prior(0.01)).unwrap();
        assert!(smooth.convergence.converged);
        assert!(smooth.joint.values.iter().enumerate().all(|(i, &v)| v > 0.0 || [2, 3, 8, 9].contains(&i)));
        // the larger the prior weight, the further the fit moves from the seed's structure
        let heavy = fit(&p, ZeroCells::Prior(0.5)).unwrap();
        let filled = fit(&p, ZeroCells::Fill).unwrap();
        let distance =
            |a: &DenseFit| -> f64 { a.joint.values.iter().zip(&filled.joint.values).map(|(x, y)| (x - y).abs()).sum() };
        assert!(distance(&smooth) < distance(&heavy), "{} vs {}", distance(&smooth), distance(&heavy));
        let report = smooth.zeros.unwrap();
        assert_eq!((report.policy, report.prior_weight), ("prior", Some(0.01)));
    }

    #[test]
    fn structural_zeros_get_no_mass_and_a_target_only_they_could_meet_is_infeasible() {
        let p = problem(true);
        let fit = fit(&p, ZeroCells::Fill).unwrap();
        let values = &fit.joint.values;
        assert_eq!((values[1], values[3]), (0.0, 0.0), "(01, f, hi) and (01, m, hi) cannot exist");
        assert!((values[0] - 9.0).abs() < 1e-8, "the women of rank 01 all have a low education");
        assert_eq!(fit.zeros.unwrap().structural_zero_cells, 2);
        // a rule that forbids every woman of rank 01 leaves the target 9 nowhere to go
        let impossible = Problem::builder()
            .margin(MarginInput::csv(Csv::text("ranks.csv", "rank,sex,count\n01,f,9\n02,f,20\n02,m,30\n03,m,41\n")))
            .structural_zero([("rank", ["01"]), ("sex", ["f"])])
            .build()
            .unwrap();
        let m = fit_dense(&impossible, &FitOptions::default(), &mut []).unwrap_err().to_string();
        assert!(m.contains("only structural zeros could meet") && m.contains("cell (rank=01, sex=f)"), "{m}");
    }
}
