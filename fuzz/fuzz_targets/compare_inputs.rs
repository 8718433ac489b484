//! Fuzzes `populace compare`'s reader and scores: a truth and a pool CSV are written to a
//! temporary folder, read with `Table::read` and compared. Any error is fine; a panic, a hang
//! or an absurd allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::comparison::{compare, CompareOptions, ReadOptions, Table};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    populace_fuzz::write_parts(dir.path(), data, &["truth.csv", "pool.csv"]);
    let options = ReadOptions::default();
    let Ok(truth) = Table::read(&dir.path().join("truth.csv"), &options) else { return };
    let Ok(pool) = Table::read(&dir.path().join("pool.csv"), &options) else { return };
    if let Ok(comparison) = compare(&truth, &[pool], &CompareOptions::default()) {
        let _ = comparison.table();
    }
});
