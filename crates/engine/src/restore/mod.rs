//! Bringing a provider back to a snapshot's state: plan, print, apply, verify.
//!
//! 1. [`plan()`] joins the snapshot with the live records (see [`crate::diff`]) and turns the
//!    differences into [`PlannedOp`]s: creates and updates in the kinds' dependency order,
//!    deletes (authoritative mode only, within `max_deletes`) in reverse order, filtered by
//!    `--only` and `--kinds`, minus what the connector cannot do (reported as [`Skipped`]),
//!    plus the [`CannotRestore`] report of what re-created objects lose. The plan's long lists
//!    are [`spill::Spilled`] to temporary files, so planning the re-creation of a whole
//!    organisation takes no more memory than planning a small change.
//! 2. [`render`] prints the plan as text or JSON.
//! 3. [`apply()`] runs it level by level with bounded concurrency, resolving snapshot ids to
//!    live ids through [`LiveIds`], writing every operation to a [`Journal`] before and after
//!    it runs (sealed like an archive: encrypted to the repository's recipients, signed), so
//!    that [`Journal::latest_unfinished`] can resume a killed restore without repeating a
//!    create; then reads every touched object back and reports [`Residual`]s.

pub mod apply;
pub mod ids;
pub mod journal;
mod order;
pub mod plan;
pub mod render;
pub mod resume;
pub mod run;
pub mod spill;
mod verify;

pub use apply::{ApplyOptions, ApplyReport, Failure, Residual, apply};
pub use ids::LiveIds;
pub use journal::{Journal, JournalError, JournalKeys, JournalStore, LocalJournalStore};
pub use plan::{
    CannotRestore, Counts, LeftAlone, Mode, Plan, PlanOptions, PlannedOp, Segment, Selector,
    Skipped, plan, resolve_kind,
};
pub use run::{Prepared, Request, Resumed, prepare};

/// A restore refused before anything ran: the request itself has to change.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("unknown kind {given:?}; this connector's kinds are: {known}")]
    UnknownKind { given: String, known: String },
    #[error("--only {0:?}: write KIND:KEY, e.g. group:Engineering or okta.user:ada@example.com")]
    BadSelector(String),
    #[error("--only {0}: no such object in the snapshot or live; check the kind and the exact key")]
    NoMatch(String),
    #[error(
        "the plan deletes {count} objects but --max-deletes is {max} (first: {examples}); review the plan, then raise --max-deletes or restore additively"
    )]
    TooManyDeletes {
        count: u64,
        max: u64,
        examples: String,
    },
    #[error("no unfinished restore of {snapshot} into {target} to resume; run without --resume")]
    NothingToResume { target: String, snapshot: String },
    #[error(
        "--target {target} is a {target_type} source but the snapshot comes from {source_type}; restore into a source of the same provider type"
    )]
    TargetType {
        target: String,
        target_type: String,
        source_type: String,
    },
}

impl crate::error::Classify for Refusal {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        Some(crate::error::ExitStatus::Usage)
    }
}

/// Why a restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("comparing the snapshot with the live state")]
    Compare(#[from] crate::diff::DiffError),
    #[error(transparent)]
    Live(#[from] crate::live::LiveError),
    #[error("snapshot {name}")]
    Snapshot {
        name: String,
        #[source]
        source: crate::archive::ArchiveError,
    },
    #[error("asking {target} which identity iamsnap runs as")]
    SelfIdentity {
        target: String,
        #[source]
        source: iamsnap_provider::ProviderError,
    },
    #[error("reading what {target} can bring back without re-creating it (its recycle bin)")]
    BeforePlan {
        target: String,
        #[source]
        source: iamsnap_provider::ProviderError,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "reading or writing the plan's temporary files (in the system temp folder, or TMPDIR); check the free space there"
    )]
    Spill(#[source] std::io::Error),
    #[error(
        "the restore stopped at the first write these credentials may not make; nothing further was tried"
    )]
    Denied(#[source] iamsnap_provider::ProviderError),
}

impl crate::error::Classify for RestoreError {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        match self {
            RestoreError::Refused(e) => e.exit_status(),
            RestoreError::Journal(e) => e.exit_status(),
            RestoreError::Compare(_) => None,
            RestoreError::Live(e) => e.exit_status(),
            RestoreError::Snapshot { source, .. } => source.exit_status(),
            RestoreError::SelfIdentity { source, .. } | RestoreError::BeforePlan { source, .. } => {
                source.exit_status()
            }
            RestoreError::Spill(_) | RestoreError::Denied(_) => {
                Some(crate::error::ExitStatus::Failure)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod memory;
#[cfg(test)]
mod tests;
