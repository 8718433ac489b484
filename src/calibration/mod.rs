//! Calibration: re-weighting seed records so that weighted totals hit margin targets.
//!
//! [`calibrate`] re-weights records given as [`Constraints`] (membership codes and targets)
//! with a [`Calibration`] method until a [`Stopping`] rule is met; [`fit_microdata`] re-weights
//! the seed of a [`Problem`](crate::inputs::Problem) to every zone's margins, integerizes the
//! weights when the [`FitOptions`](crate::inputs::FitOptions) ask
//! ([`integerize`](crate::integerize)), and reports every zone ([`ZoneFit`], [`ZoneReport`]).
//! [`fitting::fit`](crate::fitting::fit) calls it for a
//! [`Method::Calibrate`](crate::inputs::Method::Calibrate); this module does not know
//! `fitting`. The method types are defined with the spec, in [`inputs`](crate::inputs), and
//! re-exported here.
//!
//! # Setting
//!
//! Records `i = 1..n` carry design weights `dᵢ ≥ 0`. A [`Constraints`] value puts every record
//! in exactly one cell of every margin `m` (a one-way margin, or a multi-way margin flattened
//! into one list of cells); `xᵢ` is the record's indicator vector, with one entry per margin
//! cell, and `T` the vector of cell targets. Calibration finds weights `wᵢ = dᵢ gᵢ` that meet
//! `Σᵢ wᵢ xᵢ = T` while staying close to `d` (Deville & Särndal 1992). Every method here has
//! the form `gᵢ = F(xᵢ'λ)` for a *calibration function* `F` with `F(0) = 1`, `F'(0) = 1`:
//!
//! | [`Calibration`] | `F(u)` | distance minimised, `Σᵢ dᵢ G(wᵢ/dᵢ)` |
//! |---|---|---|
//! | [`Calibration::Linear`] (GREG) | `1 + u` | chi-square, `G(g) = (g − 1)² / 2`; weights may be negative |
//! | [`Calibration::Rake`], [`Calibration::Entropy`] | `eᵘ` | cross-entropy, `G(g) = g ln g − g + 1` |
//! | [`Calibration::Logit`] `[L, U]` | `[L(U−1) + U(1−L)e^{Au}] / [(U−1) + (1−L)e^{Au}]` | bounded logit distance; `L < g < U` |
//!
//! with `A = (U − L) / ((1 − L)(U − 1))` and `L < 1 < U` (Deville & Särndal 1992; Deville,
//! Särndal & Sautory 1993). These are R `survey::calibrate`'s `calfun = "linear"`,
//! `"raking"` and `"logit"` (`bounds = c(L, U)`).
//!
//! ## Solution methods
//!
//! * **Rake** is iterative proportional fitting on the weights (Deming & Stephan 1940): each
//!   sweep scales, margin by margin, every cell's weights by `target / current total`. It
//!   converges linearly to the minimum cross-entropy weights, the same weights as R
//!   `survey::rake` and `calibrate(calfun = "raking")`.
//! * **Linear, Logit and Entropy** solve the *dual* by Newton's method. With `F̃(u) = ∫₀ᵘ F`,
//!   the weights `dᵢ F(xᵢ'λ)` meet the targets exactly when `λ` minimises the convex function
//!
//!   `Φ(λ) = Σᵢ dᵢ F̃(xᵢ'λ) − λ'T`,  `∇Φ = Σᵢ wᵢ xᵢ − T`,  `∇²Φ = Σᵢ dᵢ F'(xᵢ'λ) xᵢ xᵢ'`.
//!
//!   A Newton step solves `∇²Φ Δ = T − Σᵢ wᵢ xᵢ` (the iteration of R's `survey:::grake`). The
//!   step is first shortened so that no cell's `u` moves by more than 20 units of the
//!   function's scale (`A u` for logit, `u` for exp: nearly saturated logit cells have almost
//!   no curvature and would otherwise ask for enormous steps). When that step does not
//!   decrease `Φ` (Armijo condition, with an allowance for round-off) it is halved by argmin's
//!   backtracking line search (`rho = 0.5`) until it does, so the iteration cannot diverge on
//!   a feasible problem. Linear calibration (`F̃(u) = u + u²/2`) is solved in one step; a
//!   second step, if the runner asks for one, only removes round-off.
//!
//! ## Weights spanning many orders of magnitude
//!
//! Formed in floating point, the Newton matrix `Σᵢ dᵢ F'(xᵢ'λ) xᵢ xᵢ'` keeps nothing of a cell
//! whose term is below the round-off of a heavier one's: with design weights from `1e-20` to
//! `1e20` a regular matrix looks singular, and `1 + u` cannot hold a g of `1e-19`. When the
//! matrix at the start loses more than 10 digits (a Jacobi-scaled Cholesky pivot² below
//! `1e-10`, or a numerical rank below the structural one), or when the usual steps stop making
//! progress (above round-off level; at any level for Linear, whose `1 + u` is what loses a g
//! near 0), the steps are taken in the coordinates of a *heaviest basis of cells* instead: the
//! `u` of cells chosen heaviest first, each independent of those before (Vavasis 1994). There
//! the Newton matrix, scaled to a unit diagonal, is the identity plus terms bounded by the
//! structure, whatever the spread of the weights, and a heavy cell's g owes nothing to a light
//! one's round-off. Before the first such step (Logit, Entropy) every weight is scaled by the
//! first hard margin's total over the design total (the minimum of `Φ` along that direction)
//! and `Φ` is summed without its constant (`eᵘ`, not `eᵘ − 1`, which cancels). Linear
//! calibration is solved there in closed form for the basis cells' g, `(Σ_c D_c β_c β_c') g_B =
//! (B')⁺T` with `x_c = B'β_c` and `g_c = β_c'g_B`, without forming `1 + u`. Such steps cost
//! `cells × columns²` operations and are not tried above `2³³`.
//!
//! ## Collinearity
//!
//! Full indicator sets are collinear: every margin's cells sum to the record's `1`. The Newton
//! system uses a reduced basis: every supported cell of the first hard margin, and every
//! supported cell but the first of each later hard margin (the dropped cell is met through the
//! total); cells without any seed support and a zero target get no column. Remaining
//! dependencies (a one-way margin that is also a sub-total of a two-way margin) make the
//! Newton matrix singular: it is then solved by a pseudo-inverse (symmetric eigendecomposition
//! after Jacobi scaling, eigenvalues below `1e-12` of the largest dropped, as R's `MASS::ginv`
//! does). Whether the hard targets are in its range is decided on the cells' structure alone,
//! `Σ_c x_c x_c'` with every cell that takes part counted once (the same range whatever the
//! weights, without their spread): a component outside it proves that the hard margins
//! contradict each other. The weights do not depend on the basis chosen.
//!
//! ## Numeric totals
//!
//! [`Constraints::with_totals`] adds real-valued auxiliaries ([`NumericTotal`]: one value `vᵢ`
//! per record and a total `Σᵢ wᵢ vᵢ = t`, such as total income, or income within a category
//! with `vᵢ = 0` outside it): `xᵢ` gains one real entry per total, always hard, and every
//! method above solves `gᵢ = F(xᵢ'λ)` as Deville & Särndal (1992) define it, the same weights
//! as R `survey::calibrate` with a numeric term in the formula. Records are then grouped into
//! cells by their membership row *and* their values. Each total's values are divided by their
//! design-weighted mean absolute value before solving, so its column of the Newton system, its
//! deviation and the tolerance are on the scale of a count of records like the margins'; totals
//! are reported in the values' own units ([`Calibrated::totals`]). [`Calibration::Rake`] has no
//! IPF step for a real-valued column: with numeric totals it is solved by Newton's method like
//! [`Calibration::Entropy`] (the same raking estimator, R's `calfun = "raking"`), and the
//! basis-of-cells steps below, which rest on indicator rows, are not tried. A nonzero total
//! whose values are all zero on the records that take part is infeasible.
//!
//! ## Soft margins (entropy only)
//!
//! A margin with `importance = Some(ρ)` is soft. [`Calibration::Entropy`] minimises, over `w ≥ 0`
//! and relaxation factors `z > 0` (PopulationSim list balancing),
//!
//! `Σᵢ [wᵢ ln(wᵢ/dᵢ) − wᵢ + dᵢ] + Σ_{soft m} ρₘ Σ_{j ∈ m} Tⱼ [zⱼ ln zⱼ − zⱼ + 1]`
//!
//! subject to `Σᵢ wᵢ xᵢⱼ = Tⱼ` for every cell `j` of a hard margin and `Σᵢ wᵢ xᵢⱼ = zⱼ Tⱼ` for
//! every cell of a soft margin. The penalty is `ρ` times the cross-entropy of the achieved soft
//! totals `aⱼ = zⱼ Tⱼ` from their targets, `ρ Σⱼ [aⱼ ln(aⱼ/Tⱼ) − aⱼ + Tⱼ]`, so `ρ` is
//! dimensionless: large `ρ` makes the margin (almost) hard, small `ρ` lets it give way. The dual
//! of a soft cell is `−ρ Tⱼ (1 − e^{−λⱼ/ρ})`; at the optimum `zⱼ = e^{−λⱼ/ρ}` (the relaxation
//! factor reported in [`MarginTotals::relaxation`]) and the Newton matrix gains the diagonal
//! term `(Tⱼ/ρ) zⱼ`, proportional to `1/importance`. Soft cells get a column each (no reference
//! cell is dropped: the diagonal term keeps the system definite). With all margins hard the
//! objective is raking's, and Entropy reproduces Rake's weights.
//!
//! Zero targets: a hard (or soft) cell with target 0 forces the weight of every record in it to
//! 0 under Rake and Entropy (the cross-entropy of a positive total from a zero target is
//! infinite); those records are set aside before iterating. Soft cells with a positive target
//! but no seed support are unreachable and get `z = 0`.
//!
//! ## Convergence
//!
//! Every method is a [`Solver`](crate::iteration::Solver) driven by the crate's
//! [`Runner`], so [`Observer`]s see every sweep or Newton step. The run
//! stops when the largest absolute deviation `max |Σᵢ wᵢ xᵢⱼ − Tⱼ|` over the cells `j` of all hard
//! margins is at most `max(tolerance, floor)`. For a soft margin the deviation measured is the
//! penalised stationarity `|Σᵢ wᵢ xᵢⱼ − zⱼ Tⱼ|` (achieved against the relaxed target), not the
//! distance to `Tⱼ`, which is reported separately. The floor is `1e-13 ×` the largest margin
//! total plus the largest disagreement between hard margin totals (at most `1e-6` relative,
//! see [`Constraints::new`]) and, for the Newton methods, twice any tolerated disagreement
//! between shared sub-totals of hard margins (at most `1e-6 ×` the total; larger is
//! infeasible): below it round-off and input rounding cannot be told from misfit. Rake does
//! not measure sub-total disagreements; with them it stops at the iteration limit unconverged.
//!
//! ## Infeasibility
//!
//! [`Error::Infeasible`] is returned, with the worst cells' targets
//! and the totals reached, when:
//!
//! * a positive hard target has no seed record with a positive design weight (all methods);
//! * a logit cell's target `T` is outside `(L S, U S)`, `S` the cell's design total;
//! * IPF drives every record under a positive target to zero;
//! * the hard margins contradict each other (Linear, Logit, Entropy): the targets have a
//!   component larger than `1e-6 ×` the total outside the range of the indicators of the
//!   records that take part, a direction `r` with `xᵢ'r = 0` for every record but `T'r ≠ 0`.
//!   It is computed from which cells take part and the targets, not from the design weights,
//!   so their spread can neither fake nor hide it;
//! * the bounded logit iteration diverges. This is certified: a direction `r` with
//!   `T'r > Σᵢ dᵢ h(xᵢ'r)`, `h(v) = max(L v, U v)`, proves that no `g ∈ [L, U]` meets the
//!   targets (for any such g, `T'r = Σᵢ dᵢ gᵢ xᵢ'r ≤ Σᵢ dᵢ h(xᵢ'r)`). The dual of an
//!   infeasible problem is unbounded below and its Newton iterates run off along such a
//!   direction, so every step tests the step, the iterate and any residual direction;
//! * the entropy iteration diverges along a direction `r` with `T'r > W maxᵢ (xᵢ'r)⁺`, `W` the
//!   first hard margin's total: any non-negative weights meeting the margins total `W`, so
//!   `T'r = Σᵢ wᵢ xᵢ'r ≤ W maxᵢ (xᵢ'r)⁺`, and none exist (they would have to be negative).
//!   Tested at steps that are cut short or follow one without progress.
//!
//! Infeasibility is only reported when proven so.
//!
//! ## Numerical failure
//!
//! [`Error::Numerical`] is returned when the Newton iteration (Linear, Logit, Entropy) makes no
//! progress (no step decreases `Φ`, or 50 steps pass without halving the deviation; one for
//! Linear), in the usual coordinates and then in those of a basis of cells, while the
//! deviation is above `1e-8 ×` the largest margin total and no direction proves the margins
//! infeasible. The message says what was tried (Newton steps, step halvings, the scalings, the
//! basis), the range of the cells' design totals, and the deviation and totals reached. Targets
//! that only zero weights on some records can meet (the edge of what positive weights reach)
//! may end this way or converge to tiny weights; Rake stops unconverged on them.
//!
//! A run that merely needs more iterations is not an error: it ends with
//! `convergence.converged == false`.
//!
//! ## Performance
//!
//! Records are first grouped into distinct cells (identical membership rows); every iteration
//! works on the cells (`X'DX` is accumulated from cells, never from records; nothing is
//! `n × n`) and weights are mapped back as `wᵢ = dᵢ g_c`. Large cell sets are processed with
//! rayon in fixed chunks whose partial sums are added in chunk order, so results are identical
//! at any thread count.
//!
//! ## References
//!
//! * Deming W. E., Stephan F. F. (1940). On a least squares adjustment of a sampled frequency
//!   table when the expected marginal totals are known. *Ann. Math. Stat.* 11, 427–444.
//! * Deville J.-C., Särndal C.-E. (1992). Calibration estimators in survey sampling. *JASA* 87,
//!   376–382.
//! * Deville J.-C., Särndal C.-E., Sautory O. (1993). Generalized raking procedures in survey
//!   sampling. *JASA* 88, 1013–1020.
//! * PopulationSim (RSG / ActivitySim), list balancing with control importance and relaxation
//!   factors; Ye X. et al. (2009), *Methodology to match distributions of both household and
//!   person attributes in the generation of synthetic populations*, TRB.
//! * Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley (`survey::calibrate`).
//! * Vavasis S. A. (1994). Stable numerical algorithms for equilibrium systems. *SIAM J. Matrix
//!   Anal. Appl.* 15, 1108–1131.
//!
//! # Example
//!
//! ```
//! use populace::calibration::{calibrate, Calibration, Constraints};
//! use populace::iteration::Stopping;
//!
//! // four records, two margins (sex: 2 cells, region: 2 cells), row-major membership codes
//! let membership = vec![0, 0, 0, 1, 1, 0, 1, 1];
//! let targets = vec![vec![60.0, 40.0], vec![30.0, 70.0]];
//! let constraints = Constraints::new(membership, vec![2, 2], targets, vec![None, None]).unwrap();
//! let design = [25.0; 4];
//!
//! let raked = calibrate(&design, &constraints, Calibration::Rake, Stopping::default(), &mut []).unwrap();
//! assert!(raked.convergence.converged);
//! assert!((raked.weights[0] + raked.weights[1] - 60.0).abs() < 1e-9); // sex = 0
//! assert!((raked.weights[0] + raked.weights[2] - 30.0).abs() < 1e-9); // region = 0
//!
//! let entropy = calibrate(&design, &constraints, Calibration::Entropy, Stopping::new(1e-10, 100).unwrap(), &mut []).unwrap();
//! for (a, b) in raked.weights.iter().zip(&entropy.weights) {
//!     assert!((a - b).abs() < 1e-8); // the same estimator, solved by Newton on the dual
//! }
//!
//! // raking needs g from 0.72 to 1.68; logit keeps g within the bounds…
//! let logit = Calibration::logit(0.5, 2.0).unwrap();
//! let bounded = calibrate(&design, &constraints, logit, Stopping::new(1e-10, 100).unwrap(), &mut []).unwrap();
//! assert!(bounded.g_min > 0.5 && bounded.g_max < 2.0);
//! // …and says so when no weights within them can meet the margins
//! let tight = Calibration::logit(0.5, 1.5).unwrap();
//! let err = calibrate(&design, &constraints, tight, Stopping::new(1e-10, 100).unwrap(), &mut []).unwrap_err();
//! assert!(matches!(err, populace::Error::Infeasible(_)));
//! ```

mod basis;
mod calfun;
mod cells;
mod dual;
mod rake;
mod seed;

use serde::Serialize;

pub use seed::{
    fit_microdata, summarize, CellFit, IntegerizationReport, MarginCells, TotalFit, WeightSummary, ZoneFit, ZoneReport,
};

use crate::error::{Error, Location, Result};
pub use crate::inputs::{Bounds, Calibration};
use crate::iteration::{Convergence, Observer, Runner, Stopping};
use cells::Cells;
use dual::DualNewton;
use rake::Rake;

/// Calibration constraints in indicator form: each record falls in exactly one cell of every
/// margin.
///
/// A multi-way margin is given as one margin whose cells are the combinations of its
/// attributes' levels (in any order the caller likes). Margins without an importance are hard
/// (met exactly); margins with one are soft, which only [`Calibration::Entropy`] accepts.
#[derive(Debug, Clone)]
pub struct Constraints {
    records: usize,
    membership: Vec<u32>,
    margin_sizes: Vec<usize>,
    targets: Vec<Vec<f64>>,
    importance: Vec<Option<f64>>,
    labels: Option<(Vec<String>, Vec<Vec<String>>)>,
    numeric: Vec<NumericTotal>,
}

/// A numeric auxiliary: one real value per record and the total its weighted sum must reach,
/// `Σᵢ wᵢ vᵢ = total` (Deville & Särndal's calibration on a quantitative variable, such as
/// total income; a total within a category has `vᵢ = 0` outside it).
///
/// ```
/// use populace::calibration::NumericTotal;
/// let income = NumericTotal::new("income", vec![20.0, 35.5, 0.0], 1200.0).unwrap();
/// assert_eq!(income.total(), 1200.0);
/// assert!(NumericTotal::new("income", vec![f64::NAN], 1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct NumericTotal {
    name: String,
    values: Vec<f64>,
    total: f64,
}

impl NumericTotal {
    /// A total named `name` in messages and reports, of `values` (one per record).
    ///
    /// # Errors
    /// [`Error::Input`] when a value or the total is not a finite number.
    pub fn new(name: impl Into<String>, values: Vec<f64>, total: f64) -> Result<Self> {
        let name = name.into();
        if !total.is_finite() {
            return Err(Error::input(
                argument("numeric totals"),
                format!("{name}: total {total} is not a finite number"),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(
                argument("numeric totals"),
                format!("{name}: record {i}'s value {} is not a finite number", values[i]),
            ));
        }
        Ok(NumericTotal { name, values, total })
    }

    /// The name used in messages and reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Each record's value.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The total to reach.
    pub fn total(&self) -> f64 {
        self.total
    }
}

/// A pseudo-location for errors in values passed to the library rather than read from a file.
fn argument(what: &str) -> Location {
    Location::file(what)
}

impl Constraints {
    /// Builds constraints from row-major membership codes (`records × margins`: the code of
    /// record `i` in margin `m` is `membership[i * margins + m]`, the index of its cell within
    /// that margin), the number of cells of each margin, each margin's cell targets, and each
    /// margin's importance (`None` = hard).
    ///
    /// # Errors
    /// * [`Error::Inconsistent`] when the lengths disagree, there are no margins or no records,
    ///   or two hard margins have totals that differ by more than `1e-6` relative (no weights
    ///   can meet both; smaller differences, which the input checks tolerate by default, raise
    ///   the convergence floor instead).
    /// * [`Error::Input`] for a code outside its margin, a target that is negative or not
    ///   finite, or an importance that is not a finite positive number.
    /// * [`Error::TooLarge`] for 2³² records or more.
    pub fn new(
        membership: Vec<u32>,
        margin_sizes: Vec<usize>,
        targets: Vec<Vec<f64>>,
        importance: Vec<Option<f64>>,
    ) -> Result<Self> {
        let m = margin_sizes.len();
        if m == 0 {
            return Err(Error::Inconsistent("calibration needs at least one margin".into()));
        }
        if targets.len() != m || importance.len() != m {
            return Err(Error::Inconsistent(format!(
                "{m} margin sizes, but {} target lists and {} importances",
                targets.len(),
                importance.len()
            )));
        }
        if !membership.len().is_multiple_of(m) {
            return Err(Error::Inconsistent(format!(
                "{} membership codes is not a whole number of records of {m} margins",
                membership.len()
            )));
        }
        let records = membership.len() / m;
        if records == 0 {
            return Err(Error::Inconsistent("calibration needs at least one record".into()));
        }
        if records >= u32::MAX as usize {
            return Err(Error::TooLarge(format!("{records} records: calibration handles fewer than 2³² records")));
        }
        for (k, (&size, t)) in margin_sizes.iter().zip(&targets).enumerate() {
            if size == 0 || size > u32::MAX as usize {
                return Err(Error::Inconsistent(format!("margin {k} has {size} cells")));
            }
            if t.len() != size {
                return Err(Error::Inconsistent(format!("margin {k} has {size} cells but {} targets", t.len())));
            }
            if let Some(j) = t.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::input(
                    argument("calibration targets"),
                    format!("margin {k}, cell {j}: target {} is not a finite non-negative number", t[j]),
                ));
            }
        }
        for (k, imp) in importance.iter().enumerate() {
            if let Some(rho) = imp {
                if !(rho.is_finite() && *rho > 0.0) {
                    return Err(Error::input(
                        argument("calibration importance"),
                        format!("margin {k}: importance {rho} is not a finite positive number"),
                    ));
                }
            }
        }
        for (i, row) in membership.chunks_exact(m).enumerate() {
            for (k, (&code, &size)) in row.iter().zip(&margin_sizes).enumerate() {
                if code as usize >= size {
                    return Err(Error::input(
                        argument("calibration membership"),
                        format!(
                            "record {i}, margin {k}: cell code {code} is out of range (the margin has {size} cells)"
                        ),
                    ));
                }
            }
        }
        let totals: Vec<(usize, f64)> =
            (0..m).filter(|&k| importance[k].is_none()).map(|k| (k, targets[k].iter().sum::<f64>())).collect();
        if let Some(&(first, t0)) = totals.first() {
            let scale = totals.iter().map(|t| t.1).fold(0.0, f64::max);
            for &(k, t) in &totals[1..] {
                if (t - t0).abs() > 1e-6 * scale {
                    return Err(Error::Inconsistent(format!(
                        "hard margins {first} and {k} have different totals ({t0} and {t}): no weights can meet both"
                    )));
                }
            }
        }
        Ok(Constraints { records, membership, margin_sizes, targets, importance, labels: None, numeric: Vec::new() })
    }

    /// Names the margins and their cells in messages and reports (`(stype=H) of stype.csv` rather than
    /// `margin 0, cell 1`).
    ///
    /// # Errors
    /// [`Error::Inconsistent`] when the number of names does not match the margins or cells.
    pub fn with_labels(mut self, margins: Vec<String>, cells: Vec<Vec<String>>) -> Result<Self> {
        let ok = margins.len() == self.margin_sizes.len()
            && cells.len() == self.margin_sizes.len()
            && cells.iter().zip(&self.margin_sizes).all(|(c, &s)| c.len() == s);
        if !ok {
            return Err(Error::Inconsistent("calibration labels do not match the margins and their cells".into()));
        }
        self.labels = Some((margins, cells));
        Ok(self)
    }

    /// Adds numeric totals ([`NumericTotal`]), hard constraints met alongside the margins by
    /// every method ([`Calibration::Rake`] is then solved by Newton's method on the dual, the
    /// same raking estimator, as IPF has no step for a real-valued variable).
    ///
    /// # Errors
    /// [`Error::Inconsistent`] when a total does not have one value per record.
    pub fn with_totals(mut self, totals: Vec<NumericTotal>) -> Result<Self> {
        if let Some(t) = totals.iter().find(|t| t.values.len() != self.records) {
            return Err(Error::Inconsistent(format!(
                "numeric total {} has {} values for {} records",
                t.name,
                t.values.len(),
                self.records
            )));
        }
        self.numeric = totals;
        Ok(self)
    }

    /// The numeric totals.
    pub fn totals(&self) -> &[NumericTotal] {
        &self.numeric
    }

    /// Number of records.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Number of margins.
    pub fn margins(&self) -> usize {
        self.margin_sizes.len()
    }

    /// Number of cells of each margin.
    pub fn margin_sizes(&self) -> &[usize] {
        &self.margin_sizes
    }

    /// Membership codes, `records × margins`, row-major.
    pub fn membership(&self) -> &[u32] {
        &self.membership
    }

    /// Cell targets of each margin.
    pub fn targets(&self) -> &[Vec<f64>] {
        &self.targets
    }

    /// Importance of each margin (`None` = hard).
    pub fn importance(&self) -> &[Option<f64>] {
        &self.importance
    }

    /// Name of cell `cell` of margin `margin` as used in messages: `(cell) of margin` with labels,
    /// `margin m, cell j` without.
    /// Margins past the last are the numeric totals, named `total of NAME`.
    pub fn cell_name(&self, margin: usize, cell: usize) -> String {
        if let Some(t) = margin.checked_sub(self.margins()).and_then(|q| self.numeric.get(q)) {
            return format!("total of {}", t.name);
        }
        match &self.labels {
            Some((m, c)) => format!("({}) of {}", c[margin][cell], m[margin]),
            None => format!("margin {margin}, cell {cell}"),
        }
    }
}

/// Targets and achieved totals of one margin after calibration.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct MarginTotals {
    /// The margin's cell targets.
    pub target: Vec<f64>,
    /// Weighted totals reached, `Σᵢ wᵢ xᵢⱼ`.
    pub achieved: Vec<f64>,
    /// The margin's importance (`None` = hard).
    pub importance: Option<f64>,
    /// For a soft margin, the relaxation factors `zⱼ`: the relaxed target is `zⱼ Tⱼ` (`None`
    /// for hard margins).
    pub relaxation: Option<Vec<f64>>,
}

impl MarginTotals {
    /// Largest `|achieved − target|` over the margin's cells.
    pub fn max_abs_deviation(&self) -> f64 {
        self.target.iter().zip(&self.achieved).map(|(t, a)| (a - t).abs()).fold(0.0, f64::max)
    }

    /// The relaxed targets `zⱼ Tⱼ` of a soft margin.
    pub fn relaxed_target(&self) -> Option<Vec<f64>> {
        self.relaxation.as_ref().map(|z| z.iter().zip(&self.target).map(|(z, t)| z * t).collect())
    }
}

/// A numeric total after calibration.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct TotalReached {
    /// The total to reach.
    pub target: f64,
    /// Weighted total reached, `Σᵢ wᵢ vᵢ`.
    pub achieved: f64,
}

/// The result of [`calibrate`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Calibrated {
    /// Calibrated weights `wᵢ = dᵢ gᵢ`, in record order.
    pub weights: Vec<f64>,
    /// The method used.
    pub method: Calibration,
    /// How the iterations ended (one iteration for linear calibration).
    pub convergence: Convergence,
    /// Per margin: targets, achieved totals and, for soft margins, relaxation factors.
    pub margins: Vec<MarginTotals>,
    /// Per numeric total ([`Constraints::with_totals`]): its target and the total reached.
    pub totals: Vec<TotalReached>,
    /// Smallest g-weight `w/d` over records with a positive design weight.
    pub g_min: f64,
    /// Largest g-weight `w/d` over records with a positive design weight.
    pub g_max: f64,
    /// Number of negative weights (only linear calibration can produce them).
    pub negative_weights: usize,
    /// Number of distinct cells (distinct membership rows) the records were grouped into.
    pub distinct_cells: usize,
}

/// Flattened margin cells shared by the solvers: every cell of every margin, then one cell per
/// numeric total (a margin of one cell each, always hard), whose target is in units of its
/// values' scale (see [`Cells::scales`]).
#[derive(Debug, Clone)]
struct Layout {
    /// Start of each margin's cells in the flat cell list (numeric totals last).
    offsets: Vec<usize>,
    /// Total number of margin cells `J`, numeric totals included.
    cells: usize,
    /// Number of margins (numeric totals not included).
    margins: usize,
    /// Number of margin cells (numeric totals not included).
    categorical: usize,
    /// Flat targets.
    targets: Vec<f64>,
    /// Importance of each margin.
    importance: Vec<Option<f64>>,
    /// The scale of each numeric total's values.
    scales: Vec<f64>,
    /// The largest margin total.
    largest: f64,
    /// Round-off floor of the deviation.
    floor: f64,
}

impl Layout {
    /// The layout of `c`, its numeric totals' values divided by `scales`.
    fn new(c: &Constraints, scales: &[f64]) -> Layout {
        let mut offsets = Vec::with_capacity(c.margins() + c.numeric.len());
        let mut cells = 0;
        for &s in &c.margin_sizes {
            offsets.push(cells);
            cells += s;
        }
        let categorical = cells;
        let mut targets: Vec<f64> = c.targets.iter().flatten().copied().collect();
        let mut importance = c.importance.clone();
        let scaled: Vec<f64> = c.numeric.iter().zip(scales).map(|(t, s)| t.total / s).collect();
        for &t in &scaled {
            offsets.push(cells);
            cells += 1;
            targets.push(t);
            importance.push(None);
        }
        let totals: Vec<f64> = c.targets.iter().map(|t| t.iter().sum::<f64>()).collect();
        let largest = totals.iter().chain(&scaled).map(|t| t.abs()).fold(0.0, f64::max);
        let hard: Vec<f64> = totals.iter().zip(&c.importance).filter(|(_, i)| i.is_none()).map(|(t, _)| *t).collect();
        let spread = match hard.first() {
            Some(&t0) => hard.iter().map(|t| (t - t0).abs()).fold(0.0, f64::max),
            None => 0.0,
        };
        Layout {
            offsets,
            cells,
            margins: c.margins(),
            categorical,
            targets,
            importance,
            scales: scales.to_vec(),
            largest,
            floor: 1e-13 * largest + spread,
        }
    }

    /// The margin of flat cell `k` and the cell's index within it.
    fn locate(&self, k: usize) -> (usize, usize) {
        let m = self.offsets.partition_point(|&o| o <= k) - 1;
        (m, k - self.offsets[m])
    }

    /// Whether margin `m` is hard.
    fn hard(&self, m: usize) -> bool {
        self.importance[m].is_none()
    }

    /// The first hard margin (numeric totals not included).
    fn first_hard(&self) -> Option<usize> {
        (0..self.margins).find(|&m| self.hard(m))
    }

    /// The unit of flat cell `k`'s totals: its scale for a numeric total, else 1.
    fn unit(&self, k: usize) -> f64 {
        k.checked_sub(self.categorical).map_or(1.0, |q| self.scales[q])
    }
}

/// Formats a total for messages: at most six decimals, no trailing zeros.
fn num(x: f64) -> String {
    let r = (x * 1e6).round() / 1e6;
    if r == 0.0 {
        "0".into()
    } else {
        format!("{r}")
    }
}

/// "closest margins reached" for an infeasibility message: the five worst cells (largest
/// `|achieved − target|`) with their targets and the totals reached.
fn closest_margins(c: &Constraints, layout: &Layout, achieved: &[f64]) -> String {
    let mut order: Vec<usize> = (0..layout.cells).collect();
    // in the solver's units: a numeric total's deviation in units of its values' scale
    let dev = |k: usize| (achieved[k] - layout.targets[k]).abs();
    order.sort_by(|&a, &b| dev(b).total_cmp(&dev(a)).then(a.cmp(&b)));
    let worst: Vec<String> = order
        .iter()
        .take(5)
        .map(|&k| {
            let (m, j) = layout.locate(k);
            let unit = layout.unit(k);
            let (t, a) = (layout.targets[k] * unit, achieved[k] * unit);
            format!("{}: target {}, achieved {} (off by {})", c.cell_name(m, j), num(t), num(a), num(a - t))
        })
        .collect();
    format!("closest margins reached (worst cells first): {}", worst.join("; "))
}

/// Calibrates design weights to the constraints with `method`; iterates until the largest
/// absolute deviation over hard margin cells is at most the tolerance of `stopping` (or the
/// solver's round-off floor, if larger) or its iteration limit is reached, telling `observers`
/// about every iteration.
///
/// A run that stops at the iteration limit is not an error: the result says
/// `convergence.converged == false`.
///
/// # Errors
/// * [`Error::Inconsistent`] if `design` does not have one weight per record, or a soft margin
///   is given to a method other than [`Calibration::Entropy`].
/// * [`Error::Input`] for a design weight that is negative or not finite (the method and the
///   stopping rule were checked when they were made).
/// * [`Error::Infeasible`] when no weights of the method's form can meet the hard margins
///   (see the [module documentation](self#infeasibility)); the message lists the worst cells'
///   targets and the totals reached.
/// * [`Error::Numerical`] when the Newton iteration fails for numerical reasons on margins not
///   shown to be infeasible (see [numerical failure](self#numerical-failure)).
pub fn calibrate(
    design: &[f64],
    constraints: &Constraints,
    method: Calibration,
    stopping: Stopping,
    observers: &mut [&mut dyn Observer],
) -> Result<Calibrated> {
    if design.len() != constraints.records() {
        return Err(Error::Inconsistent(format!(
            "{} design weights for {} records",
            design.len(),
            constraints.records()
        )));
    }
    if let Some(i) = design.iter().position(|d| !(d.is_finite() && *d >= 0.0)) {
        return Err(Error::input(
            argument("design weights"),
            format!("record {i}: design weight {} is not a finite non-negative number", design[i]),
        ));
    }
    let mut cells = Cells::aggregate(design, &constraints.membership, &constraints.margin_sizes);
    if !constraints.numeric.is_empty() {
        cells = cells.with_values(design, constraints.numeric.len(), |i, q| constraints.numeric[q].values[i]);
    }
    let Solved { g, convergence, totals, relaxation, layout } =
        solve(&cells, constraints, method, stopping, observers)?;
    let (weights, sums) = cells.expand(design, &g);
    let (mut g_min, mut g_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for (&gc, &dc) in g.iter().zip(cells.design()) {
        if dc > 0.0 {
            g_min = g_min.min(gc);
            g_max = g_max.max(gc);
        }
    }
    let negative_weights = sums.negative;
    let margins = (0..constraints.margins())
        .map(|m| {
            let range = layout.offsets[m]..layout.offsets[m] + constraints.margin_sizes[m];
            MarginTotals {
                target: constraints.targets[m].clone(),
                achieved: totals[range].to_vec(),
                importance: constraints.importance[m],
                relaxation: relaxation.as_ref().and_then(|r: &Vec<Option<Vec<f64>>>| r[m].clone()),
            }
        })
        .collect();
    let totals = reached(constraints, &layout, &totals);
    Ok(Calibrated {
        weights,
        method,
        convergence,
        margins,
        totals,
        g_min,
        g_max,
        negative_weights,
        distinct_cells: cells.len(),
    })
}

/// The numeric totals of `constraints`, each with the total reached (`totals`: every flat cell
/// of `layout`, in the solver's units).
fn reached(constraints: &Constraints, layout: &Layout, totals: &[f64]) -> Vec<TotalReached> {
    constraints
        .numeric
        .iter()
        .enumerate()
        .map(|(q, t)| {
            let k = layout.categorical + q;
            TotalReached { target: t.total, achieved: totals[k] * layout.unit(k) }
        })
        .collect()
}

/// What [`solve`] finds: a g-weight per cell, how the iterations ended, the totals reached on
/// every (flat) margin cell and, for the dual methods, the soft margins' relaxation factors.
struct Solved {
    g: Vec<f64>,
    convergence: Convergence,
    totals: Vec<f64>,
    relaxation: Option<Vec<Option<Vec<f64>>>>,
    layout: Layout,
}

/// Calibrates records already grouped into `cells` (their membership rows index the margins
/// of `constraints`; the constraints' own membership is not used): checks that only entropy
/// gets soft margins, then runs the method's solver. [`calibrate`] is this plus grouping and
/// expanding; seed re-weighting groups records by their attribute codes instead.
fn solve(
    cells: &Cells,
    constraints: &Constraints,
    method: Calibration,
    stopping: Stopping,
    observers: &mut [&mut dyn Observer],
) -> Result<Solved> {
    if method != Calibration::Entropy {
        if let Some(m) = constraints.importance.iter().position(Option::is_some) {
            return Err(Error::Inconsistent(format!(
                "margin {m} is soft (importance {}), but only Calibration::Entropy supports soft margins",
                constraints.importance[m].unwrap_or_default()
            )));
        }
    }

    let layout = Layout::new(constraints, cells.scales());
    let mut runner = Runner::new(stopping);
    for o in observers.iter_mut() {
        runner = runner.observe(&mut **o);
    }

    let (g, convergence, totals, relaxation) = match method {
        Calibration::Rake if constraints.numeric.is_empty() => {
            let mut solver = Rake::new(cells, constraints, &layout)?;
            let convergence = runner.run(&mut solver)?;
            let g = solver.g();
            (g, convergence, solver.totals(), None)
        }
        Calibration::Rake | Calibration::Linear | Calibration::Logit(_) | Calibration::Entropy => {
            let mut solver = DualNewton::new(cells, constraints, &layout, method)?;
            let convergence = runner.run(&mut solver)?;
            (solver.g(), convergence, solver.totals().to_vec(), Some(solver.relaxation()))
        }
    };

    Ok(Solved { g, convergence, totals, relaxation, layout })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn logit(lower: f64, upper: f64) -> Calibration {
        Calibration::logit(lower, upper).unwrap()
    }

    fn stop(tolerance: f64, max_iterations: usize) -> Stopping {
        Stopping::new(tolerance, max_iterations).unwrap()
    }

    /// A 2 × 3 design with one or more records per cell.
    fn small() -> (Constraints, Vec<f64>) {
        let rows: [(u32, u32); 9] = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 0), (1, 2), (1, 1)];
        let membership = rows.iter().flat_map(|&(a, b)| [a, b]).collect();
        let design = vec![10.0, 12.0, 9.0, 11.0, 8.0, 10.0, 7.0, 6.0, 9.0];
        let targets = vec![vec![45.0, 55.0], vec![30.0, 40.0, 30.0]];
        (Constraints::new(membership, vec![2, 3], targets, vec![None, None]).unwrap(), design)
    }

    fn achieved(c: &Constraints, weights: &[f64]) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = c.margin_sizes().iter().map(|&s| vec![0.0; s]).collect();
        for (row, w) in c.membership().chunks_exact(c.margins()).zip(weights) {
            for (m, &code) in row.iter().enumerate() {
                out[m][code as usize] += w;
            }
        }
        out
    }

    fn assert_meets(c: &Constraints, weights: &[f64], tol: f64) {
        for (m, (got, want)) in achieved(c, weights).iter().zip(c.targets()).enumerate() {
            if c.importance()[m].is_none() {
                for (g, t) in got.iter().zip(want) {
                    assert!((g - t).abs() <= tol, "margin {m}: {got:?} vs {want:?}");
                }
            }
        }
    }

    #[test]
    fn constraints_are_validated() {
        let bad = |r: Result<Constraints>| r.unwrap_err().to_string();
        assert!(bad(Constraints::new(vec![], vec![], vec![], vec![])).contains("at least one margin"));
        assert!(bad(Constraints::new(vec![0, 1, 0], vec![2, 2], vec![vec![1.0; 2]; 2], vec![None; 2]))
            .contains("whole number"));
        assert!(bad(Constraints::new(vec![0, 2], vec![2, 2], vec![vec![1.0; 2]; 2], vec![None; 2]))
            .contains("out of range"));
        assert!(bad(Constraints::new(vec![0], vec![2], vec![vec![1.0, -1.0]], vec![None])).contains("non-negative"));
        assert!(bad(Constraints::new(vec![0], vec![2], vec![vec![1.0, f64::NAN]], vec![None])).contains("non-negative"));
        assert!(bad(Constraints::new(vec![0], vec![2], vec![vec![1.0]], vec![None])).contains("targets"));
        assert!(bad(Constraints::new(vec![0], vec![2], vec![vec![1.0; 2]], vec![Some(0.0)])).contains("importance"));
        assert!(bad(Constraints::new(vec![0, 0], vec![2, 2], vec![vec![1.0; 2], vec![1.0, 2.0]], vec![None; 2]))
            .contains("different totals"));
        // soft margins may disagree with the hard total; round-off differences are accepted
        Constraints::new(vec![0, 0], vec![2, 2], vec![vec![1.0; 2], vec![1.0, 2.0]], vec![None, Some(1.0)]).unwrap();
        Constraints::new(vec![0, 0], vec![2, 2], vec![vec![0.1, 0.2], vec![0.3, 0.0]], vec![None; 2]).unwrap();
        let c = small().0;
        assert!(c.clone().with_labels(vec!["a".into()], vec![]).is_err());
        let c = c.with_labels(vec!["a".into(), "b".into()], vec![vec!["x".into(), "y".into()], vec!["p".into(); 3]]);
        assert_eq!(c.unwrap().cell_name(0, 1), "(y) of a");
    }

    #[test]
    fn arguments_are_validated() {
        let (c, design) = small();
        let err = |d: &[f64]| calibrate(d, &c, Calibration::Rake, stop(1e-9, 10), &mut []).unwrap_err();
        assert!(matches!(err(&design[1..]), Error::Inconsistent(_)));
        let mut negative = design.clone();
        negative[3] = -1.0;
        assert!(matches!(err(&negative), Error::Input { .. }));
        // a stopping rule and logit bounds are checked when made, before any calibration
        assert!(matches!(Stopping::new(f64::NAN, 10), Err(Error::Input { .. })));
        for (lower, upper) in [(1.0, 2.0), (0.5, 1.0), (0.5, f64::INFINITY), (f64::NAN, 2.0)] {
            assert!(matches!(Calibration::logit(lower, upper), Err(Error::Input { .. })));
        }
        let soft =
            Constraints::new(c.membership().to_vec(), vec![2, 3], c.targets().to_vec(), vec![None, Some(2.0)]).unwrap();
        for method in [Calibration::Rake, Calibration::Linear, logit(0.5, 2.0)] {
            let e = calibrate(&design, &soft, method, stop(1e-9, 10), &mut []).unwrap_err();
            assert!(e.to_string().contains("only Calibration::Entropy"), "{e}");
        }
    }

    #[test]
    fn every_method_meets_the_targets_and_reports_them() {
        let (c, design) = small();
        for method in [Calibration::Rake, Calibration::Linear, logit(0.5, 1.8), Calibration::Entropy] {
            let out = calibrate(&design, &c, method, stop(1e-11, 1000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}");
            assert_meets(&c, &out.weights, 1e-9);
            assert_eq!(out.distinct_cells, 6);
            for (m, totals) in out.margins.iter().enumerate() {
                assert_eq!(totals.target, c.targets()[m]);
                assert!(totals.max_abs_deviation() < 1e-9 && totals.relaxation.is_none());
            }
            let g: Vec<f64> = out.weights.iter().zip(&design).map(|(w, d)| w / d).collect();
            assert_eq!(out.g_min, g.iter().copied().fold(f64::INFINITY, f64::min));
            assert_eq!(out.g_max, g.iter().copied().fold(f64::NEG_INFINITY, f64::max));
            assert_eq!(out.method, method);
        }
    }

    #[test]
    fn linear_counts_negative_weights_and_still_meets_the_targets() {
        // pushing a margin far from the design forces g < 0 on some records
        let (c, design) = small();
        let skewed = Constraints::new(
            c.membership().to_vec(),
            vec![2, 3],
            vec![vec![5.0, 95.0], vec![60.0, 2.0, 38.0]],
            vec![None, None],
        )
        .unwrap();
        let out = calibrate(&design, &skewed, Calibration::Linear, stop(1e-10, 5), &mut []).unwrap();
        assert!(out.negative_weights > 0 && out.g_min < 0.0);
        assert_eq!(out.negative_weights, out.weights.iter().filter(|w| **w < 0.0).count());
        assert_eq!(out.convergence.iterations, 1);
        assert_meets(&skewed, &out.weights, 1e-10);
    }

    #[test]
    fn redundant_consistent_margins_are_solved_and_contradictory_ones_refused() {
        // margins: a (2), b (3) and the a×b table whose sub-totals agree with both
        let (c, design) = small();
        let ab: Vec<u32> = c.membership().chunks_exact(2).flat_map(|r| [r[0], r[1], r[0] * 3 + r[1]]).collect();
        let joint = vec![15.0, 20.0, 10.0, 15.0, 20.0, 20.0];
        let ok = Constraints::new(
            ab.clone(),
            vec![2, 3, 6],
            vec![c.targets()[0].clone(), c.targets()[1].clone(), joint],
            vec![None; 3],
        )
        .unwrap();
        for method in [Calibration::Rake, Calibration::Linear, Calibration::Entropy, logit(0.1, 3.0)] {
            let out = calibrate(&design, &ok, method, stop(1e-10, 1000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}");
            assert_meets(&ok, &out.weights, 1e-9);
        }
        let bad_joint = vec![20.0, 15.0, 10.0, 5.0, 30.0, 20.0]; // a totals agree, b totals do not
        let bad = Constraints::new(
            ab,
            vec![2, 3, 6],
            vec![c.targets()[0].clone(), c.targets()[1].clone(), bad_joint],
            vec![None; 3],
        )
        .unwrap();
        for method in [Calibration::Linear, Calibration::Entropy] {
            let err = calibrate(&design, &bad, method, stop(1e-10, 1000), &mut []).unwrap_err();
            assert!(matches!(err, Error::Infeasible(ref m) if m.contains("contradict")), "{method:?}: {err}");
        }
        let rake = calibrate(&design, &bad, Calibration::Rake, stop(1e-10, 1000), &mut []).unwrap();
        assert!(!rake.convergence.converged);
        // sub-totals that differ by rounding (here 1e-8 of a total of 100) are tolerated: the
        // floor rises to cover them
        let rounded = vec![15.0, 20.0 + 1e-8, 10.0 - 1e-8, 15.0, 20.0, 20.0];
        let near = Constraints::new(
            bad.membership().to_vec(),
            vec![2, 3, 6],
            vec![c.targets()[0].clone(), c.targets()[1].clone(), rounded],
            vec![None; 3],
        )
        .unwrap();
        for method in [Calibration::Linear, Calibration::Entropy, logit(0.1, 3.0)] {
            let out = calibrate(&design, &near, method, stop(1e-12, 100), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}: {:?}", out.convergence);
            assert!(out.convergence.effective_tolerance < 1e-7 && out.convergence.max_deviation < 1e-7);
        }
    }

    #[test]
    fn zero_targets_zero_the_weights_for_raking_and_are_infeasible_for_logit() {
        let (c, design) = small();
        let zero = Constraints::new(
            c.membership().to_vec(),
            vec![2, 3],
            vec![vec![45.0, 55.0], vec![0.0, 60.0, 40.0]],
            vec![None, None],
        )
        .unwrap();
        for method in [Calibration::Rake, Calibration::Entropy, Calibration::Linear] {
            let out = calibrate(&design, &zero, method, stop(1e-10, 1000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}");
            assert_meets(&zero, &out.weights, 1e-9);
            if method != Calibration::Linear {
                assert_eq!(out.g_min, 0.0);
            }
        }
        let err = calibrate(&design, &zero, logit(0.2, 3.0), stop(1e-10, 100), &mut []);
        assert!(matches!(err, Err(Error::Infeasible(ref m)) if m.contains("reach only")), "{err:?}");
    }

    #[test]
    fn jointly_infeasible_logit_bounds_are_certified() {
        // a 2 × 2 table, 10 per cell. Each margin cell alone is within reach of g in (0.8, 1.25),
        // but g00 + g01 = g00 + g10 = 2.3 and g10 + g11 = g01 + g11 = 1.7 force g11 = g00 − 0.6,
        // so g00 ≥ 1.4 > U
        let membership = vec![0, 0, 0, 1, 1, 0, 1, 1];
        let design = vec![10.0; 4];
        let c = Constraints::new(membership, vec![2, 2], vec![vec![23.0, 17.0], vec![23.0, 17.0]], vec![None, None])
            .unwrap();
        let err = calibrate(&design, &c, logit(0.8, 1.25), stop(1e-10, 200), &mut []).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Infeasible(_)) && message.contains("closest margins reached"), "{message}");
        assert!(message.contains("proves it"), "{message}");
        // wider bounds, or no bounds, are fine
        for method in [logit(0.5, 1.6), Calibration::Entropy, Calibration::Rake, Calibration::Linear] {
            assert!(calibrate(&design, &c, method, stop(1e-10, 1000), &mut []).unwrap().convergence.converged);
        }
    }

    #[test]
    fn an_unweighted_sample_raked_to_population_totals_is_diagnosed() {
        // 2,000 persons weighing 1 each against targets of 64,600: g would average 32.3
        let membership: Vec<u32> = (0..2000).flat_map(|i| [i % 2, (i / 2) % 3]).collect();
        let design = vec![1.0; 2000];
        let targets = vec![vec![32_300.0, 32_300.0], vec![21_600.0, 21_500.0, 21_500.0]];
        let c = Constraints::new(membership, vec![2, 3], targets, vec![None, None]).unwrap();
        let message = calibrate(&design, &c, logit(0.3, 3.0), stop(1e-10, 200), &mut []).unwrap_err().to_string();
        assert!(
            message.contains("design weights sum to 2000 but the targets to 64600 (g would have to average 32.3"),
            "{message}"
        );
        assert!(message.contains("is a design-weight column missing"), "{message}");
        // every infeasible cell is listed, not the first ten
        assert_eq!(message.matches("reach only").count(), 5, "{message}");
    }

    #[test]
    fn margins_that_ask_the_same_records_for_different_totals_are_infeasible() {
        // the records with a = 0 are exactly those with b = 0, but the targets differ
        let membership = vec![0, 0, 1, 1, 0, 0, 1, 1];
        let design = vec![10.0; 4];
        let c = Constraints::new(membership, vec![2, 2], vec![vec![17.0, 23.0], vec![23.0, 17.0]], vec![None, None])
            .unwrap();
        for method in [logit(0.5, 2.0), Calibration::Entropy, Calibration::Linear] {
            let err = calibrate(&design, &c, method, stop(1e-10, 200), &mut []).unwrap_err();
            assert!(matches!(err, Error::Infeasible(_)), "{method:?}: {err}");
        }
        let rake = calibrate(&design, &c, Calibration::Rake, stop(1e-10, 200), &mut []).unwrap();
        assert!(!rake.convergence.converged);
    }

    /// The case of issue #19, part 5: five records whose design weights span `10^±e`, one
    /// attribute split 60/40 of the total and another 50/50 (consistent margins).
    fn wide(e: i32) -> (Constraints, Vec<f64>) {
        let (tiny, huge) = (10f64.powi(-e), 10f64.powi(e));
        // young f, young m, old f, old m, young f
        let membership = vec![0, 0, 0, 1, 1, 0, 1, 1, 0, 0];
        let targets = vec![vec![60.0, 40.0], vec![50.0, 50.0]];
        let c = Constraints::new(membership, vec![2, 2], targets, vec![None, None]).unwrap();
        (c, vec![tiny, huge, huge, tiny, 1.0])
    }

    #[test]
    fn weights_spanning_many_orders_of_magnitude_are_calibrated_by_every_method() {
        // the reproduced case: entropy said the margins contradict each other, linear failed
        // from 1e±10 on, rake converged
        let (c, design) = wide(20);
        let rake = calibrate(&design, &c, Calibration::Rake, stop(1e-9, 5000), &mut []).unwrap();
        for method in [Calibration::Rake, Calibration::Entropy, Calibration::Linear, logit(1e-30, 1e30)] {
            let out = calibrate(&design, &c, method, stop(1e-9, 1000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}: {:?}", out.convergence);
            assert_meets(&c, &out.weights, 1e-9);
            if method != Calibration::Linear {
                assert!(out.weights.iter().all(|&w| w > 0.0), "{method:?}: {:?}", out.weights);
            }
            if method == Calibration::Entropy {
                assert!(out.convergence.iterations <= 20, "{:?}", out.convergence);
                for (r, e) in rake.weights.iter().zip(&out.weights) {
                    assert!((r - e).abs() <= 1e-6 * r.abs() + 1e-9, "rake {r} vs entropy {e}");
                }
            }
        }
        // 1e±10 … 1e±100 (the seed reader refuses design weights below 1e-100)
        for e in [10, 50, 100] {
            let (c, design) = wide(e);
            for method in [Calibration::Rake, Calibration::Entropy, Calibration::Linear, logit(0.0, 1e3)] {
                let out = calibrate(&design, &c, method, stop(1e-9, 5000), &mut [])
                    .unwrap_or_else(|err| panic!("1e±{e}, {method:?}: {err}"));
                assert!(out.convergence.converged, "1e±{e}, {method:?}: {:?}", out.convergence);
                assert_meets(&c, &out.weights, 1e-9);
                if method != Calibration::Linear {
                    assert!(out.weights.iter().all(|&w| w >= 0.0), "1e±{e}, {method:?}: {:?}", out.weights);
                }
            }
        }
    }

    #[test]
    fn wide_weights_neither_hide_nor_fake_a_contradiction() {
        // margins a (2), b (3) and the a×b table, as in the test above, with design weights
        // alternating 1e-20 and 1e20 (distinct cells from 1e-20 to 2e20)
        let (c, _) = small();
        let design: Vec<f64> = (0..9).map(|i| if i % 2 == 0 { 1e-20 } else { 1e20 }).collect();
        let ab: Vec<u32> = c.membership().chunks_exact(2).flat_map(|r| [r[0], r[1], r[0] * 3 + r[1]]).collect();
        let with_joint = |joint: Vec<f64>| {
            let targets = vec![c.targets()[0].clone(), c.targets()[1].clone(), joint];
            Constraints::new(ab.clone(), vec![2, 3, 6], targets, vec![None; 3]).unwrap()
        };
        let ok = with_joint(vec![15.0, 20.0, 10.0, 15.0, 20.0, 20.0]);
        for method in [Calibration::Rake, Calibration::Linear, Calibration::Entropy, logit(0.0, 1e30)] {
            let out = calibrate(&design, &ok, method, stop(1e-9, 5000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}: {:?}", out.convergence);
            assert_meets(&ok, &out.weights, 1e-9);
        }
        let bad = with_joint(vec![20.0, 15.0, 10.0, 5.0, 30.0, 20.0]);
        for method in [Calibration::Linear, Calibration::Entropy, logit(0.0, 1e30)] {
            let err = calibrate(&design, &bad, method, stop(1e-10, 1000), &mut []).unwrap_err();
            assert!(
                matches!(err, Error::Infeasible(ref m) if m.contains("contradict each other")),
                "{method:?}: {err}"
            );
        }
    }

    #[test]
    fn entropy_proves_that_margins_needing_negative_weights_are_infeasible() {
        // no record is old and male, so old = old female = 40 and female = 30 leaves young
        // female at −10: linear meets that with a negative weight, entropy cannot
        let membership = vec![0, 0, 0, 1, 1, 0];
        let c =
            Constraints::new(membership, vec![2, 2], vec![vec![60.0, 40.0], vec![30.0, 70.0]], vec![None; 2]).unwrap();
        for design in [vec![25.0; 3], vec![1.0, 1e20, 1e-20]] {
            let methods = if design[0] == 25.0 {
                vec![Calibration::Entropy, logit(0.0, 3.0)]
            } else {
                vec![Calibration::Entropy]
            };
            for method in methods {
                let err = calibrate(&design, &c, method, stop(1e-10, 200), &mut []).unwrap_err();
                let message = err.to_string();
                assert!(matches!(err, Error::Infeasible(_)) && message.contains("proves it"), "{method:?}: {message}");
            }
            let linear = calibrate(&design, &c, Calibration::Linear, stop(1e-10, 200), &mut []).unwrap();
            assert!(linear.convergence.converged && linear.negative_weights == 1);
            assert_meets(&c, &linear.weights, 1e-10);
        }
    }

    #[test]
    fn a_numerical_failure_says_so_and_what_was_tried() {
        // logit bounds (0, 1e300) are feasible ((0, 1e3) is), but g/U underflows: the solver
        // cannot tell the weights of the heavy records apart, and must not call that infeasible
        let (c, design) = wide(20);
        let err = calibrate(&design, &c, logit(0.0, 1e300), stop(1e-10, 1000), &mut []).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Numerical(_)), "{message}");
        for needle in
            ["the solver failed numerically", "Newton step(s)", "step halving(s)", "Jacobi", "basis of 3 seed cells"]
        {
            assert!(message.contains(needle), "{needle:?} in {message}");
        }
        assert!(
            message.contains("range from 1e-20 to 1e20") && message.contains("closest margins reached"),
            "{message}"
        );
    }

    #[test]
    fn a_soft_margin_with_small_importance_gives_way_more_than_with_large() {
        let (c, design) = small();
        let soft_target = vec![20.0, 50.0, 35.0]; // total 105: cannot be met with the hard total 100
        let run = |rho: f64| {
            let s = Constraints::new(
                c.membership().to_vec(),
                vec![2, 3],
                vec![c.targets()[0].clone(), soft_target.clone()],
                vec![None, Some(rho)],
            )
            .unwrap();
            let out = calibrate(&design, &s, Calibration::Entropy, stop(1e-10, 200), &mut []).unwrap();
            assert!(out.convergence.converged, "{rho}: {:?}", out.convergence);
            assert_meets(&s, &out.weights, 1e-9);
            assert!(out.weights.iter().all(|&w| w > 0.0));
            let soft = &out.margins[1];
            let relaxed = soft.relaxed_target().unwrap();
            for (a, r) in soft.achieved.iter().zip(&relaxed) {
                assert!((a - r).abs() < 1e-9, "achieved {a} vs relaxed target {r}");
            }
            soft.target.iter().zip(&soft.achieved).map(|(t, a)| (a - t).powi(2)).sum::<f64>().sqrt()
        };
        let (tiny, unit, large) = (run(1e-3), run(1.0), run(1e4));
        assert!(tiny > unit && unit > large, "{tiny} {unit} {large}");
        // large importance: as close as the hard total allows (the 5 extra are spread out)
        assert!(large < 5.0 && tiny > 10.0, "{tiny} {large}");
        // with tiny importance the soft margin barely moves the weights off the raking to the hard margin alone
        let hard_only =
            Constraints::new(c.membership().to_vec(), vec![2, 3], c.targets().to_vec(), vec![None, Some(1e-9)])
                .unwrap();
        let alone = calibrate(&design, &hard_only, Calibration::Entropy, stop(1e-10, 200), &mut []).unwrap();
        assert!(alone.convergence.converged);
    }

    #[test]
    fn soft_only_entropy_converges_and_large_importance_nearly_meets_targets() {
        let (c, design) = small();
        let s = Constraints::new(c.membership().to_vec(), vec![2, 3], c.targets().to_vec(), vec![Some(1e6), Some(1e6)])
            .unwrap();
        let out = calibrate(&design, &s, Calibration::Entropy, stop(1e-10, 200), &mut []).unwrap();
        assert!(out.convergence.converged);
        let hard = calibrate(&design, &small().0, Calibration::Entropy, stop(1e-10, 200), &mut []).unwrap();
        for (a, b) in out.weights.iter().zip(&hard.weights) {
            assert!((a - b).abs() < 1e-3 * b, "{a} vs {b}");
        }
    }

    #[test]
    fn observers_see_every_iteration() {
        struct Count(Vec<(usize, f64)>);
        impl Observer for Count {
            fn observe(&mut self, iteration: usize, deviation: f64) {
                self.0.push((iteration, deviation));
            }
        }
        let (c, design) = small();
        for method in [Calibration::Rake, Calibration::Entropy, logit(0.5, 1.8)] {
            let mut count = Count(Vec::new());
            let out = calibrate(&design, &c, method, stop(1e-10, 1000), &mut [&mut count]).unwrap();
            assert_eq!(count.0.len(), out.convergence.iterations);
            assert_eq!(
                count.0.iter().map(|o| o.0).collect::<Vec<_>>(),
                (1..=out.convergence.iterations).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn results_do_not_depend_on_the_number_of_threads() {
        // enough distinct cells (> 4096) to be processed in several parallel chunks
        let n = 40_000;
        let sizes = vec![7usize, 11, 13, 5];
        let membership: Vec<u32> = (0..n as u64)
            .flat_map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                [(h >> 10) % 7, (h >> 20) % 11, (h >> 30) % 13, (h >> 40) % 5].map(|v| v as u32)
            })
            .collect();
        let design: Vec<f64> = (0..n).map(|i| 1.0 + (i % 17) as f64 / 4.0).collect();
        let total: f64 = design.iter().sum();
        let targets: Vec<Vec<f64>> = sizes
            .iter()
            .map(|&s| {
                (0..s)
                    .map(|j| (1.0 + (j % 3) as f64) * total / (0..s).map(|k| 1.0 + (k % 3) as f64).sum::<f64>())
                    .collect()
            })
            .collect();
        let c = Constraints::new(membership, sizes, targets, vec![None; 4]).unwrap();
        let run = |threads: usize, method: Calibration| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| calibrate(&design, &c, method, stop(1e-6, 1000), &mut []).unwrap())
        };
        for method in [Calibration::Entropy, Calibration::Linear, logit(0.2, 5.0), Calibration::Rake] {
            let one = run(1, method);
            assert!(one.distinct_cells > 4096 && one.convergence.converged, "{method:?}");
            let four = run(4, method);
            assert_eq!(one.weights, four.weights, "{method:?}");
        }
    }

    /// A random feasible problem: records, margins, design weights and targets made from
    /// "true" g-factors in [0.6, 1.6], so that logit bounds outside that range are feasible.
    fn feasible() -> impl Strategy<Value = (Constraints, Vec<f64>, f64, f64)> {
        (1usize..=3, 2usize..40)
            .prop_flat_map(|(m, n)| {
                (
                    proptest::collection::vec(1usize..=4, m),
                    Just(n),
                    proptest::collection::vec(0.5f64..3.0, n),
                    proptest::collection::vec(0.6f64..1.6, n),
                    proptest::collection::vec(any::<u32>(), n * m),
                )
            })
            .prop_map(|(sizes, n, design, truth, raw)| {
                let m = sizes.len();
                let membership: Vec<u32> = raw.iter().enumerate().map(|(k, &r)| r % sizes[k % m] as u32).collect();
                let mut targets: Vec<Vec<f64>> = sizes.iter().map(|&s| vec![0.0; s]).collect();
                for i in 0..n {
                    for (k, t) in targets.iter_mut().enumerate() {
                        t[membership[i * m + k] as usize] += design[i] * truth[i];
                    }
                }
                let lower = (truth.iter().copied().fold(f64::INFINITY, f64::min) * 0.95).min(0.9);
                let upper = (truth.iter().copied().fold(0.0, f64::max) * 1.05).max(1.1);
                (Constraints::new(membership, sizes, targets, vec![None; m]).unwrap(), design, lower, upper)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn hard_targets_are_met_with_positive_bounded_weights((c, design, lower, upper) in feasible()) {
            let total: f64 = c.targets()[0].iter().sum();
            let tol = 1e-10 * total;
            let rake = calibrate(&design, &c, Calibration::Rake, stop(tol, 200_000), &mut []).unwrap();
            let entropy = calibrate(&design, &c, Calibration::Entropy, stop(tol, 200), &mut []).unwrap();
            let logit = calibrate(&design, &c, logit(lower, upper), stop(tol, 200), &mut []).unwrap();
            let linear = calibrate(&design, &c, Calibration::Linear, stop(tol, 5), &mut []).unwrap();
            for out in [&rake, &entropy, &logit, &linear] {
                prop_assert!(out.convergence.converged, "{:?}: {:?}", out.method, out.convergence);
                assert_meets(&c, &out.weights, out.convergence.effective_tolerance);
            }
            prop_assert!(linear.convergence.iterations <= 2);
            for out in [&rake, &entropy, &logit] {
                prop_assert!(out.weights.iter().all(|&w| w > 0.0), "{:?}", out.method);
            }
            prop_assert!(logit.g_min > lower && logit.g_max < upper);
            for (r, e) in rake.weights.iter().zip(&entropy.weights) {
                prop_assert!((r - e).abs() <= 1e-6 * r.abs().max(1e-3), "rake {} vs entropy {}", r, e);
            }
        }

        #[test]
        fn logit_bounds_inside_every_feasible_g_range_are_refused((c, design, _l, _u) in feasible()) {
            // bounds that exclude the exact design-weighted g of some cell with a pinned total
            let out = calibrate(&design, &c, logit(0.99, 1.01), stop(1e-9, 500), &mut []);
            match out {
                Ok(fit) => prop_assert!(fit.g_min > 0.99 && fit.g_max < 1.01),
                Err(Error::Infeasible(m)) => prop_assert!(m.contains("logit bounds")),
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
    }

    /// [`feasible`] with a numeric total: each record's value in `[0, 1e5)`, the total reached
    /// by the same "true" g-factors, and a second total of the same values within margin 0's
    /// first cell.
    fn feasible_with_totals() -> impl Strategy<Value = (Constraints, Vec<f64>, f64, f64)> {
        feasible()
            .prop_flat_map(|(c, design, lower, upper)| {
                let n = c.records();
                (Just(c), Just(design), Just(lower), Just(upper), proptest::collection::vec(0.0f64..1e5, n))
            })
            .prop_map(|(c, design, lower, upper, values)| {
                // the targets came from truth g; recover a g that meets them: the margins' raking
                let truth = calibrate(
                    &design,
                    &c,
                    Calibration::Rake,
                    stop(1e-12 * c.targets()[0].iter().sum::<f64>(), 200_000),
                    &mut [],
                )
                .unwrap()
                .weights;
                let within: Vec<f64> = values
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| if c.membership()[i * c.margins()] == 0 { v } else { 0.0 })
                    .collect();
                let total = |v: &[f64]| v.iter().zip(&truth).map(|(v, w)| v * w).sum::<f64>();
                let totals = vec![
                    NumericTotal::new("x", values.clone(), total(&values)).unwrap(),
                    NumericTotal::new("x within", within.clone(), total(&within)).unwrap(),
                ];
                (c.with_totals(totals).unwrap(), design, lower, upper)
            })
    }

    /// `Σᵢ wᵢ vᵢ` of every numeric total of `c`.
    fn numeric_achieved(c: &Constraints, weights: &[f64]) -> Vec<f64> {
        c.totals().iter().map(|t| t.values().iter().zip(weights).map(|(v, w)| v * w).sum()).collect()
    }

    #[test]
    fn numeric_totals_are_checked_named_and_reported() {
        let (c, design) = small();
        assert!(matches!(
            c.clone().with_totals(vec![NumericTotal::new("x", vec![1.0; 3], 5.0).unwrap()]),
            Err(Error::Inconsistent(_))
        ));
        assert!(NumericTotal::new("x", vec![1.0], f64::INFINITY).is_err());
        let values: Vec<f64> = (0..9).map(|i| 10.0 + i as f64).collect();
        let with = |total: f64, values: Vec<f64>| {
            c.clone().with_totals(vec![NumericTotal::new("income", values, total).unwrap()]).unwrap()
        };
        let known = with(1400.0, values.clone());
        assert_eq!(known.cell_name(2, 0), "total of income");
        for method in [Calibration::Rake, Calibration::Linear, logit(0.3, 3.0), Calibration::Entropy] {
            let out = calibrate(&design, &known, method, stop(1e-10, 1000), &mut []).unwrap();
            assert!(out.convergence.converged, "{method:?}: {:?}", out.convergence);
            assert_meets(&known, &out.weights, 1e-9);
            let reached = out.totals[0];
            assert_eq!(reached.target, 1400.0);
            assert!((reached.achieved - 1400.0).abs() < 1e-9 * 1400.0, "{method:?}: {reached:?}");
            assert!((numeric_achieved(&known, &out.weights)[0] - 1400.0).abs() < 1e-9 * 1400.0);
        }
        // a nonzero total of values that are all zero cannot be reached
        let err =
            calibrate(&design, &with(5.0, vec![0.0; 9]), Calibration::Linear, stop(1e-10, 10), &mut []).unwrap_err();
        assert!(matches!(err, Error::Infeasible(ref m) if m.contains("total of income: target 5")), "{err}");
        // a total beyond what non-negative weights reach is proven infeasible, named in units of the values
        let err =
            calibrate(&design, &with(5000.0, values), Calibration::Entropy, stop(1e-10, 200), &mut []).unwrap_err();
        assert!(matches!(err, Error::Infeasible(ref m) if m.contains("total of income: target 5000")), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn numeric_totals_are_met_to_1e_9_relative_by_every_method((c, design, lower, upper) in feasible_with_totals()) {
            let total: f64 = c.targets()[0].iter().sum();
            let tol = 1e-11 * total;
            let rake = calibrate(&design, &c, Calibration::Rake, stop(tol, 200), &mut []).unwrap();
            let entropy = calibrate(&design, &c, Calibration::Entropy, stop(tol, 200), &mut []).unwrap();
            let logit = calibrate(&design, &c, logit(lower * 0.9, upper * 1.1), stop(tol, 200), &mut []).unwrap();
            let linear = calibrate(&design, &c, Calibration::Linear, stop(tol, 5), &mut []).unwrap();
            for out in [&rake, &entropy, &logit, &linear] {
                prop_assert!(out.convergence.converged, "{:?}: {:?}", out.method, out.convergence);
                assert_meets(&c, &out.weights, 1e-9 * total);
                for (t, a) in c.totals().iter().zip(numeric_achieved(&c, &out.weights)) {
                    prop_assert!((a - t.total()).abs() <= 1e-9 * t.total().abs().max(1.0), "{:?}: {} vs {}", out.method, a, t.total());
                }
            }
            prop_assert!(rake.weights.iter().all(|&w| w > 0.0));
            for (r, e) in rake.weights.iter().zip(&entropy.weights) {
                prop_assert_eq!(r, e, "rake with numeric totals is solved as entropy is");
            }
        }
    }
}
