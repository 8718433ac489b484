//! Calibration against R `survey` 4.1.1 on the real `apistrat` sample (tests/oracle/README.md).
//!
//! Constraints are built directly through the library API: the test maps each seed record's
//! categories to the index of the matching row of each margin file. R's fixtures use treatment
//! contrasts (intercept + non-reference levels); the calibrated weights do not depend on the
//! parameterisation, so they are compared record by record, one test per case and method.

mod common;

use std::collections::HashMap;

use common::{api_case, api_oracle, assert_every_api_case_tested, read_csv};
use populace::calibration::{calibrate, Calibrated, Calibration, Constraints};
use populace::iteration::Stopping;
use populace::Error;

/// An oracle file as its header and rows of strings.
fn read(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(api_oracle().join(name))
}

struct Seed {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    ids: Vec<String>,
    design: Vec<f64>,
}

fn seed() -> Seed {
    let (header, rows) = read("seed.csv");
    let ids = rows.iter().map(|r| r[0].clone()).collect();
    let design = rows.iter().map(|r| r[1].parse().unwrap()).collect();
    Seed { header, rows, ids, design }
}

/// Constraints for the margin files: the code of a record in a margin is the index of the
/// margin row whose attribute values equal the record's.
fn constraints<S: AsRef<str>>(seed: &Seed, files: &[S]) -> Constraints {
    let mut sizes = Vec::new();
    let mut targets = Vec::new();
    let mut codes_per_margin = Vec::new();
    let mut names = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        let (header, rows) = read(file.as_ref());
        let attrs = &header[..header.len() - 1];
        let columns: Vec<usize> = attrs.iter().map(|a| seed.header.iter().position(|h| h == a).unwrap()).collect();
        let index: HashMap<Vec<String>, u32> =
            rows.iter().enumerate().map(|(j, r)| (r[..attrs.len()].to_vec(), j as u32)).collect();
        let codes: Vec<u32> =
            seed.rows.iter().map(|r| index[&columns.iter().map(|&c| r[c].clone()).collect::<Vec<_>>()]).collect();
        sizes.push(rows.len());
        targets.push(rows.iter().map(|r| r[attrs.len()].parse::<f64>().unwrap()).collect::<Vec<_>>());
        codes_per_margin.push(codes);
        names.push(attrs.join("×"));
        labels.push(rows.iter().map(|r| r[..attrs.len()].join("/")).collect::<Vec<_>>());
    }
    let membership: Vec<u32> =
        (0..seed.rows.len()).flat_map(|i| codes_per_margin.iter().map(move |c| c[i]).collect::<Vec<_>>()).collect();
    let importance = vec![None; files.len()];
    Constraints::new(membership, sizes, targets, importance).unwrap().with_labels(names, labels).unwrap()
}

/// R's weights for a case, checked to be in seed order.
fn r_weights(seed: &Seed, file: &str) -> Vec<f64> {
    let (_, rows) = read(file);
    assert_eq!(rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), seed.ids);
    rows.iter().map(|r| r[1].parse().unwrap()).collect()
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs()).fold(0.0, f64::max)
}

fn run(seed: &Seed, c: &Constraints, method: Calibration) -> Calibrated {
    let out = calibrate(&seed.design, c, method, Stopping::new(1e-10, 10_000).unwrap(), &mut []).unwrap();
    assert!(out.convergence.converged, "{method:?}: {:?}", out.convergence);
    for m in &out.margins {
        assert!(m.max_abs_deviation() <= out.convergence.effective_tolerance, "{method:?}: {m:?}");
    }
    out
}

/// Calibrates the oracle's seed to the margins of `case` with populace's `method` (`linear`,
/// `rake`, `entropy`, or `logit` with the case's bounds) and compares the weights with R's.
///
/// `rake_oneway` is R's `rake()` (IPF), which stops on the change between sweeps (1e-13 × the
/// weight total, 6.2e-10 absolute) at a deviation of 5.6e-10: its weights sit 1.2e-12 relative
/// from the exact raking solution. That is far inside 1e-8, so every case uses 1e-8.
fn weights_match_r_survey(case: &str, name: &str) {
    let seed = seed();
    let common::ApiCase { method: r_method, margins, bounds, weights_file } = api_case(case);
    let c = constraints(&seed, &margins);
    let expected = r_weights(&seed, &weights_file);
    let method = match name {
        "linear" => Calibration::Linear,
        "rake" => Calibration::Rake,
        "entropy" => Calibration::Entropy,
        "logit" => {
            let (lower, upper) = bounds.expect("logit bounds");
            Calibration::logit(lower, upper).unwrap()
        }
        _ => unreachable!(),
    };
    let out = run(&seed, &c, method);
    let diff = max_rel_diff(&out.weights, &expected);
    println!(
        "{case:14} (R {r_method:7}) vs {name:8}: max rel diff {diff:.2e}, {} iterations, deviation {:.1e}, \
         g in [{:.6}, {:.6}]",
        out.convergence.iterations, out.convergence.max_deviation, out.g_min, out.g_max
    );
    assert!(diff < 1e-8, "{case} with {name}: max relative difference {diff:e}");
    if let Some((lower, upper)) = bounds {
        assert!(out.g_min > lower && out.g_max < upper);
    }
    if name == "linear" {
        assert_eq!(out.convergence.iterations, 1);
        assert_eq!(out.negative_weights, 0);
    }
}

/// One test per oracle case and populace method that must reproduce it, and the list of the
/// cases they test.
macro_rules! oracle_cases {
    ($($test:ident: $case:literal by $method:literal,)*) => {
        $(
            #[test]
            fn $test() {
                weights_match_r_survey($case, $method);
            }
        )*
        const TESTED: &[&str] = &[$($case),*];
    };
}

oracle_cases! {
    linear_oneway_by_linear: "linear_oneway" by "linear",
    raking_oneway_by_rake: "raking_oneway" by "rake",
    raking_oneway_by_entropy: "raking_oneway" by "entropy",
    logit_oneway_by_logit: "logit_oneway" by "logit",
    rake_oneway_by_rake: "rake_oneway" by "rake",
    rake_oneway_by_entropy: "rake_oneway" by "entropy",
    raking_twoway_by_rake: "raking_twoway" by "rake",
    raking_twoway_by_entropy: "raking_twoway" by "entropy",
    linear_twoway_by_linear: "linear_twoway" by "linear",
}

#[test]
fn every_oracle_case_has_a_test() {
    assert_every_api_case_tested(TESTED);
}

#[test]
fn entropy_with_all_margins_hard_equals_raking() {
    let seed = seed();
    let common::ApiCase { margins, weights_file: file, .. } = api_case("raking_oneway");
    let c = constraints(&seed, &margins);
    let entropy = run(&seed, &c, Calibration::Entropy);
    let rake = run(&seed, &c, Calibration::Rake);
    assert!(max_rel_diff(&entropy.weights, &r_weights(&seed, &file)) < 1e-8);
    assert!(max_rel_diff(&entropy.weights, &rake.weights) < 1e-8);
}

#[test]
fn logit_bounds_past_the_edge_of_feasibility_are_infeasible() {
    // README: L ≥ 0.82 or U ≤ 1.05 has no solution on this sample
    let seed = seed();
    let c = constraints(&seed, &["stype.csv", "sch_wide.csv", "awards.csv"]);
    for (lower, upper) in [(0.82, 1.06), (0.815, 1.05), (0.9, 1.06), (0.5, 1.01)] {
        let err = calibrate(&seed.design, &c, Calibration::logit(lower, upper).unwrap(), Stopping::default(), &mut [])
            .unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Infeasible(_)), "({lower}, {upper}): {message}");
        assert!(message.contains("closest margins reached") || message.contains("reach only"), "{message}");
        println!("({lower}, {upper}): {message}");
    }
}

#[test]
fn a_target_cell_without_seed_support_is_infeasible_for_every_method() {
    // enroll_band "unknown" (37 schools) has no seed record
    let seed = seed();
    let c = constraints(&seed, &["stype.csv", "enroll_band.csv"]);
    for method in [Calibration::Rake, Calibration::Linear, Calibration::Entropy, Calibration::logit(0.5, 2.0).unwrap()]
    {
        let err = calibrate(&seed.design, &c, method, Stopping::default(), &mut []).unwrap_err();
        assert!(matches!(err, Error::Infeasible(ref m) if m.contains("(unknown) of enroll_band")), "{method:?}: {err}");
    }
}
