//! `chatfn run`, as a developer runs it.

use std::process::Command;

use super::support::repo_path;

fn chatfn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatfn"));
    cmd.current_dir(repo_path(""));
    cmd
}

#[test]
fn run_prints_the_outcome_and_exits_zero() {
    let out =
        chatfn().args(["run", "fixtures/hello/handler.ts", "--event", "fixtures/hello/event.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "SUCCEEDED");
    assert_eq!(outcome["result"]["payload"]["greeting"], "Hello, jane!");
    assert_eq!(outcome["logs"][0]["message"], "hello, jane");
    assert!(outcome["durationMs"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_with_init_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let handler = dir.path().join("h.ts");
    let init = dir.path().join("init.ts");
    std::fs::write(&init, "const prefix: string = process.env.PREFIX + ':';").unwrap();
    std::fs::write(&handler, "async function handleEvent(e: { n: number }) { return prefix + e.n }").unwrap();
    let out = chatfn()
        .args([
            "run",
            handler.to_str().unwrap(),
            "--init",
            init.to_str().unwrap(),
            "--env",
            "PREFIX=id",
            "--event",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"{\"n\": 7}").unwrap();
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["result"]["payload"], "id:7");
}

#[test]
fn run_exits_one_on_failure_with_ts_positions() {
    let out = chatfn()
        .args(["run", "fixtures/runtime_error/handler.ts", "--event", "fixtures/runtime_error/event.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "FAILED");
    assert!(outcome["error"]["stack"].as_str().unwrap().contains("runtime_error/handler.ts:7:11"));

    let out = chatfn().args(["run", "fixtures/syntax_error/handler.ts"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["error"]["name"], "SyntaxError");
    assert_eq!((outcome["error"]["line"].as_u64(), outcome["error"]["column"].as_u64()), (Some(4), Some(32)));
}

#[test]
fn run_exits_two_on_bad_usage() {
    let out = chatfn().args(["run", "no/such/handler.ts"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/handler.ts"));

    let out = chatfn().args(["run", "fixtures/hello/handler.ts", "--event", "Cargo.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the event is not valid JSON"));

    let out = chatfn().args(["run", "fixtures/hello/handler.ts", "--env", "1BAD=x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A `chatfn serve` child process on a free port.
struct ServeProcess {
    child: std::process::Child,
    base: String,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    /// Everything written to standard error after the listening line.
    stderr: std::sync::Arc<parking_lot::Mutex<String>>,
}

impl ServeProcess {
    fn start(database_url: &str) -> ServeProcess {
        Self::start_with(database_url, &[])
    }

    fn start_with(database_url: &str, extra: &[&str]) -> ServeProcess {
        Self::start_with_env(database_url, extra, &[])
    }

    fn start_with_env(database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> ServeProcess {
        use std::io::BufRead;
        let mut child = chatfn()
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut base = None;
        let mut line = String::new();
        while base.is_none() {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "serve exited before listening");
            base = line.trim().strip_prefix("chatfn: listening on ").map(str::to_string);
        }
        // Keep draining stderr so the child never blocks on a full pipe.
        let kept = std::sync::Arc::new(parking_lot::Mutex::new(String::new()));
        let sink = kept.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
                sink.lock().push_str(&line);
                line.clear();
            }
        });
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        ServeProcess { child, base: base.unwrap(), stdout, stderr: kept }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl ServeProcess {
    /// The default application's credentials, printed once on stdout by a
    /// first start on an empty store.
    fn created_credentials(&mut self) -> serde_json::Value {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).expect("credentials printed as JSON")
    }
}

/// A test that fails leaves no server running behind it.
impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn token(base: &str, client_id: &str, secret: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{base}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap()
}

/// An application made with `chatfn apps create` on the store at `url`,
/// and a way to sign in as it at a server's base URL.
struct CreatedApp {
    id: String,
    secret: String,
}

impl CreatedApp {
    fn create(name: &str, url: &str) -> CreatedApp {
        let out = chatfn().args(["apps", "create", name, "--database-url", url]).output().unwrap();
        let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let field = |name: &str| created[name].as_str().unwrap().to_string();
        CreatedApp { id: field("clientId"), secret: field("clientSecret") }
    }

    /// A fresh access token from the server at `base`.
    fn bearer(&self, base: &str) -> String {
        token(base, &self.id, &self.secret).json::<serde_json::Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[test]
fn serve_creates_a_default_application_once_and_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());

    let mut server = ServeProcess::start(&url);
    let credentials = server.created_credentials();
    let (id, secret) = (credentials["clientId"].as_str().unwrap(), credentials["clientSecret"].as_str().unwrap());
    let res = token(&server.base, id, secret);
    assert_eq!(res.status(), 200);
    let access: serde_json::Value = res.json().unwrap();
    let res = reqwest::blocking::Client::new()
        .put(format!("{}/v1/runtimes/nodejs/environment-variables", server.base))
        .bearer_auth(access["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"KEPT": "yes"}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(server.stop().success(), "graceful shutdown exits 0");

    // Restarted on the same file: no new credentials, the data is there.
    let server = ServeProcess::start(&url);
    let res = token(&server.base, id, secret);
    let access: serde_json::Value = res.json().unwrap();
    let runtime: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/runtimes/nodejs", server.base))
        .bearer_auth(access["access_token"].as_str().unwrap())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(runtime["environmentVariables"]["KEPT"], "yes");
    let base = server.base.clone();
    assert!(server.stop().success());
    assert!(reqwest::blocking::get(format!("{base}/v1/application")).is_err(), "stopped server still answers");
}

#[test]
fn apps_create_prints_credentials_that_serve_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let out = chatfn().args(["apps", "create", "acme", "--database-url", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(created["applicationId"].as_i64().is_some());
    let server = ServeProcess::start(&url);
    assert_eq!(
        token(&server.base, created["clientId"].as_str().unwrap(), created["clientSecret"].as_str().unwrap()).status(),
        200
    );
    assert_eq!(token(&server.base, created["clientId"].as_str().unwrap(), "wrong").status(), 401);
    assert!(server.stop().success());
}

#[test]
fn serve_refuses_a_bad_configuration_clearly() {
    let out = chatfn().args(["serve", "--database-url", "mysql://nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("use sqlite://FILE or postgres://"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = chatfn().args(["serve", "--database-url", "sqlite::memory:"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("keeps its SQLite store in a file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = chatfn().args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}

#[test]
fn accepted_events_survive_a_kill_9() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let app = CreatedApp::create("crash", &url);
    let http = reqwest::blocking::Client::new();
    let bearer = |base: &str| app.bearer(base);

    let mut server = ServeProcess::start(&url);
    let auth = bearer(&server.base);
    let function: serde_json::Value = http
        .post(format!("{}/v1/runtimes/nodejs/functions", server.base))
        .bearer_auth(&auth)
        .json(&json!({"type": "user.sent.message", "name": "slow"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let function_id = function["id"].as_i64().unwrap();
    let res = http
        .post(format!("{}/v1/functions/{function_id}/versions", server.base))
        .bearer_auth(&auth)
        .json(&json!({"handlerScript": "async function handleEvent(e: any) { await new Promise(r => setTimeout(r, 200)); return e.n }"}))
        .send()
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut accepted = Vec::new();
    for n in 0..40 {
        let res = http
            .post(format!("{}/v1/triggers/user.sent.message", server.base))
            .bearer_auth(&auth)
            .json(&json!({"n": n, "user": {}, "channel": {}, "message": {}}))
            .send()
            .unwrap();
        assert_eq!(res.status(), 202);
        accepted.push(res.json::<serde_json::Value>().unwrap()["invocationIds"][0].as_i64().unwrap());
    }
    // Killed with work queued and running (the handler takes 200 ms).
    std::thread::sleep(std::time::Duration::from_millis(100));
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = ServeProcess::start(&url);
    let auth = bearer(&server.base);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let page: serde_json::Value = http
            .get(format!("{}/v1/functions/{function_id}/invocations?status=SUCCEEDED&size=100", server.base))
            .bearer_auth(&auth)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let mut done: Vec<i64> = page["_embedded"]["invocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["args"]["n"].as_i64().unwrap())
            .collect();
        done.sort();
        done.dedup();
        if done.len() == 40 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after a restart only {} of 40 accepted events finished",
            done.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The attempts the kill cut short are not left RUNNING (or QUEUED) in
    // the log: they are FAILED as interrupted, beside the attempt that ran.
    let page: serde_json::Value = http
        .get(format!("{}/v1/functions/{function_id}/invocations?size=100", server.base))
        .bearer_auth(&auth)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let all = page["_embedded"]["invocations"].as_array().unwrap();
    let interrupted = all.iter().filter(|i| i["status"] == "FAILED").collect::<Vec<_>>();
    assert!(!interrupted.is_empty(), "some attempts were running when the host was killed");
    for i in &interrupted {
        assert_eq!(i["error"]["name"], "InterruptedError", "{i:#}");
    }
    assert_eq!(all.len(), 40 + interrupted.len(), "{page:#}");
    // Each 202's invocation id is in the log: the first attempt that ran,
    // or the one the kill cut short (claimed, perhaps never started).
    let logged: std::collections::HashSet<i64> = all.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let missing: Vec<_> = accepted.iter().filter(|id| !logged.contains(id)).collect();
    assert!(missing.is_empty(), "accepted invocations not in the log: {missing:?}\n{page:#}");
    assert!(server.stop().success());
}

#[test]
fn deps_install_shows_progress_and_the_installed_versions() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let registry = format!("http://{}", super::npm_registry::registry().addr);
    let cache = dir.path().join("packages");
    let mut server =
        ServeProcess::start_with(&url, &["--npm-registry", &registry, "--npm-cache-dir", cache.to_str().unwrap()]);
    let credentials = server.created_credentials();
    let install = |specs: &[&str]| {
        chatfn()
            .args(["deps", "install"])
            .args(specs)
            .args(["--server", &server.base])
            // Generated credentials may begin with `-`: they must still parse as values.
            .args(["--client-id", credentials["clientId"].as_str().unwrap()])
            .args(["--client-secret", credentials["clientSecret"].as_str().unwrap()])
            .output()
            .unwrap()
    };

    // slowpoke's tarball takes a second: long enough to see progress.
    let ok = install(&["greet@~1.1", "shout", "@scope/pkg@>=1 <3 || 4", "slowpoke"]);
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(ok.status.success(), "{stderr}");
    assert!(stderr.contains("/5 packages"), "a progress line per change: {stderr}");
    let printed: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        printed["installedDependencies"],
        serde_json::json!({"greet": "1.1.0", "shout": "2.0.0", "@scope/pkg": "2.5.0", "slowpoke": "1.0.0"})
    );
    assert_eq!(printed["installedPackages"], 5);
    assert!(cache.read_dir().unwrap().count() >= 4, "the packages are in the cache");

    let failed = install(&["greet@^9"]);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("400 Bad Request: no version of greet matches \"^9\""), "{stderr}");
    assert!(server.stop().success());
}

#[test]
fn credentials_that_begin_with_a_hyphen_are_values() {
    // Secrets are random base64url: one in 32 begins with `-`.
    let out = chatfn()
        .args([
            "deps",
            "install",
            "lodash",
            "--server",
            "http://127.0.0.1:9",
            "--client-id",
            "-id",
            "--client-secret",
            "-secret",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("could not be reached"), "parsed, then failed to connect: {stderr}");
}

#[test]
fn logs_show_a_functions_invocations_and_follow_new_ones() {
    use serde_json::json;
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let mut server = ServeProcess::start(&url);
    let credentials = server.created_credentials();
    let (id, secret) = (credentials["clientId"].as_str().unwrap(), credentials["clientSecret"].as_str().unwrap());
    let auth = token(&server.base, id, secret).json::<serde_json::Value>().unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{}{path}", server.base)).bearer_auth(&auth).json(&body).send().unwrap()
    };
    let function: serde_json::Value =
        post("/v1/runtimes/nodejs/functions", json!({"type": "user.attempted.start_session", "name": "Login"}))
            .json()
            .unwrap();
    let handler = "async function handleEvent(e: any) {\n  console.log(`login ${e.username}`);\n  if (e.username === 'mallory') throw new Error('no entry');\n  return { user: e.username };\n}";
    assert_eq!(
        post(&format!("/v1/functions/{}/versions", function["id"]), json!({"handlerScript": handler})).status(),
        201
    );
    let login =
        |name: &str| post("/v1/triggers/user.attempted.start_session", json!({"username": name, "authParams": {}}));
    assert_eq!(login("jane").status(), 200);
    assert_eq!(login("mallory").status(), 403);
    let logs = |args: &[&str]| {
        chatfn()
            .arg("logs")
            .args(args)
            .args(["--server", &server.base, "--client-id", id, "--client-secret", secret])
            .output()
            .unwrap()
    };

    // By name, oldest of the newest first: outcome, TS stack, console.
    let out = logs(&["Login"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let jane = text.find("SUCCEEDED").expect("jane's invocation");
    let mallory = text.find("FAILED").expect("mallory's invocation");
    assert!(jane < mallory, "{text}");
    assert!(text.contains("  = {\"user\":\"jane\"}"), "{text}");
    assert!(text.contains("  ! Error: no entry") && text.contains("handler.ts:3:"), "{text}");
    assert!(text.contains("  [info] login mallory"), "{text}");

    // By id, filtered, as JSON lines.
    let out = logs(&[&function["id"].to_string(), "--status", "failed", "--json"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"]["message"], "no entry");

    let out = logs(&["Nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no function named \"Nope\""));

    // --follow prints what finishes after it started.
    let mut follow = chatfn()
        .args(["logs", "Login", "--limit", "1", "--json", "--follow"])
        .args(["--server", &server.base, "--client-id", id, "--client-secret", secret])
        .stdout(std::process::Stdio::piped())
        // Not the test's own stderr: a follower left running by a failed
        // assertion would keep it open, and cargo waiting.
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, printed) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str::<serde_json::Value>(&line).unwrap());
        }
    });
    let next = || printed.recv_timeout(std::time::Duration::from_secs(30)).expect("logs --follow printed nothing");
    assert_eq!(next()["error"]["message"], "no entry", "the newest one first");
    assert_eq!(login("ann").status(), 200);
    assert_eq!(next()["args"]["username"], "ann", "then only what came after");
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert!(server.stop().success());
}

#[test]
fn a_messages_events_survive_a_kill_9() {
    use serde_json::{json, Value};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let app = CreatedApp::create("crash", &url);
    let http = reqwest::blocking::Client::new();
    let bearer = |base: &str| app.bearer(base);
    let call = |base: &str, auth: &str, method: reqwest::Method, path: &str, body: Value| -> Value {
        let res = http.request(method, format!("{base}{path}")).bearer_auth(auth).json(&body).send().unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().unwrap()
    };

    let mut server = ServeProcess::start(&url);
    let auth = bearer(&server.base);
    let post = |path: &str, body: Value| call(&server.base, &auth, reqwest::Method::POST, path, body);
    let function = post("/v1/runtimes/nodejs/functions", json!({"type": "user.received.notification", "name": "push"}));
    let function_id = function["id"].as_i64().unwrap();
    // Slow, so that the kill finds most notifications not yet run.
    let script =
        "async function handleEvent(e: any) { await new Promise(r => setTimeout(r, 200)); return e.notification.id }";
    post(&format!("/v1/functions/{function_id}/versions"), json!({ "handlerScript": script }));
    let ids: Vec<i64> = ["ann", "bob", "cid"]
        .iter()
        .map(|name| post("/v1/users", json!({"name": name, "displayName": name}))["id"].as_i64().unwrap())
        .collect();
    let members = json!([{"username": "ann"}, {"username": "bob"}, {"username": "cid"}]);
    let channel = post("/v1/channels", json!({"type": "PUBLIC", "name": "room", "members": members}));
    let room = channel["id"].as_i64().unwrap();
    for n in 0..15 {
        post(
            &format!("/v1/channels/{room}/messages"),
            json!({"type": "TEXT", "body": format!("m{n}"), "user": {"username": "ann"}}),
        );
    }
    // Fifteen messages, two recipients each: thirty notifications to push.
    std::thread::sleep(std::time::Duration::from_millis(100));
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = ServeProcess::start(&url);
    let auth = bearer(&server.base);
    let get = |path: &str| call(&server.base, &auth, reqwest::Method::GET, path, Value::Null);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let page = get(&format!("/v1/functions/{function_id}/invocations?status=SUCCEEDED&size=100"));
        let mut pushed: Vec<i64> = page["_embedded"]["invocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["result"]["payload"].as_i64().unwrap())
            .collect();
        pushed.sort();
        let before = pushed.len();
        pushed.dedup();
        assert_eq!(before, pushed.len(), "no notification pushed twice: {page:#}");
        if pushed.len() == 30 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after a restart {} of 30 notifications were pushed",
            pushed.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Every message has its notifications, and every notification was pushed.
    let notified = |user: i64| get(&format!("/v1/users/{user}/notifications?size=100"));
    let (bobs, cids) = (notified(ids[1]), notified(ids[2]));
    assert_eq!(bobs["_embedded"]["notifications"].as_array().unwrap().len(), 15);
    assert_eq!(cids["_embedded"]["notifications"].as_array().unwrap().len(), 15);
    assert!(server.stop().success());
}

#[test]
fn run_into_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let handler = dir.path().join("big.ts");
    std::fs::write(&handler, "async function handleEvent() { return 'x'.repeat(800_000) }").unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").unwrap();
    let mut child = chatfn()
        .args(["run", handler.to_str().unwrap(), "--event", event.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, as `| head -c 0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}

/// A bounded crash soak: 25 times, events under load and a SIGKILL; then
/// every accepted event has succeeded, no attempt succeeded twice, and the
/// store passes SQLite's integrity check.
#[test]
fn a_crash_soak_loses_no_accepted_event() {
    use serde_json::{json, Value};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chatfn.db");
    let url = format!("sqlite://{}", file.display());
    let app = CreatedApp::create("soak", &url);
    let http = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    let bearer = |base: &str| app.bearer(base);
    let server = ServeProcess::start(&url);
    let auth = bearer(&server.base);
    let function: Value = http
        .post(format!("{}/v1/runtimes/nodejs/functions", server.base))
        .bearer_auth(&auth)
        .json(&json!({"type": "user.sent.message", "name": "soak"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let function_id = function["id"].as_i64().unwrap();
    let script = "async function handleEvent(e: any) { await new Promise(r => setTimeout(r, 5)); return e.n }";
    let res = http
        .post(format!("{}/v1/functions/{function_id}/versions", server.base))
        .bearer_auth(&auth)
        .json(&json!({ "handlerScript": script }))
        .send()
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut server = Some(server);
    let mut accepted = Vec::new();
    let mut n = 0;
    for _cycle in 0..25 {
        let mut running = server.take().unwrap_or_else(|| ServeProcess::start(&url));
        let auth = bearer(&running.base);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(150);
        while std::time::Instant::now() < until {
            let sent = http
                .post(format!("{}/v1/triggers/user.sent.message", running.base))
                .bearer_auth(&auth)
                .json(&json!({"n": n, "user": {}, "channel": {}, "message": {}}))
                .send();
            if let Ok(res) = sent {
                if res.status() == 202 {
                    accepted.push(n);
                }
            }
            n += 1;
        }
        running.child.kill().unwrap();
        running.child.wait().unwrap();
    }
    let running = ServeProcess::start(&url);
    let auth = bearer(&running.base);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let mut done = std::collections::BTreeSet::new();
        let mut page = 0;
        loop {
            let listing: Value = http
                .get(format!(
                    "{}/v1/functions/{function_id}/invocations?status=SUCCEEDED&size=100&page={page}",
                    running.base
                ))
                .bearer_auth(&auth)
                .send()
                .unwrap()
                .json()
                .unwrap();
            let items = listing["_embedded"]["invocations"].as_array().unwrap().clone();
            done.extend(items.iter().map(|i| i["result"]["payload"].as_i64().unwrap()));
            if items.len() < 100 {
                break;
            }
            page += 1;
        }
        if accepted.iter().all(|n| done.contains(n)) {
            break;
        }
        let missing = accepted.iter().filter(|n| !done.contains(n)).count();
        assert!(
            std::time::Instant::now() < deadline,
            "{missing} of {} accepted events never succeeded",
            accepted.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(running.stop().success());
    assert!(accepted.len() > 100, "the soak accepted {} events", accepted.len());

    let db = rusqlite::Connection::open(&file).unwrap();
    let twice: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM (SELECT job_id, attempt FROM invocations WHERE status = 'SUCCEEDED' \
             GROUP BY job_id, attempt HAVING COUNT(*) > 1)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0, "an attempt succeeded twice");
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn a_developer_deploys_invokes_and_rolls_back_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let mut server = ServeProcess::start(&url);
    let credentials = server.created_credentials();
    let cli = |args: &[&str]| {
        let out = chatfn()
            .args(args)
            .env("CHATFN_SERVER", &server.base)
            .env("CHATFN_CLIENT_ID", credentials["clientId"].as_str().unwrap())
            .env("CHATFN_CLIENT_SECRET", credentials["clientSecret"].as_str().unwrap())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let file = dir.path().join("login.ts");
    let path = file.to_str().unwrap();
    std::fs::write(&file, "async function handleEvent(e: any) {\n  return { hi: e.username +; }\n}\n").unwrap();

    // A compile error: the file, line and column, the line and a caret.
    let (code, _, err) = cli(&["deploy", path, "--type", "user.attempted.start_session"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("login.ts:2:"), "{err}");
    assert!(err.contains("  return { hi: e.username +; }\n") && err.contains(" ^"), "{err}");
    let (_, listed, _) = cli(&["functions"]);
    assert!(listed.contains("login"), "the function was created before the version was refused: {listed}");

    std::fs::write(&file, "async function handleEvent(e: any) { return { hi: e.username, v: 1 } }\n").unwrap();
    let (code, out, err) = cli(&["deploy", path]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("as version 1 of function \"login\""), "{out}");
    std::fs::write(&file, "async function handleEvent(e: any) { return { hi: e.username, v: 2 } }\n").unwrap();
    let (code, out, _) = cli(&["deploy", path]);
    assert_eq!(code, Some(0));
    assert!(out.contains("as version 2"), "{out}");

    let (_, versions, _) = cli(&["versions", "login"]);
    let current: Vec<&str> = versions.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1, "{versions}");
    assert!(current[0].contains("   2"), "{versions}");

    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"username": "ann", "authParams": {}}"#).unwrap();
    let (code, out, err) = cli(&["invoke", "login", "--event", event.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["result"]["payload"], serde_json::json!({"hi": "ann", "v": 2}));

    let (code, out, _) = cli(&["rollback", "login", "1"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("now runs version 1"), "{out}");
    let (_, out, _) = cli(&["invoke", "login", "--event", event.to_str().unwrap()]);
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["result"]["payload"]["v"], 1, "rolled back");
    // A test run of version 2, and of a draft, deploys nothing.
    let (code, out, _) = cli(&["invoke", "login", "--event", event.to_str().unwrap(), "--version", "2"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"v\":2"), "{out}");
    let draft = dir.path().join("draft.ts");
    std::fs::write(&draft, "async function handleEvent() { return 'draft' }").unwrap();
    let (code, out, _) =
        cli(&["invoke", "login", "--event", event.to_str().unwrap(), "--draft", draft.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"payload\":\"draft\""), "{out}");
    let (_, versions, _) = cli(&["versions", "login"]);
    assert!(versions.lines().find(|l| l.starts_with('*')).unwrap().contains("   1"), "still version 1: {versions}");
    let (code, _, err) = cli(&["rollback", "login", "9"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("404"), "{err}");

    // Environment variables: set, masked, shown, unset.
    assert_eq!(cli(&["env", "set", "API_KEY=sekrit", "REGION=eu"]).0, Some(0));
    let (_, masked, _) = cli(&["env", "list"]);
    assert!(masked.contains("API_KEY=******") && !masked.contains("sekrit"), "{masked}");
    let (_, shown, _) = cli(&["env", "list", "--show"]);
    assert!(shown.contains("API_KEY=sekrit") && shown.contains("REGION=eu"), "{shown}");
    assert_eq!(cli(&["env", "unset", "API_KEY"]).0, Some(0));
    let (_, left, _) = cli(&["env", "list", "--show"]);
    assert_eq!(left.trim(), "REGION=eu");
    let (code, _, err) = cli(&["env", "set", "no-equals"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("NAME=VALUE"), "{err}");

    let init = dir.path().join("init.ts");
    std::fs::write(&init, "const greeting: string = 'hello';").unwrap();
    let (code, out, err) = cli(&["init-script", init.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("runtime version"), "{out}");
    assert!(server.stop().success());
}

#[test]
fn log_lines_can_be_json() {
    let out = chatfn()
        .args(["--log-format", "json", "run", "fixtures/hello/handler.ts", "--event", "fixtures/hello/event.json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CHATFN_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "debug logging says something");
    for line in lines {
        let record: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(record["timestamp"].is_string() && record["level"].is_string(), "{line}");
    }
}

#[test]
fn a_developer_signs_in_once_and_the_commands_use_the_saved_profile() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let mut server = ServeProcess::start(&url);
    let credentials = server.created_credentials();
    let client_id = credentials["clientId"].as_str().unwrap();
    let config = dir.path().join("config");
    // Nothing but the config directory: no server, id or secret given.
    let cli = |args: &[&str], stdin: &str| {
        let mut child = chatfn()
            .args(args)
            .env("CHATFN_CONFIG_DIR", &config)
            .env_remove("CHATFN_SERVER")
            .env_remove("CHATFN_CLIENT_ID")
            .env_remove("CHATFN_CLIENT_SECRET")
            .env_remove("CHATFN_PROFILE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, _, err) = cli(&["functions"], "");
    assert_eq!(code, Some(1));
    assert!(err.contains("chatfn login"), "{err}");

    // A wrong secret is refused and saves nothing.
    let (code, _, err) = cli(&["login", "--server", &server.base, "--client-id", client_id], "wrong\n");
    assert_eq!(code, Some(1));
    assert!(err.contains("refused"), "{err}");
    assert!(!config.join("profiles.toml").exists());

    // The secret read from standard input; the file is the user's alone.
    let secret = format!("{}\n", credentials["clientSecret"].as_str().unwrap());
    let (code, out, err) = cli(&["login", "--server", &server.base, "--client-id", client_id], &secret);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("signed in to {}", server.base)) && out.contains("profile \"default\""), "{out}");
    let file = config.join("profiles.toml");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    let source = dir.path().join("greet.ts");
    std::fs::write(&source, "async function handleEvent(e: any) { return 'hi ' + e.username }\n").unwrap();
    let (code, out, err) = cli(&["deploy", source.to_str().unwrap(), "--type", "user.attempted.start_session"], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("as version 1 of function \"greet\""), "{out}");
    let (code, listed, _) = cli(&["functions"], "");
    assert_eq!(code, Some(0));
    assert!(listed.contains("greet"), "{listed}");

    // A second profile by name; the list shows both, no secret.
    let (code, _, err) =
        cli(&["login", "--profile", "staging", "--server", &server.base, "--client-id", client_id], &secret);
    assert_eq!(code, Some(0), "{err}");
    let (_, profiles, _) = cli(&["profiles"], "");
    assert!(profiles.contains("default") && profiles.contains("staging"), "{profiles}");
    assert!(!profiles.contains(secret.trim()), "{profiles}");
    assert_eq!(cli(&["functions", "--profile", "staging"], "").0, Some(0));

    let (code, out, _) = cli(&["logout"], "");
    assert_eq!(code, Some(0));
    assert!(out.contains("forgotten"), "{out}");
    let (code, _, err) = cli(&["functions"], "");
    assert_eq!(code, Some(1), "signed out of the default profile");
    assert!(err.contains("chatfn login"), "{err}");
    assert_eq!(cli(&["functions", "--profile", "staging"], "").0, Some(0), "the other profile is kept");
    assert_eq!(cli(&["logout", "--profile", "nope"], "").0, Some(1));
    assert!(server.stop().success());
}

/// ChatKitty's own sample login function (from its Platform API's
/// examples), run with `chatfn run` alone: its context reaches a local
/// chat platform whose data a kept store holds across runs, and `--deps`
/// installs what `require` loads.
#[test]
fn run_has_a_chat_platform_and_packages_for_chatkittys_sample() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dev.db");
    let registry = format!("http://{}", super::npm_registry::registry().addr);
    let cache = dir.path().join("packages");
    let run = |handler: &str, event: &str, extra: &[&str]| {
        let (file, event_file) = (dir.path().join("handler.ts"), dir.path().join("event.json"));
        std::fs::write(&file, handler).unwrap();
        std::fs::write(&event_file, event).unwrap();
        let out = chatfn()
            .args(["run", file.to_str().unwrap(), "--event", event_file.to_str().unwrap()])
            .args(["--store", store.to_str().unwrap(), "--npm-registry", &registry])
            .args(["--npm-cache-dir", cache.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let outcome: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        (out.status.code(), outcome, stderr)
    };

    // The sample adds each new user to a channel the author made first.
    let (code, made, err) = run(
        "async function handleEvent(e: any, context: any) {\n  const channel = await context.getChannelApi().createChannel({ type: 'PUBLIC', name: 'general' });\n  return channel.data.id;\n}",
        "{}",
        &["--trigger", "user.sent.message"],
    );
    assert_eq!(code, Some(0), "{made} {err}");
    let channel = made["result"]["payload"].as_i64().expect("a channel id");

    let sample = std::fs::read_to_string(super::support::repo_path("examples/chatkitty-login/handler.ts")).unwrap();
    let sample = sample.replace("702", &channel.to_string());
    let event = r#"{"username": "jane@example.com", "authParams": {"displayName": "Jane"}}"#;
    let (code, outcome, err) = run(&sample, event, &[]);
    assert_eq!(code, Some(0), "{outcome} {err}");
    assert_eq!(outcome["result"]["payload"], serde_json::json!(["Hello jane@example.com"]));

    // The user the sample created is in the store, a member of the channel;
    // a package installed for the run is required from it.
    let (code, outcome, err) = run(
        "const greet = require('greet');\nasync function handleEvent(e: any, context: any) {\n  const members = await context.getChannelApi().retrieveChannelMembers(Number(e.channel));\n  return { greeting: greet(members.data._embedded.users[0].displayName), count: members.data.page.totalElements };\n}",
        &format!(r#"{{"channel": {channel}}}"#),
        &["--trigger", "user.sent.message", "--deps", "greet@~1.1"],
    );
    assert_eq!(code, Some(0), "{outcome} {err}");
    assert_eq!(outcome["result"]["payload"], serde_json::json!({"greeting": "HELLO JANE!", "count": 1}));

    // Without --store, each run starts from nothing.
    let out = chatfn()
        .args([
            "run",
            dir.path().join("handler.ts").to_str().unwrap(),
            "--event",
            dir.path().join("event.json").to_str().unwrap(),
        ])
        .args([
            "--trigger",
            "user.sent.message",
            "--npm-registry",
            &registry,
            "--npm-cache-dir",
            cache.to_str().unwrap(),
        ])
        .args(["--deps", "greet@~1.1"])
        .output()
        .unwrap();
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "FAILED", "a fresh store has no channel {channel}: {outcome}");
    assert!(
        outcome["error"]["message"].as_str().unwrap().contains("404")
            || outcome["error"]["message"].as_str().unwrap().contains("not found"),
        "{outcome}"
    );
}

/// An OTLP/HTTP receiver on loopback: the spans posted to `/v1/traces`,
/// decoded from protobuf as a collector would.
fn otlp_receiver() -> (String, std::sync::Arc<parking_lot::Mutex<Vec<opentelemetry_proto::tonic::trace::v1::Span>>>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let spans = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let kept = spans.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |body: axum::body::Bytes| async move {
                    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                    let mut kept = kept.lock();
                    for resource in request.resource_spans {
                        for scope in resource.scope_spans {
                            kept.extend(scope.spans);
                        }
                    }
                    ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
                }),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{addr}"), spans)
}

/// An operator follows one invocation by its id: through the log lines
/// (`CHATFN_LOG=chatfn=info`) and through the spans exported over OTLP
/// (HTTP request, invocation, engine run, recorder write: one trace).
#[test]
fn an_invocation_is_followed_by_its_id_through_logs_and_traces() {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let (collector, spans) = otlp_receiver();
    let mut server =
        ServeProcess::start_with_env(&url, &["--otlp-endpoint", &collector], &[("CHATFN_LOG", "chatfn=info")]);
    let credentials = server.created_credentials();
    let http = reqwest::blocking::Client::new();
    let bearer =
        token(&server.base, credentials["clientId"].as_str().unwrap(), credentials["clientSecret"].as_str().unwrap())
            .json::<serde_json::Value>()
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
    let post = |path: &str, body: serde_json::Value| -> serde_json::Value {
        http.post(format!("{}{path}", server.base)).bearer_auth(&bearer).json(&body).send().unwrap().json().unwrap()
    };
    let function = post(
        "/v1/runtimes/nodejs/functions",
        serde_json::json!({"type": "user.attempted.start_session", "name": "login"}),
    );
    let id = function["id"].as_i64().unwrap();
    post(
        &format!("/v1/functions/{id}/versions"),
        serde_json::json!({"handlerScript": "async function handleEvent(e: any) { console.log('hunter2 is not logged'); return e.username }"}),
    );
    let answer = post(
        "/v1/triggers/user.attempted.start_session",
        serde_json::json!({"username": "ann", "authParams": {"password": "hunter2"}}),
    );
    let invocation_id = answer["invocationId"].as_i64().unwrap();
    let stderr = server.stderr.clone();
    // Stopping flushes the spans still batched.
    assert!(server.stop().success());

    // The log line names it (and nothing of the event).
    let logs = stderr.lock().clone();
    let finished = logs.lines().find(|l| l.contains("invocation finished")).unwrap_or_else(|| panic!("{logs}"));
    assert!(finished.contains(&format!("invocation_id={invocation_id}")), "{finished}");
    assert!(!logs.contains("hunter2"), "an event or console line in the logs: {logs}");

    // The spans: one trace from the HTTP request to the recorder's write.
    let spans = spans.lock().clone();
    let attribute = |span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str| {
        span.attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone()?.value)
    };
    let named = |name: &str| spans.iter().filter(|s| s.name == name).cloned().collect::<Vec<_>>();
    let invocation = named("invocation")
        .into_iter()
        .find(|s| attribute(s, "invocation_id") == Some(AnyValue::IntValue(invocation_id)))
        .unwrap_or_else(|| panic!("no invocation span among {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>()));
    assert_eq!(attribute(&invocation, "outcome"), Some(AnyValue::StringValue("returned".into())));
    let request = spans.iter().find(|s| s.span_id == invocation.parent_span_id).expect("the invocation's parent span");
    assert_eq!(request.name, "http.request");
    assert_eq!(attribute(request, "http.route"), Some(AnyValue::StringValue("/v1/triggers/:type".into())));
    assert_eq!(attribute(request, "http.response.status_code"), Some(AnyValue::IntValue(200)));
    let in_trace = |name: &str| named(name).into_iter().filter(|s| s.trace_id == invocation.trace_id).count();
    assert!(in_trace("engine.run") >= 1, "the engine's run is in the invocation's trace");
    let writes: Vec<_> = named("recorder.write").into_iter().filter(|s| s.trace_id == invocation.trace_id).collect();
    assert_eq!(writes.len(), 1, "the recorder's write is in the invocation's trace");
    assert_eq!(attribute(&writes[0], "invocation_id"), Some(AnyValue::IntValue(invocation_id)));
    for span in &spans {
        for kv in &span.attributes {
            let text = format!("{:?}", kv.value);
            assert!(!text.contains("hunter2") && !text.contains(&bearer), "a secret or event in span {}", span.name);
        }
    }
}

/// Three `chatfn serve` hosts on one fresh PostgreSQL database behave as
/// one: a version deployed through one is served by the others at once
/// (their caches told by LISTEN/NOTIFY, not expired: a minute's cache
/// here), so is a user created or deleted through one, and events accepted by all three, one host SIGKILLed mid-run,
/// all succeed exactly once, its jobs taken over after their short lease.
#[test]
fn three_hosts_on_one_postgresql_store_behave_as_one() {
    use serde_json::{json, Value};
    let Ok(admin_url) = std::env::var("CHATFN_TEST_DATABASE_URL") else {
        eprintln!("notice: skipping the three-host test: CHATFN_TEST_DATABASE_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let name = format!("chatfn_hosts_{}", chatfn::api::auth::random_token(8).to_lowercase().replace(['-', '_'], "x"));
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    });
    let _drop = super::support::PgDatabase { admin_url: admin_url.clone(), name: name.clone() };
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let url = url.to_string();

    let app = CreatedApp::create("hosts", &url);
    let flags = ["--cache-ttl-ms", "60000", "--lease-secs", "3"];
    let mut hosts: Vec<ServeProcess> = (0..3).map(|_| ServeProcess::start_with(&url, &flags)).collect();
    let bases: Vec<String> = hosts.iter().map(|h| h.base.clone()).collect();
    let auth = app.bearer(&bases[0]);
    let http = reqwest::blocking::Client::new();
    let post = |base: &str, path: &str, body: Value| -> (u16, Value) {
        let res = http.post(format!("{base}{path}")).bearer_auth(&auth).json(&body).send().unwrap();
        (res.status().as_u16(), res.json().unwrap_or(Value::Null))
    };
    let login = |base: &str| {
        post(base, "/v1/triggers/user.attempted.start_session", json!({"username": "ann", "authParams": {}})).1
            ["result"]["payload"]
            .clone()
    };

    // Deployed through the first host; every host answers with it, and
    // with the next version at once (a minute's cache would hide it).
    let (_, function) = post(
        &bases[0],
        "/v1/runtimes/nodejs/functions",
        json!({"type": "user.attempted.start_session", "name": "login"}),
    );
    let login_id = function["id"].as_i64().unwrap();
    post(
        &bases[0],
        &format!("/v1/functions/{login_id}/versions"),
        json!({"handlerScript": "async function handleEvent() { return 'v1' }"}),
    );
    for base in &bases {
        assert_eq!(login(base), "v1", "{base}");
    }
    let (status, _) = post(
        &bases[0],
        &format!("/v1/functions/{login_id}/versions"),
        json!({"handlerScript": "async function handleEvent() { return 'v2' }"}),
    );
    assert_eq!(status, 201);
    for base in &bases[1..] {
        let started = std::time::Instant::now();
        while login(base) != "v2" {
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{base} still serves v1");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    // A user created, then deleted, through the first host is seen by the
    // others' logins at once: each keeps users by name for the login path
    // (a minute here), told of writes by the database's announcements.
    let session_of = |base: &str| {
        post(base, "/v1/triggers/user.attempted.start_session", json!({"username": "zed", "authParams": {}})).1
            ["sessionId"]
            .clone()
    };
    let until = |base: &str, what: &str, seen: &dyn Fn(&Value) -> bool| {
        let started = std::time::Instant::now();
        while !seen(&session_of(base)) {
            assert!(started.elapsed() < std::time::Duration::from_secs(5), "{base} {what}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    for base in &bases[1..] {
        assert!(session_of(base).is_null(), "{base}: no user zed yet, no session");
    }
    let (status, zed) = post(&bases[0], "/v1/users", json!({"name": "zed"}));
    assert_eq!(status, 201, "{zed}");
    for base in &bases[1..] {
        until(base, "starts no session for zed, created on another host", &|id| id.is_i64());
    }
    let deleted = http
        .delete(format!("{}/v1/users/{}", bases[0], zed["id"].as_i64().unwrap()))
        .bearer_auth(&auth)
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    for base in &bases[1..] {
        until(base, "still starts sessions for zed, deleted on another host", &|id| id.is_null());
    }
    // Every host is ready behind a balancer.
    for base in &bases {
        let ready: Value = http.get(format!("{base}/readyz")).send().unwrap().json().unwrap();
        assert_eq!(ready["status"], "ready");
    }

    // Events over all three; the third host is killed with work running.
    let (_, function) =
        post(&bases[0], "/v1/runtimes/nodejs/functions", json!({"type": "user.sent.message", "name": "slow"}));
    let slow_id = function["id"].as_i64().unwrap();
    post(
        &bases[0],
        &format!("/v1/functions/{slow_id}/versions"),
        json!({"handlerScript": "async function handleEvent(e: any) { await new Promise(r => setTimeout(r, 100)); return e.n }"}),
    );
    let mut accepted = Vec::new();
    for n in 0..90i64 {
        let base = &bases[(n % 3) as usize];
        if n == 45 {
            hosts[2].child.kill().unwrap();
            hosts[2].child.wait().unwrap();
        }
        if n >= 45 && n % 3 == 2 {
            continue;
        }
        let (status, answer) =
            post(base, "/v1/triggers/user.sent.message", json!({"n": n, "user": {}, "channel": {}, "message": {}}));
        assert_eq!(status, 202, "{answer}");
        accepted.push(n);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let succeeded = loop {
        let page: Value = http
            .get(format!("{}/v1/functions/{slow_id}/invocations?status=SUCCEEDED&size=100", bases[0]))
            .bearer_auth(&auth)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let done: Vec<i64> = page["_embedded"]["invocations"]
            .as_array()
            .map(|items| items.iter().map(|i| i["args"]["n"].as_i64().unwrap()).collect())
            .unwrap_or_default();
        if done.len() >= accepted.len() {
            break done;
        }
        assert!(std::time::Instant::now() < deadline, "{} of {} accepted events succeeded", done.len(), accepted.len());
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let mut once = succeeded.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), succeeded.len(), "an event succeeded twice");
    assert_eq!(once, accepted, "every accepted event succeeded");
    for host in hosts.drain(..2) {
        assert!(host.stop().success());
    }
}
