//! Parquet input end to end: every command reads a Parquet file where it reads a CSV file, and
//! gives the same results.
#![cfg(feature = "parquet")]

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use common::{populace, read_json, root, BAD_INPUT};
use parquet::arrow::ArrowWriter;

/// Writes the CSV file `csv` as Parquet to `out`: columns of whole numbers as Int64, the
/// columns `floats` as Float64, every other column as Utf8; empty fields are nulls.
fn to_parquet(csv: &Path, out: &Path, floats: &[&str]) {
    let (header, rows) = common::read_csv(csv);
    let columns: Vec<(String, ArrayRef)> = header
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let values: Vec<Option<&str>> =
                rows.iter().map(|r| Some(r[c].as_str()).filter(|v| !v.is_empty())).collect();
            let array: ArrayRef = if floats.contains(&name.as_str()) {
                Arc::new(values.iter().map(|v| v.map(|v| v.parse::<f64>().unwrap())).collect::<Float64Array>())
            } else if values.iter().flatten().all(|v| v.parse::<i64>().is_ok()) {
                Arc::new(values.iter().map(|v| v.map(|v| v.parse::<i64>().unwrap())).collect::<Int64Array>())
            } else {
                Arc::new(values.iter().copied().collect::<StringArray>())
            };
            (name.clone(), array)
        })
        .collect();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(out).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// The JSON `compare` prints, without the names of its files.
fn json_of(command: &mut assert_cmd::Command) -> serde_json::Value {
    let out = command.assert().success().get_output().stdout.clone();
    let mut json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let blank = |table: &mut serde_json::Value| {
        for key in ["name", "file"] {
            table[key] = serde_json::Value::Null;
        }
        table["missing"]["input"] = serde_json::Value::Null;
    };
    blank(&mut json["truth"]);
    json["pools"].as_array_mut().unwrap().iter_mut().for_each(blank);
    json
}

#[test]
fn compare_reads_a_parquet_pool_and_truth_as_their_csv() {
    let dir = tempfile::tempdir().unwrap();
    let spec = root().join("calibration/acs2012.toml");
    for pool in ["pool.parquet", "pool.csv", "truth.parquet"] {
        let out = dir.path().join(pool);
        if pool == "truth.parquet" {
            to_parquet(&root().join("marginals/acs2012/persons.csv"), &out, &[]);
            continue;
        }
        populace()
            .arg("generate")
            .arg(&spec)
            .args(["-n", "2000", "--seed", "1", "--quiet", "--out"])
            .arg(&out)
            .assert()
            .success();
    }
    let truth = root().join("marginals/acs2012/persons.csv");
    let compare = |truth: &Path, pool: &str| {
        let mut c = populace();
        c.arg("compare").arg("--truth").arg(truth).arg(dir.path().join(pool)).arg("--json");
        c
    };
    let csv = json_of(&mut compare(&truth, "pool.csv"));
    assert!(csv["pools"][0]["joint"]["srmse"].as_f64().unwrap() > 0.0, "{csv}");
    assert_eq!(json_of(&mut compare(&truth, "pool.parquet")), csv);
    // (f) a Parquet file named .csv is read as Parquet
    std::fs::copy(dir.path().join("pool.parquet"), dir.path().join("disguised.csv")).unwrap();
    assert_eq!(json_of(&mut compare(&truth, "disguised.csv")), csv);
    // a Parquet truth with integer ids and nulls gives the same numbers as its CSV
    let parquet_truth = dir.path().join("truth.parquet");
    assert_eq!(json_of(&mut compare(&parquet_truth, "pool.csv")), csv);
}

/// A fit spec of the shipped ACS seed and margins, each read from `seed` and `margins/NAME`.
fn fit_spec(seed: &str, margin_ext: &str) -> String {
    let shipped = std::fs::read_to_string(root().join("calibration/acs2012.toml")).unwrap();
    shipped
        .replace("../marginals/acs2012/seed.csv", seed)
        .replace("../marginals/acs2012/", "margins/")
        .replace(".csv\"", &format!(".{margin_ext}\""))
}

#[test]
fn fit_reads_a_parquet_seed_and_margins_to_the_same_joint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("margins")).unwrap();
    let shipped = root().join("marginals/acs2012");
    for name in ["age_sex", "age_education", "age_income", "age_married", "sex_employment", "race_sex"] {
        let csv = shipped.join(format!("{name}.csv"));
        std::fs::copy(&csv, dir.path().join(format!("margins/{name}.csv"))).unwrap();
        to_parquet(&csv, &dir.path().join(format!("margins/{name}.parquet")), &["count"]);
    }
    std::fs::copy(shipped.join("seed.csv"), dir.path().join("seed.csv")).unwrap();
    // weights as floats: 10.0 must read as the weight 10
    to_parquet(&shipped.join("seed.csv"), &dir.path().join("seed.parquet"), &["weight"]);
    let joint = |name: &str, spec: String| {
        std::fs::write(dir.path().join(format!("{name}.toml")), spec).unwrap();
        populace()
            .args(["fit", &format!("{name}.toml"), "--out", name, "--quiet"])
            .current_dir(dir.path())
            .assert()
            .success();
        std::fs::read(dir.path().join(name).join("joint.csv")).unwrap()
    };
    let csv = joint("csv", fit_spec("seed.csv", "csv"));
    assert!(!csv.is_empty());
    // (b) the seed as Parquet, (d) the margins as Parquet
    assert!(joint("seed", fit_spec("seed.parquet", "csv")) == csv, "a Parquet seed fits another joint");
    assert!(joint("margins", fit_spec("seed.csv", "parquet")) == csv, "Parquet margins fit another joint");
}

#[test]
fn evaluate_reads_parquet_responses_to_the_same_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    populace()
        .args(["world", "--persons", "200", "--seed", "4", "--quiet", "--out"])
        .arg(dir.path().join("world.csv"))
        .assert()
        .success();
    to_parquet(&dir.path().join("world.csv"), &dir.path().join("world.parquet"), &[]);
    // (the responses, their profile columns also a pool)
    let evaluation = |ext: &str| {
        let spec = format!(
            "[data]\nfile = \"world.{ext}\"\nid = \"person_id\"\nprofile = [\"age_group\", \"sex\"]\nitems = \
             [\"q1\", \"choice\"]\nordinal = [\"q1\"]\n[population]\ngroups = [\"region\"]\n[[predictor]]\nname = \
             \"population\"\nkind = \"population\"\n[[predictor]]\nname = \"profile\"\nkind = \"profile\"\n\
             [[pool]]\nname = \"itself\"\nfile = \"world.{ext}\"\n[evaluation]\nfolds = 3\nbootstrap = 20\n"
        );
        std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
        let out = dir.path().join(ext);
        populace()
            .arg("evaluate")
            .arg(dir.path().join("spec.toml"))
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .assert()
            .success();
        read_json(out.join("evaluation.json")).to_string().replace(&format!("world.{ext}"), "DATA")
    };
    let csv = evaluation("csv");
    assert!(csv.contains("\"persons\":200") && csv.contains("\"itself\""), "{csv}");
    assert_eq!(evaluation("parquet"), csv);
}

#[test]
fn malformed_parquet_is_a_clean_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let truth = root().join("marginals/acs2012/persons.csv");
    let mut good = Vec::new();
    {
        let batch =
            RecordBatch::try_from_iter([("sex", Arc::new(StringArray::from(vec!["f", "m"])) as ArrayRef)]).unwrap();
        let mut writer = ArrowWriter::try_new(&mut good, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated.parquet", good[..good.len() / 2].to_vec(), "malformed Parquet"),
        ("garbage.csv", b"PAR1 and then nothing a Parquet file holds".to_vec(), "malformed Parquet"),
        ("text.parquet", b"sex\nf\n".to_vec(), "is named .parquet but is not Parquet"),
        ("empty.parquet", Vec::new(), "is named .parquet but is not Parquet"),
    ];
    for (name, bytes, message) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = populace()
            .arg("compare")
            .arg("--truth")
            .arg(&truth)
            .arg(&path)
            .assert()
            .code(BAD_INPUT)
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&path.display().to_string()) && stderr.contains(message), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn numeric_parquet_columns_are_binned_as_their_csv() {
    // tests/fixtures/binning: ACS persons with numeric age (Int64) and income (Float64, nulls
    // for children), binned by the spec
    let fixtures = root().join("tests/fixtures/binning");
    let dir = tempfile::tempdir().unwrap();
    for name in ["age_sex.csv", "income.csv", "seed.csv", "spec.toml", "truth.csv"] {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).unwrap();
    }
    to_parquet(&fixtures.join("seed.csv"), &dir.path().join("seed.parquet"), &["income_usd"]);
    to_parquet(&fixtures.join("truth.csv"), &dir.path().join("truth.parquet"), &["income_usd"]);
    let spec = std::fs::read_to_string(fixtures.join("spec.toml")).unwrap();
    std::fs::write(dir.path().join("parquet.toml"), spec.replace("seed.csv", "seed.parquet")).unwrap();
    let joint = |spec: &str| {
        let out = format!("{spec}.out");
        populace().args(["fit", spec, "--out", &out, "--quiet"]).current_dir(dir.path()).assert().success();
        std::fs::read(dir.path().join(out).join("joint.csv")).unwrap()
    };
    assert!(joint("parquet.toml") == joint("spec.toml"), "a binned Parquet seed fits another joint");
    let json = |truth: &str| {
        json_of(
            populace()
                .args(["compare", "--truth", truth, "seed.csv", "--bins", "spec.toml", "--json"])
                .current_dir(dir.path()),
        )
    };
    assert_eq!(json("truth.parquet"), json("truth.csv"));
}
