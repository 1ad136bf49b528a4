//! The iamsnap engine: everything between a connector and the repository.
//!
//! - [`backup::run`] reads a connector ([`iamsnap_provider::ReadProvider`]) into a sorted spool
//!   ([`live`]) and writes it as canonical records into an age-encrypted, minisign-signed,
//!   zstd-compressed tar archive ([`archive`]), published in a [`repo::Repository`] (a local
//!   folder or S3).
//! - [`open::OpenOptions::open`] reads a snapshot back, its signature checked before anything
//!   is decrypted.
//! - [`diff::diff`] compares two sorted record streams (snapshots, or a snapshot and the live
//!   provider) by merge-join.
//! - [`html`] writes a diff, a restore plan or a restore's outcome as one self-contained page.
//! - [`restore::prepare`] plans the return of a provider to a snapshot's state and
//!   [`restore::execute`] applies the plan through the connector's writing half
//!   ([`iamsnap_provider::WriteProvider`]), journalled, resumable and verified.
//! - [`doctor`] checks the repository, the keys and each source's rights without changing
//!   anything.
//! - [`drill::run`] restores a snapshot into a sandbox source and reports the restore time and
//!   the fidelity (restorable facts back / restorable facts).
//! - [`retention`] decides which snapshots `forget` removes; [`keys`] makes and reads the keys.
//! - [`scratch`] holds every temporary file of records, encrypted with a key that lives only in
//!   memory, in a folder only the owner may enter.
//!
//! The engine never names a connector: the command line builds one from the configuration and
//! hands it over as a [`iamsnap_provider::Connector`]. Each error type implements
//! [`error::Classify`], which says which exit status it means.

pub mod archive;
pub mod backup;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod drill;
pub mod error;
pub mod html;
pub mod incidents;
pub mod keys;
pub mod live;
pub mod metrics;
pub mod open;
pub mod repo;
pub mod report;
pub mod restore;
pub mod retention;
pub mod scratch;
