//! Handler fixtures as data: `fixtures/<case>/handler.ts` (+ `init.ts`),
//! `event.json`, and `expected.json` describing the outcome of each
//! invocation in sequence, or the compile error. One test per case.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chatfn::engine::{compile, Engine, EngineConfig, FunctionSpec, InvocationRequest, Limits, RuntimeSpec, ScriptRole};
use serde_json::Value;

use super::support::repo_path;

macro_rules! fixture_tests {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                run_fixture(stringify!($case)).await;
            }
        )*
        const CASES: &[&str] = &[$(stringify!($case)),*];
    };
}

fixture_tests!(
    hello,
    ts_features,
    module_state,
    init_state,
    env_vars,
    console_capture,
    node_globals,
    node_bounds,
    zlib_bomb,
    syntax_error,
    runtime_error,
    non_serializable,
    infinite_loop,
    heap_bomb,
    buffer_bomb,
    resizable_buffers,
    encoded_bomb,
    intl_bomb,
    deep_recursion,
    log_flood,
    undefined_result,
    es_module_default,
    es_module_named,
    no_handler,
    sandbox,
    unhandled_rejection,
    timers,
    context_unbound,
    fetch_denied,
);

#[test]
fn every_fixture_directory_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(repo_path("fixtures"))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            path.join("handler.ts").exists().then(|| path.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "fixture directories and fixture_tests! must match");
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

async fn run_fixture(case: &str) {
    let dir = repo_path("fixtures").join(case);
    let expected: Value = serde_json::from_str(&read(&dir, "expected.json").expect("expected.json")).unwrap();
    let source = read(&dir, "handler.ts").expect("handler.ts");
    let event = read(&dir, "event.json").unwrap_or_else(|| "{}".into());

    let compiled = compile(&format!("file:///fixtures/{case}/handler.ts"), &source, ScriptRole::Handler);
    if let Some(want) = expected.get("compileError") {
        let err = compiled.expect_err("the handler should not compile");
        if let Some(line) = want.get("line") {
            assert_eq!(err.line as u64, line.as_u64().unwrap(), "line of {err:?}");
        }
        if let Some(column) = want.get("column") {
            assert_eq!(err.column as u64, column.as_u64().unwrap(), "column of {err:?}");
        }
        if let Some(text) = want.get("messageContains") {
            assert!(err.message.contains(text.as_str().unwrap()), "{err:?}");
        }
        return;
    }
    let script = compiled.unwrap_or_else(|e| panic!("{case}: {e}"));

    let mut limits = Limits::default();
    if let Some(ms) = expected.get("timeoutMs").and_then(Value::as_u64) {
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(mb) = expected.get("heapMb").and_then(Value::as_u64) {
        limits.heap_bytes = mb as usize * 1024 * 1024;
    }
    let initialization_script = read(&dir, "init.ts")
        .map(|src| compile(&format!("file:///fixtures/{case}/init.ts"), &src, ScriptRole::Initialization).unwrap());
    let environment = expected
        .get("env")
        .and_then(Value::as_object)
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default();
    let runtime = Arc::new(RuntimeSpec {
        application_id: format!("fixture-{case}").into(),
        revision: "1".into(),
        initialization_script,
        environment,
        limits,
        platform: None,
        egress: Default::default(),
        packages: None,
    });
    let function = Arc::new(FunctionSpec {
        function_id: case.into(),
        name: case.into(),
        trigger_type: "user.attempted.start_session".into(),
        version_number: 1,
        script,
    });

    let engine = Engine::new(EngineConfig::default());
    let outcomes = expected["outcomes"].as_array().expect("outcomes");
    for (i, want) in outcomes.iter().enumerate() {
        let outcome = engine
            .invoke(InvocationRequest {
                invocation_id: format!("{case}-{i}"),
                runtime: runtime.clone(),
                function: function.clone(),
                event: event.clone().into(),
                timeout: None,
            })
            .await;
        let got = serde_json::to_value(&outcome).unwrap();
        let at = format!("{case}, invocation {}: {got:#}", i + 1);
        assert_eq!(got["status"], want["status"], "{at}");
        if let Some(result) = want.get("result") {
            assert_eq!(&got["result"], result, "{at}");
        }
        if let Some(cold) = want.get("coldStart") {
            assert_eq!(&got["coldStart"], cold, "{at}");
        }
        if let Some(max) = want.get("maxDurationMs").and_then(Value::as_f64) {
            assert!(outcome.duration_ms <= max, "{at}");
        }
        if let Some(error) = want.get("error") {
            check_error(&got["error"], error, &at);
        }
        let logs = got["logs"].as_array().unwrap();
        if let Some(expected_logs) = want.get("logs").and_then(Value::as_array) {
            let got_logs: Vec<Value> =
                logs.iter().map(|l| serde_json::json!({ "level": l["level"], "message": l["message"] })).collect();
            assert_eq!(&got_logs, expected_logs, "{at}");
            assert!(logs.iter().all(|l| l["time"].as_str().is_some_and(|t| t.ends_with('Z'))), "{at}");
        }
        if let Some(count) = want.get("logCount").and_then(Value::as_u64) {
            assert_eq!(logs.len() as u64, count, "{case}: log count");
        }
        for text in want.get("logsContain").and_then(Value::as_array).into_iter().flatten() {
            let text = text.as_str().unwrap();
            assert!(
                logs.iter().any(|l| l["message"].as_str().unwrap().contains(text)),
                "{case}: no log line contains {text:?}"
            );
        }
    }
}

fn check_error(got: &Value, want: &Value, at: &str) {
    assert_eq!(got["name"], want["name"], "{at}");
    let message = got["message"].as_str().unwrap_or_default();
    if let Some(exact) = want.get("message") {
        assert_eq!(&got["message"], exact, "{at}");
    }
    if let Some(part) = want.get("messageContains").and_then(Value::as_str) {
        assert!(message.contains(part), "{at}");
    }
    let stack = got["stack"].as_str().unwrap_or_default();
    for part in want.get("stackContains").and_then(Value::as_array).into_iter().flatten() {
        assert!(stack.contains(part.as_str().unwrap()), "stack lacks {part}: {at}");
    }
    for part in want.get("stackExcludes").and_then(Value::as_array).into_iter().flatten() {
        assert!(!stack.contains(part.as_str().unwrap()), "stack has {part}: {at}");
    }
}
