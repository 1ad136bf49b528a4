//! A repository in a local folder (or any mounted file system).
//!
//! A new object is written to a temporary file in its final folder, synced, then moved into
//! place with a no-replace rename, and the folder is synced: a reader sees the whole object or
//! nothing, an existing object is never replaced, and a crash leaves at most a stray temporary
//! file (named `.iamsnap-tmp-*`, ignored by listings).
//!
//! Nothing under the root follows a symbolic link. Each folder is opened from the one above it
//! with `O_NOFOLLOW`, and objects are opened, created, renamed and removed relative to their
//! folder's descriptor, so a link anywhere below the root (`snapshots/<source>` pointing
//! elsewhere, say) can neither send a write out of the repository nor hide what is in it:
//! listing, reading, writing and deleting all stop at it with [`RepoError::Link`], an
//! integrity error naming it. The root itself may be a link: the operator chose it.
//!
//! A lease is the one object replaced in place. Creating it is the same no-replace rename;
//! replacing or deleting it happens under an exclusive `flock` on its folder, after checking
//! that it still holds the bytes the caller read, so two runs racing for a stale lease cannot
//! both win.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use sha2::{Digest, Sha256};

use super::{Body, ObjectInfo, ReadBackend, RepoError, Retention, WriteBackend, check_path};

const TEMP_PREFIX: &str = ".iamsnap-tmp-";

/// Folders are opened for lookups only, never followed through a link.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// A folder holding a repository.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
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

    fn link(&self, path: &str) -> RepoError {
        RepoError::Link {
            location: self.location(),
            path: path.to_string(),
        }
    }

    /// The file type of `name` in `dir`, the link itself when it is one.
    fn kind_of(dir: impl AsFd, name: &str) -> Result<Option<FileType>, Errno> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Why `name` in `dir` (at `path`) would not open as asked: a link, or the error itself.
    fn refused(
        &self,
        dir: impl AsFd,
        name: &str,
        path: &str,
        action: &'static str,
        e: Errno,
    ) -> RepoError {
        match Self::kind_of(dir, name) {
            Ok(Some(FileType::Symlink)) => self.link(path),
            _ => self.io(action, path, e.into()),
        }
    }

    /// Opens folder `rel` (`/`-separated, empty for the root) one component at a time, none
    /// followed if it is a link; `None` when a component is missing, unless `create` makes it.
    fn open_dir(
        &self,
        rel: &str,
        create: bool,
        action: &'static str,
    ) -> Result<Option<OwnedFd>, RepoError> {
        let root = match rustix::fs::open(
            &self.root,
            DIR_FLAGS.difference(OFlags::NOFOLLOW),
            Mode::empty(),
        ) {
            Err(Errno::NOENT) if create => {
                std::fs::create_dir_all(&self.root).map_err(|e| self.io(action, "", e))?;
                rustix::fs::open(
                    &self.root,
                    DIR_FLAGS.difference(OFlags::NOFOLLOW),
                    Mode::empty(),
                )
            }
            Err(Errno::NOENT) => return Ok(None),
            other => other,
        }
        .map_err(|e| self.io(action, "", e.into()))?;
        let mut dir = root;
        let mut walked = String::new();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            walked = join(&walked, part);
            let mut created = false;
            dir = loop {
                match rustix::fs::openat(&dir, part, DIR_FLAGS, Mode::empty()) {
                    Ok(next) => break next,
                    Err(Errno::NOENT) if create && !created => {
                        match rustix::fs::mkdirat(&dir, part, Mode::from_raw_mode(0o777)) {
                            Ok(()) | Err(Errno::EXIST) => created = true,
                            Err(e) => {
                                return Err(self.io("create the folder of", &walked, e.into()));
                            }
                        }
                    }
                    Err(Errno::NOENT) => return Ok(None),
                    Err(e) => return Err(self.refused(&dir, part, &walked, action, e)),
                }
            };
        }
        Ok(Some(dir))
    }

    /// Opens the object at `path` for reading.
    fn open_file(&self, path: &str) -> Result<File, RepoError> {
        check_path(path)?;
        let (dir_part, name) = split(path);
        let not_found = || self.io("read", path, io::ErrorKind::NotFound.into());
        let dir = self
            .open_dir(dir_part, false, "read")?
            .ok_or_else(not_found)?;
        match rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(File::from(fd)),
            Err(Errno::NOENT) => Err(not_found()),
            Err(e) => Err(self.refused(&dir, name, path, "read", e)),
        }
    }

    fn list_blocking(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RepoError> {
        // Walk from the deepest folder the prefix names, then filter by the full prefix.
        let dir_part = prefix.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if !dir_part.is_empty() {
            check_path(dir_part)?;
        }
        let Some(start) = self.open_dir(dir_part, false, "list")? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        let mut pending = vec![(start, dir_part.to_string())];
        while let Some((dir, rel)) = pending.pop() {
            let names = {
                let mut entries = rustix::fs::Dir::read_from(&dir)
                    .map_err(|e| self.io("list", &rel, e.into()))?;
                let mut names = Vec::new();
                while let Some(entry) = entries.read() {
                    let entry = entry.map_err(|e| self.io("list", &rel, e.into()))?;
                    if let Ok(name) = entry.file_name().to_str()
                        && name != "."
                        && name != ".."
                        && !name.starts_with(TEMP_PREFIX)
                    {
                        names.push(name.to_string());
                    }
                }
                names
            };
            for name in names {
                let path = join(&rel, &name);
                // Only what can hold a match is looked at, links included.
                if !(path.starts_with(prefix) || prefix.starts_with(&format!("{path}/"))) {
                    continue;
                }
                let stat = match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                {
                    Ok(stat) => stat,
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(self.io("list", &path, e.into())),
                };
                match FileType::from_raw_mode(stat.st_mode) {
                    FileType::Symlink => return Err(self.link(&path)),
                    FileType::Directory => {
                        match rustix::fs::openat(&dir, name.as_str(), DIR_FLAGS, Mode::empty()) {
                            Ok(child) => pending.push((child, path)),
                            Err(Errno::NOENT) => continue,
                            Err(e) => return Err(self.refused(&dir, &name, &path, "list", e)),
                        }
                    }
                    FileType::RegularFile if path.starts_with(prefix) => found.push(ObjectInfo {
                        path,
                        size: stat.st_size as u64,
                    }),
                    _ => {}
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(found)
    }

    fn put_new_blocking(&self, path: &str, body: OwnedBody) -> Result<(), RepoError> {
        check_path(path)?;
        let (dir_part, name) = split(path);
        let dir = self
            .open_dir(dir_part, true, "write")?
            .expect("created folders open");
        let temp = format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>());
        let fd = rustix::fs::openat(
            &dir,
            temp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.io("write", path, e.into()))?;
        let mut file = File::from(fd);
        let written = match body {
            OwnedBody::Bytes(bytes) => file.write_all(&bytes),
            OwnedBody::File(source) => {
                File::open(source).and_then(|mut f| io::copy(&mut f, &mut file).map(drop))
            }
        }
        .and_then(|()| file.sync_all())
        .map_err(|e| self.io("write", path, e))
        .and_then(|()| self.move_into_place(&dir, &temp, name, path));
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&dir, temp.as_str(), AtFlags::empty());
        }
        written?;
        rustix::fs::fsync(&dir).map_err(|e| self.io("sync the folder of", path, e.into()))
    }

    /// Renames `temp` to `name` in `dir` unless `name` exists; where the file system has no
    /// no-replace rename, links then unlinks, which fails the same way.
    fn move_into_place(
        &self,
        dir: &OwnedFd,
        temp: &str,
        name: &str,
        path: &str,
    ) -> Result<(), RepoError> {
        let moved = match rustix::fs::renameat_with(dir, temp, dir, name, RenameFlags::NOREPLACE) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => {
                rustix::fs::linkat(dir, temp, dir, name, AtFlags::empty()).map(|()| {
                    let _ = rustix::fs::unlinkat(dir, temp, AtFlags::empty());
                })
            }
            other => other,
        };
        match moved {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => match Self::kind_of(dir, name) {
                Ok(Some(FileType::Symlink)) => Err(self.link(path)),
                _ => Err(RepoError::AlreadyExists {
                    location: self.location(),
                    path: path.to_string(),
                }),
            },
            Err(e) => Err(self.io("write", path, e.into())),
        }
    }

    fn delete_blocking(&self, path: &str) -> Result<(), RepoError> {
        check_path(path)?;
        let (dir_part, name) = split(path);
        let not_found = || self.io("delete", path, io::ErrorKind::NotFound.into());
        let dir = self
            .open_dir(dir_part, false, "delete")?
            .ok_or_else(not_found)?;
        match Self::kind_of(&dir, name) {
            Ok(Some(FileType::Symlink)) => return Err(self.link(path)),
            Ok(None) => return Err(not_found()),
            _ => {}
        }
        rustix::fs::unlinkat(&dir, name, AtFlags::empty())
            .map_err(|e| self.io("delete", path, e.into()))?;
        rustix::fs::fsync(&dir).map_err(|e| self.io("sync the folder of", path, e.into()))
    }
}

impl LocalBackend {
    /// Reads `path` with the SHA-256 of its bytes as its version tag.
    fn get_tagged_blocking(&self, path: &str) -> Result<(Vec<u8>, String), RepoError> {
        let mut bytes = Vec::new();
        self.open_file(path)?
            .read_to_end(&mut bytes)
            .map_err(|e| self.io("read", path, e))?;
        let tag = tag_of(&bytes);
        Ok((bytes, tag))
    }

    /// Opens the folder of `path` locked exclusively against other conditional writers (the
    /// lock ends when the descriptor closes), and checks that `path` still has version `tag`.
    fn lock_and_check(
        &self,
        path: &str,
        tag: &str,
        action: &'static str,
    ) -> Result<OwnedFd, RepoError> {
        check_path(path)?;
        let (dir_part, _) = split(path);
        let not_found = || self.io("delete", path, io::ErrorKind::NotFound.into());
        let dir = self
            .open_dir(dir_part, false, action)?
            .ok_or_else(not_found)?;
        rustix::fs::flock(&dir, FlockOperation::LockExclusive)
            .map_err(|e| self.io("lock the folder of", path, e.into()))?;
        let (_, current) = self.get_tagged_blocking(path)?;
        if current != tag {
            return Err(RepoError::Changed {
                location: self.location(),
                path: path.to_string(),
            });
        }
        Ok(dir)
    }

    fn replace_if_blocking(&self, path: &str, bytes: &[u8], tag: &str) -> Result<(), RepoError> {
        let dir = self.lock_and_check(path, tag, "write")?;
        let (_, name) = split(path);
        let temp = format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>());
        let fd = rustix::fs::openat(
            &dir,
            temp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.io("write", path, e.into()))?;
        let mut file = File::from(fd);
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io("write", path, e))
            .and_then(|()| {
                // A plain rename replaces the object whole; the folder lock and the check above
                // make it conditional.
                rustix::fs::renameat(&dir, temp.as_str(), &dir, name)
                    .map_err(|e| self.io("write", path, e.into()))
            });
        if written.is_err() {
            let _ = rustix::fs::unlinkat(&dir, temp.as_str(), AtFlags::empty());
        }
        written?;
        rustix::fs::fsync(&dir).map_err(|e| self.io("sync the folder of", path, e.into()))
    }

    fn delete_if_blocking(&self, path: &str, tag: &str) -> Result<(), RepoError> {
        let dir = self.lock_and_check(path, tag, "delete")?;
        let (_, name) = split(path);
        rustix::fs::unlinkat(&dir, name, AtFlags::empty())
            .map_err(|e| self.io("delete", path, e.into()))?;
        rustix::fs::fsync(&dir).map_err(|e| self.io("sync the folder of", path, e.into()))
    }
}

/// The version tag of a local object: the SHA-256 of its bytes, in hex.
fn tag_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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
        let dest = dest.to_path_buf();
        let this = self.clone();
        let path = path.to_string();
        blocking(move || {
            let mut from = this.open_file(&path)?;
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
        let this = self.clone();
        let path = path.to_string();
        blocking(move || {
            let mut bytes = Vec::new();
            this.open_file(&path)?
                .read_to_end(&mut bytes)
                .map_err(|e| this.io("read", &path, e))?;
            Ok(bytes)
        })
        .await
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
        let this = self.clone();
        let path = path.to_string();
        blocking(move || this.delete_blocking(&path)).await
    }

    async fn check_object_lock(&self) -> Result<(), RepoError> {
        Err(RepoError::LockUnsupported {
            location: self.location(),
            reason: "is a local folder, which has no Object Lock".into(),
        })
    }

    async fn get_tagged(&self, path: &str) -> Result<(Vec<u8>, String), RepoError> {
        let this = self.clone();
        let path = path.to_string();
        blocking(move || this.get_tagged_blocking(&path)).await
    }

    async fn replace_if(&self, path: &str, bytes: &[u8], tag: &str) -> Result<(), RepoError> {
        let this = self.clone();
        let (path, bytes, tag) = (path.to_string(), bytes.to_vec(), tag.to_string());
        blocking(move || this.replace_if_blocking(&path, &bytes, &tag)).await
    }

    async fn delete_if(&self, path: &str, tag: &str) -> Result<(), RepoError> {
        let this = self.clone();
        let (path, tag) = (path.to_string(), tag.to_string());
        blocking(move || this.delete_if_blocking(&path, &tag)).await
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

    #[tokio::test]
    async fn links_below_the_root_are_refused_by_every_operation() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("outside"), b"o").unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("snapshots")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.join("snapshots/okta")).unwrap();
        std::fs::create_dir(root.join("journals")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("outside"), root.join("journals/j"))
            .unwrap();
        // The root itself may be a link.
        std::os::unix::fs::symlink(&root, dir.path().join("via-link")).unwrap();
        let backend = LocalBackend::new(dir.path().join("via-link"));

        let named = |result: Result<(), RepoError>, path: &str| match result {
            Err(e @ RepoError::Link { .. }) => {
                assert!(
                    e.to_string()
                        .contains(&format!(" {path} is a symbolic link")),
                    "{e}"
                );
                assert_eq!(
                    crate::error::Classify::exit_status(&e),
                    Some(crate::error::ExitStatus::Integrity)
                );
            }
            other => panic!("{path}: {other:?}"),
        };
        named(
            backend
                .put_new("snapshots/okta/a.iamsnap", Body::Bytes(b"x"), None)
                .await,
            "snapshots/okta",
        );
        named(
            backend
                .put_new("snapshots/okta/new/b", Body::Bytes(b"x"), None)
                .await,
            "snapshots/okta",
        );
        named(
            backend.get_bytes("snapshots/okta/outside").await.map(drop),
            "snapshots/okta",
        );
        named(backend.list("snapshots/").await.map(drop), "snapshots/okta");
        named(
            backend.list("snapshots/okta/").await.map(drop),
            "snapshots/okta",
        );
        named(
            backend.delete("snapshots/okta/outside").await,
            "snapshots/okta",
        );
        named(
            backend.get_bytes("journals/j").await.map(drop),
            "journals/j",
        );
        named(
            backend.put_new("journals/j", Body::Bytes(b"x"), None).await,
            "journals/j",
        );
        named(backend.delete("journals/j").await, "journals/j");
        named(backend.list("journals/").await.map(drop), "journals/j");
        let dest = dir.path().join("copy");
        named(
            backend.get_to_file("journals/j", &dest).await.map(drop),
            "journals/j",
        );

        let mut outside: Vec<_> = std::fs::read_dir(elsewhere.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        outside.sort();
        assert_eq!(outside, ["outside"], "nothing written through a link");
        assert_eq!(
            std::fs::read(elsewhere.path().join("outside")).unwrap(),
            b"o"
        );
        // What holds no link still works, and a listing that does not reach one is whole.
        backend
            .put_new("iamsnap-repo.json", Body::Bytes(b"{}"), None)
            .await
            .unwrap();
        assert_eq!(backend.list("iamsnap").await.unwrap().len(), 1);
        assert!(backend.list("snapshots/aws/").await.unwrap().is_empty());
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
