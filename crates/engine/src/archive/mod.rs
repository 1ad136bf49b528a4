//! Snapshot archives: records → canonical JSON lines → tar → zstd → age, and back.
//!
//! An archive is an age-encrypted stream of a zstd-compressed tar: `manifest.json` first
//! ([`Manifest`]), then `records/<kind>.jsonl` in kind order, one canonical record per line,
//! sorted by id. It opens with standard tools alone:
//! `age -d -i KEY SNAP.iamsnap | zstd -d | tar -x`.
//!
//! [`build`] is the backup pipeline's end: it writes the archive of a [`SortedRecords`] stream
//! to a temporary file and signs it, ready for [`crate::repo::Repository::publish`].
//! [`ArchiveReader`] reads one back, checking every hash, size, count and order.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::error::{Classify, ExitStatus};
use crate::keys::{KeyError, SigningKey};
use crate::scratch::ScratchDir;

#[doc(hidden)]
pub mod fuzz;
pub mod manifest;
pub mod reader;
pub mod spool;
pub mod writer;

pub use manifest::{EntryDigest, FORMAT_VERSION, Manifest, ManifestHeader};
pub use reader::{ArchiveReader, Records, read_manifest_only};
pub use spool::{SortedRecords, Spool};
pub use writer::{write_archive, write_archive_in};

/// An archive that could not be written or read, or that failed a check.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot write the archive ({context}): {source}")]
    Write { context: String, source: io::Error },
    #[error("no recipients to encrypt to: add repository.recipients to the configuration")]
    NoRecipients,
    #[error("cannot encrypt: {reason}; check repository.recipients")]
    Encrypt { reason: String },
    #[error(
        "kind {kind:?} cannot name an archive entry (letters, digits, '.', '_', '-' only); this is a connector bug"
    )]
    InvalidKind { kind: String },
    #[error("two different records share kind {kind} and id {id}; this is a connector bug")]
    DuplicateRecord { kind: String, id: String },
    #[error(
        "no identity given to decrypt the archive: pass --identity FILE or set IAMSNAP_IDENTITY"
    )]
    NoIdentity,
    #[error(
        "not an iamsnap archive (bad age header: {reason}); the file is damaged or is not a snapshot"
    )]
    NotAnArchive { reason: String },
    #[error(
        "the identity does not match the archive's recipients: use the identity whose public key is in repository.recipients"
    )]
    WrongKey,
    #[error("the archive is damaged: {reason}")]
    Corrupt { reason: String },
    #[error(
        "archive format version {version} is newer than this iamsnap knows ({FORMAT_VERSION}); upgrade iamsnap to read it"
    )]
    UnsupportedFormat { version: u64 },
    #[error("the archive is damaged: {path} has SHA-256 {actual}, the manifest says {expected}")]
    HashMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("the archive is damaged: {path} is {actual} bytes, the manifest says {expected}")]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "the archive is damaged: kind {kind} has {actual} records, the manifest says {expected}"
    )]
    CountMismatch {
        kind: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "the archive holds an entry the manifest does not list or that is not a record file: {path:?}"
    )]
    UnexpectedEntry { path: String },
    #[error("the archive lacks entry {path} that its manifest lists")]
    MissingEntry { path: String },
    #[error("the archive is damaged: {path}: {reason}")]
    OutOfOrder { path: String, reason: String },
    #[error(
        "snapshot {name} holds an archive of {found}: it was moved or copied there from another snapshot, and is refused"
    )]
    Misplaced { name: String, found: String },
    #[error("the records of this archive were already read; open it again")]
    RecordsAlreadyRead,
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl Classify for ArchiveError {
    fn exit_status(&self) -> Option<ExitStatus> {
        Some(match self {
            ArchiveError::NoRecipients
            | ArchiveError::Encrypt { .. }
            | ArchiveError::NoIdentity => ExitStatus::Usage,
            ArchiveError::Write { .. }
            | ArchiveError::InvalidKind { .. }
            | ArchiveError::DuplicateRecord { .. }
            | ArchiveError::UnsupportedFormat { .. }
            | ArchiveError::RecordsAlreadyRead => ExitStatus::Failure,
            ArchiveError::Key(e) => return e.exit_status(),
            _ => ExitStatus::Integrity,
        })
    }
}

/// A written, signed archive in a temporary file, deleted when dropped unless published.
#[derive(Debug)]
pub struct BuiltArchive {
    pub file: tempfile::NamedTempFile,
    /// The `.minisig` contents, over the encrypted bytes.
    pub signature: String,
    pub manifest: Manifest,
    /// Size of the encrypted archive in bytes.
    pub size: u64,
    /// The private folder holding `file`, removed with it (or by the next run, after a kill).
    _scratch: ScratchDir,
}

impl BuiltArchive {
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// Writes the archive of `records` into a temporary file under `dir` (the system temp dir when
/// `None`), encrypted to `recipients`, and signs the encrypted bytes with `signing_key` as the
/// archive of the snapshot `header` names.
pub fn build(
    header: ManifestHeader,
    records: SortedRecords,
    recipients: &[Box<dyn age::Recipient + Send>],
    signing_key: &SigningKey,
    dir: Option<&Path>,
) -> Result<BuiltArchive, ArchiveError> {
    let write = |context: &str| {
        let context = context.to_string();
        move |source| ArchiveError::Write { context, source }
    };
    let name = header.snapshot.clone();
    let scratch = ScratchDir::new(dir, "archive").map_err(write("creating a scratch folder"))?;
    let file = scratch
        .ciphertext_file(".iamsnap-", ".iamsnap.tmp")
        .map_err(write("creating a temporary file"))?;
    let mut out = BufWriter::new(file.as_file());
    let manifest = writer::write_archive_with(&scratch, header, records, recipients, &mut out)?;
    out.flush().map_err(write("writing the temporary file"))?;
    drop(out);
    file.as_file()
        .sync_all()
        .map_err(write("syncing the temporary file"))?;
    let size = file
        .as_file()
        .metadata()
        .map_err(write("reading the temporary file"))?
        .len();
    let reread = file
        .reopen()
        .map_err(write("reopening the temporary file"))?;
    let signature = signing_key.sign(&name, io::BufReader::new(reread))?;
    Ok(BuiltArchive {
        file,
        signature,
        manifest,
        size,
        _scratch: scratch,
    })
}

#[cfg(test)]
mod tests;
