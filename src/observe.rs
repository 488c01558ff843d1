//! What operators scrape at `GET /metrics` (Prometheus text format), kept
//! per server (not in a process-wide recorder, so that servers sharing a
//! process, as the tests do, count apart). Labels are ids and fixed
//! names only: never a secret, a token or an event body.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

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
        Metrics { recorder }
    }

    fn with(&self, record: impl FnOnce()) {
        metrics::with_local_recorder(&*self.recorder, record);
    }

    /// One finished invocation.
    pub fn invocation(
        &self,
        application_id: i64,
        function_id: i64,
        trigger: &str,
        outcome: &'static str,
        took: Duration,
    ) {
        // The histogram's labels are the counter's but the last.
        let labels = [
            ("application", application_id.to_string()),
            ("function", function_id.to_string()),
            ("trigger", trigger.to_string()),
            ("outcome", outcome.to_string()),
        ];
        self.with(|| {
            metrics::counter!("chatfn_invocations_total", &labels[..]).increment(1);
            metrics::histogram!("chatfn_invocation_duration_seconds", &labels[..3]).record(took.as_secs_f64());
        });
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

    /// One HTTP request, by its route's template.
    pub fn http(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
        self.with(|| {
            metrics::counter!("chatfn_http_requests_total", &labels[..]).increment(1);
            metrics::histogram!("chatfn_http_request_duration_seconds", &labels[..2]).record(took.as_secs_f64());
        });
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
