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
//! at subscription, resource group and resource scope (keyed by scope, role name and
//! principal, never by GUID), PIM eligibility schedules, management locks, and deny
//! assignments (read only: their owning service makes them). Lists follow `nextLink`; `429` is
//! retried after `Retry-After`.
//!
//! Restore re-creates custom roles before the assignments that use them, creates assignments
//! under new GUIDs with the live role's definition id (retrying while ARM replicates a role
//! just created), updates custom roles' permissions in place, and never deletes or changes the
//! assignments of the service principal it signs in as. The roles needed are listed in
//! `docs/azure-rbac.md`.

pub mod config;
pub mod kinds;

mod client;
mod read;
mod records;
mod restore;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::AzureRbacConfig;

use client::ArmClient;

/// Connector to the role-based access control of one Azure tenant's subscriptions.
#[derive(Debug)]
pub struct AzureRbacProvider {
    client: ArmClient,
    subscriptions: Option<Vec<String>>,
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
        Ok(AzureRbacProvider {
            client: ArmClient::new(source_name, &config, secret)?,
            subscriptions: config.subscriptions.clone(),
            concurrency: config.concurrency(),
        })
    }

    fn subscriptions(&self) -> Option<&[String]> {
        self.subscriptions.as_deref()
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
        read::healthcheck(&self.client, self.subscriptions()).await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        read::Snapshot {
            client: &self.client,
            subscriptions: self.subscriptions(),
            sink,
        }
        .run()
        .await
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        read::fetch::record(&self.client, self.subscriptions(), kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.client.stats()
    }
}

#[async_trait]
impl WriteProvider for AzureRbacProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::Restore {
            client: &self.client,
            ids,
            subscriptions: self.subscriptions(),
        }
        .apply(op)
        .await
    }

    /// An eligibility that has ended is not made again.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        (action != Action::Delete && record.kind == kinds::ROLE_ELIGIBILITY)
            .then(|| restore::ended(record))
            .flatten()
    }

    /// The service principal of the token's `oid` and its role assignments.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        read::me::self_identity(&self.client, self.subscriptions()).await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
