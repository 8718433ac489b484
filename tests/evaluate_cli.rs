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

/// Runs `populace evaluate DIR/spec.toml --out DIR/out`.
fn evaluate_spec(dir: &std::path::Path) -> assert_cmd::assert::Assert {
    populace().arg("evaluate").arg(dir.join("spec.toml")).arg("--out").arg(dir.join("out")).assert()
}

#[test]
fn world_then_evaluate_writes_json_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    std::fs::write(dir.path().join("spec.toml"), spec("\"age_group\", \"sex\"", "")).unwrap();
    let out = dir.path().join("out");
    evaluate_spec(dir.path()).success().stdout(contains("profile:"));
    let json = read_json(out.join("evaluation.json"));
    let p = &json["predictors"]["profile"];
    let estimate = |v: &serde_json::Value| {
        let [e, lo, hi] = ["estimate", "ci_low", "ci_high"].map(|k| v[k].as_f64().unwrap());
        assert!(lo <= hi, "{v}");
        e
    };
    // 200 persons, every answer given (the default world has no missing answers).
    assert_eq!(json["data"]["persons"], 200);
    for item in json["data"]["items"].as_array().unwrap() {
        assert_eq!((item["answers"].as_u64(), item["missing"].as_u64()), (Some(200), Some(0)), "{item}");
    }
    assert_eq!(json["data"]["items"][0]["options"].as_array().unwrap().len(), 5);
    // q1 has 5 options: a uniform guess costs ln 5 per answer, and any fit does better.
    let nll = estimate(&p["individual"]["nll"]);
    assert!(nll > 0.0 && nll < 5f64.ln(), "{nll}");
    assert!((-1.0..1.0).contains(&estimate(&p["individual"]["pseudo_r2"])));
    assert!((0.0..=1.0).contains(&estimate(&p["individual"]["share_improved"])));
    assert!((0.0..=1.0).contains(&estimate(&p["population"]["tv"]["overall"])));
    assert!((0.0..=1.0).contains(&estimate(&p["population"]["tv"]["groups"]["region"]["west"])));
    let q1_west = &p["population"]["items"]["q1"]["region"]["west"];
    let (tv, w1) = (estimate(&q1_west["tv"]), estimate(&q1_west["w1"]));
    assert!((estimate(&q1_west["representativeness"]) - (1.0 - w1 / 4.0)).abs() < 1e-12);
    assert!(tv <= w1 + 1e-12, "TV {tv} is at most W1 {w1} on positions 0…4");
    // The verdict repeats the estimates it rests on.
    assert_eq!(p["verdict"]["pseudo_r2"], p["individual"]["pseudo_r2"]);
    assert_eq!(p["verdict"]["population_relative_gain"], p["population"]["relative_gain"]);
    let verdicts = ["improves individuals", "improves populations only", "neither"];
    assert!(verdicts.contains(&p["verdict"]["verdict"].as_str().unwrap()));
    assert_eq!(json["predictors"]["population"]["verdict"], "baseline");
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

/// The cells of a Markdown table row (`\|` is a `|` inside a cell).
fn cells(row: &str) -> usize {
    row.replace("\\|", "").trim().trim_matches('|').split('|').count()
}

#[test]
fn every_summary_table_row_has_its_header_s_columns() {
    // no [population] groups, and a predictor whose name holds a `|`
    let dir = tempfile::tempdir().unwrap();
    world(dir.path());
    let text = spec("\"age_group\", \"sex\"", "").replace("[population]\ngroups = [\"region\"]\n", "");
    std::fs::write(dir.path().join("spec.toml"), text.replace("name = \"history\"", "name = \"his|tory\"")).unwrap();
    let out = dir.path().join("out");
    evaluate_spec(dir.path()).success();
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| his\\|tory |"), "{summary}");
    let mut header = None;
    for line in summary.lines() {
        match (line.starts_with('|'), header) {
            (true, None) => header = Some(cells(line)),
            (true, Some(n)) => assert_eq!(cells(line), n, "{line}\nin\n{summary}"),
            (false, _) => header = None,
        }
    }
}
