//! Association between two categorical variables: Cramér's V of their two-way table.

/// Cramér's V of an r × c table of non-negative counts held row-major in `counts` with
/// `columns` columns: V = √(χ² / (N · (min(r, c) − 1))), with Pearson's
/// χ² = Σᵢⱼ (Oᵢⱼ − Eᵢⱼ)² / Eᵢⱼ, Eᵢⱼ = Rᵢ Cⱼ / N.
///
/// Rows and columns whose total is zero are dropped first (they carry no observation and would
/// make Eᵢⱼ zero); r and c count what is left. When fewer than two rows or two columns are left
/// (a variable that takes a single value) V is 0: such a variable is independent of everything.
/// V lies in \[0, 1\] (rounding is clamped) and does not change when every count is scaled.
///
/// Returns `None` when `columns` is zero or does not divide `counts.len()`, or a count is
/// negative, NaN or infinite.
///
/// ```
/// use populace::metrics::cramers_v;
///
/// // χ² = 25/3 on N = 50: V = √(1/6).
/// let v = cramers_v(&[20.0, 10.0, 5.0, 15.0], 2).unwrap();
/// assert!((v - (1.0f64 / 6.0).sqrt()).abs() < 1e-12);
/// assert_eq!(cramers_v(&[10.0, 10.0, 10.0, 10.0], 2), Some(0.0)); // independent
/// assert_eq!(cramers_v(&[1.0, 2.0, 3.0], 2), None); // not a 2-column table
/// ```
pub fn cramers_v(counts: &[f64], columns: usize) -> Option<f64> {
    if columns == 0 || !counts.len().is_multiple_of(columns) || counts.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
        return None;
    }
    let rows = counts.len() / columns;
    let row_totals: Vec<f64> = counts.chunks(columns).map(|r| r.iter().sum()).collect();
    let column_totals: Vec<f64> = (0..columns).map(|j| (0..rows).map(|i| counts[i * columns + j]).sum()).collect();
    let kept_rows: Vec<usize> = (0..rows).filter(|&i| row_totals[i] > 0.0).collect();
    let kept_columns: Vec<usize> = (0..columns).filter(|&j| column_totals[j] > 0.0).collect();
    let k = kept_rows.len().min(kept_columns.len());
    if k < 2 {
        return Some(0.0);
    }
    let total: f64 = kept_rows.iter().map(|&i| row_totals[i]).sum();
    let mut chi2 = 0.0;
    for &i in &kept_rows {
        for &j in &kept_columns {
            let expected = row_totals[i] * column_totals[j] / total;
            let d = counts[i * columns + j] - expected;
            chi2 += d * d / expected;
        }
    }
    Some((chi2 / (total * (k - 1) as f64)).sqrt().clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values, from Python 3 (standard library only):
    //
    // import math
    // def v(t):
    //     rows = [r for r in t if sum(r) > 0]
    //     cols = [j for j in range(len(rows[0])) if sum(r[j] for r in rows) > 0]
    //     rows = [[r[j] for j in cols] for r in rows]
    //     N = sum(map(sum, rows)); R = [sum(r) for r in rows]; C = [sum(r[j] for r in rows) for j in range(len(cols))]
    //     chi = sum((rows[i][j] - R[i] * C[j] / N) ** 2 / (R[i] * C[j] / N) for i in range(len(rows)) for j in range(len(cols)))
    //     return math.sqrt(chi / (N * (min(len(rows), len(cols)) - 1)))
    // print(repr(v([[20, 10], [5, 15]])))            # 0.408248290463863
    // print(repr(v([[12, 3], [7, 9], [2, 11]])))     # 0.5181757728315843
    const PY_V_2X2: f64 = 0.408248290463863;
    const PY_V_3X2: f64 = 0.5181757728315843;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12
    }

    #[test]
    fn two_by_two_matches_python() {
        let v = cramers_v(&[20.0, 10.0, 5.0, 15.0], 2).unwrap();
        assert!(close(v, PY_V_2X2), "{v}");
    }

    #[test]
    fn three_by_two_matches_python() {
        let v = cramers_v(&[12.0, 3.0, 7.0, 9.0, 2.0, 11.0], 2).unwrap();
        assert!(close(v, PY_V_3X2), "{v}");
        // Transposed (2×3): the same.
        let t = cramers_v(&[12.0, 7.0, 2.0, 3.0, 9.0, 11.0], 3).unwrap();
        assert!(close(t, PY_V_3X2), "{t}");
    }

    #[test]
    fn empty_rows_and_columns_are_dropped() {
        // The 3×2 example padded with an empty row and an empty column (4×3).
        let padded = [12.0, 0.0, 3.0, 0.0, 0.0, 0.0, 7.0, 0.0, 9.0, 2.0, 0.0, 11.0];
        assert!(close(cramers_v(&padded, 3).unwrap(), PY_V_3X2));
    }

    #[test]
    fn degenerate_tables() {
        assert_eq!(cramers_v(&[5.0, 7.0], 2), Some(0.0)); // one row
        assert_eq!(cramers_v(&[5.0, 0.0, 7.0, 0.0], 2), Some(0.0)); // one non-empty column
        assert_eq!(cramers_v(&[0.0; 4], 2), Some(0.0));
        assert_eq!(cramers_v(&[1.0, 0.0, 0.0, 1.0], 2), Some(1.0)); // perfect association
        assert_eq!(cramers_v(&[1.0, 2.0], 0), None);
        assert_eq!(cramers_v(&[1.0, -2.0], 2), None);
        assert_eq!(cramers_v(&[1.0, f64::NAN], 2), None);
    }

    #[test]
    fn scale_free() {
        let a = cramers_v(&[12.0, 3.0, 7.0, 9.0, 2.0, 11.0], 2).unwrap();
        let b = cramers_v(&[1.2, 0.3, 0.7, 0.9, 0.2, 1.1], 2).unwrap();
        assert!(close(a, b));
    }
}
