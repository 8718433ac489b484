//! Simulation fidelity against known-truth worlds: a simulator that knows only main effects
//! replicates main effects but not interactions, and pure run noise has an ICC near zero.

mod common;

use std::path::Path;

use common::{evaluate_spec, world_attribute};
use populace::evaluation::world::{WorldItem, WorldSpec};
use serde_json::Value;

fn world(persons: usize, seed: u64, main: f64, interaction: f64) -> WorldSpec {
    let item = |name: &str, options: usize| WorldItem {
        options,
        main_effect: main,
        interaction,
        r#trait: 0.0,
        ..WorldItem::named(name)
    };
    WorldSpec {
        persons,
        seed,
        attributes: vec![world_attribute("a", 3), world_attribute("b", 3)],
        items: vec![item("q1", 4), item("q2", 2), item("q3", 3)],
        association: 0.0,
    }
}

fn run(dir: &Path, w: &WorldSpec, predictors: &str, repeats: usize) -> Value {
    w.write_csv(&dir.join("world.csv")).unwrap();
    let spec = format!(
        "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [\"a\", \"b\"]\nitems = [\"q1\", \"q2\", \"q3\"]\n\
         ordinal = [\"q1\"]\n[[predictor]]\nname = \"population\"\nkind = \"population\"\n{predictors}\n\
         [evaluation]\nfolds = 3\nbootstrap = 100\nseed = 3\n[simulation]\nrepeats = {repeats}\nseed = 5\n"
    );
    evaluate_spec(dir, &spec)
}

fn rate(json: &Value, name: &str, kind: &str) -> (u64, f64) {
    let r = &json["predictors"][name]["simulation"]["replication"][kind];
    let n = r["real_significant"].as_u64().or(r["real_null"].as_u64()).unwrap();
    (n, r["rate"]["estimate"].as_f64().unwrap_or(f64::NAN))
}

#[test]
fn a_main_effects_simulator_replicates_main_effects_but_not_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = "[[predictor]]\nname = \"profile\"\nkind = \"profile\"\n\
                      [[predictor]]\nname = \"cell\"\nkind = \"cell\"\nprior_strength = 1.0\n";
    let json = run(dir.path(), &world(3000, 11, 1.0, 2.0), predictors, 1);
    let (main_n, main) = rate(&json, "profile", "main");
    let (inter_n, inter) = rate(&json, "profile", "interaction");
    assert!(main_n >= 8 && inter_n >= 8, "too few real effects: {main_n} main, {inter_n} interaction");
    assert!(main >= 0.7, "main-effect replication {main}");
    assert!(inter <= 0.25, "interaction replication {inter}");
    // The cell predictor sees whole profiles, so it reproduces interactions far more often.
    let (_, cell_inter) = rate(&json, "cell", "interaction");
    assert!(cell_inter >= inter + 0.3, "cell {cell_inter} vs profile {inter}");
    // The baseline reproduces nothing and its false-positive rate is near alpha.
    assert_eq!(rate(&json, "population", "main").1, 0.0);
    let (nulls, fp) = rate(&json, "population", "false_positive");
    assert!(nulls == 0 || fp <= 0.15, "baseline false positives {fp}");
}

#[test]
fn pure_run_noise_has_an_icc_near_zero_and_a_profile_world_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = "[[predictor]]\nname = \"cell\"\nkind = \"cell\"\n";
    let icc = |json: &Value, name: &str| {
        let v = &json["predictors"][name]["simulation"]["variance"]["icc"];
        (v["estimate"].as_f64().unwrap(), v["ci_low"].as_f64().unwrap(), v["ci_high"].as_f64().unwrap())
    };
    let noise = run(dir.path(), &world(1500, 12, 0.0, 0.0), predictors, 8);
    for name in ["population", "cell"] {
        let (est, lo, hi) = icc(&noise, name);
        assert!(est.abs() < 0.03 && lo < 0.02 && hi > -0.02, "{name}: ICC {est} [{lo}, {hi}]");
    }
    let strong = run(dir.path(), &world(1500, 12, 2.0, 0.0), predictors, 8);
    let (est, lo, _) = icc(&strong, "cell");
    assert!(lo > 0.1, "profile-driven answers: ICC {est}, low {lo}");
    // The baseline gives everybody the same distribution, so only runs differ.
    assert!(icc(&strong, "population").0.abs() < 0.03);
    assert_eq!(strong["predictors"]["cell"]["simulation"]["variance"]["repeats"], 8);
}
