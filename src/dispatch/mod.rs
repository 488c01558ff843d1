//! Dispatch: run an application's function for a trigger, at its current
//! version, and record the invocation.
//!
//! What a trigger resolves to (function, version, runtime, settings) is
//! cached per application for a short time and dropped at once when this
//! host changes it through the API; hosts sharing a PostgreSQL store see
//! each other's changes within that time.

mod binding;
pub mod queue;

pub use binding::PlatformBinding;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::engine::{
    Ending, Engine, EngineConfig, FunctionSpec, InvocationOutcome, InvocationRequest, Limits, RuntimeSpec,
};
use crate::npm::{Lockfile, Npm};
use crate::observe::Metrics;
use crate::store::jobs::{Finished, Recorder, Started};
use crate::store::{now_millis, Store, StoreResult, TimeoutPolicy, Toggle};

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Wall-clock limit of a blocking invocation unless its function sets one.
    pub blocking_timeout: Duration,
    /// Wall-clock limit of a non-blocking invocation unless its function sets one.
    pub timeout: Duration,
    /// Limits of every runtime (heap, CPU, console).
    pub limits: Limits,
    /// How many warm runtimes, and how many per application.
    pub engine: EngineConfig,
    /// How long a resolved trigger may be reused without asking the store.
    pub cache_ttl: Duration,
    /// Attempts of a non-blocking invocation before it stays FAILED.
    pub max_attempts: i64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            blocking_timeout: Duration::from_secs(7),
            timeout: Duration::from_secs(10),
            limits: Limits::default(),
            engine: EngineConfig::default(),
            cache_ttl: Duration::from_secs(1),
            max_attempts: 3,
        }
    }
}

/// The function a trigger runs, ready to invoke.
#[derive(Clone)]
pub struct ReadyFunction {
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub timeout_ms: Option<i64>,
    pub spec: Arc<FunctionSpec>,
    pub runtime: Arc<RuntimeSpec>,
}

/// Why a trigger could not be made ready to run.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The runtime's recorded packages could not be put in this host's
    /// cache (registry down, offline, integrity).
    #[error("the runtime's packages could not be loaded: {0}")]
    Packages(crate::npm::NpmError),
}

/// What a trigger resolves to for an application.
#[derive(Clone)]
pub struct Resolved {
    pub function: Option<ReadyFunction>,
    pub guest_users: Toggle,
    pub timeout_policy: TimeoutPolicy,
}

struct Cached {
    at: Instant,
    resolved: Resolved,
}

#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    engine: Engine,
    recorder: Recorder,
    config: DispatchConfig,
    platforms: Arc<dyn PlatformBinding>,
    npm: Arc<Npm>,
    metrics: Metrics,
    /// Installed packages per (application, runtime revision): loading them
    /// reads the cache, so it is done once per revision.
    packages: Mutex<HashMap<(i64, i64), Arc<crate::engine::Packages>>>,
    /// application → trigger type → what it resolved to.
    resolved: Mutex<HashMap<i64, HashMap<String, Cached>>>,
    /// Compiled versions are immutable: one spec per version id.
    functions: Mutex<HashMap<i64, Arc<FunctionSpec>>>,
    /// PostgreSQL: the task that hears other hosts' changes (stopped with
    /// the dispatcher).
    listening: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.listening.lock().take() {
            task.abort();
        }
    }
}

impl Inner {
    fn forget(&self, application_id: i64) {
        self.resolved.lock().remove(&application_id);
    }

    /// Announcements may have been missed: nothing kept from the store is
    /// trusted (resolved triggers, the store's users by name).
    fn forget_all(&self) {
        self.resolved.lock().clear();
        self.store.heard_nothing_for_a_while();
    }
}

/// Applies other hosts' announcements to this host's cache until the
/// dispatcher is gone. A lost connection may have missed some: everything
/// is forgotten then.
async fn hear_changes(inner: std::sync::Weak<Inner>, mut listener: crate::store::ChangeListener) {
    loop {
        let heard = listener.next().await;
        let Some(inner) = inner.upgrade() else { return };
        match heard {
            Ok(crate::store::Heard::Changed(application_id)) => inner.forget(application_id),
            Ok(crate::store::Heard::UsersChanged(application_id)) => inner.store.heard_users_changed(application_id),
            Ok(crate::store::Heard::Lost) => inner.forget_all(),
            Err(e) => {
                tracing::warn!(error = %e, "not hearing other hosts' changes; retrying");
                inner.forget_all();
                drop(inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Drives `work` in the caller's task; if the caller stops waiting first,
/// what is left of it runs as a task of its own (an invocation runs to its
/// end whoever waits for it). Cheaper than a task per invocation from the
/// start: no second task to schedule, and one wake-up less per answer.
struct ToTheEnd<T: Send + 'static> {
    work: Option<std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>>,
}

impl<T: Send + 'static> std::future::Future for ToTheEnd<T> {
    type Output = T;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        let work = self.work.as_mut().expect("not polled after it finished");
        let done = std::task::ready!(work.as_mut().poll(cx));
        self.work = None;
        std::task::Poll::Ready(done)
    }
}

impl<T: Send + 'static> Drop for ToTheEnd<T> {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(work)),
            Err(_) => tracing::warn!("an invocation was left unfinished: its caller left with no runtime to finish it"),
        }
    }
}

/// Which attempt a run is.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub number: i64,
    /// An id made in advance (a queued job's first attempt), or a new one.
    pub invocation_id: Option<i64>,
    pub job_id: Option<i64>,
    /// A test run: recorded, hidden from the log unless asked for.
    pub test: bool,
}

impl Attempt {
    pub const FIRST: Attempt = Attempt { number: 1, invocation_id: None, job_id: None, test: false };
    pub const TEST: Attempt = Attempt { number: 1, invocation_id: None, job_id: None, test: true };
}

/// One finished invocation.
pub struct Ran {
    pub invocation_id: i64,
    pub outcome: InvocationOutcome,
}

impl Dispatcher {
    pub async fn new(
        store: Store,
        engine: Engine,
        config: DispatchConfig,
        platforms: Arc<dyn PlatformBinding>,
        npm: Arc<Npm>,
        metrics: Metrics,
    ) -> StoreResult<Dispatcher> {
        let recorder = Recorder::start(store.clone(), metrics.clone()).await?;
        let dispatcher = Dispatcher {
            inner: Arc::new(Inner {
                store,
                engine,
                recorder,
                config,
                platforms,
                npm,
                metrics,
                packages: Mutex::default(),
                resolved: Mutex::default(),
                functions: Mutex::default(),
                listening: Mutex::default(),
            }),
        };
        // Hosts sharing a PostgreSQL store hear each other's changes at once;
        // the cache's time limit stays the fallback.
        if let Some(listener) = dispatcher.inner.store.listen_for_changes().await? {
            let task = tokio::spawn(hear_changes(Arc::downgrade(&dispatcher.inner), listener));
            *dispatcher.inner.listening.lock() = Some(task);
            // Listening (LISTEN has returned): writes of users are heard from now on.
            dispatcher.inner.store.hear_users_for(dispatcher.inner.config.cache_ttl);
        }
        Ok(dispatcher)
    }

    pub fn config(&self) -> &DispatchConfig {
        &self.inner.config
    }

    /// Whether functions' chat data lives in this server's store.
    pub fn platform_is_embedded(&self) -> bool {
        self.inner.platforms.is_embedded()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }

    /// Forgets what was resolved for an application (after a change to it),
    /// here and on every other host sharing the store.
    pub fn invalidate(&self, application_id: i64) {
        self.inner.forget(application_id);
        let store = self.inner.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.announce_change(application_id).await {
                tracing::warn!(application_id, error = %e, "other hosts were not told of a change; their caches expire");
            }
        });
    }

    pub async fn resolve(&self, application_id: i64, trigger_type: &str) -> Result<Resolved, DispatchError> {
        if let Some(cached) = self.inner.resolved.lock().get(&application_id).and_then(|app| app.get(trigger_type)) {
            if cached.at.elapsed() < self.inner.config.cache_ttl {
                return Ok(cached.resolved.clone());
            }
        }
        let resolved = self.load(application_id, trigger_type).await?;
        let cached = Cached { at: Instant::now(), resolved: resolved.clone() };
        self.inner.resolved.lock().entry(application_id).or_default().insert(trigger_type.to_string(), cached);
        Ok(resolved)
    }

    async fn load(&self, application_id: i64, trigger_type: &str) -> Result<Resolved, DispatchError> {
        let store = &self.inner.store;
        let app = store.application(application_id).await?;
        let (guest_users, timeout_policy) = app
            .as_ref()
            .map_or((Toggle::Disabled, TimeoutPolicy::FailClosed), |a| (a.guest_users, a.blocking_timeout_policy));
        let (client_id, egress) = app.map(|a| (a.client_id, Arc::new(a.egress_policy))).unwrap_or_default();
        let mut resolved = Resolved { function: None, guest_users, timeout_policy };
        let Some(function) = store.function_for_trigger(application_id, trigger_type).await? else {
            return Ok(resolved);
        };
        let (true, Some(version_id)) = (function.enabled, function.current_version_id) else {
            return Ok(resolved);
        };
        let Some(runtime) = store.runtime(application_id).await? else { return Ok(resolved) };
        let runtime = self.runtime_spec(application_id, runtime, &client_id, egress).await?;
        let cached = self.inner.functions.lock().get(&version_id).cloned();
        let spec = match cached {
            Some(spec) => spec,
            None => {
                let Some(version) = store.version(application_id, version_id).await? else { return Ok(resolved) };
                let spec = Arc::new(FunctionSpec {
                    function_id: function.id.to_string().into(),
                    name: function.name.clone().into(),
                    trigger_type: function.trigger_type.clone().into(),
                    version_number: version.version_number,
                    script: version.script,
                });
                self.inner.functions.lock().insert(version_id, spec.clone());
                spec
            }
        };
        resolved.function = Some(ReadyFunction {
            function_id: function.id,
            version_id,
            version_number: spec.version_number,
            timeout_ms: function.timeout_ms,
            spec,
            runtime,
        });
        Ok(resolved)
    }

    /// The application's chat runtime as the engine runs it: its packages
    /// loaded, ChatKitty's system variables beside the custom ones (and
    /// winning), bound to its platform.
    async fn runtime_spec(
        &self,
        application_id: i64,
        runtime: crate::store::RuntimeRecord,
        client_id: &str,
        egress: Arc<crate::engine::EgressPolicy>,
    ) -> Result<Arc<RuntimeSpec>, DispatchError> {
        let packages = match &runtime.lockfile {
            Some(lock) if !lock.is_empty() => Some(self.packages(application_id, runtime.revision, lock).await?),
            _ => None,
        };
        let mut environment = runtime.environment_variables;
        environment.extend(self.inner.platforms.system_environment(application_id, client_id));
        Ok(Arc::new(RuntimeSpec {
            application_id: application_id.to_string().into(),
            revision: runtime.revision.to_string().into(),
            initialization_script: runtime.initialization,
            environment,
            limits: self.inner.config.limits,
            platform: Some(self.inner.platforms.bind(application_id)),
            egress,
            packages,
        }))
    }

    /// Warms the function deployed for `trigger_type` (its application's
    /// runtime built, its module loaded), so that its first invocation is
    /// not a cold start: `initializeAsynchronously`. Nothing is recorded;
    /// a failure (e.g. top-level code that throws) is logged and counted.
    pub async fn warm(&self, application_id: i64, trigger_type: &str) {
        let function = match self.resolve(application_id, trigger_type).await {
            Ok(Resolved { function: Some(function), .. }) => function,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(application_id, trigger_type, %error, "warming: the function could not be resolved");
                return;
            }
        };
        let outcome = self.inner.engine.warm(function.runtime.clone(), function.spec.clone()).await;
        let succeeded = outcome.status == crate::engine::InvocationStatus::Succeeded;
        if let (false, Some(error)) = (succeeded, &outcome.error) {
            tracing::warn!(application_id, trigger_type, error = %error.name, message = %error.message, "warming failed");
        }
        self.inner.metrics.warmed(application_id, if succeeded { "succeeded" } else { "failed" });
    }

    /// A function ready to run `script` for a test (a draft, or one of its
    /// versions: `version` is its id and number), enabled or not, in the
    /// application's current runtime. `None` when there is no such
    /// function or runtime.
    pub async fn ready_for_test(
        &self,
        application_id: i64,
        function_id: i64,
        script: crate::engine::CompiledScript,
        version: Option<(i64, i64)>,
    ) -> Result<Option<ReadyFunction>, DispatchError> {
        let store = &self.inner.store;
        let Some(app) = store.application(application_id).await? else { return Ok(None) };
        let Some(function) = store.function(application_id, function_id).await? else { return Ok(None) };
        let Some(runtime) = store.runtime(application_id).await? else { return Ok(None) };
        let runtime = self.runtime_spec(application_id, runtime, &app.client_id, Arc::new(app.egress_policy)).await?;
        // Under a name of its own, so that a warm runtime's deployed code
        // is not replaced; a new number each time, so each run loads its script.
        static TESTS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
        let spec = Arc::new(FunctionSpec {
            function_id: format!("{function_id}:test").into(),
            name: function.name.clone().into(),
            trigger_type: function.trigger_type.clone().into(),
            version_number: TESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            script,
        });
        let (version_id, version_number) = version.unwrap_or((0, 0));
        Ok(Some(ReadyFunction {
            function_id,
            version_id,
            version_number,
            timeout_ms: function.timeout_ms,
            spec,
            runtime,
        }))
    }

    async fn packages(
        &self,
        application_id: i64,
        revision: i64,
        lock: &Lockfile,
    ) -> Result<Arc<crate::engine::Packages>, DispatchError> {
        if let Some(found) = self.inner.packages.lock().get(&(application_id, revision)) {
            return Ok(found.clone());
        }
        let packages = self.inner.npm.packages(lock).await.map_err(DispatchError::Packages)?;
        let packages = Arc::new(packages);
        let mut cache = self.inner.packages.lock();
        cache.retain(|(app, _), _| *app != application_id);
        cache.insert((application_id, revision), packages.clone());
        Ok(packages)
    }

    /// Runs a function now and records the invocation (RUNNING, then its end)
    /// through the batching recorder. The invocation runs to its end and is
    /// recorded even if the caller stops waiting (the platform hung up).
    pub async fn run(
        &self,
        application_id: i64,
        function: &ReadyFunction,
        event: Arc<str>,
        attempt: Attempt,
        blocking: bool,
    ) -> Ran {
        use tracing::Instrument;
        let (dispatcher, function) = (self.clone(), function.clone());
        let run = async move { dispatcher.run_inline(application_id, &function, event, attempt, blocking).await };
        ToTheEnd { work: Some(Box::pin(run.in_current_span())) }.await
    }

    /// `run` in the caller's task, for a caller that is a task of its own
    /// which nothing cancels (a queue worker): no second task per job.
    pub(super) async fn run_inline(
        &self,
        application_id: i64,
        function: &ReadyFunction,
        event: Arc<str>,
        attempt: Attempt,
        blocking: bool,
    ) -> Ran {
        let recorder = &self.inner.recorder;
        let invocation_id = attempt.invocation_id.unwrap_or_else(|| recorder.next_id());
        let span = tracing::info_span!(
            "invocation",
            invocation_id,
            application_id,
            function_id = function.function_id,
            trigger = %function.spec.trigger_type,
            version = function.version_number,
            attempt = attempt.number,
            test = attempt.test,
            outcome = tracing::field::Empty,
        );
        recorder.started(Started {
            id: invocation_id,
            application_id,
            function_id: function.function_id,
            version_id: function.version_id,
            version_number: function.version_number,
            trigger_type: function.spec.trigger_type.clone(),
            args: event.clone(),
            attempt: attempt.number,
            created_at: now_millis(),
            job_id: attempt.job_id,
            test: attempt.test,
        });
        let default_timeout = if blocking { self.inner.config.blocking_timeout } else { self.inner.config.timeout };
        let timeout = function.timeout_ms.map(|ms| Duration::from_millis(ms as u64)).unwrap_or(default_timeout);
        use tracing::Instrument;
        let outcome = self
            .inner
            .engine
            .invoke(InvocationRequest {
                invocation_id: invocation_id.to_string(),
                runtime: function.runtime.clone(),
                function: function.spec.clone(),
                event,
                timeout: Some(timeout),
            })
            .instrument(span.clone())
            .await;
        let metrics = &self.inner.metrics;
        let ending = match outcome.ending {
            Ending::Returned => "returned",
            Ending::Threw => "threw",
            Ending::TimedOut => "timed_out",
            Ending::OutOfMemory => "out_of_memory",
            Ending::ResultTooLarge => "result_too_large",
            Ending::Internal => "internal",
        };
        let took = Duration::from_secs_f64(outcome.duration_ms / 1e3);
        let trigger = crate::triggers::trigger_type(&function.spec.trigger_type).map_or("unknown", |t| t.name);
        metrics.invocation(application_id, function.function_id, trigger, ending, took);
        if outcome.cold_start {
            metrics.cold_start(application_id);
        }
        span.record("outcome", ending);
        tracing::info!(parent: &span, status = ?outcome.status, duration_ms = outcome.duration_ms, cold = outcome.cold_start, "invocation finished");
        recorder.finished(Finished {
            id: invocation_id,
            application_id,
            status: outcome.status.into(),
            result: outcome.result.as_ref().map(|r| serde_json::to_string(r).expect("result serialises")),
            error: outcome.error.as_ref().map(|e| serde_json::to_string(e).expect("error serialises")),
            logs: serde_json::to_string(&outcome.logs).expect("logs serialise"),
            duration_ms: outcome.duration_ms,
            finished_at: now_millis(),
            span,
        });
        Ran { invocation_id, outcome }
    }
}
