//! Leases: at most one run writes a source's snapshots at a time.
//!
//! A run that backs up source `S` (or restores into it, for a drill) first creates
//! `leases/S.json`, a small JSON object naming the run (holder id, host, pid, command, start
//! and expiry), with the repository's create-if-absent write: `If-None-Match: *` on S3, a
//! no-replace rename in a folder. A second run finds it and stops before reading anything,
//! naming the holder. The holder renews the lease every third of its duration and checks it
//! once more just before publishing; at the end it deletes it. A run that died leaves its
//! lease behind: once expired, the next run takes it over with a conditional replace on the
//! version it read (`If-Match` on the ETag; the folder lock and a byte comparison locally), so
//! that of two runs taking over at once exactly one wins.
//!
//! Expiry is compared with the local clock: hosts sharing a repository need synchronised clocks
//! (within a small fraction of the lease's duration).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Body, RepoError, Repository, WriteBackend};
use crate::error::{Classify, ExitStatus};

/// Where the leases are, one object per source.
pub const LEASES_DIR: &str = "leases/";
/// How long a lease lasts unless `repository.lease_seconds` says otherwise.
pub const DEFAULT_LEASE_SECONDS: u64 = 600;

/// The stored lease object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Format of this object.
    pub format_version: u32,
    /// The source the lease covers.
    pub source: String,
    /// A random id of the run that holds it.
    pub holder: String,
    /// What the holder is doing (`backup`, `drill`).
    pub command: String,
    pub host: String,
    pub pid: u32,
    pub started: DateTime<Utc>,
    pub renewed: DateTime<Utc>,
    pub expires: DateTime<Utc>,
}

impl std::fmt::Display for LeaseRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} run {} on host {} (pid {}), started {}, lease expires {}",
            self.command,
            self.holder,
            self.host,
            self.pid,
            self.started.format("%Y-%m-%dT%H:%M:%SZ"),
            self.expires.format("%Y-%m-%dT%H:%M:%SZ"),
        )
    }
}

/// Why a run could not take or keep its lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "source {source_name} is leased by another run: {holder}; this run wrote nothing. Wait for it to finish; if it died, its lease is taken over after it expires"
    )]
    Held {
        source_name: String,
        holder: Box<LeaseRecord>,
    },
    #[error(
        "source {source_name}: the lease of this run was taken over by {holder} (this run could not renew it in time); nothing was published"
    )]
    Lost { source_name: String, holder: String },
    #[error(
        "{location}: {path} is not a lease iamsnap can read ({reason}); if no run is using the source, delete the object"
    )]
    Unreadable {
        location: String,
        path: String,
        reason: String,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl Classify for LeaseError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            LeaseError::Held { .. } | LeaseError::Lost { .. } | LeaseError::Unreadable { .. } => {
                Some(ExitStatus::Failure)
            }
            LeaseError::Repo(e) => e.exit_status(),
        }
    }
}

/// A lease this run holds, renewed in the background until [`Lease::release`].
pub struct Lease {
    backend: Arc<dyn WriteBackend>,
    path: String,
    ttl: Duration,
    state: Arc<Mutex<Held>>,
    renewer: tokio::task::JoinHandle<()>,
}

/// The version of the lease this run last wrote, or why it no longer holds it.
struct Held {
    record: LeaseRecord,
    tag: String,
    lost: Option<String>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("path", &self.path).finish()
    }
}

fn lease_path(source: &str) -> String {
    format!("{LEASES_DIR}{source}.json")
}

fn to_bytes(record: &LeaseRecord) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).expect("a lease serializes");
    bytes.push(b'\n');
    bytes
}

/// The kernel's host name (in Kubernetes, the pod's name).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether the holder ran on this host and its process is gone: a run killed here (a crash,
/// `kill -9`) need not block the next one until its lease expires. A reused pid keeps the
/// lease, which errs on the safe side.
fn died_here(holder: &LeaseRecord, this_host: &str) -> bool {
    holder.host == this_host
        && holder.pid != std::process::id()
        && !std::path::Path::new(&format!("/proc/{}", holder.pid)).exists()
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Repository {
    /// Takes the lease of `source` for a run of `command`, taking over one that expired;
    /// [`LeaseError::Held`] when another run holds it.
    pub async fn take_lease(&self, source: &str, command: &str) -> Result<Lease, LeaseError> {
        let backend = self.backend.clone();
        let path = lease_path(source);
        super::check_path(&path)?;
        let ttl = self.lease_ttl;
        let now = Utc::now();
        let mut record = LeaseRecord {
            format_version: 1,
            source: source.to_string(),
            holder: format!("{:016x}", rand::random::<u64>()),
            command: command.to_string(),
            host: host_name(),
            pid: std::process::id(),
            started: now,
            renewed: now,
            expires: now + delta(ttl),
        };
        // A lease released between our create and our read is tried again, a few times.
        for _ in 0..3 {
            let bytes = to_bytes(&record);
            match backend.put_new(&path, Body::Bytes(&bytes), None).await {
                Ok(()) => {
                    let (stored, tag) = backend.get_tagged(&path).await?;
                    if stored != bytes {
                        // Taken over already: only possible with a lease shorter than a request.
                        continue;
                    }
                    tracing::debug!(source, holder = %record.holder, "lease taken");
                    return Ok(Lease::start(backend, path, ttl, record, tag));
                }
                Err(RepoError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            let (stored, tag) = match backend.get_tagged(&path).await {
                Ok(found) => found,
                Err(RepoError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let current = parse(&stored, backend.as_ref(), &path)?;
            let now = Utc::now();
            if current.expires > now && !died_here(&current, &record.host) {
                return Err(LeaseError::Held {
                    source_name: source.to_string(),
                    holder: Box::new(current),
                });
            }
            record.renewed = now;
            record.expires = now + delta(ttl);
            let bytes = to_bytes(&record);
            match backend.replace_if(&path, &bytes, &tag).await {
                Ok(()) => {
                    let (_, tag) = backend.get_tagged(&path).await?;
                    tracing::warn!(
                        source,
                        stale = %current,
                        "took over a stale lease (expired, or its run on this host is gone)"
                    );
                    return Ok(Lease::start(backend, path, ttl, record, tag));
                }
                // Another run took it over, or its holder released it: look again.
                Err(RepoError::Changed { .. } | RepoError::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let (stored, _) = backend.get_tagged(&path).await?;
        let current = parse(&stored, backend.as_ref(), &path)?;
        Err(LeaseError::Held {
            source_name: source.to_string(),
            holder: Box::new(current),
        })
    }
}

impl Lease {
    fn start(
        backend: Arc<dyn WriteBackend>,
        path: String,
        ttl: Duration,
        record: LeaseRecord,
        tag: String,
    ) -> Lease {
        let state = Arc::new(Mutex::new(Held {
            record,
            tag,
            lost: None,
        }));
        let renewer = tokio::spawn(renew_forever(
            backend.clone(),
            path.clone(),
            ttl,
            state.clone(),
        ));
        Lease {
            backend,
            path,
            ttl,
            state,
            renewer,
        }
    }

    /// The lease as stored.
    pub async fn record(&self) -> LeaseRecord {
        self.state.lock().await.record.clone()
    }

    /// Renews the lease now: call it just before publishing, so that a run whose lease was
    /// taken over (it stalled past the expiry) publishes nothing.
    pub async fn confirm(&self) -> Result<(), LeaseError> {
        let mut held = self.state.lock().await;
        renew(&*self.backend, &self.path, self.ttl, &mut held).await;
        match &held.lost {
            Some(holder) => Err(LeaseError::Lost {
                source_name: held.record.source.clone(),
                holder: holder.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Stops renewing and deletes the lease, unless another run has taken it over since.
    pub async fn release(self) {
        self.renewer.abort();
        let held = self.state.lock().await;
        if held.lost.is_some() {
            return;
        }
        match self.backend.delete_if(&self.path, &held.tag).await {
            Ok(()) => tracing::debug!(path = %self.path, "lease released"),
            Err(e) => {
                tracing::warn!(path = %self.path, error = %e, "the lease was not released; it expires on its own")
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

async fn renew_forever(
    backend: Arc<dyn WriteBackend>,
    path: String,
    ttl: Duration,
    state: Arc<Mutex<Held>>,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let mut held = state.lock().await;
        renew(&*backend, &path, ttl, &mut held).await;
        if held.lost.is_some() {
            return;
        }
    }
}

/// Extends the lease by `ttl` from now. A failed write is retried at the next renewal while
/// the lease lasts; a lease replaced by another run is lost for good.
async fn renew(backend: &dyn WriteBackend, path: &str, ttl: Duration, held: &mut Held) {
    if held.lost.is_some() {
        return;
    }
    let mut record = held.record.clone();
    record.renewed = Utc::now();
    record.expires = record.renewed + delta(ttl);
    let bytes = to_bytes(&record);
    let written = match backend.replace_if(path, &bytes, &held.tag).await {
        Ok(()) => backend.get_tagged(path).await,
        Err(e) => Err(e),
    };
    match written {
        Ok((stored, tag)) if stored == bytes => {
            held.record = record;
            held.tag = tag;
        }
        Ok((stored, _)) => held.lost = Some(holder_of(&stored)),
        Err(RepoError::Changed { .. }) => {
            let stored = backend.get_bytes(path).await.unwrap_or_default();
            held.lost = Some(holder_of(&stored));
        }
        Err(RepoError::NotFound { .. }) => held.lost = Some("a run that deleted it".into()),
        Err(e) if Utc::now() >= held.record.expires => {
            tracing::error!(path, error = %e, "the lease could not be renewed before it expired");
            held.lost = Some("nobody yet (it expired while storage refused renewals)".into());
        }
        Err(e) => tracing::warn!(path, error = %e, "the lease could not be renewed; trying again"),
    }
}

/// The lease stored at `path`, or why it cannot be read.
fn parse(stored: &[u8], backend: &dyn WriteBackend, path: &str) -> Result<LeaseRecord, LeaseError> {
    serde_json::from_slice(stored).map_err(|e| LeaseError::Unreadable {
        location: backend.location(),
        path: path.to_string(),
        reason: e.to_string(),
    })
}

fn holder_of(stored: &[u8]) -> String {
    serde_json::from_slice::<LeaseRecord>(stored)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "an unreadable lease".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::local::LocalBackend;

    async fn repo(dir: &std::path::Path, ttl: Duration) -> Repository {
        let backend: Arc<dyn WriteBackend> = Arc::new(LocalBackend::new(dir));
        Repository::init_with(backend, None)
            .await
            .unwrap()
            .with_lease_ttl(ttl)
    }

    #[tokio::test]
    async fn a_held_lease_is_refused_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo(dir.path(), Duration::from_secs(60)).await;
        let lease = repo.take_lease("okta", "backup").await.unwrap();
        let err = repo.take_lease("okta", "backup").await.unwrap_err();
        let holder = lease.record().await;
        assert!(
            err.to_string().contains(&format!("run {}", holder.holder)),
            "{err}"
        );
        assert_eq!(err.exit_status(), Some(ExitStatus::Failure));
        // Another source is independent.
        repo.take_lease("aws", "backup")
            .await
            .unwrap()
            .release()
            .await;
        lease.confirm().await.unwrap();
        lease.release().await;
        assert!(!dir.path().join("leases/okta.json").exists());
        repo.take_lease("okta", "backup")
            .await
            .unwrap()
            .release()
            .await;
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_once_and_its_holder_learns_it() {
        let dir = tempfile::tempdir().unwrap();
        let short = repo(dir.path(), Duration::from_secs(3600)).await;
        let stale = short.take_lease("okta", "backup").await.unwrap();
        // The holder stalls: its renewals stop and the lease expires.
        stale.renewer.abort();
        let mut expired = stale.record().await;
        expired.expires = Utc::now() - TimeDelta::seconds(1);
        let path = dir.path().join("leases/okta.json");
        std::fs::write(&path, to_bytes(&expired)).unwrap();
        stale.state.lock().await.tag = tag_of_file(&path);

        let (a, b) = tokio::join!(
            short.take_lease("okta", "backup"),
            short.take_lease("okta", "backup")
        );
        let (winner, loser) = match (a, b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            other => panic!("exactly one run takes over: {other:?}"),
        };
        assert!(matches!(loser, LeaseError::Held { .. }), "{loser}");
        let err = stale.confirm().await.unwrap_err();
        assert!(matches!(err, LeaseError::Lost { .. }), "{err}");
        stale.release().await;
        assert!(
            path.exists(),
            "the old holder does not delete the new lease"
        );
        winner.confirm().await.unwrap();
        winner.release().await;
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn renewals_extend_the_lease() {
        let dir = tempfile::tempdir().unwrap();
        let repo = repo(dir.path(), Duration::from_millis(600)).await;
        let lease = repo.take_lease("okta", "backup").await.unwrap();
        let first = lease.record().await.expires;
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(lease.record().await.expires > first);
        assert!(matches!(
            repo.take_lease("okta", "backup").await,
            Err(LeaseError::Held { .. })
        ));
        lease.confirm().await.unwrap();
        lease.release().await;
    }

    fn tag_of_file(path: &std::path::Path) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
    }
}
