//! The seed: microdata (one row per record) or a dense table (one row per cell, its count in
//! the weight column). Columns other than the attributes, weight and id are ignored.
//!
//! The file is read whole. A plain body (no quotes; see [`super::plain`]) is decoded in
//! chunks on every core straight into the final arrays; any other body goes through the
//! `csv` crate one record at a time. Both paths decode a record with the same [`Decoder`], so
//! they accept the same files and report the same first error.
//!
//! Codes are stored as a [`Frame`], in the narrowest unsigned type that holds every
//! attribute's categories ([`Codes`]): one byte per value for most surveys, a quarter of the
//! memory and of the traffic of 32-bit codes when the seed is grouped or aggregated.
//!
//! [`Codes`]: crate::frame::Codes

use csv::ByteRecord;
use rayon::prelude::*;

use super::csvfile::{check_count, parse_count, ragged, CsvFile};
use super::domain::{Attribute, Domain};
use super::plain::{self, Chunk};
use super::rows::missing_column;
use crate::binning::Bins;
use crate::error::{Error, Location, Problems, Result};
use crate::frame::{Code, Codes, Column, Dictionary, Frame};
use crate::missing::{MissingCounts, MissingPolicy, MissingValues, CATEGORY};

/// Seed records coded against the domain.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Seed {
    /// The file it came from, as named in messages (for a seed in memory, the name it was
    /// given).
    pub file: String,
    /// Domain positions of the coded attributes (every attribute of the problem, in order).
    pub attributes: Vec<usize>,
    /// Category codes, record by record: one column per attribute of `attributes`, named after
    /// it, whose levels are its categories. A seed has no missing values: records with one were
    /// left out, or their missing values are the category `missing` (see `missing`).
    pub frame: Frame,
    /// Design weight of each record (1 without a weight column).
    pub weights: Vec<f64>,
    /// The numeric columns read for numeric totals (`[[total]]`), in order.
    pub value_columns: Vec<String>,
    /// Their values, record by record (`records × value_columns`, row-major).
    pub values: Vec<f64>,
    /// Record identifiers from the id column, else 1-based row numbers.
    pub ids: RecordIds,
    /// Each record's region (the `[zones] seed_region` column), when seeds are regional.
    pub regions: Vec<String>,
    /// The missing attribute values met in the file, and the records left out for them.
    pub missing: MissingCounts,
    /// What the user should know about how it was read (a row-index column ignored).
    pub notes: Vec<String>,
}

/// What joins the parts of a composite record id (`id = ["year", "respondent_id"]`) in
/// [`RecordIds`]: the ASCII unit separator, which no CSV field of an id holds in practice.
pub const ID_SEPARATOR: char = '\u{1f}';

/// A record id as shown in messages: a composite id's parts joined by ", ".
fn shown(id: &str) -> String {
    id.replace(ID_SEPARATOR, ", ").escape_debug().to_string()
}

/// How seed records are named in outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordIds {
    /// No id column: record `i` is row `i + 1`.
    Rows,
    /// The id column's values (or, without an id column, the records' row numbers in the
    /// file, once records with missing values were left out), concatenated in record order;
    /// record `i`'s id is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
    Column {
        /// All ids, back to back.
        text: String,
        /// End of each record's id in `text`.
        ends: Vec<usize>,
    },
}

impl RecordIds {
    /// Record `i`'s id from the id column, or `None` when records are named by row number.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            RecordIds::Rows => None,
            RecordIds::Column { text, ends } => Some(&text[if i == 0 { 0 } else { ends[i - 1] }..ends[i]]),
        }
    }
}

impl Seed {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the seed has no records.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// The codes of record `i`, attribute by attribute.
    pub fn record(&self, i: usize) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.frame.record(i).map(|c| c.expect(NO_MISSING))
    }

    /// The code of record `i` on its `a`-th attribute.
    pub fn code(&self, i: usize, a: usize) -> u32 {
        self.frame.codes().get(i * self.attributes.len() + a).expect(NO_MISSING)
    }
}

const NO_MISSING: &str = "the seed reader refuses missing categories";

/// The seed's special columns, and what its missing values are.
pub(crate) struct SeedColumns<'a> {
    pub weight: Option<&'a str>,
    /// The id column, or columns that together identify a record (none: row numbers).
    pub id: &'a [String],
    pub region: Option<&'a str>,
    pub missing_values: &'a MissingValues,
    pub missing: MissingPolicy,
    /// Attributes binned from numeric columns.
    pub bins: &'a [Bins],
    /// Numeric columns whose values are read as numbers (for numeric totals).
    pub values: &'a [String],
}

/// The narrowest code type that holds every category of `domain`, as `$f::<C>(…)`.
macro_rules! by_code_width {
    ($domain:expr, $f:ident($($arg:expr),*)) => {{
        let categories = $domain.attributes().iter().map(|a| a.categories().len()).max().unwrap_or(0);
        if categories <= u8::LEVELS {
            $f::<u8>($($arg),*)
        } else if categories <= u16::LEVELS {
            $f::<u16>($($arg),*)
        } else {
            $f::<u32>($($arg),*)
        }
    }};
}

/// Reads a seed from the CSV text `data`, named `display` in messages. Every attribute of the
/// domain must be a column; its values must be categories the domain already knows (declared,
/// or seen in a margin).
pub(crate) fn from_bytes(data: Vec<u8>, display: &str, columns: SeedColumns, domain: &Domain) -> Result<Seed> {
    decode(data, display, columns, domain, true)
}

/// Decodes a seed file's bytes; `allow_plain` = false forces the `csv` crate path.
fn decode(data: Vec<u8>, display: &str, columns: SeedColumns, domain: &Domain, allow_plain: bool) -> Result<Seed> {
    let mut csv = CsvFile::from_bytes(data, display)?;
    let decoder = Decoder::new(&csv, columns, domain)?;
    let body = by_code_width!(domain, read_body(&decoder, &mut csv, allow_plain))?;
    if body.weights.is_empty() && body.missing.records_dropped == 0 {
        return Err(Error::input(decoder.location.clone(), "the seed has a header but no rows"));
    }
    let mut seed = finish(display, body, domain, decoder.value_names)?;
    seed.notes.extend(csv.note());
    Ok(seed)
}

/// The seed named `name` whose records are `body`: refused when it has none (or none left once
/// records with missing values are left out) or its weights sum to infinity.
fn finish(name: &str, body: Body, domain: &Domain, value_columns: &[String]) -> Result<Seed> {
    let Body { codes, weights, values, ids, regions, missing } = body;
    if weights.is_empty() {
        let message = if missing.records_dropped > 0 {
            format!(
                "every record has a missing value and was left out ({} record{}); \
                 [seed] missing = \"category\" keeps them",
                missing.records_dropped,
                if missing.records_dropped == 1 { "" } else { "s" }
            )
        } else {
            "the seed has no records".to_string()
        };
        return Err(Error::input(Location::file(name), message));
    }
    if !weights.iter().sum::<f64>().is_finite() {
        return Err(Error::input(Location::file(name), "the seed's weights sum to infinity"));
    }
    let frame_columns =
        domain.attributes().iter().map(|a| Column::new(a.name().to_string(), a.categories().to_vec())).collect();
    Ok(Seed {
        file: name.to_string(),
        attributes: (0..domain.attributes().len()).collect(),
        frame: Frame::from_parts(frame_columns, weights.len(), codes),
        weights,
        value_columns: value_columns.to_vec(),
        values,
        ids,
        regions,
        missing,
        notes: Vec::new(),
    })
}

/// Reads a seed from a frame in memory, named `name` in messages: as [`from_bytes`] reads CSV
/// text, except that every value must be present (a missing attribute value, weight, id or
/// region is refused), and the weight column's values are parsed as numbers.
pub(crate) fn from_frame(name: &str, frame: &Frame, columns: SeedColumns, domain: &Domain) -> Result<Seed> {
    if columns.bins.is_empty() {
        return by_code_width!(domain, recode(name, frame, columns, domain));
    }
    let frame = &Bins::apply(columns.bins, frame.clone(), name, columns.missing_values)?;
    by_code_width!(domain, recode(name, frame, columns, domain))
}

/// [`from_frame`] with codes of type `C`.
fn recode<C: Code>(name: &str, frame: &Frame, columns: SeedColumns, domain: &Domain) -> Result<Seed> {
    let location = Location::file(name);
    let headers: Vec<String> = frame.names().map(str::to_string).collect();
    let column =
        |name: &str, role: &str| frame.column(name).ok_or_else(|| missing_column(&location, name, role, &headers));
    let rule = MissingRule::new(&columns, domain);
    // each attribute's column, and the domain code of each of its levels (`None`: missing)
    let attributes = domain
        .attributes()
        .iter()
        .map(|a| {
            let col = column(a.name(), "attribute")?;
            let code = |l: &String| (!rule.values.is_missing(l.trim())).then(|| a.code(l).ok_or(()));
            Ok((col, a, frame.levels(col).iter().map(code).collect::<Vec<_>>()))
        })
        .collect::<Result<Vec<_>>>()?;
    let weight = columns
        .weight
        .map(|w| {
            let col = column(w, "weight")?;
            Ok((col, frame.levels(col).iter().map(|l| parse_count(l)).collect::<Vec<_>>()))
        })
        .transpose()?;
    let id: Vec<usize> = columns.id.iter().map(|i| column(i, "id")).collect::<Result<_>>()?;
    let region = columns.region.map(|r| column(r, "seed_region")).transpose()?;
    let value_cols: Vec<usize> = columns.values.iter().map(|v| column(v, "numeric total")).collect::<Result<_>>()?;
    let at = |row: usize, col: usize| location.at_row(row as u64 + 1).at_column(&headers[col]);
    let present = |row: usize, col: usize, what: &str| {
        frame
            .value(row, col)
            .filter(|value| !rule.values.is_missing(value.trim()))
            .ok_or_else(|| Error::input(at(row, col), format!("missing {what}: every record needs one")))
    };
    let (n, k) = (frame.rows(), attributes.len());
    let mut codes = Vec::with_capacity(n * k);
    let mut weights = Vec::with_capacity(n);
    let (mut id_text, mut id_ends, mut regions) = (String::new(), Vec::new(), Vec::new());
    let mut first_row: foldhash::HashMap<String, usize> = foldhash::HashMap::default();
    let (mut missing, mut dropped) = (vec![0; k + value_cols.len()], Vec::new());
    let mut values = Vec::with_capacity(n * value_cols.len());
    for row in 0..n {
        let mut drop = false;
        for (j, &col) in value_cols.iter().enumerate() {
            let value = frame.value(row, col).filter(|v| !rule.values.is_missing(v.trim()));
            values.push(match value {
                Some(text) => number(text).map_err(|message| Error::input(at(row, col), message))?,
                None => {
                    missing[k + j] += 1;
                    rule.number(frame.value(row, col)).map_err(|message| Error::input(at(row, col), message))?;
                    drop = true;
                    0.0
                }
            });
        }
        for (a, (col, attribute, code_of)) in attributes.iter().enumerate() {
            let level = frame.code(row, *col);
            let code = match level.and_then(|l| code_of[l as usize]) {
                Some(Ok(code)) => code,
                Some(Err(())) => {
                    let message = unknown_category(attribute, frame.value(row, *col).unwrap_or_default());
                    return Err(Error::input(at(row, *col), message));
                }
                None => {
                    missing[a] += 1;
                    let value = frame.value(row, *col);
                    match rule.code(a, attribute, value).map_err(|message| Error::input(at(row, *col), message))? {
                        Some(code) => code,
                        None => {
                            drop = true;
                            0
                        }
                    }
                }
            };
            codes.push(C::narrow(code));
        }
        if drop {
            dropped.push(row);
        }
        weights.push(match &weight {
            Some((col, parsed)) => {
                let level = frame.code(row, *col);
                level.map_or(Err("is missing"), |l| parsed[l as usize]).map_err(|why| {
                    let text = frame.value(row, *col).unwrap_or_default();
                    Error::input(at(row, *col), format!("weight {why}: \"{}\"", text.escape_debug()))
                })?
            }
            None => 1.0,
        });
        if !id.is_empty() {
            let start = id_text.len();
            for (i, &col) in id.iter().enumerate() {
                if i > 0 {
                    id_text.push(ID_SEPARATOR);
                }
                id_text.push_str(present(row, col, "record id")?);
            }
            id_ends.push(id_text.len());
            if let Some(first) = first_row.insert(id_text[start..].to_string(), row) {
                return Err(Error::input(
                    at(row, id[0]),
                    format!(
                        "record id \"{}\" appears twice (first on row {}); ids must identify records",
                        shown(&id_text[start..]),
                        first + 1
                    ),
                ));
            }
        }
        if let Some(col) = region {
            regions.push(present(row, col, "region")?.to_string());
        }
    }
    let mut ids = if id.is_empty() { RecordIds::Rows } else { RecordIds::Column { text: id_text, ends: id_ends } };
    let mut kept = Kept {
        k,
        weights: &mut weights,
        q: value_cols.len(),
        values: &mut values,
        ids: &mut ids,
        regions: &mut regions,
    };
    kept.drop(&mut codes, &dropped);
    let missing = rule.counts(name, domain, columns.values, &missing, dropped.len());
    finish(name, Body { codes: C::wrap(codes), weights, values, ids, regions, missing }, domain, columns.values)
}

/// What the seed does with a missing attribute value, under its [`MissingPolicy`].
struct MissingRule<'a> {
    values: &'a MissingValues,
    policy: MissingPolicy,
    /// The code of the category `missing` of each attribute, where the domain has one.
    category: Vec<Option<u32>>,
}

impl<'a> MissingRule<'a> {
    fn new(columns: &SeedColumns<'a>, domain: &Domain) -> MissingRule<'a> {
        let category = domain.attributes().iter().map(|a| a.code(CATEGORY)).collect();
        MissingRule { values: columns.missing_values, policy: columns.missing, category }
    }

    /// The code of a missing value (`value`, or `None` in memory) of the `a`-th attribute:
    /// `None` when its record is left out, or why it is refused.
    fn code(&self, a: usize, attribute: &Attribute, value: Option<&str>) -> std::result::Result<Option<u32>, String> {
        let what = match value {
            Some("") => "empty value".to_string(),
            Some(token) => format!("missing value (\"{}\")", token.escape_debug()),
            None => "missing value".to_string(),
        };
        match self.policy {
            MissingPolicy::Drop => Ok(None),
            MissingPolicy::Category => self.category[a].map(Some).ok_or_else(|| {
                format!(
                    "{what} with [seed] missing = \"category\", but no margin of {name} has the category \
                     \"{CATEGORY}\": add it to a margin over {name} (a row whose value is missing, with \
                     missing = \"category\" in its [[margin]]) or declare it under [attributes]",
                    name = attribute.name()
                )
            }),
            _ => Err(format!(
                "{what}: [seed] missing = \"error\" refuses records with missing values \
                 (\"drop\" leaves them out, \"category\" keeps them as the category \"{CATEGORY}\")"
            )),
        }
    }

    /// A missing value (`value`, or `None` in memory) of a numeric total's column: `Ok` when
    /// its record is left out, or why it is refused (a number has no category `missing`).
    fn number(&self, value: Option<&str>) -> std::result::Result<(), String> {
        let what = match value {
            Some("") | None => "empty value".to_string(),
            Some(token) => format!("missing value (\"{}\")", token.escape_debug()),
        };
        match self.policy {
            MissingPolicy::Drop => Ok(()),
            MissingPolicy::Category => Err(format!(
                "{what} in a column of a numeric total ([[total]]): [seed] missing = \"category\" cannot give it \
                 a number (\"drop\" leaves such records out)"
            )),
            _ => Err(format!(
                "{what} in a column of a numeric total ([[total]]): [seed] missing = \"error\" refuses records \
                 with missing values (\"drop\" leaves them out)"
            )),
        }
    }

    /// The counts of an input named `name`: `missing` values per attribute then per numeric
    /// column of `values`, `dropped` records.
    fn counts(
        &self,
        name: &str,
        domain: &Domain,
        values: &[String],
        missing: &[usize],
        dropped: usize,
    ) -> MissingCounts {
        let mut counts = MissingCounts::new(name, self.policy);
        counts.records_dropped = dropped;
        let names = domain.attributes().iter().map(|a| a.name()).chain(values.iter().map(String::as_str));
        for (column, &n) in names.zip(missing) {
            if n > 0 {
                *counts.by_column.entry(column.to_string()).or_default() += n;
            }
        }
        counts
    }
}

/// A numeric total's value: a finite number, or why not.
fn number(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!("value \"{}\" of a numeric total ([[total]]) is not finite", text.escape_debug())),
        Err(_) => Err(format!("value \"{}\" of a numeric total ([[total]]) is not a number", text.escape_debug())),
    }
}

/// The decoded arrays besides the codes: records have `k` codes and `q` values each.
struct Kept<'b> {
    k: usize,
    weights: &'b mut Vec<f64>,
    q: usize,
    values: &'b mut Vec<f64>,
    ids: &'b mut RecordIds,
    regions: &'b mut Vec<String>,
}

impl Kept<'_> {
    /// Removes the records `dropped` (0-based, ascending) from the decoded arrays and `codes`.
    fn drop<C: Copy>(&mut self, codes: &mut Vec<C>, dropped: &[usize]) {
        if dropped.is_empty() {
            return;
        }
        let (k, q) = (self.k, self.q);
        let n = self.weights.len();
        let mut keep = vec![true; n];
        for &r in dropped {
            keep[r] = false;
        }
        let mut kept = 0;
        for (r, _) in keep.iter().enumerate().filter(|(_, &keep)| keep) {
            codes.copy_within(r * k..(r + 1) * k, kept * k);
            self.values.copy_within(r * q..(r + 1) * q, kept * q);
            self.weights[kept] = self.weights[r];
            kept += 1;
        }
        codes.truncate(kept * k);
        self.values.truncate(kept * q);
        self.weights.truncate(kept);
        if !self.regions.is_empty() {
            let mut r = 0;
            self.regions.retain(|_| {
                r += 1;
                keep[r - 1]
            });
        }
        // records keep their names: their ids, or else their row numbers in the file
        let (mut text, mut ends) = (String::new(), Vec::with_capacity(kept));
        for r in (0..n).filter(|&r| keep[r]) {
            match self.ids.get(r) {
                Some(id) => text.push_str(id),
                None => text.push_str(itoa::Buffer::new().format(r + 1)),
            }
            ends.push(text.len());
        }
        *self.ids = RecordIds::Column { text, ends };
    }
}

/// Replaces the seed's weights with `values`, given alongside its table, one per record.
pub(crate) fn set_weights(seed: &mut Seed, values: &[f64]) -> Result<()> {
    let location = Location::file(&seed.file);
    if values.len() != seed.len() {
        let message = format!("{} weights were given for {} records", values.len(), seed.len());
        return Err(Error::input(location, message));
    }
    for (i, (w, &value)) in seed.weights.iter_mut().zip(values).enumerate() {
        *w = check_count(value)
            .map_err(|why| Error::input(location.at_row(i as u64 + 1), format!("weight {why}: {value}")))?;
    }
    if !seed.weights.iter().sum::<f64>().is_finite() {
        return Err(Error::input(location, "the seed's weights sum to infinity"));
    }
    Ok(())
}

/// Leaves the records `dropped` (0-based, ascending) out of `seed`; the others keep their names.
pub(crate) fn leave_out(seed: &mut Seed, dropped: &[usize]) {
    let k = seed.attributes.len();
    let Seed { frame, weights, value_columns, values, ids, regions, .. } = seed;
    let mut kept = Kept { k, weights, q: value_columns.len(), values, ids, regions };
    let codes = match frame.codes().clone() {
        Codes::U8(mut c) => {
            kept.drop(&mut c, dropped);
            Codes::U8(c)
        }
        Codes::U16(mut c) => {
            kept.drop(&mut c, dropped);
            Codes::U16(c)
        }
        Codes::U32(mut c) => {
            kept.drop(&mut c, dropped);
            Codes::U32(c)
        }
    };
    *frame = Frame::from_parts(frame.columns().to_vec(), weights.len(), codes);
}

/// What the body of a seed file holds.
struct Body {
    codes: Codes,
    weights: Vec<f64>,
    /// Values of the numeric columns, record by record.
    values: Vec<f64>,
    ids: RecordIds,
    regions: Vec<String>,
    missing: MissingCounts,
}

/// The body of the seed file, with codes of type `C`.
fn read_body<C: Code>(decoder: &Decoder, csv: &mut CsvFile, allow_plain: bool) -> Result<Body> {
    let (start, first_line) = csv.body_start();
    let body = csv.bytes().get(start..).unwrap_or_default();
    if allow_plain && plain::is_plain(body) {
        read_plain::<C>(decoder, body, first_line)
    } else {
        read_records::<C>(decoder, csv)
    }
}

/// A plain body, decoded chunk by chunk on every core into preallocated arrays.
fn read_plain<C: Code>(decoder: &Decoder, body: &[u8], first_line: u64) -> Result<Body> {
    let chunks = plain::chunks(body, first_line);
    let n: usize = chunks.iter().map(|c| c.records).sum();
    let (k, q) = (decoder.attributes.len(), decoder.values.len());
    let mut codes = crate::memory::zeros::<C>(n * k);
    let mut weights = crate::memory::zeros::<f64>(n);
    let mut values = crate::memory::zeros::<f64>(n * q);
    let mut jobs = Vec::with_capacity(chunks.len());
    let (mut codes_left, mut weights_left, mut values_left) = (&mut codes[..], &mut weights[..], &mut values[..]);
    for chunk in &chunks {
        let (c, rest) = std::mem::take(&mut codes_left).split_at_mut(chunk.records * k);
        let (w, wrest) = std::mem::take(&mut weights_left).split_at_mut(chunk.records);
        let (v, vrest) = std::mem::take(&mut values_left).split_at_mut(chunk.records * q);
        jobs.push((chunk, c, w, v));
        (codes_left, weights_left, values_left) = (rest, wrest, vrest);
    }
    let parts: Vec<Part> = jobs.into_par_iter().map(|(chunk, c, w, v)| decoder.chunk(chunk, c, w, v)).collect();
    let mut before = 0;
    let (mut missing, mut dropped) = (vec![0; k + q], Vec::new());
    for part in &parts {
        missing.iter_mut().zip(&part.missing).for_each(|(m, n)| *m += n);
        dropped.extend(part.dropped.iter().map(|r| before + r));
        before += part.records;
    }
    let ids = (!decoder.id.is_empty()).then(|| merge_ids(&parts));
    let mut problems = Problems::new(&decoder.location.file);
    if let Some(ids) = &ids {
        let lines: Vec<u64> = parts.iter().flat_map(|p| p.id_lines.iter().copied()).collect();
        decoder.duplicate_ids(ids, |record| lines[record], &mut problems);
    }
    parts.into_iter().for_each(|p| problems.extend(p.problems));
    problems.into_result()?;
    let mut regions = decoder.region.map(|_| read_regions(&chunks, decoder)).unwrap_or_default();
    let mut ids = ids.unwrap_or(RecordIds::Rows);
    Kept { k, weights: &mut weights, q, values: &mut values, ids: &mut ids, regions: &mut regions }
        .drop(&mut codes, &dropped);
    let missing =
        decoder.rule.counts(&decoder.location.file, decoder.domain, decoder.value_names, &missing, dropped.len());
    Ok(Body { codes: C::wrap(codes), weights, values, ids, regions, missing })
}

/// Every record's region, read in a second, sequential pass (regional seeds are small).
fn read_regions(chunks: &[Chunk], decoder: &Decoder) -> Vec<String> {
    let mut fields = vec![&b""[..]; decoder.width];
    let col = decoder.region.unwrap_or_default();
    let mut out = Vec::new();
    for (_, line) in chunks.iter().flat_map(|c| c.lines()) {
        if plain::split(line, &mut fields).is_ok() {
            // validated as UTF-8 by the first pass
            out.push(String::from_utf8_lossy(fields[col]).into_owned());
        }
    }
    out
}

fn merge_ids(parts: &[Part]) -> RecordIds {
    let mut text = String::with_capacity(parts.iter().map(|p| p.id_text.len()).sum());
    let mut ends = Vec::with_capacity(parts.iter().map(|p| p.id_ends.len()).sum());
    for part in parts {
        let base = text.len();
        text.push_str(&part.id_text);
        ends.extend(part.id_ends.iter().map(|e| base + e));
    }
    RecordIds::Column { text, ends }
}

/// Any other body, record by record through the `csv` crate.
fn read_records<C: Code>(decoder: &Decoder, csv: &mut CsvFile) -> Result<Body> {
    let (k, q) = (decoder.attributes.len(), decoder.values.len());
    let mut codes: Vec<C> = Vec::new();
    let mut body = Body {
        codes: Codes::U8(Vec::new()),
        weights: Vec::new(),
        values: Vec::new(),
        ids: RecordIds::Rows,
        regions: Vec::new(),
        missing: MissingCounts::new(&decoder.location.file, decoder.rule.policy),
    };
    let (mut id_text, mut id_ends, mut lines) = (String::new(), Vec::new(), Vec::new());
    let (mut missing, mut dropped) = (vec![0; k + q], Vec::new());
    let mut record = ByteRecord::new();
    let mut problems = Problems::new(&decoder.location.file);
    while let Some(line) = problems.next_row(|| csv.next(&mut record)) {
        let (start, values_start) = (codes.len(), body.values.len());
        codes.resize(start + k, C::default());
        body.values.resize(values_start + q, 0.0);
        match decoder.record(|c| &record[c], line, &mut codes[start..], &mut body.values[values_start..], &mut missing)
        {
            Ok(row) => {
                if row.dropped {
                    dropped.push(body.weights.len());
                }
                body.weights.push(row.weight);
                if let Some(id) = row.id {
                    id_text.push_str(&id);
                    id_ends.push(id_text.len());
                    lines.push(line);
                }
                if let Some(region) = row.region {
                    body.regions.push(region.to_string());
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if !decoder.id.is_empty() {
        let ids = RecordIds::Column { text: id_text, ends: id_ends };
        decoder.duplicate_ids(&ids, |r| lines[r], &mut problems);
        body.ids = ids;
    }
    problems.into_result()?;
    codes.truncate(body.weights.len() * k);
    body.values.truncate(body.weights.len() * q);
    let Body { weights, values, ids, regions, .. } = &mut body;
    Kept { k, weights, q, values, ids, regions }.drop(&mut codes, &dropped);
    body.missing =
        decoder.rule.counts(&decoder.location.file, decoder.domain, decoder.value_names, &missing, dropped.len());
    body.codes = C::wrap(codes);
    Ok(body)
}

/// One chunk's decoded extras; codes and weights go straight into the shared arrays.
struct Part {
    /// Records decoded.
    records: usize,
    /// Ids back to back, and where each ends.
    id_text: String,
    id_ends: Vec<usize>,
    /// The line of each record with an id.
    id_lines: Vec<u64>,
    /// The chunk's failing records, and why.
    problems: Problems,
    /// Missing values met, per attribute.
    missing: Vec<usize>,
    /// The records (indices in the chunk) with a missing value, to be left out.
    dropped: Vec<usize>,
}

/// What a record holds besides its codes.
struct Row<'r> {
    weight: f64,
    id: Option<std::borrow::Cow<'r, str>>,
    region: Option<&'r str>,
    /// Whether the record has a missing value and is to be left out.
    dropped: bool,
}

/// Turns a record's fields into codes, weight, id and region, with the errors of the format.
struct Decoder<'a> {
    domain: &'a Domain,
    rule: MissingRule<'a>,
    location: Location,
    headers: Vec<String>,
    width: usize,
    attributes: Vec<(usize, &'a Attribute, Dictionary)>,
    /// For each attribute binned from a numeric column, its bins and the domain code of each.
    binned: Vec<Option<(&'a Bins, Vec<u32>)>>,
    weight: Option<usize>,
    id: Vec<usize>,
    region: Option<usize>,
    /// The columns of numeric totals, and their names.
    values: Vec<usize>,
    value_names: &'a [String],
}

impl<'a> Decoder<'a> {
    fn new(csv: &CsvFile, columns: SeedColumns<'a>, domain: &'a Domain) -> Result<Self> {
        let rule = MissingRule::new(&columns, domain);
        let SeedColumns { weight, id, region, bins, values, .. } = columns;
        let (mut attributes, mut binned) = (Vec::new(), Vec::new());
        for attribute in domain.attributes() {
            let dictionary = Dictionary::fixed(attribute.categories())?;
            let Some(bins) = bins.iter().find(|b| b.name() == attribute.name()) else {
                attributes.push((csv.column(attribute.name(), "attribute")?, attribute, dictionary));
                binned.push(None);
                continue;
            };
            let header = |message: String| Error::input(csv.location().at_line(1), message);
            match bins.source(csv.headers()).map_err(header)? {
                Some((column, true)) => {
                    // the labels are the attribute's declared categories
                    let codes = bins.labels().iter().map(|l| attribute.code(l).unwrap_or_default()).collect();
                    attributes.push((column, attribute, dictionary));
                    binned.push(Some((bins, codes)));
                }
                Some((column, false)) => {
                    attributes.push((column, attribute, dictionary));
                    binned.push(None);
                }
                None => {
                    let headers = csv.headers().iter().map(|h| format!("\"{h}\"")).collect::<Vec<_>>().join(", ");
                    return Err(header(format!(
                        "missing column \"{}\" to bin into {} (or a column \"{}\" of its labels); the header has {headers}",
                        bins.from(),
                        bins.name(),
                        bins.name()
                    )));
                }
            }
        }
        Ok(Decoder {
            binned,
            domain,
            rule,
            location: csv.location().clone(),
            headers: csv.headers().to_vec(),
            width: csv.headers().len(),
            attributes,
            weight: weight.map(|w| csv.column(w, "weight")).transpose()?,
            id: id.iter().map(|i| csv.column(i, "id")).collect::<Result<_>>()?,
            region: region.map(|r| csv.column(r, "seed_region")).transpose()?,
            values: values.iter().map(|v| csv.column(v, "numeric total")).collect::<Result<_>>()?,
            value_names: values,
        })
    }

    fn at(&self, line: u64, col: usize) -> Location {
        self.location.at_line(line).at_column(&self.headers[col])
    }

    /// Decodes the records of a plain chunk into `codes` and `weights` (its share of the
    /// arrays), stopping at the first failing record.
    fn chunk<C: Code>(&self, chunk: &Chunk, codes: &mut [C], weights: &mut [f64], values: &mut [f64]) -> Part {
        let (k, q) = (self.attributes.len(), self.values.len());
        let mut part = Part {
            records: 0,
            id_text: String::new(),
            id_ends: Vec::new(),
            id_lines: Vec::new(),
            problems: Problems::new(&self.location.file),
            missing: vec![0; k + q],
            dropped: Vec::new(),
        };
        let mut fields = vec![&b""[..]; self.width];
        for ((line, text), (r, weight)) in chunk.lines().zip(weights.iter_mut().enumerate()) {
            let decoded = match plain::split(text, &mut fields) {
                Ok(()) => self.record(
                    |c| fields[c],
                    line,
                    &mut codes[r * k..(r + 1) * k],
                    &mut values[r * q..(r + 1) * q],
                    &mut part.missing,
                ),
                Err(found) => Err(Error::input(self.location.at_line(line), ragged(found, self.width))),
            };
            match decoded {
                Ok(row) => {
                    if row.dropped {
                        part.dropped.push(part.records);
                    }
                    *weight = row.weight;
                    if let Some(id) = row.id {
                        part.id_text.push_str(&id);
                        part.id_ends.push(part.id_text.len());
                        part.id_lines.push(line);
                    }
                    part.records += 1;
                }
                Err(e) => part.problems.push(e),
            }
        }
        part
    }

    /// Decodes one record whose fields `field(column)` gives (trimmed), writing its codes and
    /// its numeric totals' values and counting its missing values in `missing` (one count per
    /// attribute, then per numeric column).
    fn record<'r, C: Code>(
        &self,
        field: impl Fn(usize) -> &'r [u8],
        line: u64,
        codes: &mut [C],
        values: &mut [f64],
        missing: &mut [usize],
    ) -> Result<Row<'r>> {
        let mut dropped = false;
        let k = self.attributes.len();
        for (j, (&col, value)) in self.values.iter().zip(values.iter_mut()).enumerate() {
            let text = self.text(field(col), line, col)?;
            *value = if self.rule.values.is_missing(text) {
                missing[k + j] += 1;
                self.rule.number(Some(text)).map_err(|message| Error::input(self.at(line, col), message))?;
                dropped = true;
                0.0
            } else {
                number(text).map_err(|message| Error::input(self.at(line, col), message))?
            };
        }
        for (a, ((col, attribute, dictionary), code)) in self.attributes.iter().zip(codes.iter_mut()).enumerate() {
            let bytes = field(*col);
            let found = match &self.binned[a] {
                Some(_) if self.rule.values.is_missing_bytes(bytes) => None,
                Some((bins, codes)) => {
                    let text = self.text(bytes, line, *col)?;
                    let bin = bins.bin(text).map_err(|message| Error::input(self.at(line, *col), message))?;
                    Some(codes[bin])
                }
                None => dictionary.code(bytes),
            };
            *code = match found {
                Some(c) => C::narrow(c),
                None if self.rule.values.is_missing_bytes(bytes) => {
                    missing[a] += 1;
                    let value = self.text(bytes, line, *col)?;
                    match self.rule.code(a, attribute, Some(value)) {
                        Ok(Some(c)) => C::narrow(c),
                        Ok(None) => {
                            dropped = true;
                            C::default()
                        }
                        Err(message) => return Err(Error::input(self.at(line, *col), message)),
                    }
                }
                None => return Err(self.unknown_category(line, *col, attribute, bytes)),
            };
        }
        let weight = match self.weight {
            Some(col) => {
                let text = self.text(field(col), line, col)?;
                if !text.is_empty() && self.rule.values.is_missing(text) {
                    let message = format!("weight is missing (\"{}\"): every record needs one", text.escape_debug());
                    return Err(Error::input(self.at(line, col), message));
                }
                parse_count(text).map_err(|why| {
                    Error::input(self.at(line, col), format!("weight {why}: \"{}\"", text.escape_debug()))
                })?
            }
            None => 1.0,
        };
        let id = match &self.id[..] {
            [] => None,
            [col] => Some(std::borrow::Cow::Borrowed(self.id_part(field(*col), line, *col)?)),
            cols => {
                let mut joined = String::new();
                for (i, &col) in cols.iter().enumerate() {
                    if i > 0 {
                        joined.push(ID_SEPARATOR);
                    }
                    joined.push_str(self.id_part(field(col), line, col)?);
                }
                Some(std::borrow::Cow::Owned(joined))
            }
        };
        let region = self.region.map(|col| self.text(field(col), line, col)).transpose()?;
        Ok(Row { weight, id, region, dropped })
    }

    /// The text of an id column's field: refused when missing.
    fn id_part<'r>(&self, bytes: &'r [u8], line: u64, col: usize) -> Result<&'r str> {
        let text = self.text(bytes, line, col)?;
        if self.rule.values.is_missing(text) {
            let message = format!("record id is missing (\"{}\"): every record needs one", text.escape_debug());
            return Err(Error::input(self.at(line, col), message));
        }
        Ok(text)
    }

    fn text<'r>(&self, bytes: &'r [u8], line: u64, col: usize) -> Result<&'r str> {
        std::str::from_utf8(bytes).map_err(|_| {
            Error::input(
                self.at(line, col),
                format!("value \"{}\" is not valid UTF-8: save the file as UTF-8", String::from_utf8_lossy(bytes)),
            )
        })
    }

    fn unknown_category(&self, line: u64, col: usize, a: &Attribute, bytes: &[u8]) -> Error {
        let value = match self.text(bytes, line, col) {
            Ok(value) => value,
            Err(e) => return e,
        };
        let message = if value.is_empty() {
            "empty category: every attribute value must be filled in".to_string()
        } else {
            unknown_category(a, value)
        };
        Error::input(self.at(line, col), message)
    }

    /// Every record whose id an earlier record already has, as a problem naming both lines;
    /// `line_of` gives the line of each record of `ids`.
    fn duplicate_ids(&self, ids: &RecordIds, line_of: impl Fn(usize) -> u64, problems: &mut Problems) {
        let (Some(&col), RecordIds::Column { ends, .. }) = (self.id.first(), ids) else { return };
        let mut first: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
        first.reserve(ends.len());
        for i in 0..ends.len() {
            let Some(id) = ids.get(i) else { continue };
            match first.get(id) {
                Some(&earlier) => problems.push(Error::input(
                    self.at(line_of(i), col),
                    format!(
                        "record id \"{}\" appears twice (first on line {}); ids must identify records",
                        shown(id),
                        line_of(earlier)
                    ),
                )),
                None => {
                    first.insert(id, i);
                }
            }
        }
    }
}

/// Why `value`, not empty, is not a category of `a`.
fn unknown_category(a: &Attribute, value: &str) -> String {
    if a.is_declared() {
        format!(
            "category \"{}\" is not among the declared categories of {}: {}",
            value.escape_debug(),
            a.name(),
            a.categories().join(", ")
        )
    } else {
        format!(
            "category \"{}\" of {} appears in no margin (margins have: {}); \
             declare it under [attributes] if it is a real category with a zero count",
            value.escape_debug(),
            a.name(),
            a.categories().join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The id column `id`.
    fn id_column() -> &'static [String] {
        Box::leak(vec!["id".to_string()].into_boxed_slice())
    }

    /// Columns to be completed: the default missing values, dropped.
    fn drop_missing() -> SeedColumns<'static> {
        let missing_values = Box::leak(Box::new(MissingValues::default()));
        SeedColumns {
            weight: None,
            id: &[],
            region: None,
            missing_values,
            missing: MissingPolicy::Drop,
            bins: &[],
            values: &[],
        }
    }

    fn domain() -> Domain {
        let declared: Vec<(String, Vec<String>)> = vec![
            ("age".into(), vec!["young".into(), "old".into(), "very old".into()]),
            ("zip".into(), (0..40).map(|i| format!("z{i}")).collect()),
        ];
        Domain::declared(declared.iter().map(|(n, c)| (n, c)))
    }

    fn both(
        text: &str,
        id: bool,
        region: bool,
    ) -> (std::result::Result<Seed, String>, std::result::Result<Seed, String>) {
        let domain = domain();
        let columns = || SeedColumns {
            weight: Some("w"),
            id: if id { id_column() } else { &[] },
            region: region.then_some("reg"),
            ..drop_missing()
        };
        let run =
            |plain| decode(text.as_bytes().to_vec(), "seed.csv", columns(), &domain, plain).map_err(|e| e.to_string());
        (run(true), run(false))
    }

    fn same(a: &std::result::Result<Seed, String>, b: &std::result::Result<Seed, String>) -> bool {
        match (a, b) {
            (Ok(a), Ok(b)) => {
                a.frame == b.frame
                    && a.weights == b.weights
                    && a.ids == b.ids
                    && a.regions == b.regions
                    && a.missing == b.missing
            }
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    #[test]
    fn plain_and_csv_paths_read_the_same_seed() {
        let text = "id,age,zip,w,reg\r\n a ,young,z3,1.5,north\n\nb,old, z39 ,2,south\r\n\r\nc,old,z0,0,north";
        let (plain, records) = both(text, true, true);
        assert!(same(&plain, &records), "{plain:?} vs {records:?}");
        let seed = plain.unwrap();
        assert_eq!(seed.frame.codes(), &Codes::U8(vec![0, 3, 1, 39, 1, 0]));
        assert_eq!(seed.weights, vec![1.5, 2.0, 0.0]);
        assert_eq!((seed.ids.get(0), seed.ids.get(2)), (Some("a"), Some("c")));
        assert_eq!(seed.regions, vec!["north", "south", "north"]);
    }

    #[test]
    fn both_paths_report_the_first_error_in_file_order() {
        // a duplicate id on line 4 comes before the bad category on line 5
        let text = "id,age,zip,w\na,young,z1,1\nb,old,z2,1\na,old,z2,1\nc,middle,z2,1\n";
        let (plain, records) = both(text, true, false);
        assert!(same(&plain, &records), "{plain:?} vs {records:?}");
        assert!(records.unwrap_err().contains("line 4"));
        // the bad category comes first when the duplicate follows it
        let text = "id,age,zip,w\na,young,z1,1\nc,middle,z2,1\na,old,z2,1\n";
        let (plain, records) = both(text, true, false);
        assert!(same(&plain, &records));
        assert!(plain.unwrap_err().contains("middle"));
    }

    fn field() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "young",
            "old",
            " old ",
            "very old",
            "very  old",
            "z1",
            "z39",
            "",
            "NA",
            ".",
            "x",
            "1",
            "0.5",
            "-2",
            "1e999",
            "n",
            "s",
        ])
        .prop_map(str::to_string)
    }

    fn line() -> impl Strategy<Value = String> {
        (prop::collection::vec(field(), 4..=6), prop::bool::weighted(0.1), prop::bool::weighted(0.3)).prop_map(
            |(fields, blank, crlf)| {
                let mut line = if blank { String::new() } else { fields.join(",") };
                line.push_str(if crlf { "\r\n" } else { "\n" });
                line
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn plain_path_agrees_with_the_csv_crate(lines in prop::collection::vec(line(), 0..30), id in any::<bool>()) {
            let text = format!("id,age,zip,w,reg\n{}", lines.concat());
            let (plain, records) = both(&text, id, true);
            prop_assert!(same(&plain, &records), "{:?} vs {:?}", plain, records);
        }
    }

    #[test]
    fn codes_take_the_narrowest_type_that_holds_every_category_and_the_missing_code() {
        let domain = |zips: usize| {
            let declared: Vec<(String, Vec<String>)> = vec![
                ("sex".into(), vec!["f".into(), "m".into()]),
                ("zip".into(), (0..zips).map(|i| format!("z{i}")).collect()),
            ];
            Domain::declared(declared.iter().map(|(n, c)| (n, c)))
        };
        let columns = || SeedColumns { weight: None, id: &[], region: None, ..drop_missing() };
        for plain in [true, false] {
            let read = |text: &str, zips| decode(text.as_bytes().to_vec(), "s.csv", columns(), &domain(zips), plain);
            let seed = read("sex,zip\nm,z299\nf,z7\n", 300).unwrap();
            assert_eq!(seed.frame.codes(), &Codes::U16(vec![1, 299, 0, 7]));
            assert_eq!(seed.record(0).collect::<Vec<_>>(), [1, 299]);
            let seed = read("sex,zip\nm,z254\nf,z7\n", 255).unwrap();
            assert_eq!(seed.frame.codes(), &Codes::U8(vec![1, 254, 0, 7]));
            let seed = read("sex,zip\nm,z255\nf,z7\n", 256).unwrap();
            assert_eq!(seed.frame.codes(), &Codes::U16(vec![1, 255, 0, 7]));
        }
    }

    #[test]
    fn a_seed_read_from_memory_is_a_frame_over_the_domain() {
        let columns = SeedColumns { weight: Some("w"), id: &[], region: None, ..drop_missing() };
        let seed = from_bytes(b"zip,w,age\nz2,1,old\nz0,3,very old\n".to_vec(), "memory", columns, &domain()).unwrap();
        assert_eq!((seed.file.as_str(), seed.len(), &seed.attributes[..]), ("memory", 2, &[0, 1][..]));
        assert_eq!(seed.frame.names().collect::<Vec<_>>(), ["age", "zip"]);
        assert_eq!(seed.frame.levels(0), ["young", "old", "very old"]);
        assert_eq!(seed.frame.levels(1).len(), 40);
        assert_eq!((seed.frame.value(1, 0), seed.frame.value(1, 1)), (Some("very old"), Some("z0")));
        assert_eq!(seed.weights, [1.0, 3.0]);
        let columns = SeedColumns { weight: None, id: &[], region: None, ..drop_missing() };
        let m = from_bytes(b"age,zip\nold,\n".to_vec(), "memory", columns, &domain()).unwrap_err().to_string();
        assert_eq!(m, "memory: every record has a missing value and was left out (1 record); [seed] missing = \"category\" keeps them");
    }

    #[test]
    fn a_seed_larger_than_a_chunk_is_read_in_order() {
        let mut text = String::from("age,zip,w\n");
        for i in 0..200_000 {
            text.push_str(&format!("{},z{},{}\n", if i % 3 == 0 { "old" } else { "young" }, i % 40, i % 7));
        }
        text.push_str("old,z41,1\n");
        let domain = domain();
        let columns = || SeedColumns { weight: Some("w"), id: &[], region: None, ..drop_missing() };
        let err = decode(text.as_bytes().to_vec(), "s.csv", columns(), &domain, true).unwrap_err().to_string();
        assert!(err.contains("line 200002") && err.contains("z41"), "{err}");
        let ok = text.replace("old,z41,1\n", "");
        let seed = decode(ok.into_bytes(), "s.csv", columns(), &domain, true).unwrap();
        assert_eq!(seed.len(), 200_000);
        assert_eq!(seed.record(199_999).collect::<Vec<_>>(), [0, 199_999 % 40]);
        assert_eq!(seed.code(199_999, 1), 199_999 % 40);
        assert_eq!(seed.weights[199_999], (199_999 % 7) as f64);
        assert_eq!(seed.ids, RecordIds::Rows);
    }

    #[test]
    fn missing_values_are_dropped_kept_as_a_category_or_refused_the_same_on_every_path() {
        let declared: Vec<(String, Vec<String>)> = vec![
            ("age".into(), vec!["young".into(), "old".into(), "missing".into()]),
            ("zip".into(), vec!["z1".into(), "z2".into()]),
        ];
        let domain = Domain::declared(declared.iter().map(|(n, c)| (n, c)));
        let text = "id,age,zip,w,reg\na,young,z1,1,n\nb,NA,z2,2,s\nc,old,,3,n\nd,.,NULL,4,s\ne,old,z2,5,n\n";
        let read = |policy: MissingPolicy, plain: bool| {
            let columns = SeedColumns {
                weight: Some("w"),
                id: id_column(),
                region: Some("reg"),
                missing: policy,
                ..drop_missing()
            };
            decode(text.as_bytes().to_vec(), "s.csv", columns, &domain, plain)
        };
        for plain in [true, false] {
            // drop: records b, c, d are left out; their ids, weights and regions with them
            let seed = read(MissingPolicy::Drop, plain).unwrap();
            assert_eq!((seed.len(), seed.ids.get(1), seed.weights.clone()), (2, Some("e"), vec![1.0, 5.0]));
            assert_eq!(seed.regions, ["n", "n"]);
            assert_eq!(seed.missing.records_dropped, 3);
            assert_eq!(
                seed.missing.by_column.iter().map(|(c, n)| (c.as_str(), *n)).collect::<Vec<_>>(),
                [("age", 2), ("zip", 2)]
            );
            assert_eq!(seed.missing.summary().unwrap(), "s.csv: 3 records with missing values left out (age 2, zip 2)");
            // category: the declared category "missing" of age; zip has none, so the record is refused
            let m = read(MissingPolicy::Category, plain).unwrap_err().to_string();
            assert!(m.starts_with("s.csv: 2 problems:\n  s.csv, line 4, column \"zip\": empty value with [seed] missing = \"category\", but no margin of zip"), "{m}");
            // error: the first missing value, named
            let m = read(MissingPolicy::Error, plain).unwrap_err().to_string();
            assert!(
                m.starts_with("s.csv: 3 problems:\n  s.csv, line 3, column \"age\": missing value (\"NA\"): [seed] missing = \"error\""),
                "{m}"
            );
        }
        let columns = SeedColumns { missing: MissingPolicy::Category, ..drop_missing() };
        let seed = decode(b"age,zip\nNA,z1\nold,z2\n".to_vec(), "s.csv", columns, &domain, true).unwrap();
        assert_eq!(seed.record(0).collect::<Vec<_>>(), [2, 0]);
        assert_eq!((seed.missing.records_dropped, seed.missing.by_column["age"]), (0, 1));
        // from memory: None and the tokens alike
        let frame = Frame::from_columns(&[
            ("age", vec![Some("NA"), None, Some("old")]),
            ("zip", vec![Some("z1"), Some("z2"), Some("z1")]),
        ])
        .unwrap();
        let seed =
            from_frame("mem", &frame, SeedColumns { missing: MissingPolicy::Category, ..drop_missing() }, &domain)
                .unwrap();
        assert_eq!(seed.frame.column_codes(0).collect::<Vec<_>>(), [Some(2), Some(2), Some(1)]);
        let seed = from_frame("mem", &frame, drop_missing(), &domain).unwrap();
        assert_eq!((seed.len(), seed.missing.records_dropped), (1, 2));
        // a missing weight is never silently anything
        let columns = SeedColumns { weight: Some("w"), ..drop_missing() };
        let m = decode(b"age,zip,w\nold,z1,NA\n".to_vec(), "s.csv", columns, &domain, true).unwrap_err().to_string();
        assert!(m.contains("line 2, column \"w\": weight is missing (\"NA\")"), "{m}");
    }

    #[test]
    fn composite_ids_identify_records_by_all_their_parts_on_every_path() {
        let declared: Vec<(String, Vec<String>)> = vec![("sex".into(), vec!["f".into(), "m".into()])];
        let domain = Domain::declared(declared.iter().map(|(n, c)| (n, c)));
        let parts: &'static [String] = Box::leak(vec!["year".to_string(), "id".to_string()].into_boxed_slice());
        // GSS ids repeat across years: (2016, 1) and (2018, 1) are different persons
        let text = "year,id,sex\n2016,1,f\n2016,2,m\n2018,1,m\n";
        for plain in [true, false] {
            let columns = SeedColumns { id: parts, ..drop_missing() };
            let seed = decode(text.as_bytes().to_vec(), "s.csv", columns, &domain, plain).unwrap();
            assert_eq!(seed.ids.get(2), Some("2018\u{1f}1"));
            let twice = format!("{text}2016,2,f\n");
            let columns = SeedColumns { id: parts, ..drop_missing() };
            let m = decode(twice.into_bytes(), "s.csv", columns, &domain, plain).unwrap_err().to_string();
            assert!(
                m.contains("line 5, column \"year\": record id \"2016, 2\" appears twice (first on line 3)"),
                "{m}"
            );
        }
        let frame =
            Frame::from_columns(&[("year", ["2016", "2018"]), ("id", ["1", "1"]), ("sex", ["f", "m"])]).unwrap();
        let seed = from_frame("mem", &frame, SeedColumns { id: parts, ..drop_missing() }, &domain).unwrap();
        assert_eq!((seed.ids.get(0), seed.ids.get(1)), (Some("2016\u{1f}1"), Some("2018\u{1f}1")));
    }
}
