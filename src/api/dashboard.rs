//! `GET /dashboard`: the developers' and operators' web app (functions,
//! code editor, versions, test runs, the live invocation log, the runtime).
//! Its files are `dashboard/dist/` (built from `dashboard/src/` with
//! CodeMirror by `dashboard/build.mjs`), embedded in the binary. It signs in
//! with the application's client credentials and reads the same API as
//! everyone else, so it sees one application only.

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

const PAGE: &str = include_str!("../../dashboard/dist/index.html");
const SCRIPT: &str = include_str!("../../dashboard/dist/app.js");
const STYLE: &str = include_str!("../../dashboard/dist/app.css");

/// Only its own files and requests to this server; no inline script at all.
/// The editor writes its styles into one `<style>` element, allowed by a
/// nonce made for each page; it may not be framed.
fn policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; connect-src 'self'; \
         img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub async fn page() -> Response {
    let nonce = super::auth::random_token(18);
    let policy = policy(&nonce);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, policy.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE.replace("__CSP_NONCE__", &nonce),
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The former operators' console is the dashboard's log now.
pub async fn console() -> impl IntoResponse {
    Redirect::permanent("/dashboard")
}
