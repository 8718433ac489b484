//! A heaviest basis of rows, for Newton systems whose cells' weights span many orders of
//! magnitude.
//!
//! The Newton matrix `Σ_c h_c x_c x_c'` of the dual, formed in floating point, keeps nothing of
//! a cell whose curvature `h_c` is below round-off of a heavier one sharing a column: with
//! design weights from `1e-20` to `1e20` a regular matrix looks singular, and the steps miss
//! the directions only light cells determine. Changing variables fixes this. Take the rows
//! (0/1 indicator vectors `x_c`) heaviest first and keep each one independent of those kept
//! before: the `r` rows kept, `B`, are a heaviest basis (greedy on a matroid), and every row is
//! `x_c = B'β_c` with `β_cb ≠ 0` only for basis rows `b` at least as heavy as `c`. In the
//! coordinates `v = Bλ` (the `u` of the basis rows) the Newton matrix is `Σ_c h_c β_c β_c'`:
//! scaled to a unit diagonal it is the identity plus terms bounded by the `β`s, whatever the
//! spread of the weights, and heaviest-first Cholesky solves it without mixing the scales
//! (Vavasis 1994; Hough & Vavasis 1997).
//!
//! * Vavasis S. A. (1994). Stable numerical algorithms for equilibrium systems. *SIAM J. Matrix
//!   Anal. Appl.* 15, 1108–1131.
//! * Hough P. D., Vavasis S. A. (1997). Complete orthogonal decomposition for weighted least
//!   squares. *SIAM J. Matrix Anal. Appl.* 18, 369–392.

use nalgebra::{DMatrix, DVector};

/// Squared norm, relative to the row's, below which a row counts as a combination of the rows
/// already kept (rows are 0/1 vectors: an independent one keeps far more than this).
const DEPENDENT: f64 = 1e-10;

/// A heaviest basis of rows and the map from a row to its coordinates in it.
#[derive(Debug, Clone)]
pub(crate) struct Basis {
    /// The rows kept, heaviest first (ids as the caller numbers them).
    pub(crate) rows: Vec<usize>,
    /// For every row the caller numbers, how many basis rows come before it in the order
    /// given, itself included (`r` for rows not in the order): the row is a combination of
    /// those alone.
    prefix: Vec<usize>,
    /// `Q'`, `r × p`, and `R`, `r × r` upper triangular: `B' = Q R`.
    qt: DMatrix<f64>,
    upper: DMatrix<f64>,
    /// `(B')⁺ = R⁻¹Q'`, `r × p`: a vector `t` in the span is `B'((B')⁺t)`, and a step `Δv` of
    /// the basis rows' `u` is the step `Δλ = ((B')⁺)'Δv`.
    pub(crate) pinv: DMatrix<f64>,
}

impl Basis {
    /// Keeps, from the rows in `order` (heaviest first; ids below `count`), each row
    /// independent of those kept before, stopping at `rank` rows; `active(row, out)` writes the
    /// columns (of `p`) where the row is 1. `None` if no row is kept or the rows kept cannot be
    /// inverted (round-off).
    pub(crate) fn heaviest(
        p: usize,
        rank: usize,
        count: usize,
        order: &[usize],
        active: impl Fn(usize, &mut Vec<usize>),
    ) -> Option<Basis> {
        // Gram–Schmidt, twice (Kahan's "twice is enough"): B' = Q R
        let mut q: Vec<DVector<f64>> = Vec::new();
        let mut r_cols: Vec<Vec<f64>> = Vec::new();
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        let mut prefix = vec![usize::MAX; count];
        for &row in order {
            if rows.len() == rank {
                break;
            }
            prefix[row] = rows.len();
            cols.clear();
            active(row, &mut cols);
            if cols.is_empty() {
                continue;
            }
            let mut v = DVector::zeros(p);
            for &k in &cols {
                v[k] = 1.0;
            }
            let mut coef = vec![0.0; q.len()];
            for _ in 0..2 {
                for (j, qj) in q.iter().enumerate() {
                    let c = qj.dot(&v);
                    v.axpy(-c, qj, 1.0);
                    coef[j] += c;
                }
            }
            let norm = v.norm();
            if norm * norm <= DEPENDENT * cols.len() as f64 {
                continue;
            }
            coef.push(norm);
            q.push(v / norm);
            r_cols.push(coef);
            rows.push(row);
            prefix[row] = rows.len();
        }
        let r = rows.len();
        if r == 0 {
            return None;
        }
        for j in prefix.iter_mut().filter(|j| **j == usize::MAX) {
            *j = r;
        }
        let mut upper = DMatrix::zeros(r, r);
        for (j, col) in r_cols.iter().enumerate() {
            for (i, &c) in col.iter().enumerate() {
                upper[(i, j)] = c;
            }
        }
        let qt = DMatrix::from_fn(r, p, |i, k| q[i][k]);
        // (B')⁺ = R⁻¹ Q'
        let pinv = upper.solve_upper_triangular(&qt)?;
        pinv.iter().all(|v| v.is_finite()).then_some(Basis { rows, prefix, qt, upper, pinv })
    }

    /// Number of rows kept.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The coordinates `β` of row `row`, with ones at `cols`, written into `out`: exactly 0 on
    /// the basis rows after it in the order (lighter ones), and exactly a unit vector for a
    /// basis row. A heavy row's g then owes nothing to the round-off of a light one's.
    pub(crate) fn coordinates(&self, row: usize, cols: &[usize], out: &mut DVector<f64>) {
        out.fill(0.0);
        let j = self.prefix[row];
        if j > 0 && self.rows[j - 1] == row {
            out[j - 1] = 1.0;
            return;
        }
        for &k in cols {
            for i in 0..j {
                out[i] += self.qt[(i, k)];
            }
        }
        // back substitution with the leading j × j block of R
        for i in (0..j).rev() {
            let mut v = out[i];
            for l in i + 1..j {
                v -= self.upper[(i, l)] * out[l];
            }
            out[i] = v / self.upper[(i, i)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 × 2 table in the reduced basis (young, old, male): rows yf, ym, of, om.
    const ROWS: [&[usize]; 4] = [&[0], &[0, 2], &[1], &[1, 2]];

    #[test]
    fn the_heaviest_rows_are_kept_and_the_others_are_their_combinations() {
        let active = |row: usize, out: &mut Vec<usize>| out.extend_from_slice(ROWS[row]);
        // heaviest first: ym, of, om, yf
        let basis = Basis::heaviest(3, 3, 4, &[1, 2, 3, 0], active).unwrap();
        assert_eq!(basis.rows, [1, 2, 3]);
        let mut beta = DVector::zeros(3);
        basis.coordinates(0, ROWS[0], &mut beta);
        // yf = ym + of − om
        for (got, want) in beta.iter().zip([1.0, 1.0, -1.0]) {
            assert!((got - want).abs() < 1e-14, "{beta}");
        }
        // a kept row's coordinates are a unit vector, and Bλ maps back
        basis.coordinates(2, ROWS[2], &mut beta);
        assert_eq!(beta.as_slice(), [0.0, 1.0, 0.0]);
        let dv = DVector::from_vec(vec![-1.0, 2.0, 0.5]);
        let dl = basis.pinv.transpose() * &dv;
        for (j, &row) in basis.rows.iter().enumerate() {
            let u: f64 = ROWS[row].iter().map(|&k| dl[k]).sum();
            assert!((u - dv[j]).abs() < 1e-14);
        }
    }

    #[test]
    fn dependent_rows_are_skipped_and_the_rank_bounds_the_basis() {
        // rows 0 and 1 repeat, row 2 = row 0 + the column-2 row
        let rows: [&[usize]; 4] = [&[0, 1], &[0, 1], &[2], &[0, 1, 2]];
        let active = |row: usize, out: &mut Vec<usize>| out.extend_from_slice(rows[row]);
        let basis = Basis::heaviest(3, 3, 4, &[0, 1, 2, 3], active).unwrap();
        assert_eq!(basis.rows, [0, 2]);
        // row 1 (after row 0 only) owes nothing to row 2
        let mut beta = DVector::zeros(2);
        basis.coordinates(1, rows[1], &mut beta);
        assert!((beta[0] - 1.0).abs() < 1e-14 && beta[1] == 0.0, "{beta}");
        basis.coordinates(3, rows[3], &mut beta);
        assert!((beta[0] - 1.0).abs() < 1e-14 && (beta[1] - 1.0).abs() < 1e-14);
        let basis = Basis::heaviest(3, 1, 4, &[0, 1, 2, 3], active).unwrap();
        assert_eq!(basis.len(), 1);
    }
}
