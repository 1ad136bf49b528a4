//! The contract between the iamsnap engine and its identity-provider connectors.
//!
//! A connector turns a provider's API into [`Record`]s and back. It has two halves:
//! - [`ReadProvider`], which every connector implements: [`ReadProvider::snapshot`] reads the
//!   full state and hands every record to a [`RecordSink`], [`ReadProvider::fetch`] reads one
//!   object again (verification after a restore), [`ReadProvider::healthcheck`] makes the
//!   first reads of a snapshot and nothing broader;
//! - [`WriteProvider`], for connectors that can restore: [`WriteProvider::apply`] creates,
//!   updates or deletes one record idempotently, and the connector says what it can never
//!   give back ([`WriteProvider::cannot_restore`]) or never set ([`WriteProvider::reachable`]),
//!   which identity it runs as ([`WriteProvider::self_identity`]) and which operations would
//!   weaken it ([`WriteProvider::protects`]).
//!
//! Both halves answer `iamsnap doctor` ([`doctor`]): [`ReadProvider::check_reads`] and
//! [`WriteProvider::check_writes`] have defaults built on the healthcheck.
//! A connector that can read its provider's audit log also implements [`AuditLog`] and returns
//! it from [`ReadProvider::audit_log`]: who made each change a diff shows.
//!
//! Secrets are [`Secret`]s: making one registers it with [`redact`], whose
//! [`scrub`](redact::scrub) removes it (and anything that looks like a credential) from any text.
//!
//! Each connector declares its kinds with [`KindInfo`]: the order they must be restored in, which
//! operations it supports and what it can never give back (passwords, MFA factors, secrets).
//! The engine holds a built connector as a [`Connector`] and never knows which provider it
//! talks to; a provider never knows about archives. Records of a snapshot carry the snapshot's
//! ids: [`to_live`] rewrites them through an [`IdMap`] for the live provider.

#![warn(missing_docs)]

pub mod audit;
pub mod canonical;
pub mod connect;
pub mod doctor;
pub mod error;
pub mod exclude;
pub mod ids;
pub mod kind;
pub mod read;
pub mod record;
pub mod redact;
pub mod secret;
pub mod write;

pub use audit::{Actor, ActorKind, AuditEvent, AuditLog, Destructive, Target, Window};
pub use connect::{ConnectOptions, Connector, Switch};
pub use doctor::Check;
pub use error::ProviderError;
pub use exclude::ExcludeKinds;
pub use ids::{IdMap, same_state, to_live};
pub use kind::{Capabilities, KindInfo, Parent};
pub use read::{ReadProvider, RecordSink, RequestStats, SnapshotStats};
pub use record::{Record, Ref};
pub use secret::Secret;
pub use write::{Action, Grant, Operation, Outcome, SelfIdentity, WriteProvider};
