//! Profile effects on an item's answers, with Wald tests: main effects (each attribute's
//! levels against its reference level) and two-way interactions (products of two attributes'
//! non-reference levels, in a model with all main effects).
//!
//! Ordinal items: a linear model of the scale position (0…K−1) by least squares, one effect
//! per term. Nominal items: for each option against the reference option (the most common real
//! answer), a binary logistic regression on the persons giving either (baseline-category logits
//! fitted separately, Begg & Gray 1984), by Newton's method with a ridge of 1e-6 on the slopes.
//! Tests are two-sided Wald tests with normal p-values. Terms are dropped when fewer than
//! [`MIN_CELL`] persons have (or lack) them, or when they are collinear with earlier terms.

use nalgebra::{DMatrix, DVector};

use super::data::Dataset;

/// Least number of persons with, and without, a term for it to be estimated.
pub const MIN_CELL: usize = 5;

/// Main effect or two-way interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EffectKind {
    /// A level of one attribute against its reference level.
    Main,
    /// The product of non-reference levels of two attributes.
    Interaction,
}

/// One estimated effect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Effect {
    /// Main or interaction.
    pub kind: EffectKind,
    /// The term, e.g. `sex=female` or `sex=female × age=55+`.
    pub term: String,
    /// Nominal items: `option vs reference`; ordinal items: `scale`.
    pub contrast: String,
    /// Coefficient.
    pub estimate: f64,
    /// Standard error.
    pub se: f64,
    /// Two-sided Wald p-value.
    pub p: f64,
}

/// Two-sided normal p-value of a Wald statistic.
pub fn wald_p(estimate: f64, se: f64) -> f64 {
    if !(se > 0.0 && se.is_finite() && estimate.is_finite()) {
        return f64::NAN;
    }
    libm::erfc((estimate / se).abs() / std::f64::consts::SQRT_2)
}

/// A design column: its label, kind and value (0/1) per person.
struct Term {
    label: String,
    kind: EffectKind,
    values: Vec<f64>,
}

/// The reference level of each profile attribute: its most common level among all persons
/// (ties to the first).
pub fn reference_levels(data: &Dataset) -> Vec<usize> {
    data.profile()
        .map(|a| {
            let mut counts = vec![0usize; a.levels().len()];
            (0..data.persons()).for_each(|p| counts[a.level(p)] += 1);
            (0..counts.len()).max_by(|&x, &y| counts[x].cmp(&counts[y]).then(y.cmp(&x))).unwrap_or(0)
        })
        .collect()
}

/// Main-effect terms, and with `pair` the interaction terms of that pair of attributes, for
/// `persons`.
fn terms(data: &Dataset, reference: &[usize], persons: &[usize], pair: Option<(usize, usize)>) -> Vec<Term> {
    let dummy = |a: usize, l: usize| -> Vec<f64> {
        let attr = data.attribute(a);
        persons.iter().map(|&p| f64::from(u8::from(attr.level(p) == l))).collect()
    };
    let mut out = Vec::new();
    for (a, attr) in data.profile().enumerate() {
        for l in (0..attr.levels().len()).filter(|&l| l != reference[a]) {
            out.push(Term {
                label: format!("{}={}", attr.name(), attr.levels()[l]),
                kind: EffectKind::Main,
                values: dummy(a, l),
            });
        }
    }
    if let Some((a, b)) = pair {
        let (na, nb) = (data.attribute(a), data.attribute(b));
        for la in (0..na.levels().len()).filter(|&l| l != reference[a]) {
            for lb in (0..nb.levels().len()).filter(|&l| l != reference[b]) {
                let values = dummy(a, la).iter().zip(dummy(b, lb)).map(|(x, y)| x * y).collect();
                let label = format!("{}={} × {}={}", na.name(), na.levels()[la], nb.name(), nb.levels()[lb]);
                out.push(Term { label, kind: EffectKind::Interaction, values });
            }
        }
    }
    out
}

/// Keeps the terms with at least [`MIN_CELL`] persons on each side that are not collinear
/// with the intercept and the terms kept before them; returns the design (intercept first).
fn design(terms: Vec<Term>, rows: &[usize]) -> (DMatrix<f64>, Vec<Term>) {
    let n = rows.len();
    let mut kept: Vec<Term> = Vec::new();
    let mut columns: Vec<Vec<f64>> = vec![vec![1.0; n]];
    // An orthonormal basis of the kept columns, grown as they are (modified Gram–Schmidt).
    let mut basis: Vec<Vec<f64>> = vec![vec![1.0 / (n.max(1) as f64).sqrt(); n]];
    for t in terms {
        let col: Vec<f64> = rows.iter().map(|&r| t.values[r]).collect();
        let ones = col.iter().filter(|&&v| v != 0.0).count();
        if ones < MIN_CELL || n - ones < MIN_CELL {
            continue;
        }
        let mut resid = col.clone();
        for q in &basis {
            let dot: f64 = q.iter().zip(&resid).map(|(a, b)| a * b).sum();
            resid.iter_mut().zip(q).for_each(|(r, qv)| *r -= dot * qv);
        }
        let norm2: f64 = resid.iter().map(|v| v * v).sum();
        if norm2 > 1e-9 * ones as f64 {
            let norm = norm2.sqrt();
            basis.push(resid.into_iter().map(|v| v / norm).collect());
            columns.push(col);
            kept.push(t);
        }
    }
    let x = DMatrix::from_fn(n, columns.len(), |i, j| columns[j][i]);
    (x, kept)
}

/// Least squares with classical standard errors; `None` if X'X is singular.
fn ols(x: &DMatrix<f64>, y: &DVector<f64>) -> Option<(DVector<f64>, DVector<f64>)> {
    let (n, p) = x.shape();
    if n <= p {
        return None;
    }
    let inv = (x.transpose() * x).cholesky()?.inverse();
    let beta = &inv * (x.transpose() * y);
    let resid = y - x * &beta;
    let sigma2 = resid.norm_squared() / (n - p) as f64;
    let se = DVector::from_fn(p, |j, _| (sigma2 * inv[(j, j)]).max(0.0).sqrt());
    Some((beta, se))
}

/// Binary logistic regression by Newton's method with step halving; `None` if the Hessian is
/// singular.
fn logit(x: &DMatrix<f64>, y: &[f64]) -> Option<(DVector<f64>, DVector<f64>)> {
    const RIDGE: f64 = 1e-6;
    let (n, p) = x.shape();
    let mut beta = DVector::zeros(p);
    let objective = |b: &DVector<f64>| -> f64 {
        let eta = x * b;
        let nll: f64 = (0..n).map(|i| softplus(eta[i]) - y[i] * eta[i]).sum();
        nll + 0.5 * RIDGE * b.rows(1, p - 1).norm_squared()
    };
    let mut hessian = DMatrix::zeros(p, p);
    let mut current = objective(&beta);
    for _ in 0..100 {
        let eta = x * &beta;
        let mu: Vec<f64> = (0..n).map(|i| 1.0 / (1.0 + (-eta[i]).exp())).collect();
        let mut grad = DVector::from_fn(p, |j, _| (0..n).map(|i| (mu[i] - y[i]) * x[(i, j)]).sum::<f64>());
        let wx = DMatrix::from_fn(n, p, |i, j| mu[i] * (1.0 - mu[i]) * x[(i, j)]);
        hessian = x.transpose() * wx;
        for j in 1..p {
            grad[j] += RIDGE * beta[j];
            hessian[(j, j)] += RIDGE;
        }
        let step = hessian.clone().cholesky()?.solve(&grad);
        let mut t = 1.0;
        let mut next = &beta - &step * t;
        let mut value = objective(&next);
        while value > current && t > 1e-8 {
            t /= 2.0;
            next = &beta - &step * t;
            value = objective(&next);
        }
        let converged = (current - value).abs() <= 1e-10 * (1.0 + current.abs());
        beta = next;
        current = value;
        if converged {
            break;
        }
    }
    let inv = hessian.cholesky()?.inverse();
    let se = DVector::from_fn(p, |j, _| inv[(j, j)].max(0.0).sqrt());
    Some((beta, se))
}

fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// Estimates the main and pairwise interaction effects of the profile on `answers` (one per
/// person in `persons`, option indices) of item `item`. `reference_option` is the nominal
/// items' reference answer. Models whose design is singular are skipped.
pub fn estimate(
    data: &Dataset,
    item: usize,
    persons: &[usize],
    answers: &[usize],
    reference_option: usize,
) -> Vec<Effect> {
    let reference = reference_levels(data);
    let it = data.item(item);
    let k = it.levels().len();
    let attrs = data.profile().len();
    let mut models: Vec<Option<(usize, usize)>> = vec![None];
    for a in 0..attrs {
        for b in a + 1..attrs {
            models.push(Some((a, b)));
        }
    }
    let mut out = Vec::new();
    for pair in models {
        let wanted = if pair.is_none() { EffectKind::Main } else { EffectKind::Interaction };
        let all_terms = terms(data, &reference, persons, pair);
        let mut fits: Vec<(String, Vec<usize>, Vec<f64>)> = Vec::new();
        if it.ordinal() {
            fits.push(("scale".into(), (0..persons.len()).collect(), answers.iter().map(|&a| a as f64).collect()));
        } else {
            for option in (0..k).filter(|&o| o != reference_option) {
                let rows: Vec<usize> =
                    (0..persons.len()).filter(|&r| answers[r] == option || answers[r] == reference_option).collect();
                let y = rows.iter().map(|&r| f64::from(u8::from(answers[r] == option))).collect();
                let contrast = format!("{} vs {}", it.levels()[option], it.levels()[reference_option]);
                fits.push((contrast, rows, y));
            }
        }
        for (contrast, rows, y) in fits {
            let cloned: Vec<Term> = all_terms
                .iter()
                .map(|t| Term { label: t.label.clone(), kind: t.kind, values: t.values.clone() })
                .collect();
            let (x, kept) = design(cloned, &rows);
            let fit = if it.ordinal() { ols(&x, &DVector::from_vec(y)) } else { logit(&x, &y) };
            let Some((beta, se)) = fit else { continue };
            for (j, t) in kept.iter().enumerate().filter(|(_, t)| t.kind == wanted) {
                let (b, s) = (beta[j + 1], se[j + 1]);
                out.push(Effect {
                    kind: t.kind,
                    term: t.label.clone(),
                    contrast: contrast.clone(),
                    estimate: b,
                    se: s,
                    p: wald_p(b, s),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wald_p_matches_normal_tail() {
        assert!((wald_p(1.959963984540054, 1.0) - 0.05).abs() < 1e-12);
        assert!((wald_p(-2.5758293035489, 1.0) - 0.01).abs() < 1e-12);
        assert!(wald_p(1.0, 0.0).is_nan());
    }

    #[test]
    fn ols_recovers_coefficients_and_textbook_errors() {
        // y = 1 + 2x exactly plus a known alternating residual.
        let x = DMatrix::from_fn(6, 2, |i, j| if j == 0 { 1.0 } else { f64::from(u8::from(i % 2 == 0)) });
        let y = DVector::from_fn(6, |i, _| 1.0 + 2.0 * x[(i, 1)] + if i < 2 { 0.5 } else { -0.25 });
        let (beta, se) = ols(&x, &y).unwrap();
        // Means per group: x=1 at i=0,2,4 → residuals .5,-.25,-.25 (mean 0); x=0 at 1,3,5 likewise.
        assert!((beta[0] - 1.0).abs() < 1e-12 && (beta[1] - 2.0).abs() < 1e-12);
        // RSS = 2·(0.25+0.0625+0.0625) = 0.75, σ² = 0.75/4; var(b1) = σ²·(1/3+1/3).
        assert!((se[1] - (0.75f64 / 4.0 * 2.0 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn logit_matches_the_closed_form_of_a_two_by_two_table() {
        // 30/100 successes at x=0, 60/100 at x=1: slope = log odds ratio, se = sqrt(Σ 1/cells).
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for (xv, succ) in [(0.0, 30), (1.0, 60)] {
            for i in 0..100 {
                rows.push(xv);
                y.push(f64::from(u8::from(i < succ)));
            }
        }
        let x = DMatrix::from_fn(200, 2, |i, j| if j == 0 { 1.0 } else { rows[i] });
        let (beta, se) = logit(&x, &y).unwrap();
        let lor = (60.0f64 / 40.0).ln() - (30.0f64 / 70.0).ln();
        assert!((beta[1] - lor).abs() < 1e-4, "{} vs {lor}", beta[1]);
        let expected = (1.0 / 30.0 + 1.0 / 70.0 + 1.0 / 60.0 + 1.0 / 40.0f64).sqrt();
        assert!((se[1] - expected).abs() < 1e-4);
    }
}
