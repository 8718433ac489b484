//! Helpers shared by the fuzz targets: a fuzz input is a set of small files separated by a
//! marker line. The targets hand the parts to the library's in-memory entry points
//! (`ProblemBuilder::from_spec` with CSV text, `Table::from_reader`, `specfile::parse` and
//! `Dataset::from_reader`), so that no run touches the disk.

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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
