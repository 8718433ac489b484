//! Numeric totals (`[[total]]`) in seed calibration, against R `survey` 4.1.1's `calibrate()`
//! with a numeric term (tests/oracle/numeric, described in tests/oracle/README.md), and the
//! spec, the seed reader's errors and the report.
//!
//! The oracle calibrates the 204 ACS 2012 seed persons (design weight 10) to the population's
//! age groups, sexes and total income (`~age_group + sex + income_usd`), or income by sex
//! (`~age_group + sex + sex:income_usd`); populace fits the same problem from the same files
//! through its public API and must give R's weights record by record.

mod common;

use common::{assert_every_case_tested, folder, read_csv, read_json, root, Outcome, BAD_INPUT, OK};
use populace::calibration::{Calibration, ZoneFit};
use populace::fitting::{fit, FitOptions, Fitted};
use populace::inputs::{Csv, MarginInput, Method, Problem, SeedInput, Spec, TotalInput};
use populace::missing::MissingPolicy;

fn oracle(file: &str) -> std::path::PathBuf {
    root().join("tests/oracle/numeric").join(file)
}

/// One row of the oracle's `cases.csv`.
struct Case {
    method: String,
    /// The rows of `totals.csv` the case calibrates to.
    totals: Vec<String>,
    bounds: Option<(f64, f64)>,
    weights_file: String,
}

fn cases() -> Vec<(String, Case)> {
    let (header, rows) = read_csv(oracle("cases.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    rows.iter()
        .map(|r| {
            let bounds = (!r[col("bounds_low")].is_empty())
                .then(|| (r[col("bounds_low")].parse().unwrap(), r[col("bounds_high")].parse().unwrap()));
            let case = Case {
                method: r[col("method")].clone(),
                totals: r[col("totals")].split(';').map(String::from).collect(),
                bounds,
                weights_file: r[col("weights_file")].clone(),
            };
            (r[col("case")].clone(), case)
        })
        .collect()
}

/// The oracle's numeric totals named `names`, as the builder takes them.
fn totals(names: &[String]) -> Vec<TotalInput> {
    let (_, rows) = read_csv(oracle("totals.csv"));
    names
        .iter()
        .map(|name| {
            let r = rows.iter().find(|r| &r[0] == name).unwrap_or_else(|| panic!("no total {name}"));
            let total = TotalInput::new(&r[1], r[4].parse().unwrap());
            if r[2].is_empty() {
                total
            } else {
                total.within(&r[2], &r[3])
            }
        })
        .collect()
}

fn options(method: Calibration) -> FitOptions {
    FitOptions::params().method(Method::Calibrate(method)).tolerance(1e-10).max_iterations(1000).check().unwrap()
}

/// Calibrates the oracle's seed to its two margins and `totals` with `method`.
fn calibrate(totals: Vec<TotalInput>, method: Calibration) -> ZoneFit {
    let options = options(method);
    let seed = SeedInput::csv(Csv::file(oracle("seed.csv"))).weight_column("weight").id_column("person_id");
    let mut builder = Problem::builder()
        .fit_options(&options)
        .margin(MarginInput::csv(Csv::file(oracle("age_group.csv"))))
        .margin(MarginInput::csv(Csv::file(oracle("sex.csv"))))
        .seed(seed);
    for total in totals {
        builder = builder.total(total);
    }
    let problem = builder.build().unwrap();
    match fit(&problem, &options, &mut []).unwrap() {
        Fitted::Weights { mut zones, .. } => zones.remove(0),
        other => panic!("a calibration fits weights, not {:?}", other.method()),
    }
}

/// Calibrates with populace's `name` (`linear`, `rake`, `entropy`, `logit` with the case's
/// bounds) and compares every weight with R's, to 1e-8 relative; every margin cell and every
/// numeric total is met.
fn weights_match_r_survey(case: &str, name: &str) {
    let Case { method: r_method, totals: names, bounds, weights_file } =
        cases().into_iter().find(|(c, _)| c == case).unwrap().1;
    let method = common::calibration(name, bounds);
    let out = calibrate(totals(&names), method);
    let (_, rows) = read_csv(oracle(&weights_file));
    assert_eq!(rows.len(), out.weights.len());
    let mut diff: f64 = 0.0;
    for (r, w) in rows.iter().zip(&out.weights) {
        let expected: f64 = r[1].parse().unwrap();
        diff = diff.max((w - expected).abs() / expected.abs());
    }
    let report = &out.report;
    println!(
        "{case:22} (R {r_method:7}) vs {name:8}: max rel diff {diff:.2e}, {} iterations, g in [{:.6}, {:.6}]",
        report.convergence.iterations, report.weights.g_min, report.weights.g_max
    );
    assert!(report.convergence.converged, "{:?}", report.convergence);
    assert!(diff < 1e-8, "{case} with {name}: max relative difference {diff:e}");
    for m in &report.margins {
        assert!(m.max_abs_deviation < 1e-8, "{m:?}");
    }
    assert_eq!(report.totals.len(), names.len());
    for t in &report.totals {
        assert!(t.deviation.abs() <= 1e-9 * t.target.abs(), "{t:?}");
    }
    if let Some((lower, upper)) = bounds {
        assert!(report.weights.g_min > lower && report.weights.g_max < upper);
    }
}

common::oracle_cases! {
    linear_income_by_linear: "linear_income" by "linear",
    raking_income_by_rake: "raking_income" by "rake",
    raking_income_by_entropy: "raking_income" by "entropy",
    logit_income_by_logit: "logit_income" by "logit",
    linear_income_by_sex_by_linear: "linear_income_by_sex" by "linear",
}

#[test]
fn every_oracle_case_has_a_test() {
    let names: Vec<String> = cases().into_iter().map(|(name, _)| name).collect();
    assert_every_case_tested("tests/oracle/numeric/cases.csv", &names, TESTED, &[]);
}

/// A spec over the oracle's files (copied into a temporary folder with `seed`), with `extra`
/// appended.
fn project(seed: &str, extra: &str) -> tempfile::TempDir {
    let read = |f: &str| std::fs::read_to_string(oracle(f)).unwrap();
    let spec = format!(
        "[seed]\nfile = \"seed.csv\"\nweight = \"weight\"\nid = \"person_id\"\n\n\
         [[margin]]\nfile = \"age_group.csv\"\n\n[[margin]]\nfile = \"sex.csv\"\n\n{extra}"
    );
    folder(&[
        ("spec.toml", spec),
        ("seed.csv", seed.to_string()),
        ("age_group.csv", read("age_group.csv")),
        ("sex.csv", read("sex.csv")),
    ])
}

const INCOME_TOTALS: &str = "[[total]]\ncolumn = \"income_usd\"\nwithin = { sex = \"female\" }\ntotal = 11483130\n\n\
                             [[total]]\ncolumn = \"income_usd\"\nwithin = { sex = \"male\" }\ntotal = 26819640\n\n";

#[test]
fn a_spec_with_totals_is_fitted_and_reported_by_the_command() {
    let seed = std::fs::read_to_string(oracle("seed.csv")).unwrap();
    for method in ["linear", "rake", "entropy"] {
        let dir = project(&seed, &format!("{INCOME_TOTALS}[fit]\nmethod = \"{method}\"\n"));
        let out = Outcome::run(dir, &["fit", "spec.toml", "--out", "out"]);
        out.assert_code(OK);
        let report = read_json(out.dir.path().join("out/report.json"));
        let totals = report["zones"][0]["totals"].as_array().unwrap();
        assert_eq!(totals.len(), 2, "{report}");
        assert_eq!(totals[0]["column"], "income_usd");
        assert_eq!(totals[0]["within"]["sex"], "female");
        assert_eq!(totals[0]["target"], 11483130.0);
        for t in totals {
            let (target, achieved) = (t["target"].as_f64().unwrap(), t["achieved"].as_f64().unwrap());
            assert!((achieved - target).abs() <= 1e-9 * target, "{method}: {t}");
            assert_eq!(t["deviation"].as_f64().unwrap(), achieved - target);
        }
        // the summary lists them next to the margins
        assert!(out.stdout.contains("income_usd (sex=female)"), "{}", out.stdout);
    }
}

#[test]
fn a_bad_value_in_a_total_column_names_file_line_column_and_value() {
    let seed = std::fs::read_to_string(oracle("seed.csv")).unwrap();
    let mut lines: Vec<String> = seed.lines().map(String::from).collect();
    lines[5] = lines[5].rsplit_once(',').map(|(head, _)| format!("{head},lots")).unwrap();
    let bad = lines.join("\n") + "\n";
    let out =
        Outcome::run(project(&bad, &format!("{INCOME_TOTALS}[fit]\nmethod = \"linear\"\n")), &["fit", "spec.toml"]);
    out.assert_code(BAD_INPUT).stderr_has(&[
        "seed.csv, line 6, column \"income_usd\"",
        "value \"lots\" of a numeric total ([[total]]) is not a number",
    ]);
    // a missing column is named too
    let out = Outcome::run(
        project(&seed, "[[total]]\ncolumn = \"hours\"\ntotal = 5\n\n[fit]\nmethod = \"linear\"\n"),
        &["fit", "spec.toml"],
    );
    out.assert_code(BAD_INPUT).stderr_has(&["\"hours\""]);
}

#[test]
fn missing_values_in_a_total_column_follow_the_seed_policy() {
    let seed = "person_id,weight,age_group,sex,income\n1,10,0-17,female,0\n2,10,18-29,male,NA\n3,10,65+,male,7\n";
    let build = |policy: MissingPolicy| {
        Problem::builder()
            .fit_options(&options(Calibration::Linear))
            .margin(MarginInput::csv(Csv::text("sex.csv", "sex,count\nfemale,10\nmale,12\n")))
            .seed(SeedInput::csv(Csv::text("seed.csv", seed)).weight_column("weight").missing(policy))
            .total(TotalInput::new("income", 100.0))
            .build()
    };
    // drop (the default): the record is left out and counted under the column
    let problem = build(MissingPolicy::Drop).unwrap();
    let kept = problem.seed.as_ref().unwrap();
    assert_eq!(kept.values, [0.0, 7.0]);
    assert_eq!(kept.missing.records_dropped, 1);
    assert_eq!(kept.missing.by_column.get("income"), Some(&1));
    // error, and category (a number has no category "missing"): refused where it is
    for policy in [MissingPolicy::Error, MissingPolicy::Category] {
        let message = build(policy).unwrap_err().to_string();
        assert!(
            message.contains("seed.csv, line 3, column \"income\"") && message.contains("missing value (\"NA\")"),
            "{message}"
        );
    }
}

#[test]
fn totals_are_refused_where_they_cannot_apply() {
    let seed = std::fs::read_to_string(oracle("seed.csv")).unwrap();
    let cases = [
        // ipf fits a table of categories
        ("[fit]\nmethod = \"ipf\"\n", "method = \"ipf\" fits a table of categories"),
        // a category the attribute does not have, an attribute the problem does not have
        (
            "[[total]]\ncolumn = \"income_usd\"\nwithin = { sex = \"other\" }\ntotal = 1\n\n[fit]\nmethod = \"linear\"\n",
            "not a category of sex",
        ),
        (
            "[[total]]\ncolumn = \"income_usd\"\nwithin = { region = \"x\" }\ntotal = 1\n\n[fit]\nmethod = \"linear\"\n",
            "region, which is not an attribute",
        ),
    ];
    for (i, (extra, needle)) in cases.into_iter().enumerate() {
        let extra = if i == 0 { format!("{INCOME_TOTALS}{extra}") } else { extra.to_string() };
        Outcome::run(project(&seed, &extra), &["fit", "spec.toml"]).assert_code(BAD_INPUT).stderr_has(&[needle]);
    }
    let spec = Spec::from_toml_str(
        "[[margin]]\nfile = \"a.csv\"\n\n[[total]]\ncolumn = \"x\"\ntotal = 1\nby = \"sex\"\n",
        "s.toml",
    );
    assert!(spec.unwrap_err().to_string().contains("by"), "unknown keys are refused");
}
