//! The same inputs give byte-identical outputs at any thread count: the fit's parallel passes
//! split the table into chunks that depend only on its shape and reduce them in order.

use std::path::Path;

use assert_cmd::Command;

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
    let mut outputs = Vec::new();
    for threads in ["1", "2", "8"] {
        let out = format!("out{threads}");
        Command::cargo_bin("populace")
            .unwrap()
            .args(["fit", "spec.toml", "--quiet", "--out", &out])
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(dir.path())
            .assert()
            .success();
        outputs.push(std::fs::read(dir.path().join(&out).join("joint.csv")).unwrap());
    }
    assert!(outputs[0].len() > 60_480 * 10);
    assert!(outputs[0] == outputs[1], "1 and 2 threads differ");
    assert!(outputs[0] == outputs[2], "1 and 8 threads differ");
}
