//! Fits do not depend on the order of the rows of their inputs: the margin files and the seed of
//! the shipped specs, with their rows shuffled, give the same fitted joint (cell by cell, matched
//! by category labels) and the same weights (matched by record id, and zone) to 1e-9 relative,
//! with the categories declared in the spec and, with `[attributes]` removed, taken from the
//! data in their (shuffled) order of first appearance.

use std::collections::HashMap;
mod common;

use std::path::{Path, PathBuf};

use common::{populace, root};

/// A deterministic permutation of `n` items (xorshift Fisher–Yates).
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// The CSV `text` with its data rows in a shuffled order (the header stays first). The shipped
/// files have no quoted line breaks, so a row is a line.
fn shuffle_rows(text: &str, seed: u64) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let order = permutation(rows.len(), seed);
    assert!(rows.len() < 3 || order.iter().enumerate().any(|(i, &o)| i != o), "the permutation moves rows");
    let mut out = format!("{header}\n");
    for i in order {
        out.push_str(rows[i]);
        out.push('\n');
    }
    out
}

/// The spec's text without its `[attributes]` block.
fn undeclared(spec: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in spec.lines() {
        if line.starts_with('[') {
            skipping = line.starts_with("[attributes]");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Copies `calibration/SPEC` (declared categories or not) and every file of `marginals/DATA` (rows
/// shuffled with `shuffle`, or as they are) into `dir`, keeping the layout, and fits it; returns
/// the output folder.
fn fit(dir: &Path, spec: &str, data: &str, declared: bool, shuffle: Option<u64>) -> PathBuf {
    std::fs::create_dir_all(dir.join("calibration")).unwrap();
    std::fs::create_dir_all(dir.join("marginals").join(data)).unwrap();
    let text = std::fs::read_to_string(root().join("calibration").join(spec)).unwrap();
    let text = if declared { text } else { undeclared(&text) };
    std::fs::write(dir.join("calibration").join(spec), text).unwrap();
    for (k, entry) in std::fs::read_dir(root().join("marginals").join(data)).unwrap().enumerate() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match shuffle {
                Some(seed) => shuffle_rows(&text, seed + k as u64),
                None => text,
            };
            std::fs::write(dir.join("marginals").join(data).join(path.file_name().unwrap()), text).unwrap();
        }
    }
    let out = dir.join("out");
    populace()
        .current_dir(dir)
        .args(["fit", &format!("calibration/{spec}"), "--quiet", "--out", "out"])
        .assert()
        .success();
    out
}

/// A fit's output keyed by its other columns (`name=value`, sorted): the joint's cells by their
/// labels, or the weights by zone and id. The integerized `count` of weights is left out: it is
/// a random rounding whose draws follow the records' order.
fn read_keyed(path: &Path, value: &str) -> HashMap<Vec<String>, f64> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == value).unwrap();
    let mut out = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "{}: {line}", path.display());
        let mut key: Vec<String> = (0..fields.len())
            .filter(|&i| i != at && !(value == "weight" && header[i] == "count"))
            .map(|i| format!("{}={}", header[i], fields[i]))
            .collect();
        key.sort_unstable(); // undeclared attributes come in another column order
        let previous = out.insert(key, fields[at].parse().unwrap());
        assert!(previous.is_none(), "{}: {line} twice", path.display());
    }
    out
}

fn assert_same(case: &str, a: &HashMap<Vec<String>, f64>, b: &HashMap<Vec<String>, f64>) {
    assert_eq!(a.len(), b.len(), "{case}: row counts differ");
    let mut worst = 0.0f64;
    for (key, &x) in a {
        let y = *b.get(key).unwrap_or_else(|| panic!("{case}: {key:?} missing after shuffling"));
        let scale = x.abs().max(y.abs());
        let relative = if scale == 0.0 { 0.0 } else { (x - y).abs() / scale };
        assert!(relative <= 1e-9, "{case}: {key:?}: {x} before shuffling, {y} after (relative {relative:.2e})");
        worst = worst.max(relative);
    }
    eprintln!("{case}: {} rows agree, worst relative difference {worst:.2e}", a.len());
}

/// Fits `spec` as shipped, then with shuffled rows, declared and undeclared, and compares.
fn check(spec: &str, data: &str, output: &str, value: &str) {
    let base = tempfile::tempdir().unwrap();
    let reference = read_keyed(&fit(base.path(), spec, data, true, None).join(output), value);
    assert!(reference.values().any(|&v| v > 0.0));
    for (declared, seed) in [(true, 1), (false, 2)] {
        let dir = tempfile::tempdir().unwrap();
        let shuffled = read_keyed(&fit(dir.path(), spec, data, declared, Some(seed)).join(output), value);
        assert_same(&format!("{spec}, declared {declared}"), &reference, &shuffled);
    }
}

#[test]
fn ipf_joint_does_not_depend_on_row_order() {
    check("acs2012.toml", "acs2012", "joint.csv", "count");
}

#[test]
fn raked_weights_do_not_depend_on_row_order() {
    check("acs2012_rake.toml", "acs2012", "weights.csv", "weight");
}

#[test]
fn linear_weights_do_not_depend_on_row_order() {
    check("acs2012_linear.toml", "acs2012", "weights.csv", "weight");
}

#[test]
fn logit_weights_do_not_depend_on_row_order() {
    check("acs2012_logit.toml", "acs2012", "weights.csv", "weight");
}

#[test]
fn entropy_weights_do_not_depend_on_row_order() {
    check("acs2012_entropy.toml", "acs2012", "weights.csv", "weight");
}

#[test]
fn zone_weights_do_not_depend_on_row_order() {
    check("api_counties_regional.toml", "api", "weights.csv", "weight");
}

#[test]
fn the_shuffle_moves_rows() {
    let text = "h\na\nb\nc\nd\ne\n";
    let shuffled = shuffle_rows(text, 1);
    assert_ne!(shuffled, text);
    let mut a: Vec<&str> = text.lines().collect();
    let mut b: Vec<&str> = shuffled.lines().collect();
    assert_eq!(b[0], "h");
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
}
