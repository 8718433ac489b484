//! Dense IPF kernels: one sweep over five two-way margins forming a cycle on 10^6- and
//! 10^7-cell tables (seeded and uniform; the uniform one also on the margins' cliques, and
//! building its table), and a full fit of a small table.
//! Run with `cargo bench --bench ipf`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use populace::fitting::{FactoredIpf, Ipf, Table};
use populace::iteration::{Runner, Solver, Stopping};

/// Deterministic pseudo-random numbers in [1, 2).
fn noise(n: usize, mut state: u64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            1.0 + (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Sums of a table onto two dimensions.
fn two_way(sizes: &[usize], table: &[f64], x: usize, y: usize) -> Vec<f64> {
    let table = Table { attributes: (0..sizes.len()).collect(), sizes: sizes.to_vec(), values: table.to_vec() };
    table.marginal(&[x, y]).expect("two of the table's dimensions").values
}

/// Five two-way margins forming a cycle over the first five dimensions (and the sixth on
/// the last), with targets from a random truth.
fn cycle(sizes: &[usize]) -> Vec<(Vec<usize>, Vec<f64>)> {
    let cells = sizes.iter().product();
    let truth = noise(cells, 7);
    [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
        .into_iter()
        .map(|(x, y)| (vec![x, y], two_way(sizes, &truth, x, y)))
        .collect()
}

fn sweeps(c: &mut Criterion) {
    let mut group = c.benchmark_group("ipf_sweep");
    group.sample_size(10);
    for (name, sizes, seeded) in
        [("1e6_seeded", vec![20, 10, 10, 10, 10, 5], true), ("1e7_uniform", vec![20, 20, 10, 10, 10, 25], false)]
    {
        let cells: usize = sizes.iter().product();
        let margins = cycle(&sizes);
        let start = if seeded { noise(cells, 11) } else { vec![1.0; cells] };
        let mut ipf = Ipf::new(sizes.clone(), start, margins);
        group.bench_function(name, |b| b.iter(|| ipf.iterate().unwrap()));
    }
    let sizes = vec![20, 20, 10, 10, 10, 25];
    let mut factored = FactoredIpf::new(sizes.clone(), cycle(&sizes));
    group.bench_function("1e7_uniform_junction_tree", |b| b.iter(|| factored.iterate().unwrap()));
    group.bench_function("1e7_junction_tree_table", |b| b.iter(|| factored.table()));
    group.finish();
}

fn small_fit(c: &mut Criterion) {
    // 5×4×6×3 with three overlapping two-way margins, to 1e-8
    let sizes = vec![5, 4, 6, 3];
    let truth = noise(360, 3);
    let margins: Vec<_> =
        [(0, 1), (1, 2), (2, 3)].into_iter().map(|(x, y)| (vec![x, y], two_way(&sizes, &truth, x, y))).collect();
    let seed = noise(360, 5);
    c.bench_function("ipf_fit_5x4x6x3", |b| {
        b.iter_batched(
            || Ipf::new(sizes.clone(), seed.clone(), margins.clone()),
            |mut ipf| Runner::new(Stopping::new(1e-8, 10_000).expect("a valid stopping rule")).run(&mut ipf).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, sweeps, small_fit);
criterion_main!(benches);
