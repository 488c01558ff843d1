//! The dashboard in a real headless Chromium (`tests/dashboard/`, driven by
//! playwright-core with Node's test runner) against a real server on a
//! SQLite file, its packages from the hermetic registry.

use std::process::Command;

use super::support::{repo_path, TestApp};

fn chromium() -> Option<String> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(path.to_string_lossy().into_owned());
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_takes_a_developer_from_nothing_to_a_rolled_back_function() {
    let driver = repo_path("tests/dashboard");
    let (Some(browser), true) = (chromium(), driver.join("node_modules/playwright-core").exists()) else {
        // CI installs both (.ci/run); elsewhere say how.
        assert!(
            std::env::var_os("CI").is_none(),
            "the dashboard test needs chromium and `npm ci --prefix tests/dashboard`"
        );
        eprintln!("notice: skipping the dashboard test: install chromium and run `npm ci --prefix tests/dashboard`");
        return;
    };
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = TestApp::spawn(format!("sqlite://{}", dir.path().join("d.db").display()), dir.clone()).await;
    // Screenshots of each page, kept for a person to look at.
    let shots = std::env::var_os("CHATFN_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("chatfn-dashboard-screenshots"));
    std::fs::create_dir_all(&shots).unwrap();
    let (base, id, secret) = (app.base.clone(), app.client_id.clone(), app.client_secret.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "dashboard.test.mjs"])
            .current_dir(&driver)
            .env("CHATFN_URL", base)
            .env("CHATFN_CLIENT_ID", id)
            .env("CHATFN_CLIENT_SECRET", secret)
            .env("CHROMIUM", browser)
            .env("SCREENSHOTS", &shots)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the dashboard test failed:\n{report}");
    assert!(report.contains("pass 1"), "{report}");
    app.shutdown().await;
}
