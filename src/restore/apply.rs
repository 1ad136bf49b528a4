//! Executing a plan, each operation journalled before and after it runs; then every touched
//! object read back and compared.
//!
//! Creates and updates run as soon as what they need exists, not level by level: a membership
//! waits for its own user and group (the objects its record references), not for every user of
//! the plan. A kind the record does not reference but depends on (a user on the profile
//! schema) is waited for as a whole. Each kind has its own concurrency budget, so a kind whose
//! rate-limit window is spent (user creation) does not hold back another whose window is not
//! (group membership). Deletes follow, after every create and update, level by level.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use iamsnap_provider::{Action, KindInfo, Outcome, Provider, ProviderError, Record};
use serde::{Deserialize, Serialize};

use crate::diff::{FieldChange, field_changes};
use crate::restore::ids::{LiveIds, same_state, to_live};
use crate::restore::journal::{Journal, OpEnd, OpState};
use crate::restore::{CannotRestore, Plan, PlannedOp, RestoreError, Skipped};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Operations of one kind running at the same time.
    pub concurrency: usize,
    /// Verify by reading the whole live state once, instead of each touched object by key,
    /// when more objects than this were touched (the requests one whole read takes).
    pub read_all_above: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 8,
            read_all_above: usize::MAX,
        }
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
    let ids = plan.live_ids().map_err(RestoreError::Spill)?;
    let operations = plan.operations.to_vec().map_err(RestoreError::Spill)?;
    for op in &operations {
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
    let (writes, deletes): (Vec<&PlannedOp>, Vec<&PlannedOp>) = operations
        .iter()
        .partition(|op| op.action != Action::Delete);
    let runner = Runner {
        resumed,
        provider,
        journal,
        ids: &ids,
        concurrency: options.concurrency.max(1),
    };
    let mut ended = runner.schedule(&writes, provider.kinds()).await?;
    let mut levels: BTreeMap<usize, Vec<&PlannedOp>> = BTreeMap::new();
    for op in deletes {
        levels.entry(op.level).or_default().push(op);
    }
    for ops in levels.into_values() {
        // Deletes of one level have no order among them: no references to wait for.
        ended.extend(runner.schedule(&ops, &[]).await?);
    }
    let mut touched: Vec<&PlannedOp> = Vec::new();
    for (op, result) in ended {
        match result {
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

/// What each operation waits for: the operations on the objects its record references, and
/// whole kinds it depends on without referencing them. Only kinds an operation's kind depends
/// on count, so there are no cycles.
struct Waits {
    /// Per operation: how many operations and kinds it still waits for.
    count: Vec<usize>,
    /// Per operation: the operations waiting for it.
    dependents: Vec<Vec<usize>>,
    /// Per kind: operations of that kind not ended yet, and the operations waiting for all of
    /// them.
    kinds: HashMap<String, (usize, Vec<usize>)>,
}

impl Waits {
    fn new(ops: &[&PlannedOp], kinds: &[KindInfo]) -> Waits {
        let mut waits = Waits {
            count: vec![0; ops.len()],
            dependents: vec![Vec::new(); ops.len()],
            kinds: HashMap::new(),
        };
        let mut by_id: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            waits.kinds.entry(op.kind.clone()).or_default().0 += 1;
            if let Some(id) = &op.snapshot_id {
                by_id.insert((op.kind.as_str(), id.as_str()), i);
            }
        }
        for (i, op) in ops.iter().enumerate() {
            let Some(info) = kinds.iter().find(|k| k.name == op.kind) else {
                continue;
            };
            let refs = op
                .desired
                .as_ref()
                .map_or(&[][..], |r: &Record| &r.refs[..]);
            for needed in info.depends_on.iter().filter(|k| **k != op.kind) {
                let referenced: BTreeSet<usize> = refs
                    .iter()
                    .filter(|r| r.kind == *needed)
                    .filter_map(|r| by_id.get(&(r.kind.as_str(), r.id.as_str())).copied())
                    .collect();
                if refs.iter().any(|r| r.kind == *needed) {
                    for j in referenced {
                        waits.dependents[j].push(i);
                        waits.count[i] += 1;
                    }
                } else if let Some((_, waiting)) = waits.kinds.get_mut(*needed) {
                    waiting.push(i);
                    waits.count[i] += 1;
                }
            }
        }
        waits
    }

    /// Operation `i` (of `kind`) ended: the operations now free to run.
    fn ended(&mut self, i: usize, kind: &str) -> Vec<usize> {
        let mut free = Vec::new();
        let mut release = |j: usize, count: &mut Vec<usize>| {
            count[j] -= 1;
            if count[j] == 0 {
                free.push(j);
            }
        };
        for j in std::mem::take(&mut self.dependents[i]) {
            release(j, &mut self.count);
        }
        if let Some((left, waiting)) = self.kinds.get_mut(kind) {
            *left -= 1;
            if *left == 0 {
                for j in std::mem::take(waiting) {
                    release(j, &mut self.count);
                }
            }
        }
        free
    }
}

/// What running one operation needs.
struct Runner<'r> {
    resumed: &'r BTreeMap<usize, OpState>,
    provider: &'r dyn Provider,
    journal: &'r Journal<'r>,
    ids: &'r LiveIds,
    concurrency: usize,
}

impl Runner<'_> {
    /// Runs `ops`, each once what it waits for has ended, at most `concurrency` of one kind at a
    /// time. On an error that stops the restore, what is running finishes and nothing new starts.
    async fn schedule<'p>(
        &self,
        ops: &[&'p PlannedOp],
        kinds: &[KindInfo],
    ) -> Result<Vec<(&'p PlannedOp, Ended)>, RestoreError> {
        let no_state = OpState::default();
        let mut waits = Waits::new(ops, kinds);
        let mut ready: BTreeMap<&str, VecDeque<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            if waits.count[i] == 0 {
                ready.entry(op.kind.as_str()).or_default().push_back(i);
            }
        }
        let mut running: HashMap<&str, usize> = HashMap::new();
        let mut in_flight = FuturesUnordered::new();
        let mut ended = Vec::with_capacity(ops.len());
        let mut stop: Option<RestoreError> = None;
        loop {
            if stop.is_none() {
                for (kind, queue) in ready.iter_mut() {
                    let busy = running.entry(kind).or_default();
                    while *busy < self.concurrency
                        && let Some(i) = queue.pop_front()
                    {
                        *busy += 1;
                        let op = ops[i];
                        let state = self.resumed.get(&op.seq).unwrap_or(&no_state);
                        in_flight.push(async move {
                            let result =
                                run(op, state, self.provider, self.journal, self.ids).await;
                            (i, result)
                        });
                    }
                }
            }
            let Some((i, result)) = in_flight.next().await else {
                break;
            };
            let op = ops[i];
            *running.entry(op.kind.as_str()).or_default() -= 1;
            match result {
                Ok(end) => ended.push((op, end)),
                Err(e) => {
                    stop.get_or_insert(e);
                }
            }
            for j in waits.ended(i, &op.kind) {
                ready.entry(ops[j].kind.as_str()).or_default().push_back(j);
            }
        }
        match stop {
            Some(e) => Err(e),
            None => Ok(ended),
        }
    }
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

/// Reads every touched object back and reports those that still differ from the snapshot:
/// one by one, or, past `read_all_above` objects, through one read of the whole live state.
async fn verify(
    ops: &[&PlannedOp],
    provider: &dyn Provider,
    ids: &LiveIds,
    options: &ApplyOptions,
) -> Vec<Residual> {
    let residual: Vec<Option<Residual>> = if ops.len() > options.read_all_above {
        match read_back(ops, provider).await {
            Ok(mut live) => ops
                .iter()
                .enumerate()
                .map(|(i, op)| check_against(op, Ok(live.remove(&i)), provider, ids))
                .collect(),
            Err(e) => ops
                .iter()
                .map(|op| check_against(op, Err(e.clone()), provider, ids))
                .collect(),
        }
    } else {
        futures::stream::iter(ops.iter().copied())
            .map(|op| async move {
                let live = provider
                    .fetch(&op.kind, &op.key)
                    .await
                    .map_err(|e| e.to_string());
                check_against(op, live, provider, ids)
            })
            .buffered(options.concurrency.max(1))
            .collect()
            .await
    };
    residual.into_iter().flatten().collect()
}

/// The live records of the touched objects, by position in `ops`, from one read of the whole
/// state.
async fn read_back(
    ops: &[&PlannedOp],
    provider: &dyn Provider,
) -> Result<HashMap<usize, Record>, String> {
    let mut wanted: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        wanted
            .entry(op.kind.as_str())
            .or_default()
            .insert(op.key.as_str(), i);
    }
    let mut found = HashMap::new();
    let read = crate::diff::live::each_record(provider, |record| {
        let at = wanted
            .get(record.kind.as_str())
            .and_then(|keys| keys.get(record.key.as_str()))
            .copied();
        if let Some(i) = at {
            found.insert(i, record);
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .await;
    let Ok(read) = read;
    read.map_err(|e| e.to_string())?;
    Ok(found)
}

fn check_against(
    op: &PlannedOp,
    live: Result<Option<Record>, String>,
    provider: &dyn Provider,
    ids: &LiveIds,
) -> Option<Residual> {
    let residual = |problem: Option<String>, fields: Vec<FieldChange>| Residual {
        action: op.action,
        kind: op.kind.clone(),
        key: op.key.clone(),
        problem,
        fields,
        cannot_restore: Vec::new(),
    };
    let live = match live {
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

#[cfg(test)]
mod tests {
    use iamsnap_provider::{Capabilities, Ref};
    use serde_json::json;

    use super::*;

    const KINDS: &[KindInfo] = &[
        KindInfo {
            name: "t.schema",
            description: "profile attributes",
            depends_on: &[],
            capabilities: Capabilities::ALL,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.user",
            description: "a person",
            depends_on: &["t.schema"],
            capabilities: Capabilities::ALL,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.group",
            description: "a group",
            depends_on: &[],
            capabilities: Capabilities::ALL,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.membership",
            description: "a user in a group",
            depends_on: &["t.user", "t.group"],
            capabilities: Capabilities::LINK,
            cannot_restore: &[],
        },
    ];

    fn create(kind: &str, id: &str, refs: Vec<Ref>) -> PlannedOp {
        PlannedOp {
            seq: 0,
            level: 0,
            action: Action::Create,
            kind: kind.into(),
            key: id.into(),
            snapshot_id: Some(id.into()),
            live_id: None,
            fields: Vec::new(),
            desired: Some(Record::new(kind, id, id, json!({}), refs)),
            current: None,
        }
    }

    #[test]
    fn an_operation_waits_for_what_it_references_and_for_whole_kinds_it_does_not() {
        let ops = [
            create("t.schema", "s", vec![]),
            create("t.user", "u1", vec![]),
            create("t.user", "u2", vec![]),
            create("t.group", "g", vec![]),
            create(
                "t.membership",
                "g:u1",
                vec![
                    Ref::new("group", "t.group", "g"),
                    Ref::new("user", "t.user", "u1"),
                ],
            ),
            // Its group exists live already: it waits for its user only.
            create(
                "t.membership",
                "h:u2",
                vec![
                    Ref::new("group", "t.group", "h"),
                    Ref::new("user", "t.user", "u2"),
                ],
            ),
        ];
        let ops: Vec<&PlannedOp> = ops.iter().collect();
        let mut waits = Waits::new(&ops, KINDS);
        // Users wait for the schema kind as a whole (their records do not reference it).
        assert_eq!(waits.count, [0, 1, 1, 0, 2, 1]);
        assert_eq!(waits.ended(0, "t.schema"), [1, 2]);
        assert_eq!(
            waits.ended(2, "t.user"),
            [5],
            "u2's membership need not wait for u1"
        );
        assert!(waits.ended(3, "t.group").is_empty());
        assert_eq!(waits.ended(1, "t.user"), [4]);
    }
}
