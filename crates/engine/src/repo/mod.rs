//! Repositories: where snapshots are stored, in a local folder or in S3.
//!
//! Layout, the same on every backend:
//! ```text
//! iamsnap-repo.json                                   format version, creation, lock defaults
//! snapshots/<source>/<stamp>-<hex>.iamsnap.minisig    signature, written first
//! snapshots/<source>/<stamp>-<hex>.iamsnap            archive, written last: present = complete
//! journals/…                                          restore journals
//! leases/<source>.json                                who is backing up the source now
//! ```
//! A backend is two small traits ([`ReadBackend`], [`WriteBackend`]); writes never replace an
//! existing object, so a published snapshot cannot be altered through iamsnap. The one
//! exception is a lease ([`lease`]): it is replaced, and deleted, only by a conditional write
//! that names the version read, so that of two runs racing for it exactly one wins.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{LockMode, ObjectLockConfig, RepositoryConfig};
use crate::error::{Classify, ExitStatus};

pub mod lease;
pub mod local;
pub mod s3;
pub mod snapshot;

pub use snapshot::{SnapshotInfo, SnapshotRef};

/// The repository description file at the root.
pub const REPO_FILE: &str = "iamsnap-repo.json";
/// The repository format this build writes and reads.
pub const REPO_FORMAT_VERSION: u32 = 1;
const JOURNALS_DIR: &str = "journals/";

/// A repository operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("repository url {url:?} is not usable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("no iamsnap repository at {location}: run `iamsnap init` first")]
    NotInitialized { location: String },
    #[error(
        "{location} already holds an iamsnap repository ({REPO_FILE} exists); nothing was changed"
    )]
    AlreadyInitialized { location: String },
    #[error("{location}: {REPO_FILE} is not usable: {reason}")]
    BadRepoFile { location: String, reason: String },
    #[error("{location}: {path} already exists; iamsnap never overwrites a stored object")]
    AlreadyExists { location: String, path: String },
    #[error("{location}: {path} does not exist")]
    NotFound { location: String, path: String },
    #[error("{location}: {path} changed since it was read; another run wrote it")]
    Changed { location: String, path: String },
    #[error("{location}: cannot {action} {path}: {source}")]
    Io {
        location: String,
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{location}: {action} {path} failed: {message}")]
    Storage {
        location: String,
        action: &'static str,
        path: String,
        message: String,
    },
    #[error(
        "{location}: {path} failed its checksum on download ({detail}); retry, and if it persists the stored object is damaged"
    )]
    ChecksumMismatch {
        location: String,
        path: String,
        detail: String,
    },
    #[error(
        "snapshot {snapshot} has no signature ({SIGNATURE}); it cannot be trusted",
        SIGNATURE = "*.minisig"
    )]
    MissingSignature { snapshot: String },
    #[error("{what} is under Object Lock ({mode}) until {until}; it can be deleted after that")]
    Locked {
        what: String,
        mode: String,
        until: DateTime<Utc>,
    },
    #[error("bad snapshot reference {reference:?}: {reason}")]
    BadReference { reference: String, reason: String },
    #[error(
        "no snapshot matches {reference} ({available} snapshots of that source); list them with `iamsnap snapshots`"
    )]
    NoSuchSnapshot { reference: String, available: usize },
    #[error("{path:?} is not a path iamsnap writes ({reason})")]
    BadPath { path: String, reason: &'static str },
    #[error(
        "{location}: Object Lock is configured but the bucket {reason}; create the bucket with Object Lock enabled or remove repository.object_lock"
    )]
    LockUnsupported { location: String, reason: String },
    #[error(
        "{location}: {path} is a symbolic link; iamsnap never follows a link inside a repository, where it could send writes elsewhere or hide what is stored: check who made it, then replace it with the folder or file itself"
    )]
    Link { location: String, path: String },
}

impl Classify for RepoError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(match self {
            RepoError::BadUrl { .. }
            | RepoError::NotInitialized { .. }
            | RepoError::AlreadyInitialized { .. }
            | RepoError::BadReference { .. }
            | RepoError::NoSuchSnapshot { .. }
            | RepoError::BadPath { .. }
            | RepoError::LockUnsupported { .. } => ExitStatus::Usage,
            RepoError::ChecksumMismatch { .. }
            | RepoError::MissingSignature { .. }
            | RepoError::Link { .. } => ExitStatus::Integrity,
            RepoError::BadRepoFile { .. }
            | RepoError::AlreadyExists { .. }
            | RepoError::NotFound { .. }
            | RepoError::Changed { .. }
            | RepoError::Io { .. }
            | RepoError::Storage { .. }
            | RepoError::Locked { .. } => ExitStatus::Failure,
        })
    }
}

/// One stored object, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    pub size: u64,
}

/// What is written: a file (archives) or bytes (signatures, journals, the repository file).
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// Object Lock to apply to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub mode: LockMode,
    pub until: DateTime<Utc>,
}

/// Reading from storage.
#[async_trait]
pub trait ReadBackend: Send + Sync {
    /// Where the repository is, for messages (`/var/lib/iamsnap`, `s3://bucket/prefix`).
    fn location(&self) -> String;

    /// Every object whose path starts with `prefix`, sorted by path.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError>;

    /// Downloads `path` into `dest`, verifying the storage checksum where there is one.
    async fn get_to_file(&self, path: &str, dest: &Path) -> Result<u64, RepoError>;

    /// Reads a small object whole.
    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, RepoError>;

    /// The Object Lock on `path`, if any (even one that has expired).
    async fn retention(&self, path: &str) -> Result<Option<Retention>, RepoError>;

    /// The storage's own clock (an S3 answer's `Date` header), to compare this host's with;
    /// `None` for storage that has no clock of its own (a local folder).
    async fn clock(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        Ok(None)
    }
}

/// Writing to storage. Nothing here replaces an existing object.
#[async_trait]
pub trait WriteBackend: ReadBackend {
    /// Stores `body` as `path`; fails with [`RepoError::AlreadyExists`] when `path` exists.
    /// The object appears whole or not at all.
    async fn put_new(
        &self,
        path: &str,
        body: Body<'_>,
        retention: Option<Retention>,
    ) -> Result<(), RepoError>;

    /// Removes `path`. A backend with Object Lock refuses with [`RepoError::Locked`] while the
    /// lock holds.
    async fn delete(&self, path: &str) -> Result<(), RepoError>;

    /// Fails unless the store can apply Object Lock.
    async fn check_object_lock(&self) -> Result<(), RepoError>;

    /// Reads a small object with its version tag (S3: the ETag; a folder: the SHA-256 of its
    /// bytes), for [`WriteBackend::replace_if`] and [`WriteBackend::delete_if`]. Leases only.
    async fn get_tagged(&self, path: &str) -> Result<(Vec<u8>, String), RepoError>;

    /// Replaces `path` with `bytes` if its version is still `tag`; [`RepoError::Changed`] when
    /// another writer got there first. Leases only: snapshots and journals are never replaced.
    async fn replace_if(&self, path: &str, bytes: &[u8], tag: &str) -> Result<(), RepoError>;

    /// Removes `path` if its version is still `tag`; [`RepoError::Changed`] otherwise.
    async fn delete_if(&self, path: &str, tag: &str) -> Result<(), RepoError>;
}

/// `iamsnap-repo.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFile {
    pub format_version: u32,
    pub created: DateTime<Utc>,
    /// The Object Lock every snapshot gets, unless the configuration says otherwise.
    #[serde(default)]
    pub object_lock: Option<LockDefaults>,
}

/// Object Lock defaults recorded at `init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockDefaults {
    pub mode: LockMode,
    pub days: u32,
}

impl From<ObjectLockConfig> for LockDefaults {
    fn from(c: ObjectLockConfig) -> Self {
        LockDefaults {
            mode: c.mode,
            days: c.days,
        }
    }
}

/// A snapshot repository over a storage backend.
#[derive(Clone)]
pub struct Repository {
    backend: Arc<dyn WriteBackend>,
    file: RepoFile,
    lock: Option<LockDefaults>,
    /// How long a lease lasts before another run may take it over.
    lease_ttl: std::time::Duration,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("location", &self.backend.location())
            .field("file", &self.file)
            .field("lock", &self.lock)
            .field("lease_ttl", &self.lease_ttl)
            .finish()
    }
}

/// The backend a repository URL names: `file:///path`, a plain path, or `s3://bucket/prefix`.
pub async fn backend_for(config: &RepositoryConfig) -> Result<Arc<dyn WriteBackend>, RepoError> {
    if config.url.starts_with("s3://") {
        Ok(Arc::new(s3::S3Backend::from_config(config).await?))
    } else {
        Ok(Arc::new(local::LocalBackend::from_url(&config.url)?))
    }
}

impl Repository {
    /// Creates the repository `config` names; refuses when one exists there.
    pub async fn init(config: &RepositoryConfig) -> Result<Repository, RepoError> {
        let backend = backend_for(config).await?;
        Ok(
            Repository::init_with(backend, config.object_lock.map(LockDefaults::from))
                .await?
                .with_lease_ttl(config.lease_ttl()),
        )
    }

    /// Creates a repository on `backend` with Object Lock defaults `lock`.
    pub async fn init_with(
        backend: Arc<dyn WriteBackend>,
        lock: Option<LockDefaults>,
    ) -> Result<Repository, RepoError> {
        if lock.is_some() {
            backend.check_object_lock().await?;
        }
        let file = RepoFile {
            format_version: REPO_FORMAT_VERSION,
            created: Utc::now(),
            object_lock: lock,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("the repository file serializes");
        bytes.push(b'\n');
        match backend.put_new(REPO_FILE, Body::Bytes(&bytes), None).await {
            Err(RepoError::AlreadyExists { location, .. }) => {
                Err(RepoError::AlreadyInitialized { location })
            }
            other => other,
        }?;
        Ok(Repository {
            backend,
            file,
            lock,
            lease_ttl: std::time::Duration::from_secs(lease::DEFAULT_LEASE_SECONDS),
        })
    }

    /// Opens the repository `config` names.
    pub async fn open(config: &RepositoryConfig) -> Result<Repository, RepoError> {
        let backend = backend_for(config).await?;
        Ok(
            Repository::open_with(backend, config.object_lock.map(LockDefaults::from))
                .await?
                .with_lease_ttl(config.lease_ttl()),
        )
    }

    /// Leases of this repository last `ttl` (default [`lease::DEFAULT_LEASE_SECONDS`]).
    pub fn with_lease_ttl(mut self, ttl: std::time::Duration) -> Repository {
        self.lease_ttl = ttl;
        self
    }

    /// Opens the repository on `backend`; `lock` (from the configuration) overrides the
    /// defaults recorded at `init`.
    pub async fn open_with(
        backend: Arc<dyn WriteBackend>,
        lock: Option<LockDefaults>,
    ) -> Result<Repository, RepoError> {
        let location = backend.location();
        let bytes = match backend.get_bytes(REPO_FILE).await {
            Err(RepoError::NotFound { .. }) => return Err(RepoError::NotInitialized { location }),
            other => other?,
        };
        let bad = |reason: String| RepoError::BadRepoFile {
            location: location.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(REPO_FORMAT_VERSION)) {
            return Err(bad(format!(
                "format version {version:?} is not {REPO_FORMAT_VERSION}; a newer iamsnap made this repository"
            )));
        }
        let file: RepoFile = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let lock = lock.or(file.object_lock);
        Ok(Repository {
            backend,
            file,
            lock,
            lease_ttl: std::time::Duration::from_secs(lease::DEFAULT_LEASE_SECONDS),
        })
    }

    pub fn location(&self) -> String {
        self.backend.location()
    }

    pub fn repo_file(&self) -> &RepoFile {
        &self.file
    }

    /// The Object Lock new snapshots get.
    pub fn object_lock(&self) -> Option<LockDefaults> {
        self.lock
    }

    /// Fails unless the storage can apply Object Lock.
    pub async fn check_object_lock(&self) -> Result<(), RepoError> {
        self.backend.check_object_lock().await
    }

    /// The storage's clock, where it has one ([`ReadBackend::clock`]).
    pub async fn clock(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        self.backend.clock().await
    }

    /// Writes a small object under `doctor/` and removes it again: whether this host may
    /// write to the repository. An object the store keeps under a default Object Lock is
    /// left behind (it holds no data) and reported as `Ok(false)`.
    pub async fn probe_write(&self) -> Result<bool, RepoError> {
        let path = format!(
            "doctor/{}-{}.probe",
            Utc::now().format("%Y%m%dT%H%M%SZ"),
            hex::encode(rand::random::<[u8; 4]>())
        );
        self.backend
            .put_new(&path, Body::Bytes(b"iamsnap doctor\n"), None)
            .await?;
        match self.backend.delete(&path).await {
            Ok(()) => Ok(true),
            Err(RepoError::Locked { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Snapshots of `source` (all sources when `None`), oldest first.
    pub async fn snapshots(&self, source: Option<&str>) -> Result<Vec<SnapshotInfo>, RepoError> {
        let prefix = match source {
            Some(source) => format!("{}{source}/", snapshot::SNAPSHOTS_DIR),
            None => snapshot::SNAPSHOTS_DIR.to_string(),
        };
        let mut snapshots: Vec<SnapshotInfo> = self
            .backend
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|o| SnapshotInfo::from_archive_path(&o.path, o.size))
            .collect();
        snapshots.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
        Ok(snapshots)
    }

    /// The snapshot `reference` names (see [`SnapshotRef`]).
    pub async fn resolve(&self, reference: &str) -> Result<SnapshotInfo, RepoError> {
        let parsed: SnapshotRef = reference.parse()?;
        let snapshots = self.snapshots(Some(parsed.source())).await?;
        parsed.pick(&snapshots, Utc::now()).cloned()
    }

    /// Stores a signed archive as the new snapshot `name` (`SOURCE/STAMP-HEX`, made by
    /// [`SnapshotInfo::new_name`]): the signature first, then the archive, so that an archive
    /// present is a complete snapshot.
    pub async fn publish(
        &self,
        name: &str,
        archive: &Path,
        signature: &str,
    ) -> Result<SnapshotInfo, RepoError> {
        let Some((source, time)) = snapshot::parse_name(name) else {
            return Err(RepoError::BadPath {
                path: name.to_string(),
                reason: "snapshot names read SOURCE/YYYYMMDDTHHMMSSZ-XXXXXXXX, with a source name of letters, digits, '-', '_' and '.'",
            });
        };
        let size = std::fs::metadata(archive)
            .map_err(|source| RepoError::Io {
                location: "local".into(),
                action: "read",
                path: archive.display().to_string(),
                source,
            })?
            .len();
        let info = SnapshotInfo {
            name: name.to_string(),
            source: source.to_string(),
            time,
            size,
        };
        let retention = self.lock.map(|l| Retention {
            mode: l.mode,
            until: Utc::now() + TimeDelta::days(i64::from(l.days)),
        });
        self.backend
            .put_new(
                &info.signature_path(),
                Body::Bytes(signature.as_bytes()),
                retention,
            )
            .await?;
        self.backend
            .put_new(&info.archive_path(), Body::File(archive), retention)
            .await?;
        Ok(info)
    }

    /// Publishes what [`crate::archive::build`] made, under the name its manifest records.
    pub async fn publish_built(
        &self,
        built: &crate::archive::BuiltArchive,
    ) -> Result<SnapshotInfo, RepoError> {
        let name = built.manifest.snapshot.as_deref().unwrap_or_default();
        self.publish(name, built.path(), &built.signature).await
    }

    /// Downloads a snapshot to a temporary file (in the system temp dir) with its signature.
    /// A snapshot without signature is an integrity error.
    pub async fn fetch(
        &self,
        snapshot: &SnapshotInfo,
    ) -> Result<(tempfile::NamedTempFile, String), RepoError> {
        let signature = match self.backend.get_bytes(&snapshot.signature_path()).await {
            Err(RepoError::NotFound { .. }) => {
                return Err(RepoError::MissingSignature {
                    snapshot: snapshot.name.clone(),
                });
            }
            other => other?,
        };
        let signature = String::from_utf8(signature).map_err(|_| RepoError::MissingSignature {
            snapshot: snapshot.name.clone(),
        })?;
        let file = tempfile::Builder::new()
            .prefix("iamsnap-fetch-")
            .suffix(".iamsnap")
            .tempfile()
            .map_err(|source| RepoError::Io {
                location: "local".into(),
                action: "create a temporary file for",
                path: snapshot.name.clone(),
                source,
            })?;
        self.backend
            .get_to_file(&snapshot.archive_path(), file.path())
            .await?;
        Ok((file, signature))
    }

    /// The Object Lock of a snapshot's archive, if any.
    pub async fn retention(&self, snapshot: &SnapshotInfo) -> Result<Option<Retention>, RepoError> {
        self.backend.retention(&snapshot.archive_path()).await
    }

    /// Deletes a snapshot: the archive first (so that it no longer counts as complete), then its
    /// signature. A snapshot under Object Lock is refused with [`RepoError::Locked`].
    pub async fn delete_snapshot(&self, snapshot: &SnapshotInfo) -> Result<(), RepoError> {
        if let Some(retention) = self.retention(snapshot).await?
            && retention.until > Utc::now()
        {
            return Err(RepoError::Locked {
                what: format!("snapshot {}", snapshot.name),
                mode: lock_mode_name(retention.mode).into(),
                until: retention.until,
            });
        }
        self.backend.delete(&snapshot.archive_path()).await?;
        match self.backend.delete(&snapshot.signature_path()).await {
            Err(RepoError::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    /// Stores a new object under `journals/` (restore journals); never overwrites.
    pub async fn put_new_bytes(&self, path: &str, bytes: &[u8]) -> Result<(), RepoError> {
        check_journal_path(path)?;
        self.backend.put_new(path, Body::Bytes(bytes), None).await
    }

    /// Reads an object under `journals/`.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, RepoError> {
        check_journal_path(path)?;
        self.backend.get_bytes(path).await
    }

    /// Lists objects under `journals/` whose path starts with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError> {
        if !prefix.starts_with(JOURNALS_DIR) {
            return Err(RepoError::BadPath {
                path: prefix.to_string(),
                reason: "journal paths start with `journals/`",
            });
        }
        self.backend.list(prefix).await
    }
}

fn check_journal_path(path: &str) -> Result<(), RepoError> {
    if !path.starts_with(JOURNALS_DIR) {
        return Err(RepoError::BadPath {
            path: path.to_string(),
            reason: "journal paths start with `journals/`",
        });
    }
    check_path(path)
}

/// Paths are relative, `/`-separated, without empty, `.` or `..` segments.
pub(crate) fn check_path(path: &str) -> Result<(), RepoError> {
    let bad = |reason| RepoError::BadPath {
        path: path.to_string(),
        reason,
    };
    if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
        return Err(bad("paths are relative file paths"));
    }
    if path.contains('\\') || path.contains('\0') {
        return Err(bad("paths use '/' only"));
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(bad("empty, '.' and '..' segments are not allowed"));
    }
    Ok(())
}

/// `governance` or `compliance`, as in the configuration.
pub fn lock_mode_name(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Governance => "governance",
        LockMode::Compliance => "compliance",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        for good in [
            "journals/a",
            "snapshots/okta/x.iamsnap",
            "iamsnap-repo.json",
        ] {
            check_path(good).unwrap();
        }
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a/./b", "a/", "a\\b"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_journal_path("snapshots/x").is_err());
    }
}
