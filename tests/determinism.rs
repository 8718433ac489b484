//! The same inputs give byte-identical outputs at any thread count: the fit's parallel passes
//! split the table into chunks that depend only on its shape and reduce them in order.

mod common;

use std::path::Path;

use common::{fit_with_1_2_and_8_threads, populace, root};

/// A 4-way table of 18×16×15×14 = 60,480 cells (several chunks per pass) with four
/// overlapping two-way margins taken from a deterministic pseudo-random truth.
fn write_problem(dir: &Path) {
    let sizes = [18usize, 16, 15, 14];
    let names = ["a", "b", "c", "d"];
    let cells: usize = sizes.iter().product();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let truth: Vec<f64> = (0..cells)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            1.0 + (state % 1000) as f64 / 10.0
        })
        .collect();
    let mut spec = String::new();
    for (k, (x, y)) in [(0, 1), (1, 2), (2, 3), (3, 0)].into_iter().enumerate() {
        let mut sums = vec![0.0; sizes[x] * sizes[y]];
        for (i, v) in truth.iter().enumerate() {
            let mut codes = [0usize; 4];
            let mut rest = i;
            for d in (0..4).rev() {
                codes[d] = rest % sizes[d];
                rest /= sizes[d];
            }
            sums[codes[x] * sizes[y] + codes[y]] += v;
        }
        let mut text = format!("{},{},count\n", names[x], names[y]);
        for (j, s) in sums.iter().enumerate() {
            text.push_str(&format!("{}{},{}{},{s}\n", names[x], j / sizes[y], names[y], j % sizes[y]));
        }
        std::fs::write(dir.join(format!("m{k}.csv")), text).unwrap();
        spec.push_str(&format!("[[margin]]\nfile = \"m{k}.csv\"\n"));
    }
    spec.push_str("[fit]\ntolerance = 1e-9\n");
    std::fs::write(dir.join("spec.toml"), spec).unwrap();
}

#[test]
fn fit_output_is_byte_identical_with_1_2_and_8_threads() {
    let dir = tempfile::tempdir().unwrap();
    write_problem(dir.path());
    let outputs = fit_with_1_2_and_8_threads(dir.path(), "joint.csv");
    assert!(outputs[0].len() > 60_480 * 10);
    assert!(outputs[0] == outputs[1], "1 and 2 threads differ");
    assert!(outputs[0] == outputs[2], "1 and 8 threads differ");
}

/// Runs `populace ARGS` in the repository with `RAYON_NUM_THREADS=threads` and returns the bytes
/// of each file of `outputs`.
fn run_with_threads(threads: &str, args: &[&str], outputs: &[&Path]) -> Vec<Vec<u8>> {
    populace().args(args).arg("--quiet").env("RAYON_NUM_THREADS", threads).current_dir(root()).assert().success();
    outputs.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs the same command with 1, 2 and 8 threads, and twice with 2, and asserts that every
/// output is byte-identical across the four runs.
fn assert_identical_runs(what: &str, args: impl Fn(&Path) -> Vec<String>, outputs: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (k, threads) in ["1", "2", "8", "2"].into_iter().enumerate() {
        let folder = dir.path().join(format!("run{k}"));
        let args = args(&folder);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let paths: Vec<std::path::PathBuf> = outputs.iter().map(|o| folder.join(o)).collect();
        let paths: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
        runs.push((threads, run_with_threads(threads, &args, &paths)));
    }
    let (_, first) = &runs[0];
    assert!(first.iter().all(|bytes| bytes.len() > 100), "{what}: outputs are written");
    for (k, (threads, files)) in runs.iter().enumerate().skip(1) {
        for (o, (a, b)) in outputs.iter().zip(first.iter().zip(files)) {
            assert!(a == b, "{what}: {o} differs between 1 thread and run {k} with {threads} threads");
        }
    }
}

#[test]
fn generate_is_byte_identical_across_threads_and_runs() {
    // exact mode from a seed-method fit with integerization, with cards, in CSV
    assert_identical_runs(
        "generate",
        |folder| {
            let out = folder.join("pool.csv").display().to_string();
            ["generate", "calibration/acs2012_rake.toml", "-n", "20000", "--seed", "5", "--out", &out]
                .map(String::from)
                .to_vec()
        },
        &["pool.csv"],
    );
}

/// The shipped world experiment with fewer bootstrap replicates, in `dir`.
fn small_world_experiment(dir: &Path) -> String {
    let text = std::fs::read_to_string(root().join("calibration/experiment_world.toml")).unwrap();
    let data = root().join("marginals/world/world.csv");
    let text = text
        .replace("file = \"../marginals/world/world.csv\"", &format!("file = {:?}", data.display().to_string()))
        .replace("bootstrap = 500", "bootstrap = 60")
        .replace("folds = 5", "folds = 3");
    assert!(text.contains("bootstrap = 60") && text.contains("world.csv\""), "the shipped experiment changed");
    let spec = dir.join("experiment.toml");
    std::fs::write(&spec, text).unwrap();
    spec.display().to_string()
}

#[test]
fn evaluate_is_byte_identical_across_threads_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_world_experiment(dir.path());
    assert_identical_runs(
        "evaluate",
        |folder| ["evaluate", &spec, "--out", &folder.display().to_string()].map(String::from).to_vec(),
        &["evaluation.json", "summary.md"],
    );
}
