//! Where journals are kept: the repository (beside the snapshots, under `journals/`), or a
//! local folder.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::error::{Classify, ExitStatus};
use crate::repo::RepoError;

use super::JournalError;

/// Where journals are kept: small objects that are created once and never overwritten.
#[async_trait]
pub trait JournalStore: Send + Sync {
    /// Creates `path`; fails if it exists.
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError>;
    /// Reads `path`, `None` if it does not exist.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError>;
    /// Every object path under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError>;
}

/// A journal store in a local folder.
pub struct LocalJournalStore {
    root: PathBuf,
}

impl LocalJournalStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalJournalStore { root: root.into() }
    }
}

pub(super) fn storage(path: &str, e: impl std::fmt::Display) -> JournalError {
    JournalError::Storage {
        path: path.to_string(),
        message: e.to_string(),
    }
}

#[async_trait]
impl JournalStore for LocalJournalStore {
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError> {
        use std::io::Write;
        let full = self.root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| storage(path, e))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)
            .map_err(|e| storage(path, e))?;
        file.write_all(&bytes).map_err(|e| storage(path, e))?;
        file.sync_all().map_err(|e| storage(path, e))
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError> {
        match std::fs::read(self.root.join(path)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(storage(path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.join(prefix)];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(storage(prefix, e)),
            };
            for entry in entries {
                let path = entry.map_err(|e| storage(prefix, e))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Journals live in the repository, beside the snapshots, under `journals/`.
#[async_trait]
impl JournalStore for crate::repo::Repository {
    async fn put_new(&self, path: &str, bytes: Vec<u8>) -> Result<(), JournalError> {
        self.put_new_bytes(path, &bytes)
            .await
            .map_err(|e| repo_error(path, e))
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, JournalError> {
        match self.get_bytes(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(RepoError::NotFound { .. }) => Ok(None),
            Err(e) => Err(repo_error(path, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, JournalError> {
        let mut paths: Vec<String> = crate::repo::Repository::list(self, prefix)
            .await
            .map_err(|e| repo_error(prefix, e))?
            .into_iter()
            .map(|o| o.path)
            .collect();
        paths.sort();
        Ok(paths)
    }
}

/// A storage failure is worth a retry; a refusal of the repository's own (a link where a
/// folder belongs, a path it never writes) keeps its meaning.
fn repo_error(path: &str, e: RepoError) -> JournalError {
    match e.exit_status() {
        Some(ExitStatus::Integrity | ExitStatus::Usage) => JournalError::Repo(e),
        _ => storage(path, e),
    }
}
