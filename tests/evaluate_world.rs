//! `evaluate` against known-truth worlds: no false "improves individuals" under the null,
//! detected gains, interactions captured by the cell predictor, CI coverage.

mod common;

use std::path::Path;

use common::{evaluate_spec, world_attribute};
use populace::evaluation::assign_folds;
use populace::evaluation::stats::mean_interval;
use populace::evaluation::world::{WorldItem, WorldSpec};
use populace::evaluation::{Evaluation, PredictorKind, Verdict};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

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

fn run(dir: &Path, w: &WorldSpec, predictors: &str, bootstrap: usize) -> Evaluation {
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

fn verdict(e: &Evaluation, name: &str) -> Verdict {
    e.predictors[name].verdict
}

#[test]
fn null_world_rarely_improves_individuals() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = format!("{PROFILE}{CELL}");
    let mut false_positives = 0;
    for seed in 1..=20 {
        let json = run(dir.path(), &world(150, seed, 0.0, 0.0, 0.0), &predictors, 100);
        for name in ["profile", "cell"] {
            if verdict(&json, name) == Verdict::ImprovesIndividuals {
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
    let e = run(dir.path(), &world(400, 3, 1.5, 0.0, 0.0), PROFILE, 200);
    assert_eq!(verdict(&e, "profile"), Verdict::ImprovesIndividuals);
    assert_eq!(e.verdicts().collect::<Vec<_>>(), [("profile", Verdict::ImprovesIndividuals)]);
    let profile = &e.predictors["profile"].individual.overall;
    assert!(profile.pseudo_r2.estimate > 0.05 && profile.pseudo_r2.ci_low > 0.0, "{:?}", profile.pseudo_r2);
    assert!(profile.share_improved.estimate > 0.5);
    assert!(profile.d.estimate < 0.0, "lower NLL than the baseline: {:?}", profile.d);
    // Means of per-answer losses lie inside their bootstrap intervals.
    for m in [&profile.nll, &profile.brier, &profile.accuracy, &profile.pseudo_r2] {
        assert!(m.contains(m.estimate), "{m:?}");
    }
    // The baseline against itself: no gain, nobody improved, no difference.
    let baseline = &e.predictors["population"];
    assert_eq!((baseline.verdict, baseline.kind), (Verdict::Baseline, PredictorKind::Population));
    let b = &baseline.individual.overall;
    assert_eq!((b.pseudo_r2.estimate, b.share_improved.estimate, b.d.estimate), (0.0, 0.0, 0.0));
    assert_eq!(baseline.population.relative_gain.estimate, 0.0);
    assert!(baseline.population.tv.groupings.values().all(|g| g.relative_gain.estimate == 0.0));
    // Everything is there once: the data's persons, items, groupings and levels.
    assert_eq!(e.data.persons, 400);
    assert_eq!(e.evaluation.baseline, "population");
    assert!(e.data.items.iter().all(|i| i.answers + i.missing == 400 && i.missing == 0));
    let population = &e.predictors["profile"].population;
    assert_eq!(e.predictors["profile"].individual.items.keys().collect::<Vec<_>>(), ["q1", "q2"]);
    assert_eq!(population.items.keys().collect::<Vec<_>>(), ["q1", "q2"]);
    assert_eq!(population.items["q1"].keys().collect::<Vec<_>>(), ["all", "a", "region"]);
    let mut levels: Vec<&String> = population.tv.groups["a"].keys().collect();
    levels.sort();
    assert_eq!(levels, ["a0", "a1", "a2"]);
    assert_eq!(population.tv.groupings.keys().collect::<Vec<_>>(), ["a", "region"]);
    // Only the ordinal item has Wasserstein distances.
    let (q1, q2) = (&population.items["q1"]["all"]["all"], &population.items["q2"]["all"]["all"]);
    assert!(q1.w1.is_some() && q1.representativeness.is_some() && q2.w1.is_none() && q2.representativeness.is_none());
    assert!(population.tv.overall.estimate > 0.0 && population.tv.overall.estimate < 0.5);
}

#[test]
fn interaction_is_captured_by_cell_and_missed_by_main_effects() {
    let dir = tempfile::tempdir().unwrap();
    let e = run(dir.path(), &world(600, 5, 0.0, 3.0, 0.0), &format!("{PROFILE}{CELL}"), 100);
    let individual = |name: &str| &e.predictors[name].individual.overall;
    let (cell, profile) = (individual("cell").nll.estimate, individual("profile").nll.estimate);
    assert!(cell < profile - 0.05, "cell NLL {cell} vs profile NLL {profile}");
    assert_eq!(verdict(&e, "cell"), Verdict::ImprovesIndividuals);
    // Softmax makes a pure utility interaction leak a little into probability main effects,
    // so the main-effects model gains something, but far less than the cell predictor.
    let gap = individual("cell").pseudo_r2.estimate - individual("profile").pseudo_r2.estimate;
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
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    let folds = assign_folds(103, 5, 9);
    assert_eq!(folds, assign_folds(103, 5, 9));
    for f in 0..5 {
        let size = folds.iter().filter(|&&x| x == f).count();
        assert!((20..=21).contains(&size));
    }
}
