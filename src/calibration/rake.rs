//! Iterative raking: IPF on the weights of the distinct cells.

use super::cells::Cells;
use super::{closest_margins, num, Constraints, Layout};
use crate::error::{Error, Result};
use crate::iteration::Solver;

/// Raking of the cell weights `w_c` (starting from the design totals `D_c`) to every margin in
/// turn: one sweep scales, for each margin, the weights of every cell by its margin cell's
/// `target / current total`. The pass that scales one margin also sums the weights onto the next
/// margin, so a sweep reads the cells once per margin.
pub(crate) struct Rake<'a> {
    cells: &'a Cells,
    constraints: &'a Constraints,
    layout: &'a Layout,
    /// Current cell weights.
    w: Vec<f64>,
    /// Current totals of the margin to be scaled next (margin 0 at the start of a sweep).
    pending: Vec<f64>,
}

impl<'a> Rake<'a> {
    /// Sets up raking; fails with [`Error::Infeasible`] if a positive target has no support.
    pub(crate) fn new(cells: &'a Cells, constraints: &'a Constraints, layout: &'a Layout) -> Result<Self> {
        let w = cells.design().to_vec();
        let totals = cells.margin_sums(&w, &layout.offsets, layout.cells);
        super::dual::check_support(constraints, layout, &totals)?;
        let pending = totals[..constraints.margin_sizes()[0]].to_vec();
        Ok(Rake { cells, constraints, layout, w, pending })
    }

    /// Current totals on every margin cell (flat).
    pub(crate) fn totals(&self) -> Vec<f64> {
        self.cells.margin_sums(&self.w, &self.layout.offsets, self.layout.cells)
    }

    /// g-weight of every cell, `w_c / D_c` (1 for cells without design weight).
    pub(crate) fn g(&self) -> Vec<f64> {
        self.w.iter().zip(self.cells.design()).map(|(&w, &d)| if d > 0.0 { w / d } else { 1.0 }).collect()
    }
}

impl Solver for Rake<'_> {
    fn iterate(&mut self) -> Result<f64> {
        let m_count = self.cells.margins();
        let sizes = self.constraints.margin_sizes();
        let mut indicator: f64 = 0.0;
        for m in 0..m_count {
            let sums = std::mem::take(&mut self.pending);
            let targets = &self.constraints.targets()[m];
            let mut factors = Vec::with_capacity(sums.len());
            for (j, (&s, &t)) in sums.iter().zip(targets).enumerate() {
                indicator = indicator.max((s - t).abs());
                if s > 0.0 {
                    factors.push(t / s);
                } else if t > 0.0 {
                    return Err(Error::Infeasible(format!(
                        "{} has target {} but every record under it has been driven to weight zero by \
                         zero targets in other margins; {}",
                        self.constraints.cell_name(m, j),
                        num(t),
                        closest_margins(self.constraints, self.layout, &self.totals())
                    )));
                } else {
                    factors.push(1.0);
                }
            }
            let next = (m + 1) % m_count;
            let mut next_sums = vec![0.0; sizes[next]];
            for (w, row) in self.w.iter_mut().zip(self.cells.codes().chunks_exact(m_count)) {
                *w *= factors[row[m] as usize];
                next_sums[row[next] as usize] += *w;
            }
            self.pending = next_sums;
        }
        Ok(indicator)
    }

    fn deviation(&mut self) -> f64 {
        let totals = self.totals();
        totals.iter().zip(&self.layout.targets).map(|(a, t)| (a - t).abs()).fold(0.0, f64::max)
    }

    fn floor(&self) -> f64 {
        self.layout.floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iteration::{Runner, Stopping};

    fn setup(membership: Vec<u32>, sizes: Vec<usize>, targets: Vec<Vec<f64>>) -> Constraints {
        let n = sizes.len();
        Constraints::new(membership, sizes, targets, vec![None; n]).unwrap()
    }

    #[test]
    fn two_by_two_rakes_to_the_closed_form() {
        // one record per cell of a 2×2 table with unit weights: raking gives r_a c_b / N
        let c = setup(vec![0, 0, 0, 1, 1, 0, 1, 1], vec![2, 2], vec![vec![30.0, 70.0], vec![40.0, 60.0]]);
        let design = vec![1.0; 4];
        let cells = Cells::aggregate(&design, c.membership(), c.margin_sizes());
        let layout = Layout::new(&c, &[]);
        let mut rake = Rake::new(&cells, &c, &layout).unwrap();
        let outcome = Runner::new(Stopping::new(1e-12, 100).unwrap()).run(&mut rake).unwrap();
        assert!(outcome.converged);
        let g = rake.g();
        assert!((g[0] - 12.0).abs() < 1e-10 && (g[3] - 42.0).abs() < 1e-10, "{g:?}");
    }

    #[test]
    fn zero_targets_that_empty_a_positive_cell_are_infeasible() {
        // records: (0,0), (1,1); margin 0 target says cell 0 is empty, margin 1 needs cell 0
        let c = setup(vec![0, 0, 1, 1], vec![2, 2], vec![vec![0.0, 10.0], vec![5.0, 5.0]]);
        let design = vec![1.0; 2];
        let cells = Cells::aggregate(&design, c.membership(), c.margin_sizes());
        let layout = Layout::new(&c, &[]);
        let mut rake = Rake::new(&cells, &c, &layout).unwrap();
        let err = Runner::new(Stopping::new(1e-12, 100).unwrap()).run(&mut rake).unwrap_err();
        assert!(matches!(err, Error::Infeasible(ref m) if m.contains("margin 1, cell 0")), "{err}");
    }
}
