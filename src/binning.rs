//! Numeric columns cut into categories in the spec, so that a survey's ages or incomes meet
//! the bands of the margins without hand-binning:
//!
//! ```toml
//! [attributes.age_group]
//! from = "age"
//! breaks = [0, 18, 30, 45, 65]
//! labels = ["0-17", "18-29", "30-44", "45-64", "65+"]
//! ```
//!
//! Bins are left-closed, `[break_i, break_i+1)`, and the last is open-ended: `breaks` has one
//! number per bin and `labels` one name per bin (by default R's `cut(..., right = FALSE)`
//! names, `[0,18)` … `[65,Inf)`). A value below the first break, or not a finite number, is an
//! error naming the file, line (or row), column and value; a missing value (see
//! [`missing`](crate::missing)) stays missing and meets the input's missing-value policy.
//!
//! Every reader that takes an attribute binned from a column (the fit's seed, `compare`'s truth
//! and pools, `evaluate`'s responses and pools) uses the column `from` when the file has it,
//! and otherwise a column named for the attribute itself, holding the labels (as a generated
//! pool does). A file with both is refused as ambiguous, unless the attribute is named for its
//! column (`[attributes.age] from = "age"`).
//!
//! ```
//! use populace::binning::Bins;
//!
//! let age = Bins::new("age_group", "age", &[0.0, 18.0, 65.0], None)?;
//! assert_eq!(age.labels(), ["[0,18)", "[18,65)", "[65,Inf)"]);
//! assert_eq!(age.bin("17.9"), Ok(0));
//! assert_eq!(age.bin(" 65 "), Ok(2));
//! assert!(age.bin("-1").unwrap_err().contains("below the first break"));
//! assert!(age.bin("forty").unwrap_err().contains("not a number"));
//! # Ok::<(), populace::Error>(())
//! ```

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{Error, Location, Result};
use crate::frame::{Column, Frame};
use crate::missing::MissingValues;

/// An attribute whose categories are the bins of a numeric column: see the
/// [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    name: String,
    from: String,
    breaks: Vec<f64>,
    labels: Vec<String>,
}

impl Bins {
    /// The attribute `name`, binned from column `from` at `breaks` (the lower end of each bin,
    /// increasing; the last bin is open-ended) into bins named `labels` (one per break; `None`
    /// gives R's `[a,b)` names).
    ///
    /// # Errors
    /// [`Error::Input`] naming `[attributes.NAME]` when `from` is empty, there are no breaks,
    /// a break is not finite, the breaks do not increase (bins would overlap or be empty), the
    /// labels are not one per break, or a label is empty or repeated.
    pub fn new(name: &str, from: &str, breaks: &[f64], labels: Option<&[String]>) -> Result<Bins> {
        let bad = |message: String| Err(Error::input(Location::file(format!("[attributes.{name}]")), message));
        if from.trim().is_empty() {
            return bad("from must name the numeric column to bin".into());
        }
        if breaks.is_empty() {
            return bad("breaks must list the lower end of each bin, e.g. breaks = [0, 18, 65]".into());
        }
        if let Some(b) = breaks.iter().find(|b| !b.is_finite()) {
            return bad(format!("break {b} is not a finite number"));
        }
        if let Some(w) = breaks.windows(2).find(|w| w[1] <= w[0]) {
            return bad(format!(
                "breaks must increase (each the lower end of the next bin), found {} after {}: \
                 the bins would overlap or be empty",
                w[1], w[0]
            ));
        }
        let labels = match labels {
            Some(labels) if labels.len() != breaks.len() => {
                return bad(format!(
                    "{} breaks make {} bins (left-closed, the last open-ended), which need {} labels, found {}",
                    breaks.len(),
                    breaks.len(),
                    breaks.len(),
                    labels.len()
                ));
            }
            Some(labels) => labels.iter().map(|l| l.trim().to_string()).collect(),
            None => default_labels(breaks),
        };
        if labels.iter().any(String::is_empty) {
            return bad("a label is empty".into());
        }
        for (i, label) in labels.iter().enumerate() {
            if let Some(j) = labels[..i].iter().position(|l| l == label) {
                return bad(format!("label \"{label}\" names bins {} and {}", j + 1, i + 1));
            }
        }
        Ok(Bins { name: name.to_string(), from: from.to_string(), breaks: breaks.to_vec(), labels })
    }

    /// The attribute's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The numeric column it is binned from.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The lower end of each bin.
    pub fn breaks(&self) -> &[f64] {
        &self.breaks
    }

    /// The bins' names, in order: the attribute's categories.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The bin of `value` (trimmed of surrounding spaces), or why it has none.
    ///
    /// # Errors
    /// A message naming the value, when it is not a finite number or lies below the first
    /// break.
    pub fn bin(&self, value: &str) -> std::result::Result<usize, String> {
        let text = value.trim();
        let x: f64 = text
            .parse()
            .map_err(|_| format!("\"{}\" is not a number, so {} cannot bin it", text.escape_debug(), self.name))?;
        if !x.is_finite() {
            return Err(format!("\"{}\" is not a finite number, so {} cannot bin it", text.escape_debug(), self.name));
        }
        match self.breaks.partition_point(|&b| b <= x) {
            0 => Err(format!(
                "{text} is below the first break ({}) of {}, so it is in no bin; \
                 lower the first break to take it in",
                self.breaks[0], self.name
            )),
            i => Ok(i - 1),
        }
    }

    /// Which column of a file with columns `headers` to read this attribute from: `Some(col,
    /// true)` for the numeric column to bin, `Some(col, false)` for a column of labels named
    /// for the attribute, `None` when there is neither.
    ///
    /// # Errors
    /// A message when the file has both, under different names.
    pub fn source(&self, headers: &[String]) -> std::result::Result<Option<(usize, bool)>, String> {
        let from = headers.iter().position(|h| *h == self.from);
        let named = headers.iter().position(|h| *h == self.name);
        match (from, named) {
            (Some(f), Some(n)) if f != n => Err(format!(
                "has both \"{}\" and \"{}\": the attribute {} is binned from {}; rename one column, or the attribute",
                self.from, self.name, self.name, self.from
            )),
            (Some(f), _) => Ok(Some((f, true))),
            (None, Some(n)) => Ok(Some((n, false))),
            (None, None) => Ok(None),
        }
    }

    /// Frame `frame` (named `name` in messages) with every column binned: each attribute of
    /// `bins` whose `from` column it holds gets that column's values binned, under the
    /// attribute's name, with the labels as levels in order. Missing values stay missing.
    ///
    /// # Errors
    /// [`Error::Input`] naming the row and column of the first value that has no bin, and a
    /// frame holding both an attribute's `from` column and one of its name.
    pub fn apply(bins: &[Bins], frame: Frame, name: &str, missing: &MissingValues) -> Result<Frame> {
        let mut frame = frame;
        for b in bins {
            let headers: Vec<String> = frame.names().map(str::to_string).collect();
            let col = match b.source(&headers).map_err(|m| Error::input(Location::file(name), m))? {
                Some((col, true)) => col,
                _ => continue,
            };
            let mut map = Vec::with_capacity(frame.levels(col).len());
            for (level, value) in frame.levels(col).iter().enumerate() {
                if missing.is_missing(value.trim()) {
                    map.push(None);
                    continue;
                }
                let bin = b.bin(value).map_err(|message| {
                    // the first row holding the level: levels are learned from rows
                    let row = frame.column_codes(col).position(|c| c == Some(level as u32)).unwrap_or_default();
                    Error::input(Location::file(name).at_row(row as u64 + 1).at_column(&b.from), message)
                })?;
                map.push(Some(bin as u32));
            }
            frame = frame.recode(col, Column::new(b.name.clone(), b.labels.clone()), &map);
        }
        Ok(frame)
    }
}

/// R's `cut(x, breaks, right = FALSE)` names: `[0,18)`, …, `[65,Inf)`.
fn default_labels(breaks: &[f64]) -> Vec<String> {
    let ends = breaks.iter().skip(1).map(|b| b.to_string()).chain(std::iter::once("Inf".to_string()));
    breaks.iter().zip(ends).map(|(a, b)| format!("[{a},{b})")).collect()
}

/// `[attributes.NAME]` as written in a spec: a list of categories, or a binned column.
#[derive(Debug, Clone)]
pub(crate) enum Declared {
    /// `NAME = ["a", "b"]`.
    Categories(Vec<String>),
    /// `[attributes.NAME] from = …, breaks = […], labels = […]`.
    Binned(Bins),
}

/// The fields of a binned attribute, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBins {
    from: String,
    breaks: Vec<f64>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

/// A spec's `[attributes]`, each checked: names to lists of categories or binned columns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attributes(pub IndexMap<String, Declared>);

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = IndexMap::<String, toml::Value>::deserialize(deserializer)?;
        let mut out = IndexMap::new();
        for (name, value) in raw {
            let declared = match value {
                toml::Value::Array(_) => Declared::Categories(
                    Vec::<String>::deserialize(value)
                        .map_err(|e| D::Error::custom(format!("[attributes] {name}: {}", e.message())))?,
                ),
                toml::Value::Table(_) => {
                    let raw = RawBins::deserialize(value)
                        .map_err(|e| D::Error::custom(format!("[attributes.{name}]: {}", e.message())))?;
                    let bins = Bins::new(&name, &raw.from, &raw.breaks, raw.labels.as_deref())
                        .map_err(|e| D::Error::custom(e.to_string()))?;
                    Declared::Binned(bins)
                }
                other => {
                    return Err(D::Error::custom(format!(
                        "[attributes] {name} must be a list of categories or a table \
                         [attributes.{name}] with from, breaks and labels, found {}",
                        other.type_str()
                    )))
                }
            };
            out.insert(name, declared);
        }
        Ok(Attributes(out))
    }
}

impl Attributes {
    /// The binned attributes, in declared order.
    pub fn bins(&self) -> Vec<Bins> {
        self.0
            .values()
            .filter_map(|d| match d {
                Declared::Binned(b) => Some(b.clone()),
                Declared::Categories(_) => None,
            })
            .collect()
    }
}

/// The binned attributes (`[attributes.NAME] from/breaks/labels`) of a fit or experiment
/// spec at `path`; everything else in it is ignored. `compare --bins` reads truths and pools
/// with them.
///
/// # Errors
/// The errors of [`specfile::read`](crate::specfile::read), and a binned attribute
/// [`Bins::new`] refuses.
pub fn read_bins(path: &Path) -> Result<Vec<Bins>> {
    #[derive(Deserialize)]
    struct OnlyAttributes {
        #[serde(default)]
        attributes: Attributes,
    }
    let spec: OnlyAttributes = crate::specfile::read(path)?;
    let bins = spec.attributes.bins();
    if bins.is_empty() {
        return Err(Error::input(
            Location::file(path.display().to_string()),
            "declares no binned attribute ([attributes.NAME] with from, breaks and labels)",
        ));
    }
    Ok(bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(breaks: &[f64], labels: Option<&[&str]>) -> Result<Bins> {
        let labels: Option<Vec<String>> = labels.map(|l| l.iter().map(|s| s.to_string()).collect());
        Bins::new("age_group", "age", breaks, labels.as_deref())
    }

    #[test]
    fn bins_are_left_closed_and_the_last_open_ended() {
        let b = bins(&[0.0, 18.0, 30.0], Some(&["young", "adult", "older"])).unwrap();
        let got: Vec<_> = ["0", "17.999", "18", "29", "30", "1e6", "+5", "5.0"].iter().map(|v| b.bin(v)).collect();
        assert_eq!(got, [Ok(0), Ok(0), Ok(1), Ok(1), Ok(2), Ok(2), Ok(0), Ok(0)]);
        assert!(b.bin("-0.5").unwrap_err().contains("-0.5 is below the first break (0) of age_group"));
        assert!(b.bin("inf").unwrap_err().contains("not a finite number"));
        assert!(b.bin("").unwrap_err().contains("not a number"));
        assert!(b.bin("12 years").unwrap_err().contains("\"12 years\" is not a number"));
    }

    #[test]
    fn default_labels_are_those_of_r_cut() {
        assert_eq!(bins(&[0.0, 2.5], None).unwrap().labels(), ["[0,2.5)", "[2.5,Inf)"]);
    }

    #[test]
    fn bad_bins_are_refused_with_the_reason() {
        let error = |b: Result<Bins>| b.unwrap_err().to_string();
        assert!(error(bins(&[0.0, 30.0, 18.0], None)).contains("found 18 after 30: the bins would overlap"));
        assert!(error(bins(&[0.0, 18.0, 18.0], None)).contains("found 18 after 18"));
        assert!(error(bins(&[], None)).contains("breaks must list"));
        assert!(error(bins(&[0.0, f64::NAN], None)).contains("not a finite number"));
        assert!(error(bins(&[0.0, 18.0], Some(&["a"]))).contains("need 2 labels, found 1"));
        assert!(error(bins(&[0.0, 18.0], Some(&["a", "a"]))).contains("label \"a\" names bins 1 and 2"));
        assert!(error(bins(&[0.0, 18.0], Some(&["a", " "]))).contains("a label is empty"));
        assert!(error(Bins::new("g", " ", &[0.0], None)).starts_with("[attributes.g]: from must name"));
    }

    #[test]
    fn the_source_column_is_the_numeric_one_else_the_labels() {
        let b = bins(&[0.0], None).unwrap();
        let h = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(b.source(&h(&["id", "age"])), Ok(Some((1, true))));
        assert_eq!(b.source(&h(&["age_group"])), Ok(Some((0, false))));
        assert_eq!(b.source(&h(&["sex"])), Ok(None));
        assert!(b.source(&h(&["age", "age_group"])).unwrap_err().contains("has both \"age\" and \"age_group\""));
        let same = Bins::new("age", "age", &[0.0], None).unwrap();
        assert_eq!(same.source(&h(&["age"])), Ok(Some((0, true))));
    }

    #[test]
    fn frames_are_binned_level_by_level_and_errors_name_the_row() {
        let frame = Frame::from_rows(&["sex", "age"], &[["f", "40"], ["m", "NA"], ["f", "17"], ["m", "40"]]).unwrap();
        let b = [bins(&[0.0, 18.0], Some(&["child", "adult"])).unwrap()];
        let binned = Bins::apply(&b, frame, "truth.parquet", &MissingValues::default()).unwrap();
        assert_eq!(binned.names().collect::<Vec<_>>(), ["sex", "age_group"]);
        assert_eq!(binned.levels(1), ["child", "adult"]);
        assert_eq!(binned.column_codes(1).collect::<Vec<_>>(), [Some(1), None, Some(0), Some(1)]);
        let frame = Frame::from_rows(&["age"], &[["40"], ["x"], ["x"]]).unwrap();
        let e = Bins::apply(&b, frame, "truth.parquet", &MissingValues::default()).unwrap_err().to_string();
        assert!(e.starts_with("truth.parquet, row 2, column \"age\": \"x\" is not a number"), "{e}");
    }

    #[test]
    fn specs_declare_categories_or_bins() {
        #[derive(Deserialize)]
        struct S {
            attributes: Attributes,
        }
        let s: S = crate::specfile::parse(
            "[attributes]\nsex = [\"f\", \"m\"]\n[attributes.age_group]\nfrom = \"age\"\nbreaks = [0, 18.5]\n",
            "s.toml",
        )
        .unwrap();
        assert!(matches!(&s.attributes.0["sex"], Declared::Categories(c) if c == &["f", "m"]));
        assert_eq!(s.attributes.bins()[0].labels(), ["[0,18.5)", "[18.5,Inf)"]);
        let e = crate::specfile::parse::<S>("[attributes.g]\nfrom = \"a\"\nbreaks = [1, 0]\n", "s.toml");
        let e = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.starts_with("s.toml, line 1: ") && e.contains("[attributes.g]: breaks must increase"), "{e}");
        let e = crate::specfile::parse::<S>("[attributes.g]\nfrom = \"a\"\nbreak = [1]\n", "s.toml");
        assert!(e.err().map(|e| e.to_string()).unwrap_or_default().contains("unknown field `break`"));
        let e = crate::specfile::parse::<S>("[attributes]\ng = 3\n", "s.toml");
        assert!(e.err().map(|e| e.to_string()).unwrap_or_default().contains("found integer"));
    }
}
