//! The registry of connectors: `provider = "…"` in a source's configuration mapped to its
//! configuration type, its constructor and the restore switches it takes. The only place in
//! iamsnap that names a connector crate; each is behind a cargo feature of the same name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_provider::{
    ConnectOptions, Connector, ExcludeKinds, KindInfo, ProviderError, Switch, WriteProvider,
};
use serde::Deserialize;

/// `[sources.NAME]`: what every source takes, and its connector's configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Kinds this source never reads (full names, `aws.ssh_public_key`): the connector skips
    /// their requests, snapshots record that they were not read, and `diff` and `restore`
    /// leave their live objects alone.
    #[serde(default)]
    pub exclude_kinds: Vec<String>,
    /// `provider = "…"` picks the connector; the other fields are its configuration.
    #[serde(flatten)]
    pub connector: ConnectorConfig,
}

/// A connector's configuration, chosen by the source's `provider` field.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider")]
pub enum ConnectorConfig {
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

/// Fills in what a source takes from another source it names: an Azure RBAC source's
/// `entra_source` (the Entra source whose settings name its principals). An error names the
/// field and says what to write.
pub fn link_sources(sources: &mut BTreeMap<String, SourceConfig>) -> Result<(), String> {
    #[cfg(feature = "azure-rbac")]
    {
        let links: Vec<(String, String)> = sources
            .iter()
            .filter_map(|(name, source)| match &source.connector {
                ConnectorConfig::AzureRbac(c) => c.entra_source.clone().map(|e| (name.clone(), e)),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .collect();
        for (name, entra) in links {
            let link = entra_link(sources, &name, &entra)?;
            if let Some(ConnectorConfig::AzureRbac(c)) =
                sources.get_mut(&name).map(|s| &mut s.connector)
            {
                c.entra = Some(link);
            }
        }
    }
    let _ = sources;
    Ok(())
}

/// The settings of Entra source `entra`, named by Azure RBAC source `name`.
#[cfg(feature = "azure-rbac")]
fn entra_link(
    sources: &BTreeMap<String, SourceConfig>,
    name: &str,
    entra: &str,
) -> Result<iamsnap_azure_rbac::config::EntraLink, String> {
    let field = format!("sources.{name}.entra_source");
    let Some(target) = sources.get(entra) else {
        return Err(format!(
            "{field}: no source named {entra:?}; name the provider = \"entra\" source of the same tenant, or leave the field out to keep principals by object id"
        ));
    };
    #[cfg(feature = "entra")]
    if let ConnectorConfig::Entra(e) = &target.connector {
        let ConnectorConfig::AzureRbac(azure) = &sources[name].connector else {
            unreachable!("{name} is an azure-rbac source");
        };
        if !e
            .tenant_id
            .trim()
            .eq_ignore_ascii_case(azure.tenant_id.trim())
        {
            return Err(format!(
                "{field}: {entra:?} is tenant {:?} but this source is tenant {:?}; principals are named through the Entra source of the same tenant (write the same tenant_id in both)",
                e.tenant_id.trim(),
                azure.tenant_id.trim()
            ));
        }
        return Ok(iamsnap_azure_rbac::config::EntraLink {
            source_name: entra.to_string(),
            tenant_id: e.tenant_id.clone(),
            client_id: e.client_id.clone(),
            client_secret_env: e.client_secret_env.clone(),
            client_secret_file: e.client_secret_file.clone(),
            login_url: e
                .login_url
                .clone()
                .unwrap_or_else(|| iamsnap_entra::config::DEFAULT_LOGIN_URL.into()),
            graph_url: e
                .graph_url
                .clone()
                .unwrap_or_else(|| iamsnap_entra::config::DEFAULT_GRAPH_URL.into()),
        });
    }
    Err(format!(
        "{field}: {entra:?} is a {} source; name a provider = \"entra\" source of the same tenant",
        target.provider_type()
    ))
}

/// The AWS shared credentials file when it exists: `AWS_SHARED_CREDENTIALS_FILE`, else
/// `~/.aws/credentials`, where the AWS SDKs look.
fn aws_shared_credentials_file() -> Option<(String, PathBuf)> {
    let (what, path) = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(path) => ("AWS_SHARED_CREDENTIALS_FILE", PathBuf::from(path)),
        None => (
            "the AWS shared credentials file",
            PathBuf::from(std::env::var_os("HOME")?).join(".aws/credentials"),
        ),
    };
    path.exists().then(|| (what.to_string(), path))
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
        match &self.connector {
            #[cfg(feature = "okta")]
            ConnectorConfig::Okta(_) => "okta",
            #[cfg(feature = "aws-iam")]
            ConnectorConfig::AwsIam(_) => "aws-iam",
            #[cfg(feature = "aws-organizations")]
            ConnectorConfig::AwsOrganizations(_) => "aws-organizations",
            #[cfg(feature = "aws-identity-center")]
            ConnectorConfig::AwsIdentityCenter(_) => "aws-identity-center",
            #[cfg(feature = "entra")]
            ConnectorConfig::Entra(_) => "entra",
            #[cfg(feature = "azure-rbac")]
            ConnectorConfig::AzureRbac(_) => "azure-rbac",
            #[cfg(feature = "ldap")]
            ConnectorConfig::Ldap(_) => "ldap",
            #[cfg(feature = "gcp-iam")]
            ConnectorConfig::GcpIam(_) => "gcp-iam",
        }
    }

    /// The files source `name` reads a secret from, each with what names it
    /// (`sources.corp.bind_password_file`), relative paths taken from `base_dir`. A file the
    /// environment names (`GOOGLE_APPLICATION_CREDENTIALS`) counts when the source would use it;
    /// the AWS shared credentials file counts when it exists, since the AWS chain may read it.
    pub fn secret_files(&self, name: &str, base_dir: &Path) -> Vec<(String, PathBuf)> {
        let field = |field: &str, path: &Option<PathBuf>| {
            path.as_ref()
                .map(|p| (format!("sources.{name}.{field}"), base_dir.join(p)))
        };
        #[allow(unused_mut)]
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        match &self.connector {
            #[cfg(feature = "okta")]
            ConnectorConfig::Okta(c) => files.extend(field("token_file", &c.token_file)),
            #[cfg(feature = "entra")]
            ConnectorConfig::Entra(c) => {
                files.extend(field("client_secret_file", &c.client_secret_file))
            }
            #[cfg(feature = "azure-rbac")]
            ConnectorConfig::AzureRbac(c) => {
                files.extend(field("client_secret_file", &c.client_secret_file));
                if let Some(link) = &c.entra {
                    let what = format!("sources.{}.client_secret_file", link.source_name);
                    files.extend(
                        link.client_secret_file
                            .as_ref()
                            .map(|p| (what, base_dir.join(p))),
                    );
                }
            }
            #[cfg(feature = "ldap")]
            ConnectorConfig::Ldap(c) => {
                files.extend(field("bind_password_file", &c.bind_password_file))
            }
            #[cfg(feature = "gcp-iam")]
            ConnectorConfig::GcpIam(c) => match field("credentials_file", &c.credentials_file) {
                Some(file) => files.push(file),
                None => files.extend(
                    std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS")
                        .map(|p| ("GOOGLE_APPLICATION_CREDENTIALS".to_string(), p.into())),
                ),
            },
            #[allow(unreachable_patterns)]
            _ => {}
        }
        if self.provider_type().starts_with("aws-") {
            files.extend(aws_shared_credentials_file());
        }
        files
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
        let options = &ConnectOptions {
            exclude_kinds: self.exclude_kinds.iter().cloned().collect(),
            ..options.clone()
        };
        Ok(match &self.connector {
            #[cfg(feature = "okta")]
            ConnectorConfig::Okta(config) => connector(
                options,
                iamsnap_okta::OktaProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "aws-iam")]
            ConnectorConfig::AwsIam(config) => connector(
                options,
                iamsnap_aws_iam::AwsIamProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "aws-organizations")]
            ConnectorConfig::AwsOrganizations(config) => connector(
                options,
                iamsnap_aws_organizations::AwsOrganizationsProvider::new(
                    name, config, base_dir, options,
                )?,
            ),
            #[cfg(feature = "aws-identity-center")]
            ConnectorConfig::AwsIdentityCenter(config) => connector(
                options,
                iamsnap_aws_identity_center::AwsIdentityCenterProvider::new(
                    name, config, base_dir, options,
                )?,
            ),
            #[cfg(feature = "entra")]
            ConnectorConfig::Entra(config) => connector(
                options,
                iamsnap_entra::EntraProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "azure-rbac")]
            ConnectorConfig::AzureRbac(config) => connector(
                options,
                iamsnap_azure_rbac::AzureRbacProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "ldap")]
            ConnectorConfig::Ldap(config) => connector(
                options,
                iamsnap_ldap::LdapProvider::new(name, config, base_dir, options)?,
            ),
            #[cfg(feature = "gcp-iam")]
            ConnectorConfig::GcpIam(config) => connector(
                options,
                iamsnap_gcp_iam::GcpIamProvider::new(name, config, base_dir, options)?,
            ),
        })
    }

    /// Why `exclude_kinds` cannot be used: a name the provider has no kind of, or a kind
    /// left out that a kind still read depends on (its objects could not be restored without
    /// the excluded ones).
    pub fn check_exclude_kinds(&self, name: &str) -> Result<(), String> {
        let kinds = kinds(self.provider_type());
        let excluded: BTreeSet<&str> = self.exclude_kinds.iter().map(String::as_str).collect();
        for given in &excluded {
            if !kinds.iter().any(|k| k.name == *given) {
                return Err(format!(
                    "source {name}: exclude_kinds names {given:?}, which {} does not read; its kinds are {}",
                    self.provider_type(),
                    kinds.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for kind in kinds.iter().filter(|k| !excluded.contains(k.name)) {
            if let Some(needed) = kind.depends_on.iter().find(|d| excluded.contains(*d)) {
                return Err(format!(
                    "source {name}: exclude_kinds leaves out {needed}, which {} (still read) depends on; exclude {} too, or keep {needed}",
                    kind.name, kind.name
                ));
            }
        }
        Ok(())
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

/// `provider` as the engine holds it: reading none of the kinds `options` excludes.
fn connector<P: WriteProvider + 'static>(options: &ConnectOptions, provider: P) -> Connector {
    if options.exclude_kinds.is_empty() {
        return Connector::read_write(provider);
    }
    Connector::read_write(ExcludeKinds::new(provider, options.exclude_kinds.clone()))
}
