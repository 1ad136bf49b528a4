//! Microsoft Graph over the shared HTTP kit: bearer tokens refreshed before they expire,
//! `@odata.nextLink` paging, JSON `$batch` with per-item throttling obeyed, and Graph's error
//! bodies.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use iamsnap_http::{
    ClientCredentials, ErrorBody, HttpClient, HttpConfig, Response, TokenSource, backoff,
    error_message, found,
};
use iamsnap_provider::{ProviderError, RequestStats, Secret};
use reqwest::Method;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};
use url::Url;

use crate::config::EntraConfig;

/// Most requests Graph accepts in one `$batch`.
pub(crate) const MAX_BATCH: usize = 20;
/// Rounds a batch item may be throttled before the snapshot gives up.
const MAX_BATCH_ROUNDS: u32 = 20;

/// A client for one tenant's Graph.
#[derive(Debug)]
pub(crate) struct GraphClient {
    http: HttpClient,
    tokens: TokenSource,
    /// `https://graph.microsoft.com/v1.0`.
    root: String,
    origin: url::Origin,
    concurrency: usize,
}

impl GraphClient {
    /// The client of a validated `config`, signing in with `secret`.
    pub(crate) fn new(
        source_name: &str,
        config: &EntraConfig,
        secret: Secret,
    ) -> Result<Self, ProviderError> {
        let (token_url, graph) = config.endpoints(source_name)?;
        let tokens = TokenSource::new(ClientCredentials {
            token_url,
            client_id: config.client_id.trim().to_string(),
            client_secret: secret,
            // Every Graph permission granted to the app registration: the client-credentials
            // grant takes no finer scope.
            scope: format!("{}/.default", graph.as_str().trim_end_matches('/')),
            guidance: "check tenant_id, client_id and the client secret configured for this source, and that the secret has not expired".into(),
        })?;
        let concurrency = config.concurrency();
        let mut http = HttpConfig::new("Authorization", Secret::new("Bearer"));
        http.concurrency = concurrency;
        http.error_body = Arc::new(GraphErrorBody);
        Ok(GraphClient {
            http: HttpClient::new(http)?,
            tokens,
            root: format!("{}/v1.0", graph.as_str().trim_end_matches('/')),
            origin: graph.origin(),
            concurrency,
        })
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.http.stats()
    }

    /// `path` (starting with `/`, query included) under `/v1.0`.
    pub(crate) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{path}", self.root)).expect("Graph URLs are well formed")
    }

    /// Runs `call` with a valid token; once more with a new token when Graph says the token
    /// expired or was revoked meanwhile.
    async fn authorized<T, F, Fut>(&self, call: F) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        self.tokens
            .authorized(
                &self.http,
                |message| message.starts_with("InvalidAuthenticationToken"),
                call,
            )
            .await
    }

    /// Gets a token now: the first thing a snapshot does, so bad credentials fail fast.
    pub(crate) async fn sign_in(&self) -> Result<(), ProviderError> {
        let token = self.tokens.bearer(None).await?;
        self.http.set_credential(token)
    }

    /// The claims of the access token Graph is called with (a JWT's payload, decoded without
    /// checking its signature: they are only read to say what the token carries); `None` for
    /// a token that is no readable JWT. The token itself never leaves this function.
    pub(crate) async fn token_claims(&self) -> Result<Option<Value>, ProviderError> {
        use base64::Engine;
        let bearer = self.tokens.bearer(None).await?;
        let token = bearer.expose().trim_start_matches("Bearer ");
        let payload = token.split('.').nth(1).unwrap_or_default();
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok();
        Ok(decoded.and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()))
    }

    pub(crate) async fn get(&self, url: &Url) -> Result<Value, ProviderError> {
        self.get_as(url).await
    }

    /// `GET`, decoded straight into `T`.
    pub(crate) async fn get_as<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ProviderError> {
        self.authorized(|| self.http.get_json::<T>(url)).await
    }

    /// `GET`, with a 404 read as "does not exist".
    pub(crate) async fn get_opt(&self, url: &Url) -> Result<Option<Value>, ProviderError> {
        found(self.get(url).await)
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        self.authorized(|| self.http.send_json(method.clone(), url, body))
            .await
    }

    /// One page of a collection and the link to the next one.
    pub(crate) async fn page(&self, url: &Url) -> Result<(Vec<Value>, Option<Url>), ProviderError> {
        self.page_of(url).await
    }

    /// One page of a collection, its items decoded as `T`, and the link to the next one.
    pub(crate) async fn page_of<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<(Vec<T>, Option<Url>), ProviderError> {
        let body: Page<T> = self.get_as(url).await?;
        self.split_page(url, body)
    }

    /// One page of a collection, read but not decoded yet, and the link to the next one
    /// (found by skipping over the items), so that a long chain of pages can ask for the next
    /// page while this one is decoded.
    pub(crate) async fn raw_page(&self, url: Url) -> Result<(RawPage, Option<Url>), ProviderError> {
        let response = self
            .authorized(|| self.http.send(Method::GET, &url, None))
            .await?;
        let head: Page<IgnoredAny> = response.json(&url)?;
        let (_, next) = self.split_page(&url, head)?;
        Ok((RawPage { url, response }, next))
    }

    fn split_page<T>(
        &self,
        url: &Url,
        body: Page<T>,
    ) -> Result<(Vec<T>, Option<Url>), ProviderError> {
        let next = match body.next.as_deref() {
            None => None,
            Some(link) => {
                let next = Url::parse(link).map_err(|e| ProviderError::Decode {
                    url: url.to_string(),
                    message: format!("@odata.nextLink is not a URL ({e}): {link}"),
                })?;
                // The token goes with every request: never follow a link off Graph.
                if next.origin() != self.origin {
                    return Err(ProviderError::Decode {
                        url: url.to_string(),
                        message: format!("@odata.nextLink points outside Microsoft Graph: {next}"),
                    });
                }
                // A server repeating the same link would loop forever.
                (next != *url).then_some(next)
            }
        };
        let Some(items) = body.value else {
            return Err(ProviderError::Decode {
                url: url.to_string(),
                message: "a collection answer without a \"value\" array".into(),
            });
        };
        Ok((items, next))
    }

    /// Every item of a collection, all pages read.
    pub(crate) async fn all(&self, path: &str) -> Result<Vec<Value>, ProviderError> {
        self.all_of(path).await
    }

    /// Every item of a collection, decoded as `T`, all pages read.
    pub(crate) async fn all_of<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, ProviderError> {
        self.all_from(self.url(path)).await
    }

    async fn all_from<T: DeserializeOwned>(&self, first: Url) -> Result<Vec<T>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next {
            let (items, following) = self.page_of(&url).await?;
            out.extend(items);
            next = following;
        }
        Ok(out)
    }

    /// Every item of each of `paths` (GET collections under `/v1.0`), read through `$batch`
    /// 20 at a time with as many batches in flight as the concurrency allows. `None` for a
    /// collection whose parent no longer exists (deleted while the snapshot ran).
    pub(crate) async fn batch_lists<T: DeserializeOwned + Send>(
        &self,
        paths: &[String],
    ) -> Result<Vec<Option<Vec<T>>>, ProviderError> {
        let owned: Vec<Vec<String>> = paths.chunks(MAX_BATCH).map(<[String]>::to_vec).collect();
        let chunks: Vec<Vec<Option<Vec<T>>>> = futures::stream::iter(owned)
            .map(move |chunk: Vec<String>| async move { self.batch(&chunk).await })
            .buffered(self.batches_in_flight())
            .try_collect()
            .await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// Batches sent at once: one request slot fewer than the concurrency, so that a chain of
    /// pages read beside them (the users) never queues behind a batch.
    pub(crate) fn batches_in_flight(&self) -> usize {
        self.concurrency.saturating_sub(1).max(1)
    }

    /// Every item of each of `paths` (at most [`MAX_BATCH`]) in one `$batch`, items that Graph
    /// throttles sent again; `None` for a collection whose parent no longer exists.
    pub(crate) async fn batch<T: DeserializeOwned>(
        &self,
        paths: &[String],
    ) -> Result<Vec<Option<Vec<T>>>, ProviderError> {
        let batch_url = self.url("/$batch");
        let mut results: Vec<Option<Option<Vec<T>>>> = (0..paths.len()).map(|_| None).collect();
        let mut pending: Vec<usize> = (0..paths.len()).collect();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            if round > MAX_BATCH_ROUNDS {
                return Err(ProviderError::Throttled {
                    url: self.url(&paths[pending[0]]).to_string(),
                    attempts: MAX_BATCH_ROUNDS,
                });
            }
            let requests: Vec<Value> = pending
                .iter()
                .map(|i| json!({"id": i.to_string(), "method": "GET", "url": paths[*i]}))
                .collect();
            let body = json!({ "requests": requests });
            let answer: BatchAnswer<T> = self
                .authorized(|| async {
                    self.http
                        .send(Method::POST, &batch_url, Some(&body))
                        .await?
                        .json(&batch_url)
                })
                .await?;
            let responses = answer.responses.ok_or_else(|| ProviderError::Decode {
                url: batch_url.to_string(),
                message: "a $batch answer without a \"responses\" array".into(),
            })?;
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            for response in responses {
                let Some(i) = response.id.as_str().and_then(|id| id.parse::<usize>().ok()) else {
                    continue;
                };
                if !pending.contains(&i) || results[i].is_some() {
                    continue;
                }
                let url = self.url(&paths[i]);
                let status = response.status.as_u64().unwrap_or(0) as u16;
                match status {
                    200 => {
                        let body = response.body.unwrap_or_default();
                        let (mut items, next) = self.split_page(&url, body.into())?;
                        if let Some(next) = next {
                            items.extend(self.all_from(next).await?);
                        }
                        results[i] = Some(Some(items));
                    }
                    404 => results[i] = Some(None),
                    429 | 503 | 504 => {
                        // Seconds, whole as a rule; Graph's own examples show fractions too.
                        let retry_after = header(&response.headers, "retry-after")
                            .and_then(|v| v.trim().parse::<f64>().ok())
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .map(Duration::from_secs_f64);
                        let retry = self.http.config();
                        let item_wait = match retry_after {
                            Some(d) => {
                                let d = d.min(retry.max_reset_wait);
                                self.http.note_throttled(d);
                                d
                            }
                            None if status == 429 => {
                                let d = backoff(retry, round);
                                self.http.note_throttled(d);
                                d
                            }
                            None => {
                                self.http.note_retry();
                                backoff(retry, round)
                            }
                        };
                        tracing::debug!(%url, status, wait_ms = item_wait.as_millis() as u64, "batch item throttled; sending it again");
                        wait = Some(wait.map_or(item_wait, |w| w.max(item_wait)));
                        again.push(i);
                    }
                    _ => {
                        let error = response.body.and_then(|b| b.error);
                        return Err(item_error(&url, status, error));
                    }
                }
            }
            // Items the answer left out are sent again.
            for i in &pending {
                if results[*i].is_none() && !again.contains(i) {
                    again.push(*i);
                }
            }
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
            }
            pending = again;
        }
        Ok(results.into_iter().map(|r| r.unwrap_or(None)).collect())
    }
}

/// A page as Graph sent it; see [`GraphClient::raw_page`].
#[derive(Debug)]
pub(crate) struct RawPage {
    url: Url,
    response: Response,
}

impl RawPage {
    /// The page's items, decoded as `T`.
    pub(crate) fn decode<T: DeserializeOwned>(self) -> Result<Vec<T>, ProviderError> {
        let page: Page<T> = self.response.json(&self.url)?;
        Ok(page.value.unwrap_or_default())
    }
}

/// A collection answer: its items decoded as `T`, everything else skipped unread.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct Page<T> {
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    value: Option<Vec<T>>,
}

/// An item's body inside a `$batch` answer: a collection page, or Graph's error.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct BatchBody<T> {
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    value: Option<Vec<T>>,
    error: Option<Value>,
}

impl<T> Default for BatchBody<T> {
    fn default() -> Self {
        BatchBody {
            next: None,
            value: None,
            error: None,
        }
    }
}

impl<T> From<BatchBody<T>> for Page<T> {
    fn from(body: BatchBody<T>) -> Self {
        Page {
            next: body.next,
            value: body.value,
        }
    }
}

/// A `$batch` answer, each item decoded where it stands: no `Value` tree of the whole answer.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct BatchAnswer<T> {
    responses: Option<Vec<BatchItem<T>>>,
}

#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct BatchItem<T> {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    status: Value,
    #[serde(default)]
    headers: Value,
    body: Option<BatchBody<T>>,
}

/// A header of a batch item (names compared without case).
fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn item_error(url: &Url, status: u16, error: Option<Value>) -> ProviderError {
    let body = error.map_or(Value::Null, |e| json!({ "error": e }));
    let message = error_message(body.to_string().as_bytes(), &GraphErrorBody);
    let url = url.to_string();
    match status {
        401 => ProviderError::Unauthorized {
            url,
            status,
            message,
        },
        403 => ProviderError::Forbidden {
            url,
            status,
            message,
        },
        _ => ProviderError::Http {
            method: "GET".into(),
            url,
            status,
            message,
        },
    }
}

/// Graph's error body, `{"error": {"code": …, "message": …}}`, read as `code: message`. The
/// code leads, so that callers can tell an expired token (`InvalidAuthenticationToken`) from a
/// missing permission.
#[derive(Debug)]
pub(crate) struct GraphErrorBody;

impl ErrorBody for GraphErrorBody {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let error = value.get("error")?;
        let message = error.get("message").and_then(Value::as_str)?;
        Some(match error.get("code").and_then(Value::as_str) {
            Some(code) => format!("{code}: {message}"),
            None => message.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_error_bodies_read_as_code_and_message() {
        let graph = br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource does not exist."}}"#;
        assert_eq!(
            error_message(graph, &GraphErrorBody),
            "Request_ResourceNotFound: Resource does not exist."
        );
        let oauth = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        assert_eq!(
            error_message(oauth, &GraphErrorBody),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(error_message(b"", &GraphErrorBody), "no error body");
        assert_eq!(
            error_message(b"<html>bad gateway</html>", &GraphErrorBody),
            "<html>bad gateway</html>"
        );
    }
}
