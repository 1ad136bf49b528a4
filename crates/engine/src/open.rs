//! Opening a stored snapshot for reading, shared by every command that reads one: resolve the
//! reference, download, check the signature before anything is decrypted, then decrypt with
//! the operator's identity.

use std::fs::File;
use std::path::PathBuf;

use crate::archive::{ArchiveError, ArchiveReader};
use crate::error::{Classify, ExitStatus};
use crate::keys::{self, KeyError, KeyPermissions};
use crate::repo::{RepoError, Repository, SnapshotInfo};

/// Why a snapshot could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "--insecure-skip-signature is refused while repository.verify_key is set: the signature is always checked then"
    )]
    SkipRefused,
    #[error(
        "repository.verify_key is not set, so the archive's signature cannot be checked; set it to the `RW…` public key from `iamsnap key signing` (or pass --insecure-skip-signature to accept unsigned archives)"
    )]
    NoVerifyKey,
    #[error("no identity to decrypt the archive: pass --identity FILE or set IAMSNAP_IDENTITY")]
    NoIdentity,
    #[error("cannot read the downloaded {name}")]
    Download {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot {name}")]
    Signature {
        name: String,
        #[source]
        source: KeyError,
    },
    #[error("snapshot {name}")]
    Archive {
        name: String,
        #[source]
        source: ArchiveError,
    },
    /// The manifest names another source or time than where the archive is stored.
    #[error(transparent)]
    Misplaced(ArchiveError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl Classify for OpenError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            OpenError::SkipRefused | OpenError::NoVerifyKey | OpenError::NoIdentity => {
                Some(ExitStatus::Usage)
            }
            OpenError::Download { .. } => Some(ExitStatus::Failure),
            OpenError::Signature { source, .. } | OpenError::Key(source) => source.exit_status(),
            OpenError::Archive { source, .. } | OpenError::Misplaced(source) => {
                source.exit_status()
            }
            OpenError::Repo(e) => e.exit_status(),
        }
    }
}

/// How archives are opened: the repository's public key and the operator's identity.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `repository.verify_key`: the minisign public key every archive must be signed with.
    pub verify_key: Option<String>,
    /// Accept archives without checking their signature; refused while `verify_key` is set.
    pub insecure_skip_signature: bool,
    /// age identity file (or ssh private key) that decrypts the archives.
    pub identity: Option<PathBuf>,
    /// Whether an identity file others may read is used.
    pub key_permissions: KeyPermissions,
}

/// A downloaded snapshot whose signature has been checked.
pub struct Fetched {
    /// What the repository lists for it.
    pub info: SnapshotInfo,
    /// The encrypted archive, deleted when dropped.
    pub file: tempfile::NamedTempFile,
    /// Whether the signature names the snapshot (and so proves the archive is stored under its
    /// own name). Signatures made before they named their snapshot do not; such an archive's
    /// name is checked only once it is decrypted, against its manifest.
    pub name_signed: bool,
    /// Whether the signature was checked at all (not with `--insecure-skip-signature`).
    pub signature_checked: bool,
}

/// A snapshot open for reading its manifest and records.
pub struct OpenedSnapshot {
    /// What the repository lists for it.
    pub info: SnapshotInfo,
    /// The decrypting reader.
    pub reader: ArchiveReader<File>,
    /// The downloaded archive the reader reads, deleted when dropped.
    pub file: tempfile::NamedTempFile,
    /// Whether its signature was checked (not with `--insecure-skip-signature`).
    pub signature_checked: bool,
}

impl OpenOptions {
    /// Downloads the listed snapshot `info` and checks its signature, and that the signature
    /// was made for the name it is stored under: an archive copied or renamed within the
    /// repository (an older snapshot replayed as the newest) is refused before it is decrypted.
    pub async fn fetch_verified(
        &self,
        repo: &Repository,
        info: SnapshotInfo,
    ) -> Result<Fetched, OpenError> {
        let (file, signature) = repo.fetch(&info).await?;
        let mut name_signed = false;
        match (&self.verify_key, self.insecure_skip_signature) {
            (Some(_), true) => return Err(OpenError::SkipRefused),
            (Some(key), false) => {
                let data = File::open(file.path()).map_err(|source| OpenError::Download {
                    name: info.name.clone(),
                    source,
                })?;
                let signed =
                    keys::verify(key, &signature, data).map_err(|source| OpenError::Signature {
                        name: info.name.clone(),
                        source,
                    })?;
                match signed.snapshot {
                    Some(signed) if signed != info.name => {
                        return Err(OpenError::Misplaced(ArchiveError::Misplaced {
                            name: info.name,
                            found: format!("snapshot {signed}, as its signature says"),
                        }));
                    }
                    Some(_) => name_signed = true,
                    None => {
                        tracing::info!(snapshot = %info.name, "the signature predates signed snapshot names: the name is checked against the manifest once decrypted");
                    }
                }
            }
            (None, true) => {
                tracing::warn!(snapshot = %info.name, "signature not checked (--insecure-skip-signature)");
            }
            (None, false) => return Err(OpenError::NoVerifyKey),
        }
        Ok(Fetched {
            info,
            file,
            name_signed,
            signature_checked: self.verify_key.is_some(),
        })
    }

    /// The identities that decrypt archives.
    pub fn identities(&self) -> Result<Vec<Box<dyn age::Identity>>, OpenError> {
        let path = self.identity.as_ref().ok_or(OpenError::NoIdentity)?;
        Ok(keys::load_identities(path, self.key_permissions)?)
    }

    /// Fetches, verifies and opens `reference` for reading records.
    pub async fn open(
        &self,
        repo: &Repository,
        reference: &str,
    ) -> Result<OpenedSnapshot, OpenError> {
        let identities = self.identities()?;
        let info = repo.resolve(reference).await?;
        let fetched = self.fetch_verified(repo, info).await?;
        self.decrypt(fetched, &identities)
    }

    /// Opens a verified download with `identities` and checks that its manifest names the
    /// source and time it is stored under.
    pub fn decrypt(
        &self,
        fetched: Fetched,
        identities: &[Box<dyn age::Identity>],
    ) -> Result<OpenedSnapshot, OpenError> {
        let name = fetched.info.name.clone();
        let archive = |source| OpenError::Archive {
            name: name.clone(),
            source,
        };
        let file = File::open(fetched.file.path()).map_err(|source| OpenError::Download {
            name: name.clone(),
            source,
        })?;
        let reader = ArchiveReader::open(file, identities).map_err(archive)?;
        reader
            .manifest()
            .check_stored_as(&fetched.info.name, &fetched.info.source, fetched.info.time)
            .map_err(OpenError::Misplaced)?;
        Ok(OpenedSnapshot {
            info: fetched.info,
            reader,
            file: fetched.file,
            signature_checked: fetched.signature_checked,
        })
    }
}
