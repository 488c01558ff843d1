//! The engine as a whole: warm runtimes, isolation, limits, the pool.

use std::time::{Duration, Instant};

use chatfn::engine::{Engine, EngineConfig, InvocationStatus, Limits};

use super::support::{function, limits, payload, request, runtime};

fn engine() -> Engine {
    Engine::new(EngineConfig::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_application_keeps_answering_while_one_spins() {
    let engine = engine();
    let spinning_rt = runtime("spinner", "1", None, &[], limits(3_000));
    let spinner = function("spinner", "loop", 1, "async function handleEvent() { while (true) {} }");
    let quick_rt = runtime("quick", "1", None, &[], limits(3_000));
    let quick = function("quick", "echo", 1, "async function handleEvent(e: any) { return e.n * 2 }");

    let spinning = {
        let engine = engine.clone();
        let request = request(&spinning_rt, &spinner, "{}");
        tokio::spawn(async move { engine.invoke(request).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    for n in 0..50 {
        let outcome = engine.invoke(request(&quick_rt, &quick, &format!("{{\"n\":{n}}}"))).await;
        assert_eq!(payload(&outcome), serde_json::json!(n * 2));
    }
    // All fifty answered while the spinner was still running.
    assert!(!spinning.is_finished(), "the spinner ended before the other application was served");
    assert!(began.elapsed() < Duration::from_millis(2_500));
    let spun = spinning.await.unwrap();
    assert_eq!(spun.error.unwrap().name, "TimeoutError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heap_bomb_fails_alone_and_the_runtime_is_rebuilt() {
    let engine = engine();
    let rt = runtime("bomb", "1", None, &[], Limits { heap_bytes: 48 << 20, ..Limits::default() });
    let bomb = function(
        "bomb",
        "bomb",
        1,
        "async function handleEvent() { const a: string[] = []; while (true) a.push('x'.repeat(1024) + Math.random()); }",
    );
    let fine = function("bomb", "fine", 1, "let n = 0; async function handleEvent() { return ++n }");

    assert_eq!(payload(&engine.invoke(request(&rt, &fine, "{}")).await), serde_json::json!(1));
    let outcome = engine.invoke(request(&rt, &bomb, "{}")).await;
    assert_eq!(outcome.error.unwrap().name, "OutOfMemoryError");
    // The bombed runtime was discarded: state starts over in a fresh one.
    let outcome = engine.invoke(request(&rt, &fine, "{}")).await;
    assert!(outcome.cold_start);
    assert_eq!(payload(&outcome), serde_json::json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_swaps_the_function_without_rerunning_init() {
    let engine = engine();
    let init = "let initRuns = 0; initRuns++;";
    let rt = runtime("versions", "1", Some(init), &[], Limits::default());
    let v1 = function("versions", "f", 1, "async function handleEvent() { return { v: 1, initRuns } }");
    let v2 = function("versions", "f", 2, "export default async () => ({ v: 2, initRuns })");

    assert_eq!(payload(&engine.invoke(request(&rt, &v1, "{}")).await), serde_json::json!({"v": 1, "initRuns": 1}));
    let outcome = engine.invoke(request(&rt, &v2, "{}")).await;
    assert!(!outcome.cold_start);
    assert_eq!(payload(&outcome), serde_json::json!({"v": 2, "initRuns": 1}));
    // Rolling back reuses the runtime too.
    assert_eq!(payload(&engine.invoke(request(&rt, &v1, "{}")).await), serde_json::json!({"v": 1, "initRuns": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_change_builds_a_fresh_runtime() {
    let engine = engine();
    let handler = function(
        "rev",
        "f",
        1,
        "let calls = 0; async function handleEvent() { return { calls: ++calls, env: process.env.MODE } }",
    );
    let first = runtime("rev", "1", None, &[("MODE", "a")], Limits::default());
    engine.invoke(request(&first, &handler, "{}")).await;
    let warm = engine.invoke(request(&first, &handler, "{}")).await;
    assert_eq!(payload(&warm), serde_json::json!({"calls": 2, "env": "a"}));

    let second = runtime("rev", "2", None, &[("MODE", "b")], Limits::default());
    let outcome = engine.invoke(request(&second, &handler, "{}")).await;
    assert!(outcome.cold_start);
    assert_eq!(payload(&outcome), serde_json::json!({"calls": 1, "env": "b"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_do_not_share_globals() {
    let engine = engine();
    let writer =
        function("a", "w", 1, "async function handleEvent() { (globalThis as any).secret = 'a-only'; return 1 }");
    let reader = function("b", "r", 1, "async function handleEvent() { return typeof (globalThis as any).secret }");
    let a = runtime("a", "1", None, &[("TOKEN", "a-token")], Limits::default());
    let b = runtime("b", "1", None, &[], Limits::default());
    engine.invoke(request(&a, &writer, "{}")).await;
    assert_eq!(payload(&engine.invoke(request(&b, &reader, "{}")).await), serde_json::json!("undefined"));
    let env_reader = function("b", "env", 1, "async function handleEvent() { return process.env.TOKEN ?? null }");
    assert_eq!(payload(&engine.invoke(request(&b, &env_reader, "{}")).await), serde_json::json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_budget_stops_a_spinning_script_before_the_wall_clock() {
    let engine = engine();
    let rt = runtime(
        "cpu",
        "1",
        None,
        &[],
        Limits { timeout: Duration::from_secs(30), cpu_time: Duration::from_millis(300), ..Limits::default() },
    );
    let spin = function("cpu", "spin", 1, "async function handleEvent() { for (;;) {} }");
    let outcome = engine.invoke(request(&rt, &spin, "{}")).await;
    let error = outcome.error.unwrap();
    assert_eq!(error.name, "TimeoutError");
    assert!(error.message.contains("CPU time limit of 300 ms"), "{}", error.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_past_the_deadline_times_out_and_the_next_call_is_clean() {
    let engine = engine();
    let rt = runtime("idle", "1", None, &[], limits(300));
    let sleeper = function(
        "idle",
        "sleep",
        1,
        "async function handleEvent(e: any) { if (e.sleep) await new Promise(r => setTimeout(r, 60_000)); return 'awake' }",
    );
    let began = Instant::now();
    let outcome = engine.invoke(request(&rt, &sleeper, "{\"sleep\":true}")).await;
    assert_eq!(outcome.error.unwrap().name, "TimeoutError");
    assert!(began.elapsed() < Duration::from_secs(5));
    let outcome = engine.invoke(request(&rt, &sleeper, "{\"sleep\":false}")).await;
    assert_eq!(outcome.status, InvocationStatus::Succeeded);
    assert_eq!(payload(&outcome), serde_json::json!("awake"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_is_bounded_and_evicts_the_least_recently_used() {
    let engine = Engine::new(EngineConfig { max_runtimes: 2, max_concurrency_per_application: 1 });
    let handler = function("lru", "f", 1, "let n = 0; async function handleEvent() { return ++n }");
    let apps: Vec<_> = (0..3).map(|i| runtime(&format!("lru-{i}"), "1", None, &[], Limits::default())).collect();
    for app in &apps {
        assert_eq!(payload(&engine.invoke(request(app, &handler, "{}")).await), serde_json::json!(1));
    }
    let stats = engine.stats();
    assert!(stats.live_runtimes <= 2, "{stats:?}");
    assert_eq!(stats.runtimes_evicted, 1, "{stats:?}");
    // lru-0 was evicted, so its state starts over; lru-2 is still warm.
    assert_eq!(payload(&engine.invoke(request(&apps[2], &handler, "{}")).await), serde_json::json!(2));
    assert_eq!(payload(&engine.invoke(request(&apps[0], &handler, "{}")).await), serde_json::json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_per_application_is_bounded() {
    let engine = Engine::new(EngineConfig { max_runtimes: 8, max_concurrency_per_application: 2 });
    let rt = runtime("conc", "1", None, &[], Limits::default());
    // Each runtime counts the invocations it has served; with two runtimes
    // at most, twenty concurrent calls give counters that add up to twenty
    // spread over no more than two runtimes.
    let handler = function(
        "conc",
        "f",
        1,
        "let served = 0; const me = Math.random(); async function handleEvent() { served++; await new Promise(r => setTimeout(r, 20)); return { me, served } }",
    );
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let engine = engine.clone();
            let request = request(&rt, &handler, "{}");
            tokio::spawn(async move { engine.invoke(request).await })
        })
        .collect();
    let mut runtimes = std::collections::HashMap::new();
    for call in calls {
        let value = payload(&call.await.unwrap());
        let served = value["served"].as_u64().unwrap();
        let entry = runtimes.entry(value["me"].to_string()).or_insert(0);
        *entry = (*entry).max(served);
    }
    assert!(runtimes.len() <= 2, "{runtimes:?}");
    assert_eq!(runtimes.values().sum::<u64>(), 20, "{runtimes:?}");
    assert!(engine.stats().live_runtimes <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn math_random_is_not_shared_through_the_snapshot() {
    let engine = engine();
    let handler = function("rnd", "f", 1, "async function handleEvent() { return Math.random() }");
    let a = engine.invoke(request(&runtime("rnd-a", "1", None, &[], Limits::default()), &handler, "{}")).await;
    let b = engine.invoke(request(&runtime("rnd-b", "1", None, &[], Limits::default()), &handler, "{}")).await;
    assert_ne!(payload(&a), payload(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_init_script_fails_the_invocation_with_its_error() {
    let engine = engine();
    let rt = runtime("badinit", "1", Some("throw new RangeError('no config')"), &[], Limits::default());
    let handler = function("badinit", "f", 1, "async function handleEvent() { return 1 }");
    let error = engine.invoke(request(&rt, &handler, "{}")).await.error.unwrap();
    assert_eq!(error.name, "RangeError");
    assert_eq!(error.message, "Initialization script failed: no config");
    assert!(error.stack.unwrap().contains("badinit/init.ts:1:7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_es_module_init_script_shares_its_exports() {
    let engine = engine();
    let init = "const config = { region: process.env.REGION };\nexport { config };\nexport const double = (n: number) => n * 2;";
    let rt = runtime("esinit", "1", Some(init), &[("REGION", "eu")], Limits::default());
    let handler = function(
        "esinit",
        "f",
        1,
        "async function handleEvent() { return { region: config.region, four: double(2) } }",
    );
    let outcome = engine.invoke(request(&rt, &handler, "{}")).await;
    assert_eq!(payload(&outcome), serde_json::json!({"region": "eu", "four": 4}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_gives_up_does_not_strand_its_runtime() {
    let engine = Engine::new(EngineConfig { max_runtimes: 1, max_concurrency_per_application: 1 });
    let rt = runtime("giveup", "1", None, &[], Limits::default());
    let handler = function(
        "giveup",
        "f",
        1,
        "let n = 0; async function handleEvent(e: any) { n++; if (e.slow) await new Promise(r => setTimeout(r, 300)); return n }",
    );
    let abandoned =
        tokio::time::timeout(Duration::from_millis(50), engine.invoke(request(&rt, &handler, "{\"slow\":true}"))).await;
    assert!(abandoned.is_err(), "the slow call should still have been running");
    // The only runtime comes back once the abandoned call finishes, warm.
    let outcome = engine.invoke(request(&rt, &handler, "{}")).await;
    assert_eq!(payload(&outcome), serde_json::json!(2));
    assert_eq!(engine.stats().live_runtimes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_waiting_for_a_full_pool_gets_the_next_free_runtime() {
    // One runtime in all, busy with application A: B's invocation waits
    // for it and runs as soon as A's ends, in a fresh runtime of its own.
    let engine = Engine::new(EngineConfig { max_runtimes: 1, max_concurrency_per_application: 1 });
    let a = runtime("full-a", "1", None, &[], Limits::default());
    let b = runtime("full-b", "1", None, &[], Limits::default());
    let slow = function(
        "full-a",
        "f",
        1,
        "let n = 0; async function handleEvent() { await new Promise(r => setTimeout(r, 200)); return ['a', ++n] }",
    );
    let quick = function("full-b", "f", 1, "let n = 0; async function handleEvent() { return ['b', ++n] }");
    let first = tokio::spawn({
        let (engine, request) = (engine.clone(), request(&a, &slow, "{}"));
        async move { engine.invoke(request).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waited = Instant::now();
    let second = engine.invoke(request(&b, &quick, "{}")).await;
    assert!(waited.elapsed() >= Duration::from_millis(100), "B ran before A's runtime was free");
    assert_eq!(payload(&second), serde_json::json!(["b", 1]));
    assert_eq!(payload(&first.await.unwrap()), serde_json::json!(["a", 1]));
    assert_eq!(engine.stats().live_runtimes, 1);
    // A's state went with the runtime that moved to B.
    assert_eq!(payload(&engine.invoke(request(&a, &slow, "{}")).await), serde_json::json!(["a", 1]));
    assert_eq!(payload(&engine.invoke(request(&b, &quick, "{}")).await), serde_json::json!(["b", 1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_applications_backlog_does_not_hold_every_runtime() {
    // Two runtimes in all, both busy with A's backlog of ten slow calls: B's
    // call gets the next runtime to finish, not the one after A's backlog.
    let engine = Engine::new(EngineConfig { max_runtimes: 2, max_concurrency_per_application: 2 });
    let a = runtime("backlog-a", "1", None, &[], Limits::default());
    let b = runtime("backlog-b", "1", None, &[], Limits::default());
    let slow = function(
        "backlog-a",
        "f",
        1,
        "async function handleEvent() { await new Promise(r => setTimeout(r, 100)); return 'a' }",
    );
    let quick = function("backlog-b", "f", 1, "async function handleEvent() { return 'b' }");
    let began = Instant::now();
    let backlog: Vec<_> = (0..10)
        .map(|_| {
            let (engine, request) = (engine.clone(), request(&a, &slow, "{}"));
            tokio::spawn(async move { engine.invoke(request).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(payload(&engine.invoke(request(&b, &quick, "{}")).await), serde_json::json!("b"));
    let b_done = began.elapsed();
    for call in backlog {
        assert_eq!(payload(&call.await.unwrap()), serde_json::json!("a"));
    }
    let a_done = began.elapsed();
    // Alone, A's backlog takes ~500 ms on two runtimes; B waited for one call.
    assert!(b_done < a_done / 2, "B answered after {b_done:?}, A's backlog after {a_done:?}");
    assert!(engine.stats().live_runtimes <= 2);
}

/// What a handler's context says of its invocation, field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_names_the_invocation() {
    let engine = engine();
    let rt = runtime("about", "1", None, &[], limits(3_000));
    let about = function(
        "about",
        "who",
        7,
        "async function handleEvent(e: any, c: any) { \
           return [c.applicationId, c.functionId, c.functionName, c.triggerType, c.versionNumber, c.invocationId] }",
    );
    let mut asked = request(&rt, &about, "{}");
    asked.invocation_id = "inv-\"42\"".into();
    let outcome = engine.invoke(asked).await;
    assert_eq!(
        payload(&outcome),
        serde_json::json!(["about", "who", "who", "user.attempted.start_session", 7, "inv-\"42\""])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhandled_rejection_is_logged_in_its_own_invocation_with_the_authors_frames() {
    let engine = engine();
    let rt = runtime("unhandled", "1", None, &[], limits(3_000));
    let careless = function(
        "unhandled",
        "careless",
        1,
        "async function handleEvent() {\n  Promise.reject(new Error('nobody waits'));\n  return 'done';\n}",
    );
    let outcome = engine.invoke(request(&rt, &careless, "{}")).await;
    assert_eq!(outcome.status, InvocationStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(payload(&outcome), serde_json::json!("done"));
    let logged: Vec<&str> = outcome.logs.iter().map(|line| line.message.as_str()).collect();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(logged[0].starts_with("Unhandled promise rejection: Error: nobody waits"), "{logged:?}");
    assert!(logged[0].contains(":2:"), "the author's frame, with its line: {logged:?}");
    assert!(!logged[0].contains("chatfn:runtime/"), "no frame of the runtime's own: {logged:?}");

    // The next invocation of the warm runtime logs nothing of it.
    let quiet = function("unhandled", "quiet", 1, "async function handleEvent() { return 1 }");
    let next = engine.invoke(request(&rt, &quiet, "{}")).await;
    assert!(next.logs.is_empty(), "{:?}", next.logs);
}

/// A handler doing `work(size)` (which returns the milliseconds it took) is
/// stopped at `limit_ms`, not when the work would end: a tenth of the work,
/// unhindered, says how long the whole would take here, and the stopped run
/// must take less than `limit_ms + slack` tenths (ratios, not seconds).
async fn assert_stopped_at_the_limit(app: &str, work: impl Fn(u32) -> String, tenth: u32, limit_ms: u64, slack: f64) {
    let engine = engine();
    let handler =
        |id: &str, size: u32| function(app, id, 1, &format!("async function handleEvent() {{ {} }}", work(size)));
    let unhindered = runtime(app, "1", None, &[], limits(60_000));
    let tenth_ms =
        payload(&engine.invoke(request(&unhindered, &handler("tenth", tenth), "{}")).await).as_f64().unwrap();

    let limited = runtime(app, "2", None, &[], limits(limit_ms));
    let outcome = engine.invoke(request(&limited, &handler("whole", tenth * 10), "{}")).await;
    assert_eq!(outcome.error.as_ref().map(|e| e.name.as_str()), Some("TimeoutError"), "{outcome:?}");
    let took_ms = outcome.duration_ms;
    assert!(took_ms < limit_ms as f64 + slack * tenth_ms, "took {took_ms} ms; a tenth of the work took {tenth_ms} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_pbkdf2_is_stopped_at_the_time_limit_not_when_it_would_end() {
    let derive = |iterations: u32| {
        format!(
            "const crypto = require('crypto');
             const started = Date.now();
             crypto.pbkdf2Sync('pw', 'salt', {iterations}, 64, 'sha512');
             return Date.now() - started;"
        )
    };
    assert_stopped_at_the_limit("pbkdf2", derive, 100_000, 300, 5.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_compression_is_stopped_at_the_time_limit_not_when_it_would_end() {
    // Pseudo-random bytes (xorshift), which compress slowly and do not
    // shrink: the whole stays under the 64 MiB output cap.
    let compress = |megabytes: u32| {
        format!(
            "const zlib = require('zlib');
             const data = Buffer.alloc({megabytes} << 20);
             let x = 2463534242;
             for (let i = 0; i < data.length; i++) {{ x ^= x << 13; x ^= x >>> 17; x ^= x << 5; data[i] = x; }}
             const started = Date.now();
             zlib.deflateSync(data, {{ level: 9 }});
             return Date.now() - started;"
        )
    };
    assert_stopped_at_the_limit("deflate", compress, 6, 600, 3.0).await;
}
