//! Comparing persona pools with a truth population: margin fit, association, impossible persons.
//!
//! [`compare`] measures how far each pool (a persona pool written by `populace generate`, or any
//! microdata or count table) is from a truth (microdata, possibly weighted, or a count table) on
//! the categorical attributes they share. `populace compare` is a thin command over it.
//!
//! # Attributes compared
//!
//! With [`CompareOptions::attributes`] exactly those, in that order; each must be a column of
//! the truth and of every pool. Otherwise the truth's columns, in file order, that are also
//! columns of every pool, leaving out:
//!
//! * by name (case-insensitive), without a note: `person_id`, `zone`, `card`, `id`, `count`,
//!   `weight`, and names ending in `_id` or `_weight` (ids, zones, persona cards, counts,
//!   weights); the count or weight column a table was read with is never an attribute;
//! * with a note: a truth column missing from some pool; a column with more than
//!   [`MAX_CATEGORIES`] (50) distinct values in the truth; and a column that looks like an id in
//!   the truth: microdata of at least [`ID_MIN_ROWS`] (10) rows in which every row has a
//!   different value.
//!
//! Every attribute's categories are the union over the truth and the pools, in order of first
//! appearance in the truth, then in the pools in order. A category with weight in the truth
//! but none in a pool, or the other way round, is named in a warning ([`Comparison::warnings`]).
//!
//! # Missing values
//!
//! A value is missing when it is one of its table's missing values (the empty field, `NA`,
//! `N/A`, `NaN`, `NULL`, `.` unless [`ReadOptions::missing_values`] says otherwise) or missing
//! from a frame. [`CompareOptions::missing`] says what it becomes, for the truth and the pools
//! alike: [`MissingPolicy::Category`] (the default) makes it the category `missing` of its
//! attribute, compared like any other; [`MissingPolicy::Drop`] leaves out every row with a
//! missing value in a compared attribute, and totals, scaling and shares are then those of the
//! rows kept. Either way each table's missing values per attribute, and the rows left out,
//! are reported (`missing` of the truth and of each pool).
//!
//! # What is measured, for every pool
//!
//! * **Margins.** Every 1-way, 2-way and 3-way margin of the compared attributes (subsets in
//!   attribute order) and the full joint, each compared with [`metrics::fit_quality`]: SRMSE,
//!   TAE and the Hellinger distance. The pool is first **scaled to the truth's total**
//!   (every cell × N_truth / N_pool), so that SRMSE and TAE compare shapes and a 10,000-person
//!   pool can be compared with a 2,000-person truth; the unscaled total and the factor are
//!   reported. The number of cells K of a margin is the full cross product of its attributes'
//!   categories, empty cells included: tables are held sparsely, and SRMSE, which depends on K,
//!   is computed over the non-empty cells and converted exactly (only empty cells are left out,
//!   and they contribute no error). Per margin order the mean and the maximum SRMSE are
//!   reported.
//! * **Association.** Cramér's V ([`cramers_v`]) of every attribute pair in the truth and in the
//!   pool, and the change V_pool − V_truth; rows and columns of the pair's table with a zero
//!   total are dropped before χ², and V is 0 when fewer than two rows or columns are left.
//!   Summaries: the mean and the maximum |ΔV| over the pairs (absent with a single attribute).
//! * **Impossible persons.** The share of the pool's (unscaled) weight in full-joint cells whose
//!   truth count is zero — persons of a kind the truth has none of, including any with a
//!   category the truth lacks.
//!
//! # JSON (`populace compare --json`)
//!
//! A [`Comparison`] serialised with serde:
//!
//! ```text
//! {
//!   "truth": {"file", "kind": "microdata"|"counts", "rows", "total",
//!             "missing": {"input", "policy", "records_dropped", "by_column": {..}}},
//!   "attributes": [{"name", "categories": [..]}],
//!   "excluded": [{"column", "reason"}],
//!   "notes": ["..."],
//!   "warnings": ["..."],       // categories one side has and the other lacks
//!   "pools": [{
//!     "name", "file", "kind", "rows",
//!     "total",                 // unscaled pool total (of the rows kept)
//!     "scale",                 // truth total / pool total
//!     "missing": {..},         // as the truth's
//!     "orders": [{"order": 1|2|3, "margins", "mean_srmse", "max_srmse"}],
//!     "joint": {"attributes", "cells", "srmse", "tae", "hellinger"},
//!     "margins": [{"attributes", "cells", "srmse", "tae", "hellinger"}],
//!     "association": {
//!       "pairs": [{"attributes": [a, b], "truth_v", "pool_v", "change"}],
//!       "mean_abs_change", "max_abs_change"      // null without pairs
//!     },
//!     "impossible": {"persons", "share", "cells"}
//!   }]
//! }
//! ```
//!
//! `orders` lists only orders that have margins (an order above the number of attributes has
//! none); `margins` holds every margin of every order, 1-way first; `cells` is K.
//!
//! # Example
//!
//! ```
//! use populace::comparison::{compare, CompareOptions, Table};
//!
//! let truth = Table::from_rows(
//!     "truth",
//!     &["sex", "age"],
//!     &[vec!["f", "old"], vec!["f", "young"], vec!["m", "old"], vec!["m", "young"]],
//! )?;
//! let copy = truth.clone();
//! // The same margins, but age now follows sex exactly.
//! let linked = Table::from_rows(
//!     "linked",
//!     &["sex", "age"],
//!     &[vec!["f", "old"], vec!["f", "old"], vec!["m", "young"], vec!["m", "young"]],
//! )?;
//! let c = compare(&truth, &[copy, linked], &CompareOptions::default())?;
//!
//! assert_eq!(c.pools[0].joint.srmse, 0.0);
//! assert_eq!(c.pools[1].orders[0].mean_srmse, 0.0); // 1-way margins agree
//! assert!(c.pools[1].joint.srmse > 0.0); // the joint does not
//! assert_eq!(c.pools[1].association.pairs[0].truth_v, 0.0);
//! assert_eq!(c.pools[1].association.pairs[0].pool_v, 1.0);
//! assert_eq!(c.pools[1].impossible.share, 0.0); // every cell exists in the truth
//! println!("{}", c.table());
//! # Ok::<(), populace::Error>(())
//! ```

mod plot;
mod table;

pub use table::{ReadOptions, Table, TableKind};

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;

use crate::error::{Error, Location, Result};
use crate::frame::{Code, Codes};
use crate::metrics::{self, cramers_v};
use crate::missing::{MissingCounts, MissingPolicy, CATEGORY};
use table::quoted;

/// A column with more distinct values than this in the truth is not compared unless named.
pub const MAX_CATEGORIES: usize = 50;

/// Microdata truth with at least this many rows, all with different values in a column, marks
/// that column as an id.
pub const ID_MIN_ROWS: usize = 10;

/// The highest margin order compared (3-way), besides the full joint.
pub const MAX_ORDER: usize = 3;

/// Largest two-way table (non-empty rows × non-empty columns) for which Cramér's V is computed.
const MAX_PAIR_CELLS: usize = 1 << 24;

/// What to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompareOptions {
    /// The attributes to compare, in order; `None` selects them as the
    /// [module documentation](self#attributes-compared) describes.
    pub attributes: Option<Vec<String>>,
    /// What a missing value becomes: the category `missing` ([`MissingPolicy::Category`], the
    /// default), or its row is left out ([`MissingPolicy::Drop`]); see
    /// [Missing values](self#missing-values).
    pub missing: MissingPolicy,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { attributes: None, missing: MissingPolicy::Category }
    }
}

impl CompareOptions {
    /// With missing values made the category `missing` or their rows left out;
    /// [`MissingPolicy::Error`] is refused by [`compare`].
    pub fn missing(mut self, policy: MissingPolicy) -> CompareOptions {
        self.missing = policy;
        self
    }

    /// Comparing exactly `attributes`, in this order.
    pub fn attributes<S: Into<String>>(mut self, attributes: impl IntoIterator<Item = S>) -> CompareOptions {
        self.attributes = Some(attributes.into_iter().map(Into::into).collect());
        self
    }
}

/// Everything [`compare`] finds; serialises to the JSON of the
/// [module documentation](self#json-populace-compare---json).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The truth's file, kind, rows and total.
    pub truth: TableSummary,
    /// The compared attributes with their categories (union over truth and pools).
    pub attributes: Vec<AttributeSummary>,
    /// Truth columns that were not compared, and why.
    pub excluded: Vec<Excluded>,
    /// Things the user should know: columns excluded for a reason other than their name.
    pub notes: Vec<String>,
    /// Every category with weight in the truth but none in a pool, or in a pool but not in the
    /// truth, one warning per pool and attribute.
    pub warnings: Vec<String>,
    /// One result per pool, in the order given.
    pub pools: Vec<PoolComparison>,
}

/// A table's identity and size.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TableSummary {
    /// The file as given.
    pub file: String,
    /// Microdata or count table.
    pub kind: TableKind,
    /// Number of data rows.
    pub rows: usize,
    /// Total weight (persons, weighted persons or the sum of counts) of the rows compared.
    pub total: f64,
    /// Its missing values in the compared attributes, and the rows left out for them.
    pub missing: MissingCounts,
}

/// A compared attribute.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AttributeSummary {
    /// The column name.
    pub name: String,
    /// Its categories: the truth's in order of first appearance, then those only pools have.
    pub categories: Vec<String>,
}

/// A truth column left out of the comparison.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Excluded {
    /// The column name.
    pub column: String,
    /// Why it was left out.
    pub reason: String,
}

/// One pool against the truth.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PoolComparison {
    /// Short name: the file's stem, or the whole file name when two pools share a stem.
    pub name: String,
    /// The file as given.
    pub file: String,
    /// Microdata or count table.
    pub kind: TableKind,
    /// Number of data rows.
    pub rows: usize,
    /// The pool's own total (of the rows compared), before scaling.
    pub total: f64,
    /// The factor every pool cell is multiplied by: truth total / pool total.
    pub scale: f64,
    /// Its missing values in the compared attributes, and the rows left out for them.
    pub missing: MissingCounts,
    /// Mean and maximum SRMSE per margin order (1, 2, 3), for the orders that have margins.
    pub orders: Vec<OrderSummary>,
    /// The full joint of every compared attribute.
    pub joint: MarginComparison,
    /// Every 1-, 2- and 3-way margin, by order, then in attribute order.
    pub margins: Vec<MarginComparison>,
    /// Cramér's V per attribute pair.
    pub association: Association,
    /// Persons in cells the truth has none of.
    pub impossible: Impossible,
}

impl PoolComparison {
    /// Mean SRMSE over the margins of `order`, if there are any.
    pub fn mean_srmse(&self, order: usize) -> Option<f64> {
        self.orders.iter().find(|o| o.order == order).map(|o| o.mean_srmse)
    }
}

/// SRMSE over the margins of one order.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct OrderSummary {
    /// The number of attributes per margin.
    pub order: usize,
    /// How many margins of this order there are.
    pub margins: usize,
    /// Mean SRMSE over them.
    pub mean_srmse: f64,
    /// Largest SRMSE among them.
    pub max_srmse: f64,
}

/// One margin (or the joint) of the scaled pool against the truth.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MarginComparison {
    /// The margin's attributes, in attribute order.
    pub attributes: Vec<String>,
    /// K: the product of the attributes' category counts, empty cells included.
    pub cells: u64,
    /// Standardised RMSE over the K cells ([`metrics::srmse`]).
    pub srmse: f64,
    /// Total absolute error, in truth units ([`metrics::tae`]).
    pub tae: f64,
    /// Hellinger distance between the proportions ([`metrics::hellinger`]).
    pub hellinger: f64,
}

/// Cramér's V of every attribute pair, truth against pool.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Association {
    /// One entry per pair, in attribute order.
    pub pairs: Vec<PairAssociation>,
    /// Mean |ΔV| over the pairs; `None` without pairs.
    pub mean_abs_change: Option<f64>,
    /// Largest |ΔV| over the pairs; `None` without pairs.
    pub max_abs_change: Option<f64>,
}

/// Cramér's V of one attribute pair.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PairAssociation {
    /// The two attributes.
    pub attributes: [String; 2],
    /// V in the truth.
    pub truth_v: f64,
    /// V in the pool.
    pub pool_v: f64,
    /// ΔV = pool_v − truth_v.
    pub change: f64,
}

/// Pool persons in full-joint cells whose truth count is zero.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Impossible {
    /// Their weight in the pool, unscaled.
    pub persons: f64,
    /// Their share of the pool's total, in \[0, 1\].
    pub share: f64,
    /// How many distinct such cells the pool has.
    pub cells: usize,
}

/// A sparse table over cells keyed by their category codes, in order of first appearance.
type Cells = IndexMap<Box<[u32]>, f64>;

/// Compares every pool with the truth; see the [module documentation](self).
///
/// # Errors
///
/// [`Error::Input`] naming the file (and line 1 and the column, for a header problem) when a
/// named attribute is missing from the truth or a pool, no attribute is left to compare, or a
/// table's total is zero or not finite; [`Error::Inconsistent`] for no pools or an empty or
/// repeated name in [`CompareOptions::attributes`]; [`Error::TooLarge`] when an attribute
/// pair has more than 2^24 non-empty cells for Cramér's V.
pub fn compare(truth: &Table, pools: &[Table], options: &CompareOptions) -> Result<Comparison> {
    if pools.is_empty() {
        return Err(Error::Inconsistent("no pool to compare with the truth".into()));
    }
    let policy = options.missing;
    if !matches!(policy, MissingPolicy::Drop | MissingPolicy::Category) {
        return Err(Error::Inconsistent(format!(
            "compare makes a missing value a category or leaves its row out (missing = drop or category), not \"{policy}\""
        )));
    }
    for t in std::iter::once(truth).chain(pools) {
        check_total(t)?;
    }
    let mut selection = select(truth, pools, options)?;
    let table_notes = std::iter::once(truth).chain(pools).flat_map(|t| t.notes.iter().cloned());
    selection.notes.splice(0..0, table_notes);
    let names = &selection.attributes;
    let union = categories(truth, pools, names, policy);
    let (categories, codes) = (union.categories, union.codes);
    let sizes: Vec<u64> = categories.iter().map(|c| c.len() as u64).collect();

    let (truth_joint, truth_missing) = joint(truth, names, &codes[0], &union.missing, policy)?;
    let truth_total: f64 = truth_joint.values().sum();
    let subsets = subsets(names.len());
    let truth_margins: Vec<Cells> = subsets.iter().map(|s| marginalise(&truth_joint, s)).collect();
    // Indices into `subsets` of the attribute pairs.
    let pairs: Vec<usize> = (0..subsets.len()).filter(|&i| subsets[i].len() == 2).collect();
    let truth_v: Vec<f64> =
        pairs.iter().map(|&i| pair_v(&truth_margins[i], &subsets[i], names)).collect::<Result<_>>()?;
    let pool_names = short_names(pools);

    let mut results = Vec::with_capacity(pools.len());
    let mut warnings = Vec::new();
    for (k, pool) in pools.iter().enumerate() {
        let (pool_joint, pool_missing) = joint(pool, names, &codes[k + 1], &union.missing, policy)?;
        let pool_total: f64 = pool_joint.values().sum();
        let scale = truth_total / pool_total;
        let margin_of = |attributes: &[usize], t: &Cells, p: &Cells| -> Result<MarginComparison> {
            let cells = attributes.iter().map(|&a| sizes[a]).fold(1u64, |m, s| m.saturating_mul(s));
            let k_full: f64 = attributes.iter().map(|&a| sizes[a] as f64).product();
            compare_cells(t, p, scale, k_full)
                .map(|(srmse, tae, hellinger)| MarginComparison {
                    attributes: attributes.iter().map(|&a| names[a].clone()).collect(),
                    cells,
                    srmse,
                    tae,
                    hellinger,
                })
                .map_err(|e| Error::Inconsistent(format!("{}: {e}", pool.file)))
        };
        let pool_margins: Vec<Cells> = subsets.iter().map(|s| marginalise(&pool_joint, s)).collect();
        // subsets start with the one-way margins, in attribute order
        for (a, name) in names.iter().enumerate() {
            let present = |m: &Cells| -> Vec<u32> {
                let mut codes: Vec<u32> = m.iter().filter(|(_, &w)| w > 0.0).map(|(key, _)| key[0]).collect();
                codes.sort_unstable();
                codes
            };
            let (in_truth, in_pool) = (present(&truth_margins[a]), present(&pool_margins[a]));
            let listed = |codes: Vec<&u32>| {
                codes.iter().map(|&&c| format!("\"{}\"", categories[a][c as usize])).collect::<Vec<_>>().join(", ")
            };
            let only_truth = listed(in_truth.iter().filter(|c| in_pool.binary_search(c).is_err()).collect());
            let only_pool = listed(in_pool.iter().filter(|c| in_truth.binary_search(c).is_err()).collect());
            let mut parts = Vec::new();
            if !only_truth.is_empty() {
                parts.push(format!("in the truth but not in the pool: {only_truth}"));
            }
            if !only_pool.is_empty() {
                parts.push(format!("in the pool but not in the truth: {only_pool}"));
            }
            if !parts.is_empty() {
                warnings.push(format!("{}, attribute \"{name}\": categories {}", pool.file, parts.join("; ")));
            }
        }
        let margins = subsets
            .iter()
            .zip(&truth_margins)
            .zip(&pool_margins)
            .map(|((s, t), p)| margin_of(s, t, p))
            .collect::<Result<Vec<_>>>()?;
        let all: Vec<usize> = (0..names.len()).collect();
        let joint_result = margin_of(&all, &truth_joint, &pool_joint)?;
        let orders = (1..=MAX_ORDER)
            .filter_map(|order| {
                let srmse: Vec<f64> = margins.iter().filter(|m| m.attributes.len() == order).map(|m| m.srmse).collect();
                (!srmse.is_empty()).then(|| OrderSummary {
                    order,
                    margins: srmse.len(),
                    mean_srmse: srmse.iter().sum::<f64>() / srmse.len() as f64,
                    max_srmse: srmse.iter().copied().fold(0.0, f64::max),
                })
            })
            .collect();

        let mut association = Vec::with_capacity(pairs.len());
        for (&i, &truth_v) in pairs.iter().zip(&truth_v) {
            let pool_v = pair_v(&pool_margins[i], &subsets[i], names)?;
            association.push(PairAssociation {
                attributes: [names[subsets[i][0]].clone(), names[subsets[i][1]].clone()],
                truth_v,
                pool_v,
                change: pool_v - truth_v,
            });
        }
        let changes: Vec<f64> = association.iter().map(|p| p.change.abs()).collect();
        let association = Association {
            mean_abs_change: (!changes.is_empty()).then(|| changes.iter().sum::<f64>() / changes.len() as f64),
            max_abs_change: changes.iter().copied().reduce(f64::max),
            pairs: association,
        };

        let (mut persons, mut cells) = (0.0, 0);
        for (key, &weight) in &pool_joint {
            if weight > 0.0 && truth_joint.get(key).is_none_or(|&t| t == 0.0) {
                persons += weight;
                cells += 1;
            }
        }
        results.push(PoolComparison {
            name: pool_names[k].clone(),
            file: pool.file.clone(),
            kind: pool.kind,
            rows: pool.rows(),
            total: pool_total,
            scale,
            missing: pool_missing,
            orders,
            joint: joint_result,
            margins,
            association,
            impossible: Impossible { persons, share: persons / pool_total, cells },
        });
    }

    Ok(Comparison {
        truth: TableSummary {
            file: truth.file.clone(),
            kind: truth.kind,
            rows: truth.rows(),
            total: truth_total,
            missing: truth_missing,
        },
        attributes: names
            .iter()
            .zip(categories)
            .map(|(name, categories)| AttributeSummary { name: name.clone(), categories })
            .collect(),
        excluded: selection.excluded,
        notes: selection.notes,
        warnings,
        pools: results,
    })
}

impl Comparison {
    /// A plain-text summary: a header naming the truth and the attributes, then an aligned
    /// table with one row per pool: its total, mean SRMSE of the 1-, 2- and 3-way margins,
    /// SRMSE and Hellinger distance of the joint, mean |ΔV| and the impossible share.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let names: Vec<&str> = self.attributes.iter().map(|a| a.name.as_str()).collect();
        let _ = writeln!(
            s,
            "truth {} ({} {}, total {}); {} attribute{}: {}",
            self.truth.file,
            self.truth.rows,
            if self.truth.kind == TableKind::Counts { "cells" } else { "rows" },
            number(self.truth.total),
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        );
        let header = [
            "pool",
            "total",
            "SRMSE 1-way",
            "SRMSE 2-way",
            "SRMSE 3-way",
            "SRMSE joint",
            "Hellinger joint",
            "mean |ΔV|",
            "impossible",
        ];
        let dash = || "-".to_string();
        let rows: Vec<Vec<String>> = self
            .pools
            .iter()
            .map(|p| {
                let mut row = vec![p.name.clone(), number(p.total)];
                row.extend((1..=MAX_ORDER).map(|o| p.mean_srmse(o).map_or_else(dash, |v| format!("{v:.4}"))));
                row.push(format!("{:.4}", p.joint.srmse));
                row.push(format!("{:.4}", p.joint.hellinger));
                row.push(p.association.mean_abs_change.map_or_else(dash, |v| format!("{v:.4}")));
                row.push(format!("{:.2}%", 100.0 * p.impossible.share));
                row
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0))
            .collect();
        let line = |cells: &[&str]| -> String {
            let mut out = String::new();
            for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                let pad = width - cell.chars().count();
                if i == 0 {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str("  ");
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.trim_end().to_string()
        };
        let _ = writeln!(s, "{}", line(&header));
        for row in &rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            let _ = writeln!(s, "{}", line(&cells));
        }
        s.pop();
        s
    }

    /// Writes an SVG chart, atomically: SRMSE by margin order per pool (grouped bars), and one
    /// heat map of |ΔV| per attribute pair for each pool, on a common colour scale.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] if the file cannot be written.
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        plot::write_svg(self, path)
    }
}

/// A count for people: an integer when it is one to round-off, else three decimals.
fn number(x: f64) -> String {
    if (x - x.round()).abs() <= 1e-9 * x.abs().max(1.0) {
        format!("{}", x.round())
    } else {
        format!("{x:.3}")
    }
}

/// A positive, finite total, or an error naming the file.
fn check_total(t: &Table) -> Result<()> {
    let total = t.total();
    if total > 0.0 && total.is_finite() {
        return Ok(());
    }
    let what = if t.kind == TableKind::Counts { "counts" } else { "weights" };
    let why = if total.is_finite() { "zero: there is nothing to compare" } else { "too large to add up" };
    Err(Error::input(Location::file(&t.file), format!("the {what} sum to {why}")))
}

/// The compared attributes, and what was left out.
struct Selection {
    attributes: Vec<String>,
    excluded: Vec<Excluded>,
    notes: Vec<String>,
}

/// True for column names never compared unless named: ids, zones, cards, counts and weights.
fn excluded_by_name(name: &str) -> bool {
    let n = name.to_lowercase();
    matches!(n.as_str(), "person_id" | "zone" | "card" | "id" | "count" | "weight")
        || n.ends_with("_id")
        || n.ends_with("_weight")
}

fn select(truth: &Table, pools: &[Table], options: &CompareOptions) -> Result<Selection> {
    if let Some(attributes) = &options.attributes {
        for (i, a) in attributes.iter().enumerate() {
            if a.is_empty() {
                return Err(Error::Inconsistent("the list of attributes has an empty name".into()));
            }
            if attributes[..i].contains(a) {
                return Err(Error::Inconsistent(format!("attribute \"{a}\" is listed twice")));
            }
        }
        if attributes.is_empty() {
            return Err(Error::Inconsistent("the list of attributes is empty".into()));
        }
        for t in std::iter::once(truth).chain(pools) {
            if let Some(a) = attributes.iter().find(|a| t.frame.column(a).is_none()) {
                return Err(Error::input(
                    Location::file(&t.file).at_line(1).at_column(a),
                    format!("missing attribute column \"{a}\"; the header has {}", quoted(&t.column_names())),
                ));
            }
        }
        return Ok(Selection { attributes: attributes.clone(), excluded: Vec::new(), notes: Vec::new() });
    }

    let mut selection = Selection { attributes: Vec::new(), excluded: Vec::new(), notes: Vec::new() };
    for column in truth.frame.columns() {
        let name = column.name();
        let categories = column.levels().len();
        let reason = if excluded_by_name(name) {
            Some((false, "an id, zone, card, count or weight column (by name)".to_string()))
        } else if let Some(pool) = pools.iter().find(|p| p.frame.column(name).is_none()) {
            Some((true, format!("not a column of pool {}", pool.file)))
        } else if categories > MAX_CATEGORIES {
            Some((
                true,
                format!("{categories} distinct values in the truth, more than {MAX_CATEGORIES} (name it to compare it anyway)"),
            ))
        } else if truth.kind == TableKind::Microdata && truth.rows() >= ID_MIN_ROWS && categories == truth.rows() {
            Some((true, "looks like an id: every row of the truth has a different value".to_string()))
        } else {
            None
        };
        match reason {
            Some((note, reason)) => {
                if note {
                    selection.notes.push(format!("column \"{name}\" is not compared: {reason}"));
                }
                selection.excluded.push(Excluded { column: name.to_string(), reason });
            }
            None => selection.attributes.push(name.to_string()),
        }
    }
    if selection.attributes.is_empty() {
        let mut message = "no attribute to compare: the truth and every pool share no categorical column".to_string();
        for e in &selection.excluded {
            let _ = write!(message, "; \"{}\": {}", e.column, e.reason);
        }
        return Err(Error::input(Location::file(&truth.file).at_line(1), message));
    }
    Ok(selection)
}

/// The compared attributes' categories over all tables.
struct Union {
    /// The union of categories per attribute.
    categories: Vec<Vec<String>>,
    /// Per table (truth first) and attribute, the map from the table's own category codes to
    /// the union's ([`MISSING`] for a missing value).
    codes: Vec<Vec<Vec<u32>>>,
    /// Per attribute, what a missing value becomes: the union's code of the category `missing`,
    /// or `None` when its row is left out.
    missing: Vec<Option<u32>>,
}

/// A table's missing value, in [`Union::codes`].
const MISSING: u32 = u32::MAX;

/// The union of the tables' categories for `names`, missing values left out of it, or made the
/// category `missing` under [`MissingPolicy::Category`] when some table has one.
fn categories(truth: &Table, pools: &[Table], names: &[String], policy: MissingPolicy) -> Union {
    let tables: Vec<&Table> = std::iter::once(truth).chain(pools).collect();
    let mut union = Union {
        categories: Vec::with_capacity(names.len()),
        codes: vec![Vec::with_capacity(names.len()); tables.len()],
        missing: Vec::with_capacity(names.len()),
    };
    for name in names {
        let mut categories: Vec<String> = Vec::new();
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut code = |c: &str| {
            *index.entry(c.to_string()).or_insert_with(|| {
                categories.push(c.to_string());
                (categories.len() - 1) as u32
            })
        };
        let mut any_missing = false;
        for (t, table) in tables.iter().enumerate() {
            let column = table.frame.column(name);
            let local = column.map_or(&[][..], |c| table.frame.levels(c));
            let map: Vec<u32> =
                local.iter().map(|c| if table.missing_values.is_missing(c) { MISSING } else { code(c) }).collect();
            any_missing |= map.contains(&MISSING)
                || column.is_some_and(|c| table.frame.column_codes(c).any(|code| code.is_none()));
            union.codes[t].push(map);
        }
        let missing = (any_missing && policy == MissingPolicy::Category).then(|| code(CATEGORY));
        union.categories.push(categories);
        union.missing.push(missing);
    }
    union
}

/// The table's sparse joint over `names`, in the union's codes (`codes[a]` maps the table's
/// codes of attribute `a`; `missing[a]` is what its missing values become), and the table's
/// missing values. An error when every row is left out.
fn joint(
    table: &Table,
    names: &[String],
    codes: &[Vec<u32>],
    missing: &[Option<u32>],
    policy: MissingPolicy,
) -> Result<(Cells, MissingCounts)> {
    // `select` made sure every table has the compared columns
    let columns: Vec<usize> = names.iter().filter_map(|n| table.frame.column(n)).collect();
    let width = table.frame.columns().len();
    let mut counts = MissingCounts::new(&table.file, policy);
    let mut by_attribute = vec![0; names.len()];
    let cells = match table.frame.codes() {
        Codes::U8(all) => joint_of(all, width, &columns, codes, missing, &table.weights, &mut by_attribute),
        Codes::U16(all) => joint_of(all, width, &columns, codes, missing, &table.weights, &mut by_attribute),
        Codes::U32(all) => joint_of(all, width, &columns, codes, missing, &table.weights, &mut by_attribute),
    };
    counts.records_dropped = cells.1;
    for (name, &n) in names.iter().zip(&by_attribute) {
        if n > 0 {
            counts.by_column.insert(name.clone(), n);
        }
    }
    if cells.0.values().sum::<f64>() <= 0.0 {
        return Err(Error::input(
            Location::file(&table.file),
            format!(
                "no weight is left to compare once the rows with missing values are left out ({} rows)",
                counts.records_dropped
            ),
        ));
    }
    Ok((cells.0, counts))
}

/// [`joint`] over a table's codes `all` (`width` per row) read in place, counting each
/// attribute's missing values in `by_attribute`: the cells and the number of rows left out.
fn joint_of<C: Code>(
    all: &[C],
    width: usize,
    columns: &[usize],
    codes: &[Vec<u32>],
    missing: &[Option<u32>],
    weights: &[f64],
    by_attribute: &mut [usize],
) -> (Cells, usize) {
    let mut cells = Cells::new();
    let mut dropped = 0;
    let mut key = vec![0u32; columns.len()];
    for (row, &weight) in weights.iter().enumerate() {
        let mut kept = true;
        for (a, ((k, &column), map)) in key.iter_mut().zip(columns).zip(codes).enumerate() {
            let code = all[row * width + column].level().map_or(MISSING, |l| map[l as usize]);
            *k = if code == MISSING {
                by_attribute[a] += 1;
                missing[a].unwrap_or_else(|| {
                    kept = false;
                    MISSING
                })
            } else {
                code
            };
        }
        if !kept {
            dropped += 1;
            continue;
        }
        match cells.get_mut(&key[..]) {
            Some(w) => *w += weight,
            None => {
                cells.insert(key.clone().into_boxed_slice(), weight);
            }
        }
    }
    (cells, dropped)
}

/// Every subset of 1..=MAX_ORDER of `n` attributes, by size, then lexicographically.
fn subsets(n: usize) -> Vec<Vec<usize>> {
    let mut all = Vec::new();
    for size in 1..=MAX_ORDER.min(n) {
        let mut current = (0..size).collect::<Vec<_>>();
        loop {
            all.push(current.clone());
            // Advance to the next combination in lexicographic order.
            let Some(i) = (0..size).rev().find(|&i| current[i] < n - size + i) else { break };
            current[i] += 1;
            for j in i + 1..size {
                current[j] = current[j - 1] + 1;
            }
        }
    }
    all
}

/// The margin of a joint over the attributes `subset`.
fn marginalise(joint: &Cells, subset: &[usize]) -> Cells {
    let mut cells = Cells::new();
    let mut key = vec![0u32; subset.len()];
    for (cell, &weight) in joint {
        for (k, &a) in key.iter_mut().zip(subset) {
            *k = cell[a];
        }
        match cells.get_mut(&key[..]) {
            Some(w) => *w += weight,
            None => {
                cells.insert(key.clone().into_boxed_slice(), weight);
            }
        }
    }
    cells
}

/// SRMSE, TAE and Hellinger of the pool (× `scale`) against the truth over the union of their
/// non-empty cells, with SRMSE converted to `cells` cells in all.
fn compare_cells(
    truth: &Cells,
    pool: &Cells,
    scale: f64,
    cells: f64,
) -> std::result::Result<(f64, f64, f64), metrics::MetricError> {
    let mut t = Vec::with_capacity(truth.len().max(pool.len()));
    let mut p = Vec::with_capacity(t.capacity());
    for (key, &v) in truth {
        t.push(v);
        p.push(pool.get(key).map_or(0.0, |w| w * scale));
    }
    for (key, &w) in pool {
        if !truth.contains_key(key) {
            t.push(0.0);
            p.push(w * scale);
        }
    }
    let q = metrics::fit_quality(&p, &t)?;
    // SRMSE = √(K Σd²) / N: over K cells instead of the K' non-empty ones, × √(K / K').
    Ok((q.srmse * (cells / t.len() as f64).sqrt(), q.tae, q.hellinger))
}

/// Cramér's V of a two-way margin over the attribute pair, on a dense table of its non-empty
/// categories.
fn pair_v(margin: &Cells, pair: &[usize], names: &[String]) -> Result<f64> {
    let mut rows: IndexMap<u32, usize> = IndexMap::new();
    let mut columns: IndexMap<u32, usize> = IndexMap::new();
    for key in margin.keys() {
        let r = rows.len();
        rows.entry(key[0]).or_insert(r);
        let c = columns.len();
        columns.entry(key[1]).or_insert(c);
    }
    let size = rows.len().saturating_mul(columns.len());
    if size > MAX_PAIR_CELLS {
        return Err(Error::TooLarge(format!(
            "attributes \"{}\" × \"{}\" have {} × {} non-empty categories, too many for Cramér's V (at most {} \
             cells); compare fewer or coarser attributes",
            names[pair[0]],
            names[pair[1]],
            rows.len(),
            columns.len(),
            MAX_PAIR_CELLS
        )));
    }
    let mut dense = vec![0.0; size];
    for (key, &w) in margin {
        dense[rows[&key[0]] * columns.len() + columns[&key[1]]] += w;
    }
    cramers_v(&dense, columns.len()).ok_or_else(|| {
        Error::Inconsistent(format!("invalid counts for \"{}\" × \"{}\"", names[pair[0]], names[pair[1]]))
    })
}

/// Pool names: file stems, or the whole file names when stems repeat or are empty.
fn short_names(pools: &[Table]) -> Vec<String> {
    let stems: Vec<String> = pools
        .iter()
        .map(|p| Path::new(&p.file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
        .collect();
    let unique = stems.iter().enumerate().all(|(i, s)| !s.is_empty() && !stems[..i].contains(s));
    if unique {
        stems
    } else {
        pools.iter().map(|p| p.file.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, columns: &[&str], rows: &[&str]) -> Table {
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.split(',').collect()).collect();
        Table::from_rows(name, columns, &rows).unwrap()
    }

    fn options(attributes: &[&str]) -> CompareOptions {
        CompareOptions::default().attributes(attributes.iter().copied())
    }

    #[test]
    fn subsets_are_by_size_then_lexicographic() {
        let s = subsets(4);
        assert_eq!(s.len(), 4 + 6 + 4);
        assert_eq!(s[..5], [vec![0], vec![1], vec![2], vec![3], vec![0, 1]]);
        assert_eq!(s[9], vec![2, 3]);
        assert_eq!(s[10..], [vec![0, 1, 2], vec![0, 1, 3], vec![0, 2, 3], vec![1, 2, 3]]);
        assert_eq!(subsets(2), [vec![0], vec![1], vec![0, 1]]);
    }

    #[test]
    fn srmse_counts_every_cell_of_the_cross_product() {
        // Truth cells over sex {f, m} × age {old, young, mid}: K = 6, two of them empty.
        let truth = table("t", &["sex", "age"], &["f,old", "f,old", "f,young", "m,young", "m,mid", "m,mid"]);
        let pool = table("p", &["sex", "age"], &["f,old", "f,young", "f,young", "m,young", "m,mid", "m,old"]);
        let c = compare(&truth, &[pool], &CompareOptions::default()).unwrap();
        // Dense, row-major sex × age with age in order of first appearance (old, young, mid).
        let t = [2.0, 1.0, 0.0, 0.0, 1.0, 2.0];
        let p = [1.0, 2.0, 0.0, 1.0, 1.0, 1.0];
        let joint = &c.pools[0].joint;
        assert_eq!(joint.cells, 6);
        assert!((joint.srmse - metrics::srmse(&p, &t).unwrap()).abs() < 1e-12);
        assert!((joint.tae - metrics::tae(&p, &t).unwrap()).abs() < 1e-12);
        assert!((joint.hellinger - metrics::hellinger(&p, &t).unwrap()).abs() < 1e-12);
        // The 1-way age margin: truth (2, 2, 2), pool (1, 3, 2).
        let age = &c.pools[0].margins[1];
        assert_eq!(age.attributes, ["age"]);
        assert!((age.srmse - metrics::srmse(&[1.0, 3.0, 2.0], &[2.0, 2.0, 2.0]).unwrap()).abs() < 1e-12);
        // (m, old) is a cell the truth has none of: one person of six.
        assert_eq!(c.pools[0].impossible.cells, 1);
        assert!((c.pools[0].impossible.share - 1.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn pools_are_scaled_to_the_truth_total() {
        let truth = table("t", &["sex"], &["f", "m"]);
        let double = table("d", &["sex"], &["f", "m", "f", "m"]);
        let c = compare(&truth, &[double], &CompareOptions::default()).unwrap();
        let p = &c.pools[0];
        assert_eq!((p.total, p.scale), (4.0, 0.5));
        assert_eq!((p.joint.srmse, p.joint.tae, p.joint.hellinger), (0.0, 0.0, 0.0));
    }

    #[test]
    fn impossible_share_on_a_hand_example() {
        // Truth has (f, old) and (m, young) only. The pool's five persons: (f, old) ×2,
        // (m, young), (f, young) — a cell the truth lacks — and (x, old), a category it lacks.
        let truth = table("t", &["sex", "age"], &["f,old", "m,young", "f,old"]);
        let pool = table("p", &["sex", "age"], &["f,old", "m,young", "f,young", "x,old", "f,old"]);
        let c = compare(&truth, &[pool], &CompareOptions::default()).unwrap();
        let i = &c.pools[0].impossible;
        assert_eq!((i.persons, i.cells), (2.0, 2));
        assert_eq!(i.share, 0.4);
        assert_eq!(c.attributes[0].categories, ["f", "m", "x"]);
        // K counts the pool-only category: 3 sexes × 2 ages.
        assert_eq!(c.pools[0].joint.cells, 6);
    }

    #[test]
    fn association_pairs_and_summaries() {
        let truth = table("t", &["a", "b", "c"], &["0,0,0", "0,0,1", "1,1,0", "1,1,1"]);
        let c = compare(&truth, std::slice::from_ref(&truth), &CompareOptions::default()).unwrap();
        let pairs = &c.pools[0].association.pairs;
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].attributes, ["a".to_string(), "b".to_string()]);
        assert_eq!((pairs[0].truth_v, pairs[1].truth_v), (1.0, 0.0));
        assert!(pairs.iter().all(|p| p.change == 0.0));
        assert_eq!(c.pools[0].association.mean_abs_change, Some(0.0));
        assert_eq!(c.pools[0].orders.len(), 3);

        let single = compare(&truth, std::slice::from_ref(&truth), &options(&["a"])).unwrap();
        assert!(single.pools[0].association.pairs.is_empty());
        assert_eq!(single.pools[0].association.mean_abs_change, None);
        assert!(single.table().contains(" - "), "{}", single.table());
    }

    #[test]
    fn automatic_selection_follows_the_documented_rule() {
        let mut rows = Vec::new();
        for i in 0..60 {
            rows.push(format!("{i},z{},c{i},h{i},1,{},{},v{i}", i % 2, ["f", "m"][i % 2], i % 3));
        }
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let columns = ["person_id", "zone", "card", "HH_ID", "Weight", "sex", "age", "many"];
        let truth = table("t", &columns, &rows);
        let pool = table("p", &["sex", "many", "zone"], &["f,v1,z0"]);
        let c = compare(&truth, &[pool], &CompareOptions::default()).unwrap();
        let names: Vec<&str> = c.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["sex"]);
        let excluded: Vec<&str> = c.excluded.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(excluded, ["person_id", "zone", "card", "HH_ID", "Weight", "age", "many"]);
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        assert!(c.notes[0].contains("\"age\"") && c.notes[0].contains("not a column of pool p"));
        assert!(c.notes[1].contains("\"many\"") && c.notes[1].contains("60 distinct values"));

        // Ten rows, all distinct: an id. Nine: not.
        let ids = table("t", &["code", "sex"], &["a,f", "b,m", "c,f", "d,m", "e,f", "f,m", "g,f", "h,m", "i,f", "j,m"]);
        let c = compare(&ids, std::slice::from_ref(&ids), &CompareOptions::default()).unwrap();
        assert_eq!(c.attributes.len(), 1);
        assert!(c.notes[0].contains("looks like an id"), "{:?}", c.notes);
        let nine = table("t", &["code", "sex"], &["a,f", "b,m", "c,f", "d,m", "e,f", "f,m", "g,f", "h,m", "i,f"]);
        let c = compare(&nine, std::slice::from_ref(&nine), &CompareOptions::default()).unwrap();
        assert_eq!(c.attributes.len(), 2);

        // Named attributes are taken as they are, even excluded-by-name ones.
        let c = compare(&ids, std::slice::from_ref(&ids), &options(&["sex", "code"])).unwrap();
        let names: Vec<&str> = c.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["sex", "code"]);
    }

    #[test]
    fn errors_are_clean() {
        let truth = table("t.csv", &["sex", "age"], &["f,old"]);
        let pool = table("p.csv", &["sex"], &["f"]);
        let e = compare(&truth, &[], &CompareOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Inconsistent(_)), "{e}");
        let e = compare(&truth, std::slice::from_ref(&pool), &options(&["sex", "age"])).unwrap_err().to_string();
        assert!(e.starts_with("p.csv, line 1, column \"age\": missing attribute column \"age\""), "{e}");
        let e = compare(&truth, std::slice::from_ref(&pool), &options(&["sex", "sex"])).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        let e = compare(&truth, std::slice::from_ref(&pool), &options(&[])).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let other = table("o.csv", &["colour"], &["red"]);
        let e = compare(&truth, &[other], &CompareOptions::default()).unwrap_err().to_string();
        assert!(e.starts_with("t.csv, line 1: no attribute to compare"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.csv");
        std::fs::write(&zero, "sex,count\nf,0\nm,0\n").unwrap();
        let zero = Table::read(&zero, &ReadOptions::default()).unwrap();
        let e = compare(&truth, &[zero], &CompareOptions::default()).unwrap_err().to_string();
        assert!(e.contains("zero.csv: the counts sum to zero"), "{e}");
    }

    #[test]
    fn pool_names_are_stems_unless_they_repeat() {
        let a = table("out/a.csv", &["x"], &["1"]);
        let b = table("out/b.csv", &["x"], &["1"]);
        let b2 = table("other/b.csv", &["x"], &["1"]);
        assert_eq!(short_names(&[a.clone(), b.clone()]), ["a", "b"]);
        assert_eq!(short_names(&[a, b, b2]), ["out/a.csv", "out/b.csv", "other/b.csv"]);
    }

    #[test]
    fn missing_values_are_a_category_or_left_out_and_lopsided_categories_are_named() {
        let truth = table("truth", &["sex", "edu"], &["f,NA", "m,hs", "f,", "m,college", "f,grad"]);
        let pool = table("pool", &["sex", "edu"], &["f,hs", "m,hs", "f,college", "m,college", "f,phd", "m,."]);
        let c = compare(&truth, std::slice::from_ref(&pool), &CompareOptions::default()).unwrap();
        assert_eq!(c.attributes[1].categories, ["hs", "college", "grad", "phd", "missing"]);
        assert_eq!((c.truth.total, c.truth.missing.by_column["edu"], c.truth.missing.records_dropped), (5.0, 2, 0));
        assert_eq!(c.pools[0].missing.by_column["edu"], 1);
        assert_eq!(
            c.warnings,
            ["pool, attribute \"edu\": categories in the truth but not in the pool: \"grad\"; \
              in the pool but not in the truth: \"phd\""]
        );
        let d = compare(&truth, &[pool], &CompareOptions::default().missing(MissingPolicy::Drop)).unwrap();
        assert_eq!(d.attributes[1].categories, ["hs", "college", "grad", "phd"]);
        assert_eq!((d.truth.total, d.truth.missing.records_dropped), (3.0, 2));
        assert_eq!((d.pools[0].total, d.pools[0].scale), (5.0, 3.0 / 5.0));
        // the same file with NA for the empty field compares as identical
        let na = table("na", &["sex", "edu"], &["f,", "m,hs", "f,NA", "m,college", "f,grad"]);
        for policy in [MissingPolicy::Category, MissingPolicy::Drop] {
            let same = compare(&truth, std::slice::from_ref(&na), &CompareOptions::default().missing(policy)).unwrap();
            assert_eq!((same.pools[0].joint.srmse, same.warnings.len()), (0.0, 0));
        }
        let all_missing = table("holes", &["sex", "edu"], &["f,NA", "m,"]);
        let m = compare(&all_missing, &[na], &CompareOptions::default().missing(MissingPolicy::Drop)).unwrap_err();
        assert!(m.to_string().contains("no weight is left to compare"), "{m}");
    }
}
