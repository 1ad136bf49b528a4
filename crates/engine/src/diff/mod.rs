//! Comparing two sets of records: what was added, removed or changed, field by field.
//!
//! Both inputs are streams of [`Record`]s sorted by (kind, id), as archives store them and as
//! the [`Spool`] gives back a live read. [`join`] pairs them by id, then by natural key, so a
//! re-created object reads as one object with its old and new id rather than as a removal plus
//! an addition.
//!
//! Records are compared in key space: a reference names the same object on both sides when
//! its targets are paired by the join, whatever their ids. A pair whose only differences are
//! its own id and ids of references to re-created objects is [`Recreated`], not changed; the
//! moved ids its references need are found on disk by [`moved::MovedIds`]. [`diff`] turns the
//! pairs into [`Change`]s and [`Recreated`]s, each sorted by kind and key through a spool
//! (memory stays bounded), with a [`Summary`] counted on the way; [`render`] writes them as
//! text, JSON or Markdown.
//!
//! ```no_run
//! # fn example(old: Vec<iamsnap_provider::Record>, new: Vec<iamsnap_provider::Record>) -> Result<(), iamsnap_engine::diff::DiffError> {
//! use iamsnap_engine::diff::{diff, render, DiffOptions};
//! use iamsnap_engine::report::{Detail, Kinds};
//! let ok = |r| Ok::<_, std::io::Error>(r);
//! let result = diff(old.into_iter().map(ok), new.into_iter().map(ok), &DiffOptions::default())?;
//! render::text(result, &mut std::io::stdout().lock(), &Detail::default(), &Kinds::default())?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::{AuditEvent, Record, Ref};
use serde::{Deserialize, Serialize};

use crate::archive::spool::{SortedRecords, Spool};
use crate::diff::moved::{ItemIds, MovedIds};
use crate::restore::spill::SpillWriter;

pub mod along;
pub mod fields;
pub mod join;
pub mod moved;

pub mod render;
pub mod sides;
pub mod who;

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
    /// For `removed`: what the removed record referred to, so that a relationship record
    /// (a membership) can be told apart by the objects it names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<Ref>,
    /// With `--who`: the audit events that touched the object between the two sides' times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<AuditEvent>,
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
                refs: r.refs,
                events: Vec::new(),
            }),
            Joined::Right(r) => Some(Change {
                kind: r.kind,
                key: r.key,
                status: Status::Added,
                old_id: None,
                new_id: Some(r.id),
                matched_by: None,
                fields: Vec::new(),
                refs: Vec::new(),
                events: Vec::new(),
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
                    refs: Vec::new(),
                    events: Vec::new(),
                })
            }
        }
    }
}

/// An object present on both sides whose only differences are ids: its own (it was deleted
/// and re-created, or the sides are different tenants) or those of the objects it references
/// (which were re-created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recreated {
    pub kind: String,
    pub key: String,
    pub old_id: String,
    pub new_id: String,
    /// The references whose target has another id on the new side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_refs: Vec<MovedRef>,
}

/// A reference to an object that has another id on the new side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedRef {
    pub rel: String,
    pub kind: String,
    pub old_id: String,
    pub new_id: String,
}

/// Counts for one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Same objects under other ids (see [`Recreated`]): not differences.
    #[serde(default)]
    pub recreated: u64,
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
        self.recreated += other.recreated;
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
    /// With `--who`: the audit log read for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<who::AuditSummary>,
    /// Kinds left out of the comparison because one side did not read them (a source's
    /// `exclude_kinds`): what a side did not read is unknown, not absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
}

impl Summary {
    /// No object added, removed or changed (objects re-created under new ids aside).
    pub fn is_same(&self) -> bool {
        self.total.differences() == 0
    }

    /// Nothing differs at all, not even ids.
    pub fn is_identical(&self) -> bool {
        self.is_same() && self.total.recreated == 0
    }
}

/// Options of [`diff`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Labels of the two sides, carried into the summary.
    pub old_label: String,
    pub new_label: String,
    pub join: JoinOptions,
    /// Keep the ids of what differs ([`Diff::target_ids`]), to ask an audit log about them.
    pub keep_ids: bool,
    /// Kinds the caller leaves out because one side did not read them, carried into the
    /// summary ([`Summary::not_compared`]).
    pub not_compared: Vec<String>,
}

/// The result of a comparison: the summary, the changes and the re-created objects, each
/// sorted by (kind, key).
pub struct Diff {
    pub summary: Summary,
    changes: SortedRecords,
    recreated: SortedRecords,
    /// With [`DiffOptions::keep_ids`]: the ids an audit log may name for the changes.
    target_ids: BTreeSet<String>,
    who: Option<std::sync::Arc<who::Who>>,
}

fn carried<T: serde::de::DeserializeOwned>(
    records: SortedRecords,
) -> impl Iterator<Item = Result<T, DiffError>> {
    records.map(|r| {
        let record = r?;
        serde_json::from_value(record.attrs).map_err(|e| DiffError::Spool(std::io::Error::other(e)))
    })
}

/// An item carried through a spool as a record whose id is its key, so that items come back
/// sorted by (kind, key) whatever order they were found in.
fn carrier<T: Serialize>(kind: &str, key: &str, item: &T) -> std::io::Result<Record> {
    Ok(Record {
        kind: kind.to_string(),
        id: key.to_string(),
        key: String::new(),
        attrs: serde_json::to_value(item).map_err(std::io::Error::other)?,
        refs: Vec::new(),
    })
}

/// The changes and the re-created objects of a [`Diff`], read back from their spools.
pub struct Parts {
    pub summary: Summary,
    pub changes: Box<dyn Iterator<Item = Result<Change, DiffError>>>,
    pub recreated: Box<dyn Iterator<Item = Result<Recreated, DiffError>>>,
}

impl Diff {
    /// The changes in (kind, key) order, read back from the spool (with their events, once
    /// [`Diff::annotate`]d).
    pub fn changes(self) -> impl Iterator<Item = Result<Change, DiffError>> {
        let who = self.who;
        carried(self.changes).map(move |c: Result<Change, DiffError>| match &who {
            Some(who) => c.map(|c| who.annotate(c)),
            None => c,
        })
    }

    /// The ids an audit log may name for the changes (kept with [`DiffOptions::keep_ids`]).
    pub fn target_ids(&self) -> Vec<String> {
        self.target_ids.iter().cloned().collect()
    }

    /// Gives each change the events of `who` that touched it, and the summary what was read.
    pub fn annotate(mut self, who: who::Who, audit: who::AuditSummary) -> Diff {
        self.summary.audit = Some(audit);
        self.who = Some(std::sync::Arc::new(who));
        self
    }

    /// The summary, the changes and the re-created objects, each in (kind, key) order.
    pub fn into_parts(self) -> Parts {
        let summary = self.summary.clone();
        let recreated = Box::new(carried(self.recreated));
        let who = self.who;
        let changes = carried(self.changes).map(move |c: Result<Change, DiffError>| match &who {
            Some(who) => c.map(|c| who.annotate(c)),
            None => c,
        });
        Parts {
            summary,
            changes: Box::new(changes),
            recreated,
        }
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
        not_compared: options.not_compared.clone(),
        ..Summary::default()
    };
    let (dir, budget) = (options.join.spool_dir.as_deref(), options.join.spool_budget);
    let mut sorted = Spool::new(dir, budget)?;
    let mut recreated = Spool::new(dir, budget)?;
    // Pairs whose ids differ, or whose refs do, wait on disk until every moved id is known:
    // a membership sorts before the user it names.
    let mut pending = SpillWriter::<(Record, Record)>::new(dir)?;
    let mut moved = MovedIds::new(dir, budget)?;
    let mut target_ids = BTreeSet::new();
    let (old_records, new_records) = join(old, new, &options.join, |joined| {
        let kind = match &joined {
            Joined::Left(r) | Joined::Right(r) => &r.kind,
            Joined::Both { right, .. } => &right.kind,
        };
        if !summary.kinds.contains_key(kind) {
            summary.kinds.insert(kind.clone(), Counts::default());
        }
        let counts = summary.kinds.get_mut(kind).expect("inserted above");
        if let Joined::Both { left, right, .. } = &joined
            && left != right
            && (left.id != right.id || left.refs != right.refs)
        {
            if left.id != right.id {
                moved.moved(&left.kind, &left.id, &right.id)?;
            }
            moved.resolve(pending.len(), &left.refs)?;
            let Joined::Both { left, right, .. } = joined else {
                unreachable!("matched above")
            };
            return pending.push(&(left, right)).map_err(DiffError::from);
        }
        let Some(change) = Change::from_joined(joined) else {
            counts.unchanged += 1;
            return Ok(());
        };
        match change.status {
            Status::Added => counts.added += 1,
            Status::Removed => counts.removed += 1,
            Status::Changed => counts.changed += 1,
        }
        if options.keep_ids {
            who::target_ids(&change, &mut target_ids);
        }
        sorted.push(&carrier(&change.kind, &change.key, &change)?)?;
        Ok(())
    })?;
    let mut resolved = moved.finish(false)?;
    for (k, pair) in pending.finish()?.iter()?.enumerate() {
        let (left, right) = pair?;
        let ids = resolved.ids_of(k)?;
        let counts = summary.kinds.entry(right.kind.clone()).or_default();
        match compare(&left, &right, &ids) {
            None => {
                counts.recreated += 1;
                let item = Recreated {
                    moved_refs: ids
                        .moved_refs(&left)
                        .map(|(r, new_id)| MovedRef {
                            rel: r.rel.clone(),
                            kind: r.kind.clone(),
                            old_id: r.id.clone(),
                            new_id: new_id.clone(),
                        })
                        .collect(),
                    kind: right.kind,
                    key: right.key,
                    old_id: left.id,
                    new_id: right.id,
                };
                recreated.push(&carrier(&item.kind, &item.key, &item)?)?;
            }
            Some(fields) => {
                counts.changed += 1;
                let change = Change {
                    kind: right.kind,
                    key: right.key,
                    status: Status::Changed,
                    matched_by: Some(if left.id == right.id {
                        MatchedBy::Id
                    } else {
                        MatchedBy::Key
                    }),
                    old_id: Some(left.id),
                    new_id: Some(right.id),
                    fields,
                    refs: Vec::new(),
                    events: Vec::new(),
                };
                if options.keep_ids {
                    who::target_ids(&change, &mut target_ids);
                }
                sorted.push(&carrier(&change.kind, &change.key, &change)?)?;
            }
        }
    }
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
        recreated: recreated.finish()?,
        target_ids,
        who: None,
    })
}

/// The fields that differ between `left` and `right` in key space, or `None` when only ids
/// do. Where a field also differs by raw id, it is shown as the sides hold it; a field that
/// differs only once the moved ids are applied (the new side still names an object by the id
/// it had before it was re-created) is shown with `left`'s references rewritten.
fn compare(left: &Record, right: &Record, ids: &ItemIds) -> Option<Vec<FieldChange>> {
    let in_key_space = field_changes(&ids.rewrite(left, &right.id), right);
    if in_key_space.is_empty() {
        return None;
    }
    let mut raw = field_changes(left, right);
    Some(
        in_key_space
            .into_iter()
            .map(|f| match raw.iter().position(|r| r.path == f.path) {
                Some(at) => raw.swap_remove(at),
                None => f,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
