//! Margin-preserving integerization: controlled rounding, then a search over profile totals.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use rand::seq::SliceRandom;
use rand::Rng;

use super::{margin_errors, validate_margins, validate_weights, MarginError, MAX_TOTAL};
use crate::error::{Error, Result};

/// Upper bound on the work (profile × margin evaluations) spent in the variable-depth search of
/// [`margin_preserving`], so that infeasible or very hard problems still return promptly.
const SEARCH_BUDGET: u64 = 200_000_000;

/// Upper bound on the repair passes of [`margin_preserving`] (each pass either improves the margin
/// distance or ends the repair).
const MAX_PASSES: usize = 10_000;

/// Result of [`margin_preserving`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Integerized {
    /// Integer count of each record, in record order.
    pub counts: Vec<u64>,
    /// Whether every margin total equals its target exactly.
    pub exact: bool,
    /// Largest absolute cell error over all margins (0 when `exact`).
    pub max_abs_margin_error: u64,
    /// Error of each margin, in margin order.
    pub margin_errors: Vec<MarginError>,
    /// Number of records whose count is neither the floor nor the ceiling of their weight. Zero
    /// unless exact margins could only be reached by moving further from the weights (or the
    /// weights' total disagrees with the targets').
    pub outside_bounds: usize,
}

/// Margin-preserving integerization: integer counts whose margin totals equal the integer targets
/// exactly where feasible.
///
/// # Inputs
/// * `weights` — one non-negative weight per record (typically calibrated weights).
/// * `membership` — records × margins, row-major: `membership[i * margins + m]` is the cell, within
///   margin `m`, that record `i` belongs to (`0..margin_sizes[m]`).
/// * `margin_sizes` — the number of cells of each margin.
/// * `targets` — the integer target of every cell of every margin; all margins must have the same
///   total.
///
/// Records with weight zero always get count zero (a zero calibrated weight excludes the record).
///
/// # Algorithm
/// Records with the same cells in every margin ("profiles") are interchangeable as far as the
/// margins are concerned, so the search works on profile totals `N_p`, whose preferred range is
/// `[Σ⌊w⌋, Σ⌈w⌉]` over the profile's records (exactly the totals that can be split into per-record
/// counts at the floor or ceiling of each weight). The residual of a cell is its target minus its
/// current total; the search minimizes, lexicographically, the *margin distance*
/// `D = Σ|residual|` and then the number of units outside the preferred ranges.
///
/// 1. **Controlled rounding.** Every record starts at `⌊w⌋`. Records are visited in a random order
///    in which record `i` tends to come early the larger its fractional part `f_i`
///    (Efraimidis–Spirakis keys `u^(1/f_i)`, the order of successive sampling ∝ `f_i`), and a
///    record is rounded up when all of its cells still have a positive residual, so no cell is
///    overshot.
/// 2. **Repair passes**, first with every profile held inside its preferred range and then, only if
///    that did not reach `D = 0`, allowing totals beyond it. A pass:
///    * *greedy fill* — profiles whose cells are all short (all over) gain (lose) units; beyond
///      the ranges, one unit per profile per round, most under- (over-) represented relative to
///      the weight first (D'Hondt priority);
///    * *total fix* — if the margins are still short (over) by the same amount, units are added to
///      (removed from) the profiles that fix the most cells, one at a time;
///    * *transfer chains* — per margin, units move between profiles that differ only in that
///      margin (so no other margin changes), along the shortest chain of such moves from an
///      over-full cell to a short cell, found by breadth-first search over the margin's cells;
///      each chain lowers `D` by 2, and moves are chosen to bring profile totals closest to their
///      weights. For one margin this is an augmenting path in the transportation problem between
///      groups of profiles and cells.
///
///    A pass that does not improve the objective is undone and followed by a **variable-depth
///    search** (Kernighan & Lin 1970): sequences of up to `4·margins + 4` single-unit additions or
///    removals, each the best available (on restarts the first move, and 10% of later moves, are
///    random), every moved profile locked against the opposite move, keeping the best improving
///    prefix. This handles sparse seeds where profiles differing in a single margin are missing.
/// 3. **Back to records.** Within each profile, extra units round up the not-yet-rounded records
///    with the best step-1 keys and missing units undo the roundings with the worst keys; units
///    beyond the preferred range are apportioned by D'Hondt on the weights.
///
/// PopulationSim's integerizer reaches the same goal by solving a linear relaxation and then an
/// integer program with a solver; this heuristic needs none and runs in about linear time on
/// typical problems (100,000 records, four one-way margins: tens of milliseconds).
///
/// # Guarantees
/// * Deterministic for a given generator state.
/// * Terminates: each pass must improve the objective or ends its stage, passes are capped, and all
///   passes and searches draw on a fixed work budget (about a second of search at most).
/// * `exact` is true exactly when every margin total equals its target; otherwise the counts are
///   still returned, with the errors reported in `margin_errors` and `max_abs_margin_error`.
/// * When the seed covers every combination of the margins' cells (with positive weight), the
///   margins are always met exactly: the total fix and one-step transfers suffice (for problems of
///   up to 10^8 profile × margin entries, which fit the work budget). On sparse seeds
///   exactness is not guaranteed even when a solution exists — with three or more margins, exact
///   feasibility is NP-hard in general (it contains 3-dimensional matching) — but in tests the
///   search found one in every feasible random instance tried (tens of thousands of three-attribute
///   seeds of 3–60 records, and thousands with up to 8 attributes).
/// * Counts beyond the floor or ceiling of their weight are used only after the search within
///   them failed (or when the weights' total disagrees with the targets'); `outside_bounds` says
///   how many records have one.
///
/// # Errors
/// * [`Error::Input`] for an invalid weight (negative, NaN, infinite, above 2^52), length
///   mismatches, no margins, an empty margin, or a membership code out of range.
/// * [`Error::Inconsistent`] when the margins' target totals differ.
/// * [`Error::TooLarge`] when the target total or the weights' total exceeds 2^52.
pub fn margin_preserving(
    weights: &[f64],
    membership: &[u32],
    margin_sizes: &[usize],
    targets: &[Vec<u64>],
    rng: &mut impl Rng,
) -> Result<Integerized> {
    validate_weights(weights)?;
    validate_margins(weights.len(), membership, margin_sizes, targets)?;
    if weights.iter().sum::<f64>() > MAX_TOTAL as f64 {
        return Err(Error::TooLarge("the weights total more than 2^52".to_string()));
    }
    let n = weights.len();
    let nm = margin_sizes.len();

    let mut offsets = Vec::with_capacity(nm);
    let mut ncells = 0;
    for &k in margin_sizes {
        offsets.push(ncells);
        ncells += k;
    }

    // Group records with positive weight into profiles, numbered in order of first appearance.
    let mut index: HashMap<&[u32], usize> = HashMap::new();
    let mut profile_of = vec![usize::MAX; n];
    let mut cells: Vec<usize> = Vec::new();
    let mut pweight: Vec<f64> = Vec::new();
    let mut lo: Vec<i64> = Vec::new();
    let mut hi: Vec<i64> = Vec::new();
    for (i, &w) in weights.iter().enumerate() {
        if w <= 0.0 {
            continue;
        }
        let row = &membership[i * nm..(i + 1) * nm];
        let p = *index.entry(row).or_insert_with(|| {
            cells.extend(row.iter().zip(&offsets).map(|(&k, &off)| off + k as usize));
            pweight.push(0.0);
            lo.push(0);
            hi.push(0);
            pweight.len() - 1
        });
        profile_of[i] = p;
        pweight[p] += w;
        lo[p] += w.floor() as i64;
        hi[p] += w.ceil() as i64;
    }
    drop(index);

    let mut resid = vec![0i64; ncells];
    for (m, t) in targets.iter().enumerate() {
        for (k, &v) in t.iter().enumerate() {
            resid[offsets[m] + k] = v as i64;
        }
    }
    let nprof = pweight.len();
    let mut state = State {
        nm,
        offsets,
        sizes: margin_sizes.to_vec(),
        cells,
        weight: pweight,
        lo: lo.clone(),
        hi,
        count: vec![0; nprof],
        resid,
        dist: 0,
        oob: 0,
        journal: None,
    };
    state.dist = state.resid.iter().map(|r| r.abs()).sum();
    state.oob = lo.iter().sum();
    for (p, &l) in lo.iter().enumerate() {
        state.shift(p, l);
    }

    // Step 1: controlled rounding at record level, in Efraimidis–Spirakis key order.
    let mut counts: Vec<u64> = weights.iter().map(|w| w.floor() as u64).collect();
    let mut keys = vec![f64::NEG_INFINITY; n];
    let mut order: Vec<usize> = Vec::new();
    for (i, &w) in weights.iter().enumerate() {
        let f = w - w.floor();
        if f > 0.0 {
            let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
            keys[i] = u.ln() / f;
            order.push(i);
        }
    }
    order.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]).then(a.cmp(&b)));
    let mut rounded_up = vec![false; n];
    for &i in &order {
        let p = profile_of[i];
        if state.all_short(p) {
            state.shift(p, 1);
            counts[i] += 1;
            rounded_up[i] = true;
        }
    }
    let after_rounding = state.count.clone();

    // Step 2: profile-level repair passes and search.
    let mut porder: Vec<usize> = (0..nprof).collect();
    porder.shuffle(rng);
    let fibers = Fibers::new(&state);
    let mut search = SearchScratch { dir: vec![0; nprof], touched: Vec::new(), moves: Vec::new() };
    let pass_cost = (nprof * nm) as u64 + 1;
    // Half the work budget for the search within the preferred ranges; the rest (with whatever that
    // search left) for the search beyond them.
    let mut budget = SEARCH_BUDGET / 2;
    for within in [true, false] {
        if !within {
            budget += SEARCH_BUDGET / 2;
        }
        for _ in 0..MAX_PASSES {
            if state.objective() == (0, 0) || budget < pass_cost {
                break;
            }
            budget -= pass_cost;
            let before = state.objective();
            if state.dist > 0 {
                state.journal = Some(Vec::new());
                state.greedy_fill(&porder, within);
                state.fix_total(within);
                state.transfer_chains(&fibers, within);
                state.greedy_fill(&porder, within);
                let journal = state.journal.take().expect("journal started above");
                if state.objective() < before {
                    continue;
                }
                // No progress: undo the pass (fix_total may have made things worse) and search.
                for &(p, d) in journal.iter().rev() {
                    state.shift(p, -d);
                }
            }
            if !state.variable_depth(rng, &mut budget, &mut search, within) {
                break;
            }
        }
    }

    // Step 3: profile totals back to record counts.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nprof];
    for (i, &p) in profile_of.iter().enumerate() {
        if p != usize::MAX {
            members[p].push(i);
        }
    }
    for (p, list) in members.iter().enumerate() {
        let diff = state.count[p] - after_rounding[p];
        match diff.cmp(&0) {
            Ordering::Greater => {
                let mut cand: Vec<usize> =
                    list.iter().copied().filter(|&i| weights[i].fract() > 0.0 && !rounded_up[i]).collect();
                cand.sort_by(|&a, &b| keys[b].total_cmp(&keys[a]).then(a.cmp(&b)));
                let take = cand.len().min(diff as usize);
                for &i in &cand[..take] {
                    counts[i] += 1;
                }
                apportion_up(list, weights, &mut counts, diff as u64 - take as u64);
            }
            Ordering::Less => {
                let mut cand: Vec<usize> = list.iter().copied().filter(|&i| rounded_up[i]).collect();
                cand.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]).then(a.cmp(&b)));
                let need = (-diff) as usize;
                let take = cand.len().min(need);
                for &i in &cand[..take] {
                    counts[i] -= 1;
                }
                apportion_down(list, weights, &mut counts, (need - take) as u64);
            }
            Ordering::Equal => {}
        }
    }

    let margin_errors = margin_errors(&counts, membership, margin_sizes, targets);
    let max_abs_margin_error = margin_errors.iter().map(|e| e.max_abs_error).max().unwrap_or(0);
    debug_assert_eq!(margin_errors.iter().map(|e| e.sum_abs_error as i64).sum::<i64>(), state.dist);
    let outside_bounds =
        counts.iter().zip(weights).filter(|&(&c, &w)| (c as f64) < w.floor() || (c as f64) > w.ceil()).count();
    Ok(Integerized { counts, exact: max_abs_margin_error == 0, max_abs_margin_error, margin_errors, outside_bounds })
}

/// Gives `extra` more units to the positive-weight records of `list`, one at a time to the record
/// with the largest `w / (count + 1)` (D'Hondt), ties to the lower index.
fn apportion_up(list: &[usize], weights: &[f64], counts: &mut [u64], extra: u64) {
    if extra == 0 {
        return;
    }
    let mut heap: BinaryHeap<(Prio, std::cmp::Reverse<usize>)> =
        list.iter().map(|&i| (Prio(weights[i] / (counts[i] + 1) as f64), std::cmp::Reverse(i))).collect();
    for _ in 0..extra {
        let (_, std::cmp::Reverse(i)) = heap.pop().expect("a profile has at least one positive-weight record");
        counts[i] += 1;
        heap.push((Prio(weights[i] / (counts[i] + 1) as f64), std::cmp::Reverse(i)));
    }
}

/// Takes `fewer` units from the records of `list`, one at a time from the record with the largest
/// `count / w` (the most over-represented), ties to the lower index.
fn apportion_down(list: &[usize], weights: &[f64], counts: &mut [u64], fewer: u64) {
    if fewer == 0 {
        return;
    }
    let mut heap: BinaryHeap<(Prio, std::cmp::Reverse<usize>)> = list
        .iter()
        .filter(|&&i| counts[i] > 0)
        .map(|&i| (Prio(counts[i] as f64 / weights[i]), std::cmp::Reverse(i)))
        .collect();
    for _ in 0..fewer {
        let (_, std::cmp::Reverse(i)) = heap.pop().expect("profile totals never go below zero");
        counts[i] -= 1;
        if counts[i] > 0 {
            heap.push((Prio(counts[i] as f64 / weights[i]), std::cmp::Reverse(i)));
        }
    }
}

/// A totally ordered `f64` for heaps and keys: equality and order are both [`f64::total_cmp`]'s, so
/// `-0.0` and `0.0` differ and a NaN equals itself, as `Ord` and `Eq` require of each other.
#[derive(Debug, Clone, Copy)]
struct Prio(f64);
impl PartialEq for Prio {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Prio {}
impl PartialOrd for Prio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Prio {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A single-unit move: profile and direction (+1 add, −1 remove).
type Move = (usize, i64);

/// How good a move is: change of the margin distance, then of the units out of range (lower is
/// better).
type MoveKey = (i64, i64);

/// Priority of a profile when fixing the total: change of the margin distance, of the units out of
/// range, then minus the profile's representation deficit (lower is better).
type TotalKey = (i64, i64, Prio);

/// Profile-level state of the margin-preserving search.
struct State {
    /// Number of margins.
    nm: usize,
    /// First global cell index of each margin.
    offsets: Vec<usize>,
    /// Cells per margin.
    sizes: Vec<usize>,
    /// Profiles × margins, row-major: global cell index.
    cells: Vec<usize>,
    /// Total weight of each profile.
    weight: Vec<f64>,
    /// Preferred range of each profile total: Σ⌊w⌋ ..= Σ⌈w⌉.
    lo: Vec<i64>,
    hi: Vec<i64>,
    /// Current profile totals.
    count: Vec<i64>,
    /// Target minus current total, per global cell.
    resid: Vec<i64>,
    /// Σ |resid|.
    dist: i64,
    /// Units outside the preferred ranges: Σ max(0, count − hi) + max(0, lo − count).
    oob: i64,
    /// When set, every shift is recorded so that a repair pass can be undone.
    journal: Option<Vec<Move>>,
}

/// Profiles grouped, per margin, by their cells in all other margins: a transfer between two
/// members of a group changes only that margin.
struct Fibers {
    /// Per margin: the group of each profile.
    group_of: Vec<Vec<usize>>,
    /// Per margin: the members of each group.
    members: Vec<Vec<Vec<usize>>>,
    /// Per global cell: the profiles in it.
    in_cell: Vec<Vec<usize>>,
}

impl Fibers {
    fn new(s: &State) -> Self {
        let nprof = s.count.len();
        // Hash each profile's cells with fixed odd multipliers; the key of a profile without margin m
        // is its hash minus margin m's term. Sorting by (key, cells without m) puts each group in a
        // contiguous run without allocating a key per profile and margin.
        let mult: Vec<u64> =
            (0..s.nm as u64).map(|m| (m + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) | 1).collect();
        let hash: Vec<u64> = (0..nprof)
            .map(|p| {
                s.cells_of(p).iter().zip(&mult).fold(0u64, |h, (&c, &k)| h.wrapping_add((c as u64 + 1).wrapping_mul(k)))
            })
            .collect();
        let mut group_of = Vec::with_capacity(s.nm);
        let mut members = Vec::with_capacity(s.nm);
        for (m, &mult_m) in mult.iter().enumerate() {
            let rest = |p: usize| s.cells_of(p).iter().enumerate().filter(move |&(j, _)| j != m).map(|(_, &c)| c);
            let mut keyed: Vec<(u64, usize)> = (0..nprof)
                .map(|p| (hash[p].wrapping_sub((s.cells_of(p)[m] as u64 + 1).wrapping_mul(mult_m)), p))
                .collect();
            keyed.sort_unstable();
            let mut of = vec![0; nprof];
            let mut mem: Vec<Vec<usize>> = Vec::new();
            let mut start = 0;
            while start < nprof {
                let mut end = start + 1;
                while end < nprof && keyed[end].0 == keyed[start].0 {
                    end += 1;
                }
                // Equal keys almost always mean the same group; sorting the run separates collisions.
                let run = &mut keyed[start..end];
                if run.len() > 1 {
                    run.sort_unstable_by(|a, b| rest(a.1).cmp(rest(b.1)).then(a.1.cmp(&b.1)));
                }
                for (j, &(_, p)) in run.iter().enumerate() {
                    if j == 0 || rest(run[j - 1].1).ne(rest(p)) {
                        mem.push(Vec::new());
                    }
                    mem.last_mut().expect("pushed above").push(p);
                    of[p] = mem.len() - 1;
                }
                start = end;
            }
            group_of.push(of);
            members.push(mem);
        }
        let mut in_cell = vec![Vec::new(); s.resid.len()];
        for p in 0..nprof {
            for &c in s.cells_of(p) {
                in_cell[c].push(p);
            }
        }
        Fibers { group_of, members, in_cell }
    }
}

/// Reusable buffers of the variable-depth search.
struct SearchScratch {
    /// Direction each profile has moved in the current trial (0: not moved).
    dir: Vec<i8>,
    touched: Vec<usize>,
    moves: Vec<Move>,
}

impl State {
    fn cells_of(&self, p: usize) -> &[usize] {
        &self.cells[p * self.nm..(p + 1) * self.nm]
    }

    /// Units of profile `p` outside its preferred range if its total were `n`.
    fn outside(&self, p: usize, n: i64) -> i64 {
        (n - self.hi[p]).max(0) + (self.lo[p] - n).max(0)
    }

    /// The search objective, compared lexicographically: margin distance, then units out of range.
    fn objective(&self) -> (i64, i64) {
        (self.dist, self.oob)
    }

    /// Adds `delta` units to profile `p`.
    fn shift(&mut self, p: usize, delta: i64) {
        if let Some(j) = &mut self.journal {
            j.push((p, delta));
        }
        self.oob += self.outside(p, self.count[p] + delta) - self.outside(p, self.count[p]);
        self.count[p] += delta;
        for m in 0..self.nm {
            let c = self.cells[p * self.nm + m];
            let old = self.resid[c];
            let new = old - delta;
            self.resid[c] = new;
            self.dist += new.abs() - old.abs();
        }
    }

    fn all_short(&self, p: usize) -> bool {
        self.cells_of(p).iter().all(|&c| self.resid[c] > 0)
    }

    fn all_over(&self, p: usize) -> bool {
        self.cells_of(p).iter().all(|&c| self.resid[c] < 0)
    }

    /// Change of `dist` if a unit were added to `p`.
    fn gain_add(&self, p: usize) -> i64 {
        self.cells_of(p).iter().map(|&c| if self.resid[c] > 0 { -1 } else { 1 }).sum()
    }

    /// Change of `dist` if a unit were removed from `p`.
    fn gain_remove(&self, p: usize) -> i64 {
        self.cells_of(p).iter().map(|&c| if self.resid[c] < 0 { -1 } else { 1 }).sum()
    }

    /// Target total minus current total (the same for every margin).
    fn total_shortfall(&self) -> i64 {
        self.resid[..self.sizes[0]].iter().sum()
    }

    /// Step 2a: adds units to profiles whose cells are all short and removes units from profiles
    /// whose cells are all over, within the preferred ranges first, then beyond them by priority.
    fn greedy_fill(&mut self, order: &[usize], within: bool) {
        loop {
            let mut changed = false;
            for &p in order {
                while self.count[p] < self.hi[p] && self.all_short(p) {
                    self.shift(p, 1);
                    changed = true;
                }
                while self.count[p] > self.lo[p] && self.all_over(p) {
                    self.shift(p, -1);
                    changed = true;
                }
            }
            if changed {
                continue;
            }
            if within {
                break;
            }
            // Beyond the preferred ranges: one unit per profile per round, most under-represented
            // (over-represented) profiles first.
            let mut up: Vec<usize> = order.iter().copied().filter(|&p| self.all_short(p)).collect();
            up.sort_by(|&a, &b| {
                let pa = self.weight[a] / (self.count[a] + 1) as f64;
                let pb = self.weight[b] / (self.count[b] + 1) as f64;
                pb.total_cmp(&pa)
            });
            for p in up {
                if self.all_short(p) {
                    self.shift(p, 1);
                    changed = true;
                }
            }
            let mut down: Vec<usize> =
                order.iter().copied().filter(|&p| self.count[p] > 0 && self.all_over(p)).collect();
            down.sort_by(|&a, &b| {
                let pa = self.count[a] as f64 / self.weight[a];
                let pb = self.count[b] as f64 / self.weight[b];
                pb.total_cmp(&pa)
            });
            for p in down {
                if self.count[p] > 0 && self.all_over(p) {
                    self.shift(p, -1);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Step 2b: brings the total to the target, one unit at a time, each added to (removed from) the
    /// profile that fixes the most cells, then that stays inside its range, then the most
    /// under-represented (over-represented) one. Adding units only makes other profiles' keys worse,
    /// so a lazily updated heap finds the best profile (stale keys are lower bounds).
    fn fix_total(&mut self, within: bool) {
        let short = self.total_shortfall();
        if short == 0 {
            return;
        }
        let step = short.signum();
        let key = |s: &State, p: usize| -> Option<TotalKey> {
            let n = s.count[p];
            let db = s.outside(p, n + step) - s.outside(p, n);
            if (within && db > 0) || n + step < 0 {
                return None;
            }
            Some(if step > 0 {
                (s.gain_add(p), db, Prio(-s.weight[p] / (n + 1) as f64))
            } else {
                (s.gain_remove(p), db, Prio(-(n as f64) / s.weight[p]))
            })
        };
        let mut heap: BinaryHeap<std::cmp::Reverse<(TotalKey, usize)>> =
            (0..self.count.len()).filter_map(|p| key(self, p).map(|k| std::cmp::Reverse((k, p)))).collect();
        let mut remaining = short.abs();
        while remaining > 0 {
            let Some(std::cmp::Reverse((old, p))) = heap.pop() else { return };
            let Some(new) = key(self, p) else { continue };
            if new == old {
                self.shift(p, step);
                remaining -= 1;
                if let Some(next) = key(self, p) {
                    heap.push(std::cmp::Reverse((next, p)));
                }
            } else {
                heap.push(std::cmp::Reverse((new, p)));
            }
        }
    }

    /// Step 3: per margin, repairs errors with chains of transfers between profiles that differ only
    /// in that margin, within the preferred ranges first.
    fn transfer_chains(&mut self, fibers: &Fibers, within: bool) {
        for strict in if within { &[true][..] } else { &[true, false][..] } {
            let strict = *strict;
            for m in 0..self.nm {
                while self.transfer_chain(fibers, m, strict) {}
            }
        }
    }

    /// Finds and applies one shortest chain of transfers in margin `m` from an over-full cell to a
    /// short cell; returns whether one was found.
    fn transfer_chain(&mut self, fibers: &Fibers, m: usize, within: bool) -> bool {
        let off = self.offsets[m];
        let k = self.sizes[m];
        let r = &self.resid[off..off + k];
        if !r.iter().any(|&x| x > 0) || !r.iter().any(|&x| x < 0) {
            return false;
        }
        // prev[c]: the transfer (from profile, to profile, from cell) that reached cell c.
        let mut prev: Vec<Option<(usize, usize, usize)>> = vec![None; k];
        let mut visited: Vec<bool> = r.iter().map(|&x| x < 0).collect();
        let mut queue: std::collections::VecDeque<usize> = (0..k).filter(|&c| visited[c]).collect();
        let mut best: Vec<Option<(f64, usize, usize)>> = vec![None; k];
        while let Some(b) = queue.pop_front() {
            for slot in best.iter_mut() {
                *slot = None;
            }
            for &q in &fibers.in_cell[off + b] {
                if self.count[q] <= if within { self.lo[q] } else { 0 } {
                    continue;
                }
                for &p in &fibers.members[m][fibers.group_of[m][q]] {
                    let c = self.cells[p * self.nm + m] - off;
                    if visited[c] || (within && self.count[p] >= self.hi[p]) {
                        continue;
                    }
                    // Least-squares closeness to the weights: prefer moving from the most over- to
                    // the most under-represented profile.
                    let score = (self.weight[p] - self.count[p] as f64) + (self.count[q] as f64 - self.weight[q]);
                    if best[c].is_none_or(|(s, _, _)| score > s) {
                        best[c] = Some((score, q, p));
                    }
                }
            }
            for c in 0..k {
                if let Some((_, q, p)) = best[c] {
                    visited[c] = true;
                    prev[c] = Some((q, p, b));
                    if self.resid[off + c] > 0 {
                        let mut cur = c;
                        while let Some((q, p, from)) = prev[cur] {
                            self.shift(q, -1);
                            self.shift(p, 1);
                            cur = from;
                        }
                        return true;
                    }
                    queue.push_back(c);
                }
            }
        }
        false
    }

    /// Step 4: one round of Kernighan–Lin style variable-depth search; returns whether the objective
    /// decreased. With `within`, no move may leave a preferred range.
    fn variable_depth(&mut self, rng: &mut impl Rng, budget: &mut u64, s: &mut SearchScratch, within: bool) -> bool {
        let start = self.objective();
        let nprof = self.count.len();
        let depth = 4 * self.nm + 4;
        let trials = (50 * nprof).clamp(16, 20_000);
        let step_cost = (nprof * self.nm) as u64 + 1;
        for trial in 0..trials {
            let mut best = (start, 0usize);
            for step in 0..depth {
                if *budget < step_cost {
                    break;
                }
                *budget -= step_cost;
                // Restarts begin with a random move and take a random move at 10% of later steps.
                let random = trial > 0 && (step == 0 || rng.random_bool(0.1));
                let Some((p, d)) = self.pick_move(rng, &s.dir, random, within) else { break };
                self.shift(p, d);
                if s.dir[p] == 0 {
                    s.touched.push(p);
                }
                s.dir[p] = d as i8;
                s.moves.push((p, d));
                if self.objective() < best.0 {
                    best = (self.objective(), s.moves.len());
                }
                if self.objective() == (0, 0) {
                    break;
                }
            }
            while s.moves.len() > best.1 {
                let (p, d) = s.moves.pop().expect("length checked");
                self.shift(p, -d);
            }
            s.moves.clear();
            for p in s.touched.drain(..) {
                s.dir[p] = 0;
            }
            if best.0 < start {
                return true;
            }
            if *budget < step_cost {
                return false;
            }
        }
        false
    }

    /// The best single-unit move that does not reverse a profile already moved in this trial: lowest
    /// change of the margin distance, then of the units out of range, ties broken at random. With
    /// `random`, a uniformly random useful move instead. A move is useful if it fixes a cell error or
    /// brings a profile back towards its range; with `within`, no move may leave a range.
    fn pick_move(&self, rng: &mut impl Rng, dir: &[i8], random: bool, within: bool) -> Option<Move> {
        let mut best: Option<(MoveKey, Move)> = None;
        let mut ties = 0u32;
        for (p, &moved) in dir.iter().enumerate() {
            let cells = self.cells_of(p);
            let n = self.count[p];
            let here = self.outside(p, n);
            if moved >= 0 {
                let db = self.outside(p, n + 1) - here;
                if !(within && db > 0) && (db < 0 || cells.iter().any(|&c| self.resid[c] > 0)) {
                    let key = if random { (0, 0) } else { (self.gain_add(p), db) };
                    consider(&mut best, &mut ties, key, (p, 1), rng);
                }
            }
            if moved <= 0 && n > 0 {
                let db = self.outside(p, n - 1) - here;
                if !(within && db > 0) && (db < 0 || cells.iter().any(|&c| self.resid[c] < 0)) {
                    let key = if random { (0, 0) } else { (self.gain_remove(p), db) };
                    consider(&mut best, &mut ties, key, (p, -1), rng);
                }
            }
        }
        best.map(|(_, mv)| mv)
    }
}

/// Keeps the candidate with the smallest key, choosing uniformly among equal keys (reservoir
/// sampling).
fn consider(best: &mut Option<(MoveKey, Move)>, ties: &mut u32, key: MoveKey, mv: Move, rng: &mut impl Rng) {
    match best {
        Some((k, _)) if key > *k => {}
        Some((k, m)) if key == *k => {
            *ties += 1;
            if rng.random_range(0..*ties) == 0 {
                *m = mv;
            }
        }
        _ => {
            *best = Some((key, mv));
            *ties = 1;
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::integerize::trs;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Weighted totals of each cell of each margin.
    fn weighted_totals(weights: &[f64], membership: &[u32], sizes: &[usize]) -> Vec<Vec<f64>> {
        let nm = sizes.len();
        let mut t: Vec<Vec<f64>> = sizes.iter().map(|&k| vec![0.0; k]).collect();
        for (i, &w) in weights.iter().enumerate() {
            for m in 0..nm {
                t[m][membership[i * nm + m] as usize] += w;
            }
        }
        t
    }

    /// Largest-remainder rounding of real cell totals to integers summing to `total`.
    fn round_to_total(x: &[f64], total: u64) -> Vec<u64> {
        let mut out: Vec<u64> = x.iter().map(|v| v.floor() as u64).collect();
        let mut rest: Vec<usize> = (0..x.len()).collect();
        rest.sort_by(|&a, &b| (x[b] - x[b].floor()).total_cmp(&(x[a] - x[a].floor())).then(a.cmp(&b)));
        let mut short = total as i64 - out.iter().sum::<u64>() as i64;
        let mut j = 0;
        while short > 0 {
            out[rest[j % x.len()]] += 1;
            short -= 1;
            j += 1;
        }
        while short < 0 {
            let c = rest[rest.len() - 1 - (j % x.len())];
            if out[c] > 0 {
                out[c] -= 1;
                short += 1;
            }
            j += 1;
        }
        out
    }

    /// Targets: rounded weighted totals, adjusted so every margin sums to round(Σw).
    fn rounded_targets(weights: &[f64], membership: &[u32], sizes: &[usize]) -> Vec<Vec<u64>> {
        let total = weights.iter().sum::<f64>().round() as u64;
        weighted_totals(weights, membership, sizes).iter().map(|t| round_to_total(t, total)).collect()
    }

    /// Targets: the margins of integer counts (so the problem is feasible by construction).
    fn margins_of(counts: &[u64], membership: &[u32], sizes: &[usize]) -> Vec<Vec<u64>> {
        let w: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        weighted_totals(&w, membership, sizes).iter().map(|t| t.iter().map(|&v| v as u64).collect()).collect()
    }

    fn outside(counts: &[u64], weights: &[f64]) -> usize {
        counts.iter().zip(weights).filter(|&(&c, &w)| (c as f64) < w.floor() || (c as f64) > w.ceil()).count()
    }

    /// Checks the report against the counts.
    fn check_report(res: &Integerized, weights: &[f64], membership: &[u32], sizes: &[usize], targets: &[Vec<u64>]) {
        let errs = margin_errors(&res.counts, membership, sizes, targets);
        assert_eq!(res.margin_errors, errs);
        assert_eq!(res.max_abs_margin_error, errs.iter().map(|e| e.max_abs_error).max().unwrap());
        assert_eq!(res.exact, res.max_abs_margin_error == 0);
        assert_eq!(res.outside_bounds, outside(&res.counts, weights));
        for (c, w) in res.counts.iter().zip(weights) {
            if *w == 0.0 {
                assert_eq!(*c, 0);
            }
        }
    }

    /// `==` must agree with `cmp` (the heaps and the total fix compare keys both ways), also on the
    /// values where `f64`'s own `==` does not: signed zeros and NaN.
    #[test]
    fn prio_equality_agrees_with_its_order() {
        let values = [f64::NEG_INFINITY, -1.5, -0.0, 0.0, 2.0, f64::INFINITY, f64::NAN, -f64::NAN];
        for &a in &values {
            for &b in &values {
                let (a, b) = (Prio(a), Prio(b));
                assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{a:?} vs {b:?}");
                assert_eq!(a.partial_cmp(&b), Some(a.cmp(&b)), "{a:?} vs {b:?}");
            }
        }
        assert!(Prio(-0.0) < Prio(0.0) && Prio(-0.0) != Prio(0.0));
        assert_eq!(Prio(f64::NAN), Prio(f64::NAN));
    }

    #[test]
    fn margin_preserving_small_exact() {
        // Two attributes, weights whose rounded totals disagree with plain rounding.
        let weights = [0.5, 0.5, 0.5, 0.5, 1.4, 1.6];
        let membership = [0, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1];
        let sizes = [2, 2];
        let targets = vec![vec![2, 3], vec![3, 2]];
        for seed in 0..50 {
            let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(seed)).unwrap();
            check_report(&res, &weights, &membership, &sizes, &targets);
            assert!(res.exact, "{res:?}");
            assert_eq!(res.outside_bounds, 0, "{res:?}");
        }
    }

    #[test]
    fn margin_preserving_reproducible() {
        let mut r = rng(9);
        let n = 2000;
        let sizes = [4, 3, 5];
        let membership: Vec<u32> = (0..n * 3).map(|j| r.random_range(0..sizes[j % 3] as u32)).collect();
        let weights: Vec<f64> = (0..n).map(|_| r.random_range(0.0..3.0)).collect();
        let targets = rounded_targets(&weights, &membership, &sizes);
        let a = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(5)).unwrap();
        let b = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(5)).unwrap();
        let c = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(6)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.counts, c.counts);
        assert!(a.exact && c.exact);
        assert_eq!(a.outside_bounds, 0);
    }

    #[test]
    fn margin_preserving_reports_infeasible() {
        // Cell b1 has a positive target but no record with positive weight.
        let weights = [1.2, 0.0, 2.3];
        let membership = [0, 0, 1, 1, 1, 0];
        let sizes = [2, 2];
        let targets = vec![vec![1, 3], vec![2, 2]];
        let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(0)).unwrap();
        check_report(&res, &weights, &membership, &sizes, &targets);
        assert!(!res.exact);
        assert_eq!(res.counts[1], 0);
        assert!(res.max_abs_margin_error >= 2);
    }

    #[test]
    fn margin_preserving_far_from_weights() {
        // Weights total 4 but the targets total 10: exact, with counts beyond the ceilings.
        let weights = [1.0, 1.0, 1.0, 1.0];
        let membership = [0, 0, 0, 1, 1, 0, 1, 1];
        let sizes = [2, 2];
        let targets = vec![vec![5, 5], vec![4, 6]];
        let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(0)).unwrap();
        check_report(&res, &weights, &membership, &sizes, &targets);
        assert!(res.exact);
        assert_eq!(res.counts.iter().sum::<u64>(), 10);
        assert!(res.outside_bounds > 0);
        // And the other way: weights total 40, targets 10.
        let weights = [10.0, 10.0, 10.0, 10.0];
        let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(0)).unwrap();
        check_report(&res, &weights, &membership, &sizes, &targets);
        assert!(res.exact);
    }

    #[test]
    fn margin_preserving_rejects_bad_input() {
        let weights = [1.0, 2.0];
        let membership = [0, 1, 1, 0];
        let sizes = [2, 2];
        let targets = vec![vec![1, 2], vec![2, 1]];
        let run = |w: &[f64], mem: &[u32], s: &[usize], t: &[Vec<u64>]| {
            margin_preserving(w, mem, s, t, &mut rng(0)).unwrap_err()
        };
        let e = run(&[1.0, f64::NAN], &membership, &sizes, &targets);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("NaN"), "{e}");
        let e = run(&[-1.0, 2.0], &membership, &sizes, &targets);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("negative"), "{e}");
        let e = run(&weights, &membership[..3], &sizes, &targets);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("membership"), "{e}");
        let e = run(&weights, &membership, &sizes, &targets[..1]);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("targets"), "{e}");
        let e = run(&weights, &membership, &sizes, &[vec![1, 2], vec![2, 1, 0]]);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("margin 1 has 3 targets"), "{e}");
        let e = run(&weights, &[0, 1, 2, 0], &sizes, &targets);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("record 1, margin 0: cell 2"), "{e}");
        let e = run(&weights, &membership, &sizes, &[vec![1, 2], vec![2, 2]]);
        assert!(matches!(e, Error::Inconsistent(_)) && e.to_string().contains("margin 1 sums to 4"), "{e}");
        let e = run(&weights, &[], &[], &[]);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("no margins"), "{e}");
        let e = run(&weights, &membership, &[2, 0], &targets);
        assert!(matches!(e, Error::Input { .. }) && e.to_string().contains("margin 1 has no cells"), "{e}");
        let e = run(&weights, &membership, &sizes, &[vec![u64::MAX, 2], vec![2, 1]]);
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
    }

    /// A seed covering every combination of three attributes, plus random extra records.
    fn full_support() -> impl Strategy<Value = (Vec<usize>, Vec<u32>, Vec<f64>, u64)> {
        (prop::collection::vec(2usize..=5, 3), 0usize..80, any::<u64>()).prop_map(|(sizes, extra, seed)| {
            let mut r = rng(seed);
            let mut membership = Vec::new();
            for a in 0..sizes[0] as u32 {
                for b in 0..sizes[1] as u32 {
                    for c in 0..sizes[2] as u32 {
                        membership.extend([a, b, c]);
                    }
                }
            }
            for _ in 0..extra {
                membership.extend(sizes.iter().map(|&k| r.random_range(0..k as u32)));
            }
            let n = membership.len() / 3;
            let weights = (0..n).map(|_| r.random_range(0.01..4.0)).collect();
            (sizes, membership, weights, seed)
        })
    }

    /// A sparse random seed: records drawn at random, some weights zero.
    fn sparse_seed() -> impl Strategy<Value = (Vec<usize>, Vec<u32>, Vec<f64>, u64)> {
        (prop::collection::vec(2usize..=6, 3), 3usize..60, any::<u64>()).prop_map(|(sizes, n, seed)| {
            let mut r = rng(seed);
            let mut membership = Vec::with_capacity(n * 3);
            for _ in 0..n {
                membership.extend(sizes.iter().map(|&k| r.random_range(0..k as u32)));
            }
            let weights = (0..n).map(|_| if r.random_bool(0.1) { 0.0 } else { r.random_range(0.01..4.0) }).collect();
            (sizes, membership, weights, seed)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Exact margins on feasible problems: full seed support, targets the rounded-and-adjusted
        /// weighted totals of random positive weights.
        #[test]
        fn exact_on_full_support((sizes, membership, weights, seed) in full_support()) {
            let targets = rounded_targets(&weights, &membership, &sizes);
            let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(seed)).unwrap();
            check_report(&res, &weights, &membership, &sizes, &targets);
            prop_assert!(res.exact, "{:?}", res.margin_errors);
            prop_assert_eq!(res.counts.iter().sum::<u64>(), targets[0].iter().sum::<u64>());
        }

        /// Exact margins on sparse seeds when a solution exists: targets are the margins of a TRS
        /// draw from the same weights.
        #[test]
        fn exact_on_sparse_feasible((sizes, membership, weights, seed) in sparse_seed()) {
            let witness = trs(&weights, &mut rng(seed ^ 1)).unwrap();
            let targets = margins_of(&witness, &membership, &sizes);
            let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(seed)).unwrap();
            check_report(&res, &weights, &membership, &sizes, &targets);
            prop_assert!(res.exact, "{:?}", res.margin_errors);
        }

        /// Sparse seeds with rounded targets may be infeasible: the report must still be truthful.
        #[test]
        fn truthful_on_sparse((sizes, membership, weights, seed) in sparse_seed()) {
            prop_assume!(weights.iter().any(|&w| w > 0.0));
            let targets = rounded_targets(&weights, &membership, &sizes);
            let res = margin_preserving(&weights, &membership, &sizes, &targets, &mut rng(seed)).unwrap();
            check_report(&res, &weights, &membership, &sizes, &targets);
        }
    }
}
