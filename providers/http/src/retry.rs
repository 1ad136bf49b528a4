//! How long to wait before sending a request again: exponential backoff with jitter after a
//! failure, the provider's own reset time after a throttle.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};
use rand::Rng;
use reqwest::header::HeaderMap;

use crate::HttpConfig;

/// The waits before the retries of one request, `retries` of them at most: the delay of retry
/// `n` is a random one in `[c/2, c)`, where `c = min(backoff_max, backoff_base * 2^(n-1))`.
///
/// backon's jitter adds a random part of up to the delay itself (`[d, 2d)`), so the schedule
/// starts from half the base and is capped at half the maximum.
pub(crate) fn backoffs(
    config: &HttpConfig,
    retries: u32,
) -> impl Iterator<Item = Duration> + Send + use<> {
    ExponentialBuilder::new()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(config.backoff_base.min(config.backoff_max) / 2)
        .with_max_delay(config.backoff_max / 2)
        .with_max_times(retries as usize)
        .build()
}

/// The wait before retry number `attempt` (the first is 1), for callers that count their own
/// attempts (items of a batch sent again, token requests): the same schedule as
/// [`HttpClient::send`](crate::HttpClient::send).
pub fn backoff(config: &HttpConfig, attempt: u32) -> Duration {
    // The walk along the schedule stops at 2^16 times the base, past any cap in use.
    backoffs(config, attempt.clamp(1, 17))
        .last()
        .unwrap_or(config.backoff_max)
}

/// How long to wait after a 429: until `X-Rate-Limit-Reset` (epoch seconds, measured against the
/// server's `Date` when present, as clocks differ) or for `Retry-After` seconds.
///
/// The provider says when its window resets, so these waits come from the answer rather than
/// from a backoff schedule.
pub fn retry_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(secs) + jitter());
    }
    let reset = header_u64(headers, "x-rate-limit-reset")?;
    let server_now = headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.timestamp().max(0) as u64)
        .unwrap_or_else(|| epoch_secs(now));
    // One second past the reset: the header has second precision.
    Some(Duration::from_secs(reset.saturating_sub(server_now) + 1) + jitter())
}

/// Spreads the requests that waited for the same reset over a quarter of a second.
fn jitter() -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(0..250))
}

pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::header_map as headers;
    use iamsnap_provider::Secret;

    #[test]
    fn waits_for_the_reset_measured_on_the_server_clock() {
        let h = headers(&[
            ("x-rate-limit-reset", "1609459230"),
            ("date", "Fri, 01 Jan 2021 00:00:00 GMT"),
        ]);
        let wait = retry_wait(&h, SystemTime::now()).unwrap();
        assert!(
            wait >= Duration::from_secs(31) && wait < Duration::from_secs(32),
            "{wait:?}"
        );
        let seconds = headers(&[("retry-after", "7")]);
        let wait = retry_wait(&seconds, SystemTime::now()).unwrap();
        assert!(wait >= Duration::from_secs(7) && wait < Duration::from_secs(8));
        assert_eq!(retry_wait(&HeaderMap::new(), SystemTime::now()), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let config = HttpConfig::new("Authorization", Secret::new("x"));
        let first = backoff(&config, 1);
        assert!(first <= Duration::from_millis(500) && first >= Duration::from_millis(250));
        let later = backoff(&config, 4);
        assert!(later >= Duration::from_secs(2) && later <= Duration::from_secs(4));
        assert!(backoff(&config, 30) <= Duration::from_secs(30));
        assert!(backoff(&config, u32::MAX) >= Duration::from_secs(15));
    }

    #[test]
    fn a_request_gets_as_many_waits_as_retries() {
        let config = HttpConfig::new("Authorization", Secret::new("x"));
        let waits: Vec<Duration> = backoffs(&config, 5).collect();
        assert_eq!(waits.len(), 5);
        for (n, wait) in waits.iter().enumerate() {
            let cap = Duration::from_millis(500 << n);
            assert!(
                *wait >= cap / 2 && *wait <= cap,
                "retry {}: {wait:?}",
                n + 1
            );
        }
        assert_eq!(backoffs(&config, 0).count(), 0);
    }
}
