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
//! applications (credential metadata only), service principals, app role assignments,
//! delegated permission grants, directory role assignments, administrative units and their
//! members, conditional access policies, named locations and the authentication methods
//! policy. Collections are read at `$top=999` with `$select` of the kept properties, following
//! `@odata.nextLink`; per-object lists go through `$batch`, 20 requests per batch; `429` and
//! `503` are retried after `Retry-After`, for whole requests and for single batch items.
//!
//! Restore brings soft-deleted users, groups, applications, service principals and
//! administrative units back from `directory/deletedItems` (original id kept) and creates only
//! what is gone for good. Conditional access policies are written in report-only state unless
//! [`ConnectOptions::restore_policy_state`] is on. The Graph application permissions needed
//! are listed in `docs/entra.md`.

pub mod config;
pub mod kinds;

mod client;
mod fetch;
mod records;
mod restore;
mod snapshot;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_http::{ClientCredentials, TokenSource, service_url};
use iamsnap_provider::{
    ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record,
    RecordSink, RequestStats, WriteProvider,
};

pub use config::EntraConfig;
pub use records::AUTHENTICATION_METHODS_POLICY_KEY;

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
        let concurrency = options.concurrency.or(config.concurrency).unwrap_or(4);
        if !(1..=20).contains(&concurrency) {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.concurrency: {concurrency} is outside 1..=20; Graph throttles an application that sends more requests at once"
            )));
        }
        let tenant = config.tenant_id.trim();
        let valid_tenant = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid_tenant {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.tenant_id: {tenant:?} is not a tenant id; write the directory (tenant) id GUID or a verified domain such as contoso.onmicrosoft.com"
            )));
        }
        if config.client_id.trim().is_empty() {
            return Err(ProviderError::Config(format!(
                "sources.{source_name}.client_id: empty; write the application (client) id of the app registration"
            )));
        }
        let login = service_url(
            source_name,
            "login_url",
            config
                .login_url
                .as_deref()
                .unwrap_or(config::DEFAULT_LOGIN_URL),
            config::DEFAULT_LOGIN_URL,
        )?;
        let graph = service_url(
            source_name,
            "graph_url",
            config
                .graph_url
                .as_deref()
                .unwrap_or(config::DEFAULT_GRAPH_URL),
            config::DEFAULT_GRAPH_URL,
        )?;
        let token_url = login
            .join(&format!("{tenant}/oauth2/v2.0/token"))
            .map_err(|e| ProviderError::Config(format!("sources.{source_name}.login_url: {e}")))?;
        let scope = format!("{}/.default", graph.as_str().trim_end_matches('/'));
        let tokens = TokenSource::new(ClientCredentials {
            token_url,
            client_id: config.client_id.trim().to_string(),
            client_secret: secret,
            scope,
            guidance: "check tenant_id, client_id and the client secret configured for this source, and that the secret has not expired".into(),
        })?;
        Ok(EntraProvider {
            source: source_name.to_string(),
            client_id: config.client_id.trim().to_string(),
            client: GraphClient::new(graph, tokens, concurrency)?,
            concurrency,
            restore_policy_state: options.restore_policy_state,
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
        let c = &self.client;
        c.sign_in().await?;
        c.get(&c.url("/users?$top=1&$select=id")).await?;
        c.get(&c.url("/groups?$top=1&$select=id")).await?;
        Ok(())
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        snapshot::Snapshot {
            client: &self.client,
            sink,
        }
        .run()
        .await
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        fetch::record(&self.client, kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.client.stats()
    }
}

#[async_trait]
impl WriteProvider for EntraProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::Restore {
            client: &self.client,
            ids,
            restore_policy_state: self.restore_policy_state,
        }
        .apply(op)
        .await
    }

    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(record, self.restore_policy_state)
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live, self.restore_policy_state)
    }

    /// The service principal iamsnap signs in as: restore never deletes it.
    async fn self_identity(&self) -> Result<Option<(String, String)>, ProviderError> {
        let url = self.client.url(&format!(
            "/servicePrincipals?$filter={}&$select=id,displayName",
            fetch::segment(&format!(
                "appId eq '{}'",
                self.client_id.replace('\'', "''")
            ))
        ));
        let (items, _) = self.client.page(&url).await?;
        Ok(items.first().and_then(|sp| {
            sp["displayName"]
                .as_str()
                .map(|name| (kinds::SERVICE_PRINCIPAL.to_string(), name.to_string()))
        }))
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
