//! One warm chat runtime: a V8 isolate started from the snapshot, sealed,
//! with the application's environment and initialization script applied, and
//! the functions it has run so far compiled and kept.
//!
//! A `LiveRuntime` lives on one isolate thread (it is `!Send`); the pool
//! hands it work over a channel.

use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use deno_core::error::{CoreError, CoreErrorKind, JsError};
use deno_core::{v8, JsRuntime, ModuleSpecifier, PollEventLoopOptions, RuntimeOptions};

use super::console::{ConsoleCapture, ConsoleLimits, LogLine};

use super::context::ContextBinding;
use super::isolates::{extensions, startup_snapshot, Settled, Settlement};
use super::limits::{Guard, Limits, Trip};
use super::loader::{ChatLoader, SourceMaps};
use super::script::{CompiledScript, Evaluation};
use super::{FunctionSpec, InvocationError, RuntimeSpec};

/// Removes the runtime's internals from the global scope and returns the
/// host entry points the bootstrap left behind.
const SEAL_SCRIPT: &str = r#"(() => {
  const host = globalThis.__chatfnHost;
  delete globalThis.__chatfnHost;
  delete globalThis.__bootstrap;
  delete globalThis.Deno;
  // No WebAssembly: V8 reserves its memories itself, outside both the heap
  // limit and the runtime's ArrayBuffer allocator, and counts them nowhere an
  // embedder can read (V8 15 has no flag to leave the API out), so a script
  // could grow and hold gigabytes. Packages that feature-detect it fall back
  // to their JavaScript.
  delete globalThis.WebAssembly;
  host.fixedLengthSharedBuffers();
  return host;
})()"#;

struct Host {
    set_env: v8::Global<v8::Function>,
    run_init: v8::Global<v8::Function>,
    expose_exports: v8::Global<v8::Function>,
    load: v8::Global<v8::Function>,
    register_module: v8::Global<v8::Function>,
    invoke_settling: v8::Global<v8::Function>,
    take_failure: v8::Global<v8::Function>,
}

/// How a step in a runtime failed.
pub(crate) enum Failure {
    /// The script threw or rejected; the runtime stays usable.
    Threw(InvocationError),
    /// The initialization script threw: the runtime must be discarded.
    InitThrew(InvocationError),
    /// The watchdog or a memory limit stopped it; the pool names the limit.
    Stopped(Trip),
    /// The host could not run it (the runtime is discarded).
    Internal(InvocationError),
}

impl Failure {
    /// Whether the runtime is unusable after this.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Failure::Threw(_))
    }
}

pub(crate) struct LiveRuntime {
    js: JsRuntime,
    revision: Arc<str>,
    host: Host,
    /// function id → specifier of the version compiled for it.
    loaded: HashMap<Arc<str>, Arc<str>>,
    /// ES modules evaluated so far (a module cannot be loaded twice; a
    /// rollback to an earlier version reuses it).
    modules: HashMap<Arc<str>, v8::Global<v8::Value>>,
    maps: SourceMaps,
    isolate: v8::IsolateHandle,
    buffers: Arc<super::buffers::BufferBudget>,
}

impl LiveRuntime {
    /// Builds a sealed runtime for `spec` from the snapshot. Runs no tenant
    /// code; [`LiveRuntime::initialize`] does, once the guard is armed.
    pub fn create(spec: &RuntimeSpec, guard: &Arc<Guard>) -> Result<Self, Failure> {
        let maps = SourceMaps::default();
        let (buffer_allocator, buffers) = super::buffers::allocator(spec.limits.buffer_bytes);
        let mut js = JsRuntime::try_new(RuntimeOptions {
            extensions: extensions(),
            startup_snapshot: Some(startup_snapshot()),
            module_loader: Some(Rc::new(ChatLoader { maps: maps.clone(), packages: spec.packages.clone() })),
            create_params: Some(
                v8::CreateParams::default()
                    .heap_limits(0, spec.limits.heap_bytes)
                    .array_buffer_allocator(buffer_allocator.make_shared()),
            ),
            ..Default::default()
        })
        .map_err(|e| Failure::Internal(internal(format!("could not create a runtime: {e}"))))?;
        js.op_state().borrow_mut().put(super::modules::ModuleBinding(spec.packages.clone()));
        js.v8_isolate().set_slot(super::limits::BufferWatch(guard.clone()));
        // Long ops ask it whether the invocation was stopped (`invocation_stopped`).
        js.op_state().borrow_mut().put(guard.clone());
        let isolate = js.v8_isolate().thread_safe_handle();
        {
            let guard = guard.clone();
            let isolate = isolate.clone();
            // Give V8 room to unwind after terminating instead of aborting
            // the process; the runtime is discarded right after.
            js.add_near_heap_limit_callback(move |current, _initial| {
                guard.trip(Trip::Heap, &isolate);
                current * 2
            });
        }

        let host = js.execute_script("chatfn:runtime/seal.js", SEAL_SCRIPT).map_err(|e| js_failure(guard, *e))?;
        let host = {
            deno_core::scope!(scope, &mut js);
            let host = v8::Local::new(scope, host);
            let host = host.to_object(scope).expect("bootstrap left no host object");
            let entry = |name: &str| {
                let key = v8::String::new(scope, name).unwrap();
                let value = host.get(scope, key.into()).unwrap();
                let function = v8::Local::<v8::Function>::try_from(value).expect("host entry is not a function");
                v8::Global::new(scope, function)
            };
            Host {
                set_env: entry("setEnv"),
                run_init: entry("runInit"),
                expose_exports: entry("exposeExports"),
                load: entry("load"),
                register_module: entry("registerModule"),
                invoke_settling: entry("invokeSettling"),
                take_failure: entry("takeFailure"),
            }
        };

        Ok(LiveRuntime {
            js,
            revision: spec.revision.clone(),
            host,
            loaded: HashMap::new(),
            modules: HashMap::new(),
            maps,
            isolate,
            buffers,
        })
    }

    /// Applies the environment and runs the initialization script.
    pub async fn initialize(&mut self, spec: &RuntimeSpec, guard: &Arc<Guard>) -> Result<(), Failure> {
        let env = serde_json::to_string(&spec.environment).expect("env serialises");
        self.call_sync(&self.host.set_env.clone(), &[&env], guard)?;
        if let Some(init) = &spec.initialization_script {
            self.register_map(init);
            let ran = match init.evaluation {
                Evaluation::Global => self
                    .js
                    .execute_script(init.specifier.to_string(), init.code.to_string())
                    .map(drop)
                    .map_err(|e| js_failure(guard, *e)),
                Evaluation::FunctionBody => {
                    self.call_sync(&self.host.run_init.clone(), &[&init.code, &init.specifier], guard)
                }
                Evaluation::EsModule => match self.evaluate_module(init, guard).await {
                    Ok(namespace) => {
                        let expose = self.js.call_with_args(&self.host.expose_exports.clone(), &[namespace]);
                        settle_now(expose, guard)
                    }
                    Err(failure) => Err(failure),
                },
            };
            ran.map_err(|failure| match failure {
                Failure::Threw(mut e) => {
                    e.message = format!("Initialization script failed: {}", e.message);
                    // A runtime whose init failed is not one to reuse.
                    Failure::InitThrew(e)
                }
                fatal => fatal,
            })?;
        }
        Ok(())
    }

    pub fn revision(&self) -> &Arc<str> {
        &self.revision
    }

    /// Whether the ArrayBuffer budget refused an allocation since last asked.
    pub fn buffers_refused(&self) -> bool {
        self.buffers.take_refused()
    }

    pub fn isolate(&self) -> v8::IsolateHandle {
        self.isolate.clone()
    }

    pub fn start_console(&mut self, limits: ConsoleLimits) {
        self.js.op_state().borrow_mut().borrow_mut::<ConsoleCapture>().start(limits);
    }

    /// Binds the context APIs to the platform for the invocation starting,
    /// with a fresh budget of requests,
    /// and `fetch` to the application's outbound policy.
    pub fn bind_context(&mut self, runtime: &super::RuntimeSpec, budget: u32) {
        let state = self.js.op_state();
        let mut state = state.borrow_mut();
        state.borrow_mut::<ContextBinding>().start(runtime.platform.clone(), budget);
        state.borrow_mut::<super::fetch::FetchBinding>().start(runtime.egress.clone());
    }

    pub fn finish_console(&mut self) -> Vec<LogLine> {
        self.js.op_state().borrow_mut().borrow_mut::<ConsoleCapture>().finish()
    }

    /// Compiles the function's version unless this runtime already has it.
    /// A new version replaces the old one; the init script is not re-run.
    pub async fn ensure_loaded(&mut self, function: &FunctionSpec, guard: &Arc<Guard>) -> Result<(), Failure> {
        if self.loaded.get(&function.function_id) == Some(&function.script.specifier) {
            return Ok(());
        }
        self.loaded.remove(&function.function_id);
        self.register_map(&function.script);
        let script = &function.script;
        match script.evaluation {
            Evaluation::EsModule => {
                let namespace = self.evaluate_module(script, guard).await?;
                let key = self.js_string(&function.function_id);
                let register = self.js.call_with_args(&self.host.register_module.clone(), &[key, namespace]);
                settle_now(register, guard)?;
            }
            Evaluation::FunctionBody | Evaluation::Global => {
                self.call_sync(
                    &self.host.load.clone(),
                    &[&function.function_id, &script.code, &script.specifier],
                    guard,
                )?;
            }
        }
        self.loaded.insert(function.function_id.clone(), script.specifier.clone());
        Ok(())
    }

    /// Loads and evaluates an ES module (top-level await included) and
    /// returns its namespace object.
    async fn evaluate_module(
        &mut self,
        script: &CompiledScript,
        guard: &Arc<Guard>,
    ) -> Result<v8::Global<v8::Value>, Failure> {
        if let Some(namespace) = self.modules.get(&script.specifier) {
            return Ok(namespace.clone());
        }
        let url = ModuleSpecifier::parse(&script.specifier)
            .map_err(|e| Failure::Internal(internal(format!("bad module specifier: {e}"))))?;
        let id = self
            .js
            .load_side_es_module_from_code(&url, script.code.to_string())
            .await
            .map_err(|e| core_failure(guard, e))?;
        let evaluation = self.js.mod_evaluate(id);
        self.js
            .with_event_loop_promise(Box::pin(evaluation), PollEventLoopOptions::default())
            .await
            .map_err(|e| core_failure(guard, e))?;
        let namespace = self.js.get_module_namespace(id).map_err(|e| core_failure(guard, e))?;
        let namespace = {
            deno_core::scope!(scope, &mut self.js);
            let local = v8::Local::<v8::Value>::from(v8::Local::new(scope, namespace));
            v8::Global::new(scope, local)
        };
        self.modules.insert(script.specifier.clone(), namespace.clone());
        Ok(namespace)
    }

    /// Runs the loaded handler of `function_id`; `Ok(None)` when it returned
    /// `undefined`, otherwise the JSON of its return value.
    pub async fn invoke(
        &mut self,
        function_id: &str,
        event_json: &str,
        context_json: &str,
        guard: &Arc<Guard>,
    ) -> Result<Option<String>, Failure> {
        let state = self.js.op_state();
        *state.borrow_mut().borrow_mut::<Settlement>() = Settlement::default();
        let invoke = self.host.invoke_settling.clone();
        settle_now(self.call(&invoke, &[function_id, event_json, context_json]), guard)?;
        // Ends when bootstrap.js's `invokeSettling` tells how it went.
        let settled = std::future::poll_fn(move |cx| {
            let mut state = state.borrow_mut();
            let settlement = state.borrow_mut::<Settlement>();
            match settlement.settled.take() {
                Some(settled) => std::task::Poll::Ready(Ok::<_, CoreError>(settled)),
                None => {
                    settlement.waiting = Some(cx.waker().clone());
                    std::task::Poll::Pending
                }
            }
        });
        match self.js.with_event_loop_promise(Box::pin(settled), PollEventLoopOptions::default()).await {
            Ok(Settled::Returned(json)) => Ok(json),
            Ok(Settled::Threw) => {
                let take_failure = self.host.take_failure.clone();
                let rejected = self.call(&take_failure, &[]);
                match self.js.with_event_loop_promise(Box::pin(rejected), PollEventLoopOptions::default()).await {
                    Ok(_) => Err(Failure::Internal(internal("a rejected invocation had no reason to give"))),
                    Err(error) => Err(core_failure(guard, error)),
                }
            }
            Err(error) => Err(core_failure(guard, error)),
        }
    }

    /// Makes a script known to the loader (and its source map to stack traces).
    fn register_map(&self, script: &CompiledScript) {
        self.maps.0.borrow_mut().insert(script.specifier.to_string(), script.source_map.clone());
    }

    fn js_string(&mut self, s: &str) -> v8::Global<v8::Value> {
        deno_core::scope!(scope, &mut self.js);
        let s = v8::String::new(scope, s).expect("string fits in V8");
        v8::Global::new(scope, v8::Local::<v8::Value>::from(s))
    }

    fn call(
        &mut self,
        function: &v8::Global<v8::Function>,
        args: &[&str],
    ) -> impl Future<Output = Result<v8::Global<v8::Value>, Box<JsError>>> + 'static {
        let args: Vec<v8::Global<v8::Value>> = args.iter().map(|arg| self.js_string(arg)).collect();
        self.js.call_with_args(function, &args)
    }

    /// Calls a host entry point that does not return a promise.
    fn call_sync(
        &mut self,
        function: &v8::Global<v8::Function>,
        args: &[&str],
        guard: &Arc<Guard>,
    ) -> Result<(), Failure> {
        settle_now(self.call(function, args), guard)
    }
}

/// The result of a call that settled synchronously (host entry points
/// that return no promise).
fn settle_now(
    call: impl Future<Output = Result<v8::Global<v8::Value>, Box<JsError>>>,
    guard: &Guard,
) -> Result<(), Failure> {
    let mut call = std::pin::pin!(call);
    match call.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(Ok(_)) => Ok(()),
        std::task::Poll::Ready(Err(error)) => Err(js_failure(guard, *error)),
        std::task::Poll::Pending => Err(Failure::Internal(internal("a host entry point returned a promise"))),
    }
}

fn internal(message: impl Into<String>) -> InvocationError {
    InvocationError { name: "InternalError".into(), message: message.into(), stack: None }
}

pub(crate) fn trip_error(trip: Trip, limits: &Limits) -> InvocationError {
    match trip {
        Trip::WallClock => InvocationError {
            name: "TimeoutError".into(),
            message: format!("The invocation exceeded its time limit of {} ms", limits.timeout.as_millis()),
            stack: None,
        },
        Trip::CpuTime => InvocationError {
            name: "TimeoutError".into(),
            message: format!("The invocation exceeded its CPU time limit of {} ms", limits.cpu_time.as_millis()),
            stack: None,
        },
        Trip::Heap => InvocationError {
            name: "OutOfMemoryError".into(),
            message: format!("The runtime exceeded its heap limit of {} MB", limits.heap_bytes / (1024 * 1024)),
            stack: None,
        },
        Trip::Buffers => InvocationError {
            name: "OutOfMemoryError".into(),
            message: format!(
                "The runtime exceeded its limit of {} MB for memory outside the JavaScript heap (ArrayBuffers, Intl objects)",
                limits.buffer_bytes / (1024 * 1024)
            ),
            stack: None,
        },
    }
}

fn core_failure(guard: &Guard, error: CoreError) -> Failure {
    match *error.0 {
        CoreErrorKind::Js(js) => js_failure(guard, *js),
        CoreErrorKind::PendingPromiseResolution => match guard.tripped() {
            Some(trip) => Failure::Stopped(trip),
            None => Failure::Threw(InvocationError {
                name: "Error".into(),
                message: "The handler's promise never settled: it awaited something that can no longer happen".into(),
                stack: None,
            }),
        },
        // Module resolution and similar errors: the script's doing.
        other => Failure::Threw(InvocationError { name: "Error".into(), message: other.to_string(), stack: None }),
    }
}

fn js_failure(guard: &Guard, error: JsError) -> Failure {
    if let Some(trip) = guard.tripped() {
        // The message V8 gives a terminated script says nothing useful;
        // the limits that were hit are named by the caller.
        return Failure::Stopped(trip);
    }
    let message = match (&error.message, &error.name) {
        (Some(message), _) => message.clone(),
        (None, _) => error.exception_message.trim_start_matches("Uncaught ").to_string(),
    };
    Failure::Threw(InvocationError {
        name: truncated(error.name.clone().unwrap_or_else(|| "Error".into()), 256),
        message: truncated(message, Limits::ERROR_MESSAGE_BYTES),
        stack: error.stack.as_deref().map(|stack| truncated(without_host_frames(stack), Limits::ERROR_STACK_BYTES)),
    })
}

/// At most `max` bytes of `text` (cut at a character), marked when cut.
fn truncated(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = text.len() - end;
        text.truncate(end);
        text.push_str(&format!("… ({cut} more bytes)"));
    }
    text
}

/// The author's frames only: the runtime's own glue is noise to them.
fn without_host_frames(stack: &str) -> String {
    stack.lines().filter(|line| !line.contains(HOST_SCRIPT_PREFIX)).collect::<Vec<_>>().join("\n")
}

/// Specifier prefix of the runtime's own scripts.
const HOST_SCRIPT_PREFIX: &str = "chatfn:runtime/";
