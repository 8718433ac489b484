//! Every bad input to `populace fit` gets the documented exit code and a message naming the
//! file, line, column and offending value; nothing is written for input errors, nothing panics.
//!
//! Each test builds its own tiny files in a temporary folder and runs
//! `populace fit spec.toml --out <dir>/out` from inside that folder, so messages name the
//! files exactly as the spec does (`age.csv`, not an absolute path).

mod common;

use std::path::{Path, PathBuf};

use common::{folder, Outcome};
use common::{BAD_INPUT, FAILURE, INFEASIBLE, NOT_CONVERGED, OK, USAGE};

/// What this file checks of a run of `populace fit`, beyond [`Outcome::assert_code`] and
/// [`Outcome::stderr_has`].
impl Outcome {
    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn joint(&self) -> PathBuf {
        self.out().join("joint.csv")
    }

    fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.out().join("report.json")).expect("report.json written");
        serde_json::from_str(&text).expect("report.json is JSON")
    }

    /// Exit code, empty stdout, no panic, and nothing under the out folder.
    fn assert_input_error(&self, code: i32) -> &Self {
        self.assert_code(code);
        assert!(self.stdout.is_empty(), "stdout should be empty, got:\n{}", self.stdout);
        assert!(self.stderr.starts_with("error: "), "stderr should start with \"error: \", got:\n{}", self.stderr);
        assert!(!self.joint().exists(), "joint.csv must not be written for an input error");
        assert!(!self.out().join("report.json").exists(), "report.json must not be written for an input error");
        if self.out().exists() {
            let entries: Vec<_> = std::fs::read_dir(self.out()).unwrap().collect();
            assert!(entries.is_empty(), "out folder should be empty, has {entries:?}");
        }
        self
    }

    /// stderr names `file`, line and column in the documented form.
    fn at(&self, file: &str, line: u64, column: &str) -> &Self {
        self.stderr_has(&[&format!("error: {file}, line {line}, column \"{column}\": ")])
    }

    /// stderr names `file` and line (no column) in the documented form.
    fn at_line(&self, file: &str, line: u64) -> &Self {
        self.stderr_has(&[&format!("error: {file}, line {line}")])
    }
}

/// Runs `populace fit spec.toml --out <dir>/out EXTRA` in a folder holding `files` (bytes).
fn fit_bytes(files: &[(&str, &[u8])], extra: &[&str]) -> Outcome {
    let dir = folder(files);
    let out = dir.path().join("out").display().to_string();
    let mut args = vec!["fit", "spec.toml", "--out", &out];
    args.extend_from_slice(extra);
    Outcome::run(dir, &args)
}

/// Runs `populace fit spec.toml --out <dir>/out EXTRA` in a folder holding `files` (text).
fn fit(files: &[(&str, &str)], extra: &[&str]) -> Outcome {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
    fit_bytes(&files, extra)
}

const SPEC_AGE_SEX: &str = "[[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";
const SPEC_AGE_SEX_SEED: &str =
    "[seed]\nfile = \"seed.csv\"\nweight = \"weight\"\n[[margin]]\nfile = \"age.csv\"\n[[margin]]\nfile = \"sex.csv\"\n";
const AGE: &str = "age,count\nyoung,60\nold,40\n";
const SEX: &str = "sex,count\nf,50\nm,50\n";
const SEED: &str = "age,sex,weight\nyoung,f,1\nyoung,m,2\nold,f,3\nold,m,1\n";

/// A spec with one margin, `age.csv`, holding `age` (to test margin parsing in isolation).
fn one_margin(age: &str) -> Outcome {
    fit(&[("spec.toml", "[[margin]]\nfile = \"age.csv\"\n"), ("age.csv", age)], &[])
}

#[test]
fn valid_problem_fits() {
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", SEED)], &[]);
    o.assert_code(OK);
    assert!(o.joint().exists());
    assert_eq!(o.report()["converged"], true);
}

// ---------------------------------------------------------------- columns

#[test]
fn missing_count_column() {
    let o = one_margin("age,n\nyoung,60\nold,40\n");
    o.assert_input_error(BAD_INPUT).at_line("age.csv", 1).stderr_has(&["\"count\"", "\"age\", \"n\""]);
}

#[test]
fn missing_attribute_column_in_seed() {
    let seed = "age,weight\nyoung,1\nold,1\n";
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_input_error(BAD_INPUT).at_line("seed.csv", 1).stderr_has(&["attribute", "\"sex\""]);
}

#[test]
fn missing_weight_column_named_in_spec() {
    let seed = "age,sex,wt\nyoung,f,1\nold,m,1\n";
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_input_error(BAD_INPUT).at_line("seed.csv", 1).stderr_has(&["weight", "\"weight\""]);
}

// ---------------------------------------------------------------- counts

#[test]
fn non_numeric_count() {
    let o = one_margin("age,count\nyoung,60\nold,forty\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 3, "count").stderr_has(&["\"forty\"", "not a number"]);
}

#[test]
fn negative_count() {
    let o = one_margin("age,count\nyoung,60\nold,-4\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 3, "count").stderr_has(&["\"-4\"", "negative"]);
}

#[test]
fn nan_count() {
    let o = one_margin("age,count\nyoung,NaN\nold,40\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 2, "count").stderr_has(&["\"NaN\"", "NaN"]);
}

#[test]
fn infinite_count() {
    let o = one_margin("age,count\nyoung,60\nold,inf\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 3, "count").stderr_has(&["\"inf\"", "infinite"]);
}

#[test]
fn empty_count() {
    let o = one_margin("age,count\nyoung,\nold,40\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 2, "count").stderr_has(&["\"\"", "missing"]);
}

#[test]
fn duplicate_cell() {
    let o = one_margin("age,count\nyoung,60\nyoung,10\nold,40\n");
    o.assert_input_error(BAD_INPUT).at_line("age.csv", 3).stderr_has(&["duplicate", "age=young", "line 2"]);
}

// ---------------------------------------------------------------- file structure

#[test]
fn empty_margin_file() {
    let o = one_margin("");
    o.assert_input_error(BAD_INPUT).stderr_has(&["error: age.csv", "empty"]);
}

#[test]
fn header_only_margin() {
    let o = one_margin("age,count\n");
    o.assert_input_error(BAD_INPUT).stderr_has(&["error: age.csv", "no rows"]);
}

#[test]
fn ragged_row() {
    let o = one_margin("age,count\nyoung,60\nold,40,7\n");
    o.assert_input_error(BAD_INPUT).at_line("age.csv", 3).stderr_has(&["3 fields", "header has 2"]);
}

#[test]
fn semicolon_delimited_file() {
    let o = one_margin("age;count\nyoung;60\nold;40\n");
    o.assert_input_error(BAD_INPUT).at_line("age.csv", 1).stderr_has(&["\"age;count\"", "delimit", "comma"]);
}

#[test]
fn non_utf8_byte_in_value() {
    let o = fit_bytes(
        &[("spec.toml", b"[[margin]]\nfile = \"age.csv\"\n"), ("age.csv", b"age,count\nyoung,60\ncaf\xe9,40\n")],
        &[],
    );
    o.assert_input_error(BAD_INPUT).at("age.csv", 3, "age").stderr_has(&["\"caf", "UTF-8"]);
}

#[test]
fn utf8_bom_on_header_is_accepted() {
    let age = format!("\u{feff}{AGE}");
    let seed = format!("\u{feff}{SEED}");
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", &age), ("sex.csv", SEX), ("seed.csv", &seed)], &[]);
    o.assert_code(OK);
    let joint = std::fs::read_to_string(o.joint()).unwrap();
    assert!(joint.starts_with("age,sex,count\n"), "joint.csv header: {joint:?}");
}

/// With declared categories, a quoted value spanning two lines is an unknown category,
/// reported at the line where its record starts, with the newline escaped.
#[test]
fn quoted_field_with_embedded_newline_is_unknown_declared_category() {
    let spec = "[attributes]\nage = [\"young\", \"old\"]\n[[margin]]\nfile = \"age.csv\"\n";
    let o = fit(&[("spec.toml", spec), ("age.csv", "age,count\nyoung,60\n\"old\nx\",40\n")], &[]);
    o.assert_input_error(BAD_INPUT).at("age.csv", 3, "age").stderr_has(&["\"old\\nx\"", "young, old"]);
}

/// Without declared categories, a quoted multi-line category is accepted consistently: the seed
/// matches it, and joint.csv writes it back quoted.
#[test]
fn quoted_field_with_embedded_newline_is_accepted_consistently_when_undeclared() {
    let age = "age,count\n\"young\nadult\",60\nold,40\n";
    let seed = "age,sex,weight\n\"young\nadult\",f,1\n\"young\nadult\",m,2\nold,f,3\nold,m,1\n";
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", age), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_code(OK);
    let joint = std::fs::read_to_string(o.joint()).unwrap();
    assert!(joint.contains("\"young\nadult\",f,"), "joint.csv: {joint:?}");
}

/// Line numbers are physical lines: a record after a multi-line record is reported at its own line.
#[test]
fn line_numbers_count_physical_lines_after_embedded_newline() {
    let o = one_margin("age,count\n\"young\nadult\",60\nold,x\n");
    o.assert_input_error(BAD_INPUT).at("age.csv", 4, "count").stderr_has(&["\"x\""]);
}

// ---------------------------------------------------------------- consistency

#[test]
fn margin_totals_disagree() {
    let o = fit(&[("spec.toml", SPEC_AGE_SEX), ("age.csv", AGE), ("sex.csv", "sex,count\nf,60\nm,50\n")], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["age.csv", "sex.csv", "100", "110", "--rescale"]);
}

#[test]
fn margin_totals_disagree_with_rescale() {
    let o =
        fit(&[("spec.toml", SPEC_AGE_SEX), ("age.csv", AGE), ("sex.csv", "sex,count\nf,60\nm,50\n")], &["--rescale"]);
    o.assert_code(OK).stderr_has(&["warning:", "rescaled", "sex.csv"]);
    assert!(o.joint().exists());
    assert_eq!(o.report()["converged"], true);
}

#[test]
fn overlapping_margins_disagree_on_shared_sub_margin() {
    let spec = "[[margin]]\nfile = \"age_region.csv\"\n[[margin]]\nfile = \"sex_region.csv\"\n";
    let age_region = "age,region,count\nyoung,x,25\nyoung,y,15\nyoung,z,10\nold,x,25\nold,y,15\nold,z,10\n";
    let sex_region = "sex,region,count\nf,x,20\nf,y,17.5\nf,z,12.5\nm,x,20\nm,y,17.5\nm,z,12.5\n";
    let o = fit(&[("spec.toml", spec), ("age_region.csv", age_region), ("sex_region.csv", sex_region)], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["age_region.csv", "sex_region.csv", "region=x", "50", "40"]);
}

#[test]
fn positive_target_with_zero_seed_support() {
    let seed = "age,sex,weight\nyoung,f,1\nyoung,m,2\nold,f,0\nold,m,0\n";
    // by default the sampling zero is filled from the margins, and said so
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_code(OK).stderr_has(&["zero_cells = \"fill\"", "(age=old) of age.csv"]);
    assert_eq!(o.report()["zero_cells"]["filled"][0]["cell"], "age=old");
    // with zero_cells = "error" it is refused
    let spec = format!("{SPEC_AGE_SEX_SEED}\n[fit]\nzero_cells = \"error\"\n");
    let o = fit(&[("spec.toml", spec.as_str()), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_code(INFEASIBLE).stderr_has(&["age.csv", "age=old", "40"]);
    // No joint; the report says why instead.
    assert!(!o.joint().exists());
    assert_eq!(o.report()["status"], "infeasible");
    assert!(o.report()["reason"].as_str().unwrap().contains("age=old"));
}

#[test]
fn category_not_in_declared_attributes() {
    let spec = "[attributes]\nsex = [\"female\", \"male\"]\n[[margin]]\nfile = \"sex.csv\"\n";
    let o = fit(&[("spec.toml", spec), ("sex.csv", "sex,count\nfemale,50\nother,3\nmale,47\n")], &[]);
    o.assert_input_error(BAD_INPUT).at("sex.csv", 3, "sex").stderr_has(&["\"other\"", "female, male"]);
}

#[test]
fn seed_category_in_no_margin() {
    let seed = "age,sex,weight\nyoung,f,1\nmiddle,m,2\nold,f,3\n";
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_input_error(BAD_INPUT).at("seed.csv", 3, "age").stderr_has(&["\"middle\"", "no margin", "young, old"]);
}

#[test]
fn dense_table_too_large() {
    let spec = format!("{SPEC_AGE_SEX}[fit]\nmax_cells = 10\n");
    let age = "age,count\na,25\nb,25\nc,25\nd,25\n";
    let sex = "sex,count\nf,40\nm,40\nx,20\n";
    let o = fit(&[("spec.toml", &spec), ("age.csv", age), ("sex.csv", sex)], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["12 cells", "max_cells = 10", "fewer attributes"]);
}

#[test]
fn negative_seed_weight() {
    let seed = "age,sex,weight\nyoung,f,1\nyoung,m,-2\nold,f,3\nold,m,1\n";
    let o = fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_input_error(BAD_INPUT).at("seed.csv", 3, "weight").stderr_has(&["\"-2\"", "negative"]);
}

// ---------------------------------------------------------------- the spec

#[test]
fn spec_with_unknown_field() {
    let spec = "[[margin]]\nfile = \"age.csv\"\ncolour = \"red\"\n";
    let o = fit(&[("spec.toml", spec), ("age.csv", AGE)], &[]);
    o.assert_input_error(BAD_INPUT).at_line("spec.toml", 3).stderr_has(&["colour"]);
}

#[test]
fn spec_with_wrong_method_name() {
    let spec = "[[margin]]\nfile = \"age.csv\"\n[fit]\nmethod = \"newton\"\n";
    let o = fit(&[("spec.toml", spec), ("age.csv", AGE)], &[]);
    o.assert_input_error(BAD_INPUT).at_line("spec.toml", 4).stderr_has(&["newton", "ipf"]);
}

#[test]
fn spec_with_no_margin() {
    let spec = "[fit]\nmethod = \"ipf\"\n";
    let o = fit(&[("spec.toml", spec), ("age.csv", AGE)], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["error: spec.toml", "[[margin]]"]);
}

#[test]
fn missing_spec_file() {
    let o = fit(&[("age.csv", AGE)], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["spec.toml"]);
}

#[test]
fn missing_margin_file_named_in_spec() {
    let o = fit(&[("spec.toml", SPEC_AGE_SEX), ("age.csv", AGE)], &[]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["sex.csv"]);
}

/// Paths in the spec resolve against the spec's folder, and messages name them that way.
#[test]
fn missing_margin_file_relative_to_spec_folder() {
    let dir = folder(&[("sub/spec.toml", SPEC_AGE_SEX), ("sub/age.csv", AGE)]);
    let out = dir.path().join("out").display().to_string();
    let o = Outcome::run(dir, &["fit", "sub/spec.toml", "--out", &out]);
    o.assert_input_error(BAD_INPUT).stderr_has(&["sub/sex.csv"]);
}

// ---------------------------------------------------------------- outcomes other than input errors

#[test]
fn not_converged() {
    // One sweep cannot fit this seed: after scaling to age then sex, age is 62.5/37.5, not 60/40.
    let seed = "age,sex,weight\nyoung,f,1\nyoung,m,1\nold,f,3\nold,m,1\n";
    let spec = format!("{SPEC_AGE_SEX_SEED}[fit]\nmax_iterations = 1\n");
    let o = fit(&[("spec.toml", &spec), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", seed)], &[]);
    o.assert_code(NOT_CONVERGED).stderr_has(&["not converged"]);
    assert!(o.joint().exists(), "joint.csv is still written");
    let report = o.report();
    assert_eq!(report["converged"], false);
    assert_eq!(report["iterations"], 1);
}

#[test]
fn usage_error_without_spec_argument() {
    let o = Outcome::run(folder::<&str>(&[]), &["fit"]);
    o.assert_code(USAGE);
    assert!(o.stdout.is_empty(), "stdout: {}", o.stdout);
    assert!(o.stderr.contains("<SPEC>"), "stderr: {}", o.stderr);
}

#[test]
fn json_prints_parseable_report() {
    let o =
        fit(&[("spec.toml", SPEC_AGE_SEX_SEED), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", SEED)], &["--json"]);
    o.assert_code(OK);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).expect("stdout is JSON");
    assert_eq!(report["converged"], true);
    assert_eq!(report["method"], "ipf");
    assert_eq!(report["margins"].as_array().map(Vec::len), Some(2));
    assert_eq!(report, o.report(), "stdout matches report.json");
}

#[test]
fn out_folder_cannot_be_created() {
    let dir =
        folder(&[("spec.toml", SPEC_AGE_SEX.as_bytes()), ("age.csv", AGE.as_bytes()), ("sex.csv", SEX.as_bytes())]);
    let blocked = dir.path().join("blocker");
    std::fs::write(&blocked, "a regular file").unwrap();
    let out = blocked.join("out").display().to_string();
    let o = Outcome::run(dir, &["fit", "spec.toml", "--out", &out]);
    o.assert_code(FAILURE).stderr_has(&["error: ", "blocker"]);
    assert!(o.stdout.is_empty(), "stdout: {}", o.stdout);
    assert!(Path::new(&out).parent().unwrap().is_file());
}

// ---- seed re-weighting methods and zones ----

/// `fit` with the age/sex margins, the seed, and `[fit]`/`[zones]` text appended to the spec.
fn fit_seed_spec(tail: &str) -> Outcome {
    let spec = format!("{SPEC_AGE_SEX_SEED}{tail}");
    fit(&[("spec.toml", &spec), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", SEED)], &[])
}

#[test]
fn logit_without_bounds() {
    fit_seed_spec("[fit]\nmethod = \"logit\"\n").assert_input_error(BAD_INPUT).stderr_has(&["spec.toml", "bounds"]);
}

#[test]
fn logit_bounds_that_exclude_one() {
    fit_seed_spec("[fit]\nmethod = \"logit\"\nbounds = [1.2, 3.0]\n").assert_input_error(BAD_INPUT).stderr_has(&[
        "spec.toml",
        "[1.2, 3]",
        "L < 1 < U",
    ]);
}

#[test]
fn bounds_with_a_method_other_than_logit() {
    fit_seed_spec("[fit]\nmethod = \"rake\"\nbounds = [0.5, 2.0]\n")
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["bounds apply to method = \"logit\" only"]);
}

#[test]
fn importance_with_a_method_other_than_entropy() {
    let spec = format!("{SPEC_AGE_SEX_SEED}importance = 10.0\n[fit]\nmethod = \"rake\"\n");
    fit(&[("spec.toml", &spec), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", SEED)], &[])
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["sex.csv", "importance"]);
}

#[test]
fn seed_method_without_a_seed() {
    let spec = format!("{SPEC_AGE_SEX}[fit]\nmethod = \"linear\"\n");
    fit(&[("spec.toml", &spec), ("age.csv", AGE), ("sex.csv", SEX)], &[])
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["[seed]"]);
}

#[test]
fn zones_with_ipf() {
    fit_seed_spec("[zones]\ncolumn = \"zone\"\n").assert_input_error(BAD_INPUT).stderr_has(&["[zones]", "ipf"]);
}

#[test]
fn zone_column_missing_from_a_margin() {
    fit_seed_spec("[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\n")
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["age.csv, line 1", "missing zone column \"zone\""]);
}

#[test]
fn empty_zone_value() {
    let spec = format!("{SPEC_AGE_SEX_SEED}[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\n");
    let age = "zone,age,count\na,young,60\n,old,40\n";
    let sex = "zone,sex,count\na,f,50\na,m,50\n";
    fit(&[("spec.toml", &spec), ("age.csv", age), ("sex.csv", sex), ("seed.csv", SEED)], &[])
        .assert_input_error(BAD_INPUT)
        .at("age.csv", 3, "zone")
        .stderr_has(&["empty zone"]);
}

#[test]
fn a_zone_absent_from_one_margin_has_no_total_there() {
    let spec = format!("{SPEC_AGE_SEX_SEED}[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\n");
    let age = "zone,age,count\na,young,60\na,old,40\nb,young,10\nb,old,10\n";
    let sex = "zone,sex,count\na,f,50\na,m,50\n";
    fit(&[("spec.toml", &spec), ("age.csv", age), ("sex.csv", sex), ("seed.csv", SEED)], &[])
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["sex.csv", "zone b"]);
}

#[test]
fn zone_map_without_seed_region() {
    fit_seed_spec("[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\nmap = \"map.csv\"\n")
        .assert_input_error(BAD_INPUT)
        .stderr_has(&["seed_region and map go together"]);
}

#[test]
fn a_zone_missing_from_the_region_map() {
    let spec = format!(
        "{SPEC_AGE_SEX_SEED}[fit]\nmethod = \"rake\"\n[zones]\ncolumn = \"zone\"\nseed_region = \"region\"\nmap = \"map.csv\"\n"
    );
    let age = "zone,age,count\na,young,60\na,old,40\nb,young,10\nb,old,10\n";
    let sex = "zone,sex,count\na,f,50\na,m,50\nb,f,10\nb,m,10\n";
    let seed = "age,sex,weight,region\nyoung,f,1,r\nyoung,m,2,r\nold,f,3,r\nold,m,1,r\n";
    fit(
        &[
            ("spec.toml", &spec),
            ("age.csv", age),
            ("sex.csv", sex),
            ("seed.csv", seed),
            ("map.csv", "zone,region\na,r\n"),
        ],
        &[],
    )
    .assert_input_error(BAD_INPUT)
    .stderr_has(&["map.csv", "zone \"b\" has margins but no row here"]);
}

#[test]
fn calibration_not_converged_still_writes_marked_weights() {
    // these targets need more than one raking sweep from this seed
    let spec = format!("{SPEC_AGE_SEX_SEED}[fit]\nmethod = \"rake\"\nmax_iterations = 1\n");
    let sex = "sex,count\nf,30\nm,70\n";
    let o = fit(&[("spec.toml", &spec), ("age.csv", AGE), ("sex.csv", sex), ("seed.csv", SEED)], &[]);
    o.assert_code(NOT_CONVERGED);
    assert!(o.out().join("weights.csv").exists());
    assert_eq!(o.report()["converged"], false);
    assert_eq!(o.report()["zones"][0]["converged"], false);
}
