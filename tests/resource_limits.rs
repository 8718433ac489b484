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

#[test]
fn a_pool_beyond_what_can_be_held_or_written_is_refused_before_writing() {
    let files = [("spec.toml", "[[margin]]\nfile = \"sex.csv\"\n"), ("sex.csv", "sex,count\nfemale,60\nmale,40\n")];
    let dir = folder(&files);
    let run = |args: &[&str]| {
        let output = populace().current_dir(dir.path()).args(args).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    // near 2^64: was a panic in the urn ("cannot sample empty range")
    let (code, stderr) =
        run(&["generate", "spec.toml", "-n", "18446744073709551615", "--naive", "independent", "--out", "p.csv"]);
    assert_eq!(code, Some(BAD_INPUT), "{stderr}");
    assert!(stderr.contains("more than a pool can hold (281474976710656, 2^48"), "{stderr}");
    // 10^14 persons of at least 7 bytes each: more than any test machine's disk; was a full disk
    let (code, stderr) = run(&["generate", "spec.toml", "-n", "100000000000000", "--out", "p.csv"]);
    assert_eq!(code, Some(BAD_INPUT), "{stderr}");
    assert!(stderr.contains("100000000000000 persons need at least 700.0 TB to write (7 bytes each"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), files.len(), "{left:?}");
}

#[test]
fn a_card_template_past_its_budget_is_an_error_naming_it_and_the_person() {
    let files = [
        ("spec.toml", "[[margin]]\nfile = \"sex.csv\"\n"),
        ("sex.csv", "sex,count\nfemale,60\nmale,40\n"),
        // 10^10 steps: ran for ever
        ("loop.j2", "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"),
        // 2 MB of text in one card
        ("long.j2", "{% for i in range(20000) %}{{ 'abcdefghij' * 10 }}{% endfor %}"),
        // a string doubled 40 times (1 TiB), built before any output: was an abort at 6 GB
        (
            "double.j2",
            "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}\
             {{ ns.s | length }}",
        ),
    ];
    let dir = folder(&files);
    for (template, message) in [
        ("loop.j2", "loop.j2, line 1: the template takes more than 1000000 steps to render one card"),
        ("long.j2", "long.j2: the card is longer than 1 MiB, the limit of a card (rendering the card of person 1)"),
        ("double.j2", "double.j2: rendering the card of person 1: a value of 67108880 bytes was asked for, more than"),
    ] {
        let output = populace()
            .current_dir(dir.path())
            .args(["generate", "spec.toml", "-n", "5", "--template", template, "--out", "pool.csv"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(!dir.path().join("pool.csv").exists());
    }
}

#[test]
fn a_zone_id_too_long_for_a_folder_name_is_refused_before_any_zone_is_written() {
    let long = "t".repeat(300);
    let sex = format!("zone,sex,count\na,female,6\na,male,4\nb,female,5\nb,male,5\n{long},female,3\n{long},male,3\n");
    let spec = "[seed]\nfile = \"seed.csv\"\n[zones]\ncolumn = \"zone\"\n[[margin]]\nfile = \"sex.csv\"\n\
                [fit]\nmethod = \"rake\"\n";
    let files = [("spec.toml", spec), ("sex.csv", sex.as_str()), ("seed.csv", "sex\nfemale\nmale\nmale\n")];
    let dir = folder(&files);
    for args in [
        &["generate", "spec.toml", "--partitioned", "--out", "pool"][..],
        &["fit", "spec.toml", "--shard", "1/1", "--out", "pool"][..],
    ] {
        let output = populace().current_dir(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{args:?}: {stderr}");
        assert!(stderr.contains("makes a folder name of 305 bytes"), "{stderr}");
        let written = std::fs::read_dir(dir.path().join("pool")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(written, 0, "{args:?} wrote zones");
    }
}

/// An endless input — `/dev/zero` as any file populace reads, `yes` as a zone list — is an
/// error once a stated limit is passed (a 16 MiB line, a 256 MiB zone list), within seconds,
/// never a hang or an abort; nothing is written.
#[test]
fn endless_inputs_are_refused_at_a_stated_limit() {
    let sex = "sex,count\nfemale,60\nmale,40\n";
    let margin_spec = "[[margin]]\nfile = \"sex.csv\"\n";
    let zoned = "[seed]\nfile = \"seed.csv\"\n[zones]\ncolumn = \"zone\"\n[[margin]]\nfile = \"zsex.csv\"\n\
                 [fit]\nmethod = \"rake\"\n";
    let experiment = "[data]\nfile = \"/dev/zero\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q\"]\n\
                      [[predictor]]\nname = \"population\"\nkind = \"population\"\n";
    let long_line = "line 1: the line is longer than 16777216 bytes (16 MiB)";
    let cases: [(&str, &[&str], Option<&str>, &str); 8] = [
        ("a margin", &["fit", "zero_margin.toml", "--out", "out"], None, "/dev/zero, line 1"),
        ("a seed", &["fit", "zero_seed.toml", "--out", "out"], None, "/dev/zero, line 1"),
        ("a spec", &["fit", "/dev/zero", "--out", "out"], None, long_line),
        (
            "a template",
            &["generate", "spec.toml", "-n", "5", "--template", "/dev/zero", "--out", "p.csv"],
            None,
            long_line,
        ),
        ("responses", &["evaluate", "experiment.toml", "--out", "out"], None, long_line),
        ("a truth", &["compare", "--truth", "/dev/zero", "sex.csv"], None, long_line),
        (
            "a zone list on stdin",
            &["fit", "zoned.toml", "--zones", "-", "--out", "out"],
            Some("yes"),
            "longer than 256 MiB",
        ),
        ("a zone list file", &["fit", "zoned.toml", "--zones", "/dev/zero", "--out", "out"], None, long_line),
    ];
    let files = [
        ("spec.toml", margin_spec.to_string()),
        ("sex.csv", sex.to_string()),
        ("zero_margin.toml", "[[margin]]\nfile = \"/dev/zero\"\n".to_string()),
        ("zero_seed.toml", format!("[seed]\nfile = \"/dev/zero\"\n{margin_spec}")),
        ("zoned.toml", zoned.to_string()),
        ("zsex.csv", "zone,sex,count\na,female,6\na,male,4\n".to_string()),
        ("seed.csv", "sex\nfemale\nmale\n".to_string()),
        ("experiment.toml", experiment.to_string()),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    let dir = folder(&files);
    for (what, args, stdin_from, message) in cases {
        let start = std::time::Instant::now();
        let mut command = std::process::Command::new(populace().get_program());
        command.current_dir(dir.path()).args(args).stdout(std::process::Stdio::null());
        command.stderr(std::process::Stdio::piped());
        let mut feeder = None;
        if let Some(program) = stdin_from {
            let mut child = std::process::Command::new(program).stdout(std::process::Stdio::piped()).spawn().unwrap();
            command.stdin(child.stdout.take().unwrap());
            feeder = Some(child);
        }
        let output = command.output().unwrap();
        if let Some(mut child) = feeder {
            let _ = child.kill();
            let _ = child.wait();
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{what}: {stderr}");
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "{what}: {:?}", start.elapsed());
        assert!(!dir.path().join("out").exists() && !dir.path().join("p.csv").exists(), "{what} wrote something");
    }
}

/// Sizes that cannot be held are refused before allocating, naming what they need: external
/// `repeats = 10^7` (was an abort, "memory allocation of … bytes failed") and `world --persons
/// 10^12` (the same).
#[test]
fn requests_and_worlds_larger_than_memory_are_refused_before_allocating() {
    let mut csv = String::from("id,age,q\n");
    for i in 0..100 {
        csv.push_str(&format!("p{i},{},{}\n", ["young", "old"][i % 2], ["a", "b"][i / 2 % 2]));
    }
    let spec = "[data]\nfile = \"responses.csv\"\nid = \"id\"\nprofile = [\"age\"]\nitems = [\"q\"]\n\
                [[predictor]]\nname = \"population\"\nkind = \"population\"\n\
                [[predictor]]\nname = \"sim\"\nkind = \"external\"\ncommand = \"cat\"\nrepeats = 1000000000\n\
                [evaluation]\nfolds = 2\nbootstrap = 10\n";
    let dir = folder(&[("responses.csv", csv.as_str()), ("spec.toml", spec)]);
    let cases: [(&[&str], &str); 2] = [
        (&["evaluate", "spec.toml", "--out", "out"], "predictor \"sim\": 50000000000 requests (50 persons × repeats"),
        (&["world", "--persons", "1000000000000", "--out", "world.csv"], "a world of 1000000000000 persons"),
    ];
    for (args, message) in cases {
        let output = populace().current_dir(dir.path()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(BAD_INPUT), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains("of memory is available"), "{args:?}: {stderr}");
        assert!(!dir.path().join("out").exists() && !dir.path().join("world.csv").exists());
    }
}
