//! A run's outputs are one set (issue #19, part 4): `fit` and `evaluate` lock their output
//! folder for the whole run, so a second run into it fails at once and changes nothing; they
//! put their files in place together at the end, and remove the files of the set an earlier run
//! left that this run does not write, so the folder never mixes two runs.

mod common;

use std::path::Path;

use common::small::{experiment, AGE, RESPONSES, SEED, SEX, SPEC};
use common::{entries, folder, populace, read_json};

fn rake() -> String {
    format!("{SPEC}[fit]\nmethod = \"rake\"\n")
}

fn inputs() -> tempfile::TempDir {
    let (rake, experiment) = (rake(), experiment("responses.csv"));
    folder(&[
        ("ipf.toml", SPEC),
        ("rake.toml", rake.as_str()),
        ("age.csv", AGE),
        ("sex.csv", SEX),
        ("seed.csv", SEED),
        ("responses.csv", RESPONSES),
        ("experiment.toml", experiment.as_str()),
    ])
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = populace().current_dir(dir).args(args).arg("--quiet").output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The names in `dir`, sorted, hidden files included.
fn names(dir: &Path) -> Vec<String> {
    entries(dir).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

#[test]
fn a_second_run_into_a_locked_folder_fails_at_once_and_changes_nothing() {
    let cases: [(&str, &[&str]); 3] = [
        ("fit (ipf)", &["fit", "ipf.toml", "--out", "out"]),
        ("fit (rake)", &["fit", "rake.toml", "--out", "out"]),
        ("evaluate", &["evaluate", "experiment.toml", "--out", "out"]),
    ];
    for (what, args) in cases {
        let dir = inputs();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("report.json"), "an earlier run's report").unwrap();
        // this test plays the first run: it holds the folder's lock
        let lock = std::fs::File::create(out.join(".populace.lock")).unwrap();
        lock.lock().unwrap();
        let (code, stderr) = run(dir.path(), args);
        assert_eq!(code, Some(common::FAILURE), "{what}: {stderr}");
        assert!(stderr.contains("another populace run is writing into this folder"), "{what}: {stderr}");
        assert_eq!(names(&out), [".populace.lock", "report.json"], "{what}");
        assert_eq!(std::fs::read_to_string(out.join("report.json")).unwrap(), "an earlier run's report");
        // once the first run ends, the second goes through
        drop(lock);
        let (code, stderr) = run(dir.path(), args);
        assert_eq!(code, Some(common::OK), "{what}: {stderr}");
    }
}

#[test]
fn a_fit_removes_the_files_an_earlier_fit_of_another_kind_left() {
    let dir = inputs();
    let out = dir.path().join("out");
    assert_eq!(run(dir.path(), &["fit", "rake.toml", "--out", "out"]).0, Some(common::OK));
    assert_eq!(names(&out), ["report.json", "weights.csv"]);
    assert_eq!(run(dir.path(), &["fit", "ipf.toml", "--out", "out"]).0, Some(common::OK));
    assert_eq!(names(&out), ["joint.csv", "report.json"], "the calibration's weights.csv is left");
    assert_eq!(read_json(out.join("report.json"))["method"], "ipf");
    assert_eq!(run(dir.path(), &["fit", "rake.toml", "--out", "out"]).0, Some(common::OK));
    assert_eq!(names(&out), ["report.json", "weights.csv"], "the ipf's joint.csv is left");
}

#[test]
fn an_infeasible_fit_leaves_its_report_and_no_earlier_result() {
    let dir = inputs();
    let out = dir.path().join("out");
    assert_eq!(run(dir.path(), &["fit", "rake.toml", "--out", "out"]).0, Some(common::OK));
    // a category with a positive target that no seed record has
    std::fs::write(dir.path().join("age.csv"), "age,count\nyoung,60\nold,30\nvery old,10\n").unwrap();
    let (code, stderr) = run(dir.path(), &["fit", "rake.toml", "--out", "out"]);
    assert_eq!(code, Some(common::INFEASIBLE), "{stderr}");
    assert_eq!(names(&out), ["report.json"]);
    assert_eq!(read_json(out.join("report.json"))["status"], "infeasible");
}

#[test]
fn sharded_fits_write_zone_files_without_taking_the_folder_lock() {
    let margin = "tract,sex,count\nt1,f,3\nt1,m,2\nt2,f,1\nt2,m,4\n";
    let spec = "[seed]\nfile = \"seed.csv\"\n[[margin]]\nfile = \"sex.csv\"\n[zones]\ncolumn = \"tract\"\n\
                [fit]\nmethod = \"rake\"\n";
    let dir = folder(&[("spec.toml", spec), ("sex.csv", margin), ("seed.csv", "sex\nf\nm\n")]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let lock = std::fs::File::create(out.join(".populace.lock")).unwrap();
    lock.lock().unwrap();
    // shards of one job run at once into one folder: each zone's file is written on its own
    let (code, stderr) = run(dir.path(), &["fit", "spec.toml", "--shard", "1/2", "--out", "out"]);
    assert_eq!(code, Some(common::OK), "{stderr}");
    assert!(out.join("zone=t1/weights.csv").is_file());
}
