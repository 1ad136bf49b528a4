//! The [`Provider`] trait every connector implements.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{KindInfo, ProviderError, Record};

/// Where a connector sends the records of a snapshot. Bounded: a slow archive writer slows the
/// reads instead of piling records up in memory.
pub type RecordSink = tokio::sync::mpsc::Sender<Record>;

/// What a restore operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One step of a restore: bring one record of the live provider to the snapshot's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub action: Action,
    pub kind: String,
    pub key: String,
    /// The state to reach, from the snapshot (create and update). Its ids are the snapshot's:
    /// resolve them with the [`IdMap`].
    pub desired: Option<Record>,
    /// The live state, with live ids (update and delete).
    pub current: Option<Record>,
}

/// Maps ids of the snapshot to ids of the live provider, for objects that were re-created or
/// that exist under another id in a target tenant.
pub trait IdMap: Send + Sync {
    /// The live id of the object that had `snapshot_id` in the snapshot, if it exists live.
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String>;
}

impl IdMap for BTreeMap<(String, String), String> {
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String> {
        self.get(&(kind.to_string(), snapshot_id.to_string()))
            .cloned()
    }
}

/// What [`Provider::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made; `id` is the live id of the object now.
    Applied { id: String },
    /// The live state already matched (an operation re-run after a crash).
    AlreadyDone { id: String },
    /// Nothing was done, for the reason given.
    Skipped { reason: String },
}

/// Requests and throttles counted by a connector's HTTP kit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    pub requests: u64,
    pub throttled: u64,
    pub retries: u64,
}

/// Summary of one snapshot run, filled by the engine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SnapshotStats {
    pub counts: BTreeMap<String, u64>,
    pub requests: RequestStats,
}

/// An identity-provider connector.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider type as written in configuration (`okta`, `aws-iam`).
    fn provider_type(&self) -> &'static str;

    /// Every kind this connector reads, with its restore metadata.
    fn kinds(&self) -> &'static [KindInfo];

    /// Makes exactly the reads `snapshot` starts with, nothing broader.
    async fn healthcheck(&self) -> Result<(), ProviderError>;

    /// Reads the full state and sends every record to `sink`.
    async fn snapshot(&self, sink: RecordSink) -> Result<(), ProviderError>;

    /// Reads one object again by natural key, for verification after a restore.
    async fn fetch(&self, kind: &str, key: &str) -> Result<Option<Record>, ProviderError>;

    /// Performs one restore operation. Re-running an operation that already took effect never
    /// does it twice: it returns [`Outcome::AlreadyDone`], or [`Outcome::Applied`] where the
    /// provider's own write is idempotent (adding a member who is one already).
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError> {
        let _ = ids;
        Err(ProviderError::Unsupported {
            kind: op.kind.clone(),
            key: op.key.clone(),
            action: format!("{:?}", op.action).to_lowercase(),
            reason: format!("the {} connector cannot write yet", self.provider_type()),
        })
    }

    /// What restoring `record` cannot give back (a password, MFA factors, a secret), with
    /// what the operator has to do about it. Empty when the record restores completely.
    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        self.kinds()
            .iter()
            .find(|k| k.name == record.kind)
            .map(|k| k.cannot_restore.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }

    /// The closest state to `desired` that restore can bring the live object `live` to.
    ///
    /// Some fields can never be set through the provider's API, such as the ACTIVE status of a
    /// re-created Okta user who has no credentials. Returning `desired` with those fields taken
    /// from `live` keeps a restore from planning an update that can never take effect, so a
    /// second restore plans nothing. Both records carry live ids.
    fn reachable(&self, desired: Record, live: &Record) -> Record {
        let _ = live;
        desired
    }

    /// The (kind, key) of the identity the connector runs as: restore never deletes it.
    async fn self_identity(&self) -> Result<Option<(String, String)>, ProviderError> {
        Ok(None)
    }

    /// Operations of one kind a restore runs at once (the source's `concurrency`): each kind
    /// has its own budget, so a kind held back by its rate limit does not stall the others.
    fn concurrency(&self) -> usize {
        8
    }

    /// Requests made so far.
    fn stats(&self) -> RequestStats;
}
