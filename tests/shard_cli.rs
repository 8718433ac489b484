//! Sharded runs through the CLI: `populace generate` and `populace fit` with `--shard I/N` or
//! `--zones -` write one file per zone under `zone=ID/`, byte-identical however the zones are
//! sharded, print a manifest line per zone whose checksum is the file's, overwrite cleanly on a
//! rerun, and reject bad shards, unknown zones and specs without zones with clear errors.

use std::collections::BTreeMap;
mod common;

use std::path::{Path, PathBuf};

use common::{populace, root, BAD_INPUT, USAGE};
use predicates::prelude::*;
use sha2::{Digest, Sha256};

const API: &str = "calibration/api_counties.toml";

/// `populace ARGS…` from the crate's folder, with `stdin`.
fn run(args: &[&str], stdin: &str) -> assert_cmd::assert::Assert {
    populace().args(args).write_stdin(stdin).current_dir(root()).assert()
}

/// The manifest lines a run printed, parsed.
fn manifest(assert: &assert_cmd::assert::Assert) -> Vec<serde_json::Value> {
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A generate run's files, zone → (manifest line, file bytes).
fn generated(out: &Path, args: &[&str], stdin: &str) -> BTreeMap<String, (serde_json::Value, Vec<u8>)> {
    let out = out.to_str().unwrap();
    let mut all = vec!["generate", API, "-n", "3001", "--seed", "11", "--out", out, "--quiet"];
    all.extend(args);
    let lines = manifest(&run(&all, stdin).success());
    lines
        .into_iter()
        .map(|l| {
            let bytes = std::fs::read(l["path"].as_str().unwrap()).unwrap();
            (l["zone"].as_str().unwrap().to_string(), (l, bytes))
        })
        .collect()
}

/// The line without its path (which names the run's folder).
fn without_path(line: &serde_json::Value) -> serde_json::Value {
    let mut line = line.clone();
    line.as_object_mut().unwrap().remove("path");
    line
}

#[test]
fn a_zones_file_does_not_depend_on_the_sharding() {
    let dir = tempfile::tempdir().unwrap();
    let whole = generated(&dir.path().join("whole"), &["--shard", "1/1"], "");
    assert_eq!(whole.len(), 37);
    assert_eq!(whole.values().map(|(l, _)| l["persons"].as_u64().unwrap()).sum::<u64>(), 3001);
    let mut sharded = BTreeMap::new();
    for i in 1..=3 {
        let part = generated(&dir.path().join("sharded"), &["--shard", &format!("{i}/3")], "");
        assert!((12..=13).contains(&part.len()), "shard {i}/3 has {} zones", part.len());
        for (zone, entry) in part {
            assert!(sharded.insert(zone, entry).is_none(), "a zone in two shards");
        }
    }
    assert_eq!(sharded.len(), whole.len());
    for (zone, (line, bytes)) in &whole {
        let (other, other_bytes) = &sharded[zone];
        assert_eq!(without_path(line), without_path(other), "{zone}");
        assert!(bytes == other_bytes, "{zone}: files differ");
        assert_eq!(line["checksum"].as_str().unwrap(), format!("sha256:{:x}", Sha256::digest(bytes)));
        assert_eq!(line["bytes"].as_u64().unwrap(), bytes.len() as u64);
        let path = line["path"].as_str().unwrap();
        assert!(path.ends_with(&format!("zone={zone}/part-0.parquet")), "{path}");
    }
}

#[test]
fn zones_from_stdin_write_the_same_files_in_list_order() {
    let dir = tempfile::tempdir().unwrap();
    let csv = ["--format", "csv"];
    let shard: Vec<&str> = csv.iter().copied().chain(["--shard", "1/1"]).collect();
    let whole = generated(&dir.path().join("whole"), &shard, "");
    let listed: Vec<&str> = csv.iter().copied().chain(["--zones", "-"]).collect();
    let out = dir.path().join("listed");
    let assert = run(
        &["generate", API, "-n", "3001", "--seed", "11", "--out", out.to_str().unwrap(), "--quiet"]
            .into_iter()
            .chain(listed.iter().copied())
            .collect::<Vec<_>>(),
        "Los Angeles\n\n  Fresno \r\nAlameda\n",
    )
    .success();
    let lines = manifest(&assert);
    let zones: Vec<&str> = lines.iter().map(|l| l["zone"].as_str().unwrap()).collect();
    assert_eq!(zones, ["Los Angeles", "Fresno", "Alameda"]);
    for line in &lines {
        let zone = line["zone"].as_str().unwrap();
        let bytes = std::fs::read(line["path"].as_str().unwrap()).unwrap();
        assert!(bytes == whole[zone].1, "{zone}: files differ");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("person_id,zone,"), "{text}");
        assert_eq!(text.lines().count() as u64 - 1, line["persons"].as_u64().unwrap());
    }
}

#[test]
fn a_rerun_overwrites_every_file_and_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pool");
    let first = generated(&out, &["--shard", "2/5", "--format", "jsonl"], "");
    let (line, bytes) = first.values().next().unwrap();
    let path = PathBuf::from(line["path"].as_str().unwrap());
    std::fs::write(&path, b"half a file").unwrap();
    let second = generated(&out, &["--shard", "2/5", "--format", "jsonl"], "");
    assert_eq!(std::fs::read(&path).unwrap(), *bytes);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    for folder in std::fs::read_dir(&out).unwrap() {
        for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
            let file = file.unwrap();
            assert_eq!(file.file_name().into_string().unwrap(), "part-0.jsonl");
            #[cfg(unix)] // the permissions of a file made by File::create, not a temporary file's 0600
            {
                use std::os::unix::fs::PermissionsExt;
                let plain = dir.path().join("plain");
                std::fs::File::create(&plain).unwrap();
                let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode(&file.path()), mode(&plain), "{:?}", file.path());
            }
        }
    }
}

#[test]
fn zones_without_persons_get_files_without_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("few");
    let assert = run(
        &["generate", API, "-n", "3", "--format", "csv", "--partitioned", "--no-card", "--out", out.to_str().unwrap()],
        "",
    )
    .success()
    .stderr(predicate::str::contains("37 of 37 zones, 3 persons"));
    let lines = manifest(&assert);
    assert_eq!(lines.len(), 37);
    assert_eq!(lines.iter().filter(|l| l["persons"] == 0).count(), 34);
    let empty = lines.iter().find(|l| l["persons"] == 0).unwrap();
    let text = std::fs::read_to_string(empty["path"].as_str().unwrap()).unwrap();
    assert_eq!(text, "person_id,zone,stype,sch_wide,awards\n");
}

#[test]
fn sharded_fits_write_each_zones_weights_as_the_whole_fit_does() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    run(&["fit", API, "--out", whole.to_str().unwrap(), "--quiet"], "").success();
    let all = std::fs::read_to_string(whole.join("weights.csv")).unwrap();
    let header = all.lines().next().unwrap();
    let sharded = dir.path().join("sharded");
    let mut zones = 0;
    for i in 1..=2 {
        let assert =
            run(&["fit", API, "--shard", &format!("{i}/2"), "--out", sharded.to_str().unwrap(), "--quiet"], "")
                .success();
        for line in manifest(&assert) {
            zones += 1;
            let zone = line["zone"].as_str().unwrap();
            assert_eq!(line["converged"], true);
            assert_eq!(line["records"], 200);
            let text = std::fs::read_to_string(line["path"].as_str().unwrap()).unwrap();
            assert_eq!(line["checksum"].as_str().unwrap(), format!("sha256:{:x}", Sha256::digest(text.as_bytes())));
            let expected: Vec<&str> =
                std::iter::once(header).chain(all.lines().filter(|l| l.starts_with(&format!("{zone},")))).collect();
            assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{zone}");
        }
    }
    assert_eq!(zones, 37);
}

#[test]
fn a_shard_without_zones_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("none");
    run(&["generate", API, "--shard", "40/40", "--out", out.to_str().unwrap()], "")
        .success()
        .stdout("")
        .stderr(predicate::str::contains("shard 40/40: no zones of the spec's 37"));
    assert!(!out.exists());
}

#[test]
fn bad_shards_and_zone_lists_are_clear_errors() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    for (shard, says) in [("0/3", "shards are numbered from 1"), ("4/3", "shard 4 of 3"), ("2", "expected I/N")] {
        run(&["generate", API, "--shard", shard, "--out", out], "").code(USAGE).stderr(predicate::str::contains(says));
        run(&["fit", API, "--shard", shard, "--out", out], "").code(USAGE).stderr(predicate::str::contains(says));
    }
    run(&["generate", API, "--zones", "-", "--out", out], "Alameda\nAtlantis\n")
        .code(BAD_INPUT)
        .stderr(predicate::str::contains("stdin, line 2: unknown zone \"Atlantis\""));
    run(&["fit", API, "--zones", "-", "--out", out], "Alameda\n\nAlameda\n")
        .code(BAD_INPUT)
        .stderr(predicate::str::contains("stdin, line 3: zone \"Alameda\" is listed twice (first on line 1)"));
    for command in ["generate", "fit"] {
        run(&[command, "calibration/acs2012.toml", "--shard", "1/2", "--out", out], "").code(BAD_INPUT).stderr(
            predicate::str::contains("calibration/acs2012.toml: --shard 1/2")
                .and(predicate::str::contains("no [zones] section")),
        );
    }
    run(&["generate", "calibration/acs2012.toml", "--partitioned", "--out", out], "")
        .code(BAD_INPUT)
        .stderr(predicate::str::contains("no [zones] section"));
    run(&["generate", API, "--shard", "1/2", "--zones", "-", "--out", out], "").code(USAGE);
    run(&["generate", API, "--shard", "1/2", "--json", "--out", out], "").code(USAGE);
    run(&["generate", API, "--format", "csv", "--out", "pool.csv"], "").code(USAGE);
}
