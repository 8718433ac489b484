//! Inputs: the spec, marginal tables and the seed, read and validated into a [`Problem`].
//!
//! Every check names the file, line, column and value at fault. Loading enforces:
//! categories belong to their declared lists; counts and weights are finite and
//! non-negative; no cell appears twice; every margin sums to the same total (or is rescaled
//! to the first margin's total with `rescale`); overlapping margins agree on the
//! sub-margin they share.

mod csvfile;
mod domain;
mod margin;
mod seed;
mod spec;

pub use domain::{Attribute, Domain};
pub use margin::MarginTable;
pub use seed::Seed;
pub use spec::{FitSpec, MarginSpec, Method, SeedSpec, Spec};

use crate::error::{Error, Location, Result};

/// Options that change how inputs are reconciled.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Scale every margin to the first margin's total instead of rejecting totals that
    /// disagree; each scaling is reported as a warning.
    pub rescale: bool,
}

/// Everything a fit needs, validated.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Attributes of the joint, in output order (declared first, then first appearance).
    pub domain: Domain,
    /// The marginal tables with their targets.
    pub margins: Vec<MarginTable>,
    /// The seed, if the spec names one.
    pub seed: Option<Seed>,
    /// Method and stopping rule.
    pub fit: FitSpec,
    /// Things the user should know that did not stop the load (rescaled margins, say).
    pub warnings: Vec<String>,
}

impl Problem {
    /// Loads and validates every input named by `spec`.
    pub fn load(spec: &Spec, options: LoadOptions) -> Result<Problem> {
        let mut domain = Domain::declared(&spec.attributes);
        let mut raw = Vec::with_capacity(spec.margins.len());
        for m in &spec.margins {
            let path = spec.resolve(&m.file);
            raw.push(margin::read(&path, &path.display().to_string(), &m.count, &mut domain)?);
        }
        let all: Vec<usize> = (0..domain.attributes().len()).collect();
        let seed = match &spec.seed {
            Some(s) => {
                let path = spec.resolve(&s.file);
                Some(seed::read(
                    &path,
                    &path.display().to_string(),
                    s.weight.as_deref(),
                    s.id.as_deref(),
                    &all,
                    &domain,
                )?)
            }
            None => None,
        };
        let margins: Vec<MarginTable> = raw.into_iter().map(|m| m.finish(&domain)).collect();
        let in_margin = |a: usize| margins.iter().any(|m| m.attributes.contains(&a));
        if let Some(unused) = all.iter().find(|&&a| !in_margin(a) && seed.is_none()) {
            return Err(Error::input(
                Location::file(&spec.source),
                format!(
                    "[attributes] declares {}, which appears in no margin, and there is no seed to take it from",
                    domain.attribute(*unused).name()
                ),
            ));
        }
        let mut problem = Problem { domain, margins, seed, fit: spec.fit.clone(), warnings: Vec::new() };
        problem.reconcile_totals(spec.fit.consistency_tolerance, options.rescale)?;
        problem.check_shared_margins(spec.fit.consistency_tolerance)?;
        Ok(problem)
    }

    /// The common total of the margins (the first margin's).
    pub fn total(&self) -> f64 {
        self.margins[0].total()
    }

    fn reconcile_totals(&mut self, tolerance: f64, rescale: bool) -> Result<()> {
        let totals: Vec<f64> = self.margins.iter().map(MarginTable::total).collect();
        for (m, &t) in self.margins.iter().zip(&totals) {
            if !t.is_finite() {
                return Err(Error::input(Location::file(&m.file), "the counts sum to infinity"));
            }
            if t <= 0.0 {
                return Err(Error::input(
                    Location::file(&m.file),
                    "every count is zero: a margin needs a positive total",
                ));
            }
        }
        let reference = totals[0];
        for i in 1..self.margins.len() {
            let relative = (totals[i] - reference).abs() / reference;
            if relative <= tolerance {
                continue;
            }
            if !rescale {
                return Err(Error::Inconsistent(format!(
                    "margin totals disagree: {} sums to {} but {} sums to {} (relative difference {:.3e}, \
                     tolerance {:.1e}); fix the tables, or pass --rescale to scale every margin to the first one's total",
                    self.margins[0].file, reference, self.margins[i].file, totals[i], relative, tolerance
                )));
            }
            let factor = reference / totals[i];
            self.margins[i].targets.iter_mut().for_each(|t| *t *= factor);
            self.warnings.push(format!(
                "rescaled {} from total {} to {} (factor {factor:.9})",
                self.margins[i].file, totals[i], reference
            ));
        }
        Ok(())
    }

    fn check_shared_margins(&self, tolerance: f64) -> Result<()> {
        let limit = tolerance * self.total();
        for (i, a) in self.margins.iter().enumerate() {
            for b in &self.margins[i + 1..] {
                let shared: Vec<usize> = a.attributes.iter().copied().filter(|x| b.attributes.contains(x)).collect();
                if shared.is_empty() {
                    continue;
                }
                let pa = self.project(a, &shared);
                let pb = self.project(b, &shared);
                let worst =
                    (0..pa.len()).max_by(|&x, &y| (pa[x] - pb[x]).abs().total_cmp(&(pa[y] - pb[y]).abs())).unwrap_or(0);
                if (pa[worst] - pb[worst]).abs() > limit {
                    let codes = MarginTable::codes(&self.domain.sizes(&shared), worst);
                    return Err(Error::Inconsistent(format!(
                        "overlapping margins disagree on their shared cell ({}): {} gives {} but {} gives {} \
                         (tolerance {:.1e} of the total); overlapping tables must agree on what they share",
                        self.domain.label(&shared, &codes),
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

    /// Sums a margin's targets onto a subset of its attributes (row-major in `onto` order).
    pub fn project(&self, margin: &MarginTable, onto: &[usize]) -> Vec<f64> {
        let sizes = self.domain.sizes(&margin.attributes);
        let onto_sizes = self.domain.sizes(onto);
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
