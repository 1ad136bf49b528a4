//! `[sources.NAME]` with `provider = "azure-rbac"`, and every check of it
//! ([`AzureRbacConfig::validate`]).

use std::path::PathBuf;

use iamsnap_http::service_url;
use iamsnap_provider::ProviderError;
use serde::Deserialize;
use url::Url;

/// Public Microsoft identity platform.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Public Azure Resource Manager.
pub const DEFAULT_MANAGEMENT_URL: &str = "https://management.azure.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureRbacConfig {
    /// Directory (tenant) id, a GUID, or a verified domain such as `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// Application (client) id of the app registration iamsnap signs in as.
    pub client_id: String,
    /// Environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// File holding the client secret (relative paths are taken from the config file's folder).
    pub client_secret_file: Option<PathBuf>,
    /// Subscription ids to back up (default: every subscription the application can list).
    pub subscriptions: Option<Vec<String>>,
    /// Identity platform endpoint (default `https://login.microsoftonline.com`).
    pub login_url: Option<String>,
    /// Azure Resource Manager endpoint (default `https://management.azure.com`).
    pub management_url: Option<String>,
    /// Requests in flight at once (default 4, at most 16).
    pub concurrency: Option<usize>,
    /// Also back up the role assignments made at management groups, and the custom roles
    /// assignable there (default false): every management group the application can list.
    pub management_groups: Option<bool>,
    /// The configured Entra source of the same tenant whose settings are used to name each
    /// principal for good (user principal name, group display name and mail nickname, service
    /// principal app id), so that assignments follow principals re-created under new ids.
    pub entra_source: Option<String>,
    /// The Entra source `entra_source` names, filled in when the configuration file is read.
    #[serde(skip)]
    pub entra: Option<EntraLink>,
}

/// The settings of the Entra source an Azure RBAC source names its principals through: the
/// same tenant, its own app registration (with Graph's `Directory.Read.All`).
#[derive(Debug, Clone)]
pub struct EntraLink {
    /// The Entra source's name, said in messages.
    pub source_name: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    /// The identity platform endpoint, the Entra source's default applied.
    pub login_url: String,
    /// Microsoft Graph, the Entra source's default applied.
    pub graph_url: String,
}

impl EntraLink {
    /// The Entra source's token endpoint and Graph's address.
    pub(crate) fn endpoints(&self) -> Result<(Url, Url), ProviderError> {
        let name = &self.source_name;
        let login = service_url(name, "login_url", &self.login_url, DEFAULT_LOGIN_URL)?;
        let graph = service_url(
            name,
            "graph_url",
            &self.graph_url,
            "https://graph.microsoft.com",
        )?;
        let token_url = login
            .join(&format!("{}/oauth2/v2.0/token", self.tenant_id.trim()))
            .map_err(|e| ProviderError::Config(format!("sources.{name}.login_url: {e}")))?;
        Ok((token_url, graph))
    }
}

impl AzureRbacConfig {
    /// Checks the settings, each error naming the field and saying what to write instead. The
    /// secret is checked where it is read ([`iamsnap_provider::secret::resolve`]).
    pub fn validate(&self, source_name: &str) -> Result<(), ProviderError> {
        let concurrency = self.concurrency();
        if !(1..=16).contains(&concurrency) {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.concurrency: {concurrency} is outside 1..=16; Azure Resource Manager throttles a client that sends more requests at once"
            )));
        }
        let tenant = self.tenant_id.trim();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.tenant_id: {tenant:?} is not a tenant id; write the directory (tenant) id GUID or a verified domain such as contoso.onmicrosoft.com"
            )));
        }
        if self.client_id.trim().is_empty() {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.client_id: empty; write the application (client) id of the app registration"
            )));
        }
        if let Some(subs) = &self.subscriptions {
            if subs.is_empty() {
                return Err(ProviderError::Config(format!(
                    "sources.{source_name}.subscriptions: empty; list subscription ids, or leave the field out to back up every subscription the application can see"
                )));
            }
            if let Some(bad) = subs.iter().find(|s| !is_guid(s)) {
                return Err(ProviderError::Config(format!(
                    "sources.{source_name}.subscriptions: {bad:?} is not a subscription id; write the GUID shown in the portal's Subscriptions blade"
                )));
            }
        }
        if let Some(entra) = &self.entra_source
            && self.entra.is_none()
        {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.entra_source: {entra:?} was not resolved to a configured provider = \"entra\" source"
            )));
        }
        if let Some(link) = &self.entra {
            link.endpoints()?;
        }
        self.endpoints(source_name).map(|_| ())
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(4)
    }

    /// The tenant's token endpoint and ARM's address.
    pub(crate) fn endpoints(&self, source_name: &str) -> Result<(Url, Url), ProviderError> {
        let login = service_url(
            source_name,
            "login_url",
            self.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
            DEFAULT_LOGIN_URL,
        )?;
        let management = service_url(
            source_name,
            "management_url",
            self.management_url
                .as_deref()
                .unwrap_or(DEFAULT_MANAGEMENT_URL),
            DEFAULT_MANAGEMENT_URL,
        )?;
        let token_url = login
            .join(&format!("{}/oauth2/v2.0/token", self.tenant_id.trim()))
            .map_err(|e| ProviderError::Config(format!("sources.{source_name}.login_url: {e}")))?;
        Ok((token_url, management))
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> AzureRbacConfig {
        toml::from_str(&format!(
            "tenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"app\"\nclient_secret_env = \"S\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn a_valid_configuration_gives_the_tenant_token_endpoint() {
        let c = config(
            "login_url = \"http://127.0.0.1:8080\"\nsubscriptions = [\"0b1f6471-1bf0-4dda-aec3-cb9272f09590\"]",
        );
        c.validate("prod").unwrap();
        let (token_url, management) = c.endpoints("prod").unwrap();
        assert_eq!(
            token_url.as_str(),
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(management.as_str(), "https://management.azure.com/");
    }

    #[test]
    fn each_field_is_checked_and_named() {
        for (extra, field) in [
            ("concurrency = 0", "sources.prod.concurrency: 0 is outside"),
            ("subscriptions = []", "sources.prod.subscriptions: empty"),
            (
                "subscriptions = [\"prod-sub\"]",
                "sources.prod.subscriptions: \"prod-sub\" is not a subscription id",
            ),
            (
                "management_url = \"http://arm.example.com\"",
                "sources.prod.management_url",
            ),
        ] {
            let err = config(extra).validate("prod").unwrap_err().to_string();
            assert!(err.contains(field), "{extra}: {err}");
        }
        let mut c = config("");
        c.client_id = " ".into();
        let err = c.validate("prod").unwrap_err().to_string();
        assert!(err.contains("sources.prod.client_id: empty"), "{err}");
    }
}
