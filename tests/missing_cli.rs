//! Missing values in `fit`, `generate` and `compare`, on real persons: the ACS 2012 sample, whose education
//! is empty for young children (tests/fixtures/missing_acs, made by its make.py). The same file
//! written by R (`NA`, quoted strings) must give the same answer as empty fields; each policy of
//! `[seed] missing` and `[[margin]] missing` does what the README says, and says so.

mod common;

use std::path::Path;

use common::{read_csv, read_json, root, Outcome, BAD_INPUT, OK};

/// A folder with the fixture files and a spec whose `[seed]` and margins are `seed` and
/// `margins` (TOML lines), the rest of the spec being `extra`.
fn project(seed: &str, margins: &str, extra: &str) -> tempfile::TempDir {
    let fixtures = root().join("tests/fixtures/missing_acs");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.push(("spec.toml".into(), format!("{extra}\n[seed]\n{seed}\n{margins}\n").into_bytes()));
    let named: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (n.as_str(), c.as_slice())).collect();
    common::folder(&named)
}

const EDUCATION: &str = "[attributes]\neducation = [\"hs or lower\", \"college\", \"grad\"]\n";
const PERSONS: &str = "[[margin]]\nfile = \"age_sex.csv\"\n[[margin]]\nfile = \"race_sex.csv\"\n";

/// The 1-based rows of the fixture seed whose education is filled in.
fn rows_with_education() -> Vec<usize> {
    let (header, rows) = read_csv(root().join("tests/fixtures/missing_acs/seed.csv"));
    let col = header.iter().position(|h| h == "education").unwrap();
    rows.iter().enumerate().filter(|(_, r)| !r[col].is_empty()).map(|(i, _)| i + 1).collect()
}

fn fit(dir: tempfile::TempDir) -> Outcome {
    Outcome::run(dir, &["fit", "spec.toml", "--out", "out"])
}

fn bytes(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn records_with_missing_values_are_left_out_counted_and_na_is_the_same_as_empty() {
    let kept = rows_with_education();
    let dropped = 200 - kept.len();
    assert!(dropped > 0, "the fixture has children without an education");
    let mut joints = Vec::new();
    for file in ["seed.csv", "seed_na.csv"] {
        let run = fit(project(&format!("file = \"{file}\""), PERSONS, EDUCATION));
        run.assert_code(OK).stderr_has(&[&format!(
            "note: {}: {dropped} records with missing values left out (education {dropped})",
            Path::new(file).display()
        )]);
        let report = read_json(run.dir.path().join("out/report.json"));
        let seed = &report["missing"][0];
        assert_eq!(seed["policy"], "drop");
        assert_eq!(seed["records_dropped"], dropped);
        assert_eq!(seed["by_column"], serde_json::json!({ "education": dropped }), "employment is not used");
        joints.push(bytes(run.dir.path(), "out/joint.csv"));
    }
    assert_eq!(joints[0], joints[1], "R's NA must read as the empty field does");
}

#[test]
fn weights_keep_the_row_numbers_of_the_records_kept() {
    let run = fit(project("file = \"seed.csv\"", PERSONS, &format!("{EDUCATION}[fit]\nmethod = \"rake\"\n")));
    run.assert_code(OK);
    let (header, rows) = read_csv(run.dir.path().join("out/weights.csv"));
    assert_eq!(header, ["row", "weight"]);
    let named: Vec<usize> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(named, rows_with_education(), "a weight names its record's row in the file");
}

#[test]
fn missing_as_a_category_is_targeted_by_the_margin_that_says_so() {
    let mut joints = Vec::new();
    for (seed, margin) in [("seed.csv", "age_education.csv"), ("seed_na.csv", "age_education_na.csv")] {
        let margins =
            format!("[[margin]]\nfile = \"age_sex.csv\"\n[[margin]]\nfile = \"{margin}\"\nmissing = \"category\"\n");
        let run = fit(project(&format!("file = \"{seed}\"\nmissing = \"category\""), &margins, ""));
        run.assert_code(OK).stderr_has(&[&format!("note: {seed}: missing values kept as the category \"missing\"")]);
        let (header, rows) = read_csv(run.dir.path().join("out/joint.csv"));
        let (age, education, count) = (0, header.iter().position(|h| h == "education").unwrap(), header.len() - 1);
        let missing: f64 =
            rows.iter().filter(|r| r[education] == "missing").map(|r| r[count].parse::<f64>().unwrap()).sum();
        assert!((missing - 58.0).abs() < 1e-6, "the margin's 58 children without an education: {missing}");
        assert!(rows
            .iter()
            .filter(|r| r[education] == "missing")
            .all(|r| r[age] == "0-17" || r[count].parse::<f64>() == Ok(0.0)));
        let report = read_json(run.dir.path().join("out/report.json"));
        assert_eq!(report["missing"][1]["input"], margin);
        assert_eq!(report["missing"][1]["by_column"]["education"], 1);
        joints.push(bytes(run.dir.path(), "out/joint.csv"));
    }
    assert_eq!(joints[0], joints[1]);
}

#[test]
fn a_missing_value_is_an_error_where_the_spec_says_so_naming_line_and_column() {
    let first = rows_with_education().iter().zip(1..).find(|(r, i)| *r != i).map(|(_, i)| i).unwrap();
    let run = fit(project("file = \"seed_na.csv\"\nmissing = \"error\"", PERSONS, EDUCATION));
    run.assert_code(BAD_INPUT).stderr_has(&[
        &format!("seed_na.csv, line {}, column \"education\": missing value (\"NA\")", first + 1),
        "[seed] missing = \"error\"",
    ]);
    assert!(!run.dir.path().join("out").exists(), "nothing written");
    // a margin's missing values are refused unless its [[margin]] targets them
    let margins = "[[margin]]\nfile = \"age_sex.csv\"\n[[margin]]\nfile = \"age_education_na.csv\"\n";
    let run = fit(project("file = \"seed.csv\"", margins, ""));
    run.assert_code(BAD_INPUT).stderr_has(&[
        "age_education_na.csv, line 2, column \"education\": missing category (\"NA\")",
        "missing = \"category\"",
    ]);
    // and a margin cannot drop rows
    let margins = "[[margin]]\nfile = \"age_sex.csv\"\nmissing = \"drop\"\n";
    fit(project("file = \"seed.csv\"", margins, "")).assert_code(BAD_INPUT).stderr_has(&["would change its targets"]);
}

#[test]
fn generate_reports_the_records_it_left_out() {
    let run = Outcome::run(
        project("file = \"seed_na.csv\"", PERSONS, EDUCATION),
        &["generate", "spec.toml", "-n", "500", "--out", "pool.csv", "--json"],
    );
    run.assert_code(OK);
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let dropped = 200 - rows_with_education().len();
    assert_eq!(summary["missing"][0]["records_dropped"], dropped);
    let (header, rows) = read_csv(run.dir.path().join("pool.csv"));
    let education = header.iter().position(|h| h == "education").unwrap();
    assert!(rows.iter().all(|r| ["hs or lower", "college", "grad"].contains(&r[education].as_str())));
}

#[test]
fn compare_reads_r_na_as_the_empty_field_under_both_policies() {
    let dir = project("file = \"seed.csv\"", PERSONS, "");
    for policy in ["category", "drop"] {
        let out = common::populace()
            .current_dir(dir.path())
            .args(["compare", "--truth", "seed_na.csv", "seed.csv", "--missing", policy, "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(OK), "{}", String::from_utf8_lossy(&out.stderr));
        let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(c["pools"][0]["joint"]["srmse"], 0.0, "{policy}");
        assert_eq!(c["warnings"], serde_json::json!([]));
        let truth = &c["truth"]["missing"];
        assert_eq!(truth, &{
            let mut pool = c["pools"][0]["missing"].clone();
            pool["input"] = "seed_na.csv".into();
            pool
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("note: seed_na.csv: ") && stderr.contains("employment"), "{stderr}");
        if policy == "drop" {
            // the records without an education or an employment are left out of both
            assert_eq!(truth["records_dropped"], c["pools"][0]["missing"]["records_dropped"]);
            assert_eq!(c["truth"]["total"].as_f64(), Some(200.0 - truth["records_dropped"].as_f64().unwrap()));
        } else {
            let employment = c["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "employment").unwrap();
            assert!(employment["categories"].as_array().unwrap().contains(&"missing".into()));
        }
    }
}

/// `text` as R's write.csv writes it with row names: a first column named "" holding "1", "2", …
fn with_row_names(text: &str) -> String {
    let mut lines = text.lines();
    let mut out = format!("\"\",{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        out.push_str(&format!("\"{}\",{line}\n", i + 1));
    }
    out
}

#[test]
fn r_row_names_are_read_as_a_row_index_and_ignored_with_a_note() {
    let dir = project(
        "file = \"seed_rn.csv\"",
        "[[margin]]\nfile = \"age_sex_rn.csv\"\n[[margin]]\nfile = \"race_sex.csv\"\n",
        EDUCATION,
    );
    for (from, to) in [("seed_na.csv", "seed_rn.csv"), ("age_sex.csv", "age_sex_rn.csv")] {
        let text = std::fs::read_to_string(dir.path().join(from)).unwrap();
        std::fs::write(dir.path().join(to), with_row_names(&text)).unwrap();
    }
    let run = fit(dir);
    run.assert_code(OK).stderr_has(&[
        "seed_rn.csv: the first column has no name: read as a row index",
        "age_sex_rn.csv: the first column has no name",
    ]);
    let plain = fit(project("file = \"seed.csv\"", PERSONS, EDUCATION));
    plain.assert_code(OK);
    assert_eq!(bytes(run.dir.path(), "out/joint.csv"), bytes(plain.dir.path(), "out/joint.csv"));
    // compare: the index is not an attribute
    let out = common::populace()
        .current_dir(run.dir.path())
        .args(["compare", "--truth", "seed_rn.csv", "seed.csv", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(OK), "{}", String::from_utf8_lossy(&out.stderr));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["pools"][0]["joint"]["srmse"], 0.0);
    assert!(c["notes"][0].as_str().unwrap().contains("row index"), "{}", c["notes"]);
    assert_eq!(c["attributes"].as_array().unwrap().len(), 5);
}
