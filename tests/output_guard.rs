//! No command writes over a file it reads (issue #19, part 1): an output path that resolves —
//! through `..` and symbolic links — to an input is refused before any work, with exit 2 naming
//! both roles, and the input is left as it was; an output whose format its extension implies
//! must have that extension.

mod common;

use common::small::{experiment, AGE, RESPONSES, SEED, SEX, SPEC};
use common::{folder, populace};

/// Runs `populace ARGS` in a folder of the fit files (and `extra`); asserts exit 2, stderr
/// holding `needles`, and every file as it was.
fn refused(args: &[&str], extra: &[(&str, &str)], needles: &[&str]) {
    let mut files = vec![("spec.toml", SPEC), ("age.csv", AGE), ("sex.csv", SEX), ("seed.csv", SEED)];
    files.retain(|(name, _)| !extra.iter().any(|(n, _)| n == name));
    files.extend_from_slice(extra);
    let dir = folder(&files);
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("seed.csv"), dir.path().join("link.csv")).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let output = populace().current_dir(dir.path()).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: stderr lacks {needle:?}: {stderr}");
    }
    for (name, content) in &files {
        assert_eq!(std::fs::read_to_string(dir.path().join(name)).unwrap(), *content, "{args:?} changed {name}");
    }
}

#[test]
fn generate_never_writes_over_its_seed_or_spec() {
    refused(
        &["generate", "spec.toml", "-n", "10", "--out", "seed.csv"],
        &[],
        &["--out seed.csv is the seed seed.csv", "never writes over a file it reads"],
    );
    refused(&["generate", "spec.toml", "-n", "10", "--out", "sub/../age.csv"], &[], &["is a margin age.csv"]);
    #[cfg(unix)]
    refused(&["generate", "spec.toml", "-n", "10", "--out", "link.csv"], &[], &["--out link.csv is the seed"]);
    refused(
        &["generate", "spec.toml", "-n", "10", "--out", "card.csv", "--template", "card.csv"],
        &[("card.csv", "{{ persona() }}")],
        &["is the template card.csv"],
    );
}

#[test]
fn fit_never_writes_over_an_input_in_its_output_folder() {
    let spec = SPEC.replace("age.csv", "joint.csv");
    refused(
        &["fit", "spec.toml", "--out", "."],
        &[("spec.toml", &spec), ("joint.csv", AGE)],
        &["--out ./joint.csv is a margin joint.csv"],
    );
    let spec = SPEC.replace("seed.csv", "report.json");
    refused(
        &["fit", "spec.toml", "--out", "sub/.."],
        &[("spec.toml", &spec), ("report.json", SEED)],
        &["is the seed report.json"],
    );
}

#[test]
fn a_sharded_fit_never_writes_over_an_input_in_a_zone_folder() {
    let spec = "[seed]\nfile = \"out/zone=a/weights.csv\"\n[zones]\ncolumn = \"zone\"\n[[margin]]\n\
                file = \"sex.csv\"\n[fit]\nmethod = \"rake\"\n";
    refused(
        &["fit", "spec.toml", "--shard", "1/1", "--out", "out"],
        &[("spec.toml", spec), ("sex.csv", "zone,sex,count\na,f,5\na,m,5\n"), ("out/zone=a/weights.csv", SEED)],
        &["--out out/zone=a/weights.csv is the seed out/zone=a/weights.csv"],
    );
}

#[test]
fn compare_and_world_check_their_outputs() {
    refused(
        &["compare", "--truth", "seed.csv", "seed.csv", "--plot", "seed.csv"],
        &[],
        &["--plot seed.csv must end in .svg"],
    );
    refused(
        &["compare", "--truth", "seed.csv", "pool.svg", "--plot", "pool.svg"],
        &[("pool.svg", SEED)],
        &["--plot pool.svg is a pool pool.svg"],
    );
    refused(&["world", "--out", "spec.toml"], &[], &["--out spec.toml must end in .csv"]);
}

#[test]
fn evaluate_never_writes_over_its_responses() {
    refused(
        &["evaluate", "exp.toml", "--out", "."],
        &[("exp.toml", &experiment("evaluation.json")), ("evaluation.json", RESPONSES)],
        &["is the responses"],
    );
}

#[test]
fn evaluate_finds_an_unwritable_output_folder_before_any_work() {
    // the responses lack the id column, which reading would find; the folder comes first
    let dir =
        folder(&[("exp.toml", experiment("evaluation.json").as_str()), ("evaluation.json", "who,age,q\n1,young,a\n")]);
    let output = populace()
        .current_dir(dir.path())
        .args(["evaluate", "exp.toml", "--out", "evaluation.json/out"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write evaluation.json/out"), "{stderr}");
}
