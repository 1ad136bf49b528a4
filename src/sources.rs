//! Sources: a name in the configuration bound to a connector chosen by `provider = "…"`.

use std::path::Path;

use iamsnap_provider::{Provider, ProviderError};
use serde::Deserialize;

/// `[sources.NAME]`: the `provider` field picks the connector, the rest is its configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider")]
pub enum SourceConfig {
    #[cfg(feature = "okta")]
    #[serde(rename = "okta")]
    Okta(iamsnap_okta::OktaConfig),
    #[cfg(feature = "aws-iam")]
    #[serde(rename = "aws-iam")]
    AwsIam(iamsnap_aws_iam::AwsIamConfig),
    #[cfg(feature = "entra")]
    #[serde(rename = "entra")]
    Entra(iamsnap_entra::EntraConfig),
}

impl SourceConfig {
    /// The provider type as written in configuration.
    pub fn provider_type(&self) -> &'static str {
        match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(_) => "okta",
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(_) => "aws-iam",
            #[cfg(feature = "entra")]
            SourceConfig::Entra(_) => "entra",
        }
    }

    /// Builds the connector. Relative paths in the source's configuration are taken from
    /// `base_dir`, the configuration file's folder.
    pub fn connect(&self, name: &str, base_dir: &Path) -> Result<Box<dyn Provider>, ProviderError> {
        let _ = (name, base_dir);
        match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(config) => Ok(Box::new(iamsnap_okta::OktaProvider::new(
                name, config, base_dir,
            )?)),
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(cfg) => Ok(Box::new(iamsnap_aws_iam::AwsIamProvider::new(
                name, cfg, base_dir,
            )?)),
            #[cfg(feature = "entra")]
            SourceConfig::Entra(cfg) => Ok(Box::new(iamsnap_entra::EntraProvider::new(
                name, cfg, base_dir,
            )?)),
        }
    }
}
