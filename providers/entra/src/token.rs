//! OAuth2 client-credentials tokens from the Microsoft identity platform, fetched before the
//! first request and again before the current one expires.

use std::time::{Duration, Instant};

use iamsnap_http::{HttpConfig, OAuth2Error, backoff, error_message, retry_wait};
use iamsnap_provider::{ProviderError, Secret};
use serde::Deserialize;
use url::Url;

/// Where and as whom to ask for tokens.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    endpoint: Url,
    client_id: String,
    secret: Secret,
    scope: String,
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
    pub(crate) fn new(
        endpoint: Url,
        client_id: String,
        secret: Secret,
        scope: String,
    ) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("iamsnap/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(TokenSource {
            http,
            endpoint,
            client_id,
            secret,
            scope,
            current: tokio::sync::Mutex::new(None),
        })
    }

    /// The `Authorization` value to send now: the current token, or a new one when it is
    /// missing, due for refresh, or `stale` (Graph refused it).
    pub(crate) async fn bearer(&self, stale: Option<&Secret>) -> Result<Secret, ProviderError> {
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

    async fn request(&self) -> Result<(Secret, Duration), ProviderError> {
        let config = HttpConfig::new("Authorization", Secret::new(""));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        let url = self.endpoint.to_string();
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
                        message: format!("cannot reach the token endpoint: {e}"),
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
                        message: format!("the token answer was cut short: {e}"),
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
                    message: format!(
                        "{message} (check tenant_id, client_id and the client secret configured for this source, and that the secret has not expired)"
                    ),
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

/// The identity platform's descriptions carry trace and correlation ids on further lines.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let source = TokenSource::new(
            Url::parse("https://login.example/t/oauth2/v2.0/token").unwrap(),
            "client".into(),
            Secret::new("very-secret-value"),
            "https://graph.microsoft.com/.default".into(),
        )
        .unwrap();
        assert!(!format!("{source:?}").contains("very-secret-value"));
    }
}
