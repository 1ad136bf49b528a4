//! The two sides of `diff A B`: each a stored snapshot or the live state of a source.
//!
//! [`resolve`] reads what each side argument names (`live` alone takes the other side's
//! source); the command line builds connectors for the live sides; [`Opened`] gives either
//! kind of side as one sorted record stream.

use std::collections::BTreeSet;
use std::fs::File;

use iamsnap_provider::{KindInfo, Record};

use crate::archive::spool::SortedRecords;
use crate::archive::{ArchiveError, ArchiveReader};
use crate::error::{Classify, ExitStatus};
use crate::open::{OpenError, OpenedSnapshot};
use crate::repo::{RepoError, Repository};

/// What one side argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SideRef {
    /// A snapshot reference (`SOURCE@latest`, a name, …).
    Snapshot(String),
    /// The live state of the configured source.
    Live(String),
}

/// Why the sides could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error("`live` needs a snapshot on the other side to know which source; write live:SOURCE")]
    LiveWithoutSource,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl Classify for SideError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            SideError::LiveWithoutSource => Some(ExitStatus::Usage),
            SideError::Repo(e) => e.exit_status(),
        }
    }
}

/// What the side arguments `a` and `b` name, `live` resolved against the other side.
pub async fn resolve(repo: &Repository, a: &str, b: &str) -> Result<(SideRef, SideRef), SideError> {
    Ok((side(repo, a, b).await?, side(repo, b, a).await?))
}

async fn side(repo: &Repository, this: &str, other: &str) -> Result<SideRef, SideError> {
    if let Some(source) = this.strip_prefix("live:") {
        return Ok(SideRef::Live(source.to_string()));
    }
    if this == "live" {
        if other == "live" || other.starts_with("live:") {
            return Err(SideError::LiveWithoutSource);
        }
        return Ok(SideRef::Live(repo.resolve(other).await?.source));
    }
    Ok(SideRef::Snapshot(this.to_string()))
}

/// A record read from either kind of side.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Archive(#[source] ArchiveError),
    #[error("{0}")]
    Spool(#[source] std::io::Error),
}

/// One side of a comparison, opened.
pub enum Opened {
    /// A stored snapshot, verified and decrypting.
    Snapshot(Box<OpenedSnapshot>),
    /// The live state of `source`, read and sorted.
    Live {
        /// The configured source's name.
        source: String,
        /// Its records, sorted by (kind, id).
        records: SortedRecords,
        /// The kinds the connector read ([`iamsnap_provider::ReadProvider::kinds_read`]).
        kinds_read: BTreeSet<String>,
    },
}

/// The records of an opened side.
pub type SideRecords<'a> = Box<dyn Iterator<Item = Result<Record, ReadError>> + 'a>;

impl Opened {
    /// The side as the report names it: the snapshot's name or `live:SOURCE`.
    pub fn label(&self) -> String {
        match self {
            Opened::Snapshot(s) => s.info.name.clone(),
            Opened::Live { source, .. } => format!("live:{source}"),
        }
    }

    /// Whether this side read `kind`: a snapshot that records no kinds read them all.
    pub fn read_kind(&self, kind: &str) -> bool {
        match self {
            Opened::Snapshot(s) => s.reader.manifest().read_kind(kind),
            Opened::Live { kinds_read, .. } => kinds_read.contains(kind),
        }
    }

    /// Its records, sorted by (kind, id), but those of the kinds in `unread`.
    pub fn records_read(
        &mut self,
        unread: &BTreeSet<String>,
    ) -> Result<SideRecords<'_>, OpenError> {
        if unread.is_empty() {
            return self.records();
        }
        let unread = unread.clone();
        Ok(Box::new(self.records()?.filter(move |r| {
            r.as_ref().map_or(true, |r| !unread.contains(&r.kind))
        })))
    }

    /// Its records, sorted by (kind, id).
    pub fn records(&mut self) -> Result<SideRecords<'_>, OpenError> {
        Ok(match self {
            Opened::Snapshot(snapshot) => {
                Box::new(snapshot_records(&mut snapshot.reader).map_err(|source| {
                    OpenError::Archive {
                        name: snapshot.info.name.clone(),
                        source,
                    }
                })?)
            }
            Opened::Live { records, .. } => Box::new(records.map(|r| r.map_err(ReadError::Spool))),
        })
    }
}

/// The kinds of `kinds` that one of the sides did not read: a comparison leaves them out,
/// since what a side did not read is unknown, not absent.
pub fn not_read_by_both(kinds: &[KindInfo], old: &Opened, new: &Opened) -> BTreeSet<String> {
    kinds
        .iter()
        .filter(|k| !old.read_kind(k.name) || !new.read_kind(k.name))
        .map(|k| k.name.to_string())
        .collect()
}

fn snapshot_records(
    reader: &mut ArchiveReader<File>,
) -> Result<impl Iterator<Item = Result<Record, ReadError>> + '_, ArchiveError> {
    Ok(reader.records()?.map(|r| r.map_err(ReadError::Archive)))
}
