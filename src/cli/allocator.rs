//! The command's allocator: the system's, refusing an allocation past the thread's budget
//! ([`populace::memory::allocation_budget`]: a persona card's rendering may not build a value
//! of more than 64 MiB) with an error and exit code 3, where the allocation would otherwise
//! exhaust memory and abort.

use std::alloc::{GlobalAlloc, Layout, System};

struct Budgeted;

#[global_allocator]
static ALLOCATOR: Budgeted = Budgeted;

// SAFETY: every call is passed on to the system allocator unchanged; the check before it only
// reads a thread-local number (no allocation) or ends the process.
unsafe impl GlobalAlloc for Budgeted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn check(size: usize) {
    if size > populace::memory::allocation_budget() {
        refuse(size);
    }
}

/// Ends the run as a bad input does: the run's temporary files removed, the error on stderr,
/// exit code 3. The budget is lifted first, so that this may allocate.
#[cold]
fn refuse(size: usize) -> ! {
    let message = populace::memory::over_budget(size);
    populace::cleanup::stop();
    eprintln!("error: {message}");
    std::process::exit(super::exit::BAD_INPUT)
}
