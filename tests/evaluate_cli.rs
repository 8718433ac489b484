//! `populace world` and `populace evaluate` end to end, and their input errors.

mod common;

use common::{populace, read_json, BAD_INPUT};
use predicates::str::contains;

fn spec(profile: &str, extra: &str) -> String {
    format!(
        "[data]\nfile = \"world.csv\"\nid = \"person_id\"\nprofile = [{profile}]\nitems = [\"q1\", \"choice\"]\n\
         ordinal = [\"q1\"]\n[population]\ngroups = [\"region\"]\n[[predictor]]\nname = \"population\"\n\
         kind = \"population\"\n[[predictor]]\nname = \"profile\"\nkind = \"profile\"\n[[predictor]]\n\
         name = \"history\"\nkind = \"history\"\n[evaluation]\nfolds = 3\nbootstrap = 50\n{extra}"
    )
}

fn world(dir: &std::path::Path) {
    populace()
        .args(["world", "--persons", "200", "--seed", "4", "--quiet", "--out"])
        .arg(dir.join("world.csv"))
        .assert()
        .success();
}

#[test]
fn world_then_evaluate_writes_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    std::fs::write(dir.path().join("spec.toml"), spec("\"age_group\", \"sex\"", "")).unwrap();
    let out = dir.path().join("out");
    populace()
        .arg("evaluate")
        .arg(dir.path().join("spec.toml"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("profile:"));
    let json = read_json(out.join("evaluation.json"));
    let p = &json["predictors"]["profile"];
    for key in ["estimate", "ci_low", "ci_high"] {
        assert!(p["individual"]["pseudo_r2"][key].is_number());
        assert!(p["individual"]["nll"][key].is_number());
        assert!(p["population"]["tv"]["overall"][key].is_number());
    }
    assert!(p["individual"]["share_improved"]["estimate"].is_number());
    assert!(p["population"]["tv"]["groups"]["region"]["west"]["estimate"].is_number());
    assert!(p["population"]["items"]["q1"]["region"]["west"]["representativeness"]["estimate"].is_number());
    assert!(p["verdict"]["verdict"].is_string());
    assert!(std::fs::read_to_string(out.join("summary.md")).unwrap().contains("## Verdicts"));
    // Predictors keep the spec's order, the baseline first.
    let names: Vec<&String> = json["predictors"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["population", "profile", "history"]);
    // The chart has, per predictor, one interval overall and one per item (pseudo-R² and ICC),
    // one for the verdict score and one per grouping, one per replication rate that has real
    // effects to replicate, and a legend dot in each of four panels.
    let svg = std::fs::read_to_string(out.join("evaluation.svg")).unwrap();
    let items = json["data"]["items"].as_array().unwrap().len();
    let groupings = json["data"]["groups"].as_array().unwrap().len();
    let rates: usize = json["predictors"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| {
            let r = &p["simulation"]["replication"];
            ["main", "interaction", "false_positive"].iter().filter(|k| r[**k]["rate"]["estimate"].is_number()).count()
        })
        .sum();
    assert_eq!(svg.matches("<circle").count(), 3 * (2 * (1 + items) + (1 + groupings) + 4) + rates);
}

#[test]
fn unknown_profile_column_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    std::fs::write(dir.path().join("spec.toml"), spec("\"age_group\", \"income\"", "")).unwrap();
    populace()
        .arg("evaluate")
        .arg(dir.path().join("spec.toml"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .code(BAD_INPUT)
        .stderr(contains("world.csv, line 1, column \"income\""))
        .stderr(contains("unknown profile column"));
}

#[test]
fn unknown_spec_field_and_empty_item_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    std::fs::write(dir.path().join("spec.toml"), spec("\"sex\"", "foldz = 3\n")).unwrap();
    let run = || {
        populace().arg("evaluate").arg(dir.path().join("spec.toml")).arg("--out").arg(dir.path().join("out")).assert()
    };
    run().code(BAD_INPUT).stderr(contains("foldz"));
    let csv = "person_id,sex,region,q1,choice\np1,f,n,,a\np2,m,s,,b\np3,f,n,,a\np4,m,s,,b\np5,f,n,,a\np6,m,s,,b\n";
    std::fs::write(dir.path().join("world.csv"), csv).unwrap();
    std::fs::write(dir.path().join("spec.toml"), spec("\"sex\"", "")).unwrap();
    run().code(BAD_INPUT).stderr(contains("column \"q1\": every answer to the item is missing"));
}
