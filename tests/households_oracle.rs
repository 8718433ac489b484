//! Integrated household weighting against R `survey`: households of PopulationSim's
//! example_test seed weighted, PUMA by PUMA, to household totals (by size) and person totals
//! (by occupation, counted per household) at once, every control hard and no bounds, as R's
//! `calibrate(…, calfun = "raking")` does on the person counts summed per household
//! (tests/oracle/households/survey_households.R made the totals and the weights).

mod common;

use std::collections::HashMap;

use common::{populace, read_csv, OK};

#[test]
fn integrated_weights_equal_r_survey_raking() {
    let oracle = common::root().join("tests/oracle/households");
    let path = |name: &str| oracle.join(name).display().to_string();
    let spec = format!(
        r#"
[geography]
levels = ["PUMA"]
seed = "PUMA"

[households]
file = "{households}"
id = "hh_id"
weight = "WGTP"
total_control = "households"

[persons]
file = "{persons}"
household_id = "hh_id"

[[controls]]
geography = "PUMA"
file = "{controls}"

[[control]]
name = "households"
geography = "PUMA"
expression = "WGTP > 0"
column = "HH"

{sizes}

{occupations}

[fit]
mode = "survey_weighting"
"#,
        households = path("households.csv"),
        persons = path("persons.csv"),
        controls = path("controls.csv"),
        sizes = [("S1", "NP == 1"), ("S2", "NP == 2"), ("S3", "NP == 3"), ("S4", "NP >= 4")]
            .map(|(c, e)| format!("[[control]]\nname = \"{c}\"\ngeography = \"PUMA\"\nexpression = \"{e}\"\n"))
            .join("\n"),
        occupations = (1..=3)
            .map(|k| format!(
                "[[control]]\nname = \"OCC{k}\"\ngeography = \"PUMA\"\ntable = \"persons\"\nexpression = \"OCCP == {k}\"\n"
            ))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let dir = common::folder(&[("spec.toml", spec)]);
    let out = dir.path().join("fit");
    populace().arg("fit").arg(dir.path().join("spec.toml")).arg("--out").arg(&out).arg("-q").assert().code(OK);
    let (header, rows) = read_csv(out.join("weights.csv"));
    assert_eq!(header, ["PUMA", "hh_id", "weight"]);
    let ours: HashMap<String, f64> = rows.iter().map(|r| (r[1].clone(), r[2].parse().unwrap())).collect();
    let (_, expected) = read_csv(oracle.join("weights.csv"));
    assert_eq!(expected.len(), 60);
    let mut worst: f64 = 0.0;
    for r in &expected {
        let theirs: f64 = r[2].trim().parse().unwrap();
        let mine = ours[r[0].trim()];
        worst = worst.max((mine - theirs).abs() / theirs);
    }
    assert!(worst < 1e-8, "largest relative difference from R: {worst:.2e}");
}
