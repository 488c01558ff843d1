//! Where isolates come from: process-wide V8 set-up (the V8 platform), the
//! startup snapshot, and the one thread every isolate thread is spawned from.
//!
//! V8's protected platform wants isolate threads to descend from the thread
//! that initialised it, so initialisation and a dedicated spawner thread are
//! created together and every isolate thread is started by the spawner.

use std::sync::mpsc;
use std::sync::OnceLock;

use deno_core::{JsRuntime, JsRuntimeForSnapshot, RuntimeOptions};

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

deno_core::extension!(
    chatfn_runtime,
    ops = [op_chatfn_log, op_chatfn_now],
    // Tenant code cannot reach `Deno.core.ops` (the host deletes it), but
    // ops that could crash or write to the host's stdout are disabled anyway.
    middleware = |op| match op.name {
        "op_panic" | "op_print" => op.disable(),
        _ => op,
    },
    state = |state| {
        state.put(ConsoleCapture::default());
    },
);

/// The extensions of every runtime, in snapshot order.
pub fn extensions() -> Vec<deno_core::Extension> {
    vec![
        chatfn_runtime::init(),
        super::context::chatfn_context::init(),
        super::fetch::chatfn_fetch::init(),
        super::crypto::chatfn_crypto::init(),
        super::keys::chatfn_keys::init(),
        super::cipher::chatfn_cipher::init(),
        super::url::chatfn_url::init(),
        super::modules::chatfn_modules::init(),
        super::fs::chatfn_fs::init(),
        super::zlib::chatfn_zlib::init(),
    ]
}

type SpawnJob = Box<dyn FnOnce() + Send + 'static>;

struct Spawner {
    requests: std::sync::Mutex<mpsc::Sender<(String, SpawnJob)>>,
}

fn spawner() -> &'static Spawner {
    static SPAWNER: OnceLock<Spawner> = OnceLock::new();
    SPAWNER.get_or_init(|| {
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

/// The runtime's own JavaScript, in order: bootstrap.js first (console,
/// timers, process, the host's entry points), then one script per
/// capability, each beside its ops.
const RUNTIME_SCRIPTS: &[(&str, &str)] = &[
    ("chatfn:runtime/bootstrap.js", include_str!("../../js-runtime/bootstrap.js")),
    ("chatfn:runtime/web.js", include_str!("../../js-runtime/web.js")),
    ("chatfn:runtime/context.js", include_str!("../../js-runtime/context.js")),
    ("chatfn:runtime/fetch.js", include_str!("../../js-runtime/fetch.js")),
    ("chatfn:runtime/url.js", include_str!("../../js-runtime/url.js")),
    ("chatfn:runtime/require.js", include_str!("../../js-runtime/require.js")),
];

/// The runtime's own JavaScript, evaluated once into a V8 startup snapshot
/// that every runtime starts from.
pub fn startup_snapshot() -> &'static [u8] {
    static SNAPSHOT: OnceLock<&'static [u8]> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        spawn_isolate_thread("chatfn-snapshot".into(), move || {
            let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
            let _entered = tokio.enter();
            let mut runtime =
                JsRuntimeForSnapshot::new(RuntimeOptions { extensions: extensions(), ..Default::default() });
            for (specifier, source) in RUNTIME_SCRIPTS {
                if let Err(e) = runtime.execute_script(*specifier, *source) {
                    panic!("the runtime script {specifier} failed: {e}");
                }
            }
            let snapshot: &'static [u8] = Box::leak(runtime.snapshot());
            let _ = tx.send(snapshot);
        });
        rx.recv().expect("building the startup snapshot failed (see the panic above)")
    })
}
