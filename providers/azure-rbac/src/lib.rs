//! Azure RBAC connector: backs up and restores who may do what to Azure subscriptions and
//! resources, through Azure Resource Manager.
//!
//! ```text
//! [sources.azure-prod]
//! provider = "azure-rbac"
//! tenant_id = "00000000-0000-0000-0000-000000000000"
//! client_id = "11111111-1111-1111-1111-111111111111"
//! client_secret_env = "AZURE_CLIENT_SECRET"   # or client_secret_file = "azure.secret"
//! subscriptions = ["22222222-2222-2222-2222-222222222222"]   # default: every one listed
//! ```
//!
//! Signs in with the OAuth2 client-credentials grant for ARM's resource
//! (`https://management.azure.com/.default`), through the HTTP kit's `TokenSource` that the
//! Entra connector uses too. Kinds (see [`kinds`]): custom role definitions, role assignments
//! at management group (`management_groups = true`), subscription, resource group and
//! resource scope (keyed by scope, role name and
//! principal, never by GUID), PIM eligibility schedules, management locks, and deny
//! assignments (read only: their owning service makes them). Lists follow `nextLink`; `429` is
//! retried after `Retry-After`.
//!
//! Restore re-creates custom roles before the assignments that use them, creates assignments
//! under new GUIDs with the live role's definition id (retrying while ARM replicates a role
//! just created), updates custom roles' permissions in place, and never deletes or changes the
//! assignments of the service principal it signs in as. The roles needed are listed in
//! `docs/azure-rbac.md`; `iamsnap doctor` asks ARM for the application's permissions at each
//! scope and names each operation missing.

pub mod config;
pub mod kinds;

mod client;
mod directory;
mod doctor;
mod read;
mod records;
mod restore;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::doctor::Check;
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::AzureRbacConfig;

use client::ArmClient;
use directory::Directory;

/// Connector to the role-based access control of one Azure tenant's subscriptions.
#[derive(Debug)]
pub struct AzureRbacProvider {
    client: ArmClient,
    /// With `entra_source`: Graph, which names the principals for good.
    directory: Option<Directory>,
    subscriptions: Option<Vec<String>>,
    management_groups: bool,
    concurrency: usize,
}

impl AzureRbacProvider {
    /// Builds the connector for `[sources.SOURCE_NAME]`; a relative `client_secret_file` is
    /// read from `base_dir`, the configuration file's folder.
    pub fn new(
        source_name: &str,
        config: &AzureRbacConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        let secret_file = config.client_secret_file.as_ref().map(|f| base_dir.join(f));
        let what = format!("sources.{source_name}.client_secret_env");
        let secret = iamsnap_provider::secret::resolve(
            config.client_secret_env.as_deref(),
            secret_file.as_deref(),
            &what,
        )?;
        let config = AzureRbacConfig {
            concurrency: options.concurrency.or(config.concurrency),
            ..config.clone()
        };
        config.validate(source_name)?;
        let directory = match &config.entra {
            None => None,
            Some(link) => {
                let secret_file = link.client_secret_file.as_ref().map(|f| base_dir.join(f));
                let what = format!("sources.{}.client_secret_env", link.source_name);
                let secret = iamsnap_provider::secret::resolve(
                    link.client_secret_env.as_deref(),
                    secret_file.as_deref(),
                    &what,
                )?;
                Some(Directory::new(link, secret)?)
            }
        };
        Ok(AzureRbacProvider {
            client: ArmClient::new(source_name, &config, secret)?,
            directory,
            subscriptions: config.subscriptions.clone(),
            management_groups: config.management_groups.unwrap_or(false),
            concurrency: config.concurrency(),
        })
    }

    fn subscriptions(&self) -> Option<&[String]> {
        self.subscriptions.as_deref()
    }

    fn reader(&self) -> read::Reader<'_> {
        read::Reader {
            client: &self.client,
            directory: self.directory.as_ref(),
            subscriptions: self.subscriptions(),
            management_groups: self.management_groups,
        }
    }
}

#[async_trait]
impl ReadProvider for AzureRbacProvider {
    fn provider_type(&self) -> &'static str {
        "azure-rbac"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(&self.client, self.subscriptions()).await?;
        match &self.directory {
            // A backup asks Graph for the names of principals: the Entra source's sign-in.
            Some(directory) => directory.sign_in().await,
            None => Ok(()),
        }
    }

    /// The healthcheck's reads, then ARM's list of the application's permissions at every
    /// scope against the operations a backup reads with.
    async fn check_reads(&self) -> Vec<Check> {
        let first = self.healthcheck().await;
        doctor::check_reads(
            &self.client,
            first,
            self.subscriptions(),
            self.management_groups,
        )
        .await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        self.reader().snapshot(sink).await
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        read::fetch::record(&self.reader(), kind, key).await
    }

    /// ARM's requests and Graph's together.
    fn stats(&self) -> RequestStats {
        let mut stats = self.client.stats();
        if let Some(graph) = self.directory.as_ref().map(Directory::stats) {
            stats.requests += graph.requests;
            stats.throttled += graph.throttled;
            stats.retries += graph.retries;
        }
        stats
    }
}

#[async_trait]
impl WriteProvider for AzureRbacProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::Restore {
            client: &self.client,
            directory: self.directory.as_ref(),
            ids,
            subscriptions: self.subscriptions(),
            management_groups: self.management_groups,
        }
        .apply(op)
        .await
    }

    /// An eligibility that has ended is not made again; with `entra_source`, neither is an
    /// assignment or eligibility of a principal the directory no longer holds.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        if action == Action::Delete {
            return None;
        }
        if record.kind == kinds::ROLE_ELIGIBILITY
            && let Some(reason) = restore::ended(record)
        {
            return Some(reason);
        }
        restore::principal_missing(self.directory.as_ref()?, record)
    }

    /// With `entra_source`: which principals the directory holds now, and under which ids.
    async fn before_plan(&self) -> Result<(), ProviderError> {
        match &self.directory {
            Some(directory) => directory.load().await,
            None => Ok(()),
        }
    }

    /// The service principal of the token's `oid` and its role assignments.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        read::me::self_identity(&self.reader()).await
    }

    /// ARM's list of the application's permissions at every scope against the operations a
    /// restore writes with.
    async fn check_writes(&self) -> Vec<Check> {
        doctor::check_writes(&self.client, self.subscriptions(), self.management_groups).await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
