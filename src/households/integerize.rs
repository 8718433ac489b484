//! Integer households from balanced weights: a zone's households counted in whole numbers
//! that add up to its household total exactly and meet the other controls as closely as whole
//! numbers allow, each household kept at the floor or ceiling of its weight wherever it can be.
//!
//! Households with the same incidence on every control are interchangeable for the controls,
//! so the search runs over these *groups*: each group's count starts at the sum of its
//! households' floors, and the units left to reach the total are apportioned by the groups'
//! fractional parts (largest remainders). A local search then moves single units between
//! groups while that lowers the loss `Σ_c v_c (X_c − t_c)²`, where `t_c` is the control's
//! target and `v_c = min(u_c, 10⁶) / max(t_c, 1)` (`u_c` its importance, a hard control 10⁶).
//! The search starts from the rounded real weights and takes only moves that lower the loss,
//! so it stays near them. Units go to a group's households largest fractional part first.
//!
//! Child zones of one parent are integerized together, so that each household's counts over
//! the children add up to its count in the parent (the parent is the backstop of its
//! children): group-by-zone counts are rounded with both margins kept (the zones' household
//! totals and the groups' parent counts), then improved by exchanges of two units between two
//! zones (one group's unit each way), which keep both margins.
//!
//! PopulationSim solves a linear program on the fractional parts and rounds its solution,
//! falling back to plain rounding when the solver fails; this search needs no solver, always
//! returns counts meeting the household totals, and reports how far each control is left.

use super::balance::Controls;
use super::groups::Groups;

/// Upper bound on pair evaluations (each `O(controls)`) per search, so large zones end.
const SEARCH_BUDGET: u64 = 400_000_000;

/// Weight of a hard control in the loss.
const HARD_IMPORTANCE: f64 = 1e6;

/// The loss weight of each control given its real-weight totals.
fn loss_weights(controls: &Controls, totals: &[f64]) -> Vec<f64> {
    controls.importance.iter().zip(totals).map(|(&u, &t)| u.min(HARD_IMPORTANCE) / t.max(1.0)).collect()
}

/// The change of the loss when a zone's control totals, off by `d`, change by `delta`.
#[inline]
fn change(v: &[f64], d: &[f64], delta: impl Iterator<Item = f64>) -> f64 {
    delta.zip(v).zip(d).map(|((x, &v), &d)| v * x * (2.0 * d + x)).sum()
}

/// Apportions `total` whole units over items of real `shares`, each within `[lo, hi]`, by
/// largest remainders; items beyond their shares are filled in order of `shares` when the
/// ranges force it.
fn apportion(shares: &[f64], total: i64, lo: &[i64], hi: &[i64]) -> Vec<i64> {
    let sum: f64 = shares.iter().sum();
    let mut out: Vec<i64> = lo.to_vec();
    let mut left = total - out.iter().sum::<i64>();
    if left <= 0 || shares.is_empty() {
        return out;
    }
    if sum > 0.0 {
        let quota: Vec<f64> = shares.iter().map(|s| s / sum * left as f64).collect();
        for (i, q) in quota.iter().enumerate() {
            let take = (q.floor() as i64).min(hi[i] - out[i]).min(left).max(0);
            out[i] += take;
            left -= take;
        }
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|&a, &b| (quota[b] - quota[b].floor()).total_cmp(&(quota[a] - quota[a].floor())).then(a.cmp(&b)));
        for &i in &order {
            if left == 0 {
                break;
            }
            if out[i] < hi[i] {
                out[i] += 1;
                left -= 1;
            }
        }
    }
    // What the ranges still allow, largest shares first, one unit per item per round.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].total_cmp(&shares[a]).then(a.cmp(&b)));
    while left > 0 {
        let before = left;
        for &i in &order {
            if left > 0 && out[i] < hi[i] {
                out[i] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    out
}

/// Integer counts of the `weights`' households meeting `total` exactly and the controls'
/// `totals` (their targets) as closely as it can.
pub(crate) fn integerize_zone(controls: &Controls, weights: &[f64], totals: &[f64], total: u64) -> Vec<u64> {
    let n = weights.len();
    let mut counts: Vec<u64> = weights.iter().map(|w| w.floor() as u64).collect();
    let groups = Groups::new(controls, n, |h| weights[h] > 0.0);
    let g_count = groups.len();
    if g_count == 0 {
        return counts;
    }
    // Each group's floor, fractional mass and households that can go up.
    let floors: Vec<i64> = groups.members.iter().map(|m| m.iter().map(|&h| weights[h].floor() as i64).sum()).collect();
    let fractions: Vec<f64> =
        groups.members.iter().map(|m| m.iter().map(|&h| weights[h] - weights[h].floor()).sum()).collect();
    let ups: Vec<i64> =
        groups.members.iter().map(|m| m.iter().filter(|&&h| weights[h].fract() > 0.0).count() as i64).collect();
    let need = total as i64 - floors.iter().sum::<i64>();
    let room: i64 = ups.iter().sum();
    // Units per group above (or, when the floors exceed the total, below) its floor.
    let (lo, hi, shares): (Vec<i64>, Vec<i64>, Vec<f64>) = if need < 0 {
        (floors.iter().map(|f| -f).collect(), ups.clone(), fractions.clone())
    } else if need > room {
        let masses = groups.members.iter().map(|m| m.iter().map(|&h| weights[h]).sum()).collect();
        (vec![0; g_count], vec![i64::MAX / 4; g_count], masses)
    } else {
        (vec![0; g_count], ups.clone(), fractions.clone())
    };
    let mut extra = if need < 0 {
        // Remove units: apportion the removals over the floors, then count from the bottom.
        let masses: Vec<f64> = floors.iter().map(|&f| f as f64).collect();
        let zero = vec![0; g_count];
        let removed = apportion(&masses, -need, &zero, &floors);
        removed.iter().map(|r| -r).collect()
    } else {
        apportion(&shares, need, &lo, &hi)
    };
    search_groups(&groups, controls, totals, &floors, &mut extra, &lo, &hi);
    // Units to households: largest fractional part first (smallest first when removing).
    for (g, members) in groups.members.iter().enumerate() {
        let mut order = members.clone();
        order.sort_by(|&a, &b| weights[b].fract().total_cmp(&weights[a].fract()).then(a.cmp(&b)));
        let mut units = extra[g];
        while units > 0 {
            let before = units;
            for &h in &order {
                let below_ceiling = (counts[h] as f64) < weights[h].ceil().max(1.0);
                if units > 0 && (below_ceiling || need > room) {
                    counts[h] += 1;
                    units -= 1;
                }
            }
            if units == before {
                break;
            }
        }
        while units < 0 {
            let before = units;
            for &h in order.iter().rev() {
                if units < 0 && counts[h] > 0 {
                    counts[h] -= 1;
                    units += 1;
                }
            }
            if units == before {
                break;
            }
        }
    }
    counts
}

/// Moves single units between groups while the loss falls.
fn search_groups(
    groups: &Groups,
    controls: &Controls,
    totals: &[f64],
    floors: &[i64],
    extra: &mut [i64],
    lo: &[i64],
    hi: &[i64],
) {
    let k = groups.k;
    let v = loss_weights(controls, totals);
    let mut d: Vec<f64> = (0..k).map(|c| -totals[c]).collect();
    for g in 0..groups.len() {
        let count = (floors[g] + extra[g]) as f64;
        for (dc, a) in d.iter_mut().zip(groups.row(g)) {
            *dc += count * a;
        }
    }
    let mut budget = SEARCH_BUDGET / k.max(1) as u64;
    loop {
        let mut improved = false;
        for from in 0..groups.len() {
            if extra[from] <= lo[from] {
                continue;
            }
            let mut best = (-1e-9, usize::MAX);
            for to in 0..groups.len() {
                if to == from || extra[to] >= hi[to] {
                    continue;
                }
                let (a, b) = (groups.row(from), groups.row(to));
                let delta = change(&v, &d, a.iter().zip(b).map(|(a, b)| b - a));
                if delta < best.0 {
                    best = (delta, to);
                }
            }
            budget = budget.saturating_sub(groups.len() as u64);
            if best.1 != usize::MAX {
                let to = best.1;
                extra[from] -= 1;
                extra[to] += 1;
                for (c, dc) in d.iter_mut().enumerate() {
                    *dc += groups.row(to)[c] - groups.row(from)[c];
                }
                improved = true;
            }
            if budget == 0 {
                return;
            }
        }
        if !improved {
            return;
        }
    }
}

/// Integer counts of a parent's households over its child zones: `weights[z * n + h]` real,
/// each household's counts adding up to `parent[h]` and each zone's to `zone_totals[z]`
/// (which add up to the parent counts' sum); `targets[z * k + c]` are the zones' control
/// targets.
pub(crate) fn integerize_children(
    controls: &Controls,
    weights: &[f64],
    parent: &[u64],
    zone_totals: &[u64],
    targets: &[f64],
) -> Vec<u64> {
    let n = parent.len();
    let zones = zone_totals.len();
    let groups = Groups::new(controls, n, |h| parent[h] > 0);
    let g_count = groups.len();
    let mut counts = vec![0u64; zones * n];
    if g_count == 0 || zones == 0 {
        return counts;
    }
    // Real zone × group totals, and the groups' parent counts.
    let mut f = vec![0.0; zones * g_count];
    for (g, members) in groups.members.iter().enumerate() {
        for z in 0..zones {
            f[z * g_count + g] = members.iter().map(|&h| weights[z * n + h]).sum();
        }
    }
    let column: Vec<i64> = groups.members.iter().map(|m| m.iter().map(|&h| parent[h] as i64).sum()).collect();
    let mut m = round_table(&f, zones, g_count, zone_totals, &column);
    search_exchanges(&groups, controls, targets, zones, &mut m);
    // Each zone's group units to the group's households, each household's count over the
    // zones adding up to its parent count: households with the most real weight in the zone
    // first, within the ceiling of that weight, then wherever capacity is left.
    for (g, members) in groups.members.iter().enumerate() {
        let mut capacity: Vec<u64> = members.iter().map(|&h| parent[h]).collect();
        let mut need: Vec<u64> = (0..zones).map(|z| m[z * g_count + g] as u64).collect();
        for pass in 0..2 {
            for z in 0..zones {
                if need[z] == 0 {
                    continue;
                }
                let mut order: Vec<usize> = (0..members.len()).collect();
                order.sort_by(|&a, &b| {
                    weights[z * n + members[b]].total_cmp(&weights[z * n + members[a]]).then(a.cmp(&b))
                });
                for &i in &order {
                    let h = members[i];
                    let cell = &mut counts[z * n + h];
                    let limit =
                        if pass == 0 { (weights[z * n + h].ceil() as u64).saturating_sub(*cell) } else { u64::MAX };
                    let take = need[z].min(capacity[i]).min(limit);
                    *cell += take;
                    capacity[i] -= take;
                    need[z] -= take;
                    if need[z] == 0 {
                        break;
                    }
                }
            }
        }
    }
    counts
}

/// Rounds the real table `f` (`rows × cols`) to whole numbers with the given row and column
/// sums (which agree in total): floors, then the largest fractional parts, then wherever both
/// a row and a column still need units.
fn round_table(f: &[f64], rows: usize, cols: usize, row_sums: &[u64], col_sums: &[i64]) -> Vec<i64> {
    let mut m: Vec<i64> = f.iter().map(|v| v.max(0.0).floor() as i64).collect();
    let mut row_need: Vec<i64> =
        (0..rows).map(|r| row_sums[r] as i64 - m[r * cols..(r + 1) * cols].iter().sum::<i64>()).collect();
    let mut col_need: Vec<i64> =
        (0..cols).map(|c| col_sums[c] - (0..rows).map(|r| m[r * cols + c]).sum::<i64>()).collect();
    // Too many units (floors of an inexact table): take back the smallest fractions first.
    let mut cells: Vec<usize> = (0..rows * cols).collect();
    cells.sort_by(|&a, &b| (f[a] - f[a].floor()).total_cmp(&(f[b] - f[b].floor())).then(a.cmp(&b)));
    for &cell in &cells {
        let (r, c) = (cell / cols, cell % cols);
        while m[cell] > 0 && (row_need[r] < 0 || col_need[c] < 0) {
            m[cell] -= 1;
            row_need[r] += 1;
            col_need[c] += 1;
        }
    }
    for &cell in cells.iter().rev() {
        let (r, c) = (cell / cols, cell % cols);
        if row_need[r] > 0 && col_need[c] > 0 && f[cell] > m[cell] as f64 {
            m[cell] += 1;
            row_need[r] -= 1;
            col_need[c] -= 1;
        }
    }
    // What is left goes where the real table has the most mass.
    let mut by_mass: Vec<usize> = (0..rows * cols).collect();
    by_mass.sort_by(|&a, &b| f[b].total_cmp(&f[a]).then(a.cmp(&b)));
    for &cell in &by_mass {
        let (r, c) = (cell / cols, cell % cols);
        let take = row_need[r].min(col_need[c]);
        if take > 0 {
            m[cell] += take;
            row_need[r] -= take;
            col_need[c] -= take;
        }
    }
    m
}

/// Exchanges of one unit of group `g` from zone `a` to zone `b` against one unit of group `h`
/// from `b` to `a` (row and column sums unchanged), while the zones' loss falls.
fn search_exchanges(groups: &Groups, controls: &Controls, targets: &[f64], zones: usize, m: &mut [i64]) {
    let k = groups.k;
    let gs = groups.len();
    if zones < 2 {
        return;
    }
    // Residuals and loss weights per zone.
    let mut d = vec![0.0; zones * k];
    let mut v = vec![0.0; zones * k];
    for z in 0..zones {
        let t = &targets[z * k..(z + 1) * k];
        v[z * k..(z + 1) * k].copy_from_slice(&loss_weights(controls, t));
        for c in 0..k {
            d[z * k + c] = -t[c];
        }
        for g in 0..gs {
            let count = m[z * gs + g] as f64;
            if count > 0.0 {
                for (c, a) in groups.row(g).iter().enumerate() {
                    d[z * k + c] += count * a;
                }
            }
        }
    }
    let mut budget = SEARCH_BUDGET / k.max(1) as u64;
    loop {
        let mut improved = false;
        for a in 0..zones {
            for b in 0..zones {
                if a == b {
                    continue;
                }
                // Score of moving a unit of g out of a into b: the linear part of the change.
                let score = |g: usize| -> f64 {
                    groups
                        .row(g)
                        .iter()
                        .enumerate()
                        .map(|(c, x)| x * (v[b * k + c] * d[b * k + c] - v[a * k + c] * d[a * k + c]))
                        .sum()
                };
                let mut out: Vec<(f64, usize)> =
                    (0..gs).filter(|&g| m[a * gs + g] > 0).map(|g| (score(g), g)).collect();
                let mut back: Vec<(f64, usize)> =
                    (0..gs).filter(|&g| m[b * gs + g] > 0).map(|g| (-score(g), g)).collect();
                budget = budget.saturating_sub(2 * gs as u64);
                if out.is_empty() || back.is_empty() {
                    continue;
                }
                out.sort_by(|x, y| x.0.total_cmp(&y.0));
                back.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut best = (-1e-9, usize::MAX, usize::MAX);
                for &(_, g) in out.iter().take(8) {
                    for &(_, h) in back.iter().take(8) {
                        if g == h {
                            continue;
                        }
                        let (rg, rh) = (groups.row(g), groups.row(h));
                        let delta: f64 = (0..k)
                            .map(|c| {
                                let x = rh[c] - rg[c];
                                v[a * k + c] * x * (2.0 * d[a * k + c] + x)
                                    + v[b * k + c] * (-x) * (2.0 * d[b * k + c] - x)
                            })
                            .sum();
                        if delta < best.0 {
                            best = (delta, g, h);
                        }
                    }
                }
                budget = budget.saturating_sub(64);
                if best.1 != usize::MAX {
                    let (g, h) = (best.1, best.2);
                    m[a * gs + g] -= 1;
                    m[b * gs + g] += 1;
                    m[b * gs + h] -= 1;
                    m[a * gs + h] += 1;
                    for c in 0..k {
                        let x = groups.row(h)[c] - groups.row(g)[c];
                        d[a * k + c] += x;
                        d[b * k + c] -= x;
                    }
                    improved = true;
                }
                if budget == 0 {
                    return;
                }
            }
        }
        if !improved {
            return;
        }
    }
}

/// Apportions `total` over items by their real `values`, largest remainders.
pub(crate) fn round_total(values: &[f64], total: u64) -> Vec<u64> {
    let zero = vec![0; values.len()];
    let max = vec![i64::MAX / 4; values.len()];
    apportion(values, total as i64, &zero, &max).into_iter().map(|x| x as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controls(rows: &[&[f64]], importance: &[f64]) -> Controls {
        let k = importance.len();
        let mut c = Controls { importance: importance.to_vec(), master: 0, ..Controls::default() };
        c.start.push(0);
        for j in 0..k {
            for (h, row) in rows.iter().enumerate() {
                if row[j] != 0.0 {
                    c.households.push(h as u32);
                    c.values.push(row[j]);
                }
            }
            c.start.push(c.households.len());
        }
        c
    }

    #[test]
    fn a_one_household_zone_gets_its_total() {
        let c = controls(&[&[1.0, 2.0]], &[f64::INFINITY, 10.0]);
        assert_eq!(integerize_zone(&c, &[0.4], &[0.4, 0.8], 1), [1]);
        assert_eq!(integerize_zone(&c, &[2.6], &[2.6, 5.2], 3), [3]);
        assert_eq!(integerize_zone(&c, &[0.2], &[0.2, 0.4], 4), [4]);
    }

    #[test]
    fn totals_are_exact_and_controls_close() {
        // households of size 1..4; total 10 households, 25 persons under the real weights
        let rows: [&[f64]; 4] = [&[1.0, 1.0], &[1.0, 2.0], &[1.0, 3.0], &[1.0, 4.0]];
        let c = controls(&rows, &[f64::INFINITY, 100.0]);
        let w = [2.5, 2.5, 2.5, 2.5];
        let counts = integerize_zone(&c, &w, &[10.0, 25.0], 10);
        assert_eq!(counts.iter().sum::<u64>(), 10);
        let persons: u64 = counts.iter().enumerate().map(|(h, x)| x * (h as u64 + 1)).sum();
        assert_eq!(persons, 25, "{counts:?}");
        assert!(counts.iter().zip(w).all(|(&x, w)| x as f64 >= w.floor() && x as f64 <= w.ceil()));
    }

    #[test]
    fn children_add_up_to_the_parent() {
        let rows: [&[f64]; 3] = [&[1.0, 1.0], &[1.0, 2.0], &[1.0, 3.0]];
        let c = controls(&rows, &[f64::INFINITY, 100.0]);
        let parent = [3, 4, 3];
        // zone 0: 6 households, zone 1: 4
        let w = [1.7, 2.5, 1.8, 1.3, 1.5, 1.2];
        let t = [6.0, 12.1, 4.0, 7.9];
        let x = integerize_children(&c, &w, &parent, &[6, 4], &t);
        for h in 0..3 {
            assert_eq!(x[h] + x[3 + h], parent[h]);
        }
        assert_eq!(x[..3].iter().sum::<u64>(), 6);
        assert_eq!(x[3..].iter().sum::<u64>(), 4);
    }

    #[test]
    fn round_total_keeps_the_total() {
        assert_eq!(round_total(&[1.5, 1.5, 1.0], 4), [2, 1, 1]);
        assert_eq!(round_total(&[0.0, 0.0], 3).iter().sum::<u64>(), 3);
    }
}
