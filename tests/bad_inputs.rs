//! Malformed and hostile inputs to every command that reads files: margin and seed CSVs, fit
//! specs, experiment specs, responses files and comparison tables. Each case runs the binary in
//! a fresh folder and asserts the documented exit code, that stderr names the file, line,
//! column and value where they apply, that nothing panicked (no "panicked", never exit 101),
//! that no temporary file is left behind, and, for input errors, that no output is written.
//!
//! `tests/cli_errors.rs` covers the basic `populace fit` cases (one test each); the cases here
//! are the ones it does not: other commands, the seed and responses readers, extreme numbers,
//! encodings and the regression tests for what fuzzing found (`fuzz/`).

mod common;

use std::path::Path;

use common::{populace, BAD_INPUT, INFEASIBLE, NOT_CONVERGED, OK};

/// What a case expects to find in its folder after the run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Written {
    /// No `out` folder, or an empty one: the input was refused before anything was written.
    Nothing,
    /// These files under `out` (relative paths).
    Files(&'static [&'static str]),
}

/// One bad input: the files to write, the command to run in their folder, and what must happen.
struct Case {
    name: &'static str,
    files: Vec<(String, Vec<u8>)>,
    dirs: Vec<&'static str>,
    args: Vec<&'static str>,
    code: i32,
    stderr: Vec<String>,
    written: Written,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        files: Vec::new(),
        dirs: Vec::new(),
        args: Vec::new(),
        code: BAD_INPUT,
        stderr: Vec::new(),
        written: Written::Nothing,
    }
}

impl Case {
    fn file(mut self, name: &str, content: impl AsRef<[u8]>) -> Self {
        self.files.retain(|(n, _)| n != name);
        self.files.push((name.to_string(), content.as_ref().to_vec()));
        self
    }

    /// A folder where a file is expected.
    fn dir(mut self, name: &'static str) -> Self {
        self.files.retain(|(n, _)| n != name);
        self.dirs.push(name);
        self
    }

    fn args(mut self, args: &[&'static str]) -> Self {
        self.args = args.to_vec();
        self
    }

    fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }

    fn stderr(mut self, needles: &[&str]) -> Self {
        self.stderr.extend(needles.iter().map(|s| s.to_string()));
        self
    }

    fn writes(mut self, files: &'static [&'static str]) -> Self {
        self.written = Written::Files(files);
        self
    }

    // The usual commands on the usual file names.

    fn fit(self) -> Self {
        self.args(&["fit", "spec.toml", "--out", "out", "--quiet"])
    }

    fn generate(self) -> Self {
        self.args(&["generate", "spec.toml", "-n", "40", "--out", "out/pool.csv", "--quiet"])
    }

    fn evaluate(self) -> Self {
        self.args(&["evaluate", "exp.toml", "--out", "out", "--quiet"])
    }

    fn compare(self) -> Self {
        self.args(&["compare", "--truth", "truth.csv", "pool.csv", "--plot", "out/plot.svg", "--quiet"])
    }

    /// The age and sex margins, the seed and a spec using all three (`tail` appended to it).
    fn fit_files(self, tail: &str) -> Self {
        self.file("spec.toml", format!("{SPEC_SEED}{tail}"))
            .file("age.csv", AGE)
            .file("sex.csv", SEX)
            .file("seed.csv", SEED)
    }

    /// The responses file and an experiment spec reading it (`tail` appended to it).
    fn evaluate_files(self, tail: &str) -> Self {
        self.file("exp.toml", format!("{EXPERIMENT}{tail}")).file("resp.csv", responses())
    }

    /// Runs the case; returns a description of every way it failed.
    fn run(&self) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for d in &self.dirs {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        for (name, content) in &self.files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let output = populace().current_dir(dir.path()).args(&self.args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut failures = Vec::new();
        let code = output.status.code();
        if code != Some(self.code) {
            failures.push(format!("exit code {code:?}, expected {}", self.code));
        }
        if stderr.contains("panicked") || code == Some(101) {
            failures.push("panicked".to_string());
        }
        if self.code == BAD_INPUT && !stderr.starts_with("error: ") {
            failures.push("stderr does not start with \"error: \"".to_string());
        }
        for needle in &self.stderr {
            if !stderr.contains(needle.as_str()) {
                failures.push(format!("stderr lacks {needle:?}"));
            }
        }
        let out = dir.path().join("out");
        match self.written {
            Written::Nothing => {
                let entries = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
                if entries > 0 {
                    failures.push(format!("out/ has {entries} entries; an input error must write nothing"));
                }
            }
            Written::Files(files) => {
                for f in files {
                    if !out.join(f).is_file() {
                        failures.push(format!("out/{f} is not written"));
                    }
                }
            }
        }
        if let Some(tmp) = temporary_files(dir.path()).first() {
            failures.push(format!("a temporary file is left behind: {tmp}"));
        }
        if failures.is_empty() {
            return failures;
        }
        vec![format!(
            "case {}: {}\n  args: {:?}\n  stderr: {}",
            self.name,
            failures.join("; "),
            self.args,
            stderr.trim_end()
        )]
    }
}

/// Files whose name ends in `.tmp`, anywhere under `dir`.
fn temporary_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporary_files(&path));
        } else if path.to_string_lossy().ends_with(".tmp") {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Runs every case and fails with all their failures at once.
fn run_all(cases: Vec<Case>) {
    let mut names = std::collections::HashSet::new();
    for c in &cases {
        assert!(names.insert(c.name), "two cases are named {}", c.name);
    }
    let failures: Vec<String> = cases.iter().flat_map(Case::run).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

const SPEC: &str = "[[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";
const SPEC_SEED: &str = "[seed]\nfile = \"seed.csv\"\nweight = \"weight\"\nid = \"id\"\n\
                         [[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";
const AGE: &str = "age,count\nyoung,60\nold,40\n";
const SEX: &str = "sex,count\nf,50\nm,50\n";
const SEED: &str = "id,age,sex,weight\nr1,young,f,1\nr2,young,m,2\nr3,old,f,3\nr4,old,m,1\n";

const EXPERIMENT: &str = "[data]\nfile = \"resp.csv\"\nid = \"id\"\nprofile = [\"age\", \"sex\"]\n\
                          items = [\"q1\", \"q2\"]\nordinal = [\"q1\"]\n\
                          [[predictor]]\nname = \"population\"\nkind = \"population\"\n\
                          [[predictor]]\nname = \"profile\"\nkind = \"profile\"\n";
/// Appended to [`EXPERIMENT`] by the cases that do not test `[evaluation]`: small and fast.
const SMALL: &str = "[evaluation]\nfolds = 2\nbootstrap = 10\n";

/// 24 persons: id, age, sex, an ordinal q1 (1–3) and a binary q2, in a fixed pattern.
fn responses() -> String {
    let mut text = String::from("id,age,sex,q1,q2\n");
    for i in 0..24 {
        let age = ["young", "old"][i % 2];
        let sex = ["f", "m", "m"][i % 3];
        let q1 = ["1", "2", "3", "2"][(i / 2) % 4];
        let q2 = ["a", "b"][(i / 5) % 2];
        text.push_str(&format!("p{i},{age},{sex},{q1},{q2}\n"));
    }
    text
}

/// `responses()` with line `line` (1-based, the header is line 1) replaced.
fn responses_with(line: usize, replacement: &str) -> String {
    let text = responses();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

#[test]
fn margin_files() {
    run_all(vec![
        case("tab-delimited margin").fit().fit_files("").file("age.csv", "age\tcount\nyoung\t60\nold\t40\n").stderr(&[
            "error: age.csv, line 1",
            "\"age\tcount\"",
            "comma",
        ]),
        case("count 1e308").fit().fit_files("").file("age.csv", "age,count\nyoung,1e308\nold,40\n").stderr(&[
            "error: age.csv, line 2, column \"count\": ",
            "\"1e308\"",
            "too large",
        ]),
        case("subnormal count 1e-320")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,60\nold,1e-320\n")
            .stderr(&["error: age.csv, line 3, column \"count\": ", "\"1e-320\"", "too small"]),
        case("negative infinity").fit().fit_files("").file("age.csv", "age,count\nyoung,-inf\nold,40\n").stderr(&[
            "age.csv, line 2, column \"count\"",
            "\"-inf\"",
            "infinite",
        ]),
        case("hexadecimal count").fit().fit_files("").file("age.csv", "age,count\nyoung,0x3c\nold,40\n").stderr(&[
            "age.csv, line 2, column \"count\"",
            "\"0x3c\"",
            "not a number",
        ]),
        case("thousands separator makes a ragged row")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,1,060\nold,40\n")
            .stderr(&["age.csv, line 2", "3 fields", "header has 2"]),
        case("unterminated quote").fit().fit_files("").file("age.csv", "age,count\n\"young,60\nold,40\n").stderr(&[
            "age.csv, line 2",
            "1 fields",
            "header has 2",
        ]),
        case("column named twice")
            .fit()
            .fit_files("")
            .file("age.csv", "age,age,count\nyoung,young,60\nold,old,40\n")
            .stderr(&["age.csv, line 1, column \"age\"", "twice"]),
        case("empty header field")
            .fit()
            .fit_files("")
            .file("age.csv", "age,,count\nyoung,x,60\nold,x,40\n")
            .stderr(&["age.csv, line 1", "header field 2 is empty"]),
        case("only a count column")
            .fit()
            .fit_files("")
            .file("age.csv", "count\n100\n")
            .stderr(&["age.csv, line 1", "only the count column"]),
        case("every count zero")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,0\nold,0\n")
            .stderr(&["age.csv", "every count is zero"]),
        case("Latin-1 byte in a header")
            .fit()
            .fit_files("")
            .file("age.csv", b"\xe2ge,count\nyoung,60\nold,40\n")
            .stderr(&["age.csv, line 1", "header field 1 is not valid UTF-8"]),
        case("UTF-16 file").fit().fit_files("").file("sex.csv", utf16le(SEX)).stderr(&["sex.csv, line 1", "UTF-8"]),
        case("margin path is a folder").fit().fit_files("").dir("sex.csv").stderr(&["cannot read sex.csv"]),
        case("totals differ by 1e-5 of the total")
            .fit()
            .fit_files("")
            .file("sex.csv", "sex,count\nf,50.0005\nm,50.0005\n")
            .stderr(&["age.csv sums to 100", "sex.csv sums to 100.001", "tolerance 1.0e-6"]),
        case("totals accepted by a looser consistency_tolerance cannot both be met: not converged")
            .fit()
            .fit_files("[fit]\nconsistency_tolerance = 1e-4\n")
            .file("sex.csv", "sex,count\nf,50.0005\nm,50.0005\n")
            .code(NOT_CONVERGED)
            .stderr(&["not converged after 1000 iterations"])
            .writes(&["joint.csv", "report.json"]),
        case("every target within the tolerance")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,6e-11\nold,4e-11\n")
            .file("sex.csv", "sex,count\nf,5e-11\nm,5e-11\n")
            .stderr(&["spec.toml", "tolerance = 1e-10 is at least every target", "6e-11"]),
        case("CRLF line endings are read like LF")
            .fit()
            .fit_files("")
            .file("age.csv", AGE.replace('\n', "\r\n"))
            .file("seed.csv", SEED.replace('\n', "\r\n"))
            .code(OK)
            .writes(&["joint.csv", "report.json"]),
        case("extreme but valid magnitudes fit")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,6e99\nold,4e99\n")
            .file("sex.csv", "sex,count\nf,5e99\nm,5e99\n")
            .file(
                "seed.csv",
                "id,age,sex,weight\nr1,young,f,1e-100\nr2,young,m,2e-100\nr3,old,f,3e-100\nr4,old,m,1e-100\n",
            )
            .code(OK)
            .writes(&["joint.csv", "report.json"]),
    ]);
}

#[test]
fn seed_files() {
    run_all(vec![
        case("semicolon seed").fit().fit_files("").file("seed.csv", SEED.replace(',', ";")).stderr(&[
            "error: seed.csv, line 1",
            "missing attribute column \"age\"",
            "comma",
        ]),
        case("seed weight 1e308")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,1e308\nr2,young,m,1e308\nr3,old,f,3\nr4,old,m,1\n")
            .stderr(&["seed.csv, line 2, column \"weight\"", "\"1e308\"", "too large"]),
        case("seed weight 1e-320")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,1\nr2,young,m,1e-320\nr3,old,f,3\nr4,old,m,1\n")
            .stderr(&["seed.csv, line 3, column \"weight\"", "\"1e-320\"", "too small"]),
        case("seed weight NaN")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,nan\nr2,young,m,2\nr3,old,f,3\nr4,old,m,1\n")
            .stderr(&["seed.csv, line 2, column \"weight\"", "\"nan\"", "NaN"]),
        case("Latin-1 seed category")
            .fit()
            .fit_files("")
            .file("seed.csv", b"id,age,sex,weight\nr1,young,f,1\nr2,\xe9t\xe9,m,2\n")
            .stderr(&["seed.csv, line 3, column \"age\"", "UTF-8"]),
        case("seed header only")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\n")
            .stderr(&["error: seed.csv", "header but no rows"]),
        case("empty seed").fit().fit_files("").file("seed.csv", "").stderr(&["error: seed.csv", "empty"]),
        case("duplicate seed ids")
            .fit()
            .fit_files("[fit]\nmethod = \"rake\"\n")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,1\nr1,young,m,2\nr3,old,f,3\nr4,old,m,1\n")
            .stderr(&["seed.csv, line 3, column \"id\"", "\"r1\" appears twice", "line 2"]),
        case("every seed weight zero")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,0\nr2,young,m,0\nr3,old,f,0\nr4,old,m,0\n")
            .code(INFEASIBLE)
            .stderr(&["infeasible", "age.csv"])
            .writes(&["report.json"]),
        case("ragged seed row")
            .fit()
            .fit_files("")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,1\nr2,young,m\nr3,old,f,3\n")
            .stderr(&["seed.csv, line 3", "3 fields", "header has 4"]),
        case("seed with BOM and CRLF")
            .fit()
            .fit_files("")
            .file("seed.csv", format!("\u{feff}{}", SEED.replace('\n', "\r\n")))
            .code(OK)
            .writes(&["joint.csv", "report.json"]),
        case("a zone with no seed records")
            .fit()
            .fit_files(
                "[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\nseed_region = \"region\"\nmap = \"map.csv\"\n",
            )
            .file("age.csv", "zone,age,count\na,young,60\na,old,40\nb,young,5\nb,old,5\n")
            .file("sex.csv", "zone,sex,count\na,f,50\na,m,50\nb,f,5\nb,m,5\n")
            .file("seed.csv", "id,age,sex,weight,region\nr1,young,f,1,x\nr2,young,m,2,x\nr3,old,f,3,x\nr4,old,m,1,x\n")
            .file("map.csv", "zone,region\na,x\nb,y\n")
            .stderr(&["map.csv, line 3, column \"region\"", "zone \"b\" maps to region \"y\"", "no seed records"]),
    ]);
}

#[test]
fn fit_specs() {
    run_all(vec![
        case("non-UTF-8 spec")
            .fit()
            .fit_files("")
            .file("spec.toml", b"[[margin]]\nfile = \"\xe2ge.csv\"\n")
            .stderr(&["error: spec.toml", "not valid UTF-8"]),
        case("spec with a byte-order mark")
            .fit()
            .fit_files("")
            .file("spec.toml", format!("\u{feff}{SPEC_SEED}"))
            .code(OK)
            .writes(&["joint.csv", "report.json"]),
        case("TOML syntax error")
            .fit()
            .fit_files("")
            .file("spec.toml", "[[margin]]\nfile = \"age.csv\"\n[fit\n")
            .stderr(&["error: spec.toml, line 3"]),
        case("tolerance nan").fit().fit_files("[fit]\ntolerance = nan\n").stderr(&["spec.toml", "tolerance", "NaN"]),
        case("negative max_iterations").fit().fit_files("[fit]\nmax_iterations = -1\n").stderr(&["spec.toml, line 10"]),
        case("negative random_seed")
            .fit()
            .fit_files("[fit]\nmethod = \"rake\"\nrandom_seed = -3\n")
            .stderr(&["spec.toml, line 11"]),
        case("category declared twice").fit().fit_files("[attributes]\nsex = [\"f\", \"m\", \" f\"]\n").stderr(&[
            "spec.toml",
            "sex",
            "\" f\" twice",
        ]),
        case("attribute declared without categories")
            .fit()
            .fit_files("[attributes]\nsex = []\n")
            .stderr(&["spec.toml", "sex declares no categories"]),
        case("negative consistency_tolerance").fit().fit_files("[fit]\nconsistency_tolerance = -1e-6\n").stderr(&[
            "spec.toml",
            "consistency_tolerance",
            "-0.000001",
        ]),
        case("importance zero")
            .fit()
            .fit_files("[fit]\nmethod = \"entropy\"\n")
            .file("spec.toml", format!("{SPEC_SEED}importance = 0.0\n[fit]\nmethod = \"entropy\"\n"))
            .stderr(&["spec.toml", "sex.csv", "importance must be a positive number"]),
        case("integerize with ipf")
            .fit()
            .fit_files("[fit]\nintegerize = \"trs\"\n")
            .stderr(&["spec.toml", "integerize applies to seed re-weighting methods"]),
        case("dense table above max_cells, through generate")
            .generate()
            .fit_files("[fit]\nmax_cells = 3\n")
            .stderr(&["4 cells", "max_cells = 3"]),
        case("the declared attributes' cross-table overflows")
            .fit()
            .file("spec.toml", huge_domain_spec())
            .file("age.csv", AGE)
            .file("sex.csv", SEX)
            .file("seed.csv", "a0,a1,a2,a3,a4,a5,a6,a7,a8,age,sex\nc0,c0,c0,c0,c0,c0,c0,c0,c0,young,f\n")
            .stderr(&["more than 2^64 cells", "the count overflows"]),
        case("infeasible logit bounds, through generate")
            .generate()
            .fit_files("[fit]\nmethod = \"logit\"\nbounds = [0.9, 1.1]\n")
            .code(INFEASIBLE)
            .stderr(&["infeasible", "logit bounds (0.9, 1.1)"]),
        case("not converged, through generate: the pool is written and the exit code says so")
            .generate()
            .fit_files("[fit]\nmax_iterations = 1\n")
            .file("seed.csv", "id,age,sex,weight\nr1,young,f,1\nr2,young,m,1\nr3,old,f,3\nr4,old,m,1\n")
            .code(NOT_CONVERGED)
            .stderr(&["did not converge within [fit] max_iterations"])
            .writes(&["pool.csv"]),
        case("spec without a seed but with an undeclared-only attribute")
            .fit()
            .file("spec.toml", format!("[attributes]\nregion = [\"n\", \"s\"]\n{SPEC}"))
            .file("age.csv", AGE)
            .file("sex.csv", SEX)
            .stderr(&["spec.toml", "region", "no seed"]),
    ]);
}

#[test]
fn experiment_specs() {
    run_all(vec![
        case("non-UTF-8 experiment spec")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", b"[data]\nfile = \"r\xe9p.csv\"\n")
            .stderr(&["error: exp.toml", "not valid UTF-8"]),
        case("experiment spec with a byte-order mark")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("\u{feff}{EXPERIMENT}{SMALL}"))
            .code(OK)
            .writes(&["evaluation.json", "summary.md"]),
        case("experiment TOML syntax error")
            .evaluate()
            .evaluate_files("[evaluation\nfolds = 2\n")
            .stderr(&["error: exp.toml, line 13"]),
        case("unknown experiment field")
            .evaluate()
            .evaluate_files("[evaluation]\nfold = 2\n")
            .stderr(&["error: exp.toml, line 14", "fold"]),
        case("experiment without [data]")
            .evaluate()
            .evaluate_files("")
            .file("exp.toml", "[[predictor]]\nname = \"p\"\nkind = \"population\"\n")
            .stderr(&["error: exp.toml", "data"]),
        case("one fold")
            .evaluate()
            .evaluate_files("[evaluation]\nfolds = 1\n")
            .stderr(&["exp.toml", "folds must be at least 2"]),
        case("alpha nan").evaluate().evaluate_files("[evaluation]\nalpha = nan\n").stderr(&["exp.toml", "alpha"]),
        case("absurd bootstrap")
            .evaluate()
            .evaluate_files("[evaluation]\nbootstrap = 1000000000000\n")
            .stderr(&["exp.toml", "bootstrap must be between 10 and 100000"]),
        case("no baseline predictor")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("{}{SMALL}", EXPERIMENT.replace("kind = \"population\"", "kind = \"cell\"")))
            .stderr(&["exp.toml", "exactly one [[predictor]]"]),
        case("negative l2")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("{EXPERIMENT}l2 = -1.0\n{SMALL}"))
            .stderr(&["exp.toml", "\"profile\": l2 must be positive"]),
        case("ordinal that is not an item")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("{}{SMALL}", EXPERIMENT.replace("ordinal = [\"q1\"]", "ordinal = [\"q3\"]")))
            .stderr(&["exp.toml", "ordinal \"q3\""]),
        case("the responses file is missing")
            .evaluate()
            .file("exp.toml", format!("{EXPERIMENT}{SMALL}"))
            .stderr(&["cannot read resp.csv"]),
    ]);
}

#[test]
fn response_files() {
    run_all(vec![
        case("semicolon responses")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses().replace(',', ";"))
            .stderr(&["error: resp.csv, line 1, column \"id\"", "comma"]),
        case("responses with a byte-order mark")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", format!("\u{feff}{}", responses()))
            .code(OK)
            .writes(&["evaluation.json", "summary.md"]),
        case("Latin-1 answer")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", [responses_with(3, "p1,old,m,2,").as_bytes(), b"p99,old,m,2,\xe9\n"].concat())
            .stderr(&["resp.csv, line 26, column \"q2\"", "UTF-8"]),
        case("ragged responses row")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses_with(4, "p2,young,m,3"))
            .stderr(&["resp.csv, line 4", "4 fields", "header has 5"]),
        case("duplicate person id")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses_with(5, "p1,old,m,3,a"))
            .stderr(&["resp.csv, line 5, column \"id\"", "\"p1\" appears twice"]),
        case("empty person id")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses_with(6, ",old,m,3,a"))
            .stderr(&["resp.csv, line 6, column \"id\"", "empty"]),
        case("missing profile value, left out by default")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses_with(7, "p5,NA,m,3,a"))
            .code(OK)
            .stderr(&["warning: resp.csv: 1 record with missing values left out (age 1)"])
            .writes(&["evaluation.json", "summary.md"]),
        case("missing profile value under profile_missing = error")
            .evaluate()
            .evaluate_files(SMALL)
            .file(
                "exp.toml",
                format!("{}{SMALL}", EXPERIMENT.replace("ordinal", "profile_missing = \"error\"\nordinal")),
            )
            .file("resp.csv", responses_with(7, "p5,,m,3,a"))
            .stderr(&["resp.csv, line 7, column \"age\"", "profile attribute is missing (\"\")"]),
        case("every answer to an item missing")
            .evaluate()
            .evaluate_files(SMALL)
            .file(
                "resp.csv",
                responses()
                    .lines()
                    .map(|l| l.rsplit_once(',').unwrap().0.to_string() + ",\n")
                    .collect::<String>()
                    .replacen("id,age,sex,q1,", "id,age,sex,q1,q2", 1),
            )
            .stderr(&["resp.csv, column \"q2\"", "every answer to the item is missing"]),
        case("one answer to every person")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses().replace(",b\n", ",a\n"))
            .stderr(&["resp.csv, column \"q2\"", "every answer to the item is \"a\""]),
        case("a profile attribute with one level is a warning")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses().replace(",f,", ",m,"))
            .code(OK)
            .stderr(&["warning: resp.csv: profile attribute \"sex\" has a single level (\"m\")"])
            .writes(&["evaluation.json", "summary.md"]),
        case("empty responses file")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", "")
            .stderr(&["error: resp.csv", "empty"]),
        case("responses header only")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", "id,age,sex,q1,q2\n")
            .stderr(&["error: resp.csv", "no persons"]),
        case("too few persons for the folds")
            .evaluate()
            .evaluate_files("[evaluation]\nfolds = 13\nbootstrap = 10\n")
            .stderr(&["resp.csv", "24 persons are too few for 13 folds"]),
        case("unknown group column")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("{EXPERIMENT}[population]\ngroups = [\"region\"]\n{SMALL}"))
            .stderr(&["resp.csv, line 1, column \"region\"", "unknown group column"]),
    ]);
}

#[test]
fn comparison_tables() {
    let truth = "age,sex\nyoung,f\nyoung,m\nold,f\nold,m\n";
    run_all(vec![
        case("pool count 1e308")
            .compare()
            .file("truth.csv", truth)
            .file("pool.csv", "age,sex,count\nyoung,f,1e308\nold,m,1\n")
            .stderr(&["pool.csv, line 2, column \"count\"", "too large"]),
        case("Latin-1 truth")
            .compare()
            .file("truth.csv", b"age,sex\nyoung,f\n\xe9t\xe9,m\n")
            .file("pool.csv", truth)
            .stderr(&["truth.csv, line 3, column \"age\"", "UTF-8"]),
        case("semicolon pool")
            .compare()
            .file("truth.csv", truth)
            .file("pool.csv", truth.replace(',', ";"))
            .stderr(&["pool.csv"]),
        case("empty pool")
            .compare()
            .file("truth.csv", truth)
            .file("pool.csv", "")
            .stderr(&["error: pool.csv", "empty"]),
    ]);
}

/// A fit spec binning the seed's numeric `years` into the age margin's `young` and `old`.
const SPEC_BINNED: &str = "[attributes.age]\nfrom = \"years\"\nbreaks = [0, 40]\nlabels = [\"young\", \"old\"]\n\
                           [seed]\nfile = \"seed.csv\"\n[[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";

#[test]
fn binned_columns() {
    let seed = "id,years,sex\nr1,23,f\nr2,31,m\nr3,70,f\nr4,45.5,m\n";
    let fit = |name| case(name).fit().fit_files("").file("spec.toml", SPEC_BINNED).file("seed.csv", seed);
    let truth = "years,sex\n23,f\n31,m\n70,f\n45,m\n";
    let compare = |name| {
        case(name)
            .args(&["compare", "--truth", "truth.csv", "pool.csv", "--bins", "spec.toml", "--quiet"])
            .file("spec.toml", SPEC_BINNED)
            .file("truth.csv", truth)
            .file("pool.csv", "age,sex\nyoung,f\nold,m\n")
    };
    run_all(vec![
        fit("a numeric seed binned").code(OK).writes(&["joint.csv"]),
        fit("a seed value that is not a number")
            .file("seed.csv", seed.replace("31", "thirty-one"))
            .stderr(&["seed.csv, line 3, column \"years\"", "\"thirty-one\" is not a number"]),
        fit("a seed value below the first break")
            .file("seed.csv", seed.replace("70", "-1"))
            .stderr(&["seed.csv, line 4, column \"years\"", "-1 is below the first break (0) of age"]),
        fit("an infinite seed value")
            .file("seed.csv", seed.replace("70", "inf"))
            .stderr(&["seed.csv, line 4, column \"years\"", "not a finite number"]),
        fit("a missing seed value is dropped, not binned")
            .file("seed.csv", seed.replace("70", "NA"))
            .code(OK)
            .writes(&["joint.csv"])
            .stderr(&["seed.csv: 1 record with missing values left out (age 1)"]),
        fit("a seed with the column and the attribute")
            .file("seed.csv", "id,years,age,sex\nr1,23,young,f\n")
            .stderr(&["seed.csv, line 1", "has both \"years\" and \"age\""]),
        fit("a seed without the column")
            .file("seed.csv", "id,sex\nr1,f\n")
            .stderr(&["seed.csv, line 1", "missing column \"years\" to bin into age"]),
        fit("bins that overlap").file("spec.toml", SPEC_BINNED.replace("[0, 40]", "[40, 0]")).stderr(&[
            "spec.toml",
            "breaks must increase",
            "found 0 after 40: the bins would overlap",
        ]),
        fit("bins that repeat a break")
            .file("spec.toml", SPEC_BINNED.replace("[0, 40]", "[0, 0]"))
            .stderr(&["spec.toml", "found 0 after 0"]),
        fit("fewer labels than bins")
            .file("spec.toml", SPEC_BINNED.replace("[\"young\", \"old\"]", "[\"young\"]"))
            .stderr(&["spec.toml", "2 breaks make 2 bins", "need 2 labels, found 1"]),
        fit("a label the margin lacks")
            .file("spec.toml", SPEC_BINNED.replace("\"old\"]", "\"older\"]"))
            .stderr(&["age.csv, line 3, column \"age\"", "category \"old\" is not among the declared categories"]),
        fit("a label read as missing")
            .file("spec.toml", SPEC_BINNED.replace("\"old\"]", "\"NA\"]"))
            .stderr(&["spec.toml", "category \"NA\", which is read as missing"]),
        fit("a misspelt key")
            .file("spec.toml", SPEC_BINNED.replace("breaks", "brakes"))
            .stderr(&["spec.toml, line 1", "unknown field `brakes`"]),
        fit("an attribute that is a number").file("spec.toml", format!("[attributes]\nage = 3\n{SPEC}")).stderr(&[
            "spec.toml",
            "list of categories or a table",
            "found integer",
        ]),
        compare("a truth binned for compare").code(OK),
        compare("a truth value that is not a number")
            .file("truth.csv", truth.replace("45", "old"))
            .stderr(&["truth.csv, line 5, column \"years\"", "\"old\" is not a number"]),
        case("an experiment spec declaring categories")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("[attributes]\nsex = [\"f\", \"m\"]\n{EXPERIMENT}{SMALL}"))
            .stderr(&["exp.toml", "[attributes] sex: an experiment spec declares binned attributes only"]),
        case("a response value that is not a number")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", format!("[attributes.age]\nfrom = \"age\"\nbreaks = [0]\n{EXPERIMENT}{SMALL}"))
            .stderr(&["resp.csv, line 2, column \"age\"", "\"young\" is not a number, so age cannot bin it"]),
        compare("a spec without bins for compare")
            .file("spec.toml", SPEC)
            .stderr(&["spec.toml", "declares no binned attribute"]),
    ]);
}

#[test]
fn missing_tokens_in_every_position() {
    run_all(vec![
        case("a seed weight NA")
            .fit()
            .fit_files("")
            .file("seed.csv", SEED.replace("f,3", "f,NA"))
            .stderr(&["seed.csv, line 4, column \"weight\"", "weight is missing (\"NA\")"]),
        case("a seed id NULL")
            .fit()
            .fit_files("[fit]\nmethod = \"rake\"\n")
            .file("seed.csv", SEED.replace("r2", "NULL"))
            .stderr(&["seed.csv, line 3, column \"id\"", "NULL"]),
        case("a seed attribute N/A under missing = error")
            .fit()
            .fit_files("")
            .file("spec.toml", SPEC_SEED.replace("id = \"id\"\n", "id = \"id\"\nmissing = \"error\"\n"))
            .file("seed.csv", SEED.replace("r3,old", "r3,N/A"))
            .stderr(&["seed.csv, line 4, column \"age\"", "missing value (\"N/A\")"]),
        case("a margin category .")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,60\n.,40\n")
            .stderr(&["age.csv, line 3, column \"age\"", "missing"]),
        case("a margin count NaN")
            .fit()
            .fit_files("")
            .file("age.csv", "age,count\nyoung,60\nold,NaN\n")
            .stderr(&["age.csv, line 3, column \"count\"", "count is missing (\"NaN\")"]),
        case("a wide margin count NA")
            .fit()
            .fit_files("")
            .file("spec.toml", WIDE_SPEC)
            .file("age.csv", "young,old,other\n60,NA,x\n")
            .stderr(&["age.csv, line 2, column \"old\"", "count is missing (\"NA\")"]),
        case("a truth value NA is a category")
            .args(&["compare", "--truth", "truth.csv", "pool.csv"])
            .file("truth.csv", "age,sex\nyoung,f\nNA,m\n")
            .file("pool.csv", "age,sex\nyoung,f\nold,m\n")
            .code(OK)
            .stderr(&["truth.csv: missing values kept as the category \"missing\" (age 1)"]),
        case("a response id NA")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", responses_with(3, "NA,old,m,2,1"))
            .stderr(&["resp.csv, line 3, column \"id\"", "NA"]),
    ]);
}

#[test]
fn every_problem_at_once() {
    // 25 bad records: the first 20 by line are shown, with the count
    let mut seed = String::from("id,age,sex,weight\n");
    for i in 0..40 {
        let age = if i % 2 == 1 && i < 50 { "middle" } else { "young" };
        let weight = if i == 4 { "heavy" } else { "1" };
        seed.push_str(&format!("r{i},{age},f,{weight}\n"));
    }
    seed.push_str("r0,old,m,1\nr41,old,m\n");
    let margin = "age,sex,count\nyoung,f,1\nold,x,NA\nyoung,f,2\nold,m\nold,m,1\n";
    let truth = "age,count\nyoung,1\nold,-1\nold,x\n";
    let strict = format!("{}{SMALL}", EXPERIMENT.replace("ordinal", "profile_missing = \"error\"\nordinal"));
    // a ragged row (4), a repeated id (5), an empty id (6), a missing age (7) and Latin-1 (26)
    let responses_bad = responses_with(4, "p2,young,m,3")
        .replacen("p3,old,f,2,a\n", "p1,old,f,2,a\n", 1)
        .replacen("p4,young,m,3,a\n", ",young,m,3,a\n", 1)
        .replacen("p5,old,m,3,b\n", "p5,,m,3,b\n", 1);
    run_all(vec![
        case("responses with 5 problems")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", &strict)
            .file("resp.csv", [responses_bad.as_bytes(), b"p99,old,m,2,\xe9\n"].concat())
            .stderr(&[
                "error: resp.csv: 5 problems:\n  resp.csv, line 4: the row has 4 fields",
                "\n  resp.csv, line 5, column \"id\": person id \"p1\" appears twice (first on line 3)\n  \
                 resp.csv, line 6, column \"id\": the person id is empty\n  \
                 resp.csv, line 7, column \"age\": the profile attribute is missing (\"\")",
                "\n  resp.csv, line 26, column \"q2\": value \"\u{fffd}\" is not valid UTF-8",
            ]),
        case("responses whose 24 persons all lack an age")
            .evaluate()
            .evaluate_files(SMALL)
            .file("exp.toml", &strict)
            .file("resp.csv", responses().replace(",young,", ",,").replace(",old,", ",,"))
            .stderr(&[
                "error: resp.csv: 24 problems; the first 20:\n  resp.csv, line 2, column \"age\"",
                "\n  resp.csv, line 21, column \"age\": the profile attribute is missing (\"\")",
            ]),
        case("a seed with 23 problems").fit().fit_files("").file("seed.csv", &seed).stderr(&[
            "error: seed.csv: 23 problems; the first 20:\n  seed.csv, line 3, column \"age\": category \"middle\"",
            "seed.csv, line 6, column \"weight\": weight is not a number: \"heavy\"",
            "seed.csv, line 39, column \"age\"",
        ]),
        case("a seed whose duplicate id and ragged row follow the bad categories")
            .fit()
            .fit_files("")
            .file("seed.csv", seed.replace("middle", "young"))
            .stderr(&[
                "error: seed.csv: 3 problems:\n",
                "seed.csv, line 6, column \"weight\"",
                "seed.csv, line 42, column \"id\": record id \"r0\" appears twice (first on line 2)",
                "seed.csv, line 43: the row has 3 fields",
            ]),
        case("a margin with 4 problems")
            .fit()
            .fit_files("")
            .file("spec.toml", "[[margin]]\nfile = \"age.csv\"\n")
            .file("age.csv", margin)
            .stderr(&[
                "error: age.csv: 3 problems:\n",
                "age.csv, line 3, column \"count\": count is missing (\"NA\")",
                "age.csv, line 4: duplicate cell (age=young, sex=f): it already appears on line 2",
                "age.csv, line 5: the row has 2 fields",
            ]),
        case("a truth with 2 problems").compare().file("truth.csv", truth).file("pool.csv", AGE).stderr(&[
            "error: truth.csv: 2 problems:\n",
            "truth.csv, line 3, column \"count\": count is negative",
            "truth.csv, line 4, column \"count\": count is not a number",
        ]),
    ]);
}

/// A fit spec whose age margin is wide: columns `young` and `old` of `age.csv`.
const WIDE_SPEC: &str = "[[margin]]\nfile = \"age.csv\"\nlayout = \"wide\"\nattribute = \"age\"\n\
                         columns = { young = \"young\", old = \"old\" }\n[[margin]]\nfile = \"sex.csv\"\n";

#[test]
fn wide_margins() {
    let wide = |name| case(name).fit().fit_files("").file("spec.toml", WIDE_SPEC);
    run_all(vec![
        wide("a wide margin with columns it does not use")
            .file("age.csv", "young,old,HHSIZE9\n60,40,7\n")
            .code(OK)
            .writes(&["joint.csv"]),
        wide("a wide margin lacking a named column").file("age.csv", "young,elderly\n60,40\n").stderr(&[
            "age.csv, line 1",
            "missing category column \"old\"",
            "\"young\", \"elderly\"",
        ]),
        wide("a wide margin with two rows and no zones")
            .file("age.csv", "young,old\n60,40\n60,40\n")
            .stderr(&["age.csv, line 3", "one row: a first one is on line 2"]),
        wide("a wide margin naming a category twice")
            .file("spec.toml", WIDE_SPEC.replace("old = \"old\"", "old = \"young\""))
            .file("age.csv", "young,old\n60,40\n")
            .stderr(&["age.csv, line 1, column \"old\"", "category \"young\" is named by two columns"]),
        wide("a wide margin count that is text")
            .file("age.csv", "young,old\n60,forty\n")
            .stderr(&["age.csv, line 2, column \"old\"", "count is not a number: \"forty\""]),
        wide("a wide margin without attribute")
            .file("spec.toml", WIDE_SPEC.replace("attribute = \"age\"\n", ""))
            .file("age.csv", "young,old\n60,40\n")
            .stderr(&["spec.toml", "layout = \"wide\" needs attribute"]),
    ]);
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_files() {
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, Float64Array, ListArray, RecordBatch, StringArray};

    /// A Parquet file of `columns`.
    fn parquet(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut bytes = Vec::new();
        let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes
    }
    let text = |values: &[&str]| -> ArrayRef { Arc::new(StringArray::from(values.to_vec())) };
    let numbers = |values: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(values)) };
    let age = |counts: Vec<Option<f64>>| parquet(vec![("age", text(&["young", "old"])), ("count", numbers(counts))]);
    let seed = |weights: Vec<Option<f64>>| {
        parquet(vec![
            ("id", text(&["r1", "r2", "r3", "r4"])),
            ("age", text(&["young", "young", "old", "old"])),
            ("sex", text(&["f", "m", "f", "m"])),
            ("weight", numbers(weights)),
        ])
    };
    let good = age(vec![Some(60.0), Some(40.0)]);
    let truth = "age,sex\nyoung,f\nyoung,m\nold,f\nold,m\n";
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)]), None]);
    run_all(vec![
        case("Parquet margin and seed")
            .fit()
            .fit_files("")
            .file("age.csv", &good)
            .file("seed.csv", seed(vec![Some(1.0), Some(2.0), Some(3.0), Some(1.0)]))
            .code(OK)
            .writes(&["joint.csv", "report.json"]),
        case("truncated Parquet margin")
            .fit()
            .fit_files("")
            .file("age.csv", &good[..good.len() / 2])
            .stderr(&["error: age.csv", "malformed Parquet"]),
        case("garbage after PAR1 in the seed")
            .fit()
            .fit_files("")
            .file("seed.csv", "PAR1id,age,sex,weight\n")
            .stderr(&["error: seed.csv", "malformed Parquet"]),
        case("negative Parquet count")
            .fit()
            .fit_files("")
            .file("age.csv", age(vec![Some(60.0), Some(-40.0)]))
            .stderr(&["age.csv, row 2, column \"count\"", "negative"]),
        case("null Parquet seed weight")
            .fit()
            .fit_files("")
            .file("seed.csv", seed(vec![Some(1.0), Some(2.0), None, Some(1.0)]))
            .stderr(&["seed.csv, row 3, column \"weight\"", "missing"]),
        case("CSV named .parquet")
            .args(&["compare", "--truth", "truth.csv", "pool.parquet", "--quiet"])
            .file("truth.csv", truth)
            .file("pool.parquet", truth)
            .stderr(&["error: pool.parquet", "not Parquet"]),
        case("Parquet pool with a list column")
            .compare()
            .file("truth.csv", truth)
            .file("pool.csv", parquet(vec![("age", text(&["young", "old"])), ("kids", Arc::new(list))]))
            .stderr(&["pool.csv, column \"kids\"", "List"]),
        case("Parquet pool count NaN")
            .compare()
            .file("truth.csv", truth)
            .file(
                "pool.csv",
                parquet(vec![("age", text(&["young", "old"])), ("count", numbers(vec![Some(1.0), Some(f64::NAN)]))]),
            )
            .stderr(&["pool.csv, row 2, column \"count\"", "NaN"]),
        // found by fuzz/parquet_inputs: the parquet crate's metadata decoder unwraps a None
        case("Parquet seed whose metadata makes the reader panic")
            .fit()
            .fit_files("")
            .file("seed.csv", include_bytes!("fixtures/parquet/metadata_panic.parquet").as_slice())
            .stderr(&["error: seed.csv", "malformed Parquet: the reader failed on it"]),
        case("truncated Parquet responses")
            .evaluate()
            .evaluate_files(SMALL)
            .file("resp.csv", &good[..good.len() - 5])
            .stderr(&["error: resp.csv", "malformed Parquet"]),
    ]);
}

/// A spec declaring 9 attributes of 2^8 categories each: 2^72 cells.
fn huge_domain_spec() -> String {
    let mut spec = String::from("[attributes]\n");
    for a in 0..9 {
        let categories: Vec<String> = (0..256).map(|c| format!("\"c{c}\"")).collect();
        spec.push_str(&format!("a{a} = [{}]\n", categories.join(", ")));
    }
    spec.push_str("[seed]\nfile = \"seed.csv\"\n");
    spec + SPEC
}

/// `text` as UTF-16 little-endian with a byte-order mark.
fn utf16le(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}
