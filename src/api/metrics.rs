//! `GET /metrics` and the middleware that counts HTTP requests.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Counts a request by its route's template (never its ids), status and time.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let span = tracing::info_span!(
        "http.request",
        http.request.method = %method,
        http.route = %crate::observe::RouteLabel(route.as_ref().map_or("", |r| r.as_str())),
        http.response.status_code = tracing::field::Empty,
    );
    use tracing::Instrument;
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", i64::from(response.status().as_u16()));
    if let Some(route) = route {
        state.dispatcher.metrics().http(&method, route.as_str(), response.status().as_u16(), started.elapsed());
    }
    response
}

/// `GET /healthz`: the process serves HTTP (a liveness probe).
pub async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: this host can take traffic: its store answers within two
/// seconds (a load balancer's readiness check). 503 with the reason if not.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(Err(e)) => ApiError::unavailable("NotReadyError", format!("the store does not answer: {e}")).into_response(),
        Err(_) => ApiError::unavailable("NotReadyError", "the store did not answer within 2 s").into_response(),
    }
}

/// The server's metrics in Prometheus' text format; the values read at
/// scrape time (queue depth, runtimes) are set first.
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.expose()) {
            return ApiError::unauthorized("/metrics wants the server's metrics token").into_response();
        }
    }
    let metrics = state.dispatcher.metrics();
    match state.store.job_counts().await {
        Ok(counts) => {
            for (status, n) in counts {
                metrics.gauge("chatfn_queue_jobs", &[("state", status.to_lowercase())], n as f64);
            }
        }
        Err(e) => tracing::error!(error = %e, "counting jobs for /metrics failed"),
    }
    let stats = state.dispatcher.engine().stats();
    metrics.gauge("chatfn_runtimes_live", &[], stats.live_runtimes as f64);
    metrics.gauge("chatfn_runtimes_idle", &[], stats.idle_runtimes as f64);
    metrics.gauge("chatfn_runtimes_started", &[], stats.runtimes_started as f64);
    metrics.gauge("chatfn_runtimes_evicted", &[], stats.runtimes_evicted as f64);
    metrics.gauge("chatfn_inline_invocations", &[], stats.inline_invocations as f64);
    metrics.gauge("chatfn_inline_benchings", &[], stats.inline_benchings as f64);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render()).into_response()
}
