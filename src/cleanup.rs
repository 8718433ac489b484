//! What a run leaves behind if it is stopped from outside, and [`stop`], which clears it.
//!
//! Every output is written to a temporary file or staging folder beside its destination and
//! renamed into place when complete ([`crate::reports::write_atomic`],
//! [`crate::reports::OutputSet`]); simulator programs run in process groups of their own
//! ([`crate::evaluation`]'s `external` predictor). While they exist they are registered here,
//! so that a signal handler can call [`stop`]: it removes the temporary files and folders,
//! kills the process groups, and makes every later rename into place fail, so that a stopped
//! run leaves neither half-written files nor orphan processes nor a partial output set. The
//! `populace` command calls it on SIGINT, SIGTERM and SIGHUP; a library user who handles
//! signals can do the same.
//!
//! Renames into place run under the same lock as [`stop`]: a stop that arrives
//! while a set of outputs is being put in place waits until the whole set is in place.
//!
//! ```
//! let stopped = populace::cleanup::Stopped::default();
//! assert_eq!((stopped.files, stopped.processes), (0, 0));
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};

/// The temporary paths and process groups of the running process.
struct Registry {
    stopped: bool,
    paths: Vec<PathBuf>,
    groups: Vec<u32>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { stopped: false, paths: Vec::new(), groups: Vec::new() });

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// What [`stop`] cleared.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Temporary files and folders removed.
    pub files: usize,
    /// Process groups killed.
    pub processes: usize,
}

/// Removes every registered temporary file and folder, kills every registered process group,
/// and makes later renames into place fail. Waits for a commit under way to finish first.
pub fn stop() -> Stopped {
    let mut registry = registry();
    registry.stopped = true;
    let mut stopped = Stopped::default();
    for path in std::mem::take(&mut registry.paths) {
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        stopped.files += usize::from(removed.is_ok());
    }
    for group in std::mem::take(&mut registry.groups) {
        stopped.processes += usize::from(kill_group(group));
    }
    stopped
}

/// Registers a temporary file or folder, to be removed by [`stop`].
pub(crate) fn track(path: &Path) {
    registry().paths.push(path.to_path_buf());
}

/// Forgets a temporary file or folder (renamed into place, or removed).
pub(crate) fn untrack(path: &Path) {
    let mut registry = registry();
    if let Some(i) = registry.paths.iter().rposition(|p| p == path) {
        registry.paths.swap_remove(i);
    }
}

/// Runs `rename` (putting finished outputs in place) unless the run has been stopped, with the
/// registry locked so that [`stop`] waits for it; `name` is the output, for the error.
///
/// # Errors
/// [`Error::Write`] (interrupted) when [`stop`] has been called; those of `rename`.
pub(crate) fn commit<T>(name: &Path, rename: impl FnOnce() -> Result<T>) -> Result<T> {
    let registry = registry();
    if registry.stopped {
        return Err(Error::write(
            name,
            std::io::Error::new(std::io::ErrorKind::Interrupted, "the run was stopped before this output was complete"),
        ));
    }
    let done = rename();
    drop(registry);
    done
}

/// Registers the process group `group` (a simulator started as its leader), to be killed by
/// [`stop`].
pub(crate) fn track_group(group: u32) {
    registry().groups.push(group);
}

/// Kills the process group `group` (every process a simulator started, as well as the
/// simulator) and forgets it. Call it before reaping the group's leader, so that its id
/// cannot have been reused.
pub(crate) fn end_group(group: u32) {
    {
        let mut registry = registry();
        if let Some(i) = registry.groups.iter().position(|&g| g == group) {
            registry.groups.swap_remove(i);
        }
    }
    kill_group(group);
}

/// SIGKILL to every process of the group; `true` if any was there.
#[cfg(unix)]
fn kill_group(group: u32) -> bool {
    let Ok(group) = i32::try_from(group) else { return false };
    // SAFETY: kill(2) with a negative pid signals a process group; it touches no memory.
    group > 0 && unsafe { libc::kill(-group, libc::SIGKILL) } == 0
}

#[cfg(not(unix))]
fn kill_group(_: u32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrack_forgets_only_the_path_given() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        track(&a);
        track(&b);
        untrack(&a);
        let paths = registry().paths.clone();
        assert!(paths.contains(&b) && !paths.contains(&a));
        untrack(&b);
    }
}
