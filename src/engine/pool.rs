//! The pool of warm runtimes.
//!
//! Each runtime lives on its own OS thread (V8 isolates are `!Send`, and
//! isolates sharing a thread must be dropped in strict LIFO order, which an
//! LRU cannot promise). Threads serve one application at a time and run one
//! invocation at a time; the OS schedules the threads, so a script spinning
//! in one application slows but never blocks another.
//!
//! Each application has a lane: one queue of invocations that its threads
//! take from. A thread that finishes an invocation takes the next one
//! straight from the queue, without a round trip through the caller, so
//! under load the threads never sleep between invocations (waking a
//! sleeping thread costs more than a warm invocation).
//!
//! Bounds: at most `max_runtimes` threads in all (past it, an idle thread of
//! the least recently used application moves over) and at most
//! `max_concurrency_per_application` threads per application; more
//! invocations wait in the lane.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::inline::{measure_hold, Observed, Standings};
use super::limits::{Guard, Limits, Trip};
use super::runtime::{trip_error, Failure, LiveRuntime};
use super::{
    Ending, EngineConfig, EngineStats, InvocationError, InvocationOutcome, InvocationRequest, InvocationResult,
    InvocationStatus,
};

struct Job {
    request: InvocationRequest,
    work: Work,
    /// The caller's span: the runtime thread's work is traced under it.
    span: tracing::Span,
    reply: oneshot::Sender<InvocationOutcome>,
}

/// What a job does with its runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// Run the handler on the event.
    Handle,
    /// Build the runtime and load the function (its top-level code runs),
    /// without calling the handler: the next invocation finds it warm.
    Warm,
}

enum Message {
    Run(Job),
    /// One of the lane's threads is to leave (its slot went to another lane).
    Retire,
}

/// One application's queue of invocations and the threads serving it.
struct Lane {
    id: u64,
    jobs: async_channel::Sender<Message>,
    inbox: async_channel::Receiver<Message>,
    /// Threads serving the lane (not counting one told to retire).
    threads: usize,
    /// Invocations handed to the lane and not finished (queued or running).
    in_flight: usize,
    last_used: u64,
}

impl Lane {
    fn idle(&self) -> usize {
        self.threads.saturating_sub(self.in_flight)
    }
}

struct State {
    lanes: HashMap<Arc<str>, Lane>,
    /// Threads alive (each a slot of `max_runtimes`).
    live: usize,
    next_id: u64,
    tick: u64,
    /// Lanes with invocations queued and no thread: the next thread to go
    /// idle anywhere moves to them.
    starving: VecDeque<Arc<str>>,
}

pub(crate) struct Pool {
    config: EngineConfig,
    state: Mutex<State>,
    /// Which applications may run on serving threads (`inline.rs`).
    pub(super) standings: Standings,
    started: AtomicU64,
    evicted: AtomicU64,
}

/// Where a runtime thread goes after an invocation.
enum Next {
    Stay,
    Move { app: Arc<str>, lane_id: u64, inbox: async_channel::Receiver<Message> },
}

impl Pool {
    pub fn new(config: EngineConfig) -> Arc<Pool> {
        assert!(config.max_runtimes > 0 && config.max_concurrency_per_application > 0);
        Arc::new(Pool {
            config,
            state: Mutex::new(State { lanes: HashMap::new(), live: 0, next_id: 0, tick: 0, starving: VecDeque::new() }),
            standings: Standings::default(),
            started: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        })
    }

    pub async fn invoke(self: Arc<Self>, request: InvocationRequest, work: Work) -> InvocationOutcome {
        let started = Instant::now();
        let app = request.runtime.application_id.clone();
        let (reply, outcome) = oneshot::channel();
        {
            let mut state = self.state.lock();
            state.tick += 1;
            let tick = state.tick;
            if !state.lanes.contains_key(&app) {
                let (jobs, inbox) = async_channel::unbounded();
                let id = state.next_id;
                state.next_id += 1;
                state.lanes.insert(app.clone(), Lane { id, jobs, inbox, threads: 0, in_flight: 0, last_used: tick });
            }
            let lane = state.lanes.get_mut(&app).expect("inserted above");
            lane.in_flight += 1;
            lane.last_used = tick;
            // The lane holds a receiver, so the send cannot fail.
            let _ = lane.jobs.try_send(Message::Run(Job { request, work, span: tracing::Span::current(), reply }));
            if lane.in_flight > lane.threads && lane.threads < self.config.max_concurrency_per_application {
                self.add_thread(&mut state, &app);
            }
        }
        // If this future is dropped (the caller gave up), the invocation
        // still runs to its end (or is skipped if it has not started).
        match outcome.await {
            Ok(outcome) => outcome,
            Err(_) => InvocationOutcome::failed(
                internal("the runtime thread stopped unexpectedly"),
                Ending::Internal,
                vec![],
                started.elapsed(),
                false,
            ),
        }
    }

    /// Gives `app`'s lane one more thread: a new one while under
    /// `max_runtimes`, else the idle thread of the least recently used lane;
    /// with none idle, the lane waits for the next thread to finish.
    fn add_thread(self: &Arc<Self>, state: &mut State, app: &Arc<str>) {
        if state.live < self.config.max_runtimes {
            state.live += 1;
        } else {
            let victim = state
                .lanes
                .iter()
                .filter(|(other, lane)| *other != app && lane.idle() > 0)
                .min_by_key(|(_, lane)| lane.last_used)
                .map(|(other, _)| other.clone());
            let Some(victim) = victim else {
                let lane = &state.lanes[app];
                if lane.threads == 0 && !state.starving.contains(app) {
                    state.starving.push_back(app.clone());
                }
                return;
            };
            let lane = state.lanes.get_mut(&victim).expect("found above");
            lane.threads -= 1;
            let _ = lane.jobs.try_send(Message::Retire);
            self.evicted.fetch_add(1, Ordering::Relaxed);
            forget_if_empty(state, &victim);
        }
        let lane = state.lanes.get_mut(app).expect("lane exists");
        lane.threads += 1;
        let (lane_id, inbox) = (lane.id, lane.inbox.clone());
        let thread = state.next_id;
        state.next_id += 1;
        self.started.fetch_add(1, Ordering::Relaxed);
        let pool = self.clone();
        let app = app.clone();
        super::isolates::spawn_isolate_thread(format!("chatfn-rt-{thread}"), move || {
            serve_lanes(pool, app, lane_id, inbox)
        });
    }

    /// An invocation of `app` ended on one of its lane's threads.
    fn finished(&self, app: &Arc<str>, lane_id: u64) -> Next {
        let mut state = self.state.lock();
        let Some(lane) = state.lanes.get_mut(app).filter(|l| l.id == lane_id) else {
            // The lane was dropped (evicted): drain it, then stop.
            return Next::Stay;
        };
        lane.in_flight -= 1;
        // A lane with no thread at all goes first: it gets this thread if
        // the thread would wait idle here, or if this lane keeps another
        // (so one application's backlog cannot hold every runtime).
        let may_move = lane.in_flight < lane.threads || lane.threads > 1;
        if !may_move || state.starving.is_empty() {
            return Next::Stay;
        }
        while let Some(other) = state.starving.pop_front() {
            let Some(starving) = state.lanes.get_mut(&other) else { continue };
            if starving.threads > 0 || starving.in_flight == 0 {
                continue;
            }
            starving.threads += 1;
            let next = Next::Move { app: other.clone(), lane_id: starving.id, inbox: starving.inbox.clone() };
            state.lanes.get_mut(app).expect("looked up above").threads -= 1;
            forget_if_empty(&mut state, app);
            self.evicted.fetch_add(1, Ordering::Relaxed);
            return next;
        }
        Next::Stay
    }

    /// A thread ended. `retired`: its slot already went to another lane.
    fn exited(&self, app: &Arc<str>, lane_id: u64, retired: bool) {
        if retired {
            return;
        }
        let mut state = self.state.lock();
        state.live -= 1;
        if let Some(lane) = state.lanes.get_mut(app).filter(|l| l.id == lane_id) {
            // Not planned: the thread died (an engine bug, never a script's doing).
            lane.threads -= 1;
            let stranded = lane.in_flight > 0 && lane.threads == 0;
            if stranded && !state.starving.contains(app) {
                state.starving.push_back(app.clone());
            }
        }
    }

    /// Drops an application's lane: its threads finish what is queued and
    /// end; later invocations start new runtimes.
    pub fn evict(&self, application_id: &str) {
        self.standings.forget(application_id);
        let mut state = self.state.lock();
        if let Some(lane) = state.lanes.remove(application_id) {
            self.evicted.fetch_add(lane.threads as u64, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> EngineStats {
        let state = self.state.lock();
        EngineStats {
            live_runtimes: state.live,
            idle_runtimes: state.lanes.values().map(Lane::idle).sum(),
            runtimes_started: self.started.load(Ordering::Relaxed),
            runtimes_evicted: self.evicted.load(Ordering::Relaxed),
            ..EngineStats::default()
        }
    }
}

/// A lane with no threads and nothing to run is forgotten.
fn forget_if_empty(state: &mut State, app: &Arc<str>) {
    if state.lanes.get(app).is_some_and(|l| l.threads == 0 && l.in_flight == 0) {
        state.lanes.remove(app);
    }
}

pub(super) fn internal(message: impl Into<String>) -> InvocationError {
    InvocationError { name: "InternalError".into(), message: message.into(), stack: None }
}

/// Body of a runtime thread: one runtime at a time, one invocation at a
/// time, taken from its lane until the lane ends or the thread retires.
fn serve_lanes(pool: Arc<Pool>, mut app: Arc<str>, mut lane_id: u64, mut inbox: async_channel::Receiver<Message>) {
    // Tells the pool when the thread ends, however it ends.
    struct Exit {
        pool: Arc<Pool>,
        app: Arc<str>,
        lane_id: u64,
        retired: bool,
    }
    impl Drop for Exit {
        fn drop(&mut self) {
            self.pool.exited(&self.app, self.lane_id, self.retired);
        }
    }
    let mut exit = Exit { pool: pool.clone(), app: app.clone(), lane_id, retired: false };
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    tokio.block_on(async {
        let guard = Guard::for_current_thread();
        let mut live: Option<LiveRuntime> = None;
        loop {
            let next = match crate::spin::recv_soon(&inbox) {
                Some(message) => Ok(message),
                None => inbox.recv().await,
            };
            let job = match next {
                Ok(Message::Run(job)) => job,
                Ok(Message::Retire) => {
                    exit.retired = true;
                    break;
                }
                // The lane was evicted and is drained.
                Err(_) => break,
            };
            // Nobody waits for it any more: skip it.
            let outcome = match job.reply.is_closed() {
                false => Some(run_observed(&pool, &job.span, &mut live, &guard, &job.request, job.work, false).await),
                true => None,
            };
            // Accounted before answering, so that the caller's next
            // invocation finds this thread free.
            let next = pool.finished(&app, lane_id);
            if let Some(outcome) = outcome {
                let _ = job.reply.send(outcome);
            }
            if let Next::Move { app: next, lane_id: next_id, inbox: next_inbox } = next {
                live = None;
                (app, lane_id, inbox) = (next, next_id, next_inbox);
                (exit.app, exit.lane_id) = (app.clone(), lane_id);
            }
        }
    });
}

/// `run`, traced under `parent`, with how long it held its thread
/// reported to the standings (only once some serving thread runs
/// invocations inline: nothing else reads them, and measuring costs a
/// system call per poll).
pub(super) async fn run_observed(
    pool: &Pool,
    parent: &tracing::Span,
    live: &mut Option<LiveRuntime>,
    guard: &Arc<Guard>,
    request: &InvocationRequest,
    work: Work,
    inline: bool,
) -> InvocationOutcome {
    use tracing::Instrument;
    let span = tracing::info_span!(parent: parent, "engine.run", cold = tracing::field::Empty, inline);
    let work_done = run(live, guard, request, work).instrument(span.clone());
    if !pool.standings.wanted() {
        let outcome = work_done.await;
        span.record("cold", outcome.cold_start);
        return outcome;
    }
    let (outcome, held) = measure_hold(work_done).await;
    span.record("cold", outcome.cold_start);
    pool.standings.observe(Observed {
        application_id: &request.runtime.application_id,
        revision: &request.runtime.revision,
        cold: outcome.cold_start,
        held,
        handled: work == Work::Handle,
        inline,
    });
    outcome
}

async fn run(
    live: &mut Option<LiveRuntime>,
    guard: &Arc<Guard>,
    request: &InvocationRequest,
    work: Work,
) -> InvocationOutcome {
    let started = Instant::now();
    let mut limits = request.runtime.limits;
    if let Some(timeout) = request.timeout {
        limits.timeout = timeout;
    }
    let cold = live.as_ref().is_none_or(|rt| rt.revision() != &request.runtime.revision);
    if cold {
        // Drop the old isolate before creating the next: one per thread.
        *live = None;
        match LiveRuntime::create(&request.runtime, guard) {
            Ok(rt) => *live = Some(rt),
            Err(failure) => {
                let (error, ending) = failure_outcome(failure, None, &limits);
                return InvocationOutcome::failed(error, ending, vec![], started.elapsed(), true);
            }
        }
    }
    let rt = live.as_mut().expect("runtime present");
    guard.arm(rt.isolate(), &limits);
    rt.start_console(limits.console);
    rt.bind_context(&request.runtime, limits.platform_requests);
    let function = &request.function;
    /// What the handler's context says of its invocation (written straight
    /// to JSON: no map built per invocation).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct About<'a> {
        application_id: &'a str,
        function_id: &'a str,
        function_name: &'a str,
        trigger_type: &'a str,
        version_number: i64,
        invocation_id: &'a str,
    }
    let context = serde_json::to_string(&About {
        application_id: &request.runtime.application_id,
        function_id: &function.function_id,
        function_name: &function.name,
        trigger_type: &function.trigger_type,
        version_number: function.version_number,
        invocation_id: &request.invocation_id,
    })
    .expect("strings and a number serialise");
    let work = async {
        if cold {
            rt.initialize(&request.runtime, guard).await?;
        }
        rt.ensure_loaded(function, guard).await?;
        match work {
            Work::Handle => rt.invoke(&function.function_id, &request.event, &context, guard).await,
            Work::Warm => Ok(None),
        }
    };
    // The watchdog stops a script that spins; this stops one that waits
    // (on a timer, a promise) past the deadline.
    let result = match tokio::time::timeout(limits.timeout, work).await {
        Ok(result) => result,
        Err(_elapsed) => {
            guard.trip(Trip::WallClock, &rt.isolate());
            Err(Failure::Stopped(Trip::WallClock))
        }
    };
    guard.disarm();
    let logs = rt.finish_console();
    let duration = started.elapsed();

    // A runtime the watchdog or the heap limit stopped may still carry a
    // pending termination: never reuse it.
    let tripped = match guard.tripped() {
        Some(Trip::Heap) if rt.buffers_refused() => Some(Trip::Buffers),
        other => other,
    };
    let discard = tripped.is_some() || result.as_ref().is_err_and(Failure::is_fatal);
    if discard {
        *live = None;
    }
    match result {
        Ok(Some(payload)) if payload.len() > limits.result_bytes => {
            let error = InvocationError {
                name: "ResultTooLargeError".into(),
                message: format!(
                    "the function returned {} bytes of JSON; at most {} are kept",
                    payload.len(),
                    limits.result_bytes
                ),
                stack: None,
            };
            InvocationOutcome::failed(error, Ending::ResultTooLarge, logs, duration, cold)
        }
        Ok(payload) => InvocationOutcome {
            status: InvocationStatus::Succeeded,
            result: Some(InvocationResult {
                payload: payload
                    .map(|json| serde_json::value::RawValue::from_string(json).expect("JSON.stringify produced JSON")),
            }),
            error: None,
            logs,
            duration_ms: super::invocation::whole_microseconds_in_ms(duration),
            cold_start: cold,
            ending: Ending::Returned,
        },
        Err(failure) => {
            let (error, ending) = failure_outcome(failure, tripped, &limits);
            InvocationOutcome::failed(error, ending, logs, duration, cold)
        }
    }
}

/// The error an invocation answers and how it ended: a limit that tripped
/// (whatever the script saw) is named with the invocation's own limits.
fn failure_outcome(failure: Failure, tripped: Option<Trip>, limits: &Limits) -> (InvocationError, Ending) {
    match (tripped, failure) {
        (Some(trip), _) | (None, Failure::Stopped(trip)) => (trip_error(trip, limits), trip.ending()),
        (None, Failure::Threw(e) | Failure::InitThrew(e)) => (e, Ending::Threw),
        (None, Failure::Internal(e)) => (e, Ending::Internal),
    }
}
