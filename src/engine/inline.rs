//! Invocations run on the thread that serves their request.
//!
//! Handing an invocation to a runtime thread and its answer back costs two
//! thread wake-ups, more than a warm invocation itself. So each serving
//! thread (one per core, started by the server) also keeps one warm runtime
//! and runs an invocation there itself when it can: nothing crosses threads.
//!
//! The price: while JavaScript runs on a serving thread, that thread's other
//! connections wait (awaiting does not count: the thread serves them
//! meanwhile). So only an application whose invocations have proven short
//! runs inline: the last `PROMOTE_AFTER` invocations of its current runtime
//! revision each held their thread under `SLICE` at a stretch, and its last
//! cold start held its thread under `COLD_SLICE`. An inline invocation that
//! holds its thread past `SLICE` benches its application (back to the
//! runtime threads) for a cool-down that doubles each time, so a script
//! that spins stalls a serving thread at most once per cool-down, for at
//! most its own time limit.
//!
//! Everything else (an application not promoted, the thread's runtime busy
//! with another invocation, a caller that is not a serving thread) goes to
//! the pool's runtime threads. Inline invocations run beside the pool's
//! per-application bound: at most one more per serving thread.
//!
//! Off unless the server turns it on: on a 2-core virtual machine the same
//! load cost more CPU per request this way than with the hand-off (V8 and
//! the HTTP stack sharing one core's caches, is the guess; see README).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::task::LocalSet;

use super::limits::Guard;
use super::pool::{self, Pool, Work};
use super::runtime::LiveRuntime;
use super::{InvocationOutcome, InvocationRequest};

/// Longest stretch a warm invocation may hold its thread and still count
/// as short.
const SLICE: Duration = Duration::from_millis(5);
/// The same for a cold start (runtime built, initialization script run).
const COLD_SLICE: Duration = Duration::from_millis(25);
/// Short invocations in a row before an application runs inline.
const PROMOTE_AFTER: u32 = 8;
/// First cool-down after an inline invocation held its thread too long;
/// doubled with every further one, up to `MAX_BENCH`.
const FIRST_BENCH: Duration = Duration::from_secs(30);
const MAX_BENCH: Duration = Duration::from_secs(3_840);
/// A serving thread's runtime goes to another application only once its
/// own has left it unused this long (so two busy applications do not
/// rebuild it in turn).
const SWITCH_AFTER: Duration = Duration::from_secs(1);
/// A serving thread's runtime unused this long is dropped.
const IDLE_DROP: Duration = Duration::from_secs(60);

/// What the engine knows of each application's invocations: whether they
/// may run inline.
#[derive(Default)]
pub(super) struct Standings {
    /// Set once a serving thread runs invocations inline; until then
    /// nothing is measured.
    wanted: std::sync::atomic::AtomicBool,
    table: Mutex<HashMap<Arc<str>, Standing>>,
    inline_invocations: AtomicU64,
    benchings: AtomicU64,
}

struct Standing {
    revision: Arc<str>,
    /// Invocations in a row of `revision` that held their thread under `SLICE`.
    short_runs: u32,
    /// How long `revision`'s last cold start held its thread.
    cold_hold: Option<Duration>,
    benched_until: Option<Instant>,
    /// Benchings so far: the next cool-down doubles with each.
    benchings: u32,
}

/// How one invocation went, as far as inline running cares.
pub(super) struct Observed<'a> {
    pub application_id: &'a Arc<str>,
    pub revision: &'a Arc<str>,
    pub cold: bool,
    /// Longest stretch the invocation held its thread without yielding.
    pub held: Duration,
    /// A handler call (not a warm-up, which proves nothing of handlers).
    pub handled: bool,
    pub inline: bool,
}

impl Standings {
    pub fn observe(&self, seen: Observed<'_>) {
        let mut table = self.table.lock();
        let standing = table.entry(seen.application_id.clone()).or_insert_with(|| Standing {
            revision: seen.revision.clone(),
            short_runs: 0,
            cold_hold: None,
            benched_until: None,
            benchings: 0,
        });
        if standing.revision != *seen.revision {
            // A new revision proves itself anew; a bench stays.
            standing.revision = seen.revision.clone();
            standing.short_runs = 0;
            standing.cold_hold = None;
        }
        if seen.cold {
            standing.cold_hold = Some(seen.held);
        }
        let limit = if seen.cold { COLD_SLICE } else { SLICE };
        if seen.held > limit {
            standing.short_runs = 0;
            if seen.inline {
                let bench = FIRST_BENCH.saturating_mul(1 << standing.benchings.min(7)).min(MAX_BENCH);
                standing.benched_until = Some(Instant::now() + bench);
                standing.benchings += 1;
                self.benchings.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    application_id = %seen.application_id,
                    held_ms = seen.held.as_secs_f64() * 1e3,
                    bench_secs = bench.as_secs(),
                    "an invocation held its serving thread too long: its application runs on runtime threads for a while"
                );
            }
        } else if seen.handled {
            standing.short_runs = standing.short_runs.saturating_add(1);
        }
    }

    /// May `request` run on a serving thread, whose runtime is warm for it
    /// (`warm`) or would have to be built?
    fn admits(&self, request: &InvocationRequest, warm: bool) -> bool {
        let table = self.table.lock();
        let Some(standing) = table.get(&request.runtime.application_id) else { return false };
        standing.revision == request.runtime.revision
            && standing.short_runs >= PROMOTE_AFTER
            && standing.benched_until.is_none_or(|until| Instant::now() >= until)
            && (warm || standing.cold_hold.is_some_and(|held| held <= COLD_SLICE))
    }

    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed)
    }

    fn knows(&self, application_id: &str) -> bool {
        self.table.lock().contains_key(application_id)
    }

    pub fn forget(&self, application_id: &str) {
        self.table.lock().remove(application_id);
    }

    pub fn inline_invocations(&self) -> u64 {
        self.inline_invocations.load(Ordering::Relaxed)
    }

    pub fn benchings(&self) -> u64 {
        self.benchings.load(Ordering::Relaxed)
    }
}

/// Runs `work` and measures the longest stretch one poll of it took: how
/// long it held its thread at a time. In CPU time, so that the OS giving
/// the core to another thread meanwhile does not count (the thread's CPU
/// clock, a system call, is read again only when the wall clock says a
/// poll took over a millisecond).
pub(super) async fn measure_hold<F: Future>(work: F) -> (F::Output, Duration) {
    const WORTH_A_LOOK: Duration = Duration::from_millis(1);
    let mut work = std::pin::pin!(work);
    let mut longest = Duration::ZERO;
    let output = std::future::poll_fn(|cx| {
        let (began, cpu) = (Instant::now(), thread_cpu_time());
        let polled = work.as_mut().poll(cx);
        let mut held = began.elapsed();
        if held > WORTH_A_LOOK {
            held = thread_cpu_time().saturating_sub(cpu);
        }
        longest = longest.max(held);
        polled
    })
    .await;
    (output, longest)
}

/// CPU time the calling thread has consumed.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A serving thread's own runtime.
struct Slot {
    application_id: Option<Arc<str>>,
    /// Out of the slot while an invocation runs in it.
    live: Option<LiveRuntime>,
    busy: bool,
    last_used: Instant,
}

struct ServingThread {
    /// The thread's local tasks (an inline invocation whose caller stopped
    /// waiting is finished as one).
    tasks: Rc<LocalSet>,
    guard: Arc<Guard>,
    slot: Slot,
    /// Inline invocations under way, driven by their callers' polls.
    runs: HashMap<u64, LocalRun>,
    next_run: u64,
}

type LocalRun = std::pin::Pin<Box<dyn Future<Output = InvocationOutcome>>>;

thread_local! {
    static SERVING: RefCell<Option<ServingThread>> = const { RefCell::new(None) };
}

/// Makes the calling thread a serving thread whose runtime `tasks` drive
/// (it must be a thread from `spawn_isolate_thread`, running `tasks`).
pub(super) fn enter(pool: &Arc<Pool>, tasks: &Rc<LocalSet>) {
    pool.standings.wanted.store(true, Ordering::Relaxed);
    let guard = Guard::for_current_thread();
    let slot = Slot { application_id: None, live: None, busy: false, last_used: Instant::now() };
    let serving = ServingThread { tasks: tasks.clone(), guard, slot, runs: HashMap::new(), next_run: 0 };
    SERVING.with_borrow_mut(|thread| *thread = Some(serving));
    tasks.spawn_local(drop_when_idle(Arc::downgrade(pool)));
}

/// Returns once no inline invocation runs on this thread (or after a
/// minute: every time limit is shorter).
pub(super) async fn settle() {
    let began = Instant::now();
    while SERVING.with_borrow(|serving| serving.as_ref().is_some_and(|s| s.slot.busy)) {
        if began.elapsed() > Duration::from_secs(60) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Drops the thread's runtime before the thread ends (an isolate must not
/// outlive its thread's other state).
pub(super) fn leave() {
    let serving = SERVING.with_borrow_mut(Option::take);
    drop(serving);
}

/// Drops the thread's runtime once unused for `IDLE_DROP`, or at once when
/// its application was evicted.
async fn drop_when_idle(pool: std::sync::Weak<Pool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        let idle = SERVING.with_borrow_mut(|serving| {
            let slot = &mut serving.as_mut()?.slot;
            let app = slot.application_id.as_ref()?;
            let unused = !slot.busy && slot.last_used.elapsed() >= IDLE_DROP;
            let evicted = !slot.busy && !pool.standings.knows(app);
            (unused || evicted).then(|| {
                slot.application_id = None;
                slot.live.take()
            })
        });
        drop(idle);
    }
}

/// Runs `request` on this thread if this is a serving thread and its
/// runtime may take it; hands `request` back otherwise.
pub(super) fn offer(pool: &Arc<Pool>, request: InvocationRequest) -> Result<InlineRun, InvocationRequest> {
    SERVING.with_borrow_mut(|serving| {
        let Some(serving) = serving.as_mut() else { return Err(request) };
        let slot = &mut serving.slot;
        if slot.busy {
            return Err(request);
        }
        // The thread's CPU clock also counts the other requests it serves
        // while an invocation awaits: only a CPU budget the wall clock
        // reaches first cannot be tripped by them.
        let limits = &request.runtime.limits;
        if limits.cpu_time < request.timeout.unwrap_or(limits.timeout) {
            return Err(request);
        }
        let app = &request.runtime.application_id;
        let mine = slot.application_id.as_ref() == Some(app);
        if !mine && slot.application_id.is_some() && slot.last_used.elapsed() < SWITCH_AFTER {
            return Err(request);
        }
        let warm = mine && slot.live.as_ref().is_some_and(|rt| rt.revision() == &request.runtime.revision);
        if !pool.standings.admits(&request, warm) {
            return Err(request);
        }
        if !mine {
            // One isolate per thread: the other application's goes first.
            slot.live = None;
            slot.application_id = Some(app.clone());
        }
        slot.busy = true;
        let mut live = slot.live.take();
        let guard = serving.guard.clone();
        let pool = pool.clone();
        let parent = tracing::Span::current();
        pool.standings.inline_invocations.fetch_add(1, Ordering::Relaxed);
        let run = async move {
            let outcome = pool::run_observed(&pool, &parent, &mut live, &guard, &request, Work::Handle, true).await;
            SERVING.with_borrow_mut(|serving| {
                if let Some(serving) = serving.as_mut() {
                    let slot = &mut serving.slot;
                    slot.busy = false;
                    slot.last_used = Instant::now();
                    if slot.application_id.as_ref() == Some(&request.runtime.application_id) {
                        slot.live = live;
                    }
                }
            });
            outcome
        };
        let id = serving.next_run;
        serving.next_run += 1;
        serving.runs.insert(id, Box::pin(run));
        Ok(InlineRun { id, thread: std::thread::current().id() })
    })
}

/// An inline invocation, driven by its caller's polls: a handler that
/// returns at once answers within the caller's own poll, with no task
/// hand-off at all. Dropped unfinished, it is finished as a local task of
/// the thread (an invocation runs to its end whoever waits for it).
pub(super) struct InlineRun {
    id: u64,
    thread: std::thread::ThreadId,
}

impl InlineRun {
    /// The invocation's future, out of the thread's table (so that polling
    /// it may offer further invocations, e.g. through the embedded platform).
    fn take(&self) -> Option<LocalRun> {
        if std::thread::current().id() != self.thread {
            return None;
        }
        SERVING.with_borrow_mut(|serving| serving.as_mut()?.runs.remove(&self.id))
    }
}

impl Future for InlineRun {
    type Output = Option<InvocationOutcome>;

    /// `None`: polled on a thread other than its own (a caller moved
    /// across threads), which has no such invocation.
    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let Some(mut run) = self.take() else { return std::task::Poll::Ready(None) };
        match run.as_mut().poll(cx) {
            std::task::Poll::Ready(outcome) => std::task::Poll::Ready(Some(outcome)),
            std::task::Poll::Pending => {
                SERVING.with_borrow_mut(|serving| {
                    if let Some(serving) = serving.as_mut() {
                        serving.runs.insert(self.id, run);
                    }
                });
                std::task::Poll::Pending
            }
        }
    }
}

impl Drop for InlineRun {
    fn drop(&mut self) {
        if let Some(run) = self.take() {
            SERVING.with_borrow(|serving| {
                if let Some(serving) = serving.as_ref() {
                    serving.tasks.spawn_local(async move {
                        run.await;
                    });
                }
            });
        }
    }
}
