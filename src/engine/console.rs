//! Console capture: `console.*` in a script becomes one `op_chatfn_log` call;
//! the line is timestamped and bounded here and attributed to the invocation
//! that is running.

use chrono::{DateTime, Utc};
use deno_core::{op2, OpState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    fn from_op(level: u32) -> Self {
        match level {
            0 => LogLevel::Debug,
            2 => LogLevel::Warn,
            3 => LogLevel::Error,
            _ => LogLevel::Info,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    /// To the millisecond, as JavaScript's `Date` and the API's other times.
    #[serde(serialize_with = "to_the_millisecond")]
    pub time: DateTime<Utc>,
}

fn to_the_millisecond<S: serde::Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Bounds on what one invocation may print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleLimits {
    pub max_lines: usize,
    pub max_bytes: usize,
    pub max_line_bytes: usize,
}

impl Default for ConsoleLimits {
    fn default() -> Self {
        ConsoleLimits { max_lines: 1_000, max_bytes: 256 * 1024, max_line_bytes: 16 * 1024 }
    }
}

pub const TRUNCATED_LINE_MARK: &str = "… [line truncated]";

/// The lines captured for the invocation in progress. Lives in `OpState`.
#[derive(Debug, Default)]
pub struct ConsoleCapture {
    lines: Vec<LogLine>,
    bytes: usize,
    dropped: usize,
    limits: ConsoleLimits,
}

impl ConsoleCapture {
    pub fn start(&mut self, limits: ConsoleLimits) {
        self.lines.clear();
        self.bytes = 0;
        self.dropped = 0;
        self.limits = limits;
    }

    pub fn push(&mut self, level: LogLevel, message: &str) {
        if self.lines.len() >= self.limits.max_lines || self.bytes >= self.limits.max_bytes {
            self.dropped += 1;
            return;
        }
        let room = self.limits.max_line_bytes.min(self.limits.max_bytes - self.bytes);
        let message = if message.len() > room {
            let mut cut = room;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}{}", &message[..cut], TRUNCATED_LINE_MARK)
        } else {
            message.to_owned()
        };
        self.bytes += message.len();
        self.lines.push(LogLine { level, message, time: Utc::now() });
    }

    /// The lines of the finished invocation; a last line says how many were
    /// dropped when the bounds were hit.
    pub fn finish(&mut self) -> Vec<LogLine> {
        let mut lines = std::mem::take(&mut self.lines);
        if self.dropped > 0 {
            lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "[chatfn] console output truncated: {} more line(s) dropped (limits: {} lines, {} bytes)",
                    self.dropped, self.limits.max_lines, self.limits.max_bytes
                ),
                time: Utc::now(),
            });
        }
        self.bytes = 0;
        self.dropped = 0;
        lines
    }
}

#[op2(fast)]
pub fn op_chatfn_log(state: &mut OpState, level: u32, #[string] message: &str) {
    state.borrow_mut::<ConsoleCapture>().push(LogLevel::from_op(level), message);
}
