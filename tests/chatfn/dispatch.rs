//! The platform's path: `POST /v1/triggers/{type}` runs the current version
//! of the application's function and records the invocation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{each_store, TestApp};

const LOGIN: &str = "user.attempted.start_session";

/// Creates the login function with one version; returns its id.
async fn deploy(app: &TestApp, trigger: &str, script: &str) -> i64 {
    let (status, function) = app.post("/v1/runtimes/nodejs/functions", json!({"type": trigger, "name": trigger})).await;
    assert_eq!(status, StatusCode::CREATED, "{function}");
    let id = function["id"].as_i64().unwrap();
    let (status, version) = app.post(&format!("/v1/functions/{id}/versions"), json!({ "handlerScript": script })).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    id
}

/// The invocation as the log shows it, once recorded as finished.
async fn recorded(app: &TestApp, function_id: i64, invocation_id: i64) -> Value {
    for _ in 0..100 {
        let (status, invocation) = app.get(&format!("/v1/function-invocations/{invocation_id}")).await;
        if status == StatusCode::OK && invocation["status"] != "RUNNING" {
            assert_eq!(invocation["_links"]["function"]["href"].as_str().unwrap(), app.url(&format!("/v1/functions/{function_id}")));
            return invocation;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("invocation {invocation_id} was not recorded as finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_trigger_allows_and_records() {
    each_store(|app| async move {
        app.put("/v1/runtimes/nodejs/environment-variables", json!({"SECRET": "s3cret"})).await;
        app.put("/v1/runtimes/nodejs/initialization-script", json!({"script": "const greeting: string = 'Hello';"})).await;
        let id = deploy(
            &app,
            LOGIN,
            "async function handleEvent(event: { username: string; authParams: { password?: string } }, context: any) {\n\
               console.log(`login ${event.username}`);\n\
               if (event.authParams.password !== process.env.SECRET) throw new Error(`bad password for ${event.username}`);\n\
               return { greeting: `${greeting}, ${event.username}`, version: context.versionNumber };\n\
             }",
        )
        .await;

        let (status, allowed) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {"password": "s3cret"}})).await;
        assert_eq!(status, StatusCode::OK, "{allowed}");
        assert_eq!(allowed["status"], "SUCCEEDED");
        assert_eq!(allowed["result"]["payload"], json!({"greeting": "Hello, jane", "version": 1}));
        let invocation = recorded(&app, id, allowed["invocationId"].as_i64().unwrap()).await;
        assert_eq!(invocation["status"], "SUCCEEDED");
        assert_eq!(invocation["args"]["username"], "jane");
        assert_eq!(invocation["result"]["payload"]["greeting"], "Hello, jane");
        assert_eq!(invocation["logs"][0]["message"], "login jane");
        assert_eq!(invocation["versionNumber"], 1);
        assert_eq!(invocation["triggerType"], LOGIN);
        assert!(invocation["durationMs"].as_f64().unwrap() > 0.0);

        let (status, denied) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "mallory", "authParams": {"password": "guess"}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{denied}");
        assert_eq!(denied["error"], "AccessDeniedError");
        assert_eq!(denied["message"], "bad password for mallory");
        let invocation = recorded(&app, id, denied["invocationId"].as_i64().unwrap()).await;
        assert_eq!(invocation["status"], "FAILED");
        assert_eq!(invocation["error"]["message"], "bad password for mallory");
        assert!(invocation["error"]["stack"].as_str().unwrap().contains(":3:"), "{invocation}");

        // A new version is live at once.
        app.post(&format!("/v1/functions/{id}/versions"), json!({"handlerScript": "export default async () => 'v2'"})).await;
        let (_, v2) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(v2["result"]["payload"], "v2");

        let (_, page) = app.get(&format!("/v1/functions/{id}/invocations?status=SUCCEEDED")).await;
        assert_eq!(page["page"]["totalElements"], 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_time_out_fails_closed_or_open_by_policy() {
    each_store(|app| async move {
        let id = deploy(&app, LOGIN, "async function handleEvent() { while (true) {} }").await;
        app.patch(&format!("/v1/functions/{id}"), json!({"timeoutMs": 300})).await;

        let (status, closed) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{closed}");
        assert_eq!(closed["error"], "AccessDeniedError");
        assert!(closed["message"].as_str().unwrap().contains("time limit of 300 ms"), "{closed}");
        let invocation = recorded(&app, id, closed["invocationId"].as_i64().unwrap()).await;
        assert_eq!(invocation["error"]["name"], "TimeoutError");

        let (status, _) = app
            .put("/v1/application/settings", json!({"guestUsers": "ENABLED", "userCreatedChannels": "DISABLED", "blockingTimeoutPolicy": "FAIL_OPEN"}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, open) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::OK, "{open}");
        assert_eq!(open["status"], "TIMED_OUT_ALLOWED");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_function_guest_settings_decide() {
    each_store(|app| async move {
        let (status, guest) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::OK, "{guest}");
        assert_eq!(guest["guest"], true);

        app.put("/v1/application/settings", json!({"guestUsers": "DISABLED", "userCreatedChannels": "DISABLED"})).await;
        let (status, denied) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(denied["error"], "AccessDeniedError");

        // A disabled function counts as none.
        let id = deploy(&app, LOGIN, "async function handleEvent() { return 'ran' }").await;
        let (status, _) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::OK);
        app.patch(&format!("/v1/functions/{id}"), json!({"enabled": false})).await;
        let (status, _) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "jane", "authParams": {}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_requests_are_validated() {
    each_store(|app| async move {
        let (status, error) = app.post("/v1/triggers/user.flew.away", json!({})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains(LOGIN));
        let res = app
            .http
            .post(app.url(&format!("/v1/triggers/{LOGIN}")))
            .bearer_auth(&app.token)
            .header("Content-Type", "application/json")
            .body("{broken")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let res = app.http.post(app.url(&format!("/v1/triggers/{LOGIN}"))).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_application_cannot_trigger_anothers_function() {
    each_store(|app| async move {
        deploy(&app, LOGIN, "async function handleEvent() { return 'mine' }").await;
        let other = app.second_application("other").await;
        let (status, body) = other.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "x", "authParams": {}})).await;
        // The other application has no function: its own guest behaviour applies.
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["guest"], true);
        assert!(body.get("result").is_none());
    })
    .await;
}
