//! AWS Organizations connector for iamsnap: backs up an organization's OU tree, its policies of
//! every enabled type (service and resource control policies, tag, backup, AI services opt-out
//! and chat policies) with where each is attached, its delegated administrators and its
//! accounts, and restores them in dependency order. Accounts are listed and moved back to
//! their OU, never created or closed.
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_aws_organizations::{AwsOrganizationsConfig, AwsOrganizationsProvider};
//! use iamsnap_provider::{ConnectOptions, ReadProvider};
//!
//! let cfg = AwsOrganizationsConfig { profile: Some("org-backup".into()), ..Default::default() };
//! let provider = AwsOrganizationsProvider::new(
//!     "org-prod", &cfg, std::path::Path::new("."), &ConnectOptions::default())?;
//! let (sink, mut records) = tokio::sync::mpsc::channel::<iamsnap_provider::Record>(1024);
//! let reader = tokio::spawn(async move { while let Some(r) = records.recv().await { println!("{}", r.key) } });
//! provider.snapshot(sink).await?;
//! # reader.await.unwrap();
//! # Ok(()) }
//! ```
//!
//! Credentials come from the standard AWS chain (those of the management account, or of a
//! role in it); nothing is sent until the first call. Every call retries throttling with
//! exponential backoff and jitter ([`client::MAX_ATTEMPTS`] attempts) and is counted for
//! [`ReadProvider::stats`]. See `docs/aws-organizations.md` for the permissions each side needs.

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
    Record, RecordSink, RequestStats, WriteProvider,
};

pub use config::AwsOrganizationsConfig;

use crate::client::{Base, Connection};
use crate::read::FetchCache;

/// A connection to one AWS organization.
pub struct AwsOrganizationsProvider {
    source: String,
    config: AwsOrganizationsConfig,
    concurrency: usize,
    connection: Connection,
    fetched: FetchCache,
    live: restore::Live,
}

impl std::fmt::Debug for AwsOrganizationsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsOrganizationsProvider")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AwsOrganizationsProvider {
    /// A provider for source `source_name` using the standard AWS credential chain. The
    /// configuration has no relative paths, so `base_dir` is not used.
    pub fn new(
        source_name: &str,
        config: &AwsOrganizationsConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        let _ = base_dir;
        Self::build(source_name, config, options, Base::Chain)
    }

    /// A provider using an SDK configuration the caller built (credentials, region, HTTP
    /// client). `endpoint` and `assume_role_arn` from `config` still apply on top of it.
    pub fn with_sdk_config(
        source_name: &str,
        config: &AwsOrganizationsConfig,
        options: &ConnectOptions,
        sdk: aws_config::SdkConfig,
    ) -> Result<Self, ProviderError> {
        Self::build(source_name, config, options, Base::Given(Box::new(sdk)))
    }

    fn build(
        source_name: &str,
        config: &AwsOrganizationsConfig,
        options: &ConnectOptions,
        base: Base,
    ) -> Result<Self, ProviderError> {
        config.validate(source_name)?;
        Ok(AwsOrganizationsProvider {
            source: source_name.to_string(),
            config: config.clone(),
            concurrency: options.concurrency.unwrap_or_else(|| config.concurrency()),
            connection: Connection::new(config, base),
            fetched: FetchCache::default(),
            live: restore::Live::default(),
        })
    }
}

#[async_trait]
impl ReadProvider for AwsOrganizationsProvider {
    fn provider_type(&self) -> &'static str {
        "aws-organizations"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(self.connection.client().await).await
    }

    /// The healthcheck's reads, then who the credentials are and how old
    /// ([`iamsnap_aws_caller::credentials`]).
    async fn check_reads(&self) -> Vec<Check> {
        let mut checks = iamsnap_provider::doctor::from_healthcheck(
            self.healthcheck().await,
            "organizations:DescribeOrganization, organizations:ListRoots",
        );
        if checks.iter().all(|c| c.status != Status::Fail) {
            checks.extend(iamsnap_aws_caller::credentials(self.connection.sdk().await).await);
        }
        checks
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        read::snapshot(self.connection.client().await, self.concurrency, sink).await
    }

    /// Reads the organization and picks `key`; further fetches reuse that read until the next
    /// `apply` or for a minute.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        let client = self.connection.client().await;
        self.fetched
            .fetch(client, self.concurrency, kind, key)
            .await
    }

    fn stats(&self) -> RequestStats {
        self.connection.stats()
    }

    /// CloudTrail's event history of Organizations calls (`cloudtrail:LookupEvents`).
    fn audit_log(&self) -> Option<&dyn iamsnap_provider::AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl WriteProvider for AwsOrganizationsProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.fetched.clear().await;
        restore::apply(&self.connection, &self.live, op, ids).await
    }

    /// Accounts are never created, invited, closed or removed.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        restore::refuses(action, record)
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live)
    }

    /// IAM's policy simulator, asked about every action of the restore policy.
    async fn check_writes(&self) -> Vec<Check> {
        iamsnap_aws_caller::restore_permissions(
            self.connection.sdk().await,
            doctor::RESTORE_ACTIONS,
        )
        .await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
