//! Sub-zone balancing: a parent zone's households, weighing their parent weights, spread over
//! its child zones so that each child meets its own controls and each household's weights over
//! the children add up to its parent weight.
//!
//! Two methods, as for the seed level:
//! - PopulationSim's simultaneous balancer ([`balance_simultaneous`]): its list balancer's
//!   sweeps in every child, each household's weights rescaled to add up to its parent weight
//!   after every sweep, importance halving every 100 sweeps;
//! - Newton's method on the dual of the same problem with the importances fixed
//!   ([`balance_simultaneous_newton`]): each household's weights over the children are a
//!   softmax of the children's multipliers, so the parent weights hold by construction, and the
//!   households with the same incidence (a [`Groups`] group) share one softmax: the problem has
//!   one unknown per child and control, whatever the number of households.
//!
//! [`meet_totals`] then makes the children's household totals exact.

use super::balance::{
    damped_step, gamma, importance_at, solve_symmetric, Controls, Convergence, Powers, ALT_MAX_DELTA,
    IMPORTANCE_ADJUST_COUNT, MAX_RELAXATION_FACTOR, MIN_CONTROL_VALUE, MIN_GAMMA, NEWTON_STEPS, NEWTON_TOLERANCE,
};
use super::groups::Groups;

/// The weights of a parent's households spread over its child zones: `weights[z * n + h]`.
#[derive(Debug, Clone)]
pub(crate) struct SubBalanced {
    pub weights: Vec<f64>,
    pub convergence: Convergence,
}

/// Balances the parent weights `parent` (one per household, all positive) over `zones` child
/// zones whose targets are `targets[z * controls + c]`, starting from each child's share of
/// the household total.
pub(crate) fn balance_simultaneous(
    controls: &Controls,
    targets: &[f64],
    zones: usize,
    parent: &[f64],
    max_iterations: usize,
) -> SubBalanced {
    let n = parent.len();
    let k = controls.len();
    let master = controls.master;
    let total: f64 = (0..zones).map(|z| targets[z * k + master]).sum();
    let mut w = vec![0.0; zones * n];
    for z in 0..zones {
        let share = if total > 0.0 { targets[z * k + master] / total } else { 1.0 / zones as f64 };
        for h in 0..n {
            w[z * n + h] = parent[h] * share;
        }
    }
    let mut relaxation = vec![1.0; zones * k];
    let mut previous = vec![0.0; zones * n];
    let mut sums = vec![0.0; n];
    let order = controls.order();
    let powers: Vec<Powers> = (0..controls.len()).map(|c| Powers::of(controls.control(c).1)).collect();
    let mut adjustment = 1.0;
    let mut convergence = Convergence { converged: false, iterations: 0, delta: f64::NAN, max_gamma_change: f64::NAN };
    for iteration in 0..max_iterations {
        previous.copy_from_slice(&w);
        if iteration > 0 && iteration % IMPORTANCE_ADJUST_COUNT == 0 {
            adjustment /= 2.0;
        }
        let mut max_gamma_change: f64 = 0.0;
        for &c in &order {
            let u = importance_at(controls, c, adjustment);
            let (hs, a) = controls.control(c);
            for z in 0..zones {
                let row = &mut w[z * n..(z + 1) * n];
                let (mut x, mut y) = (0.0, 0.0);
                for (&h, &a) in hs.iter().zip(a) {
                    let wa = row[h as usize] * a;
                    x += wa;
                    y += wa * a;
                }
                let relax = &mut relaxation[z * k + c];
                let g = gamma(x, y, targets[z * k + c], *relax, u).max(MIN_GAMMA);
                max_gamma_change = max_gamma_change.max((g - 1.0).abs());
                if g != 1.0 {
                    powers[c].apply(g, hs, a, row, |i, v| v.clamp(0.0, parent[i]));
                }
                *relax = (*relax * (1.0 / g).powf(1.0 / u)).min(MAX_RELAXATION_FACTOR);
            }
        }
        // Each household's weights add up to its parent weight again.
        rescale_columns(&mut w, zones, parent, &mut sums);
        convergence = Convergence::after_sweep(&w, &previous, n, iteration, max_gamma_change);
        if convergence.converged || convergence.delta < ALT_MAX_DELTA {
            break;
        }
    }
    SubBalanced { weights: w, convergence }
}

/// [`balance_simultaneous_newton`] gives up (to the sweeps) above this many unknowns (child
/// zones × controls): its dense `N × N` solves would cost more than the sweeps.
const DENSE_LIMIT: usize = 1200;
/// A Newton step that can no longer lower the deviation still counts as converged below this.
const NEWTON_ACCEPTABLE: f64 = 1e-9;

/// The weights of the groups over the live child zones at multipliers `λ`, and how far each
/// child's controls are from their (relaxed) targets.
struct Dual<'a> {
    groups: &'a Groups,
    /// Each group's parent weight.
    mass: Vec<f64>,
    /// Each group's controls with a non-zero incidence.
    support: Vec<Vec<usize>>,
    /// The log of each live child's share of the household total.
    log_share: Vec<f64>,
    /// The targets, `[child * k + c]`.
    targets: Vec<f64>,
    importance: &'a [f64],
}

/// [`Dual`] evaluated at one `λ`.
struct DualState {
    /// `[child * G + group]`.
    weights: Vec<f64>,
    /// Relaxed targets minus totals, `[child * k + c]`.
    gap: Vec<f64>,
    goal: Vec<f64>,
    /// The largest gap relative to its goal (absolute below 1).
    worst: f64,
}

impl Dual<'_> {
    fn zones(&self) -> usize {
        self.log_share.len()
    }

    fn at(&self, lambda: &[f64]) -> DualState {
        let (zones, k, gs) = (self.zones(), self.groups.k, self.groups.len());
        let mut weights = vec![0.0; zones * gs];
        let mut totals = vec![0.0; zones * k];
        let mut eta = vec![0.0; zones];
        for g in 0..gs {
            let row = self.groups.row(g);
            for (z, e) in eta.iter_mut().enumerate() {
                *e = self.log_share[z] + self.support[g].iter().map(|&c| lambda[z * k + c] * row[c]).sum::<f64>();
            }
            let top = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = eta.iter().map(|e| (e - top).exp()).sum();
            for z in 0..zones {
                let w = self.mass[g] * (eta[z] - top).exp() / sum;
                weights[z * gs + g] = w;
                for &c in &self.support[g] {
                    totals[z * k + c] += w * row[c];
                }
            }
        }
        let goal: Vec<f64> = (0..zones * k)
            .map(|i| {
                let u = self.importance[i % k];
                if u.is_finite() {
                    self.targets[i] * (-lambda[i] / u).exp()
                } else {
                    self.targets[i]
                }
            })
            .collect();
        let gap: Vec<f64> = totals.iter().zip(&goal).map(|(x, t)| x - t).collect();
        let worst = gap.iter().zip(&goal).map(|(g, t)| g.abs() / t.max(1.0)).fold(0.0, f64::max);
        DualState { weights, gap, goal, worst }
    }

    /// The Jacobian of the gaps in `λ`: per group, `diag(w) − w wᵀ / mass` over the children
    /// times `a aᵀ` over the controls, plus the relaxation's `goal / u` on the diagonal.
    fn jacobian(&self, state: &DualState) -> nalgebra::DMatrix<f64> {
        let (zones, k, gs) = (self.zones(), self.groups.k, self.groups.len());
        let mut h = nalgebra::DMatrix::<f64>::zeros(zones * k, zones * k);
        let mut v: Vec<(usize, f64)> = Vec::new();
        for g in 0..gs {
            let row = self.groups.row(g);
            v.clear();
            for z in 0..zones {
                let w = state.weights[z * gs + g];
                for &c in &self.support[g] {
                    v.push((z * k + c, w * row[c]));
                }
                for &c in &self.support[g] {
                    for &d in &self.support[g] {
                        h[(z * k + c, z * k + d)] += w * row[c] * row[d];
                    }
                }
            }
            let inverse = 1.0 / self.mass[g];
            for &(i, a) in &v {
                for &(j, b) in &v {
                    h[(i, j)] -= a * b * inverse;
                }
            }
        }
        for (i, t) in state.goal.iter().enumerate() {
            let u = self.importance[i % k];
            if u.is_finite() {
                h[(i, i)] += t / u;
            }
        }
        h
    }
}

/// Balances the parent weights `parent` over `zones` child zones as
/// [`balance_simultaneous`] does, by Newton's method on the dual with the importances held as
/// given: child `z`'s weight of household `h` is `parent[h] · softmax_z(log s_z + Σ_c λ_zc a_hc)`
/// (`s_z` the child's share of the household total), with `λ` solving `Σ_h w_zh a_hc = T_zc
/// exp(−λ_zc / u_c)` (a hard control is not relaxed). Targets are floored at PopulationSim's
/// `MIN_CONTROL_VALUE`, and the children's household totals are scaled to add up to the parent
/// weights' total (a child with none gets no household). `None` when it does not converge in
/// [`NEWTON_STEPS`] steps (hard controls that cannot be met together) or the problem is too
/// large for dense steps ([`DENSE_LIMIT`]).
pub(crate) fn balance_simultaneous_newton(
    controls: &Controls,
    targets: &[f64],
    zones: usize,
    parent: &[f64],
) -> Option<SubBalanced> {
    let n = parent.len();
    let k = controls.len();
    let master = controls.master;
    let live: Vec<usize> = (0..zones).filter(|&z| targets[z * k + master] > 0.0).collect();
    if live.is_empty() || live.len() * k > DENSE_LIMIT {
        return None;
    }
    let groups = Groups::new(controls, n, |h| parent[h] > 0.0);
    let mass: Vec<f64> = groups.members.iter().map(|m| m.iter().map(|&h| parent[h]).sum()).collect();
    let total_parent: f64 = mass.iter().sum();
    let total_children: f64 = live.iter().map(|&z| targets[z * k + master]).sum();
    let support = (0..groups.len()).map(|g| (0..k).filter(|&c| groups.row(g)[c] != 0.0).collect()).collect();
    let log_share = live.iter().map(|&z| (targets[z * k + master] / total_children).ln()).collect();
    let mut live_targets = Vec::with_capacity(live.len() * k);
    for &z in &live {
        for c in 0..k {
            let t = targets[z * k + c];
            live_targets.push(if c == master { t * total_parent / total_children } else { t.max(MIN_CONTROL_VALUE) });
        }
    }
    let dual =
        Dual { groups: &groups, mass, support, log_share, targets: live_targets, importance: &controls.importance };
    let mut lambda = vec![0.0; live.len() * k];
    let mut state = dual.at(&lambda);
    let mut steps = 0;
    while state.worst >= NEWTON_TOLERANCE {
        if steps == NEWTON_STEPS {
            return None;
        }
        steps += 1;
        let mut jacobian = dual.jacobian(&state);
        let mut rhs = nalgebra::DVector::from_iterator(lambda.len(), state.gap.iter().map(|g| -g));
        // A hard control's multipliers shifted alike in every child change no weight: the
        // first child's is held at 0, so the Jacobian is not singular.
        for c in (0..k).filter(|&c| controls.importance[c].is_infinite()) {
            jacobian.row_mut(c).fill(0.0);
            jacobian.column_mut(c).fill(0.0);
            jacobian[(c, c)] = 1.0;
            rhs[c] = 0.0;
        }
        let direction = solve_symmetric(jacobian, &rhs)?;
        match damped_step(&lambda, &direction, state.worst, |trial| dual.at(trial), |s| s.worst) {
            Some((trial, next)) => (lambda, state) = (trial, next),
            // No step lowers the deviation any more: done if it is small enough.
            None if state.worst < NEWTON_ACCEPTABLE => break,
            None => return None,
        }
    }
    let gs = groups.len();
    let mut weights = vec![0.0; zones * n];
    for (g, members) in groups.members.iter().enumerate() {
        for (zi, &z) in live.iter().enumerate() {
            let share = state.weights[zi * gs + g] / dual.mass[g];
            for &h in members {
                weights[z * n + h] = parent[h] * share;
            }
        }
    }
    let convergence = Convergence { converged: true, iterations: steps, delta: 0.0, max_gamma_change: state.worst };
    Some(SubBalanced { weights, convergence })
}

/// Scales each household's weights over the zones (`w[z * n + h]`) to add up to its parent
/// weight; `sums` is scratch space of one value per household.
fn rescale_columns(w: &mut [f64], zones: usize, parent: &[f64], sums: &mut [f64]) {
    let n = parent.len();
    sums.iter_mut().for_each(|s| *s = 0.0);
    for z in 0..zones {
        for (s, &v) in sums.iter_mut().zip(&w[z * n..(z + 1) * n]) {
            *s += v;
        }
    }
    for z in 0..zones {
        for (h, v) in w[z * n..(z + 1) * n].iter_mut().enumerate() {
            if sums[h] > 0.0 {
                *v *= parent[h] / sums[h];
            }
        }
    }
}

/// Scales the child-zone weights `w[z * n + h]` so that each zone's households add up to its
/// total and each household's weights to its parent weight (iterative proportional fitting
/// of the zone × household table to both margins): the hard constraints met exactly even where
/// balancing stopped short of them. Zone totals that do not add up to the parent weights'
/// total are scaled to it first. Returns the largest relative error left in a zone total.
pub(crate) fn meet_totals(w: &mut [f64], zones: usize, zone_totals: &[f64], parent: &[f64]) -> f64 {
    let n = parent.len();
    let sum_parent: f64 = parent.iter().sum();
    let sum_zones: f64 = zone_totals.iter().sum();
    if n == 0 || zones == 0 || sum_parent <= 0.0 || sum_zones <= 0.0 {
        return 0.0;
    }
    let targets: Vec<f64> = zone_totals.iter().map(|t| t * sum_parent / sum_zones).collect();
    let mut columns = vec![0.0; n];
    let mut error = f64::INFINITY;
    for _ in 0..MEET_TOTALS_SWEEPS {
        for (z, &t) in targets.iter().enumerate() {
            let row = &mut w[z * n..(z + 1) * n];
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|v| *v *= t / sum);
            }
        }
        rescale_columns(w, zones, parent, &mut columns);
        error = (0..zones)
            .map(|z| {
                let sum: f64 = w[z * n..(z + 1) * n].iter().sum();
                (sum - targets[z]).abs() / targets[z].max(1.0)
            })
            .fold(0.0, f64::max);
        if error < MEET_TOTALS_TOLERANCE {
            break;
        }
    }
    error
}

/// Sweeps of [`meet_totals`] at most.
const MEET_TOTALS_SWEEPS: usize = 10_000;
/// [`meet_totals`] stops when every zone total is this close (relative).
const MEET_TOTALS_TOLERANCE: f64 = 1e-12;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::households::balance::tests::small;

    #[test]
    fn meeting_totals_keeps_both_margins() {
        let mut w = vec![1.0, 2.0, 3.0, 3.0, 2.0, 1.0];
        let error = meet_totals(&mut w, 2, &[4.0, 8.0], &[5.0, 4.0, 3.0]);
        assert!(error < 1e-12);
        for (h, p) in [5.0, 4.0, 3.0].iter().enumerate() {
            assert!((w[h] + w[3 + h] - p).abs() < 1e-9);
        }
        assert!((w[..3].iter().sum::<f64>() - 4.0).abs() < 1e-9);
    }

    #[test]
    fn simultaneous_weights_add_up_to_the_parent() {
        let controls = small();
        let parent = [40.0, 30.0, 30.0];
        // 100 households of 190 persons, over two zones: 60 households / 100 persons and 40 / 90
        let b = balance_simultaneous(&controls, &[60.0, 100.0, 40.0, 90.0], 2, &parent, 1000);
        for (h, p) in parent.iter().enumerate() {
            assert!((b.weights[h] + b.weights[3 + h] - p).abs() < 1e-9);
        }
        let zone = |z: usize| controls.totals(&b.weights[z * 3..z * 3 + 3]);
        assert!((zone(0)[0] - 60.0).abs() < 1e-3 && (zone(1)[1] - 90.0).abs() < 1e-3, "{:?} {:?}", zone(0), zone(1));
    }

    #[test]
    fn newton_meets_consistent_hard_controls_exactly_in_every_child() {
        let controls = small();
        let parent = [40.0, 30.0, 30.0];
        // zone 2 has no households to make: it gets none
        let targets = [60.0, 100.0, 40.0, 90.0, 0.0, 5.0];
        let b = balance_simultaneous_newton(&controls, &targets, 3, &parent).expect("converges");
        assert!(b.convergence.converged && b.convergence.iterations < 20, "{:?}", b.convergence);
        for (h, p) in parent.iter().enumerate() {
            assert!((b.weights[h] + b.weights[3 + h] - p).abs() < 1e-12);
            assert_eq!(b.weights[6 + h], 0.0);
        }
        for z in 0..2 {
            let totals = controls.totals(&b.weights[z * 3..z * 3 + 3]);
            for c in 0..2 {
                assert!((totals[c] - targets[z * 2 + c]).abs() < 1e-9, "zone {z}: {totals:?}");
            }
        }
    }

    #[test]
    fn newton_relaxes_soft_controls_that_cannot_be_met_together() {
        let mut controls = small();
        controls.importance[1] = 10.0;
        let parent = [40.0, 30.0, 30.0];
        // 300 persons asked for, 190 in the parent: the persons give way, the households hold
        let b = balance_simultaneous_newton(&controls, &[60.0, 150.0, 40.0, 150.0], 2, &parent).expect("converges");
        let zone = |z: usize| controls.totals(&b.weights[z * 3..z * 3 + 3]);
        assert!((zone(0)[0] - 60.0).abs() < 1e-9 && (zone(1)[0] - 40.0).abs() < 1e-9);
        assert!((zone(0)[1] + zone(1)[1] - 190.0).abs() < 1e-9);
    }
}
