//! `[sources.NAME]` with `provider = "okta"`, and every check of it.

use std::path::PathBuf;

use iamsnap_http::service_url;
use iamsnap_provider::ProviderError;
use serde::Deserialize;
use url::Url;

/// Requests in flight when neither the source nor the command sets `concurrency`.
const DEFAULT_CONCURRENCY: usize = 8;

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

impl OktaConfig {
    /// Checks `[sources.SOURCE_NAME]` without calling Okta; errors name the field.
    pub fn validate(&self, source_name: &str) -> Result<(), ProviderError> {
        if self.concurrency == Some(0) {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.concurrency: must be at least 1"
            )));
        }
        self.org(source_name)?;
        Ok(())
    }

    /// `org_url` as the base of every request. It must be `https://…`; plain `http` is
    /// accepted for loopback addresses only (local emulators), since the token would otherwise
    /// cross the network in clear.
    pub(crate) fn org(&self, source_name: &str) -> Result<Url, ProviderError> {
        service_url(
            source_name,
            "org_url",
            &self.org_url,
            "https://your-org.okta.com",
        )
    }

    /// Requests in flight at once.
    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(org_url: &str, concurrency: Option<usize>) -> OktaConfig {
        OktaConfig {
            org_url: org_url.into(),
            token_env: Some("OKTA_API_TOKEN".into()),
            token_file: None,
            concurrency,
        }
    }

    fn error(config: &OktaConfig) -> String {
        config.validate("prod").unwrap_err().to_string()
    }

    #[test]
    fn a_complete_configuration_passes() {
        assert!(
            config("https://acme.okta.com/", Some(4))
                .validate("prod")
                .is_ok()
        );
        assert!(
            config("http://127.0.0.1:8080", None)
                .validate("prod")
                .is_ok()
        );
    }

    #[test]
    fn errors_name_the_field() {
        let zero = error(&config("https://acme.okta.com", Some(0)));
        assert!(
            zero.contains("sources.prod.concurrency: must be at least 1"),
            "{zero}"
        );
        let plain = error(&config("http://acme.okta.com", None));
        assert!(plain.contains("sources.prod.org_url"), "{plain}");
        assert!(plain.contains("https://"), "{plain}");
        let path = error(&config("https://acme.okta.com/api/v1", None));
        assert!(path.contains("without a path"), "{path}");
    }
}
