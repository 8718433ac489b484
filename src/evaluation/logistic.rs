//! L2-regularized multinomial logistic regression on sparse binary (one-hot) features,
//! fitted by L-BFGS (argmin) on the penalized negative log-likelihood with its analytic
//! gradient.
//!
//! The likelihood depends on the training rows only through how often each distinct feature
//! pattern occurs and, for the linear term, through the per-class feature counts. [`Logistic::fit`]
//! therefore collapses the rows into weighted patterns (one-hot profiles of 80,000 persons are
//! a few dozen patterns), and one pass over the patterns gives the cost and the gradient
//! together. Within a pass, `exp(η)` is a product of per-coefficient exponentials computed once
//! per pass, so a pattern costs multiplications and one logarithm. Patterns are summed in
//! fixed chunks, in parallel, and the chunks added in order: the fit does not depend on the
//! thread count.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::DVector;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Patterns per parallel chunk; fixed so that sums do not depend on the thread count.
const CHUNK: usize = 2048;

/// Classes per block of the per-pattern kernel: fixed-size arrays the compiler unrolls.
const LANES: usize = 8;
type Block = [f64; LANES];

/// Below this partition function (or above its inverse) a pattern's log-sum-exp is computed
/// from its linear predictors directly instead of from the product of exponentials.
const TINY: f64 = 1e-200;

/// A fitted model: `classes` × (1 + `features`) coefficients, intercept first; intercepts are
/// not penalized.
#[derive(Debug, Clone)]
pub struct Logistic {
    classes: usize,
    features: usize,
    theta: Vec<f64>,
}

/// Training rows collapsed to their distinct feature patterns, in order of first appearance.
struct Patterns {
    /// Pattern `p` has the active features `features[starts[p]..starts[p + 1]]`.
    starts: Vec<usize>,
    features: Vec<usize>,
    /// The summed weight of the rows with pattern `p`.
    weight: Vec<f64>,
    /// Σ over rows of `weight · [y = c] · x_f`, laid out like the coefficients (intercept
    /// first).
    observed: Vec<f64>,
}

impl Patterns {
    /// Collapses `rows` (with classes `y` and weights `weights`) into patterns; `w` is the
    /// coefficients per class.
    fn new(rows: &[Vec<usize>], y: &[usize], weights: &[f64], w: usize, classes: usize) -> Patterns {
        let mut index: HashMap<&[usize], usize> = HashMap::new();
        let mut out =
            Patterns { starts: vec![0], features: Vec::new(), weight: Vec::new(), observed: vec![0.0; classes * w] };
        for ((row, &c), &n) in rows.iter().zip(y).zip(weights) {
            let p = *index.entry(row.as_slice()).or_insert_with(|| {
                out.features.extend_from_slice(row);
                out.starts.push(out.features.len());
                out.weight.push(0.0);
                out.weight.len() - 1
            });
            out.weight[p] += n;
            out.observed[c * w] += n;
            for &f in row {
                out.observed[c * w + 1 + f] += n;
            }
        }
        out
    }

    fn len(&self) -> usize {
        self.weight.len()
    }

    fn row(&self, p: usize) -> &[usize] {
        &self.features[self.starts[p]..self.starts[p + 1]]
    }

    /// The data term of the patterns `range`.
    fn partial(&self, theta: &[f64], exps: &Exponentials, (k, w): (usize, usize), range: Range<usize>) -> Partial {
        let blocks = exps.blocks;
        let mut part = Partial { lse: 0.0, expected: vec![[0.0; LANES]; w * blocks] };
        let mut share = vec![[0.0; LANES]; blocks];
        for p in range {
            let row = self.row(p);
            let n = self.weight[p];
            part.lse += n * softmax(theta, exps, row, (k, w), &mut share);
            for r in share.iter_mut() {
                for v in r.iter_mut() {
                    *v *= n;
                }
            }
            let columns = std::iter::once(0).chain(row.iter().map(|&f| 1 + f));
            for j in columns {
                for (e, r) in part.expected[j * blocks..(j + 1) * blocks].iter_mut().zip(&share) {
                    for l in 0..LANES {
                        e[l] += r[l];
                    }
                }
            }
        }
        part
    }
}

/// Per-pass exponentials, feature-major in blocks of [`LANES`] classes: `scale[j]` is the
/// largest coefficient of column `j` (0 the intercept, 1 + f feature f) over classes, and
/// class `c` of block `factor[j · blocks + c / LANES]` is `exp(θ_cj − scale[j])` (0 past the
/// last class).
struct Exponentials {
    blocks: usize,
    scale: Vec<f64>,
    factor: Vec<Block>,
}

impl Exponentials {
    fn new(theta: &[f64], k: usize, w: usize) -> Exponentials {
        let blocks = k.div_ceil(LANES);
        let mut scale = vec![f64::NEG_INFINITY; w];
        for c in 0..k {
            for (s, &t) in scale.iter_mut().zip(&theta[c * w..(c + 1) * w]) {
                *s = s.max(t);
            }
        }
        let mut factor = vec![[0.0; LANES]; w * blocks];
        for j in 0..w {
            for c in 0..k {
                factor[j * blocks + c / LANES][c % LANES] = (theta[c * w + j] - scale[j]).exp();
            }
        }
        Exponentials { blocks, scale, factor }
    }
}

/// A chunk's share of the data term: Σ weight · log-sum-exp, and the expected feature counts
/// laid out like [`Exponentials::factor`].
struct Partial {
    lse: f64,
    expected: Vec<Block>,
}

/// A point with its cost and gradient.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

struct Problem<'a> {
    patterns: &'a Patterns,
    classes: usize,
    features: usize,
    l2: f64,
    /// The last point evaluated, its cost and gradient: the line search asks for the cost and
    /// then the gradient of the same point.
    last: RefCell<Option<Evaluated>>,
}

impl Problem<'_> {
    /// Penalized NLL and its gradient, reusing the last evaluation at the same point.
    fn cost_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        if let Some((at, cost, grad)) = self.last.borrow().as_ref() {
            if at.as_slice() == theta {
                return (*cost, grad.clone());
            }
        }
        let (cost, grad) = self.evaluate(theta);
        *self.last.borrow_mut() = Some((theta.to_vec(), cost, grad.clone()));
        (cost, grad)
    }

    /// Penalized NLL and its gradient in one pass over the patterns.
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (k, w) = (self.classes, self.features + 1);
        let exps = Exponentials::new(theta, k, w);
        let starts: Vec<usize> = (0..self.patterns.len()).step_by(CHUNK).collect();
        let partials: Vec<Partial> = starts
            .par_iter()
            .map(|&s| self.patterns.partial(theta, &exps, (k, w), s..(s + CHUNK).min(self.patterns.len())))
            .collect();
        let mut total = 0.0;
        let mut grad = vec![0.0; k * w];
        for part in &partials {
            total += part.lse;
            for j in 0..w {
                for c in 0..k {
                    grad[c * w + j] += part.expected[j * exps.blocks + c / LANES][c % LANES];
                }
            }
        }
        for (i, (g, o)) in grad.iter_mut().zip(&self.patterns.observed).enumerate() {
            total -= theta[i] * o;
            *g -= o;
            if i % w != 0 {
                total += 0.5 * self.l2 * theta[i] * theta[i];
                *g += self.l2 * theta[i];
            }
        }
        (total, grad)
    }
}

/// Fills `prob` (blocks of [`LANES`] classes) with the class probabilities of the pattern
/// `row` and returns the log-sum-exp of its linear predictors.
fn softmax(theta: &[f64], exps: &Exponentials, row: &[usize], (k, w): (usize, usize), prob: &mut [Block]) -> f64 {
    let blocks = exps.blocks;
    let mut z = 0.0;
    for (b, q) in prob.iter_mut().enumerate() {
        let mut product = exps.factor[b];
        for &f in row {
            let e = &exps.factor[(1 + f) * blocks + b];
            for l in 0..LANES {
                product[l] *= e[l];
            }
        }
        z += product.iter().sum::<f64>();
        *q = product;
    }
    if (TINY..1.0 / TINY).contains(&z) {
        let inverse = 1.0 / z;
        prob.iter_mut().flatten().for_each(|q| *q *= inverse);
        return z.ln() + exps.scale[0] + row.iter().map(|&f| exps.scale[1 + f]).sum::<f64>();
    }
    let mut eta = vec![0.0; k];
    let lse = linear(theta, row, k, w, &mut eta);
    for (c, e) in eta.iter().enumerate() {
        prob[c / LANES][c % LANES] = (e - lse).exp();
    }
    lse
}

/// Fills `eta` with the linear predictors and returns their log-sum-exp.
fn linear(theta: &[f64], row: &[usize], k: usize, w: usize, eta: &mut [f64]) -> f64 {
    for c in 0..k {
        eta[c] = theta[c * w] + row.iter().map(|&f| theta[c * w + 1 + f]).sum::<f64>();
    }
    let m = eta.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + eta.iter().map(|e| (e - m).exp()).sum::<f64>().ln()
}

impl CostFunction for Problem<'_> {
    type Param = DVector<f64>;
    type Output = f64;
    fn cost(&self, p: &Self::Param) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.cost_and_gradient(p.as_slice()).0)
    }
}

impl Gradient for Problem<'_> {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;
    fn gradient(&self, p: &Self::Param) -> std::result::Result<DVector<f64>, argmin::core::Error> {
        Ok(DVector::from_vec(self.cost_and_gradient(p.as_slice()).1))
    }
}

impl Logistic {
    /// Fits the model: `rows[i]` lists the active features (each < `features`) of example i,
    /// `y[i]` < `classes` its class; `l2` is the ridge penalty on the non-intercept
    /// coefficients (added as `l2/2 · Σ w²` to the summed NLL).
    pub fn fit(rows: &[Vec<usize>], y: &[usize], classes: usize, features: usize, l2: f64) -> Result<Logistic> {
        Logistic::fit_weighted(rows, y, &vec![1.0; rows.len()], classes, features, l2)
    }

    /// [`Logistic::fit`] with example i weighted by `weights[i]` (finite, non-negative): the
    /// NLL is the weighted sum, so weights that average 1 keep `l2` on the scale of examples.
    pub fn fit_weighted(
        rows: &[Vec<usize>],
        y: &[usize],
        weights: &[f64],
        classes: usize,
        features: usize,
        l2: f64,
    ) -> Result<Logistic> {
        let w = features + 1;
        if let Some(bad) = rows.iter().flatten().find(|&&f| f >= features) {
            return Err(Error::Inconsistent(format!("logistic regression: feature {bad} of {features}")));
        }
        if let Some(bad) = y.iter().find(|&&c| c >= classes) {
            return Err(Error::Inconsistent(format!("logistic regression: class {bad} of {classes}")));
        }
        if weights.len() != rows.len() || y.len() != rows.len() {
            return Err(Error::Inconsistent(format!(
                "logistic regression: {} rows, {} classes and {} weights",
                rows.len(),
                y.len(),
                weights.len()
            )));
        }
        if let Some(bad) = weights.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::Inconsistent(format!("logistic regression: weight {bad}")));
        }
        // Start at the smoothed class frequencies with zero slopes.
        let mut counts = vec![0.5; classes];
        for (&c, &n) in y.iter().zip(weights) {
            counts[c] += n;
        }
        let total: f64 = counts.iter().sum();
        let mut theta = vec![0.0; classes * w];
        for c in 0..classes {
            theta[c * w] = (counts[c] / total).ln();
        }
        let patterns = Patterns::new(rows, y, weights, w, classes);
        let problem = Problem { patterns: &patterns, classes, features, l2, last: RefCell::new(None) };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(1e-6)
            .and_then(|s| s.with_tolerance_cost(1e-10))
            .map_err(|e| Error::Infeasible(format!("logistic regression setup: {e}")))?;
        // The penalized NLL is smooth and strictly convex, so L-BFGS converges; a solver error or
        // a non-finite optimum is reported rather than papered over with the starting point.
        let result = Executor::new(problem, solver)
            .configure(|s| s.param(DVector::from_vec(theta.clone())).max_iters(300))
            .run()
            .map_err(|e| Error::Inconsistent(format!("fitting the logistic regression failed: {e}")))?;
        match result.state.best_param {
            Some(best) if best.iter().all(|v| v.is_finite()) => theta = best.as_slice().to_vec(),
            _ => {
                return Err(Error::Inconsistent(
                    "fitting the logistic regression gave no finite coefficients (try a larger l2 penalty)".into(),
                ))
            }
        }
        Ok(Logistic { classes, features, theta })
    }

    /// Class probabilities for one example's active features.
    pub fn predict(&self, row: &[usize]) -> Vec<f64> {
        let mut eta = vec![0.0; self.classes];
        let lse = linear(&self.theta, row, self.classes, self.features + 1, &mut eta);
        eta.iter().map(|e| (e - lse).exp()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row by row, as the model is defined: Σ (lse − η_y) + l2/2 Σ slopes², and its gradient.
    fn direct(rows: &[Vec<usize>], y: &[usize], (k, w): (usize, usize), l2: f64, theta: &[f64]) -> (f64, Vec<f64>) {
        let (mut total, mut grad, mut eta) = (0.0, vec![0.0; k * w], vec![0.0; k]);
        for (row, &c) in rows.iter().zip(y) {
            let lse = linear(theta, row, k, w, &mut eta);
            total += lse - eta[c];
            for (j, e) in eta.iter().enumerate() {
                let r = (e - lse).exp() - f64::from(u8::from(j == c));
                grad[j * w] += r;
                row.iter().for_each(|&f| grad[j * w + 1 + f] += r);
            }
        }
        for i in (0..k * w).filter(|i| i % w != 0) {
            total += 0.5 * l2 * theta[i] * theta[i];
            grad[i] += l2 * theta[i];
        }
        (total, grad)
    }

    #[test]
    fn patterns_give_the_row_by_row_cost_and_gradient() {
        let rows: Vec<Vec<usize>> = (0..5000).map(|i| vec![i % 3, 3 + (i / 3) % 4, 7 + (i * 7) % 5]).collect();
        let y: Vec<usize> = (0..5000).map(|i| (i * 13 + i / 7) % 3).collect();
        let (k, features) = (3, 12);
        // Large coefficients too, so that some patterns take the direct log-sum-exp path.
        for scale in [0.3, 400.0] {
            let theta: Vec<f64> =
                (0..k * (features + 1)).map(|i| scale * ((i * 37 % 11) as f64 / 11.0 - 0.5)).collect();
            let patterns = Patterns::new(&rows, &y, &vec![1.0; rows.len()], features + 1, k);
            assert!(patterns.len() <= 60);
            let problem = Problem { patterns: &patterns, classes: k, features, l2: 0.7, last: RefCell::new(None) };
            let (cost, grad) = problem.evaluate(&theta);
            let (want, want_grad) = direct(&rows, &y, (k, features + 1), 0.7, &theta);
            assert!((cost - want).abs() <= 1e-9 * want.abs(), "{cost} vs {want}");
            for (g, h) in grad.iter().zip(&want_grad) {
                assert!((g - h).abs() <= 1e-9 * (1.0 + h.abs()), "{g} vs {h}");
            }
        }
    }

    #[test]
    fn an_integer_weight_is_that_many_copies_of_the_row() {
        let rows: Vec<Vec<usize>> = (0..300).map(|i| vec![i % 3, 3 + (i / 3) % 2]).collect();
        let y: Vec<usize> = (0..300).map(|i| (i * 7 + i / 5) % 3).collect();
        let weights: Vec<f64> = (0..300).map(|i| (1 + i % 4) as f64).collect();
        let weighted = Logistic::fit_weighted(&rows, &y, &weights, 3, 5, 1.0).unwrap();
        let (mut copies, mut classes) = (Vec::new(), Vec::new());
        for ((row, &c), &n) in rows.iter().zip(&y).zip(&weights) {
            for _ in 0..n as usize {
                copies.push(row.clone());
                classes.push(c);
            }
        }
        assert_eq!(weighted.theta, Logistic::fit(&copies, &classes, 3, 5, 1.0).unwrap().theta);
        let unweighted = Logistic::fit(&rows, &y, 3, 5, 1.0).unwrap().theta;
        assert_ne!(weighted.theta, unweighted);
        let bad = Logistic::fit_weighted(&rows, &y, &vec![f64::NAN; 300], 3, 5, 1.0).unwrap_err();
        assert_eq!(bad.to_string(), "logistic regression: weight NaN");
    }

    #[test]
    fn chunked_sums_do_not_depend_on_the_thread_count() {
        let rows: Vec<Vec<usize>> = (0..9000).map(|i| vec![i % 97, 97 + (i * 31) % 89]).collect();
        let y: Vec<usize> = (0..9000).map(|i| (i * 7 + i / 11) % 4).collect();
        let fit = || Logistic::fit(&rows, &y, 4, 186, 1.0).map(|m| m.theta);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().map(|p| p.install(fit));
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().map(|p| p.install(fit));
        assert_eq!(one.ok().and_then(|r| r.ok()), three.ok().and_then(|r| r.ok()));
    }
}
