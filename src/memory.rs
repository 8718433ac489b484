//! Memory: what the process may still take, the limits every input is read within
//! ([`read_input`], [`MAX_LINE_BYTES`]), the allocation budget of a persona card
//! ([`allocation_budget`]), and large buffers: backed by transparent huge pages where the
//! kernel allows it, filled in parallel without being zeroed first, and reused once freed.
//!
//! A first write to a fresh 4 KiB page costs a page fault; filling the 100 MB arrays that ten
//! million records need takes tens of thousands of them, which on a virtual machine cost more
//! than the arithmetic of a calibration. Linux distributions commonly ship transparent huge
//! pages in `madvise` mode, so a buffer asks for them (`MADV_HUGEPAGE`, as numpy does for its
//! arrays) and is then faulted in 2 MiB at a time. Elsewhere, or when the kernel refuses,
//! these are ordinary vectors.
//!
//! Pages already faulted in cost nothing to write again, so `populace fit` has the allocator
//! keep freed buffers for later allocations (a process-wide setting, which the command makes and
//! the library leaves to its user): the fit's weights then land in the pages the seed file was
//! read into. A buffer every element of which is about to be computed is not zeroed first (the
//! crate-private `par_fill`).

use std::io::Read;
use std::mem::MaybeUninit;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Location, Result};

/// The largest single allocation rendering one persona card may ask for: 64 MiB, 64 times
/// the longest card. A template that grows a value past it (a string doubled in a loop, which
/// MiniJinja builds before any output limit can see it) ends the `populace` command with an
/// error naming the template and the person, where it would otherwise exhaust memory.
pub const CARD_MAX_ALLOCATION: usize = 64 << 20;

thread_local! {
    static BUDGET: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    static DOING: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// The largest single allocation this thread may make now: `usize::MAX` but while rendering a
/// persona card ([`CARD_MAX_ALLOCATION`]). The library allocates as usual whatever this says;
/// a program's global allocator enforces it (the `populace` command's ends the run with
/// [`over_budget`]'s message), so that a runaway template is an error, not an abort.
///
/// ```
/// assert_eq!(populace::memory::allocation_budget(), usize::MAX);
/// ```
pub fn allocation_budget() -> usize {
    BUDGET.try_with(std::cell::Cell::get).unwrap_or(usize::MAX)
}

/// Lifts this thread's allocation budget and says what the thread was doing when an
/// allocation of `size` bytes went past it, for the error message.
pub fn over_budget(size: usize) -> String {
    let _ = BUDGET.try_with(|b| b.set(usize::MAX));
    let doing = DOING.try_with(|d| d.borrow().clone()).unwrap_or_default();
    format!(
        "{doing}: a value of {size} bytes was asked for, more than the {} MiB one card may build (a string \
         doubled in a loop?)",
        CARD_MAX_ALLOCATION >> 20
    )
}

/// Runs `f` with this thread's single allocations limited to `limit` bytes (see
/// [`allocation_budget`]); `doing` writes what the thread does, for the error message.
pub(crate) fn with_budget<T>(limit: usize, doing: impl FnOnce(&mut String), f: impl FnOnce() -> T) -> T {
    let _ = DOING.try_with(|d| {
        let mut d = d.borrow_mut();
        d.clear();
        doing(&mut d);
    });
    let previous = BUDGET.try_with(|b| b.replace(limit)).unwrap_or(usize::MAX);
    let value = f();
    let _ = BUDGET.try_with(|b| b.set(previous));
    value
}

/// `None` when `bytes` fit in the memory [`available`] (or it cannot be told), else why not:
/// "it needs about 1.5 GiB but 0.9 GiB of memory is available".
pub(crate) fn shortfall(bytes: u64) -> Option<String> {
    let available = available()?;
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    (bytes > available)
        .then(|| format!("it needs about {:.1} GiB but {:.1} GiB of memory is available", gib(bytes), gib(available)))
}

/// The longest line populace reads, in bytes (16 MiB): from a text input (CSV, a zone list,
/// a spec, a template) and from a simulator's output. A longer line is an error naming the
/// file or program and the line, so that an endless input (`/dev/zero`, a program that never
/// writes a line break) cannot take all memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The memory this process may still take, in bytes, where it can be told: the least of the
/// system's available memory (`MemAvailable`), what the address-space limit (`RLIMIT_AS`,
/// `ulimit -v`, `prlimit --as`) leaves beside what the process already maps, and what its
/// control group's limit (`memory.max`, cgroup v2; `memory.limit_in_bytes`, v1) leaves beside
/// what the group uses. `None` when none of them can be read (not Linux).
pub(crate) fn available() -> Option<u64> {
    [system_available(), address_space_left(), cgroup_left()].into_iter().flatten().min()
}

/// `MemAvailable` of /proc/meminfo.
fn system_available() -> Option<u64> {
    kib_field(&std::fs::read_to_string("/proc/meminfo").ok()?, "MemAvailable:")
}

/// The soft `RLIMIT_AS` less the process's mapped size (`VmSize`), when there is a limit.
#[cfg(target_os = "linux")]
fn address_space_left() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let mapped = kib_field(&std::fs::read_to_string("/proc/self/status").ok()?, "VmSize:").unwrap_or(0);
    Some(limit.rlim_cur.saturating_sub(mapped))
}

#[cfg(not(target_os = "linux"))]
fn address_space_left() -> Option<u64> {
    None
}

/// The control group's memory limit less its usage, when it has a limit.
fn cgroup_left() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in groups.lines() {
        // v2: "0::/path"; v1: "N:memory:/path"
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (limit, usage) = match controllers {
            "" => ("memory.max", "memory.current"),
            c if c.split(',').any(|c| c == "memory") => ("memory.limit_in_bytes", "memory.usage_in_bytes"),
            _ => continue,
        };
        for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/memory"] {
            let dir = Path::new(base).join(path.trim_start_matches('/'));
            let Ok(text) = std::fs::read_to_string(dir.join(limit)) else { continue };
            // "max", or v1's huge "no limit" number
            let Ok(limit) = text.trim().parse::<u64>() else { return None };
            if limit >= 1 << 60 {
                return None;
            }
            let used = std::fs::read_to_string(dir.join(usage)).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
            return Some(limit.saturating_sub(used));
        }
    }
    None
}

/// The value of a `Name:   123 kB` line of a /proc file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

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

/// The whole file at `path` (named `name` in messages), read as [`read_input`] reads, into a
/// buffer on huge pages when it is large.
///
/// # Errors
/// [`Error::Read`] when the file cannot be opened or read; those of [`read_input`].
pub fn read_file(path: &Path, name: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(name, e))?;
    // a regular file's size; a pipe or a device (`/dev/stdin`, `/dev/zero`) has none
    let size = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    read_input(file, size, name)
}

/// Bytes read at a time by [`read_input`]; at most [`MAX_LINE_BYTES`], so that a line longer
/// than that spans two reads.
const CHUNK: usize = 8 << 20;

/// All that `reader` gives (the input named `name`, of `size` bytes when that is known),
/// within stated limits, so that an endless input is an error rather than an abort: no more
/// than the memory the process may still take, and, unless it is a Parquet file (`PAR1`), no line longer
/// than [`MAX_LINE_BYTES`].
///
/// ```
/// use populace::memory::{read_input, MAX_LINE_BYTES};
///
/// assert_eq!(read_input(&b"a,b\n1,2\n"[..], None, "t.csv").unwrap(), b"a,b\n1,2\n");
/// let endless = std::io::repeat(0).take(2 * MAX_LINE_BYTES as u64);
/// let e = read_input(endless, None, "/dev/zero").unwrap_err().to_string();
/// assert!(e.starts_with("/dev/zero, line 1: the line is longer than"), "{e}");
/// # use std::io::Read;
/// ```
///
/// # Errors
/// [`Error::TooLarge`] when the input is larger than the memory available; [`Error::Input`]
/// naming the line for a line that is too long; [`Error::Read`] when reading fails.
pub fn read_input(mut reader: impl Read, size: Option<u64>, name: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    if let Some(size) = size {
        reserve(&mut data, usize::try_from(size).unwrap_or(usize::MAX).saturating_add(1), name)?;
        advise_huge(&data);
    }
    let mut since_break = 0usize;
    loop {
        if data.capacity() == data.len() {
            let more = CHUNK.max(data.len() / 2);
            reserve(&mut data, more, name)?;
        }
        let room = (data.capacity() - data.len()).min(CHUNK);
        let start = data.len();
        let read = (&mut reader).take(room as u64).read_to_end(&mut data).map_err(|e| Error::read(name, e))?;
        if read == 0 {
            return Ok(data);
        }
        if data.starts_with(b"PAR1") {
            continue;
        }
        let new = &data[start..];
        since_break = match (memchr::memchr(b'\n', new), memchr::memrchr(b'\n', new)) {
            (Some(first), Some(last)) if since_break + first <= MAX_LINE_BYTES => new.len() - last - 1,
            (Some(_), _) => return Err(long_line(&data[..start], name)),
            _ => since_break + new.len(),
        };
        if since_break > MAX_LINE_BYTES {
            return Err(long_line(&data, name));
        }
    }
}

/// Room for `more` bytes in `data`, or an error saying the input named `name` does not fit in
/// memory.
fn reserve(data: &mut Vec<u8>, more: usize, name: &str) -> Result<()> {
    let needed = data.len().saturating_add(more) as u64;
    let left = available().map_or(u64::MAX, |a| a.saturating_add(data.capacity() as u64));
    if needed > left || data.try_reserve_exact(more).is_err() {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let free = available().map_or(String::new(), |a| format!(", and {:.2} GiB of memory is available", gib(a)));
        return Err(Error::TooLarge(format!(
            "{name}: the input is larger than this process can hold: reading it needs {:.2} GiB{free} (an endless \
             input, such as /dev/zero or a program that never stops writing, ends here)",
            gib(needed)
        )));
    }
    Ok(())
}

/// The error for a line longer than [`MAX_LINE_BYTES`] that starts after `before`.
fn long_line(before: &[u8], name: &str) -> Error {
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    Error::input(
        Location::file(name).at_line(line),
        format!(
            "the line is longer than {MAX_LINE_BYTES} bytes (16 MiB), the most populace reads in a line: is this a \
             text file of the expected kind?"
        ),
    )
}

/// The not yet written slots of one chunk of a buffer that [`par_fill`] builds, written front
/// to back.
pub(crate) struct Slots<'a, T> {
    slots: &'a mut [MaybeUninit<T>],
    written: usize,
}

/// What [`Slots::finish`] returns once every slot of a chunk is written: [`par_fill`] checks
/// it is the chunk's own.
pub(crate) struct Filled {
    start: usize,
    len: usize,
}

impl<'a, T> Slots<'a, T> {
    /// Number of slots, written or not.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Writes `items` into the next slots, as many as there are items or slots left, and
    /// returns the values just written.
    #[inline]
    pub(crate) fn extend(&mut self, items: impl IntoIterator<Item = T>) -> &mut [T] {
        let start = self.written;
        let mut count = 0;
        for (slot, item) in self.slots[start..].iter_mut().zip(items) {
            slot.write(item);
            count += 1;
        }
        self.written += count;
        let written = &mut self.slots[start..start + count];
        // SAFETY: the loop above wrote these `count` slots, and MaybeUninit<T> has the layout
        // of T.
        unsafe { &mut *(written as *mut [MaybeUninit<T>] as *mut [T]) }
    }

    /// The proof that every slot is written; panics if one is not (a bug of the caller).
    pub(crate) fn finish(self) -> Filled {
        assert_eq!(self.written, self.slots.len(), "a chunk of a par_fill buffer was left unwritten");
        Filled { start: self.slots.as_ptr() as usize, len: self.slots.len() }
    }
}

/// A vector of `n` values computed on every core, chunk by chunk, without zeroing it first
/// (on huge pages when it is large): `fill(scratch, c, slots)` writes chunk `c` (elements
/// `c · chunk ..`, [`Slots::len`] of them) through `slots` and returns [`Slots::finish`] with
/// its own result; `scratch` is a worker's own, made by `init` as in rayon's `map_init`. The
/// results come back in chunk order.
pub(crate) fn par_fill<T: Send, S, R: Send>(
    n: usize,
    chunk: usize,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, Slots<'_, T>) -> (Filled, R) + Sync + Send,
) -> (Vec<T>, Vec<R>) {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge(&v);
    let results = v.spare_capacity_mut()[..n]
        .par_chunks_mut(chunk)
        .enumerate()
        .map_init(init, |scratch, (c, slots)| {
            let (start, len) = (slots.as_ptr() as usize, slots.len());
            let (filled, result) = fill(scratch, c, Slots { slots, written: 0 });
            assert!(filled.start == start && filled.len == len, "par_fill got another chunk's proof");
            result
        })
        .collect();
    // SAFETY: every chunk of the first n slots returned the proof that all its slots were
    // written (checked against the chunk's own address and length), so all n are initialized.
    unsafe { v.set_len(n) };
    (v, results)
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
    fn proc_fields_read_in_bytes() {
        assert_eq!(kib_field("MemTotal:  10 kB\nMemAvailable:   2048 kB\n", "MemAvailable:"), Some(2 << 20));
        assert_eq!(kib_field("MemTotal:  10 kB\n", "MemAvailable:"), None);
        // whatever the machine, what is available is at most what the system has
        if let (Some(all), Some(system)) = (available(), system_available()) {
            assert!(all <= system);
        }
    }

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
        assert_eq!(read_file(&path, "text").unwrap(), text);
    }

    #[test]
    fn par_fill_writes_every_chunk_in_order() {
        let (v, sums) = par_fill(
            10,
            4,
            || (),
            |_, c, mut slots| {
                let first = c * 4;
                let written = slots.extend(first..(first + 4).min(10));
                let sum: usize = written.iter().sum();
                (slots.finish(), sum)
            },
        );
        assert_eq!(v, (0..10).collect::<Vec<_>>());
        assert_eq!(sums, vec![6, 22, 17]);
        let (empty, none): (Vec<u8>, Vec<()>) = par_fill(0, 4, || (), |_, _, slots| (slots.finish(), ()));
        assert!(empty.is_empty() && none.is_empty());
    }

    #[test]
    #[should_panic(expected = "left unwritten")]
    fn par_fill_refuses_a_short_chunk() {
        par_fill(
            8,
            4,
            || (),
            |_, _, mut slots| {
                slots.extend([1u8; 3]);
                (slots.finish(), ())
            },
        );
    }
}
