//! Sampling zeros on real persons: the ACS 2012 sample (`marginals/acs2012/persons.csv`, 2,000
//! persons) is the truth; the fit sees its one- and two-way margins and a 2% or 5% sample of it
//! as the seed. Such small seeds miss categories the margins have, so plain IPF cannot meet the
//! margins; with `zero_cells = "fill"` it can, and the filled, seeded joint must still recover
//! the truth's joint better than the joints built from the margins alone (seedless IPF, and
//! attributes independent), on SRMSE and on persons of kinds the truth has none of.

mod common;

use std::collections::HashMap;

use populace::fitting::{fit_dense, DenseFit};
use populace::inputs::{Csv, FitOptions, MarginInput, Problem, SeedInput, ZeroCells};

const ATTRIBUTES: [&str; 7] = ["age_group", "sex", "race", "education", "employment", "income_band", "married"];
const TWO_WAY: [[&str; 2]; 6] = [
    ["age_group", "sex"],
    ["age_group", "education"],
    ["age_group", "income_band"],
    ["age_group", "married"],
    ["sex", "employment"],
    ["race", "sex"],
];

/// The persons, as their values of [`ATTRIBUTES`].
fn persons() -> Vec<Vec<String>> {
    let (header, rows) = common::read_csv(common::root().join("marginals/acs2012/persons.csv"));
    let columns: Vec<usize> = ATTRIBUTES.iter().map(|a| header.iter().position(|h| h == a).unwrap()).collect();
    rows.iter().map(|r| columns.iter().map(|&c| r[c].clone()).collect()).collect()
}

/// The margin over `attributes` of `persons`, as CSV text.
fn margin(persons: &[Vec<String>], attributes: &[&str]) -> MarginInput {
    let columns: Vec<usize> = attributes.iter().map(|a| ATTRIBUTES.iter().position(|x| x == a).unwrap()).collect();
    let mut counts: HashMap<Vec<&str>, usize> = HashMap::new();
    for p in persons {
        *counts.entry(columns.iter().map(|&c| p[c].as_str()).collect()).or_default() += 1;
    }
    let mut cells: Vec<_> = counts.into_iter().collect();
    cells.sort();
    let mut text = format!("{},count\n", attributes.join(","));
    for (key, n) in cells {
        text.push_str(&format!("{},{n}\n", key.join(",")));
    }
    MarginInput::csv(Csv::text(attributes.join("_"), text))
}

/// The problem of the truth's margins, with the seed of every `step`-th person when given.
fn problem(persons: &[Vec<String>], step: Option<usize>) -> Problem {
    let mut builder = Problem::builder();
    for a in ATTRIBUTES {
        builder = builder.margin(margin(persons, &[a]));
    }
    for pair in TWO_WAY {
        builder = builder.margin(margin(persons, &pair));
    }
    if let Some(step) = step {
        let mut text = format!("{}\n", ATTRIBUTES.join(","));
        for p in persons.iter().skip(step / 2).step_by(step) {
            text.push_str(&format!("{}\n", p.join(",")));
        }
        builder = builder.seed(SeedInput::csv(Csv::text("seed.csv", text)));
    }
    builder.build().unwrap()
}

/// The truth's joint in the fit's cell order.
fn truth_joint(persons: &[Vec<String>], fit: &DenseFit) -> Vec<f64> {
    let domain = &fit.domain;
    let mut joint = vec![0.0; fit.joint.values.len()];
    for p in persons {
        let index = ATTRIBUTES.iter().zip(p).fold(0usize, |acc, (a, v)| {
            let attribute = domain.attribute(domain.index_of(a).unwrap());
            acc * attribute.len() + attribute.code(v).unwrap() as usize
        });
        joint[index] += 1.0;
    }
    joint
}

/// Joint SRMSE against the truth, and the share of the joint's mass in cells the truth has none of.
fn scores(joint: &[f64], truth: &[f64]) -> (f64, f64) {
    let srmse = populace::metrics::srmse(joint, truth).unwrap();
    let total: f64 = joint.iter().sum();
    let impossible: f64 = joint.iter().zip(truth).filter(|(_, &t)| t == 0.0).map(|(j, _)| j).sum();
    (srmse, impossible / total)
}

/// The joint of independent attributes with the truth's one-way margins.
fn independent(fit: &DenseFit, truth: &[f64]) -> Vec<f64> {
    let sizes = &fit.joint.sizes;
    let n: f64 = truth.iter().sum();
    let mut one_way: Vec<Vec<f64>> = sizes.iter().map(|&s| vec![0.0; s]).collect();
    for (index, &t) in truth.iter().enumerate() {
        let mut rest = index;
        for (a, &s) in sizes.iter().enumerate().rev() {
            one_way[a][rest % s] += t;
            rest /= s;
        }
    }
    (0..truth.len())
        .map(|index| {
            let mut rest = index;
            let mut p = n;
            for (a, &s) in sizes.iter().enumerate().rev() {
                p *= one_way[a][rest % s] / n;
                rest /= s;
            }
            p
        })
        .collect()
}

fn fit(problem: &Problem, zero_cells: ZeroCells) -> populace::Result<DenseFit> {
    let options = FitOptions::params().zero_cells(zero_cells).max_iterations(5000).check().unwrap();
    fit_dense(problem, &options, &mut [])
}

#[test]
fn filled_small_seeds_beat_the_margins_alone_on_the_joint_and_on_impossible_persons() {
    let persons = persons();
    let seedless = fit(&problem(&persons, None), ZeroCells::Fill).unwrap();
    let truth = truth_joint(&persons, &seedless);
    let (seedless_srmse, seedless_impossible) = scores(&seedless.joint.values, &truth);
    let (independent_srmse, independent_impossible) = scores(&independent(&seedless, &truth), &truth);
    for (percent, step) in [(2, 50), (5, 20)] {
        let problem = problem(&persons, Some(step));
        // without a fill the small seed cannot meet the margins
        let refused = fit(&problem, ZeroCells::Error).unwrap_err().to_string();
        assert!(refused.contains("sampling zeros"), "{percent}%: {refused}");
        let filled = fit(&problem, ZeroCells::Fill).unwrap();
        assert!(filled.convergence.converged, "{percent}%");
        let zeros = filled.zeros.as_ref().unwrap();
        assert!(!zeros.filled.is_empty());
        let (srmse, impossible) = scores(&filled.joint.values, &truth);
        eprintln!(
            "{percent}% seed: {} filled margin cells; joint SRMSE filled {srmse:.3}, seedless {seedless_srmse:.3}, \
             independent {independent_srmse:.3}; impossible {impossible:.3}, {seedless_impossible:.3}, {independent_impossible:.3}",
            zeros.filled.len()
        );
        assert!(srmse < seedless_srmse && srmse < independent_srmse, "{percent}%: SRMSE {srmse}");
        assert!(impossible < seedless_impossible && impossible < independent_impossible, "{percent}%: {impossible}");
        // with zero_cells = "prior" the result depends on the weight (README, "Sampling zeros");
        // every weight gives a fit that meets the margins
        for w in [0.01, 0.1, 0.5] {
            let smoothed = fit(&problem, ZeroCells::Prior(w)).unwrap();
            assert!(smoothed.convergence.converged, "{percent}%, prior weight {w}");
            let (s, i) = scores(&smoothed.joint.values, &truth);
            eprintln!("{percent}% seed, prior weight {w}: joint SRMSE {s:.3}, impossible {i:.3}");
        }
    }
}
