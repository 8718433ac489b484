//! Aggregation of records into distinct cells (identical membership rows).
//!
//! Every calibration method here gives the same g-weight to records that fall in the same cell
//! of every margin: g depends on a record only through its indicator vector. So the records are
//! grouped once, by their membership row, into `K` distinct cells with design totals
//! `D_c = Σ_{i ∈ c} d_i`, every iteration works on the `K` cells, and the record weights are
//! mapped back at the end as `w_i = d_i · g_c`. Per-iteration cost scales with `K × margins`,
//! not with the number of records.

use std::collections::HashMap;

use rayon::prelude::*;

/// Records per parallel chunk when computing keys or expanding weights. Fixed, so results do
/// not depend on the number of threads (the work is element-wise anyway).
const RECORD_CHUNK: usize = 1 << 15;

/// Largest number of possible cells for which each chunk of records gets its own table.
const CHUNK_TABLE_LIMIT: u64 = 1 << 16;

/// Records grouped into distinct cells.
#[derive(Debug, Clone)]
pub(crate) struct Cells {
    /// Number of margins (length of a membership row).
    margins: usize,
    /// `K × margins` cell codes, row-major, in order of first appearance among the records.
    codes: Vec<u32>,
    /// Design total of each cell, summed in record order.
    design: Vec<f64>,
    /// Distinct cell of each record.
    record_cell: Vec<u32>,
}

impl Cells {
    /// Groups `membership` (records × margins, row-major; codes already validated against
    /// `margin_sizes`) into distinct cells, summing `design` per cell.
    pub(crate) fn aggregate(design: &[f64], membership: &[u32], margin_sizes: &[usize]) -> Cells {
        let m = margin_sizes.len();
        let n = design.len();
        debug_assert_eq!(membership.len(), n * m);
        // Mixed-radix key of a membership row, when the product of the sizes fits in a u64.
        let radix: Option<u64> = margin_sizes.iter().try_fold(1u64, |acc, &s| acc.checked_mul(u64::try_from(s).ok()?));
        let mut record_cell = Vec::with_capacity(n);
        let mut codes: Vec<u32> = Vec::new();
        let mut cell_design: Vec<f64> = Vec::new();
        match radix {
            Some(product) => {
                let keys = row_keys(membership, margin_sizes);
                // A dense lookup table when it is small next to the data, a hash map otherwise.
                let dense_limit = (4 * n as u64).clamp(1 << 16, 1 << 26);
                if product <= CHUNK_TABLE_LIMIT && n > RECORD_CHUNK {
                    return Cells::aggregate_in_chunks(design, membership, m, &keys, product as usize);
                }
                if product <= dense_limit {
                    let mut table = vec![u32::MAX; product as usize];
                    for (i, &key) in keys.iter().enumerate() {
                        let slot = &mut table[key as usize];
                        if *slot == u32::MAX {
                            *slot = cell_design.len() as u32;
                            codes.extend_from_slice(&membership[i * m..(i + 1) * m]);
                            cell_design.push(0.0);
                        }
                        cell_design[*slot as usize] += design[i];
                        record_cell.push(*slot);
                    }
                } else {
                    let mut map: HashMap<u64, u32> = HashMap::new();
                    for (i, &key) in keys.iter().enumerate() {
                        let next = cell_design.len() as u32;
                        let c = *map.entry(key).or_insert(next);
                        if c == next {
                            codes.extend_from_slice(&membership[i * m..(i + 1) * m]);
                            cell_design.push(0.0);
                        }
                        cell_design[c as usize] += design[i];
                        record_cell.push(c);
                    }
                }
            }
            None => {
                let mut map: HashMap<&[u32], u32> = HashMap::new();
                for (i, row) in membership.chunks_exact(m).enumerate() {
                    let next = cell_design.len() as u32;
                    let c = *map.entry(row).or_insert(next);
                    if c == next {
                        codes.extend_from_slice(row);
                        cell_design.push(0.0);
                    }
                    cell_design[c as usize] += design[i];
                    record_cell.push(c);
                }
            }
        }
        Cells { margins: m, codes, design: cell_design, record_cell }
    }

    /// [`Cells::aggregate`] for many records over few possible cells, on both cores: every
    /// fixed chunk of records lists its distinct keys in order of first appearance; merging
    /// the lists in chunk order numbers the cells in global order of first appearance; then
    /// every chunk maps its records and sums its design weights, and the sums are added in
    /// chunk order.
    fn aggregate_in_chunks(design: &[f64], membership: &[u32], m: usize, keys: &[u64], product: usize) -> Cells {
        let firsts: Vec<Vec<(u32, usize)>> = keys
            .par_chunks(RECORD_CHUNK)
            .enumerate()
            .map(|(c, keys)| {
                let mut seen = vec![false; product];
                let mut out = Vec::new();
                for (i, &key) in keys.iter().enumerate() {
                    if !std::mem::replace(&mut seen[key as usize], true) {
                        out.push((key as u32, c * RECORD_CHUNK + i));
                    }
                }
                out
            })
            .collect();
        let mut table = vec![u32::MAX; product];
        let mut codes = Vec::new();
        for &(key, record) in firsts.iter().flatten() {
            if table[key as usize] == u32::MAX {
                table[key as usize] = (codes.len() / m) as u32;
                codes.extend_from_slice(&membership[record * m..(record + 1) * m]);
            }
        }
        let cells = codes.len() / m;
        let mut record_cell = vec![0u32; keys.len()];
        let partials: Vec<Vec<f64>> = record_cell
            .par_chunks_mut(RECORD_CHUNK)
            .zip(keys.par_chunks(RECORD_CHUNK))
            .zip(design.par_chunks(RECORD_CHUNK))
            .map(|((out, keys), design)| {
                let mut sums = vec![0.0; cells];
                for ((o, &key), &d) in out.iter_mut().zip(keys).zip(design) {
                    *o = table[key as usize];
                    sums[*o as usize] += d;
                }
                sums
            })
            .collect();
        let mut cell_design = vec![0.0; cells];
        for p in partials {
            cell_design.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
        Cells { margins: m, codes, design: cell_design, record_cell }
    }

    /// Number of distinct cells `K`.
    pub(crate) fn len(&self) -> usize {
        self.design.len()
    }

    /// Number of margins.
    pub(crate) fn margins(&self) -> usize {
        self.margins
    }

    /// The membership row of cell `c`.
    #[inline]
    pub(crate) fn row(&self, c: usize) -> &[u32] {
        &self.codes[c * self.margins..(c + 1) * self.margins]
    }

    /// All membership rows, `K × margins`, row-major.
    pub(crate) fn codes(&self) -> &[u32] {
        &self.codes
    }

    /// Design totals `D_c`.
    pub(crate) fn design(&self) -> &[f64] {
        &self.design
    }

    /// Sums per-cell values onto every margin: `out[offsets[m] + j] = Σ_{c: code_cm = j} v_c`.
    pub(crate) fn margin_sums(&self, values: &[f64], offsets: &[usize], total_cells: usize) -> Vec<f64> {
        let mut out = vec![0.0; total_cells];
        for (row, &v) in self.codes.chunks_exact(self.margins).zip(values) {
            for (&code, &off) in row.iter().zip(offsets) {
                out[off + code as usize] += v;
            }
        }
        out
    }

    /// Record weights `w_i = d_i · g_{cell(i)}`.
    pub(crate) fn expand(&self, design: &[f64], g: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; design.len()];
        out.par_chunks_mut(RECORD_CHUNK)
            .zip(design.par_chunks(RECORD_CHUNK))
            .zip(self.record_cell.par_chunks(RECORD_CHUNK))
            .for_each(|((o, d), cell)| {
                for ((o, &d), &c) in o.iter_mut().zip(d).zip(cell) {
                    *o = d * g[c as usize];
                }
            });
        out
    }
}

/// Mixed-radix keys of the membership rows (first margin slowest), computed in fixed chunks.
fn row_keys(membership: &[u32], sizes: &[usize]) -> Vec<u64> {
    let m = sizes.len();
    let n = membership.len() / m;
    let mut keys = vec![0u64; n];
    keys.par_chunks_mut(RECORD_CHUNK).zip(membership.par_chunks(RECORD_CHUNK * m)).for_each(|(keys, rows)| {
        for (key, row) in keys.iter_mut().zip(rows.chunks_exact(m)) {
            let mut k = 0u64;
            for (&code, &size) in row.iter().zip(sizes) {
                k = k * size as u64 + code as u64;
            }
            *key = k;
        }
    });
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rows_share_a_cell_in_first_appearance_order() {
        let membership = vec![1, 0, 0, 1, 1, 0, 0, 1];
        let design = vec![1.0, 2.0, 3.0, 4.0];
        let cells = Cells::aggregate(&design, &membership, &[2, 2]);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells.row(0), &[1, 0]);
        assert_eq!(cells.row(1), &[0, 1]);
        assert_eq!(cells.design(), &[4.0, 6.0]);
        assert_eq!(cells.expand(&design, &[2.0, 0.5]), vec![2.0, 1.0, 6.0, 2.0]);
        assert_eq!(cells.margin_sums(cells.design(), &[0, 2], 4), vec![6.0, 4.0, 4.0, 6.0]);
    }

    #[test]
    fn the_three_grouping_paths_agree() {
        // small radix (dense table), large radix (hash of keys), overflowing radix (hash of rows)
        let membership: Vec<u32> = (0..300u32).flat_map(|i| [i % 3, (i * 7) % 5, i % 2]).collect();
        let design: Vec<f64> = (0..300).map(|i| 1.0 + (i % 11) as f64).collect();
        let dense = Cells::aggregate(&design, &membership, &[3, 5, 2]);
        let keyed = Cells::aggregate(&design, &membership, &[3, 5, 1 << 20]);
        let rows = Cells::aggregate(&design, &membership, &[3, usize::MAX / 2, usize::MAX / 2]);
        for other in [&keyed, &rows] {
            assert_eq!(dense.codes(), other.codes());
            assert_eq!(dense.design(), other.design());
            assert_eq!(dense.record_cell, other.record_cell);
        }
        assert_eq!(dense.len(), 30);
    }

    #[test]
    fn chunked_grouping_keeps_first_appearance_order() {
        // more records than a chunk: cells first seen in later chunks come later
        let n = 3 * RECORD_CHUNK + 17;
        let membership: Vec<u32> =
            (0..n as u32).flat_map(|i| [(i / 1000) % 7, (i * 13) % 5, u32::from(i % 3 == 0)]).collect();
        let design: Vec<f64> = (0..n).map(|i| 1.0 + (i % 11) as f64 / 8.0).collect();
        let chunked = Cells::aggregate(&design, &membership, &[7, 5, 2]);
        let keyed = Cells::aggregate(&design, &membership, &[7, 5, 1 << 20]);
        assert_eq!(chunked.codes(), keyed.codes());
        assert_eq!(chunked.record_cell, keyed.record_cell);
        for (a, b) in chunked.design().iter().zip(keyed.design()) {
            assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
        }
    }
}
