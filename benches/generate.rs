//! Persons per second of `populace generate`'s drawing and encoding, to an in-memory sink (no
//! disk): the shipped ACS 2012 spec with the default persona cards, and without cards.
//!
//! Run with `cargo bench --bench generate`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use populace::generation::{Format, GenerateOptions, Mode, Pool};
use populace::inputs::{FitOptions, LoadOptions, Problem, Spec};

const PERSONS: u64 = 1_000_000;

fn acs() -> (Problem, FitOptions) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/acs2012.toml");
    let spec = Spec::from_path(&path).expect("the shipped spec reads");
    (Problem::load(&spec, LoadOptions::default()).expect("the shipped spec loads"), spec.fit)
}

fn encode(c: &mut Criterion) {
    let (problem, fit) = acs();
    let fitted = populace::fitting::fit(&problem, &fit, &mut []).expect("the spec fits");
    let mut group = c.benchmark_group("generate");
    group.sample_size(10).warm_up_time(std::time::Duration::from_millis(500));
    // Parquet is several times slower per person: fewer of them keep the run short
    let runs = [(true, Format::Csv, 1), (false, Format::Csv, 1), (true, Format::Jsonl, 1), (true, Format::Parquet, 4)];
    for (cards, format, fraction) in runs {
        let persons = PERSONS / fraction;
        group.throughput(Throughput::Elements(persons));
        let mut options = GenerateOptions::default().persons(Some(persons)).mode(Mode::Exact);
        if !cards {
            options.card = None;
        }
        let pool = Pool::from_fitted(&problem, &fitted, &options).expect("the pool plans");
        let name = format!("{format:?}{}", if cards { "" } else { " without cards" }).to_lowercase();
        group.bench_function(BenchmarkId::new("acs2012", name), |b| {
            b.iter(|| pool.write_to(format, std::io::sink(), Path::new("sink"), &mut |_| {}).expect("writes"))
        });
    }
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
