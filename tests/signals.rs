//! A run stopped by SIGINT, SIGTERM or SIGHUP cleans up after itself (issue #19, part 4): it
//! removes its temporary files and its staging folder, kills its simulators with every process
//! they started, puts no output in place, and exits 128 + the signal's number.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{entries, root};

fn populace_process() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("populace"))
}

/// The hidden files (temporary files, staging folders) in `dir`, the lock file aside.
fn hidden(dir: &Path) -> Vec<PathBuf> {
    let hidden =
        |p: &PathBuf| p.file_name().unwrap().to_str().is_some_and(|n| n.starts_with('.') && n != ".populace.lock");
    entries(dir).into_iter().filter(hidden).collect()
}

/// Waits (at most a minute) until `ready` holds, failing if the child ends first.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {what}");
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{what}: not within a minute");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` (a name `kill -s` takes) and returns the exit code and stderr.
fn stop(child: Child, signal: &str) -> (Option<i32>, String) {
    let status = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -s {signal} failed");
    let output = child.wait_with_output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to five seconds for `pid` to be gone.
fn eventually_gone(pid: u32) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_stopped_generate_removes_its_temporary_file_and_exits_128_plus_the_signal() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pool.csv");
        let mut child = populace_process()
            .current_dir(root())
            .args(["generate", "calibration/acs2012.toml", "-n", "20000000", "--quiet", "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let writing = || hidden(dir.path()).iter().any(|t| std::fs::metadata(t).is_ok_and(|m| m.len() > 0));
        wait_for(&mut child, "its temporary file had data", writing);
        let (status, stderr) = stop(child, signal);
        assert_eq!(status, Some(code), "SIG{signal}: {stderr}");
        assert!(stderr.contains(&format!("stopped by SIG{signal}")), "{stderr}");
        assert!(hidden(dir.path()).is_empty(), "SIG{signal} left {:?}", hidden(dir.path()));
        assert!(!out.exists(), "SIG{signal}: a pool was put in place");
    }
}

/// An experiment whose simulator (a shell script) starts a background process, writes its pid
/// to `grandchild.pid`, and then never answers.
fn silent_simulator(timeout: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = "#!/bin/sh\nsleep 1000 &\necho $! > grandchild.pid\nexec cat > /dev/null\n";
    std::fs::write(dir.path().join("sim.sh"), script).unwrap();
    let mut csv = String::from("id,age,q\n");
    for i in 0..20 {
        csv.push_str(&format!("{i},{},{}\n", ["young", "old"][i % 2], ["a", "b"][i / 2 % 2]));
    }
    std::fs::write(dir.path().join("responses.csv"), csv).unwrap();
    let spec = format!(
        "[data]\nfile = \"responses.csv\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q\"]\n\
         [[predictor]]\nname = \"population\"\nkind = \"population\"\n\
         [[predictor]]\nname = \"sim\"\nkind = \"external\"\ncommand = \"sh\"\nargs = [\"sim.sh\"]\n\
         timeout_seconds = {timeout}\n[evaluation]\nfolds = 2\nbootstrap = 10\n"
    );
    std::fs::write(dir.path().join("spec.toml"), spec).unwrap();
    dir
}

fn start_evaluate(dir: &Path) -> Child {
    populace_process()
        .current_dir(dir)
        .args(["evaluate", "spec.toml", "--out", "out", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn grandchild(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("grandchild.pid")).ok()?.trim().parse().ok()
}

#[test]
fn a_stopped_evaluate_kills_its_simulator_and_what_the_simulator_started() {
    let dir = silent_simulator(600);
    let mut child = start_evaluate(dir.path());
    wait_for(&mut child, "the simulator started its background process", || grandchild(dir.path()).is_some());
    let pid = grandchild(dir.path()).unwrap();
    assert!(!gone(pid), "the simulator's background process should be running");
    let (status, stderr) = stop(child, "TERM");
    assert_eq!(status, Some(143), "{stderr}");
    assert!(stderr.contains("ended 1 simulator process group(s)"), "{stderr}");
    assert!(eventually_gone(pid), "the simulator's background process {pid} outlived populace");
    assert!(!dir.path().join("out/evaluation.json").exists());
    assert!(hidden(&dir.path().join("out")).is_empty(), "{:?}", hidden(&dir.path().join("out")));
}

#[test]
fn a_simulator_that_times_out_is_killed_with_what_it_started() {
    let dir = silent_simulator(1);
    let output = start_evaluate(dir.path()).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(common::BAD_INPUT), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    let pid = grandchild(dir.path()).expect("the simulator wrote its background process's pid");
    assert!(eventually_gone(pid), "the simulator's background process {pid} outlived populace");
}
