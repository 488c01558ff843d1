//! ChatKitty's official Node.js Platform SDK drives the API unchanged
//! (`tests/sdk/platform-sdk.test.mjs`, run with Node's test runner).

use std::process::Command;

use super::support::{each_store, repo_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatkitty_platform_sdk_drives_the_api() {
    let sdk_dir = repo_path("tests/sdk");
    if !sdk_dir.join("node_modules/chatkitty-platform-sdk").exists() {
        // CI installs it (`npm ci` in .ci/run); elsewhere say how.
        assert!(std::env::var_os("CI").is_none(), "tests/sdk/node_modules is missing: run `npm ci --prefix tests/sdk`");
        eprintln!("notice: skipping the Node SDK test: run `npm ci --prefix tests/sdk` to enable it");
        return;
    }
    each_store(|app| {
        let sdk_dir = sdk_dir.clone();
        async move {
            let app = app; // the whole app (and its store guard) lives to the end
            let (base, id, secret) = (app.base.clone(), app.client_id.clone(), app.client_secret.clone());
            let out = tokio::task::spawn_blocking(move || {
                Command::new("node")
                    .args(["--test", "--test-reporter=spec", "platform-sdk.test.mjs"])
                    .current_dir(&sdk_dir)
                    .env("CHATFN_URL", base)
                    .env("CHATFN_CLIENT_ID", id)
                    .env("CHATFN_CLIENT_SECRET", secret)
                    .output()
                    .expect("node runs")
            })
            .await
            .unwrap();

            let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "the SDK test failed:\n{report}");
            assert!(report.contains("pass 4"), "{report}");
        }
    })
    .await;
}
