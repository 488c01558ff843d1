//! Where isolates come from: process-wide V8 set-up (the V8 platform), the
//! startup snapshot, and the one thread every isolate thread is spawned from.
//!
//! V8's protected platform wants isolate threads to descend from the thread
//! that initialised it, so initialisation and a dedicated spawner thread are
//! created together and every isolate thread is started by the spawner.

use std::sync::mpsc;
use std::sync::OnceLock;

use deno_core::{JsRuntime, JsRuntimeForSnapshot, OpState, RuntimeOptions};

use super::console::{op_chatfn_log, ConsoleCapture};

/// Stack of an isolate thread; V8 keeps its own stack limit well inside it.
const ISOLATE_THREAD_STACK: usize = 8 * 1024 * 1024;

/// Monotonic milliseconds since the process started, to the microsecond
/// (`performance.now()`, `process.hrtime()`).
#[deno_core::op2(fast)]
fn op_chatfn_now() -> f64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let elapsed = START.get_or_init(std::time::Instant::now).elapsed();
    (elapsed.as_micros() as f64) / 1000.0
}

/// How the handler's promise ended, told by the runtime's `invokeSettling`
/// (bootstrap.js) and taken by `LiveRuntime::invoke`.
pub(super) enum Settled {
    /// Resolved, with the JSON of its value (`None`: `undefined`).
    Returned(Option<String>),
    /// Rejected; `takeFailure` gives the reason as a rejected promise.
    Threw,
}

/// The running invocation's end once known, and who waits for it.
#[derive(Default)]
pub(super) struct Settlement {
    pub settled: Option<Settled>,
    pub waiting: Option<std::task::Waker>,
}

impl Settlement {
    fn settle(state: &mut OpState, settled: Settled) {
        let settlement = state.borrow_mut::<Settlement>();
        settlement.settled = Some(settled);
        if let Some(waiting) = settlement.waiting.take() {
            waiting.wake();
        }
    }
}

#[deno_core::op2(fast)]
fn op_chatfn_returned(state: &mut OpState, #[string] json: String) {
    Settlement::settle(state, Settled::Returned(Some(json)));
}

#[deno_core::op2(fast)]
fn op_chatfn_settled_without(state: &mut OpState, threw: bool) {
    Settlement::settle(state, if threw { Settled::Threw } else { Settled::Returned(None) });
}

deno_core::extension!(
    chatfn_runtime,
    ops = [op_chatfn_log, op_chatfn_now, op_chatfn_returned, op_chatfn_settled_without],
    // Tenant code cannot reach `Deno.core.ops` (the host deletes it), but
    // ops that could crash or write to the host's stdout are disabled anyway.
    middleware = |op| match op.name {
        "op_panic" | "op_print" => op.disable(),
        _ => op,
    },
    state = |state| {
        state.put(ConsoleCapture::default());
        state.put(Settlement::default());
    },
);

/// A capability's extension with its JavaScript, `js-runtime/<file>` for
/// each file given: its ops and the glue over them declared together.
/// deno_core evaluates the scripts into the startup snapshot, extension
/// by extension, and skips them in runtimes started from it.
macro_rules! with_scripts {
    ($extension:expr, $($file:literal),+) => {{
        let mut extension: deno_core::Extension = $extension;
        extension.js_files = std::borrow::Cow::Owned(vec![$(
            deno_core::ExtensionFileSource::new(
                concat!("chatfn:runtime/", $file),
                deno_core::ascii_str_include!(concat!(env!("CARGO_MANIFEST_DIR"), "/js-runtime/", $file)),
            )
        ),+]);
        extension
    }};
}
pub(super) use with_scripts;

/// The runtime's own: bootstrap.js first (console, timers, process, the
/// host's entry points), then the web globals.
fn extension() -> deno_core::Extension {
    with_scripts!(chatfn_runtime::init(), "bootstrap.js", "web.js")
}

/// The extensions of every runtime, in snapshot order (the order their
/// scripts run in).
pub fn extensions() -> Vec<deno_core::Extension> {
    vec![
        extension(),
        super::context::extension(),
        super::fetch::extension(),
        super::crypto::extension(),
        super::keys::extension(),
        super::cipher::extension(),
        super::url::extension(),
        super::modules::extension(),
        super::fs::extension(),
        super::zlib::extension(),
    ]
}

type SpawnJob = Box<dyn FnOnce() + Send + 'static>;

struct Spawner {
    requests: std::sync::Mutex<mpsc::Sender<(String, SpawnJob)>>,
}

fn spawner() -> &'static Spawner {
    static SPAWNER: OnceLock<Spawner> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        super::icu_memory::install();
        JsRuntime::init_platform(None);
        let (tx, rx) = mpsc::channel::<(String, SpawnJob)>();
        std::thread::Builder::new()
            .name("chatfn-spawner".into())
            .spawn(move || {
                for (name, job) in rx {
                    if let Err(e) = std::thread::Builder::new().name(name).stack_size(ISOLATE_THREAD_STACK).spawn(job) {
                        tracing::error!("could not start an isolate thread: {e}");
                    }
                }
            })
            .expect("spawn chatfn-spawner thread");
        Spawner { requests: std::sync::Mutex::new(tx) }
    })
}

/// Starts a thread that may own a V8 isolate (asynchronously: the job owns
/// whatever channel it reports on).
pub fn spawn_isolate_thread(name: String, job: impl FnOnce() + Send + 'static) {
    spawner().requests.lock().expect("spawner lock").send((name, Box::new(job))).expect("spawner thread is gone");
}

/// The runtime's own JavaScript, evaluated once into a V8 startup snapshot
/// that every runtime starts from.
pub fn startup_snapshot() -> &'static [u8] {
    static SNAPSHOT: OnceLock<&'static [u8]> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        spawn_isolate_thread("chatfn-snapshot".into(), move || {
            let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            let _entered = tokio.enter();
            let runtime =
                JsRuntimeForSnapshot::try_new(RuntimeOptions { extensions: extensions(), ..Default::default() })
                    .unwrap_or_else(|e| panic!("a runtime script failed: {e}"));
            let snapshot: &'static [u8] = Box::leak(runtime.snapshot());
            let _ = tx.send(snapshot);
        });
        rx.recv().expect("building the startup snapshot failed (see the panic above)")
    })
}
