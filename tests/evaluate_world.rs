//! `evaluate` against known-truth worlds: no false "improves individuals" under the null,
//! detected gains, interactions captured by the cell predictor, CI coverage.

mod common;

use std::path::Path;

use common::{evaluate_spec, world_attribute};
use populace::evaluation::assign_folds;
use populace::evaluation::stats::mean_interval;
use populace::evaluation::world::{WorldItem, WorldSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::Value;

fn world(persons: usize, seed: u64, main: f64, interaction: f64, trait_: f64) -> WorldSpec {
    let item = |name: &str| WorldItem {
        options: 3,
        main_effect: main,
        interaction,
        r#trait: trait_,
        ..WorldItem::named(name)
    };
    WorldSpec {
        persons,
        seed,
        attributes: vec![world_attribute("a", 3), world_attribute("b", 3), world_attribute("region", 2)],
        items: vec![item("q1"), item("q2")],
        association: 0.0,
    }
}

fn run(dir: &Path, w: &WorldSpec, predictors: &str, bootstrap: usize) -> Value {
    w.write_csv(&dir.join("world.csv")).unwrap();
    let spec = format!(
        "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [\"a\", \"b\"]\nitems = [\"q1\", \"q2\"]\n\
         ordinal = [\"q1\"]\n[population]\ngroups = [\"a\", \"region\"]\n[[predictor]]\nname = \"population\"\n\
         kind = \"population\"\n{predictors}\n[evaluation]\nfolds = 3\nbootstrap = {bootstrap}\nseed = 7\n"
    );
    evaluate_spec(dir, &spec)
}

const PROFILE: &str = "[[predictor]]\nname = \"profile\"\nkind = \"profile\"\n";
const CELL: &str = "[[predictor]]\nname = \"cell\"\nkind = \"cell\"\n";

fn verdict(json: &Value, name: &str) -> String {
    json["predictors"][name]["verdict"]["verdict"].as_str().unwrap().to_string()
}

fn estimate(json: &Value, name: &str, path: &[&str]) -> f64 {
    let mut v = &json["predictors"][name];
    for p in path {
        v = &v[*p];
    }
    v["estimate"].as_f64().unwrap()
}

#[test]
fn null_world_rarely_improves_individuals() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = format!("{PROFILE}{CELL}");
    let mut false_positives = 0;
    for seed in 1..=20 {
        let json = run(dir.path(), &world(150, seed, 0.0, 0.0, 0.0), &predictors, 100);
        for name in ["profile", "cell"] {
            if verdict(&json, name) == "improves individuals" {
                false_positives += 1;
            }
        }
    }
    // 40 verdicts; the rule's one-sided 2.5% level allows about one.
    assert!(false_positives <= 2, "{false_positives} false 'improves individuals' in 40");
}

#[test]
fn profile_effects_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let json = run(dir.path(), &world(400, 3, 1.5, 0.0, 0.0), PROFILE, 200);
    assert_eq!(verdict(&json, "profile"), "improves individuals");
    assert!(estimate(&json, "profile", &["individual", "pseudo_r2"]) > 0.05);
    assert!(estimate(&json, "profile", &["individual", "share_improved"]) > 0.5);
}

#[test]
fn interaction_is_captured_by_cell_and_missed_by_main_effects() {
    let dir = tempfile::tempdir().unwrap();
    let json = run(dir.path(), &world(600, 5, 0.0, 3.0, 0.0), &format!("{PROFILE}{CELL}"), 100);
    let cell = estimate(&json, "cell", &["individual", "nll"]);
    let profile = estimate(&json, "profile", &["individual", "nll"]);
    assert!(cell < profile - 0.05, "cell NLL {cell} vs profile NLL {profile}");
    assert_eq!(verdict(&json, "cell"), "improves individuals");
    // Softmax makes a pure utility interaction leak a little into probability main effects,
    // so the main-effects model gains something, but far less than the cell predictor.
    let gap = estimate(&json, "cell", &["individual", "pseudo_r2"])
        - estimate(&json, "profile", &["individual", "pseudo_r2"]);
    assert!(gap > 0.05, "pseudo-R² gap {gap}");
}

#[test]
fn bootstrap_ci_covers_the_true_mean_at_about_the_nominal_rate() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let sims = 200;
    let mut covered = 0;
    for s in 0..sims {
        let values: Vec<f64> = (0..60).map(|_| StandardNormal.sample(&mut rng)).map(|z: f64| 2.0 + z).collect();
        let (_, lo, hi) = mean_interval(&values, 300, s, 0.05);
        if lo <= 2.0 && 2.0 <= hi {
            covered += 1;
        }
    }
    let rate = covered as f64 / sims as f64;
    assert!((0.88..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn evaluation_is_deterministic_and_folds_are_balanced() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(120, 2, 1.0, 0.0, 0.5);
    let a = run(dir.path(), &w, PROFILE, 50);
    let b = run(dir.path(), &w, PROFILE, 50);
    assert_eq!(a, b);
    let folds = assign_folds(103, 5, 9);
    assert_eq!(folds, assign_folds(103, 5, 9));
    for f in 0..5 {
        let size = folds.iter().filter(|&&x| x == f).count();
        assert!((20..=21).contains(&size));
    }
}
