//! OAuth2 client-credentials tokens (RFC 6749 §4.4) for APIs that take short-lived bearer
//! tokens: a [`TokenSource`] gives the `Authorization` value to send, fetched before the first
//! request and again before the current token expires, or at once when the API refuses it. The
//! connector hands it to its [`HttpClient`](crate::HttpClient) with
//! [`set_credential`](crate::HttpClient::set_credential).
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_http::{ClientCredentials, TokenSource};
//! use iamsnap_provider::Secret;
//!
//! let tokens = TokenSource::new(ClientCredentials {
//!     token_url: "https://login.example.com/tenant/oauth2/token".parse().expect("a URL"),
//!     client_id: "app".into(),
//!     client_secret: Secret::new("s3cr3t"),
//!     scope: "https://api.example.com/.default".into(),
//!     guidance: "check client_id and the client secret configured for this source".into(),
//! })?;
//! let authorization = tokens.bearer(None).await?; // "Bearer ey…"
//! # Ok(())
//! # }
//! ```
//!
//! Token requests have a client and a retry loop of their own rather than the API's
//! `HttpClient`: they go to another host with a form body and no credential header, they are
//! no part of the API's request counts, rate limits or concurrency, and every failure,
//! throttles included, draws on one budget of attempts, since a token endpoint that keeps
//! throttling is as unusable as one that keeps failing. The waits follow the same schedule
//! ([`backoff`], [`retry_wait`]).

use std::time::{Duration, Instant};

use iamsnap_provider::{ProviderError, Secret, redact};
use serde::Deserialize;
use url::Url;

use crate::{HttpClient, HttpConfig, OAuth2Error, backoff, error_message, retry_wait};

/// Where and as whom to ask for tokens.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The token endpoint.
    pub token_url: Url,
    /// The application (client) id.
    pub client_id: String,
    /// Sent in the form body of token requests, never in errors or logs.
    pub client_secret: Secret,
    /// The `scope` asked for, e.g. `https://api.example.com/.default`.
    pub scope: String,
    /// Said after the endpoint's own explanation when it refuses the credentials: which
    /// settings of the source to check.
    pub guidance: String,
}

/// OAuth2 access tokens for one client, each kept until shortly before it expires.
pub struct TokenSource {
    http: reqwest::Client,
    endpoint: Url,
    client_id: String,
    secret: Secret,
    scope: String,
    guidance: String,
    /// The current token and when to replace it.
    current: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// The longest a token is kept before its expiry: refreshed five minutes early, or at three
/// quarters of its life when it lives less than twenty minutes.
fn refresh_margin(lifetime: Duration) -> Duration {
    Duration::from_secs(300).min(lifetime / 4)
}

impl TokenSource {
    /// A source that asks for its first token at the first [`bearer`](Self::bearer).
    pub fn new(credentials: ClientCredentials) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("iamsnap/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(TokenSource {
            http,
            endpoint: credentials.token_url,
            client_id: credentials.client_id,
            secret: credentials.client_secret,
            scope: credentials.scope,
            guidance: credentials.guidance,
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The `Authorization` value to send now: the current token, or a new one when it is
    /// missing, due for refresh, or `stale` (the API refused it).
    pub async fn bearer(&self, stale: Option<&Secret>) -> Result<Secret, ProviderError> {
        let mut current = self.current.lock().await;
        if let Some((token, refresh_at)) = current.as_ref()
            && Instant::now() < *refresh_at
            && stale != Some(token)
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.request().await?;
        let token = Secret::new(format!("Bearer {}", token.expose()));
        let refresh_at = Instant::now() + lifetime - refresh_margin(lifetime);
        *current = Some((token.clone(), refresh_at));
        tracing::debug!(
            endpoint = %self.endpoint,
            lifetime_s = lifetime.as_secs(),
            "new access token"
        );
        Ok(token)
    }

    /// Runs `call` with a valid token set as `http`'s credential; once more with a new token
    /// when the API refuses the one sent as expired or revoked meanwhile. `refused` reads the
    /// API's explanation of a 401 (Graph's and ARM's start with their error code, such as
    /// `InvalidAuthenticationToken`): a 401 for any other reason is returned as it is.
    pub async fn authorized<T, F, Fut>(
        &self,
        http: &HttpClient,
        refused: fn(&str) -> bool,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let token = self.bearer(None).await?;
        http.set_credential(token.clone())?;
        match call().await {
            Err(ProviderError::Unauthorized { message, .. }) if refused(&message) => {
                let fresh = self.bearer(Some(&token)).await?;
                http.set_credential(fresh)?;
                call().await
            }
            other => other,
        }
    }

    async fn request(&self) -> Result<(Secret, Duration), ProviderError> {
        // The kit's default attempts and backoff schedule; the credential is never sent.
        let config = HttpConfig::new("Authorization", Secret::new(""));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        let url = redact::scrubbed(self.endpoint.as_str());
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let sent = self
                .http
                .post(self.endpoint.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .header(reqwest::header::ACCEPT, "application/json")
                .body(form.clone())
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) if attempt < config.max_attempts => {
                    tracing::debug!(%url, error = %e, "token request failed; retrying");
                    tokio::time::sleep(backoff(&config, attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderError::Transport {
                        url,
                        message: redact::scrubbed(format!("cannot reach the token endpoint: {e}")),
                    });
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            // A body cut short is a transport failure, retried like one; never an empty answer.
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) if attempt < config.max_attempts => {
                    tracing::debug!(%url, error = %e, "token answer cut short; retrying");
                    tokio::time::sleep(backoff(&config, attempt)).await;
                    continue;
                }
                Err(e) => {
                    return Err(ProviderError::Transport {
                        url,
                        message: redact::scrubbed(format!("the token answer was cut short: {e}")),
                    });
                }
            };
            if status.is_success() {
                let answer: TokenAnswer =
                    serde_json::from_slice(&body).map_err(|e| ProviderError::Decode {
                        url: url.clone(),
                        message: format!("the token answer is not the JSON expected: {e}"),
                    })?;
                let lifetime = Duration::from_secs(answer.expires_in.max(1));
                return Ok((Secret::new(answer.access_token), lifetime));
            }
            let retryable = status.as_u16() == 429 || status.is_server_error();
            if retryable && attempt < config.max_attempts {
                let wait = retry_wait(&headers, std::time::SystemTime::now())
                    .unwrap_or_else(|| backoff(&config, attempt));
                tokio::time::sleep(wait.min(config.max_reset_wait)).await;
                continue;
            }
            let message = first_line(&error_message(&body, &OAuth2Error));
            return Err(match status.as_u16() {
                400 | 401 | 403 => ProviderError::Unauthorized {
                    url,
                    status: status.as_u16(),
                    message: format!("{message} ({})", self.guidance),
                },
                code => ProviderError::Http {
                    method: "POST".into(),
                    url,
                    status: code,
                    message,
                },
            });
        }
    }
}

/// Token endpoints may add trace and correlation ids on further lines of a description.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{reply, serve};

    fn source(token_url: &str) -> TokenSource {
        TokenSource::new(ClientCredentials {
            token_url: Url::parse(token_url).unwrap(),
            client_id: "client".into(),
            client_secret: Secret::new("very-secret-value"),
            scope: "https://api.example.com/.default".into(),
            guidance: "check the client secret".into(),
        })
        .unwrap()
    }

    #[test]
    fn refreshes_early_but_never_before_half_the_lifetime() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3599)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(8)),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let source = source("https://login.example/t/oauth2/v2.0/token");
        assert!(!format!("{source:?}").contains("very-secret-value"));
    }

    #[tokio::test]
    async fn asks_with_the_form_after_a_throttle_and_keeps_the_token() {
        let (addr, seen) = serve(vec![
            reply("429 Too Many Requests", "Retry-After: 0\r\n", ""),
            reply(
                "200 OK",
                "",
                r#"{"token_type":"Bearer","expires_in":3599,"access_token":"ey.tok"}"#,
            ),
        ])
        .await;
        let tokens = source(&format!("http://{addr}/t/oauth2/token"));
        let bearer = tokens.bearer(None).await.unwrap();
        assert_eq!(bearer.expose(), "Bearer ey.tok");
        assert_eq!(tokens.bearer(None).await.unwrap(), bearer, "kept");
        let heads = seen.lock().unwrap();
        assert_eq!(heads.len(), 2);
        let request = heads[1].to_lowercase();
        assert!(request.starts_with("post /t/oauth2/token "), "{request}");
        assert!(
            request.contains("content-type: application/x-www-form-urlencoded")
                && !request.contains("authorization:"),
            "{request}"
        );
        assert!(
            request.ends_with(
                "grant_type=client_credentials&client_id=client&client_secret=very-secret-value\
                 &scope=https%3a%2f%2fapi.example.com%2f.default"
            ),
            "{request}"
        );
    }

    #[tokio::test]
    async fn refused_credentials_say_what_to_check_without_the_secret() {
        let (addr, _) = serve(vec![reply(
            "401 Unauthorized",
            "",
            r#"{"error":"invalid_client","error_description":"Invalid client secret provided.\r\nTrace ID: 0c1d"}"#,
        )])
        .await;
        let tokens = source(&format!("http://{addr}/t/oauth2/token"));
        let err = tokens.bearer(None).await.unwrap_err();
        let ProviderError::Unauthorized {
            status, message, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(*status, 401);
        assert_eq!(
            message,
            "invalid_client: Invalid client secret provided. (check the client secret)"
        );
        assert!(!format!("{err} {err:?}").contains("very-secret-value"));
    }
}
