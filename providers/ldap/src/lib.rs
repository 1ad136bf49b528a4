//! LDAP connector for iamsnap: backs up a directory's subtree — organizational units and other
//! containers, users, groups with every membership as a record of its own (nested groups
//! included), and any other entry verbatim — and restores it: parents before children, entries
//! added with their attributes and, on OpenLDAP, their `entryUUID`, renamed or moved back
//! with `modrdn`, changed back with minimal modifications, deleted leaf-first.
//!
//! ```no_run
//! # async fn run() -> Result<(), iamsnap_provider::ProviderError> {
//! use iamsnap_ldap::{LdapConfig, LdapProvider};
//! use iamsnap_provider::{ConnectOptions, ReadProvider};
//!
//! let cfg: LdapConfig = toml::from_str(r#"
//!     url = "ldap://127.0.0.1:389"
//!     bind_dn = "cn=admin,dc=example,dc=org"
//!     bind_password_env = "LDAP_PASSWORD"
//!     base_dn = "dc=example,dc=org"
//! "#).unwrap();
//! let provider =
//!     LdapProvider::new("corp", &cfg, std::path::Path::new("."), &ConnectOptions::default())?;
//! let (sink, mut records) = tokio::sync::mpsc::channel::<iamsnap_provider::Record>(1024);
//! let reader = tokio::spawn(async move { while let Some(r) = records.recv().await { println!("{}", r.key) } });
//! provider.snapshot(sink).await?;
//! # reader.await.unwrap();
//! # Ok(()) }
//! ```
//!
//! The server's flavor (OpenLDAP, Active Directory, any other LDAPv3 server) is read from its
//! root DSE unless configured. On Active Directory the domain's password and lockout
//! settings, computer accounts and fine-grained password policies are kinds of their own,
//! and a deleted object still in `CN=Deleted Objects` is reanimated (same `objectGUID` and
//! `objectSid`) rather than re-created.
//! See `docs/ldap.md` for the rights the bind account needs.

mod audit;
pub mod client;
pub mod config;
pub mod dn;
mod doctor;
pub mod flavor;
pub mod kinds;
mod read;
pub mod records;
mod restore;
pub mod schema;

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{
    ConnectOptions, IdMap, KindInfo, Operation, Outcome, ProviderError, ReadProvider, Record,
    RecordSink, RequestStats, SelfIdentity, WriteProvider,
};

pub use config::LdapConfig;
pub use flavor::Flavor;

use crate::client::Connection;
use crate::dn::Dn;

/// What every read and write works with: the configuration, the parsed DNs and the
/// connection.
pub(crate) struct Source {
    pub config: LdapConfig,
    pub base: Dn,
    pub include: Vec<Dn>,
    pub exclude: Vec<Dn>,
    pub connection: Connection,
    /// The flavor the root DSE gave, read once.
    pub detected: tokio::sync::OnceCell<Flavor>,
    /// What the server's schema says of attributes, read once.
    pub schema: tokio::sync::OnceCell<schema::Schema>,
    /// Active Directory: the ids of the deleted objects still in `CN=Deleted Objects`, read
    /// before each restore plan (`None` until then).
    pub tombstones: std::sync::RwLock<Option<restore::reanimate::Tombstones>>,
    /// Whether a re-created entry gets its `entryUUID` back (OpenLDAP with the Relax Rules
    /// control), read before each restore plan (`None` until then).
    pub ids_kept: std::sync::RwLock<Option<bool>>,
    /// Set once the server's refint overlay finished what was queued before the restore's
    /// first write (OpenLDAP).
    pub refint_settled: tokio::sync::OnceCell<()>,
    /// The groups this restore added holding themselves (lower-case DN), and whether they
    /// still do.
    pub placeholders: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

/// A connection to one directory's subtree.
pub struct LdapProvider {
    name: String,
    source: Source,
    concurrency: usize,
}

impl std::fmt::Debug for LdapProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapProvider")
            .field("source", &self.name)
            .field("url", &self.source.config.url)
            .field("base_dn", &self.source.config.base_dn)
            .finish_non_exhaustive()
    }
}

impl LdapProvider {
    /// A provider for source `source_name`; the bind password is read now (a `*_file` path
    /// relative to `base_dir`), nothing is sent until the first read.
    pub fn new(
        source_name: &str,
        config: &LdapConfig,
        base_dir: &Path,
        options: &ConnectOptions,
    ) -> Result<Self, ProviderError> {
        config.validate(source_name)?;
        let password = config.password(source_name, base_dir)?;
        let parse = |dn: &String| {
            Dn::parse(dn).ok_or_else(|| {
                ProviderError::Config(format!("sources.{source_name}: {dn:?} is not a DN"))
            })
        };
        Ok(LdapProvider {
            name: source_name.to_string(),
            source: Source {
                base: parse(&config.base_dn)?,
                include: config.include.iter().map(parse).collect::<Result<_, _>>()?,
                exclude: config.exclude.iter().map(parse).collect::<Result<_, _>>()?,
                connection: Connection::new(config, base_dir, password),
                config: config.clone(),
                detected: tokio::sync::OnceCell::new(),
                schema: tokio::sync::OnceCell::new(),
                tombstones: std::sync::RwLock::new(None),
                ids_kept: std::sync::RwLock::new(None),
                refint_settled: tokio::sync::OnceCell::new(),
                placeholders: std::sync::Mutex::new(std::collections::HashMap::new()),
            },
            concurrency: options.concurrency.unwrap_or_else(|| config.concurrency()),
        })
    }
}

#[async_trait]
impl ReadProvider for LdapProvider {
    fn provider_type(&self) -> &'static str {
        "ldap"
    }

    fn kinds(&self) -> &'static [KindInfo] {
        kinds::KINDS
    }

    async fn healthcheck(&self) -> Result<(), ProviderError> {
        read::healthcheck(&self.source).await
    }

    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError> {
        read::snapshot(&self.source, sink).await
    }

    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError> {
        read::fetch::fetch(&self.source, kind, key).await
    }

    fn stats(&self) -> RequestStats {
        self.source.connection.stats()
    }

    fn audit_log(&self) -> Option<&dyn iamsnap_provider::AuditLog> {
        Some(self)
    }
}

#[async_trait]
impl WriteProvider for LdapProvider {
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        restore::apply(&self.source, op, ids).await
    }

    /// An account whose password hash the backup does not hold needs a new password; an
    /// entry re-created where the server does not keep ids gets a new `entryUUID`; an Active
    /// Directory object that cannot be reanimated from `CN=Deleted Objects` comes back with a
    /// new SID.
    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        restore::cannot_restore(&self.source, record)
    }

    /// Active Directory: which deleted objects can still be reanimated; other servers:
    /// whether re-created entries keep their `entryUUID`.
    async fn before_plan(&self) -> Result<(), ProviderError> {
        restore::before_plan(&self.source).await
    }

    fn reachable(&self, desired: Record, live: &Record) -> Record {
        restore::reachable(desired, live)
    }

    /// The bind DN's entry when it is in the subtree, the entries above it and the groups
    /// that hold it.
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        read::me::self_identity(&self.source).await
    }

    /// Active Directory's effective rights and security descriptors; on other servers, whether
    /// they can be asked at all.
    async fn check_writes(&self) -> Vec<iamsnap_provider::doctor::Check> {
        doctor::check_writes(&self.source).await
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }
}
