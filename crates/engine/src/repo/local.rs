//! A repository in a local folder (or any mounted file system).
//!
//! A new object is written to a temporary file in its final folder, synced, then moved into
//! place with a no-replace rename, and the folder is synced: a reader sees the whole object or
//! nothing, an existing object is never replaced, and a crash leaves at most a stray temporary
//! file (named `.iamsnap-tmp-*`, ignored by listings).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Body, ObjectInfo, ReadBackend, RepoError, Retention, WriteBackend, check_path};

const TEMP_PREFIX: &str = ".iamsnap-tmp-";

/// A folder holding a repository.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { root: root.into() }
    }

    /// From `file:///path` or a plain path.
    pub fn from_url(url: &str) -> Result<LocalBackend, RepoError> {
        let path = match url.strip_prefix("file://") {
            Some(rest) if rest.starts_with('/') => rest,
            Some(_) => {
                return Err(RepoError::BadUrl {
                    url: url.to_string(),
                    reason: "write file:///ABSOLUTE/PATH (three slashes)".into(),
                });
            }
            None => url,
        };
        if path.is_empty() {
            return Err(RepoError::BadUrl {
                url: url.to_string(),
                reason: "the path is empty".into(),
            });
        }
        Ok(LocalBackend::new(path))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, path: &str) -> Result<PathBuf, RepoError> {
        check_path(path)?;
        Ok(self.root.join(path))
    }

    fn io(&self, action: &'static str, path: &str, source: io::Error) -> RepoError {
        if source.kind() == io::ErrorKind::NotFound && matches!(action, "read" | "delete") {
            return RepoError::NotFound {
                location: self.location(),
                path: path.to_string(),
            };
        }
        RepoError::Io {
            location: self.location(),
            action,
            path: path.to_string(),
            source,
        }
    }

    fn list_blocking(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError> {
        // Walk from the deepest folder the prefix names, then filter by the full prefix.
        let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let start = if dir_part.is_empty() {
            self.root.clone()
        } else {
            self.full(dir_part)?
        };
        let mut found = Vec::new();
        let mut pending = vec![(start, dir_part.to_string())];
        while let Some((dir, rel)) = pending.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io("list", &rel, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.io("list", &rel, e))?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let path = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let kind = entry.file_type().map_err(|e| self.io("list", &path, e))?;
                if kind.is_dir() {
                    pending.push((entry.path(), path));
                } else if kind.is_file() && path.starts_with(prefix) {
                    let size = entry
                        .metadata()
                        .map_err(|e| self.io("list", &path, e))?
                        .len();
                    found.push(ObjectInfo { path, size });
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    fn put_new_blocking(&self, path: &str, body: OwnedBody) -> Result<(), RepoError> {
        let target = self.full(path)?;
        let dir = target.parent().expect("a checked path has a parent");
        fs::create_dir_all(dir).map_err(|e| self.io("create the folder of", path, e))?;
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(dir)
            .map_err(|e| self.io("write", path, e))?;
        match body {
            OwnedBody::Bytes(bytes) => temp.write_all(&bytes),
            OwnedBody::File(source) => {
                File::open(source).and_then(|mut f| io::copy(&mut f, temp.as_file_mut()).map(drop))
            }
        }
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| self.io("write", path, e))?;
        temp.persist_noclobber(&target).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                RepoError::AlreadyExists {
                    location: self.location(),
                    path: path.to_string(),
                }
            } else {
                self.io("write", path, e.error)
            }
        })?;
        sync_dir(dir).map_err(|e| self.io("sync the folder of", path, e))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Runs blocking file-system work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RepoError> + Send + 'static,
) -> Result<T, RepoError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

#[async_trait]
impl ReadBackend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError> {
        let this = self.clone();
        let prefix = prefix.to_string();
        blocking(move || this.list_blocking(&prefix)).await
    }

    async fn get_to_file(&self, path: &str, dest: &Path) -> Result<u64, RepoError> {
        let source = self.full(path)?;
        let dest = dest.to_path_buf();
        let this = self.clone();
        let path = path.to_string();
        blocking(move || {
            let mut from = File::open(&source).map_err(|e| this.io("read", &path, e))?;
            let mut to = File::create(&dest).map_err(|e| RepoError::Io {
                location: "local".into(),
                action: "write",
                path: dest.display().to_string(),
                source: e,
            })?;
            io::copy(&mut from, &mut to).map_err(|e| this.io("read", &path, e))
        })
        .await
    }

    async fn get_bytes(&self, path: &str) -> Result<Vec<u8>, RepoError> {
        let full = self.full(path)?;
        let this = self.clone();
        let path = path.to_string();
        blocking(move || fs::read(&full).map_err(|e| this.io("read", &path, e))).await
    }

    async fn retention(&self, path: &str) -> Result<Option<Retention>, RepoError> {
        check_path(path)?;
        Ok(None)
    }
}

#[async_trait]
impl WriteBackend for LocalBackend {
    async fn put_new(
        &self,
        path: &str,
        body: Body<'_>,
        _retention: Option<Retention>,
    ) -> Result<(), RepoError> {
        let this = self.clone();
        let path = path.to_string();
        let owned = match body {
            Body::Bytes(b) => OwnedBody::Bytes(b.to_vec()),
            Body::File(p) => OwnedBody::File(p.to_path_buf()),
        };
        blocking(move || this.put_new_blocking(&path, owned)).await
    }

    async fn delete(&self, path: &str) -> Result<(), RepoError> {
        let full = self.full(path)?;
        let this = self.clone();
        let path = path.to_string();
        blocking(move || {
            fs::remove_file(&full).map_err(|e| this.io("delete", &path, e))?;
            if let Some(dir) = full.parent() {
                sync_dir(dir).map_err(|e| this.io("sync the folder of", &path, e))?;
            }
            Ok(())
        })
        .await
    }

    async fn check_object_lock(&self) -> Result<(), RepoError> {
        Err(RepoError::LockUnsupported {
            location: self.location(),
            reason: "is a local folder, which has no Object Lock".into(),
        })
    }
}

/// A [`Body`] that can move to a blocking thread.
enum OwnedBody {
    Bytes(Vec<u8>),
    File(PathBuf),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_new_never_replaces_and_lists_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(dir.path());
        backend
            .put_new("a/b/one", Body::Bytes(b"1"), None)
            .await
            .unwrap();
        backend
            .put_new("a/two", Body::Bytes(b"22"), None)
            .await
            .unwrap();
        let err = backend
            .put_new("a/two", Body::Bytes(b"333"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::AlreadyExists { .. }), "{err}");
        assert_eq!(backend.get_bytes("a/two").await.unwrap(), b"22");

        std::fs::write(dir.path().join("a/.iamsnap-tmp-leftover"), b"x").unwrap();
        let listed: Vec<(String, u64)> = backend
            .list("a/")
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.path, o.size))
            .collect();
        assert_eq!(
            listed,
            [("a/b/one".to_string(), 1), ("a/two".to_string(), 2)]
        );
        assert_eq!(backend.list("a/b").await.unwrap().len(), 1);
        assert!(backend.list("zzz/").await.unwrap().is_empty());

        let source = dir.path().join("source.bin");
        std::fs::write(&source, vec![7u8; 100_000]).unwrap();
        backend
            .put_new("big", Body::File(&source), None)
            .await
            .unwrap();
        let dest = dir.path().join("copy.bin");
        assert_eq!(backend.get_to_file("big", &dest).await.unwrap(), 100_000);
        assert_eq!(std::fs::read(&dest).unwrap(), vec![7u8; 100_000]);

        backend.delete("a/two").await.unwrap();
        assert!(matches!(
            backend.get_bytes("a/two").await,
            Err(RepoError::NotFound { .. })
        ));
        assert!(matches!(
            backend.delete("a/two").await,
            Err(RepoError::NotFound { .. })
        ));
        assert!(matches!(
            backend.get_bytes("../x").await,
            Err(RepoError::BadPath { .. })
        ));
    }

    #[test]
    fn urls() {
        assert_eq!(
            LocalBackend::from_url("file:///var/lib/x").unwrap().root(),
            Path::new("/var/lib/x")
        );
        assert_eq!(
            LocalBackend::from_url("./repo").unwrap().root(),
            Path::new("./repo")
        );
        assert!(LocalBackend::from_url("file://relative").is_err());
    }
}
