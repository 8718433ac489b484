//! `populace demo`: one run from a folder outside the repository (the data is embedded), checked
//! for the report files, every section with its inline SVG, and the findings as JSON.

mod common;

use common::populace;
use serde_json::Value;

#[test]
fn the_demo_writes_a_self_contained_report_and_prints_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let output =
        populace().args(["demo", "--out", "demo", "--quiet", "--json"]).current_dir(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "--quiet prints nothing on stderr: {}", String::from_utf8_lossy(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Paths as the user typed them; each stage's outputs in its folder.
    assert_eq!(json["html"], "demo/report.html");
    assert_eq!(json["markdown"], "demo/report.md");
    let out = dir.path().join("demo");
    for file in [
        "report.html",
        "report.md",
        "findings.json",
        "fit/joint.csv",
        "fit/report.json",
        "fit/margins.json",
        "pools/naive.csv",
        "pools/calibrated.csv",
        "compare/comparison.json",
        "compare/compare.svg",
        "evaluate-acs2012/evaluation.json",
        "evaluate-anes1996/evaluation.json",
        "evaluate-anes1996/summary.md",
        "figures/compare.svg",
        "figures/margin-fit.svg",
        "households/weights.csv",
        "households/seed_weights.csv",
        "households/report.json",
        "households/controls.svg",
        "figures/household-controls.svg",
    ] {
        assert!(out.join(file).metadata().map(|m| m.len() > 0).unwrap_or(false), "{file} missing or empty");
    }

    // Three findings, each a sentence carrying its numbers.
    let f = &json["findings"];
    let pools = &f["pools"];
    let (calibrated, naive) =
        (pools["calibrated_srmse_2way"].as_f64().unwrap(), pools["naive_srmse_2way"].as_f64().unwrap());
    assert!(calibrated < naive, "the calibrated pool fits the two-way margins better: {pools}");
    assert!(pools["headline"].as_str().unwrap().contains(&format!("{calibrated:.3}")));
    let profile = &f["conditioning"]["profile"];
    for key in ["estimate", "ci_low", "ci_high"] {
        assert!(profile["pseudo_r2"][key].as_f64().unwrap().is_finite(), "{profile}");
    }
    assert!(f["conditioning"]["history"]["verdict"].is_string());
    let r = &f["replication"];
    let (main, real) = (r["main_replicated"].as_u64().unwrap(), r["main_real"].as_u64().unwrap());
    assert!(main <= real && real > 0, "{r}");
    assert!(r["headline"].as_str().unwrap().contains(&format!("{main}/{real}")));
    assert_eq!(
        std::fs::read_to_string(out.join("findings.json")).unwrap().trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    );

    // Every section, with inline SVG and nothing loaded from elsewhere.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for section in [
        "Headline findings",
        "Margin fit before and after calibration",
        "Naive against calibrated pools",
        "Persona pools predicting the population",
        "Individuals against populations",
        "Effect replication: main against interaction effects",
        "Run-to-run against between-persona variance",
        "Households and persons fitted to state and region controls",
    ] {
        assert!(html.contains(section), "the report lacks {section}");
    }
    assert!(html.matches("<svg").count() >= 10, "inline SVGs: {}", html.matches("<svg").count());
    assert!(!html.contains("src=\"http") && !html.contains("<link"), "the report loads external assets");
    for headline in ["pools", "conditioning", "replication"] {
        let text = f[headline]["headline"].as_str().unwrap();
        assert!(
            html.contains(&text.replace('\'', "&#x27;").replace('/', "&#x2f;")),
            "the report lacks the finding: {text}"
        );
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("](figures/compare.svg)") && markdown.contains("| pool | persons |"));

    // The EU-SILC households: all 6,000, whole, from a converged fit, each control in the table.
    let households = common::read_json(out.join("households/report.json"));
    assert_eq!(households["converged"], true);
    assert_eq!(households["households"].as_f64(), Some(6000.0));
    for control in households["controls"].as_array().unwrap() {
        assert!(markdown.contains(&format!("| {} |", control["name"].as_str().unwrap())), "{control}");
    }
}

#[test]
fn help_has_an_example_and_an_unwritable_folder_is_an_error_on_stderr() {
    let help = populace().args(["demo", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("populace demo --out"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocker"), "a file, not a folder").unwrap();
    let output = populace().args(["demo", "--out", "blocker/demo"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: cannot write blocker/demo"), "{stderr}");
}
