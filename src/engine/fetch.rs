//! Outbound HTTP for functions: `fetch` (see `js-runtime/fetch.js`) makes
//! one `op_chatfn_fetch` per request; this op enforces the application's
//! egress policy before any byte leaves the host.
//!
//! - The URL's host must be on the application's allow-list (exact host,
//!   `*.suffix`, optionally with `:port`); nothing is allowed by default.
//! - Private, loopback, link-local and other non-public addresses are
//!   reached only when the allow-list names that address literally: a host
//!   name resolving to one is refused (no DNS rebinding into the host's
//!   network).
//! - Redirects are followed here, each hop checked and counted like a request.
//! - Each invocation has a budget of requests; each request a time limit
//!   and a cap on the answer's size.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use deno_core::{op2, serde_v8, OpState, ToJsBuffer};
use deno_error::JsErrorBox;
use serde::{Deserialize, Serialize};

/// What a function may reach over HTTP. Part of an application's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressPolicy {
    /// `api.example.com`, `*.example.com`, `api.example.com:8443`,
    /// `127.0.0.1:9000` (a private address must be named literally).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Requests one invocation may make (redirect hops included).
    #[serde(default = "default_max_requests")]
    pub max_requests_per_invocation: u32,
    /// Time limit of one request, answer included.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Largest answer body read.
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
}

fn default_max_requests() -> u32 {
    50
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_max_response_bytes() -> usize {
    10 * 1024 * 1024
}

impl Default for EgressPolicy {
    fn default() -> Self {
        EgressPolicy {
            allowed_hosts: Vec::new(),
            max_requests_per_invocation: default_max_requests(),
            timeout_ms: default_timeout_ms(),
            max_response_bytes: default_max_response_bytes(),
        }
    }
}

/// Request headers a function cannot set (names arrive lower-cased).
const FORBIDDEN_HEADERS: &[&str] =
    &["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"];

/// Redirect hops followed for one `fetch`.
const MAX_REDIRECTS: usize = 10;

/// One allow-list entry, parsed.
struct HostRule {
    /// Lower-case host, without the `*.` of a wildcard.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl EgressPolicy {
    /// Checks an entry's form; the API refuses a policy with a bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.allowed_hosts.len() > 100 {
            return Err("allowedHosts`: at most 100 entries".into());
        }
        for entry in &self.allowed_hosts {
            parse_rule(entry)?;
        }
        if self.max_requests_per_invocation > 1000 {
            return Err("maxRequestsPerInvocation`: at most 1000".into());
        }
        if !(1..=300_000).contains(&self.timeout_ms) {
            return Err("timeoutMs`: from 1 to 300000".into());
        }
        if !(1..=64 * 1024 * 1024).contains(&self.max_response_bytes) {
            return Err("maxResponseBytes`: from 1 to 67108864".into());
        }
        Ok(())
    }

    /// `Ok` when `url` may be requested; otherwise why not, naming the
    /// host and the rule.
    pub fn check(&self, url: &url::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("fetch of {url} denied: only http and https URLs can be fetched"));
        }
        let Some(host) = url.host_str() else {
            return Err(format!("fetch of {url} denied: the URL has no host"));
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = url.port_or_known_default();
        let matched = self.allowed_hosts.iter().filter_map(|entry| parse_rule(entry).ok()).find(|rule| {
            let host_matches = if rule.wildcard {
                host.len() > rule.host.len() + 1 && host.ends_with(&format!(".{}", rule.host))
            } else {
                host == rule.host
            };
            host_matches && rule.port.is_none_or(|p| Some(p) == port)
        });
        let Some(rule) = matched else {
            return Err(format!(
                "fetch of {url} denied: host {host:?} is not on this application's outbound allow-list{}",
                if self.allowed_hosts.is_empty() { " (which is empty)" } else { "" }
            ));
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !is_public(ip) && rule.wildcard {
                return Err(format!(
                    "fetch of {url} denied: {ip} is a private or loopback address; allow it by naming it literally"
                ));
            }
        }
        Ok(())
    }
}

fn parse_rule(entry: &str) -> Result<HostRule, String> {
    let bad = || format!("allowedHosts`: {entry:?} is not a host, *.domain or host:port");
    let trimmed = entry.trim();
    if trimmed.is_empty() || trimmed.contains('/') || trimmed.contains('@') || trimmed.chars().any(char::is_whitespace)
    {
        return Err(bad());
    }
    // `[::1]:8080`, `host:443`, `host`.
    let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (inside.to_string(), port)
    } else if trimmed.matches(':').count() == 1 {
        let (host, port) = trimmed.split_once(':').expect("one colon");
        (host.to_string(), Some(port.parse::<u16>().map_err(|_| bad())?))
    } else {
        (trimmed.to_string(), None)
    };
    let (host, wildcard) = match host.strip_prefix("*.") {
        Some(rest) => (rest.to_string(), true),
        None => (host, false),
    };
    if host.is_empty() || host.contains('*') {
        return Err(bad());
    }
    Ok(HostRule { host: host.to_ascii_lowercase(), wildcard, port })
}

/// Addresses on the public internet; everything else (private, loopback,
/// link-local, CGNAT, multicast, documentation, unspecified ...) is not.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// Resolves host names for `fetch`, refusing any that lead to a non-public
/// address (private addresses are reached only through literal entries,
/// which never get here).
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(private) = addrs.iter().find(|a| !is_public(a.ip())) {
                let message = format!(
                    "host {host:?} resolves to {}, a private or loopback address; allow that address literally to reach it",
                    private.ip()
                );
                return Err(Box::new(std::io::Error::new(std::io::ErrorKind::PermissionDenied, message)) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

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

    fn client(&mut self) -> Result<reqwest::Client, JsErrorBox> {
        if self.client.is_none() {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(PublicOnlyResolver))
                .user_agent(concat!("chatfn/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| JsErrorBox::generic(format!("could not create an HTTP client: {e}")))?;
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

fn denied(message: String) -> JsErrorBox {
    JsErrorBox::type_error(message)
}

#[op2]
#[serde]
pub async fn op_chatfn_fetch(
    state: Rc<RefCell<OpState>>,
    #[serde] args: FetchArgs,
    #[serde] body: Option<serde_v8::JsBuffer>,
) -> Result<FetchAnswer, JsErrorBox> {
    let body: Option<Vec<u8>> = body.map(|b| b.to_vec());
    let method = reqwest::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| denied(format!("{:?} is not a valid HTTP method", args.method)))?;
    let mut url =
        url::Url::parse(&args.url).map_err(|e| denied(format!("fetch of {:?} failed: invalid URL ({e})", args.url)))?;
    let mut method = method;
    let mut body = body;
    let mut redirected = false;
    for hop in 0..=MAX_REDIRECTS {
        let (client, policy) = {
            let mut state = state.borrow_mut();
            let binding = state.borrow_mut::<FetchBinding>();
            binding.policy.check(&url).map_err(denied)?;
            if binding.remaining == 0 {
                return Err(JsErrorBox::range_error(format!(
                    "fetch of {url} denied: this invocation used its budget of {} outbound requests",
                    binding.policy.max_requests_per_invocation
                )));
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
                    return Err(denied(format!("fetch of {url} failed: more than {MAX_REDIRECTS} redirects")));
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
                return Err(JsErrorBox::range_error(format!(
                    "fetch of {url} failed: the answer is larger than the limit of {} bytes",
                    policy.max_response_bytes
                )));
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
fn fetch_failed(url: &url::Url, error: &reqwest::Error) -> JsErrorBox {
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
        return JsErrorBox::new("TimeoutError", format!("fetch of {url} timed out"));
    }
    JsErrorBox::type_error(format!("fetch of {url} failed: {error}"))
}

deno_core::extension!(
    chatfn_fetch,
    ops = [op_chatfn_fetch],
    state = |state| {
        state.put(FetchBinding::default());
    },
);

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> EgressPolicy {
        EgressPolicy { allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn allowed(p: &EgressPolicy, url: &str) -> bool {
        p.check(&url::Url::parse(url).unwrap()).is_ok()
    }

    #[test]
    fn hosts_match_exactly_by_wildcard_or_port() {
        let p = policy(&["api.example.com", "*.example.org", "hooks.example.net:8443", "127.0.0.1:9000"]);
        assert!(allowed(&p, "https://api.example.com/x"));
        assert!(allowed(&p, "https://API.example.com/x"));
        assert!(!allowed(&p, "https://evil.com/?api.example.com"));
        assert!(!allowed(&p, "https://api.example.com.evil.com/"));
        assert!(allowed(&p, "https://a.b.example.org/"));
        assert!(!allowed(&p, "https://example.org/"));
        assert!(allowed(&p, "https://hooks.example.net:8443/"));
        assert!(!allowed(&p, "https://hooks.example.net/"));
        assert!(allowed(&p, "http://127.0.0.1:9000/"));
        assert!(!allowed(&p, "http://127.0.0.1:9001/"));
        assert!(!allowed(&p, "file:///etc/passwd"));
        assert!(!allowed(&policy(&[]), "https://api.example.com/"));
        let message = policy(&[]).check(&url::Url::parse("https://x.io/").unwrap()).unwrap_err();
        assert!(message.contains("\"x.io\"") && message.contains("allow-list"), "{message}");
    }

    #[test]
    fn rules_are_validated() {
        assert!(policy(&["a.com", "*.b.com", "[::1]:80", "10.0.0.1"]).validate().is_ok());
        for bad in ["", "http://a.com", "a.com/path", "*", "a.*.com", "a.com:x", "user@a.com"] {
            assert!(policy(&[bad]).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn private_ranges_are_not_public() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
