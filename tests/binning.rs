//! Numeric columns binned in the spec (`[attributes.NAME] from/breaks/labels`) on ACS 2012
//! persons with numeric age and income (`tests/fixtures/binning`, made by its `make.py`, which
//! bins the same persons by its own rule): every command that reads them gives what it gives on
//! the file binned beforehand.

mod common;

use std::path::{Path, PathBuf};

use common::{populace, read_json, root};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/binning")
}

/// The spec `name` of the fixtures with `[fit]` replaced by `fit`, written into `dir` with its
/// files' paths made absolute.
fn spec_in(dir: &Path, name: &str, fit: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    let text = text.replace("file = \"", &format!("file = \"{}/", fixtures().display()));
    let text = text.replace("[fit]\ntolerance = 1e-10\n", fit);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `populace fit SPEC --out OUT --quiet` and returns the bytes of `file` in OUT.
fn fit(spec: &Path, file: &str) -> Vec<u8> {
    let out = spec.with_extension("out");
    populace().args(["fit"]).arg(spec).arg("--out").arg(&out).arg("--quiet").assert().success();
    std::fs::read(out.join(file)).unwrap()
}

#[test]
fn a_numeric_seed_binned_by_the_spec_fits_as_the_seed_binned_beforehand() {
    let dir = tempfile::tempdir().unwrap();
    for (fit_table, file) in
        [("[fit]\ntolerance = 1e-10\n", "joint.csv"), ("[fit]\nmethod = \"rake\"\ntolerance = 1e-10\n", "weights.csv")]
    {
        let numeric = fit(&spec_in(dir.path(), "spec.toml", fit_table), file);
        let binned = fit(&spec_in(dir.path(), "spec_binned.toml", fit_table), file);
        assert!(numeric == binned, "{file} differs between the binned seed and the numeric one");
        let text = String::from_utf8(numeric).unwrap();
        // every band of the margins is in the fit, and children's missing income is a category
        for label in ["0-17", "65+", "none", "50k+", "missing"] {
            assert!(text.contains(label) || file == "weights.csv", "{label} not in {file}");
        }
    }
    let report = read_json(dir.path().join("spec.out/report.json"));
    assert_eq!(report["missing"][0]["by_column"]["income_band"], 36, "{}", report["missing"]);
}

#[test]
fn compare_bins_a_numeric_truth_and_numeric_pools_with_the_spec() {
    let json = |truth: &str, pool: &str, bins: bool| {
        let mut command = populace();
        command.arg("compare").arg("--truth").arg(fixtures().join(truth)).arg(fixtures().join(pool)).arg("--json");
        if bins {
            command.arg("--bins").arg(fixtures().join("spec.toml"));
        }
        let out = command.assert().success().get_output().stdout.clone();
        let mut json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let blank = |table: &mut serde_json::Value| {
            table["file"] = serde_json::Value::Null;
            table["name"] = serde_json::Value::Null;
            table["missing"]["input"] = serde_json::Value::Null;
        };
        // a binned column lists its labels in order, a column of labels in order of appearance
        for attribute in json["attributes"].as_array_mut().unwrap() {
            attribute["categories"].as_array_mut().unwrap().sort_by_key(|c| c.to_string());
        }
        blank(&mut json["truth"]);
        blank(&mut json["pools"][0]);
        json
    };
    let beforehand = json("truth_binned.csv", "seed_binned.csv", false);
    assert_eq!(json("truth.csv", "seed.csv", true), beforehand);
    assert_eq!(json("truth.csv", "seed_binned.csv", true), beforehand, "a pool of labels is read as it is");
    let names: Vec<&str> =
        beforehand["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["age_group", "sex", "income_band"]);
}

#[test]
fn evaluate_bins_numeric_profile_columns_as_the_responses_binned_beforehand() {
    let dir = tempfile::tempdir().unwrap();
    let evaluation = |responses: &str, attributes: &str| {
        let spec = format!(
            "{attributes}\n[data]\nfile = '{}'\nid = \"person_id\"\nprofile = [\"age_group\", \"sex\", \
             \"income_band\"]\nitems = [\"married\", \"disability\"]\nprofile_missing = \"category\"\n\
             [[predictor]]\nname = \"population\"\nkind = \"population\"\n[[predictor]]\nname = \"profile\"\n\
             kind = \"profile\"\n[evaluation]\nfolds = 3\nbootstrap = 50\n[simulation]\nrepeats = 2\n",
            fixtures().join(responses).display()
        );
        let path = dir.path().join(format!("{responses}.toml"));
        std::fs::write(&path, spec).unwrap();
        let out = dir.path().join(responses);
        populace().arg("evaluate").arg(&path).arg("--out").arg(&out).arg("--quiet").assert().success();
        let mut json = read_json(out.join("evaluation.json"));
        json["data"]["file"] = serde_json::Value::Null;
        json["missing"]["inputs"][0]["input"] = serde_json::Value::Null;
        json
    };
    let bins = std::fs::read_to_string(fixtures().join("spec.toml")).unwrap();
    let bins = &bins[..bins.find("[seed]").unwrap()];
    let binned = evaluation("responses.csv", bins);
    assert_eq!(binned, evaluation("responses_binned.csv", ""));
    // the children of responses.csv, whose income is empty
    assert_eq!(binned["missing"]["inputs"][0]["by_column"]["income_band"], 81, "{}", binned["missing"]);
}
