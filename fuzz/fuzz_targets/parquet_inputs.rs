//! Fuzzes the Parquet readers: the input's bytes, as a Parquet file, are read as a fit's seed
//! (`ProblemBuilder::from_spec` with a fixed spec naming `seed.parquet` and a CSV margin), as a
//! table to compare (`Table::from_reader`) and as an experiment's responses
//! (`Dataset::from_reader`). Any error is fine; a panic, a hang or an absurd allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use populace::comparison::{ReadOptions, Table};
use populace::evaluation::{DataSpec, Dataset};
use populace::inputs::{Csv, ProblemBuilder, Spec};

const SPEC: &str = "[seed]\nfile = \"seed.parquet\"\n[[margin]]\nfile = \"sex.csv\"\n[fit]\nmethod = \"rake\"\n";
const MARGIN: &str = "sex,count\nfemale,60\nmale,40\n";

fuzz_target!(|data: &[u8]| {
    // the readers take a file for Parquet by its name or by its first bytes
    if let Ok(spec) = Spec::from_toml_str(SPEC, "spec.toml") {
        let open = |file: &std::path::Path| match file.to_str() {
            Some("sex.csv") => Csv::text("sex.csv", MARGIN),
            _ => Csv::text(file.display().to_string(), data),
        };
        let _ = ProblemBuilder::from_spec(&spec, open).build();
    }
    let _ = Table::from_reader(data, "pool.parquet", &ReadOptions::default());
    let spec = DataSpec::new("responses.parquet", "id", ["sex"], ["q"]);
    let _ = Dataset::from_reader(data, &spec, &[]);
});
