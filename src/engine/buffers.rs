//! ArrayBuffer backing stores live outside V8's heap, so the heap limit
//! does not bound them. Each runtime gets an allocator that counts its
//! bytes and refuses past a budget: V8 then throws
//! `RangeError: Array buffer allocation failed` in the script.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use deno_core::v8;

pub struct BufferBudget {
    used: AtomicUsize,
    cap: usize,
    refused: std::sync::atomic::AtomicBool,
}

impl BufferBudget {
    fn reserve(&self, len: usize) -> bool {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(len).filter(|n| *n <= self.cap) else {
                self.refused.store(true, Ordering::Relaxed);
                return false;
            };
            match self.used.compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(seen) => used = seen,
            }
        }
    }

    /// Whether an allocation was refused since the last call.
    pub fn take_refused(&self) -> bool {
        self.refused.swap(false, Ordering::Relaxed)
    }

    fn release(&self, len: usize) {
        self.used.fetch_sub(len, Ordering::AcqRel);
    }
}

unsafe extern "C" fn allocate(budget: &BufferBudget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: plain C allocation; V8 frees it through `free` below.
    let data = unsafe { libc::calloc(len.max(1), 1) };
    if data.is_null() {
        budget.release(len);
    }
    data
}

unsafe extern "C" fn allocate_uninitialized(budget: &BufferBudget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: as above.
    let data = unsafe { libc::malloc(len.max(1)) };
    if data.is_null() {
        budget.release(len);
    }
    data
}

unsafe extern "C" fn free(budget: &BufferBudget, data: *mut c_void, len: usize) {
    // SAFETY: `data` came from `allocate` or `allocate_uninitialized`.
    unsafe { libc::free(data) };
    budget.release(len);
}

unsafe extern "C" fn drop_budget(budget: *const BufferBudget) {
    // SAFETY: the pointer is the `Arc::into_raw` handed to V8 in `allocator`.
    drop(unsafe { Arc::from_raw(budget) });
}

static VTABLE: v8::RustAllocatorVtable<BufferBudget> =
    v8::RustAllocatorVtable { allocate, allocate_uninitialized, free, drop: drop_budget };

/// An allocator for one isolate, refusing past `cap` bytes in all, and the
/// budget it draws on.
pub fn allocator(cap: usize) -> (v8::UniqueRef<v8::Allocator>, Arc<BufferBudget>) {
    let budget = Arc::new(BufferBudget { used: AtomicUsize::new(0), cap, refused: Default::default() });
    // SAFETY: V8 owns this reference from here and releases it through `drop_budget`.
    let allocator = unsafe { v8::new_rust_allocator(Arc::into_raw(budget.clone()), &VTABLE) };
    (allocator, budget)
}
