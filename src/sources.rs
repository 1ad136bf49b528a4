//! The registry of connectors: `provider = "…"` in a source's configuration mapped to its
//! configuration type and constructor. The only place that names a connector crate.

use std::path::Path;

use iamsnap_provider::{ConnectOptions, Connector, ProviderError, Switch};
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

/// A switch of [`ConnectOptions`] given to a provider that takes no such switch.
#[derive(Debug, thiserror::Error)]
#[error("{flag} applies to {applies} sources; {source_name} is {provider}")]
pub struct SwitchRefused {
    pub flag: &'static str,
    pub applies: &'static str,
    pub source_name: String,
    pub provider: &'static str,
}

/// Why a connector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Switch(#[from] SwitchRefused),
    #[error(transparent)]
    Provider(#[from] ProviderError),
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

    /// The switches of [`ConnectOptions`] this provider takes.
    fn switches(&self) -> &'static [Switch] {
        match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(_) => &[Switch::ActivateUsers],
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(_) => &[],
            #[cfg(feature = "entra")]
            SourceConfig::Entra(_) => &[Switch::RestorePolicyState],
        }
    }

    /// Builds the connector for source `name`. Relative paths in the source's configuration
    /// are taken from `base_dir`, the configuration file's folder. A switch in `options` the
    /// provider has no use for is refused rather than silently ignored.
    pub fn connect(
        &self,
        name: &str,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Connector, ConnectError> {
        if let Some(switch) = options
            .switches()
            .into_iter()
            .find(|s| !self.switches().contains(s))
        {
            return Err(SwitchRefused {
                flag: switch.flag(),
                applies: registry_providers_taking(switch),
                source_name: name.to_string(),
                provider: self.provider_type(),
            }
            .into());
        }
        Ok(match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(config) => Connector::read_write(iamsnap_okta::OktaProvider::new(
                name, config, base_dir, options,
            )?),
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(config) => Connector::read_write(
                iamsnap_aws_iam::AwsIamProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "entra")]
            SourceConfig::Entra(config) => Connector::read_write(
                iamsnap_entra::EntraProvider::new(name, config, base_dir, options)?,
            ),
        })
    }
}

/// The providers that take `switch`, for the refusal's message.
fn registry_providers_taking(switch: Switch) -> &'static str {
    match switch {
        Switch::ActivateUsers => "okta",
        Switch::RestorePolicyState => "entra",
    }
}
