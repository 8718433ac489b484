//! How a margin's cells map onto the cells of a dense row-major table, and a deterministic
//! parallel traversal of the table in contiguous blocks.
//!
//! A margin's index at a table cell is `Σ_d code_d · stride_d`, with stride zero for the
//! attributes the margin does not contain. The table is walked in blocks: the longest run of
//! trailing dimensions over which every margin involved in a pass advances by a constant step
//! (zero, or the stride of the last dimension), so the inner loop is a plain strided loop.

use std::ops::Range;

use rayon::prelude::*;

/// A margin's strides over the table's dimensions.
#[derive(Debug, Clone)]
pub(crate) struct MarginLayout {
    /// Per table dimension: the margin-index stride, zero where the margin lacks the dimension.
    pub strides: Vec<usize>,
    /// Number of margin cells.
    pub len: usize,
}

impl MarginLayout {
    /// The layout of a margin over `margin_dims` (table dimension positions, in the margin's
    /// own row-major order) on a table of `sizes`.
    pub fn new(sizes: &[usize], margin_dims: &[usize]) -> Self {
        let mut strides = vec![0; sizes.len()];
        let mut stride = 1;
        for &d in margin_dims.iter().rev() {
            strides[d] = stride;
            stride *= sizes[d];
        }
        MarginLayout { strides, len: stride }
    }

    /// The first dimension of the longest suffix over which the margin index is affine in
    /// the position within the suffix block.
    fn affine_suffix(&self, sizes: &[usize]) -> usize {
        let n = sizes.len();
        let mut k = n;
        if self.strides[n - 1] == 0 {
            while k > 0 && self.strides[k - 1] == 0 {
                k -= 1;
            }
        } else {
            k -= 1;
            while k > 0 && self.strides[k - 1] != 0 && self.strides[k - 1] == self.strides[k] * sizes[k] {
                k -= 1;
            }
        }
        k
    }

    /// The index step within a block (zero or the last dimension's stride).
    fn step(&self) -> usize {
        *self.strides.last().unwrap_or(&0)
    }
}

/// A traversal plan for any number of margins: blocks of `block` contiguous cells over which
/// every margin's index advances by its constant step.
pub(crate) struct Walk<'a> {
    sizes: &'a [usize],
    outer: usize,
    /// Cells per block.
    pub block: usize,
    blocks: usize,
    layouts: Vec<&'a MarginLayout>,
    /// Index step within a block, per margin.
    pub steps: Vec<usize>,
    /// Index step from one block to the next along the last outer dimension, per margin.
    pub run_steps: Vec<usize>,
}

impl<'a> Walk<'a> {
    /// Plans a walk visiting `layouts` together.
    pub fn new(sizes: &'a [usize], layouts: &[&'a MarginLayout]) -> Self {
        let outer = layouts.iter().map(|l| l.affine_suffix(sizes)).max().unwrap_or(0);
        let block: usize = sizes[outer..].iter().product();
        let blocks: usize = sizes[..outer].iter().product();
        let steps = layouts.iter().map(|l| l.step()).collect();
        let run_steps = layouts.iter().map(|l| if outer == 0 { 0 } else { l.strides[outer - 1] }).collect();
        Walk { sizes, outer, block, blocks, layouts: layouts.to_vec(), steps, run_steps }
    }

    /// Splits the blocks into chunks whose number depends only on the table's shape and the
    /// size of the largest per-chunk buffer, never on the thread count.
    pub fn chunks(&self, buffer_len: usize) -> Vec<Range<usize>> {
        let cells = self.blocks * self.block;
        let by_cells = cells / (1 << 15);
        let by_buffer = cells / (4 * buffer_len.max(1));
        let n = by_cells.min(by_buffer).clamp(1, 64).min(self.blocks);
        (0..n).map(|i| (i * self.blocks / n)..((i + 1) * self.blocks / n)).collect()
    }

    /// Calls `f(first_cell, bases)` for every block in `blocks`, in order, with every margin's
    /// index at the block's first cell.
    pub fn for_blocks(&self, blocks: Range<usize>, mut f: impl FnMut(usize, &[usize])) {
        let mut at = vec![0usize; self.layouts.len()];
        self.for_runs(blocks, |first, bases, count| {
            at.copy_from_slice(bases);
            for k in 0..count {
                f(first + k * self.block, &at);
                for (base, step) in at.iter_mut().zip(&self.run_steps) {
                    *base += step;
                }
            }
        });
    }

    /// Calls `f(first_cell, bases, count)` for every run of `count` consecutive blocks in
    /// `blocks` along the last outer dimension, in order, with every margin's index at the
    /// run's first cell; from one block of a run to the next, margin `k`'s index advances by
    /// `run_steps[k]`. Bases are decoded once per run, and a kernel over a run of small blocks
    /// pays no per-block call.
    pub fn for_runs(&self, blocks: Range<usize>, mut f: impl FnMut(usize, &[usize], usize)) {
        let outer = &self.sizes[..self.outer];
        let Some(&row) = outer.last() else {
            if !blocks.is_empty() {
                f(0, &vec![0; self.layouts.len()], 1);
            }
            return;
        };
        if blocks.is_empty() {
            return;
        }
        // the outer codes of the first block, decoded once, then stepped like an odometer
        let mut codes = vec![0usize; outer.len()];
        let mut rest = blocks.start;
        for (code, &size) in codes.iter_mut().zip(outer).rev() {
            *code = rest % size;
            rest /= size;
        }
        let mut bases = vec![0usize; self.layouts.len()];
        let mut b = blocks.start;
        while b < blocks.end {
            let end = blocks.end.min(b - b % row + row);
            for (base, layout) in bases.iter_mut().zip(&self.layouts) {
                *base = codes.iter().zip(&layout.strides).map(|(c, s)| c * s).sum();
            }
            f(b * self.block, &bases, end - b);
            b = end;
            // the next run starts a row: the last outer code back to zero, a carry into the rest
            if let Some((last, rows)) = codes.split_last_mut() {
                *last = 0;
                for (code, &size) in rows.iter_mut().zip(outer).rev() {
                    *code += 1;
                    if *code < size {
                        break;
                    }
                    *code = 0;
                }
            }
        }
    }

    /// Splits `values` into the disjoint slices of `chunks`.
    fn split<'v>(&self, chunks: &[Range<usize>], mut values: &'v mut [f64]) -> Vec<(Range<usize>, &'v mut [f64])> {
        let mut slices = Vec::with_capacity(chunks.len());
        for range in chunks {
            let (head, tail) = values.split_at_mut(range.len() * self.block);
            slices.push((range.clone(), head));
            values = tail;
        }
        slices
    }
}

/// Sums of `values` onto margin `layout`, computed in deterministic chunks.
pub(crate) fn margin_sums(sizes: &[usize], values: &[f64], layout: &MarginLayout) -> Vec<f64> {
    all_margin_sums(sizes, values, &[layout]).pop().unwrap_or_default()
}

/// Sums of `values` onto every margin of `layouts` in one pass over the table (the margins
/// a block does not vary in share the block's sum), in deterministic chunks.
pub(crate) fn all_margin_sums(sizes: &[usize], values: &[f64], layouts: &[&MarginLayout]) -> Vec<Vec<f64>> {
    let walk = Walk::new(sizes, layouts);
    let chunks = walk.chunks(layouts.iter().map(|l| l.len).sum());
    let partials: Vec<Vec<Vec<f64>>> = map_chunks(chunks, |range| {
        let mut acc: Vec<Vec<f64>> = layouts.iter().map(|l| vec![0.0; l.len]).collect();
        walk.for_blocks(range, |start, bases| {
            let cells = &values[start..start + walk.block];
            let mut block_sum = None;
            for ((acc, &base), &step) in acc.iter_mut().zip(bases).zip(&walk.steps) {
                if step == 0 {
                    acc[base] += *block_sum.get_or_insert_with(|| sum_lanes(cells));
                } else {
                    for (j, v) in cells.iter().enumerate() {
                        acc[base + j * step] += v;
                    }
                }
            }
        });
        acc
    });
    // chunk by chunk, in chunk order, as `reduce` adds one margin's partials
    let mut out: Vec<Vec<f64>> = layouts.iter().map(|l| vec![0.0; l.len]).collect();
    for partial in partials {
        for (o, p) in out.iter_mut().zip(partial) {
            o.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
    }
    out
}

/// Multiplies every cell by its factor in margin `scale` and returns the resulting sums onto
/// margin `next`, in one pass over the table.
pub(crate) fn scale_and_sum(
    sizes: &[usize],
    values: &mut [f64],
    scale: &MarginLayout,
    factors: &[f64],
    next: &MarginLayout,
) -> Vec<f64> {
    let walk = Walk::new(sizes, &[scale, next]);
    let chunks = walk.chunks(next.len);
    let (fs, ns) = (walk.steps[0], walk.steps[1]);
    let (rf, rn) = (walk.run_steps[0], walk.run_steps[1]);
    let block = walk.block;
    let partials: Vec<Vec<f64>> = map_chunks(walk.split(&chunks, values), |(range, slice)| {
        let offset = range.start * block;
        let mut acc = vec![0.0; next.len];
        walk.for_runs(range, |start, bases, count| {
            // a slice, whose address stays in a register while the cells are stored
            let acc = &mut acc[..];
            let run = &mut slice[start - offset..start - offset + count * block];
            let at = (bases[0], bases[1]);
            match (fs, ns) {
                (0, 0) => for_each_block(run, block, at, (rf, rn), |cells, fb, nb| {
                    let f = factors[fb];
                    cells.iter_mut().for_each(|v| *v *= f);
                    acc[nb] += sum_lanes(cells);
                }),
                (0, _) => for_each_block(run, block, at, (rf, rn), |cells, fb, nb| {
                    let f = factors[fb];
                    for (j, v) in cells.iter_mut().enumerate() {
                        *v *= f;
                        acc[nb + j * ns] += *v;
                    }
                }),
                (_, 0) => for_each_block(run, block, at, (rf, rn), |cells, fb, nb| {
                    for (j, v) in cells.iter_mut().enumerate() {
                        *v *= factors[fb + j * fs];
                    }
                    acc[nb] += sum_lanes(cells);
                }),
                _ => for_each_block(run, block, at, (rf, rn), |cells, fb, nb| {
                    for (j, v) in cells.iter_mut().enumerate() {
                        *v *= factors[fb + j * fs];
                        acc[nb + j * ns] += *v;
                    }
                }),
            }
        });
        acc
    });
    reduce(partials, next.len)
}

/// Calls `kernel(cells, f, n)` for each block of a run, with the two margins' indices `f`
/// and `n` at the block's first cell, starting at `bases` and advancing by `steps`. Blocks of
/// up to eight cells (the table's last dimension, say) get a loop of fixed length, which the
/// compiler unrolls into the kernel.
#[inline(always)]
fn for_each_block(
    run: &mut [f64],
    block: usize,
    bases: (usize, usize),
    steps: (usize, usize),
    kernel: impl FnMut(&mut [f64], usize, usize),
) {
    // each arm passes its length as a constant, which the inlined loop is specialized for
    match block {
        1 => blocks(run, 1, bases, steps, kernel),
        2 => blocks(run, 2, bases, steps, kernel),
        3 => blocks(run, 3, bases, steps, kernel),
        4 => blocks(run, 4, bases, steps, kernel),
        5 => blocks(run, 5, bases, steps, kernel),
        6 => blocks(run, 6, bases, steps, kernel),
        7 => blocks(run, 7, bases, steps, kernel),
        8 => blocks(run, 8, bases, steps, kernel),
        _ => blocks(run, block, bases, steps, kernel),
    }
}

/// [`for_each_block`] for blocks of `block` cells.
#[inline(always)]
fn blocks(
    run: &mut [f64],
    block: usize,
    bases: (usize, usize),
    steps: (usize, usize),
    mut kernel: impl FnMut(&mut [f64], usize, usize),
) {
    let (mut f, mut n) = bases;
    for cells in run.chunks_exact_mut(block) {
        kernel(cells, f, n);
        f += steps.0;
        n += steps.1;
    }
}

/// The sum of `cells` in four interleaved lanes (cell `j` in lane `j % 4`, lanes added
/// pairwise at the end): four independent additions per step rather than one chain.
fn sum_lanes(cells: &[f64]) -> f64 {
    // four named accumulators: an array of lanes is kept on the stack, and the remainder's
    // scalar stores into it stall the vector load that follows
    let (mut a, mut b, mut c, mut d) = (0.0, 0.0, 0.0, 0.0);
    let mut quads = cells.chunks_exact(4);
    for q in &mut quads {
        a += q[0];
        b += q[1];
        c += q[2];
        d += q[3];
    }
    match *quads.remainder() {
        [x] => a += x,
        [x, y] => {
            a += x;
            b += y;
        }
        [x, y, z] => {
            a += x;
            b += y;
            c += z;
        }
        _ => {}
    }
    (a + b) + (c + d)
}

/// Multiplies every cell by its factor in margin `scale`.
pub(crate) fn scale(sizes: &[usize], values: &mut [f64], scale: &MarginLayout, factors: &[f64]) {
    let walk = Walk::new(sizes, &[scale]);
    let chunks = walk.chunks(1);
    let (step, block) = (walk.steps[0], walk.block);
    map_chunks(walk.split(&chunks, values), |(range, slice)| {
        let offset = range.start * block;
        walk.for_blocks(range, |start, bases| {
            let cells = &mut slice[start - offset..start - offset + block];
            if step == 0 {
                cells.iter_mut().for_each(|v| *v *= factors[bases[0]]);
            } else {
                for (j, v) in cells.iter_mut().enumerate() {
                    *v *= factors[bases[0] + j * step];
                }
            }
        });
    });
}

/// Writes the product of `factors` (each a margin's layout and values) into every cell of
/// `out`, in one pass: `out[c] = Π_k values_k[index_k(c)]`.
pub(crate) fn fill_product(sizes: &[usize], out: &mut [f64], factors: &[(&MarginLayout, &[f64])]) {
    let layouts: Vec<&MarginLayout> = factors.iter().map(|f| f.0).collect();
    let walk = Walk::new(sizes, &layouts);
    let chunks = walk.chunks(1);
    let block = walk.block;
    let (constant, varying): (Vec<usize>, Vec<usize>) = (0..factors.len()).partition(|&k| walk.steps[k] == 0);
    map_chunks(walk.split(&chunks, out), |(range, slice)| {
        let offset = range.start * block;
        walk.for_blocks(range, |start, bases| {
            let cells = &mut slice[start - offset..start - offset + block];
            cells.fill(constant.iter().map(|&k| factors[k].1[bases[k]]).product());
            for &k in &varying {
                let (values, step) = (&factors[k].1[bases[k]..], walk.steps[k]);
                for (j, v) in cells.iter_mut().enumerate() {
                    *v *= values[j * step];
                }
            }
        });
    });
}

/// Maps `f` over `chunks` on both cores, or on the calling thread when there is one chunk
/// (small tables: no hand-off to the thread pool).
fn map_chunks<I: Send, T: Send>(chunks: Vec<I>, f: impl Fn(I) -> T + Sync + Send) -> Vec<T> {
    if chunks.len() == 1 {
        chunks.into_iter().map(f).collect()
    } else {
        chunks.into_par_iter().map(f).collect()
    }
}

fn reduce(partials: Vec<Vec<f64>>, len: usize) -> Vec<f64> {
    let mut out = vec![0.0; len];
    for p in partials {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force margin sums by decoding every cell.
    fn brute(sizes: &[usize], values: &[f64], dims: &[usize]) -> Vec<f64> {
        let layout = MarginLayout::new(sizes, dims);
        let mut out = vec![0.0; layout.len];
        for (i, v) in values.iter().enumerate() {
            let mut rest = i;
            let mut idx = 0;
            for d in (0..sizes.len()).rev() {
                idx += (rest % sizes[d]) * layout.strides[d];
                rest /= sizes[d];
            }
            out[idx] += v;
        }
        out
    }

    #[test]
    fn sums_match_brute_force_for_every_margin_shape() {
        let sizes = [3, 4, 2, 5];
        let values: Vec<f64> = (0..120).map(|i| (i * 7 % 11) as f64 + 0.5).collect();
        let dims_list: [&[usize]; 8] = [&[0], &[3], &[1, 3], &[3, 1], &[2, 3], &[0, 2], &[0, 1, 2, 3], &[3, 2, 1, 0]];
        for dims in dims_list {
            let layout = MarginLayout::new(&sizes, dims);
            assert_eq!(margin_sums(&sizes, &values, &layout), brute(&sizes, &values, dims), "dims {dims:?}");
        }
    }

    #[test]
    fn all_margin_sums_match_one_margin_at_a_time() {
        let sizes = [3, 4, 2, 5];
        let values: Vec<f64> = (0..120).map(|i| (i * 7 % 11) as f64 + 0.5).collect();
        let dims_list: [&[usize]; 5] = [&[0], &[3], &[1, 3], &[0, 2], &[3, 2, 1, 0]];
        let layouts: Vec<MarginLayout> = dims_list.iter().map(|d| MarginLayout::new(&sizes, d)).collect();
        let all = all_margin_sums(&sizes, &values, &layouts.iter().collect::<Vec<_>>());
        for (sums, dims) in all.iter().zip(dims_list) {
            assert_eq!(sums, &brute(&sizes, &values, dims), "dims {dims:?}");
        }
    }

    #[test]
    fn scale_and_sum_scales_then_sums_the_next_margin() {
        let sizes = [3, 4, 5];
        let mut values: Vec<f64> = (0..60).map(|i| 1.0 + i as f64).collect();
        let scale = MarginLayout::new(&sizes, &[2, 0]);
        let next = MarginLayout::new(&sizes, &[1]);
        let factors: Vec<f64> = (0..scale.len).map(|i| 0.5 + i as f64 / 10.0).collect();
        let mut expected = values.clone();
        for (i, v) in expected.iter_mut().enumerate() {
            let (a, c) = (i / 20, i % 5);
            *v *= factors[c * 3 + a];
        }
        let sums = scale_and_sum(&sizes, &mut values, &scale, &factors, &next);
        assert_eq!(values, expected);
        assert_eq!(sums, brute(&sizes, &expected, &[1]));
    }

    #[test]
    fn fill_product_multiplies_every_factor_into_every_cell() {
        let sizes = [3, 4, 5];
        let a = MarginLayout::new(&sizes, &[0, 1]);
        let b = MarginLayout::new(&sizes, &[2, 1]);
        let fa: Vec<f64> = (0..a.len).map(|i| 1.0 + i as f64).collect();
        let fb: Vec<f64> = (0..b.len).map(|i| 0.5 + i as f64 / 4.0).collect();
        let mut out = vec![0.0; 60];
        fill_product(&sizes, &mut out, &[(&a, &fa), (&b, &fb)]);
        for (i, v) in out.iter().enumerate() {
            let (x, y, z) = (i / 20, i / 5 % 4, i % 5);
            assert_eq!(*v, 1.0 * fa[x * 4 + y] * fb[z * 4 + y], "cell {i}");
        }
        let mut scaled = out.clone();
        scale(&sizes, &mut scaled, &a, &fa);
        for (i, (s, o)) in scaled.iter().zip(&out).enumerate() {
            assert_eq!(*s, o * fa[i / 5]);
        }
    }
}
