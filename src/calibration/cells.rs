//! Aggregation of records into distinct cells (identical membership rows).
//!
//! Every calibration method here gives the same g-weight to records that fall in the same cell
//! of every margin: g depends on a record only through its indicator vector. So the records are
//! grouped once, by their membership row, into `K` distinct cells with design totals
//! `D_c = Σ_{i ∈ c} d_i`, every iteration works on the `K` cells, and the record weights are
//! mapped back at the end as `w_i = d_i · g_c`. Per-iteration cost scales with `K × margins`,
//! not with the number of records.

use std::collections::HashMap;

use crate::memory::{par_fill, Slots};

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
    records: RecordCells,
    /// Number of numeric totals: cells are then distinct in their values too.
    numeric: usize,
    /// `K × numeric` values, row-major, each divided by its total's scale.
    values: Vec<f64>,
    /// The scale of each numeric total's values (see [`Cells::with_values`]).
    scales: Vec<f64>,
}

/// Which cell each record is in.
#[derive(Debug, Clone)]
enum RecordCells {
    /// Every record's cell number.
    Cells(Vec<u32>),
    /// Every record's key (below 2¹⁶), and the cell number of every possible key
    /// (`u32::MAX` for keys no record has).
    Keys { keys: Vec<u16>, cell_of: Vec<u32> },
}

/// Cells built one record at a time, in record order.
struct Sequential {
    /// Membership rows of the cells so far.
    codes: Vec<u32>,
    /// Design totals of the cells so far.
    design: Vec<f64>,
    /// Cell of each record so far.
    record_cell: Vec<u32>,
}

impl Sequential {
    fn with_capacity(records: usize) -> Self {
        Sequential { codes: Vec::new(), design: Vec::new(), record_cell: Vec::with_capacity(records) }
    }

    /// The number the next new cell gets.
    fn next(&self) -> u32 {
        self.design.len() as u32
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

    fn finish(self, margins: usize) -> Cells {
        Cells {
            margins,
            codes: self.codes,
            design: self.design,
            records: RecordCells::Cells(self.record_cell),
            numeric: 0,
            values: Vec::new(),
            scales: Vec::new(),
        }
    }
}

/// One chunk's share of [`Cells::from_keys_in_chunks`].
struct ChunkKeys {
    /// The chunk's distinct keys, each with its first record, in order of first appearance.
    firsts: Vec<(u16, usize)>,
    /// Design total of each of those keys over the chunk, summed in record order.
    sums: Vec<f64>,
}

/// Per-thread tables of [`Cells::from_keys_in_chunks`], indexed by key, whose entries are back
/// to zero (`false`) between chunks.
struct KeyScratch {
    /// Design total of each key over the current chunk.
    sums: Vec<f64>,
    /// Whether the current chunk has met the key.
    seen: Vec<bool>,
}

impl KeyScratch {
    fn new(product: usize) -> Self {
        KeyScratch { sums: vec![0.0; product], seen: vec![false; product] }
    }

    /// Keys the chunk of records that starts at record `first` (design weights `design`) with
    /// `key`, writing each record's key into `keys`, and sums the design weights per key.
    ///
    /// Never inlined: as an argument, `key` is known not to alias the sums and keys written, so
    /// the loop keeps what it captures in registers (inlined into its caller, it reloaded them
    /// after every store, 1.6× slower at 10M records).
    #[inline(never)]
    fn chunk(
        &mut self,
        first: usize,
        keys: &mut Slots<'_, u16>,
        design: &[f64],
        key: impl Fn(usize) -> u64,
    ) -> ChunkKeys {
        let mut firsts = Vec::new();
        // slices, whose addresses stay in registers while `firsts` grows
        let (sums, seen) = (&mut self.sums[..], &mut self.seen[..]);
        keys.extend(design.iter().enumerate().map(|(j, &d)| {
            let k = key(first + j) as u16;
            sums[usize::from(k)] += d;
            if !seen[usize::from(k)] {
                seen[usize::from(k)] = true;
                firsts.push((k, first + j));
            }
            k
        }));
        let sums = firsts
            .iter()
            .map(|&(k, _)| {
                self.seen[usize::from(k)] = false;
                std::mem::replace(&mut self.sums[usize::from(k)], 0.0)
            })
            .collect();
        ChunkKeys { firsts, sums }
    }
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
                    let row = &membership[i * m..(i + 1) * m];
                    row.iter().zip(margin_sizes).fold(0u64, |k, (&c, &s)| k * s as u64 + c as u64)
                };
                Cells::from_keys(design, product, m, key, row)
            }
            None => {
                let mut map: HashMap<&[u32], u32> = HashMap::new();
                let mut cells = Sequential::with_capacity(design.len());
                for (i, key) in membership.chunks_exact(m).enumerate() {
                    let next = cells.next();
                    let c = *map.entry(key).or_insert(next);
                    cells.add(c, next, design[i], |codes| row(i, codes));
                }
                cells.finish(m)
            }
        }
    }

    /// Groups records by their keys (below `product`; records with equal keys must have equal
    /// membership rows), in order of first appearance, summing `design` per cell. `key(i)` is
    /// record `i`'s key; `row(i, out)` appends record `i`'s membership row (`margins` codes) to `out`, once per
    /// cell.
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
        let mut cells = Sequential::with_capacity(n);
        // A dense lookup table when it is small next to the data, a hash map otherwise.
        let dense_limit = (4 * n as u64).clamp(1 << 16, 1 << 26);
        if product <= dense_limit {
            let mut table = vec![u32::MAX; product as usize];
            for (i, &d) in design.iter().enumerate() {
                let next = cells.next();
                let slot = &mut table[key(i) as usize];
                if *slot == u32::MAX {
                    *slot = next;
                }
                cells.add(*slot, next, d, |codes| row(i, codes));
            }
        } else {
            let mut map: HashMap<u64, u32> = HashMap::new();
            for (i, &d) in design.iter().enumerate() {
                let next = cells.next();
                let c = *map.entry(key(i)).or_insert(next);
                cells.add(c, next, d, |codes| row(i, codes));
            }
        }
        cells.finish(margins)
    }

    /// [`Cells::from_keys`] for many records over few possible keys (at most 2¹⁶), on every
    /// core, in one pass over the records: each fixed chunk of records stores its keys, sums
    /// its design weights per key and lists its distinct keys in order of first appearance
    /// ([`ChunkKeys`]). Merging the lists in chunk order numbers the cells in global order of
    /// first appearance and adds the chunks' sums in chunk order; records keep their keys,
    /// which [`RecordCells::Keys`] maps to cells.
    fn from_keys_in_chunks(
        design: &[f64],
        product: usize,
        margins: usize,
        key: impl Fn(usize) -> u64 + Sync,
        row: impl Fn(usize, &mut Vec<u32>) + Sync,
    ) -> Cells {
        let (keys, chunks) = par_fill(
            design.len(),
            RECORD_CHUNK,
            || KeyScratch::new(product),
            |scratch, c, mut keys| {
                let first = c * RECORD_CHUNK;
                let design = &design[first..first + keys.len()];
                let chunk = scratch.chunk(first, &mut keys, design, &key);
                (keys.finish(), chunk)
            },
        );
        let mut cell_of = vec![u32::MAX; product];
        let mut codes = Vec::new();
        let mut cell_design: Vec<f64> = Vec::new();
        for chunk in &chunks {
            for (&(k, record), &sum) in chunk.firsts.iter().zip(&chunk.sums) {
                let slot = &mut cell_of[usize::from(k)];
                if *slot == u32::MAX {
                    *slot = cell_design.len() as u32;
                    cell_design.push(0.0);
                    row(record, &mut codes);
                }
                cell_design[*slot as usize] += sum;
            }
        }
        Cells {
            margins,
            codes,
            design: cell_design,
            records: RecordCells::Keys { keys, cell_of },
            numeric: 0,
            values: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// These cells split by the records' values on `numeric` numeric totals (`value(i, q)`:
    /// record `i`'s value on total `q`), so that records share a cell only when they share
    /// their membership row and every value. Each total's values are divided by its scale, the
    /// design-weighted mean of their absolute values (1 if all are 0), so that the solver's
    /// unknowns and deviations are of the size of the margins' (a count of records).
    pub(crate) fn with_values(&self, design: &[f64], numeric: usize, value: impl Fn(usize, usize) -> f64) -> Cells {
        let mut map: HashMap<(u32, Vec<u64>), u32> = HashMap::new();
        let mut cells = Sequential::with_capacity(design.len());
        let mut values = Vec::new();
        let mut i = 0;
        self.for_each_record_cell(|c| {
            let row: Vec<f64> = (0..numeric).map(|q| value(i, q)).collect();
            let next = cells.next();
            let key = (c as u32, row.iter().map(|v| v.to_bits()).collect());
            let cell = *map.entry(key).or_insert(next);
            if cell == next {
                values.extend_from_slice(&row);
            }
            cells.add(cell, next, design[i], |codes| codes.extend_from_slice(self.row(c)));
            i += 1;
        });
        let mut out = cells.finish(self.margins);
        let total: f64 = out.design.iter().sum();
        let scales: Vec<f64> = (0..numeric)
            .map(|q| {
                let mass: f64 =
                    out.design.iter().zip(values.iter().skip(q).step_by(numeric)).map(|(d, v)| d * v.abs()).sum();
                let scale = mass / total;
                if scale.is_finite() && scale > 0.0 {
                    scale
                } else {
                    1.0
                }
            })
            .collect();
        for row in values.chunks_exact_mut(numeric) {
            for (v, s) in row.iter_mut().zip(&scales) {
                *v /= s;
            }
        }
        (out.numeric, out.values, out.scales) = (numeric, values, scales);
        out
    }

    /// Number of numeric totals.
    pub(crate) fn numeric(&self) -> usize {
        self.numeric
    }

    /// Cell `c`'s values on the numeric totals, each divided by its scale.
    #[inline]
    pub(crate) fn values(&self, c: usize) -> &[f64] {
        &self.values[c * self.numeric..(c + 1) * self.numeric]
    }

    /// The scale of each numeric total's values (empty without numeric totals).
    pub(crate) fn scales(&self) -> &[f64] {
        &self.scales
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

    /// Sums per-cell values onto every margin: `out[offsets[m] + j] = Σ_{c: code_cm = j} v_c`;
    /// with numeric totals, `offsets` goes on with one cell per total, which gets
    /// `Σ_c v_c x_cq` (`x_cq` the cell's scaled value).
    pub(crate) fn margin_sums(&self, values: &[f64], offsets: &[usize], total_cells: usize) -> Vec<f64> {
        let mut out = vec![0.0; total_cells];
        for (row, &v) in self.codes.chunks_exact(self.margins).zip(values) {
            for (&code, &off) in row.iter().zip(offsets) {
                out[off + code as usize] += v;
            }
        }
        if self.numeric > 0 {
            let base = offsets[self.margins];
            for (x, &v) in self.values.chunks_exact(self.numeric).zip(values) {
                for (o, x) in out[base..].iter_mut().zip(x) {
                    *o += v * x;
                }
            }
        }
        out
    }

    /// Every record's membership row (`records × margins`, row-major).
    pub(crate) fn record_rows(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.records() * self.margins);
        self.for_each_record_cell(|c| out.extend_from_slice(self.row(c)));
        out
    }

    /// Number of records.
    fn records(&self) -> usize {
        match &self.records {
            RecordCells::Cells(cells) => cells.len(),
            RecordCells::Keys { keys, .. } => keys.len(),
        }
    }

    /// Calls `f` with every record's cell, in record order.
    fn for_each_record_cell(&self, f: impl FnMut(usize)) {
        match &self.records {
            RecordCells::Cells(cells) => cells.iter().map(|&c| c as usize).for_each(f),
            RecordCells::Keys { keys, cell_of } => keys.iter().map(|&k| cell_of[usize::from(k)] as usize).for_each(f),
        }
    }

    /// Record weights `w_i = d_i · g_{cell(i)}`, and their sums.
    ///
    /// The weights are written in one streaming pass. Each fixed chunk of them then gives its
    /// sum, sum of squares, extremes and negatives while it is in cache, and the chunks'
    /// figures are combined in chunk order, so they do not depend on the thread count. A
    /// cell's total weight is `g_c · D_c`.
    pub(crate) fn expand(&self, design: &[f64], g: &[f64]) -> (Vec<f64>, WeightSums) {
        // g < 0 (linear calibration) is the only way to a negative weight: d ≥ 0
        let negatives = g.iter().any(|&g| g < 0.0);
        let (weights, chunks) = match &self.records {
            RecordCells::Cells(cells) => expand_by(design, cells, negatives, |c| g[c as usize]),
            RecordCells::Keys { keys, cell_of } => {
                let by_key: Vec<f64> = cell_of.iter().map(|&c| g.get(c as usize).copied().unwrap_or(0.0)).collect();
                expand_by(design, keys, negatives, |k| by_key[usize::from(k)])
            }
        };
        let cells = g.iter().zip(&self.design).map(|(g, d)| g * d).collect();
        let mut sums =
            WeightSums { cells, total: 0.0, squares: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY, negative: 0 };
        for chunk in chunks {
            sums.total += chunk.total;
            sums.squares += chunk.squares;
            sums.min = sums.min.min(chunk.min);
            sums.max = sums.max.max(chunk.max);
            sums.negative += chunk.negative;
        }
        (weights, sums)
    }
}

/// Record weights `d_i · gain(slots[i])`, with each chunk's [`Moments`]; negatives are counted
/// only when `negatives` says there can be some.
fn expand_by<T: Copy + Sync>(
    design: &[f64],
    slots: &[T],
    negatives: bool,
    gain: impl Fn(T) -> f64 + Sync,
) -> (Vec<f64>, Vec<Moments>) {
    par_fill(
        design.len(),
        RECORD_CHUNK,
        || (),
        |(), c, mut out| {
            let range = c * RECORD_CHUNK..c * RECORD_CHUNK + out.len();
            let written = out.extend(design[range.clone()].iter().zip(&slots[range]).map(|(&d, &s)| d * gain(s)));
            let (min, max) = extremes(written);
            let (total, squares) = sum_and_squares(written);
            let negative = if negatives { written.iter().filter(|&&w| w < 0.0).count() } else { 0 };
            (out.finish(), Moments { total, squares, min, max, negative })
        },
    )
}

/// One chunk's figures of [`WeightSums`].
struct Moments {
    total: f64,
    squares: f64,
    min: f64,
    max: f64,
    negative: usize,
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

/// Independent running extremes and sums in [`extremes`] and [`sum_and_squares`], which the
/// compiler keeps in vector registers.
const LANES: usize = 8;

/// The smallest and largest of `ws` (±∞ when empty), bit for bit as folding `f64::min` and
/// `f64::max` over them in order gives them; NaNs are skipped either way.
///
/// The extremes are taken in independent lanes, then combined. A nonzero extreme is one bit
/// pattern whatever the order; only a zero extreme's sign can depend on it (either zero may be
/// returned for `min(-0, +0)`), so then the ordered fold is redone.
fn extremes(ws: &[f64]) -> (f64, f64) {
    let fold = |ws: &[f64], start: (f64, f64)| ws.iter().fold(start, |(lo, hi), &w| (lo.min(w), hi.max(w)));
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let groups = ws.chunks_exact(LANES);
    let rest = groups.remainder();
    for group in groups {
        for ((lo, hi), &w) in lo.iter_mut().zip(&mut hi).zip(group) {
            // `f64::min` and `f64::max` but for the zeros' signs (false for NaN: skipped),
            // which take one instruction each
            if w < *lo {
                *lo = w;
            }
            if w > *hi {
                *hi = w;
            }
        }
    }
    let lanes = (lo.into_iter().fold(f64::INFINITY, f64::min), hi.into_iter().fold(f64::NEG_INFINITY, f64::max));
    let (min, max) = fold(rest, lanes);
    if min == 0.0 || max == 0.0 {
        return fold(ws, (f64::INFINITY, f64::NEG_INFINITY));
    }
    (min, max)
}

/// The sum and the sum of squares of `ws`, each over [`LANES`] interleaved partial sums.
fn sum_and_squares(ws: &[f64]) -> (f64, f64) {
    let mut total = [0.0; LANES];
    let mut squares = [0.0; LANES];
    let groups = ws.chunks_exact(LANES);
    let rest = groups.remainder();
    for group in groups {
        for ((total, squares), &w) in total.iter_mut().zip(&mut squares).zip(group) {
            *total += w;
            *squares += w * w;
        }
    }
    let total = total.iter().sum::<f64>() + rest.iter().sum::<f64>();
    let squares = squares.iter().sum::<f64>() + rest.iter().map(|w| w * w).sum::<f64>();
    (total, squares)
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
            assert_eq!(dense.record_rows(), other.record_rows());
        }
        assert_eq!(dense.len(), 30);
    }

    #[test]
    fn extremes_are_the_ordered_folds_and_sums_are_sums() {
        let ordered =
            |ws: &[f64]| ws.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &w| (l.min(w), h.max(w)));
        let bits = |(a, b): (f64, f64)| (a.to_bits(), b.to_bits());
        let mut ws: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1013) as f64 / 3.0 - 100.0).collect();
        for case in [&ws[..0], &ws[..5], &ws[..]] {
            assert_eq!(bits(extremes(case)), bits(ordered(case)));
            let (total, squares) = sum_and_squares(case);
            assert!((total - case.iter().sum::<f64>()).abs() <= 1e-9);
            assert!((squares - case.iter().map(|w| w * w).sum::<f64>()).abs() <= 1e-6);
        }
        // the smallest weight is a zero of either sign (whose order decides), and a NaN
        for w in &mut ws {
            *w = w.abs();
        }
        (ws[3], ws[500], ws[17]) = (-0.0, 0.0, f64::NAN);
        assert_eq!(bits(extremes(&ws)), bits(ordered(&ws)));
        assert_eq!(bits(extremes(&[f64::NAN; 9])), bits(ordered(&[f64::NAN; 9])));
    }

    #[test]
    fn expanded_sums_match_the_weights() {
        let membership: Vec<u32> = (0..100_000u32).flat_map(|i| [i % 3, (i * 7) % 5]).collect();
        let design: Vec<f64> = (0..100_000).map(|i| (i % 4) as f64 * 0.75).collect();
        let cells = Cells::aggregate(&design, &membership, &[3, 5]);
        let g: Vec<f64> = (0..cells.len()).map(|c| c as f64 / 4.0 - 1.0).collect();
        let (w, sums) = cells.expand(&design, &g);
        let rows = cells.record_rows();
        for (i, &w) in w.iter().enumerate() {
            let c = (0..cells.len()).find(|&c| cells.row(c) == &rows[2 * i..2 * i + 2]).unwrap();
            assert_eq!(w, design[i] * g[c]);
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(close(sums.total, w.iter().sum()));
        assert!(close(sums.squares, w.iter().map(|w| w * w).sum()));
        assert_eq!(sums.negative, w.iter().filter(|&&w| w < 0.0).count());
        assert_eq!(
            (sums.min, sums.max),
            w.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &w| (l.min(w), h.max(w)))
        );
        for (c, &total) in sums.cells.iter().enumerate() {
            let by_records: f64 = (0..w.len()).filter(|&i| &rows[2 * i..2 * i + 2] == cells.row(c)).map(|i| w[i]).sum();
            assert!(close(total, by_records));
        }
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
        assert_eq!(chunked.record_rows(), keyed.record_rows());
        for (a, b) in chunked.design().iter().zip(keyed.design()) {
            assert!((a - b).abs() <= 1e-12 * b, "{a} vs {b}");
        }
    }
}
