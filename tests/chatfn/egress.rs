//! Outbound HTTP: `fetch` reaches exactly what the application's egress
//! policy allows, here a loopback server named literally.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{header, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::each_store;

const LOGIN: &str = "user.attempted.start_session";

/// A small HTTP server for functions to call; stops with the test's runtime.
async fn backend() -> SocketAddr {
    let app = axum::Router::new()
        .route("/hello", get(|| async { ([("x-backend", "yes")], axum::Json(json!({"hi": "there"}))) }))
        .route(
            "/echo",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
                axum::Json(json!({"body": body, "contentType": content_type, "auth": headers.get("authorization").map(|v| v.to_str().unwrap().to_string()), "host": headers.get("host").map(|v| v.to_str().unwrap().to_string())}))
            }),
        )
        .route("/redirect", get(|| async { (AxumStatus::FOUND, [(header::LOCATION, "/hello")]).into_response() }))
        .route("/big", get(|| async { "x".repeat(5_000) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

const HANDLER: &str = r#"
async function handleEvent(event: { username: string; authParams: { base: string; other: string } }) {
  const { base, other } = event.authParams;
  const attempt = async (f: () => Promise<unknown>) => {
    try { return await f(); } catch (e) { return `${(e as Error).name}: ${(e as Error).message}`; }
  };
  switch (event.username) {
    case "calls": {
      const hello = await fetch(`${base}/hello`);
      const echo = await fetch(`${base}/echo`, {
        method: "POST", body: JSON.stringify({ n: 1 }),
        headers: { "content-type": "application/json", authorization: "Bearer abc", host: "evil.example", "content-length": "1" },
      });
      const redirected = await fetch(`${base}/redirect`);
      return {
        hello: [hello.status, hello.ok, hello.headers.get("x-backend"), await hello.json()],
        echo: await echo.json(),
        redirect: [redirected.status, redirected.redirected, redirected.url.endsWith("/hello")],
        form: await (await fetch(`${base}/echo`, { method: "POST", body: "a=1&b=2" })).json(),
      };
    }
    case "denied":
      return {
        otherPort: await attempt(() => fetch(`${other}/hello`)),
        byName: await attempt(() => fetch(base.replace("127.0.0.1", "localhost") + "/hello")),
        big: await attempt(async () => (await fetch(`${base}/big`)).text()),
        slow: await attempt(() => fetch(`${base}/slow`)),
      };
    case "budget": {
      const results = [];
      for (let i = 0; i < 7; i++) results.push(await attempt(async () => (await fetch(`${base}/hello`)).status));
      return results;
    }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reaches_only_what_the_policy_allows() {
    let server = backend().await;
    let base = format!("http://{server}");
    // A port nothing listens on, never allowed.
    let other = format!("http://127.0.0.1:{}", server.port().wrapping_add(1).max(1024));
    each_store(|app| {
        let (base, other) = (base.clone(), other.clone());
        async move {
            let (status, bad) =
                app.put("/v1/application/egress-policy", json!({"allowedHosts": ["http://x.com/path"]})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(bad["message"].as_str().unwrap().contains("allowedHosts"), "{bad}");

            let (_, function) =
                app.post("/v1/runtimes/nodejs/functions", json!({"type": LOGIN, "name": "calls"})).await;
            let id = function["id"].as_i64().unwrap();
            app.post(&format!("/v1/functions/{id}/versions"), json!({ "handlerScript": HANDLER })).await;
            let call = |scenario: &'static str| {
                let app = app.clone();
                let event = json!({"username": scenario, "authParams": {"base": base, "other": other}});
                async move {
                    let (status, answer) = app.post(&format!("/v1/triggers/{LOGIN}"), event).await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                    answer["result"]["payload"].clone()
                }
            };

            // Default policy: nothing is reachable, not even loopback.
            let denied = call("budget").await;
            assert!(denied[0].as_str().unwrap().contains("is not on this application's outbound allow-list (which is empty)"), "{denied}");

            let host = base.trim_start_matches("http://");
            let (status, policy) = app
                .put(
                    "/v1/application/egress-policy",
                    json!({"allowedHosts": [host, "localhost"], "maxRequestsPerInvocation": 5, "timeoutMs": 500, "maxResponseBytes": 1000}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{policy}");
            let (_, read) = app.get("/v1/application/egress-policy").await;
            assert_eq!(read["allowedHosts"], json!([host, "localhost"]));

            let calls = call("calls").await;
            assert_eq!(calls["hello"], json!([200, true, "yes", {"hi": "there"}]));
            assert_eq!(
                calls["echo"],
                json!({"body": "{\"n\":1}", "contentType": "application/json", "auth": "Bearer abc", "host": host}),
                "the host sets Host and Content-Length, not the function"
            );
            assert_eq!(calls["redirect"], json!([200, true, true]));
            assert_eq!(calls["form"]["contentType"], "text/plain;charset=UTF-8");

            let denied = call("denied").await;
            let other_host = other.trim_start_matches("http://");
            assert_eq!(
                denied["otherPort"],
                format!("TypeError: fetch of {other}/hello denied: host \"127.0.0.1\" is not on this application's outbound allow-list"),
                "a literal entry allows its own port only; {other_host}"
            );
            assert!(
                denied["byName"].as_str().unwrap().contains("resolves to 127.0.0.1, a private or loopback address"),
                "a name that resolves to loopback is refused even when listed: {denied}"
            );
            assert!(denied["big"].as_str().unwrap().contains("larger than the limit of 1000 bytes"), "{denied}");
            assert!(denied["slow"].as_str().unwrap().starts_with("TimeoutError: fetch of"), "{denied}");

            let budget: Vec<Value> = call("budget").await.as_array().unwrap().clone();
            assert_eq!(&budget[..5], &[json!(200), json!(200), json!(200), json!(200), json!(200)]);
            assert_eq!(budget[5], format!("RangeError: fetch of {base}/hello denied: this invocation used its budget of 5 outbound requests"));
            // The budget is per invocation: the next one starts afresh.
            assert_eq!(call("budget").await[0], 200);
        }
    })
    .await;
}
