//! Marginal tables: tidy tables (CSV text or a frame in memory), one column per attribute plus
//! a count column (or counts given alongside), one row per cell.

use std::collections::HashMap;

use super::csvfile::{check_count, parse_count};
use super::domain::Domain;
use super::rows::{Numbers, Rows};
use crate::error::{Error, Location, Problems, Result};
use crate::missing::{MissingCounts, MissingPolicy, MissingValues, CATEGORY};

/// A marginal table as read, before every category of the domain is known.
#[derive(Debug, Clone)]
pub(crate) struct RawMargin {
    file: String,
    attributes: Vec<usize>,
    importance: Option<f64>,
    /// (zone code, category codes, count) per row.
    cells: Vec<(u32, Vec<u32>, f64)>,
    /// The missing attribute values met (kept as a category, or none).
    pub missing: MissingCounts,
    /// What the user should know about how it was read (a row-index column ignored).
    pub note: Option<String>,
}

/// Zone names in order of first appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct ZoneNames {
    pub names: Vec<String>,
    lookup: HashMap<String, u32>,
}

impl ZoneNames {
    fn code(&mut self, name: &str) -> u32 {
        if let Some(&c) = self.lookup.get(name) {
            return c;
        }
        let c = self.names.len() as u32;
        self.names.push(name.to_string());
        self.lookup.insert(name.to_string(), c);
        c
    }

    /// The code of a zone already seen.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.lookup.get(name).copied()
    }
}

/// A marginal table over some attributes: dense targets, row-major in the order of
/// [`MarginTable::attributes`] (the last attribute varies fastest). Cells absent from the
/// file have target zero.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MarginTable {
    /// The file it came from, as named in messages (for a table in memory, the name it was
    /// given).
    pub file: String,
    /// Domain positions of its attributes, in the table's column order.
    pub attributes: Vec<usize>,
    /// For entropy calibration: how strongly the margin is enforced (`None`: hard).
    pub importance: Option<f64>,
    /// Target count of every cell.
    pub targets: Vec<f64>,
}

impl MarginTable {
    /// The sum of all targets.
    pub fn total(&self) -> f64 {
        self.targets.iter().sum()
    }

    /// Codes of cell `index` (row-major over `sizes`).
    pub fn codes(sizes: &[usize], mut index: usize) -> Vec<u32> {
        let mut codes = vec![0u32; sizes.len()];
        for (code, &size) in codes.iter_mut().zip(sizes).rev() {
            *code = (index % size) as u32;
            index /= size;
        }
        codes
    }
}

/// How to read one margin.
pub(crate) struct MarginRead<'a> {
    pub counts: &'a Numbers,
    pub importance: Option<f64>,
    /// The zone column, when the problem has zones.
    pub zone: Option<&'a str>,
    /// The values read as missing.
    pub missing_values: &'a MissingValues,
    /// What a missing attribute value is: an error, or the category [`CATEGORY`].
    pub missing: MissingPolicy,
}

/// Reads one marginal table, learning new categories of undeclared attributes into `domain`
/// and new zones into `zones`. Every column but the count and zone columns is an attribute.
pub(crate) fn read(
    rows: &mut dyn Rows,
    how: MarginRead,
    domain: &mut Domain,
    zones: &mut ZoneNames,
) -> Result<RawMargin> {
    let count_col = match how.counts {
        Numbers::Column(count) => Some(rows.column(count, "count")?),
        Numbers::Values(_) => None,
    };
    let zone_col = how.zone.map(|z| rows.column(z, "zone")).transpose()?;
    let attr_cols: Vec<usize> =
        (0..rows.headers().len()).filter(|&c| ![count_col, zone_col, rows.ignored()].contains(&Some(c))).collect();
    if attr_cols.is_empty() {
        let message = match how.counts {
            Numbers::Column(count) => {
                format!("the margin has only the count column \"{count}\": add one column per attribute")
            }
            Numbers::Values(_) => "the margin has no attribute column: add one column per attribute".to_string(),
        };
        return Err(Error::input(at_header(rows), message));
    }
    let attributes: Vec<usize> = attr_cols.iter().map(|&c| domain.intern(&rows.headers()[c])).collect();
    let mut missing = MissingCounts::new(rows.location().file.clone(), how.missing);
    let mut cells = Vec::new();
    let mut first_seen: HashMap<(u32, Vec<u32>), u64> = HashMap::new();
    let mut problems = Problems::new(rows.location().file.clone());
    let mut index = 0;
    while let Some(at) = problems.next_row(|| rows.next()) {
        index += 1;
        // the row's cell, or its first problem
        let cell = (|| -> Result<(u32, Vec<u32>, f64)> {
            let zone = zone_of(rows, at, zone_col, how.missing_values, zones)?;
            let mut codes = Vec::with_capacity(attr_cols.len());
            for (&col, &attr) in attr_cols.iter().zip(&attributes) {
                let place = rows.at(at).at_column(&rows.headers()[col]);
                codes.push(match rows.field(at, col)? {
                    Some(value) if !how.missing_values.is_missing(value) => category(domain, attr, value, &place)?,
                    value => {
                        if how.missing != MissingPolicy::Category {
                            return Err(Error::input(place, missing_category(value, rows.absent())));
                        }
                        missing.count(&rows.headers()[col]);
                        domain.missing_code(attr)
                    }
                });
            }
            let value = match (how.counts, count_col) {
                (Numbers::Column(_), Some(col)) => {
                    let text = rows.field(at, col)?.unwrap_or_default();
                    let place = rows.at(at).at_column(&rows.headers()[col]);
                    if how.missing_values.is_missing(text) {
                        let message = format!("count is missing (\"{}\"): every cell needs one", text.escape_debug());
                        return Err(Error::input(place, message));
                    }
                    parse_count(text)
                        .map_err(|why| Error::input(place, format!("count {why}: \"{}\"", text.escape_debug())))?
                }
                (Numbers::Values(values), _) => match values.get(index - 1) {
                    Some(&value) => {
                        check_count(value).map_err(|why| Error::input(rows.at(at), format!("count {why}: {value}")))?
                    }
                    None => {
                        let message = format!("no count for this {}: {} counts were given", rows.unit(), values.len());
                        return Err(Error::input(rows.at(at), message));
                    }
                },
                (Numbers::Column(_), None) => unreachable!("a count column was looked up"),
            };
            Ok((zone, codes, value))
        })();
        let (zone, codes, value) = match cell {
            Ok(cell) => cell,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if let Some(first) = first_seen.insert((zone, codes.clone()), at) {
            let zone = zone_col.map_or(String::new(), |_| format!("zone {}, ", zones.names[zone as usize]));
            problems.push(Error::input(
                rows.at(at),
                format!(
                    "duplicate cell ({zone}{}): it already appears on {} {first}",
                    domain.label(&attributes, &codes),
                    rows.unit()
                ),
            ));
            continue;
        }
        cells.push((zone, codes, value));
    }
    problems.into_result()?;
    if cells.is_empty() {
        let what = if rows.unit() == "line" { "the file has a header but no rows" } else { "the table has no rows" };
        return Err(Error::input(rows.location().clone(), what));
    }
    if let Numbers::Values(values) = how.counts {
        if values.len() != cells.len() {
            let message = format!("{} counts were given for {} rows", values.len(), cells.len());
            return Err(Error::input(rows.location().clone(), message));
        }
    }
    Ok(RawMargin {
        file: rows.location().file.clone(),
        attributes,
        importance: how.importance,
        cells,
        missing,
        note: rows.note(),
    })
}

/// A wide margin's layout: one row per zone (one row in all without zones), one column per
/// category of a single attribute, as census and PopulationSim control tables are.
pub(crate) struct Wide<'a> {
    /// The attribute the columns are categories of.
    pub attribute: &'a str,
    /// (column, category) pairs, in order.
    pub columns: &'a [(String, String)],
}

/// Reads one wide margin (see [`Wide`]): each named column's value in a row is the count of
/// its category in the row's zone. Other columns are ignored (a control table holds many
/// margins); every named column must exist, no category may be named twice, and a zone may
/// have one row only.
pub(crate) fn read_wide(
    rows: &mut dyn Rows,
    how: MarginRead,
    wide: &Wide,
    domain: &mut Domain,
    zones: &mut ZoneNames,
) -> Result<RawMargin> {
    let zone_col = how.zone.map(|z| rows.column(z, "zone")).transpose()?;
    let attribute = domain.intern(wide.attribute);
    let mut columns = Vec::with_capacity(wide.columns.len());
    for (i, (column, label)) in wide.columns.iter().enumerate() {
        let col = rows.column(column, "category")?;
        let place = at_header(rows).at_column(column);
        if let Some((other, _)) = wide.columns[..i].iter().find(|(_, k)| k == label) {
            let message = format!("category \"{label}\" is named by two columns, \"{other}\" and \"{column}\"");
            return Err(Error::input(place, message));
        }
        columns.push((col, category(domain, attribute, label, &place)?));
    }
    let mut cells = Vec::new();
    let mut first_seen: HashMap<u32, u64> = HashMap::new();
    while let Some(at) = rows.next()? {
        let zone = zone_of(rows, at, zone_col, how.missing_values, zones)?;
        if let Some(first) = first_seen.insert(zone, at) {
            let message = match zone_col {
                Some(_) => format!(
                    "zone {} has a second row: it already appears on {} {first}",
                    zones.names[zone as usize],
                    rows.unit()
                ),
                None => format!("a wide margin without [zones] has one row: a first one is on {} {first}", rows.unit()),
            };
            return Err(Error::input(rows.at(at), message));
        }
        for &(col, code) in &columns {
            let place = rows.at(at).at_column(&rows.headers()[col]);
            let text = rows.field(at, col)?.unwrap_or_default();
            if how.missing_values.is_missing(text) {
                let message = format!("count is missing (\"{}\"): every cell needs one", text.escape_debug());
                return Err(Error::input(place, message));
            }
            let value = parse_count(text)
                .map_err(|why| Error::input(place, format!("count {why}: \"{}\"", text.escape_debug())))?;
            cells.push((zone, vec![code], value));
        }
    }
    if cells.is_empty() && first_seen.is_empty() {
        let what = if rows.unit() == "line" { "the file has a header but no rows" } else { "the table has no rows" };
        return Err(Error::input(rows.location().clone(), what));
    }
    Ok(RawMargin {
        file: rows.location().file.clone(),
        attributes: vec![attribute],
        importance: how.importance,
        cells,
        missing: MissingCounts::new(rows.location().file.clone(), how.missing),
        note: rows.note(),
    })
}

/// The zone code of row `at`: learned from its `zone_col` field, 0 without zones; an error for
/// a missing zone.
fn zone_of(
    rows: &dyn Rows,
    at: u64,
    zone_col: Option<usize>,
    missing_values: &MissingValues,
    zones: &mut ZoneNames,
) -> Result<u32> {
    let Some(col) = zone_col else {
        return Ok(0);
    };
    match rows.field(at, col)?.filter(|name| !missing_values.is_missing(name)) {
        Some(name) => Ok(zones.code(name)),
        None => {
            let column = &rows.headers()[col];
            Err(Error::input(rows.at(at).at_column(column), format!("{} zone", rows.absent())))
        }
    }
}

/// The location of a table's header: its first line, for CSV.
fn at_header(rows: &dyn Rows) -> Location {
    if rows.unit() == "line" {
        rows.at(1)
    } else {
        rows.location().clone()
    }
}

/// Why a margin row whose attribute value is missing (`None` in memory, else a missing token)
/// is refused.
fn missing_category(value: Option<&str>, absent: &str) -> String {
    let what = match value {
        Some("") | None => format!("{absent} category"),
        Some(token) => format!("missing category (\"{}\")", token.escape_debug()),
    };
    format!(
        "{what}: every attribute value of a margin must be filled in, \
         or its [[margin]] must say missing = \"category\" to target the category \"{CATEGORY}\""
    )
}

/// The code of `value` for attribute `attr`: learned when the attribute is undeclared, an
/// error naming the declared categories otherwise.
fn category(domain: &mut Domain, attr: usize, value: &str, at: &Location) -> Result<u32> {
    domain.code_or_learn(attr, value, true).ok_or_else(|| {
        let a = domain.attribute(attr);
        Error::input(
            at.clone(),
            format!(
                "category \"{}\" is not among the declared categories of {}: {}",
                value.escape_debug(),
                a.name(),
                a.categories().join(", ")
            ),
        )
    })
}

impl RawMargin {
    /// Densifies against the final domain: one table per zone (one in all without zones).
    pub(crate) fn finish(self, domain: &Domain, zones: usize) -> Vec<MarginTable> {
        let sizes = domain.sizes(&self.attributes);
        let mut targets = vec![vec![0.0; sizes.iter().product()]; zones.max(1)];
        for (zone, codes, value) in self.cells {
            let index = codes.iter().zip(&sizes).fold(0usize, |acc, (&c, &s)| acc * s + c as usize);
            targets[zone as usize][index] = value;
        }
        targets
            .into_iter()
            .map(|targets| MarginTable {
                file: self.file.clone(),
                attributes: self.attributes.clone(),
                importance: self.importance,
                targets,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;
    use crate::inputs::csvfile::CsvFile;
    use crate::inputs::rows::{CsvRows, FrameRows};

    fn sex_declared() -> Domain {
        let declared = [("sex".to_string(), vec!["m".to_string(), "f".to_string()])];
        Domain::declared(declared.iter().map(|(n, c)| (n, c)))
    }

    fn csv(text: &str) -> CsvRows {
        CsvRows::new(CsvFile::from_bytes(text.as_bytes().to_vec(), "m.csv").unwrap())
    }

    fn how<'a>(counts: &'a Numbers, zone: Option<&'a str>) -> MarginRead<'a> {
        let missing_values = Box::leak(Box::new(MissingValues::default()));
        MarginRead { counts, importance: None, zone, missing_values, missing: MissingPolicy::Error }
    }

    #[test]
    fn margins_read_from_memory_teach_the_domain_and_the_zones() {
        let mut domain = sex_declared();
        let mut zones = ZoneNames::default();
        let text = "zone,age,sex,n\nB,old,f,2\nA,young,m,3\nA,old,f,1\n";
        let n = Numbers::Column("n".into());
        let raw = read(&mut csv(text), how(&n, Some("zone")), &mut domain, &mut zones).unwrap();
        assert_eq!(zones.names, ["B", "A"]);
        assert_eq!(domain.index_of("age"), Some(1));
        assert_eq!(domain.attribute(1).categories(), ["old", "young"]);
        let tables = raw.finish(&domain, zones.names.len());
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].attributes, [1, 0]);
        // age × sex (m, f), last fastest
        assert_eq!(tables[0].targets, [0.0, 2.0, 0.0, 0.0]);
        assert_eq!(tables[1].targets, [0.0, 1.0, 3.0, 0.0]);
    }

    #[test]
    fn a_frame_reads_as_its_csv_would() {
        let frame = Frame::from_columns(&[
            ("zone", ["B", "A", "A"]),
            ("age", ["old", "young", "old"]),
            ("sex", ["f", "m", "f"]),
        ])
        .unwrap();
        let counts = Numbers::Values(vec![2.0, 3.0, 1.0]);
        let (mut domain, mut zones) = (sex_declared(), ZoneNames::default());
        let raw = read(&mut FrameRows::new("m", &frame), how(&counts, Some("zone")), &mut domain, &mut zones).unwrap();
        assert_eq!((zones.names.as_slice(), raw.file.as_str()), (&["B".to_string(), "A".to_string()][..], "m"));
        let tables = raw.finish(&domain, 2);
        assert_eq!(
            (tables[0].targets.as_slice(), tables[1].targets.as_slice()),
            (&[0.0, 2.0, 0.0, 0.0][..], &[0.0, 1.0, 3.0, 0.0][..])
        );
        // counts as a text column of the frame
        let frame = Frame::from_columns(&[("sex", ["m", "f"]), ("n", ["1", "2.5"])]).unwrap();
        let n = Numbers::Column("n".into());
        let raw = read(&mut FrameRows::new("m", &frame), how(&n, None), &mut sex_declared(), &mut zones).unwrap();
        assert_eq!(raw.finish(&sex_declared(), 1)[0].targets, [1.0, 2.5]);
    }

    #[test]
    fn errors_name_the_margin_and_the_place() {
        let mut domain = sex_declared();
        let mut read_csv = |text: &str| {
            let n = Numbers::Column("n".into());
            read(&mut csv(text), how(&n, None), &mut domain, &mut ZoneNames::default()).unwrap_err().to_string()
        };
        let m = read_csv("sex,n\nx,1\n");
        assert!(m.starts_with("m.csv, line 2, column \"sex\": category \"x\" is not among"), "{m}");
        let m = read_csv("sex,n\nm,1\nm,2\n");
        assert!(m.contains("line 3: duplicate cell (sex=m): it already appears on line 2"), "{m}");
        assert!(read_csv("sex,count\nm,1\n").contains("missing count column \"n\""));
        let read_frame = |columns: &[(&str, Vec<Option<&str>>)], counts: Vec<f64>| {
            let frame = Frame::from_columns(columns).unwrap();
            let counts = Numbers::Values(counts);
            read(
                &mut FrameRows::new("m", &frame),
                how(&counts, Some("zone")),
                &mut sex_declared(),
                &mut ZoneNames::default(),
            )
            .unwrap_err()
            .to_string()
        };
        let sex = |v: Vec<Option<&'static str>>| ("sex", v);
        let zone = |v: Vec<Option<&'static str>>| ("zone", v);
        let m = read_frame(&[zone(vec![Some("a"), Some("a")]), sex(vec![Some("m"), None])], vec![1.0, 2.0]);
        assert!(m.starts_with("m, row 2, column \"sex\": missing category: every attribute value"), "{m}");
        let m = read_frame(&[zone(vec![Some("a"), None]), sex(vec![Some("m"), Some("f")])], vec![1.0, 2.0]);
        assert_eq!(m, "m, row 2, column \"zone\": missing zone");
        let m = read_frame(&[zone(vec![Some("a"), Some("a")]), sex(vec![Some("m"), Some("m")])], vec![1.0, 2.0]);
        assert_eq!(m, "m, row 2: duplicate cell (zone a, sex=m): it already appears on row 1");
        let m = read_frame(&[zone(vec![Some("a"), Some("a")]), sex(vec![Some("m"), Some("f")])], vec![1.0, -2.0]);
        assert_eq!(m, "m, row 2: count is negative: -2");
        let m = read_frame(&[zone(vec![Some("a"), Some("a")]), sex(vec![Some("m"), Some("f")])], vec![1.0]);
        assert_eq!(m, "m, row 2: no count for this row: 1 counts were given");
        let m = read_frame(&[zone(vec![Some("a")]), sex(vec![Some("m")])], vec![1.0, 2.0]);
        assert_eq!(m, "m: 2 counts were given for 1 rows");
        let m = read_frame(&[sex(vec![Some("m")])], vec![1.0]);
        assert_eq!(m, "m: missing zone column \"zone\"; the table has \"sex\"");
    }

    #[test]
    fn missing_tokens_are_refused_or_targeted_as_the_missing_category() {
        let n = Numbers::Column("n".into());
        let refused = |text: &str| {
            let mut domain = Domain::default();
            read(&mut csv(text), how(&n, None), &mut domain, &mut ZoneNames::default()).unwrap_err().to_string()
        };
        // R's NA, pandas' NaN and SAS's dot are missing values, not categories
        for token in ["NA", "NaN", ".", ""] {
            let m = refused(&format!("income,n\nlow,5\n{token},2\n"));
            assert!(m.starts_with("m.csv, line 3, column \"income\": "), "{m}");
            assert!(m.contains("missing = \"category\""), "{m}");
        }
        assert!(refused("income,n\nlow,NA\n").contains("line 2, column \"n\": count is missing (\"NA\")"));
        // with missing = "category", the missing values of a margin are one category, counted
        let mut domain = Domain::default();
        let mut category = how(&n, None);
        category.missing = MissingPolicy::Category;
        let text = "income,edu,n\nlow,NA,5\nNA,high,2\nhigh,high,3\n";
        let raw = read(&mut csv(text), category, &mut domain, &mut ZoneNames::default()).unwrap();
        assert_eq!(domain.attribute(0).categories(), ["low", "missing", "high"]);
        assert_eq!(domain.attribute(1).categories(), ["missing", "high"]);
        assert_eq!(raw.missing.by_column.values().copied().collect::<Vec<_>>(), [1, 1]);
        // another spelling of the set
        let mut domain = Domain::default();
        let mut dashes = how(&n, None);
        dashes.missing_values = Box::leak(Box::new(MissingValues::new(["-9"])));
        let raw = read(&mut csv("income,n\nNA,5\n"), dashes, &mut domain, &mut ZoneNames::default()).unwrap();
        assert!(raw.missing.is_empty() && domain.attribute(0).categories() == ["NA"]);
    }

    #[test]
    fn wide_tables_read_one_row_per_zone_and_refuse_what_they_cannot_mean() {
        let n = Numbers::Column("count".into());
        let columns: Vec<(String, String)> =
            [("S1", "1"), ("S2", "2"), ("S3", "3+")].iter().map(|(c, k)| (c.to_string(), k.to_string())).collect();
        let wide = Wide { attribute: "size", columns: &columns };
        let read_wide_csv = |text: &str, zone: Option<&str>| {
            let (mut domain, mut zones) = (Domain::default(), ZoneNames::default());
            let raw = read_wide(&mut csv(text), how(&n, zone), &wide, &mut domain, &mut zones);
            raw.map(|raw| (raw.finish(&domain, zones.names.len()), domain, zones))
        };
        let text = "TAZ,HH,S1,S2,S3\n100,25,5,8,12\n101,30,10,10,10\n";
        let (tables, domain, zones) = read_wide_csv(text, Some("TAZ")).unwrap();
        assert_eq!(zones.names, ["100", "101"]);
        assert_eq!(domain.attribute(0).categories(), ["1", "2", "3+"]);
        assert_eq!(
            (tables[0].targets.as_slice(), tables[1].targets.as_slice()),
            (&[5.0, 8.0, 12.0][..], &[10.0; 3][..])
        );
        let (tables, ..) = read_wide_csv("S1,S2,S3,other\n1,2,3,x\n", None).unwrap();
        assert_eq!(tables[0].targets, [1.0, 2.0, 3.0], "other columns are ignored");
        let m = |text: &str, zone| read_wide_csv(text, zone).err().unwrap().to_string();
        assert!(m("S1,S2\n1,2\n", None).contains("missing category column \"S3\""));
        assert!(m("S1,S2,S3\n1,2,3\n4,5,6\n", None).contains("line 3: a wide margin without [zones] has one row"));
        assert!(m(text.replace("101,", "100,").as_str(), Some("TAZ")).contains("line 3: zone 100 has a second row"));
        assert!(m("S1,S2,S3\n1,NA,3\n", None).contains("line 2, column \"S2\": count is missing (\"NA\")"));
        assert!(m("S1,S2,S3\n1,-2,3\n", None).contains("column \"S2\": count is negative"));
        let twice: Vec<(String, String)> = vec![("S1".into(), "1".into()), ("S2".into(), "1".into())];
        let (mut domain, mut zones) = (Domain::default(), ZoneNames::default());
        let wide = Wide { attribute: "size", columns: &twice };
        let e = read_wide(&mut csv("S1,S2\n1,2\n"), how(&n, None), &wide, &mut domain, &mut zones).err().unwrap();
        assert!(e.to_string().contains("category \"1\" is named by two columns, \"S1\" and \"S2\""), "{e}");
    }
}
