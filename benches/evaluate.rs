//! `populace evaluate` kernels at the scale of 100,000 persons in 5 folds: one logistic fit
//! on 80,000 training rows with profile-like features (three attributes, 18 patterns) and with
//! history-like ones (nine five-option answers plus "missing", mostly distinct patterns).
//! Run with `cargo bench --bench evaluate`.

use criterion::{criterion_group, criterion_main, Criterion};
use populace::evaluation::Logistic;

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

criterion_group!(benches, logistic);
criterion_main!(benches);
