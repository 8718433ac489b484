//! Parquet input: every reader of a table (seed, margins, zone map, `compare`'s truth and
//! pools, `evaluate`'s responses and pools) takes a Parquet file where it takes a CSV file.
//!
//! A file is Parquet when its name ends in `.parquet` or its bytes start with the magic
//! `PAR1`. It is read record batch by record batch into a [`Frame`] of text values, which the
//! readers' in-memory paths then check as they check a frame: places are rows (from 1). Text
//! columns (plain or dictionary-encoded) are trimmed as CSV fields are; integers and booleans
//! read as their text, floats as their shortest round-trip text without a trailing `.0` (the
//! count `2.0` reads as `2`); a null is a missing value.
//!
//! The `parquet` crate can panic on a malformed file (an `unwrap` in its metadata decoder, found
//! by fuzzing): the reading runs under `catch_unwind`, with the panic's message kept off stderr
//! (a panic hook, installed once, that is silent while a file is decoded and otherwise passes
//! on to the hook before it), and such a file is an error like any other malformed one.

use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::frame::Frame;

/// What an input file holds: CSV text, or a Parquet table read into a frame.
#[derive(Debug)]
pub(crate) enum Contents {
    /// The bytes of CSV text.
    Csv(Vec<u8>),
    /// A Parquet file's rows.
    Parquet(Frame),
}

impl Contents {
    /// Reads the file `path`, named `display` in messages.
    pub fn read(path: &Path, display: &str) -> Result<Contents> {
        let bytes = crate::memory::read_file(path, display)?;
        Contents::of(bytes, display)
    }

    /// The contents of `bytes`, the file named `display`: Parquet when the name ends in
    /// `.parquet` or the bytes start with `PAR1`, else CSV text.
    pub fn of(bytes: Vec<u8>, display: &str) -> Result<Contents> {
        let named = Path::new(display).extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let magic = bytes.starts_with(MAGIC);
        if named && !magic {
            return Err(Error::input(
                Location::file(display),
                "the file is named .parquet but is not Parquet (it does not start with \"PAR1\"); \
                 rename a CSV file to .csv",
            ));
        }
        if magic {
            read_frame(bytes, display).map(Contents::Parquet)
        } else {
            Ok(Contents::Csv(bytes))
        }
    }
}

/// The first (and last) four bytes of every Parquet file.
const MAGIC: &[u8] = b"PAR1";

#[cfg(not(feature = "parquet"))]
fn read_frame(_: Vec<u8>, display: &str) -> Result<Frame> {
    Err(Error::input(
        Location::file(display),
        "the file is Parquet, but this populace was built without the \"parquet\" feature and cannot read it; \
         save it as CSV",
    ))
}

#[cfg(feature = "parquet")]
use convert::read_frame;

#[cfg(feature = "parquet")]
mod convert {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        ArrowPrimitiveType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type,
        UInt32Type, UInt64Type, UInt8Type,
    };
    use arrow_array::{Array, BooleanArray, RecordBatch, RecordBatchReader};
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::cell::Cell;
    use std::panic::AssertUnwindSafe;
    use std::sync::Once;

    use crate::error::{Error, Location, Result};
    use crate::frame::{Dictionary, Frame, FrameBuilder, Rejected};

    /// Rows per record batch.
    const BATCH: usize = 65_536;

    /// Reads the Parquet file `bytes` (named `display`) into a frame of text values; a panic
    /// of the decoder is an error (see the module docs).
    pub(super) fn read_frame(bytes: Vec<u8>, display: &str) -> Result<Frame> {
        quietly(|| decode(bytes, display)).unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(Error::input(Location::file(display), format!("malformed Parquet: the reader failed on it ({why})")))
        })
    }

    thread_local! {
        static DECODING: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f`, catching a panic, which no panic hook reports (see the module docs).
    fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !DECODING.with(Cell::get) {
                    previous(info);
                }
            }));
        });
        DECODING.with(|d| d.set(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(f));
        DECODING.with(|d| d.set(false));
        result
    }

    fn decode(bytes: Vec<u8>, display: &str) -> Result<Frame> {
        let location = Location::file(display);
        let malformed = |e: &dyn std::fmt::Display| Error::input(location.clone(), format!("malformed Parquet: {e}"));
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .map_err(|e| malformed(&e))?
            .with_batch_size(BATCH)
            .build()
            .map_err(|e| malformed(&e))?;
        let schema = reader.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if names.is_empty() {
            return Err(Error::input(location, "the Parquet file has no columns"));
        }
        for (field, name) in schema.fields().iter().zip(&names) {
            Texts::check(field.data_type()).map_err(|t| unsupported(&location, name, t))?;
        }
        let mut frame = FrameBuilder::new(names.iter().map(|&n| (n, Dictionary::learned())))
            .map_err(|e| Error::input(location.clone(), e.to_string()))?;
        let mut buffers = vec![String::new(); names.len()];
        for batch in reader {
            let batch: RecordBatch = batch.map_err(|e| malformed(&e))?;
            let columns = batch
                .columns()
                .iter()
                .zip(&names)
                .map(|(array, name)| Texts::new(array.as_ref()).map_err(|t| unsupported(&location, name, t)))
                .collect::<Result<Vec<_>>>()?;
            for row in 0..batch.num_rows() {
                let values = columns.iter().zip(buffers.iter_mut()).map(|(c, b)| c.text(row, b));
                if let Err(Rejected::Full { column } | Rejected::Unknown { column }) = frame.push(values) {
                    return Err(Error::input(
                        location.at_column(names[column]),
                        "the column has more distinct values than codes can name (2^32 - 1)",
                    ));
                }
            }
        }
        Ok(frame.finish())
    }

    fn unsupported(location: &Location, column: &str, data_type: &DataType) -> Error {
        Error::input(
            location.at_column(column),
            format!(
                "Parquet column type {data_type} cannot be read: columns must be text, integers, floats or booleans"
            ),
        )
    }

    /// Writes a row's number into a buffer; `false` when it is null.
    type Writer<'a> = Box<dyn Fn(usize, &mut String) -> bool + 'a>;

    /// A column of a record batch, read as text row by row.
    enum Texts<'a> {
        Utf8(&'a arrow_array::StringArray),
        LargeUtf8(&'a arrow_array::LargeStringArray),
        Utf8View(&'a arrow_array::StringViewArray),
        Boolean(&'a BooleanArray),
        /// Numbers: writes a row's value into the buffer, `false` when it is null.
        Number(Writer<'a>),
        /// A dictionary-encoded column: each row's key (`None` when null), and the text of
        /// each value of the dictionary.
        Dictionary(Vec<Option<usize>>, Vec<Option<String>>),
    }

    impl<'a> Texts<'a> {
        /// Whether columns of type `t` can be read, else the offending type.
        fn check(t: &DataType) -> std::result::Result<(), &DataType> {
            match t {
                DataType::Dictionary(_, values) => Texts::check(values),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => Ok(()),
                DataType::Float32 | DataType::Float64 => Ok(()),
                t if t.is_integer() => Ok(()),
                t => Err(t),
            }
        }

        /// The texts of `array`, or its type when it cannot be read.
        fn new(array: &'a dyn Array) -> std::result::Result<Texts<'a>, &'a DataType> {
            let texts = match array.data_type() {
                DataType::Utf8 => array.as_string_opt::<i32>().map(Texts::Utf8),
                DataType::LargeUtf8 => array.as_string_opt::<i64>().map(Texts::LargeUtf8),
                DataType::Utf8View => array.as_string_view_opt().map(Texts::Utf8View),
                DataType::Boolean => array.as_boolean_opt().map(Texts::Boolean),
                DataType::Int8 => numbers::<Int8Type>(array, integer),
                DataType::Int16 => numbers::<Int16Type>(array, integer),
                DataType::Int32 => numbers::<Int32Type>(array, integer),
                DataType::Int64 => numbers::<Int64Type>(array, integer),
                DataType::UInt8 => numbers::<UInt8Type>(array, integer),
                DataType::UInt16 => numbers::<UInt16Type>(array, integer),
                DataType::UInt32 => numbers::<UInt32Type>(array, integer),
                DataType::UInt64 => numbers::<UInt64Type>(array, integer),
                DataType::Float32 => numbers::<Float32Type>(array, float),
                DataType::Float64 => numbers::<Float64Type>(array, float),
                DataType::Dictionary(..) => match array.as_any_dictionary_opt() {
                    Some(dictionary) => {
                        let values = Texts::new(dictionary.values().as_ref())?;
                        let mut buffer = String::new();
                        let texts = (0..dictionary.values().len())
                            .map(|i| values.text(i, &mut buffer).map(str::to_string))
                            .collect();
                        let keys = dictionary.keys();
                        let rows = dictionary.normalized_keys().into_iter().enumerate();
                        Some(Texts::Dictionary(
                            rows.map(|(row, key)| keys.is_valid(row).then_some(key)).collect(),
                            texts,
                        ))
                    }
                    None => None,
                },
                _ => None,
            };
            texts.ok_or(array.data_type())
        }

        /// Row `row`'s text, trimmed (written into `buffer` when it is a number), or `None`
        /// when null.
        fn text<'s>(&'s self, row: usize, buffer: &'s mut String) -> Option<&'s str> {
            let text = match self {
                Texts::Utf8(a) => a.is_valid(row).then(|| a.value(row)),
                Texts::LargeUtf8(a) => a.is_valid(row).then(|| a.value(row)),
                Texts::Utf8View(a) => a.is_valid(row).then(|| a.value(row)),
                Texts::Boolean(a) => a.is_valid(row).then(|| if a.value(row) { "true" } else { "false" }),
                Texts::Number(write) => {
                    buffer.clear();
                    write(row, buffer).then_some(buffer.as_str())
                }
                Texts::Dictionary(keys, texts) => keys[row].and_then(|k| texts[k].as_deref()),
            };
            text.map(str::trim)
        }
    }

    /// The numbers of `array`, of type `T`, each written by `format`.
    fn numbers<T: ArrowPrimitiveType>(array: &dyn Array, format: fn(T::Native, &mut String)) -> Option<Texts<'_>> {
        let array = array.as_primitive_opt::<T>()?;
        Some(Texts::Number(Box::new(move |row, buffer| {
            let valid = array.is_valid(row);
            if valid {
                format(array.value(row), buffer);
            }
            valid
        })))
    }

    /// An integer's text.
    fn integer<N: itoa::Integer>(value: N, buffer: &mut String) {
        buffer.push_str(itoa::Buffer::new().format(value));
    }

    /// A float's shortest round-trip text, without a trailing `.0` (`2.0` is `2`).
    fn float<N: ryu::Float>(value: N, buffer: &mut String) {
        let mut text = ryu::Buffer::new();
        let text = text.format(value);
        buffer.push_str(text.strip_suffix(".0").unwrap_or(text));
    }
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int32Type;
    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int64Array, LargeStringArray, ListArray,
        RecordBatch, StringArray, StringViewArray, UInt8Array,
    };
    use parquet::arrow::ArrowWriter;

    use super::*;

    fn parquet(columns: Vec<(&str, ArrayRef)>) -> Vec<u8> {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes
    }

    fn frame(bytes: Vec<u8>, name: &str) -> Result<Frame> {
        match Contents::of(bytes, name)? {
            Contents::Parquet(frame) => Ok(frame),
            Contents::Csv(_) => panic!("{name} read as CSV"),
        }
    }

    fn values(frame: &Frame, col: usize) -> Vec<Option<&str>> {
        (0..frame.rows()).map(|r| frame.value(r, col)).collect()
    }

    #[test]
    fn every_supported_type_reads_as_text_and_nulls_as_missing() {
        let dictionary: DictionaryArray<Int32Type> = vec![Some("b"), None, Some("a")].into_iter().collect();
        let bytes = parquet(vec![
            ("s", Arc::new(StringArray::from(vec![Some(" f "), None, Some("")]))),
            ("l", Arc::new(LargeStringArray::from(vec!["x", "y", "x"]))),
            ("v", Arc::new(StringViewArray::from(vec![Some("long text value here"), Some("z"), None]))),
            ("d", Arc::new(dictionary)),
            ("i", Arc::new(Int64Array::from(vec![Some(1), Some(-20), None]))),
            ("u", Arc::new(UInt8Array::from(vec![255, 0, 7]))),
            ("f", Arc::new(Float64Array::from(vec![Some(2.0), Some(0.1), Some(1e300)]))),
            ("g", Arc::new(Float32Array::from(vec![0.1f32, -0.0, 3.5]))),
            ("b", Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))),
        ]);
        let f = frame(bytes, "t.parquet").unwrap();
        assert_eq!(f.names().collect::<Vec<_>>(), ["s", "l", "v", "d", "i", "u", "f", "g", "b"]);
        assert_eq!(values(&f, 0), [Some("f"), None, Some("")]); // trimmed; empty text is kept as such
        assert_eq!(values(&f, 1), [Some("x"), Some("y"), Some("x")]);
        assert_eq!(values(&f, 2), [Some("long text value here"), Some("z"), None]);
        assert_eq!(values(&f, 3), [Some("b"), None, Some("a")]);
        assert_eq!(values(&f, 4), [Some("1"), Some("-20"), None]);
        assert_eq!(values(&f, 5), [Some("255"), Some("0"), Some("7")]);
        assert_eq!(values(&f, 6), [Some("2"), Some("0.1"), Some("1e300")]);
        assert_eq!(values(&f, 7), [Some("0.1"), Some("-0"), Some("3.5")]);
        assert_eq!(values(&f, 8), [Some("true"), Some("false"), None]);
    }

    #[test]
    fn parquet_is_told_by_its_magic_or_its_name() {
        let bytes = parquet(vec![("sex", Arc::new(StringArray::from(vec!["f"])))]);
        assert_eq!(frame(bytes.clone(), "named.csv").unwrap().rows(), 1);
        assert!(matches!(Contents::of(b"sex\nf\n".to_vec(), "t.csv").unwrap(), Contents::Csv(_)));
        let m = Contents::of(b"sex\nf\n".to_vec(), "t.PARQUET").unwrap_err().to_string();
        assert!(m.starts_with("t.PARQUET: the file is named .parquet but is not Parquet"), "{m}");
        let m = Contents::of(bytes[..bytes.len() - 3].to_vec(), "cut.parquet").unwrap_err().to_string();
        assert!(m.starts_with("cut.parquet: malformed Parquet"), "{m}");
        let m = Contents::of(b"PAR1garbage after the magic".to_vec(), "g.csv").unwrap_err().to_string();
        assert!(m.starts_with("g.csv: malformed Parquet"), "{m}");
    }

    #[test]
    fn a_parquet_zone_map_assigns_regional_records() {
        use crate::inputs::{Csv, MarginInput, Problem, SeedInput, ZoneMap, ZonesInput};
        let map = parquet(vec![
            ("tract", Arc::new(StringArray::from(vec!["t2", "t1"]))),
            ("puma", Arc::new(Int64Array::from(vec![102, 101]))),
        ]);
        let margin = "tract,sex,count\nt1,f,3\nt1,m,2\nt2,f,1\nt2,m,4\n";
        let p = Problem::builder()
            .margin(MarginInput::csv(Csv::text("sex.csv", margin)))
            .seed(SeedInput::csv(Csv::text("persons.csv", "sex,puma\nf,101\nm,101\nf,102\n")))
            .zones(ZonesInput::new("tract").regions("puma", ZoneMap::csv(Csv::text("map", map))))
            .build()
            .unwrap();
        assert_eq!((p.zones[0].records.clone(), p.zones[1].records.clone()), (Some(vec![0, 1]), Some(vec![2])));
    }

    #[test]
    fn unsupported_columns_are_named_with_their_type() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let bytes = parquet(vec![("sex", Arc::new(StringArray::from(vec!["f"]))), ("kids", Arc::new(list))]);
        let m = frame(bytes, "t.parquet").unwrap_err().to_string();
        assert!(m.starts_with("t.parquet, column \"kids\": Parquet column type List("), "{m}");
    }
}
