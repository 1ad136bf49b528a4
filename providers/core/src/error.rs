//! Errors a connector reports. Each says where it happened and what to do about it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProviderError {
    /// The provider refused the credentials.
    #[error(
        "{url}: the provider refused the credentials (HTTP {status}): {message}. Check the token or key configured for this source and that it has not expired"
    )]
    Unauthorized {
        url: String,
        status: u16,
        message: String,
    },
    /// The credentials are valid but lack a permission.
    #[error(
        "{url}: permission denied (HTTP {status}): {message}. Grant the permissions listed in the documentation for this provider"
    )]
    Forbidden {
        url: String,
        status: u16,
        message: String,
    },
    /// The provider answered with an error that retrying did not cure.
    #[error("{method} {url}: HTTP {status}: {message}")]
    Http {
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    /// The provider kept throttling after every retry.
    #[error(
        "{url}: still rate limited after {attempts} attempts; run again later or lower the concurrency"
    )]
    Throttled { url: String, attempts: u32 },
    /// The connection failed (refused, reset, timed out, body cut short).
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The provider sent something the connector cannot read.
    #[error("{url}: unexpected response: {message}")]
    Decode { url: String, message: String },
    /// The source's configuration is wrong or incomplete.
    #[error("configuration: {0}")]
    Config(String),
    /// The connector cannot perform this operation on this kind.
    #[error("{kind} {key}: {action} is not supported: {reason}")]
    Unsupported {
        kind: String,
        key: String,
        action: String,
        reason: String,
    },
    /// The operation cannot run because something it needs is missing (a referenced object).
    #[error("{kind} {key}: {message}")]
    Precondition {
        kind: String,
        key: String,
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
