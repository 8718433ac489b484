//! Simulation fidelity against known-truth worlds: a simulator that knows only main effects
//! replicates main effects but not interactions, and pure run noise has an ICC near zero.

mod common;

use std::path::Path;

use common::{evaluate_spec, world_attribute};
use populace::evaluation::effects::EffectKind::{Interaction, Main};
use populace::evaluation::report::Replication;
use populace::evaluation::simulation::DrawSource;
use populace::evaluation::world::{WorldItem, WorldSpec};
use populace::evaluation::Evaluation;

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

fn run(dir: &Path, w: &WorldSpec, predictors: &str, repeats: usize) -> Evaluation {
    w.write_csv(&dir.join("world.csv")).unwrap();
    let spec = format!(
        "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [\"a\", \"b\"]\nitems = [\"q1\", \"q2\", \"q3\"]\n\
         ordinal = [\"q1\"]\n[[predictor]]\nname = \"population\"\nkind = \"population\"\n{predictors}\n\
         [evaluation]\nfolds = 3\nbootstrap = 100\nseed = 3\n[simulation]\nrepeats = {repeats}\nseed = 5\n"
    );
    evaluate_spec(dir, &spec)
}

fn replication<'a>(e: &'a Evaluation, name: &str) -> &'a Replication {
    &e.predictors[name].simulation.replication
}

#[test]
fn a_main_effects_simulator_replicates_main_effects_but_not_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = "[[predictor]]\nname = \"profile\"\nkind = \"profile\"\n\
                      [[predictor]]\nname = \"cell\"\nkind = \"cell\"\nprior_strength = 1.0\n";
    let e = run(dir.path(), &world(3000, 11, 1.0, 2.0), predictors, 1);
    let profile = replication(&e, "profile");
    let (main_n, main) = (profile.main.real_significant, profile.main.rate.estimate);
    let (inter_n, inter) = (profile.interaction.real_significant, profile.interaction.rate.estimate);
    assert!(main_n >= 8 && inter_n >= 8, "too few real effects: {main_n} main, {inter_n} interaction");
    assert!(main >= 0.7, "main-effect replication {main}");
    assert!(inter <= 0.25, "interaction replication {inter}");
    // The cell predictor sees whole profiles, so it reproduces interactions far more often.
    let cell_inter = replication(&e, "cell").interaction.rate.estimate;
    assert!(cell_inter >= inter + 0.3, "cell {cell_inter} vs profile {inter}");
    // The baseline reproduces nothing and its false-positive rate is near alpha.
    let baseline = replication(&e, "population");
    assert_eq!((baseline.main.replicated, baseline.main.rate.estimate), (0, 0.0));
    let fp = &baseline.false_positive;
    assert!(fp.real_null == 0 || fp.rate.estimate <= 0.15, "baseline false positives {fp:?}");
    for (name, p) in &e.predictors {
        let r = &p.simulation.replication;
        assert_eq!(p.simulation.draws, DrawSource::Populace, "{name}");
        // The same real effects are tested for every predictor; the counts add up.
        assert_eq!((r.main.real_significant, r.interaction.real_significant), (main_n, inter_n), "{name}");
        let listed = |kind, significant: bool| {
            r.effects.iter().filter(|x| x.kind == kind && (x.real.p < r.alpha) == significant).count()
        };
        assert_eq!((listed(Main, true), listed(Interaction, true)), (main_n, inter_n), "{name}");
        let replicated = r.effects.iter().filter(|x| x.replicated).count();
        assert_eq!(replicated, r.main.replicated + r.interaction.replicated, "{name}");
        assert_eq!(r.by_strength.iter().map(|b| b.real_significant).sum::<usize>(), main_n + inter_n, "{name}");
        // A Wilson interval holds its proportion (up to rounding: at 0 of n its lower end is
        // 0 only in exact arithmetic).
        for rate in [&r.main.rate, &r.interaction.rate, &r.false_positive.rate] {
            assert!(rate.ci_low - 1e-12 <= rate.estimate && rate.estimate <= rate.ci_high + 1e-12, "{name}: {rate:?}");
        }
        // One draw per person: no run-to-run variance to measure.
        assert!(p.simulation.variance.is_none(), "{name}");
    }
}

#[test]
fn pure_run_noise_has_an_icc_near_zero_and_a_profile_world_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let predictors = "[[predictor]]\nname = \"cell\"\nkind = \"cell\"\n";
    let icc = |e: &Evaluation, name: &str| {
        let v = e.predictors[name].simulation.variance.as_ref().unwrap().overall.icc;
        (v.estimate, v.ci_low, v.ci_high)
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
    let variance = strong.predictors["cell"].simulation.variance.as_ref().unwrap();
    assert_eq!(variance.repeats, 8);
    assert_eq!(variance.items.keys().collect::<Vec<_>>(), ["q1", "q2", "q3"]);
    // The total splits into within and between, per item.
    for (item, v) in &variance.items {
        assert!(v.within.estimate > 0.0 && v.between.estimate > 0.0, "{item}: {v:?}");
        let total = v.within.estimate + v.between.estimate;
        assert!((v.icc.estimate - v.between.estimate / total).abs() < 1e-12, "{item}: {v:?}");
    }
}
