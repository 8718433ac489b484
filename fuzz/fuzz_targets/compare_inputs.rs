//! Fuzzes `populace compare`'s reader and scores: a truth and a pool CSV are read from the
//! input's bytes with `Table::from_reader` and compared. Any error is fine; a panic, a hang or
//! an absurd allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::comparison::{compare, CompareOptions, ReadOptions, Table};

fuzz_target!(|data: &[u8]| {
    let parts = populace_fuzz::parts(data, 2);
    let options = ReadOptions::default();
    let Ok(truth) = Table::from_reader(parts[0], "truth.csv", &options) else { return };
    let Some(&pool) = parts.get(1) else { return }; // no pool: nothing to compare
    let Ok(pool) = Table::from_reader(pool, "pool.csv", &options) else { return };
    if let Ok(comparison) = compare(&truth, &[pool], &CompareOptions::default()) {
        let _ = comparison.table();
    }
});
