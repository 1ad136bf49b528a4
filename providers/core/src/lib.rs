//! The contract between the iamsnap engine and its identity-provider connectors.
//!
//! A connector turns a provider's API into [`Record`]s and back:
//! - [`Provider::snapshot`] reads the full state and hands every record to a [`RecordSink`];
//! - [`Provider::fetch`] reads one object again (verification after a restore);
//! - [`Provider::apply`] creates, updates or deletes one record, idempotently.
//!
//! Each connector declares its kinds with [`KindInfo`]: the order they must be restored in, which
//! operations it supports and what it can never give back (passwords, MFA factors, secrets).
//! The engine never knows which provider it talks to; a provider never knows about archives.
//!
//! The HTTP kit that the connectors to SaaS providers share lives in its own crate,
//! `iamsnap-http`, so that this contract pulls in no HTTP client.

pub mod canonical;
pub mod error;
pub mod kind;
pub mod provider;
pub mod record;
pub mod secret;

pub use error::ProviderError;
pub use kind::{Capabilities, KindInfo};
pub use provider::{
    Action, IdMap, Operation, Outcome, Provider, RecordSink, RequestStats, SnapshotStats,
};
pub use record::{Record, Ref};
pub use secret::Secret;
