//! `chatfn bench-http`: the platform's path under load, over loopback
//! HTTP, against a server in this process on a fresh SQLite store.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use super::client::ApiClient;
use crate::dispatch::queue::QueueConfig;
use crate::dispatch::DispatchConfig;
use crate::server::{Server, ServerConfig};

#[derive(Debug, Args)]
pub struct BenchHttpArgs {
    /// Seconds of load per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

/// The API client, with what the bench asks of it.
struct Client(ApiClient);

impl Client {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, body) = self.0.send(reqwest::Method::POST, path, Some(&body)).await.expect("the server answers");
        (status.as_u16(), body)
    }
    async fn total(&self, function_id: i64, status: &str) -> i64 {
        let path = format!("/v1/functions/{function_id}/invocations?size=1&status={status}");
        self.0.get(&path).await.expect("the invocation log answers")["page"]["totalElements"].as_i64().unwrap_or(0)
    }
    async fn deploy(&self, trigger: &str, script: &str) -> i64 {
        let (_, f) = self.post("/v1/runtimes/nodejs/functions", json!({"type": trigger, "name": trigger})).await;
        let id = f["id"].as_i64().unwrap();
        self.post(&format!("/v1/functions/{id}/versions"), json!({ "handlerScript": script })).await;
        id
    }
}

/// Runs `connections` loops posting `body` to `path` for `seconds`; returns
/// the latencies of the answers with `expect` status.
async fn load(
    client: &Arc<Client>,
    path: &str,
    body: Value,
    expect: u16,
    seconds: u64,
    connections: usize,
) -> (Vec<Duration>, Duration) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let began = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let client = client.clone();
            let path = path.to_string();
            let body = serde_json::to_vec(&body).unwrap();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    let res = client
                        .0
                        .http
                        .post(format!("{}{path}", client.0.base))
                        .bearer_auth(&client.0.token)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    let status = res.status().as_u16();
                    let _ = res.bytes().await;
                    assert_eq!(status, expect, "unexpected answer under load");
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    (all, began.elapsed())
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
}

pub async fn bench_http(args: BenchHttpArgs) -> ExitCode {
    let dir = std::env::temp_dir().join(format!("chatfn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::build(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite://{}", dir.join("bench.db").display()),
        public_url: None,
        token_ttl_secs: 3600,
        default_client: Some(("bench".into(), "bench-secret".into())),
        dispatch: DispatchConfig::default(),
        queue: QueueConfig { max_pending_per_application: i64::MAX, ..QueueConfig::default() },
        remote_platform: None,
        npm: crate::npm::NpmConfig::new(crate::npm::NpmConfig::DEFAULT_REGISTRY, dir.join("packages")),
        install_timeout: std::time::Duration::from_secs(60),
        session_ttl: ServerConfig::DEFAULT_SESSION_TTL,
        // The bench measures the host, not the limits.
        rate_limits: crate::api::rate::RateLimits::UNLIMITED,
        retention: crate::store::Retention::default(),
        metrics_token: None,
        serving: crate::server::Serving::default(),
    })
    .await
    .expect("server builds");
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build().unwrap();
    let api = ApiClient::sign_in(http, &base, "bench", "bench-secret").await.expect("the bench signs in");
    let client = Arc::new(Client(api));

    let login = client
        .deploy(
            "user.attempted.start_session",
            "async function handleEvent(event: any) { return { ok: true, user: event.username } }",
        )
        .await;
    let notify = client
        .deploy(
            "user.received.notification",
            "async function handleEvent(event: any) { return event.userHasActiveSession }",
        )
        .await;
    let event = json!({"username": "jane", "authParams": {"password": "x"}});
    load(&client, "/v1/triggers/user.attempted.start_session", event.clone(), 200, 1, args.connections).await;

    let (mut samples, took) =
        load(&client, "/v1/triggers/user.attempted.start_session", event, 200, args.seconds, args.connections).await;
    samples.sort();
    let blocking_rate = samples.len() as f64 / took.as_secs_f64();
    let answered = samples.len() as i64;
    // Every answered invocation ends up recorded (plus the warm-up's).
    let mut recorded = 0;
    for _ in 0..100 {
        recorded = client.total(login, "SUCCEEDED").await;
        if recorded >= answered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("chatfn HTTP bench ({} connections, {} s per phase, SQLite)", args.connections, args.seconds);
    println!(
        "blocking trigger      p50 {:>7.2} ms  p99 {:>7.2} ms  {:>9.0} inv/s  ({} answered, {} recorded incl. warm-up)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        blocking_rate,
        answered,
        recorded
    );

    let notification = json!({"user": {"id": 1, "name": "jane"}, "notification": {"id": 1, "title": "t", "body": "b"}, "userHasActiveSession": true});
    let (mut samples, took) =
        load(&client, "/v1/triggers/user.received.notification", notification, 202, args.seconds, args.connections)
            .await;
    samples.sort();
    let accepted = samples.len() as i64;
    let accept_rate = accepted as f64 / took.as_secs_f64();
    let drain_began = Instant::now();
    let mut done = client.total(notify, "SUCCEEDED").await;
    let done_at_end_of_accepting = done;
    while done < accepted {
        tokio::time::sleep(Duration::from_millis(100)).await;
        done = client.total(notify, "SUCCEEDED").await;
        if drain_began.elapsed() > Duration::from_secs(600) {
            break;
        }
    }
    let drain = drain_began.elapsed().as_secs_f64();
    println!(
        "non-blocking accept   p50 {:>7.2} ms  p99 {:>7.2} ms  {:>9.0} accepted/s (committed before 202)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        accept_rate
    );
    println!(
        "non-blocking drain    {} of {} ran while accepting; the rest in {:.1} s; overall {:.0} inv/s",
        done_at_end_of_accepting,
        accepted,
        drain,
        accepted as f64 / (took.as_secs_f64() + drain)
    );
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
