//! The client side of the provider's rate-limit windows: each endpoint's budget, read from the
//! `X-Rate-Limit-*` headers of its answers, spent locally so that requests wait before the
//! provider has to answer 429.
//!
//! No rate-limiting crate fits: they enforce a quota set in advance (a token bucket, GCRA), while
//! here the quota, what is left of it and when it resets are the provider's, told anew by every
//! answer and different for every endpoint.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

use crate::retry::header_u64;

/// Client-side view of the provider's rate-limit windows, fed by its response headers.
///
/// Providers budget each endpoint separately (`/api/v1/users` and `/api/v1/groups/{id}/users`
/// each have their own limit), so windows are kept per bucket: the method and the URL path
/// with its ids replaced by `{id}` ([`bucket`]). The budget left (`X-Rate-Limit-Remaining`) is
/// decremented locally for every request sent, so requests in flight count before their answers
/// arrive. When less than a tenth of a window's limit is left, its requests are spread over the
/// time until the reset; with nothing left they wait for the reset.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, RateWindow>>,
    paused_until: Mutex<Option<SystemTime>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct RateWindow {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<SystemTime>,
    paused_until: Option<SystemTime>,
}

/// The rate-limit bucket of a request: method and path, ids replaced by `{id}`. A path segment
/// is taken for an id when it holds a digit, `@` or `%` (generated ids, GUIDs, logins).
pub fn bucket(method: &Method, url: &Url) -> String {
    let mut key = format!("{method} ");
    for segment in url.path().split('/').filter(|s| !s.is_empty()) {
        key.push('/');
        let id_like = segment.len() > 3
            && segment
                .chars()
                .any(|c| c.is_ascii_digit() || c == '@' || c == '%');
        key.push_str(if id_like { "{id}" } else { segment });
    }
    key
}

impl RateLimiter {
    /// Waits until a request of `bucket` may be sent, and counts it against its window.
    pub async fn acquire(&self, bucket: &str) {
        loop {
            let wait = self.reserve(bucket, SystemTime::now());
            match wait {
                None => return,
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Either takes one request from the bucket's budget (`None`) or says how long to wait.
    fn reserve(&self, bucket: &str, now: SystemTime) -> Option<Duration> {
        {
            let mut global = self.paused_until.lock().expect("rate limiter lock");
            if let Some(until) = *global {
                if until > now {
                    return Some(until.duration_since(now).unwrap_or_default());
                }
                *global = None;
            }
        }
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        // A bucket never answered yet has no known budget: nothing to wait for.
        let w = buckets.get_mut(bucket)?;
        if let Some(until) = w.paused_until {
            if until > now {
                return Some(until.duration_since(now).unwrap_or_default());
            }
            w.paused_until = None;
        }
        let (Some(remaining), Some(reset)) = (w.remaining, w.reset) else {
            return None;
        };
        if reset <= now {
            // The window has reset; the next answer tells the new budget.
            w.remaining = None;
            w.reset = None;
            return None;
        }
        let to_reset = reset.duration_since(now).unwrap_or_default();
        if remaining == 0 {
            return Some(to_reset + Duration::from_millis(50));
        }
        let limit = w.limit.unwrap_or(remaining).max(1);
        w.remaining = Some(remaining - 1);
        if remaining * 10 <= limit {
            // Low budget: spread what is left over the rest of the window.
            let spread = to_reset / (remaining as u32 + 1);
            w.paused_until = Some(now + spread);
        }
        None
    }

    /// Records the window a response of `bucket` reported.
    pub fn observe(&self, bucket: &str, headers: &HeaderMap) {
        let remaining = header_u64(headers, "x-rate-limit-remaining");
        let reset =
            header_u64(headers, "x-rate-limit-reset").map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let limit = header_u64(headers, "x-rate-limit-limit");
        let (Some(remaining), Some(reset)) = (remaining, reset) else {
            return;
        };
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let w = buckets.entry(bucket.to_string()).or_default();
        match w.reset {
            // Same window: answers arrive out of order, the smallest budget is the truest.
            Some(current) if current == reset => {
                w.remaining = Some(w.remaining.map_or(remaining, |r| r.min(remaining)));
            }
            Some(current) if current > reset => {}
            _ => {
                w.reset = Some(reset);
                w.remaining = Some(remaining);
            }
        }
        if limit.is_some() {
            w.limit = limit;
        }
    }

    /// Holds the requests of `bucket` until `until` (after a 429 on it).
    pub fn pause_bucket(&self, bucket: &str, until: SystemTime) {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let w = buckets.entry(bucket.to_string()).or_default();
        w.paused_until = Some(w.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Holds every request until `until` (a throttle reported for the whole client).
    pub fn pause_until(&self, until: SystemTime) {
        let mut global = self.paused_until.lock().expect("rate limiter lock");
        *global = Some(global.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::epoch_secs;
    use crate::testing::header_map as headers;

    #[test]
    fn limiter_slows_when_the_budget_runs_low_and_stops_at_zero() {
        let limiter = RateLimiter::default();
        let b = "GET /api/v1/users";
        let now = SystemTime::now();
        let reset = epoch_secs(now) + 10;
        limiter.observe(
            b,
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "50"),
                ("x-rate-limit-reset", &reset.to_string()),
            ]),
        );
        assert_eq!(limiter.reserve(b, now), None, "plenty left: no wait");
        // A later answer from the same window with a smaller budget wins.
        limiter.observe(
            b,
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "5"),
                ("x-rate-limit-reset", &reset.to_string()),
            ]),
        );
        assert_eq!(limiter.reserve(b, now), None, "low budget: this one goes");
        let spread = limiter
            .reserve(b, now)
            .expect("then the next waits its share");
        assert!(spread > Duration::ZERO && spread < Duration::from_secs(10));
        limiter.observe(
            b,
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", &reset.to_string()),
            ]),
        );
        let later = now + spread + Duration::from_millis(1);
        let wait = limiter
            .reserve(b, later)
            .expect("nothing left: wait for the reset");
        assert!(wait >= Duration::from_secs(6), "{wait:?}");
        let after_reset = UNIX_EPOCH + Duration::from_secs(reset + 1);
        assert_eq!(limiter.reserve(b, after_reset), None, "a new window starts");
    }

    #[test]
    fn each_endpoint_has_its_own_window() {
        let url = |s: &str| Url::parse(s).unwrap();
        let users = bucket(
            &Method::GET,
            &url("https://api.example.com/api/v1/users?limit=200"),
        );
        let members = bucket(
            &Method::GET,
            &url("https://api.example.com/api/v1/groups/00g1a2b3c4/users"),
        );
        assert_eq!(users, "GET /api/v1/users");
        assert_eq!(members, "GET /api/v1/groups/{id}/users");
        assert_eq!(
            members,
            bucket(
                &Method::GET,
                &url("https://api.example.com/api/v1/groups/00g9z8y7x6/users?after=1")
            )
        );
        assert_eq!(
            bucket(
                &Method::GET,
                &url("https://api.example.com/api/v1/users/ada%40example.com")
            ),
            "GET /api/v1/users/{id}"
        );
        let limiter = RateLimiter::default();
        let now = SystemTime::now();
        let reset = (epoch_secs(now) + 30).to_string();
        limiter.observe(
            &members,
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", &reset),
            ]),
        );
        assert!(
            limiter.reserve(&members, now).is_some(),
            "the spent window waits"
        );
        assert_eq!(
            limiter.reserve(&users, now),
            None,
            "another endpoint goes on"
        );
        limiter.pause_until(now + Duration::from_secs(5));
        assert!(
            limiter.reserve(&users, now).is_some(),
            "a client-wide pause holds everything"
        );
    }
}
