//! Output files of a pool: CSV, JSON Lines and (with the `parquet` feature) Parquet, written
//! batch by batch.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Batch, Sink};
use crate::error::{Error, Location, Result};
use crate::inputs::Problem;
use crate::reports::csvtext::csv_field;

const WITHOUT_PARQUET: &str = "this populace was built without the \"parquet\" feature: write .csv or .jsonl";

/// An output format, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// `.csv`: comma-separated with a header, quoted where needed.
    Csv,
    /// `.jsonl`: one JSON object per line, keys in column order; `person_id` is a number without
    /// zones and a string with zones.
    Jsonl,
    /// `.parquet`: Snappy-compressed; `person_id` Int64 without zones (Utf8 with zones), every
    /// other column Utf8; no nulls. Needs the `parquet` cargo feature (on by default).
    Parquet,
}

impl Format {
    /// The format of a file by its extension (case-insensitive).
    ///
    /// # Errors
    /// [`Error::Input`] naming the extension when it is none of `.csv`, `.jsonl`, `.parquet`,
    /// or `.parquet` in a build without the `parquet` feature.
    pub fn from_path(path: &Path) -> Result<Format> {
        let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        let at = Location::file(path.display().to_string());
        match extension.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") => Ok(Format::Jsonl),
            Some("parquet") if cfg!(feature = "parquet") => Ok(Format::Parquet),
            Some("parquet") => Err(Error::input(at, WITHOUT_PARQUET)),
            Some(other) => Err(Error::input(
                at,
                format!("unknown output format \".{other}\": the extension must be .csv, .jsonl or .parquet"),
            )),
            None => Err(Error::input(at, "the output file has no extension: end it in .csv, .jsonl or .parquet")),
        }
    }
}

/// The columns every file sink writes.
struct Layout {
    names: Vec<String>,
    zoned: bool,
    card: bool,
}

/// A sink writing one of the [`Format`]s to a writer.
pub(crate) struct FileSink<W: Write + Send> {
    /// The file, for messages.
    path: PathBuf,
    kind: Kind<W>,
}

enum Kind<W: Write + Send> {
    Csv(CsvSink<W>),
    Jsonl(JsonlSink<W>),
    #[cfg(feature = "parquet")]
    Parquet(parquet_sink::ParquetSink<W>),
}

impl<W: Write + Send> FileSink<W> {
    /// Starts a file (writes the CSV header); `path` names it in errors.
    pub(crate) fn new(
        format: Format,
        writer: W,
        path: &Path,
        problem: &Problem,
        zoned: bool,
        card: bool,
    ) -> Result<Self> {
        let layout =
            Layout { names: problem.domain.attributes().iter().map(|a| a.name().to_string()).collect(), zoned, card };
        let err = |e| Error::write(path, e);
        let kind = match format {
            Format::Csv => Kind::Csv(CsvSink::new(writer, problem, layout).map_err(err)?),
            Format::Jsonl => Kind::Jsonl(JsonlSink::new(writer, problem, layout)),
            #[cfg(feature = "parquet")]
            Format::Parquet => Kind::Parquet(parquet_sink::ParquetSink::new(writer, &layout).map_err(err)?),
            #[cfg(not(feature = "parquet"))]
            Format::Parquet => return Err(Error::input(Location::file(path.display().to_string()), WITHOUT_PARQUET)),
        };
        Ok(FileSink { path: path.to_path_buf(), kind })
    }

    /// Ends the file and hands back the writer.
    pub(crate) fn finish(self) -> Result<W> {
        match self.kind {
            Kind::Csv(sink) => Ok(sink.writer),
            Kind::Jsonl(sink) => Ok(sink.writer),
            #[cfg(feature = "parquet")]
            Kind::Parquet(sink) => sink.finish().map_err(|e| Error::write(self.path, e)),
        }
    }
}

impl<W: Write + Send> Sink for FileSink<W> {
    fn write(&mut self, batch: &Batch<'_>) -> Result<()> {
        let written = match &mut self.kind {
            Kind::Csv(sink) => sink.write(batch),
            Kind::Jsonl(sink) => sink.write(batch),
            #[cfg(feature = "parquet")]
            Kind::Parquet(sink) => sink.write(batch),
        };
        written.map_err(|e| Error::write(&self.path, e))
    }
}

/// The end of a line (all but the identifier) of every kind of one epoch (see [`Batch::kinds`]),
/// encoded once.
#[derive(Default)]
struct Tails {
    epoch: u64,
    bytes: Vec<u8>,
    /// Where each kind's end is in `bytes`, `None` until encoded.
    spans: Vec<Option<(usize, usize)>>,
}

impl Tails {
    /// Appends to `line` the end of the line of person `i`, of kind `kind` in `epoch`: cached,
    /// or encoded by `encode` and cached.
    fn append(&mut self, epoch: u64, kind: u32, line: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
        if epoch != self.epoch {
            *self = Tails { epoch, ..Tails::default() };
        }
        let kind = kind as usize;
        let span = match self.spans.get(kind) {
            Some(&Some(span)) => span,
            _ => {
                let start = self.bytes.len();
                encode(&mut self.bytes);
                if self.spans.len() <= kind {
                    self.spans.resize(kind + 1, None);
                }
                self.spans[kind] = Some((start, self.bytes.len()));
                (start, self.bytes.len())
            }
        };
        line.extend_from_slice(&self.bytes[span.0..span.1]);
    }
}

/// CSV with a header; categories encoded once, and the end of the line once per kind. Fields
/// are quoted only when they hold a comma, a double quote or a line break (quotes doubled), as
/// RFC 4180 and the `csv` crate do.
struct CsvSink<W: Write> {
    writer: W,
    layout: Layout,
    /// Every category as a CSV field, per attribute.
    values: Vec<Vec<Vec<u8>>>,
    /// The lines being encoded.
    lines: Vec<u8>,
    tails: Tails,
}

/// What goes before and after the number of a person's identifier: nothing without zones;
/// `ZONE-` (quoted as the whole identifier needs) with zones.
fn id_affixes(zone: Option<&str>, field: impl Fn(&str, &mut Vec<u8>)) -> (Vec<u8>, Vec<u8>) {
    let Some(zone) = zone else { return (Vec::new(), Vec::new()) };
    let mut prefix = Vec::new();
    field(&format!("{zone}-"), &mut prefix);
    // digits need no quoting or escaping, so a quoted `ZONE-` ends the identifier too
    let suffix = match prefix.last() {
        Some(b'"') => prefix.pop().map(|q| vec![q]).unwrap_or_default(),
        _ => Vec::new(),
    };
    (prefix, suffix)
}

impl<W: Write> CsvSink<W> {
    fn new(mut writer: W, problem: &Problem, layout: Layout) -> std::io::Result<Self> {
        let mut header = vec!["person_id"];
        if layout.zoned {
            header.push("zone");
        }
        header.extend(layout.names.iter().map(String::as_str));
        if layout.card {
            header.push("card");
        }
        let mut line = Vec::new();
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            csv_field(name, &mut line);
        }
        line.push(b'\n');
        writer.write_all(&line)?;
        let encoded = |c: &String| {
            let mut field = Vec::new();
            csv_field(c, &mut field);
            field
        };
        let values = problem.domain.attributes().iter().map(|a| a.categories().iter().map(encoded).collect()).collect();
        Ok(CsvSink { writer, layout, values, lines: Vec::new(), tails: Tails::default() })
    }

    /// Encodes the whole batch into one buffer and writes it at once.
    fn write(&mut self, batch: &Batch) -> std::io::Result<()> {
        let mut zone = Vec::new();
        csv_field(batch.zone().unwrap_or(""), &mut zone);
        let (prefix, suffix) = id_affixes(batch.zone(), csv_field);
        let CsvSink { writer, layout, values, lines, tails } = self;
        let tail = |i: usize, out: &mut Vec<u8>| {
            if layout.zoned {
                out.push(b',');
                out.extend_from_slice(&zone);
            }
            for (a, values) in values.iter().enumerate() {
                out.push(b',');
                out.extend_from_slice(&values[batch.codes(i)[a] as usize]);
            }
            if layout.card {
                out.push(b',');
                csv_field(batch.card(i).unwrap_or(""), out);
            }
            out.push(b'\n');
        };
        encode_lines(batch, (&prefix, &suffix), tails, lines, tail);
        writer.write_all(lines)
    }
}

/// Fills `lines` with the batch's lines: `affixes.0`, the person's identifier, `affixes.1`, then
/// the rest of the line, encoded by `tail(i, out)` once per kind (cached in `tails`) when the
/// batch has kinds, else per person.
fn encode_lines(
    batch: &Batch,
    affixes: (&[u8], &[u8]),
    tails: &mut Tails,
    lines: &mut Vec<u8>,
    tail: impl Fn(usize, &mut Vec<u8>),
) {
    lines.clear();
    let mut id = Decimal::new(batch.first);
    for i in 0..batch.len() {
        lines.extend_from_slice(affixes.0);
        lines.extend_from_slice(id.bytes());
        id.increment();
        lines.extend_from_slice(affixes.1);
        match batch.kinds() {
            Some((kinds, epoch)) => tails.append(epoch, kinds[i], lines, |out| tail(i, out)),
            None => tail(i, lines),
        }
    }
}

/// A number in decimal, as `write!("{k}")` writes it, counted up in place (identifiers are
/// consecutive).
struct Decimal {
    digits: [u8; 20],
    /// Where the first digit is.
    start: usize,
}

impl Decimal {
    fn new(mut k: u64) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (k % 10) as u8;
            k /= 10;
            if k == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    fn bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }

    /// Adds one (wrapping to 0 past `u64::MAX`'s twenty digits, which no pool reaches).
    fn increment(&mut self) {
        for at in (0..self.digits.len()).rev() {
            if self.digits[at] < b'9' {
                self.digits[at] += 1;
                self.start = self.start.min(at);
                return;
            }
            self.digits[at] = b'0';
        }
        self.start = self.digits.len() - 1;
    }
}

/// JSON Lines with keys and categories escaped once, and the end of the line once per kind.
struct JsonlSink<W: Write> {
    writer: W,
    layout: Layout,
    /// `"name":` per attribute.
    keys: Vec<Vec<u8>>,
    /// Every category as a JSON string, per attribute.
    values: Vec<Vec<Vec<u8>>>,
    /// The lines being encoded.
    lines: Vec<u8>,
    tails: Tails,
}

fn json(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}

/// Appends `s` to `out` as a JSON string.
fn json_string(s: &str, out: &mut Vec<u8>) {
    // writing to a Vec cannot fail
    let _ = serde_json::to_writer(out, s);
}

impl<W: Write> JsonlSink<W> {
    fn new(writer: W, problem: &Problem, layout: Layout) -> Self {
        let attributes = problem.domain.attributes();
        let keys = attributes
            .iter()
            .map(|a| {
                let mut k = json(a.name());
                k.push(b':');
                k
            })
            .collect();
        let values = attributes.iter().map(|a| a.categories().iter().map(|c| json(c)).collect()).collect();
        JsonlSink { writer, layout, keys, values, lines: Vec::new(), tails: Tails::default() }
    }

    /// Encodes the whole batch into one buffer and writes it at once.
    fn write(&mut self, batch: &Batch) -> std::io::Result<()> {
        let zone = batch.zone().map(json);
        let (mut prefix, suffix) = id_affixes(batch.zone(), json_string);
        prefix.splice(0..0, b"{\"person_id\":".iter().copied());
        let JsonlSink { writer, layout, keys, values, lines, tails } = self;
        let tail = |i: usize, out: &mut Vec<u8>| {
            if layout.zoned {
                out.extend_from_slice(b",\"zone\":");
                out.extend_from_slice(zone.as_deref().unwrap_or(b"\"\""));
            }
            for (a, (key, values)) in keys.iter().zip(values.iter()).enumerate() {
                out.push(b',');
                out.extend_from_slice(key);
                out.extend_from_slice(&values[batch.codes(i)[a] as usize]);
            }
            if layout.card {
                out.extend_from_slice(b",\"card\":");
                json_string(batch.card(i).unwrap_or(""), out);
            }
            out.extend_from_slice(b"}\n");
        };
        encode_lines(batch, (&prefix, &suffix), tails, lines, tail);
        writer.write_all(lines)
    }
}

#[cfg(feature = "parquet")]
mod parquet_sink {
    use std::io::Write;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};
    use parquet::arrow::arrow_writer::{
        compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
    };
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::errors::Result;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use rayon::prelude::*;

    use super::{Batch, Layout};

    /// One Arrow record batch per [`Batch`], its columns built and encoded in parallel into the
    /// bytes an [`ArrowWriter`] writes (the same row groups, pages and metadata).
    pub(crate) struct ParquetSink<W: Write + Send> {
        file: SerializedFileWriter<W>,
        factory: ArrowRowGroupWriterFactory,
        schema: SchemaRef,
        /// The row group being filled: a writer per column, and its rows so far.
        group: Option<(Vec<ArrowColumnWriter>, usize)>,
        layout_zoned: bool,
        attributes: usize,
    }

    /// A Parquet or Arrow error as an I/O error; the writer's own I/O error (which the
    /// `parquet` crate wraps as "External: …") as itself, so a full disk reads as one.
    fn io(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
        let e: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        match e.downcast::<parquet::errors::ParquetError>() {
            Ok(parquet) => match *parquet {
                parquet::errors::ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
                    Ok(io) => *io,
                    Err(other) => std::io::Error::other(other),
                },
                other => std::io::Error::other(other),
            },
            Err(other) => std::io::Error::other(other),
        }
    }

    /// Column `c` of a batch (with zones or not, with `attributes` attributes).
    fn column(batch: &Batch, zoned: bool, attributes: usize, c: usize) -> ArrayRef {
        let n = batch.len();
        let attribute = c.wrapping_sub(if zoned { 2 } else { 1 });
        match c {
            0 if zoned => Arc::new(StringArray::from_iter_values((0..n).map(|i| batch.person_id(i).to_string()))),
            0 => Arc::new(Int64Array::from_iter_values((0..n).map(|i| (batch.first + i as u64) as i64))),
            1 if zoned => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(batch.zone().unwrap_or(""), n))),
            _ if attribute < attributes => {
                Arc::new(StringArray::from_iter_values((0..n).map(|i| batch.value(i, attribute))))
            }
            _ => Arc::new(StringArray::from_iter_values((0..n).map(|i| batch.card(i).unwrap_or("")))),
        }
    }

    impl<W: Write + Send> ParquetSink<W> {
        pub(crate) fn new(writer: W, layout: &Layout) -> std::io::Result<Self> {
            let id = if layout.zoned { DataType::Utf8 } else { DataType::Int64 };
            let mut fields = vec![Field::new("person_id", id, false)];
            if layout.zoned {
                fields.push(Field::new("zone", DataType::Utf8, false));
            }
            fields.extend(layout.names.iter().map(|n| Field::new(n, DataType::Utf8, false)));
            if layout.card {
                fields.push(Field::new("card", DataType::Utf8, false));
            }
            let schema = Arc::new(Schema::new(fields));
            let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let writer = ArrowWriter::try_new(writer, schema.clone(), Some(properties)).map_err(io)?;
            let (file, factory) = writer.into_serialized_writer().map_err(io)?;
            Ok(ParquetSink {
                file,
                factory,
                schema,
                group: None,
                layout_zoned: layout.zoned,
                attributes: layout.names.len(),
            })
        }

        pub(crate) fn write(&mut self, batch: &Batch) -> std::io::Result<()> {
            let (zoned, attributes) = (self.layout_zoned, self.attributes);
            let columns: Vec<ArrayRef> =
                (0..self.schema.fields().len()).into_par_iter().map(|c| column(batch, zoned, attributes, c)).collect();
            let record = RecordBatch::try_new(self.schema.clone(), columns).map_err(io)?;
            self.encode(&record).map_err(io)
        }

        /// What [`ArrowWriter::write`] does, with the columns encoded in parallel: rows go to the
        /// row group being filled, which is written when it holds the maximum.
        fn encode(&mut self, record: &RecordBatch) -> Result<()> {
            let rows = record.num_rows();
            if rows == 0 {
                return Ok(());
            }
            let max = self.file.properties().max_row_group_size();
            let (writers, buffered) = match &mut self.group {
                Some(group) => group,
                group => group.insert((self.factory.create_column_writers(self.file.flushed_row_groups().len())?, 0)),
            };
            if *buffered + rows > max {
                let fits = max - *buffered;
                self.encode(&record.slice(0, fits))?;
                return self.encode(&record.slice(fits, rows - fits));
            }
            *buffered += rows;
            let mut leaves = Vec::with_capacity(writers.len());
            for (field, column) in self.schema.fields().iter().zip(record.columns()) {
                leaves.extend(compute_leaves(field, column)?);
            }
            writers.par_iter_mut().zip(leaves).try_for_each(|(writer, leaf)| writer.write(&leaf))?;
            if *buffered >= max {
                self.flush()?;
            }
            Ok(())
        }

        /// Writes the row group being filled, if any.
        fn flush(&mut self) -> Result<()> {
            let Some((writers, _)) = self.group.take() else { return Ok(()) };
            let chunks: Vec<ArrowColumnChunk> =
                writers.into_par_iter().map(ArrowColumnWriter::close).collect::<Result<_>>()?;
            let mut group = self.file.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut group)?;
            }
            group.close()?;
            Ok(())
        }

        pub(crate) fn finish(mut self) -> std::io::Result<W> {
            self.flush().map_err(io)?;
            self.file.into_inner().map_err(io)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::io;
        use parquet::errors::ParquetError;

        #[test]
        fn the_writers_own_io_error_is_not_called_external() {
            let full = std::io::Error::from_raw_os_error(28); // ENOSPC
            let e = io(ParquetError::External(Box::new(full)));
            assert_eq!(e.raw_os_error(), Some(28));
            assert!(!e.to_string().contains("External"), "{e}");
            assert!(io(ParquetError::General("bad".into())).to_string().contains("bad"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_display() {
        for k in [0, 7, 10, 99, 1234567, 999_999, u64::MAX - 1] {
            let mut d = Decimal::new(k);
            assert_eq!(d.bytes(), k.to_string().as_bytes());
            d.increment();
            assert_eq!(d.bytes(), (k + 1).to_string().as_bytes());
        }
    }

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.csv")).unwrap(), Format::Csv);
        assert_eq!(Format::from_path(Path::new("b.JSONL")).unwrap(), Format::Jsonl);
        let e = Format::from_path(Path::new("out.xlsx")).unwrap_err().to_string();
        assert!(e.contains("\".xlsx\"") && e.starts_with("out.xlsx"), "{e}");
        assert!(Format::from_path(Path::new("out")).is_err());
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn parquet_is_a_format() {
        assert_eq!(Format::from_path(Path::new("p.parquet")).unwrap(), Format::Parquet);
    }
}
