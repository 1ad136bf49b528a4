//! Restore drills: prove that a snapshot restores, by restoring it into a sandbox.
//!
//! [`run`] takes the sandbox's lease, plans the restore of the snapshot into the sandbox (a
//! source of the same provider), applies it (journalled and verified, as `restore --apply`
//! does), then plans again: what that second plan still has to do is what did not come back.
//! The [`DrillReport`] counts facts, the snapshot's records (objects and relationships) in
//! the drilled kinds:
//!
//! - *cannot restore*: records the plan leaves out (what the connector can never write, what
//!   would weaken its own identity) and objects the connector refuses to re-create (Okta's
//!   own default objects); by the provider's own rules they count neither for nor against
//!   the drill. An object re-created with a loss the connector reports (a user without its
//!   password) is restorable: it must come back, and the loss is listed beside it;
//! - *not back*: records the second plan still creates or updates;
//! - *back*: the rest. Fidelity is back / (facts − cannot restore).
//!
//! The restore time is measured from the first write to the end of verification.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use iamsnap_provider::{Action, WriteProvider};
use serde::{Deserialize, Serialize};

use crate::diff::FieldChange;
use crate::error::{Classify, ExitStatus};
use crate::open::OpenError;
use crate::repo::lease::LeaseError;
use crate::repo::{RepoError, Repository};
use crate::report::Kinds;
use crate::restore::{self, Failure, JournalKeys, Mode, Request, RestoreError, resolve_kind};

pub mod metrics;
pub mod render;

/// What to drill.
#[derive(Debug, Clone, Default)]
pub struct DrillRequest {
    /// The snapshot reference (`okta-prod@latest`).
    pub snapshot: String,
    /// The configured sandbox source restored into.
    pub target: String,
    /// Kinds to drill (full or short names); empty for every kind.
    pub kinds: Vec<String>,
}

/// The result of a drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    /// The snapshot restored, as resolved.
    pub snapshot: String,
    /// The source the snapshot was taken of.
    pub source: String,
    /// The sandbox restored into.
    pub target: String,
    pub provider: String,
    /// When the snapshot was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_time: Option<DateTime<Utc>>,
    /// Whether the snapshot's signature was checked (not with `--insecure-skip-signature`).
    #[serde(default)]
    pub signature_checked: bool,
    pub started: DateTime<Utc>,
    /// Seconds from the first write to the end of verification.
    pub restore_seconds: f64,
    /// Seconds for the whole drill: plan, restore, verification and the second plan.
    pub duration_seconds: f64,
    pub facts: Facts,
    /// The facts of each drilled kind, in dependency order.
    #[serde(default)]
    pub kinds: Vec<KindFacts>,
    /// Back / restorable, from 0 to 1 (1 when nothing is restorable).
    pub fidelity: f64,
    /// Operations of the restore: done, failed.
    pub operations_done: usize,
    pub operations_failed: usize,
    /// What reading the written objects back after the restore found.
    #[serde(default)]
    pub verification: Verification,
    /// What the connector reports it cannot restore, with what to do by hand.
    pub cannot_restore: Vec<CannotRestoreEntry>,
    /// Restorable records that did not come back.
    pub not_back: Vec<NotBack>,
    /// Operations that failed, with the provider's answer.
    pub failures: Vec<Failure>,
    /// The restore's journal in the repository.
    pub journal: String,
    /// Why the drill stopped before its end (for metrics of a drill that could not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts of facts (records of the snapshot in the drilled kinds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub total: u64,
    pub cannot_restore: u64,
    pub restorable: u64,
    pub back: u64,
    pub not_back: u64,
}

/// The facts of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindFacts {
    pub kind: String,
    #[serde(flatten)]
    pub facts: Facts,
}

/// What the restore's verification found: each object it wrote read back and compared with
/// the snapshot (nothing when the sandbox already matched and nothing was written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Objects written and read back.
    pub read_back: usize,
    /// Of those, objects that still differ from the snapshot.
    pub still_different: usize,
    /// Of those, differences that what cannot be restored explains (a user re-created without
    /// its password cannot be active).
    pub explained: usize,
}

/// One cannot-restore entry of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannotRestoreEntry {
    pub kind: String,
    pub reason: String,
    pub count: usize,
    /// The first keys (at most [`KEYS_SHOWN`]).
    pub keys: Vec<String>,
}

/// A restorable record that did not come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotBack {
    /// What the second plan still does: `create` (missing) or `update` (different).
    pub action: Action,
    pub kind: String,
    pub key: String,
    /// The fields that still differ, for an update.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The same fields with the sandbox's value beside the snapshot's, for the HTML report.
    /// Not in the JSON report, whose `fields` stay paths.
    #[serde(skip)]
    pub changes: Vec<FieldChange>,
}

impl Facts {
    /// Back / restorable, from 0 to 1 (1 when nothing is restorable).
    pub fn fidelity(&self) -> f64 {
        if self.restorable == 0 {
            1.0
        } else {
            self.back as f64 / self.restorable as f64
        }
    }
}

/// Keys listed per cannot-restore entry.
pub const KEYS_SHOWN: usize = 20;

impl DrillReport {
    /// True when every restorable fact came back and no operation failed.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.facts.not_back == 0 && self.operations_failed == 0
    }
}

/// Why a drill could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(
        "drill: the sandbox {target} is the snapshot's own source; drill into a separate source of the same provider"
    )]
    OwnSource { target: String },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("drill: cannot read the plan's temporary files")]
    Spill(#[source] std::io::Error),
}

impl Classify for DrillError {
    fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            DrillError::OwnSource { .. } => Some(ExitStatus::Usage),
            DrillError::Open(e) => e.exit_status(),
            DrillError::Restore(e) => e.exit_status(),
            DrillError::Lease(e) => e.exit_status(),
            DrillError::Repo(e) => e.exit_status(),
            DrillError::Spill(_) => Some(ExitStatus::Failure),
        }
    }
}

/// Restores `request.snapshot` into the sandbox `target` (configured as `request.target`),
/// verifies, plans again and reports. `keys` open the snapshot and seal the journal.
pub async fn run(
    repo: &Repository,
    target: &dyn WriteProvider,
    request: &DrillRequest,
    keys: JournalKeys,
) -> Result<DrillReport, DrillError> {
    let began = Instant::now();
    let started = Utc::now();
    let info = repo.resolve(&request.snapshot).await?;
    if info.source == request.target {
        return Err(DrillError::OwnSource {
            target: request.target.clone(),
        });
    }
    let lease = repo.take_lease(&request.target, "drill").await?;
    let result = drill(repo, target, request, keys, info.name.clone()).await;
    lease.release().await;
    let mut report = result?;
    report.started = started;
    report.duration_seconds = began.elapsed().as_secs_f64();
    Ok(report)
}

async fn drill(
    repo: &Repository,
    target: &dyn WriteProvider,
    request: &DrillRequest,
    keys: JournalKeys,
    name: String,
) -> Result<DrillReport, DrillError> {
    let restore_request = Request {
        target: request.target.clone(),
        kinds: request.kinds.clone(),
        mode: Mode::Additive,
        ..Request::default()
    };
    let drilled: Option<BTreeSet<String>> = if request.kinds.is_empty() {
        None
    } else {
        Some(
            request
                .kinds
                .iter()
                .map(|k| resolve_kind(k.trim(), target.kinds()))
                .collect::<Result<_, _>>()?,
        )
    };

    let snapshot = keys.open.open(repo, &name).await?;
    let manifest = snapshot.reader.manifest().clone();
    let (snapshot_time, signature_checked) = (snapshot.info.time, snapshot.signature_checked);
    let prepared = restore::prepare(repo, snapshot, target, &restore_request, keys.clone()).await?;
    let plan = &prepared.plan;

    // What the plan writes; a cannot-restore entry of an object it writes is a partial loss
    // (a user re-created without its password), one of an object it does not write is an
    // object the provider refuses to re-create.
    let mut written: BTreeSet<(String, String)> = BTreeSet::new();
    for op in plan.operations.iter().map_err(DrillError::Spill)? {
        let op = op.map_err(DrillError::Spill)?;
        if op.action != Action::Delete {
            written.insert((op.kind, op.key));
        }
    }
    let mut cannot: BTreeSet<(String, String)> = plan
        .skipped
        .iter()
        .filter(|s| s.action != Action::Delete)
        .map(|s| (s.kind.clone(), s.key.clone()))
        .collect();
    let mut cannot_restore = Vec::new();
    for entry in &plan.cannot_restore {
        let mut shown = Vec::new();
        for key in entry.keys.iter().map_err(DrillError::Spill)? {
            let key = key.map_err(DrillError::Spill)?;
            if shown.len() < KEYS_SHOWN {
                shown.push(key.clone());
            }
            let fact = (entry.kind.clone(), key);
            if !written.contains(&fact) {
                cannot.insert(fact);
            }
        }
        cannot_restore.push(CannotRestoreEntry {
            kind: entry.kind.clone(),
            reason: entry.reason.clone(),
            count: entry.count,
            keys: shown,
        });
    }

    let restore_began = Instant::now();
    let applied = if plan.operations.is_empty() {
        restore::ApplyReport::default()
    } else {
        prepared.execute(target).await?
    };
    let restore_seconds = restore_began.elapsed().as_secs_f64();
    drop(prepared);

    // The snapshot against the sandbox, in restore terms: what a second restore would do.
    let snapshot = keys.open.open(repo, &name).await?;
    let again = restore::prepare(repo, snapshot, target, &restore_request, keys).await?;
    let mut not_back = Vec::new();
    for op in again.plan.operations.iter().map_err(DrillError::Spill)? {
        let op = op.map_err(DrillError::Spill)?;
        if op.action == Action::Delete || cannot.contains(&(op.kind.clone(), op.key.clone())) {
            continue;
        }
        not_back.push(NotBack {
            action: op.action,
            kind: op.kind,
            key: op.key,
            fields: op.fields.iter().map(|f| f.path.clone()).collect(),
            changes: op.fields,
        });
    }

    let in_drill = |kind: &str| drilled.as_ref().is_none_or(|d| d.contains(kind));
    let mut per_kind: BTreeMap<String, Facts> = BTreeMap::new();
    for (kind, n) in manifest.counts.iter().filter(|(k, _)| in_drill(k)) {
        per_kind.entry(kind.clone()).or_default().total += n;
    }
    for (kind, _) in cannot.iter().filter(|(k, _)| in_drill(k)) {
        per_kind.entry(kind.clone()).or_default().cannot_restore += 1;
    }
    for item in &not_back {
        per_kind.entry(item.kind.clone()).or_default().not_back += 1;
    }
    let mut facts = Facts::default();
    for f in per_kind.values_mut() {
        f.restorable = f.total.saturating_sub(f.cannot_restore);
        f.back = f.restorable.saturating_sub(f.not_back);
        facts.total += f.total;
        facts.cannot_restore += f.cannot_restore;
        facts.restorable += f.restorable;
        facts.back += f.back;
        facts.not_back += f.not_back;
    }
    let order = Kinds::new(target.kinds());
    let kinds = order
        .sort(per_kind.keys())
        .into_iter()
        .map(|k| KindFacts {
            kind: k.clone(),
            facts: per_kind[k],
        })
        .collect();
    let explained = applied.residual.len() - applied.unexplained();
    Ok(DrillReport {
        snapshot: name,
        source: manifest.source.clone(),
        target: request.target.clone(),
        provider: manifest.provider.clone(),
        snapshot_time: Some(snapshot_time),
        signature_checked,
        started: Utc::now(),
        restore_seconds,
        duration_seconds: 0.0,
        facts,
        kinds,
        fidelity: facts.fidelity(),
        operations_done: applied.done,
        operations_failed: applied.failed,
        verification: Verification {
            read_back: applied.done,
            still_different: applied.residual.len(),
            explained,
        },
        cannot_restore,
        not_back,
        failures: applied.failures,
        journal: applied.journal,
        error: None,
    })
}
