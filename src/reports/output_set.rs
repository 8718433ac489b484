//! A run's outputs in one folder, put in place together: never one run's file beside another
//! run's.
//!
//! [`OutputSet::open`] locks the folder (`.populace.lock`, an advisory lock the operating
//! system releases when the process ends, however it ends; the file is removed when the run
//! ends) so that a second run into the same folder fails at once with a clear error, and makes
//! a hidden staging folder in it. The run
//! writes its outputs into the staging folder ([`OutputSet::path`]); [`OutputSet::commit`]
//! then renames them into the folder, and removes the files of the set this run did not write
//! (an earlier calibration's `weights.csv` when this run fitted a joint), all under the lock of
//! [`crate::cleanup`], so a stop signal waits for the set to be in place. A run that fails or
//! is stopped before its commit leaves the folder as it was (a run killed outright, by SIGKILL
//! or a power cut, leaves its hidden staging folder, which the next run into the folder
//! removes).
//!
//! ```
//! use populace::reports::{write_atomic, OutputSet};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let out = dir.path().join("out");
//! std::fs::create_dir(&out).unwrap();
//! std::fs::write(out.join("b.txt"), "from an earlier run").unwrap();
//! let set = OutputSet::open(&out).unwrap();
//! assert!(OutputSet::open(&out).is_err()); // a second run into the folder is refused
//! write_atomic(&set.path("a.txt"), |w| w.write_all(b"new")).unwrap();
//! assert!(!out.join("a.txt").exists()); // nothing in place before the commit
//! set.commit(&["a.txt", "b.txt"]).unwrap();
//! assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "new");
//! assert!(!out.join("b.txt").exists()); // not this run's: removed
//! ```

use std::path::{Path, PathBuf};

use super::atomic::Tracked;
use crate::error::{Error, Result};

/// The name of the lock file an [`OutputSet`] keeps in its folder.
pub const LOCK_FILE: &str = ".populace.lock";

/// Whether the lock file at `path` is still the file `lock` holds: a run that ended between
/// this run's open and its lock has removed it (another run may have made a new one).
fn still_there(lock: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (lock.metadata(), std::fs::metadata(path)) {
            (Ok(held), Ok(named)) => held.ino() == named.ino() && held.dev() == named.dev(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (lock, path);
        true
    }
}

/// The start of a staging folder's name.
const STAGING: &str = ".populace-staging.";

/// Removes the staging folders of runs that were killed (SIGKILL, power loss) before they
/// could clean up: with the folder's lock held, no other run is using one.
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(STAGING) && entry.path().is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The outputs of one run into one folder: locked, staged, and put in place together by
/// [`OutputSet::commit`].
pub struct OutputSet {
    dir: PathBuf,
    staging: tempfile::TempDir,
    _tracked: Tracked,
    lock: std::fs::File,
    lock_path: PathBuf,
    /// Whether this run made the folder: if it ends without a commit, it removes it again.
    made: bool,
    committed: bool,
}

impl OutputSet {
    /// Makes `dir` if need be, locks it for this run and makes a staging folder in it.
    ///
    /// # Errors
    /// [`Error::Write`] when the folder cannot be made or written, or another run (of this or
    /// another process) holds its lock.
    pub fn open(dir: &Path) -> Result<OutputSet> {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let made = !dir.is_dir();
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::write(&lock_path, e))?;
        let taken = match lock.try_lock() {
            Ok(()) => still_there(&lock, &lock_path),
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::write(&lock_path, e)),
        };
        if !taken {
            let busy = std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "another populace run is writing into this folder (it holds the lock): wait for it to end, or choose \
                 another output folder",
            );
            return Err(Error::write(dir, busy));
        }
        remove_stale_staging(dir);
        let staging = tempfile::Builder::new().prefix(STAGING).tempdir_in(dir).map_err(|e| Error::write(dir, e))?;
        let tracked = Tracked::new(staging.path());
        Ok(OutputSet { dir: dir.to_path_buf(), staging, _tracked: tracked, lock, lock_path, made, committed: false })
    }

    /// Where the run writes its output `name` (a file name): in the staging folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.staging.path().join(name)
    }

    /// Where output `name` is once the set is committed.
    pub fn destination(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Renames every file written into the staging folder into the folder, removes each file
    /// named in `set` that this run did not write, and removes the staging folder.
    ///
    /// # Errors
    /// [`Error::Write`] when a file cannot be renamed or removed, or the run was stopped
    /// ([`crate::cleanup::stop`]) before the commit.
    pub fn commit(mut self, set: &[&str]) -> Result<()> {
        self.committed = true;
        let staged = std::fs::read_dir(self.staging.path()).map_err(|e| Error::write(self.staging.path(), e))?;
        let mut names = Vec::new();
        for entry in staged {
            let entry = entry.map_err(|e| Error::write(self.staging.path(), e))?;
            names.push(entry.file_name());
        }
        crate::cleanup::commit(&self.dir, || {
            for name in &names {
                let to = self.dir.join(name);
                std::fs::rename(self.staging.path().join(name), &to).map_err(|e| Error::write(&to, e))?;
            }
            for name in set.iter().filter(|&&n| !names.iter().any(|w| w == n)) {
                let stale = self.dir.join(name);
                match std::fs::remove_file(&stale) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::write(&stale, e)),
                    _ => {}
                }
            }
            Ok(())
        })
    }
}

impl Drop for OutputSet {
    /// Removes the lock file while holding the lock (a run that opened it meanwhile finds it gone
    /// once it has the lock, and refuses), then lets the lock go; removes the folder if this run
    /// made it and put nothing in it.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock_path);
        let _ = self.lock.unlock();
        if self.made && !self.committed {
            // the staging folder goes after this; then the folder is empty
            let _ = std::fs::remove_dir_all(self.staging.path());
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}
