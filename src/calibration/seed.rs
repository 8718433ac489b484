//! Re-weighting seed microdata from a [`Problem`]: builds each zone's calibration
//! constraints, calibrates (zones in parallel, results in zone order), optionally
//! integerizes, and summarizes every zone for the report.

use std::borrow::Cow;

use indexmap::IndexMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::cells::{Cells, WeightSums};
use super::{solve, Calibration, Constraints, NumericTotal};
use crate::error::{Error, Result};
use crate::frame::{Code, Codes};
use crate::inputs::{stream_seed, FitOptions, Integerize, MarginTable, Problem, Seed, Total, Zone};
use crate::integerize::{margin_errors, margin_preserving, round_margins, trs};
use crate::iteration::{Convergence, Observer};

/// The calibrated weights of one zone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ZoneFit {
    /// The zone's name (`None` without zones).
    pub zone: Option<String>,
    /// Seed record positions, in seed order (`None`: every record of the seed).
    pub records: Option<Vec<usize>>,
    /// Final weight of each record.
    pub weights: Vec<f64>,
    /// Integer counts, when the spec asks for integerization.
    pub counts: Option<Vec<u64>>,
    /// What the report says about this zone.
    pub report: ZoneReport,
}

/// The report of one zone.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ZoneReport {
    /// The zone's name (`null` without zones).
    pub zone: Option<String>,
    /// Seed records used.
    pub records: usize,
    /// Iterations, convergence and timing.
    #[serde(flatten)]
    pub convergence: Convergence,
    /// Per margin, per cell: target, achieved total and deviation.
    pub margins: Vec<MarginCells>,
    /// Per numeric total (`[[total]]`): target, achieved total and deviation (absent from
    /// the JSON when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub totals: Vec<TotalFit>,
    /// Summary of the weights and of g = w/d.
    pub weights: WeightSummary,
    /// Integerization, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integerization: Option<IntegerizationReport>,
}

/// One margin's cells after calibration.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MarginCells {
    /// The margin's file.
    pub file: String,
    /// `null` for a hard margin, else its importance (entropy).
    pub importance: Option<f64>,
    /// Largest absolute deviation over the margin's cells.
    pub max_abs_deviation: f64,
    /// Every cell.
    pub cells: Vec<CellFit>,
}

/// A margin cell: its categories, target, achieved weighted total and deviation.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CellFit {
    /// Attribute → category.
    pub cell: IndexMap<String, String>,
    /// Target count.
    pub target: f64,
    /// Weighted total achieved.
    pub achieved: f64,
    /// `achieved − target`.
    pub deviation: f64,
    /// For a cell of a soft margin (entropy): the relaxation factor z, so the cell was fitted to
    /// z × target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relaxation: Option<f64>,
}

/// A numeric total after calibration.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TotalFit {
    /// The seed's numeric column.
    pub column: String,
    /// Attribute → category of the records counted (empty: every record).
    pub within: IndexMap<String, String>,
    /// The total to reach.
    pub target: f64,
    /// Weighted total achieved, `Σᵢ wᵢ xᵢ`.
    pub achieved: f64,
    /// `achieved − target`.
    pub deviation: f64,
}

impl TotalFit {
    /// The column and the category, as in messages and summaries: `income (sex=female)`.
    pub fn label(&self) -> String {
        TotalFit::label_of(&self.column, &self.within)
    }

    fn label_of(column: &str, within: &IndexMap<String, String>) -> String {
        if within.is_empty() {
            return column.to_string();
        }
        let within: Vec<String> = within.iter().map(|(a, c)| format!("{a}={c}")).collect();
        format!("{column} ({})", within.join(", "))
    }
}

/// The category of a numeric total, attribute → category.
fn within(problem: &Problem, total: &Total) -> IndexMap<String, String> {
    total
        .within
        .iter()
        .map(|&(a, c)| {
            let attribute = problem.domain.attribute(a);
            (attribute.name().to_string(), attribute.categories()[c as usize].clone())
        })
        .collect()
}

/// Weights and g-weights (w/d) at a glance.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct WeightSummary {
    /// Smallest weight.
    pub min: f64,
    /// Largest weight.
    pub max: f64,
    /// Mean weight.
    pub mean: f64,
    /// Sum of weights.
    pub total: f64,
    /// Smallest g = w/d over records with d > 0.
    pub g_min: f64,
    /// Largest g = w/d over records with d > 0.
    pub g_max: f64,
    /// Number of negative weights (linear calibration can produce them).
    pub negative: usize,
    /// Kish's design effect due to weighting, n Σw² / (Σw)².
    pub kish_deff: f64,
    /// Kish's effective sample size, (Σw)² / Σw².
    pub effective_sample_size: f64,
}

/// What integerization did to the margins.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct IntegerizationReport {
    /// `trs` or `margins`.
    pub method: Integerize,
    /// Sum of the integer counts.
    pub total: u64,
    /// Whether every margin cell's integer total equals its (rounded) target.
    pub exact: bool,
    /// Per margin: the largest absolute error of integer totals against rounded targets.
    pub max_abs_margin_error: Vec<u64>,
}

/// Calibrates the seed's weights to every zone's margins with `method`, stopping as
/// `options` say and integerizing the weights when they ask (their method is not consulted:
/// [`fitting::fit`](crate::fitting::fit) dispatches on it and calls this with its calibration).
///
/// Zones run in parallel; each zone's integerization draws from its own random stream,
/// derived from the options' random seed and the zone's name, so a zone's result does not
/// depend on which other zones are fitted or on the thread count. `observers` see the
/// iterations of a problem without zones.
pub fn fit_microdata(
    problem: &Problem,
    method: Calibration,
    options: &FitOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<Vec<ZoneFit>> {
    let seed = problem.seed.as_ref().ok_or_else(|| Error::Inconsistent("seed re-weighting needs a [seed]".into()))?;
    if problem.zones.len() == 1 {
        return Ok(vec![fit_zone(problem, seed, &problem.zones[0], method, options, observers)?]);
    }
    problem.zones.par_iter().map(|zone| fit_zone(problem, seed, zone, method, options, &mut [])).collect()
}

fn fit_zone(
    problem: &Problem,
    seed: &Seed,
    zone: &Zone,
    method: Calibration,
    options: &FitOptions,
    observers: &mut [&mut dyn Observer],
) -> Result<ZoneFit> {
    let records = zone.records.as_deref();
    let design: Cow<[f64]> = match records {
        Some(records) => Cow::Owned(records.iter().map(|&i| seed.weights[i]).collect()),
        None => Cow::Borrowed(&seed.weights),
    };
    if u32::try_from(design.len()).is_err() {
        return Err(Error::TooLarge(format!("{} records: calibration handles fewer than 2³² records", design.len())));
    }
    let sizes: Vec<usize> = zone.margins.iter().map(|m| m.targets.len()).collect();
    let position = |i: usize| records.map_or(i, |r| r[i]);
    let value = |i: usize, q: usize| problem.totals[q].value(seed, position(i));
    let mut cells = group(problem, seed, zone, records, &design);
    if !problem.totals.is_empty() {
        cells = cells.with_values(&design, problem.totals.len(), value);
    }
    // the distinct cells' values, as the constraints are on cells
    let totals = problem
        .totals
        .iter()
        .enumerate()
        .map(|(q, t)| {
            let values = (0..cells.len()).map(|c| cells.values(c)[q] * cells.scales()[q]).collect();
            NumericTotal::new(TotalFit::label_of(&seed.value_columns[t.column], &within(problem, t)), values, t.total)
        })
        .collect::<Result<Vec<_>>>()?;
    // Constraints on the distinct cells; the solver works on cells anyway.
    let constraints = Constraints::new(
        cells.codes().to_vec(),
        sizes.clone(),
        zone.margins.iter().map(|m| m.targets.clone()).collect(),
        zone.margins.iter().map(|m| m.importance).collect(),
    )?
    .with_labels(
        zone.margins.iter().map(|m| m.file.clone()).collect(),
        zone.margins.iter().map(|m| (0..m.targets.len()).map(|c| label(problem, m, c)).collect()).collect(),
    )?
    .with_totals(totals)?;
    let solved = solve(&cells, &constraints, method, options.stopping(), observers).map_err(|e| zone.name_in(e))?;
    let (weights, sums) = cells.expand(&design, &solved.g);
    let achieved = cells.margin_sums(&sums.cells, &solved.layout.offsets, solved.layout.cells);
    let margins = margin_cells(problem, zone, &achieved, &solved.layout.offsets, solved.relaxation.as_deref());
    let counts = options
        .integerize()
        .map(|how| integerize(how, &weights, &cells.record_rows(), &sizes, problem, zone, options.random_seed()))
        .transpose()
        .map_err(|e| zone.name_in(e))?;
    let integerization = counts.as_ref().map(|(how, counts, errors)| IntegerizationReport {
        method: *how,
        total: counts.iter().sum(),
        exact: errors.iter().all(|&e| e == 0),
        max_abs_margin_error: errors.clone(),
    });
    let totals = problem
        .totals
        .iter()
        .enumerate()
        .map(|(q, t)| {
            let achieved: f64 = weights.iter().enumerate().map(|(i, w)| w * value(i, q)).sum();
            TotalFit {
                column: seed.value_columns[t.column].clone(),
                within: within(problem, t),
                target: t.total,
                achieved,
                deviation: achieved - t.total,
            }
        })
        .collect();
    let report = ZoneReport {
        zone: zone.name.clone(),
        records: weights.len(),
        convergence: solved.convergence,
        margins,
        totals,
        weights: summary(&sums, &cells, &solved.g, weights.len()),
        integerization,
    };
    Ok(ZoneFit { zone: zone.name.clone(), records: zone.records.clone(), weights, counts: counts.map(|c| c.1), report })
}

impl ZoneFit {
    /// The seed position of the zone's `k`-th record.
    pub fn record(&self, k: usize) -> usize {
        self.records.as_ref().map_or(k, |r| r[k])
    }
}

/// Records per parallel chunk of the key pass; fixed, so results do not depend on the thread
/// count.
const RECORD_CHUNK: usize = 1 << 15;

/// Groups the zone's records (seed positions `records`, all when `None`; design weights
/// `design`) into distinct cells.
///
/// Two records are in the same cell of every margin exactly when they have the same codes on
/// the attributes the margins use, so records are keyed by those codes (mixed radix) in one
/// parallel pass, and a cell's membership row is computed once, from its first record. When
/// the key would not fit in 64 bits, the records' membership rows are grouped instead.
fn group(problem: &Problem, seed: &Seed, zone: &Zone, records: Option<&[usize]>, design: &[f64]) -> Cells {
    let position = |i: usize| records.map_or(i, |r| r[i]);
    let mut used: Vec<usize> = zone.margins.iter().flat_map(|m| m.attributes.iter().copied()).collect();
    used.sort_unstable();
    used.dedup();
    let used_sizes = problem.domain.sizes(&used);
    let margin_sizes: Vec<Vec<usize>> = zone.margins.iter().map(|m| problem.domain.sizes(&m.attributes)).collect();
    let row = |i: usize, out: &mut Vec<u32>| {
        let p = position(i);
        for (m, s) in zone.margins.iter().zip(&margin_sizes) {
            out.push(m.attributes.iter().zip(s).fold(0usize, |acc, (&a, &n)| acc * n + seed.code(p, a) as usize) as u32);
        }
    };
    let product = used_sizes.iter().try_fold(1u64, |acc, &s| acc.checked_mul(s as u64));
    match product {
        Some(product) => {
            let keyer = Keyer::new(seed.attributes.len(), &used, &used_sizes);
            let m = zone.margins.len();
            match seed.frame.codes() {
                Codes::U8(codes) => keyed(&keyer, codes, records, design, product, m, row),
                Codes::U16(codes) => keyed(&keyer, codes, records, design, product, m, row),
                Codes::U32(codes) => keyed(&keyer, codes, records, design, product, m, row),
            }
        }
        None => {
            let m = zone.margins.len();
            let mut membership = vec![0u32; design.len() * m];
            membership.par_chunks_mut(RECORD_CHUNK * m).enumerate().for_each(|(c, out)| {
                let mut row_codes = Vec::with_capacity(m);
                for (j, slot) in out.chunks_exact_mut(m).enumerate() {
                    row_codes.clear();
                    row(c * RECORD_CHUNK + j, &mut row_codes);
                    slot.copy_from_slice(&row_codes);
                }
            });
            let flat_sizes: Vec<usize> = zone.margins.iter().map(|m| m.targets.len()).collect();
            Cells::aggregate(design, &membership, &flat_sizes)
        }
    }
}

/// [`Cells::from_keys`] over the keys `keyer` gives the records of a seed with codes `codes`
/// (seed positions `records`, all when `None`).
fn keyed<C: Code>(
    keyer: &Keyer,
    codes: &[C],
    records: Option<&[usize]>,
    design: &[f64],
    product: u64,
    margins: usize,
    row: impl Fn(usize, &mut Vec<u32>) + Sync,
) -> Cells {
    let w = keyer.width();
    let from_keys = |key: &(dyn Fn(usize) -> u64 + Sync)| Cells::from_keys(design, product, margins, key, &row);
    match records {
        Some(r) => from_keys(&|i| keyer.key(&codes[r[i] * w..(r[i] + 1) * w])),
        None => match w {
            1 => keyed_rows::<C, 1>(keyer, codes, design, product, margins, &row),
            2 => keyed_rows::<C, 2>(keyer, codes, design, product, margins, &row),
            3 => keyed_rows::<C, 3>(keyer, codes, design, product, margins, &row),
            4 => keyed_rows::<C, 4>(keyer, codes, design, product, margins, &row),
            5 => keyed_rows::<C, 5>(keyer, codes, design, product, margins, &row),
            6 => keyed_rows::<C, 6>(keyer, codes, design, product, margins, &row),
            7 => keyed_rows::<C, 7>(keyer, codes, design, product, margins, &row),
            8 => keyed_rows::<C, 8>(keyer, codes, design, product, margins, &row),
            _ => from_keys(&|i| keyer.key(&codes[i * w..(i + 1) * w])),
        },
    }
}

/// [`keyed`] for every record of a seed of `W` attributes: a loop of fixed length per record,
/// inlined into the grouping pass.
fn keyed_rows<C: Code, const W: usize>(
    keyer: &Keyer,
    codes: &[C],
    design: &[f64],
    product: u64,
    margins: usize,
    row: &(impl Fn(usize, &mut Vec<u32>) + Sync),
) -> Cells {
    let mut strides = [0; W];
    strides.copy_from_slice(&keyer.strides);
    let key = |i: usize| {
        let codes = &codes[i * W..(i + 1) * W];
        codes.iter().zip(&strides).map(|(&c, &s)| u64::from(c.into()) * s).sum()
    };
    Cells::from_keys(design, product, margins, key, row)
}

/// The key of a seed record: the mixed-radix number of its codes on the attributes the margins
/// use (last attribute fastest), as Σ code · stride over all the seed's attributes, with stride
/// 0 for the others: independent products rather than a chain, the codes read in place.
struct Keyer {
    /// Stride of each of the seed's attributes.
    strides: Vec<u64>,
}

impl Keyer {
    /// The keyer of a seed of `width` attributes over attributes `used` (ascending) of sizes
    /// `used_sizes`, whose product fits in a `u64`.
    fn new(width: usize, used: &[usize], used_sizes: &[usize]) -> Keyer {
        let mut strides = vec![0; width];
        let mut stride = 1u64;
        for (&a, &n) in used.iter().zip(used_sizes).rev() {
            strides[a] = stride;
            stride *= n as u64;
        }
        Keyer { strides }
    }

    /// Number of the seed's attributes.
    fn width(&self) -> usize {
        self.strides.len()
    }

    /// The key of one record's codes.
    #[inline]
    fn key<C: Code>(&self, codes: &[C]) -> u64 {
        codes.iter().zip(&self.strides).map(|(&c, &s)| u64::from(c.into()) * s).sum()
    }
}

/// Every margin's cells with target, achieved total (`achieved`, flat, margin `m` from
/// `offsets[m]`) and deviation.
fn margin_cells(
    problem: &Problem,
    zone: &Zone,
    achieved: &[f64],
    offsets: &[usize],
    relaxation: Option<&[Option<Vec<f64>>]>,
) -> Vec<MarginCells> {
    zone.margins
        .iter()
        .enumerate()
        .map(|(m, margin)| {
            let relaxation = relaxation.and_then(|r| r[m].as_ref());
            let cells: Vec<CellFit> = margin
                .targets
                .iter()
                .zip(&achieved[offsets[m]..])
                .enumerate()
                .map(|(c, (&target, &achieved))| CellFit {
                    cell: cell_map(problem, margin, c),
                    target,
                    achieved,
                    deviation: achieved - target,
                    relaxation: relaxation.map(|z| z[c]),
                })
                .collect();
            MarginCells {
                file: margin.file.clone(),
                importance: margin.importance,
                max_abs_deviation: cells.iter().map(|c| c.deviation.abs()).fold(0.0, f64::max),
                cells,
            }
        })
        .collect()
}

fn label(problem: &Problem, margin: &MarginTable, cell: usize) -> String {
    problem.domain.label(&margin.attributes, &MarginTable::codes(&problem.domain.sizes(&margin.attributes), cell))
}

fn cell_map(problem: &Problem, margin: &MarginTable, cell: usize) -> IndexMap<String, String> {
    let codes = MarginTable::codes(&problem.domain.sizes(&margin.attributes), cell);
    margin
        .attributes
        .iter()
        .zip(codes)
        .map(|(&a, c)| {
            let attribute = problem.domain.attribute(a);
            (attribute.name().to_string(), attribute.categories()[c as usize].clone())
        })
        .collect()
}

/// [`summarize`] from the sums gathered while expanding the weights; g = w/d is constant
/// within a cell, so its extremes are taken over the cells with a positive design total.
fn summary(sums: &WeightSums, cells: &Cells, g: &[f64], records: usize) -> WeightSummary {
    let n = records as f64;
    let positive = g.iter().zip(cells.design()).filter(|(_, &d)| d > 0.0).map(|(g, _)| *g);
    let (g_min, g_max) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), g| (lo.min(g), hi.max(g)));
    WeightSummary {
        min: sums.min,
        max: sums.max,
        mean: sums.total / n,
        total: sums.total,
        g_min,
        g_max,
        negative: sums.negative,
        kish_deff: n * sums.squares / (sums.total * sums.total),
        effective_sample_size: sums.total * sums.total / sums.squares,
    }
}

/// Summary statistics of the weights against the design weights.
pub fn summarize(weights: &[f64], design: &[f64]) -> WeightSummary {
    let n = weights.len() as f64;
    let total: f64 = weights.iter().sum();
    let squares: f64 = weights.iter().map(|w| w * w).sum();
    let g = weights.iter().zip(design).filter(|(_, &d)| d > 0.0).map(|(w, d)| w / d);
    let (g_min, g_max) = g.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), g| (lo.min(g), hi.max(g)));
    WeightSummary {
        min: weights.iter().copied().fold(f64::INFINITY, f64::min),
        max: weights.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean: total / n,
        total,
        g_min,
        g_max,
        negative: weights.iter().filter(|&&w| w < 0.0).count(),
        kish_deff: n * squares / (total * total),
        effective_sample_size: total * total / squares,
    }
}

type Integerized = (Integerize, Vec<u64>, Vec<u64>);

fn integerize(
    how: Integerize,
    weights: &[f64],
    membership: &[u32],
    sizes: &[usize],
    problem: &Problem,
    zone: &Zone,
    random_seed: u64,
) -> Result<Integerized> {
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(random_seed, zone.name.as_deref().unwrap_or("")));
    let attributes: Vec<&[usize]> = zone.margins.iter().map(|m| m.attributes.as_slice()).collect();
    let real: Vec<&[f64]> = zone.margins.iter().map(|m| m.targets.as_slice()).collect();
    let targets = round_margins(&problem.domain.all_sizes(), &attributes, &real)?;
    let counts = match how {
        Integerize::Trs => trs(weights, &mut rng)?,
        Integerize::Margins => margin_preserving(weights, membership, sizes, &targets, &mut rng)?.counts,
    };
    let errors = margin_errors(&counts, membership, sizes, &targets).iter().map(|e| e.max_abs_error).collect();
    Ok((how, counts, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kish_effective_sample_size_of_equal_weights_is_n() {
        let s = summarize(&[2.0; 10], &[1.0; 10]);
        assert!((s.effective_sample_size - 10.0).abs() < 1e-12);
        assert!((s.kish_deff - 1.0).abs() < 1e-12);
        assert_eq!((s.g_min, s.g_max), (2.0, 2.0));
    }
}
