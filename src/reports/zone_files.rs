//! Per-zone output files: the Hive-style folder each zone's file goes to, and the SHA-256
//! checksums that a sharded run's manifest lines carry.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// `dir/zone=ID`, the zone id escaped as Hive and Spark escape partition values: `%XX`
/// (uppercase hex) for control characters and `"#%'*/:=?\{[]^`; an empty id is
/// `__HIVE_DEFAULT_PARTITION__`.
///
/// ```
/// use std::path::Path;
/// let folder = populace::reports::zone_folder(Path::new("out"), "a/b");
/// assert_eq!(folder, Path::new("out/zone=a%2Fb"));
/// ```
pub fn zone_folder(dir: &Path, zone: &str) -> PathBuf {
    let mut name = String::from("zone=");
    if zone.is_empty() {
        name.push_str("__HIVE_DEFAULT_PARTITION__");
    }
    for c in zone.chars() {
        if c.is_ascii_control() || "\"#%'*/:=?\\{[]^".contains(c) {
            name.push_str(&format!("%{:02X}", c as u32));
        } else {
            name.push(c);
        }
    }
    dir.join(name)
}

/// The longest file name most file systems take (`NAME_MAX` on Linux and macOS), in bytes.
pub const MAX_FOLDER_NAME: usize = 255;

/// Checks, before anything is written, that every zone's folder name (see [`zone_folder`])
/// fits in a file name, so that a run does not fail after writing some zones.
///
/// ```
/// let long = "z".repeat(300);
/// let e = populace::reports::check_zone_folders(["a", long.as_str()]).unwrap_err().to_string();
/// assert!(e.contains("zone zzzz"), "{e}");
/// ```
///
/// # Errors
/// [`Error::Input`] naming the first zone whose folder name is longer than
/// [`MAX_FOLDER_NAME`] bytes.
pub fn check_zone_folders<'a>(zones: impl IntoIterator<Item = &'a str>) -> Result<()> {
    for zone in zones {
        let folder = zone_folder(Path::new(""), zone);
        let length = folder.as_os_str().len();
        if length > MAX_FOLDER_NAME {
            let shown: String = zone.chars().take(40).collect();
            return Err(Error::input(
                crate::error::Location::file("zones"),
                format!(
                    "zone {shown}… makes a folder name of {length} bytes (zone=ID, escaped), longer than the \
                     {MAX_FOLDER_NAME} a file system takes: shorten the zone ids"
                ),
            ));
        }
    }
    Ok(())
}

/// The SHA-256 (as `sha256:HEX`) and size of a file.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("empty.csv");
/// std::fs::write(&path, "").unwrap();
/// let (checksum, bytes) = populace::reports::file_checksum(&path).unwrap();
/// assert_eq!(bytes, 0);
/// assert_eq!(checksum, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
/// ```
///
/// # Errors
/// [`Error::Read`] when the file cannot be read.
pub fn file_checksum(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut hashing = Hashing::new(std::io::sink());
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::read(path, e))?;
        if n == 0 {
            break;
        }
        hashing.write_all(&buffer[..n]).map_err(|e| Error::read(path, e))?;
    }
    let (_, checksum, bytes) = hashing.finish();
    Ok((checksum, bytes))
}

/// A writer that hashes and counts what goes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Hashing<W> {
    /// Hashes and counts what is written to `inner`.
    pub(crate) fn new(inner: W) -> Self {
        Hashing { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The inner writer, the checksum of what went through (`sha256:` and the digest in
    /// lowercase hex) and its size in bytes.
    pub(crate) fn finish(self) -> (W, String, u64) {
        (self.inner, format!("sha256:{:x}", self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_folders_escape_like_hive() {
        let d = Path::new("out");
        assert_eq!(zone_folder(d, "06001400100"), Path::new("out/zone=06001400100"));
        assert_eq!(zone_folder(d, "a/b=c d%"), Path::new("out/zone=a%2Fb%3Dc d%25"));
        assert_eq!(zone_folder(d, ""), Path::new("out/zone=__HIVE_DEFAULT_PARTITION__"));
    }
}
