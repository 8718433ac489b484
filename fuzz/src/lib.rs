//! Helpers shared by the fuzz targets: a fuzz input is a set of small files separated by a
//! marker line, written into a fresh temporary folder so that the library reads them through
//! its ordinary file API (`Spec::from_path`, `Problem::load`, `ExperimentSpec::from_path`, …).

use std::path::Path;

/// The line that separates the files of one fuzz input.
pub const MARKER: &[u8] = b"\n%%\n";

/// Splits `data` at every [`MARKER`] into at most `names.len()` parts and writes part `i` to
/// `dir/names[i]` (missing parts are left unwritten: a missing file is an input too). The last
/// part keeps any further markers.
pub fn write_parts(dir: &Path, data: &[u8], names: &[&str]) {
    let mut rest = data;
    for (i, name) in names.iter().enumerate() {
        let cut = if i + 1 == names.len() { None } else { find(rest, MARKER) };
        let (part, next) = match cut {
            Some(at) => (&rest[..at], Some(&rest[at + MARKER.len()..])),
            None => (rest, None),
        };
        std::fs::write(dir.join(name), part).expect("write a fuzz file");
        match next {
            Some(next) => rest = next,
            None => return,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Joins files into one fuzz input (for writing seed corpora).
pub fn join_parts(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(MARKER)
}
