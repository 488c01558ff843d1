//! The embedded platform runs functions when chat happens: the pre-send
//! function refuses or rewrites a message, a stored message fires
//! `user.sent.message` and a notification (with `user.received.notification`)
//! per other member, and allowed sessions are recorded.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::support::{each_store, TestApp};

async fn deploy(app: &TestApp, trigger: &str, script: &str) -> i64 {
    let (status, function) = app.post("/v1/runtimes/nodejs/functions", json!({"type": trigger, "name": trigger})).await;
    assert_eq!(status, StatusCode::CREATED, "{function}");
    let id = function["id"].as_i64().unwrap();
    let (status, version) = app.post(&format!("/v1/functions/{id}/versions"), json!({ "handlerScript": script })).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    id
}

async fn user(app: &TestApp, name: &str) -> i64 {
    let (status, user) = app.post("/v1/users", json!({"name": name, "displayName": name.to_uppercase()})).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    user["id"].as_i64().unwrap()
}

/// A public channel with these members.
async fn channel(app: &TestApp, name: &str, members: &[&str]) -> i64 {
    let members: Vec<Value> = members.iter().map(|m| json!({"username": m})).collect();
    let (status, channel) = app.post("/v1/channels", json!({"type": "PUBLIC", "name": name, "members": members})).await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    channel["id"].as_i64().unwrap()
}

async fn send(app: &TestApp, channel: i64, from: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut message = json!({"type": "TEXT", "body": body});
    if let Some(from) = from {
        message["user"] = json!({"username": from});
    }
    app.post(&format!("/v1/channels/{channel}/messages"), message).await
}

/// A function's finished invocations, once there are `n` (and no more
/// after a moment: nothing fires twice).
async fn finished(app: &TestApp, function: i64, n: usize) -> Vec<Value> {
    let list = |app: TestApp| async move {
        let (_, page) = app.get(&format!("/v1/functions/{function}/invocations?size=100&sort=id,asc")).await;
        page["_embedded"]["invocations"].as_array().cloned().unwrap_or_default()
    };
    for _ in 0..300 {
        let all = list(app.clone()).await;
        if all.len() >= n && all.iter().all(|i| i["status"] == "SUCCEEDED" || i["status"] == "FAILED") {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let again = list(app.clone()).await;
            assert_eq!(again.len(), n, "exactly {n} invocations: {again:#?}");
            return again;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("function {function} never had {n} finished invocations: {:#?}", list(app.clone()).await);
}

async fn notifications(app: &TestApp, user: i64) -> Vec<Value> {
    let (status, page) = app.get(&format!("/v1/users/{user}/notifications")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["_embedded"]["notifications"].as_array().cloned().unwrap()
}

const MODERATION: &str = r#"
async function handleEvent(event: any) {
  const body: string = event.message.body;
  if (/darn/i.test(body)) throw new Error("no swearing");
  if (/heck/i.test(body)) {
    return { body: body.replace(/heck/gi, "h**k"), properties: { ...event.message.properties, moderated: true, by: event.user.name, in: event.channel.name } };
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_send_function_rejects_and_rewrites_messages() {
    each_store(|app| async move {
        deploy(&app, "user.attempted.send_message", MODERATION).await;
        let sent =
            deploy(&app, "user.sent.message", "async function handleEvent(e: any) { return e.message.body }").await;
        for name in ["ann", "bob"] {
            user(&app, name).await;
        }
        let room = channel(&app, "room", &["ann", "bob"]).await;

        let (status, refused) = send(&app, room, Some("ann"), "oh darn").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        assert_eq!(refused["error"], "MessageRejectedError");
        assert_eq!(refused["message"], "no swearing");
        assert!(refused["invocationId"].as_i64().is_some(), "the refusal names its invocation: {refused}");

        let (status, rewritten) = send(&app, room, Some("ann"), "what the heck").await;
        assert_eq!(status, StatusCode::CREATED, "{rewritten}");
        assert_eq!(rewritten["body"], "what the h**k");
        assert_eq!(rewritten["properties"], json!({"moderated": true, "by": "ann", "in": "room"}));

        let (status, plain) = send(&app, room, Some("bob"), "hello").await;
        assert_eq!(status, StatusCode::CREATED, "{plain}");
        assert_eq!((plain["body"].clone(), plain["properties"].clone()), (json!("hello"), json!({})));

        // The refused message was not stored, and fired nothing.
        let (_, messages) = app.get(&format!("/v1/channels/{room}/messages?sort=id,asc")).await;
        let bodies: Vec<&str> =
            messages["_embedded"]["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["what the h**k", "hello"]);
        let ran = finished(&app, sent, 2).await;
        let payloads: Vec<&Value> = ran.iter().map(|i| &i["result"]["payload"]).collect();
        assert_eq!(payloads, [&json!("what the h**k"), &json!("hello")]);

        // A system message does not pass the function.
        let (status, system) = send(&app, room, None, "darn maintenance").await;
        assert_eq!(status, StatusCode::CREATED, "{system}");
        assert_eq!(system["type"], "SYSTEM_TEXT");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_send_time_out_follows_the_blocking_policy() {
    each_store(|app| async move {
        let hook =
            deploy(&app, "user.attempted.send_message", "async function handleEvent() { while (true) {} }").await;
        let (status, _) = app.patch(&format!("/v1/functions/{hook}"), json!({"timeoutMs": 200})).await;
        assert_eq!(status, StatusCode::OK);
        user(&app, "ann").await;
        let room = channel(&app, "slow", &["ann"]).await;

        let (status, refused) = send(&app, room, Some("ann"), "first").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "FAIL_CLOSED by default: {refused}");
        assert_eq!(refused["error"], "MessageRejectedError");

        let settings =
            json!({"guestUsers": "DISABLED", "userCreatedChannels": "ENABLED", "blockingTimeoutPolicy": "FAIL_OPEN"});
        assert_eq!(app.put("/v1/application/settings", settings).await.0, StatusCode::OK);
        let (status, stored) = send(&app, room, Some("ann"), "second").await;
        assert_eq!(status, StatusCode::CREATED, "FAIL_OPEN stores it unchanged: {stored}");
        assert_eq!(stored["body"], "second");
        let (_, messages) = app.get(&format!("/v1/channels/{room}/messages")).await;
        assert_eq!(messages["page"]["totalElements"], 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_notifies_each_other_member_once_and_fires_sent_message_once() {
    each_store(|app| async move {
        let sent = deploy(
            &app,
            "user.sent.message",
            "async function handleEvent(e: any) { return { from: e.user.name, channel: e.channel.name, body: e.message.body, id: e.message.id } }",
        )
        .await;
        let notified = deploy(
            &app,
            "user.received.notification",
            "async function handleEvent(e: any) { return { to: e.user.name, type: e.notification.data.type, body: e.notification.body, online: e.userHasActiveSession, channel: e.notification.channel.name } }",
        )
        .await;
        let ids: Vec<i64> = users_named(&app, &["ann", "bob", "cid", "dan"]).await;
        let room = channel(&app, "room", &["ann", "bob", "cid", "dan"]).await;
        // dan leaves before anything is said.
        let (status, _) = app.delete(&format!("/v1/channels/{room}/members/{}", ids[3])).await;
        assert_eq!(status, StatusCode::OK);

        let (status, message) = send(&app, room, Some("ann"), "hi all").await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        let ran = finished(&app, sent, 1).await;
        assert_eq!(
            ran[0]["result"]["payload"],
            json!({"from": "ann", "channel": "room", "body": "hi all", "id": message["id"]})
        );
        let ran = finished(&app, notified, 2).await;
        let mut to: Vec<Value> = ran.iter().map(|i| i["result"]["payload"].clone()).collect();
        to.sort_by_key(|p| p["to"].as_str().unwrap().to_string());
        assert_eq!(
            to,
            [
                json!({"to": "bob", "type": "USER:SENT:MESSAGE", "body": "hi all", "online": false, "channel": "room"}),
                json!({"to": "cid", "type": "USER:SENT:MESSAGE", "body": "hi all", "online": false, "channel": "room"}),
            ]
        );

        // Stored, newest first, for the others only: not the sender, not who left.
        assert!(notifications(&app, ids[0]).await.is_empty());
        assert!(notifications(&app, ids[3]).await.is_empty());
        let bobs = notifications(&app, ids[1]).await;
        assert_eq!(bobs.len(), 1);
        let n = &bobs[0];
        assert_eq!((n["title"].clone(), n["body"].clone()), (json!("ANN sent a message"), json!("hi all")));
        assert_eq!(n["data"]["type"], "USER:SENT:MESSAGE");
        assert_eq!(n["data"]["channelId"], room);
        assert_eq!(n["data"]["message"]["id"], message["id"]);
        assert_eq!(n["channel"]["id"], room);
        assert_eq!(n["muted"], false);
        assert!(n.get("readTime").is_none());

        // Read once: the first time stays.
        let nid = n["id"].as_i64().unwrap();
        let (status, read) = app.post(&format!("/v1/users/{}/notifications/{nid}/read", ids[1]), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        let first = read["readTime"].as_str().unwrap().to_string();
        let (_, again) = app.post(&format!("/v1/users/{}/notifications/{nid}/read", ids[1]), json!({})).await;
        assert_eq!(again["readTime"], first);
        // Another user's notification is not this user's to read.
        let (status, _) = app.post(&format!("/v1/users/{}/notifications/{nid}/read", ids[2]), json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A system message notifies everyone and is nobody's sent message.
        let (status, _) = send(&app, room, None, "maintenance tonight").await;
        assert_eq!(status, StatusCode::CREATED);
        finished(&app, notified, 5).await;
        finished(&app, sent, 1).await;
        let anns = notifications(&app, ids[0]).await;
        assert_eq!(anns.len(), 1);
        assert_eq!(anns[0]["data"]["type"], "SYSTEM:SENT:MESSAGE");
        assert_eq!(anns[0]["title"], "New message in room");
        let bobs = notifications(&app, ids[1]).await;
        assert_eq!(bobs[0]["body"], "maintenance tonight", "newest first");
    })
    .await;
}

async fn users_named(app: &TestApp, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(user(app, name).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_page_newest_first_by_cursor() {
    each_store(|app| async move {
        let ids = users_named(&app, &["ann", "bob"]).await;
        let room = channel(&app, "room", &["ann", "bob"]).await;
        for n in 0..5 {
            assert_eq!(send(&app, room, Some("ann"), &format!("m{n}")).await.0, StatusCode::CREATED);
        }
        let bob = ids[1];
        let (_, first) = app.get(&format!("/v1/users/{bob}/notifications?size=2")).await;
        let bodies = |page: &Value| -> Vec<String> {
            page["_embedded"]["notifications"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["body"].as_str().unwrap().into())
                .collect()
        };
        assert_eq!(bodies(&first), ["m4", "m3"]);
        assert_eq!(first["page"]["size"], 2);
        assert!(first["_links"].get("prev").is_none());
        let next = first["_links"]["next"]["href"].as_str().unwrap().to_string();
        let path = &next[next.find("/v1/").unwrap()..];
        let (_, second) = app.get(path).await;
        assert_eq!(bodies(&second), ["m2", "m1"]);
        let prev = second["_links"]["prev"]["href"].as_str().unwrap().to_string();
        let (_, back) = app.get(&prev[prev.find("/v1/").unwrap()..]).await;
        assert_eq!(bodies(&back), ["m4", "m3"]);
        let last = second["_links"]["next"]["href"].as_str().unwrap().to_string();
        let (_, last) = app.get(&last[last.find("/v1/").unwrap()..]).await;
        assert_eq!(bodies(&last), ["m0"]);
        assert!(last["_links"].get("next").is_none());

        // Bad input names the parameter.
        for (query, named) in [
            ("size=0", "`size`"),
            ("relation=SIDEWAYS&start=3", "`relation`"),
            ("next=x", "`next`"),
            ("next=-1", "`next`"),
        ] {
            let (status, error) = app.get(&format!("/v1/users/{bob}/notifications?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
            assert!(error["message"].as_str().unwrap().contains(named), "{query}: {error}");
        }
        // A mix the links never write still names a page: `next` wins.
        let (status, mixed) = app.get(&format!("/v1/users/{bob}/notifications?start=3&next=2")).await;
        assert_eq!(status, StatusCode::OK, "{mixed}");
        let (_, by_next) = app.get(&format!("/v1/users/{bob}/notifications?next=2")).await;
        assert_eq!(mixed["_embedded"], by_next["_embedded"]);
        let (status, _) = app.get("/v1/users/999999/notifications").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_sessions_are_recorded_and_tell_who_is_online() {
    each_store(|app| async move {
        let settings = json!({"guestUsers": "ENABLED", "userCreatedChannels": "ENABLED"});
        assert_eq!(app.put("/v1/application/settings", settings).await.0, StatusCode::OK);
        let notified = deploy(
            &app,
            "user.received.notification",
            r#"async function handleEvent(e: any, context: any) {
                 const online = await context.getUserSessionApi().getActiveSessionExists(e.user.id).then(() => true, () => false);
                 return { to: e.user.name, flag: e.userHasActiveSession, online };
               }"#,
        )
        .await;
        let ids = users_named(&app, &["ann", "bob", "cid"]).await;
        let room = channel(&app, "room", &["ann", "bob", "cid"]).await;
        let (status, _) = app.head(&format!("/v1/users/{}/sessions", ids[1])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no session yet");

        // bob connects as a guest (no login function): a session starts.
        let (status, answer) = app.post("/v1/triggers/user.attempted.start_session", json!({"username": "bob", "authParams": {}})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let session = answer["sessionId"].as_i64().expect("the answer names the session");
        let (status, _) = app.head(&format!("/v1/users/{}/sessions", ids[1])).await;
        assert_eq!(status, StatusCode::OK);
        let (_, active) = app.get("/v1/user-sessions?state=ACTIVE").await;
        assert_eq!(active["page"]["totalElements"], 1, "{active}");
        assert_eq!(active["_embedded"]["sessions"][0]["user"]["name"], "bob");
        assert_eq!(active["_embedded"]["sessions"][0]["state"], "ACTIVE");

        assert_eq!(send(&app, room, Some("ann"), "anyone?").await.0, StatusCode::CREATED);
        let ran = finished(&app, notified, 2).await;
        let mut seen: Vec<Value> = ran.iter().map(|i| i["result"]["payload"].clone()).collect();
        seen.sort_by_key(|p| p["to"].as_str().unwrap().to_string());
        assert_eq!(seen, [json!({"to": "bob", "flag": true, "online": true}), json!({"to": "cid", "flag": false, "online": false})]);

        // Ended: offline again.
        let (status, ended) = app.delete(&format!("/v1/user-sessions/{session}")).await;
        assert_eq!(status, StatusCode::OK, "{ended}");
        assert_eq!(ended["state"], "ENDED");
        assert!(ended["endTime"].is_string());
        let (status, _) = app.head(&format!("/v1/users/{}/sessions", ids[1])).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, active) = app.get("/v1/user-sessions?state=ACTIVE").await;
        assert_eq!(active["page"]["totalElements"], 0);
        let (_, ended) = app.get("/v1/user-sessions?state=ENDED").await;
        assert_eq!(ended["page"]["totalElements"], 1);
        let (status, error) = app.get("/v1/user-sessions?state=ASLEEP").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("`state`"));
        assert_eq!(app.delete("/v1/user-sessions/987654").await.0, StatusCode::NOT_FOUND);

        // A login function that lets a known user in starts a session too;
        // one that refuses starts none.
        super::support::deploy_login_handler(
            &app,
            "async function handleEvent(e: any) { if (e.username === 'cid') throw new Error('banned'); return { ok: true } }",
        )
        .await;
        let (status, answer) = app.post("/v1/triggers/user.attempted.start_session", json!({"username": "ann", "authParams": {}})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert!(answer["sessionId"].is_i64(), "{answer}");
        let (status, _) = app.post("/v1/triggers/user.attempted.start_session", json!({"username": "cid", "authParams": {}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, active) = app.get("/v1/user-sessions?state=ACTIVE").await;
        let names: Vec<&str> = active["_embedded"]["sessions"].as_array().unwrap().iter().map(|s| s["user"]["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["ann"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_the_message_and_stores_nothing() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let app = TestApp::spawn_with(url, dir.clone(), |config| {
        config.queue.max_pending_per_application = 2;
        config.queue.concurrency = 1;
    })
    .await;
    deploy(&app, "user.sent.message", "async function handleEvent() { await new Promise(r => setTimeout(r, 2000)) }")
        .await;
    user(&app, "ann").await;
    let room = channel(&app, "room", &["ann"]).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(send(&app, room, Some("ann"), &format!("m{n}")).await);
    }
    assert_eq!(statuses[0].0, StatusCode::CREATED);
    assert_eq!(statuses[1].0, StatusCode::CREATED);
    let (status, error) = &statuses[2];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    assert_eq!(error["error"], "TooManyRequestsError");
    let (_, messages) = app.get(&format!("/v1/channels/{room}/messages")).await;
    assert_eq!(messages["page"]["totalElements"], 2, "a refused message is not stored");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_chat_operations_and_every_filter_they_list() {
    each_store(|app| async move {
        let ids = users_named(&app, &["ann", "bob", "cid"]).await;
        let both = channel(&app, "both", &["ann", "bob"]).await;
        let solo = channel(&app, "solo", &["cid"]).await;
        for (from, room, body) in [("ann", both, "Hello 100% of you"), ("bob", both, "hello_world"), ("cid", solo, "HELLO again")] {
            assert_eq!(send(&app, room, Some(from), body).await.0, StatusCode::CREATED);
        }
        let bodies = |page: &Value| -> Vec<String> {
            page["_embedded"]["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().into()).collect()
        };
        let ok = |path: String| {
            let app = app.clone();
            async move {
                let (status, page) = app.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{path}: {page}");
                page
            }
        };

        // Messages: by sender, by text (literal, any case), newest first.
        assert_eq!(bodies(&ok("/v1/messages?username=bob".into()).await), ["hello_world"]);
        assert_eq!(bodies(&ok("/v1/messages?query=hello".into()).await), ["HELLO again", "hello_world", "Hello 100% of you"]);
        assert_eq!(bodies(&ok("/v1/messages?query=100%25".into()).await), ["Hello 100% of you"]);
        assert_eq!(bodies(&ok("/v1/messages?query=o_w".into()).await), ["hello_world"], "_ is not a wildcard");
        assert!(bodies(&ok("/v1/messages?query=o%25w".into()).await).is_empty(), "% is not a wildcard");
        assert_eq!(bodies(&ok(format!("/v1/channels/{both}/messages?username=ann")).await), ["Hello 100% of you"]);
        assert_eq!(bodies(&ok(format!("/v1/users/{}/messages", ids[2])).await), ["HELLO again"]);
        // The filters stay in the page links.
        let page = ok("/v1/messages?query=hello&size=1".into()).await;
        let next = page["_links"]["next"]["href"].as_str().unwrap();
        assert!(next.contains("query=hello") && next.contains("page=1"), "{next}");
        for unsupported in ["start=1", "next=1", "relation=NEXT", "unread=true"] {
            let (status, error) = app.get(&format!("/v1/messages?{unsupported}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{unsupported}");
            let name = unsupported.split('=').next().unwrap();
            assert!(error["message"].as_str().unwrap().contains(&format!("`{name}`")), "{error}");
        }

        // Channels: a user's, by members, by creation time.
        let names = |page: &Value| -> Vec<String> {
            page["_embedded"]["channels"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().into()).collect()
        };
        assert_eq!(names(&ok(format!("/v1/users/{}/channels", ids[0])).await), ["both"]);
        assert_eq!(names(&ok("/v1/channels?members=ann&members=bob".into()).await), ["both"]);
        assert_eq!(names(&ok("/v1/channels?members=ann,cid".into()).await), Vec::<String>::new());
        assert_eq!(names(&ok("/v1/channels?startTime=2000-01-01T00:00:00Z".into()).await), ["both", "solo"]);
        assert!(names(&ok("/v1/channels?endTime=2000-01-01T00:00:00Z".into()).await).is_empty());
        for (query, named) in [("startTime=yesterday", "`startTime`"), ("properties=%7B%7D", "`properties`"), ("type=SECRET", "SECRET")] {
            let (status, error) = app.get(&format!("/v1/channels?{query}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
            assert!(error["message"].as_str().unwrap().contains(named), "{query}: {error}");
        }
        let (status, error) = app.get("/v1/users?properties=%7B%7D").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["message"].as_str().unwrap().contains("`properties`"));

        // Update one message, delete them all.
        let (_, all) = app.get("/v1/messages?username=ann").await;
        let first = all["_embedded"]["messages"][0]["id"].as_i64().unwrap();
        let (status, patched) =
            app.patch(&format!("/v1/messages/{first}"), json!({"body": "edited", "properties": {"pinned": true}})).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!((patched["body"].clone(), patched["properties"].clone()), (json!("edited"), json!({"pinned": true})));
        let (status, _) = app.patch(&format!("/v1/messages/{first}"), json!({"channelId": 7})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = app.patch("/v1/messages/999999", json!({"body": "x"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Participants: members online.
        let settings = json!({"guestUsers": "ENABLED", "userCreatedChannels": "ENABLED"});
        assert_eq!(app.put("/v1/application/settings", settings).await.0, StatusCode::OK);
        let (_, answer) = app.post("/v1/triggers/user.attempted.start_session", json!({"username": "bob", "authParams": {}})).await;
        assert!(answer["sessionId"].is_i64(), "{answer}");
        let online = ok(format!("/v1/channels/{both}/participants")).await;
        let online: Vec<&str> = online["_embedded"]["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(online, ["bob"]);

        // The same through a function's context.
        let probe = deploy(
            &app,
            "user.received.notification",
            r#"async function handleEvent(e: any, context: any) {
                 const users = context.getUserApi(), channels = context.getChannelApi(), messages = context.getMessageApi();
                 const mine = await users.listUserChannels(e.user.id);
                 const said = await users.listUserMessages(e.user.id);
                 const found = await messages.listMessages(10, undefined, "hello");
                 const here = await channels.listChannelParticipants(mine.data._embedded.channels[0].id);
                 return { channels: mine.data._embedded.channels.map((c: any) => c.name),
                          said: said.data.page.totalElements, found: found.data.page.totalElements,
                          online: here.data._embedded.users.map((u: any) => u.name) };
               }"#,
        )
        .await;
        assert_eq!(send(&app, both, Some("ann"), "ping").await.0, StatusCode::CREATED);
        let ran = finished(&app, probe, 1).await;
        assert_eq!(ran[0]["result"]["payload"], json!({"channels": ["both"], "said": 1, "found": 2, "online": ["bob"]}), "{:#}", ran[0]);

        let (status, _) = app.delete("/v1/messages").await;
        assert_eq!(status, StatusCode::OK);
        let (_, none) = app.get("/v1/messages").await;
        assert_eq!(none["page"]["totalElements"], 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_invites_memberships_read_receipts_and_threads() {
    each_store(|app| async move {
        let ids = users_named(&app, &["ann", "bob", "cid"]).await;
        let room = channel(&app, "room", &["ann", "bob"]).await;
        let names = |page: &Value, collection: &str| -> Vec<String> {
            page["_embedded"][collection]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.get("user").unwrap_or(e)["name"].as_str().unwrap().to_string())
                .collect()
        };

        // Memberships: who, since when.
        let (_, memberships) = app.get(&format!("/v1/channels/{room}/memberships")).await;
        assert_eq!(names(&memberships, "memberships"), ["ann", "bob"]);
        assert!(memberships["_embedded"]["memberships"][0]["createdTime"].is_string());

        // Moderators: members of group channels only.
        let (status, made) = app.post(&format!("/v1/channels/{room}/moderators"), json!({"username": "bob"})).await;
        assert_eq!(status, StatusCode::OK, "{made}");
        assert_eq!(made["name"], "bob");
        let (status, error) = app.post(&format!("/v1/channels/{room}/moderators"), json!({"username": "cid"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "not a member: {error}");
        let (_, moderators) = app.get(&format!("/v1/channels/{room}/moderators")).await;
        assert_eq!(names(&moderators, "users"), ["bob"]);
        let (status, _) = app.delete(&format!("/v1/channels/{room}/moderators/{}", ids[1])).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.delete(&format!("/v1/channels/{room}/moderators/{}", ids[1])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no longer a moderator");
        let (_, direct) = app
            .post("/v1/channels", json!({"type": "DIRECT", "members": [{"username": "ann"}, {"username": "bob"}]}))
            .await;
        let direct = direct["id"].as_i64().unwrap();
        let (status, _) = app.post(&format!("/v1/channels/{direct}/moderators"), json!({"username": "bob"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a direct channel has none");

        // Invites: to non-members; again answers the first.
        let (status, invite) =
            app.post(&format!("/v1/channels/{room}/invites"), json!({"user": {"username": "cid"}})).await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let (status, again) =
            app.post(&format!("/v1/channels/{room}/invites"), json!({"user": {"username": "cid"}})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again["id"], invite["id"]);
        let (status, _) = app.post(&format!("/v1/channels/{room}/invites"), json!({"user": {"username": "ann"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "already a member");
        let (_, invites) = app.get(&format!("/v1/channels/{room}/invites")).await;
        assert_eq!(names(&invites, "invites"), ["cid"]);

        // Read receipts: members, once.
        let (_, message) = send(&app, room, Some("ann"), "read me").await;
        let mid = message["id"].as_i64().unwrap();
        let (status, receipt) =
            app.post(&format!("/v1/messages/{mid}/read-receipts"), json!({"user": {"username": "bob"}})).await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        let (_, again) =
            app.post(&format!("/v1/messages/{mid}/read-receipts"), json!({"user": {"username": "bob"}})).await;
        assert_eq!(again["createdTime"], receipt["createdTime"], "the first read stays");
        let (status, _) =
            app.post(&format!("/v1/messages/{mid}/read-receipts"), json!({"user": {"username": "cid"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "not a member");
        let (_, receipts) = app.get(&format!("/v1/messages/{mid}/read-receipts")).await;
        assert_eq!(names(&receipts, "receipts"), ["bob"]);

        // Threads: replies to a message, kept out of the channel's main thread.
        let (status, thread) = app.get(&format!("/v1/threads/{mid}")).await;
        assert_eq!(status, StatusCode::OK, "{thread}");
        assert_eq!((thread["id"].clone(), thread["type"].clone()), (json!(mid), json!("STANDALONE")));
        let (status, reply) = app
            .post(
                &format!("/v1/threads/{mid}/messages"),
                json!({"type": "TEXT", "body": "done", "user": {"username": "bob"}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        assert_eq!(reply["nestedLevel"], 1);
        let (_, replies) = app.get(&format!("/v1/threads/{mid}/messages")).await;
        assert_eq!(replies["_embedded"]["messages"][0]["body"], "done");
        let (_, main) = app.get(&format!("/v1/channels/{room}/messages")).await;
        let bodies: Vec<&str> =
            main["_embedded"]["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["read me"]);
        let rid = reply["id"].as_i64().unwrap();
        let (status, _) =
            app.post(&format!("/v1/threads/{rid}/messages"), json!({"type": "TEXT", "body": "deeper"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "one level of replies");
        // The reply notified ann (the other member).
        let anns = notifications(&app, ids[0]).await;
        assert_eq!(anns[0]["body"], "done");
        assert_eq!(app.get("/v1/threads/999999").await.0, StatusCode::NOT_FOUND);
    })
    .await;
}

/// A login finds the user the platform has now, however often the same
/// name logged in before: unknown, created, renamed, deleted (the SQLite
/// store keeps users by name in memory for the login path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_sees_each_change_to_its_user_at_once() {
    each_store(|app| async move {
        // A guest's answer carries the user as the store has it.
        let settings = json!({"guestUsers": "ENABLED", "userCreatedChannels": "ENABLED"});
        assert_eq!(app.put("/v1/application/settings", settings).await.0, StatusCode::OK);
        let start_session = |name: &'static str| {
            let app = app.clone();
            async move {
                let (status, answer) = app
                    .post("/v1/triggers/user.attempted.start_session", json!({"username": name, "authParams": {}}))
                    .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                answer
            }
        };
        let guest = || async { start_session("amy").await["user"].clone() };
        let amy = guest().await;
        assert!(amy["id"].is_i64(), "a guest user: {amy}");
        assert_eq!(guest().await["id"], amy["id"], "the same guest");
        let (status, renamed) = app.patch(&format!("/v1/users/{}", amy["id"]), json!({"displayName": "Amy A"})).await;
        assert_eq!(status, StatusCode::OK, "{renamed}");
        assert_eq!(guest().await["displayName"], "Amy A", "renamed at once");

        super::support::deploy_login_handler(&app, "async function handleEvent(e: any) { return { ok: true } }").await;
        let login = || async { start_session("zed").await["sessionId"].is_i64() };
        let exists = || async { app.head("/v1/users?name=zed").await.0 };
        for _ in 0..3 {
            assert!(!login().await, "no such user: no session");
            assert_eq!(exists().await, StatusCode::NOT_FOUND);
        }
        let id = user(&app, "zed").await;
        assert!(login().await, "created: a session");
        assert_eq!(exists().await, StatusCode::OK);
        assert_eq!(app.delete(&format!("/v1/users/{id}")).await.0, StatusCode::OK);
        assert!(!login().await, "deleted: no session");
        assert_eq!(exists().await, StatusCode::NOT_FOUND);
        user(&app, "zed").await;
        assert!(login().await, "created again");
    })
    .await;
}
