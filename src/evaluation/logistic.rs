//! L2-regularized multinomial logistic regression on sparse binary (one-hot) features,
//! fitted by L-BFGS (argmin) on the penalized negative log-likelihood with its analytic
//! gradient.

use argmin::core::{CostFunction, Executor, Gradient};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nalgebra::DVector;

use crate::error::{Error, Result};

/// A fitted model: `classes` × (1 + `features`) coefficients, intercept first; intercepts are
/// not penalized.
#[derive(Debug, Clone)]
pub struct Logistic {
    classes: usize,
    features: usize,
    theta: Vec<f64>,
}

struct Problem<'a> {
    rows: &'a [Vec<usize>],
    y: &'a [usize],
    classes: usize,
    features: usize,
    l2: f64,
}

impl Problem<'_> {
    /// Penalized NLL and, if asked, its gradient.
    fn evaluate(&self, theta: &[f64], mut grad: Option<&mut [f64]>) -> f64 {
        let (k, w) = (self.classes, self.features + 1);
        let mut total = 0.0;
        if let Some(g) = grad.as_deref_mut() {
            g.iter_mut().for_each(|v| *v = 0.0);
        }
        let mut eta = vec![0.0; k];
        for (row, &y) in self.rows.iter().zip(self.y) {
            let lse = linear(theta, row, k, w, &mut eta);
            total += lse - eta[y];
            if let Some(g) = grad.as_deref_mut() {
                for c in 0..k {
                    let r = (eta[c] - lse).exp() - f64::from(u8::from(c == y));
                    g[c * w] += r;
                    for &f in row {
                        g[c * w + 1 + f] += r;
                    }
                }
            }
        }
        for c in 0..k {
            for f in 1..w {
                let t = theta[c * w + f];
                total += 0.5 * self.l2 * t * t;
                if let Some(g) = grad.as_deref_mut() {
                    g[c * w + f] += self.l2 * t;
                }
            }
        }
        total
    }
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
        Ok(self.evaluate(p.as_slice(), None))
    }
}

impl Gradient for Problem<'_> {
    type Param = DVector<f64>;
    type Gradient = DVector<f64>;
    fn gradient(&self, p: &Self::Param) -> std::result::Result<DVector<f64>, argmin::core::Error> {
        let mut g = vec![0.0; p.len()];
        self.evaluate(p.as_slice(), Some(&mut g));
        Ok(DVector::from_vec(g))
    }
}

impl Logistic {
    /// Fits the model: `rows[i]` lists the active features (each < `features`) of example i,
    /// `y[i]` < `classes` its class; `l2` is the ridge penalty on the non-intercept
    /// coefficients (added as `l2/2 · Σ w²` to the summed NLL).
    pub fn fit(rows: &[Vec<usize>], y: &[usize], classes: usize, features: usize, l2: f64) -> Result<Logistic> {
        let w = features + 1;
        // Start at the smoothed class frequencies with zero slopes.
        let mut counts = vec![0.5; classes];
        for &c in y {
            counts[c] += 1.0;
        }
        let total: f64 = counts.iter().sum();
        let mut theta = vec![0.0; classes * w];
        for c in 0..classes {
            theta[c * w] = (counts[c] / total).ln();
        }
        let problem = Problem { rows, y, classes, features, l2 };
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
