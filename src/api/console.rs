//! `GET /console`: the operators' web page for the invocation log. A
//! static page; it signs in with the application's client credentials and
//! reads the same API as everyone else, so it sees one application only.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("console.html");

/// The page allows only its own inline script and style and requests to
/// this server; it may not be framed.
const POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                      connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

pub async fn console() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
}
