//! The context APIs' host side: `context.getUserApi()` and friends (see
//! `js-runtime/context.js`) turn each method call into one
//! `op_chatfn_platform_request`; this op checks the request and the
//! invocation's budget and hands it to the [`ChatPlatform`] the runtime is
//! bound to. Tenant scoping is the platform's: it is bound to one
//! application before the engine ever sees it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use deno_core::{op2, OpState};

/// One Platform API request, as a function's context API makes it.
#[derive(Debug, Clone)]
pub struct PlatformRequest {
    pub method: String,
    /// `/v1/...`, with the query string.
    pub path_and_query: String,
    /// JSON text.
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PlatformResponse {
    pub status: u16,
    /// JSON text, or empty.
    pub body: String,
}

pub type PlatformFuture = Pin<Box<dyn Future<Output = Result<PlatformResponse, String>> + Send>>;

/// The chat platform behind the context APIs, already bound to one
/// application: the embedded store or a remote Platform API.
pub trait ChatPlatform: Send + Sync + 'static {
    /// Sends one request; `Err` is a failure to get any answer (the
    /// message is shown to the function).
    fn send(&self, request: PlatformRequest) -> PlatformFuture;
}

/// A runtime's binding to its application's platform.
#[derive(Clone)]
pub struct PlatformHandle(pub Arc<dyn ChatPlatform>);

impl std::fmt::Debug for PlatformHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlatformHandle")
    }
}

/// Paths a function may reach: chat data and the application, never the
/// control plane (functions, runtime, triggers, tokens).
const ALLOWED_PREFIXES: &[&str] =
    &["/v1/users", "/v1/user-sessions", "/v1/channels", "/v1/messages", "/v1/threads", "/v1/application"];
const ALLOWED_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
const MAX_PATH_BYTES: usize = 2048;
/// Largest request body a context API call may send.
pub const MAX_PLATFORM_BODY_BYTES: usize = 1024 * 1024;
/// Largest Platform API answer a function receives.
pub const MAX_PLATFORM_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What the running invocation may still do. Lives in `OpState`.
#[derive(Default)]
pub struct ContextBinding {
    platform: Option<PlatformHandle>,
    remaining: u32,
    limit: u32,
}

impl ContextBinding {
    pub fn start(&mut self, platform: Option<PlatformHandle>, limit: u32) {
        self.platform = platform;
        self.remaining = limit;
        self.limit = limit;
    }
}

/// Why a context API call got no answer from the platform.
#[derive(Debug, thiserror::Error, deno_error::JsError)]
pub enum ContextError {
    #[class(type)]
    #[error("method {0:?} is not a Platform API method")]
    Method(String),
    #[class(type)]
    #[error(
        "path {0:?} is not one the context APIs can reach (users, user sessions, channels, messages, threads, application)"
    )]
    Path(String),
    #[class(range)]
    #[error("the request body is larger than the limit of {MAX_PLATFORM_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[class(generic)]
    #[error("no chat platform is configured for this runtime")]
    NoPlatform,
    #[class(range)]
    #[error("this invocation used its budget of {0} Platform API requests")]
    OverBudget(u32),
    /// The platform could not be reached or answered unreadably.
    #[class(generic)]
    #[error("{0}")]
    Unreachable(String),
}

fn check(method: &str, path: &str, body: &str) -> Result<(), ContextError> {
    if !ALLOWED_METHODS.contains(&method) {
        return Err(ContextError::Method(method.to_string()));
    }
    let route = path.split('?').next().unwrap_or("");
    let allowed = ALLOWED_PREFIXES
        .iter()
        .any(|prefix| route.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
    if !allowed
        || path.len() > MAX_PATH_BYTES
        || route.contains("..")
        || path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(ContextError::Path(path.to_string()));
    }
    if body.len() > MAX_PLATFORM_BODY_BYTES {
        return Err(ContextError::BodyTooLarge);
    }
    Ok(())
}

/// `[status, body]` of one Platform API request. An empty `body` sends none.
#[op2]
#[serde]
pub async fn op_chatfn_platform_request(
    state: Rc<RefCell<OpState>>,
    #[string] method: String,
    #[string] path: String,
    #[string] body: String,
) -> Result<(u16, String), ContextError> {
    check(&method, &path, &body)?;
    let platform = {
        let mut state = state.borrow_mut();
        let binding = state.borrow_mut::<ContextBinding>();
        let Some(platform) = binding.platform.clone() else {
            return Err(ContextError::NoPlatform);
        };
        if binding.remaining == 0 {
            return Err(ContextError::OverBudget(binding.limit));
        }
        binding.remaining -= 1;
        platform
    };
    let request =
        PlatformRequest { method, path_and_query: path, body: if body.is_empty() { None } else { Some(body) } };
    let response = platform.0.send(request).await.map_err(ContextError::Unreachable)?;
    Ok((response.status, response.body))
}

deno_core::extension!(
    chatfn_context,
    ops = [op_chatfn_platform_request],
    state = |state| {
        state.put(ContextBinding::default());
    },
);

/// The capability: its ops and `js-runtime/context.js` over them.
pub(super) fn extension() -> deno_core::Extension {
    super::isolates::with_scripts!(chatfn_context::init(), "context.js")
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn only_chat_data_paths_are_reachable() {
        assert!(check("GET", "/v1/users?name=jane", "").is_ok());
        assert!(check("HEAD", "/v1/users", "").is_ok());
        assert!(check("POST", "/v1/channels/7/members", "{}").is_ok());
        assert!(check("GET", "/v1/application", "").is_ok());
        assert!(check("GET", "/v1/applicationx", "").is_err());
        assert!(check("GET", "/v1/runtimes/nodejs", "").is_err());
        assert!(check("POST", "/v1/triggers/user.sent.message", "").is_err());
        assert!(check("GET", "/v1/users/../functions", "").is_err());
        assert!(check("GET", "/v1/users/1 HTTP/1.1", "").is_err());
        assert!(check("TRACE", "/v1/users", "").is_err());
    }
}
