//! Outputs are written to a temporary file in their folder and renamed when complete, so a
//! process killed mid-write (SIGKILL: no destructor, no cleanup) leaves no file under the final
//! name, and a previous complete file under that name intact.
//!
//! Each test starts a run big enough to take seconds, waits until its temporary file has data
//! in it, kills it, and looks at the folder.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{entries, root};

/// The binary as a `std::process::Command`, which, unlike `common::populace()`, can be spawned
/// and killed.
fn populace_process() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("populace"))
}

/// The temporary files (`.NAME.XXXXXX.tmp`) for `name` in `dir`.
fn temporaries(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.");
    let temporary =
        |p: &PathBuf| p.file_name().unwrap().to_str().is_some_and(|f| f.starts_with(&prefix) && f.ends_with(".tmp"));
    entries(dir).into_iter().filter(temporary).collect()
}

/// Waits until a temporary file for `name` in `dir` holds at least one byte, then SIGKILLs the
/// child. Fails if the child ends first or nothing shows within a minute.
fn kill_mid_write(mut child: Child, dir: &Path, name: &str) {
    let start = Instant::now();
    loop {
        let written = temporaries(dir, name).iter().any(|t| std::fs::metadata(t).is_ok_and(|m| m.len() > 0));
        if written {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it was caught writing {name}: make it bigger");
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("no temporary file for {name} appeared in {} within a minute", dir.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed, not finished");
}

/// `populace generate` of 20 million persons with cards: several seconds and gigabytes if left
/// to finish.
fn start_generate(out: &Path) -> Child {
    populace_process()
        .current_dir(root())
        .args(["generate", "calibration/acs2012.toml", "-n", "20000000", "--quiet", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_killed_generate_leaves_no_file_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pool.csv");
    kill_mid_write(start_generate(&out), dir.path(), "pool.csv");
    assert!(!out.exists(), "a half-written pool stands under the final name");
    // what was killed is only the hidden temporary file, which proves the kill came mid-write
    assert_eq!(temporaries(dir.path(), "pool.csv").len(), 1);
}

#[test]
fn a_killed_rewrite_leaves_the_previous_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pool.csv");
    let status = populace_process()
        .current_dir(root())
        .args(["generate", "calibration/acs2012.toml", "-n", "500", "--quiet", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let before = std::fs::read(&out).unwrap();
    assert_eq!(before.iter().filter(|&&b| b == b'\n').count(), 501, "header and 500 persons");
    kill_mid_write(start_generate(&out), dir.path(), "pool.csv");
    assert!(std::fs::read(&out).unwrap() == before, "the previous pool was changed by a killed rewrite");
}

/// A dense joint of 40^4 = 2.56 million cells from four one-way margins: the fit is one sweep,
/// writing joint.csv takes a while.
fn write_big_dense_problem(dir: &Path) {
    let mut spec = String::new();
    for a in ["a", "b", "c", "d"] {
        let mut text = format!("{a},count\n");
        for k in 0..40 {
            text.push_str(&format!("{a}{k},{}\n", 1 + k % 3));
        }
        std::fs::write(dir.join(format!("{a}.csv")), text).unwrap();
        spec.push_str(&format!("[[margin]]\nfile = \"{a}.csv\"\n"));
    }
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
}

#[test]
fn a_killed_fit_leaves_no_joint_and_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    write_big_dense_problem(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let joint = out.join("joint.csv");
    std::fs::write(&joint, "a previous complete joint\n").unwrap();
    let child = populace_process()
        .current_dir(dir.path())
        .args(["fit", "spec.toml", "--quiet", "--out", "out"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // the outputs are written into a hidden staging folder, moved into place together at the end
    let staging = || {
        entries(&out).into_iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with(".populace-staging."))
    };
    let start = Instant::now();
    while staging().is_none() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let staged = staging().expect("a staging folder");
    kill_mid_write(child, &staged, "joint.csv");
    assert_eq!(std::fs::read_to_string(&joint).unwrap(), "a previous complete joint\n");
    assert!(!out.join("report.json").exists(), "report.json is written after joint.csv");
    // the next run into the folder removes what the killed one left
    let status = populace_process()
        .current_dir(dir.path())
        .args(["fit", "spec.toml", "--quiet", "--out", "out"])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(entries(&out), [out.join("joint.csv"), out.join("report.json")]);
}

/// Outputs get the permissions a plain file would (0666 less the umask), not a temporary
/// file's owner-only 0600.
#[cfg(unix)]
#[test]
fn outputs_are_readable_like_ordinary_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "a,count\nx,1\ny,2\n").unwrap();
    std::fs::write(dir.path().join("spec.toml"), "[[margin]]\nfile = \"a.csv\"\n").unwrap();
    let reference = dir.path().join("reference");
    std::fs::write(&reference, "").unwrap();
    let expected = std::fs::metadata(&reference).unwrap().permissions().mode() & 0o777;
    let fit = populace_process()
        .current_dir(dir.path())
        .args(["fit", "spec.toml", "--quiet", "--out", "out"])
        .status()
        .unwrap();
    assert!(fit.success());
    let generate = populace_process()
        .current_dir(dir.path())
        .args(["generate", "spec.toml", "--quiet", "--out", "out/pool.csv"])
        .status()
        .unwrap();
    assert!(generate.success());
    for name in ["joint.csv", "report.json", "pool.csv"] {
        let mode = std::fs::metadata(dir.path().join("out").join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{name}: mode {mode:o}, a file created here gets {expected:o}");
    }
}
