//! Large buffers backed by transparent huge pages where the kernel allows it.
//!
//! A first write to a fresh 4 KiB page costs a page fault; filling the 100 MB arrays that ten
//! million records need takes tens of thousands of them, which on a virtual machine cost more
//! than the arithmetic of a calibration. Linux distributions commonly ship transparent huge
//! pages in `madvise` mode, so a buffer asks for them (`MADV_HUGEPAGE`, as numpy does for its
//! arrays) and is then faulted in 2 MiB at a time. Elsewhere, or when the kernel refuses,
//! these are ordinary vectors.

use std::io::Read;
use std::path::Path;

/// Buffers smaller than this are left to the allocator as they are.
const HUGE_FROM: usize = 4 << 20;

/// A vector of `n` zeros (`T::default()` of a number), on huge pages when it is large.
///
/// The allocation is zeroed by the kernel and not yet touched (the allocator knows fresh
/// pages are zero), so the advice applies to every page.
pub(crate) fn zeros<T: Default + Clone>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    advise_huge(&v);
    v
}

/// The whole file at `path`, read into a buffer on huge pages when it is large.
pub(crate) fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut data = Vec::with_capacity(size.saturating_add(1));
    advise_huge(&data);
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// Asks the kernel to back the capacity of `v` with huge pages (a hint: failure is ignored).
#[cfg(target_os = "linux")]
fn advise_huge<T>(v: &Vec<T>) {
    const HUGE_PAGE: usize = 2 << 20;
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < HUGE_FROM {
        return;
    }
    let start = v.as_ptr() as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE);
    let end = (start + bytes) & !(HUGE_PAGE - 1);
    if end > aligned {
        // SAFETY: madvise only changes how the kernel backs pages of this allocation, which
        // `v` owns; the advised range lies inside it, and the call neither reads nor writes
        // memory. An error (no THP support, say) leaves the pages as they were.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge<T>(_: &Vec<T>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_hold_what_was_asked() {
        let v = zeros::<u32>(3 << 20);
        assert_eq!(v.len(), 3 << 20);
        assert!(v.iter().all(|&x| x == 0));
        assert!(zeros::<f64>(0).is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let text: Vec<u8> = (0..(5 << 20)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_file(&path).unwrap(), text);
    }
}
