//! Dense iterative proportional fitting (Deming & Stephan 1940) over an N-way table.

use super::layout::{all_margin_sums, margin_sums, scale_and_sum, MarginLayout};
use super::{describe_default, Describe};
use crate::error::{Error, Result};
use crate::iteration::Solver;

/// IPF of a dense row-major table to any set of margins of any order.
///
/// Each sweep makes one pass over the table per margin: the pass scales every cell by its
/// margin cell's factor `target / current` and, in the same pass, sums the table onto the
/// next margin, so each pass reads and writes the table once. Zero cells stay zero.
pub struct Ipf {
    sizes: Vec<usize>,
    table: Vec<f64>,
    layouts: Vec<MarginLayout>,
    targets: Vec<Vec<f64>>,
    /// Current sums onto the margin to be scaled next.
    pending: Vec<f64>,
    total: f64,
    describe: Describe,
}

impl std::fmt::Debug for Ipf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipf").field("sizes", &self.sizes).field("margins", &self.layouts.len()).finish()
    }
}

/// The cell of margin `margin` where a positive target met zero support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported {
    /// Position of the margin in the list given to [`Ipf::new`].
    pub margin: usize,
    /// Row-major index of the margin cell.
    pub cell: usize,
}

impl Ipf {
    /// Sets up IPF of a table with `sizes`, starting from `start` (a seed, or all ones for a
    /// uniform start), to `margins`: pairs of (table dimensions in the margin's row-major
    /// order, targets). Check [`Ipf::check_support`] first: a positive target over cells that
    /// are all zero makes the first sweep fail with [`Error::Infeasible`].
    ///
    /// # Panics
    /// If the lengths of `start` or of a margin's targets do not match the sizes: these are
    /// programming errors, not input errors.
    pub fn new(sizes: Vec<usize>, start: Vec<f64>, margins: Vec<(Vec<usize>, Vec<f64>)>) -> Ipf {
        assert_eq!(start.len(), sizes.iter().product::<usize>(), "start table size");
        assert!(!margins.is_empty(), "at least one margin");
        let mut layouts = Vec::with_capacity(margins.len());
        let mut targets = Vec::with_capacity(margins.len());
        for (dims, t) in margins {
            let layout = MarginLayout::new(&sizes, &dims);
            assert_eq!(layout.len, t.len(), "margin target size");
            layouts.push(layout);
            targets.push(t);
        }
        let total = targets[0].iter().sum();
        let pending = margin_sums(&sizes, &start, &layouts[0]);
        Ipf { pending, sizes, table: start, layouts, targets, total, describe: describe_default() }
    }

    /// Sets how margin cells are named in error messages: `f(margin, cell)`.
    pub fn describe_cells(mut self, f: impl Fn(usize, usize) -> String + Send + Sync + 'static) -> Self {
        self.describe = Box::new(f);
        self
    }

    /// Margin cells with a positive target whose cells are all zero in the current table.
    pub fn check_support(&self) -> Vec<Unsupported> {
        let mut out = Vec::new();
        for (m, sums) in self.all_sums().iter().enumerate() {
            for (cell, (&s, &t)) in sums.iter().zip(&self.targets[m]).enumerate() {
                if t > 0.0 && s <= 0.0 {
                    out.push(Unsupported { margin: m, cell });
                }
            }
        }
        out
    }

    /// The current table.
    pub fn table(&self) -> &[f64] {
        &self.table
    }

    /// Takes the fitted table.
    pub fn into_table(self) -> Vec<f64> {
        self.table
    }

    /// Per margin: the largest absolute deviation and the largest deviation relative to the
    /// target (over cells with a positive target; a positive fit on a zero target counts as
    /// infinitely far).
    pub fn margin_deviations(&self) -> Vec<(f64, f64)> {
        self.all_sums().iter().zip(&self.targets).map(|(sums, targets)| deviations(sums, targets)).collect()
    }

    /// Margin cells whose sum in the current table falls short of their target by more than
    /// `tolerance`.
    pub(crate) fn short_of_target(&self, tolerance: f64) -> Vec<Unsupported> {
        let mut out = Vec::new();
        for (m, sums) in self.all_sums().iter().enumerate() {
            for (cell, (&s, &t)) in sums.iter().zip(&self.targets[m]).enumerate() {
                if s < t - tolerance {
                    out.push(Unsupported { margin: m, cell });
                }
            }
        }
        out
    }

    /// The current table's sums onto every margin, in one pass.
    fn all_sums(&self) -> Vec<Vec<f64>> {
        all_margin_sums(&self.sizes, &self.table, &self.layouts.iter().collect::<Vec<_>>())
    }
}

impl Solver for Ipf {
    fn iterate(&mut self) -> Result<f64> {
        let n = self.layouts.len();
        let mut indicator: f64 = 0.0;
        for m in 0..n {
            let sums = std::mem::take(&mut self.pending);
            let factors = factors(&sums, &self.targets[m], &mut indicator)
                .map_err(|cell| driven_to_zero(&self.describe, m, cell))?;
            let next = &self.layouts[(m + 1) % n];
            self.pending = scale_and_sum(&self.sizes, &mut self.table, &self.layouts[m], &factors, next);
        }
        Ok(indicator)
    }

    fn deviation(&mut self) -> f64 {
        self.margin_deviations().iter().map(|d| d.0).fold(0.0, f64::max)
    }

    /// Targets are met only to the precision of double arithmetic: 1e-14 of the total.
    fn floor(&self) -> f64 {
        1e-14 * self.total
    }
}

/// IPF's factors `target / current` of one margin, raising `indicator` to the largest absolute
/// deviation; a cell with a zero current sum gets factor zero, or is returned as the error
/// when its target is positive.
pub(crate) fn factors(sums: &[f64], targets: &[f64], indicator: &mut f64) -> std::result::Result<Vec<f64>, usize> {
    let mut out = Vec::with_capacity(sums.len());
    for (cell, (&s, &t)) in sums.iter().zip(targets).enumerate() {
        *indicator = indicator.max((s - t).abs());
        if s > 0.0 {
            out.push(t / s);
        } else if t > 0.0 {
            return Err(cell);
        } else {
            out.push(0.0);
        }
    }
    Ok(out)
}

/// The error for margin cell `(m, cell)` whose positive target met a zero current sum.
pub(crate) fn driven_to_zero(describe: &Describe, m: usize, cell: usize) -> Error {
    Error::Infeasible(format!(
        "{} has a positive target, but every table cell under it has been driven to zero by zero targets in \
         other margins",
        describe(m, cell)
    ))
}

/// The largest absolute deviation of `sums` from `targets`, and the largest relative to a
/// positive target (a positive sum on a zero target counts as infinitely far).
pub(crate) fn deviations(sums: &[f64], targets: &[f64]) -> (f64, f64) {
    sums.iter().zip(targets).fold((0.0f64, 0.0f64), |(abs, rel), (&s, &t)| {
        let d = (s - t).abs();
        let r = if t > 0.0 {
            d / t
        } else if d > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        (abs.max(d), rel.max(r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iteration::{Runner, Stopping};

    #[test]
    fn bartlett_no_three_way_interaction_matches_the_published_fit() {
        // Bartlett (1935): Alive × Time × Length, fit [AT][AL][TL]; R loglin gives 161.0961403.
        let observed = [156.0, 107.0, 84.0, 31.0, 84.0, 133.0, 156.0, 209.0];
        let sizes = vec![2, 2, 2]; // Length, Time, Alive (last fastest) → reorder below
                                   // observed is listed Alive fastest, then Time, then Length: dims [Length, Time, Alive]
        let sum = |dims: &[usize]| {
            let layout = MarginLayout::new(&sizes, dims);
            margin_sums(&sizes, &observed, &layout)
        };
        let margins = vec![(vec![1, 2], sum(&[1, 2])), (vec![0, 2], sum(&[0, 2])), (vec![0, 1], sum(&[0, 1]))];
        let mut ipf = Ipf::new(sizes.clone(), vec![1.0; 8], margins);
        let outcome = Runner::new(Stopping::new(1e-12, 10_000).unwrap()).run(&mut ipf).unwrap();
        assert!(outcome.converged);
        assert!((ipf.table()[0] - 161.0961403).abs() < 1e-6, "{}", ipf.table()[0]);
    }

    #[test]
    fn unsupported_targets_are_found_and_refused() {
        let mut ipf = Ipf::new(vec![2, 2], vec![1.0, 0.0, 1.0, 0.0], vec![(vec![1], vec![1.0, 1.0])]);
        assert_eq!(ipf.check_support(), vec![Unsupported { margin: 0, cell: 1 }]);
        assert!(matches!(ipf.iterate(), Err(Error::Infeasible(_))));
    }
}
