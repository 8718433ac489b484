//! Splitting the body of a *plain* CSV file — no quote characters, line ends `\n` or `\r\n` —
//! into chunks of whole lines that can be parsed on every core.
//!
//! Without quotes a field can hold neither a comma nor a line end, so lines and fields are
//! found with `memchr` alone, and the result is exactly what the `csv` crate reads (with
//! `Trim::All`): empty lines are skipped, fields are trimmed of ASCII whitespace, line
//! numbers count every physical line. Files with quotes or lone `\r` line ends go through the
//! `csv` crate instead.

use memchr::{memchr, memchr2_iter, memchr_iter};
use rayon::prelude::*;

/// Bytes per chunk (a chunk ends at the first line end after this many bytes).
const CHUNK_BYTES: usize = 1 << 20;

/// Whether `body` can be split by [`chunks`]: no `"`, and every `\r` starts a `\r\n`.
pub(crate) fn is_plain(body: &[u8]) -> bool {
    memchr2_iter(b'"', b'\r', body).all(|i| body[i] == b'\r' && body.get(i + 1) == Some(&b'\n'))
}

/// A run of whole lines of a plain body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk<'a> {
    /// The lines, each ending in `\n` except perhaps the last of the file.
    pub bytes: &'a [u8],
    /// Line number of the chunk's first line.
    pub first_line: u64,
    /// Number of non-empty lines (records) in the chunk.
    pub records: usize,
}

/// Splits a plain body whose first line is `first_line` into chunks of whole lines, counting
/// each chunk's records (on every core).
pub(crate) fn chunks(body: &[u8], first_line: u64) -> Vec<Chunk<'_>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < body.len() {
        let end = match body.get(start + CHUNK_BYTES..).and_then(|rest| memchr(b'\n', rest)) {
            Some(i) => start + CHUNK_BYTES + i + 1,
            None => body.len(),
        };
        pieces.push(&body[start..end]);
        start = end;
    }
    let counts: Vec<(u64, usize)> = pieces.par_iter().map(|p| line_counts(p)).collect();
    let mut line = first_line;
    pieces
        .into_iter()
        .zip(counts)
        .map(|(bytes, (lines, records))| {
            let chunk = Chunk { bytes, first_line: line, records };
            line += lines;
            chunk
        })
        .collect()
}

/// Physical lines and non-empty lines of a run of whole lines.
fn line_counts(bytes: &[u8]) -> (u64, usize) {
    let (mut lines, mut empty, mut start) = (0u64, 0usize, 0usize);
    for end in memchr_iter(b'\n', bytes) {
        lines += 1;
        empty += usize::from(is_empty(&bytes[start..end]));
        start = end + 1;
    }
    if start < bytes.len() {
        lines += 1; // a last line without a line end (never empty: it has bytes)
    }
    (lines, lines as usize - empty)
}

fn is_empty(line: &[u8]) -> bool {
    line.is_empty() || line == b"\r"
}

impl<'a> Chunk<'a> {
    /// The chunk's records: each non-empty line with its line number, `\r\n` stripped.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let bytes = self.bytes;
        let mut start = 0;
        let mut line = self.first_line;
        std::iter::from_fn(move || loop {
            if start >= bytes.len() {
                return None;
            }
            let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let text = &bytes[start..end];
            let number = line;
            start = end + 1;
            line += 1;
            if !is_empty(text) {
                return Some((number, text.strip_suffix(b"\r").unwrap_or(text)));
            }
        })
    }
}

/// Splits a line into exactly `fields.len()` trimmed fields; on a different count returns
/// the number of fields the line has. (A byte loop: fields are short, so it beats a `memchr`
/// call per field.)
pub(crate) fn split<'a>(line: &'a [u8], fields: &mut [&'a [u8]]) -> Result<(), usize> {
    let mut start = 0;
    let mut n = 0;
    for (i, &b) in line.iter().enumerate() {
        if b == b',' {
            if let Some(slot) = fields.get_mut(n) {
                *slot = line[start..i].trim_ascii();
            }
            n += 1;
            start = i + 1;
        }
    }
    if let Some(slot) = fields.get_mut(n) {
        *slot = line[start..].trim_ascii();
    }
    n += 1;
    if n == fields.len() {
        Ok(())
    } else {
        Err(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(body: &[u8]) -> Vec<(u64, Vec<String>)> {
        chunks(body, 2)
            .iter()
            .flat_map(|c| c.lines())
            .map(|(n, l)| {
                (n, l.split(|&b| b == b',').map(|f| String::from_utf8_lossy(f.trim_ascii()).into()).collect())
            })
            .collect()
    }

    #[test]
    fn plain_means_no_quotes_and_no_lone_carriage_returns() {
        assert!(is_plain(b"a,b\r\nc,d\n"));
        assert!(!is_plain(b"a,\"b\"\n"));
        assert!(!is_plain(b"a,b\rc,d\n"));
        assert!(!is_plain(b"a,b\r"));
    }

    #[test]
    fn lines_skip_empty_ones_and_keep_physical_numbers() {
        let got = records(b"1,2\n\n\r\n3, 4 \r\n5,6");
        assert_eq!(
            got,
            vec![
                (2, vec!["1".into(), "2".into()]),
                (5, vec!["3".into(), "4".into()]),
                (6, vec!["5".into(), "6".into()])
            ]
        );
    }

    #[test]
    fn chunks_cut_at_line_ends_and_agree_with_one_pass() {
        let body: Vec<u8> = (0..300_000)
            .flat_map(|i| format!("{i},{}\n{}", i % 7, if i % 1000 == 0 { "\n" } else { "" }).into_bytes())
            .collect();
        let parts = chunks(&body, 2);
        assert!(parts.len() > 1);
        assert_eq!(parts.iter().map(|c| c.records).sum::<usize>(), 300_000);
        let all: Vec<_> = parts.iter().flat_map(|c| c.lines()).collect();
        assert_eq!(all.len(), 300_000);
        // 300 empty lines before record 300000 shift its line number
        assert_eq!(all.last().unwrap().0, 2 + 300_000 + 300 - 1);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn split_trims_and_counts() {
        let mut f = [&b""[..]; 3];
        assert_eq!(split(b" a ,b,\tc", &mut f), Ok(()));
        assert_eq!(f, [&b"a"[..], b"b", b"c"]);
        assert_eq!(split(b"a,b", &mut f), Err(2));
        assert_eq!(split(b"a,b,c,d", &mut f), Err(4));
        assert_eq!(split(b"", &mut [&b""[..]; 1]), Ok(()));
    }
}
