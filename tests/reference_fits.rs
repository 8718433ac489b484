//! Every fit in `fixtures/ipf_reference_tables.csv` (R `stats::loglin`) reproduced through the
//! `populace fit` command to 1e-6 relative per cell, one test per fixture case.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{assert_every_case_tested, populace, read_json, root};

/// One reference case: cells keyed by their `Var=Level;…` label.
struct Case {
    model: String,
    /// Attribute names and their levels in order of first appearance.
    attributes: Vec<(String, Vec<String>)>,
    /// (levels per attribute, observed, fitted) per cell.
    cells: Vec<(Vec<String>, f64, f64)>,
    /// For rake cases: one-way targets per attribute.
    targets: Option<Vec<(String, Vec<f64>)>>,
}

fn cases() -> Vec<Case> {
    let mut reader = csv::Reader::from_path(root().join("tests/fixtures/ipf_reference_tables.csv")).unwrap();
    let mut out: Vec<Case> = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        let (table, model, cell) = (&row[0], &row[2], &row[3]);
        let key = format!("{table}: {model}");
        if out.last().is_none_or(|c| c.model != key) {
            let targets = (!row[9].is_empty()).then(|| {
                row[9]
                    .split(" | ")
                    .map(|t| {
                        let (name, values) = t.split_once(':').unwrap();
                        (name.to_string(), values.split('/').map(|v| v.parse().unwrap()).collect())
                    })
                    .collect()
            });
            out.push(Case { model: key, attributes: Vec::new(), cells: Vec::new(), targets });
        }
        let case = out.last_mut().unwrap();
        let mut levels = Vec::new();
        for (i, part) in cell.split(';').enumerate() {
            let (name, level) = part.split_once('=').unwrap();
            if case.attributes.len() <= i {
                case.attributes.push((name.to_string(), Vec::new()));
            }
            if !case.attributes[i].1.iter().any(|l| l == level) {
                case.attributes[i].1.push(level.to_string());
            }
            levels.push(level.to_string());
        }
        case.cells.push((levels, row[4].parse().unwrap(), row[5].parse().unwrap()));
    }
    out
}

/// The margins of a loglin model string such as `[Alive,Time][Time,Length] (…)`.
fn model_margins(model: &str) -> Vec<Vec<String>> {
    let spec = model.split_once(": ").unwrap().1;
    spec.split(']')
        .filter_map(|p| p.split_once('[').map(|(_, inner)| inner.split(',').map(str::to_string).collect()))
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', ' ']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes the case as populace inputs: margins summed from the observed table (loglin
/// models, uniform start) or the observed table as a dense seed raked to one-way targets.
fn write_inputs(case: &Case, dir: &Path) {
    let mut spec = String::from("[attributes]\n");
    for (name, levels) in &case.attributes {
        let quoted: Vec<String> = levels.iter().map(|l| format!("{l:?}")).collect();
        spec.push_str(&format!("{name} = [{}]\n", quoted.join(", ")));
    }
    let index = |name: &str| case.attributes.iter().position(|(n, _)| n == name).unwrap();
    let mut margin_files = Vec::new();
    match &case.targets {
        None => {
            for (k, margin) in model_margins(&case.model).iter().enumerate() {
                let mut sums: BTreeMap<Vec<String>, f64> = BTreeMap::new();
                for (levels, observed, _) in &case.cells {
                    let key: Vec<String> = margin.iter().map(|a| levels[index(a)].clone()).collect();
                    *sums.entry(key).or_default() += observed;
                }
                let mut text = format!("{},count\n", margin.join(","));
                for (key, sum) in sums {
                    let fields: Vec<String> = key.iter().map(|s| csv_field(s)).collect();
                    text.push_str(&format!("{},{sum}\n", fields.join(",")));
                }
                let file = format!("margin{k}.csv");
                std::fs::write(dir.join(&file), text).unwrap();
                margin_files.push(file);
            }
        }
        Some(targets) => {
            for (k, (name, values)) in targets.iter().enumerate() {
                let levels = &case.attributes[index(name)].1;
                let mut text = format!("{name},count\n");
                for (level, value) in levels.iter().zip(values) {
                    text.push_str(&format!("{},{value}\n", csv_field(level)));
                }
                let file = format!("margin{k}.csv");
                std::fs::write(dir.join(&file), text).unwrap();
                margin_files.push(file);
            }
            let names: Vec<&str> = case.attributes.iter().map(|(n, _)| n.as_str()).collect();
            let mut text = format!("{},weight\n", names.join(","));
            for (levels, observed, _) in &case.cells {
                let fields: Vec<String> = levels.iter().map(|s| csv_field(s)).collect();
                text.push_str(&format!("{},{observed}\n", fields.join(",")));
            }
            std::fs::write(dir.join("seed.csv"), text).unwrap();
            spec.push_str("[seed]\nfile = \"seed.csv\"\nweight = \"weight\"\n");
        }
    }
    for file in margin_files {
        spec.push_str(&format!("[[margin]]\nfile = \"{file}\"\n"));
    }
    spec.push_str("[fit]\ntolerance = 1e-11\nmax_iterations = 100000\n");
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
}

/// Fits the fixture case `key` (`table: model`) through the CLI and compares every cell.
fn check(key: &str) {
    let cases = cases();
    let case = cases.iter().find(|c| c.model == key).unwrap_or_else(|| panic!("no case {key:?} in the fixture"));
    let dir = tempfile::tempdir().unwrap();
    write_inputs(case, dir.path());
    populace().args(["fit", "spec.toml", "--out", "out", "--quiet"]).current_dir(dir.path()).assert().success();
    let mut reader = csv::Reader::from_path(dir.path().join("out/joint.csv")).unwrap();
    let mut fitted: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        let n = row.len() - 1;
        fitted.insert(row.iter().take(n).map(str::to_string).collect(), row[n].parse().unwrap());
    }
    assert_eq!(fitted.len(), case.cells.len(), "{}: cell count", case.model);
    for (levels, _, expected) in &case.cells {
        let got = fitted[levels];
        let rel = (got - expected).abs() / expected.abs().max(1e-300);
        assert!(rel < 1e-6, "{}: cell {levels:?}: populace {got}, R loglin {expected}", case.model);
    }
    assert_eq!(read_json(dir.path().join("out/report.json"))["converged"], true, "{}", case.model);
}

/// One test per fixture case (`table: model`), and the list of the cases they test.
macro_rules! reference_fits {
    ($($test:ident: $case:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($case);
            }
        )*
        const TESTED: &[&str] = &[$($case),*];
    };
}

reference_fits! {
    bartlett_no_three_way_interaction:
        "Bartlett: [Alive,Time][Alive,Length][Time,Length] (no 3-way interaction)",
    bartlett_mutual_independence: "Bartlett: [Alive][Time][Length] (mutual independence)",
    hair_eye_color_mutual_independence: "HairEyeColor: [Hair][Eye][Sex]",
    hair_eye_color_joint_independence_of_sex: "HairEyeColor: [Hair,Eye][Sex]",
    hair_eye_color_no_three_way_interaction: "HairEyeColor: [Hair,Eye][Hair,Sex][Eye,Sex]",
    ucb_admissions_admit_and_gender_independent_by_dept: "UCBAdmissions: [Admit,Dept][Gender,Dept]",
    ucb_admissions_no_three_way_interaction: "UCBAdmissions: [Admit,Gender][Admit,Dept][Gender,Dept]",
    hair_eye_raked_to_uniform_margins:
        "HairEye_2way: rake seed to uniform margins (Mosteller standardization), total 592",
    hair_eye_raked_to_arbitrary_margins: "HairEye_2way: rake seed to arbitrary margins, total 592",
}

#[test]
fn every_fixture_case_has_a_test() {
    let cases: Vec<String> = cases().into_iter().map(|c| c.model).collect();
    assert_eq!(cases.len(), 9, "fixture cases");
    assert_every_case_tested("ipf_reference_tables.csv", &cases, TESTED, &[]);
}
