//! `[sources.NAME]` with `provider = "gcp-iam"`, and every check of it.

use std::path::PathBuf;

use iamsnap_http::service_url;
use iamsnap_provider::ProviderError;
use serde::Deserialize;
use url::Url;

/// Google's OAuth 2.0 token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// IAM.
pub const DEFAULT_IAM_URL: &str = "https://iam.googleapis.com";
/// Resource Manager.
pub const DEFAULT_RESOURCEMANAGER_URL: &str = "https://cloudresourcemanager.googleapis.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpIamConfig {
    /// The organization's numeric id: its policy, and with `folders` its folders' and every
    /// project's under it.
    pub organization: Option<String>,
    /// Project ids to back up (in addition to, or instead of, the organization's).
    #[serde(default)]
    pub projects: Vec<String>,
    /// Whether the organization's folders and their policies are backed up (default true).
    pub folders: Option<bool>,
    /// Service account key or user credentials (JSON); relative paths are taken from the
    /// config file's folder. Without it, Application Default Credentials: the file named by
    /// `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's, or the metadata server.
    pub credentials_file: Option<PathBuf>,
    /// Token endpoint (default `https://oauth2.googleapis.com/token`, or the key file's
    /// `token_uri`).
    pub token_url: Option<String>,
    /// Resource Manager endpoint (default `https://cloudresourcemanager.googleapis.com`).
    pub resourcemanager_url: Option<String>,
    /// IAM endpoint (default `https://iam.googleapis.com`).
    pub iam_url: Option<String>,
    /// Requests in flight at once (default 4, at most 16).
    pub concurrency: Option<usize>,
}

impl GcpIamConfig {
    /// Checks the settings, each error naming the field and saying what to write instead.
    pub fn validate(&self, source: &str) -> Result<(), ProviderError> {
        let concurrency = self.concurrency();
        if !(1..=16).contains(&concurrency) {
            return Err(ProviderError::Config(format!(
                "sources.{source}.concurrency: {concurrency} is outside 1..=16; Resource Manager's quota is per minute, more requests at once only meet 429s sooner"
            )));
        }
        if let Some(org) = &self.organization
            && (org.is_empty() || !org.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ProviderError::Config(format!(
                "sources.{source}.organization: {org:?} is not an organization id; write the numeric id `gcloud organizations list` shows, such as \"123456789012\""
            )));
        }
        for p in &self.projects {
            let valid = (6..=30).contains(&p.len())
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(ProviderError::Config(format!(
                    "sources.{source}.projects: {p:?} is not a project id; write project ids such as \"acme-prod-123\" (6 to 30 lowercase letters, digits and hyphens)"
                )));
            }
        }
        if self.organization.is_none() && self.projects.is_empty() {
            return Err(ProviderError::Config(format!(
                "sources.{source}: nothing to back up; set organization = \"ORG_ID\" and/or projects = [\"PROJECT_ID\", …]"
            )));
        }
        self.token_url(source, None)?;
        self.resourcemanager_url(source)?;
        self.iam_url(source)?;
        Ok(())
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(4)
    }

    pub(crate) fn folders(&self) -> bool {
        self.folders.unwrap_or(true)
    }

    /// The token endpoint: configured, else the key file's, else Google's.
    pub(crate) fn token_url(
        &self,
        source: &str,
        from_key: Option<&str>,
    ) -> Result<Url, ProviderError> {
        let value = self
            .token_url
            .as_deref()
            .or(from_key)
            .unwrap_or(DEFAULT_TOKEN_URL);
        let url = Url::parse(value).map_err(|e| {
            ProviderError::Config(format!(
                "sources.{source}.token_url: {value:?} is not a URL ({e}); write it as {DEFAULT_TOKEN_URL}"
            ))
        })?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(ProviderError::Config(format!(
                "sources.{source}.token_url: {value:?} must start with https:// (plain http is only accepted for a local emulator)"
            )));
        }
        Ok(url)
    }

    pub(crate) fn resourcemanager_url(&self, source: &str) -> Result<Url, ProviderError> {
        service_url(
            source,
            "resourcemanager_url",
            self.resourcemanager_url
                .as_deref()
                .unwrap_or(DEFAULT_RESOURCEMANAGER_URL),
            DEFAULT_RESOURCEMANAGER_URL,
        )
    }

    pub(crate) fn iam_url(&self, source: &str) -> Result<Url, ProviderError> {
        service_url(
            source,
            "iam_url",
            self.iam_url.as_deref().unwrap_or(DEFAULT_IAM_URL),
            DEFAULT_IAM_URL,
        )
    }
}
