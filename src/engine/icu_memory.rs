//! ICU's memory (the objects behind `Intl`), counted per runtime thread.
//!
//! An `Intl` object is small in V8's heap and large in ICU's: a collator
//! or a date format holds its rules and patterns, which ICU allocates with
//! malloc. Neither the heap limit nor the buffer budget saw that memory, and
//! one invocation held 2.1 GB of formatters in 10 s. ICU takes an embedder's
//! allocator (`u_setMemoryFunctions`, installed before ICU's first
//! allocation). Each block records the counter of the thread that allocated
//! it, so a runtime thread's ICU bytes can be read at any time (the watchdog
//! adds them to the runtime's buffers), and a block freed on another thread
//! still comes off the right count.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// In front of each block: its counter and its size, 16 bytes, which keeps
/// the block as aligned as malloc's.
#[repr(C)]
struct Header {
    counter: *const AtomicUsize,
    /// The block's size, with `TAG` in the top 16 bits: a block ICU got from
    /// plain malloc before these functions were installed lacks it.
    tagged_size: usize,
}

const HEADER: usize = std::mem::size_of::<Header>();
const TAG: usize = 0x1C0D << 48;
const TAG_MASK: usize = 0xFFFF << 48;

thread_local! {
    /// The counter of the runtime thread this is (null on other threads).
    static COUNTER: Cell<*const AtomicUsize> = const { Cell::new(std::ptr::null()) };
}

type AllocFn = unsafe extern "C" fn(context: *const c_void, size: usize) -> *mut c_void;
type ReallocFn = unsafe extern "C" fn(context: *const c_void, block: *mut c_void, size: usize) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(context: *const c_void, block: *mut c_void);

unsafe extern "C" {
    /// ICU 77's, as bundled in V8 (its symbols carry the version).
    fn u_setMemoryFunctions_77(
        context: *const c_void,
        alloc: AllocFn,
        realloc: ReallocFn,
        free: FreeFn,
        status: *mut i32,
    );
}

/// Installs the counting allocator. Call once, before V8 (and so ICU) is
/// initialised.
pub fn install() {
    let mut status = 0;
    // SAFETY: the three functions keep ICU's malloc contract (16-byte
    // aligned blocks, realloc and free of blocks they gave out), and this
    // runs before V8 has initialised ICU.
    unsafe { u_setMemoryFunctions_77(std::ptr::null(), alloc, realloc, free, &mut status) };
    assert!(status <= 0, "ICU refused its allocator (status {status})");
}

/// The calling thread's ICU bytes from now on; its counter lives as long as
/// the process (blocks may outlive the thread).
pub fn count_this_thread() -> &'static AtomicUsize {
    let counter: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    COUNTER.with(|current| current.set(counter));
    counter
}

unsafe fn counted(counter: *const AtomicUsize) -> Option<&'static AtomicUsize> {
    // SAFETY: counters are leaked, never freed.
    unsafe { counter.as_ref() }
}

unsafe extern "C" fn alloc(_context: *const c_void, size: usize) -> *mut c_void {
    let Some(total) = size.checked_add(HEADER).filter(|_| size & TAG_MASK == 0) else {
        return std::ptr::null_mut();
    };
    // SAFETY: plain malloc; the header is written inside the block.
    unsafe {
        let header = libc::malloc(total) as *mut Header;
        if header.is_null() {
            return std::ptr::null_mut();
        }
        let counter = COUNTER.with(Cell::get);
        header.write(Header { counter, tagged_size: size | TAG });
        if let Some(counter) = counted(counter) {
            counter.fetch_add(size, Ordering::Relaxed);
        }
        header.add(1) as *mut c_void
    }
}

/// The header of a block this allocator gave out, or `None` for one ICU
/// got from plain malloc (its 16 bytes in front are malloc's own).
unsafe fn header_of(block: *mut c_void) -> Option<*mut Header> {
    // SAFETY: every block has at least malloc's 16-byte chunk header in front.
    let header = unsafe { (block as *mut Header).sub(1) };
    (unsafe { (*header).tagged_size } & TAG_MASK == TAG).then_some(header)
}

unsafe extern "C" fn free(_context: *const c_void, block: *mut c_void) {
    if block.is_null() {
        return;
    }
    // SAFETY: `block` came from `alloc`/`realloc` (or, untagged, from malloc).
    unsafe {
        match header_of(block) {
            Some(header) => {
                let Header { counter, tagged_size } = header.read();
                if let Some(counter) = counted(counter) {
                    counter.fetch_sub(tagged_size & !TAG_MASK, Ordering::Relaxed);
                }
                libc::free(header as *mut c_void);
            }
            None => libc::free(block),
        }
    }
}

unsafe extern "C" fn realloc(context: *const c_void, block: *mut c_void, size: usize) -> *mut c_void {
    if block.is_null() {
        // SAFETY: as `alloc`.
        return unsafe { alloc(context, size) };
    }
    // SAFETY: `block` came from `alloc`/`realloc` (or, untagged, from malloc).
    unsafe {
        let Some(header) = header_of(block) else { return libc::realloc(block, size) };
        let Some(total) = size.checked_add(HEADER).filter(|_| size & TAG_MASK == 0) else {
            return std::ptr::null_mut();
        };
        let Header { counter, tagged_size } = header.read();
        let moved = libc::realloc(header as *mut c_void, total) as *mut Header;
        if moved.is_null() {
            return std::ptr::null_mut();
        }
        (*moved).tagged_size = size | TAG;
        if let Some(counter) = counted(counter) {
            counter.fetch_add(size, Ordering::Relaxed);
            counter.fetch_sub(tagged_size & !TAG_MASK, Ordering::Relaxed);
        }
        moved.add(1) as *mut c_void
    }
}
