//! Shared HTTP kit for connectors of SaaS identity providers (Okta, Microsoft Graph, Google).
//!
//! [`HttpClient`] wraps `reqwest` with what every such API needs:
//! - the credential in one header, taken from a [`Secret`] that never reaches logs or errors;
//! - retries with exponential backoff and full jitter on 5xx answers, connection errors and
//!   bodies cut short;
//! - `429 Too Many Requests` retried once the provider's window resets (`X-Rate-Limit-Reset`,
//!   epoch seconds, as Okta sends it; `Retry-After`, seconds, as Microsoft Graph sends it),
//!   and `503 Service Unavailable` carrying `Retry-After` treated the same way;
//! - a credential that can be replaced while requests run ([`HttpClient::set_credential`], for
//!   short-lived OAuth2 tokens), and throttles seen inside batch answers counted and obeyed
//!   ([`HttpClient::note_throttled`]);
//! - a [`RateLimiter`] fed by `X-Rate-Limit-Remaining/Limit/Reset` that slows down as the
//!   window's budget runs low and pauses before it reaches zero, so that 429s stay rare;
//! - bounded concurrency (a semaphore shared by every request of the client);
//! - counters of requests, throttles and retries ([`RequestStats`]);
//! - `Link: <…>; rel="next"` pagination ([`next_link`], [`HttpClient::get_page`]);
//! - JSON error bodies (Okta `errorCode`/`errorSummary`/`errorCauses`, Graph `error.message`)
//!   turned into a [`ProviderError`] that names the method and URL, never the credential.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::{ProviderError, RequestStats, Secret};

/// How a client authenticates and how hard it tries.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Name of the header carrying the credential (`Authorization`).
    pub auth_header: &'static str,
    /// Its whole value, scheme included (`SSWS 00a…`, `Bearer ey…`).
    pub auth_value: Secret,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Attempts for one request on 5xx and transport errors, the first included.
    pub max_attempts: u32,
    /// Attempts for one request while the provider answers 429.
    pub max_throttled_attempts: u32,
    /// First backoff delay; doubled on every retry, with full jitter.
    pub backoff_base: Duration,
    /// Longest single backoff delay.
    pub backoff_max: Duration,
    /// Longest wait for a rate-limit window to reset before giving up on it.
    pub max_reset_wait: Duration,
    /// Timeout of one attempt, connection to last byte.
    pub timeout: Duration,
    /// `User-Agent` sent with every request.
    pub user_agent: String,
}

impl HttpConfig {
    /// Defaults suited to a management API: 8 requests in flight, 6 attempts, 500 ms first backoff.
    pub fn new(auth_header: &'static str, auth_value: Secret) -> Self {
        HttpConfig {
            auth_header,
            auth_value,
            concurrency: 8,
            max_attempts: 6,
            max_throttled_attempts: 20,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_reset_wait: Duration::from_secs(120),
            timeout: Duration::from_secs(120),
            user_agent: concat!("iamsnap/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Pages at least this large are decoded on the blocking pool ([`HttpClient::get_page`]).
const OFF_TASK_DECODE: usize = 64 * 1024;

/// An answer with a 2xx status, its body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// Raw bytes, so callers choose how to decode them.
    pub body: Vec<u8>,
}

impl Response {
    /// Decodes the body as JSON; an empty body reads as `null`.
    pub fn json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ProviderError> {
        let body: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| ProviderError::Decode {
            url: url.to_string(),
            message: format!("the body is not the JSON expected: {e}"),
        })
    }

    /// The `rel="next"` target of the `Link` headers, resolved against `url`.
    pub fn next_link(&self, url: &Url) -> Option<Url> {
        next_link(&self.headers).and_then(|href| url.join(&href).ok())
    }
}

/// One page of a list and where the next one is.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Url>,
}

/// An HTTP client for one source: credential, retries, rate limiting, concurrency, counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<HttpConfig>,
    permits: Arc<Semaphore>,
    /// A share of `permits` this handle may hold at once ([`HttpClient::with_share`]).
    share: Option<Arc<Share>>,
    /// Whether this handle's requests let the share's other requests go first
    /// ([`HttpClient::yielding`]).
    yields: bool,
    limiter: Arc<RateLimiter>,
    counters: Arc<Counters>,
    /// The credential header's value; starts as `config.auth_value`.
    credential: Arc<std::sync::RwLock<Secret>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("auth_header", &self.config.auth_header)
            .field("concurrency", &self.config.concurrency)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A part of a client's concurrency ([`HttpClient::with_share`]).
#[derive(Debug)]
struct Share {
    permits: Arc<Semaphore>,
    /// Told each time a slot is given back, for the yielding handles waiting for one.
    released: Notify,
}

/// A slot of a share, given back (and the yielding handles told) when dropped.
struct ShareSlot {
    permit: Option<OwnedSemaphorePermit>,
    share: Arc<Share>,
}

impl Drop for ShareSlot {
    fn drop(&mut self) {
        self.permit.take();
        self.share.released.notify_one();
    }
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self, ProviderError> {
        let inner = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        check_header_value(&config.auth_value)?;
        Ok(HttpClient {
            inner,
            credential: Arc::new(std::sync::RwLock::new(config.auth_value.clone())),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            share: None,
            yields: false,
            limiter: Arc::new(RateLimiter::default()),
            counters: Arc::new(Counters::default()),
            config: Arc::new(config),
        })
    }

    /// A handle on the same client (credential, limiter, counters, concurrency) whose requests
    /// hold at most `permits` of the client's concurrency at once. A connector reads children
    /// lists fanned out over many parents (the members of every group) through a share, so that
    /// they never take every slot from a list read one page after another, whose every wait
    /// adds to the length of the whole read.
    pub fn with_share(&self, permits: usize) -> HttpClient {
        HttpClient {
            share: Some(Arc::new(Share {
                permits: Arc::new(Semaphore::new(permits.max(1))),
                released: Notify::new(),
            })),
            yields: false,
            ..self.clone()
        }
    }

    /// A handle on the same share whose requests take a slot only when no request of the
    /// share's other handles is waiting for one: work that can be done at any time (a smaller
    /// list) fills the slots that the list deciding when the read ends (the busiest rate-limit
    /// bucket) leaves idle while it waits for its window, and never delays it.
    pub fn yielding(&self) -> HttpClient {
        HttpClient {
            yields: true,
            ..self.clone()
        }
    }

    /// A slot of this handle's share, if it has one. The future owns what it needs (it borrows
    /// nothing from the handle), which keeps the futures of callers' requests simple to prove
    /// `Send`.
    fn share_slot(&self) -> impl Future<Output = Option<ShareSlot>> + Send + 'static {
        let (share, yields) = (self.share.clone(), self.yields);
        async move {
            let share = share?;
            let permit = if yields {
                loop {
                    // Waiting handles are served first: the semaphore hands a released permit
                    // straight to them, so `try_acquire` succeeds only when none is waiting.
                    let released = share.released.notified();
                    tokio::pin!(released);
                    released.as_mut().enable();
                    if let Ok(permit) = Arc::clone(&share.permits).try_acquire_owned() {
                        break permit;
                    }
                    released.await;
                }
            } else {
                Arc::clone(&share.permits)
                    .acquire_owned()
                    .await
                    .expect("the client's semaphore is never closed")
            };
            Some(ShareSlot {
                permit: Some(permit),
                share,
            })
        }
    }

    /// Requests, throttles and retries so far.
    pub fn stats(&self) -> RequestStats {
        RequestStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
        }
    }

    /// Replaces the credential header's value (scheme included) for every later request, e.g.
    /// with a refreshed OAuth2 access token.
    pub fn set_credential(&self, value: Secret) -> Result<(), ProviderError> {
        check_header_value(&value)?;
        *self.credential.write().unwrap_or_else(|e| e.into_inner()) = value;
        Ok(())
    }

    /// Counts a throttle the provider reported outside the HTTP status of an answer (one item of
    /// a batch answered 429) and holds every request of the client for `wait`.
    pub fn note_throttled(&self, wait: Duration) {
        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
        self.limiter.pause_until(SystemTime::now() + wait);
    }

    /// Counts a retry made by the caller (one item of a batch sent again after a 5xx).
    pub fn note_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// `GET url`, decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ProviderError> {
        self.send(Method::GET, url, None).await?.json(url)
    }

    /// `GET url` as one page of a JSON-array list paginated with `Link` headers.
    ///
    /// A large page is decoded on the blocking pool rather than on the task that asked for
    /// it: a connector reading many lists at once polls them all from one task, which would
    /// otherwise decode every page of the read in turn on a single core.
    pub async fn get_page<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &Url,
    ) -> Result<Page<T>, ProviderError> {
        let response = self.send(Method::GET, url, None).await?;
        let next = response.next_link(url);
        let items: Option<Vec<T>> = if response.body.len() >= OFF_TASK_DECODE {
            let owned = url.clone();
            tokio::task::spawn_blocking(move || response.json(&owned))
                .await
                .map_err(|e| ProviderError::Decode {
                    url: url.to_string(),
                    message: format!("decoding the page failed: {e}"),
                })??
        } else {
            response.json(url)?
        };
        Ok(Page {
            items: items.unwrap_or_default(),
            next,
        })
    }

    /// Sends `method url` with an optional JSON body; returns the decoded answer, `None` for an
    /// empty body (`204 No Content`).
    pub async fn send_json(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        let response = self.send(method, url, body).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        response.json(url).map(Some)
    }

    /// Sends one request with retries. A non-2xx answer that retrying cannot cure becomes a
    /// [`ProviderError`] carrying the provider's own error message.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Response, ProviderError> {
        let mut attempt: u32 = 0;
        let mut throttled: u32 = 0;
        loop {
            let outcome = self.attempt(&method, url, body).await;
            match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(error) => return Err(error),
                Attempt::Throttled { wait } => {
                    throttled += 1;
                    self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    if throttled >= self.config.max_throttled_attempts {
                        return Err(ProviderError::Throttled {
                            url: url.to_string(),
                            attempts: throttled,
                        });
                    }
                    let wait = wait
                        .unwrap_or_else(|| backoff(&self.config, throttled))
                        .min(self.config.max_reset_wait);
                    tracing::debug!(%method, %url, wait_ms = wait.as_millis() as u64, "rate limited; waiting for the window to reset");
                    self.limiter
                        .pause_bucket(&bucket(&method, url), SystemTime::now() + wait);
                    tokio::time::sleep(wait).await;
                }
                Attempt::Retry(error) => {
                    attempt += 1;
                    if attempt >= self.config.max_attempts {
                        return Err(error);
                    }
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = backoff(&self.config, attempt);
                    tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>) -> Attempt {
        let bucket = bucket(method, url);
        self.limiter.acquire(&bucket).await;
        let _share = self.share_slot().await;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the client's semaphore is never closed");
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let credential = self
            .credential
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut request = self
            .inner
            .request(method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .header(self.config.auth_header, credential.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(transport_error(url, &e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        self.limiter.observe(&bucket, &headers);
        let body = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Attempt::Retry(transport_error(url, &e)),
        };
        if status.is_success() {
            return Attempt::Done(Response {
                status,
                headers,
                body,
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && headers.contains_key("retry-after"))
        {
            return Attempt::Throttled {
                wait: retry_wait(&headers, SystemTime::now()),
            };
        }
        let message = error_message(&body);
        let url_text = url.to_string();
        match status.as_u16() {
            401 => Attempt::Fail(ProviderError::Unauthorized {
                url: url_text,
                status: 401,
                message,
            }),
            403 => Attempt::Fail(ProviderError::Forbidden {
                url: url_text,
                status: 403,
                message,
            }),
            code => {
                let error = ProviderError::Http {
                    method: method.to_string(),
                    url: url_text,
                    status: code,
                    message,
                };
                if status.is_server_error() {
                    Attempt::Retry(error)
                } else {
                    Attempt::Fail(error)
                }
            }
        }
    }
}

fn check_header_value(value: &Secret) -> Result<(), ProviderError> {
    HeaderValue::from_str(value.expose())
        .map(|_| ())
        .map_err(|_| {
            ProviderError::Config(
                "the credential contains characters that cannot be sent in an HTTP header; \
             check for stray quotes or line breaks"
                    .into(),
            )
        })
}

enum Attempt {
    Done(Response),
    Fail(ProviderError),
    Retry(ProviderError),
    Throttled { wait: Option<Duration> },
}

fn transport_error(url: &Url, error: &reqwest::Error) -> ProviderError {
    // reqwest's own message may repeat the URL; the chain of sources says what went wrong.
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        source = e.source();
    }
    if error.is_timeout() {
        message.push_str(" (timed out)");
    }
    ProviderError::Transport {
        url: url.to_string(),
        message,
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

/// A read whose 404 means "does not exist": `Ok(None)` then, other errors kept.
pub fn found<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if status_of(&e) == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The HTTP status of an error the provider answered with, if it answered.
pub fn status_of(error: &ProviderError) -> Option<u16> {
    match error {
        ProviderError::Http { status, .. }
        | ProviderError::Unauthorized { status, .. }
        | ProviderError::Forbidden { status, .. } => Some(*status),
        _ => None,
    }
}

/// Exponential backoff with full jitter: a random delay in `[0, min(max, base * 2^(attempt-1))]`.
pub fn backoff(config: &HttpConfig, attempt: u32) -> Duration {
    let exp = config
        .backoff_base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let cap = exp.min(config.backoff_max);
    let millis = cap.as_millis().max(1) as u64;
    Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
}

/// How long to wait after a 429: until `X-Rate-Limit-Reset` (epoch seconds, measured against the
/// server's `Date` when present, as clocks differ) or for `Retry-After` seconds.
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

fn jitter() -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(0..250))
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The target of the `rel="next"` link among all `Link` headers, if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| rels.split_whitespace().any(|r| r == "next"))
        .map(|(href, _)| href)
}

/// Splits one `Link` header value into `(href, rel)` pairs.
fn split_links(value: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let href = rest[start + 1..start + end].trim().to_string();
        rest = &rest[start + end + 1..];
        // Parameters run to the next link, which starts after a comma outside quotes.
        let params_end = rest.find('<').unwrap_or(rest.len());
        let params = &rest[..params_end];
        let rel = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| {
                r.trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .next()
            .unwrap_or_default();
        links.push((href, rel));
        rest = &rest[params_end..];
    }
    links
}

/// The provider's own explanation from a JSON error body (Okta, Microsoft Graph, OAuth), or a
/// short excerpt of the body when it is not JSON.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(summary) = value.get("errorSummary").and_then(Value::as_str) {
            let mut message = match value.get("errorCode").and_then(Value::as_str) {
                Some(code) => format!("{code}: {summary}"),
                None => summary.to_string(),
            };
            let causes: Vec<&str> = value
                .get("errorCauses")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(|c| c.get("errorSummary").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            if !causes.is_empty() {
                message.push_str(" (");
                message.push_str(&causes.join("; "));
                message.push(')');
            }
            if let Some(id) = value.get("errorId").and_then(Value::as_str) {
                message.push_str(&format!(" [errorId {id}]"));
            }
            return message;
        }
        if let Some(error) = value.get("error") {
            if let Some(msg) = error.get("message").and_then(Value::as_str) {
                return match error.get("code").and_then(Value::as_str) {
                    Some(code) => format!("{code}: {msg}"),
                    None => msg.to_string(),
                };
            }
            if let Some(code) = error.as_str() {
                let desc = value
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return format!("{code}: {desc}")
                    .trim_end_matches([':', ' '])
                    .to_string();
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no error body".to_string();
    }
    text.chars().take(300).collect()
}

/// Client-side view of the provider's rate-limit windows, fed by its response headers.
///
/// Providers budget each endpoint separately (Okta: `/api/v1/users`, `/api/v1/groups/{id}/users`,
/// … each have their own limit), so windows are kept per bucket: the method and the URL path
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
/// is taken for an id when it holds a digit, `@` or `%` (Okta `00u…`, Graph GUIDs, logins).
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

    #[test]
    fn service_urls_are_https_without_a_path_except_on_loopback() {
        let ok = |v: &str| service_url("s", "url", v, "https://example.com").is_ok();
        assert!(ok("https://acme.okta.com/"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(!ok("http://acme.okta.com"));
        assert!(!ok("https://acme.okta.com/api/v1"));
        let err = service_url("okta-prod", "org_url", "acme", "https://x.okta.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sources.okta-prod.org_url") && err.contains("https://x.okta.com"),
            "{err}"
        );
    }
    use std::net::SocketAddr;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_the_next_link_among_several() {
        let h = headers(&[
            (
                "link",
                "<https://x.okta.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
            (
                "link",
                "<https://x.okta.com/api/v1/users?after=00u5&limit=200>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://x.okta.com/api/v1/users?after=00u5&limit=200")
        );
        let joined = headers(&[(
            "link",
            "<https://a/1>; rel=\"self\", <https://a/2?after=x>; rel=\"next\"",
        )]);
        assert_eq!(next_link(&joined).as_deref(), Some("https://a/2?after=x"));
        assert_eq!(
            next_link(&headers(&[("link", "<https://a/1>; rel=\"self\"")])),
            None
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn okta_error_bodies_read_as_code_summary_and_causes() {
        let body = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"oaeX","errorCauses":[{"errorSummary":"login: An object with this field already exists"}]}"#;
        assert_eq!(
            error_message(body),
            "E0000001: Api validation failed: login (login: An object with this field already exists) [errorId oaeX]"
        );
        let graph = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource does not exist."}}"#;
        assert_eq!(
            error_message(graph),
            "Request_ResourceNotFound: Resource does not exist."
        );
        assert_eq!(error_message(b""), "no error body");
        assert_eq!(
            error_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn waits_for_okta_reset_measured_on_the_server_clock() {
        let h = headers(&[
            ("x-rate-limit-reset", "1609459230"),
            ("date", "Fri, 01 Jan 2021 00:00:00 GMT"),
        ]);
        let wait = retry_wait(&h, SystemTime::now()).unwrap();
        assert!(
            wait >= Duration::from_secs(31) && wait < Duration::from_secs(32),
            "{wait:?}"
        );
        let graph = headers(&[("retry-after", "7")]);
        let wait = retry_wait(&graph, SystemTime::now()).unwrap();
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
    }

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
            &url("https://x.okta.com/api/v1/users?limit=200"),
        );
        let members = bucket(
            &Method::GET,
            &url("https://x.okta.com/api/v1/groups/00g1a2b3c4/users"),
        );
        assert_eq!(users, "GET /api/v1/users");
        assert_eq!(members, "GET /api/v1/groups/{id}/users");
        assert_eq!(
            members,
            bucket(
                &Method::GET,
                &url("https://x.okta.com/api/v1/groups/00g9z8y7x6/users?after=1")
            )
        );
        assert_eq!(
            bucket(
                &Method::GET,
                &url("https://x.okta.com/api/v1/users/ada%40example.com")
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

    /// A one-shot HTTP/1.1 server answering each connection with the next canned response and
    /// recording every request head.
    async fn serve(responses: Vec<String>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let next = Arc::new(AtomicUsize::new(0));
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).to_string());
                let i = next.fetch_add(1, Ordering::SeqCst);
                let response = responses
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| responses.last().cloned().unwrap());
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        (addr, seen)
    }

    fn reply(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn fast_client(token: &str) -> HttpClient {
        let mut config = HttpConfig::new("Authorization", Secret::new(format!("SSWS {token}")));
        config.backoff_base = Duration::from_millis(10);
        config.max_attempts = 4;
        HttpClient::new(config).unwrap()
    }

    #[tokio::test]
    async fn retries_server_errors_and_cut_bodies_then_succeeds() {
        let cut = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 100\r\n\r\n[{\"id\"".to_string();
        let (addr, seen) = serve(vec![
            reply(
                "500 Internal Server Error",
                "",
                r#"{"errorCode":"E0000009","errorSummary":"Internal Server Error"}"#,
            ),
            cut,
            reply(
                "200 OK",
                "Link: <http://x/next?after=2>; rel=\"next\"\r\n",
                r#"[{"id":"1"}]"#,
            ),
        ])
        .await;
        let client = fast_client("tok-secret");
        let url = Url::parse(&format!("http://{addr}/api/v1/users")).unwrap();
        let page: Page<Value> = client.get_page(&url).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next.unwrap().as_str(), "http://x/next?after=2");
        let stats = client.stats();
        assert_eq!((stats.requests, stats.retries, stats.throttled), (3, 2, 0));
        let heads = seen.lock().unwrap();
        assert!(
            heads[0]
                .to_lowercase()
                .contains("authorization: ssws tok-secret")
        );
    }

    #[tokio::test]
    async fn throttled_requests_wait_for_the_reset_and_are_counted() {
        let (addr, _) = serve(vec![
            reply("429 Too Many Requests", "Retry-After: 0\r\n", r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#),
            reply("200 OK", "", r#"{"ok":true}"#),
        ])
        .await;
        let client = fast_client("t");
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let v: Value = client.get_json(&url).await.unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(client.stats().throttled, 1);
    }

    #[tokio::test]
    async fn unavailable_with_retry_after_waits_and_a_new_credential_is_sent() {
        let (addr, seen) = serve(vec![
            reply("503 Service Unavailable", "Retry-After: 0\r\n", ""),
            reply("200 OK", "", r#"{"ok":true}"#),
        ])
        .await;
        let client = fast_client("old");
        client
            .set_credential(Secret::new("Bearer new-token"))
            .unwrap();
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let v: Value = client.get_json(&url).await.unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!((client.stats().throttled, client.stats().retries), (1, 0));
        let heads = seen.lock().unwrap();
        assert!(
            heads[1]
                .to_lowercase()
                .contains("authorization: bearer new-token")
        );
        assert!(client.set_credential(Secret::new("a\nb")).is_err());
    }

    #[tokio::test]
    async fn unauthorized_names_the_url_and_never_the_token() {
        let (addr, _) = serve(vec![reply(
            "401 Unauthorized",
            "",
            r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"x","errorCauses":[]}"#,
        )])
        .await;
        let client = fast_client("tok-very-secret");
        let url = Url::parse(&format!("http://{addr}/api/v1/users/me")).unwrap();
        let err = client.get_json::<Value>(&url).await.unwrap_err();
        assert!(matches!(err, ProviderError::Unauthorized { .. }));
        let text = format!("{err} {err:?} {client:?}");
        assert!(text.contains("/api/v1/users/me"), "{text}");
        assert!(text.contains("E0000011: Invalid token provided"), "{text}");
        assert!(!text.contains("tok-very-secret"), "{text}");
        assert_eq!(client.stats().retries, 0, "401 is never retried");
    }

    #[tokio::test]
    async fn client_errors_are_not_retried_and_keep_their_status() {
        let (addr, _) = serve(vec![reply(
            "404 Not Found",
            "",
            r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: 00u1 (User)"}"#,
        )])
        .await;
        let client = fast_client("t");
        let url = Url::parse(&format!("http://{addr}/api/v1/users/00u1")).unwrap();
        let err = client.get_json::<Value>(&url).await.unwrap_err();
        assert_eq!(status_of(&err), Some(404));
        assert!(err.to_string().contains("GET"), "{err}");
        assert_eq!(client.stats().requests, 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_configured_attempts() {
        let (addr, _) = serve(vec![reply("503 Service Unavailable", "", "")]).await;
        let client = fast_client("t");
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let err = client.get_json::<Value>(&url).await.unwrap_err();
        assert_eq!(status_of(&err), Some(503));
        assert_eq!(client.stats().requests, 4);
    }
}
