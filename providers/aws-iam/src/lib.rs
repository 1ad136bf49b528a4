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

pub mod client;
pub mod config;
pub mod kinds;
mod restore;
mod snapshot;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use iamsnap_provider::{
    ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record,
    RecordSink, RequestStats, WriteProvider,
};
use tokio::sync::OnceCell;

pub use config::AwsIamConfig;

use crate::client::{Base, Counter};
use crate::snapshot::Scope;

/// A connection to one AWS account's IAM.
pub struct AwsIamProvider {
    source: String,
    config: AwsIamConfig,
    concurrency: usize,
    base: std::sync::Mutex<Option<Base>>,
    client: OnceCell<(aws_sdk_iam::Client, aws_config::SdkConfig)>,
    counter: Arc<Counter>,
    caller: OnceCell<restore::Caller>,
    restore: restore::State,
    fetched: tokio::sync::Mutex<FetchCache>,
}

/// Records of one kind read by `fetch`, so that verifying many objects after a restore reads
/// each kind's family once instead of once per object. Dropped by every `apply` and after
/// [`FETCH_CACHE_TTL`].
#[derive(Debug, Default)]
struct FetchCache {
    by_kind: std::collections::HashMap<String, (std::time::Instant, Vec<Record>)>,
}

/// How long a `fetch` read is reused.
const FETCH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

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
        config
            .validate()
            .map_err(|e| ProviderError::Config(format!("sources.{source_name}: {e}")))?;
        let concurrency = options
            .concurrency
            .unwrap_or_else(|| config.concurrency().unwrap_or(config::DEFAULT_CONCURRENCY));
        Ok(AwsIamProvider {
            source: source_name.to_string(),
            config: config.clone(),
            concurrency,
            base: std::sync::Mutex::new(Some(base)),
            client: OnceCell::new(),
            counter: Arc::new(Counter::default()),
            caller: OnceCell::new(),
            restore: restore::State::default(),
            fetched: tokio::sync::Mutex::new(FetchCache::default()),
        })
    }

    /// The IAM client, built on first use.
    async fn client(&self) -> &aws_sdk_iam::Client {
        &self.connection().await.0
    }

    /// The IAM client and the SDK configuration it was built from, built on first use.
    async fn connection(&self) -> &(aws_sdk_iam::Client, aws_config::SdkConfig) {
        self.client
            .get_or_init(|| async {
                let base = self
                    .base
                    .lock()
                    .expect("the base configuration lock is never poisoned")
                    .take()
                    .unwrap_or(Base::Chain);
                client::build(&self.config, base, self.counter.clone()).await
            })
            .await
    }

    /// The ARN the credentials act as (`sts:GetCallerIdentity`).
    async fn caller_arn(&self) -> Result<String, ProviderError> {
        let sts = aws_sdk_sts::Client::new(&self.connection().await.1);
        let out = sts.get_caller_identity().send().await.map_err(|e| {
            client::ApiError::from_sdk("GetCallerIdentity", e)
                .context("the credentials of this source")
        })?;
        out.arn()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::Decode {
                url: "sts:GetCallerIdentity".into(),
                message: "the answer has no Arn".into(),
            })
    }

    async fn read(&self, scope: Scope) -> Result<Vec<Record>, ProviderError> {
        let client = self.client().await;
        let account = snapshot::read(client, scope, self.concurrency).await?;
        snapshot::records(&account)
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

    /// The first read a snapshot makes: one page of `GetAccountAuthorizationDetails`.
    async fn healthcheck(&self) -> Result<(), ProviderError> {
        use crate::client::Api;
        let client = self.client().await;
        client
            .get_account_authorization_details()
            .max_items(1)
            .send()
            .await
            .api("GetAccountAuthorizationDetails")
            .map(|_| ())
            .map_err(|e| e.context(&format!("healthcheck of source {}", self.source)))
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        for record in self.read(Scope::ALL).await? {
            sink.send(record)
                .await
                .map_err(|_| ProviderError::Cancelled)?;
        }
        Ok(())
    }

    /// Reads the parts of the account that records of `kind` come from and picks `key`. IAM
    /// has no single read that gives a whole record with its refs, so the family is read (with
    /// the same calls as a snapshot) and reused for further fetches of the kind until the next
    /// `apply` or for a minute.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        let scope = Scope::for_kind(kind).ok_or_else(|| ProviderError::Unsupported {
            kind: kind.to_string(),
            key: key.to_string(),
            action: "fetch".into(),
            reason: "not a kind of the aws-iam connector".into(),
        })?;
        let mut cache = self.fetched.lock().await;
        let fresh = cache
            .by_kind
            .get(kind)
            .is_some_and(|(at, _)| at.elapsed() < FETCH_CACHE_TTL);
        if !fresh {
            let records = self
                .read(scope)
                .await?
                .into_iter()
                .filter(|r| r.kind == kind)
                .collect();
            cache
                .by_kind
                .insert(kind.to_string(), (std::time::Instant::now(), records));
        }
        Ok(cache.by_kind[kind].1.iter().find(|r| r.key == key).cloned())
    }

    fn stats(&self) -> RequestStats {
        self.counter.stats()
    }
}

#[async_trait]
impl WriteProvider for AwsIamProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        self.fetched.lock().await.by_kind.clear();
        let client = self.client().await;
        let caller = self
            .caller
            .get_or_try_init(|| async {
                let arn = self.caller_arn().await?;
                restore::Caller::from_arn(&arn).ok_or_else(|| ProviderError::Decode {
                    url: "sts:GetCallerIdentity".into(),
                    message: format!("cannot read account and partition from {arn}"),
                })
            })
            .await?;
        let ctx = restore::Ctx {
            client,
            state: &self.restore,
            caller,
            ids,
        };
        restore::apply(&ctx, op).await
    }

    /// Per user, what a re-created user does not get back: only what the user had.
    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record)
    }

    /// A user's console password, access keys and MFA devices are credentials IAM never lets
    /// anyone set back: they are taken from `live`, so a restore does not plan them forever.
    fn reachable(&self, mut desired: Record, live: &Record) -> Record {
        if desired.kind == kinds::USER {
            for field in ["console_password", "access_keys", "mfa_devices"] {
                desired.attrs[field] = live.attrs[field].clone();
            }
        }
        desired
    }

    /// The user or role the credentials belong to (`sts:GetCallerIdentity`).
    async fn self_identity(&self) -> Result<Option<(String, String)>, ProviderError> {
        Ok(identity_of_arn(&self.caller_arn().await?))
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}

/// `arn:aws:iam::1:user/path/ada` → user `ada`; `arn:aws:sts::1:assumed-role/Admin/session` →
/// role `Admin`; the account root has no record.
fn identity_of_arn(arn: &str) -> Option<(String, String)> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match parts.next()? {
        "user" => Some((kinds::USER.into(), resource.rsplit('/').next()?.into())),
        "assumed-role" => Some((kinds::ROLE.into(), parts.next()?.into())),
        "role" => Some((kinds::ROLE.into(), resource.rsplit('/').next()?.into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_arns_name_the_record_restore_must_keep() {
        assert_eq!(
            identity_of_arn("arn:aws:iam::123456789012:user/ops/ada"),
            Some((kinds::USER.into(), "ada".into()))
        );
        assert_eq!(
            identity_of_arn("arn:aws:sts::123456789012:assumed-role/iamsnap-restore/iamsnap"),
            Some((kinds::ROLE.into(), "iamsnap-restore".into()))
        );
        assert_eq!(identity_of_arn("arn:aws:iam::123456789012:root"), None);
    }
}
