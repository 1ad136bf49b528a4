//! Who changed what: a connector's optional reading of its provider's audit log, [`AuditLog`].
//!
//! A connector that can read the log returns it from [`crate::ReadProvider::audit_log`]; the
//! engine asks for the events of a time window (optionally only those naming some objects) and
//! matches them to the objects a diff found changed. Events keep the provider's own words for
//! the operation (`group.user_membership.remove`, `Delete user`); the connector adds the
//! [`Destructive`] category the `incidents` report groups by.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ProviderError;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// A person or a program.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The provider's id of the actor (a user id, an application id, an ARN).
    pub id: String,
    /// What people call it: a login, a display name, an application's name.
    pub name: String,
}

/// Whether an actor is a person or a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A user account (possibly through a token it issued).
    User,
    /// An application, service principal or role session.
    App,
    /// The log does not say.
    Unknown,
}

/// An object an event touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The provider's id of the object, as records carry it.
    pub id: String,
    /// The provider's word for its type (`User`, `UserGroup`, `Group`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A login or display name, when the log has one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The record it is, as `KIND:KEY` (the selector `restore --only` takes), when the log
    /// names the object otherwise than by the id its record carries: CloudTrail names an IAM
    /// user by its name, the record carries its unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl Target {
    /// An object named by the id its record carries, with the provider's word for its type.
    pub fn by_id(id: &str, kind: &str) -> Self {
        Target {
            id: id.to_string(),
            kind: kind.to_string(),
            name: String::new(),
            record: None,
        }
    }

    /// An object the log names by its record's key (`record_kind:key`) rather than by its id.
    pub fn of_record(record_kind: &str, key: &str, kind: &str) -> Self {
        Target {
            id: key.to_string(),
            kind: kind.to_string(),
            name: key.to_string(),
            record: Some(format!("{record_kind}:{key}")),
        }
    }
}

/// What an event did, for the `incidents` report: the destructive operations an operator
/// would want undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destructive {
    /// An object or a relationship (membership, assignment) was deleted.
    Deletion,
    /// A policy was changed or deleted.
    PolicyChange,
    /// A role or privilege was granted.
    RoleGrant,
    /// A user's MFA factors or authentication methods were reset or removed.
    MfaReset,
}

impl Destructive {
    /// The category in a few words, as reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Destructive::Deletion => "deletion",
            Destructive::PolicyChange => "policy change",
            Destructive::RoleGrant => "role grant",
            Destructive::MfaReset => "MFA reset",
        }
    }
}

/// One entry of a provider's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// The provider's name of the operation (`user.lifecycle.delete.initiated`, `Delete user`,
    /// `DeleteRole`).
    pub operation: String,
    /// The objects it touched.
    pub targets: Vec<Target>,
    /// The client's IP address, when the log has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// `success`, `failure`, or the provider's own word.
    pub outcome: String,
    /// Set by the connector when the operation is one the `incidents` report lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive: Option<Destructive>,
}

/// The span of time a query covers: `since` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first instant.
    pub since: DateTime<Utc>,
    /// The end, excluded.
    pub until: DateTime<Utc>,
}

/// A connector's reading of its provider's audit log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// The permission that reading the log needs, as the provider names it (`okta.logs.read`,
    /// `AuditLog.Read.All`, `cloudtrail:LookupEvents`): said when the provider refuses.
    fn permission(&self) -> &'static str;

    /// How far back the provider keeps its log, when it says (CloudTrail: 90 days).
    fn retention(&self) -> Option<chrono::Duration> {
        None
    }

    /// Every event of `window`, oldest first. With `targets` non-empty, the provider may be
    /// asked for only the events naming one of them (events naming none may still come back).
    async fn events(
        &self,
        window: Window,
        targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError>;
}
