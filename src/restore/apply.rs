//! Executing a plan: level by level, operations of one level concurrently, each journalled
//! before and after it runs; then every touched object read back and compared.

use std::collections::BTreeMap;

use futures::StreamExt;
use iamsnap_provider::{Action, Outcome, Provider, ProviderError};
use serde::{Deserialize, Serialize};

use crate::diff::{FieldChange, field_changes};
use crate::restore::ids::{LiveIds, same_state, to_live};
use crate::restore::journal::{Journal, OpEnd, OpState};
use crate::restore::{CannotRestore, Plan, PlannedOp, RestoreError, Skipped};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Operations of one level running at the same time.
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { concurrency: 8 }
    }
}

/// An operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub seq: usize,
    pub action: Action,
    pub kind: String,
    pub key: String,
    pub error: String,
}

/// An object that still differs from the snapshot after the restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    pub action: Action,
    pub kind: String,
    pub key: String,
    /// What is wrong as a whole (missing, still present), when not field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Fields that differ, live value → snapshot value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// For an object that was re-created (its live id is not the snapshot's): what the
    /// connector says it can never restore, which explains the differences (a re-created user
    /// cannot be active without credentials). Such residuals do not make a restore incomplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cannot_restore: Vec<String>,
}

/// The result of applying a plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub done: usize,
    pub failed: usize,
    /// Operations the connector declined, plus those the plan left out.
    pub skipped: usize,
    pub residual: Vec<Residual>,
    pub cannot_restore: Vec<CannotRestore>,
    pub failures: Vec<Failure>,
    pub skipped_operations: Vec<Skipped>,
    /// Where the journal is, relative to the repository.
    pub journal: String,
}

impl ApplyReport {
    /// True when every operation succeeded and nothing restorable still differs.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.unexplained() == 0
    }

    /// Residual differences that what cannot be restored does not explain.
    pub fn unexplained(&self) -> usize {
        self.residual
            .iter()
            .filter(|r| r.cannot_restore.is_empty())
            .count()
    }
}

enum Ended {
    Done,
    Skipped(Skipped),
    Failed(Failure),
}

/// Applies `plan` to `provider`, continuing from `resumed` (the journal's record of an
/// earlier, interrupted run; empty for a new restore).
pub async fn apply(
    plan: &Plan,
    provider: &dyn Provider,
    journal: &Journal<'_>,
    resumed: &BTreeMap<usize, OpState>,
    options: &ApplyOptions,
) -> Result<ApplyReport, RestoreError> {
    let ids = LiveIds::new(plan.id_seed());
    for op in &plan.operations {
        if let Some(OpState {
            end: Some(OpEnd::Done { outcome }),
            ..
        }) = resumed.get(&op.seq)
        {
            remember(&ids, op, outcome);
        }
    }
    let mut report = ApplyReport {
        cannot_restore: plan.cannot_restore.clone(),
        skipped: plan.skipped.len(),
        skipped_operations: plan.skipped.clone(),
        journal: journal.dir.clone(),
        ..ApplyReport::default()
    };
    let mut levels: BTreeMap<usize, Vec<&PlannedOp>> = BTreeMap::new();
    for op in &plan.operations {
        levels.entry(op.level).or_default().push(op);
    }
    let no_state = OpState::default();
    let mut touched: Vec<&PlannedOp> = Vec::new();
    for ops in levels.into_values() {
        let results: Vec<(&PlannedOp, Result<Ended, RestoreError>)> = futures::stream::iter(ops)
            .map(|op| {
                let state = resumed.get(&op.seq).unwrap_or(&no_state);
                let ids = &ids;
                async move { (op, run(op, state, provider, journal, ids).await) }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        for (op, result) in results {
            match result? {
                Ended::Done => {
                    report.done += 1;
                    touched.push(op);
                }
                Ended::Skipped(s) => {
                    report.skipped += 1;
                    report.skipped_operations.push(s);
                }
                Ended::Failed(f) => {
                    report.failed += 1;
                    report.failures.push(f);
                }
            }
        }
    }
    report.failures.sort_by_key(|f| f.seq);
    touched.sort_by_key(|op| op.seq);
    report.residual = verify(&touched, provider, &ids, options).await;
    if report.failed == 0 {
        let summary = serde_json::json!({
            "done": report.done, "skipped": report.skipped, "residual": report.residual.len(),
            "finished": chrono::Utc::now().to_rfc3339(),
        });
        journal.finished(&summary).await?;
    }
    Ok(report)
}

/// Records the live id of an object a create made (or found made). Updates and deletes act on
/// objects whose live id the plan already joined; a connector may name them differently in its
/// outcome (an ARN instead of a unique id), which must not overwrite the joined id.
fn remember(ids: &LiveIds, op: &PlannedOp, outcome: &Outcome) {
    if op.action != Action::Create {
        return;
    }
    if let (Some(snapshot_id), Outcome::Applied { id } | Outcome::AlreadyDone { id }) =
        (&op.snapshot_id, outcome)
    {
        ids.insert(&op.kind, snapshot_id, id);
    }
}

/// Runs one operation unless the journal says it is done; an operation that started but never
/// ended is first checked against the provider, so a create that went through is not repeated.
async fn run(
    op: &PlannedOp,
    state: &OpState,
    provider: &dyn Provider,
    journal: &Journal<'_>,
    ids: &LiveIds,
) -> Result<Ended, RestoreError> {
    if let Some(OpEnd::Done { outcome }) = &state.end {
        return Ok(ended(op, outcome));
    }
    if state.attempts > 0 && state.end.is_none() {
        match reconcile(op, provider).await {
            Ok(Some(outcome)) => {
                remember(ids, op, &outcome);
                journal
                    .ended(
                        op.seq,
                        state.attempts,
                        &OpEnd::Done {
                            outcome: outcome.clone(),
                        },
                    )
                    .await?;
                return Ok(ended(op, &outcome));
            }
            Ok(None) => {}
            Err(e) => {
                let end = OpEnd::Failed {
                    error: e.to_string(),
                };
                journal.ended(op.seq, state.attempts, &end).await?;
                return Ok(failed(op, e));
            }
        }
    }
    let attempt = state.attempts + 1;
    journal.started(op.seq, attempt).await?;
    match provider.apply(&op.operation(), ids).await {
        Ok(outcome) => {
            remember(ids, op, &outcome);
            journal
                .ended(
                    op.seq,
                    attempt,
                    &OpEnd::Done {
                        outcome: outcome.clone(),
                    },
                )
                .await?;
            Ok(ended(op, &outcome))
        }
        Err(e) => {
            tracing::warn!(kind = %op.kind, key = %op.key, error = %e, "restore operation failed");
            journal
                .ended(
                    op.seq,
                    attempt,
                    &OpEnd::Failed {
                        error: e.to_string(),
                    },
                )
                .await?;
            // Credentials that may not write fail every operation alike: stop here rather
            // than try the rest, and say which permission is missing.
            if e.is_auth() {
                return Err(RestoreError::Denied(e));
            }
            Ok(failed(op, e))
        }
    }
}

fn ended(op: &PlannedOp, outcome: &Outcome) -> Ended {
    match outcome {
        Outcome::Skipped { reason } => Ended::Skipped(Skipped {
            action: op.action,
            kind: op.kind.clone(),
            key: op.key.clone(),
            reason: reason.clone(),
        }),
        _ => Ended::Done,
    }
}

fn failed(op: &PlannedOp, e: ProviderError) -> Ended {
    Ended::Failed(Failure {
        seq: op.seq,
        action: op.action,
        kind: op.kind.clone(),
        key: op.key.clone(),
        error: e.to_string(),
    })
}

/// Whether an interrupted operation took effect: a created object that exists, a deleted one
/// that is gone. Updates are simply run again (connectors apply them idempotently).
async fn reconcile(
    op: &PlannedOp,
    provider: &dyn Provider,
) -> Result<Option<Outcome>, ProviderError> {
    match op.action {
        Action::Update => Ok(None),
        Action::Create => Ok(provider
            .fetch(&op.kind, &op.key)
            .await?
            .map(|live| Outcome::AlreadyDone { id: live.id })),
        Action::Delete => match provider.fetch(&op.kind, &op.key).await? {
            Some(_) => Ok(None),
            None => Ok(Some(Outcome::AlreadyDone {
                id: op.live_id.clone().unwrap_or_default(),
            })),
        },
    }
}

/// Reads every touched object back and reports those that still differ from the snapshot.
async fn verify(
    ops: &[&PlannedOp],
    provider: &dyn Provider,
    ids: &LiveIds,
    options: &ApplyOptions,
) -> Vec<Residual> {
    let residual: Vec<(usize, Option<Residual>)> = futures::stream::iter(ops.iter().copied())
        .map(|op| async move { (op.seq, check(op, provider, ids).await) })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut residual: Vec<(usize, Residual)> = residual
        .into_iter()
        .filter_map(|(seq, r)| r.map(|r| (seq, r)))
        .collect();
    residual.sort_by_key(|(seq, _)| *seq);
    residual.into_iter().map(|(_, r)| r).collect()
}

async fn check(op: &PlannedOp, provider: &dyn Provider, ids: &LiveIds) -> Option<Residual> {
    let residual = |problem: Option<String>, fields: Vec<FieldChange>| Residual {
        action: op.action,
        kind: op.kind.clone(),
        key: op.key.clone(),
        problem,
        fields,
        cannot_restore: Vec::new(),
    };
    let live = match provider.fetch(&op.kind, &op.key).await {
        Ok(live) => live,
        Err(e) => {
            return Some(residual(
                Some(format!("could not be read back: {e}")),
                Vec::new(),
            ));
        }
    };
    match (op.action, &op.desired, live) {
        (Action::Delete, _, Some(_)) => Some(residual(Some("still present".into()), Vec::new())),
        (Action::Delete, _, None) => None,
        (_, _, None) => Some(residual(Some("missing".into()), Vec::new())),
        (_, None, Some(_)) => None,
        (_, Some(desired), Some(live)) => {
            let recreated = desired.id != live.id;
            let desired = provider.reachable(to_live(desired, ids), &live);
            if same_state(&desired, &live) {
                return None;
            }
            // A re-created object lacks what the connector cannot give back; differences on
            // it are put down to that, and the operator is told so.
            let cannot_restore = if recreated {
                provider.cannot_restore(&desired)
            } else {
                Vec::new()
            };
            Some(Residual {
                cannot_restore,
                ..residual(None, field_changes(&live, &desired))
            })
        }
    }
}
