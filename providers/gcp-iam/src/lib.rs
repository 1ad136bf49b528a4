//! Google Cloud IAM connector: backs up the IAM policies of an organization, its folders and
//! projects through Resource Manager v3, and restores them as read-modify-writes with etags.
//!
//! ```text
//! [sources.gcp-prod]
//! provider = "gcp-iam"
//! organization = "123456789012"       # and/or projects = ["acme-prod", "acme-stage"]
//! folders = true                      # the organization's folders and their policies
//! credentials_file = "iamsnap-sa.json" # else Application Default Credentials
//! ```
//!
//! Kinds (see [`kinds`]): the projects' service accounts with the members of their own
//! policies and their user-managed keys (listed, never the private half), the custom roles of
//! the organization and the projects, and every member of every role
//! binding (conditions kept byte for byte) and every audit config of the organization's, each
//! folder's and each project's policy, read at policy version 3, and the IAM v2 deny policies
//! attached to each of them.
//!
//! `accounts` reads service accounts' own policies and keys and restores service accounts
//! (undeleting them by unique id); `keys` sets keys back to enabled or disabled; `auth` finds
//! Application Default Credentials and gets tokens; `client` speaks Resource Manager and IAM;
//! `deny` reads and writes deny policies, waiting for IAM's long-running operations; `read`
//! discovers the resources and reads their policies and service accounts; `records` turns them
//! into records; `restore` writes them back, `roles` the custom roles; `doctor` asks
//! `testIamPermissions` which of the permissions a backup and a restore need the key holds.

pub mod config;
pub mod kinds;

mod accounts;
mod auth;
mod client;
mod deny;
mod doctor;
mod keys;
mod read;
mod records;
mod restore;
mod roles;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::doctor::Check;
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, WriteProvider,
};

pub use config::GcpIamConfig;

use client::Client;
use read::Scope;

/// Connector to one organization or a set of projects.
#[derive(Debug)]
pub struct GcpIamProvider {
    client: Client,
    scope: Scope,
    concurrency: usize,
    roles: roles::Roles,
}

impl GcpIamProvider {
    /// Builds the connector for `[sources.SOURCE_NAME]`; a relative `credentials_file` is
    /// read from `base_dir`, the configuration file's folder.
    pub fn new(
        source_name: &str,
        config: &GcpIamConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        let config = GcpIamConfig {
            concurrency: options.concurrency.or(config.concurrency),
            ..config.clone()
        };
        config.validate(source_name)?;
        let credentials = auth::Credentials::find(
            config.credentials_file.as_ref().map(|f| base_dir.join(f)),
            source_name,
        )?;
        let token_url = config.token_url(source_name, credentials.token_uri())?;
        let tokens = auth::Tokens::new(credentials, token_url)?;
        let concurrency = config.concurrency();
        Ok(GcpIamProvider {
            client: Client::new(
                tokens,
                &config.resourcemanager_url(source_name)?,
                &config.iam_url(source_name)?,
                concurrency,
            )?,
            scope: Scope {
                organization: config.organization.clone(),
                projects: config.projects.clone(),
                folders: config.folders(),
                excluded: options.exclude_kinds.clone(),
            },
            concurrency,
            roles: roles::Roles {
                rename: options.rename_deleted_roles,
                ..roles::Roles::default()
            },
        })
    }
}

#[async_trait]
impl ReadProvider for GcpIamProvider {
    fn provider_type(&self) -> &'static str {
        "gcp-iam"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    /// Signs in and reads the first resource's policy.
    async fn healthcheck(&self) -> Result<(), ProviderError> {
        let first = match &self.scope.organization {
            Some(org) => format!("organizations/{org}"),
            None => format!("projects/{}", self.scope.projects[0]),
        };
        self.client.get_policy(&first).await.map(|_| ())
    }

    /// The healthcheck's reads, the key's expiry, and `testIamPermissions` for every
    /// permission a backup reads with, on every resource it reads.
    async fn check_reads(&self) -> Vec<Check> {
        let first = self.healthcheck().await;
        doctor::check_reads(&self.client, &self.scope, first, self.concurrency).await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        let roles = read::snapshot(&self.client, &self.scope, sink, self.concurrency).await?;
        *self.roles.live.lock().unwrap_or_else(|e| e.into_inner()) = roles;
        Ok(())
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        read::fetch(&self.client, kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.client.stats()
    }
}

#[async_trait]
impl WriteProvider for GcpIamProvider {
    async fn apply(&self, op: &Operation, _ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::apply(&self.client, &self.roles, op).await
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        match record.kind.as_str() {
            kinds::CUSTOM_ROLE => self.roles.refuses(action, record),
            kinds::IAM_MEMBER | kinds::SERVICE_ACCOUNT_MEMBER => {
                self.roles.refuses_member(action, record)
            }
            kinds::SERVICE_ACCOUNT_KEY => keys::refuses(action, record),
            _ => None,
        }
    }

    /// IAM sets a deny policy's annotations only when it is created (`policies.update` takes
    /// the display name and rules): a live policy keeps its own, so that a restore never plans
    /// an update it cannot make. The kind's `cannot_restore` says how to get them back.
    fn reachable(&self, mut desired: Record, live: &Record) -> Record {
        if desired.kind == kinds::DENY_POLICY {
            desired.attrs["annotations"] = live.attrs["annotations"].clone();
        }
        desired
    }

    /// `testIamPermissions` for every permission a restore writes with, on every resource.
    async fn check_writes(&self) -> Vec<Check> {
        doctor::check_writes(&self.client, &self.scope, self.concurrency).await
    }

    /// One at a time per kind: every operation rewrites a whole policy, and parallel writes to
    /// one policy would only meet each other's etags.
    fn concurrency(&self) -> usize {
        1
    }
}
