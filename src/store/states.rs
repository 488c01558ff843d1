//! The states invocations and jobs are stored in; the strings are theirs
//! only at the store's columns and the API's JSON.

use serde::{Deserialize, Serialize};

/// An invocation's state (the `status` of the invocation log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationState {
    /// A non-blocking event's attempt waiting its turn.
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl InvocationState {
    pub const ALL: [InvocationState; 4] =
        [InvocationState::Queued, InvocationState::Running, InvocationState::Succeeded, InvocationState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            InvocationState::Queued => "QUEUED",
            InvocationState::Running => "RUNNING",
            InvocationState::Succeeded => "SUCCEEDED",
            InvocationState::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<InvocationState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl From<crate::engine::InvocationStatus> for InvocationState {
    fn from(status: crate::engine::InvocationStatus) -> Self {
        match status {
            crate::engine::InvocationStatus::Succeeded => InvocationState::Succeeded,
            crate::engine::InvocationStatus::Failed => InvocationState::Failed,
        }
    }
}

/// A queued job's state after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// To run again at its `run_at`.
    Queued,
    Succeeded,
    /// Out of attempts.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "QUEUED",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
        }
    }
}
