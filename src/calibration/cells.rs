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
        debug_assert_eq!(membership.len(), design.len() * m);
        let row = |i: usize, out: &mut Vec<u32>| out.extend_from_slice(&membership[i * m..(i + 1) * m]);
        // Mixed-radix key of a membership row (first margin slowest), when the product of
        // the sizes fits in a u64.
        let radix: Option<u64> = margin_sizes.iter().try_fold(1u64, |acc, &s| acc.checked_mul(u64::try_from(s).ok()?));
        match radix {
            Some(product) => {
                let key = |i: usize| {
                    membership[i * m..(i + 1) * m]
                        .iter()
                        .zip(margin_sizes)
                        .fold(0u64, |k, (&c, &s)| k * s as u64 + c as u64)
                };
                Cells::from_keys(design, product, m, key, row)
            }
            None => {
                let mut map: HashMap<&[u32], u32> = HashMap::new();
                let mut cells = Cells { margins: m, codes: Vec::new(), design: Vec::new(), record_cell: Vec::new() };
                for (i, key) in membership.chunks_exact(m).enumerate() {
                    let next = cells.design.len() as u32;
                    let c = *map.entry(key).or_insert(next);
                    cells.add(c, next, design[i], |codes| row(i, codes));
                }
                cells
            }
        }
    }

    /// Groups records by `key(i)` (below `product`; records with equal keys must have equal
    /// membership rows), in order of first appearance, summing `design` per cell; `row(i, out)`
    /// appends record `i`'s membership row (`margins` codes) to `out`, once per cell.
    pub(crate) fn from_keys(
        design: &[f64],
        product: u64,
        margins: usize,
        key: impl Fn(usize) -> u64 + Sync,
        row: impl Fn(usize, &mut Vec<u32>) + Sync,
    ) -> Cells {
        let n = design.len();
        if product <= CHUNK_TABLE_LIMIT && n > RECORD_CHUNK {
            return Cells::from_keys_in_chunks(design, product as usize, margins, key, row);
        }
        let mut cells = Cells { margins, codes: Vec::new(), design: Vec::new(), record_cell: Vec::with_capacity(n) };
        // A dense lookup table when it is small next to the data, a hash map otherwise.
        let dense_limit = (4 * n as u64).clamp(1 << 16, 1 << 26);
        if product <= dense_limit {
            let mut table = vec![u32::MAX; product as usize];
            for (i, &d) in design.iter().enumerate() {
                let next = cells.design.len() as u32;
                let slot = &mut table[key(i) as usize];
                if *slot == u32::MAX {
                    *slot = next;
                }
                let c = *slot;
                cells.add(c, next, d, |codes| row(i, codes));
            }
        } else {
            let mut map: HashMap<u64, u32> = HashMap::new();
            for (i, &d) in design.iter().enumerate() {
                let next = cells.design.len() as u32;
                let c = *map.entry(key(i)).or_insert(next);
                cells.add(c, next, d, |codes| row(i, codes));
            }
        }
        cells
    }

    /// Adds a record of cell `c` with design weight `d`; `c == next` opens a new cell, whose
    /// membership row `push_row` appends to the codes.
    #[inline]
    fn add(&mut self, c: u32, next: u32, d: f64, push_row: impl FnOnce(&mut Vec<u32>)) {
        if c == next {
            push_row(&mut self.codes);
            self.design.push(0.0);
        }
        self.design[c as usize] += d;
        self.record_cell.push(c);
    }

    /// [`Cells::from_keys`] for many records over few possible keys (below 2¹⁶), on every
    /// core: each fixed chunk of records writes its keys into `record_cell` and lists its
    /// distinct keys in order of first appearance; merging the lists in chunk order numbers the
    /// cells in global order of first appearance; then each chunk maps its keys to cells in
    /// place and sums its design weights, and the sums are added in chunk order.
    fn from_keys_in_chunks(
        design: &[f64],
        product: usize,
        margins: usize,
        key: impl Fn(usize) -> u64 + Sync,
        row: impl Fn(usize, &mut Vec<u32>) + Sync,
    ) -> Cells {
        let mut record_cell = crate::memory::zeros::<u32>(design.len());
        let firsts: Vec<Vec<(u32, usize)>> = record_cell
            .par_chunks_mut(RECORD_CHUNK)
            .enumerate()
            .map(|(c, keys)| {
                let mut seen = vec![false; product];
                let mut out = Vec::new();
                for (j, slot) in keys.iter_mut().enumerate() {
                    let i = c * RECORD_CHUNK + j;
                    let k = key(i) as u32;
                    *slot = k;
                    if !std::mem::replace(&mut seen[k as usize], true) {
                        out.push((k, i));
                    }
                }
                out
            })
            .collect();
        let mut table = vec![u32::MAX; product];
        let mut codes = Vec::new();
        let mut cells = 0u32;
        for &(k, record) in firsts.iter().flatten() {
            if table[k as usize] == u32::MAX {
                table[k as usize] = cells;
                cells += 1;
                row(record, &mut codes);
            }
        }
        let partials: Vec<Vec<f64>> = record_cell
            .par_chunks_mut(RECORD_CHUNK)
            .zip(design.par_chunks(RECORD_CHUNK))
            .map(|(slots, design)| {
                let mut sums = vec![0.0; cells as usize];
                for (slot, &d) in slots.iter_mut().zip(design) {
                    *slot = table[*slot as usize];
                    sums[*slot as usize] += d;
                }
                sums
            })
            .collect();
        let mut cell_design = vec![0.0; cells as usize];
        for p in partials {
            cell_design.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
        Cells { margins, codes, design: cell_design, record_cell }
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

    /// Every record's membership row (`records × margins`, row-major).
    pub(crate) fn record_rows(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.record_cell.len() * self.margins);
        for &c in &self.record_cell {
            out.extend_from_slice(self.row(c as usize));
        }
        out
    }

    /// Record weights `w_i = d_i · g_{cell(i)}`, gathering in the same pass each cell's total
    /// weight and the weights' sum, sum of squares, extremes and negatives (in fixed chunks,
    /// combined in chunk order, so the sums do not depend on the thread count).
    pub(crate) fn expand(&self, design: &[f64], g: &[f64]) -> (Vec<f64>, WeightSums) {
        let mut out = crate::memory::zeros::<f64>(design.len());
        let partials: Vec<WeightSums> = out
            .par_chunks_mut(RECORD_CHUNK)
            .zip(design.par_chunks(RECORD_CHUNK))
            .zip(self.record_cell.par_chunks(RECORD_CHUNK))
            .map(|((o, d), cell)| {
                let mut sums = WeightSums::new(self.len());
                for ((o, &d), &c) in o.iter_mut().zip(d).zip(cell) {
                    let w = d * g[c as usize];
                    *o = w;
                    sums.add(c as usize, w);
                }
                sums
            })
            .collect();
        let mut total = WeightSums::new(self.len());
        for p in partials {
            total.merge(p);
        }
        (out, total)
    }
}

/// Sums over record weights, by [`Cells::expand`].
#[derive(Debug, Clone)]
pub(crate) struct WeightSums {
    /// Total weight of each cell.
    pub cells: Vec<f64>,
    /// Σ w.
    pub total: f64,
    /// Σ w².
    pub squares: f64,
    /// Smallest weight.
    pub min: f64,
    /// Largest weight.
    pub max: f64,
    /// Number of negative weights.
    pub negative: usize,
}

impl WeightSums {
    fn new(cells: usize) -> Self {
        WeightSums {
            cells: vec![0.0; cells],
            total: 0.0,
            squares: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            negative: 0,
        }
    }

    #[inline]
    fn add(&mut self, cell: usize, w: f64) {
        self.cells[cell] += w;
        self.total += w;
        self.squares += w * w;
        self.min = self.min.min(w);
        self.max = self.max.max(w);
        self.negative += usize::from(w < 0.0);
    }

    fn merge(&mut self, other: WeightSums) {
        self.cells.iter_mut().zip(other.cells).for_each(|(a, b)| *a += b);
        self.total += other.total;
        self.squares += other.squares;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.negative += other.negative;
    }
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
        assert_eq!(cells.expand(&design, &[2.0, 0.5]).0, vec![2.0, 1.0, 6.0, 2.0]);
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
