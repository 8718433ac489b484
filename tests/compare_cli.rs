//! `populace compare` end to end: a pool identical to the truth scores zero everywhere; a pool
//! that shuffles one attribute keeps its 1-way margins but loses its associations; Cramér's V
//! and the impossible share on hand examples; count-table and weighted truths equal microdata;
//! the JSON and SVG outputs; and bad inputs fail cleanly with exit code 3 (2 for usage).
//!
//! Every test runs the binary inside its own temporary folder, so messages name files exactly
//! as given on the command line.

mod common;

use std::collections::HashMap;

use common::{folder, root, Outcome, BAD_INPUT, OK, USAGE};
use serde_json::Value;

/// The shipped 2,000-person ACS 2012 truth.
fn persons() -> String {
    let path = root().join("marginals/acs2012/persons.csv");
    std::fs::read_to_string(path).expect("marginals/acs2012/persons.csv")
}

/// What this file checks of a run of `populace compare`, beyond [`Outcome::assert_code`] and
/// [`Outcome::stderr_has`].
impl Outcome {
    fn json(&self) -> Value {
        self.assert_code(OK);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Exit 3, nothing on stdout, and an `error: ` line on stderr holding every needle.
    fn assert_bad_input(&self, needles: &[&str]) {
        self.assert_code(BAD_INPUT);
        assert!(self.stdout.is_empty(), "stdout should be empty, got:\n{}", self.stdout);
        assert!(self.stderr.starts_with("error: "), "stderr:\n{}", self.stderr);
        self.stderr_has(needles);
        assert!(!self.dir.path().join("plot.svg").exists(), "no plot may be written for bad input");
    }
}

/// Runs `populace compare ARGS` in a fresh folder holding `files`.
fn compare(files: &[(&str, &str)], args: &[&str]) -> Outcome {
    Outcome::run(folder(files), &[&["compare"], args].concat())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `persons.csv` with `attribute` permuted by the fixed permutation i → (7919 i + 13) mod n
/// (7919 is prime and does not divide 2000, so this is a bijection): every column keeps its
/// values, but the attribute no longer goes with the rest of the row.
fn shuffled(attribute: &str) -> String {
    let text = persons();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let column = header.split(',').position(|c| c == attribute).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let n = rows.len();
    let mut out = format!("{header}\n");
    for (i, row) in rows.iter().enumerate() {
        let mut row = row.clone();
        row[column] = rows[(7919 * i + 13) % n][column];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `persons.csv` as a count table over its seven attributes, cells in order of first appearance.
fn persons_counts() -> String {
    let text = persons();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut order: Vec<String> = Vec::new();
    let mut counts: HashMap<String, u32> = HashMap::new();
    for line in lines {
        let cell = line.split_once(',').unwrap().1.to_string(); // drop person_id
        if !counts.contains_key(&cell) {
            order.push(cell.clone());
        }
        *counts.entry(cell).or_default() += 1;
    }
    let mut out = format!("{},count\n", header[1..].join(","));
    for cell in order {
        out.push_str(&format!("{cell},{}\n", counts[&cell]));
    }
    out
}

#[test]
fn a_pool_identical_to_the_truth_scores_zero() {
    let truth = persons();
    let o = compare(&[("truth.csv", &truth), ("same.csv", &truth)], &["--truth", "truth.csv", "same.csv", "--json"]);
    let j = o.json();
    let names: Vec<&str> = j["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["age_group", "sex", "race", "education", "employment", "income_band", "married"]);
    assert_eq!(j["excluded"][0]["column"], "person_id");
    let pool = &j["pools"][0];
    assert_eq!(pool["name"], "same");
    assert_eq!(f(&pool["scale"]), 1.0);
    // 7 + 21 + 35 margins.
    assert_eq!(pool["margins"].as_array().unwrap().len(), 63);
    for m in pool["margins"].as_array().unwrap().iter().chain([&pool["joint"]]) {
        assert_eq!((f(&m["srmse"]), f(&m["tae"]), f(&m["hellinger"])), (0.0, 0.0, 0.0), "{m}");
    }
    assert_eq!(pool["joint"]["cells"], 10 * 2 * 4 * 2 * 4 * 5 * 2);
    for o in pool["orders"].as_array().unwrap() {
        assert_eq!((f(&o["mean_srmse"]), f(&o["max_srmse"])), (0.0, 0.0));
    }
    let pairs = pool["association"]["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 21);
    assert!(pairs.iter().all(|p| f(&p["change"]) == 0.0 && p["truth_v"] == p["pool_v"]));
    assert_eq!(f(&pool["association"]["mean_abs_change"]), 0.0);
    assert_eq!(f(&pool["impossible"]["share"]), 0.0);
    assert_eq!(f(&pool["impossible"]["persons"]), 0.0);
}

#[test]
fn shuffling_one_attribute_keeps_one_way_margins_but_breaks_its_associations() {
    let attribute = "income_band";
    let o = compare(
        &[("truth.csv", &persons()), ("shuffled.csv", &shuffled(attribute))],
        &["--truth", "truth.csv", "shuffled.csv", "--json"],
    );
    let j = o.json();
    let pool = &j["pools"][0];
    let order = |k: usize| &pool["orders"][k - 1];
    assert_eq!(order(1)["order"], 1);
    assert!(f(&order(1)["max_srmse"]) < 1e-12, "1-way: {}", order(1));
    assert!(f(&order(2)["mean_srmse"]) > 0.05, "2-way: {}", order(2));
    assert!(f(&order(3)["mean_srmse"]) > f(&order(2)["mean_srmse"]));
    for m in pool["margins"].as_array().unwrap() {
        let attributes: Vec<&str> = m["attributes"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        if !attributes.contains(&attribute) {
            assert_eq!(f(&m["srmse"]), 0.0, "a margin without {attribute} is untouched: {m}");
        } else if attributes.len() == 2 {
            assert!(f(&m["srmse"]) > 0.0, "{m}");
        }
    }
    let mut strong = 0;
    for p in pool["association"]["pairs"].as_array().unwrap() {
        let (truth_v, pool_v) = (f(&p["truth_v"]), f(&p["pool_v"]));
        if p["attributes"].as_array().unwrap().iter().any(|a| a == attribute) {
            // Any real association is lost; what is left is sampling noise.
            if truth_v > 0.1 {
                strong += 1;
                assert!(pool_v < truth_v / 2.0, "{p}");
            }
            assert!(pool_v < 0.1, "{p}");
        } else {
            assert_eq!(f(&p["change"]), 0.0, "{p}");
        }
    }
    assert!(strong >= 3, "income_band should be associated with several attributes in the truth");
    assert!(f(&pool["association"]["mean_abs_change"]) > 0.02);
    // Incomes moved to children: persons in cells the truth does not have.
    assert!(f(&pool["impossible"]["share"]) > 0.1);
}

#[test]
fn cramers_v_of_hand_examples_through_the_cli() {
    // Reference values from Python 3 (see src/comparison/association.rs for the snippet):
    // 2×2 [[20, 10], [5, 15]] → 0.408248290463863; 3×2 [[12, 3], [7, 9], [2, 11]] → 0.5181757728315843.
    let two = "a,b,count\nx,p,20\nx,q,10\ny,p,5\ny,q,15\n";
    let three = "a,b,count\nx,p,12\nx,q,3\ny,p,7\ny,q,9\nz,p,2\nz,q,11\n";
    for (table, expected) in [(two, 0.408248290463863), (three, 0.5181757728315843)] {
        let o = compare(&[("t.csv", table)], &["--truth", "t.csv", "t.csv", "--json"]);
        let pair = &o.json()["pools"][0]["association"]["pairs"][0];
        assert!((f(&pair["truth_v"]) - expected).abs() < 1e-12, "{pair}");
        assert_eq!(pair["truth_v"], pair["pool_v"]);
    }
}

#[test]
fn impossible_share_of_a_hand_example() {
    // The truth has no old students; the pool has 1 of its 4 persons there, and one "retired"
    // person, a category the truth lacks: 2 of 4 are impossible.
    let truth = "age,job,count\nyoung,student,10\nyoung,worker,5\nold,worker,5\nold,student,0\n";
    let pool = "person_id,age,job\n1,young,student\n2,old,student\n3,old,retired\n4,young,worker\n";
    let o = compare(&[("t.csv", truth), ("p.csv", pool)], &["--truth", "t.csv", "p.csv", "--json"]);
    let j = o.json();
    let impossible = &j["pools"][0]["impossible"];
    assert_eq!(f(&impossible["share"]), 0.5);
    assert_eq!(f(&impossible["persons"]), 2.0);
    assert_eq!(impossible["cells"], 2);
    assert_eq!(j["attributes"][1]["categories"], serde_json::json!(["student", "worker", "retired"]));
    assert_eq!(j["pools"][0]["joint"]["cells"], 6);
    assert_eq!(f(&j["pools"][0]["scale"]), 5.0);
}

/// Every number in `a` and `b` agrees to 1e-12 relative; everything else is equal.
fn assert_same(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0), "{path}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_same(x, y, &format!("{path}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{path}");
            for (k, v) in x {
                assert_same(v, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

#[test]
fn a_count_table_truth_equals_the_microdata_truth() {
    let files = [("persons.csv", persons()), ("counts.csv", persons_counts()), ("shuffled.csv", shuffled("sex"))];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    let micro = compare(&files, &["--truth", "persons.csv", "shuffled.csv", "--json"]).json();
    let counts = compare(&files, &["--truth", "counts.csv", "shuffled.csv", "--json"]).json();
    assert_eq!(micro["truth"]["kind"], "microdata");
    assert_eq!(counts["truth"]["kind"], "counts");
    assert_eq!(micro["truth"]["total"], counts["truth"]["total"]);
    assert_same(&micro["attributes"], &counts["attributes"], "attributes");
    assert_same(&micro["pools"], &counts["pools"], "pools");
    assert!(f(&micro["pools"][0]["joint"]["srmse"]) > 0.0);

    // A renamed count column, and a count-table pool.
    let renamed = persons_counts().replacen(",count\n", ",n\n", 1);
    let o = compare(
        &[("truth.csv", &renamed), ("pool.csv", &persons_counts().replacen(",count\n", ",n\n", 1))],
        &["--truth", "truth.csv", "pool.csv", "--count", "n", "--json"],
    );
    let j = o.json();
    assert_eq!(j["pools"][0]["kind"], "counts");
    assert_eq!(f(&j["pools"][0]["joint"]["srmse"]), 0.0);
}

#[test]
fn a_weighted_truth_equals_repeated_rows() {
    let weighted = "sex,age,w\nf,old,2\nm,young,1\nf,young,3\n";
    let repeated = "sex,age\nf,old\nf,old\nm,young\nf,young\nf,young\nf,young\n";
    let pool = "person_id,sex,age\n1,f,old\n2,m,old\n3,f,young\n";
    let files = [("w.csv", weighted), ("r.csv", repeated), ("pool.csv", pool)];
    let a = compare(&files, &["--truth", "w.csv", "--weight", "w", "pool.csv", "--json"]).json();
    let b = compare(&files, &["--truth", "r.csv", "pool.csv", "--json"]).json();
    assert_eq!(f(&a["truth"]["total"]), 6.0);
    assert_same(&a["pools"], &b["pools"], "pools");
}

#[test]
fn json_has_the_documented_fields() {
    let o = compare(
        &[("truth.csv", &persons()), ("a.csv", &shuffled("race")), ("b.csv", &persons())],
        &["--truth", "truth.csv", "a.csv", "b.csv", "--attributes", "age_group, sex,race", "--json"],
    );
    let j = o.json();
    // Fields are compared as sets; their order is the struct's.
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let sorted = |names: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        names
    };
    assert_eq!(keys(&j), sorted(&["truth", "attributes", "excluded", "notes", "warnings", "pools"]));
    assert_eq!(keys(&j["truth"]), sorted(&["file", "kind", "rows", "total", "missing"]));
    assert_eq!(keys(&j["truth"]["missing"]), sorted(&["input", "policy", "records_dropped", "by_column"]));
    assert_eq!(j["truth"]["file"], "truth.csv");
    assert_eq!(j["attributes"].as_array().unwrap().len(), 3);
    let pool = &j["pools"][0];
    assert_eq!(
        keys(pool),
        sorted(&[
            "name",
            "file",
            "kind",
            "rows",
            "total",
            "scale",
            "missing",
            "orders",
            "joint",
            "margins",
            "association",
            "impossible"
        ])
    );
    assert_eq!(keys(&pool["orders"][0]), sorted(&["order", "margins", "mean_srmse", "max_srmse"]));
    assert_eq!(keys(&pool["joint"]), sorted(&["attributes", "cells", "srmse", "tae", "hellinger"]));
    assert_eq!(keys(&pool["margins"][0]), sorted(&["attributes", "cells", "srmse", "tae", "hellinger"]));
    assert_eq!(keys(&pool["association"]), sorted(&["pairs", "mean_abs_change", "max_abs_change"]));
    assert_eq!(keys(&pool["association"]["pairs"][0]), sorted(&["attributes", "truth_v", "pool_v", "change"]));
    assert_eq!(keys(&pool["impossible"]), sorted(&["persons", "share", "cells"]));
    // 3 attributes: orders 1, 2, 3 with 3, 3 and 1 margins; the joint is the 3-way margin.
    let counts: Vec<u64> = pool["orders"].as_array().unwrap().iter().map(|o| o["margins"].as_u64().unwrap()).collect();
    assert_eq!(counts, [3, 3, 1]);
    assert_eq!(pool["joint"]["srmse"], pool["margins"][6]["srmse"]);
    assert_eq!((pool["name"].as_str(), j["pools"][1]["name"].as_str()), (Some("a"), Some("b")));
}

#[test]
fn the_table_is_aligned_and_the_plot_is_an_svg_naming_the_pools() {
    let o = compare(
        &[("truth.csv", &persons()), ("naive_pool.csv", &shuffled("employment")), ("copy_pool.csv", &persons())],
        &["--truth", "truth.csv", "naive_pool.csv", "copy_pool.csv", "--plot", "plot.svg"],
    );
    o.assert_code(OK);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("truth truth.csv (2000 rows, total 2000); 7 attributes: age_group"), "{}", o.stdout);
    assert!(lines[1].starts_with("pool ") && lines[1].contains("SRMSE 2-way") && lines[1].ends_with("impossible"));
    assert!(lines[2].starts_with("naive_pool ") && lines[3].starts_with("copy_pool "), "{}", o.stdout);
    assert_eq!(lines[1].chars().count(), lines[2].chars().count(), "columns are aligned:\n{}", o.stdout);
    assert!(lines[3].ends_with("0.0000       0.00%"), "{}", lines[3]);
    assert_eq!(lines[4], "wrote plot.svg");

    let svg = std::fs::read_to_string(o.dir.path().join("plot.svg")).expect("plot.svg written");
    let start = svg.trim_start();
    assert!(start.starts_with("<svg") || start.starts_with("<?xml"), "{}", &svg[..100.min(svg.len())]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for name in ["naive_pool", "copy_pool", "income_band", "SRMSE"] {
        assert!(svg.contains(name), "the SVG should name {name}");
    }
    // No temporary file is left beside it.
    let entries: Vec<String> = std::fs::read_dir(o.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!entries.iter().any(|n| n.ends_with(".tmp")), "{entries:?}");

    // --quiet prints nothing but still writes the plot.
    let o = compare(&[("t.csv", "a,b\nx,y\n")], &["--truth", "t.csv", "t.csv", "--plot", "plot.svg", "--quiet"]);
    o.assert_code(OK);
    assert!(o.stdout.is_empty());
    assert!(o.dir.path().join("plot.svg").exists());
}

#[test]
fn excluded_columns_get_a_note() {
    let truth = "person_id,sex,code,zone\n1,f,a,z\n2,m,b,z\n3,f,c,z\n4,m,d,z\n5,f,e,z\n6,m,f,z\n7,f,g,z\n8,m,h,z\n9,f,i,z\n10,m,j,z\n";
    let pool = "person_id,zone,sex,code,card\n1,z,f,a,\"A woman.\"\n";
    let o = compare(&[("t.csv", truth), ("p.csv", pool)], &["--truth", "t.csv", "p.csv"]);
    o.assert_code(OK);
    assert!(o.stderr.contains("note: column \"code\" is not compared: looks like an id"), "{}", o.stderr);
    assert!(!o.stderr.contains("person_id") && !o.stderr.contains("zone"), "{}", o.stderr);
    assert!(o.stdout.contains("1 attribute: sex"), "{}", o.stdout);
}

#[test]
fn bad_inputs_fail_cleanly() {
    let truth = "sex,age\nf,old\nm,young\n";
    let args = |pool: &str| ["--truth", "t.csv", pool, "--plot", "plot.svg"].map(String::from);
    let run = |files: &[(&str, &str)], args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        compare(files, &args)
    };

    // A pool without a named attribute.
    let o = run(
        &[("t.csv", truth), ("p.csv", "sex\nf\n")],
        &[&args("p.csv")[..], &["--attributes".into(), "sex,age".into()]].concat(),
    );
    o.assert_bad_input(&[
        "error: p.csv, line 1, column \"age\": missing attribute column \"age\"; the header has \"sex\"",
    ]);
    // An empty pool, a header without rows.
    run(&[("t.csv", truth), ("p.csv", "")], &args("p.csv")).assert_bad_input(&["error: p.csv: the file is empty"]);
    run(&[("t.csv", truth), ("p.csv", "sex,age\n")], &args("p.csv"))
        .assert_bad_input(&["error: p.csv: the file has a header but no rows"]);
    // Counts that are not numbers, negative, or missing.
    let bad =
        [("x", "is not a number: \"x\""), ("-3", "is negative: \"-3\""), ("", "is missing"), ("inf", "is infinite")];
    for (value, why) in bad {
        let pool = format!("sex,age,count\nf,old,2\nm,young,{value}\n");
        run(&[("t.csv", truth), ("p.csv", &pool)], &args("p.csv"))
            .assert_bad_input(&[&format!("error: p.csv, line 3, column \"count\": count {why}")]);
    }
    // A negative weight in the truth.
    let o = run(
        &[("t.csv", "sex,w\nf,1\nm,-1\n"), ("p.csv", "sex\nf\n")],
        &[&args("p.csv")[..], &["--weight".into(), "w".into()]].concat(),
    );
    o.assert_bad_input(&["error: t.csv, line 3, column \"w\": weight is negative: \"-1\""]);
    // A ragged row.
    run(&[("t.csv", truth), ("p.csv", "sex,age\nf,old\nm\n")], &args("p.csv"))
        .assert_bad_input(&["error: p.csv, line 3: the row has 1 fields but the header has 2"]);
    // A missing file.
    run(&[("t.csv", truth)], &args("nope.csv")).assert_bad_input(&["error: cannot read nope.csv"]);
    // A count column named but absent from the truth.
    let o = run(&[("t.csv", truth)], &[&args("t.csv")[..], &["--count".into(), "n".into()]].concat());
    o.assert_bad_input(&["error: t.csv, line 1: missing count column \"n\""]);
    // Counts summing to zero.
    run(&[("t.csv", truth), ("p.csv", "sex,age,count\nf,old,0\n")], &args("p.csv"))
        .assert_bad_input(&["error: p.csv: the counts sum to zero"]);
    // Nothing in common.
    run(&[("t.csv", truth), ("p.csv", "colour\nred\n")], &args("p.csv"))
        .assert_bad_input(&["error: t.csv, line 1: no attribute to compare", "not a column of pool p.csv"]);
    // Invalid UTF-8.
    let files: [(&str, &[u8]); 2] = [("t.csv", truth.as_bytes()), ("p.csv", b"sex,age\nf,\xff\n")];
    Outcome::run(folder(&files), &["compare", "--truth", "t.csv", "p.csv"])
        .assert_code(BAD_INPUT)
        .stderr_has(&["error: p.csv, line 2, column \"age\": value"]);
}

#[test]
fn usage_errors_exit_2() {
    let files = [("t.csv", "sex\nf\n")];
    compare(&files, &["--truth", "t.csv"]).assert_code(USAGE);
    compare(&files, &["t.csv"]).assert_code(USAGE);
    compare(&files, &["--truth", "t.csv", "t.csv", "--no-such-flag"]).assert_code(USAGE);
}
