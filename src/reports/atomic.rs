//! Atomic output files: written to a temporary file in the destination folder, then renamed
//! over the final name, so a crash never leaves a half-written file under that name.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `path` atomically: `write` fills a buffered temporary file in the same folder,
/// which is flushed, synced and renamed to `path` only if `write` succeeds.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("out.txt");
/// populace::reports::write_atomic(&path, |w| Ok(w.write_all(b"hello")?)).unwrap();
/// # use std::io::Write;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
/// ```
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let err = |e| Error::write(path, e);
    let tmp = temp_beside(path, dir).map_err(err)?;
    let mut writer = BufWriter::with_capacity(1 << 20, tmp);
    write(&mut writer).map_err(err)?;
    let tmp = writer.into_inner().map_err(|e| err(e.into_error()))?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// A temporary file in `dir` (the folder of `path`), named `.NAME.XXXXXX.tmp` after `path`'s
/// file name, to be renamed over `path` when complete. It is created with the permissions a
/// plain `File::create` would give (0666 less the umask), not the owner-only 0600 of temporary
/// files, since it becomes the output.
fn temp_beside(path: &Path, dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    let prefix = format!(".{}.", path.file_name().map_or("out".into(), |n| n.to_string_lossy()));
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}
