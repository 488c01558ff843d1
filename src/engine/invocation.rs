//! What the engine is asked to run and what it answers: the types at its
//! edge.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{CompiledScript, EgressPolicy, Limits, LogLine, Packages, PlatformHandle};

/// A duration in milliseconds, to the microsecond: what the log shows
/// (`3.382`, not the float noise of `3.3815239999999998`).
pub fn whole_microseconds_in_ms(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1e3
}

/// An application's chat runtime, as the engine needs it.
#[derive(Debug, Clone)]
pub struct RuntimeSpec {
    pub application_id: Arc<str>,
    /// Identifies the initialization script and environment; a warm runtime
    /// built for another revision is rebuilt before use.
    pub revision: Arc<str>,
    pub initialization_script: Option<CompiledScript>,
    pub environment: BTreeMap<String, String>,
    /// Defaults for every invocation in this runtime; the heap limit applies
    /// to the runtime as a whole.
    pub limits: Limits,
    /// The chat platform the context APIs reach, bound to this application;
    /// without one they reject.
    pub platform: Option<PlatformHandle>,
    /// What `fetch` may reach (by default: nothing).
    pub egress: Arc<EgressPolicy>,
    /// The installed NPM packages `require` can load (part of the revision).
    pub packages: Option<Arc<Packages>>,
}

/// One deployed version of a function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub function_id: Arc<str>,
    pub name: Arc<str>,
    pub trigger_type: Arc<str>,
    pub version_number: i64,
    pub script: CompiledScript,
}

#[derive(Debug, Clone)]
pub struct InvocationRequest {
    pub invocation_id: String,
    pub runtime: Arc<RuntimeSpec>,
    pub function: Arc<FunctionSpec>,
    /// The event, as JSON text.
    pub event: Arc<str>,
    /// Overrides the runtime's wall-clock limit for this invocation.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationStatus {
    Succeeded,
    Failed,
}

/// What a handler returned, as ChatKitty wraps it: `{"payload": value}`,
/// with no payload when the handler returned `undefined`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvocationResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Box<RawValue>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationError {
    pub name: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// How an invocation ended, as the engine knows it: what the host decides
/// on (a blocking trigger's time-out policy). The API and the store show
/// `status` and the error's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ending {
    /// The handler returned.
    #[default]
    Returned,
    /// The handler or the initialization script threw or rejected.
    Threw,
    /// Stopped at its wall-clock or CPU-time limit.
    TimedOut,
    /// Stopped at its heap or ArrayBuffer limit.
    OutOfMemory,
    /// Returned a result larger than its limit (nothing of it is kept).
    ResultTooLarge,
    /// The host could not run it.
    Internal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationOutcome {
    pub status: InvocationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<InvocationResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InvocationError>,
    pub logs: Vec<LogLine>,
    pub duration_ms: f64,
    /// A runtime was built (and the init script run) for this invocation.
    pub cold_start: bool,
    #[serde(skip)]
    pub ending: Ending,
}

impl InvocationOutcome {
    pub(crate) fn failed(
        error: InvocationError,
        ending: Ending,
        logs: Vec<LogLine>,
        duration: Duration,
        cold_start: bool,
    ) -> Self {
        InvocationOutcome {
            status: InvocationStatus::Failed,
            result: None,
            error: Some(error),
            logs,
            duration_ms: whole_microseconds_in_ms(duration),
            cold_start,
            ending,
        }
    }
}
