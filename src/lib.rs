//! iamsnap keeps an organisation's identities recoverable.
//!
//! The engine reads every object of an identity provider through a connector
//! ([`iamsnap_provider::Provider`]), writes it as canonical records into an age-encrypted,
//! minisign-signed, zstd-compressed tar archive ([`archive`]), and stores the archive in a
//! [`repo::Repository`] (a local folder or S3). Snapshots are compared by merge-join ([`diff`])
//! and replayed onto a provider as an ordered, journalled plan ([`restore`]).
//!
//! `src/main.rs` only parses arguments; each command lives in [`commands`].

pub mod archive;
pub mod commands;
pub mod config;
pub mod diff;
pub mod error;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod repo;
pub mod restore;
pub mod retention;
pub mod sources;
