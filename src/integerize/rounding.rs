//! Rounding real margin targets to the integer targets that integerization must meet, consistently
//! across margins that share attributes.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::margin_preserving;
use crate::error::Result;

/// Rounds non-negative targets to integers whose sum is the rounded total (largest
/// remainders get the leftover units; ties go to the earlier cell).
pub fn round_preserving_total(targets: &[f64]) -> Vec<u64> {
    let total = targets.iter().sum::<f64>().round() as u64;
    let mut out: Vec<u64> = targets.iter().map(|t| t.floor() as u64).collect();
    let assigned: u64 = out.iter().sum();
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| {
        (targets[b] - targets[b].floor()).total_cmp(&(targets[a] - targets[a].floor())).then(a.cmp(&b))
    });
    for &i in order.iter().take(total.saturating_sub(assigned) as usize) {
        out[i] += 1;
    }
    out
}

/// Rounds every margin's targets to integers such that margins sharing attributes agree on
/// their shared sub-margins wherever that can be arranged.
///
/// `sizes[a]` is the number of categories of attribute `a`; margin `m` covers `attributes[m]`
/// (its cells row-major over them, last attribute fastest) with real `targets[m]`.
///
/// 1. Each margin is rounded on its own ([`round_preserving_total`]). When every pair of
///    margins then agrees on the attributes they share, that rounding is returned unchanged.
/// 2. Otherwise the attribute sets of the margins and of all their (repeated) intersections are
///    rounded from the smallest up: a set's real targets are the mean of the projections of the
///    margins that contain it; a set with no smaller set inside is rounded on its own; any other
///    set is rounded with [`margin_preserving`] so that it projects exactly onto the rounded
///    largest sets inside it (each cell stays at the floor or the ceiling of its real value
///    where it can). For two-way margins over shared one-way margins this always succeeds; when
///    it does not (rarely, with three-way overlaps), the closest rounding found is kept and the
///    final integerization reports the remaining error honestly.
///
/// Deterministic: the inner rounding draws from a fixed generator, not from the caller's.
///
/// # Errors
/// Those of [`margin_preserving`] for invalid targets (negative, NaN, infinite, above 2^52).
pub fn round_margins<T: AsRef<[f64]>>(
    sizes: &[usize],
    attributes: &[&[usize]],
    targets: &[T],
) -> Result<Vec<Vec<u64>>> {
    let independent: Vec<Vec<u64>> = targets.iter().map(|t| round_preserving_total(t.as_ref())).collect();
    if consistent(sizes, attributes, &independent) {
        return Ok(independent);
    }
    let sets = intersection_closure(attributes);
    let mut rounded: Vec<Vec<u64>> = Vec::with_capacity(sets.len());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for (s, set) in sets.iter().enumerate() {
        let real = mean_projection(sizes, attributes, targets, set);
        let inside: Vec<usize> = (0..s).filter(|&t| is_proper_subset(&sets[t], set)).collect();
        let largest: Vec<usize> = inside
            .iter()
            .copied()
            .filter(|&t| !inside.iter().any(|&u| u != t && is_proper_subset(&sets[t], &sets[u])))
            .collect();
        if largest.is_empty() {
            rounded.push(round_preserving_total(&real));
            continue;
        }
        let maps: Vec<Vec<usize>> = largest.iter().map(|&t| projection(sizes, set, &sets[t])).collect();
        let membership: Vec<u32> = (0..real.len()).flat_map(|c| maps.iter().map(move |m| m[c] as u32)).collect();
        let margin_sizes: Vec<usize> = largest.iter().map(|&t| rounded[t].len()).collect();
        let within: Vec<Vec<u64>> = largest.iter().map(|&t| rounded[t].clone()).collect();
        rounded.push(margin_preserving(&real, &membership, &margin_sizes, &within, &mut rng)?.counts);
    }
    Ok(attributes
        .iter()
        .map(|attrs| {
            let set = sorted(attrs);
            let s = sets.iter().position(|x| *x == set).expect("every margin's set is in the closure");
            // the set's cells are ordered by sorted attributes; a margin lists its own order
            let to_set = projection(sizes, attrs, &set);
            to_set.iter().map(|&c| rounded[s][c]).collect()
        })
        .collect())
}

/// Whether every pair of margins agrees on the attributes the two share.
fn consistent(sizes: &[usize], attributes: &[&[usize]], rounded: &[Vec<u64>]) -> bool {
    (0..attributes.len()).all(|a| {
        (a + 1..attributes.len()).all(|b| {
            let shared: Vec<usize> = sorted(attributes[a]).into_iter().filter(|x| attributes[b].contains(x)).collect();
            shared.is_empty()
                || project(sizes, attributes[a], &rounded[a], &shared)
                    == project(sizes, attributes[b], &rounded[b], &shared)
        })
    })
}

/// The margins' attribute sets (sorted) and all non-empty intersections of them, smallest first.
fn intersection_closure(attributes: &[&[usize]]) -> Vec<Vec<usize>> {
    let mut sets: Vec<Vec<usize>> = attributes.iter().map(|a| sorted(a)).collect();
    sets.sort();
    sets.dedup();
    let mut start = 0;
    while start < sets.len() {
        let end = sets.len();
        for i in 0..end {
            for j in start.max(i + 1)..end {
                let meet: Vec<usize> = sets[i].iter().copied().filter(|x| sets[j].contains(x)).collect();
                if !meet.is_empty() && !sets.contains(&meet) {
                    sets.push(meet);
                }
            }
        }
        start = end;
    }
    sets.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    sets
}

/// Mean over the margins that contain `set` of their targets summed onto `set`'s cells.
fn mean_projection<T: AsRef<[f64]>>(
    sizes: &[usize],
    attributes: &[&[usize]],
    targets: &[T],
    set: &[usize],
) -> Vec<f64> {
    let cells: usize = set.iter().map(|&a| sizes[a]).product();
    let mut sum = vec![0.0; cells];
    let mut count = 0.0;
    for (attrs, t) in attributes.iter().zip(targets) {
        if set.iter().all(|a| attrs.contains(a)) {
            for (c, &to) in projection(sizes, attrs, set).iter().enumerate() {
                sum[to] += t.as_ref()[c];
            }
            count += 1.0;
        }
    }
    sum.iter().map(|s| s / count).collect()
}

/// `values` over the cells of `from` summed onto the cells of `onto` (a subset of `from`).
fn project(sizes: &[usize], from: &[usize], values: &[u64], onto: &[usize]) -> Vec<u64> {
    let mut out = vec![0u64; onto.iter().map(|&a| sizes[a]).product()];
    for (c, &to) in projection(sizes, from, onto).iter().enumerate() {
        out[to] += values[c];
    }
    out
}

/// For each cell of the cross-table of `from` (row-major, last attribute fastest), its cell in
/// the cross-table of `onto`, whose attributes must all be in `from`.
fn projection(sizes: &[usize], from: &[usize], onto: &[usize]) -> Vec<usize> {
    let mut strides = vec![0usize; from.len()];
    let mut stride = 1;
    for &a in onto.iter().rev() {
        let k = from.iter().position(|&f| f == a).expect("projection onto a subset");
        strides[k] = stride;
        stride *= sizes[a];
    }
    let cells: usize = from.iter().map(|&a| sizes[a]).product();
    let mut out = Vec::with_capacity(cells);
    let mut codes = vec![0usize; from.len()];
    for _ in 0..cells {
        out.push(codes.iter().zip(&strides).map(|(c, s)| c * s).sum());
        for k in (0..from.len()).rev() {
            codes[k] += 1;
            if codes[k] < sizes[from[k]] {
                break;
            }
            codes[k] = 0;
        }
    }
    out
}

fn sorted(attrs: &[usize]) -> Vec<usize> {
    let mut v = attrs.to_vec();
    v.sort_unstable();
    v
}

fn is_proper_subset(small: &[usize], large: &[usize]) -> bool {
    small.len() < large.len() && small.iter().all(|a| large.contains(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_keeps_the_total_and_favours_large_remainders() {
        assert_eq!(round_preserving_total(&[1.4, 1.4, 1.2]), vec![2, 1, 1]);
        assert_eq!(round_preserving_total(&[2.0, 3.0]), vec![2, 3]);
        assert_eq!(round_preserving_total(&[0.5, 0.5, 0.5, 0.5]), vec![1, 1, 0, 0]);
    }

    #[test]
    fn projection_follows_the_margin_order() {
        // from (a1: 3 levels, a0: 2 levels) onto (a0): cell (i, j) → j
        assert_eq!(projection(&[2, 3], &[1, 0], &[0]), vec![0, 1, 0, 1, 0, 1]);
        // reordering a two-way table: cell (i of a1, j of a0) → j * 3 + i
        assert_eq!(projection(&[2, 3], &[1, 0], &[0, 1]), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn closure_holds_repeated_intersections() {
        let sets = intersection_closure(&[&[0, 1, 2], &[1, 2, 3], &[2, 3, 0]]);
        assert_eq!(
            sets,
            vec![vec![2], vec![0, 2], vec![1, 2], vec![2, 3], vec![0, 1, 2], vec![0, 2, 3], vec![1, 2, 3]]
        );
    }

    #[test]
    fn consistent_rounding_is_kept() {
        let attrs: [&[usize]; 2] = [&[0, 1], &[1, 2]];
        let targets = vec![vec![1.0, 2.0, 3.0, 4.0], vec![2.0, 2.0, 3.0, 3.0]];
        assert_eq!(round_margins(&[2, 2, 2], &attrs, &targets).unwrap(), vec![vec![1, 2, 3, 4], vec![2, 2, 3, 3]]);
    }

    #[test]
    fn disagreeing_shared_margins_are_reconciled() {
        // rounded alone: [1, 1, 0, 0] (attribute 0 totals 2, 0) and [0, 1, 0, 1] (1, 1)
        let attrs: [&[usize]; 2] = [&[0, 1], &[0, 2]];
        let targets = vec![vec![0.6, 0.6, 0.4, 0.4], vec![0.4, 0.8, 0.3, 0.5]];
        let alone: Vec<Vec<u64>> = targets.iter().map(|t| round_preserving_total(t)).collect();
        assert_ne!(project(&[2, 2, 2], attrs[0], &alone[0], &[0]), project(&[2, 2, 2], attrs[1], &alone[1], &[0]));
        let r = round_margins(&[2, 2, 2], &attrs, &targets).unwrap();
        assert_eq!(project(&[2, 2, 2], attrs[0], &r[0], &[0]), project(&[2, 2, 2], attrs[1], &r[1], &[0]));
        assert_eq!(r.iter().map(|m| m.iter().sum::<u64>()).collect::<Vec<_>>(), vec![2, 2]);
    }

    /// A random table over `sizes` (some cells structurally zero) and margins over attribute
    /// pairs forming a cycle, so that every margin shares one attribute with each neighbour.
    fn cycle_case() -> impl Strategy<Value = (Vec<usize>, Vec<Vec<usize>>, Vec<Vec<f64>>)> {
        (3usize..6, 2usize..5, 1u32..1000)
            .prop_flat_map(|(k, levels, scale)| {
                let sizes = vec![levels; k];
                let cells = levels.pow(k as u32);
                (
                    Just(sizes),
                    proptest::collection::vec(prop_oneof![1 => Just(0.0), 4 => 0.0f64..1.0], cells),
                    Just(scale),
                )
            })
            .prop_map(|(sizes, table, scale)| {
                let k = sizes.len();
                let total: f64 = table.iter().sum::<f64>().max(1e-9);
                let table: Vec<f64> = table.iter().map(|x| x / total * f64::from(scale) + 0.0).collect();
                let attrs: Vec<Vec<usize>> = (0..k).map(|a| vec![a, (a + 1) % k]).collect();
                let all: Vec<usize> = (0..k).collect();
                let targets = attrs
                    .iter()
                    .map(|m| {
                        let mut out = vec![0.0; m.iter().map(|&a| sizes[a]).product()];
                        for (c, &to) in projection(&sizes, &all, m).iter().enumerate() {
                            out[to] += table[c];
                        }
                        out
                    })
                    .collect();
                (sizes, attrs, targets)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn cycles_of_two_way_margins_round_consistently((sizes, attrs, targets) in cycle_case()) {
            let attrs: Vec<&[usize]> = attrs.iter().map(Vec::as_slice).collect();
            let r = round_margins(&sizes, &attrs, &targets).unwrap();
            prop_assert!(consistent(&sizes, &attrs, &r));
            let total = targets[0].iter().sum::<f64>().round() as u64;
            for (m, t) in r.iter().zip(&targets) {
                prop_assert_eq!(m.iter().sum::<u64>(), total);
                for (&c, &x) in m.iter().zip(t) {
                    prop_assert!(x > 0.0 || c == 0, "a zero target got {}", c);
                }
            }
        }
    }
}
