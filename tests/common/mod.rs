//! Helpers shared by the integration tests: the binary, the crate's folder, exit codes, reading
//! outputs, runs in a temporary folder, the R `survey` oracle's manifest, and the check that every
//! case of a fixture has a test. Each test file includes this module with `mod common;`.

// Each test file is a crate of its own that compiles all of this module but uses only part of
// it; the rest would be reported as dead code there. Every item is used by some test file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use tempfile::TempDir;

// Exit codes, as documented in the README ("Exit codes"). Written out here rather than taken
// from the crate, so a change of the crate's values fails the tests.
pub const OK: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const BAD_INPUT: i32 = 3;
pub const NOT_CONVERGED: i32 = 4;
pub const INFEASIBLE: i32 = 5;

/// The crate's folder: shipped specs (`calibration/`) and data (`marginals/`) are relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `populace` binary of this build.
pub fn populace() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("populace").unwrap()
}

/// A JSON file, parsed.
pub fn read_json(path: impl AsRef<Path>) -> serde_json::Value {
    let path = path.as_ref();
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e})", path.display()))
}

/// A CSV file as its header and rows of strings.
pub fn read_csv(path: impl AsRef<Path>) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// Writes `files` (name, content; names may hold subfolders) into a fresh temporary folder.
pub fn folder<C: AsRef<[u8]>>(files: &[(&str, C)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }
    dir
}

/// A small fit project (margins age and sex, a four-record seed) and experiment, for tests
/// of what commands write: `small::SPEC` fits `age.csv` and `sex.csv` with `seed.csv`.
pub mod small {
    pub const SPEC: &str =
        "[seed]\nfile = \"seed.csv\"\n[[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";
    pub const AGE: &str = "age,count\nyoung,60\nold,40\n";
    pub const SEX: &str = "sex,count\nf,50\nm,50\n";
    pub const SEED: &str = "age,sex\nyoung,f\nyoung,m\nold,f\nold,m\n";
    pub const RESPONSES: &str = "id,age,q\n1,young,a\n2,old,b\n3,young,a\n4,old,b\n5,young,b\n6,old,a\n";

    /// An experiment on the responses in `file` with the population baseline alone.
    pub fn experiment(file: &str) -> String {
        format!(
            "[data]\nfile = \"{file}\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q\"]\n\
             [[predictor]]\nname = \"population\"\nkind = \"population\"\n[evaluation]\nfolds = 2\nbootstrap = 10\n"
        )
    }
}

/// The paths in `dir`, sorted; none when it cannot be read.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    paths.sort();
    paths
}

/// The outcome of one run of the binary, with the folder it ran in.
pub struct Outcome {
    pub dir: TempDir,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Runs `populace ARGS` inside `dir`.
    pub fn run(dir: TempDir, args: &[&str]) -> Self {
        let output = populace().current_dir(dir.path()).args(args).output().unwrap();
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            dir,
        }
    }

    /// Exit code and no panic.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }

    /// stderr contains every needle.
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(self.stderr.contains(needle), "stderr should contain {needle:?}, got:\n{}", self.stderr);
        }
        self
    }
}

/// Runs `populace fit spec.toml --quiet --out outN` in `dir` with N = 1, 2 and 8 threads
/// (`RAYON_NUM_THREADS`); returns the bytes of the output `file` of each run.
pub fn fit_with_1_2_and_8_threads(dir: &Path, file: &str) -> Vec<Vec<u8>> {
    ["1", "2", "8"]
        .into_iter()
        .map(|threads| {
            let out = format!("out{threads}");
            populace()
                .args(["fit", "spec.toml", "--quiet", "--out", &out])
                .env("RAYON_NUM_THREADS", threads)
                .current_dir(dir)
                .assert()
                .success();
            std::fs::read(dir.join(&out).join(file)).unwrap()
        })
        .collect()
}

/// The R `survey` oracle's folder (`tests/oracle/api`, described in its README).
pub fn api_oracle() -> PathBuf {
    root().join("tests/oracle/api")
}

/// One row of the oracle's manifest, `cases.csv`.
pub struct ApiCase {
    /// R's method column: `linear`, `raking`, `logit` or `rake`.
    pub method: String,
    /// The margin files.
    pub margins: Vec<String>,
    /// Bounds on g, if any.
    pub bounds: Option<(f64, f64)>,
    /// The file of R's weights (`id,weight`, in seed order).
    pub weights_file: String,
}

/// The oracle's manifest: case names in file order, and the case of each.
pub fn api_cases() -> Vec<(String, ApiCase)> {
    let (header, rows) = read_csv(api_oracle().join("cases.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    rows.iter()
        .map(|r| {
            let bounds = (!r[col("bounds_low")].is_empty())
                .then(|| (r[col("bounds_low")].parse().unwrap(), r[col("bounds_high")].parse().unwrap()));
            let case = ApiCase {
                method: r[col("method")].clone(),
                margins: r[col("margins")].split(';').map(String::from).collect(),
                bounds,
                weights_file: r[col("weights_file")].clone(),
            };
            (r[col("case")].clone(), case)
        })
        .collect()
}

/// Oracle cases that no test reproduces, and why.
pub const API_LEFT_OUT: &[(&str, &str)] =
    &[("linear_bounded_oneway", "truncated linear calibration (bounded GREG) is not a populace method")];

/// Every case of the oracle's manifest is in `tested` or [`API_LEFT_OUT`].
pub fn assert_every_api_case_tested(tested: &[&str]) {
    let cases: Vec<String> = api_cases().into_iter().map(|(name, _)| name).collect();
    assert_every_case_tested("tests/oracle/api/cases.csv", &cases, tested, API_LEFT_OUT);
}

/// The oracle's case `name`.
pub fn api_case(name: &str) -> ApiCase {
    api_cases().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no case {name} in cases.csv")).1
}

/// Every case of a fixture has a test, or is left out for a stated reason; and every case named
/// by a test or left out is in the fixture. `tested` may name a case more than once (one test
/// per method, say).
pub fn assert_every_case_tested(fixture: &str, cases: &[String], tested: &[&str], left_out: &[(&str, &str)]) {
    for case in cases {
        let is_tested = tested.contains(&case.as_str());
        let is_left_out = left_out.iter().any(|(c, _)| c == case);
        assert!(is_tested || is_left_out, "{fixture}: case {case:?} has no test");
        assert!(!(is_tested && is_left_out), "{fixture}: case {case:?} is tested and also left out");
    }
    for case in tested.iter().chain(left_out.iter().map(|(c, _)| c)) {
        assert!(cases.iter().any(|c| c == case), "{fixture}: no case {case:?}");
    }
}

/// An attribute of a known-truth world with `levels` equally frequent levels, `{name}0`,
/// `{name}1`, ….
pub fn world_attribute(name: &str, levels: usize) -> populace::evaluation::world::WorldAttribute {
    populace::evaluation::world::WorldAttribute {
        name: name.into(),
        levels: (0..levels).map(|i| format!("{name}{i}")).collect(),
        weights: None,
    }
}

/// Writes the experiment `spec` to `dir/spec.toml`, evaluates it in this process, and returns
/// the evaluation.
pub fn evaluate_spec(dir: &Path, spec: &str) -> populace::evaluation::Evaluation {
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
    let spec = populace::evaluation::ExperimentSpec::from_path(&dir.join("spec.toml")).unwrap();
    populace::evaluation::evaluate(&spec, &mut |_| {}).unwrap()
}

/// One test per oracle case and populace method that must reproduce it (each calls the test
/// file's `weights_match_r_survey(case, method)`), and `TESTED`, the list of the cases.
#[allow(unused_macros)]
macro_rules! oracle_cases {
    ($($test:ident: $case:literal by $method:literal,)*) => {
        $(
            #[test]
            fn $test() {
                weights_match_r_survey($case, $method);
            }
        )*
        const TESTED: &[&str] = &[$($case),*];
    };
}
#[allow(unused_imports)]
pub(crate) use oracle_cases;

/// populace's calibration named `name` (`linear`, `rake`, `entropy`, or `logit` with `bounds`),
/// as the R oracle cases name them.
#[allow(dead_code)]
pub fn calibration(name: &str, bounds: Option<(f64, f64)>) -> populace::calibration::Calibration {
    use populace::calibration::Calibration;
    match name {
        "linear" => Calibration::Linear,
        "rake" => Calibration::Rake,
        "entropy" => Calibration::Entropy,
        "logit" => {
            let (lower, upper) = bounds.expect("logit bounds");
            Calibration::logit(lower, upper).unwrap()
        }
        other => panic!("no calibration named {other}"),
    }
}
