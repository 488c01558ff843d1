//! Per-application request rates: a token bucket per application and kind
//! of request (triggers, the rest of the API), kept in memory on each host.
//! Over the rate a request answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

/// Requests per second an application may make (`0`: unlimited); a bucket
/// holds one second of them, so a burst up to the rate passes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub triggers_per_second: u32,
    pub api_per_second: u32,
}

impl RateLimits {
    pub const DEFAULT: RateLimits = RateLimits { triggers_per_second: 50_000, api_per_second: 5_000 };
    pub const UNLIMITED: RateLimits = RateLimits { triggers_per_second: 0, api_per_second: 0 };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Trigger,
    Api,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<(i64, RequestKind), Bucket>>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Limiter {
        Limiter { limits, buckets: Mutex::default() }
    }

    fn rate(&self, kind: RequestKind) -> u32 {
        match kind {
            RequestKind::Trigger => self.limits.triggers_per_second,
            RequestKind::Api => self.limits.api_per_second,
        }
    }

    /// Takes one request's token; `Err(seconds)` to wait when there is none.
    pub fn admit(&self, application_id: i64, kind: RequestKind) -> Result<(), (u32, u64)> {
        let rate = self.rate(kind);
        if rate == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry((application_id, kind)).or_insert(Bucket { tokens: rate as f64, at: now });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate as f64;
        bucket.tokens = (bucket.tokens + refill).min(rate as f64);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate as f64;
            Err((rate, wait.ceil().max(1.0) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_rate_passes_then_it_waits_and_apps_are_apart() {
        let limiter = Limiter::new(RateLimits { triggers_per_second: 0, api_per_second: 3 });
        for _ in 0..3 {
            assert!(limiter.admit(1, RequestKind::Api).is_ok());
        }
        assert_eq!(limiter.admit(1, RequestKind::Api), Err((3, 1)));
        assert!(limiter.admit(2, RequestKind::Api).is_ok(), "another application has its own bucket");
        assert!((0..1000).all(|_| limiter.admit(1, RequestKind::Trigger).is_ok()), "0 is unlimited");
    }
}
