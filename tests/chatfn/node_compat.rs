//! Node compatibility over hermetic packages (`fixtures/npm`, served by the
//! loopback registry): ES modules and CommonJS both ways, `require` and
//! `import` in initialization scripts, `fs` confined to the installed
//! packages, `http` through the egress policy, refused calls, and a broken
//! package's error. The expected values are what Node 20+ answers for the
//! same files (checked with `node` on these fixtures).

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::{json, Value};

pub use super::support::deploy_login_handler as deploy;
use super::support::{each_store, TestApp};

const LOGIN: &str = "user.attempted.start_session";

/// The corpus's echo server (`fixtures/node-corpus/echo-server.mjs` in
/// Node): any request answers its method, path, content type and body as
/// JSON; `/gzip` answers gzip-encoded JSON.
pub async fn echo_server() -> SocketAddr {
    use axum::http::{header, HeaderMap, Method, Uri};
    async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: String) -> axum::response::Response {
        use axum::response::IntoResponse;
        if uri.path() == "/gzip" {
            use std::io::Write;
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(br#"{"compressed":true}"#).unwrap();
            let bytes = encoder.finish().unwrap();
            return ([(header::CONTENT_TYPE, "application/json"), (header::CONTENT_ENCODING, "gzip")], bytes)
                .into_response();
        }
        let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or_default().to_string());
        let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
        axum::Json(
            json!({"ok": true, "method": method.as_str(), "path": path, "contentType": content_type, "body": body}),
        )
        .into_response()
    }
    let app = axum::Router::new().fallback(echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Runs the function; its payload, or `{"error": message}` when it threw.
pub async fn invoke(app: &TestApp, event: Value) -> Value {
    let (status, answer) = app.post(&format!("/v1/triggers/{LOGIN}"), event).await;
    match status {
        StatusCode::OK => answer["result"]["payload"].clone(),
        StatusCode::FORBIDDEN => json!({"error": answer["message"]}),
        other => panic!("{other}: {answer}"),
    }
}

async fn install(app: &TestApp, deps: Value) {
    let (status, runtime) = app.put("/v1/runtimes/nodejs/dependencies", deps).await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
}

fn packages() -> Value {
    json!([
        {"name": "esm-only", "version": "1.0.0"},
        {"name": "cjs-named", "version": "1.0.0"},
        {"name": "data-files", "version": "1.0.0"},
        {"name": "broken", "version": "1.0.0"},
        {"name": "shout", "version": "^2"},
    ])
}

const ES_MODULE_HANDLER: &str = r#"
import esmDefault, { loud, details } from "esm-only";
import * as namespace from "esm-only";
import "data-files";
import { createRequire } from "node:module";
import { readFileSync } from "fs";

export default async function handleEvent() {
  const require = createRequire(import.meta.url);
  const dynamic = await import("cjs-named");
  let missing;
  try {
    await import("not-installed");
  } catch (e: any) {
    missing = e.message;
  }
  return {
    esmDefault,
    loud: loud("hi"),
    details,
    namespace: Object.keys(namespace).sort(),
    dynamic: [dynamic.default.greet("dyn"), dynamic.greet("named")],
    createRequire: require("shout")("cr"),
    fsNamed: typeof readFileSync,
    missing,
  };
}
"#;

const CJS_HANDLER: &str = r#"
async function handleEvent() {
  const esm = require("esm-only");
  const data = require("data-files");
  let broken;
  try {
    require("broken");
  } catch (e: any) {
    broken = [e.name, e.message.includes("/node_modules/broken@1.0.0/index.js")];
  }
  return {
    requireEsm: Object.keys(esm).sort(),
    requireEsmDefault: esm.default,
    requireEsmCall: esm.loud("cjs"),
    data: { words: data.words, notes: data.notes, listing: data.listing, isFile: data.isFile, dirname: data.dirname },
    readAsync: await data.readAsync(),
    broken,
    sameInstance: require("esm-only") === esm,
  };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es_modules_and_commonjs_interoperate_as_in_node() {
    each_store(|app| async move {
        install(&app, packages()).await;
        deploy(&app, ES_MODULE_HANDLER).await;
        let esm = invoke(&app, json!({"username": "x", "authParams": {}})).await;
        assert_eq!(esm["esmDefault"], "esm-default", "{esm}");
        assert_eq!(esm["loud"], "HI!");
        assert_eq!(
            esm["details"],
            json!({"shoutVersion": "2.0.0", "greet": "hello esm", "reexported": "plain", "more": "from more.js",
                "joined": "/a/b", "url": "file:///node_modules/esm-only@1.0.0/index.js"})
        );
        assert_eq!(esm["namespace"], json!(["default", "details", "loud"]));
        assert_eq!(esm["dynamic"], json!(["hello dyn", "hello named"]));
        assert_eq!(esm["createRequire"], "CR!");
        assert_eq!(esm["fsNamed"], "function");
        let missing = esm["missing"].as_str().unwrap();
        assert!(missing.starts_with("Cannot find module 'not-installed' imported from file:///"), "{missing}");

        deploy(&app, CJS_HANDLER).await;
        let cjs = invoke(&app, json!({"username": "x", "authParams": {}})).await;
        // require() of an ES module: its namespace, with Node's __esModule marker.
        assert_eq!(cjs["requireEsm"], json!(["__esModule", "default", "details", "loud"]), "{cjs}");
        assert_eq!(cjs["requireEsmDefault"], "esm-default");
        assert_eq!(cjs["requireEsmCall"], "CJS!");
        assert_eq!(
            cjs["data"],
            json!({"words": ["alpha", "beta"], "notes": "read through node:fs", "listing": ["notes.txt", "words.json"],
                "isFile": true, "dirname": "/node_modules/data-files@1.0.0"})
        );
        assert_eq!(cjs["readAsync"], "read through node:fs\n");
        assert_eq!(cjs["broken"], json!(["SyntaxError", true]), "a broken package's error names its file");
        assert_eq!(cjs["sameInstance"], true);
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialization_scripts_require_and_import_packages() {
    each_store(|app| async move {
        install(&app, packages()).await;
        let classic = "const shout = require('shout');\nconst fromInit = shout('classic');";
        let (status, runtime) =
            app.put("/v1/runtimes/nodejs/initialization-script", json!({"script": classic})).await;
        assert_eq!(status, StatusCode::OK, "{runtime}");
        deploy(&app, "async function handleEvent() { return [fromInit, typeof require] }").await;
        assert_eq!(invoke(&app, json!({"username": "x"})).await, json!(["CLASSIC!", "function"]));

        let module = "import { loud } from 'esm-only';\nimport data from 'data-files';\nconst words = require('data-files').words;\nexport const fromModule = [loud('module'), data.words.length, words.join()];";
        let (status, runtime) = app.put("/v1/runtimes/nodejs/initialization-script", json!({"script": module})).await;
        assert_eq!(status, StatusCode::OK, "{runtime}");
        deploy(&app, "async function handleEvent() { return fromModule }").await;
        assert_eq!(invoke(&app, json!({"username": "x"})).await, json!(["MODULE!", 2, "alpha,beta"]));
        app.shutdown().await;
    })
    .await;
}

const SANDBOX_HANDLER: &str = r#"
const attempt = (f: () => unknown) => { try { const v = f(); return v === undefined ? "ok" : v; } catch (e: any) { return `${e.code}: ${e.message}`; } };
async function handleEvent() {
  const fs = require("fs");
  return {
    packages: fs.readdirSync("/node_modules"),
    ownFile: JSON.parse(fs.readFileSync("/node_modules/data-files@1.0.0/package.json", "utf8")).name,
    climbOut: attempt(() => fs.readFileSync("/node_modules/data-files@1.0.0/../../etc/passwd")),
    hostFile: attempt(() => fs.readFileSync("/proc/self/environ")),
    exists: [fs.existsSync("/node_modules/shout@2.0.0/lib/shout.js"), fs.existsSync("/etc/hosts")],
    write: attempt(() => fs.writeFileSync("/node_modules/data-files@1.0.0/x", "y")),
    mkdir: attempt(() => fs.mkdirSync("/tmp/d")),
    access: attempt(() => fs.accessSync("/node_modules/shout@2.0.0/lib/shout.js", fs.constants.W_OK)),
    netConnect: attempt(() => require("net").connect(80, "127.0.0.1")),
    tlsConnect: attempt(() => require("tls").connect(443, "example.com")),
    dnsLookup: attempt(() => require("dns").lookup("example.com", () => {})),
    spawn: attempt(() => require("child_process").spawn("sh")),
    worker: attempt(() => new (require("worker_threads").Worker)("x.js")),
    vm: attempt(() => require("vm").runInNewContext("1 + 1")),
    http2: attempt(() => require("http2").connect("https://example.com")),
    exit: attempt(() => process.exit(0)),
    unknownBuiltin: attempt(() => require("node:nope")),
    osFacts: [require("os").hostname(), require("os").platform(), require("os").cpus().length, process.platform, process.arch],
  };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_builtins_reach_only_what_the_sandbox_allows() {
    each_store(|app| async move {
        install(&app, packages()).await;
        deploy(&app, SANDBOX_HANDLER).await;
        let r = invoke(&app, json!({"username": "x"})).await;
        assert_eq!(
            r["packages"],
            json!(["broken@1.0.0", "cjs-named@1.0.0", "data-files@1.0.0", "esm-only@1.0.0", "shout@2.0.0"]),
            "{r}"
        );
        assert_eq!(r["ownFile"], "data-files");
        assert_eq!(
            r["climbOut"],
            "ENOENT: ENOENT: no such file or directory, open '/node_modules/data-files@1.0.0/../../etc/passwd'"
        );
        assert_eq!(r["hostFile"], "ENOENT: ENOENT: no such file or directory, open '/proc/self/environ'");
        assert_eq!(r["exists"], json!([true, false]));
        assert_eq!(r["write"], "EACCES: EACCES: permission denied, open '/node_modules/data-files@1.0.0/x'");
        assert_eq!(r["mkdir"], "EACCES: EACCES: permission denied, mkdir '/tmp/d'");
        assert_eq!(r["access"], "EACCES: EACCES: permission denied, access '/node_modules/shout@2.0.0/lib/shout.js'");
        let refused = |call: &str| format!("ERR_CHATFN_UNAVAILABLE: {call} is not available in chat functions");
        assert_eq!(r["netConnect"], refused("net.connect"));
        assert_eq!(r["tlsConnect"], refused("tls.connect"));
        assert_eq!(r["dnsLookup"], refused("dns.lookup"));
        assert_eq!(r["spawn"], refused("child_process.spawn"));
        assert_eq!(r["worker"], refused("new worker_threads.Worker"));
        assert_eq!(r["vm"], refused("vm.runInNewContext"));
        assert_eq!(r["http2"], refused("http2.connect"));
        assert_eq!(r["exit"], refused("process.exit"));
        assert_eq!(r["unknownBuiltin"], "ERR_UNKNOWN_BUILTIN_MODULE: No such built-in module: node:nope");
        // Neutral facts, never the host's.
        assert_eq!(r["osFacts"], json!(["localhost", "linux", 1, "linux", "x64"]));
        app.shutdown().await;
    })
    .await;
}

const HTTP_HANDLER: &str = r#"
async function handleEvent(event: { echo: string; other: string }) {
  const http = require("http");
  const zlib = require("zlib");
  const call = (url: string, method: string, body?: string) => new Promise((resolve) => {
    const req = http.request(url, { method, headers: { "content-type": "text/plain" } }, (res: any) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let bytes = Buffer.concat(chunks);
        if (res.headers["content-encoding"] === "gzip") bytes = zlib.gunzipSync(bytes);
        resolve({ status: res.statusCode, encoding: res.headers["content-encoding"] ?? null, body: JSON.parse(bytes.toString()) });
      });
    });
    req.on("error", (e: any) => resolve({ error: e.message, code: e.code }));
    if (body) req.write(body);
    req.end();
  });
  return {
    post: await call(`${event.echo}/p?q=1`, "POST", "through node:http"),
    gzip: await call(`${event.echo}/gzip`, "GET"),
    denied: await call(`${event.other}/p`, "GET"),
  };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_http_goes_through_the_egress_policy() {
    let echo = echo_server().await;
    let other = echo_server().await;
    each_store(|app| async move {
        let (status, policy) = app
            .put("/v1/application/egress-policy", json!({"allowedHosts": [format!("127.0.0.1:{}", echo.port())]}))
            .await;
        assert_eq!(status, StatusCode::OK, "{policy}");
        deploy(&app, HTTP_HANDLER).await;
        let r = invoke(&app, json!({"echo": format!("http://{echo}"), "other": format!("http://{other}")})).await;
        assert_eq!(
            r["post"],
            json!({"status": 200, "encoding": null, "body": {"ok": true, "method": "POST", "path": "/p?q=1",
                "contentType": "text/plain", "body": "through node:http"}}),
            "{r}"
        );
        // node:http hands the body over as sent, as Node does.
        assert_eq!(r["gzip"], json!({"status": 200, "encoding": "gzip", "body": {"compressed": true}}));
        let denied = r["denied"]["error"].as_str().unwrap();
        assert!(denied.contains(&format!("127.0.0.1:{}", other.port())) && denied.contains("denied"), "{denied}");
        assert_eq!(r["denied"]["code"], "ERR_CHATFN_EGRESS_DENIED");
        app.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installs_peers_and_skips_what_the_platform_cannot_run() {
    each_store(|app| async move {
        // plugin's packument has `"dependencies": []` and `"bin": 7`: read
        // leniently, as npm does.
        let (status, runtime) =
            app.put("/v1/runtimes/nodejs/dependencies", json!([{"name": "plugin", "version": "1.0.0"}])).await;
        assert_eq!(status, StatusCode::OK, "{runtime}");
        let packages: Vec<&str> =
            runtime["installedPackages"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        assert_eq!(packages, ["plugin@1.0.0", "shout@2.0.0"], "the peer installed, the win32-only optional skipped");
        deploy(&app, "async function handleEvent() { return [require('plugin'), require('shout')('root')] }").await;
        // The peer is one copy, shared with the runtime (as npm 7+ hoists it).
        assert_eq!(
            invoke(&app, json!({"username": "x"})).await,
            json!([{"loud": "PEER!", "native": "absent"}, "ROOT!"])
        );
        app.shutdown().await;
    })
    .await;
}
