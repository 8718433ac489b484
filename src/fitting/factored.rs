//! IPF without the table: from a uniform start, the IPF iterate is a product of one factor
//! per margin, so it is kept as one potential per clique of the margins' junction tree and
//! each margin's current sums come from message passing (Jiroušek 1995). A sweep costs the
//! clique tables' cells, not the table's; the table is built only by [`FactoredIpf::table`].

use super::ipf::{deviations, driven_to_zero, factors};
use super::junction::JunctionTree;
use super::layout::{fill_product, margin_sums, scale, MarginLayout};
use super::{describe_default, Describe};
use crate::error::Result;
use crate::iteration::Solver;

/// IPF of a table with `sizes` from a uniform start, on the cliques of the margins'
/// junction tree. Its iterates equal those of [`super::Ipf`] from all ones, up to round-off.
pub struct FactoredIpf {
    sizes: Vec<usize>,
    tree: JunctionTree,
    neighbours: Vec<Vec<(usize, usize)>>,
    /// Per clique: the product of its margins' factors.
    potentials: Vec<Vec<f64>>,
    /// Per edge and direction (`2e` from `ends[0]`, `2e + 1` from `ends[1]`): the message.
    messages: Vec<Vec<f64>>,
    valid: Vec<bool>,
    /// Per edge: the separator's layout over each end's clique.
    separators: Vec<[MarginLayout; 2]>,
    /// Per margin: its layout over its clique.
    layouts: Vec<MarginLayout>,
    targets: Vec<Vec<f64>>,
    pending: Vec<f64>,
    total: f64,
    describe: Describe,
}

impl std::fmt::Debug for FactoredIpf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactoredIpf").field("sizes", &self.sizes).field("clique_cells", &self.tree.cells()).finish()
    }
}

impl FactoredIpf {
    /// Sets up IPF from all ones of a table with `sizes` to `margins`: pairs of (table
    /// dimensions in the margin's row-major order, targets).
    ///
    /// # Panics
    /// If a margin's targets do not match the sizes (a programming error).
    pub fn new(sizes: Vec<usize>, margins: Vec<(Vec<usize>, Vec<f64>)>) -> FactoredIpf {
        assert!(!margins.is_empty(), "at least one margin");
        let dims: Vec<Vec<usize>> = margins.iter().map(|m| m.0.clone()).collect();
        let tree = JunctionTree::new(&sizes, &dims);
        let neighbours = tree.neighbours();
        let potentials = tree.cliques.iter().map(|c| vec![1.0; c.len]).collect();
        let local = |clique: usize, dims: &[usize]| {
            let c = &tree.cliques[clique];
            let positions: Vec<usize> =
                dims.iter().map(|d| c.dims.iter().position(|x| x == d).expect("dimension in clique")).collect();
            MarginLayout::new(&c.sizes, &positions)
        };
        let separators: Vec<[MarginLayout; 2]> =
            tree.edges.iter().map(|e| [local(e.ends[0], &e.dims), local(e.ends[1], &e.dims)]).collect();
        let messages = separators.iter().flat_map(|[a, b]| [vec![1.0; a.len], vec![1.0; b.len]]).collect();
        let valid = vec![false; 2 * tree.edges.len()];
        let mut layouts = Vec::with_capacity(margins.len());
        let mut targets = Vec::with_capacity(margins.len());
        for (m, (d, t)) in margins.into_iter().enumerate() {
            let layout = local(tree.home[m], &d);
            assert_eq!(layout.len, t.len(), "margin target size");
            layouts.push(layout);
            targets.push(t);
        }
        let total = targets[0].iter().sum();
        let mut ipf = FactoredIpf {
            sizes,
            tree,
            neighbours,
            potentials,
            messages,
            valid,
            separators,
            layouts,
            targets,
            pending: Vec::new(),
            total,
            describe: describe_default(),
        };
        ipf.pending = ipf.margin(0);
        ipf
    }

    /// Cells of all clique tables together: the work of one margin's update is about this.
    pub fn clique_cells(&self) -> usize {
        self.tree.cells()
    }

    /// Whether fitting on the cliques is cheaper than on a dense table of `sizes` with
    /// `margin_dims`: the clique tables hold at most an eighth of its cells.
    pub fn pays(sizes: &[usize], margin_dims: &[Vec<usize>]) -> bool {
        let cells = sizes.iter().fold(1usize, |acc, &s| acc.saturating_mul(s));
        JunctionTree::new(sizes, margin_dims).cells() <= cells / 8
    }

    /// Sets how margin cells are named in error messages: `f(margin, cell)`.
    pub fn describe_cells(mut self, f: impl Fn(usize, usize) -> String + Send + Sync + 'static) -> Self {
        self.describe = Box::new(f);
        self
    }

    /// Builds the fitted table, row-major, in one pass.
    pub fn table(&self) -> Vec<f64> {
        let cells = self.sizes.iter().product();
        let layouts: Vec<MarginLayout> =
            self.tree.cliques.iter().map(|c| MarginLayout::new(&self.sizes, &c.dims)).collect();
        let factors: Vec<(&MarginLayout, &[f64])> =
            layouts.iter().zip(&self.potentials).map(|(l, p)| (l, p.as_slice())).collect();
        let mut out = vec![0.0; cells];
        fill_product(&self.sizes, &mut out, &factors);
        out
    }

    /// Per margin: the largest absolute deviation and the largest deviation relative to a
    /// positive target (a positive fit on a zero target counts as infinitely far).
    pub fn margin_deviations(&mut self) -> Vec<(f64, f64)> {
        (0..self.layouts.len())
            .map(|m| {
                let sums = self.margin(m);
                deviations(&sums, &self.targets[m])
            })
            .collect()
    }

    /// The current sums onto margin `m`.
    fn margin(&mut self, m: usize) -> Vec<f64> {
        let clique = self.tree.home[m];
        let belief = self.belief(clique, None);
        margin_sums(&self.tree.cliques[clique].sizes, &belief, &self.layouts[m])
    }

    /// The potential of `clique` times every incoming message except the one over edge
    /// `except`.
    fn belief(&mut self, clique: usize, except: Option<usize>) -> Vec<f64> {
        let incoming: Vec<(usize, usize)> =
            self.neighbours[clique].iter().copied().filter(|&(e, _)| Some(e) != except).collect();
        for &(e, from) in &incoming {
            self.ensure(e, from);
        }
        let sizes = &self.tree.cliques[clique].sizes;
        let mut belief = self.potentials[clique].clone();
        for (e, _) in incoming {
            let side = usize::from(self.tree.edges[e].ends[1] == clique);
            scale(sizes, &mut belief, &self.separators[e][side], &self.messages[2 * e + (1 - side)]);
        }
        belief
    }

    /// Makes the message over edge `e` from clique `from` current.
    fn ensure(&mut self, e: usize, from: usize) {
        let side = usize::from(self.tree.edges[e].ends[1] == from);
        if self.valid[2 * e + side] {
            return;
        }
        let belief = self.belief(from, Some(e));
        self.messages[2 * e + side] = margin_sums(&self.tree.cliques[from].sizes, &belief, &self.separators[e][side]);
        self.valid[2 * e + side] = true;
    }

    /// Marks stale every message pointing away from `clique` (they all depend on it).
    fn invalidate_from(&mut self, clique: usize) {
        let mut stack = vec![(clique, usize::MAX)];
        while let Some((c, via)) = stack.pop() {
            for &(e, next) in &self.neighbours[c] {
                if e != via {
                    let side = usize::from(self.tree.edges[e].ends[1] == c);
                    self.valid[2 * e + side] = false;
                    stack.push((next, e));
                }
            }
        }
    }
}

impl Solver for FactoredIpf {
    fn iterate(&mut self) -> Result<f64> {
        let n = self.layouts.len();
        let mut indicator: f64 = 0.0;
        for m in 0..n {
            let sums = std::mem::take(&mut self.pending);
            let factors = factors(&sums, &self.targets[m], &mut indicator)
                .map_err(|cell| driven_to_zero(&self.describe, m, cell))?;
            let clique = self.tree.home[m];
            scale(&self.tree.cliques[clique].sizes, &mut self.potentials[clique], &self.layouts[m], &factors);
            self.invalidate_from(clique);
            self.pending = self.margin((m + 1) % n);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::fitting::Ipf;
    use crate::iteration::{Runner, Stopping};
    use proptest::prelude::*;

    fn dense(sizes: &[usize], margins: &[(Vec<usize>, Vec<f64>)]) -> (Vec<f64>, usize) {
        let cells = sizes.iter().product();
        let mut ipf = Ipf::new(sizes.to_vec(), vec![1.0; cells], margins.to_vec());
        let outcome = Runner::new(Stopping::new(1e-11, 20_000).unwrap()).run(&mut ipf).unwrap();
        assert!(outcome.converged);
        (ipf.into_table(), outcome.iterations)
    }

    fn factored(sizes: &[usize], margins: &[(Vec<usize>, Vec<f64>)]) -> (Vec<f64>, usize) {
        let mut ipf = FactoredIpf::new(sizes.to_vec(), margins.to_vec());
        let outcome = Runner::new(Stopping::new(1e-11, 20_000).unwrap()).run(&mut ipf).unwrap();
        assert!(outcome.converged);
        (ipf.table(), outcome.iterations)
    }

    fn targets(sizes: &[usize], truth: &[f64], dims: &[usize]) -> Vec<f64> {
        let layout = MarginLayout::new(sizes, dims);
        margin_sums(sizes, truth, &layout)
    }

    #[test]
    fn bartlett_no_three_way_interaction_matches_the_published_fit() {
        let observed = [156.0, 107.0, 84.0, 31.0, 84.0, 133.0, 156.0, 209.0];
        let sizes = [2, 2, 2];
        let margins: Vec<_> = [vec![1, 2], vec![0, 2], vec![0, 1]]
            .into_iter()
            .map(|d| (d.clone(), targets(&sizes, &observed, &d)))
            .collect();
        let (table, _) = factored(&sizes, &margins);
        assert!((table[0] - 161.0961403).abs() < 1e-6, "{}", table[0]);
    }

    #[test]
    fn a_zero_target_that_empties_a_positive_one_is_infeasible() {
        let margins = vec![(vec![0, 1], vec![0.0, 0.0, 0.0, 4.0]), (vec![1], vec![2.0, 2.0])];
        let mut ipf = FactoredIpf::new(vec![2, 2], margins);
        assert!(matches!(ipf.iterate(), Err(Error::Infeasible(ref m)) if m.contains("margin 1, cell 0")));
    }

    /// A shape, a positive truth and margins (ordered subsets of the dimensions).
    fn problem() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<Vec<usize>>)> {
        prop::collection::vec(2usize..5, 2..6).prop_flat_map(|sizes| {
            let cells: usize = sizes.iter().product();
            let n = sizes.len();
            let margin = prop::collection::vec(0..n, 1..=3).prop_map(|mut v| {
                let mut seen = Vec::new();
                v.retain(|d| {
                    !seen.contains(d) && {
                        seen.push(*d);
                        true
                    }
                });
                v
            });
            (Just(sizes), prop::collection::vec(0.05f64..10.0, cells), prop::collection::vec(margin, 1..6))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn equals_dense_ipf_from_a_uniform_start((sizes, truth, dims) in problem()) {
            let margins: Vec<_> = dims.iter().map(|d| (d.clone(), targets(&sizes, &truth, d))).collect();
            let (want, want_sweeps) = dense(&sizes, &margins);
            let (got, got_sweeps) = factored(&sizes, &margins);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{g} vs {w}");
            }
            prop_assert!(got_sweeps.abs_diff(want_sweeps) <= 1, "{got_sweeps} vs {want_sweeps} sweeps");
        }
    }
}
