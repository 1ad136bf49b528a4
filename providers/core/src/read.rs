//! The reading half of a connector: [`ReadProvider`].

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::doctor::{self, Check};
use crate::{AuditLog, KindInfo, ProviderError, Record};

/// Where a connector sends the records of a snapshot. Bounded: a slow archive writer slows the
/// reads instead of piling records up in memory.
pub type RecordSink = tokio::sync::mpsc::Sender<Record>;

/// Requests and throttles counted by a connector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    /// Requests sent, retries included.
    pub requests: u64,
    /// Answers that said "too many requests" (HTTP 429, AWS throttling errors).
    pub throttled: u64,
    /// Requests sent again after a failure or a throttle.
    pub retries: u64,
}

/// Summary of one snapshot run, filled by the engine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotStats {
    /// Records per kind.
    pub counts: BTreeMap<String, u64>,
    /// What reading them cost.
    pub requests: RequestStats,
}

/// What every connector does: read an identity system. Backups, `diff … live`, restore plans
/// and the verification after a restore need nothing more.
#[async_trait]
pub trait ReadProvider: Send + Sync {
    /// The provider type as written in configuration (`okta`, `aws-iam`).
    fn provider_type(&self) -> &'static str;

    /// Every kind this connector reads, with its restore metadata.
    fn kinds(&self) -> &'static [KindInfo];

    /// The kinds [`snapshot`](Self::snapshot) reads: all of [`kinds`](Self::kinds) unless the
    /// source leaves some out (`exclude_kinds`, see [`crate::ExcludeKinds`]). A snapshot
    /// records them, so that a kind it did not read is never taken for one with no objects.
    fn kinds_read(&self) -> BTreeSet<String> {
        self.kinds().iter().map(|k| k.name.to_string()).collect()
    }

    /// Makes exactly the reads `snapshot` starts with, nothing broader.
    async fn healthcheck(&self) -> Result<(), ProviderError>;

    /// What `iamsnap doctor` reports of this source for a backup: reachable, credentials
    /// (with their expiry where the provider tells it), and that every read the backup needs is
    /// permitted, a refused one named in the provider's words. Makes reads only. The default
    /// makes the reads of [`ReadProvider::healthcheck`] ([`doctor::from_healthcheck`]).
    async fn check_reads(&self) -> Vec<Check> {
        doctor::from_healthcheck(self.healthcheck().await, "the first reads a backup makes")
    }

    /// Reads the full state and sends every record to `sink`. A closed sink means the engine
    /// gave up: stop and return [`ProviderError::Cancelled`].
    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError>;

    /// Reads one object again by natural key, for verification after a restore. Equal to the
    /// record `snapshot` would give for it now.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError>;

    /// Requests made so far.
    fn stats(&self) -> RequestStats;

    /// The provider's audit log, when this connector can read it: who made each change.
    fn audit_log(&self) -> Option<&dyn AuditLog> {
        None
    }
}
