//! Runtime NPM dependencies: install through the API (against the hermetic
//! registry in `npm_registry.rs`, and the real npm registry when it answers),
//! then `require` in handlers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::npm_registry;
use super::support::{deploy_login_handler, each_store, TestApp};

const LOGIN: &str = "user.attempted.start_session";

async fn deploy(app: &TestApp, script: &str) {
    deploy_login_handler(app, script).await;
}

async fn run(app: &TestApp) -> Value {
    let (status, answer) = app.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "x", "authParams": {}})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["result"]["payload"].clone()
}

const REQUIRES: &str = r#"
const _ = require("lodash");
const greet = require("greet");
const attempt = (f: () => unknown) => { try { return f(); } catch (e: any) { return `${e.code}: ${e.message}`; } };
async function handleEvent() {
  return {
    lodash: [_.VERSION, _.chunk([1, 2, 3], 2)],
    scoped: require("@scope/pkg"),
    greet: [greet("jane"), greet.shoutVersion, greet.file, greet.dir],
    shout: require("shout").version,
    shoutFile: require("shout/lib/shout.js").version,
    exported: require("exported"),
    feature: require("exported/feature"),
    notExported: attempt(() => require("exported/lib/secret.js")),
    cycle: require("cycle-a"),
    missing: attempt(() => require("no-such-package")),
    notADependency: attempt(() => require("dayjs")),
    sameInstance: require("greet") === greet,
  };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installed_tree_is_required_by_handlers() {
    each_store(|app| async move {
        let (_, before) = app.get("/v1/runtimes/nodejs").await;
        let deps = json!([
            {"name": "greet", "version": "^1.0.0", "defaultDependency": false},
            {"name": "shout", "version": "^2"},
            {"name": "@scope/pkg", "version": ">=1 <3 || 4"},
            {"name": "lodash", "version": "^4.17.0"},
            {"name": "exported", "version": "1.0.0"},
            {"name": "cycle-a", "version": "latest"},
        ]);
        let (status, runtime) = app.put("/v1/runtimes/nodejs/dependencies", deps).await;
        assert_eq!(status, StatusCode::OK, "{runtime}");
        assert_ne!(runtime["version"], before["version"]);
        assert_eq!(runtime["dependencies"][0]["name"], "greet");
        assert_eq!(runtime["installedDependencies"]["greet"], "1.1.0");
        assert_eq!(runtime["installedDependencies"]["@scope/pkg"], "2.5.0");
        assert_eq!(runtime["installedDependencies"]["cycle-a"], "1.0.0");
        let packages: Vec<&str> = runtime["installedPackages"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(
            packages,
            ["@scope/pkg@2.5.0", "cycle-a@1.0.0", "cycle-b@1.0.0", "exported@1.0.0", "greet@1.1.0", "lodash@4.17.21", "shout@1.2.0", "shout@2.0.0"],
            "optional dependencies that fail are skipped; dev and peer dependencies are not installed"
        );

        deploy(&app, REQUIRES).await;
        let result = run(&app).await;
        assert_eq!(result["lodash"], json!(["4.17.21", [[1, 2], [3]]]));
        assert_eq!(result["scoped"], "@scope/pkg 2.5.0");
        assert_eq!(
            result["greet"],
            json!(["HELLO JANE!", "1.2.0", "/node_modules/greet@1.1.0/index.js", "/node_modules/greet@1.1.0"]),
            "greet 1.1.0 keeps its own shout 1.2.0"
        );
        assert_eq!(result["shout"], "2.0.0", "while the runtime's own shout is 2.0.0");
        assert_eq!(result["shoutFile"], "2.0.0");
        assert_eq!(result["exported"], json!({"entry": "cjs", "feature": "feature"}));
        assert_eq!(result["feature"], "feature");
        assert_eq!(
            result["notExported"],
            "ERR_PACKAGE_PATH_NOT_EXPORTED: Package subpath './lib/secret.js' is not defined by \"exports\" in exported/package.json"
        );
        assert_eq!(result["cycle"], json!({"name": "a", "partner": "b", "partnerSawMe": "a"}));
        assert_eq!(result["missing"], "MODULE_NOT_FOUND: Cannot find module 'no-such-package'");
        assert_eq!(result["notADependency"], "MODULE_NOT_FOUND: Cannot find module 'dayjs'");
        assert_eq!(result["sameInstance"], true);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_install_names_the_package_and_changes_nothing() {
    each_store(|app| async move {
        let (status, installed) = app.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "lodash", "version": "4.16.0"}])).await;
        assert_eq!(status, StatusCode::OK, "{installed}");
        deploy(&app, "const _ = require('lodash'); async function handleEvent() { return _.VERSION; }").await;
        assert_eq!(run(&app).await, "4.16.0");

        let failures = [
            (json!([{"name": "no-such-package", "version": "^1.0.0"}]), StatusCode::BAD_REQUEST, "DependencyResolutionError", "package no-such-package was not found in the registry"),
            (json!([{"name": "greet", "version": "^9.0.0"}]), StatusCode::BAD_REQUEST, "DependencyResolutionError", "no version of greet matches \"^9.0.0\""),
            (json!([{"name": "corrupt", "version": "1.0.0"}]), StatusCode::BAD_GATEWAY, "DependencyIntegrityError", "integrity check failed for corrupt@1.0.0"),
            (json!([{"name": "lodash", "version": "^4"}, {"name": "greet", "version": "git+https://example.com/greet.git"}]), StatusCode::BAD_REQUEST, "BadRequestError", "greet"),
        ];
        for (deps, status, error, message) in failures {
            let (got, body) = app.put("/v1/runtimes/nodejs/dependencies", deps.clone()).await;
            assert_eq!(got, status, "{deps}: {body}");
            assert_eq!(body["error"], error, "{body}");
            assert!(body["message"].as_str().unwrap().contains(message), "{body}");
        }
        let (_, runtime) = app.get("/v1/runtimes/nodejs").await;
        assert_eq!(runtime["version"], installed["version"], "failed installs leave the runtime as it was");
        assert_eq!(runtime["dependencies"], installed["dependencies"]);
        assert_eq!(run(&app).await, "4.16.0");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_host_loads_the_lockfile_without_the_registry() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    let cache = dir.path().join("packages");
    // A registry of its own, so that its request count is this test's.
    let registry = npm_registry::start();
    let own = npm_registry::config_for(registry);
    let first = TestApp::spawn_with(url.clone(), dir.clone(), |c| {
        c.npm = own.clone();
        c.npm.cache_dir = cache.clone();
    })
    .await;
    let (status, body) =
        first.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "greet", "version": "~1.1"}])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    deploy(&first, "const greet = require('greet'); async function handleEvent() { return greet('restart'); }").await;
    assert_eq!(run(&first).await, "HELLO RESTART!");
    first.shutdown().await;

    // Same store and cache, and a registry that cannot be reached.
    let before = registry.requests.load(Ordering::SeqCst);
    let offline = TestApp::spawn_with(url.clone(), dir.clone(), |c| {
        c.npm.cache_dir = cache.clone();
        c.npm.registry_url = "http://127.0.0.1:9".into();
        c.npm.request_timeout = Duration::from_secs(2);
    })
    .await;
    assert_eq!(run(&offline).await, "HELLO RESTART!");
    offline.shutdown().await;
    assert_eq!(registry.requests.load(Ordering::SeqCst), before, "the restarted host asked the registry nothing");

    // A new host (empty cache) fetches exactly the recorded tarballs and
    // resolves nothing: no packument is asked for.
    let fresh_cache = dir.path().join("other-host-packages");
    let other = TestApp::spawn_with(url.clone(), dir.clone(), |c| {
        c.npm = own.clone();
        c.npm.cache_dir = fresh_cache.clone();
    })
    .await;
    assert_eq!(run(&other).await, "HELLO RESTART!");
    let asked = registry.requests.load(Ordering::SeqCst) - before;
    assert_eq!(asked, 2, "two tarballs (greet, shout), no packuments");
    other.shutdown().await;

    // An offline host with an empty cache cannot run it: a 503 that says
    // why (not "the event could not be stored").
    let stranded = TestApp::spawn_with(url, dir.clone(), |c| {
        c.npm.cache_dir = dir.path().join("stranded-packages");
        c.npm.offline = true;
    })
    .await;
    let (status, answer) =
        stranded.post(&format!("/v1/triggers/{LOGIN}"), json!({"username": "x", "authParams": {}})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["error"], "DependencyUnavailableError");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("packages could not be loaded") && message.contains("greet@1.1.0"), "{message}");
    stranded.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_install_reports_progress_and_excludes_another() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::spawn(format!("sqlite://{}", dir.path().join("p.db").display()), dir.clone()).await;
    let (status, _) = app.get("/v1/runtimes/nodejs/dependencies/install").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no install is running");
    let put = {
        let app = app.clone();
        tokio::spawn(async move {
            app.put(
                "/v1/runtimes/nodejs/dependencies",
                json!([{"name": "slowpoke", "version": "1"}, {"name": "greet", "version": "1.1.0"}]),
            )
            .await
        })
    };
    let mut seen = Value::Null;
    for _ in 0..100 {
        let (status, progress) = app.get("/v1/runtimes/nodejs/dependencies/install").await;
        if status == StatusCode::OK && progress["state"] == "FETCHING" {
            seen = progress;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if seen.is_null() {
        panic!("no progress seen; the install answered {:?}", put.await.unwrap());
    }
    assert_eq!(seen["packagesTotal"], 3, "{seen}");
    assert_eq!(seen["packagesResolved"], 3, "{seen}");
    let (status, busy) =
        app.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "lodash", "version": "^4"}])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    let (status, done) = put.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["installedDependencies"]["slowpoke"], "1.0.0");
    let (status, _) = app.get("/v1/runtimes/nodejs/dependencies/install").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the install is over");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_installs_use_the_mirror_and_name_what_is_missing() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mirror = dir.path().join("mirror");
    npm_registry::registry().write_mirror(&mirror, &["greet", "shout"]);
    let cache = dir.path().join("packages");
    let app = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("o.db").display()), dir.clone(), |c| {
        c.npm.offline = true;
        c.npm.mirror_dir = Some(mirror.clone());
        c.npm.registry_url = "http://127.0.0.1:9".into();
        c.npm.cache_dir = cache.clone();
    })
    .await;
    let (status, runtime) =
        app.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "greet", "version": "~1.1"}])).await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    assert_eq!(runtime["installedPackages"], json!(["greet@1.1.0", "shout@1.2.0"]));
    let (status, missing) =
        app.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "lodash", "version": "^4"}])).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{missing}");
    assert_eq!(missing["error"], "OfflineError");
    assert!(
        missing["message"].as_str().unwrap().starts_with("package lodash is not in the offline mirror"),
        "{missing}"
    );
    deploy(&app, "const greet = require('greet'); async function handleEvent() { return greet('offline'); }").await;
    assert_eq!(run(&app).await, "HELLO OFFLINE!");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_are_bounded_per_package_and_per_tree() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let cache = dir.path().join("packages");
    let app = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("l.db").display()), dir.clone(), |c| {
        c.npm.cache_dir = cache.clone();
        c.npm.max_package_bytes = 1_000;
        c.npm.max_runtime_bytes = 400;
        c.npm.max_packages = 2;
    })
    .await;
    let attempts = [
        (
            json!([{"name": "greet", "version": "~1.1"}, {"name": "lodash", "version": "^4"}]),
            "the dependency tree has more than 2 packages",
        ),
        (
            json!([{"name": "lodash", "version": "4.17.21"}, {"name": "dayjs", "version": "*"}]),
            "the dependency tree unpacks to more than the limit of 400 bytes",
        ),
    ];
    for (deps, message) in attempts {
        let (status, body) = app.put("/v1/runtimes/nodejs/dependencies", deps).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "DependencyTooLargeError");
        assert_eq!(body["message"], message);
    }
    let (_, runtime) = app.get("/v1/runtimes/nodejs").await;
    assert_eq!(runtime["installedPackages"], Value::Null, "nothing was installed");
    app.shutdown().await;

    let small = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("s.db").display()), dir.clone(), |c| {
        c.npm.cache_dir = dir.path().join("small-packages");
        c.npm.max_package_bytes = 100;
    })
    .await;
    let (status, body) =
        small.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "lodash", "version": "4.17.21"}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["message"], "the tarball of lodash@4.17.21 is larger than the limit of 100 bytes");
    small.shutdown().await;
}

const BUILTINS: &str = r#"
async function handleEvent() {
  const path = require("node:path");
  const EventEmitter = require("events");
  const util = require("util");
  const crypto = require("crypto");
  const qs = require("querystring");
  const assert = require("assert");
  const emitter = new EventEmitter();
  const seen: unknown[] = [];
  emitter.once("ping", (v: unknown) => seen.push(v));
  emitter.emit("ping", 1);
  emitter.emit("ping", 2);
  const attempt = (f: () => unknown) => { try { return f(); } catch (e: any) { return `${e.code}: ${e.message}`; } };
  return {
    path: [path.join("/a/b", "../c", "d.js"), path.basename("/x/y.ts", ".ts"), path.extname("a.tar.gz"), path.resolve("/a", "b", "..", "c"), path.relative("/a/b", "/a/c/d")],
    events: seen,
    util: [util.format("%s=%d %j", "n", 42, { a: 1 }), typeof util.promisify((cb: any) => cb(null, 1))],
    sha256: crypto.createHash("sha256").update("abc").digest("hex"),
    md5: crypto.createHash("md5").update("abc").digest("base64"),
    hmac: crypto.createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex"),
    random: [crypto.randomBytes(8).length, /^[0-9a-f-]{36}$/.test(crypto.randomUUID()), Buffer.isBuffer(crypto.randomBytes(2))],
    codecs: [Buffer.isBuffer(crypto.createHash("sha1").update("a").digest()),
      crypto.createHash("sha256").update("YWJj", "base64").digest("hex"),
      crypto.createHash("sha256").update("616263", "hex").digest("base64url"),
      attempt(() => btoa("€")), attempt(() => atob("a")), atob(btoa("\u00ff\u0000x"))],
    qs: [qs.stringify({ a: [1, 2], b: "x y" }), qs.parse("a=1&a=2&b=x+y")],
    assert: attempt(() => assert.strictEqual(1, 2)),
    fs: attempt(() => require("fs").readFileSync("/etc/passwd")),
    nodeOther: attempt(() => require("node:child_process").execSync("id")),
    globals: [btoa("hi"), atob("aGk="), new TextDecoder().decode(new TextEncoder().encode("é")), typeof crypto.getRandomValues],
    buffer: (() => {
      const { Buffer: B } = require("buffer");
      const b = Buffer.from("héllo", "utf8");
      const n = Buffer.alloc(4);
      n.writeUInt32BE(0xdeadbeef);
      return [B === Buffer, b.length, b.toString("hex"), b.toString("base64"), Buffer.from("aGk=", "base64").toString(),
        Buffer.concat([Buffer.from("a"), Buffer.from("b")]).toString(), n.readUInt32LE(0).toString(16), Buffer.isBuffer(b.slice(1)),
        JSON.stringify(Buffer.from([1, 2]))];
    })(),
    decoder: (() => {
      const { StringDecoder } = require("string_decoder");
      const d = new StringDecoder("utf8");
      const euro = Buffer.from("€");
      return [d.write(euro.subarray(0, 1)), d.write(euro.subarray(1)), d.end()];
    })(),
    url: (() => {
      const u = new URL("/p/a?x=1&y=two words#h", "https://user:pw@example.com:8443");
      u.searchParams.append("z", "ä");
      u.pathname = "/q";
      const legacy = require("url").parse("http://a.com:81/b?c=d#e", true);
      return [u.href, u.host, u.origin, u.searchParams.get("y"), [...new URLSearchParams({ a: "1", b: "2" })].length,
        legacy.hostname, legacy.port, legacy.query.c, legacy.pathname, URL.canParse("nope"), require("node:url").URL === URL];
    })(),
  };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_builtins_chat_functions_may_use() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::spawn(format!("sqlite://{}", dir.path().join("b.db").display()), dir.clone()).await;
    deploy(&app, BUILTINS).await;
    let result = run(&app).await;
    assert_eq!(result["path"], json!(["/a/c/d.js", "y", ".gz", "/a/c", "../c/d"]));
    assert_eq!(result["events"], json!([1]));
    assert_eq!(result["util"], json!(["n=42 {\"a\":1}", "function"]));
    assert_eq!(result["sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(result["md5"], "kAFQmDzST7DWlj99KOF/cg==");
    assert_eq!(result["hmac"], "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    assert_eq!(result["random"], json!([8, true, true]));
    assert_eq!(
        result["codecs"],
        json!([
            true,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
            // What Node answers: DOMException code 5 (InvalidCharacterError).
            "5: Invalid character",
            "5: The string to be decoded is not correctly encoded.",
            "\u{ff}\u{0}x"
        ])
    );
    assert_eq!(result["qs"], json!(["a=1&a=2&b=x%20y", {"a": ["1", "2"], "b": "x y"}]));
    assert!(
        result["assert"].as_str().unwrap().starts_with("ERR_ASSERTION: Expected values to be strictly equal"),
        "{result}"
    );
    // `fs` reads the installed packages only; other paths do not exist.
    assert_eq!(result["fs"], "ENOENT: ENOENT: no such file or directory, open '/etc/passwd'");
    assert_eq!(
        result["nodeOther"],
        "ERR_CHATFN_UNAVAILABLE: child_process.execSync is not available in chat functions"
    );
    assert_eq!(result["globals"], json!(["aGk=", "hi", "é", "function"]));
    assert_eq!(
        result["buffer"],
        json!([
            true,
            6,
            "68c3a96c6c6f",
            "aMOpbGxv",
            "hi",
            "ab",
            "efbeadde",
            true,
            "{\"type\":\"Buffer\",\"data\":[1,2]}"
        ])
    );
    assert_eq!(result["decoder"], json!(["", "€", ""]), "a character split across writes is decoded whole");
    assert_eq!(
        result["url"],
        json!([
            "https://user:pw@example.com:8443/q?x=1&y=two+words&z=%C3%A4#h",
            "example.com:8443",
            "https://example.com:8443",
            "two words",
            2,
            "a.com",
            "81",
            "d",
            "/b",
            false,
            true
        ])
    );
    app.shutdown().await;
}

/// The real npm registry, when this machine reaches it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_registry_packages_work_in_handlers() {
    let probe =
        reqwest::Client::new().get("https://registry.npmjs.org/lodash").timeout(Duration::from_secs(10)).send().await;
    if let Err(e) =
        probe.as_ref().map_err(|e| e.to_string()).and_then(|r| r.error_for_status_ref().map_err(|e| e.to_string()))
    {
        eprintln!("notice: the npm registry is not reachable ({e}); skipping real_registry_packages_work_in_handlers");
        return;
    }
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let cache = dir.path().join("packages");
    let app = TestApp::spawn_with(format!("sqlite://{}", dir.path().join("r.db").display()), dir.clone(), |c| {
        c.npm = chatfn::npm::NpmConfig::new("https://registry.npmjs.org", cache.clone());
    })
    .await;
    let deps = json!([
        {"name": "lodash", "version": "^4.17.0"},
        {"name": "dayjs", "version": "^1.11.0"},
        {"name": "uuid", "version": "^11.0.0"},
        {"name": "qs", "version": "^6.11.0"},
    ]);
    let (status, runtime) = app.put("/v1/runtimes/nodejs/dependencies", deps).await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    deploy(
        &app,
        "const _ = require('lodash');\n\
         const dayjs = require('dayjs');\n\
         const { v4, validate } = require('uuid');\n\
         const qs = require('qs');\n\
         async function handleEvent() {\n\
           return {\n\
             lodash: _.chunk(['a', 'b', 'c', 'd'], 2),\n\
             dayjs: dayjs('2024-02-29T12:00:00Z').add(1, 'year').format('YYYY-MM-DD'),\n\
             uuid: validate(v4()),\n\
             qs: [qs.stringify({ a: [1, 2], b: { c: 'd' } }, { encode: false }), qs.parse('a[b]=c&d=1')],\n\
           };\n\
         }",
    )
    .await;
    let result = run(&app).await;
    assert_eq!(result["lodash"], json!([["a", "b"], ["c", "d"]]));
    assert_eq!(result["dayjs"], "2025-02-28");
    assert_eq!(result["uuid"], true);
    assert_eq!(result["qs"], json!(["a[0]=1&a[1]=2&b[c]=d", {"a": {"b": "c"}, "d": "1"}]));
    app.shutdown().await;
}
