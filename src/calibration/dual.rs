//! Newton's method on the calibration dual (linear, bounded logit, entropy with soft margins).
//!
//! The dual objective, its gradient and Hessian are exposed to argmin through
//! [`CostFunction`], [`Gradient`] and [`Hessian`]; argmin's backtracking line search halves
//! steps that the Armijo condition rejects. One [`Solver::iterate`] is one Newton step, so the
//! crate's [`Runner`](crate::iteration::Runner) observes every step.

use std::ops::Range;

use argmin::core::{CostFunction, Executor, Gradient, Hessian, LineSearch, State, TerminationReason};
use argmin::solver::linesearch::condition::ArmijoCondition;
use argmin::solver::linesearch::BacktrackingLineSearch;
use nalgebra::{Cholesky, DMatrix, DVector, SymmetricEigen};
use rayon::prelude::*;

use super::basis::Basis;
use super::calfun::{Calfun, Logit};
use super::cells::Cells;
use super::{closest_margins, num, Calibration, Constraints, Layout};
use crate::error::{Error, Result};
use crate::iteration::Solver;

/// No column: the margin cell is not in the Newton basis.
const NONE: u32 = u32::MAX;
/// Smallest number of cells per parallel chunk.
const CELL_CHUNK: usize = 4096;
/// Largest number of parallel chunks.
const MAX_CHUNKS: usize = 64;
/// Budget (in f64s) for the per-chunk Hessian partial sums.
const HESSIAN_BUDGET: usize = 1 << 22;
/// Largest change of `A u` (logit) or `u` (exp) in any cell in one step.
const MAX_STEP: f64 = 20.0;
/// Newton steps without halving the deviation after which the iteration is declared stuck.
const STAGNATION: usize = 50;
/// Largest `cells × columns²` for which Newton steps in the coordinates of a basis of cells
/// ([`Basis`]) are tried when the usual ones fail: each costs that many operations.
const BASIS_BUDGET: usize = 1 << 33;

/// Fails with [`Error::Infeasible`] if a hard cell has a positive target but no support
/// (`support` holds the design totals of the usable records on every flat margin cell).
pub(crate) fn check_support(c: &Constraints, layout: &Layout, support: &[f64]) -> Result<()> {
    let bad: Vec<usize> = (0..layout.categorical)
        .filter(|&k| layout.hard(layout.locate(k).0) && layout.targets[k] > 0.0 && support[k] <= 0.0)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let list = list_cells(c, layout, &bad, ", ", |name, k| format!("{name} (target {})", num(layout.targets[k])));
    Err(Error::Infeasible(format!(
        "{} margin cell(s) with a positive target have no seed record with a positive design weight, so no \
         weights can reach them (seed re-weighting cannot create records; method = \"ipf\" fills such sampling \
         zeros from the margins, see zero_cells): {list}",
        bad.len()
    )))
}

/// Every one of the cells `bad` (flat indices), each described by `describe(name, k)`, joined
/// by `separator`: a user fixing the inputs needs them all, not the first few.
fn list_cells(
    c: &Constraints,
    layout: &Layout,
    bad: &[usize],
    separator: &str,
    describe: impl Fn(String, usize) -> String,
) -> String {
    let list: Vec<String> = bad
        .iter()
        .map(|&k| {
            let (m, j) = layout.locate(k);
            describe(c.cell_name(m, j), k)
        })
        .collect();
    list.join(separator)
}

/// The dual problem on the distinct cells, in the reduced basis.
pub(crate) struct Dual<'a> {
    cells: &'a Cells,
    layout: &'a Layout,
    calfun: Calfun,
    /// Design totals of the cells that take part (0 for cells set aside).
    dc: Vec<f64>,
    /// `K × margins`: the basis column of each cell's margin cell, or [`NONE`].
    cols: Vec<u32>,
    /// Basis column of each flat margin cell, or [`NONE`].
    col_of: Vec<u32>,
    /// Flat margin cell of each basis column.
    col_cell: Vec<usize>,
    /// Target of each basis column.
    col_target: Vec<f64>,
    /// Importance of each basis column (soft margins).
    col_importance: Vec<Option<f64>>,
    /// Basis column of each numeric total, or [`NONE`] (all its values are 0).
    numeric_cols: Vec<u32>,
    /// Cells per parallel chunk.
    chunk: usize,
    /// `Φ` is summed from [`Calfun::potential`] rather than [`Calfun::primitive`] (a constant
    /// apart): no cancellation when the weights are far below the design weights.
    potential: bool,
}

/// The dual at one point.
#[derive(Debug, Clone)]
pub(crate) struct Eval {
    /// `Φ(λ)`.
    phi: f64,
    /// Sum of the absolute values of the terms of `Φ`: the scale of its round-off.
    scale: f64,
    /// Achieved totals on every flat margin cell.
    totals: Vec<f64>,
    /// `∇Φ`: achieved minus (relaxed) target, per basis column.
    grad: DVector<f64>,
    /// `∇²Φ`, when asked for.
    hessian: Option<DMatrix<f64>>,
    /// Largest absolute deviation over hard cells and soft stationarity.
    deviation: f64,
}

/// Partial sums over a chunk of cells.
struct Partial {
    phi: f64,
    scale: f64,
    totals: Vec<f64>,
    hessian: Vec<f64>,
}

impl<'a> Dual<'a> {
    fn new(cells: &'a Cells, c: &Constraints, layout: &'a Layout, method: Calibration) -> Result<Dual<'a>> {
        let calfun = match method {
            Calibration::Linear => Calfun::Linear,
            Calibration::Entropy | Calibration::Rake => Calfun::Exp,
            Calibration::Logit(bounds) => Calfun::Logit(Logit::new(bounds.lower(), bounds.upper())),
        };
        let m_count = c.margins();
        let mut dc = cells.design().to_vec();
        if calfun == Calfun::Exp {
            // a zero target forces zero weight on every record under it
            for (d, row) in dc.iter_mut().zip(cells.codes().chunks_exact(m_count)) {
                if row.iter().zip(&layout.offsets).any(|(&code, &off)| layout.targets[off + code as usize] == 0.0) {
                    *d = 0.0;
                }
            }
        }
        let support = cells.margin_sums(&dc, &layout.offsets, layout.cells);
        check_support(c, layout, &support)?;
        if let Calfun::Logit(l) = calfun {
            check_bounds(c, layout, &support, &l)?;
        }

        let mut col_of = vec![NONE; layout.cells];
        let (mut col_cell, mut col_target, mut col_importance) = (Vec::new(), Vec::new(), Vec::new());
        let mut anchored = false;
        for m in 0..m_count {
            let hard = layout.hard(m);
            let mut drop_reference = hard && anchored;
            anchored |= hard;
            for j in 0..c.margin_sizes()[m] {
                let k = layout.offsets[m] + j;
                if support[k] <= 0.0 {
                    continue;
                }
                if drop_reference {
                    drop_reference = false;
                    continue;
                }
                col_of[k] = col_cell.len() as u32;
                col_cell.push(k);
                col_target.push(layout.targets[k]);
                col_importance.push(layout.importance[m]);
            }
        }
        let mut numeric_cols = Vec::with_capacity(cells.numeric());
        for q in 0..cells.numeric() {
            let k = layout.categorical + q;
            let reach: f64 = (0..cells.len()).map(|c| dc[c] * cells.values(c)[q].abs()).sum();
            if reach > 0.0 {
                numeric_cols.push(col_cell.len() as u32);
                col_cell.push(k);
                col_target.push(layout.targets[k]);
                col_importance.push(None);
            } else if layout.targets[k] != 0.0 {
                return Err(Error::Infeasible(format!(
                    "{}: target {} but no seed record with a positive design weight has a nonzero value, so no \
                     weights can reach it",
                    c.cell_name(layout.margins + q, 0),
                    num(layout.targets[k] * layout.unit(k))
                )));
            } else {
                numeric_cols.push(NONE);
            }
        }
        let cols: Vec<u32> = cells
            .codes()
            .chunks_exact(m_count)
            .flat_map(|row| row.iter().zip(&layout.offsets).map(|(&code, &off)| col_of[off + code as usize]))
            .collect();

        // fixed chunking: a function of the problem's size only, never of the thread count
        let k = cells.len();
        let p = col_cell.len();
        let mut chunk = CELL_CHUNK.max(k.div_ceil(MAX_CHUNKS));
        if p * p > 0 {
            chunk = chunk.max(k.saturating_mul(p * p).div_ceil(HESSIAN_BUDGET));
        }
        Ok(Dual {
            cells,
            layout,
            calfun,
            dc,
            cols,
            col_of,
            col_cell,
            col_target,
            col_importance,
            numeric_cols,
            chunk,
            potential: false,
        })
    }

    /// Number of basis columns.
    fn p(&self) -> usize {
        self.col_cell.len()
    }

    /// `x_c'λ` for cell `c`.
    #[inline]
    fn u(&self, c: usize, lambda: &[f64]) -> f64 {
        let m = self.cells.margins();
        let u: f64 = self.cols[c * m..(c + 1) * m].iter().filter(|&&k| k != NONE).map(|&k| lambda[k as usize]).sum();
        if self.numeric_cols.is_empty() {
            u
        } else {
            u + self.numeric_u(c, lambda)
        }
    }

    /// The numeric totals' part of `x_c'λ`.
    fn numeric_u(&self, c: usize, lambda: &[f64]) -> f64 {
        self.numeric_cols
            .iter()
            .zip(self.cells.values(c))
            .filter(|(&k, _)| k != NONE)
            .map(|(&k, v)| lambda[k as usize] * v)
            .sum()
    }

    /// Adds `h x_c x_c'` to the row-major `p × p` matrix `out` for the entries that involve a
    /// numeric total (the indicator block is the caller's), `active` being the cell's
    /// indicator columns.
    fn add_numeric_curvature(&self, c: usize, h: f64, active: &[usize], out: &mut [f64]) {
        let p = self.p();
        let values = self.cells.values(c);
        for (&a, &va) in self.numeric_cols.iter().zip(values) {
            if a == NONE {
                continue;
            }
            let a = a as usize;
            let hv = h * va;
            for &b in active {
                out[a * p + b] += hv;
                out[b * p + a] += hv;
            }
            for (&b, &vb) in self.numeric_cols.iter().zip(values) {
                if b != NONE {
                    out[a * p + b as usize] += hv * vb;
                }
            }
        }
    }

    /// Maps `f` over fixed chunks of cells, in parallel, returning the results in chunk order.
    fn chunked<T: Send>(&self, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
        let k = self.cells.len();
        if k <= self.chunk {
            return vec![f(0..k)];
        }
        let chunks = k.div_ceil(self.chunk);
        (0..chunks).into_par_iter().map(|i| f(i * self.chunk..((i + 1) * self.chunk).min(k))).collect()
    }

    fn partial(&self, range: Range<usize>, lambda: &[f64], hessian: bool) -> Partial {
        let m = self.cells.margins();
        let p = self.p();
        let offsets = &self.layout.offsets;
        let numeric = !self.numeric_cols.is_empty();
        let mut part = Partial {
            phi: 0.0,
            scale: 0.0,
            totals: vec![0.0; self.layout.cells],
            hessian: if hessian { vec![0.0; p * p] } else { Vec::new() },
        };
        let mut active: Vec<usize> = Vec::with_capacity(m);
        for c in range {
            let d = self.dc[c];
            if d == 0.0 {
                continue;
            }
            let cols = &self.cols[c * m..(c + 1) * m];
            let mut u: f64 = cols.iter().filter(|&&k| k != NONE).map(|&k| lambda[k as usize]).sum();
            if numeric {
                u += self.numeric_u(c, lambda);
            }
            let (g, dg) = self.calfun.g_dg(u);
            let w = d * g;
            for (&code, &off) in self.cells.row(c).iter().zip(offsets) {
                part.totals[off + code as usize] += w;
            }
            if numeric {
                for (t, v) in part.totals[self.layout.categorical..].iter_mut().zip(self.cells.values(c)) {
                    *t += w * v;
                }
            }
            let prim = d * if self.potential { self.calfun.potential(u) } else { self.calfun.primitive(u) };
            part.phi += prim;
            part.scale += prim.abs();
            if hessian {
                let h = d * dg;
                active.clear();
                active.extend(cols.iter().filter(|&&k| k != NONE).map(|&k| k as usize));
                for &a in &active {
                    let row = &mut part.hessian[a * p..(a + 1) * p];
                    for &b in &active {
                        row[b] += h;
                    }
                }
                if numeric {
                    self.add_numeric_curvature(c, h, &active, &mut part.hessian);
                }
            }
        }
        part
    }

    /// The dual at `lambda`, with the Hessian if asked for.
    fn evaluate(&self, lambda: &DVector<f64>, hessian: bool) -> Eval {
        let p = self.p();
        let lam = lambda.as_slice();
        let parts = self.chunked(|r| self.partial(r, lam, hessian));
        let mut iter = parts.into_iter();
        let mut acc = iter.next().expect("at least one chunk");
        for part in iter {
            acc.phi += part.phi;
            acc.scale += part.scale;
            for (a, b) in acc.totals.iter_mut().zip(&part.totals) {
                *a += b;
            }
            for (a, b) in acc.hessian.iter_mut().zip(&part.hessian) {
                *a += b;
            }
        }
        let mut hess = hessian.then(|| DMatrix::from_vec(p, p, std::mem::take(&mut acc.hessian)));
        let mut grad = DVector::zeros(p);
        let mut soft_dev: f64 = 0.0;
        for k in 0..p {
            let (t, l) = (self.col_target[k], lam[k]);
            let achieved = acc.totals[self.col_cell[k]];
            match self.col_importance[k] {
                None => {
                    acc.phi -= t * l;
                    acc.scale += (t * l).abs();
                    grad[k] = achieved - t;
                }
                Some(rho) => {
                    let z = (-l / rho).exp();
                    let term = -rho * t * (-l / rho).exp_m1(); // ρ T (1 − z)
                    acc.phi -= term;
                    acc.scale += term.abs();
                    grad[k] = achieved - t * z;
                    soft_dev = soft_dev.max(grad[k].abs());
                    if let Some(h) = hess.as_mut() {
                        h[(k, k)] += t * z / rho;
                    }
                }
            }
        }
        let mut deviation = soft_dev;
        for (k, (&a, &t)) in acc.totals.iter().zip(&self.layout.targets).enumerate() {
            if self.layout.hard(self.layout.locate(k).0) {
                deviation = deviation.max((a - t).abs());
            }
        }
        Eval { phi: acc.phi, scale: acc.scale, totals: acc.totals, grad, hessian: hess, deviation }
    }

    /// g-weight of every cell (0 for cells set aside by a zero target).
    fn g(&self, lambda: &DVector<f64>) -> Vec<f64> {
        let lam = lambda.as_slice();
        (0..self.cells.len())
            .map(|c| {
                if self.dc[c] > 0.0 {
                    self.calfun.g(self.u(c, lam))
                } else if self.cells.design()[c] > 0.0 {
                    0.0
                } else {
                    1.0
                }
            })
            .collect()
    }

    /// `Σ_c x_c x_c'` over the cells that take part, each counted once whatever its design
    /// weight, plus 1 on the diagonal of every soft column. It has the range of the Newton
    /// matrix at any `λ` (where `F' > 0`) without the spread of the weights, so what it says
    /// about that range is not fooled by round-off.
    fn structure(&self) -> DMatrix<f64> {
        let m = self.cells.margins();
        let p = self.p();
        let parts = self.chunked(|range| {
            let mut h = vec![0.0; p * p];
            let mut active: Vec<usize> = Vec::with_capacity(m);
            for c in range.filter(|&c| self.dc[c] > 0.0) {
                active.clear();
                active.extend(self.cols[c * m..(c + 1) * m].iter().filter(|&&k| k != NONE).map(|&k| k as usize));
                for &a in &active {
                    for &b in &active {
                        h[a * p + b] += 1.0;
                    }
                }
                self.add_numeric_curvature(c, 1.0, &active, &mut h);
            }
            h
        });
        let mut h = DMatrix::zeros(p, p);
        for part in parts {
            h += DMatrix::from_vec(p, p, part);
        }
        for (k, imp) in self.col_importance.iter().enumerate() {
            if imp.is_some() {
                h[(k, k)] += 1.0;
            }
        }
        h
    }

    /// The largest component of the hard targets outside the range of the Newton matrix (how
    /// far apart the hard margins' shared sub-totals are), and the rank of that matrix. Both are
    /// computed from which cells take part and the targets alone, so they do not depend on the
    /// design weights. A component above round-off proves that no weights (of any sign) meet
    /// every hard margin: a direction `r` with `x_c'r = 0` for every cell `c` has `T'r ≠ 0`.
    fn structural(&self) -> (f64, usize) {
        let h = self.structure();
        let t = DVector::from_iterator(
            self.p(),
            self.col_target.iter().zip(&self.col_importance).map(|(&t, imp)| if imp.is_none() { t } else { 0.0 }),
        );
        match newton_direction(&h, &t) {
            Direction { rank: None, .. } => (0.0, self.p()),
            Direction { step, rank: Some(rank), .. } => ((&t - &h * &step).amax(), rank),
        }
    }

    /// The basis columns of cell `c`, written into `out`.
    fn active(&self, c: usize, out: &mut Vec<usize>) {
        let m = self.cells.margins();
        out.extend(self.cols[c * m..(c + 1) * m].iter().filter(|&&k| k != NONE).map(|&k| k as usize));
    }

    /// Whether Newton steps in the coordinates of a basis of cells fit in [`BASIS_BUDGET`]
    /// (and the rows are indicators: not with numeric totals).
    fn basis_affordable(&self) -> bool {
        if !self.numeric_cols.is_empty() {
            return false;
        }
        let taking_part = self.dc.iter().filter(|&&d| d > 0.0).count();
        taking_part.saturating_mul(self.p() * self.p()) <= BASIS_BUDGET
    }

    /// The rows of the Newton system at `lambda`, numbered cells first (`0..K`) then soft
    /// columns (`K + i` for the `i`-th of `soft`): each row's curvature `h` (`D_c F'(u_c)`, or
    /// `T z / ρ`) and weight `w` (`D_c F(u_c)`, or `−T z`), so that `∇²Φ = Σ h x x'` and
    /// `∇Φ = Σ w x − T` (hard targets only).
    fn rows(&self, lambda: &[f64], soft: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let k = self.cells.len();
        let parts = self.chunked(|range| {
            range
                .map(|c| match self.dc[c] {
                    d if d > 0.0 => {
                        let (g, dg) = self.calfun.g_dg(self.u(c, lambda));
                        (d * dg, d * g)
                    }
                    _ => (0.0, 0.0),
                })
                .collect::<Vec<_>>()
        });
        let (mut h, mut w): (Vec<f64>, Vec<f64>) = parts.into_iter().flatten().unzip();
        for &j in soft {
            let (t, rho) = (self.col_target[j], self.col_importance[j].unwrap_or(1.0));
            let z = (-lambda[j] / rho).exp();
            h.push(t * z / rho);
            w.push(-t * z);
        }
        debug_assert_eq!(h.len(), k + soft.len());
        (h, w)
    }

    /// A heaviest basis ([`Basis`]) of the rows with curvatures `h` (at most `rank` of them),
    /// and `Σ h β β'` and `Σ w β` over every row, in the basis coordinates `β`.
    fn in_basis(
        &self,
        h: &[f64],
        w: &[f64],
        soft: &[usize],
        rank: usize,
    ) -> Option<(Basis, DMatrix<f64>, DVector<f64>)> {
        let k = self.cells.len();
        let mut order: Vec<usize> = (0..h.len()).filter(|&r| h[r] > 0.0 && h[r].is_finite()).collect();
        order.sort_by(|&a, &b| h[b].total_cmp(&h[a]).then(a.cmp(&b)));
        let active = |row: usize, out: &mut Vec<usize>| {
            if row < k {
                self.active(row, out)
            } else {
                out.push(soft[row - k])
            }
        };
        let basis = Basis::heaviest(self.p(), rank, h.len(), &order, active)?;
        let r = basis.len();
        let add = |row: usize,
                   cols: &mut Vec<usize>,
                   beta: &mut DVector<f64>,
                   hv: &mut DMatrix<f64>,
                   gv: &mut DVector<f64>| {
            cols.clear();
            active(row, cols);
            basis.coordinates(row, cols, beta);
            gv.axpy(w[row], beta, 1.0);
            if h[row] > 0.0 {
                hv.ger(h[row], beta, beta, 1.0);
            }
        };
        let parts = self.chunked(|range| {
            let (mut hv, mut gv) = (DMatrix::zeros(r, r), DVector::zeros(r));
            let (mut cols, mut beta) = (Vec::new(), DVector::zeros(r));
            for c in range.filter(|&c| self.dc[c] > 0.0) {
                add(c, &mut cols, &mut beta, &mut hv, &mut gv);
            }
            (hv, gv)
        });
        let (mut hv, mut gv) = (DMatrix::zeros(r, r), DVector::zeros(r));
        for (a, b) in parts {
            hv += a;
            gv += b;
        }
        let (mut cols, mut beta) = (Vec::new(), DVector::zeros(r));
        for row in k..h.len() {
            add(row, &mut cols, &mut beta, &mut hv, &mut gv);
        }
        Some((basis, hv, gv))
    }

    /// The hard targets in the coordinates of `basis`.
    fn targets_in(&self, basis: &Basis) -> DVector<f64> {
        let t = DVector::from_iterator(
            self.p(),
            self.col_target.iter().zip(&self.col_importance).map(|(&t, imp)| if imp.is_none() { t } else { 0.0 }),
        );
        &basis.pinv * t
    }

    /// The Newton direction at `lambda` computed in the coordinates `v = Bλ` of a heaviest basis
    /// `B` of the rows (a [`Basis`] of at most `rank` rows): solves
    /// `(Σ h β β') Δv = (B')⁺T − Σ w β` and returns `Δλ = ((B')⁺)'Δv`, with the basis size.
    fn basis_direction(&self, lambda: &DVector<f64>, rank: usize) -> Option<(DVector<f64>, usize)> {
        let soft: Vec<usize> = (0..self.p()).filter(|&j| self.col_importance[j].is_some()).collect();
        let (h, w) = self.rows(lambda.as_slice(), &soft);
        let (basis, hv, gv) = self.in_basis(&h, &w, &soft, rank)?;
        let rhs = self.targets_in(&basis) - gv;
        let dv = newton_direction(&hv, &rhs).step;
        let dir = basis.pinv.tr_mul(&dv);
        dir.iter().all(|v| v.is_finite()).then_some((dir, basis.len()))
    }

    /// Linear calibration solved in the coordinates of a heaviest basis `B` of the cells (by
    /// design total), without forming `1 + u`: with `g_c = β_c'g_B` (the rows' `β`s sum to 1,
    /// margin 0 being hard), the margins are met when `(Σ D_c β_c β_c') g_B = (B')⁺T`. Returns
    /// every cell's g and the basis size. A weight far below its design weight (g near 0) is
    /// exact here, where `1 + u` keeps only its round-off.
    fn linear_by_basis(&self, rank: usize) -> Option<(Vec<f64>, usize)> {
        let h = self.dc.clone();
        let (basis, hv, _) = self.in_basis(&h, &h, &[], rank)?;
        let gb = newton_direction(&hv, &self.targets_in(&basis)).step;
        let mut cols = Vec::new();
        let mut beta = DVector::zeros(basis.len());
        let g: Vec<f64> = (0..self.cells.len())
            .map(|c| {
                if self.dc[c] > 0.0 {
                    cols.clear();
                    self.active(c, &mut cols);
                    basis.coordinates(c, &cols, &mut beta);
                    beta.dot(&gb)
                } else {
                    1.0
                }
            })
            .collect();
        g.iter().all(|v| v.is_finite()).then_some((g, basis.len()))
    }

    /// Design weight and achieved totals of cells with g-weights `g`: the [`Eval`] of a point
    /// given by its weights (its `Φ` and gradient are not used).
    fn eval_weights(&self, g: &[f64]) -> Eval {
        let w: Vec<f64> = self.dc.iter().zip(g).map(|(d, g)| d * g).collect();
        let totals = self.cells.margin_sums(&w, &self.layout.offsets, self.layout.cells);
        let grad =
            DVector::from_iterator(self.p(), (0..self.p()).map(|k| totals[self.col_cell[k]] - self.col_target[k]));
        let deviation = (0..self.layout.cells)
            .filter(|&k| self.layout.hard(self.layout.locate(k).0))
            .map(|k| (totals[k] - self.layout.targets[k]).abs())
            .fold(0.0, f64::max);
        Eval { phi: 0.0, scale: 0.0, totals, grad, hessian: None, deviation }
    }

    /// `max_c |x_c'r|` over the cells that take part.
    fn max_abs_u(&self, r: &DVector<f64>) -> f64 {
        let rs = r.as_slice();
        let parts =
            self.chunked(|range| range.filter(|&c| self.dc[c] > 0.0).map(|c| self.u(c, rs).abs()).fold(0.0, f64::max));
        parts.into_iter().fold(0.0, f64::max)
    }

    /// Whether direction `r` certifies that no weights `w ≥ 0` meet the hard margins (exp): any
    /// such weights total `W`, the first hard margin's total, so `T'r = Σ_c w_c x_c'r ≤
    /// W max_c (x_c'r)⁺`, and a larger `T'r` (beyond round-off) rules them out. The soft
    /// columns of `r` are set to 0 (soft totals are free), and `r` has to be told apart from
    /// round-off as in [`Dual::certifies_infeasible`].
    fn certifies_negative(&self, r: &DVector<f64>) -> bool {
        let layout = self.layout;
        let Some(m) = layout.first_hard() else {
            return false;
        };
        let end = layout.offsets.get(m + 1).copied().unwrap_or(layout.cells);
        let total: f64 = layout.targets[layout.offsets[m]..end].iter().sum();
        let r = DVector::from_iterator(
            self.p(),
            r.iter().zip(&self.col_importance).map(|(&v, imp)| if imp.is_none() { v } else { 0.0 }),
        );
        let rs = r.as_slice();
        let parts = self.chunked(|range| {
            range
                .filter(|&c| self.dc[c] > 0.0)
                .map(|c| self.u(c, rs))
                .fold((f64::NEG_INFINITY, 0.0f64), |acc, v| (acc.0.max(v), acc.1.max(v.abs())))
        });
        let (top, largest) = parts.iter().fold((f64::NEG_INFINITY, 0.0f64), |acc, p| (acc.0.max(p.0), acc.1.max(p.1)));
        let (mut tr, mut scale) = (0.0, total * largest);
        for (t, v) in self.col_target.iter().zip(rs) {
            tr += t * v;
            scale += (t * v).abs();
        }
        scale > 0.0 && tr - total * top.max(0.0) > 1e-9 * scale
    }

    /// Whether direction `r` certifies that no `g ∈ [L, U]` meets the targets:
    /// `T'r > Σ_c D_c h(x_c'r)` beyond round-off, with `h(v) = max(L v, U v)`. For any feasible
    /// `g`, `T'r = Σ_c D_c g_c x_c'r ≤ Σ_c D_c h(x_c'r)`, so such an `r` rules feasibility out.
    fn certifies_infeasible(&self, logit: &Logit, r: &DVector<f64>) -> bool {
        let rs = r.as_slice();
        let bound = logit.lower.abs().max(logit.upper.abs());
        let parts = self.chunked(|range| {
            let (mut s, mut scale) = (0.0, 0.0);
            for c in range {
                let d = self.dc[c];
                if d > 0.0 {
                    let v = self.u(c, rs);
                    s += d * logit.support(v);
                    scale += d * v.abs() * bound;
                }
            }
            (s, scale)
        });
        let (mut s, mut scale) = parts.iter().fold((0.0, 0.0), |acc, p| (acc.0 + p.0, acc.1 + p.1));
        let mut tr = 0.0;
        for (t, v) in self.col_target.iter().zip(rs) {
            tr += t * v;
            scale += (t * v).abs();
        }
        s = tr - s;
        scale > 0.0 && s > 1e-9 * scale
    }
}

/// Fails with [`Error::Infeasible`] if a hard cell's target is outside `(L S, U S)`, `S` its
/// design total: no g strictly within the bounds can reach it.
fn check_bounds(c: &Constraints, layout: &Layout, support: &[f64], logit: &Logit) -> Result<()> {
    let (lo, hi) = (logit.lower, logit.upper);
    let bad: Vec<usize> = (0..layout.categorical)
        .filter(|&k| {
            let (s, t) = (support[k], layout.targets[k]);
            layout.hard(layout.locate(k).0) && s > 0.0 && !(lo * s < t && t < hi * s)
        })
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let list = list_cells(c, layout, &bad, "; ", |name, k| {
        format!(
            "{name}: target {} but weights with g in ({lo}, {hi}) reach only ({}, {})",
            num(layout.targets[k]),
            num(lo * support[k]),
            num(hi * support[k])
        )
    });
    Err(Error::Infeasible(format!(
        "no weights with g = w/d within the logit bounds ({lo}, {hi}) can meet {} margin cell(s){}: {list}",
        bad.len(),
        totals_apart(layout, support, lo, hi)
    )))
}

/// When the design weights and the targets of the first hard margin are so far apart in total
/// that the mean g is outside `(lo, hi)`, what is most likely wrong, else nothing: every cell
/// then fails for one reason, not many.
fn totals_apart(layout: &Layout, support: &[f64], lo: f64, hi: f64) -> String {
    let Some(m) = (0..layout.offsets.len()).find(|&m| layout.hard(m)) else {
        return String::new();
    };
    let end = layout.offsets.get(m + 1).copied().unwrap_or(layout.cells);
    let cells = layout.offsets[m]..end;
    let design: f64 = support[cells.clone()].iter().sum();
    let target: f64 = layout.targets[cells].iter().sum();
    let mean = target / design;
    if design > 0.0 && !(lo < mean && mean < hi) {
        format!(
            ": the seed's design weights sum to {} but the targets to {} (g would have to average {}, outside \
             the bounds); is a design-weight column missing ([seed] weight), or are the targets in other units?",
            num(design),
            num(target),
            num((mean * 1e3).round() / 1e3)
        )
    } else {
        String::new()
    }
}

/// A solution of a Newton system `H Δ = rhs`, and how it was found.
struct Direction {
    step: DVector<f64>,
    /// The rank kept when `H` was not safely positive definite (pseudo-inverse), else `None`.
    rank: Option<usize>,
    /// The smallest squared Cholesky pivot of `H` scaled to a unit diagonal (0 if Cholesky
    /// failed): the step loses about `log10(1 / min_pivot²)` digits to round-off.
    min_pivot2: f64,
}

/// Squared Cholesky pivot below which the Newton step of the usual coordinates is too inexact
/// to start from: the cells' weights then span so many orders of magnitude that steps in the
/// coordinates of a basis of cells are taken instead.
const ILL_CONDITIONED: f64 = 1e-10;

/// Solves `H Δ = rhs` after Jacobi scaling: by Cholesky when `H` is safely positive definite,
/// otherwise by a pseudo-inverse (symmetric eigendecomposition, eigenvalues below `1e-12` of the
/// largest dropped).
fn newton_direction(h: &DMatrix<f64>, rhs: &DVector<f64>) -> Direction {
    let p = rhs.len();
    let s = DVector::from_iterator(
        p,
        (0..p).map(|k| {
            let d = h[(k, k)];
            if d > 0.0 && d.is_finite() {
                1.0 / d.sqrt()
            } else {
                0.0
            }
        }),
    );
    let mut hs = h.clone();
    for b in 0..p {
        for a in 0..p {
            hs[(a, b)] *= s[a] * s[b];
        }
    }
    let rs = rhs.component_mul(&s);
    let mut min_pivot2 = 0.0;
    if let Some(ch) = Cholesky::new(hs.clone()) {
        let l = ch.l_dirty();
        let min_pivot = (0..p).map(|k| l[(k, k)]).fold(f64::INFINITY, f64::min);
        min_pivot2 = min_pivot * min_pivot;
        if min_pivot2 > 1e-12 {
            return Direction { step: ch.solve(&rs).component_mul(&s), rank: None, min_pivot2 };
        }
    }
    let eig = SymmetricEigen::new(hs);
    let tol = 1e-12 * eig.eigenvalues.amax();
    let mut y = DVector::zeros(p);
    let mut rank = 0;
    for (k, &e) in eig.eigenvalues.iter().enumerate() {
        if e > tol {
            let v = eig.eigenvectors.column(k);
            y += v * (v.dot(&rs) / e);
            rank += 1;
        }
    }
    Direction { step: y.component_mul(&s), rank: Some(rank), min_pivot2 }
}

/// The dual as an argmin problem: cost `Φ(λ)`, gradient and Hessian.
pub(crate) struct DualProblem<'b, 'a> {
    dual: &'b Dual<'a>,
}

impl CostFunction for DualProblem<'_, '_> {
    type Param = DVector<f64>;
    type Output = f64;

    fn cost(&self, lambda: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.dual.evaluate(lambda, false).phi)
    }
}

impl Gradient for DualProblem<'_, '_> {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;

    fn gradient(&self, lambda: &Self::Param) -> std::result::Result<DVector<f64>, argmin::core::Error> {
        Ok(self.dual.evaluate(lambda, false).grad)
    }
}

impl Hessian for DualProblem<'_, '_> {
    type Param = DVector<f64>;
    type Hessian = DMatrix<f64>;

    fn hessian(&self, lambda: &Self::Param) -> std::result::Result<DMatrix<f64>, argmin::core::Error> {
        Ok(self.dual.evaluate(lambda, true).hessian.expect("asked for the Hessian"))
    }
}

/// Damped Newton on the dual: one step per [`Solver::iterate`].
pub(crate) struct DualNewton<'a> {
    dual: Dual<'a>,
    constraints: &'a Constraints,
    lambda: DVector<f64>,
    cur: Eval,
    /// No further progress is possible (round-off): iterations return the current deviation.
    stalled: bool,
    /// Smallest deviation seen, and iterations since it last halved.
    best: f64,
    since_best: usize,
    /// Round-off floor: the layout's, plus any tolerated inconsistency between hard margins.
    floor: f64,
    /// The Newton step at `λ = 0` and the rank kept if a pseudo-inverse was used, computed
    /// while checking the margins' consistency.
    first_step: Option<(DVector<f64>, Option<usize>)>,
    /// The rank of the Newton matrix from the cells' structure alone, once computed.
    rank: Option<usize>,
    /// Steps are taken in the coordinates of a basis of cells ([`Basis`]), and linear
    /// calibration is solved there: the usual Newton systems lost the light cells to round-off.
    in_basis: bool,
    /// The g-weights found by [`Dual::linear_by_basis`], which has no `λ`.
    fixed_g: Option<Vec<f64>>,
    /// What was tried, for [`Error::Numerical`].
    tried: Tried,
}

/// What a [`DualNewton`] run has tried so far, for [`Error::Numerical`].
#[derive(Debug, Default, Clone, Copy)]
struct Tried {
    /// Newton steps (or linear solves).
    steps: usize,
    /// Step halvings of the line search.
    halvings: u64,
    /// Steps whose Newton matrix was singular to round-off (solved by pseudo-inverse).
    pseudo_inverse: usize,
    /// Steps in the coordinates of a basis of cells.
    in_basis: usize,
    /// The largest such basis.
    basis_size: usize,
    /// The factor every weight was scaled by before the steps in a basis (1 if none).
    scale: f64,
}

impl<'a> DualNewton<'a> {
    /// Sets up the dual of `method` (linear, logit or entropy) at `λ = 0` (`w = d`).
    ///
    /// Fails with [`Error::Infeasible`] when a positive hard target has no support, (logit) a
    /// hard cell's target is out of the bounds' reach, or the hard margins contradict each
    /// other.
    pub(crate) fn new(
        cells: &'a Cells,
        constraints: &'a Constraints,
        layout: &'a Layout,
        method: Calibration,
    ) -> Result<DualNewton<'a>> {
        let dual = Dual::new(cells, constraints, layout, method)?;
        let lambda = DVector::zeros(dual.p());
        let cur = dual.evaluate(&lambda, true);
        let best = cur.deviation;
        let mut solver = DualNewton {
            dual,
            constraints,
            lambda,
            cur,
            stalled: false,
            best,
            since_best: 0,
            floor: layout.floor,
            first_step: None,
            rank: None,
            in_basis: false,
            fixed_g: None,
            tried: Tried { scale: 1.0, ..Tried::default() },
        };
        if solver.dual.p() == 0 {
            return Ok(solver);
        }
        // The range of the Newton matrix is that of the indicators of the cells that take part
        // (for every method, at every λ where F' > 0). A target component outside it is a
        // contradiction between hard margins (shared sub-totals that differ) that no weights
        // can remove. When the weighted matrix looks singular, that is decided on the cells'
        // structure alone: with weights spanning many orders of magnitude, round-off makes a
        // regular Newton matrix look singular.
        let h = solver.cur.hessian.as_ref().expect("evaluated with the Hessian");
        let rhs = -&solver.cur.grad;
        let Direction { step: dir, rank: weighted_rank, min_pivot2 } = newton_direction(h, &rhs);
        if weighted_rank.is_none() && min_pivot2 < ILL_CONDITIONED && solver.switch_to_basis() {
            return Ok(solver);
        }
        if let Some(weighted_rank) = weighted_rank {
            let (residual, rank) = solver.dual.structural();
            solver.rank = Some(rank);
            if residual > 1e-6 * layout.largest {
                return Err(solver.infeasible(&format!(
                    "the hard margins contradict each other (shared sub-totals differ by up to {}), so no \
                     weights can meet them all",
                    num(residual)
                )));
            }
            // differences the inputs tolerate (round-off, rounded publications) set the floor
            solver.floor += 2.0 * residual;
            if weighted_rank < rank && solver.switch_to_basis() {
                return Ok(solver);
            }
        }
        solver.first_step = Some((dir, weighted_rank));
        Ok(solver)
    }

    /// g-weight of every distinct cell.
    pub(crate) fn g(&self) -> Vec<f64> {
        match &self.fixed_g {
            Some(g) => g.clone(),
            None => self.dual.g(&self.lambda),
        }
    }

    /// Achieved totals on every flat margin cell.
    pub(crate) fn totals(&self) -> &[f64] {
        &self.cur.totals
    }

    /// Per margin, the relaxation factors `z = e^{−λ/ρ}` of a soft margin (`None` if hard);
    /// unreachable soft cells (positive target, no support) get 0, zero-target cells 1.
    pub(crate) fn relaxation(&self) -> Vec<Option<Vec<f64>>> {
        let layout = self.dual.layout;
        (0..self.constraints.margins())
            .map(|m| {
                let rho = layout.importance[m]?;
                Some(
                    (0..self.constraints.margin_sizes()[m])
                        .map(|j| {
                            let k = layout.offsets[m] + j;
                            match self.dual.col_of[k] {
                                NONE if layout.targets[k] == 0.0 => 1.0,
                                NONE => 0.0,
                                col => (-self.lambda[col as usize] / rho).exp(),
                            }
                        })
                        .collect(),
                )
            })
            .collect()
    }

    fn infeasible(&self, why: &str) -> Error {
        Error::Infeasible(format!("{why}; {}", closest_margins(self.constraints, self.dual.layout, &self.cur.totals)))
    }

    /// The rank of the Newton matrix from the cells' structure.
    fn rank(&mut self) -> usize {
        match self.rank {
            Some(rank) => rank,
            None => {
                let rank = self.dual.structural().1;
                self.rank = Some(rank);
                rank
            }
        }
    }

    /// Goes on in the coordinates of a basis of cells, if affordable and not done already:
    /// `Φ` is summed without the constant that cancels, and at `λ = 0` (logit, exp) every
    /// weight is first scaled by the ratio of the first hard margin's total to the design
    /// total (the exact minimum of `Φ` along that direction). Returns whether it did.
    fn switch_to_basis(&mut self) -> bool {
        if self.in_basis || !self.dual.basis_affordable() {
            return false;
        }
        self.in_basis = true;
        self.dual.potential = true;
        let layout = self.dual.layout;
        if self.dual.calfun != Calfun::Linear && self.lambda.iter().all(|&l| l == 0.0) {
            if let Some(m) = layout.first_hard() {
                let cells = layout.offsets[m]..layout.offsets[m] + self.constraints.margin_sizes()[m];
                let target: f64 = layout.targets[cells.clone()].iter().sum();
                let design: f64 = self.dual.dc.iter().sum();
                if let Some(u) = self.dual.calfun.inverse(target / design).filter(|&u| u != 0.0) {
                    for k in cells {
                        if let Some(col) = Some(self.dual.col_of[k]).filter(|&c| c != NONE) {
                            self.lambda[col as usize] += u;
                        }
                    }
                    self.tried.scale = target / design;
                }
            }
        }
        self.cur = self.dual.evaluate(&self.lambda, false);
        self.best = self.cur.deviation;
        self.since_best = 0;
        true
    }

    /// Step-halving along `dir` from the current point with argmin's backtracking line search
    /// (Armijo condition, `c = 1e-4`), starting at step length `alpha`. `None` if no step in 60
    /// halvings decreases `Φ`. Counts the halvings in `tried`.
    fn line_search(&mut self, dir: &DVector<f64>, alpha: f64) -> Option<DVector<f64>> {
        let mut search = BacktrackingLineSearch::new(ArmijoCondition::new(1e-4).ok()?).rho(0.5).ok()?;
        search.search_direction(dir.clone());
        search.initial_step_length(alpha).ok()?;
        let problem = DualProblem { dual: &self.dual };
        let (lambda, grad, phi) = (self.lambda.clone(), self.cur.grad.clone(), self.cur.phi);
        let result = Executor::new(problem, search)
            .configure(|s| s.param(lambda).gradient(grad).cost(phi).max_iters(60))
            .ctrlc(false)
            .run()
            .ok()?;
        let state = result.state();
        self.tried.halvings += state.get_iter() + 1;
        match state.get_termination_reason() {
            Some(TerminationReason::SolverConverged) => state.get_param().cloned(),
            _ => None,
        }
    }

    /// [`Error::Infeasible`] if one of the directions `candidates` proves that no weights of
    /// the method's form meet the hard margins (logit: within the bounds; exp: non-negative).
    fn certified(&self, candidates: &[&DVector<f64>]) -> Option<Error> {
        let why = match self.dual.calfun {
            Calfun::Logit(l) if candidates.iter().any(|r| self.dual.certifies_infeasible(&l, r)) => {
                format!(
                    "no weights with g = w/d within the logit bounds ({}, {}) meet the hard margins",
                    l.lower, l.upper
                )
            }
            Calfun::Exp if candidates.iter().any(|r| self.dual.certifies_negative(r)) => {
                "no non-negative weights meet the hard margins".to_string()
            }
            _ => return None,
        };
        Some(self.infeasible(&format!("{why} (the Newton iterates diverge along a direction that proves it)")))
    }

    /// The iteration cannot go on (`why`): infeasible when a direction proves it; otherwise it
    /// goes on in the coordinates of a basis of cells if it has not yet, stops quietly at
    /// round-off level, or fails numerically saying what was tried. At round-off level only a
    /// linear calibration goes on in a basis (one solve, and there round-off may be `1 + u`
    /// losing a g near 0); Logit and Entropy stop there as before.
    fn stall(&mut self, why: &str) -> Result<f64> {
        if let Some(e) = self.certified(&[&self.lambda]) {
            return Err(e);
        }
        let at_round_off = self.cur.deviation <= 1e-8 * self.dual.layout.largest + self.floor;
        let go_on = !at_round_off || self.dual.calfun == Calfun::Linear;
        if self.cur.deviation > self.floor && go_on && self.switch_to_basis() {
            return Ok(self.cur.deviation);
        }
        if at_round_off {
            self.stalled = true;
            return Ok(self.cur.deviation);
        }
        Err(self.numerical(why))
    }

    /// An [`Error::Numerical`]: why the iteration stopped, what it tried, and how far it got.
    fn numerical(&self, why: &str) -> Error {
        let t = self.tried;
        let (lo, hi) = self
            .dual
            .dc
            .iter()
            .filter(|&&d| d > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), &d| (lo.min(d), hi.max(d)));
        let mut tried = format!(
            "{} Newton step(s) with {} step halving(s), each Newton system scaled to a unit diagonal (Jacobi)",
            t.steps, t.halvings
        );
        if t.pseudo_inverse > 0 {
            tried += &format!(", {} of them singular to round-off and solved by pseudo-inverse", t.pseudo_inverse);
        }
        if t.in_basis > 0 {
            tried += &format!(
                "; {} of the steps in the coordinates of a basis of {} seed cells chosen heaviest first",
                t.in_basis, t.basis_size
            );
            if t.scale != 1.0 {
                tried += &format!(", every weight first scaled by {:e} (margin total / design total)", t.scale);
            }
        } else if !self.dual.numeric_cols.is_empty() {
            tried += "; steps in the coordinates of a basis of seed cells were not tried (numeric totals)";
        } else if !self.dual.basis_affordable() {
            tried +=
                "; steps in the coordinates of a basis of seed cells were not tried (too many cells × margin cells)";
        }
        Error::Numerical(format!(
            "calibration stopped at a largest margin deviation of {}: {why}. Tried: {tried}. The design totals of \
             the seed's distinct cells range from {lo:e} to {hi:e}. The margins were not shown to be infeasible \
             (they may be reachable only with zero weight on some records); method = \"rake\" may still converge. \
             {}",
            num(self.cur.deviation),
            closest_margins(self.constraints, self.dual.layout, &self.cur.totals)
        ))
    }

    /// Linear calibration in the coordinates of a basis of cells ([`Dual::linear_by_basis`]).
    fn linear_in_basis(&mut self) -> Result<f64> {
        let rank = self.rank();
        self.tried.steps += 1;
        self.tried.in_basis += 1;
        let Some((g, size)) = self.dual.linear_by_basis(rank) else {
            return Err(self.numerical("no basis of the seed's cells could be inverted"));
        };
        self.tried.basis_size = size;
        let next = self.dual.eval_weights(&g);
        if next.deviation < self.cur.deviation {
            self.cur = next;
            self.fixed_g = Some(g);
        }
        self.stalled = true;
        if self.cur.deviation <= 1e-8 * self.dual.layout.largest + self.floor {
            Ok(self.cur.deviation)
        } else {
            Err(self.numerical("solving the linear calibration in a basis of cells did not meet the margins"))
        }
    }
}

impl Solver for DualNewton<'_> {
    fn iterate(&mut self) -> Result<f64> {
        if self.stalled || self.dual.p() == 0 {
            return Ok(self.cur.deviation);
        }
        if self.in_basis && self.dual.calfun == Calfun::Linear {
            return self.linear_in_basis();
        }
        self.tried.steps += 1;
        let (dir, singular, residual) = if self.in_basis {
            let rank = self.rank();
            self.tried.in_basis += 1;
            match self.dual.basis_direction(&self.lambda, rank) {
                Some((dir, size)) => {
                    self.tried.basis_size = self.tried.basis_size.max(size);
                    (dir, false, None)
                }
                None => return self.stall("no basis of the seed's cells could be inverted"),
            }
        } else {
            let hessian = match self.cur.hessian.take().or_else(|| self.dual.evaluate(&self.lambda, true).hessian) {
                Some(h) => h,
                None => return self.stall("the Newton matrix could not be formed"),
            };
            let rhs = -&self.cur.grad;
            let (dir, rank) = match self.first_step.take() {
                Some(step) => step,
                None => {
                    let d = newton_direction(&hessian, &rhs);
                    (d.step, d.rank)
                }
            };
            let residual = rank.map(|_| &rhs - &hessian * &dir);
            (dir, rank.is_some(), residual)
        };
        self.tried.pseudo_inverse += usize::from(singular);
        if !dir.iter().all(|v| v.is_finite()) {
            return self.stall("the Newton direction is not finite");
        }
        let slope = self.cur.grad.dot(&dir);
        // a step may not move any cell's u by more than the calibration function's useful range
        // (near-saturated logit cells have almost no curvature and ask for huge steps)
        let reach = self.dual.max_abs_u(&dir) * self.dual.calfun.scale();
        let alpha = if reach > MAX_STEP { MAX_STEP / reach } else { 1.0 };
        // an infeasible problem's iterates run off along a direction that proves it: tested at
        // every logit step, and at exp steps that are cut short or follow one without progress
        let diverging = match self.dual.calfun {
            Calfun::Logit(_) => true,
            Calfun::Exp => alpha < 1.0 || self.since_best > 0,
            Calfun::Linear => false,
        };
        if diverging {
            // saturated cells (F' ≈ 0) shrink the Newton matrix's range: the part of the misfit
            // outside it is one more candidate direction
            let mut candidates = vec![&dir, &self.lambda];
            candidates.extend(residual.as_ref());
            if let Some(e) = self.certified(&candidates) {
                return Err(e);
            }
        }
        let trial = &self.lambda + &dir * alpha;
        let next = self.dual.evaluate(&trial, !self.in_basis);
        let noise = 64.0 * f64::EPSILON * (self.cur.scale + next.scale);
        let armijo = next.phi <= self.cur.phi + 1e-4 * alpha * slope + noise;
        let at_round_off = (alpha * slope).abs() <= noise && next.deviation < self.cur.deviation;
        if next.phi.is_finite() && next.deviation.is_finite() && (armijo || at_round_off) {
            self.lambda = trial;
            self.cur = next;
        } else {
            match self.line_search(&dir, 0.5 * alpha) {
                Some(lambda) => {
                    self.cur = self.dual.evaluate(&lambda, false);
                    self.lambda = lambda;
                }
                None => return self.stall("no step along the Newton direction decreases the dual objective"),
            }
        }
        // a linear step solves the quadratic dual: if a second one does not halve the
        // deviation, round-off (not the iteration count) is what limits it
        let patience = if self.dual.calfun == Calfun::Linear { 1 } else { STAGNATION };
        if self.cur.deviation < 0.5 * self.best {
            self.best = self.cur.deviation;
            self.since_best = 0;
        } else {
            self.since_best += 1;
            if self.since_best >= patience {
                return self.stall(&format!("{} step(s) passed without halving the deviation", self.since_best));
            }
        }
        Ok(self.cur.deviation)
    }

    fn deviation(&mut self) -> f64 {
        self.cur.deviation
    }

    fn floor(&self) -> f64 {
        self.floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iteration::{Runner, Stopping};
    use argmin::solver::newton::Newton;

    fn problem() -> (Constraints, Vec<f64>) {
        // 3 × 2 attributes, 12 records, a deliberate imbalance in the design weights
        let membership: Vec<u32> = (0..12u32).flat_map(|i| [i % 3, (i / 3) % 2]).collect();
        let design: Vec<f64> = (0..12).map(|i| 1.0 + (i % 5) as f64).collect();
        let c =
            Constraints::new(membership, vec![3, 2], vec![vec![20.0, 15.0, 10.0], vec![25.0, 20.0]], vec![None, None])
                .unwrap();
        (c, design)
    }

    #[test]
    fn argmin_newton_on_the_dual_agrees_with_the_damped_iteration() {
        let (c, design) = problem();
        let cells = Cells::aggregate(&design, c.membership(), c.margin_sizes());
        let layout = Layout::new(&c, &[]);
        let mut ours = DualNewton::new(&cells, &c, &layout, Calibration::Entropy).unwrap();
        assert!(Runner::new(Stopping::new(1e-12, 50).unwrap()).run(&mut ours).unwrap().converged);

        let problem = DualProblem { dual: &ours.dual };
        let start = DVector::zeros(ours.dual.p());
        let result =
            Executor::new(problem, Newton::<f64>::new()).configure(|s| s.param(start).max_iters(30)).run().unwrap();
        let lambda = result.state().get_param().unwrap().clone();
        for (a, b) in ours.dual.g(&lambda).iter().zip(ours.g()) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn the_gradient_and_hessian_are_the_derivatives_of_the_cost() {
        let (c, design) = problem();
        let cells = Cells::aggregate(&design, c.membership(), c.margin_sizes());
        let layout = Layout::new(&c, &[]);
        for method in [Calibration::Linear, Calibration::Entropy, Calibration::logit(0.3, 2.5).unwrap()] {
            let dual = Dual::new(&cells, &c, &layout, method).unwrap();
            let p = dual.p();
            let at = DVector::from_iterator(p, (0..p).map(|k| 0.05 * (k as f64 - 1.5)));
            let e = dual.evaluate(&at, true);
            let h = e.hessian.clone().unwrap();
            for k in 0..p {
                let mut step = DVector::zeros(p);
                step[k] = 1e-6;
                let up = dual.evaluate(&(&at + &step), false);
                let down = dual.evaluate(&(&at - &step), false);
                let dphi = (up.phi - down.phi) / 2e-6;
                assert!((dphi - e.grad[k]).abs() < 1e-5 * (1.0 + dphi.abs()), "{method:?} grad {k}");
                for j in 0..p {
                    let dg = (up.grad[j] - down.grad[j]) / 2e-6;
                    assert!((dg - h[(j, k)]).abs() < 1e-5 * (1.0 + dg.abs()), "{method:?} hessian {j},{k}");
                }
            }
        }
    }

    #[test]
    fn steps_in_a_basis_of_cells_reach_the_usual_solution() {
        let (c, design) = problem();
        // a redundant 3 × 2 joint margin whose sub-totals agree with both one-way margins
        let joint: Vec<u32> = c.membership().chunks_exact(2).flat_map(|r| [r[0], r[1], r[0] * 2 + r[1]]).collect();
        let targets = vec![c.targets()[0].clone(), c.targets()[1].clone(), vec![11.0, 9.0, 8.0, 7.0, 6.0, 4.0]];
        let redundant = Constraints::new(joint, vec![3, 2, 6], targets, vec![None; 3]).unwrap();
        let soft = Constraints::new(
            c.membership().to_vec(),
            vec![3, 2],
            vec![c.targets()[0].clone(), vec![30.0, 20.0]],
            vec![None, Some(5.0)],
        )
        .unwrap();
        let logit = Calibration::logit(0.1, 5.0).unwrap();
        let cases = [
            (&c, Calibration::Entropy),
            (&c, Calibration::Linear),
            (&c, logit),
            (&redundant, Calibration::Entropy),
            (&redundant, Calibration::Linear),
            (&redundant, logit),
            (&soft, Calibration::Entropy),
        ];
        for (c, method) in cases {
            let cells = Cells::aggregate(&design, c.membership(), c.margin_sizes());
            let layout = Layout::new(c, &[]);
            let stopping = Stopping::new(1e-12, 100).unwrap();
            let mut usual = DualNewton::new(&cells, c, &layout, method).unwrap();
            assert!(Runner::new(stopping).run(&mut usual).unwrap().converged, "{method:?}");
            let mut in_basis = DualNewton::new(&cells, c, &layout, method).unwrap();
            in_basis.first_step = None;
            assert!(in_basis.switch_to_basis());
            assert!(Runner::new(stopping).run(&mut in_basis).unwrap().converged, "{method:?}");
            assert!(in_basis.tried.in_basis > 0 && usual.tried.in_basis == 0);
            for (a, b) in usual.g().iter().zip(in_basis.g()) {
                assert!((a - b).abs() < 1e-10, "{method:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn pseudo_inverse_handles_structural_collinearity() {
        // x = [1, 1] twice: H is singular, the right-hand side is in its range
        let h = DMatrix::from_row_slice(2, 2, &[2.0, 2.0, 2.0, 2.0]);
        let Direction { step: dir, rank, .. } = newton_direction(&h, &DVector::from_vec(vec![4.0, 4.0]));
        assert_eq!(rank, Some(1));
        assert!((&h * &dir - DVector::from_vec(vec![4.0, 4.0])).amax() < 1e-12);
        let Direction { step: dir, rank, min_pivot2 } =
            newton_direction(&(DMatrix::<f64>::identity(2, 2) * 4.0), &DVector::from_vec(vec![4.0, 8.0]));
        assert!(rank.is_none() && (dir[0] - 1.0).abs() < 1e-15 && (dir[1] - 2.0).abs() < 1e-15);
        assert!((min_pivot2 - 1.0).abs() < 1e-15);
    }
}
