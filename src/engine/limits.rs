//! Limits on what one invocation may consume, and the watchdog that enforces
//! the ones V8 cannot enforce itself.
//!
//! A script in a tight loop never yields to the event loop, so time limits
//! are enforced from another thread: one process-wide watchdog looks at every
//! armed runtime each tick and calls `terminate_execution` on the ones past
//! their wall-clock deadline or CPU budget (thread CPU time, read through the
//! runtime thread's CPU clock).
//!
//! ArrayBuffers that ops hand to JavaScript (`TextEncoder`, zlib, fetch
//! bodies) are backed by the host's own allocations, not the runtime's
//! ArrayBuffer allocator, so its budget did not see them: one invocation
//! held 3.6 GB of encoded text. V8 counts every backing store, whoever
//! allocated it, as the isolate's external memory, which can only be read on
//! the isolate's own thread: each tick the watchdog asks the running isolate
//! (an interrupt, run between two steps of its JavaScript) to compare it with
//! the runtime's buffer budget.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use deno_core::v8;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::console::ConsoleLimits;

/// Per-invocation and per-runtime limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Wall-clock time of one invocation, including awaiting.
    #[serde(with = "millis")]
    pub timeout: Duration,
    /// CPU time one invocation may burn.
    #[serde(with = "millis")]
    pub cpu_time: Duration,
    /// V8 heap of a runtime (shared by its init script and functions).
    pub heap_bytes: usize,
    /// ArrayBuffer backing stores of a runtime (outside the V8 heap), the
    /// ones its ops made included.
    pub buffer_bytes: usize,
    pub console: ConsoleLimits,
    /// Platform API requests (context APIs) one invocation may make.
    pub platform_requests: u32,
    /// Largest result (as JSON) an invocation may answer and have recorded.
    #[serde(default = "default_result_bytes")]
    pub result_bytes: usize,
}

fn default_result_bytes() -> usize {
    Limits::DEFAULT_RESULT_BYTES
}

impl Limits {
    pub const DEFAULT_RESULT_BYTES: usize = 1024 * 1024;
    /// An error's message and stack are kept to these many bytes.
    pub const ERROR_MESSAGE_BYTES: usize = 4 * 1024;
    pub const ERROR_STACK_BYTES: usize = 16 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            cpu_time: Duration::from_secs(10),
            heap_bytes: 128 * 1024 * 1024,
            buffer_bytes: 256 * 1024 * 1024,
            console: ConsoleLimits::default(),
            platform_requests: 100,
            result_bytes: Limits::DEFAULT_RESULT_BYTES,
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Why a runtime was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trip {
    WallClock,
    CpuTime,
    Heap,
    /// The heap limit was hit while the ArrayBuffer budget refused memory,
    /// or the runtime's buffers (the ones its ops made included) passed it.
    Buffers,
}

impl Trip {
    /// How an invocation this stopped ended.
    pub fn ending(self) -> super::Ending {
        match self {
            Trip::WallClock | Trip::CpuTime => super::Ending::TimedOut,
            Trip::Heap | Trip::Buffers => super::Ending::OutOfMemory,
        }
    }

    fn code(self) -> u8 {
        match self {
            Trip::WallClock => 1,
            Trip::CpuTime => 2,
            Trip::Heap => 3,
            Trip::Buffers => 4,
        }
    }
    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Trip::WallClock),
            2 => Some(Trip::CpuTime),
            3 => Some(Trip::Heap),
            4 => Some(Trip::Buffers),
            _ => None,
        }
    }
}

struct Armed {
    deadline: Instant,
    cpu_deadline: Duration,
    /// The most ArrayBuffer memory the runtime may hold, as V8 counts it.
    buffer_bytes: usize,
    isolate: v8::IsolateHandle,
}

/// The watchdog's view of one runtime thread. Created on that thread.
pub struct Guard {
    armed: Mutex<Option<Armed>>,
    cpu_clock: libc::clockid_t,
    tripped: AtomicU8,
    /// A buffer check was asked of the isolate and has not run yet (an
    /// isolate that awaits runs none): ask once, not every tick.
    buffer_check_asked: AtomicBool,
    /// What ICU holds for this thread's runtime (its `Intl` objects).
    icu_bytes: &'static std::sync::atomic::AtomicUsize,
}

/// For a long op (pbkdf2, compression) to ask between its steps whether the
/// watchdog stopped the invocation: termination waits for the op to end.
pub fn invocation_stopped(state: &deno_core::OpState) -> impl Fn() -> bool {
    let guard = state.try_borrow::<Arc<Guard>>().cloned();
    move || guard.as_ref().is_some_and(|guard| guard.tripped().is_some())
}

/// Kept in each runtime's isolate, so that the buffer check that
/// interrupts it finds its thread's guard.
pub struct BufferWatch(pub Arc<Guard>);

/// Compares the interrupted isolate's ArrayBuffer memory with its budget
/// (the `request_interrupt` callback, which V8 runs on the isolate's thread).
unsafe extern "C" fn check_buffers(mut isolate: v8::UnsafeRawIsolatePtr, _data: *mut c_void) {
    // SAFETY: V8 hands the callback the isolate it interrupted, on that
    // isolate's own thread, between two steps of its JavaScript.
    let isolate = unsafe { v8::Isolate::ref_from_raw_isolate_ptr_mut(&mut isolate) };
    let Some(BufferWatch(guard)) = isolate.get_slot::<BufferWatch>() else { return };
    let guard = guard.clone();
    guard.buffer_check_asked.store(false, Ordering::Release);
    let Some(budget) = guard.buffer_budget() else { return };
    // V8's figure counts garbage not collected yet: a runtime over budget is
    // collected first and judged on what it still holds. ICU's memory (its
    // `Intl` objects) is outside V8's heap too, and counted with it.
    let icu = guard.icu_bytes;
    let held =
        |isolate: &mut v8::Isolate| isolate.get_heap_statistics().external_memory() + icu.load(Ordering::Relaxed);
    if held(isolate) > budget {
        isolate.low_memory_notification();
        if held(isolate) > budget {
            guard.trip_if_armed(Trip::Buffers);
        }
    }
}

impl Guard {
    /// Registers the calling thread with the watchdog.
    pub fn for_current_thread() -> Arc<Guard> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_self() is always valid for the calling thread.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        assert_eq!(rc, 0, "pthread_getcpuclockid failed");
        let guard = Arc::new(Guard {
            armed: Mutex::new(None),
            cpu_clock: clock,
            tripped: AtomicU8::new(0),
            buffer_check_asked: AtomicBool::new(false),
            icu_bytes: super::icu_memory::count_this_thread(),
        });
        watchdog().guards.lock().push(Arc::downgrade(&guard));
        guard
    }

    /// CPU time consumed so far by the thread this guard belongs to.
    pub fn cpu_time(&self) -> Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the clock id belongs to a live thread: guards are dropped
        // by their own thread before it exits.
        unsafe { libc::clock_gettime(self.cpu_clock, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    pub fn arm(&self, isolate: v8::IsolateHandle, limits: &Limits) {
        self.tripped.store(0, Ordering::Relaxed);
        // A check still pending belongs to an isolate that has run no
        // JavaScript since (perhaps another application's): ask this one.
        self.buffer_check_asked.store(false, Ordering::Release);
        *self.armed.lock() = Some(Armed {
            deadline: Instant::now() + limits.timeout,
            cpu_deadline: self.cpu_time() + limits.cpu_time,
            buffer_bytes: limits.buffer_bytes,
            isolate,
        });
    }

    pub fn disarm(&self) {
        *self.armed.lock() = None;
    }

    /// Stops the runtime now and remembers why (first reason wins).
    pub fn trip(&self, reason: Trip, isolate: &v8::IsolateHandle) {
        let _ = self.tripped.compare_exchange(0, reason.code(), Ordering::AcqRel, Ordering::Acquire);
        isolate.terminate_execution();
    }

    pub fn tripped(&self) -> Option<Trip> {
        Trip::from_code(self.tripped.load(Ordering::Acquire))
    }

    fn check(&self, now: Instant) {
        let armed = self.armed.lock();
        if let Some(armed) = armed.as_ref() {
            if now >= armed.deadline {
                self.trip(Trip::WallClock, &armed.isolate);
            } else if self.cpu_time() >= armed.cpu_deadline {
                self.trip(Trip::CpuTime, &armed.isolate);
            } else if !self.buffer_check_asked.swap(true, Ordering::AcqRel)
                && !armed.isolate.request_interrupt(check_buffers, std::ptr::null_mut())
            {
                // The isolate is gone: nothing will run the check.
                self.buffer_check_asked.store(false, Ordering::Release);
            }
        }
    }

    /// The ArrayBuffer memory the armed invocation's runtime may hold.
    fn buffer_budget(&self) -> Option<usize> {
        self.armed.lock().as_ref().map(|armed| armed.buffer_bytes)
    }

    /// Stops the armed invocation's runtime, if one is armed.
    fn trip_if_armed(&self, reason: Trip) {
        if let Some(armed) = self.armed.lock().as_ref() {
            self.trip(reason, &armed.isolate);
        }
    }
}

struct Watchdog {
    guards: Mutex<Vec<Weak<Guard>>>,
}

/// How often the watchdog looks; the precision of time limits.
const TICK: Duration = Duration::from_millis(5);

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<&'static Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog { guards: Mutex::new(Vec::new()) }));
        std::thread::Builder::new()
            .name("chatfn-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(TICK);
                let now = Instant::now();
                let live: Vec<Arc<Guard>> = {
                    let mut guards = dog.guards.lock();
                    guards.retain(|g| g.strong_count() > 0);
                    guards.iter().filter_map(Weak::upgrade).collect()
                };
                for guard in live {
                    guard.check(now);
                }
            })
            .expect("spawn watchdog thread");
        dog
    })
}
