//! What operators scrape at `GET /metrics` (Prometheus text format), kept
//! per server (not in a process-wide recorder, so that servers sharing a
//! process, as the tests do, count apart). Labels are ids and fixed
//! names only: never a secret, a token or an event body.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use parking_lot::Mutex;

/// Seconds: from a warm call's tens of microseconds to a blocking
/// trigger's time-out.
const DURATION_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How often histogram samples are folded into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// Folds the recorder's buffered histogram samples into their buckets every
/// `UPKEEP` until the recorder is gone. The exporter buffers every sample
/// until then: without it, a server nobody scrapes grows by each request.
fn keep_up(recorder: std::sync::Weak<PrometheusRecorder>) {
    let spawned = std::thread::Builder::new().name("chatfn-metrics".into()).spawn(move || loop {
        std::thread::sleep(UPKEEP);
        let Some(recorder) = recorder.upgrade() else { return };
        recorder.handle().run_upkeep();
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no metrics upkeep thread: histograms are folded only when scraped");
    }
}

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    /// The per-request and per-invocation series already registered, by
    /// their labels: a request counts itself with two atomic adds instead of
    /// building its label set and finding it in the registry each time. (It
    /// holds what the registry holds anyway: series are never dropped.)
    series: Arc<Series>,
}

/// A route as labels and traces name it: braces inside label values trip
/// up more than one Prometheus parser, so `/v1/functions/{id}` is
/// `/v1/functions/:id`. (Written out only when used.)
pub struct RouteLabel<'a>(pub &'a str);

impl std::fmt::Display for RouteLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in self.0.split_inclusive(['{', '}']) {
            match part.strip_suffix('{') {
                Some(before) => write!(f, "{before}:")?,
                None => f.write_str(part.strip_suffix('}').unwrap_or(part))?,
            }
        }
        Ok(())
    }
}

/// A counter and the duration histogram beside it.
type Pair = (Counter, Histogram);

/// A route's series: (method, status) → series.
type RouteSeries = HashMap<(axum::http::Method, u16), Pair>;

/// (application, function, trigger, outcome): an invocation's labels.
type InvocationLabels = (i64, i64, &'static str, &'static str);

#[derive(Default)]
struct Series {
    /// route (as matched, `{id}` form) → its series.
    http: Mutex<HashMap<String, RouteSeries>>,
    invocations: Mutex<HashMap<InvocationLabels, Pair>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder =
            PrometheusBuilder::new().set_buckets(DURATION_BUCKETS).expect("the buckets are not empty").build_recorder();
        let recorder = Arc::new(recorder);
        keep_up(Arc::downgrade(&recorder));
        Metrics { recorder, series: Arc::default() }
    }

    /// Runs `record` (or registers series) against this server's recorder.
    fn with<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&*self.recorder, record)
    }

    /// One finished invocation.
    pub fn invocation(
        &self,
        application_id: i64,
        function_id: i64,
        trigger: &'static str,
        outcome: &'static str,
        took: Duration,
    ) {
        let key = (application_id, function_id, trigger, outcome);
        let mut invocations = self.series.invocations.lock();
        let (count, duration) = invocations.entry(key).or_insert_with(|| {
            // The histogram's labels are the counter's but the last.
            let labels = [
                ("application", application_id.to_string()),
                ("function", function_id.to_string()),
                ("trigger", trigger.to_string()),
                ("outcome", outcome.to_string()),
            ];
            self.with(|| {
                (
                    metrics::counter!("chatfn_invocations_total", &labels[..]),
                    metrics::histogram!("chatfn_invocation_duration_seconds", &labels[..3]),
                )
            })
        });
        count.increment(1);
        duration.record(took.as_secs_f64());
    }

    /// The recorder committed a round of `writes` (invocation records, job
    /// states, accepted events) in `took`.
    pub fn recorder_round(&self, writes: usize, took: Duration) {
        self.with(|| {
            metrics::counter!("chatfn_recorder_rounds_total").increment(1);
            metrics::counter!("chatfn_recorder_writes_total").increment(writes as u64);
            metrics::histogram!("chatfn_recorder_commit_seconds").record(took.as_secs_f64());
        });
    }

    /// The recorder dropped a record it cannot write (it breaks a
    /// constraint); the error log names it.
    pub fn record_dropped(&self) {
        self.with(|| metrics::counter!("chatfn_recorder_dropped_records_total").increment(1));
    }

    /// A runtime was built for an invocation.
    pub fn cold_start(&self, application_id: i64) {
        self.with(|| {
            metrics::counter!("chatfn_cold_starts_total", "application" => application_id.to_string()).increment(1)
        });
    }

    /// A deployed function was warmed ahead of its first invocation
    /// (`initializeAsynchronously`); `outcome` is `succeeded` or `failed`.
    pub fn warmed(&self, application_id: i64, outcome: &'static str) {
        self.with(|| {
            metrics::counter!("chatfn_warmups_total", "application" => application_id.to_string(), "outcome" => outcome)
                .increment(1)
        });
    }

    /// One HTTP request, by its route's template (as matched: `/v1/functions/{id}`).
    pub fn http(&self, method: &axum::http::Method, route: &str, status: u16, took: Duration) {
        let mut http = self.series.http.lock();
        let by_route = match http.get_mut(route) {
            Some(by_route) => by_route,
            None => http.entry(route.to_string()).or_default(),
        };
        let (count, duration) = by_route.entry((method.clone(), status)).or_insert_with(|| {
            let route = RouteLabel(route).to_string();
            let labels = [("method", method.to_string()), ("route", route), ("status", status.to_string())];
            self.with(|| {
                (
                    metrics::counter!("chatfn_http_requests_total", &labels[..]),
                    metrics::histogram!("chatfn_http_request_duration_seconds", &labels[..2]),
                )
            })
        });
        count.increment(1);
        duration.record(took.as_secs_f64());
    }

    /// A dependency install, by how it ended.
    pub fn npm_install(&self, outcome: &'static str, took: Duration) {
        self.with(|| {
            metrics::counter!("chatfn_npm_installs_total", "outcome" => outcome).increment(1);
            metrics::histogram!("chatfn_npm_install_duration_seconds").record(took.as_secs_f64());
        });
    }

    /// A value read at scrape time (queue depth, warm runtimes).
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, String)], value: f64) {
        let labels: Vec<(&'static str, String)> = labels.to_vec();
        self.with(|| metrics::gauge!(name, &labels).set(value));
    }

    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_without_braces() {
        assert_eq!(RouteLabel("/v1/functions/{id}/versions").to_string(), "/v1/functions/:id/versions");
        assert_eq!(RouteLabel("/v1/channels/{id}/members/{user_id}").to_string(), "/v1/channels/:id/members/:user_id");
        assert_eq!(RouteLabel("/healthz").to_string(), "/healthz");
    }
}
