//! The Okta Management API over the shared HTTP kit: `SSWS` auth, paging, and Okta's error
//! bodies.

use std::sync::Arc;

use iamsnap_http::{ErrorBody, HttpClient, HttpConfig, Page, found};
use iamsnap_provider::{ProviderError, RequestStats, Secret};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;
use url::Url;

/// Endpoints whose `concurrency` of requests may be in flight at once, all told.
const ENDPOINTS_IN_FLIGHT: usize = 4;

/// Most requests in flight at once, all endpoints told, that four endpoints' worth may reach:
/// under the 75 simultaneous requests Okta allows most orgs.
const ORG_IN_FLIGHT: usize = 64;

/// A client for one Okta org.
#[derive(Debug, Clone)]
pub(crate) struct OktaClient {
    http: HttpClient,
    base: Url,
}

impl OktaClient {
    /// A client for the org at `base` ([`OktaConfig::org`](crate::config::OktaConfig::org)).
    pub(crate) fn new(base: Url, token: Secret, concurrency: usize) -> Result<Self, ProviderError> {
        let token = token.expose().trim();
        let token = token.strip_prefix("SSWS ").unwrap_or(token);
        let mut config = HttpConfig::new("Authorization", Secret::new(format!("SSWS {token}")));
        // Okta budgets each endpoint apart, and a backup's per-object reads (members, owners and
        // roles of every group) are several endpoints each near the busiest one's request count:
        // `concurrency` is each endpoint's own number of requests in flight, so none of them
        // waits for another's slots and each reaches its rate limit. Okta also caps the
        // requests an org has in flight at once (35 on the smallest plan, 75 on the others):
        // all endpoints together hold four endpoints' worth (32 at the default of 8), never
        // more than 64 unless `concurrency` itself asks for more.
        let concurrency = concurrency.max(1);
        config.bucket_concurrency = Some(concurrency);
        config.concurrency = (concurrency * ENDPOINTS_IN_FLIGHT)
            .min(ORG_IN_FLIGHT)
            .max(concurrency);
        config.error_body = Arc::new(OktaErrorBody);
        Ok(OktaClient {
            http: HttpClient::new(config)?,
            base,
        })
    }

    pub(crate) fn stats(&self) -> RequestStats {
        self.http.stats()
    }

    /// `path` (starting `/api/v1/`) with query parameters, on the org.
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A path segment escaped for the URL (logins hold `@` and `+`).
    pub(crate) fn segment(value: &str) -> String {
        url::form_urlencoded::byte_serialize(value.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    }

    pub(crate) async fn get(&self, url: &Url) -> Result<Value, ProviderError> {
        self.http.get_json(url).await
    }

    /// `GET`, with a 404 read as "does not exist".
    pub(crate) async fn get_opt(&self, url: &Url) -> Result<Option<Value>, ProviderError> {
        found(self.http.get_json(url).await)
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        self.http.send_json(method, url, body).await
    }

    /// Pages of a list, one request at a time, following `Link: rel="next"`.
    pub(crate) fn pages(&self, first: Url) -> Pages<'_> {
        self.pages_of(first)
    }

    /// [`OktaClient::pages`] with each item decoded as `T` (only the fields it names are kept).
    pub(crate) fn pages_of<T: DeserializeOwned + Send + 'static>(
        &self,
        first: Url,
    ) -> Pages<'_, T> {
        Pages {
            client: self,
            next: Some(first),
            ahead: None,
            read_ahead: false,
        }
    }

    /// [`OktaClient::pages_of`] for a list read to its end: each next page is asked for as
    /// soon as the current one has come, while the caller works through it, so that a long
    /// chain of pages costs one round trip per page and not that plus the caller's work.
    pub(crate) fn pages_ahead<T: DeserializeOwned + Send + 'static>(
        &self,
        first: Url,
    ) -> Pages<'_, T> {
        let mut pages = self.pages_of(first);
        pages.read_ahead = true;
        pages
    }

    /// Every item of a small list (types, zones, one policy's rules), all pages read.
    pub(crate) async fn all(&self, first: Url) -> Result<Vec<Value>, ProviderError> {
        let mut pages = self.pages(first);
        let mut out = Vec::new();
        while let Some(items) = pages.next().await? {
            out.extend(items);
        }
        Ok(out)
    }
}

/// A cursor over the pages of one list.
pub(crate) struct Pages<'a, T = Value> {
    client: &'a OktaClient,
    next: Option<Url>,
    /// The request for `next`, already sent ([`OktaClient::pages_ahead`]).
    ahead: Option<JoinHandle<Result<Page<T>, ProviderError>>>,
    read_ahead: bool,
}

impl<T: DeserializeOwned + Send + 'static> Pages<'_, T> {
    /// The next page, or `None` after the last.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<T>>, ProviderError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let page = match self.ahead.take() {
            Some(request) => request.await.map_err(|e| ProviderError::Decode {
                url: url.to_string(),
                message: format!("reading the page failed: {e}"),
            })??,
            None => self.client.http.get_page::<T>(&url).await?,
        };
        if let Some(next) = &page.next
            && next.origin() != self.client.base.origin()
        {
            // The token goes with every request: never follow a link off the org.
            return Err(ProviderError::Decode {
                url: url.to_string(),
                message: format!("the next-page link points outside the org: {next}"),
            });
        }
        // A server repeating the same cursor would loop forever: stop instead.
        self.next = page.next.filter(|n| *n != url);
        if self.read_ahead
            && let Some(next) = &self.next
        {
            let (http, next) = (self.client.http.clone(), next.clone());
            self.ahead = Some(tokio::spawn(async move { http.get_page::<T>(&next).await }));
        }
        Ok(Some(page.items))
    }
}

impl<T> Drop for Pages<'_, T> {
    fn drop(&mut self) {
        if let Some(request) = self.ahead.take() {
            request.abort();
        }
    }
}

/// Okta's error body: `{errorCode, errorSummary, errorLink, errorId, errorCauses}`, read as
/// `E0000001: summary (cause; cause) [errorId …]`. The errorId is what Okta support asks for.
#[derive(Debug)]
pub(crate) struct OktaErrorBody;

impl ErrorBody for OktaErrorBody {
    fn message(&self, body: &[u8]) -> Option<String> {
        let value = serde_json::from_slice::<Value>(body).ok()?;
        let summary = value.get("errorSummary").and_then(Value::as_str)?;
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
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use iamsnap_http::error_message;

    use super::*;

    #[test]
    fn okta_error_bodies_read_as_code_summary_and_causes() {
        let body = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"oaeX","errorCauses":[{"errorSummary":"login: An object with this field already exists"}]}"#;
        assert_eq!(
            error_message(body, &OktaErrorBody),
            "E0000001: Api validation failed: login (login: An object with this field already exists) [errorId oaeX]"
        );
        assert_eq!(
            error_message(br#"{"errorSummary":"Not found"}"#, &OktaErrorBody),
            "Not found"
        );
        assert_eq!(error_message(b"", &OktaErrorBody), "no error body");
        assert_eq!(
            error_message(b"<html>bad gateway</html>", &OktaErrorBody),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn concurrency_is_per_endpoint_with_four_endpoints_worth_in_all_and_64_at_most() {
        let base = Url::parse("https://acme.okta.com").unwrap();
        let limits = |concurrency| {
            let c =
                OktaClient::new(base.clone(), Secret::new("t".to_string()), concurrency).unwrap();
            let config = c.http.config();
            (config.bucket_concurrency, config.concurrency)
        };
        assert_eq!(limits(8), (Some(8), 32));
        assert_eq!(limits(16), (Some(16), 64));
        assert_eq!(limits(64), (Some(64), 64));
        assert_eq!(limits(100), (Some(100), 100));
        assert_eq!(limits(0), (Some(1), 4));
    }
}
