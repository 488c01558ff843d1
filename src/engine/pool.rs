//! The pool of warm runtimes.
//!
//! Each runtime lives on its own OS thread (V8 isolates are `!Send`, and
//! isolates sharing a thread must be dropped in strict LIFO order, which an
//! LRU cannot promise). A thread belongs to one application for its whole
//! life and runs one invocation at a time; the OS schedules the threads, so a
//! script spinning in one application slows but never blocks another.
//!
//! Bounds: at most `max_runtimes` threads in all (the least recently used
//! idle one is evicted to make room) and at most
//! `max_concurrency_per_application` invocations of one application at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use lru::LruCache;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use super::limits::{Guard, Trip};
use super::runtime::{trip_error, Failure, LiveRuntime};
use super::{
    EngineConfig, EngineStats, InvocationError, InvocationOutcome, InvocationRequest, InvocationResult,
    InvocationStatus,
};

struct Job {
    request: InvocationRequest,
    reply: oneshot::Sender<InvocationOutcome>,
}

/// A worker on loan to one invocation.
struct Lease {
    pool: Arc<Pool>,
    app: Arc<str>,
    worker: Option<Worker>,
    outcome: Option<oneshot::Receiver<InvocationOutcome>>,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(worker), Some(outcome)) = (self.worker.take(), self.outcome.take()) {
            let pool = self.pool.clone();
            let app = self.app.clone();
            let permit = self._permit.take();
            tokio::spawn(async move {
                let _permit = permit;
                match outcome.await {
                    Ok(_) => pool.checkin(app, worker),
                    Err(_) => pool.lost(),
                }
            });
        }
    }
}

/// The pool's handle on one runtime thread; dropping it ends the thread.
struct Worker {
    id: u64,
    jobs: mpsc::UnboundedSender<Job>,
}

struct State {
    idle: HashMap<Arc<str>, Vec<Worker>>,
    /// Idle workers, least recently used first: id → application.
    lru: LruCache<u64, Arc<str>>,
    live: usize,
    next_id: u64,
    permits: HashMap<Arc<str>, Arc<Semaphore>>,
}

pub(crate) struct Pool {
    config: EngineConfig,
    state: Mutex<State>,
    released: Notify,
    started: AtomicU64,
    evicted: AtomicU64,
}

impl Pool {
    pub fn new(config: EngineConfig) -> Arc<Pool> {
        assert!(config.max_runtimes > 0 && config.max_concurrency_per_application > 0);
        Arc::new(Pool {
            config,
            state: Mutex::new(State {
                idle: HashMap::new(),
                lru: LruCache::unbounded(),
                live: 0,
                next_id: 0,
                permits: HashMap::new(),
            }),
            released: Notify::new(),
            started: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        })
    }

    pub async fn invoke(self: Arc<Self>, request: InvocationRequest) -> InvocationOutcome {
        let started = Instant::now();
        let app = request.runtime.application_id.clone();
        let permit = self.permits(&app).acquire_owned().await.expect("semaphore never closed");
        let worker = self.checkout(&app).await;
        let (reply, outcome) = oneshot::channel();
        if worker.jobs.send(Job { request, reply }).is_err() {
            self.lost();
            return InvocationOutcome::failed(
                internal("the runtime thread stopped unexpectedly"),
                vec![],
                started.elapsed(),
                false,
            );
        }
        // From here on the worker is out on loan; if this future is dropped
        // (a caller gave up), the lease still brings it back when it is done.
        let mut lease =
            Lease { pool: self.clone(), app, worker: Some(worker), outcome: Some(outcome), _permit: Some(permit) };
        match lease.outcome.as_mut().expect("outcome present").await {
            Ok(outcome) => {
                lease.outcome = None;
                let worker = lease.worker.take().expect("worker present");
                self.checkin(lease.app.clone(), worker);
                outcome
            }
            Err(_) => {
                lease.outcome = None;
                lease.worker = None;
                self.lost();
                InvocationOutcome::failed(
                    internal("the runtime thread stopped unexpectedly"),
                    vec![],
                    started.elapsed(),
                    false,
                )
            }
        }
    }

    /// A runtime thread died (a bug in the engine, never a script's doing).
    fn lost(&self) {
        self.state.lock().live -= 1;
        self.released.notify_one();
    }

    fn permits(&self, app: &Arc<str>) -> Arc<Semaphore> {
        let mut state = self.state.lock();
        state
            .permits
            .entry(app.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.max_concurrency_per_application)))
            .clone()
    }

    async fn checkout(&self, app: &Arc<str>) -> Worker {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut state = self.state.lock();
                if let Some(worker) = state.idle.get_mut(app).and_then(Vec::pop) {
                    state.lru.pop(&worker.id);
                    return worker;
                }
                if state.live < self.config.max_runtimes {
                    state.live += 1;
                    let id = state.next_id;
                    state.next_id += 1;
                    drop(state);
                    return self.spawn(id);
                }
                if let Some((victim, victim_app)) = state.lru.pop_lru() {
                    if let Some(workers) = state.idle.get_mut(&victim_app) {
                        workers.retain(|w| w.id != victim);
                    }
                    let id = state.next_id;
                    state.next_id += 1;
                    drop(state);
                    self.evicted.fetch_add(1, Ordering::Relaxed);
                    return self.spawn(id);
                }
            }
            // Every runtime is busy: wait for one to come back.
            released.await;
        }
    }

    fn checkin(&self, app: Arc<str>, worker: Worker) {
        let mut state = self.state.lock();
        state.lru.put(worker.id, app.clone());
        state.idle.entry(app).or_default().push(worker);
        drop(state);
        self.released.notify_one();
    }

    fn spawn(&self, id: u64) -> Worker {
        let (jobs, inbox) = mpsc::unbounded_channel();
        super::platform::spawn_isolate_thread(format!("chatfn-rt-{id}"), move || serve_jobs(inbox));
        self.started.fetch_add(1, Ordering::Relaxed);
        Worker { id, jobs }
    }

    pub fn evict(&self, application_id: &str) {
        let mut state = self.state.lock();
        if let Some(workers) = state.idle.remove(application_id) {
            for worker in &workers {
                state.lru.pop(&worker.id);
            }
            state.live -= workers.len();
            self.evicted.fetch_add(workers.len() as u64, Ordering::Relaxed);
        }
        drop(state);
        self.released.notify_waiters();
    }

    pub fn stats(&self) -> EngineStats {
        let state = self.state.lock();
        EngineStats {
            live_runtimes: state.live,
            idle_runtimes: state.lru.len(),
            runtimes_started: self.started.load(Ordering::Relaxed),
            runtimes_evicted: self.evicted.load(Ordering::Relaxed),
        }
    }
}

fn internal(message: impl Into<String>) -> InvocationError {
    InvocationError { name: "InternalError".into(), message: message.into(), stack: None }
}

/// Body of a runtime thread: one runtime at a time, one job at a time.
fn serve_jobs(mut inbox: mpsc::UnboundedReceiver<Job>) {
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    tokio.block_on(async move {
        let guard = Guard::for_current_thread();
        let mut live: Option<LiveRuntime> = None;
        while let Some(job) = inbox.recv().await {
            let outcome = run(&mut live, &guard, &job.request).await;
            let _ = job.reply.send(outcome);
        }
    });
}

async fn run(live: &mut Option<LiveRuntime>, guard: &Arc<Guard>, request: &InvocationRequest) -> InvocationOutcome {
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
            Err(Failure::Threw(e) | Failure::Fatal(e)) => {
                return InvocationOutcome::failed(e, vec![], started.elapsed(), true);
            }
        }
    }
    let rt = live.as_mut().expect("runtime present");
    guard.arm(rt.isolate(), &limits);
    rt.start_console(limits.console);
    rt.bind_context(&request.runtime, limits.platform_requests);
    let function = &request.function;
    let context = serde_json::json!({
        "applicationId": &*request.runtime.application_id,
        "functionId": &*function.function_id,
        "functionName": &*function.name,
        "triggerType": &*function.trigger_type,
        "versionNumber": function.version_number,
        "invocationId": &request.invocation_id,
    })
    .to_string();
    let work = async {
        if cold {
            rt.initialize(&request.runtime, guard).await?;
        }
        rt.ensure_loaded(function, guard).await?;
        rt.invoke(&function.function_id, &request.event, &context, guard).await
    };
    // The watchdog stops a script that spins; this stops one that waits
    // (on a timer, a promise) past the deadline.
    let result = match tokio::time::timeout(limits.timeout, work).await {
        Ok(result) => result,
        Err(_elapsed) => {
            guard.trip(Trip::WallClock, &rt.isolate());
            Err(Failure::Fatal(trip_error(Trip::WallClock, &limits)))
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
    let discard = tripped.is_some() || matches!(result, Err(Failure::Fatal(_)));
    if discard {
        *live = None;
    }
    match result {
        Ok(payload) => InvocationOutcome {
            status: InvocationStatus::Succeeded,
            result: Some(InvocationResult {
                payload: payload
                    .map(|json| serde_json::value::RawValue::from_string(json).expect("JSON.stringify produced JSON")),
            }),
            error: None,
            logs,
            duration_ms: duration.as_secs_f64() * 1e3,
            cold_start: cold,
        },
        Err(Failure::Threw(e) | Failure::Fatal(e)) => {
            let error = match tripped {
                Some(trip) => trip_error(trip, &limits),
                None => e,
            };
            InvocationOutcome::failed(error, logs, duration, cold)
        }
    }
}
