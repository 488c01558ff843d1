//! `chatfn bench`: the engine's own figures (warm invocation, cold start,
//! transpiling), measured in-process on this machine.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::engine::{
    compile, Engine, EngineConfig, FunctionSpec, InvocationRequest, InvocationStatus, Limits, RuntimeSpec, ScriptRole,
};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Warm invocations to time.
    #[arg(long, default_value_t = 20_000)]
    warm: usize,
    /// Cold starts to time.
    #[arg(long, default_value_t = 200)]
    cold: usize,
    /// Transpilations of the ~500-line handler to time.
    #[arg(long, default_value_t = 200)]
    transpile: usize,
}

const TRIVIAL_HANDLER: &str =
    "async function handleEvent(event: { n: number }, context: any) {\n  return { ok: true, n: event.n };\n}\n";
const INIT_SCRIPT: &str = "const greeting: string = 'hello';\n";

struct Summary {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let total: Duration = samples.iter().sum();
    Summary { p50: at(0.50), p99: at(0.99), mean: total / samples.len() as u32 }
}

fn request(runtime: &Arc<RuntimeSpec>, function: &Arc<FunctionSpec>, n: usize) -> InvocationRequest {
    InvocationRequest {
        invocation_id: n.to_string(),
        runtime: runtime.clone(),
        function: function.clone(),
        event: format!("{{\"n\":{n}}}").into(),
        timeout: None,
    }
}

fn runtime_spec(app: &str, revision: String) -> Arc<RuntimeSpec> {
    Arc::new(RuntimeSpec {
        application_id: app.into(),
        revision: revision.into(),
        initialization_script: Some(compile("file:///init.ts", INIT_SCRIPT, ScriptRole::Initialization).unwrap()),
        environment: BTreeMap::from([("GREETING".to_string(), "hi".to_string())]),
        limits: Limits::default(),
        platform: None,
        egress: Default::default(),
        packages: None,
    })
}

/// A ~500-line handler with the TypeScript features handlers use.
pub fn large_handler() -> String {
    let mut src = String::from("interface Event { username: string; authParams: Record<string, unknown> }\n");
    for i in 0..40 {
        src.push_str(&format!(
            "enum Kind{i} {{ A = {i}, B, C }}\n\
             class Service{i}<T extends object> {{\n  private items: T[] = [];\n  add(item: T): number {{ this.items.push(item); return this.items.length; }}\n  first(): T | undefined {{ return this.items[0]; }}\n}}\n\
             async function step{i}(e: Event): Promise<number> {{\n  const s = new Service{i}<{{ k: Kind{i} }}>();\n  s.add({{ k: Kind{i}.B }});\n  return (s.first()?.k ?? 0) + e.username.length;\n}}\n"
        ));
    }
    src.push_str("async function handleEvent(event: Event, context: unknown) {\n  let total = 0;\n");
    for i in 0..40 {
        src.push_str(&format!("  total += await step{i}(event);\n"));
    }
    src.push_str("  return { total };\n}\n");
    src
}

/// The process's resident memory, from /proc (0 where there is none).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

pub async fn bench(args: BenchArgs) -> ExitCode {
    let engine = Engine::new(EngineConfig::default());
    let handler = compile("file:///bench.ts", TRIVIAL_HANDLER, ScriptRole::Handler).unwrap();
    let function = Arc::new(FunctionSpec {
        function_id: "bench".into(),
        name: "bench".into(),
        trigger_type: "user.attempted.start_session".into(),
        version_number: 1,
        script: handler,
    });

    // Warm, one at a time: the latency of one invocation through the pool.
    let runtime = runtime_spec("bench", "r1".into());
    for n in 0..1_000 {
        engine.invoke(request(&runtime, &function, n)).await;
    }
    let mut samples = Vec::with_capacity(args.warm);
    let began = Instant::now();
    for n in 0..args.warm {
        let t = Instant::now();
        let outcome = engine.invoke(request(&runtime, &function, n)).await;
        samples.push(t.elapsed());
        assert_eq!(outcome.status, InvocationStatus::Succeeded, "{outcome:?}");
    }
    let sequential_rate = args.warm as f64 / began.elapsed().as_secs_f64();
    let warm = summarize(samples);

    // Warm, concurrently: one application per core, invocations in flight.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let began = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..cores * 2 {
        let engine = engine.clone();
        let runtime = runtime_spec(&format!("bench-{}", c % cores), "r1".into());
        let function = function.clone();
        let per_task = args.warm / (cores * 2);
        tasks.push(tokio::spawn(async move {
            for n in 0..per_task {
                engine.invoke(request(&runtime, &function, n)).await;
            }
            per_task
        }));
    }
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap();
    }
    let concurrent_rate = done as f64 / began.elapsed().as_secs_f64();

    // Cold: a new revision forces a fresh runtime (snapshot + seal + env +
    // init script + compile + first invocation).
    let mut samples = Vec::with_capacity(args.cold);
    for n in 0..args.cold {
        let runtime = runtime_spec("bench-cold", format!("cold-{n}"));
        let t = Instant::now();
        let outcome = engine.invoke(request(&runtime, &function, n)).await;
        samples.push(t.elapsed());
        assert!(outcome.cold_start && outcome.status == InvocationStatus::Succeeded, "{outcome:?}");
    }
    let cold = summarize(samples);

    // A cold runtime whose handler loads Node's streams and zlib: what the
    // lazily compiled built-ins cost the first invocation that uses them.
    let node_handler = compile(
        "file:///bench-node.ts",
        "async function handleEvent() { const { Readable } = require('stream'); require('zlib'); return typeof Readable }",
        ScriptRole::Handler,
    )
    .unwrap();
    let node_function =
        Arc::new(FunctionSpec { script: node_handler, function_id: "bench-node".into(), ..(*function).clone() });
    let mut samples = Vec::with_capacity(args.cold);
    for n in 0..args.cold {
        let runtime = runtime_spec("bench-cold-node", format!("cold-node-{n}"));
        let t = Instant::now();
        let outcome = engine.invoke(request(&runtime, &node_function, n)).await;
        samples.push(t.elapsed());
        assert!(outcome.cold_start && outcome.status == InvocationStatus::Succeeded, "{outcome:?}");
    }
    let cold_node = summarize(samples);

    // Memory: resident bytes added per idle warm runtime (one application
    // each, after one invocation).
    const IDLE: usize = 32;
    let before = resident_bytes();
    for n in 0..IDLE {
        let runtime = runtime_spec(&format!("bench-idle-{n}"), "r1".into());
        engine.invoke(request(&runtime, &function, n)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let per_runtime = resident_bytes().saturating_sub(before) as f64 / IDLE as f64;

    let source = large_handler();
    let lines = source.lines().count();
    let mut samples = Vec::with_capacity(args.transpile);
    for _ in 0..args.transpile {
        let t = Instant::now();
        compile("file:///large.ts", &source, ScriptRole::Handler).unwrap();
        samples.push(t.elapsed());
    }
    let transpile = summarize(samples);

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("chatfn engine bench ({cores} cores)");
    println!(
        "warm invocation (sequential)   p50 {:>8.1} µs  p99 {:>8.1} µs  mean {:>8.1} µs  {:>9.0} inv/s",
        us(warm.p50),
        us(warm.p99),
        us(warm.mean),
        sequential_rate
    );
    println!("warm invocation ({} apps, {} in flight) {:>28.0} inv/s", cores, cores * 2, concurrent_rate);
    println!(
        "cold start                     p50 {:>8.2} ms  p99 {:>8.2} ms  mean {:>8.2} ms",
        ms(cold.p50),
        ms(cold.p99),
        ms(cold.mean)
    );
    println!(
        "cold start, requiring stream+zlib p50 {:>5.2} ms  p99 {:>8.2} ms  mean {:>8.2} ms",
        ms(cold_node.p50),
        ms(cold_node.p99),
        ms(cold_node.mean)
    );
    println!("idle warm runtime              {:>8.2} MB resident each ({IDLE} runtimes)", per_runtime / 1e6);
    println!(
        "transpile {lines}-line handler    p50 {:>8.2} ms  p99 {:>8.2} ms  mean {:>8.2} ms",
        ms(transpile.p50),
        ms(transpile.p99),
        ms(transpile.mean)
    );
    ExitCode::SUCCESS
}
