//! Helpers shared by the fuzz targets: a fuzz input is a set of small files separated by a
//! marker line. The fit and compare targets hand the parts to the library's in-memory entry
//! points (`ProblemBuilder::from_spec` with CSV text, `Table::from_reader`); the evaluate target
//! writes them into a fresh temporary folder and reads them through the file API
//! (`ExperimentSpec::from_path`).

use std::path::Path;

/// The line that separates the files of one fuzz input.
pub const MARKER: &[u8] = b"\n%%\n";

/// Splits `data` at every [`MARKER`] into at most `n` parts (fewer when it has fewer markers: a
/// missing file is an input too). The last part keeps any further markers.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    while parts.len() + 1 < n {
        let Some(at) = find(rest, MARKER) else { break };
        parts.push(&rest[..at]);
        rest = &rest[at + MARKER.len()..];
    }
    parts.push(rest);
    parts
}

/// Writes the [`parts`] of `data` to `dir/names[i]` (missing parts are left unwritten).
pub fn write_parts(dir: &Path, data: &[u8], names: &[&str]) {
    for (name, part) in names.iter().zip(parts(data, names.len())) {
        std::fs::write(dir.join(name), part).expect("write a fuzz file");
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Joins files into one fuzz input (for writing seed corpora).
pub fn join_parts(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(MARKER)
}
