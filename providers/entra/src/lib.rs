//! Microsoft Entra ID connector: backs up a tenant through Microsoft Graph v1.0 and restores it.
//!
//! ```text
//! [sources.entra-prod]
//! provider = "entra"
//! tenant_id = "00000000-0000-0000-0000-000000000000"
//! client_id = "11111111-1111-1111-1111-111111111111"
//! client_secret_env = "ENTRA_CLIENT_SECRET"   # or client_secret_file = "entra.secret"
//! concurrency = 4
//! ```
//!
//! Signs in with the OAuth2 client-credentials grant (the token is refreshed before it
//! expires). Kinds (see [`kinds`]): users and their managers, groups, group members and owners,
//! applications (credential metadata only) and their federated identity credentials,
//! service principals, owners of applications and service principals, app role assignments,
//! delegated permission grants, directory role assignments, custom role definitions, PIM
//! eligibilities, time-bound active assignments and the roles' PIM settings, administrative units and their members,
//! conditional access policies, named locations, authentication strengths, the authentication
//! methods policy, the authorization policy, terms of use agreements (not their PDF), the cross-tenant access policy (default settings and
//! partners), and claims-mapping and token-lifetime policies with the service principals they
//! are assigned to. Collections are read at `$top=999` with `$select` of the kept properties, following
//! `@odata.nextLink`; per-object lists go through `$batch`, 20 requests per batch; `429` and
//! `503` are retried after `Retry-After`, for whole requests and for single batch items.
//!
//! Restore brings soft-deleted users, groups, applications, service principals and
//! administrative units back from `directory/deletedItems` (original id kept) and creates only
//! what is gone for good. Conditional access policies are written in report-only state unless
//! [`ConnectOptions::restore_policy_state`] is on. The Graph application permissions needed
//! are listed in `docs/entra.md`; `iamsnap doctor` reads those granted from the access token's
//! `roles` claim and names each one missing.

pub mod config;
pub mod kinds;

mod audit;
mod ca;
mod client;
mod cross_tenant;
mod doctor;
mod read;
mod records;
mod restore;
mod role_settings;
mod roles;
mod sts;
mod terms;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::doctor::Check;
use iamsnap_provider::{
    Action, ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider,
    Record, RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::EntraConfig;
pub use records::{AUTHENTICATION_METHODS_POLICY_KEY, AUTHORIZATION_POLICY_KEY};

use client::GraphClient;

/// Connector to one Entra ID tenant.
#[derive(Debug)]
pub struct EntraProvider {
    source: String,
    client_id: String,
    client: GraphClient,
    concurrency: usize,
    /// Restored conditional access policies get the state they had in the snapshot (`enabled`
    /// included). Off by default: they are written in report-only state
    /// (`enabledForReportingButNotEnforced`), so that a restore can never lock everyone out.
    restore_policy_state: bool,
    /// Guest users deleted for good are invited again (no mail sent) where they would
    /// otherwise be left out with what needs them; off by default.
    invite_guests: bool,
    invite_redirect_url: String,
    /// The ids of the guest users the recycle bin holds, read before each restore plan: they
    /// come back from it, where a guest deleted for good cannot be re-created uninvited.
    recycled_guests: std::sync::RwLock<Option<std::collections::HashSet<String>>>,
}

impl EntraProvider {
    /// Builds the connector for `[sources.SOURCE_NAME]`; a relative `client_secret_file` is
    /// read from `base_dir`, the configuration file's folder.
    pub fn new(
        source_name: &str,
        config: &EntraConfig,
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
        // The command's concurrency stands in for the configured one, checked as if configured.
        let config = EntraConfig {
            concurrency: options.concurrency.or(config.concurrency),
            ..config.clone()
        };
        config.validate(source_name)?;
        Ok(EntraProvider {
            source: source_name.to_string(),
            client_id: config.client_id.trim().to_string(),
            client: GraphClient::new(source_name, &config, secret)?,
            concurrency: config.concurrency(),
            restore_policy_state: options.restore_policy_state,
            invite_guests: options.invite_guests,
            invite_redirect_url: config.invite_redirect_url().to_string(),
            recycled_guests: Default::default(),
        })
    }

    /// The configured source name.
    pub fn source(&self) -> &str {
        &self.source
    }
}

#[async_trait]
impl ReadProvider for EntraProvider {
    fn provider_type(&self) -> &'static str {
        "entra"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(&self.client).await
    }

    /// The application permissions in the access token's `roles` claim, against those a
    /// backup reads with; the token's and the client secrets' expiry.
    async fn check_reads(&self) -> Vec<Check> {
        doctor::check_reads(&self.client, &self.client_id).await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        read::Snapshot {
            client: &self.client,
            sink,
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
impl WriteProvider for EntraProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::Restore {
            client: &self.client,
            ids,
            restore_policy_state: self.restore_policy_state,
            invite_redirect_url: self
                .invite_guests
                .then_some(self.invite_redirect_url.as_str()),
        }
        .apply(op)
        .await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record, self.restore_policy_state, self.invite_guests)
    }

    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        if action != Action::Delete
            && matches!(
                record.kind.as_str(),
                kinds::ROLE_ELIGIBILITY | kinds::ROLE_ASSIGNMENT_SCHEDULE
            )
        {
            return restore::expired(record);
        }
        if action == Action::Create && record.kind == kinds::TERMS_OF_USE {
            return Some(kinds::TERMS_FILE.to_string());
        }
        if self.invite_guests || action != Action::Create || !restore::is_guest(record) {
            return None;
        }
        let recycled = self
            .recycled_guests
            .read()
            .unwrap_or_else(|e| e.into_inner());
        // Not read (no plan was made): the recycle bin is tried first when applying anyway.
        let in_bin = recycled.as_ref().is_none_or(|ids| ids.contains(&record.id));
        (!in_bin).then(|| restore::GUEST_GONE.to_string())
    }

    /// The guest users in the recycle bin, unless guests are invited again anyway.
    async fn before_plan(&self) -> Result<(), ProviderError> {
        if self.invite_guests {
            return Ok(());
        }
        let ids = read::fetch::recycled_guests(&self.client).await?;
        *self
            .recycled_guests
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(ids);
        Ok(())
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live, self.restore_policy_state)
    }

    /// The service principal iamsnap signs in as (the one of the configured application), its
    /// application, its application permissions and directory roles, and the groups through
    /// which it holds roles.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        read::me::self_identity(&self.client, &self.client_id).await
    }

    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        restore::protects(op, me)
    }

    /// The application permissions in the access token's `roles` claim, against those a
    /// restore of this connector's kinds writes with.
    async fn check_writes(&self) -> Vec<Check> {
        doctor::check_writes(&self.client, kinds::KINDS, self.invite_guests).await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
