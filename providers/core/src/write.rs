//! The writing half of a connector: [`WriteProvider`], and the operations a restore sends it.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{IdMap, ProviderError, ReadProvider, Record};

/// What a restore operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Bring back an object the live provider lacks.
    Create,
    /// Change a live object back to its snapshot state.
    Update,
    /// Remove a live object the snapshot lacks (authoritative restores only).
    Delete,
}

/// One step of a restore: bring one record of the live provider to the snapshot's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Create, update or delete.
    pub action: Action,
    /// The record's kind.
    pub kind: String,
    /// The record's natural key.
    pub key: String,
    /// The state to reach, from the snapshot (create and update). Its ids are the snapshot's:
    /// resolve them with the [`IdMap`].
    pub desired: Option<Record>,
    /// The live state, with live ids (update and delete).
    pub current: Option<Record>,
}

/// What [`WriteProvider::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made; `id` is the live id of the object now.
    Applied {
        /// The object's live id.
        id: String,
    },
    /// The live state already matched (an operation re-run after a crash).
    AlreadyDone {
        /// The object's live id.
        id: String,
    },
    /// Nothing was done, for the reason given.
    Skipped {
        /// Why, in the operator's words.
        reason: String,
    },
}

/// What a connector that can restore adds to reading: writes, and what it knows about the
/// limits of its writes. A connector that cannot write yet implements only [`ReadProvider`],
/// and the engine refuses to restore into it.
#[async_trait]
pub trait WriteProvider: ReadProvider {
    /// Performs one restore operation. Re-running an operation that already took effect never
    /// does it twice: it returns [`Outcome::AlreadyDone`], or [`Outcome::Applied`] where the
    /// provider's own write is idempotent (adding a member who is one already).
    async fn apply(&self, op: &Operation, ids: &dyn IdMap) -> Result<Outcome, ProviderError>;

    /// What restoring `record` cannot give back (a password, MFA factors, a secret), with
    /// what the operator has to do about it. Empty when the record restores completely.
    fn cannot_restore(&self, record: &Record) -> Vec<String> {
        self.kinds()
            .iter()
            .find(|k| k.name == record.kind)
            .map(|k| k.cannot_restore.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    }

    /// Why restore can never perform `action` on `record`, when the record alone tells: an
    /// object only the provider itself makes (a group an app imports, a default policy), or
    /// one that can be brought back only from elsewhere (a catalog app). The plan lists such
    /// an operation as skipped, with this reason, instead of running it and failing, so that a
    /// restore that did all it could leaves nothing more to plan. `record` is the snapshot's
    /// for creates and updates, the live one for deletes.
    fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        let _ = (action, record);
        None
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
}
