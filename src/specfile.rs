//! Reading spec files. Every TOML spec populace takes — the fit spec
//! ([`inputs::Spec`](crate::inputs::Spec)), the experiment spec
//! ([`evaluation::ExperimentSpec`](crate::evaluation::ExperimentSpec)) and the world spec
//! ([`evaluation::world::WorldSpec`](crate::evaluation::world::WorldSpec)) — is read here, the
//! same way: UTF-8 (an invalid byte is an error naming its offset), a byte-order mark accepted,
//! and a syntax or schema error named with the file and the line it is on.
//!
//! ```
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     folds: usize,
//! }
//!
//! let settings: Settings = populace::specfile::parse("\u{feff}folds = 5\n", "settings.toml")?;
//! assert_eq!(settings.folds, 5);
//!
//! let error = populace::specfile::parse::<Settings>("folds = 5\nfold = 2\n", "settings.toml").unwrap_err();
//! assert!(error.to_string().starts_with("settings.toml, line 2: unknown field `fold`"), "{error}");
//! # Ok::<(), populace::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Location, Result};

/// `file`, named in a spec whose folder is `base`: as it is when absolute (or `base` is empty),
/// else inside `base`.
pub fn resolve(base: &Path, file: &Path) -> PathBuf {
    if file.is_absolute() || base.as_os_str().is_empty() {
        file.to_path_buf()
    } else {
        base.join(file)
    }
}

/// Reads the spec file at `path` (named in messages as the user gave it) into `T`.
///
/// # Errors
/// [`Error::Read`] when the file cannot be read; [`Error::Input`] naming the file (and the line,
/// where the TOML parser gives one) when it is not UTF-8, not TOML, or not a `T`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let name = path.display().to_string();
    let bytes = crate::memory::read_file(path, &name)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::input(
            Location::file(&name),
            format!("the spec is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )
    })?;
    parse(&text, &name)
}

/// Parses spec text into `T`; `name` names it in messages. A leading byte-order mark is skipped.
///
/// # Errors
/// [`Error::Input`] naming `name` and the line of the first problem.
pub fn parse<T: DeserializeOwned>(text: &str, name: &str) -> Result<T> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    toml::from_str(text).map_err(|e| {
        let mut location = Location::file(name);
        location.line = e.span().map(|span| line_at(text, span.start));
        Error::input(location, plain_types(e.message()))
    })
}

/// A schema message with Rust's type names in words: `expected usize` → `expected a whole
/// number, 0 or more`.
fn plain_types(message: &str) -> String {
    let words = [
        ("usize", "a whole number, 0 or more"),
        ("u64", "a whole number, 0 or more"),
        ("u32", "a whole number, 0 or more"),
        ("u16", "a whole number, 0 or more"),
        ("u8", "a whole number, 0 or more"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    let mut out = message.to_string();
    for (name, plain) in words {
        let (with_end, ends) = (format!("expected {name}"), [",", ".", ")", " "]);
        if out.ends_with(&with_end) {
            out = format!("{}expected {plain}", &out[..out.len() - name.len() - "expected ".len()]);
        }
        for end in ends {
            out = out.replace(&format!("{with_end}{end}"), &format!("expected {plain}{end}"));
        }
    }
    out
}

/// A field written `"name"` or `["a", "b"]` (an id column, or the columns that together are one),
/// as a list.
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match <OneOrMany as serde::Deserialize>::deserialize(deserializer)? {
        OneOrMany::One(name) => vec![name],
        OneOrMany::Many(names) => names,
    })
}

/// The 1-based line of byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> u64 {
    1 + text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only through Debug in the assertions
    struct Spec {
        name: String,
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = parse::<Spec>("name = \"a\"\n\nname = \"b\"\n", "s.toml").unwrap_err().to_string();
        assert!(e.starts_with("s.toml, line 3: "), "{e}");
        let e = parse::<Spec>("name = 3\n", "s.toml").unwrap_err().to_string();
        assert!(e.starts_with("s.toml, line 1: "), "{e}");
    }

    #[test]
    fn files_must_be_utf8_and_may_start_with_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.toml");
        std::fs::write(&path, b"\xef\xbb\xbfname = \"a\"\n").unwrap();
        assert_eq!(read::<Spec>(&path).unwrap().name, "a");
        std::fs::write(&path, b"name = \"\xff\"\n").unwrap();
        let e = read::<Spec>(&path).unwrap_err().to_string();
        assert!(e.ends_with("the spec is not valid UTF-8 (invalid byte at offset 8)"), "{e}");
        assert!(matches!(read::<Spec>(&dir.path().join("none.toml")), Err(Error::Read { .. })));
    }

    #[test]
    fn rust_type_names_read_as_words() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)] // read only through Debug in the assertions
        struct Sizes {
            persons: usize,
            share: f64,
        }
        let e = parse::<Sizes>("persons = -5\nshare = 1.0\n", "w.toml").unwrap_err().to_string();
        assert_eq!(e, "w.toml, line 1: invalid value: integer `-5`, expected a whole number, 0 or more");
        let e = parse::<Sizes>("persons = 5\nshare = \"x\"\n", "w.toml").unwrap_err().to_string();
        assert_eq!(e, "w.toml, line 2: invalid type: string \"x\", expected a number");
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_at("a\nb\nc", 0), 1);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 99), 3);
    }
}
