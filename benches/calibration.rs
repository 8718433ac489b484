//! Seed re-weighting kernels on synthetic microdata: raking, linear, bounded logit and entropy
//! calibration of 100k and 1M records over four attributes (6, 2, 5, 9 levels) to one-way
//! totals, margin-preserving integerization of 100k weights, and seed raking as `populace fit`
//! runs it (records grouped by their seed codes; 1M and 10M records read once from a CSV), and
//! the loading of those seeds from their CSV files (`read_seed`).
//! Run with `cargo bench --bench calibration`.

use criterion::{criterion_group, criterion_main, Criterion};
use populace::calibration::{calibrate, fit_microdata, Calibration, Constraints};
use populace::inputs::{LoadOptions, Problem, Spec};
use populace::integerize::{margin_preserving, round_preserving_total};
use populace::iteration::Stopping;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `populace` command's allocator setting, shared with the command rather than copied.
#[path = "../src/cli/memory.rs"]
mod memory;

const LEVELS: [usize; 4] = [6, 2, 5, 9];

/// Tolerance 1e-8, at most 1000 iterations.
fn stopping() -> Stopping {
    Stopping::new(1e-8, 1000).expect("a valid stopping rule")
}

/// Records with random categories and design weights in [1, 3); targets are the weighted
/// totals of a re-weighting tilted by category (factors 0.8 to 1.2 per attribute).
fn problem(records: usize) -> (Vec<f64>, Constraints) {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut membership = Vec::with_capacity(records * LEVELS.len());
    let mut design = Vec::with_capacity(records);
    let mut targets: Vec<Vec<f64>> = LEVELS.iter().map(|&l| vec![0.0; l]).collect();
    for _ in 0..records {
        let d = rng.random_range(1.0..3.0);
        design.push(d);
        for (m, &l) in LEVELS.iter().enumerate() {
            let cell = rng.random_range(0..l);
            membership.push(cell as u32);
            // tilt the targets by category so the calibration has work to do
            targets[m][cell] += d * (0.8 + 0.4 * cell as f64 / l as f64);
        }
    }
    let total: f64 = targets[0].iter().sum();
    for t in &mut targets[1..] {
        let s: f64 = t.iter().sum();
        t.iter_mut().for_each(|x| *x *= total / s);
    }
    let constraints =
        Constraints::new(membership, LEVELS.to_vec(), targets, vec![None; LEVELS.len()]).expect("valid constraints");
    (design, constraints)
}

fn methods(c: &mut Criterion) {
    let mut group = c.benchmark_group("calibrate");
    group.sample_size(10);
    for records in [100_000, 1_000_000] {
        let (design, constraints) = problem(records);
        for (name, method) in [
            ("rake", Calibration::Rake),
            ("linear", Calibration::Linear),
            ("logit_0.7_1.5", Calibration::logit(0.7, 1.5).expect("valid bounds")),
            ("entropy", Calibration::Entropy),
        ] {
            group.bench_function(format!("{name}/{records}"), |b| {
                b.iter(|| calibrate(&design, &constraints, method, stopping(), &mut []).expect("converges"))
            });
        }
    }
    group.finish();
}

fn integerize(c: &mut Criterion) {
    let (design, constraints) = problem(100_000);
    let calibrated = calibrate(&design, &constraints, Calibration::Rake, stopping(), &mut []).expect("converges");
    let targets: Vec<Vec<u64>> = constraints.targets().iter().map(|t| round_preserving_total(t)).collect();
    c.bench_function("integerize_margins/100000", |b| {
        b.iter(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            margin_preserving(&calibrated.weights, constraints.membership(), &LEVELS, &targets, &mut rng)
                .expect("integerizes")
        })
    });
}

/// A rake spec over a seed of `records` records (the same attributes and tilt as [`problem`])
/// written to `dir`; returns the spec.
fn seed_spec(dir: &std::path::Path, records: usize) -> Spec {
    use std::fmt::Write as _;
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut seed = String::from("a,b,c,d,weight\n");
    let mut targets: Vec<Vec<f64>> = LEVELS.iter().map(|&l| vec![0.0; l]).collect();
    for _ in 0..records {
        let d: f64 = rng.random_range(1.0..3.0);
        let cells: Vec<usize> = LEVELS.iter().map(|&l| rng.random_range(0..l)).collect();
        for (m, &cell) in cells.iter().enumerate() {
            targets[m][cell] += d * (0.8 + 0.4 * cell as f64 / LEVELS[m] as f64);
        }
        writeln!(seed, "{},{},{},{},{d:.3}", cells[0], cells[1], cells[2], cells[3]).expect("string");
    }
    std::fs::write(dir.join("seed.csv"), seed).expect("write seed");
    let total: f64 = targets[0].iter().sum();
    let mut spec = String::from("[seed]\nfile = \"seed.csv\"\nweight = \"weight\"\n");
    for (m, name) in ["a", "b", "c", "d"].iter().enumerate() {
        let sum: f64 = targets[m].iter().sum();
        let rows: String = targets[m].iter().enumerate().map(|(i, t)| format!("{i},{}\n", t * total / sum)).collect();
        std::fs::write(dir.join(format!("{name}.csv")), format!("{name},count\n{rows}")).expect("write margin");
        spec.push_str(&format!("\n[[margin]]\nfile = \"{name}.csv\"\n"));
    }
    spec.push_str("\n[fit]\nmethod = \"rake\"\ntolerance = 1e-6\n");
    std::fs::write(dir.join("spec.toml"), spec).expect("write spec");
    Spec::from_path(&dir.join("spec.toml")).expect("spec")
}

fn seed_raking(c: &mut Criterion) {
    // as the populace command does, so a run's buffers reuse the pages of the run before
    memory::retain_freed_memory();
    let mut group = c.benchmark_group("fit_microdata");
    group.sample_size(10);
    let mut specs = Vec::new();
    for records in [1_000_000, 10_000_000] {
        let dir = tempfile::tempdir().expect("temporary folder");
        let spec = seed_spec(dir.path(), records);
        let problem = Problem::load(&spec, LoadOptions::default()).expect("problem");
        group.bench_function(format!("rake/{records}"), |b| {
            b.iter(|| fit_microdata(&problem, Calibration::Rake, &spec.fit, &mut []).expect("fits"))
        });
        specs.push((records, spec, dir));
    }
    group.finish();
    let mut group = c.benchmark_group("read_seed");
    group.sample_size(10);
    for (records, spec, _dir) in &specs {
        group.bench_function(format!("{records}"), |b| {
            b.iter(|| Problem::load(spec, LoadOptions::default()).expect("problem"))
        });
    }
    group.finish();
}

criterion_group!(benches, methods, integerize, seed_raking);
criterion_main!(benches);
