//! One missing-value policy for every input: which field values mean "missing", and what a
//! command does with a record that has one.
//!
//! Every reader of categorical data (seeds, margins, responses, truths and pools) asks the same
//! [`MissingValues`] whether a field, trimmed of surrounding spaces, is missing. By default the
//! empty field and the spellings of R, pandas, SAS and Stata are: `""`, `NA`, `N/A`, `NaN`,
//! `NULL` and `.` (matched exactly, case and all). A spec's top-level `missing_values = [...]`
//! (or `--missing-values` on `compare`) replaces the set.
//!
//! What happens to a record with a missing value is a [`MissingPolicy`], stated per input:
//! left out and counted ([`MissingPolicy::Drop`]), kept with the value as a category of its own
//! named [`CATEGORY`] ([`MissingPolicy::Category`]), or an error naming the place
//! ([`MissingPolicy::Error`]). Whatever the policy, what was done is counted
//! ([`MissingCounts`]) and reported: missing values are never silent.
//!
//! ```
//! use populace::missing::{MissingPolicy, MissingValues};
//!
//! let missing = MissingValues::default();
//! assert!(missing.is_missing("NA") && missing.is_missing("") && !missing.is_missing("na"));
//! let only_dots = MissingValues::new(["."]);
//! assert!(only_dots.is_missing(".") && !only_dots.is_missing("NA"));
//! assert_eq!("category".parse::<MissingPolicy>(), Ok(MissingPolicy::Category));
//! ```

use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The values read as missing unless a spec or option says otherwise.
pub const DEFAULT_TOKENS: [&str; 6] = ["", "NA", "N/A", "NaN", "NULL", "."];

/// The name of the category that missing values become under [`MissingPolicy::Category`].
pub const CATEGORY: &str = "missing";

/// The field values that mean "missing", compared with a field trimmed of surrounding spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct MissingValues {
    tokens: Vec<String>,
}

impl Default for MissingValues {
    /// [`DEFAULT_TOKENS`].
    fn default() -> Self {
        MissingValues::new(DEFAULT_TOKENS)
    }
}

impl From<Vec<String>> for MissingValues {
    fn from(tokens: Vec<String>) -> Self {
        MissingValues::new(tokens)
    }
}

impl From<MissingValues> for Vec<String> {
    fn from(missing: MissingValues) -> Self {
        missing.tokens
    }
}

impl MissingValues {
    /// Exactly `tokens` (each trimmed of surrounding spaces, as fields are). An empty set means
    /// no value is missing, not even the empty field.
    pub fn new<S: AsRef<str>>(tokens: impl IntoIterator<Item = S>) -> MissingValues {
        let mut list: Vec<String> = Vec::new();
        for token in tokens {
            let token = token.as_ref().trim();
            if !list.iter().any(|t| t == token) {
                list.push(token.to_string());
            }
        }
        MissingValues { tokens: list }
    }

    /// Whether the field `value` (already trimmed) is missing.
    pub fn is_missing(&self, value: &str) -> bool {
        self.tokens.iter().any(|t| t == value)
    }

    /// Whether the field `bytes` (already trimmed) is missing: [`is_missing`](Self::is_missing)
    /// for fields not yet checked as UTF-8.
    pub fn is_missing_bytes(&self, bytes: &[u8]) -> bool {
        self.tokens.iter().any(|t| t.as_bytes() == bytes)
    }

    /// The tokens, in the order given.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
}

/// What a command does with a record that has a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MissingPolicy {
    /// Leave the record out, and count it.
    Drop,
    /// Keep it: the missing value is a category of its own, named [`CATEGORY`].
    Category,
    /// Stop with an error naming the file, line and column.
    Error,
}

impl MissingPolicy {
    /// The policy as written in specs and reports: `"drop"`, `"category"` or `"error"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingPolicy::Drop => "drop",
            MissingPolicy::Category => "category",
            MissingPolicy::Error => "error",
        }
    }
}

impl fmt::Display for MissingPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MissingPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "drop" => Ok(MissingPolicy::Drop),
            "category" => Ok(MissingPolicy::Category),
            "error" => Ok(MissingPolicy::Error),
            other => Err(format!("unknown missing-value policy \"{other}\"; expected drop, category or error")),
        }
    }
}

/// What one input's missing values came to: the policy applied, the records left out, and the
/// missing values met in each column (a record with two missing values counts in both columns
/// and once in `records_dropped`). Serializes as reported in the commands' JSON outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MissingCounts {
    /// The input, as named in messages (a file's path as given, or a table's name).
    pub input: String,
    /// The policy applied.
    pub policy: MissingPolicy,
    /// Records left out (always 0 unless the policy is [`MissingPolicy::Drop`]).
    pub records_dropped: usize,
    /// Missing values by column, in the order first met; columns without any are left out.
    pub by_column: IndexMap<String, usize>,
}

impl MissingCounts {
    /// No missing values yet in `input`, under `policy`.
    pub fn new(input: impl Into<String>, policy: MissingPolicy) -> MissingCounts {
        MissingCounts { input: input.into(), policy, records_dropped: 0, by_column: IndexMap::new() }
    }

    /// Counts one missing value in `column`.
    pub fn count(&mut self, column: &str) {
        match self.by_column.get_mut(column) {
            Some(n) => *n += 1,
            None => {
                self.by_column.insert(column.to_string(), 1);
            }
        }
    }

    /// Whether no missing value was met.
    pub fn is_empty(&self) -> bool {
        self.by_column.is_empty()
    }

    /// One line for stderr, or `None` when nothing was missing: `seed.csv: 12 records with
    /// missing values left out (income 9, education 4)`.
    pub fn summary(&self) -> Option<String> {
        let source = &self.input;
        if self.is_empty() {
            return None;
        }
        let columns: Vec<String> = self.by_column.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let columns = columns.join(", ");
        Some(match self.policy {
            MissingPolicy::Drop => format!(
                "{source}: {} record{} with missing values left out ({columns})",
                self.records_dropped,
                if self.records_dropped == 1 { "" } else { "s" }
            ),
            _ => format!("{source}: missing values kept as the category \"{CATEGORY}\" ({columns})"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_trimmed_deduplicated_and_matched_exactly() {
        let m = MissingValues::new([" NA ", "NA", "-9"]);
        assert_eq!(m.tokens(), ["NA", "-9"]);
        assert!(m.is_missing("-9") && !m.is_missing("") && !m.is_missing("nA"));
        let none = MissingValues::new(Vec::<String>::new());
        assert!(!none.is_missing(""));
        for token in DEFAULT_TOKENS {
            assert!(MissingValues::default().is_missing(token), "{token:?}");
        }
    }

    #[test]
    fn the_set_and_the_policy_read_from_a_spec() {
        #[derive(Deserialize)]
        struct Spec {
            missing_values: MissingValues,
            missing: MissingPolicy,
        }
        let spec: Spec = toml::from_str("missing_values = [\"-9\", \"\"]\nmissing = \"category\"\n").unwrap();
        assert_eq!(spec.missing_values, MissingValues::new(["-9", ""]));
        assert_eq!(spec.missing, MissingPolicy::Category);
        assert!(toml::from_str::<Spec>("missing_values = []\nmissing = \"skip\"\n").is_err());
        assert_eq!(
            "skip".parse::<MissingPolicy>().unwrap_err().split(';').next(),
            Some("unknown missing-value policy \"skip\"")
        );
    }

    #[test]
    fn counts_summarize_for_stderr_and_serialize_for_json() {
        let mut counts = MissingCounts::new("seed.csv", MissingPolicy::Drop);
        assert_eq!(counts.summary(), None);
        counts.count("income");
        counts.count("education");
        counts.count("income");
        counts.records_dropped = 2;
        assert_eq!(
            counts.summary().unwrap(),
            "seed.csv: 2 records with missing values left out (income 2, education 1)"
        );
        let json = serde_json::to_string(&counts).unwrap();
        assert_eq!(
            json,
            r#"{"input":"seed.csv","policy":"drop","records_dropped":2,"by_column":{"income":2,"education":1}}"#
        );
    }
}
