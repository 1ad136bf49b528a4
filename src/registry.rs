//! The registry of connectors: `provider = "…"` in a source's configuration mapped to its
//! configuration type, its constructor and the restore switches it takes. The only place in
//! iamsnap that names a connector crate; each is behind a cargo feature of the same name.

use std::path::Path;

use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_provider::{ConnectOptions, Connector, KindInfo, ProviderError, Switch};
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
    #[cfg(feature = "aws-organizations")]
    #[serde(rename = "aws-organizations")]
    AwsOrganizations(iamsnap_aws_organizations::AwsOrganizationsConfig),
    #[cfg(feature = "aws-identity-center")]
    #[serde(rename = "aws-identity-center")]
    AwsIdentityCenter(iamsnap_aws_identity_center::AwsIdentityCenterConfig),
    #[cfg(feature = "entra")]
    #[serde(rename = "entra")]
    Entra(iamsnap_entra::EntraConfig),
    #[cfg(feature = "azure-rbac")]
    #[serde(rename = "azure-rbac")]
    AzureRbac(iamsnap_azure_rbac::AzureRbacConfig),
    #[cfg(feature = "ldap")]
    #[serde(rename = "ldap")]
    Ldap(iamsnap_ldap::LdapConfig),
    #[cfg(feature = "gcp-iam")]
    #[serde(rename = "gcp-iam")]
    GcpIam(iamsnap_gcp_iam::GcpIamConfig),
}

/// Every provider of this build, with the switches of [`ConnectOptions`] it takes.
const PROVIDERS: &[(&str, &[Switch])] = &[
    #[cfg(feature = "okta")]
    ("okta", &[Switch::ActivateUsers]),
    #[cfg(feature = "aws-iam")]
    ("aws-iam", &[]),
    #[cfg(feature = "aws-organizations")]
    ("aws-organizations", &[]),
    #[cfg(feature = "aws-identity-center")]
    ("aws-identity-center", &[]),
    #[cfg(feature = "entra")]
    ("entra", &[Switch::RestorePolicyState, Switch::InviteGuests]),
    #[cfg(feature = "azure-rbac")]
    ("azure-rbac", &[]),
    #[cfg(feature = "ldap")]
    ("ldap", &[]),
    #[cfg(feature = "gcp-iam")]
    ("gcp-iam", &[Switch::RenameDeletedRoles]),
];

/// The kinds a provider type declares (none for a type this build does not know): what
/// reports order and group by.
pub fn kinds(provider_type: &str) -> &'static [KindInfo] {
    match provider_type {
        #[cfg(feature = "okta")]
        "okta" => iamsnap_okta::kinds::KINDS,
        #[cfg(feature = "aws-iam")]
        "aws-iam" => iamsnap_aws_iam::kinds::KINDS,
        #[cfg(feature = "aws-organizations")]
        "aws-organizations" => iamsnap_aws_organizations::kinds::KINDS,
        #[cfg(feature = "aws-identity-center")]
        "aws-identity-center" => iamsnap_aws_identity_center::kinds::KINDS,
        #[cfg(feature = "entra")]
        "entra" => iamsnap_entra::kinds::KINDS,
        #[cfg(feature = "azure-rbac")]
        "azure-rbac" => iamsnap_azure_rbac::kinds::KINDS,
        #[cfg(feature = "ldap")]
        "ldap" => iamsnap_ldap::kinds::KINDS,
        #[cfg(feature = "gcp-iam")]
        "gcp-iam" => iamsnap_gcp_iam::kinds::KINDS,
        _ => &[],
    }
}

/// Why a connector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A switch given to a provider that has no use for it: refused rather than ignored.
    #[error("{flag} applies to {applies} sources; {source_name} is {provider}")]
    Switch {
        flag: &'static str,
        applies: String,
        source_name: String,
        provider: &'static str,
    },
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl Classify for ConnectError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            ConnectError::Switch { .. } => Some(ExitStatus::Usage),
            ConnectError::Provider(e) => e.exit_status(),
        }
    }
}

impl SourceConfig {
    /// The provider type as written in configuration.
    pub fn provider_type(&self) -> &'static str {
        match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(_) => "okta",
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(_) => "aws-iam",
            #[cfg(feature = "aws-organizations")]
            SourceConfig::AwsOrganizations(_) => "aws-organizations",
            #[cfg(feature = "aws-identity-center")]
            SourceConfig::AwsIdentityCenter(_) => "aws-identity-center",
            #[cfg(feature = "entra")]
            SourceConfig::Entra(_) => "entra",
            #[cfg(feature = "azure-rbac")]
            SourceConfig::AzureRbac(_) => "azure-rbac",
            #[cfg(feature = "ldap")]
            SourceConfig::Ldap(_) => "ldap",
            #[cfg(feature = "gcp-iam")]
            SourceConfig::GcpIam(_) => "gcp-iam",
        }
    }

    /// Builds the connector for source `name`. Relative paths in the source's configuration
    /// are taken from `base_dir`, the configuration file's folder.
    pub fn connect(
        &self,
        name: &str,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Connector, ConnectError> {
        self.check_switches(name, options)?;
        Ok(match self {
            #[cfg(feature = "okta")]
            SourceConfig::Okta(config) => Connector::read_write(iamsnap_okta::OktaProvider::new(
                name, config, base_dir, options,
            )?),
            #[cfg(feature = "aws-iam")]
            SourceConfig::AwsIam(config) => Connector::read_write(
                iamsnap_aws_iam::AwsIamProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "aws-organizations")]
            SourceConfig::AwsOrganizations(config) => {
                Connector::read_write(iamsnap_aws_organizations::AwsOrganizationsProvider::new(
                    name, config, base_dir, options,
                )?)
            }
            #[cfg(feature = "aws-identity-center")]
            SourceConfig::AwsIdentityCenter(config) => {
                Connector::read_write(iamsnap_aws_identity_center::AwsIdentityCenterProvider::new(
                    name, config, base_dir, options,
                )?)
            }
            #[cfg(feature = "entra")]
            SourceConfig::Entra(config) => Connector::read_write(
                iamsnap_entra::EntraProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "azure-rbac")]
            SourceConfig::AzureRbac(config) => Connector::read_write(
                iamsnap_azure_rbac::AzureRbacProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "ldap")]
            SourceConfig::Ldap(config) => Connector::read_write(iamsnap_ldap::LdapProvider::new(
                name, config, base_dir, options,
            )?),
            #[cfg(feature = "gcp-iam")]
            SourceConfig::GcpIam(config) => Connector::read_write(
                iamsnap_gcp_iam::GcpIamProvider::new(name, config, base_dir, options)?,
            ),
        })
    }

    fn check_switches(&self, name: &str, options: &ConnectOptions) -> Result<(), ConnectError> {
        let takes = |provider: &str, switch: Switch| {
            PROVIDERS
                .iter()
                .any(|(p, switches)| *p == provider && switches.contains(&switch))
        };
        match options
            .switches()
            .into_iter()
            .find(|s| !takes(self.provider_type(), *s))
        {
            None => Ok(()),
            Some(switch) => Err(ConnectError::Switch {
                flag: switch.flag(),
                applies: PROVIDERS
                    .iter()
                    .filter(|(p, _)| takes(p, switch))
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(" or "),
                source_name: name.to_string(),
                provider: self.provider_type(),
            }),
        }
    }
}
