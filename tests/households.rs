//! Households and persons over nested geographies, through the CLI: PopulationSim's own
//! example_test project imported as it is, fitted, and checked against PopulationSim 0.10.0's
//! run on it (tests/fixtures/populationsim, made by scripts/populationsim-oracle); the
//! integerized population's invariants; and errors naming file, line and value.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{populace, read_csv, read_json, BAD_INPUT, NOT_CONVERGED, OK};

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/populationsim")
}

/// The example_test project imported into a fresh folder, its spec's `[fit]` lines replaced by
/// `fit` when given.
fn imported(fit: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let project = fixtures().join("example_test");
    let out = dir.path().join("project");
    populace()
        .args(["import", "populationsim"])
        .arg(project.join("configs"))
        .arg(project.join("data"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(OK);
    let spec = out.join("spec.toml");
    if let Some(fit) = fit {
        let text = std::fs::read_to_string(&spec).unwrap();
        let start = text.find("\n[fit]\n").unwrap() + 1;
        std::fs::write(&spec, format!("{}[fit]\n{fit}\n", &text[..start])).unwrap();
    }
    (dir, spec)
}

/// A CSV file's rows as maps from column to value (lines starting with `#` are comments, as
/// in PopulationSim's files).
fn records(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.unwrap().iter().map(String::from)).collect()).collect()
}

fn number(record: &HashMap<String, String>, column: &str) -> f64 {
    record[column].parse().unwrap_or_else(|_| panic!("{column}: {:?}", record[column]))
}

/// PopulationSim's float fit of example_test (its settings as shipped, so no integerization),
/// with its balancer.
const PSIM_FIT: &str =
    "integerize = false\nmax_expansion_factor = 5\nmin_expansion_factor = 0.2\nbalancer = \"populationsim\"";

#[test]
fn seed_weights_equal_populationsims() {
    let (dir, spec) = imported(Some(PSIM_FIT));
    let out = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(NOT_CONVERGED);
    let ours: HashMap<String, HashMap<String, String>> =
        records(&out.join("seed_weights.csv")).into_iter().map(|r| (r["hh_id"].clone(), r)).collect();
    let oracle = records(&fixtures().join("example_test_float/seed_weights.csv"));
    assert_eq!(oracle.len(), 60);
    assert_eq!(ours.len(), 60, "the household outside the seed zones is left out, as PopulationSim does");
    for row in &oracle {
        let mine = &ours[&row["hh_id"]];
        assert_eq!(mine["PUMA"], row["seed_zone"]);
        for (a, b) in [("preliminary_weight", "preliminary_balanced_weight"), ("weight", "balanced_weight")] {
            let (x, y) = (number(mine, a), number(row, b));
            assert!((x - y).abs() <= 1e-10 * y.abs().max(1.0), "household {}: {a} {x} vs {y}", row["hh_id"]);
        }
    }
}

#[test]
fn taz_weights_equal_populationsims_when_its_balancer_is_kept() {
    let (dir, spec) = imported(Some(&format!("{PSIM_FIT}\nexact_household_totals = false")));
    let out = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(NOT_CONVERGED);
    let ours: HashMap<(String, String), f64> = records(&out.join("weights.csv"))
        .iter()
        .map(|r| ((r["TAZ"].clone(), r["hh_id"].clone()), number(r, "weight")))
        .collect();
    let mut compared = 0;
    for row in records(&fixtures().join("example_test_float/weights.csv")) {
        if row["geography"] != "TAZ" {
            continue;
        }
        let theirs = number(&row, "balanced_weight");
        let mine = ours.get(&(row["zone"].clone(), row["hh_id"].clone())).copied().unwrap_or(0.0);
        assert!((mine - theirs).abs() < 1e-9, "TAZ {} household {}: {mine} vs {theirs}", row["zone"], row["hh_id"]);
        compared += 1;
    }
    assert_eq!(compared, 360);
}

/// Each control's zones in report.json: (target, result) by zone.
fn control_zones(report: &serde_json::Value, name: &str) -> Vec<(String, f64, f64)> {
    let control = report["controls"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap();
    control["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| {
            (z["zone"].as_str().unwrap().to_string(), z["target"].as_f64().unwrap(), z["result"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn household_totals_are_met_where_populationsims_balancer_stops_short() {
    let (dir, spec) = imported(Some(PSIM_FIT));
    let out = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(NOT_CONVERGED);
    let report = read_json(out.join("report.json"));
    for (zone, target, result) in control_zones(&report, "num_hh") {
        assert!((result - target).abs() < 1e-6, "TAZ {zone}: {result} households for {target}");
    }
    // PopulationSim's own float run misses them by a quarter on average (fixture).
    let oracle = records(&fixtures().join("example_test_float/controls_fit.csv"));
    let misses: Vec<f64> = oracle
        .iter()
        .filter(|r| r["geography"] == "TAZ" && r["control"] == "num_hh")
        .map(|r| (number(r, "result") / number(r, "control_value") - 1.0).abs())
        .collect();
    assert!(misses.iter().sum::<f64>() / misses.len() as f64 > 0.2);
}

#[test]
fn whole_households_add_up_level_by_level_and_persons_come_with_them() {
    let (dir, spec) = imported(None);
    let fit = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&fit).arg("-q").assert().code(OK);
    let report = read_json(fit.join("report.json"));
    assert_eq!(report["integerized"], false, "the project says NO_INTEGERIZATION_EVER: True");

    let out = dir.path().join("population");
    let assert = populace().arg("generate").arg(&spec).arg("--out").arg(&out).arg("-q").assert();
    assert.code(OK);
    let households = records(&out.join("households.csv"));
    let persons = records(&out.join("persons.csv"));
    let (header, _) = read_csv(out.join("households.csv"));
    assert_eq!(header[..6], ["household_id", "DISTRICT", "PUMA", "TRACT", "TAZ", "hh_id"]);
    assert_eq!(read_csv(out.join("persons.csv")).0[..2], ["household_id", "person_id"]);

    // Every TAZ has exactly its household total; TAZ add up to tracts, tracts to PUMAs.
    let taz = records(&fixtures().join("example_test/data/taz_controls.csv"));
    let mut by_taz: HashMap<&str, usize> = HashMap::new();
    for h in &households {
        *by_taz.entry(h["TAZ"].as_str()).or_default() += 1;
    }
    for t in &taz {
        let want = number(t, "HHBASE") as usize;
        assert_eq!(by_taz.get(t["TAZ"].as_str()).copied().unwrap_or(0), want, "TAZ {}", t["TAZ"]);
    }
    let tract = records(&fixtures().join("example_test/data/tract_controls.csv"));
    for t in &tract {
        let n = households.iter().filter(|h| h["TRACT"] == t["TRACT"]).count();
        assert_eq!(n as f64, number(t, "HHBASE"), "tract {}", t["TRACT"]);
    }

    // Synthetic ids run 1..; each person's household exists and has the seed's persons.
    for (i, h) in households.iter().enumerate() {
        assert_eq!(h["household_id"], (i + 1).to_string());
    }
    let seed_persons = records(&fixtures().join("example_test/data/seed_persons.csv"));
    let mut size: HashMap<&str, usize> = HashMap::new();
    for p in &seed_persons {
        *size.entry(p["SERIALNO"].as_str()).or_default() += 1;
    }
    let mut members: HashMap<&str, usize> = HashMap::new();
    for (i, p) in persons.iter().enumerate() {
        assert_eq!(p["person_id"], (i + 1).to_string());
        *members.entry(p["household_id"].as_str()).or_default() += 1;
    }
    for h in &households {
        assert_eq!(members.get(h["household_id"].as_str()).copied(), Some(size[h["hh_id"].as_str()]));
    }
    assert_eq!(members.len(), households.len());
}

#[test]
fn generated_files_are_the_same_on_every_run_and_parquet_holds_the_same_rows() {
    let (dir, spec) = imported(None);
    let run = |name: &str, format: &str| {
        let out = dir.path().join(name);
        let assert =
            populace().arg("generate").arg(&spec).arg("--out").arg(&out).args(["--format", format, "-q"]).assert();
        assert.code(OK);
        out
    };
    let (a, b) = (run("a", "csv"), run("b", "csv"));
    for file in ["households.csv", "persons.csv"] {
        assert_eq!(std::fs::read(a.join(file)).unwrap(), std::fs::read(b.join(file)).unwrap(), "{file}");
    }
    let p = run("p", "parquet");
    assert!(std::fs::read(p.join("households.parquet")).unwrap().starts_with(b"PAR1"));
    assert!(!p.join("households.csv").exists());
}

/// Imports example_test with `edit` applied to (settings.yaml, controls.csv): the command must
/// fail as bad input and write no spec; its stderr is returned.
fn import_error(edit: impl Fn(String, String) -> (String, String)) -> String {
    let project = fixtures().join("example_test");
    let read = |name: &str| std::fs::read_to_string(project.join("configs").join(name)).unwrap();
    let (settings, controls) = edit(read("settings.yaml"), read("controls.csv"));
    let dir = common::folder(&[("configs/settings.yaml", settings), ("configs/controls.csv", controls)]);
    let output = populace()
        .args(["import", "populationsim"])
        .arg(dir.path().join("configs"))
        .arg(project.join("data"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(BAD_INPUT));
    assert!(!dir.path().join("out/spec.toml").exists());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_misspelled_setting_is_an_error_naming_its_line() {
    let stderr = import_error(|s, c| (s.replace("max_expansion_factor: 5", "max_expansion_factors: 5"), c));
    assert!(
        stderr.contains("settings.yaml, line 24: max_expansion_factors: PopulationSim does not read this key (did you mean max_expansion_factor?)"),
        "{stderr}"
    );
}

#[test]
fn an_expression_that_does_not_parse_is_an_error_naming_its_line() {
    let stderr = import_error(|s, c| (s, c.replace("households.NP >= 4", "households.NP >= 4)")));
    assert!(stderr.contains("controls.csv, line 6, column \"expression\": unexpected \")\""), "{stderr}");
}

/// A two-level project written from scratch: households, persons, a crosswalk and controls.
fn project(households: &str, persons: &str, crosswalk: &str) -> tempfile::TempDir {
    common::folder(&[
        (
            "spec.toml",
            r#"
[geography]
levels = ["PUMA", "TAZ"]
seed = "PUMA"
crosswalk = "crosswalk.csv"

[households]
file = "households.csv"
id = "hh"
weight = "w"
total_control = "households"

[persons]
file = "persons.csv"
household_id = "hh"

[[controls]]
geography = "TAZ"
file = "taz.csv"

[[control]]
name = "households"
geography = "TAZ"
expression = "w > 0"

[[control]]
name = "workers"
geography = "TAZ"
table = "persons"
expression = "works == 1"
importance = 1000
"#,
        ),
        ("households.csv", households),
        ("persons.csv", persons),
        ("crosswalk.csv", crosswalk),
        ("taz.csv", "TAZ,households,workers\n1,10,12\n2,20,18\n"),
    ])
}

const HOUSEHOLDS: &str = "hh,PUMA,w\n1,100,5\n2,100,5\n3,100,5\n4,100,5\n";
const PERSONS: &str = "hh,works\n1,1\n1,1\n2,0\n3,1\n4,0\n4,1\n";
const CROSSWALK: &str = "PUMA,TAZ\n100,1\n100,2\n";

/// Fits the project in `dir` into `dir/out`, which must succeed.
fn fit_ok(dir: &tempfile::TempDir) {
    populace()
        .arg("fit")
        .arg(dir.path().join("spec.toml"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("-q")
        .assert()
        .code(OK);
}

fn fit_error(dir: &tempfile::TempDir) -> String {
    let out = dir.path().join("refused");
    let output = populace().arg("fit").arg(dir.path().join("spec.toml")).arg("--out").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!out.exists(), "a refused input writes nothing");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_small_project_fits_with_workers_counted_per_person() {
    let dir = project(HOUSEHOLDS, PERSONS, CROSSWALK);
    fit_ok(&dir);
    let report = read_json(dir.path().join("out/report.json"));
    for (zone, target, result) in control_zones(&report, "households") {
        assert_eq!(result, target, "TAZ {zone}");
    }
    let workers: f64 = control_zones(&report, "workers").iter().map(|z| z.2).sum();
    assert!((workers - 30.0).abs() <= 1.0, "{workers}");
    let weights = records(&dir.path().join("out/weights.csv"));
    let total: u64 = weights.iter().map(|r| r["count"].parse::<u64>().unwrap()).sum();
    assert_eq!(total, 30);
}

#[test]
fn a_person_without_a_household_is_an_error_naming_it() {
    let dir = project(HOUSEHOLDS, &format!("{PERSONS}9,1\n"), CROSSWALK);
    let e = fit_error(&dir);
    assert!(e.contains("persons.csv, line 8, column \"hh\": the person's household \"9\" is not in"), "{e}");
}

#[test]
fn a_household_without_persons_is_an_error_naming_it() {
    let dir = project(&format!("{HOUSEHOLDS}5,100,5\n"), PERSONS, CROSSWALK);
    let e = fit_error(&dir);
    assert!(e.contains("households.csv, line 6, column \"hh\": household \"5\" has no person in"), "{e}");
}

#[test]
fn a_household_without_a_seed_zone_is_an_error_naming_it() {
    let dir = project(&HOUSEHOLDS.replace("3,100,5", "3,,5"), PERSONS, CROSSWALK);
    let e = fit_error(&dir);
    assert!(e.contains("households.csv, line 4, column \"PUMA\": the seed zone is missing"), "{e}");
}

#[test]
fn a_duplicated_household_id_is_an_error_naming_both_lines() {
    let dir = project(&HOUSEHOLDS.replace("4,100,5", "3,100,5"), PERSONS, CROSSWALK);
    let e = fit_error(&dir);
    assert!(e.contains("households.csv, line 5, column \"hh\": household id \"3\" appears twice (also at"), "{e}");
}

#[test]
fn zones_that_do_not_nest_are_an_error_naming_both_rows() {
    let dir = project(HOUSEHOLDS, PERSONS, "REGION,PUMA,TAZ\n1,100,1\n2,100,2\n");
    let spec = dir.path().join("spec.toml");
    let text = std::fs::read_to_string(&spec)
        .unwrap()
        .replace(r#"levels = ["PUMA", "TAZ"]"#, r#"levels = ["REGION", "PUMA", "TAZ"]"#);
    std::fs::write(&spec, text).unwrap();
    let e = fit_error(&dir);
    assert!(
        e.contains(
            "crosswalk.csv, line 3, column \"PUMA\": PUMA zone \"100\" lies in REGION \"2\" here but in REGION \"1\""
        ),
        "{e}"
    );
}

#[test]
fn a_missing_value_in_a_control_is_an_error_unless_the_expression_says_what_it_counts() {
    let gap = PERSONS.replace("3,1", "3,NA");
    let dir = project(HOUSEHOLDS, &gap, CROSSWALK);
    // `works == 1` is simply false for a missing value (as in pandas) …
    fit_ok(&dir);
    // … but a control whose value itself is missing is refused, naming the row.
    let spec = dir.path().join("spec.toml");
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap().replace("works == 1", "works")).unwrap();
    let e = fit_error(&dir);
    assert!(e.contains("persons.csv, line 5: control \"workers\" (works) is missing here (missing: works)"), "{e}");
}

/// Sum over controls of the mean |% difference| over their zones: ours from report.json,
/// PopulationSim's from a fixture's controls_fit.csv (its column `result`).
fn summed_mean_abs_pc(report: &serde_json::Value, oracle: &str, result: &str) -> (f64, f64) {
    let ours: f64 = report["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["statistics"]["mean_abs_pc_difference"].as_f64().unwrap())
        .sum();
    let mut theirs: HashMap<String, (f64, usize)> = HashMap::new();
    for r in records(&fixtures().join(oracle).join("controls_fit.csv")) {
        let target = number(&r, "control_value");
        if r["geography"] == r["control_geography"] && target > 0.0 {
            let e = theirs.entry(r["control"].clone()).or_default();
            e.0 += (number(&r, result) / target - 1.0).abs() * 100.0;
            e.1 += 1;
        }
    }
    assert_eq!(theirs.len(), 10);
    (ours, theirs.values().map(|(s, n)| s / *n as f64).sum())
}

#[test]
fn integerized_fit_is_at_least_as_close_as_populationsims_over_all_controls() {
    let (dir, spec) = imported(Some("integerize = true\nmax_expansion_factor = 5\nmin_expansion_factor = 0.2"));
    let out = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(OK);
    let report = read_json(out.join("report.json"));
    assert_eq!(report["integerized"], true);
    let (ours, theirs) = summed_mean_abs_pc(&report, "example_test_integer", "integer_result");
    assert!(ours < theirs, "sum over controls of mean |% difference|: populace {ours:.1}, PopulationSim {theirs:.1}");
    for (zone, target, result) in control_zones(&report, "num_hh") {
        assert_eq!(result, target, "TAZ {zone}");
    }
}

#[test]
fn the_default_balancer_converges_in_newton_steps_closer_than_populationsims_sweeps() {
    let (dir, spec) = imported(Some("integerize = false\nmax_expansion_factor = 5\nmin_expansion_factor = 0.2"));
    let out = dir.path().join("fit");
    populace().arg("fit").arg(&spec).arg("--out").arg(&out).arg("-q").assert().code(OK);
    let report = read_json(out.join("report.json"));
    assert_eq!(report["converged"], true);
    for step in report["sweeps"].as_array().unwrap() {
        assert!(step["max"].as_u64().unwrap() < 50, "{step}");
    }
    let (ours, theirs) = summed_mean_abs_pc(&report, "example_test_float", "result");
    assert!(
        ours < 0.95 * theirs,
        "sum over controls of mean |% difference|: populace {ours:.1}, PopulationSim {theirs:.1}"
    );
    for (zone, target, result) in control_zones(&report, "num_hh") {
        assert!((result - target).abs() < 1e-6 * target, "TAZ {zone}: {result} for {target}");
    }
}
