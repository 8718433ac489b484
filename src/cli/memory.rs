//! The allocator settings of the `populace` command (process-wide, so the command's and not the
//! library's). Self-contained: the calibration benchmark includes this file to measure
//! `fit_microdata` as `populace fit` runs it.

/// Makes the C allocator keep freed memory for the process's later allocations rather than
/// return it to the kernel, so a large buffer reuses pages that are already mapped instead of
/// faulting in (and zeroing) fresh ones. `populace fit` calls it before reading its inputs; a
/// program using the library may do the same, or not: it is the program's choice, not the
/// library's.
///
/// With glibc this serves every allocation from the heap (`M_MMAP_MAX` = 0) and never trims
/// it (`M_TRIM_THRESHOLD`): freed memory stays with the process until it exits, and the heap
/// can fragment (evaluation's peak grew 7% with it, which is why only `fit` asks for it).
/// Elsewhere it does nothing.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; both are documented in mallopt(3), and
    // the allocator applies them to later calls.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX);
    }
}
