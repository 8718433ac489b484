//! External predictors (docs/simulate.md) end to end with a fake simulator
//! (tests/fixtures/fake_simulator.py): the protocol, the cache and resume, and every failure.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{populace, read_json};
use populace::evaluation::{build, Dataset, ExperimentSpec, PredictorKind};
use predicates::str::contains;
use serde_json::Value;

const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_simulator.py");

/// 24 persons, 2 profile attributes, items q1 (a/b/c) and q2 (no/yes, one missing): 47 answers.
fn responses() -> String {
    let mut csv = String::from("person_id,age_group,sex,q1,q2\n");
    for i in 0..24 {
        let q2 = if i == 5 { "" } else { ["no", "yes"][(i / 3) % 2] };
        csv.push_str(&format!(
            "p{i:02},{},{},{},{q2}\n",
            ["18-29", "65+"][i % 2],
            ["female", "male"][(i / 2) % 2],
            ["a", "b", "c"][(i * 7 / 3) % 3]
        ));
    }
    csv
}

/// A folder with the responses and a spec with the population baseline and `predictors`.
fn setup(predictors: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_spec(dir.path(), predictors);
    dir
}

fn write_spec(dir: &Path, predictors: &str) {
    std::fs::write(dir.join("responses.csv"), responses()).unwrap();
    let spec = format!(
        "[data]\nfile = \"responses.csv\"\nid = \"person_id\"\nprofile = [\"age_group\", \"sex\"]\n\
         items = [\"q1\", \"q2\"]\n[[predictor]]\nname = \"population\"\nkind = \"population\"\n\
         {predictors}\n[evaluation]\nfolds = 2\nbootstrap = 20\n"
    );
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
}

/// An external predictor running the fake simulator with extra arguments and spec lines.
fn fake(name: &str, args: &[&str], extra: &str) -> String {
    let args: Vec<String> = std::iter::once(FAKE).chain(args.iter().copied()).map(|a| format!("{a:?}")).collect();
    format!(
        "[[predictor]]\nname = \"{name}\"\nkind = \"external\"\ncommand = \"python3\"\nargs = [{}]\n{extra}\n",
        args.join(", ")
    )
}

fn evaluate(dir: &Path, out: &str, env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
    populace()
        .arg("evaluate")
        .arg(dir.join("spec.toml"))
        .arg("--out")
        .arg(dir.join(out))
        .arg("--quiet")
        .envs(env.iter().copied())
        .timeout(Duration::from_secs(60))
        .assert()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ids(lines: &[Value]) -> HashSet<String> {
    lines.iter().map(|l| l["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn external_predictors_run_end_to_end_then_rerun_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = |f: &str| dir.path().join(f).display().to_string();
    let (sim_log, blind_log) = (log("sim.log"), log("blind.log"));
    let predictors = [
        fake("sim", &["--log", &sim_log], "concurrency = 2"),
        fake("sampled", &["--mode", "sample"], "repeats = 3"),
        fake("blind", &["--log", &blind_log], "persona = false"),
        "[[predictor]]\nname = \"local\"\nkind = \"external\"\ncommand = \"./fake_simulator.py\"\n".to_string(),
    ]
    .concat();
    write_spec(dir.path(), &predictors);
    let local = dir.path().join("fake_simulator.py");
    std::fs::copy(FAKE, &local).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    evaluate(dir.path(), "out", &[]).success();

    let json: Value = read_json(dir.path().join("out/evaluation.json"));
    for name in ["sim", "sampled", "blind", "local"] {
        let p = &json["predictors"][name];
        assert_eq!(p["kind"], "external");
        // The fake never gives an option less than 1/4: no answer costs more than ln 4.
        let nll = p["individual"]["nll"]["estimate"].as_f64().unwrap();
        assert!(nll > 0.0 && nll <= 4f64.ln(), "{name}: {nll}");
        // Sampled answers are the predictor's own draws; the others are drawn by populace.
        let draws = if name == "sampled" { "predictor" } else { "populace" };
        assert_eq!(p["simulation"]["draws"], draws, "{name}");
    }
    // The one sampled three times gives run-to-run variance; with one draw each, the rest
    // cannot, but populace draws five per person from their probabilities.
    assert_eq!(json["predictors"]["sampled"]["simulation"]["variance"]["repeats"], 3);
    assert_eq!(json["predictors"]["sim"]["simulation"]["variance"]["repeats"], 5);
    // One request per answered item and person (q2 has one missing answer), times repeats.
    let cache = dir.path().join("out/cache");
    assert_eq!(lines(&cache.join("sim.jsonl")).len(), 47);
    assert_eq!(lines(&cache.join("sampled.jsonl")).len(), 3 * 47);
    let requests = lines(Path::new(&sim_log));
    assert_eq!(ids(&requests).len(), 47);
    let first = requests.iter().find(|r| r["id"] == "p00/q1/0").unwrap();
    assert_eq!(first["item"], "q1");
    assert_eq!(first["options"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(first["repeat"], 0);
    assert_eq!(first["persona"]["attributes"], serde_json::json!({"age_group": "18-29", "sex": "female"}));
    let card = first["persona"]["card"].as_str().unwrap();
    assert!(card.starts_with("You are") && card.contains("18-29"), "{card}");
    assert!(!ids(&requests).contains("p05/q2/0"), "a person without an answer is not asked");
    assert!(lines(Path::new(&blind_log)).iter().all(|r| r["persona"].is_null()));

    // A rerun asks nothing: every answer comes from the cache.
    evaluate(dir.path(), "out", &[]).success();
    assert_eq!(lines(Path::new(&sim_log)).len(), 47);
    assert_eq!(lines(Path::new(&blind_log)).len(), 47);
    assert_eq!(lines(&cache.join("sim.jsonl")).len(), 47);
}

#[test]
fn sampled_answers_give_draws_and_smoothed_frequencies() {
    let dir = setup(&[fake("sampled", &["--mode", "sample"], "repeats = 4"), fake("probs", &[], "")].concat());
    let spec = ExperimentSpec::from_path(&dir.path().join("spec.toml")).unwrap();
    let data = Dataset::load(&spec.data, &spec.population.groups).unwrap();
    let mut sampled = build(&spec.predictors[1], None).unwrap();
    assert_eq!(sampled.kind(), PredictorKind::External);
    sampled.fit(&data, &[3, 4], 0).unwrap();
    let predictions = sampled.predict(&data, &[0, 1, 2], 0).unwrap();
    assert_eq!(predictions.len(), 3);
    for p in &predictions {
        // The fake answers options[repeat % 3]: a, b, c, a; smoothing 0.5 on 3 options.
        assert_eq!(p.draws, vec![0, 1, 2, 0]);
        let expected = [2.5 / 5.5, 1.5 / 5.5, 1.5 / 5.5];
        assert!(p.probabilities.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{:?}", p.probabilities);
    }
    let mut probs = build(&spec.predictors[2], None).unwrap();
    let p = probs.predict(&data, &[0], 1).unwrap().remove(0);
    assert!(p.draws.is_empty());
    assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(p.probabilities.contains(&(2.0 / 3.0)), "{:?}", p.probabilities);
    // The program keeps running between questions: asking again gives the same answer.
    assert_eq!(probs.predict(&data, &[0], 1).unwrap().remove(0), p);
}

#[test]
fn a_crash_names_the_request_and_a_rerun_resumes() {
    let dir = setup(&fake("sim", &[], ""));
    evaluate(dir.path(), "out", &[("FAKE_MODE", "crash"), ("FAKE_AFTER", "10")])
        .code(3)
        .stderr(contains("predictor \"sim\": process 1 of 1 (pid"))
        .stderr(contains("before answering request \"p"))
        .stderr(contains("exit status: 3"))
        .stderr(contains("fake simulator: boom"));
    let cache = dir.path().join("out/cache/sim.jsonl");
    let kept = ids(&lines(&cache));
    assert_eq!(kept.len(), 10);
    let log = dir.path().join("run2.log");
    evaluate(dir.path(), "out", &[("FAKE_LOG", log.to_str().unwrap())]).success();
    let asked = ids(&lines(&log));
    assert_eq!(lines(&log).len(), 37, "only the missing requests are sent");
    assert!(asked.is_disjoint(&kept));
    assert_eq!(lines(&cache).len(), 47);
}

#[test]
fn a_time_out_stops_the_simulator() {
    let dir = setup(&fake("sim", &[], "timeout_seconds = 3"));
    let pid = dir.path().join("pid");
    let start = Instant::now();
    evaluate(
        dir.path(),
        "out",
        &[("FAKE_MODE", "sleep"), ("FAKE_AFTER", "3"), ("FAKE_SECONDS", "60"), ("FAKE_PID", pid.to_str().unwrap())],
    )
    .code(3)
    .stderr(contains("predictor \"sim\": request \"p"))
    .stderr(contains("timed out: process 1 of 1"))
    .stderr(contains("no answer for 3 s"));
    assert!(start.elapsed() < Duration::from_secs(20));
    let pid = std::fs::read_to_string(pid).unwrap();
    if Path::new("/proc/self").exists() {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the sleeping simulator was not stopped");
    }
    assert_eq!(lines(&dir.path().join("out/cache/sim.jsonl")).len(), 3);
}

#[test]
fn bad_answers_name_the_request_and_the_line() {
    let dir = setup(&fake("sim", &[], ""));
    for (mode, expected) in [
        ("malformed", "line 3 of process 1 of 1"),
        ("malformed", "is not a response (not valid JSON"),
        ("unknown-option", "\"nonsense\" is not one of the options \"a\", \"b\", \"c\""),
        ("bad-sum", "the probabilities sum to 0.5, not 1"),
        ("error", "the simulator reported an error: overloaded"),
        ("unknown-id", "answers the unknown request id \"nobody/asked/0\""),
    ] {
        evaluate(dir.path(), mode, &[("FAKE_MODE", mode), ("FAKE_AFTER", "2")])
            .code(3)
            .stderr(contains("predictor \"sim\""))
            .stderr(contains(expected));
    }
}

#[test]
fn spec_and_command_errors_are_clear() {
    for (predictor, expected) in [
        ("name = \"sim\"\nkind = \"external\"", "predictor \"sim\" of kind = \"external\" needs a command"),
        (
            "name = \"p\"\nkind = \"profile\"\ncommand = \"x\"",
            "predictor \"p\": command is only for kind = \"external\"",
        ),
        ("name = \"sim\"\nkind = \"external\"\ncommand = \"x\"\nrepeats = 0", "repeats must be at least 1"),
        ("name = \"sim\"\nkind = \"external\"\ncommand = \"x\"\nl2 = 1.0", "l2 is not used by kind = \"external\""),
        // A parameter of another kind is an error at its line, whatever the kinds.
        (
            "name = \"c\"\nkind = \"cell\"\nl2 = 1.0",
            "spec.toml, line 12: predictor \"c\": l2 is not used by kind = \"cell\"",
        ),
        (
            "name = \"sim\"\nkind = \"external\"\ncommand = \"x\"\ntimeout_seconds = -1",
            "timeout_seconds must be positive",
        ),
        (
            "name = \"sim\"\nkind = \"external\"\ncommand = \"populace-no-such-simulator\"",
            "cannot start the command \"populace-no-such-simulator\": not found on PATH",
        ),
        ("name = \"sim\"\nkind = \"external\"\ncommand = \"./missing.py\"", "missing.py\": no such file"),
    ] {
        let dir = setup(&format!("[[predictor]]\n{predictor}\n"));
        evaluate(dir.path(), "out", &[]).code(3).stderr(contains(expected));
    }
}
