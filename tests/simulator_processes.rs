//! Simulator programs are held to their limits (issue #19, parts 2 and 3): no more programs
//! start than there are requests to answer, and a program that writes without a line break is
//! stopped at [`populace::memory::MAX_LINE_BYTES`] with an error, not read until memory runs out.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::populace;

const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_simulator.py");

/// 24 persons, item q (a/b), and the population baseline beside `predictor`.
fn experiment(dir: &Path, predictor: &str) {
    let mut csv = String::from("id,age,q\n");
    for i in 0..24 {
        csv.push_str(&format!("p{i:02},{},{}\n", ["young", "old"][i % 2], ["a", "b"][i / 2 % 2]));
    }
    std::fs::write(dir.join("responses.csv"), csv).unwrap();
    let spec = format!(
        "[data]\nfile = \"responses.csv\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q\"]\n\
         [[predictor]]\nname = \"population\"\nkind = \"population\"\n{predictor}\n\
         [evaluation]\nfolds = 2\nbootstrap = 10\n"
    );
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
}

fn evaluate(dir: &Path) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    let output = populace()
        .current_dir(dir)
        .args(["evaluate", "spec.toml", "--out", "out", "--quiet"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned(), start.elapsed())
}

#[test]
fn a_concurrency_above_the_requests_starts_no_idle_programs() {
    let dir = tempfile::tempdir().unwrap();
    // each copy of the program notes its start, then runs the fake simulator
    let predictor = format!(
        "[[predictor]]\nname = \"sim\"\nkind = \"external\"\ncommand = \"sh\"\n\
         args = [\"-c\", \"echo started >> starts.log; exec python3 {FAKE}\"]\nconcurrency = 64\n"
    );
    experiment(dir.path(), &predictor);
    let (code, stderr, _) = evaluate(dir.path());
    assert_eq!(code, Some(common::OK), "{stderr}");
    let starts = std::fs::read_to_string(dir.path().join("starts.log")).unwrap().lines().count();
    // 24 requests in all, asked a fold (12) at a time
    assert!((1..=12).contains(&starts), "{starts} programs started for at most 12 requests at a time");
}

#[test]
fn a_program_that_writes_no_line_break_is_stopped_at_the_line_limit() {
    let dir = tempfile::tempdir().unwrap();
    let predictor = "[[predictor]]\nname = \"sim\"\nkind = \"external\"\ncommand = \"sh\"\n\
                     args = [\"-c\", \"cat /dev/zero\"]\n";
    experiment(dir.path(), predictor);
    let (code, stderr, took) = evaluate(dir.path());
    assert_eq!(code, Some(common::BAD_INPUT), "{stderr}");
    let limit = populace::memory::MAX_LINE_BYTES.to_string();
    assert!(stderr.contains(&format!("a line longer than {limit} bytes")), "{stderr}");
    assert!(stderr.contains("\\0\\0\\0"), "the message quotes the line's start, escaped: {stderr}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}
