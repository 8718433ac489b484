//! CSV text encoded by hand where whole blocks of rows are built at once.

/// Appends `s` to `out` as a CSV field, quoted (quotes doubled) only when it holds a comma, a
/// quote or a line end, as the `csv` crate writes it.
pub(crate) fn csv_field(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    if memchr::memchr3(b',', b'"', b'\n', bytes).is_some() || memchr::memchr(b'\r', bytes).is_some() {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_match_the_csv_crate() {
        for s in ["plain", "", "a,b", "say \"hi\"", "two\nlines", "cr\r", "l\r\nm"] {
            let mut ours = Vec::new();
            csv_field(s, &mut ours);
            ours.extend_from_slice(b",x\n");
            let mut theirs = csv::Writer::from_writer(Vec::new());
            theirs.write_record([s, "x"]).unwrap();
            assert_eq!(
                String::from_utf8(ours.clone()).unwrap(),
                String::from_utf8(theirs.into_inner().unwrap()).unwrap()
            );
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&ours[..]);
            let record = reader.records().next().unwrap().unwrap();
            assert_eq!((&record[0], &record[1]), (s, "x"));
        }
    }
}
