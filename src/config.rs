//! The configuration file: one repository, any number of sources.
//!
//! TOML, every table `deny_unknown_fields`, so a typo is an error naming the file, line and
//! field rather than a silently ignored setting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sources::SourceConfig;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub repository: RepositoryConfig,
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Where the file was read from; relative paths in it are taken from its folder.
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[repository]`: where snapshots go and which keys protect them.
#[derive(Debug, Clone, Deserialize)]
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

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration file given: pass --config FILE or set IAMSNAP_CONFIG (see config/ for examples)"
    )]
    Missing,
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.path = path.to_path_buf();
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: self.path.clone(),
            message,
        };
        let url = &self.repository.url;
        if url.trim().is_empty() {
            return Err(invalid("repository.url is empty".into()));
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            if rest.split('/').next().unwrap_or("").is_empty() {
                return Err(invalid(format!(
                    "repository.url {url:?} names no bucket; write s3://BUCKET/PREFIX"
                )));
            }
        } else if url.contains("://") && !url.starts_with("file://") {
            return Err(invalid(format!(
                "repository.url {url:?}: unsupported scheme; use file:///PATH or s3://BUCKET/PREFIX"
            )));
        } else if self.repository.object_lock.is_some() {
            return Err(invalid(
                "repository.object_lock applies to S3 repositories only".into(),
            ));
        }
        if self.repository.timeout_seconds == Some(0) {
            return Err(invalid(
                "repository.timeout_seconds must be at least 1".into(),
            ));
        }
        if let Some(lock) = self.repository.object_lock
            && lock.days == 0
        {
            return Err(invalid(
                "repository.object_lock.days must be at least 1".into(),
            ));
        }
        if let Some(key) = &self.repository.verify_key {
            crate::keys::parse_public_key(key)
                .map_err(|e| invalid(format!("repository.verify_key: {e}")))?;
        }
        for name in self.sources.keys() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                return Err(invalid(format!(
                    "source name {name:?}: use letters, digits, '-', '_' and '.' only"
                )));
            }
        }
        Ok(())
    }

    /// `path` as written in the file, taken relative to the file's folder.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            return path.to_path_buf();
        }
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The `[repository]` table with relative paths (a plain-path or `file://` URL, the signing
    /// key file) taken from the configuration file's folder.
    pub fn repository(&self) -> RepositoryConfig {
        let mut repo = self.repository.clone();
        if !repo.url.starts_with("s3://") {
            let path = repo.url.strip_prefix("file://").unwrap_or(&repo.url);
            repo.url = self.resolve_path(Path::new(path)).display().to_string();
        }
        repo.signing_key_file = repo.signing_key_file.map(|p| self.resolve_path(&p));
        repo
    }

    /// The folder relative paths in the file are taken from.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The source named `name`, or an error listing the configured ones.
    pub fn source(&self, name: &str) -> Result<&SourceConfig, ConfigError> {
        self.sources.get(name).ok_or_else(|| ConfigError::Invalid {
            path: self.path.clone(),
            message: format!(
                "no source named {name:?}; configured: {}",
                if self.sources.is_empty() {
                    "none".to_string()
                } else {
                    self.sources.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        })
    }
}
