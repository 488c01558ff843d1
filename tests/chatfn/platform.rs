//! The chat platform: the embedded platform's `/v1/users`, `/v1/channels`
//! and `/v1/messages`, and the context APIs functions reach them with
//! (embedded by default, a remote chatfn by configuration).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{each_store, repo_path, TestApp};

const LOGIN: &str = "user.attempted.start_session";
const NOTIFICATION: &str = "user.received.notification";

/// Creates the function for `trigger` (or reuses it) and deploys `script`.
async fn deploy(app: &TestApp, trigger: &str, script: &str) -> i64 {
    let (status, function) = app.post("/v1/runtimes/nodejs/functions", json!({"type": trigger, "name": trigger})).await;
    let id = if status == StatusCode::CREATED {
        function["id"].as_i64().unwrap()
    } else {
        let (_, list) = app.get("/v1/runtimes/nodejs/functions").await;
        list["_embedded"]["functions"].as_array().unwrap().iter().find(|f| f["type"] == trigger).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (status, version) = app.post(&format!("/v1/functions/{id}/versions"), json!({ "handlerScript": script })).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    id
}

async fn login(app: &TestApp, event: Value) -> (StatusCode, Value) {
    app.post(&format!("/v1/triggers/{LOGIN}"), event).await
}

/// A blocking call that must succeed; returns its payload.
async fn run_login(app: &TestApp, event: Value) -> Value {
    let (status, answer) = login(app, event).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["result"]["payload"].clone()
}

async fn create_channel(app: &TestApp, name: &str) -> i64 {
    let (status, channel) = app.post("/v1/channels", json!({"type": "PUBLIC", "name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    channel["id"].as_i64().unwrap()
}

async fn create_user(app: &TestApp, name: &str) -> i64 {
    let (status, user) = app.post("/v1/users", json!({"name": name, "displayName": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_i64().unwrap()
}

fn names(page: &Value, collection: &str) -> Vec<String> {
    page["_embedded"][collection]
        .as_array()
        .unwrap_or_else(|| panic!("no {collection} in {page}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_handler_creates_the_user_and_adds_them_to_a_channel() {
    each_store(|app| async move {
        let channel = create_channel(&app, "lobby").await;
        let seed = std::fs::read_to_string(repo_path("examples/chatkitty-login/handler.ts")).unwrap();
        assert!(seed.contains("createChannelMember(702,"), "the seed handler as ChatKitty documents it");
        deploy(&app, LOGIN, &seed.replace("702", &channel.to_string())).await;

        let event = json!({"username": "jane@example.com", "authParams": {"displayName": "Jane Doe"}});
        assert_eq!(run_login(&app, event.clone()).await, json!(["Hello jane@example.com"]));

        let (status, users) = app.get("/v1/users?name=jane@example.com").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(users["page"]["totalElements"], 1, "{users}");
        let jane = &users["_embedded"]["users"][0];
        assert_eq!(jane["displayName"], "Jane Doe");
        assert_eq!(jane["type"], "PERSON");
        let (_, members) = app.get(&format!("/v1/channels/{channel}/members")).await;
        assert_eq!(names(&members, "users"), ["jane@example.com"]);

        // The second start finds the user: nothing is created twice (the
        // warm runtime's module state keeps the log growing, as in ChatKitty).
        let again = run_login(&app, event).await;
        assert_eq!(again, json!(["Hello jane@example.com", "Hello jane@example.com"]));
        let (_, users) = app.get("/v1/users").await;
        assert_eq!(users["page"]["totalElements"], 1);
        let (_, members) = app.get(&format!("/v1/channels/{channel}/members")).await;
        assert_eq!(members["page"]["totalElements"], 1);

        let (status, _) = app.head("/v1/users?name=jane@example.com").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.head("/v1/users?name=nobody").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_function_sends_a_system_message() {
    each_store(|app| async move {
        let channel = create_channel(&app, "announcements").await;
        let function = deploy(
            &app,
            NOTIFICATION,
            &format!(
                "async function handleEvent(event: any, context: any) {{\n\
                   const sent = await context.getChannelApi().createChannelMessage({channel}, {{\n\
                     type: 'TEXT', body: `${{event.user.name}}: ${{event.notification.title}}`, properties: {{ source: 'notification' }},\n\
                   }});\n\
                   return {{ id: sent.data.id, type: sent.data.type, status: sent.status }};\n\
                 }}"
            ),
        )
        .await;
        let event = json!({"user": {"name": "jane"}, "notification": {"title": "You have mail"}, "userHasActiveSession": false});
        let (status, accepted) = app.post(&format!("/v1/triggers/{NOTIFICATION}"), event).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
        let invocation_id = accepted["invocationIds"][0].as_i64().unwrap();

        let mut invocation = Value::Null;
        for _ in 0..200 {
            let (_, found) = app.get(&format!("/v1/function-invocations/{invocation_id}")).await;
            if found["status"] == "SUCCEEDED" || found["status"] == "FAILED" {
                invocation = found;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(invocation["status"], "SUCCEEDED", "function {function}: {invocation}");
        assert_eq!(invocation["result"]["payload"]["type"], "SYSTEM_TEXT");
        assert_eq!(invocation["result"]["payload"]["status"], 201);

        let (status, messages) = app.get(&format!("/v1/channels/{channel}/messages")).await;
        assert_eq!(status, StatusCode::OK);
        let message = &messages["_embedded"]["messages"][0];
        assert_eq!(message["body"], "jane: You have mail");
        assert_eq!(message["type"], "SYSTEM_TEXT");
        assert_eq!(message["channelId"], channel);
        assert_eq!(message["properties"]["source"], "notification");
        assert_eq!(message["id"], invocation["result"]["payload"]["id"]);
        let (status, same) = app.get(&format!("/v1/messages/{}", message["id"])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(same["body"], "jane: You have mail");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_apis_answer_like_axios_and_are_bounded() {
    each_store(|app| async move {
        app.put("/v1/runtimes/nodejs/environment-variables", json!({"CUSTOM": "yes", "CHATKITTY_CLIENT_ID": "spoofed"}))
            .await;
        deploy(
            &app,
            LOGIN,
            "async function handleEvent(event: any, context: any) {\n\
               const users = context.getUserApi();\n\
               const failure = async (p: Promise<any>) => p.then(() => 'resolved', (e: any) => ({\n\
                 name: e.name, message: e.message, status: e.response?.status, error: e.response?.data?.error,\n\
               }));\n\
               const created = await users.createUser({ name: 'amy', displayName: 'Amy', properties: { plan: 'pro' } });\n\
               const duplicate = await failure(users.createUser({ name: 'amy', displayName: 'Amy again' }));\n\
               const missing = await failure(users.getUser(987654));\n\
               const invalid = await failure(context.getChannelApi().createChannel({ type: 'GROUP' }));\n\
               const patched = await users.updateUser(created.data.id, { properties: { plan: null, seats: 3 } });\n\
               const app = await context.getApplicationApi().getApplication();\n\
               const session = await failure(context.getUserSessionApi().getActiveSessionExists(created.data.id));\n\
               let budget = '';\n\
               try { for (let i = 0; i < 200; i++) await users.getUserExists('amy'); }\n\
               catch (e) { budget = `${(e as Error).name}: ${(e as Error).message}`; }\n\
               return {\n\
                 created: { status: created.status, name: created.data.name, plan: created.data.properties.plan },\n\
                 duplicate, missing, invalid, session, budget,\n\
                 patched: patched.data.properties,\n\
                 application: app.data.id,\n\
                 env: [process.env.CHATKITTY_APPLICATION_ID, process.env.CHATKITTY_CLIENT_ID,\n\
                       process.env.CHATKITTY_CHAT_SERVICE_BASE_URL, process.env.CUSTOM],\n\
               };\n\
             }",
        )
        .await;
        let result = run_login(&app, json!({"username": "x", "authParams": {}})).await;
        assert_eq!(result["created"], json!({"status": 201, "name": "amy", "plan": "pro"}));
        assert_eq!(
            result["duplicate"],
            json!({"name": "AxiosError", "message": "Request failed with status code 409", "status": 409, "error": "ConflictError"})
        );
        assert_eq!(result["missing"]["status"], 404);
        assert_eq!(result["missing"]["error"], "ResourceNotFoundError");
        assert_eq!(result["invalid"]["status"], 400);
        assert_eq!(result["session"]["status"], 404);
        assert_eq!(result["patched"], json!({"seats": 3}));
        assert_eq!(result["application"], app.application_id);
        assert_eq!(
            result["budget"],
            "RangeError: this invocation used its budget of 100 Platform API requests",
            "{result}"
        );
        assert_eq!(
            result["env"],
            json!([app.application_id.to_string(), "test-client", app.base, "yes"]),
            "system variables win over custom ones"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_data_api_validates_and_pages() {
    each_store(|app| async move {
        let jane = create_user(&app, "jane").await;
        let joe = create_user(&app, "joe").await;
        let (status, dup) = app.post("/v1/users", json!({"name": "jane", "displayName": "Jane"})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{dup}");
        assert_eq!(dup["message"], "a user named \"jane\" already exists");
        let (status, bad) = app.post("/v1/users", json!({"name": " ", "displayName": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let (status, bad) = app.post("/v1/users", json!({"name": "x", "properties": [1]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(bad["message"].as_str().unwrap().contains("properties"), "{bad}");

        // Direct channels: one per set of users, no name, no new members.
        let body = json!({"type": "DIRECT", "members": [{"id": jane}, {"username": "joe"}]});
        let (status, direct) = app.post("/v1/channels", body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{direct}");
        assert_eq!(direct["members"].as_array().unwrap().len(), 2);
        let (status, same) =
            app.post("/v1/channels", json!({"type": "DIRECT", "members": [{"id": joe}, {"id": jane}]})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(same["id"], direct["id"]);
        let (status, _) = app.post(&format!("/v1/channels/{}/members", direct["id"]), json!({"id": jane})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = app.post("/v1/channels", json!({"type": "DIRECT", "members": [{"id": jane}]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, missing) =
            app.post("/v1/channels", json!({"type": "PUBLIC", "members": [{"username": "ghost"}]})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

        // Group channels: unique names; an equal request returns the channel.
        let (status, public) =
            app.post("/v1/channels", json!({"type": "PUBLIC", "name": "general", "creator": {"id": jane}})).await;
        assert_eq!(status, StatusCode::CREATED, "{public}");
        assert_eq!(public["displayName"], "general");
        assert_eq!(public["creator"]["name"], "jane");
        let (status, _) = app.post("/v1/channels", json!({"type": "PUBLIC", "name": "general"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.post("/v1/channels", json!({"type": "PRIVATE", "name": "general"})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let general = public["id"].as_i64().unwrap();
        let (status, _) = app.post(&format!("/v1/channels/{general}/members"), json!({"username": "joe"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.post(&format!("/v1/channels/{general}/members"), json!({"username": "joe"})).await;
        assert_eq!(status, StatusCode::OK, "adding a member twice changes nothing");
        let (_, members) = app.get(&format!("/v1/channels/{general}/members")).await;
        assert_eq!(names(&members, "users"), ["jane", "joe"]);

        // Messages: system or on behalf of a member; newest first.
        let (status, _) =
            app.post(&format!("/v1/channels/{general}/messages"), json!({"type": "TEXT", "body": "welcome"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, from_joe) = app
            .post(
                &format!("/v1/channels/{general}/messages"),
                json!({"type": "TEXT", "body": "hi", "user": {"username": "joe"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{from_joe}");
        assert_eq!(from_joe["type"], "TEXT");
        assert_eq!(from_joe["user"]["name"], "joe");
        let outsider = create_user(&app, "outsider").await;
        let (status, _) = app
            .post(
                &format!("/v1/channels/{general}/messages"),
                json!({"type": "TEXT", "body": "x", "user": {"id": outsider}}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "only members speak in a channel");
        let (status, _) =
            app.post(&format!("/v1/channels/{general}/messages"), json!({"type": "FILE", "body": "x"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, messages) = app.get(&format!("/v1/channels/{general}/messages?size=1")).await;
        assert_eq!(messages["_embedded"]["messages"][0]["body"], "hi");
        assert_eq!(messages["page"]["totalElements"], 2);
        assert!(messages["_links"]["next"].is_object());

        // Leaving and deleting.
        let (status, _) = app.delete(&format!("/v1/channels/{general}/members/{joe}")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.delete(&format!("/v1/channels/{general}/members/{joe}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, patched) =
            app.patch(&format!("/v1/users/{jane}"), json!({"displayName": "Jane D", "properties": {"a": 1}})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(patched["displayName"], "Jane D");
        let (status, _) = app.delete(&format!("/v1/users/{jane}")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, members) = app.get(&format!("/v1/channels/{general}/members")).await;
        assert_eq!(members["page"]["totalElements"], 0);
        let (status, _) = app.delete(&format!("/v1/channels/{general}")).await;
        assert_eq!(status, StatusCode::OK);
        let (_, all) = app.get("/v1/messages").await;
        assert_eq!(all["page"]["totalElements"], 0, "a channel's messages go with it");
        let (_, channels) = app.get("/v1/channels?type=DIRECT").await;
        assert_eq!(channels["page"]["totalElements"], 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_cannot_reach_another_applications_chat_data() {
    each_store(|app| async move {
        let other = app.second_application("other").await;
        let their_user = create_user(&other, "their-user").await;
        let their_channel = create_channel(&other, "their-channel").await;
        let (_, their_message) = other.post(&format!("/v1/channels/{their_channel}/messages"), json!({"type": "TEXT", "body": "private"})).await;
        let their_message = their_message["id"].as_i64().unwrap();
        let mine = create_user(&app, "mine").await;

        deploy(
            &app,
            LOGIN,
            &format!(
                "async function handleEvent(event: any, context: any) {{\n\
                   const status = (p: Promise<any>) => p.then((r: any) => r.status, (e: any) => e.response?.status ?? e.message);\n\
                   const users = context.getUserApi(), channels = context.getChannelApi(), messages = context.getMessageApi();\n\
                   return [\n\
                     await status(users.getUser({their_user})),\n\
                     await status(users.updateUser({their_user}, {{ displayName: 'hacked' }})),\n\
                     await status(users.deleteUser({their_user})),\n\
                     await status(users.getUserExists('their-user')),\n\
                     await status(channels.getChannel({their_channel})),\n\
                     await status(channels.createChannelMember({their_channel}, {{ id: {mine} }})),\n\
                     await status(channels.createChannelMessage({their_channel}, {{ type: 'TEXT', body: 'spam' }})),\n\
                     await status(channels.getChannelMessages({their_channel})),\n\
                     await status(channels.deleteChannel({their_channel})),\n\
                     await status(messages.getMessage({their_message})),\n\
                     await status(messages.deleteMessage({their_message})),\n\
                     (await users.getUsers()).data.page.totalElements,\n\
                     (await messages.getMessages()).data.page.totalElements,\n\
                   ];\n\
                 }}"
            ),
        )
        .await;
        let result = run_login(&app, json!({"username": "x", "authParams": {}})).await;
        assert_eq!(result, json!([404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 1, 0]));

        // The other application's data is as it was.
        let (status, user) = other.get(&format!("/v1/users/{their_user}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(user["displayName"], "their-user");
        let (_, members) = other.get(&format!("/v1/channels/{their_channel}/members")).await;
        assert_eq!(members["page"]["totalElements"], 0);
        let (_, messages) = other.get(&format!("/v1/channels/{their_channel}/messages")).await;
        assert_eq!(messages["page"]["totalElements"], 1);
        // And over HTTP the same ids are 404 for this application.
        let (status, _) = app.get(&format!("/v1/users/{their_user}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app.get(&format!("/v1/messages/{their_message}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_platform_receives_the_functions_calls() {
    let dirs = Arc::new((tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()));
    let platform = TestApp::spawn(format!("sqlite://{}", dirs.0.path().join("b.db").display()), dirs.clone()).await;
    let remote = chatfn::remote_platform::RemoteConfig {
        base_url: platform.base.clone(),
        client_id: platform.client_id.clone(),
        client_secret: platform.client_secret.clone().into(),
        timeout: Duration::from_secs(5),
    };
    let host = TestApp::spawn_with(format!("sqlite://{}", dirs.1.path().join("a.db").display()), dirs.clone(), |c| {
        c.remote_platform = Some(remote);
    })
    .await;
    let channel = create_channel(&platform, "remote-lobby").await;
    let seed = std::fs::read_to_string(repo_path("examples/chatkitty-login/handler.ts")).unwrap();
    deploy(&host, LOGIN, &seed.replace("702", &channel.to_string())).await;
    deploy(
        &host,
        NOTIFICATION,
        "async function handleEvent(event: any, context: any) {\n\
           return [process.env.CHATKITTY_CHAT_SERVICE_BASE_URL, process.env.CHATKITTY_CLIENT_ID];\n\
         }",
    )
    .await;

    for _ in 0..2 {
        let payload = run_login(&host, json!({"username": "remote-jane", "authParams": {}})).await;
        assert_eq!(payload[0], "Hello remote-jane");
    }
    let (_, users) = platform.get("/v1/users?name=remote-jane").await;
    assert_eq!(users["page"]["totalElements"], 1, "the user exists on the remote platform: {users}");
    let (_, members) = platform.get(&format!("/v1/channels/{channel}/members")).await;
    assert_eq!(names(&members, "users"), ["remote-jane"]);
    let (_, local) = host.get("/v1/users").await;
    assert_eq!(local["page"]["totalElements"], 0, "and not in the host's embedded store");

    // A function on the remote host sees where its platform is.
    let (_, accepted) =
        host.post(&format!("/v1/triggers/{NOTIFICATION}"), json!({"user": {}, "notification": {}})).await;
    let id = accepted["invocationIds"][0].as_i64().unwrap();
    let mut payload = Value::Null;
    for _ in 0..200 {
        let (_, found) = host.get(&format!("/v1/function-invocations/{id}")).await;
        if found["status"] == "SUCCEEDED" {
            payload = found["result"]["payload"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(payload, json!([platform.base, platform.client_id]));

    // Wrong credentials: the function's call rejects with a message naming the cause.
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let base = platform.base.clone();
    let broken = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("c.db").display()), dir.clone(), |c| {
        c.remote_platform = Some(chatfn::remote_platform::RemoteConfig {
            base_url: base,
            client_id: "nobody".into(),
            client_secret: "wrong".into(),
            timeout: Duration::from_secs(5),
        });
    })
    .await;
    deploy(
        &broken,
        LOGIN,
        "async function handleEvent(e: any, context: any) { await context.getUserApi().getUsers(); }",
    )
    .await;
    let (status, denied) = login(&broken, json!({"username": "x", "authParams": {}})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(denied["message"].as_str().unwrap().contains("refused the client credentials"), "{denied}");

    broken.shutdown().await;
    host.shutdown().await;
    platform.shutdown().await;
}

/// A Platform API that refuses the first token it issued: the host fetches
/// a fresh one once, and reuses it afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_platform_refreshes_a_refused_token_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let issued = Arc::new(AtomicUsize::new(0));
    let counter = issued.clone();
    let platform = axum::Router::new()
        .route(
            "/oauth/token",
            axum::routing::post(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    axum::Json(
                        json!({"access_token": format!("token-{n}"), "token_type": "bearer", "expires_in": 3600}),
                    )
                }
            }),
        )
        .route(
            "/v1/users",
            axum::routing::get(|headers: axum::http::HeaderMap| async move {
                match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                    Some("Bearer token-1") | None => {
                        (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "UnauthorizedError"})))
                    }
                    Some(_) => (axum::http::StatusCode::OK, axum::Json(json!({"page": {"totalElements": 7}}))),
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, platform).await.unwrap() });

    let dir = Arc::new(tempfile::tempdir().unwrap());
    let host = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("a.db").display()), dir.clone(), |c| {
        c.remote_platform = Some(chatfn::remote_platform::RemoteConfig {
            base_url: base,
            client_id: "id".into(),
            client_secret: "secret".into(),
            timeout: Duration::from_secs(5),
        });
    })
    .await;
    deploy(
        &host,
        LOGIN,
        "async function handleEvent(e: any, context: any) {\n\
           const users = await context.getUserApi().getUsers();\n\
           return [users.status, users.data.page.totalElements];\n\
         }",
    )
    .await;
    assert_eq!(run_login(&host, json!({"username": "x", "authParams": {}})).await, json!([200, 7]));
    assert_eq!(issued.load(Ordering::SeqCst), 2, "one token refused, one fresh token");
    assert_eq!(run_login(&host, json!({"username": "x", "authParams": {}})).await, json!([200, 7]));
    assert_eq!(issued.load(Ordering::SeqCst), 2, "the fresh token is reused");
    host.shutdown().await;
}
