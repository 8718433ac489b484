//! `populace evaluate` kernels at the scale of 100,000 persons in 5 folds: one logistic fit
//! on 80,000 training rows with profile-like features (three attributes, 18 patterns) and with
//! history-like ones (nine five-option answers plus "missing", mostly distinct patterns).
//! And whole experiments on 20,000 persons with cheap predictors (population and cell), where
//! the time goes to the bootstrap of the scores over persons, and with a persona pool of
//! 20,000 persons on top. Run with `cargo bench --bench evaluate`.

use criterion::{criterion_group, criterion_main, Criterion};
use populace::evaluation::world::WorldSpec;
use populace::evaluation::{
    Cell, CellParams, DataSpec, Dataset, EvaluationSpec, Experiment, Logistic, PoolSpec, Population, PopulationParams,
    SimulationSpec,
};

const ROWS: usize = 80_000;
const CLASSES: usize = 5;

/// Deterministic pseudo-random numbers in [0, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An option of `k` driven by the latent trait `t` in [0, 1) plus noise.
    fn option(&mut self, t: f64, k: usize) -> usize {
        (((t + self.next()) / 2.0 * k as f64) as usize).min(k - 1)
    }
}

/// One-hot rows over attributes with `levels`, each level driven by a shared trait, and the
/// class the trait drives too.
fn rows(levels: &[usize], seed: u64) -> (Vec<Vec<usize>>, Vec<usize>, usize) {
    let mut noise = Noise(seed);
    let (mut rows, mut y) = (Vec::with_capacity(ROWS), Vec::with_capacity(ROWS));
    for _ in 0..ROWS {
        let t = noise.next();
        let mut offset = 0;
        let mut row = Vec::with_capacity(levels.len());
        for &k in levels {
            row.push(offset + noise.option(t, k));
            offset += k;
        }
        rows.push(row);
        y.push(noise.option(t, CLASSES));
    }
    (rows, y, levels.iter().sum())
}

fn logistic(c: &mut Criterion) {
    let mut group = c.benchmark_group("logistic_fit_80k");
    group.sample_size(10);
    for (name, levels) in [("profile", vec![3, 2, 3]), ("history", vec![6; 9])] {
        let (rows, y, features) = rows(&levels, 11);
        group.bench_function(name, |b| {
            b.iter(|| Logistic::fit(&rows, &y, CLASSES, features, 1.0).map(|m| m.predict(&rows[0])))
        });
    }
    group.finish();
}

/// An experiment with the population baseline and the cell predictor, 5 folds and 200
/// bootstrap replicates, 2 simulated answers per person.
fn experiment() -> Experiment {
    Experiment::new()
        .with_predictor(Box::new(Population::new("population", PopulationParams::default()).unwrap()))
        .with_predictor(Box::new(Cell::new("cell", CellParams::default()).unwrap()))
        .with_evaluation(EvaluationSpec::default().bootstrap(200))
        .with_simulation(SimulationSpec::default().repeats(2))
}

fn experiments(c: &mut Criterion) {
    const PERSONS: usize = 20_000;
    let world = |seed| WorldSpec { persons: PERSONS, seed, ..WorldSpec::default() };
    let columns = DataSpec::new("world", "person_id", ["age_group", "sex"], ["q1", "q2", "q3", "choice"]);
    let groups = ["region".to_string(), "age_group".to_string()];
    let data = Dataset::from_reader(&world(1).to_csv()[..], &columns.ordinal(["q1", "q2", "q3"]), &groups).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pool = dir.path().join("pool.csv");
    world(2).write_csv(&pool).unwrap();
    let mut group = c.benchmark_group("experiment_20k");
    group.sample_size(10);
    group.bench_function("score", |b| b.iter(|| experiment().run(&data, &mut |_| {}).unwrap()));
    group.bench_function("score_with_pool", |b| {
        b.iter(|| experiment().with_pool(PoolSpec::new("pool", &pool)).run(&data, &mut |_| {}).unwrap())
    });
    group.finish();
}

criterion_group!(benches, logistic, experiments);
criterion_main!(benches);
