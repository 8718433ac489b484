//! Marginal tables: tidy CSV, one column per attribute plus a count column, one row per cell.

use std::collections::HashMap;
use std::path::Path;

use csv::ByteRecord;

use super::csvfile::CsvFile;
use super::domain::Domain;
use crate::error::{Error, Location, Result};

/// A marginal table as read, before every category of the domain is known.
#[derive(Debug, Clone)]
pub(crate) struct RawMargin {
    file: String,
    attributes: Vec<usize>,
    importance: Option<f64>,
    /// (zone code, category codes, count) per row.
    cells: Vec<(u32, Vec<u32>, f64)>,
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
pub struct MarginTable {
    /// The file it came from, as named in messages.
    pub file: String,
    /// Domain positions of its attributes, in the file's column order.
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

/// How to read one margin file.
pub(crate) struct MarginRead<'a> {
    /// The file's name in messages.
    pub display: &'a str,
    pub count: &'a str,
    pub importance: Option<f64>,
    /// The zone column, when the problem has zones.
    pub zone: Option<&'a str>,
}

/// Reads the margin file `path`: see [`from_bytes`].
pub(crate) fn read(path: &Path, how: MarginRead, domain: &mut Domain, zones: &mut ZoneNames) -> Result<RawMargin> {
    let data = crate::memory::read_file(path).map_err(|e| Error::read(how.display, e))?;
    from_bytes(data, how, domain, zones)
}

/// Reads one marginal table from the CSV text `data`, learning new categories of undeclared
/// attributes into `domain` and new zones into `zones`.
pub(crate) fn from_bytes(
    data: Vec<u8>,
    how: MarginRead,
    domain: &mut Domain,
    zones: &mut ZoneNames,
) -> Result<RawMargin> {
    let (display, count) = (how.display, how.count);
    let mut csv = CsvFile::from_bytes(data, display)?;
    let count_col = csv.column(count, "count")?;
    let zone_col = how.zone.map(|z| csv.column(z, "zone")).transpose()?;
    let attr_cols: Vec<usize> = (0..csv.headers().len()).filter(|&c| c != count_col && Some(c) != zone_col).collect();
    if attr_cols.is_empty() {
        return Err(Error::input(
            csv.location().at_line(1),
            format!("the margin has only the count column \"{count}\": add one column per attribute"),
        ));
    }
    let attributes: Vec<usize> = attr_cols.iter().map(|&c| domain.intern(&csv.headers()[c])).collect();
    let mut cells = Vec::new();
    let mut first_seen: HashMap<(u32, Vec<u32>), u64> = HashMap::new();
    let mut record = ByteRecord::new();
    while let Some(line) = csv.next(&mut record)? {
        let zone = match zone_col {
            Some(col) => {
                let name = csv.field(&record, line, col)?;
                if name.is_empty() {
                    return Err(Error::input(
                        csv.location().at_line(line).at_column(&csv.headers()[col]),
                        "empty zone",
                    ));
                }
                zones.code(name)
            }
            None => 0,
        };
        let mut codes = Vec::with_capacity(attr_cols.len());
        for (&col, &attr) in attr_cols.iter().zip(&attributes) {
            let value = csv.field(&record, line, col)?;
            codes.push(category(domain, attr, value, &csv.location().at_line(line).at_column(&csv.headers()[col]))?);
        }
        let value = csv.count(&record, line, count_col, "count")?;
        if let Some(first) = first_seen.insert((zone, codes.clone()), line) {
            let zone = zone_col.map_or(String::new(), |_| format!("zone {}, ", zones.names[zone as usize]));
            return Err(Error::input(
                csv.location().at_line(line),
                format!(
                    "duplicate cell ({zone}{}): it already appears on line {first}",
                    domain.label(&attributes, &codes)
                ),
            ));
        }
        cells.push((zone, codes, value));
    }
    if cells.is_empty() {
        return Err(Error::input(csv.location().clone(), "the file has a header but no rows"));
    }
    Ok(RawMargin { file: display.to_string(), attributes, importance: how.importance, cells })
}

/// The code of `value` for attribute `attr`: learned when the attribute is undeclared, an
/// error naming the declared categories otherwise.
pub(crate) fn category(domain: &mut Domain, attr: usize, value: &str, at: &Location) -> Result<u32> {
    if value.is_empty() {
        return Err(Error::input(at.clone(), "empty category: every attribute value must be filled in"));
    }
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

    fn how<'a>(zone: Option<&'a str>) -> MarginRead<'a> {
        MarginRead { display: "m.csv", count: "n", importance: None, zone }
    }

    #[test]
    fn margins_read_from_memory_teach_the_domain_and_the_zones() {
        let declared = [("sex".to_string(), vec!["m".to_string(), "f".to_string()])];
        let mut domain = Domain::declared(declared.iter().map(|(n, c)| (n, c)));
        let mut zones = ZoneNames::default();
        let text = "zone,age,sex,n\nB,old,f,2\nA,young,m,3\nA,old,f,1\n";
        let raw = from_bytes(text.as_bytes().to_vec(), how(Some("zone")), &mut domain, &mut zones).unwrap();
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
    fn errors_in_memory_name_the_margin() {
        let declared = [("sex".to_string(), vec!["m".to_string(), "f".to_string()])];
        let mut domain = Domain::declared(declared.iter().map(|(n, c)| (n, c)));
        let mut read = |text: &str| {
            from_bytes(text.as_bytes().to_vec(), how(None), &mut domain, &mut ZoneNames::default())
                .unwrap_err()
                .to_string()
        };
        let m = read("sex,n\nx,1\n");
        assert!(m.starts_with("m.csv, line 2, column \"sex\": category \"x\" is not among"), "{m}");
        let m = read("sex,n\nm,1\nm,2\n");
        assert!(m.contains("line 3: duplicate cell (sex=m): it already appears on line 2"), "{m}");
        assert!(read("sex,count\nm,1\n").contains("missing count column \"n\""));
    }
}
