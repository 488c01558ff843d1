//! Outbound HTTP for functions: `fetch` (see `js-runtime/fetch.js`) makes
//! one `op_chatfn_fetch` per request; this op checks every request and
//! redirect hop against the application's egress policy (`egress.rs`)
//! before any byte leaves the host, and keeps each invocation's budget of
//! requests, each request's time limit and a cap on the answer's size.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use deno_core::{op2, serde_v8, OpState, ToJsBuffer};
use serde::{Deserialize, Serialize};

use super::egress::{EgressPolicy, PublicOnlyResolver};

/// Request headers a function cannot set (names arrive lower-cased).
const FORBIDDEN_HEADERS: &[&str] =
    &["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"];

/// Redirect hops followed for one `fetch`.
const MAX_REDIRECTS: usize = 10;

/// The running invocation's outbound budget. Lives in `OpState`.
#[derive(Default)]
pub struct FetchBinding {
    policy: Arc<EgressPolicy>,
    remaining: u32,
    /// One client per runtime thread (its connection pool lives on that
    /// thread's event loop).
    client: Option<reqwest::Client>,
}

impl FetchBinding {
    pub fn start(&mut self, policy: Arc<EgressPolicy>) {
        self.remaining = policy.max_requests_per_invocation;
        self.policy = policy;
    }

    fn client(&mut self) -> Result<reqwest::Client, FetchError> {
        if self.client.is_none() {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(PublicOnlyResolver))
                .user_agent(concat!("chatfn/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| FetchError::NoClient(e.to_string()))?;
            self.client = Some(client);
        }
        Ok(self.client.clone().expect("client made above"))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchArgs {
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    /// `follow`, `error` or `manual`.
    redirect: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchAnswer {
    status: u16,
    status_text: String,
    headers: Vec<(String, String)>,
    url: String,
    redirected: bool,
    body: ToJsBuffer,
}

/// Why a `fetch` got no answer, as the function sees it.
#[derive(Debug, thiserror::Error, deno_error::JsError)]
pub enum FetchError {
    /// Refused: by the egress policy, or by what the request asked for.
    #[class(type)]
    #[error("{0}")]
    Denied(String),
    #[class(range)]
    #[error("fetch of {url} denied: this invocation used its budget of {limit} outbound requests")]
    OverBudget { url: url::Url, limit: u32 },
    #[class(range)]
    #[error("fetch of {url} failed: the answer is larger than the limit of {limit} bytes")]
    TooLarge { url: url::Url, limit: usize },
    #[class("TimeoutError")]
    #[error("fetch of {0} timed out")]
    TimedOut(url::Url),
    #[class(type)]
    #[error("fetch of {url} failed: {reason}")]
    Failed { url: String, reason: String },
    #[class(generic)]
    #[error("could not create an HTTP client: {0}")]
    NoClient(String),
}

fn denied(message: String) -> FetchError {
    FetchError::Denied(message)
}

#[op2]
#[serde]
pub async fn op_chatfn_fetch(
    state: Rc<RefCell<OpState>>,
    #[serde] args: FetchArgs,
    #[serde] body: Option<serde_v8::JsBuffer>,
) -> Result<FetchAnswer, FetchError> {
    let body: Option<Vec<u8>> = body.map(|b| b.to_vec());
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| denied(format!("{:?} is not a valid HTTP method", args.method)))?;
    let mut url = url::Url::parse(&args.url)
        .map_err(|e| FetchError::Failed { url: format!("{:?}", args.url), reason: format!("invalid URL ({e})") })?;
    let mut method = method;
    let mut body = body;
    let mut redirected = false;
    for hop in 0..=MAX_REDIRECTS {
        let (client, policy) = {
            let mut state = state.borrow_mut();
            let binding = state.borrow_mut::<FetchBinding>();
            binding.policy.check(&url).map_err(denied)?;
            if binding.remaining == 0 {
                return Err(FetchError::OverBudget { url, limit: binding.policy.max_requests_per_invocation });
            }
            binding.remaining -= 1;
            (binding.client()?, binding.policy.clone())
        };
        let mut request = client.request(method.clone(), url.clone()).timeout(Duration::from_millis(policy.timeout_ms));
        // As browsers do, the host decides these; a function cannot.
        for (name, value) in args.headers.iter().filter(|(name, _)| !FORBIDDEN_HEADERS.contains(&name.as_str())) {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(bytes) = &body {
            request = request.body(bytes.clone());
        }
        let mut answer = request.send().await.map_err(|e| fetch_failed(&url, &e))?;
        let status = answer.status();
        if status.is_redirection() && args.redirect != "manual" {
            if let Some(location) = answer.headers().get(reqwest::header::LOCATION) {
                if args.redirect == "error" {
                    return Err(denied(format!("fetch of {url} was redirected and `redirect: \"error\"` was asked")));
                }
                if hop == MAX_REDIRECTS {
                    return Err(FetchError::Failed {
                        url: url.to_string(),
                        reason: format!("more than {MAX_REDIRECTS} redirects"),
                    });
                }
                let location = location.to_str().unwrap_or_default();
                url = url.join(location).map_err(|e| denied(format!("fetch of {url}: bad redirect ({e})")))?;
                // 303, and 301/302 after a POST, become a GET without a body.
                if status == reqwest::StatusCode::SEE_OTHER
                    || (matches!(status.as_u16(), 301 | 302) && method == reqwest::Method::POST)
                {
                    method = reqwest::Method::GET;
                    body = None;
                }
                redirected = true;
                continue;
            }
        }
        let headers = answer
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let mut bytes = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| fetch_failed(&url, &e))? {
            if bytes.len() + chunk.len() > policy.max_response_bytes {
                return Err(FetchError::TooLarge { url, limit: policy.max_response_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(FetchAnswer {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or("").to_string(),
            headers,
            url: url.to_string(),
            redirected,
            body: bytes.into(),
        });
    }
    unreachable!("the loop returns by its last hop")
}

/// A transport failure, with the policy's reason when the resolver refused.
fn fetch_failed(url: &url::Url, error: &reqwest::Error) -> FetchError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::PermissionDenied {
                return denied(format!("fetch of {url} denied: {io}"));
            }
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::TimedOut(url.clone());
    }
    FetchError::Failed { url: url.to_string(), reason: error.to_string() }
}

deno_core::extension!(
    chatfn_fetch,
    ops = [op_chatfn_fetch],
    state = |state| {
        state.put(FetchBinding::default());
    },
);

/// The capability: its ops and `js-runtime/fetch.js` over them.
pub(super) fn extension() -> deno_core::Extension {
    super::isolates::with_scripts!(chatfn_fetch::init(), "fetch.js")
}
