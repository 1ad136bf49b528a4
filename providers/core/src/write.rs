//! The writing half of a connector: [`WriteProvider`], and the operations a restore sends it.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::doctor::Check;
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

/// The identity a connector runs as (an Okta user, an Entra service principal, an IAM user or
/// role) and the records that give it its rights. A restore never weakens either: see
/// [`WriteProvider::protects`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfIdentity {
    /// The identity's record kind.
    pub kind: String,
    /// The identity's natural key, as it is live.
    pub key: String,
    /// The records that give it its rights.
    pub grants: Vec<Grant>,
}

/// A record that gives the identity a connector runs as some of its rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The record's kind.
    pub kind: String,
    /// The record's natural key, as it is live.
    pub key: String,
    /// What it gives, in the operator's words: `assigns SUPER_ADMIN to admin@example.com`.
    pub gives: String,
}

impl SelfIdentity {
    /// The identity of `kind` and `key`, with no grants yet.
    pub fn new(kind: impl Into<String>, key: impl Into<String>) -> Self {
        SelfIdentity {
            kind: kind.into(),
            key: key.into(),
            grants: Vec::new(),
        }
    }

    /// Adds the record `kind`/`key`, which `gives` some of the identity's rights.
    pub fn grant(
        &mut self,
        kind: impl Into<String>,
        key: impl Into<String>,
        gives: impl Into<String>,
    ) {
        let (kind, key) = (kind.into(), key.into());
        if !self.grants.iter().any(|g| g.kind == kind && g.key == key) {
            self.grants.push(Grant {
                kind,
                key,
                gives: gives.into(),
            });
        }
    }

    /// Whether `op` works on the identity's own record.
    pub fn is_identity(&self, op: &Operation) -> bool {
        works_on(op, &self.kind, &self.key)
    }

    /// The grant `op` works on, if it works on one.
    pub fn grant_of(&self, op: &Operation) -> Option<&Grant> {
        self.grants.iter().find(|g| works_on(op, &g.kind, &g.key))
    }

    /// Refuses every delete and every update of the identity and of its grants; creates
    /// never weaken it.
    pub fn guard(&self, op: &Operation) -> Option<String> {
        if op.action == Action::Create {
            return None;
        }
        let verb = if op.action == Action::Delete {
            "deletes"
        } else {
            "changes"
        };
        if self.is_identity(op) {
            return Some(format!(
                "{self} is the identity iamsnap runs as: a restore never {verb} it"
            ));
        }
        self.grant_of(op).map(|g| {
            format!(
                "it {}: a restore never {verb} what gives {self}, the identity iamsnap runs as, its rights",
                g.gives
            )
        })
    }
}

impl fmt::Display for SelfIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.key)
    }
}

/// Whether `op` works on the live record `kind`/`key`: by the plan's key, or, for an update
/// that renames, by the live record's.
fn works_on(op: &Operation, kind: &str, key: &str) -> bool {
    op.kind == kind && (op.key == key || op.current.as_ref().is_some_and(|c| c.key == key))
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

    /// Reads, once before each restore plan, what [`WriteProvider::refuses`] needs to know of
    /// the live provider that the records do not tell: which deleted objects a recycle bin
    /// still holds (they come back without being re-created, where others cannot come back at
    /// all). The default reads nothing.
    async fn before_plan(&self) -> Result<(), ProviderError> {
        Ok(())
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

    /// The identity the connector runs as and the records that give it its rights, read live
    /// before every restore plan (in every mode): the plan never weakens them (see
    /// [`WriteProvider::protects`]). `None` when the credentials belong to no record (an
    /// account's root).
    async fn self_identity(&self) -> Result<Option<SelfIdentity>, ProviderError> {
        Ok(None)
    }

    /// Why `op` must not run because it would weaken `me`, the identity the connector runs
    /// as: delete, deactivate, suspend or demote it, take away a role or a membership or
    /// attachment that gives it one, or touch its credentials. The restore plan leaves such an
    /// operation out with this reason, and tells the operator to make the change by hand.
    ///
    /// The default ([`SelfIdentity::guard`]) refuses every delete and every update of the
    /// identity and of its grants. A connector that can tell which changes are harmless (a
    /// new display name) lets those through.
    fn protects(&self, op: &Operation, me: &SelfIdentity) -> Option<String> {
        me.guard(op)
    }

    /// What `iamsnap doctor --restore` reports: whether the writes a restore needs are
    /// permitted, asked of the provider without changing anything (a token's granted scopes or
    /// roles, a policy simulation), each missing one named in the provider's words. The
    /// default says it cannot be checked without writing.
    async fn check_writes(&self) -> Vec<Check> {
        vec![Check::cannot_check_writes(self.provider_type())]
    }

    /// Operations of one kind a restore runs at once (the source's `concurrency`): each kind
    /// has its own budget, so a kind held back by its rate limit does not stall the others.
    fn concurrency(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn op(action: Action, kind: &str, key: &str, live_key: Option<&str>) -> Operation {
        let record = |key: &str| Record::new(kind, "id1", key, json!({}), vec![]);
        Operation {
            action,
            kind: kind.into(),
            key: key.into(),
            desired: (action != Action::Delete).then(|| record(key)),
            current: live_key.map(record),
        }
    }

    #[test]
    fn the_guard_refuses_deletes_and_updates_of_the_identity_and_its_grants() {
        let mut me = SelfIdentity::new("t.user", "admin");
        me.grant("t.role", "admin|SUPER", "assigns SUPER to t.user admin");
        let reason = |o: &Operation| me.guard(o);
        assert!(
            reason(&op(Action::Delete, "t.user", "admin", Some("admin")))
                .unwrap()
                .contains("never deletes it")
        );
        // A rename is found by the live key.
        assert!(
            reason(&op(Action::Update, "t.user", "root", Some("admin")))
                .unwrap()
                .contains("t.user admin is the identity iamsnap runs as")
        );
        let grant = reason(&op(
            Action::Delete,
            "t.role",
            "admin|SUPER",
            Some("admin|SUPER"),
        ));
        assert!(
            grant
                .unwrap()
                .starts_with("it assigns SUPER to t.user admin")
        );
        assert_eq!(reason(&op(Action::Create, "t.user", "admin", None)), None);
        assert_eq!(
            reason(&op(Action::Delete, "t.user", "ada", Some("ada"))),
            None
        );
        assert_eq!(
            reason(&op(Action::Delete, "t.group", "admin", Some("admin"))),
            None
        );
    }
}
