//! The real-data check behind populace's first claim: on the ACS 2012 sample, a pool
//! calibrated from the margins plus a 10% seed recovers the held-out joint better than a pool
//! drawn from the one-way marginals alone. The truth (`marginals/acs2012/persons.csv`) is used
//! only for the comparison; the fit sees its two-way margins and the seed.

mod common;

use std::path::Path;

use common::{populace, root};

/// Runs `populace ARGS` in `dir`; returns its stdout.
fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = populace().args(args).current_dir(dir).assert().success();
    out.get_output().stdout.clone()
}

#[test]
fn the_calibrated_pool_recovers_the_held_out_joint_better_than_the_independent_pool() {
    let spec = root().join("calibration/acs2012.toml").display().to_string();
    let truth = root().join("marginals/acs2012/persons.csv").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let common = ["-n", "2000", "--seed", "1", "--quiet", "--no-card"];
    run(dir.path(), &[&["generate", &spec, "--out", "calibrated.csv"], &common[..]].concat());
    run(
        dir.path(),
        &[&["generate", &spec, "--out", "independent.csv", "--naive", "independent"], &common[..]].concat(),
    );
    let json = run(dir.path(), &["compare", "--truth", &truth, "calibrated.csv", "independent.csv", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let pools = report["pools"].as_array().unwrap();
    let order = |pool: &serde_json::Value, k: u64| {
        pool["orders"].as_array().unwrap().iter().find(|o| o["order"] == k).unwrap()["mean_srmse"].as_f64().unwrap()
    };
    let (calibrated, independent) = (&pools[0], &pools[1]);
    // both pools meet the one-way margins
    assert!(order(calibrated, 1) < 1e-9 && order(independent, 1) < 1e-9);
    // the calibrated pool is closer on every higher order and on the full joint
    for k in [2, 3] {
        assert!(order(calibrated, k) < 0.5 * order(independent, k), "order {k}");
    }
    let joint = |pool: &serde_json::Value| pool["joint"]["srmse"].as_f64().unwrap();
    assert!(joint(calibrated) < 0.75 * joint(independent));
    // and invents no impossible persons, where the independent pool invents many
    assert_eq!(calibrated["impossible"]["share"].as_f64().unwrap(), 0.0);
    assert!(independent["impossible"]["share"].as_f64().unwrap() > 0.3);
}
