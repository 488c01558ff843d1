//! chatfn: a self-hosted, serverless chat-function runtime host.

pub mod cli;
pub mod engine;

/// Longest environment variable name, in bytes (ASCII only).
pub const MAX_ENV_NAME_LEN: usize = 256;

/// Environment variable names: letters, digits and underscores, not
/// starting with a digit (what `process.env.NAME` can reach as written).
pub fn validate_env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_ENV_NAME_LEN;
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid environment variable name {name:?}: use letters, digits and underscores, not starting with a digit"
        ))
    }
}
pub mod api;
pub mod dispatch;
pub mod npm;
pub mod observe;
pub mod remote_platform;
pub mod secret;
pub mod server;
mod spin;
pub mod store;
pub mod telemetry;
pub mod triggers;
pub mod whole_number;
