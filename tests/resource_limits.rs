//! Resource limits are errors, never aborts (issue #19, part 2): a dense table too large for
//! the process's address-space limit (`ulimit -v`, `prlimit --as`) is refused before
//! allocating, naming what it needs and what is left.
#![cfg(target_os = "linux")]

mod common;

use std::os::unix::process::CommandExt;

use common::{folder, populace, BAD_INPUT};

#[test]
fn a_dense_table_beyond_the_address_space_limit_is_refused_not_aborted() {
    // five attributes of 40 categories: 102 million cells, about 1.5 GiB to fit
    let categories: String = (0..40).map(|c| format!("{c},1\n")).collect();
    let margins: Vec<(String, String)> =
        "abcde".chars().map(|a| (format!("{a}.csv"), format!("{a},count\n{categories}"))).collect();
    let spec: String = "abcde".chars().map(|a| format!("[[margin]]\nfile = \"{a}.csv\"\n")).collect();
    let mut files: Vec<(&str, &str)> = margins.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
    files.push(("spec.toml", &spec));
    let dir = folder(&files);
    let mut command = std::process::Command::new(populace().get_program());
    command.current_dir(dir.path()).args(["fit", "spec.toml", "--out", "out", "--quiet"]);
    // SAFETY: setrlimit is async-signal-safe; the child only sets its own limit before exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 1 << 30, rlim_max: 1 << 30 };
            match libc::setrlimit(libc::RLIMIT_AS, &limit) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        });
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(BAD_INPUT), "{stderr}");
    assert!(stderr.contains("102400000 cells: it needs about 1.5 GiB but"), "{stderr}");
    assert!(!dir.path().join("out").exists());
}
