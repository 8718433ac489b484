//! List balancing: household weights meeting controls with integer (or numeric) incidence,
//! each control relaxed according to its importance. The algorithm and its constants are
//! PopulationSim's (`balancing/balancers.py`), so that the same inputs give the same weights:
//!
//! for each sweep, for each control `c` (the household total last), with `x = Σ w a_c`,
//! `y = Σ w a_c²` and the relaxed target `R = max(T_c z_c, 0.1)`,
//! `γ = 1 − (x − R) / (y + R / u_c)`, `w ← clip(w γ^{a_c}, lb, ub)` and `z_c ← z_c γ^{−1/u_c}`
//! (capped at 10⁶). Importance `u_c` halves every 100 sweeps, never below 1 (the total keeps
//! its own); a hard control (`u = ∞`) is never relaxed. Balancing has converged when the mean
//! weight change of a sweep is below 10⁻⁹ and every `|γ − 1|` below 10⁻⁵; it stops early,
//! not converged, when a sweep changes the weights by less than 10⁻¹⁴ (PopulationSim calls
//! that converged too).

/// Sweeps after which importance halves.
pub(super) const IMPORTANCE_ADJUST_COUNT: usize = 100;
/// The least importance a relaxed control keeps.
const MIN_IMPORTANCE: f64 = 1.0;
/// Relaxation factors are capped here.
pub(super) const MAX_RELAXATION_FACTOR: f64 = 1e6;
/// Targets below this are balanced to it (a zero target would make γ zero).
pub(crate) const MIN_CONTROL_VALUE: f64 = 0.1;
/// Converged: the mean weight change of a sweep is below this…
const MAX_DELTA: f64 = 1e-9;
/// …and every `|γ − 1|` below this.
const MAX_GAMMA: f64 = 1e-5;
/// A sweep that changes the weights less than this makes no progress.
pub(super) const ALT_MAX_DELTA: f64 = 1e-14;
/// γ is kept above this (PopulationSim does so in its simultaneous balancer only; a fractional
/// incidence can make γ negative in the other).
pub(super) const MIN_GAMMA: f64 = 1e-10;

/// Controls over a set of households, sparse: control `c`'s households (local positions) and
/// values are `households[start[c]..start[c + 1]]`, `values[…]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Controls {
    pub start: Vec<usize>,
    pub households: Vec<u32>,
    pub values: Vec<f64>,
    /// Importance of each control (`f64::INFINITY`: hard).
    pub importance: Vec<f64>,
    /// The household-total control.
    pub master: usize,
}

impl Controls {
    /// Number of controls.
    pub fn len(&self) -> usize {
        self.importance.len()
    }

    /// Control `c`'s households and values.
    pub fn control(&self, c: usize) -> (&[u32], &[f64]) {
        let r = self.start[c]..self.start[c + 1];
        (&self.households[r.clone()], &self.values[r])
    }

    /// The controls in balancing order: the household total last.
    pub(super) fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).filter(|&c| c != self.master).collect();
        order.push(self.master);
        order
    }

    /// The same controls over the households `keep` (ascending local positions), renumbered
    /// `0..keep.len()`.
    pub fn subset(&self, keep: &[usize]) -> Controls {
        let mut position = vec![u32::MAX; keep.last().map_or(0, |&h| h + 1)];
        for (j, &h) in keep.iter().enumerate() {
            position[h] = j as u32;
        }
        let mut out = Controls {
            start: vec![0],
            importance: self.importance.clone(),
            master: self.master,
            ..Controls::default()
        };
        for c in 0..self.len() {
            let (h, v) = self.control(c);
            for (&h, &v) in h.iter().zip(v) {
                if let Some(&j) = position.get(h as usize) {
                    if j != u32::MAX {
                        out.households.push(j);
                        out.values.push(v);
                    }
                }
            }
            out.start.push(out.households.len());
        }
        out
    }

    /// `Σ w a_c` for each control.
    #[cfg(test)]
    pub fn totals(&self, weights: &[f64]) -> Vec<f64> {
        (0..self.len())
            .map(|c| {
                let (h, v) = self.control(c);
                h.iter().zip(v).map(|(&h, &a)| weights[h as usize] * a).sum()
            })
            .collect()
    }
}

/// How a balancing ended.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Convergence {
    /// Whether the convergence rule was met.
    pub converged: bool,
    /// Sweeps run.
    pub iterations: usize,
    /// The last sweep's mean absolute weight change.
    pub delta: f64,
    /// The last sweep's largest `|γ − 1|`.
    pub max_gamma_change: f64,
}

impl Convergence {
    /// How a sweep (number `iteration`, from 0) that moved the weights from `previous` to `w`
    /// (`n` households) and changed no `γ` by more than `max_gamma_change` left the balancing.
    pub(super) fn after_sweep(
        w: &[f64],
        previous: &[f64],
        n: usize,
        iteration: usize,
        max_gamma_change: f64,
    ) -> Convergence {
        let delta = w.iter().zip(previous).map(|(a, b)| (a - b).abs()).sum::<f64>() / n.max(1) as f64;
        let converged = delta < MAX_DELTA && max_gamma_change < MAX_GAMMA;
        Convergence { converged, iterations: iteration + 1, delta, max_gamma_change }
    }
}

/// The balanced weights.
#[derive(Debug, Clone)]
pub(crate) struct Balanced {
    pub weights: Vec<f64>,
    pub convergence: Convergence,
}

/// The largest whole incidence a power table covers.
const TABLE_MAX: usize = 64;

/// How `γ^a` is computed for one control's values: from a table of `γ^0…γ^max` when every
/// value is a whole number up to [`TABLE_MAX`] (counts of households or persons), else by
/// `powf`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Powers {
    Table(usize),
    General,
}

impl Powers {
    pub(super) fn of(values: &[f64]) -> Powers {
        let mut max = 0.0f64;
        for &a in values {
            if !(a >= 0.0 && a.fract() == 0.0 && a <= TABLE_MAX as f64) {
                return Powers::General;
            }
            max = max.max(a);
        }
        Powers::Table(max as usize)
    }

    /// Multiplies `w[h]` by `γ^a` for each entry, then `clamp`s it (given the household).
    #[inline]
    pub(super) fn apply(self, g: f64, hs: &[u32], a: &[f64], w: &mut [f64], clamp: impl Fn(usize, f64) -> f64) {
        match self {
            Powers::Table(max) => {
                let mut table = [1.0f64; TABLE_MAX + 1];
                for k in 1..=max {
                    table[k] = table[k - 1] * g;
                }
                for (&h, &a) in hs.iter().zip(a) {
                    let i = h as usize;
                    w[i] = clamp(i, w[i] * table[a as usize]);
                }
            }
            Powers::General => {
                for (&h, &a) in hs.iter().zip(a) {
                    let i = h as usize;
                    w[i] = clamp(i, w[i] * g.powf(a));
                }
            }
        }
    }
}

/// The importance control `c` has at a sweep whose adjustment is `adjustment`.
#[inline]
pub(super) fn importance_at(controls: &Controls, c: usize, adjustment: f64) -> f64 {
    let u = controls.importance[c];
    if c == controls.master {
        u
    } else {
        (u * adjustment).max(MIN_IMPORTANCE)
    }
}

/// `γ` for a control whose weighted total is `x` (`y` with squared incidence), target `t`,
/// relaxation `z`, importance `u`.
#[inline]
pub(super) fn gamma(x: f64, y: f64, t: f64, z: f64, u: f64) -> f64 {
    if x > 0.0 {
        let relaxed = (t * z).max(MIN_CONTROL_VALUE);
        1.0 - (x - relaxed) / (y + relaxed / u)
    } else {
        1.0
    }
}

/// Balances `initial` weights to `targets` within `[lower, upper]` (per household): by
/// Newton's method on the dual ([`balance_newton`]) when every control is hard (the raking
/// solution, which PopulationSim's sweeps approach slowly) or when `newton` asks for it, else
/// (or if Newton's method does not converge) by PopulationSim's sweeps.
pub(crate) fn balance(
    controls: &Controls,
    targets: &[f64],
    initial: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_iterations: usize,
    newton: bool,
) -> Balanced {
    if newton || controls.importance.iter().all(|u| u.is_infinite()) {
        if let Some(b) = balance_newton(controls, targets, initial, lower, upper) {
            return b;
        }
    }
    balance_sweeps(controls, targets, initial, lower, upper, max_iterations)
}

/// Newton steps at most in [`balance_newton`].
pub(super) const NEWTON_STEPS: usize = 200;
/// [`balance_newton`] has converged when every control is this close to its (relaxed)
/// target, relative to it (or absolutely, below 1).
pub(super) const NEWTON_TOLERANCE: f64 = 1e-12;

/// Newton's method on the dual of PopulationSim's balancing problem with its importances
/// fixed: `w = clip(w0 exp(A λ), lower, upper)` and relaxation `z_c = exp(−λ_c / u_c)` (1 for a
/// hard control), `λ` solving `Σ w a_c = T_c z_c` for every control — the point PopulationSim's
/// sweeps move to (each sweep's `γ` is one coordinate of this Newton step), without its
/// importance halving every 100 sweeps. Each step solves `H Δ = −g`, `H = Σ w a aᵀ + diag(T z
/// / u)` over the households within their bounds (by SVD, so repeated or collinear controls
/// are fine), halving the step until the largest relative deviation falls. `None` if it does
/// not converge in [`NEWTON_STEPS`] steps (bounds that make hard targets unreachable, say).
fn balance_newton(
    controls: &Controls,
    targets: &[f64],
    initial: &[f64],
    lower: &[f64],
    upper: &[f64],
) -> Option<Balanced> {
    let n = initial.len();
    let k = controls.len();
    // A soft control's target is kept above PopulationSim's floor, as its sweeps do.
    let targets: Vec<f64> = (0..k)
        .map(|c| if controls.importance[c].is_finite() { targets[c].max(MIN_CONTROL_VALUE) } else { targets[c] })
        .collect();
    // Each household's controls and values (the incidence by rows).
    let mut start = vec![0usize; n + 1];
    for c in 0..k {
        for &h in controls.control(c).0 {
            start[h as usize + 1] += 1;
        }
    }
    for h in 0..n {
        start[h + 1] += start[h];
    }
    let mut fill = start.clone();
    let mut entries = vec![(0u32, 0.0f64); start[n]];
    for c in 0..k {
        let (hs, vs) = controls.control(c);
        for (&h, &v) in hs.iter().zip(vs) {
            entries[fill[h as usize]] = (c as u32, v);
            fill[h as usize] += 1;
        }
    }
    let weights = |lambda: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|h| {
                let eta: f64 = entries[start[h]..start[h + 1]].iter().map(|&(c, v)| lambda[c as usize] * v).sum();
                (initial[h] * eta.exp()).clamp(lower[h], upper[h])
            })
            .collect()
    };
    // The relaxed targets `T z` at `λ`.
    let relaxed = |lambda: &[f64]| -> Vec<f64> {
        (0..k)
            .map(|c| {
                let u = controls.importance[c];
                if u.is_finite() {
                    targets[c] * (-lambda[c] / u).exp()
                } else {
                    targets[c]
                }
            })
            .collect()
    };
    let deviation = |w: &[f64], lambda: &[f64]| -> (Vec<f64>, f64) {
        let mut totals = vec![0.0; k];
        for h in 0..n {
            for &(c, v) in &entries[start[h]..start[h + 1]] {
                totals[c as usize] += w[h] * v;
            }
        }
        let goal = relaxed(lambda);
        let g: Vec<f64> = totals.iter().zip(&goal).map(|(x, t)| x - t).collect();
        let worst = g.iter().zip(&goal).map(|(g, t)| g.abs() / t.max(1.0)).fold(0.0, f64::max);
        (g, worst)
    };
    let mut lambda = vec![0.0; k];
    let mut w = weights(&lambda);
    let (mut g, mut worst) = deviation(&w, &lambda);
    for step in 0..NEWTON_STEPS {
        if worst < NEWTON_TOLERANCE {
            let convergence = Convergence { converged: true, iterations: step, delta: 0.0, max_gamma_change: worst };
            return Some(Balanced { weights: w, convergence });
        }
        let mut hessian = nalgebra::DMatrix::<f64>::zeros(k, k);
        for h in 0..n {
            if w[h] <= lower[h] || w[h] >= upper[h] {
                continue;
            }
            let row = &entries[start[h]..start[h + 1]];
            for &(c, a) in row {
                for &(d, b) in row {
                    hessian[(c as usize, d as usize)] += w[h] * a * b;
                }
            }
        }
        for (c, t) in relaxed(&lambda).iter().enumerate() {
            let u = controls.importance[c];
            if u.is_finite() {
                hessian[(c, c)] += t / u;
            }
        }
        let rhs = nalgebra::DVector::from_iterator(k, g.iter().map(|x| -x));
        let direction = solve_symmetric(hessian, &rhs)?;
        let at = |trial: &[f64]| {
            let tw = weights(trial);
            let (tg, tworst) = deviation(&tw, trial);
            (tw, tg, tworst)
        };
        let (trial, (tw, tg, tworst)) = damped_step(&lambda, &direction, worst, at, |s| s.2)?;
        (lambda, w, g, worst) = (trial, tw, tg, tworst);
    }
    None
}

/// Solves `H x = rhs` for a symmetric positive semi-definite `H`: by its Cholesky factor, or
/// where that fails (collinear controls) by SVD, singular values below 10⁻¹³ of the largest
/// left out. `None` if neither works.
pub(super) fn solve_symmetric(
    h: nalgebra::DMatrix<f64>,
    rhs: &nalgebra::DVector<f64>,
) -> Option<nalgebra::DVector<f64>> {
    match h.clone().cholesky() {
        Some(cholesky) => Some(cholesky.solve(rhs)),
        None => {
            let svd = h.svd(true, true);
            let cutoff = svd.singular_values.max() * 1e-13;
            svd.solve(rhs, cutoff).ok()
        }
    }
}

/// A damped Newton step: the first of `λ + d`, `λ + d/2`, `λ + d/4`, … (down to 10⁻¹⁰ d)
/// whose state (`at`) has a largest deviation (`worst_of`) below `worst`, with that state;
/// `None` when none has.
pub(super) fn damped_step<S>(
    lambda: &[f64],
    direction: &nalgebra::DVector<f64>,
    worst: f64,
    at: impl Fn(&[f64]) -> S,
    worst_of: impl Fn(&S) -> f64,
) -> Option<(Vec<f64>, S)> {
    let mut scale = 1.0;
    while scale >= 1e-10 {
        let trial: Vec<f64> = lambda.iter().zip(direction.iter()).map(|(l, d)| l + scale * d).collect();
        let state = at(&trial);
        if worst_of(&state) < worst {
            return Some((trial, state));
        }
        scale /= 2.0;
    }
    None
}

/// PopulationSim's list balancer, sweep by sweep.
fn balance_sweeps(
    controls: &Controls,
    targets: &[f64],
    initial: &[f64],
    lower: &[f64],
    upper: &[f64],
    max_iterations: usize,
) -> Balanced {
    let n = initial.len();
    let mut w = initial.to_vec();
    let mut relaxation = vec![1.0; controls.len()];
    let mut previous = vec![0.0; n];
    let order = controls.order();
    let powers: Vec<Powers> = (0..controls.len()).map(|c| Powers::of(controls.control(c).1)).collect();
    let mut adjustment = 1.0;
    let mut convergence = Convergence { converged: false, iterations: 0, delta: f64::NAN, max_gamma_change: f64::NAN };
    // The first clip reaches every household; later ones only those a control touched.
    let mut first = true;
    for iteration in 0..max_iterations {
        previous.copy_from_slice(&w);
        if iteration > 0 && iteration % IMPORTANCE_ADJUST_COUNT == 0 {
            adjustment /= 2.0;
        }
        let mut max_gamma_change: f64 = 0.0;
        for &c in &order {
            let (h, a) = controls.control(c);
            let (mut x, mut y) = (0.0, 0.0);
            for (&h, &a) in h.iter().zip(a) {
                let wa = w[h as usize] * a;
                x += wa;
                y += wa * a;
            }
            let u = importance_at(controls, c, adjustment);
            let g = gamma(x, y, targets[c], relaxation[c], u).max(MIN_GAMMA);
            max_gamma_change = max_gamma_change.max((g - 1.0).abs());
            if first {
                for (i, wi) in w.iter_mut().enumerate() {
                    *wi = wi.clamp(lower[i], upper[i]);
                }
                first = false;
            }
            if g != 1.0 {
                powers[c].apply(g, h, a, &mut w, |i, v| v.clamp(lower[i], upper[i]));
            }
            relaxation[c] = (relaxation[c] * (1.0 / g).powf(1.0 / u)).min(MAX_RELAXATION_FACTOR);
        }
        convergence = Convergence::after_sweep(&w, &previous, n, iteration, max_gamma_change);
        if convergence.converged || convergence.delta < ALT_MAX_DELTA {
            break;
        }
    }
    Balanced { weights: w, convergence }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Three households: sizes 1, 2, 3; controls: households (master), persons.
    pub(crate) fn small() -> Controls {
        Controls {
            start: vec![0, 3, 6],
            households: vec![0, 1, 2, 0, 1, 2],
            values: vec![1.0, 1.0, 1.0, 1.0, 2.0, 3.0],
            importance: vec![f64::INFINITY, f64::INFINITY],
            master: 0,
        }
    }

    #[test]
    fn hard_controls_are_met() {
        let controls = small();
        let b = balance(&controls, &[100.0, 220.0], &[30.0, 30.0, 30.0], &[0.0; 3], &[1e9; 3], 10_000, false);
        assert!(b.convergence.converged, "{:?}", b.convergence);
        let t = controls.totals(&b.weights);
        assert!((t[0] - 100.0).abs() < 1e-6 && (t[1] - 220.0).abs() < 1e-6, "{t:?}");
    }

    #[test]
    fn hard_controls_are_raked_by_newton_steps() {
        let controls = small();
        let b = balance(&controls, &[100.0, 220.0], &[30.0, 30.0, 30.0], &[0.0; 3], &[1e9; 3], 10, false);
        assert!(b.convergence.converged && b.convergence.iterations < 10, "{:?}", b.convergence);
        let t = controls.totals(&b.weights);
        assert!((t[0] - 100.0).abs() < 1e-9 && (t[1] - 220.0).abs() < 1e-9, "{t:?}");
        // the raking solution: w = w0 exp(λ0 + λ1 a), so w1² = w0 w2
        assert!((b.weights[1] * b.weights[1] - b.weights[0] * b.weights[2]).abs() < 1e-6);
    }

    #[test]
    fn a_soft_control_gives_way_to_a_hard_total() {
        let mut controls = small();
        controls.importance[1] = 10.0;
        // 400 persons in 100 households cannot be met with sizes ≤ 3 and bounds ≤ 60 each.
        let b = balance(&controls, &[100.0, 400.0], &[30.0; 3], &[0.0; 3], &[60.0; 3], 10_000, false);
        let t = controls.totals(&b.weights);
        assert!((t[0] - 100.0).abs() < 1e-6, "{t:?}");
        assert!(t[1] < 400.0 && t[1] > 200.0, "{t:?}");
    }

    #[test]
    fn newton_finds_the_point_the_sweeps_approach_with_importance_fixed() {
        let mut controls = small();
        controls.importance[1] = 50.0;
        let b = balance(&controls, &[100.0, 260.0], &[30.0; 3], &[0.0; 3], &[1e9; 3], 10, true);
        assert!(b.convergence.converged, "{:?}", b.convergence);
        // At the optimum: w = w0 exp(λ0 + λ1 a) and persons = 260 z with z = exp(−λ1 / 50).
        let t = controls.totals(&b.weights);
        assert!((t[0] - 100.0).abs() < 1e-9, "{t:?}");
        let lambda1 = (b.weights[1] / b.weights[0]).ln();
        assert!((t[1] - 260.0 * (-lambda1 / 50.0).exp()).abs() < 1e-8, "{t:?} {lambda1}");
    }
}
