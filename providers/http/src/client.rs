//! [`HttpClient`]: one client per source, sharing its credential, rate limiter, concurrency and
//! counters between every handle on it; each request sent with retries ([`HttpClient::send`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use iamsnap_provider::{ProviderError, RequestStats, Secret, redact};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::error::transport_error;
use crate::retry::backoffs;
use crate::{HttpConfig, RateLimiter, bucket, error_message, retry_wait};

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
            url: redact::scrubbed(url.as_str()),
            message: format!("the body is not the JSON expected: {e}"),
        })
    }
}

/// An HTTP client for one source: credential, retries, rate limiting, concurrency, counters.
#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    config: Arc<HttpConfig>,
    permits: Arc<Semaphore>,
    /// Each rate-limit bucket's own slots, when the config sets `bucket_concurrency`.
    bucket_permits: Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>>,
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
            bucket_permits: Arc::default(),
            limiter: Arc::new(RateLimiter::default()),
            counters: Arc::new(Counters::default()),
            config: Arc::new(config),
        })
    }

    /// A slot of `bucket`'s own budget, if the config gives buckets one. Taken before the
    /// client-wide slot, so that requests waiting for a busy bucket never hold a slot another
    /// bucket could use.
    async fn bucket_slot(&self, bucket: &str) -> Option<OwnedSemaphorePermit> {
        let per_bucket = self.config.bucket_concurrency?;
        let permits = {
            let mut buckets = self
                .bucket_permits
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Arc::clone(
                buckets
                    .entry(bucket.to_string())
                    .or_insert_with(|| Arc::new(Semaphore::new(per_bucket.max(1)))),
            )
        };
        Some(
            permits
                .acquire_owned()
                .await
                .expect("the client's semaphore is never closed"),
        )
    }

    /// The settings the client was built with, for callers that pace retries of their own
    /// (items of a batch sent again) on the client's schedule.
    pub fn config(&self) -> &HttpConfig {
        &self.config
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
    ///
    /// The loop is ours rather than backon's `Retryable`, whose one budget and one schedule per
    /// call cannot hold what a request needs: failures and throttles each have their own budget
    /// (`max_attempts`, `max_throttled_attempts`), and a throttle waits as long as the provider's
    /// headers say, holding the other requests of its endpoint meanwhile. backon gives the
    /// backoff schedule of each budget.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Response, ProviderError> {
        let mut retries = backoffs(&self.config, self.config.max_attempts.saturating_sub(1));
        let mut throttles = backoffs(
            &self.config,
            self.config.max_throttled_attempts.saturating_sub(1),
        );
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
                    let Some(backoff) = throttles.next() else {
                        return Err(ProviderError::Throttled {
                            url: redact::scrubbed(url.as_str()),
                            attempts: throttled,
                        });
                    };
                    let wait = wait.unwrap_or(backoff).min(self.config.max_reset_wait);
                    tracing::debug!(%method, %url, wait_ms = wait.as_millis() as u64, "rate limited; waiting for the window to reset");
                    self.limiter
                        .pause_bucket(&bucket(&method, url), SystemTime::now() + wait);
                    tokio::time::sleep(wait).await;
                }
                Attempt::Retry(error) => {
                    attempt += 1;
                    let Some(wait) = retries.next() else {
                        return Err(error);
                    };
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%method, %url, attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, method: &Method, url: &Url, body: Option<&Value>) -> Attempt {
        let bucket = bucket(method, url);
        self.limiter.acquire(&bucket).await;
        let _bucket_slot = self.bucket_slot(&bucket).await;
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
        let message = error_message(&body, &*self.config.error_body);
        let url_text = redact::scrubbed(url.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Fault, reply, serve};
    use crate::{Page, status_of};

    fn fast_client(token: &str) -> HttpClient {
        let mut config = HttpConfig::new("Authorization", Secret::new(format!("SSWS {token}")));
        config.backoff_base = Duration::from_millis(10);
        config.max_attempts = 4;
        config.error_body = Arc::new(Fault);
        HttpClient::new(config).unwrap()
    }

    #[tokio::test]
    async fn each_bucket_has_its_own_slots_when_the_config_says_so() {
        let mut config = HttpConfig::new("Authorization", Secret::new("SSWS t".to_string()));
        config.bucket_concurrency = Some(1);
        let client = HttpClient::new(config).unwrap();
        let members = "GET /api/v1/groups/{id}/users";
        let held = client.bucket_slot(members).await;
        assert!(held.is_some());
        let short = Duration::from_millis(50);
        // Another bucket is not held up by the busy one...
        let owners =
            tokio::time::timeout(short, client.bucket_slot("GET /api/v1/groups/{id}/owners"));
        assert!(owners.await.is_ok_and(|slot| slot.is_some()));
        // ...while the busy one waits for its own slot to come back.
        assert!(
            tokio::time::timeout(short, client.bucket_slot(members))
                .await
                .is_err()
        );
        drop(held);
        assert!(
            tokio::time::timeout(short, client.bucket_slot(members))
                .await
                .is_ok()
        );
        // Without the setting, only the client-wide slots count.
        assert!(fast_client("t").bucket_slot(members).await.is_none());
    }

    #[tokio::test]
    async fn retries_server_errors_and_cut_bodies_then_succeeds() {
        let cut = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 100\r\n\r\n[{\"id\"".to_string();
        let (addr, seen) = serve(vec![
            reply(
                "500 Internal Server Error",
                "",
                r#"{"fault":{"id":"E0000009","text":"Internal Server Error"}}"#,
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
            reply(
                "429 Too Many Requests",
                "Retry-After: 0\r\n",
                r#"{"fault":{"id":"E0000047","text":"API call exceeded rate limit due to too many requests."}}"#,
            ),
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
            r#"{"fault":{"id":"E0000011","text":"Invalid token provided"}}"#,
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
            r#"{"fault":{"id":"E0000007","text":"Not found: Resource not found: 00u1 (User)"}}"#,
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

    #[tokio::test]
    async fn gives_up_after_the_configured_throttles() {
        let (addr, _) = serve(vec![reply(
            "429 Too Many Requests",
            "Retry-After: 0\r\n",
            "",
        )])
        .await;
        let mut config = HttpConfig::new("Authorization", Secret::new("SSWS t"));
        config.max_throttled_attempts = 3;
        let client = HttpClient::new(config).unwrap();
        let url = Url::parse(&format!("http://{addr}/x")).unwrap();
        let err = client.get_json::<Value>(&url).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::Throttled { attempts: 3, .. }),
            "{err:?}"
        );
        assert_eq!((client.stats().requests, client.stats().throttled), (3, 3));
    }
}
