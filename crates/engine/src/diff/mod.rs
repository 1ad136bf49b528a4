//! Comparing two sets of records: what was added, removed or changed, field by field.
//!
//! Both inputs are streams of [`Record`]s sorted by (kind, id), as archives store them and as
//! the [`Spool`] gives back a live read. [`join`] pairs them by id, then by natural key, so a
//! re-created object reads as one changed record with its old and new id rather than as a
//! removal plus an addition. [`diff`] turns the pairs into [`Change`]s, sorted by kind and key
//! through a spool (memory stays bounded), with a [`Summary`] counted on the way; [`render`]
//! writes them as text, JSON or Markdown.
//!
//! ```no_run
//! # fn example(old: Vec<iamsnap_provider::Record>, new: Vec<iamsnap_provider::Record>) -> Result<(), iamsnap_engine::diff::DiffError> {
//! use iamsnap_engine::diff::{diff, render, DiffOptions};
//! let ok = |r| Ok::<_, std::io::Error>(r);
//! let result = diff(old.into_iter().map(ok), new.into_iter().map(ok), &DiffOptions::default())?;
//! render::text(result, &mut std::io::stdout().lock(), false)?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use iamsnap_provider::Record;
use serde::{Deserialize, Serialize};

use crate::archive::spool::{SortedRecords, Spool};

pub mod fields;
pub mod join;

pub mod render;
pub mod sides;

pub use fields::{FieldChange, field_changes};
pub use join::{JoinOptions, Joined, MatchedBy, join};

/// Which input of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Left => "first (old) side",
            Side::Right => "second (new) side",
        })
    }
}

/// Why a comparison could not be completed.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("reading the {side}")]
    Read {
        side: Side,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the {side} is not sorted by (kind, id): {kind} {id} came after a larger id; the archive is damaged or was not written by iamsnap"
    )]
    Unsorted {
        side: Side,
        kind: String,
        id: String,
    },
    #[error("temporary files of the comparison: {0}; check free space in the temp dir (TMPDIR)")]
    Spool(#[from] std::io::Error),
    #[error("writing the report: {0}")]
    Output(std::io::Error),
}

impl crate::error::Classify for DiffError {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        use crate::error::ExitStatus;
        match self {
            DiffError::Read { .. } => None,
            DiffError::Unsorted { .. } => Some(ExitStatus::Integrity),
            DiffError::Spool(_) | DiffError::Output(_) => Some(ExitStatus::Failure),
        }
    }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

/// One object that differs between the two sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: String,
    /// The natural key (the new one when a changed object was also renamed).
    pub key: String,
    pub status: Status,
    /// The id on the old side (absent for `added`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_id: Option<String>,
    /// The id on the new side (absent for `removed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// For `changed`: `id` when both sides share the id, `key` when the object was re-created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<MatchedBy>,
    /// For `changed`: every field that differs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

impl Change {
    /// The change a joined pair stands for, or `None` when both sides are identical.
    pub fn from_joined(joined: Joined) -> Option<Change> {
        match joined {
            Joined::Left(r) => Some(Change {
                kind: r.kind,
                key: r.key,
                status: Status::Removed,
                old_id: Some(r.id),
                new_id: None,
                matched_by: None,
                fields: Vec::new(),
            }),
            Joined::Right(r) => Some(Change {
                kind: r.kind,
                key: r.key,
                status: Status::Added,
                old_id: None,
                new_id: Some(r.id),
                matched_by: None,
                fields: Vec::new(),
            }),
            Joined::Both { left, right, by } => {
                if left == right {
                    return None;
                }
                let fields = field_changes(&left, &right);
                if fields.is_empty() && left.id == right.id {
                    return None;
                }
                Some(Change {
                    kind: right.kind,
                    key: right.key,
                    status: Status::Changed,
                    old_id: Some(left.id),
                    new_id: Some(right.id),
                    matched_by: Some(by),
                    fields,
                })
            }
        }
    }
}

/// Counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
}

impl Counts {
    /// Objects that differ.
    pub fn differences(&self) -> u64 {
        self.added + self.removed + self.changed
    }

    fn add(&mut self, other: &Counts) {
        self.added += other.added;
        self.removed += other.removed;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
    }
}

/// The totals of a comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// What the old side is, e.g. `okta-prod@2026-11-27 (20261127T020000Z-1a2b3c4d)`.
    pub old: String,
    /// What the new side is, e.g. `live:okta-prod`.
    pub new: String,
    /// Records read on each side.
    pub old_records: u64,
    pub new_records: u64,
    pub total: Counts,
    pub kinds: BTreeMap<String, Counts>,
}

impl Summary {
    pub fn is_same(&self) -> bool {
        self.total.differences() == 0
    }
}

/// Options of [`diff`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Labels of the two sides, carried into the summary.
    pub old_label: String,
    pub new_label: String,
    pub join: JoinOptions,
}

/// The result of a comparison: the summary, and the changes sorted by (kind, key).
pub struct Diff {
    pub summary: Summary,
    changes: SortedRecords,
}

impl Diff {
    /// The changes in (kind, key) order, read back from the spool.
    pub fn changes(self) -> impl Iterator<Item = Result<Change, DiffError>> {
        self.changes.map(|r| {
            let record = r?;
            serde_json::from_value(record.attrs)
                .map_err(|e| DiffError::Spool(std::io::Error::other(e)))
        })
    }
}

/// Compares `old` and `new`, both sorted by (kind, id).
pub fn diff<L, R, EL, ER>(old: L, new: R, options: &DiffOptions) -> Result<Diff, DiffError>
where
    L: Iterator<Item = Result<Record, EL>>,
    R: Iterator<Item = Result<Record, ER>>,
    EL: std::error::Error + Send + Sync + 'static,
    ER: std::error::Error + Send + Sync + 'static,
{
    let mut summary = Summary {
        old: options.old_label.clone(),
        new: options.new_label.clone(),
        ..Summary::default()
    };
    // Changes are carried through the spool as records whose id is their key, so they come
    // back sorted by (kind, key) whatever order the join found them in.
    let mut sorted = Spool::new(options.join.spool_dir.as_deref(), options.join.spool_budget)?;
    let (old_records, new_records) = join(old, new, &options.join, |joined| {
        let kind = match &joined {
            Joined::Left(r) | Joined::Right(r) => &r.kind,
            Joined::Both { right, .. } => &right.kind,
        };
        if !summary.kinds.contains_key(kind) {
            summary.kinds.insert(kind.clone(), Counts::default());
        }
        let counts = summary.kinds.get_mut(kind).expect("inserted above");
        let Some(change) = Change::from_joined(joined) else {
            counts.unchanged += 1;
            return Ok(());
        };
        match change.status {
            Status::Added => counts.added += 1,
            Status::Removed => counts.removed += 1,
            Status::Changed => counts.changed += 1,
        }
        let carrier = Record {
            kind: change.kind.clone(),
            id: change.key.clone(),
            key: String::new(),
            attrs: serde_json::to_value(&change).map_err(std::io::Error::other)?,
            refs: Vec::new(),
        };
        sorted.push(&carrier)?;
        Ok(())
    })?;
    summary.old_records = old_records;
    summary.new_records = new_records;
    let mut total = Counts::default();
    for counts in summary.kinds.values() {
        total.add(counts);
    }
    summary.total = total;
    Ok(Diff {
        summary,
        changes: sorted.finish()?,
    })
}

#[cfg(test)]
mod tests;
