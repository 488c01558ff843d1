//! Real npm packages, installed from the npm registry, answering exactly as
//! they do in Node: each case in `fixtures/node-corpus/cases/` is deployed
//! as a chat function and run against a loopback echo server that the
//! egress policy allows; `fixtures/node-corpus/expected.json` holds what
//! real Node answered for the same case (`run-in-node.mjs`). And ChatKitty's
//! own initialization script, verbatim, with firebase 7.24.0. Skipped with
//! a notice when the registry is not reachable.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::node_compat::{deploy, echo_server, invoke};
use super::support::{repo_path, TestApp};

async fn registry_reachable(test: &str) -> bool {
    let probe =
        reqwest::Client::new().get("https://registry.npmjs.org/lodash").timeout(Duration::from_secs(10)).send().await;
    match probe.as_ref().map_err(|e| e.to_string()).and_then(|r| r.error_for_status_ref().map_err(|e| e.to_string())) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("notice: the npm registry is not reachable ({e}); skipping {test}");
            false
        }
    }
}

async fn app_on_the_registry(dir: &Arc<tempfile::TempDir>) -> TestApp {
    let cache = dir.path().join("packages");
    TestApp::spawn_with(format!("sqlite://{}", dir.path().join("corpus.db").display()), dir.clone(), |c| {
        c.npm = chatfn::npm::NpmConfig::new("https://registry.npmjs.org", cache.clone());
        c.install_timeout = Duration::from_secs(300);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packages_answer_as_in_node() {
    if !registry_reachable("real_packages_answer_as_in_node").await {
        return;
    }
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_the_registry(&dir).await;
    let packages: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("fixtures/node-corpus/packages.json")).unwrap())
            .unwrap();
    let (status, runtime) = app.put("/v1/runtimes/nodejs/dependencies", packages.clone()).await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    assert!(runtime["installedPackages"].as_array().unwrap().len() > 200, "{runtime}");

    let echo = echo_server().await;
    let (status, policy) =
        app.put("/v1/application/egress-policy", json!({"allowedHosts": [format!("127.0.0.1:{}", echo.port())]})).await;
    assert_eq!(status, StatusCode::OK, "{policy}");

    let expected: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(repo_path("fixtures/node-corpus/expected.json")).unwrap())
            .unwrap();
    assert!(expected.len() >= 30, "the corpus has {} cases", expected.len());
    let mut differences = Vec::new();
    for (name, want) in &expected {
        let source = std::fs::read_to_string(repo_path(&format!("fixtures/node-corpus/cases/{name}.js"))).unwrap();
        deploy(&app, &source).await;
        let got = invoke(&app, json!({"echo": format!("http://{echo}")})).await;
        let got = match got.get("error") {
            Some(error) if got.as_object().is_some_and(|o| o.len() == 1) => json!({"error": error}),
            _ => json!({"payload": got}),
        };
        if &got != want {
            differences.push(format!("{name}:\n  chatfn {got}\n  node   {want}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} packages differ from Node:\n{}",
        differences.len(),
        expected.len(),
        differences.join("\n")
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatkitty_seed_initialization_script_runs_verbatim() {
    if !registry_reachable("chatkitty_seed_initialization_script_runs_verbatim").await {
        return;
    }
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let app = app_on_the_registry(&dir).await;
    let (status, runtime) = app
        .put(
            "/v1/runtimes/nodejs/dependencies",
            json!([{"name": "firebase", "version": "7.24.0", "defaultDependency": false}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    // The Platform API seed's example, byte for byte (CRLF line ends included).
    let script = std::fs::read_to_string(repo_path("fixtures/node-corpus/chatkitty-init.js")).unwrap();
    assert!(script.starts_with("import firebase from 'firebase';\r\nimport '@firebase/auth';"));
    let (status, runtime) = app.put("/v1/runtimes/nodejs/initialization-script", json!({ "script": script })).await;
    assert_eq!(status, StatusCode::OK, "{runtime}");
    deploy(
        &app,
        "async function handleEvent(event: any) {\n\
           const db = firebase.firestore();\n\
           return { apps: firebase.apps.length, sdk: firebase.SDK_VERSION, project: firebase.app().options.projectId,\n\
             firestore: typeof firebase.firestore, auth: typeof firebase.auth, doc: db.collection('users').doc(event.username).path,\n\
             signedIn: firebase.auth().currentUser };\n\
         }",
    )
    .await;
    // What Node prints for the same script and calls.
    assert_eq!(
        invoke(&app, json!({"username": "jane", "authParams": {}})).await,
        json!({"apps": 1, "sdk": "7.20.0", "project": "chatkitty-example", "firestore": "function", "auth": "function",
            "doc": "users/jane", "signedIn": null})
    );
    app.shutdown().await;
}
