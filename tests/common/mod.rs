//! Helpers shared by the integration tests: the binary, the crate's folder, exit codes, reading
//! outputs, runs in a temporary folder, and known-truth worlds. Each test file includes this
//! module with `mod common;`.

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
/// the evaluation as its JSON document (`evaluation.json`).
pub fn evaluate_spec(dir: &Path, spec: &str) -> serde_json::Value {
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
    let spec = populace::evaluation::ExperimentSpec::from_path(&dir.join("spec.toml")).unwrap();
    populace::evaluation::evaluate(&spec, &mut |_| {}).unwrap().json
}
