//! `populace evaluate` on responses with missing values (issue #18): ACS 2012 persons with the
//! source's own missing values (`tests/fixtures/evaluate_missing/`, made by its `make.py`, which also
//! writes the counts expected here to `expected.json`).

mod common;

use std::path::PathBuf;

use common::{populace, read_json, root, BAD_INPUT};
use serde_json::{json, Value};

fn fixture() -> PathBuf {
    root().join("tests/fixtures/evaluate_missing")
}

fn expected() -> Value {
    read_json(fixture().join("expected.json"))
}

/// A spec over the fixture's `responses`, with `top` before `[data]`, `data` inside it and
/// `extra` at the end.
fn spec(top: &str, responses: &str, data: &str, extra: &str) -> String {
    let file = fixture().join(responses);
    format!(
        "{top}\n[data]\nfile = '{}'\nid = \"person_id\"\nprofile = [\"age_group\", \"sex\", \"education\", \
         \"hours_band\"]\nitems = [\"employment\", \"income_band\"]\n{data}\n[population]\ngroups = \
         [\"commute_band\", \"hours_band\"]\n[[predictor]]\nname = \"population\"\nkind = \"population\"\n\
         [[predictor]]\nname = \"profile\"\nkind = \"profile\"\n[evaluation]\nfolds = 3\nbootstrap = 50\n\
         [simulation]\nrepeats = 2\n{extra}",
        file.display()
    )
}

/// Runs `populace evaluate` on `spec`: exit code, stderr, and evaluation.json when written.
fn evaluate(spec: &str) -> (Option<i32>, String, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    let out = dir.path().join("out");
    let output = populace().arg("evaluate").arg(dir.path().join("spec.toml")).arg("--out").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = out.join("evaluation.json");
    (output.status.code(), stderr, json.exists().then(|| read_json(json)))
}

/// The counts of `json` in the shape of expected.json's `drop` and `category`.
fn counts(json: &Value) -> Value {
    let responses = &json["missing"]["inputs"][0];
    let items = json["data"]["items"].as_array().unwrap();
    let levels = |g: &str| {
        let mut groups: Vec<&str> = json["predictors"]["profile"]["population"]["tv"]["groups"][g]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        groups.sort();
        groups
    };
    json!({
        "persons": json["data"]["persons"],
        "records_dropped": responses["records_dropped"],
        "by_column": responses["by_column"],
        "persons_without_answers": json["missing"]["persons_without_answers"],
        "missing_answers": items.iter().map(|i| (i["name"].as_str().unwrap().to_string(), i["missing"].clone())).collect::<serde_json::Map<_, _>>(),
        "persons_without_group": json["missing"]["persons_without_group"],
        "hours_band": levels("hours_band"),
    })
}

/// expected.json's counts under `policy`, with the levels of hours_band only (the one grouping
/// that is a profile attribute).
fn expected_counts(policy: &str) -> Value {
    let mut e = expected()[policy].clone();
    let levels = e["levels"]["hours_band"].clone();
    let e = e.as_object_mut().unwrap();
    e.remove("levels");
    e.insert("hours_band".into(), levels);
    Value::Object(e.clone())
}

#[test]
fn na_from_r_and_empty_fields_give_the_same_evaluation_and_the_counts_of_the_script() {
    let (code, stderr, na) = evaluate(&spec("", "responses_na.csv", "", ""));
    assert_eq!(code, Some(0), "{stderr}");
    let na = na.unwrap();
    let (code, _, empty) = evaluate(&spec("", "responses_empty.csv", "", ""));
    assert_eq!(code, Some(0));
    let empty = empty.unwrap();
    // The same numbers, options and counts: only the file's name differs.
    let text = serde_json::to_string(&na).unwrap().replace("responses_na.csv", "responses_empty.csv");
    assert_eq!(text, serde_json::to_string(&empty).unwrap());

    assert_eq!(counts(&na), expected_counts("drop"));
    assert_eq!(na["missing"]["inputs"][0]["policy"], "drop");
    assert_eq!(na["missing"]["values"], json!(["", "NA", "N/A", "NaN", "NULL", "."]));
    for item in na["data"]["items"].as_array().unwrap() {
        assert!(!item["options"].as_array().unwrap().contains(&json!("NA")), "{item}");
    }
    let dropped = &expected()["drop"];
    for line in [
        format!(
            "records with missing values left out (hours_band {}, education {})",
            dropped["by_column"]["hours_band"], dropped["by_column"]["education"]
        ),
        format!("persons in no group (commute_band {})", dropped["persons_without_group"]["commute_band"]),
    ] {
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }

    // A spec's own set replaces the default: without "NA" among them, "NA" is an answer again.
    let (code, stderr, own) = evaluate(&spec("missing_values = [\"\", \"-9\"]", "responses_na.csv", "", ""));
    assert_eq!(code, Some(0), "{stderr}");
    let own = own.unwrap();
    assert_eq!(own["missing"]["values"], json!(["", "-9"]));
    assert!(own["data"]["items"][0]["options"].as_array().unwrap().contains(&json!("NA")));
    assert_eq!(own["missing"]["inputs"][0]["records_dropped"], 0);
}

#[test]
fn category_makes_missing_a_level_in_the_responses_and_in_a_pool() {
    let pool = format!("[[pool]]\nname = \"pool\"\nfile = '{}'\n", fixture().join("pool_na.csv").display());
    let (code, stderr, json) = evaluate(&spec("", "responses_na.csv", "profile_missing = \"category\"", &pool));
    assert_eq!(code, Some(0), "{stderr}");
    let json = json.unwrap();
    assert_eq!(counts(&json), expected_counts("category"));
    let pool = &expected()["pool"];
    let inputs = json["missing"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!((&inputs[1]["policy"], &inputs[1]["by_column"]), (&json!("category"), &pool["by_column"]));
    assert!(inputs[1]["input"].as_str().unwrap().ends_with("pool_na.csv"));
    assert_eq!(json["pools"]["pool"]["persons"], pool["persons"]);
    assert!(json["pools"]["pool"]["predictors"]["profile"]["tv"]["groupings"]["hours_band"].is_object());
    let without = expected()["category"]["persons_without_answers"].clone();
    assert!(stderr.contains(&format!("{without} persons who answered no item left out")), "{stderr}");
    assert!(stderr.contains("pool_na.csv: missing values kept as the category \"missing\" (hours_band"), "{stderr}");
}

#[test]
fn error_and_pools_under_drop_stop_naming_the_line_and_column() {
    let at = |e: &Value, file: &str| format!("{file}, line {}, column {}", e["line"], e["column"]);
    let (code, stderr, json) = evaluate(&spec("", "responses_na.csv", "profile_missing = \"error\"", ""));
    assert_eq!((code, json), (Some(BAD_INPUT), None));
    let place = at(&expected()["error"], "responses_na.csv");
    assert!(stderr.contains(&format!("{place}: the profile attribute is missing (\"NA\")")), "{stderr}");

    // A pool is generated, so complete: a missing value is an error unless missing is a category.
    let pool = format!("[[pool]]\nname = \"pool\"\nfile = '{}'\n", fixture().join("pool_na.csv").display());
    let (code, stderr, _) = evaluate(&spec("", "responses_empty.csv", "", &pool));
    assert_eq!(code, Some(BAD_INPUT));
    let place = at(&expected()["pool"]["first_missing"], "pool_na.csv");
    assert!(stderr.contains(&format!("{place}: the profile attribute is missing (\"NA\")")), "{stderr}");
}
