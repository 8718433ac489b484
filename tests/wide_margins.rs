//! Wide margins as PopulationSim's own test project lays out its controls
//! (tests/fixtures/populationsim_taz, made by its make.py): one row per TAZ, the household-size
//! controls HHSIZE1..HHSIZE4 as columns, among others the spec does not name.

mod common;

use common::{read_csv, read_json, root, Outcome, BAD_INPUT, OK};

fn project(margin: &str) -> tempfile::TempDir {
    let dir = root().join("tests/fixtures/populationsim_taz");
    let spec = format!(
        "[seed]\nfile = \"households.csv\"\nweight = \"WGTP\"\nid = \"SERIALNO\"\n\n{margin}\n\
         [zones]\ncolumn = \"TAZ\"\n\n[fit]\nmethod = \"rake\"\n"
    );
    common::folder(&[
        ("spec.toml", spec.into_bytes()),
        ("households.csv", std::fs::read(dir.join("households.csv")).unwrap()),
        ("taz_controls.csv", std::fs::read(dir.join("taz_controls.csv")).unwrap()),
    ])
}

const SIZES: &str = "[[margin]]\nfile = \"taz_controls.csv\"\nlayout = \"wide\"\nattribute = \"hh_size\"\n\
                     columns = { HHSIZE1 = \"1\", HHSIZE2 = \"2\", HHSIZE3 = \"3\", HHSIZE4 = \"4+\" }\n";

#[test]
fn populationsim_controls_are_read_as_they_are() {
    let run = Outcome::run(project(SIZES), &["fit", "spec.toml", "--out", "out", "--quiet"]);
    run.assert_code(OK);
    let report = read_json(run.dir.path().join("out/report.json"));
    assert_eq!(report["converged"], true);
    let (header, controls) = read_csv(root().join("tests/fixtures/populationsim_taz/taz_controls.csv"));
    assert_eq!(report["zone_count"].as_u64(), Some(controls.len() as u64));
    // each TAZ's calibrated households sum to its four size controls
    let (_, weights) = read_csv(run.dir.path().join("out/weights.csv"));
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &controls {
        let target: f64 =
            ["HHSIZE1", "HHSIZE2", "HHSIZE3", "HHSIZE4"].iter().map(|c| row[column(c)].parse::<f64>().unwrap()).sum();
        let total: f64 =
            weights.iter().filter(|w| w[0] == row[column("TAZ")]).map(|w| w[2].parse::<f64>().unwrap()).sum();
        assert!((total - target).abs() < 1e-6, "TAZ {}: {total} vs {target}", row[0]);
    }
}

#[test]
fn wide_margins_that_cannot_be_read_say_why() {
    let typo = SIZES.replace("HHSIZE4 =", "HHSIZE5 =");
    Outcome::run(project(&typo), &["fit", "spec.toml", "--out", "out"])
        .assert_code(BAD_INPUT)
        .stderr_has(&["taz_controls.csv, line 1", "missing category column \"HHSIZE5\""]);
    let half = "[[margin]]\nfile = \"taz_controls.csv\"\nlayout = \"wide\"\nattribute = \"hh_size\"\n";
    Outcome::run(project(half), &["fit", "spec.toml", "--out", "out"])
        .assert_code(BAD_INPUT)
        .stderr_has(&["layout = \"wide\" needs attribute = \"NAME\" and columns"]);
    let tidy = "[[margin]]\nfile = \"taz_controls.csv\"\nattribute = \"hh_size\"\n";
    Outcome::run(project(tidy), &["fit", "spec.toml", "--out", "out"])
        .assert_code(BAD_INPUT)
        .stderr_has(&["attribute and columns apply to layout = \"wide\" only"]);
}
