//! Okta connector: backs up an Okta org through the Management API and restores it.
//!
//! ```text
//! [sources.okta-prod]
//! provider = "okta"
//! org_url = "https://acme.okta.com"
//! token_env = "OKTA_API_TOKEN"     # or token_file = "okta.token" (relative to the config file)
//! concurrency = 8                  # requests in flight per endpoint (4 endpoints' worth in all)
//! ```
//!
//! Kinds (see [`kinds`]): users, groups, memberships, group rules, apps and their user and
//! group assignments, policies of every type and their rules, network zones, admin role
//! assignments, user types and the user schema, and custom authorization servers with their
//! scopes, claims, access policies and rules, trusted origins, identity providers with
//! their signing certificates, authenticators, behavior detection rules, group owners, the
//! group and app user schemas and profile mappings, custom admin roles with their resource sets
//! and bindings, event hooks, inline hooks and log streams (without their secrets), and brands
//! with their theme, email template settings and customizations.
//! Every list is read at its endpoint's largest page size, independent lists concurrently,
//! and streamed to the engine page by page.
//!
//! The token needs read access for backups (a read-only admin token is enough) and super-admin
//! rights for restores.
//!
//! Who made each change is read from the System Log (`/api/v1/logs`), which needs
//! `okta.logs.read`.
//!
//! [`config`] holds and checks the source's configuration; `client` speaks the Management API;
//! `read` takes the snapshot and reads single objects back; `records` turns API objects into
//! records; `restore` writes records back, one file per family of kinds.

pub mod config;
pub mod kinds;

mod audit;
mod client;
mod doctor;
mod read;
mod records;
mod restore;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{
    Action, Check, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError,
    ReadProvider, Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::OktaConfig;

use client::OktaClient;

/// Connector to one Okta org.
#[derive(Debug)]
pub struct OktaProvider {
    source: String,
    client: OktaClient,
    concurrency: usize,
    /// Restored users whose snapshot status was active are activated with Okta's activation
    /// email (`sendEmail=true`); otherwise restore never sends any email.
    activate_users: bool,
}

impl OktaProvider {
    /// Builds the connector for `[sources.SOURCE_NAME]`; a relative `token_file` is read from
    /// `base_dir`, the configuration file's folder.
    pub fn new(
        source_name: &str,
        config: &OktaConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        let token_file = config.token_file.as_ref().map(|f| base_dir.join(f));
        let what = format!("sources.{source_name}.token_env");
        let token = iamsnap_provider::secret::resolve(
            config.token_env.as_deref(),
            token_file.as_deref(),
            &what,
        )?;
        // A concurrency given by the command stands in for the configured one, checked alike.
        let config = OktaConfig {
            concurrency: options.concurrency.or(config.concurrency),
            ..config.clone()
        };
        config.validate(source_name)?;
        let concurrency = config.concurrency();
        Ok(OktaProvider {
            source: source_name.to_string(),
            client: OktaClient::new(config.org(source_name)?, token, concurrency)?,
            concurrency,
            activate_users: options.activate_users,
        })
    }

    /// The configured source name.
    pub fn source(&self) -> &str {
        &self.source
    }
}

#[async_trait]
impl ReadProvider for OktaProvider {
    fn provider_type(&self) -> &'static str {
        "okta"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(&self.client).await
    }

    async fn check_reads(&self) -> Vec<Check> {
        doctor::check_reads(&self.client).await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        read::Snapshot {
            client: &self.client,
            sink,
            fan_out: self.concurrency,
            iam_index: Default::default(),
        }
        .run()
        .await
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        read::fetch::record(&self.client, kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.client.stats()
    }

    fn audit_log(&self) -> Option<&dyn iamsnap_provider::AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl WriteProvider for OktaProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::Restore {
            client: &self.client,
            ids,
            activate_users: self.activate_users,
        }
        .apply(op)
        .await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record)
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        restore::refuses(action, record)
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live, self.activate_users)
    }

    /// The user the token acts as, its admin role assignments, and the groups (and its
    /// memberships of them) through which it holds more.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        read::me::self_identity(&self.client).await
    }

    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        restore::protects(op, me, self.activate_users)
    }

    async fn check_writes(&self) -> Vec<Check> {
        doctor::check_writes(&self.client, kinds::KINDS).await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
