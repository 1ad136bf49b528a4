//! `[sources.NAME]` with `provider = "entra"`, and every check of it
//! ([`EntraConfig::validate`]).

use std::path::PathBuf;

use iamsnap_http::service_url;
use iamsnap_provider::ProviderError;
use serde::Deserialize;
use url::Url;

/// Public Microsoft identity platform.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Where re-invited guests land after redeeming: their My Apps portal.
pub const DEFAULT_INVITE_REDIRECT_URL: &str = "https://myapps.microsoft.com";
/// Public Microsoft Graph.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntraConfig {
    /// Directory (tenant) id, a GUID, or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// Application (client) id of the app registration iamsnap signs in as.
    pub client_id: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// File holding the client secret (relative paths are taken from the config file's folder).
    pub client_secret_file: Option<PathBuf>,
    /// Identity platform endpoint (default `https://login.microsoftonline.com`; national clouds
    /// and emulators differ).
    pub login_url: Option<String>,
    /// Microsoft Graph endpoint (default `https://graph.microsoft.com`).
    pub graph_url: Option<String>,
    /// Requests in flight at once (default 4, at most 20); each `$batch` counts as one here
    /// and carries up to 20 Graph requests.
    pub concurrency: Option<usize>,
    /// Where a guest user re-invited by a restore (`--invite-guests`) lands once they have
    /// redeemed the invitation (default `https://myapps.microsoft.com`).
    pub invite_redirect_url: Option<String>,
}

impl EntraConfig {
    /// Checks the settings, each error naming the field and saying what to write instead. The
    /// secret is checked where it is read ([`iamsnap_provider::secret::resolve`]).
    pub fn validate(&self, source_name: &str) -> Result<(), ProviderError> {
        let concurrency = self.concurrency();
        if !(1..=20).contains(&concurrency) {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.concurrency: {concurrency} is outside 1..=20; Graph throttles an application that sends more requests at once"
            )));
        }
        let tenant = self.tenant_id.trim();
        let valid_tenant = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid_tenant {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.tenant_id: {tenant:?} is not a tenant id; write the directory (tenant) id GUID or a verified domain such as contoso.onmicrosoft.com"
            )));
        }
        if self.client_id.trim().is_empty() {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.client_id: empty; write the application (client) id of the app registration"
            )));
        }
        if let Some(url) = &self.invite_redirect_url
            && !url::Url::parse(url).is_ok_and(|u| u.scheme() == "https")
        {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.invite_redirect_url: {url:?} is not an https URL; write where re-invited guests should land, such as {DEFAULT_INVITE_REDIRECT_URL}"
            )));
        }
        self.endpoints(source_name).map(|_| ())
    }

    /// Where re-invited guests land after redeeming.
    pub(crate) fn invite_redirect_url(&self) -> &str {
        self.invite_redirect_url
            .as_deref()
            .unwrap_or(DEFAULT_INVITE_REDIRECT_URL)
    }

    /// Requests in flight at once.
    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(4)
    }

    /// The tenant's token endpoint and Graph's address.
    pub(crate) fn endpoints(&self, source_name: &str) -> Result<(Url, Url), ProviderError> {
        let login = service_url(
            source_name,
            "login_url",
            self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
            DEFAULT_LOGIN_URL,
        )?;
        let graph = service_url(
            source_name,
            "graph_url",
            self.graph_url.as_deref().unwrap_or(DEFAULT_GRAPH_URL),
            DEFAULT_GRAPH_URL,
        )?;
        let token_url = login
            .join(&format!("{}/oauth2/v2.0/token", self.tenant_id.trim()))
            .map_err(|e| ProviderError::Config(format!("sources.{source_name}.login_url: {e}")))?;
        Ok((token_url, graph))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> EntraConfig {
        toml::from_str(&format!(
            "tenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"app\"\nclient_secret_env = \"S\"\n{extra}"
        ))
        .unwrap()
    }

    fn error(extra: &str) -> String {
        config(extra).validate("prod").unwrap_err().to_string()
    }

    #[test]
    fn a_valid_configuration_gives_the_tenant_token_endpoint() {
        let c = config("login_url = \"http://127.0.0.1:8080\"");
        c.validate("prod").unwrap();
        let (token_url, graph) = c.endpoints("prod").unwrap();
        assert_eq!(
            token_url.as_str(),
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(graph.as_str(), "https://graph.microsoft.com/");
        assert_eq!(c.concurrency(), 4);
        assert_eq!(c.invite_redirect_url(), DEFAULT_INVITE_REDIRECT_URL);
    }

    #[test]
    fn each_field_is_checked_and_named() {
        for (extra, field) in [
            (
                "concurrency = 0",
                "sources.prod.concurrency: 0 is outside 1..=20",
            ),
            ("concurrency = 21", "sources.prod.concurrency: 21"),
            (
                "graph_url = \"http://graph.example.com\"",
                "sources.prod.graph_url",
            ),
            (
                "login_url = \"https://login.example.com/x\"",
                "sources.prod.login_url",
            ),
            (
                "invite_redirect_url = \"http://apps.example.com\"",
                "sources.prod.invite_redirect_url",
            ),
        ] {
            assert!(error(extra).contains(field), "{extra}: {}", error(extra));
        }
        let mut c = config("");
        c.tenant_id = "contoso/evil".into();
        let err = c.validate("prod").unwrap_err().to_string();
        assert!(err.contains("sources.prod.tenant_id"), "{err}");
        c.tenant_id = "contoso".into();
        c.client_id = " ".into();
        let err = c.validate("prod").unwrap_err().to_string();
        assert!(err.contains("sources.prod.client_id: empty"), "{err}");
    }
}
