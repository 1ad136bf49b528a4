//! The HTTP kit of iamsnap's connectors to SaaS identity providers.
//!
//! [`HttpClient`] wraps `reqwest` with what every management API needs:
//! - the credential in one header, taken from a [`Secret`](iamsnap_provider::Secret) that never
//!   reaches logs or errors, and replaceable while requests run
//!   ([`HttpClient::set_credential`], for short-lived OAuth2 tokens);
//! - retries with exponential backoff and jitter on 5xx answers, connection errors and bodies cut
//!   short ([`backoff`]);
//! - `429 Too Many Requests`, and `503 Service Unavailable` carrying `Retry-After`, retried once
//!   the provider's window resets (`X-Rate-Limit-Reset` or `Retry-After`, [`retry_wait`]);
//! - a [`RateLimiter`] fed by `X-Rate-Limit-Remaining/Limit/Reset` that slows down as a window's
//!   budget runs low and pauses before it reaches zero, so that 429s stay rare;
//! - bounded concurrency, and optionally a bound of its own for each rate-limit bucket
//!   ([`HttpConfig::bucket_concurrency`]), so that one endpoint's fanned-out reads never take
//!   the slots another endpoint could use;
//! - counters of requests, throttles and retries
//!   ([`RequestStats`](iamsnap_provider::RequestStats));
//! - `Link: <…>; rel="next"` pagination ([`next_link`], [`HttpClient::get_page`]);
//! - error answers turned into a [`ProviderError`](iamsnap_provider::ProviderError) that names the
//!   method and URL, never the credential, and carries the provider's own explanation, read by
//!   the [`ErrorBody`] parser the connector sets in its [`HttpConfig`].
//!
//! For the APIs that take short-lived bearer tokens, [`TokenSource`] gets them with the OAuth2
//! client-credentials grant and refreshes them before they expire.
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_http::{HttpClient, HttpConfig, Page, service_url};
//! use iamsnap_provider::Secret;
//!
//! let base = service_url("prod", "url", "https://api.example.com", "https://api.example.com")?;
//! let client = HttpClient::new(HttpConfig::new("Authorization", Secret::new("Bearer t0k")))?;
//! let mut next = Some(base.join("/v1/users?limit=200").expect("a valid path"));
//! while let Some(url) = next {
//!     let page: Page<serde_json::Value> = client.get_page(&url).await?;
//!     next = page.next;
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod error;
mod limiter;
mod oauth2;
mod paging;
mod retry;

pub use client::{HttpClient, Response};
pub use config::{HttpConfig, service_url};
pub use error::{ErrorBody, OAuth2Error, error_message, found, status_of};
pub use limiter::{RateLimiter, bucket};
pub use oauth2::{ClientCredentials, TokenSource};
pub use paging::{Page, next_link};
pub use retry::{backoff, retry_wait};

#[cfg(test)]
mod testing;
