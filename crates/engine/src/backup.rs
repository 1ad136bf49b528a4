//! Backup: read a source and publish one signed, encrypted snapshot of it.
//!
//! The pipeline is one straight path: the connector's records → a bounded channel → the spool
//! (an external sort by kind and id, on disk beyond its budget) → tar → zstd → age → a
//! temporary file → its minisign signature → the repository, which publishes both at once.
//! Nothing is published unless every step succeeded, and only by the run that holds the
//! source's lease ([`crate::repo::lease`]): a second run of the same source stops before
//! reading anything.

use std::sync::Arc;

use chrono::Utc;
use iamsnap_provider::{ProviderError, ReadProvider};

use crate::archive::{self, ArchiveError, BuiltArchive, ManifestHeader, Spool};
use crate::error::{Classify, ExitStatus};
use crate::keys::{self, KeyError, SigningKey};
use crate::live::{self, Progress, SpoolFailure};
use crate::repo::lease::LeaseError;
use crate::repo::{RepoError, Repository, SnapshotInfo};

/// What protects a snapshot (and a restore's journal): the recipients it is encrypted to and
/// the key that signs it.
#[derive(Debug, Clone)]
pub struct Seal {
    /// age recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    pub recipients: Vec<String>,
    /// The backup host's minisign secret key.
    pub signing_key: Arc<SigningKey>,
}

impl Seal {
    /// A seal from `repository.recipients` and the signing key; the recipients are checked
    /// now, so that a bad key fails a run before any provider is read.
    pub fn new(recipients: Vec<String>, signing_key: SigningKey) -> Result<Seal, KeyError> {
        keys::parse_recipients(&recipients)?;
        Ok(Seal {
            recipients,
            signing_key: Arc::new(signing_key),
        })
    }
}

/// A published snapshot.
#[derive(Debug)]
pub struct Published {
    /// Where it is stored.
    pub info: SnapshotInfo,
    /// Its manifest: counts per kind, requests made.
    pub manifest: archive::Manifest,
    /// Size of the encrypted archive in bytes.
    pub size: u64,
}

/// Why a backup published nothing.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("source {source_name}: reading {provider} failed; nothing was published")]
    Read {
        source_name: String,
        provider: &'static str,
        #[source]
        source: Box<ProviderError>,
    },
    #[error("cannot spool records to a temporary file")]
    Spool(#[source] std::io::Error),
    #[error("the archive task failed")]
    Task(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

impl Classify for BackupError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            BackupError::Read { source, .. } => source.exit_status(),
            BackupError::Spool(_) | BackupError::Task(_) => Some(ExitStatus::Failure),
            BackupError::Archive(e) => e.exit_status(),
            BackupError::Key(e) => e.exit_status(),
            BackupError::Repo(e) => e.exit_status(),
            BackupError::Lease(e) => e.exit_status(),
        }
    }
}

/// Reads `provider` (configured as source `source_name`) and publishes its snapshot in `repo`.
pub async fn run(
    repo: &Repository,
    source_name: &str,
    provider: &dyn ReadProvider,
    seal: &Seal,
    progress: Arc<dyn Progress>,
) -> Result<Published, BackupError> {
    let lease = repo.take_lease(source_name, "backup").await?;
    let published = read_and_publish(repo, source_name, provider, seal, progress, &lease).await;
    lease.release().await;
    published
}

async fn read_and_publish(
    repo: &Repository,
    source_name: &str,
    provider: &dyn ReadProvider,
    seal: &Seal,
    progress: Arc<dyn Progress>,
    lease: &crate::repo::lease::Lease,
) -> Result<Published, BackupError> {
    let started = Utc::now();
    tracing::info!(source = %source_name, provider = provider.provider_type(), "backup started");
    let spool = live::spool(provider, None, archive::spool::DEFAULT_BUDGET, progress)
        .await
        .map_err(|failure| match failure {
            SpoolFailure::Spool(e) => BackupError::Spool(e),
            SpoolFailure::Provider(source) => BackupError::Read {
                source_name: source_name.to_string(),
                provider: provider.provider_type(),
                source: Box::new(source),
            },
        })?;
    let header = ManifestHeader {
        source: source_name.to_string(),
        snapshot: SnapshotInfo::new_name(source_name, started),
        provider: provider.provider_type().to_string(),
        started,
        finished: Utc::now(),
        requests: provider.stats(),
        kinds_read: Some(provider.kinds_read()),
    };
    let seal = seal.clone();
    let built = tokio::task::spawn_blocking(move || build(header, spool, &seal))
        .await
        .map_err(BackupError::Task)??;
    lease.confirm().await?;
    let info = repo.publish_built(&built).await?;
    tracing::info!(source = %source_name, snapshot = %info.name, records = built.manifest.total_records(), bytes = built.size, "backup published");
    Ok(Published {
        info,
        size: built.size,
        manifest: built.manifest,
    })
}

/// Writes the archive of everything in `spool`, encrypted and signed with `seal`, to a
/// temporary file ready to publish. Blocking: call it off the async runtime.
pub fn build(
    header: ManifestHeader,
    spool: Spool,
    seal: &Seal,
) -> Result<BuiltArchive, BackupError> {
    let recipients = keys::parse_recipients(&seal.recipients)?;
    let sorted = spool.finish().map_err(BackupError::Spool)?;
    Ok(archive::build(
        header,
        sorted,
        &recipients,
        &seal.signing_key,
        None,
    )?)
}
