//! Every fit in `fixtures/ipf_reference_tables.csv` (R `stats::loglin`) reproduced through the
//! `populace fit` command to 1e-6 relative per cell.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;

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
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipf_reference_tables.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
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

#[test]
fn every_loglin_reference_fit_is_reproduced_through_the_cli() {
    let cases = cases();
    assert_eq!(cases.len(), 9, "fixture cases");
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(case, dir.path());
        Command::cargo_bin("populace")
            .unwrap()
            .args(["fit", "spec.toml", "--out", "out", "--quiet"])
            .current_dir(dir.path())
            .assert()
            .success();
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
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("out/report.json")).unwrap()).unwrap();
        assert_eq!(report["converged"], true, "{}", case.model);
    }
}
