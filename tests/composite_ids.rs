//! A seed whose ids are unique only together (the GSS numbers respondents within each year):
//! `id = ["year", "respondent_id"]` names records by both, and weights.csv writes both columns.

mod common;

use common::{folder, read_csv, Outcome, BAD_INPUT, OK};

const SEED: &str = "year,respondent_id,sex\n2016,1,f\n2016,2,m\n2018,1,m\n2018,2,f\n2018,3,f\n";
const SPEC: &str = "[seed]\nfile = \"seed.csv\"\nid = [\"year\", \"respondent_id\"]\n\
                    [[margin]]\nfile = \"sex.csv\"\n[fit]\nmethod = \"rake\"\n";

#[test]
fn weights_name_records_by_every_part_of_their_id() {
    let dir = folder(&[("spec.toml", SPEC), ("seed.csv", SEED), ("sex.csv", "sex,count\nf,60\nm,40\n")]);
    let run = Outcome::run(dir, &["fit", "spec.toml", "--out", "out", "--quiet"]);
    run.assert_code(OK);
    let (header, rows) = read_csv(run.dir.path().join("out/weights.csv"));
    assert_eq!(header, ["year", "respondent_id", "weight"]);
    let ids: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(ids, [("2016", "1"), ("2016", "2"), ("2018", "1"), ("2018", "2"), ("2018", "3")]);
    assert_eq!(rows[0][2].parse::<f64>().unwrap(), 20.0, "three women share 60");
}

#[test]
fn a_composite_id_that_repeats_names_both_lines() {
    let seed = format!("{SEED}2016,2,f\n");
    let dir = folder(&[("spec.toml", SPEC), ("seed.csv", seed.as_str()), ("sex.csv", "sex,count\nf,60\nm,40\n")]);
    Outcome::run(dir, &["fit", "spec.toml", "--out", "out"])
        .assert_code(BAD_INPUT)
        .stderr_has(&["seed.csv, line 7, column \"year\": record id \"2016, 2\" appears twice (first on line 3)"]);
}
