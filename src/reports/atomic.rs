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
    let err = |e| Error::write(path, e);
    let tmp = TempFile::beside(path).map_err(err)?;
    let mut writer = BufWriter::with_capacity(1 << 20, tmp);
    write(&mut writer).map_err(err)?;
    let tmp = writer.into_inner().map_err(|e| err(e.into_error()))?;
    tmp.persist(path)
}

/// A temporary file in the folder of the output it becomes, named `.NAME.XXXXXX.tmp` after
/// it, registered with [`crate::cleanup`] while it exists (a stopped run removes it) and
/// removed when dropped. It is created with the permissions a plain `File::create` would give
/// (0666 less the umask), not the owner-only 0600 of temporary files, since it becomes the
/// output.
pub(crate) struct TempFile {
    file: tempfile::NamedTempFile,
    _tracked: Tracked,
}

impl TempFile {
    /// A new temporary file beside `path` (in `path`'s folder, which must exist).
    pub(crate) fn beside(path: &Path) -> std::io::Result<TempFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{}.", path.file_name().map_or("out".into(), |n| n.to_string_lossy()));
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let file = builder.tempfile_in(dir)?;
        let tracked = Tracked::new(file.path());
        Ok(TempFile { file, _tracked: tracked })
    }

    /// The open file.
    pub(crate) fn as_file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    /// Syncs the file and renames it to `path`, unless the run has been stopped
    /// ([`crate::cleanup::commit`]).
    ///
    /// # Errors
    /// [`Error::Write`] naming `path`.
    pub(crate) fn persist(self, path: &Path) -> Result<()> {
        let err = |e| Error::write(path, e);
        self.file.as_file().sync_all().map_err(err)?;
        let TempFile { file, _tracked } = self;
        // a failed rename hands the file back, which removes it when dropped
        crate::cleanup::commit(path, || file.persist(path).map(drop).map_err(|e| err(e.error)))
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// A path registered with [`crate::cleanup`] for as long as this lives.
pub(crate) struct Tracked(std::path::PathBuf);

impl Tracked {
    pub(crate) fn new(path: &Path) -> Tracked {
        crate::cleanup::track(path);
        Tracked(path.to_path_buf())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        crate::cleanup::untrack(&self.0);
    }
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}
