//! Invariants of dense IPF, checked on random tables: fitted margins equal consistent targets,
//! structural zeros stay zero, the fit does not depend on the order of the margins, and odds
//! ratios that no margin constrains are those of the seed.

use populace::fitting::{Ipf, Table};
use populace::iteration::{Runner, Stopping};
use proptest::prelude::*;

/// Brute-force sums of a row-major table onto `dims` (in that order).
fn sums(sizes: &[usize], table: &[f64], dims: &[usize]) -> Vec<f64> {
    let len: usize = dims.iter().map(|&d| sizes[d]).product();
    let mut out = vec![0.0; len];
    for (i, v) in table.iter().enumerate() {
        let codes = decode(sizes, i);
        let j = dims.iter().fold(0, |acc, &d| acc * sizes[d] + codes[d]);
        out[j] += v;
    }
    out
}

fn decode(sizes: &[usize], mut i: usize) -> Vec<usize> {
    let mut codes = vec![0; sizes.len()];
    for d in (0..sizes.len()).rev() {
        codes[d] = i % sizes[d];
        i /= sizes[d];
    }
    codes
}

fn fit(sizes: &[usize], seed: &[f64], margins: &[(Vec<usize>, Vec<f64>)]) -> Vec<f64> {
    let mut ipf = Ipf::new(sizes.to_vec(), seed.to_vec(), margins.to_vec());
    assert!(ipf.check_support().is_empty());
    let outcome = Runner::new(Stopping::new(1e-11, 20_000).unwrap()).run(&mut ipf).unwrap();
    assert!(outcome.converged, "not converged: {outcome:?}");
    ipf.into_table()
}

/// A table shape, a positive seed, a positive "truth" and a set of margins (each a
/// non-empty, ordered subset of the dimensions, possibly overlapping).
fn problem() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<f64>, Vec<Vec<usize>>)> {
    prop::collection::vec(2usize..5, 2..5).prop_flat_map(|sizes| {
        let cells: usize = sizes.iter().product();
        let n = sizes.len();
        let margin = prop::collection::vec(0..n, 1..=n).prop_map(|mut v| {
            let mut seen = Vec::new();
            v.retain(|d| {
                if seen.contains(d) {
                    false
                } else {
                    seen.push(*d);
                    true
                }
            });
            v
        });
        (
            Just(sizes),
            prop::collection::vec(0.05f64..10.0, cells),
            prop::collection::vec(0.05f64..10.0, cells),
            prop::collection::vec(margin, 1..5),
        )
    })
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fitted_margins_equal_consistent_targets((sizes, seed, truth, dims) in problem()) {
        let margins: Vec<_> = dims.iter().map(|d| (d.clone(), sums(&sizes, &truth, d))).collect();
        let fitted = fit(&sizes, &seed, &margins);
        let joint = Table { attributes: (0..sizes.len()).collect(), sizes: sizes.clone(), values: fitted.clone() };
        for (d, target) in &margins {
            let marginal = joint.marginal(d).unwrap();
            // the same cells added in the same order as the brute-force sums
            prop_assert_eq!(&marginal.values, &sums(&sizes, &fitted, d));
            for (got, want) in marginal.values.iter().zip(target) {
                prop_assert!((got - want).abs() <= 1e-9, "margin {d:?}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn structural_zeros_stay_zero((sizes, seed, truth, dims) in problem(), zeros in prop::collection::vec(any::<bool>(), 256)) {
        // zero a random ~quarter of the seed's cells and give the truth the same zeros, so the
        // targets are feasible
        let mask: Vec<bool> = (0..seed.len()).map(|i| zeros[i % zeros.len()] && zeros[(i * 7 + 3) % zeros.len()]).collect();
        let seed: Vec<f64> = seed.iter().zip(&mask).map(|(&s, &z)| if z { 0.0 } else { s }).collect();
        let truth: Vec<f64> = truth.iter().zip(&mask).map(|(&t, &z)| if z { 0.0 } else { t }).collect();
        prop_assume!(truth.iter().any(|&t| t > 0.0));
        let margins: Vec<_> = dims.iter().map(|d| (d.clone(), sums(&sizes, &truth, d))).collect();
        let fitted = fit(&sizes, &seed, &margins);
        for (i, &z) in mask.iter().enumerate() {
            if z {
                prop_assert_eq!(fitted[i], 0.0);
            }
        }
    }

    #[test]
    fn the_fit_does_not_depend_on_margin_order((sizes, seed, truth, dims) in problem()) {
        let margins: Vec<_> = dims.iter().map(|d| (d.clone(), sums(&sizes, &truth, d))).collect();
        let mut reversed = margins.clone();
        reversed.reverse();
        let a = fit(&sizes, &seed, &margins);
        let b = fit(&sizes, &seed, &reversed);
        for (x, y) in a.iter().zip(&b) {
            prop_assert!(close(*x, *y, 1e-7), "{x} vs {y}");
        }
    }

    #[test]
    fn unconstrained_odds_ratios_of_the_seed_are_preserved((sizes, seed, truth, dims) in problem()) {
        // drop dimension 1 from every margin that also holds dimension 0, so no margin
        // constrains the (0, 1) interaction
        let dims: Vec<Vec<usize>> = dims
            .into_iter()
            .map(|mut d| { if d.contains(&0) { d.retain(|&x| x != 1); } d })
            .filter(|d| !d.is_empty())
            .collect();
        prop_assume!(!dims.is_empty());
        let margins: Vec<_> = dims.iter().map(|d| (d.clone(), sums(&sizes, &truth, d))).collect();
        let fitted = fit(&sizes, &seed, &margins);
        let stride: Vec<usize> = (0..sizes.len()).map(|d| sizes[d + 1..].iter().product()).collect();
        for i in 0..seed.len() {
            let c = decode(&sizes, i);
            if c[0] + 1 >= sizes[0] || c[1] + 1 >= sizes[1] {
                continue;
            }
            let (a, b, cc, d) = (i, i + stride[1], i + stride[0], i + stride[0] + stride[1]);
            let seed_or = seed[a] * seed[d] / (seed[b] * seed[cc]);
            let fit_or = fitted[a] * fitted[d] / (fitted[b] * fitted[cc]);
            prop_assert!(close(seed_or, fit_or, 1e-9), "odds ratio {seed_or} became {fit_or}");
        }
    }
}
