//! Persona pools against a known-truth world whose attributes depend on each other: a pool
//! calibrated to the joint margin predicts the population's answers better than a naive pool
//! drawn from one-way margins, through the same predictor.

use std::collections::BTreeMap;
mod common;

use std::path::Path;

use common::{populace, read_json, world_attribute, BAD_INPUT};
use populace::evaluation::world::{WorldItem, WorldSpec};

fn world(dir: &Path) {
    let item = |name: &str| WorldItem {
        options: 4,
        main_effect: 1.5,
        interaction: 1.5,
        r#trait: 0.0,
        ..WorldItem::named(name)
    };
    let spec = WorldSpec {
        persons: 3000,
        seed: 21,
        attributes: vec![world_attribute("a", 3), world_attribute("b", 4)],
        items: vec![item("q1"), item("q2")],
        association: 2.0,
    };
    spec.write_csv(&dir.join("world.csv")).unwrap();
}

/// The a × b margin of the world as a tidy CSV, and a fit spec over it.
fn margins(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("world.csv")).unwrap();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        *counts.entry((f[1].to_string(), f[2].to_string())).or_default() += 1;
    }
    let mut csv = String::from("a,b,count\n");
    for ((a, b), n) in counts {
        csv.push_str(&format!("{a},{b},{n}\n"));
    }
    std::fs::write(dir.join("a_b.csv"), csv).unwrap();
    std::fs::write(dir.join("fit.toml"), "[[margin]]\nfile = \"a_b.csv\"\n").unwrap();
}

/// Runs `populace ARGS` in `dir` and expects success.
fn run(args: &[&str], dir: &Path) {
    populace().current_dir(dir).args(args).assert().success();
}

#[test]
fn a_calibrated_pool_predicts_the_population_better_than_a_naive_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    world(d);
    margins(d);
    run(&["generate", "fit.toml", "-n", "3000", "--seed", "3", "--out", "calibrated.csv", "--quiet"], d);
    run(
        &[
            "generate",
            "fit.toml",
            "-n",
            "3000",
            "--seed",
            "3",
            "--naive",
            "independent",
            "--out",
            "naive.csv",
            "--quiet",
        ],
        d,
    );
    let spec = "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [\"a\", \"b\"]\nitems = [\"q1\", \"q2\"]\n\
                [population]\ngroups = [\"a\", \"b\"]\n\
                [[predictor]]\nname = \"population\"\nkind = \"population\"\n\
                [[predictor]]\nname = \"cell\"\nkind = \"cell\"\n\
                [evaluation]\nfolds = 3\nbootstrap = 200\nseed = 2\n\
                [[pool]]\nname = \"naive\"\nfile = \"naive.csv\"\n\
                [[pool]]\nname = \"calibrated\"\nfile = \"calibrated.csv\"\n";
    std::fs::write(d.join("spec.toml"), spec).unwrap();
    run(&["evaluate", "spec.toml", "--out", "out", "--quiet"], d);
    let json = read_json(d.join("out/evaluation.json"));
    let pools = &json["pools"];
    let score = |pool: &str| pools[pool]["predictors"]["cell"]["tv_score"]["estimate"].as_f64().unwrap();
    let (naive, calibrated) = (score("naive"), score("calibrated"));
    assert!(calibrated < 0.6 * naive, "calibrated {calibrated} vs naive {naive}");
    let diff = &pools["calibrated"]["predictors"]["cell"]["difference_from_first"];
    assert!(diff["ci_high"].as_f64().unwrap() < 0.0, "{diff}");
    // The baseline ignores the profile, so the pool cannot matter to it.
    let base = |pool: &str| pools[pool]["predictors"]["population"]["tv_score"]["estimate"].as_f64().unwrap();
    assert!((base("naive") - base("calibrated")).abs() < 1e-12);
    assert_eq!(pools["naive"]["persons"], 3000);
}

#[test]
fn a_pool_with_an_unknown_level_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    world(d);
    std::fs::write(d.join("pool.csv"), "person_id,a,b\n1,a0,b1\n2,a9,b1\n").unwrap();
    let spec = "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [\"a\", \"b\"]\nitems = [\"q1\"]\n\
                [[predictor]]\nname = \"population\"\nkind = \"population\"\n\
                [evaluation]\nbootstrap = 10\n[[pool]]\nname = \"p\"\nfile = \"pool.csv\"\n";
    std::fs::write(d.join("spec.toml"), spec).unwrap();
    populace()
        .current_dir(d)
        .args(["evaluate", "spec.toml", "--out", "out"])
        .assert()
        .code(BAD_INPUT)
        .stderr(predicates::str::contains("pool.csv, line 3, column \"a\": \"a9\" is not a level of \"a\""));
}
