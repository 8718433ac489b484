//! The seed: microdata (one row per record) or a dense table (one row per cell, its count in
//! the weight column). Columns other than the attributes, weight and id are ignored.

use std::collections::HashMap;
use std::path::Path;

use csv::ByteRecord;

use super::csvfile::CsvFile;
use super::domain::Domain;
use crate::error::{Error, Result};

/// Seed records coded against the domain.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The file it came from, as named in messages.
    pub file: String,
    /// Domain positions of the coded attributes (every attribute of the problem, in order).
    pub attributes: Vec<usize>,
    /// Category codes, record by record (`records × attributes.len()`).
    pub codes: Vec<u32>,
    /// Design weight of each record (1 without a weight column).
    pub weights: Vec<f64>,
    /// Record identifiers from the id column, else the 1-based row number.
    pub ids: Vec<String>,
    /// Each record's region (the `[zones] seed_region` column), when seeds are regional.
    pub regions: Vec<String>,
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

    /// The codes of record `i`.
    pub fn record(&self, i: usize) -> &[u32] {
        let k = self.attributes.len();
        &self.codes[i * k..(i + 1) * k]
    }
}

/// The seed's special columns.
pub(crate) struct SeedColumns<'a> {
    pub weight: Option<&'a str>,
    pub id: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// Reads the seed. Every attribute in `attributes` must be a column; its values must be
/// categories the domain already knows (declared, or seen in a margin).
pub(crate) fn read(
    path: &Path,
    display: &str,
    columns: SeedColumns,
    attributes: &[usize],
    domain: &Domain,
) -> Result<Seed> {
    let SeedColumns { weight, id, region } = columns;
    let mut csv = CsvFile::open(path, display)?;
    let attr_cols =
        attributes.iter().map(|&a| csv.column(domain.attribute(a).name(), "attribute")).collect::<Result<Vec<_>>>()?;
    let weight_col = weight.map(|w| csv.column(w, "weight")).transpose()?;
    let id_col = id.map(|i| csv.column(i, "id")).transpose()?;
    let region_col = region.map(|r| csv.column(r, "seed_region")).transpose()?;
    let mut seed = Seed {
        file: display.to_string(),
        attributes: attributes.to_vec(),
        codes: Vec::new(),
        weights: Vec::new(),
        ids: Vec::new(),
        regions: Vec::new(),
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut record = ByteRecord::new();
    while let Some(line) = csv.next(&mut record)? {
        for (&col, &attr) in attr_cols.iter().zip(attributes) {
            let value = csv.field(&record, line, col)?;
            // Built only on error: the happy path allocates nothing per field.
            let at = || csv.location().at_line(line).at_column(&csv.headers()[col]);
            let a = domain.attribute(attr);
            let code = match a.code(value) {
                Some(code) => code,
                None if value.is_empty() => {
                    return Err(Error::input(at(), "empty category: every attribute value must be filled in"))
                }
                None if a.is_declared() => {
                    return Err(Error::input(
                        at(),
                        format!(
                            "category \"{}\" is not among the declared categories of {}: {}",
                            value.escape_debug(),
                            a.name(),
                            a.categories().join(", ")
                        ),
                    ))
                }
                None => {
                    return Err(Error::input(
                        at(),
                        format!(
                            "category \"{}\" of {} appears in no margin (margins have: {}); \
                             declare it under [attributes] if it is a real category with a zero count",
                            value.escape_debug(),
                            a.name(),
                            a.categories().join(", ")
                        ),
                    ))
                }
            };
            seed.codes.push(code);
        }
        let w = match weight_col {
            Some(col) => csv.count(&record, line, col, "weight")?,
            None => 1.0,
        };
        seed.weights.push(w);
        seed.ids.push(match id_col {
            Some(col) => {
                let id = csv.field(&record, line, col)?;
                if let Some(first) = first_line.insert(id.to_string(), line) {
                    return Err(Error::input(
                        csv.location().at_line(line).at_column(&csv.headers()[col]),
                        format!(
                            "record id \"{}\" appears twice (first on line {first}); ids must identify records",
                            id.escape_debug()
                        ),
                    ));
                }
                id.to_string()
            }
            None => seed.weights.len().to_string(),
        });
        if let Some(col) = region_col {
            seed.regions.push(csv.field(&record, line, col)?.to_string());
        }
    }
    if seed.is_empty() {
        return Err(Error::input(csv.location().clone(), "the seed has a header but no rows"));
    }
    if !seed.weights.iter().sum::<f64>().is_finite() {
        return Err(Error::input(csv.location().clone(), "the seed's weights sum to infinity"));
    }
    Ok(seed)
}
