//! What a connector sets up before its first request: the client's settings and the checked
//! address of the service.

use std::sync::Arc;
use std::time::Duration;

use iamsnap_provider::{ProviderError, Secret};
use url::Url;

use crate::{ErrorBody, OAuth2Error};

/// How a client authenticates, how hard it tries, and how it reads the provider's errors.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Name of the header carrying the credential (`Authorization`).
    pub auth_header: &'static str,
    /// Its whole value, scheme included (`SSWS 00a…`, `Bearer ey…`).
    pub auth_value: Secret,
    /// Requests in flight at once, over all endpoints.
    pub concurrency: usize,
    /// Requests in flight at once on one rate-limit bucket ([`bucket`](crate::bucket)), when
    /// set: a provider that budgets each endpoint apart can serve several busy endpoints at
    /// their full rate only if none of them can take every slot of `concurrency` from the
    /// others. `None`: only `concurrency` bounds them.
    pub bucket_concurrency: Option<usize>,
    /// Attempts for one request on 5xx and transport errors, the first included.
    pub max_attempts: u32,
    /// Attempts for one request while the provider answers 429.
    pub max_throttled_attempts: u32,
    /// First backoff delay; doubled on every retry, with jitter ([`backoff`](crate::backoff)).
    pub backoff_base: Duration,
    /// Longest single backoff delay.
    pub backoff_max: Duration,
    /// Longest wait for a rate-limit window to reset before giving up on it.
    pub max_reset_wait: Duration,
    /// Timeout of one attempt, connection to last byte.
    pub timeout: Duration,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
    /// Reads the provider's own explanation out of an error answer's body
    /// ([`error_message`](crate::error_message)).
    pub error_body: Arc<dyn ErrorBody>,
}

impl HttpConfig {
    /// Defaults suited to a management API: 8 requests in flight, 6 attempts, 500 ms first backoff,
    /// error bodies read as OAuth2 errors or plain text until the connector sets its own parser.
    pub fn new(auth_header: &'static str, auth_value: Secret) -> Self {
        HttpConfig {
            auth_header,
            auth_value,
            concurrency: 8,
            bucket_concurrency: None,
            max_attempts: 6,
            max_throttled_attempts: 20,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_reset_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(120),
            user_agent: concat!("iamsnap/", env!("CARGO_PKG_VERSION")).to_string(),
            error_body: Arc::new(OAuth2Error),
        }
    }
}

/// The base URL of a service from `sources.SOURCE.FIELD`: `https://…` without a path. Plain
/// `http` is accepted for loopback addresses only (local emulators), since tokens and secrets
/// would otherwise cross the network in clear. `example` shows the expected form in errors.
pub fn service_url(
    source: &str,
    field: &str,
    value: &str,
    example: &str,
) -> Result<Url, ProviderError> {
    let what = format!("sources.{source}.{field}: {value:?}");
    let url = Url::parse(value.trim_end_matches('/')).map_err(|e| {
        ProviderError::Config(format!("{what} is not a URL ({e}); write it as {example}"))
    })?;
    let loopback = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(ProviderError::Config(format!(
            "{what} must start with https:// (plain http is only accepted for a local emulator)"
        )));
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(ProviderError::Config(format!(
            "{what} must be the service's address alone, without a path; write it as {example}"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_are_https_without_a_path_except_on_loopback() {
        let ok = |v: &str| service_url("s", "url", v, "https://example.com").is_ok();
        assert!(ok("https://acme.example.com/"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(!ok("http://acme.example.com"));
        assert!(!ok("https://acme.example.com/api/v1"));
        let err = service_url("prod", "org_url", "acme", "https://x.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sources.prod.org_url") && err.contains("https://x.example.com"),
            "{err}"
        );
    }
}
