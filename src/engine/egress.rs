//! What a function may reach over HTTP, and the checks behind it:
//!
//! - The URL's host must be on the application's allow-list (exact host,
//!   `*.suffix`, optionally with `:port`); nothing is allowed by default.
//! - Private, loopback, link-local and other non-public addresses are
//!   reached only when the allow-list names that address literally: a host
//!   name resolving to one is refused (no DNS rebinding into the host's
//!   network).

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// What a function may reach over HTTP. Part of an application's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressPolicy {
    /// `api.example.com`, `*.example.com`, `api.example.com:8443`,
    /// `127.0.0.1:9000` (a private address must be named literally).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_hosts: Vec<String>,
    /// Requests one invocation may make (redirect hops included).
    #[serde(default = "default_max_requests", deserialize_with = "crate::whole_number::deserialize")]
    #[schema(minimum = 0, maximum = 1000)]
    pub max_requests_per_invocation: u32,
    /// Time limit of one request, answer included.
    #[serde(default = "default_timeout_ms", deserialize_with = "crate::whole_number::deserialize")]
    #[schema(minimum = 1, maximum = 300000)]
    pub timeout_ms: u64,
    /// Largest answer body read.
    #[serde(default = "default_max_response_bytes", deserialize_with = "crate::whole_number::deserialize")]
    #[schema(minimum = 1, maximum = 67108864)]
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
pub(super) struct PublicOnlyResolver;

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
