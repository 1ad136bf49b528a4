//! AWS IAM connector for iamsnap: backs up an account's users, groups, roles, customer-managed
//! policies (every version), attachments, inline policies, instance profiles, SAML and OIDC
//! providers, password policy and alias, and restores them in dependency order.
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_aws_iam::{AwsIamConfig, AwsIamProvider};
//! use iamsnap_provider::{ConnectOptions, ReadProvider};
//!
//! let cfg = AwsIamConfig { profile: Some("backup".into()), ..AwsIamConfig::default() };
//! let provider =
//!     AwsIamProvider::new("aws-prod", &cfg, std::path::Path::new("."), &ConnectOptions::default())?;
//! let (sink, mut records) = tokio::sync::mpsc::channel::<iamsnap_provider::Record>(1024);
//! let reader = tokio::spawn(async move { while let Some(r) = records.recv().await { println!("{}", r.key) } });
//! provider.snapshot(sink).await?;
//! # reader.await.unwrap();
//! # Ok(()) }
//! ```
//!
//! Credentials come from the standard AWS chain; nothing is sent until the first call. Every
//! call retries throttling with exponential backoff and jitter ([`client::MAX_ATTEMPTS`] attempts) and is
//! counted for [`ReadProvider::stats`]. See `docs/aws-iam.md` for the IAM permissions each side needs.

mod audit;
pub mod client;
pub mod config;
mod doctor;
pub mod kinds;
mod public_keys;
mod read;
mod records;
mod restore;

use std::collections::BTreeSet;
use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::doctor::{Check, Status};
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::AwsIamConfig;

use crate::client::{Base, Connection};
use crate::read::{FetchCache, Scope};

/// A connection to one AWS account's IAM.
pub struct AwsIamProvider {
    source: String,
    config: AwsIamConfig,
    concurrency: usize,
    connection: Connection,
    fetched: FetchCache,
    restore: restore::State,
    /// Kinds the source excludes: their requests are skipped.
    excluded: BTreeSet<String>,
}

impl std::fmt::Debug for AwsIamProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsIamProvider")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AwsIamProvider {
    /// A provider for source `source_name` using the standard AWS credential chain. The
    /// configuration has no relative paths, so `base_dir` is not used.
    pub fn new(
        source_name: &str,
        config: &AwsIamConfig,
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
        config: &AwsIamConfig,
        options: &ConnectOptions,
        sdk: aws_config::SdkConfig,
    ) -> Result<Self, ProviderError> {
        Self::build(source_name, config, options, Base::Given(Box::new(sdk)))
    }

    fn build(
        source_name: &str,
        config: &AwsIamConfig,
        options: &ConnectOptions,
        base: Base,
    ) -> Result<Self, ProviderError> {
        config.validate(source_name)?;
        Ok(AwsIamProvider {
            source: source_name.to_string(),
            config: config.clone(),
            concurrency: options.concurrency.unwrap_or_else(|| config.concurrency()),
            connection: Connection::new(config, base),
            fetched: FetchCache::default(),
            restore: restore::State::default(),
            excluded: options.exclude_kinds.clone(),
        })
    }
}

#[async_trait]
impl ReadProvider for AwsIamProvider {
    fn provider_type(&self) -> &'static str {
        "aws-iam"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(self.connection.iam().await, &self.source).await
    }

    /// The healthcheck's read, then who the credentials are and how old
    /// ([`iamsnap_aws_caller::credentials`]).
    async fn check_reads(&self) -> Vec<Check> {
        let mut checks = iamsnap_provider::doctor::from_healthcheck(
            self.healthcheck().await,
            "iam:GetAccountAuthorizationDetails",
        );
        if checks.iter().all(|c| c.status != Status::Fail) {
            checks.extend(iamsnap_aws_caller::credentials(self.connection.sdk().await).await);
        }
        checks
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        let client = self.connection.iam().await;
        let scope = Scope {
            credential_report: self.config.credential_report(),
            ..Scope::excluding(&self.excluded)
        };
        read::snapshot(client, scope, self.concurrency, sink).await
    }

    /// Reads the family of `kind` and picks `key`; further fetches of the kind reuse that read
    /// until the next `apply` or for a minute.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        let client = self.connection.iam().await;
        self.fetched
            .fetch(client, self.concurrency, kind, key)
            .await
    }

    fn stats(&self) -> RequestStats {
        self.connection.stats()
    }

    /// CloudTrail's event history of IAM calls (`cloudtrail:LookupEvents`).
    fn audit_log(&self) -> Option<&dyn iamsnap_provider::AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl WriteProvider for AwsIamProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.fetched.clear().await;
        restore::apply(&self.connection, &self.restore, op, ids).await
    }

    /// Per user, what a re-created user does not get back: only what the user had.
    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record)
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live)
    }

    /// Service-linked roles are re-created through their service, never deleted, and their
    /// policies are the service's; server certificates and virtual MFA devices are never
    /// re-created, as IAM never gives back their private key or seed.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        restore::refuses(action, record)
    }

    /// The user or role the credentials belong to (`sts:GetCallerIdentity`), its policies and
    /// permissions boundary, and for a user the groups through which it has more.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        let arn = self.connection.caller_arn().await?;
        read::me::self_identity(self.connection.iam().await, &arn).await
    }

    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        restore::protects(op, me)
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
