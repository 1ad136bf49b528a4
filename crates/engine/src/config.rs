//! The `[repository]` table of the configuration: where snapshots go and which keys protect
//! them. The configuration file as a whole (with its sources) is read by the command line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[repository]`: where snapshots go and which keys protect them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryConfig {
    /// `file:///path`, a plain path, or `s3://bucket/prefix`.
    pub url: String,
    /// age recipients (X25519 `age1…`, `ssh-ed25519 …`, `ssh-rsa …`) every archive is encrypted to.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// minisign secret key used to sign archives (backup side).
    pub signing_key_file: Option<PathBuf>,
    /// minisign public key (`RW…`) archives must be signed with (restore side).
    pub verify_key: Option<String>,
    /// S3 only: custom endpoint for S3-compatible stores and tests.
    pub endpoint: Option<String>,
    /// S3 only: region (default: from the AWS configuration chain).
    pub region: Option<String>,
    /// S3 only: path-style addressing (`endpoint/bucket/key`).
    #[serde(default)]
    pub path_style: bool,
    /// S3 only: encrypt objects with this KMS key (SSE-KMS).
    pub sse_kms_key_id: Option<String>,
    /// S3 only: Object Lock applied to each snapshot.
    pub object_lock: Option<ObjectLockConfig>,
    /// S3 only: named AWS profile.
    pub profile: Option<String>,
    /// S3 only: seconds to wait for the first byte of an answer before the attempt is given up
    /// and retried (default 120), so a connection that stalls cannot hang a backup.
    pub timeout_seconds: Option<u64>,
    /// Seconds a run's lease on a source lasts without renewal (default 600): after a run dies,
    /// the next one waits this long before taking its lease over.
    pub lease_seconds: Option<u64>,
}

/// `object_lock = { mode = "governance", days = 30 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectLockConfig {
    pub mode: LockMode,
    pub days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    Governance,
    Compliance,
}

impl RepositoryConfig {
    /// Checks what can be checked without touching storage; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let url = &self.url;
        if url.trim().is_empty() {
            return Err("repository.url is empty".into());
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            if rest.split('/').next().unwrap_or("").is_empty() {
                return Err(format!(
                    "repository.url {url:?} names no bucket; write s3://BUCKET/PREFIX"
                ));
            }
        } else if url.contains("://") && !url.starts_with("file://") {
            return Err(format!(
                "repository.url {url:?}: unsupported scheme; use file:///PATH or s3://BUCKET/PREFIX"
            ));
        } else if self.object_lock.is_some() {
            return Err("repository.object_lock applies to S3 repositories only".into());
        }
        if self.lease_seconds == Some(0) {
            return Err("repository.lease_seconds must be at least 1".into());
        }
        if self.timeout_seconds == Some(0) {
            return Err("repository.timeout_seconds must be at least 1".into());
        }
        if let Some(lock) = self.object_lock
            && lock.days == 0
        {
            return Err("repository.object_lock.days must be at least 1".into());
        }
        if let Some(key) = &self.verify_key {
            crate::keys::parse_public_key(key)
                .map_err(|e| format!("repository.verify_key: {e}"))?;
        }
        Ok(())
    }

    /// How long a lease lasts.
    pub fn lease_ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.lease_seconds
                .unwrap_or(crate::repo::lease::DEFAULT_LEASE_SECONDS),
        )
    }

    /// The table with relative paths (a plain-path or `file://` URL, the signing key file)
    /// taken from `base_dir`, the configuration file's folder.
    pub fn resolved(&self, base_dir: &Path) -> RepositoryConfig {
        let resolve = |path: &Path| {
            if path.is_absolute() {
                path.to_path_buf()
            } else {
                base_dir.join(path)
            }
        };
        let mut repo = self.clone();
        if !repo.url.starts_with("s3://") {
            let path = repo.url.strip_prefix("file://").unwrap_or(&repo.url);
            repo.url = resolve(Path::new(path)).display().to_string();
        }
        repo.signing_key_file = repo.signing_key_file.map(|p| resolve(&p));
        repo
    }
}
