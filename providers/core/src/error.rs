//! Errors a connector reports. Each says where it happened and what to do about it.

use thiserror::Error;

/// What went wrong in a connector, with the URL or object it concerns.
#[derive(Debug, Error)]
pub enum ProviderError {
    /// The provider refused the credentials.
    #[error(
        "{url}: the provider refused the credentials (HTTP {status}): {message}. Check the token or key configured for this source and that it has not expired"
    )]
    Unauthorized {
        /// The request's URL, or the API call's name.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
    /// The credentials are valid but lack a permission.
    #[error(
        "{url}: permission denied (HTTP {status}): {message}. Grant the permissions listed in the documentation for this provider"
    )]
    Forbidden {
        /// The request's URL, or the API call's name.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
    /// The provider answered with an error that retrying did not cure.
    #[error("{method} {url}: HTTP {status}: {message}")]
    Http {
        /// The HTTP method.
        method: String,
        /// The request's URL, or the API call's name.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own explanation.
        message: String,
    },
    /// The provider kept throttling after every retry.
    #[error(
        "{url}: still rate limited after {attempts} attempts; run again later or lower the concurrency"
    )]
    Throttled {
        /// The request's URL, or the API call's name.
        url: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, timed out, body cut short).
    #[error("{url}: {message}")]
    Transport {
        /// The request's URL, or the API call's name.
        url: String,
        /// What the connection did.
        message: String,
    },
    /// The provider sent something the connector cannot read.
    #[error("{url}: unexpected response: {message}")]
    Decode {
        /// The request's URL, or the API call's name.
        url: String,
        /// What could not be read.
        message: String,
    },
    /// The source's configuration is wrong or incomplete.
    #[error("configuration: {0}")]
    Config(String),
    /// The connector cannot perform this operation on this kind.
    #[error("{kind} {key}: {action} is not supported: {reason}")]
    Unsupported {
        /// The record's kind.
        kind: String,
        /// The record's natural key.
        key: String,
        /// What was asked: create, update, delete, fetch.
        action: String,
        /// Why not, and what to do instead.
        reason: String,
    },
    /// The operation cannot run because something it needs is missing (a referenced object).
    #[error("{kind} {key}: {message}")]
    Precondition {
        /// The record's kind.
        kind: String,
        /// The record's natural key.
        key: String,
        /// The provider's own explanation.
        message: String,
    },
    /// The engine stopped reading records (it failed or was cancelled).
    #[error("the snapshot was cancelled")]
    Cancelled,
}

impl ProviderError {
    /// True when the error came from the credentials or their rights, not from the data.
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ProviderError::Unauthorized { .. } | ProviderError::Forbidden { .. }
        )
    }
}
