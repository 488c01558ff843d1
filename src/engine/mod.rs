//! The engine: runs chat functions in warm, bounded V8 runtimes.
//!
//! Surface: [`script::compile`] turns TypeScript into a deployable
//! [`CompiledScript`] once, at deploy time; [`Engine::invoke`] runs a
//! function version against an application's chat runtime and returns a
//! typed [`InvocationOutcome`]; [`Engine::evict`] drops an application's
//! warm runtimes.

mod buffers;
mod cipher;
pub mod console;
pub mod context;
mod crypto;
mod egress;
mod errors;
pub mod fetch;
mod fs;
mod icu_memory;
mod inline;
mod invocation;
mod isolates;
mod keys;
pub mod limits;
mod loader;
pub mod modules;
mod node;
mod pool;
mod runtime;
pub mod script;
mod url;
mod zlib;

use std::sync::Arc;

use serde::Serialize;

pub use console::{ConsoleLimits, LogLevel, LogLine};
pub use context::{ChatPlatform, PlatformHandle, PlatformRequest, PlatformResponse};
pub use egress::EgressPolicy;
pub use invocation::{
    Ending, FunctionSpec, InvocationError, InvocationOutcome, InvocationRequest, InvocationResult, InvocationStatus,
    RuntimeSpec,
};
pub use isolates::spawn_isolate_thread;
pub use limits::Limits;
pub use modules::{InstalledPackage, Packages};
pub use script::{compile, CompiledScript, ScriptError, ScriptRole};

#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Warm runtimes kept across all applications (each on its own thread);
    /// the least recently used idle one is evicted past this.
    pub max_runtimes: usize,
    /// Invocations of one application running at once (each needs its own
    /// runtime); more wait their turn, so one application cannot take every
    /// runtime.
    pub max_concurrency_per_application: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        EngineConfig { max_runtimes: 64, max_concurrency_per_application: cores }
    }
}

/// Counters for operators and benchmarks.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineStats {
    pub live_runtimes: usize,
    pub idle_runtimes: usize,
    pub runtimes_started: u64,
    pub runtimes_evicted: u64,
    /// Invocations a serving thread ran itself, in its own runtime.
    pub inline_invocations: u64,
    /// Times an application was sent back to the runtime threads for an
    /// inline invocation that held its serving thread too long.
    pub inline_benchings: u64,
}

/// Runs chat functions. Cheap to clone; all clones share the same runtimes.
#[derive(Clone)]
pub struct Engine {
    pool: Arc<pool::Pool>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        // Build the snapshot now rather than inside the first invocation.
        isolates::startup_snapshot();
        Engine { pool: pool::Pool::new(config) }
    }

    /// Runs one invocation to completion. Never panics on anything a script
    /// does: every failure is an `InvocationOutcome` with status FAILED.
    #[tracing::instrument(skip_all, fields(invocation_id = %request.invocation_id, function = %request.function.name))]
    pub async fn invoke(&self, request: InvocationRequest) -> InvocationOutcome {
        let request = match inline::offer(&self.pool, request) {
            Ok(run) => {
                return run.await.unwrap_or_else(|| {
                    let error = pool::internal("an inline invocation was awaited on another thread");
                    InvocationOutcome::failed(error, Ending::Internal, vec![], std::time::Duration::ZERO, false)
                })
            }
            Err(request) => request,
        };
        self.pool.clone().invoke(request, pool::Work::Handle).await
    }

    /// Makes the calling thread a serving thread: it keeps one warm runtime
    /// and runs the invocations its own requests ask for there when their
    /// application has proven short (see `inline.rs`). The thread must come
    /// from [`spawn_isolate_thread`] and run `tasks` until [`Engine::leave_serving_thread`].
    pub fn enter_serving_thread(&self, tasks: &std::rc::Rc<tokio::task::LocalSet>) {
        inline::enter(&self.pool, tasks);
    }

    /// Waits (at most the longest time limit) for the serving thread's
    /// inline invocation, if one runs.
    pub async fn settle_serving_thread() {
        inline::settle().await;
    }

    /// Drops the serving thread's runtime; call before the thread ends.
    pub fn leave_serving_thread() {
        inline::leave();
    }

    /// Makes `function` warm in one of its application's runtimes: the
    /// runtime built (initialization script run) and the function's module
    /// loaded, its handler not called. SUCCEEDED with no result when done;
    /// FAILED as an invocation would (e.g. top-level code that throws).
    #[tracing::instrument(skip_all, fields(function = %function.name))]
    pub async fn warm(&self, runtime: Arc<RuntimeSpec>, function: Arc<FunctionSpec>) -> InvocationOutcome {
        let request =
            InvocationRequest { invocation_id: "warm".into(), runtime, function, event: "{}".into(), timeout: None };
        self.pool.clone().invoke(request, pool::Work::Warm).await
    }

    /// Drops the idle warm runtimes of an application (e.g. once it is
    /// deleted); busy ones are dropped when they finish.
    pub fn evict(&self, application_id: &str) {
        self.pool.evict(application_id);
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            inline_invocations: self.pool.standings.inline_invocations(),
            inline_benchings: self.pool.standings.benchings(),
            ..self.pool.stats()
        }
    }
}
