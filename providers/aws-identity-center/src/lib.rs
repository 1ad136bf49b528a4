//! AWS IAM Identity Center connector for iamsnap: backs up an instance's permission sets (with
//! their policies, boundary and tags), account assignments, and the Identity Store's users,
//! groups and group memberships, and restores them in dependency order.
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_aws_identity_center::{AwsIdentityCenterConfig, AwsIdentityCenterProvider};
//! use iamsnap_provider::{ConnectOptions, ReadProvider};
//!
//! let cfg = AwsIdentityCenterConfig { region: Some("eu-west-1".into()), ..Default::default() };
//! let provider = AwsIdentityCenterProvider::new(
//!     "aws-sso", &cfg, std::path::Path::new("."), &ConnectOptions::default())?;
//! let (sink, mut records) = tokio::sync::mpsc::channel::<iamsnap_provider::Record>(1024);
//! let reader = tokio::spawn(async move { while let Some(r) = records.recv().await { println!("{}", r.key) } });
//! provider.snapshot(sink).await?;
//! # reader.await.unwrap();
//! # Ok(()) }
//! ```
//!
//! Credentials come from the standard AWS chain; nothing is sent until the first call. Every
//! call retries throttling with exponential backoff ([`client::MAX_ATTEMPTS`] attempts) and is
//! counted for [`ReadProvider::stats`]. See `docs/aws-identity-center.md` for the permissions
//! each side needs.

mod audit;
pub mod client;
pub mod config;
mod doctor;
pub mod kinds;
mod read;
mod records;
mod restore;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::doctor::{Check, Status};
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};
use tokio::sync::OnceCell;

pub use config::AwsIdentityCenterConfig;

use crate::client::{Api, Base, Clients, Connection};
use crate::read::{FetchCache, Instance};

/// A connection to one Identity Center instance.
pub struct AwsIdentityCenterProvider {
    source: String,
    config: AwsIdentityCenterConfig,
    concurrency: usize,
    connection: Connection,
    instance: OnceCell<Instance>,
    fetched: FetchCache,
    restore: restore::State,
}

impl std::fmt::Debug for AwsIdentityCenterProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsIdentityCenterProvider")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AwsIdentityCenterProvider {
    /// A provider for source `source_name` using the standard AWS credential chain. The
    /// configuration has no relative paths, so `base_dir` is not used.
    pub fn new(
        source_name: &str,
        config: &AwsIdentityCenterConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        let _ = base_dir;
        Self::build(source_name, config, options, Base::Chain)
    }

    /// A provider using an SDK configuration the caller built (credentials, region, HTTP
    /// client). `endpoint`, `region` and `assume_role_arn` from `config` still apply on top.
    pub fn with_sdk_config(
        source_name: &str,
        config: &AwsIdentityCenterConfig,
        options: &ConnectOptions,
        sdk: aws_config::SdkConfig,
    ) -> Result<Self, ProviderError> {
        Self::build(source_name, config, options, Base::Given(Box::new(sdk)))
    }

    fn build(
        source_name: &str,
        config: &AwsIdentityCenterConfig,
        options: &ConnectOptions,
        base: Base,
    ) -> Result<Self, ProviderError> {
        config.validate(source_name)?;
        Ok(AwsIdentityCenterProvider {
            source: source_name.to_string(),
            config: config.clone(),
            concurrency: options.concurrency.unwrap_or_else(|| config.concurrency()),
            connection: Connection::new(config, base),
            instance: OnceCell::new(),
            fetched: FetchCache::default(),
            restore: restore::State::default(),
        })
    }

    /// Both clients and the instance, resolved on first use.
    async fn open(&self) -> Result<(&Clients, &Instance), ProviderError> {
        let clients = self.connection.clients().await;
        let instance = self
            .instance
            .get_or_try_init(|| {
                read::instance(clients, self.config.instance_arn.as_deref(), &self.source)
            })
            .await?;
        Ok((clients, instance))
    }
}

#[async_trait]
impl ReadProvider for AwsIdentityCenterProvider {
    fn provider_type(&self) -> &'static str {
        "aws-identity-center"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        let (clients, instance) = self.open().await?;
        read::healthcheck(clients, instance).await
    }

    /// The healthcheck's reads, then who the credentials are and how old
    /// ([`iamsnap_aws_caller::credentials`]).
    async fn check_reads(&self) -> Vec<Check> {
        let mut checks = iamsnap_provider::doctor::from_healthcheck(
            self.healthcheck().await,
            "sso:ListInstances, identitystore:ListUsers",
        );
        if checks.iter().all(|c| c.status != Status::Fail) {
            checks.extend(
                iamsnap_aws_caller::credentials(&self.connection.clients().await.sdk).await,
            );
        }
        checks
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        let (clients, instance) = self.open().await?;
        read::snapshot(clients, instance, self.concurrency, sink).await
    }

    /// Reads the whole instance once and picks `key`; further fetches reuse that read until
    /// the next `apply` or for a minute.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        let (clients, instance) = self.open().await?;
        self.fetched
            .fetch(clients, instance, self.concurrency, kind, key)
            .await
    }

    fn stats(&self) -> RequestStats {
        self.connection.stats()
    }

    /// CloudTrail's event history of Identity Center and Identity Store calls (`cloudtrail:LookupEvents`).
    fn audit_log(&self) -> Option<&dyn iamsnap_provider::AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl WriteProvider for AwsIdentityCenterProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.fetched.clear().await;
        let (clients, instance) = self.open().await?;
        let ctx = restore::Ctx {
            clients,
            instance,
            state: &self.restore,
            ids,
        };
        restore::apply(&ctx, op).await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record)
    }

    /// Users, groups and memberships of a store an external identity provider synchronizes.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        let _ = action;
        restore::refuses(&self.restore, record)
    }

    /// Whether an external identity provider synchronizes the Identity Store: its users or
    /// groups carry external ids, which only SCIM provisioning sets. One page of each is read.
    async fn before_plan(&self) -> Result<(), ProviderError> {
        let (clients, instance) = self.open().await?;
        let subject = format!("instance {}", instance.arn);
        let users = clients
            .store
            .list_users()
            .identity_store_id(&instance.store_id)
            .max_results(100)
            .send()
            .await
            .api("identitystore:ListUsers")
            .map_err(|e| e.context(&subject))?;
        let groups = clients
            .store
            .list_groups()
            .identity_store_id(&instance.store_id)
            .max_results(100)
            .send()
            .await
            .api("identitystore:ListGroups")
            .map_err(|e| e.context(&subject))?;
        let synced = users.users().iter().any(|u| !u.external_ids().is_empty())
            || groups.groups().iter().any(|g| !g.external_ids().is_empty());
        self.restore.set_synced(synced);
        Ok(())
    }

    /// The Identity Center user the credentials are a session of (`AWSReservedSSO_…` roles),
    /// with the permission set and assignment it signs in with; `None` for other credentials.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        let clients = self.connection.clients().await;
        let out = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .api("sts:GetCallerIdentity")
            .map_err(|e| e.context("the credentials of this source"))?;
        Ok(out.arn().and_then(restore::me::identity_of_arn))
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live)
    }

    /// IAM's policy simulator, asked about every action of the restore policy.
    async fn check_writes(&self) -> Vec<Check> {
        iamsnap_aws_caller::restore_permissions(
            &self.connection.clients().await.sdk,
            doctor::RESTORE_ACTIONS,
        )
        .await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
