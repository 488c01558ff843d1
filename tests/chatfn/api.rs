//! The HTTP API over real HTTP on loopback, on a real SQLite file, and on
//! PostgreSQL when `CHATFN_TEST_DATABASE_URL` is set.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{each_store, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_takes_form_and_multipart_and_rejects_bad_credentials() {
    each_store(|app| async move {
        let form = app
            .http
            .post(app.url("/oauth/token"))
            .basic_auth(&app.client_id, Some(&app.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let body: Value = form.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);

        let multipart = reqwest::multipart::Form::new()
            .text("grant_type", "client_credentials")
            .text("username", app.client_id.clone())
            .text("password", app.client_secret.clone());
        let res = app
            .http
            .post(app.url("/oauth/token"))
            .basic_auth(&app.client_id, Some(&app.client_secret))
            .multipart(multipart)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let res = app
            .http
            .post(app.url("/oauth/token"))
            .basic_auth(&app.client_id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "UnauthorizedError");

        for auth in [None, Some("Bearer not-a-token")] {
            let mut req = app.http.get(app.url("/v1/runtimes/nodejs"));
            if let Some(auth) = auth {
                req = req.header("Authorization", auth);
            }
            assert_eq!(req.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_versions_lifecycle() {
    each_store(|app| async move {
        let (status, function) = app
            .post(
                "/v1/runtimes/nodejs/functions",
                json!({"type": "user.attempted.start_session", "name": "Login", "initializeAsynchronously": false}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{function}");
        let id = function["id"].as_i64().unwrap();
        assert_eq!(function["enabled"], true);
        assert_eq!(function["currentVersionNumber"], Value::Null);
        assert_eq!(function["runtime"]["type"], "NODEJS");

        // A syntax error: 400 with the TS position, and nothing stored.
        let (status, error) = app
            .post(
                &format!("/v1/functions/{id}/versions"),
                json!({"handlerScript": "async function handleEvent(e: any) {\n  return e +;\n}"}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!((error["line"].as_i64(), error["column"].as_i64()), (Some(2), Some(13)), "{error}");
        let (_, versions) = app.get(&format!("/v1/functions/{id}/versions")).await;
        assert_eq!(versions["page"]["totalElements"], 0);

        for n in 1..=3 {
            let (status, version) = app
                .post(
                    &format!("/v1/functions/{id}/versions"),
                    json!({"handler_script": format!("async function handleEvent() {{ return {n} }}")}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{version}");
            assert_eq!(version["versionNumber"], n);
        }
        let (_, current) = app.get(&format!("/v1/functions/{id}/current-version")).await;
        assert_eq!(current["versionNumber"], 3);
        assert!(current["createdTime"].as_str().unwrap().ends_with('Z'));
        let (_, fetched) = app.get(&format!("/v1/function-versions/{}", current["id"])).await;
        assert_eq!(fetched["handlerScript"], "async function handleEvent() { return 3 }");

        // Rollback.
        let (status, rolled) =
            app.put(&format!("/v1/functions/{id}/current-version"), json!({"versionNumber": 1})).await;
        assert_eq!(status, StatusCode::OK, "{rolled}");
        let (_, function) = app.get(&format!("/v1/functions/{id}")).await;
        assert_eq!(function["currentVersionNumber"], 1);

        // Paging and sorting.
        let (_, page) = app.get(&format!("/v1/functions/{id}/versions?page=1&size=2&sort=versionNumber,desc")).await;
        assert_eq!(page["page"], json!({"size": 2, "totalElements": 3, "totalPages": 2, "number": 1}));
        assert_eq!(page["_embedded"]["versions"][0]["versionNumber"], 1);
        assert!(page["_links"]["prev"]["href"].as_str().unwrap().contains("page=0"));
        assert!(page["_links"].get("next").is_none());
        // Past the end: no rows, the total still told.
        let (_, past) = app.get(&format!("/v1/functions/{id}/versions?page=5&size=2")).await;
        assert_eq!(past["page"], json!({"size": 2, "totalElements": 3, "totalPages": 2, "number": 5}));
        assert_eq!(past["_embedded"]["versions"], json!([]));
        let (status, bad) = app.get(&format!("/v1/functions/{id}/versions?size=zero")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(bad["message"].as_str().unwrap().contains("`size`"), "{bad}");

        // Merge patch.
        let (status, patched) = app
            .patch(&format!("/v1/functions/{id}"), json!({"enabled": false, "description": "auth", "timeoutMs": 2000}))
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(
            (patched["enabled"].clone(), patched["description"].clone(), patched["timeoutMs"].clone()),
            (json!(false), json!("auth"), json!(2000))
        );
        let (status, _) = app.patch(&format!("/v1/functions/{id}"), json!({"type": "user.sent.message"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // One function per trigger type.
        let (status, conflict) = app
            .post("/v1/runtimes/nodejs/functions", json!({"type": "user.attempted.start_session", "name": "Again"}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{conflict}");

        let (_, list) = app.get("/v1/runtimes/nodejs/functions").await;
        assert_eq!(list["_embedded"]["functions"].as_array().unwrap().len(), 1);

        let (status, _) = app.delete(&format!("/v1/functions/{id}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = app.get(&format!("/v1/functions/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_get_consecutive_version_numbers() {
    each_store(|app| async move {
        let (_, function) =
            app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.sent.message", "name": "Log"})).await;
        let id = function["id"].as_i64().unwrap();
        let uploads: Vec<_> = (0..12)
            .map(|n| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.post(
                        &format!("/v1/functions/{id}/versions"),
                        json!({"handlerScript": format!("async function handleEvent() {{ return {n} }}")}),
                    )
                    .await
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for upload in uploads {
            let (status, version) = upload.await.unwrap();
            assert_eq!(status, StatusCode::CREATED, "{version}");
            numbers.push(version["versionNumber"].as_i64().unwrap());
        }
        numbers.sort();
        assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_updates_validate_and_bump_the_version() {
    each_store(|app| async move {
        let (_, runtime) = app.get("/v1/runtimes/nodejs").await;
        assert_eq!(runtime["version"], "1.0.0");
        assert_eq!(runtime["type"], "NODEJS");

        let (status, runtime) = app
            .put("/v1/runtimes/nodejs/dependencies", json!([{"name": "lodash", "version": "^4.17.0", "defaultDependency": false}, {"name": "@scope/pkg", "version": ">=1 <3 || 4", "default_dependency": true}, {"name": "dayjs", "version": "latest"}]))
            .await;
        assert_eq!(status, StatusCode::OK, "{runtime}");
        assert_eq!(runtime["version"], "1.0.1");
        assert_eq!(runtime["dependencies"][1]["defaultDependency"], true);

        for (body, field) in [
            (json!([{"name": "lodash", "version": "^^4"}]), "[0].version"),
            (json!([{"name": "Bad Name", "version": "1.0.0"}]), "[0].name"),
            (json!([{"name": "lodash"}]), "[0]"),
        ] {
            let (status, error) = app.put("/v1/runtimes/nodejs/dependencies", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(error["message"].as_str().unwrap().contains(field), "{error}");
        }

        let (status, runtime) = app.put("/v1/runtimes/nodejs/environment-variables", json!({"AWS_REGION": "us-east-1"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(runtime["environmentVariables"], json!({"AWS_REGION": "us-east-1"}));
        assert_eq!(runtime["version"], "1.0.2");
        let (status, error) = app.put("/v1/runtimes/nodejs/environment-variables", json!({"1BAD": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("1BAD"));
        let (status, _) = app.put("/v1/runtimes/nodejs/environment-variables", json!({"NUM": 5})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, error) = app.put("/v1/runtimes/nodejs/initialization-script", json!({"script": "const x = ;"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["line"], 1);
        let (status, runtime) = app.put("/v1/runtimes/nodejs/initialization-script", json!({"script": "const x: number = 1;"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(runtime["initializationScript"]["script"], "const x: number = 1;");
        // The failed attempts changed nothing.
        assert_eq!(runtime["version"], "1.0.3");
        assert_eq!(runtime["environmentVariables"], json!({"AWS_REGION": "us-east-1"}));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_named() {
    each_store(|app| async move {
        let (status, error) =
            app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.flew.away", "name": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("user.flew.away") && message.contains("user.received.notification"), "{message}");
        assert_eq!(error["error"], "BadRequestError");
        assert!(error["timestamp"].is_string());

        let (status, error) =
            app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.sent.message", "name": 5})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("`name`"), "{error}");

        let res = app
            .http
            .post(app.url("/v1/runtimes/nodejs/functions"))
            .bearer_auth(&app.token)
            .header("Content-Type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);

        let res = app
            .http
            .post(app.url("/v1/runtimes/nodejs/functions"))
            .bearer_auth(&app.token)
            .header("Content-Type", "text/plain")
            .body("hi")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let (_, function) =
            app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.sent.message", "name": "Big"})).await;
        let huge = json!({"handlerScript": "x".repeat(3 * 1024 * 1024)}).to_string();
        let (head, body) = too_large_upload(&app, &format!("/v1/functions/{}/versions", function["id"]), &huge).await;
        assert!(head.starts_with("HTTP/1.1 413"), "{head}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"], "PayloadTooLargeError", "{body}");

        let res = app.http.delete(app.url("/v1/runtimes/nodejs")).bearer_auth(&app.token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = app.get("/v1/functions/not-a-number").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, error) = app.get("/v1/runtimes/nodejs/functions?size=0").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    })
    .await;
}

/// POSTs `body` over a connection of its own and reads the answer while
/// still writing: the server answers 413 before reading a body over the
/// limit and closes the connection, so a client that only reads once it
/// has written everything (reqwest) may instead fail on a broken pipe.
/// Returns the status line and headers, and the body.
async fn too_large_upload(app: &TestApp, path: &str, body: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        app.token,
        body.len()
    );
    // The write fails once the server has closed: that is expected.
    let writing = tokio::spawn(async move { write.write_all(request.as_bytes()).await.is_ok() });
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match read.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            // A reset after the answer arrived.
            Err(_) if !answer.is_empty() => break,
            Err(e) => panic!("no answer to an upload over the limit: {e}"),
        }
    }
    let _ = writing.await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a status line and headers");
    (head.to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_cannot_see_each_other() {
    each_store(|app| async move {
        let other = app.second_application("other").await;
        let (_, function) =
            app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.sent.message", "name": "Mine"})).await;
        let id = function["id"].as_i64().unwrap();
        let (_, version) = app
            .post(&format!("/v1/functions/{id}/versions"), json!({"handlerScript": "async function handleEvent() {}"}))
            .await;
        app.put("/v1/runtimes/nodejs/environment-variables", json!({"SECRET": "mine"})).await;

        for path in [
            format!("/v1/functions/{id}"),
            format!("/v1/functions/{id}/versions"),
            format!("/v1/functions/{id}/invocations"),
            format!("/v1/functions/{id}/current-version"),
            format!("/v1/function-versions/{}", version["id"]),
        ] {
            let (status, body) = other.get(&path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }
        let (status, _) = other.patch(&format!("/v1/functions/{id}"), json!({"enabled": false})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = other
            .post(&format!("/v1/functions/{id}/versions"), json!({"handlerScript": "async function handleEvent() {}"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = other.delete(&format!("/v1/functions/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, runtime) = other.get("/v1/runtimes/nodejs").await;
        assert_eq!(runtime["environmentVariables"], json!({}));
        let (_, list) = other.get("/v1/runtimes/nodejs/functions").await;
        assert_eq!(list["page"]["totalElements"], 0);
        // Still there for its owner.
        let (_, mine) = app.get(&format!("/v1/functions/{id}")).await;
        assert_eq!(mine["enabled"], true);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_and_settings() {
    each_store(|app| async move {
        let (status, application) = app.get("/v1/application").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(application["id"], app.application_id);
        let (_, settings) = app.get("/v1/application/settings").await;
        assert_eq!(settings["guestUsers"], "ENABLED");
        let (status, settings) = app
            .put("/v1/application/settings", json!({"guest_users": "DISABLED", "user_created_channels": "ENABLED"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{settings}");
        assert_eq!(
            (settings["guestUsers"].clone(), settings["userCreatedChannels"].clone()),
            (json!("DISABLED"), json!("ENABLED"))
        );
        let (status, _) =
            app.put("/v1/application/settings", json!({"guestUsers": "MAYBE", "userCreatedChannels": "ENABLED"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocation_log_lists_filters_and_details() {
    use chatfn::store::jobs::{Finished, Recorder, Started};
    use chatfn::store::{now_millis, InvocationState, Store};
    each_store(|app| async move {
        let (_, function) = app.post("/v1/runtimes/nodejs/functions", json!({"type": "user.received.notification", "name": "Notify"})).await;
        let id = function["id"].as_i64().unwrap();
        let mut versions = Vec::new();
        for n in 1..=2 {
            let (_, v) = app.post(&format!("/v1/functions/{id}/versions"), json!({"handlerScript": format!("async function handleEvent() {{ return {n} }}")})).await;
            versions.push(v);
        }
        // Written the way dispatch writes them: through the batching recorder.
        let store = Store::connect(&app.database_url).await.unwrap();
        let recorder = Recorder::start(store.clone(), chatfn::observe::Metrics::new()).await.unwrap();
        let record = |version: &Value, user: &'static str, status: InvocationState| {
            let id_now = recorder.next_id();
            let logs = json!([{"level": "info", "message": format!("notified {user}"), "time": "2026-01-01T00:00:00Z"}]);
            let (result, error) = if status == InvocationState::Succeeded {
                (Some(r#"{"payload":true}"#.to_string()), None)
            } else {
                (None, Some(r#"{"name":"Error","message":"mail server down","stack":"Error: mail server down\n    at handleEvent (file:///v1.ts:3:9)"}"#.to_string()))
            };
            recorder.started(Started {
                id: id_now,
                application_id: app.application_id,
                function_id: id,
                version_id: version["id"].as_i64().unwrap(),
                version_number: version["versionNumber"].as_i64().unwrap(),
                trigger_type: "user.received.notification".into(),
                args: json!({"user": {"name": user}}).to_string().into(),
                attempt: 1,
                created_at: now_millis(),
                job_id: None,
                test: false,
            });
            recorder.finished(Finished {
                id: id_now,
                application_id: app.application_id,
                status,
                result,
                error,
                logs: logs.to_string(),
                duration_ms: 1.5,
                finished_at: now_millis(),
                span: tracing::Span::none(),
            });
            id_now
        };
        record(&versions[0], "ann", InvocationState::Succeeded);
        let failed = record(&versions[0], "bob", InvocationState::Failed);
        record(&versions[1], "cid", InvocationState::Succeeded);
        recorder.flush().await;

        let (_, all) = app.get(&format!("/v1/functions/{id}/invocations")).await;
        assert_eq!(all["page"]["totalElements"], 3);
        // Newest first.
        assert_eq!(all["_embedded"]["invocations"][0]["args"]["user"]["name"], "cid");

        let count = |query: &'static str| {
            let app = app.clone();
            async move {
                let (status, page) = app.get(&format!("/v1/functions/{id}/invocations?{query}")).await;
                assert_eq!(status, StatusCode::OK, "{query}: {page}");
                page["page"]["totalElements"].as_i64().unwrap()
            }
        };
        assert_eq!(count("status=FAILED").await, 1);
        assert_eq!(count("versionNumber=1").await, 2);
        assert_eq!(count("versionNumber=2&status=SUCCEEDED").await, 1);
        assert_eq!(count("query=notified%20bob").await, 1);
        assert_eq!(count("query=NOTIFIED%20BOB").await, 1, "any case, on both stores");
        assert_eq!(count("query=user.received.notification").await, 0, "only args, result, error and logs");
        assert_eq!(count("query=mail%20server").await, 1);
        assert_eq!(count("query=notified%25").await, 0, "a % is itself, not a wildcard");
        assert_eq!(count("query=mail%20server").await, 1);
        assert_eq!(count("startTime=2000-01-01T00:00:00Z&endTime=2100-01-01T00:00:00Z").await, 3);
        assert_eq!(count("endTime=2000-01-01T00:00:00Z").await, 0);
        let (status, _) = app.get(&format!("/v1/functions/{id}/invocations?status=DONE")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, detail) = app.get(&format!("/v1/function-invocations/{failed}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(detail["status"], "FAILED");
        assert_eq!(detail["error"]["message"], "mail server down");
        assert!(detail["error"]["stack"].as_str().unwrap().contains("v1.ts:3:9"));
        assert_eq!(detail["logs"][0]["message"], "notified bob");
        assert_eq!(detail["durationMs"], 1.5);
        assert_eq!(detail["attempt"], 1);
        assert!(detail["finishedTime"].as_str().unwrap().ends_with('Z'));

        let other = app.second_application("other").await;
        let (status, _) = other.get(&format!("/v1/function-invocations/{failed}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        store.close().await;
    })
    .await;
}

/// A record that cannot be written must not hold up the ones after it:
/// the records of a function deleted while it ran are dropped (the delete
/// took its invocations), and a record breaking a constraint is found by
/// writing its round one record at a time, and dropped; an event for the
/// deleted function is refused without refusing the others of its round.
/// Before, the recorder retried such a round for ever and every later
/// record and accepted event waited behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_be_written_does_not_stop_the_recorder() {
    use chatfn::store::jobs::{Enqueue, Finished, Recorder, Started};
    use chatfn::store::{now_millis, InvocationState, Store};
    each_store(|app| async move {
        let mut functions = Vec::new();
        for (kind, name) in [("user.received.notification", "Kept"), ("user.sent.message", "Deleted")] {
            let (_, function) = app.post("/v1/runtimes/nodejs/functions", json!({"type": kind, "name": name})).await;
            let id = function["id"].as_i64().unwrap();
            let (status, version) = app
                .post(
                    &format!("/v1/functions/{id}/versions"),
                    json!({"handlerScript": "async function handleEvent() { return 1 }"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{version}");
            functions.push((id, version["id"].as_i64().unwrap()));
        }
        let [(kept, kept_version), (deleted, deleted_version)] = functions[..] else { unreachable!() };
        let store = Store::connect(&app.database_url).await.unwrap();
        let metrics = chatfn::observe::Metrics::new();
        let recorder = Recorder::start(store.clone(), metrics.clone()).await.unwrap();
        let (status, _) = app.delete(&format!("/v1/functions/{deleted}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        // (application, function, version, whether it finishes)
        let record = |application_id: i64, function_id: i64, version_id: i64, finishes: bool| {
            let id = recorder.next_id();
            recorder.started(Started {
                id,
                application_id,
                function_id,
                version_id,
                version_number: 1,
                trigger_type: "user.received.notification".into(),
                args: "{}".into(),
                attempt: 1,
                created_at: now_millis(),
                job_id: None,
                test: false,
            });
            if finishes {
                recorder.finished(Finished {
                    id,
                    application_id,
                    status: InvocationState::Succeeded,
                    result: Some(r#"{"payload":1}"#.into()),
                    error: None,
                    logs: "[]".into(),
                    duration_ms: 1.0,
                    finished_at: now_millis(),
                    span: tracing::Span::none(),
                });
            }
            id
        };
        // Two events in the round the first record opens (it gathers for a
        // moment): one for the deleted function is refused, alone.
        let enqueue = |function_id: i64, version_id: i64| {
            let (reply, answer) = tokio::sync::oneshot::channel();
            recorder.enqueue(Enqueue {
                application_id: app.application_id,
                function_id,
                version_id,
                version_number: 1,
                trigger_type: "user.received.notification".into(),
                event: "{}".into(),
                idempotency_key: None,
                max_attempts: 1,
                lease_until: None,
                reply,
            });
            answer
        };
        let first = record(app.application_id, kept, kept_version, true);
        let (refused, accepted) = (enqueue(deleted, deleted_version), enqueue(kept, kept_version));
        let refused = refused.await.unwrap().expect_err("an event for a deleted function");
        assert!(refused.contains("could not be stored"), "{refused}");
        let queued = accepted.await.unwrap().expect("an event for a function that exists").invocation_id;
        let of_deleted = record(app.application_id, deleted, deleted_version, true);
        let still_running_of_deleted = record(app.application_id, deleted, deleted_version, false);
        // A function that exists, under an application that does not.
        record(i64::MAX, kept, kept_version, true);
        let last = record(app.application_id, kept, kept_version, true);
        tokio::time::timeout(std::time::Duration::from_secs(30), recorder.flush())
            .await
            .expect("the recorder is stuck on a record it cannot write");

        let (_, page) = app.get(&format!("/v1/functions/{kept}/invocations")).await;
        let ids: Vec<i64> =
            page["_embedded"]["invocations"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [last, queued, first], "the kept function's records and queued event, newest first: {page}");
        for id in [of_deleted, still_running_of_deleted] {
            let (status, _) = app.get(&format!("/v1/function-invocations/{id}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "a record of the deleted function");
        }
        // The one dropped for breaking a constraint is counted for operators
        // (the deleted function's were skipped, not dropped).
        assert!(
            metrics.render().lines().any(|l| l == "chatfn_recorder_dropped_records_total 1"),
            "{}",
            metrics.render()
        );
        // And it goes on writing.
        let after = record(app.application_id, kept, kept_version, true);
        tokio::time::timeout(std::time::Duration::from_secs(30), recorder.flush()).await.unwrap();
        let (status, detail) = app.get(&format!("/v1/function-invocations/{after}")).await;
        assert_eq!((status, detail["status"].clone()), (StatusCode::OK, json!("SUCCEEDED")));
        recorder.close().await;
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_covers_every_route() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::spawn(format!("sqlite://{}", dir.path().join("c.db").display()), dir.clone()).await;
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("/v1/application", "get"),
        ("/v1/application/settings", "get"),
        ("/v1/application/settings", "put"),
        ("/v1/application/egress-policy", "get"),
        ("/v1/application/egress-policy", "put"),
        ("/v1/runtimes/nodejs", "get"),
        ("/v1/runtimes/nodejs/dependencies", "put"),
        ("/v1/runtimes/nodejs/dependencies/install", "get"),
        ("/v1/runtimes/nodejs/environment-variables", "put"),
        ("/v1/runtimes/nodejs/initialization-script", "put"),
        ("/v1/runtimes/nodejs/functions", "get"),
        ("/v1/runtimes/nodejs/functions", "post"),
        ("/v1/functions/{id}", "get"),
        ("/v1/functions/{id}", "patch"),
        ("/v1/functions/{id}", "delete"),
        ("/v1/functions/{id}/current-version", "get"),
        ("/v1/functions/{id}/current-version", "put"),
        ("/v1/functions/{id}/versions", "get"),
        ("/v1/functions/{id}/versions", "post"),
        ("/v1/functions/{id}/invocations", "get"),
        ("/v1/functions/{id}/invocations/stream", "get"),
        ("/v1/functions/{id}/test", "post"),
        ("/v1/function-versions/{id}", "get"),
        ("/v1/function-invocations/{id}", "get"),
        ("/v1/triggers/{type}", "post"),
        ("/v1/function-invocations/{id}/retry", "post"),
        ("/v1/users", "get"),
        ("/v1/users", "head"),
        ("/v1/users", "post"),
        ("/v1/users/{id}", "get"),
        ("/v1/users/{id}", "patch"),
        ("/v1/users/{id}", "delete"),
        ("/v1/users/{id}/sessions", "head"),
        ("/v1/users/{id}/notifications", "get"),
        ("/v1/users/{id}/notifications/{notification_id}/read", "post"),
        ("/v1/user-sessions", "get"),
        ("/v1/user-sessions/{id}", "delete"),
        ("/v1/channels", "get"),
        ("/v1/channels", "post"),
        ("/v1/channels/{id}", "get"),
        ("/v1/channels/{id}", "patch"),
        ("/v1/channels/{id}", "delete"),
        ("/v1/channels/{id}/members", "get"),
        ("/v1/channels/{id}/members", "post"),
        ("/v1/channels/{id}/members/{user_id}", "delete"),
        ("/v1/channels/{id}/messages", "get"),
        ("/v1/channels/{id}/messages", "post"),
        ("/v1/messages", "get"),
        ("/v1/messages/{id}", "get"),
        ("/v1/messages/{id}", "delete"),
        ("/v1/messages/{id}", "patch"),
        ("/v1/messages", "delete"),
        ("/v1/users/{id}/channels", "get"),
        ("/v1/users/{id}/messages", "get"),
        ("/v1/channels/{id}/participants", "get"),
        ("/v1/channels/{id}/memberships", "get"),
        ("/v1/channels/{id}/moderators", "get"),
        ("/v1/channels/{id}/moderators", "post"),
        ("/v1/channels/{id}/moderators/{user_id}", "delete"),
        ("/v1/channels/{id}/invites", "get"),
        ("/v1/channels/{id}/invites", "post"),
        ("/v1/messages/{id}/read-receipts", "get"),
        ("/v1/messages/{id}/read-receipts", "post"),
        ("/v1/threads/{id}", "get"),
        ("/v1/threads/{id}/messages", "get"),
        ("/v1/threads/{id}/messages", "post"),
    ];
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert_eq!(op["security"][0]["bearer"], json!([]), "{method} {path}");
        // Every status it can answer is documented, with the error body for refusals.
        for status in ["400", "401", "429"] {
            assert!(op["responses"][status].is_object(), "{method} {path} does not document {status}");
        }
        if path.contains('{') {
            assert!(op["responses"]["404"].is_object(), "{method} {path} does not document 404");
        }
        if method == "patch" {
            assert!(
                op["requestBody"]["content"]["application/merge-patch+json"].is_object(),
                "{method} {path}: RFC 7396's type"
            );
        }
    }
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len());
    assert!(doc["components"]["schemas"]["CreateVersionBody"]["properties"]["handlerScript"].is_object());
    // An unknown path is named.
    let (status, missing) = app.get("/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["message"], "path /v1/no-such-thing was not found");
    // Answers are typed: a listing names its page schema, and the schema its items.
    assert_eq!(
        doc["paths"]["/v1/users"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/UserPage"
    );
    assert!(doc["components"]["schemas"]["UserResource"]["properties"]["displayName"].is_object());
    assert!(doc["components"]["schemas"]["NotificationResource"]["properties"]["readTime"].is_object());

    // Links: from each creating answer to the operations that take the new
    // id, each naming an operation of the document; following one from a
    // created function reaches it.
    let mut operations = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations.insert(op["operationId"].as_str().unwrap().to_string(), (path.clone(), method.clone()));
        }
    }
    let links_of = |path: &str, status: &str| doc["paths"][path]["post"]["responses"][status]["links"].clone();
    for (creator, status, minimum) in [
        ("/v1/runtimes/nodejs/functions", "201", 8),
        ("/v1/functions/{id}/versions", "201", 1),
        ("/v1/users", "201", 7),
        ("/v1/channels", "201", 15),
        ("/v1/channels/{id}/messages", "201", 8),
        ("/v1/triggers/{type}", "202", 2),
    ] {
        let links = links_of(creator, status);
        let links = links.as_object().unwrap_or_else(|| panic!("POST {creator} {status} has no links"));
        assert!(links.len() >= minimum, "POST {creator} {status}: {} links", links.len());
        for (name, link) in links {
            let id = link["operationId"].as_str().unwrap();
            assert!(operations.contains_key(id), "POST {creator} links {name} to unknown operation {id}");
            assert!(operations[id].0.contains("{id}"), "{id} takes no id");
        }
    }
    // A user's HEAD /sessions answers 404 for "no active session": no link.
    assert!(links_of("/v1/users", "201").get("check_active_session").is_none());
    let get_function = &links_of("/v1/runtimes/nodejs/functions", "201")["get_function"];
    let (status, function) =
        app.post("/v1/runtimes/nodejs/functions", json!({ "type": "user.sent.message", "name": "linked" })).await;
    assert_eq!(status, StatusCode::CREATED, "{function}");
    let pointer = get_function["parameters"]["id"].as_str().unwrap().strip_prefix("$response.body#").unwrap();
    let (path, method) = &operations[get_function["operationId"].as_str().unwrap()];
    assert_eq!(method, "get");
    let (status, fetched) = app.get(&path.replace("{id}", &function.pointer(pointer).unwrap().to_string())).await;
    assert_eq!((status, &fetched["name"]), (StatusCode::OK, &json!("linked")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runtime_changes_each_get_their_own_version() {
    each_store(|app| async move {
        let writes: Vec<_> = (0..10)
            .map(|n| {
                let app = app.clone();
                tokio::spawn(async move {
                    app.put("/v1/runtimes/nodejs/environment-variables", json!({ "N": n.to_string() })).await
                })
            })
            .collect();
        let mut versions = Vec::new();
        for write in writes {
            let (status, runtime) = write.await.unwrap();
            assert_eq!(status, StatusCode::OK, "{runtime}");
            versions.push(runtime["version"].as_str().unwrap().to_string());
        }
        versions.sort_by_key(|v| v.rsplit('.').next().unwrap().parse::<u32>().unwrap());
        assert_eq!(versions, (1..=10).map(|n| format!("1.0.{n}")).collect::<Vec<_>>());
        let (_, runtime) = app.get("/v1/runtimes/nodejs").await;
        assert_eq!(runtime["version"], "1.0.10");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    each_store(|app| async move {
        let store = chatfn::store::Store::connect(&app.database_url).await.unwrap();
        let token = chatfn::api::auth::random_token(32);
        let hash = chatfn::api::auth::token_hash(&token);
        store.insert_token(&hash, app.application_id, chatfn::store::now_millis() - 1_000).await.unwrap();
        let res = app.http.get(app.url("/v1/application")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.json::<Value>().await.unwrap()["message"].as_str().unwrap().contains("expired"));
        // An unexpired one for the same application is accepted.
        let fresh = chatfn::api::auth::random_token(32);
        store
            .insert_token(
                &chatfn::api::auth::token_hash(&fresh),
                app.application_id,
                chatfn::store::now_millis() + 60_000,
            )
            .await
            .unwrap();
        let res = app.http.get(app.url("/v1/application")).bearer_auth(&fresh).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_a_locked_down_page_over_the_same_api() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::spawn(format!("sqlite://{}", dir.path().join("c.db").display()), dir.clone()).await;
    // The page itself needs no token: it signs in with client credentials.
    let res = app.http.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let policy = res.headers()["content-security-policy"].to_str().unwrap().to_string();
    for rule in ["default-src 'none'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'"] {
        assert!(policy.contains(rule), "{rule} in {policy}");
    }
    // The style nonce is new for each page, and the page carries it.
    let nonce = policy.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_string();
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("content=\"{nonce}\"")), "{page}");
    let again = app.http.get(app.url("/dashboard")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"].to_str().unwrap().contains(&nonce));
    assert!(!page.contains("<script>") && !page.contains("style="), "no inline code");
    // Its script reads what it shows from the API, and never renders it as HTML.
    let script = app.http.get(app.url("/dashboard/app.js")).send().await.unwrap();
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    let script = script.text().await.unwrap();
    for path in ["/oauth/token", "/v1/runtimes/nodejs/functions", "/invocations/stream"] {
        assert!(script.contains(path), "the dashboard uses {path}");
    }
    let own = std::fs::read_to_string(super::support::repo_path("dashboard/src/main.js")).unwrap();
    assert!(!own.contains("innerHTML") && !own.contains("insertAdjacentHTML"), "data must not be interpreted as HTML");
    // The old console address leads there.
    let old = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = old.get(app.url("/console")).send().await.unwrap();
    assert_eq!(
        (res.status(), res.headers()["location"].to_str().unwrap()),
        (StatusCode::PERMANENT_REDIRECT, "/dashboard")
    );
}

/// A body each operation accepts, so that the matrix below reaches the
/// ownership check rather than a body's validation.
fn valid_body(method: &str, path: &str) -> Value {
    match (method, path) {
        ("post", "/v1/functions/{id}/versions") => json!({"handlerScript": "async function handleEvent() {}"}),
        ("post", "/v1/functions/{id}/test") => json!({"event": {}}),
        ("put", "/v1/functions/{id}/current-version") => json!({"versionNumber": 1}),
        ("post", "/v1/channels/{id}/messages") | ("post", "/v1/threads/{id}/messages") => {
            json!({"type": "TEXT", "body": "hi"})
        }
        ("post", "/v1/channels/{id}/invites") | ("post", "/v1/messages/{id}/read-receipts") => {
            json!({"user": {"username": "ann"}})
        }
        ("post", "/v1/channels/{id}/members") | ("post", "/v1/channels/{id}/moderators") => json!({"username": "ann"}),
        _ => json!({}),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_missing_bad_expired_and_foreign_tokens_and_changes_nothing() {
    each_store(|app| async move {
        // Application A's data, one of each kind.
        let (_, user) = app.post("/v1/users", json!({"name": "ann", "displayName": "Ann"})).await;
        app.post("/v1/users", json!({"name": "bob", "displayName": "Bob"})).await;
        let (_, channel) = app
            .post(
                "/v1/channels",
                json!({"type": "PUBLIC", "name": "room", "members": [{"username": "ann"}, {"username": "bob"}]}),
            )
            .await;
        let (c, u) = (channel["id"].as_i64().unwrap(), user["id"].as_i64().unwrap());
        let (_, message) = app
            .post(
                &format!("/v1/channels/{c}/messages"),
                json!({"type": "TEXT", "body": "kept", "user": {"username": "bob"}}),
            )
            .await;
        let m = message["id"].as_i64().unwrap();
        let version = super::support::deploy_login_handler(&app, "async function handleEvent() { return 1 }").await;
        let f: i64 =
            version["_links"]["function"]["href"].as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
        let (_, ran) =
            app.post("/v1/triggers/user.attempted.start_session", json!({"username": "ann", "authParams": {}})).await;
        let (_, notifications) = app.get(&format!("/v1/users/{u}/notifications")).await;
        let n = notifications["_embedded"]["notifications"][0]["id"].as_i64().unwrap();
        let ids = [
            ("/v1/users/{id}", u),
            ("/v1/channels/{id}", c),
            ("/v1/messages/{id}", m),
            ("/v1/threads/{id}", m),
            ("/v1/functions/{id}", f),
            ("/v1/function-versions/{id}", version["id"].as_i64().unwrap()),
            ("/v1/function-invocations/{id}", ran["invocationId"].as_i64().unwrap()),
            ("/v1/user-sessions/{id}", ran["sessionId"].as_i64().unwrap_or(1)),
        ];
        let snapshot = |app: TestApp| async move {
            let mut seen = Vec::new();
            for path in
                ["/v1/users", "/v1/channels", "/v1/messages", "/v1/runtimes/nodejs/functions", "/v1/user-sessions"]
            {
                seen.push(app.get(path).await.1["_embedded"].clone());
            }
            seen.push(app.get(&format!("/v1/functions/{f}/versions")).await.1["_embedded"].clone());
            seen.push(app.get("/v1/runtimes/nodejs").await.1["version"].clone());
            seen
        };
        let before = snapshot(app.clone()).await;

        let other = app.second_application("intruder").await;
        let expired = chatfn::api::auth::random_token(32);
        let store = chatfn::store::Store::connect(&app.database_url).await.unwrap();
        store
            .insert_token(
                &chatfn::api::auth::token_hash(&expired),
                app.application_id,
                chatfn::store::now_millis() - 1_000,
            )
            .await
            .unwrap();
        store.close().await;

        let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        let (mut checked, mut foreign) = (0, 0);
        for (template, operations) in doc["paths"].as_object().unwrap() {
            let prefix =
                ids.iter().find(|(p, _)| template.contains("{id}") && template.starts_with(p.trim_end_matches("{id}")));
            let path = match prefix {
                Some((_, id)) => template.replace("{id}", &id.to_string()),
                None => template.clone(),
            };
            let path = path
                .replace("{user_id}", &u.to_string())
                .replace("{notification_id}", &n.to_string())
                .replace("{type}", "user.attempted.start_session");
            for method in operations.as_object().unwrap().keys() {
                let verb = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let body = valid_body(method, template);
                let send = |auth: Option<String>| {
                    let mut request = app.http.request(verb.clone(), app.url(&path)).json(&body);
                    if let Some(auth) = auth {
                        request = request.header("Authorization", auth);
                    }
                    request.send()
                };
                for (what, auth) in [
                    ("no token", None),
                    ("a malformed header", Some("Token abc".to_string())),
                    ("a token that is no token", Some("Bearer not-a-token".to_string())),
                    ("an expired token", Some(format!("Bearer {expired}"))),
                ] {
                    let status = send(auth).await.unwrap().status();
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with {what}");
                }
                if prefix.is_some() {
                    let status = send(Some(format!("Bearer {}", other.token))).await.unwrap().status();
                    assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} with another application's token");
                    foreign += 1;
                }
                checked += 1;
            }
        }
        assert!(checked >= 60 && foreign >= 40, "{checked} operations, {foreign} with ids");
        assert_eq!(snapshot(app.clone()).await, before, "nothing of application A changed");
        let (_, kept) = app.get(&format!("/v1/messages/{m}")).await;
        assert_eq!(kept["body"], "kept");
    })
    .await;
}
