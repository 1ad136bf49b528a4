//! `[sources.NAME]` with `provider = "okta"`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    /// `https://acme.okta.com`.
    pub org_url: String,
    /// Environment variable holding the API token (`SSWS` token).
    pub token_env: Option<String>,
    /// File holding the API token.
    pub token_file: Option<PathBuf>,
    /// Requests in flight at once (default 8); the rate limiter still applies.
    pub concurrency: Option<usize>,
}
