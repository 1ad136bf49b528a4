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
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use iamsnap_provider::{
    Action, KindInfo, Operation, Outcome, ProviderError, Record, WriteProvider, redact, same_state,
    to_live,
};
use serde::{Deserialize, Serialize};

use crate::diff::FieldChange;
use crate::restore::ids::LiveIds;
use crate::restore::journal::{Journal, OpEnd, OpState};
use crate::restore::spill::Positions;
use crate::restore::{CannotRestore, Plan, PlannedOp, RestoreError, Skipped};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Operations of one kind running at the same time.
    pub concurrency: usize,
    /// Verify by reading the whole live state once, instead of each touched object by key,
    /// when more objects than this were touched (the requests one whole read takes).
    pub read_all_above: usize,
    /// How long verification keeps re-reading an object that differs before it reports it:
    /// providers answer reads from replicas that lag their writes for a short while.
    pub settle: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 8,
            read_all_above: usize::MAX,
            settle: Duration::from_secs(3),
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

/// The plan's operations as a restore holds them: a few fields each, the rest read back from
/// the plan's file when an operation runs or is verified. A restore that re-creates a whole
/// organisation takes tens of bytes per operation, not the operations' records.
pub(super) struct Ops {
    pub(super) heads: Vec<Head>,
    file: Positions<PlannedOp>,
}

pub(super) struct Head {
    seq: usize,
    level: usize,
    action: Action,
    pub(super) kind: Arc<str>,
    offset: u64,
}

impl Ops {
    pub(super) fn get(&self, i: usize) -> Result<PlannedOp, RestoreError> {
        self.file
            .get(self.heads[i].offset)
            .map_err(RestoreError::Spill)
    }
}

/// Applies `plan` to `provider`, continuing from `resumed` (the journal's record of an
/// earlier, interrupted run; empty for a new restore).
pub async fn apply(
    plan: &Plan,
    provider: &dyn WriteProvider,
    journal: &Journal<'_>,
    resumed: &BTreeMap<usize, OpState>,
    options: &ApplyOptions,
) -> Result<ApplyReport, RestoreError> {
    let spill = RestoreError::Spill;
    let mut ids = plan.live_ids().map_err(spill)?;
    // One read of the plan for the heads, the objects creates and updates make and the ids
    // an interrupted run already made; a second for what each create and update waits for.
    let mut heads = Vec::with_capacity(plan.operations.len());
    let mut kind_names: HashMap<String, Arc<str>> = HashMap::new();
    let mut waits = Waits::with_len(plan.operations.len());
    let mut by_id = ById::new();
    let mut items = plan.operations.iter().map_err(spill)?;
    loop {
        let offset = items.offset();
        let Some(op) = items.next() else { break };
        let op = op.map_err(spill)?;
        let i = heads.len();
        if let Some(OpState {
            end: Some(OpEnd::Done { outcome }),
            ..
        }) = resumed.get(&op.seq)
        {
            remember(&ids, &op, outcome);
        }
        if op.action != Action::Delete {
            waits.known(i, &op, &mut by_id);
        }
        let kind = kind_names
            .entry(op.kind.clone())
            .or_insert_with(|| Arc::from(op.kind.as_str()))
            .clone();
        heads.push(Head {
            seq: op.seq,
            level: op.level,
            action: op.action,
            kind,
            offset,
        });
    }
    for (i, op) in plan.operations.iter().map_err(spill)?.enumerate() {
        let op = op.map_err(spill)?;
        if op.action != Action::Delete {
            waits.needs(i, &op, &by_id, provider.kinds());
        }
    }
    waits.order_within_kinds();
    drop(by_id);
    let ops = Ops {
        heads,
        file: plan.operations.positions().map_err(spill)?,
    };

    let mut report = ApplyReport {
        cannot_restore: plan.cannot_restore.clone(),
        skipped: plan.skipped.len(),
        skipped_operations: plan.skipped.clone(),
        journal: journal.dir.clone(),
        ..ApplyReport::default()
    };
    let (writes, deletes): (Vec<usize>, Vec<usize>) =
        (0..ops.heads.len()).partition(|&i| ops.heads[i].action != Action::Delete);
    let runner = Runner {
        resumed,
        provider,
        journal,
        ids: &ids,
        ops: &ops,
        concurrency: options.concurrency.max(1),
    };
    let mut ended = runner.schedule(&writes, &mut waits).await?;
    drop(waits);
    let mut levels: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in deletes {
        levels.entry(ops.heads[i].level).or_default().push(i);
    }
    for members in levels.into_values() {
        // Deletes of one level have no order among them: no references to wait for.
        ended.extend(runner.schedule(&members, &mut Waits::with_len(0)).await?);
    }
    let mut touched: Vec<usize> = Vec::new();
    for (i, result) in ended {
        match result {
            Ended::Done => {
                report.done += 1;
                touched.push(i);
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
    touched.sort_unstable();
    ids.forget_absent();
    report.residual = super::verify::verify(&touched, &ops, provider, &ids, options).await?;
    if report.failed == 0 {
        let summary = serde_json::json!({
            "done": report.done, "skipped": report.skipped, "residual": report.residual.len(),
            "finished": chrono::Utc::now().to_rfc3339(),
        });
        journal.finished(&summary).await?;
    }
    Ok(report)
}

/// Kind → snapshot id → operation, of the creates and updates, while their waits are built.
type ById = HashMap<String, HashMap<String, usize>>;

/// What each operation waits for: the operations on the objects its record references, and
/// whole kinds it depends on without referencing them. Only kinds an operation's kind depends
/// on count, and references within one kind (a directory entry's parent entry) that form no
/// cycle, so nothing waits forever. Built in two reads of the operations: [`Waits::known`]
/// for each, then [`Waits::needs`] for each, then [`Waits::order_within_kinds`].
struct Waits {
    /// Per operation: how many operations and kinds it still waits for.
    count: Vec<u32>,
    /// Per operation: the operations waiting for it.
    dependents: Vec<Vec<usize>>,
    /// Per kind: operations of that kind not ended yet, and the operations waiting for all of
    /// them.
    kinds: HashMap<String, (usize, Vec<usize>)>,
    /// References between operations of one kind: (referenced, referencing).
    within: Vec<(usize, usize)>,
}

impl Waits {
    fn with_len(len: usize) -> Waits {
        Waits {
            count: vec![0; len],
            dependents: vec![Vec::new(); len],
            kinds: HashMap::new(),
            within: Vec::new(),
        }
    }

    /// Operation `i` will run: it may be waited for.
    fn known(&mut self, i: usize, op: &PlannedOp, by_id: &mut ById) {
        match self.kinds.get_mut(&op.kind) {
            Some((left, _)) => *left += 1,
            None => {
                self.kinds.insert(op.kind.clone(), (1, Vec::new()));
            }
        }
        if let Some(id) = &op.snapshot_id {
            by_id
                .entry(op.kind.clone())
                .or_default()
                .insert(id.clone(), i);
        }
    }

    /// What operation `i` waits for.
    fn needs(&mut self, i: usize, op: &PlannedOp, by_id: &ById, kinds: &[KindInfo]) {
        let Some(info) = kinds.iter().find(|k| k.name == op.kind) else {
            return;
        };
        let refs = op
            .desired
            .as_ref()
            .map_or(&[][..], |r: &Record| &r.refs[..]);
        for needed in info.depends_on.iter().filter(|k| **k != op.kind) {
            if refs.iter().any(|r| r.kind == *needed) {
                let referenced: BTreeSet<usize> = refs
                    .iter()
                    .filter(|r| r.kind == *needed)
                    .filter_map(|r| by_id.get(r.kind.as_str())?.get(r.id.as_str()).copied())
                    .collect();
                for j in referenced {
                    self.dependents[j].push(i);
                    self.count[i] += 1;
                }
            } else if let Some((_, waiting)) = self.kinds.get_mut(*needed) {
                waiting.push(i);
                self.count[i] += 1;
            }
        }
        let own = by_id.get(op.kind.as_str());
        for r in refs.iter().filter(|r| r.kind == op.kind) {
            if let Some(&j) = own.and_then(|ops| ops.get(r.id.as_str()))
                && j != i
            {
                self.within.push((j, i));
            }
        }
    }

    /// Makes each operation wait for the operations of its own kind its record references,
    /// except along a cycle of such references (which would wait forever): those operations
    /// run in no particular order among themselves, as before.
    fn order_within_kinds(&mut self) {
        let edges = std::mem::take(&mut self.within);
        let mut incoming: HashMap<usize, usize> = HashMap::new();
        let mut outgoing: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(j, i) in &edges {
            *incoming.entry(i).or_default() += 1;
            outgoing.entry(j).or_default().push(i);
        }
        // Kahn's algorithm: whatever it cannot reach lies on or behind a cycle.
        let mut ready: Vec<usize> = outgoing
            .keys()
            .filter(|j| !incoming.contains_key(j))
            .copied()
            .collect();
        let mut reached: BTreeSet<usize> = ready.iter().copied().collect();
        while let Some(j) = ready.pop() {
            for &i in outgoing.get(&j).map_or(&[][..], Vec::as_slice) {
                let left = incoming.get_mut(&i).expect("counted above");
                *left -= 1;
                if *left == 0 && reached.insert(i) {
                    ready.push(i);
                }
            }
        }
        for (j, i) in edges {
            if reached.contains(&i) {
                self.dependents[j].push(i);
                self.count[i] += 1;
            }
        }
    }

    fn ready(&self, i: usize) -> bool {
        self.count.get(i).is_none_or(|c| *c == 0)
    }

    /// Operation `i` (of `kind`) ended: the operations now free to run.
    fn ended(&mut self, i: usize, kind: &str) -> Vec<usize> {
        let mut free = Vec::new();
        let mut release = |j: usize, count: &mut Vec<u32>| {
            count[j] -= 1;
            if count[j] == 0 {
                free.push(j);
            }
        };
        if let Some(dependents) = self.dependents.get_mut(i) {
            for j in std::mem::take(dependents) {
                release(j, &mut self.count);
            }
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
    provider: &'r dyn WriteProvider,
    journal: &'r Journal<'r>,
    ids: &'r LiveIds,
    ops: &'r Ops,
    concurrency: usize,
}

impl Runner<'_> {
    /// Runs the operations `members` (indices into the plan), each once what it waits for has
    /// ended, at most `concurrency` of one kind at a time. On an error that stops the restore,
    /// what is running finishes and nothing new starts.
    async fn schedule(
        &self,
        members: &[usize],
        waits: &mut Waits,
    ) -> Result<Vec<(usize, Ended)>, RestoreError> {
        let no_state = OpState::default();
        let heads = &self.ops.heads;
        let mut ready: BTreeMap<Arc<str>, VecDeque<usize>> = BTreeMap::new();
        for &i in members {
            if waits.ready(i) {
                ready.entry(heads[i].kind.clone()).or_default().push_back(i);
            }
        }
        let mut running: HashMap<Arc<str>, usize> = HashMap::new();
        let mut in_flight = FuturesUnordered::new();
        let mut ended = Vec::with_capacity(members.len());
        let mut stop: Option<RestoreError> = None;
        loop {
            if stop.is_none() {
                'kinds: for (kind, queue) in ready.iter_mut() {
                    let busy = running.entry(kind.clone()).or_default();
                    while *busy < self.concurrency
                        && let Some(i) = queue.pop_front()
                    {
                        let op = match self.ops.get(i) {
                            Ok(op) => op,
                            Err(e) => {
                                stop = Some(e);
                                break 'kinds;
                            }
                        };
                        *busy += 1;
                        let state = self.resumed.get(&heads[i].seq).unwrap_or(&no_state);
                        in_flight.push(async move {
                            let result =
                                run(&op, state, self.provider, self.journal, self.ids).await;
                            (i, result)
                        });
                    }
                }
            }
            let Some((i, result)) = in_flight.next().await else {
                break;
            };
            let kind = &heads[i].kind;
            if let Some(busy) = running.get_mut(kind) {
                *busy -= 1;
            }
            match result {
                Ok(end) => ended.push((i, end)),
                Err(e) => {
                    stop.get_or_insert(e);
                }
            }
            for j in waits.ended(i, kind) {
                ready.entry(heads[j].kind.clone()).or_default().push_back(j);
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
    provider: &dyn WriteProvider,
    journal: &Journal<'_>,
    ids: &LiveIds,
) -> Result<Ended, RestoreError> {
    // A skip took no effect: only what was done is taken from the journal.
    if let Some(OpEnd::Done { outcome }) = &state.end {
        return Ok(ended(op, outcome));
    }
    if state.attempts > 0 && state.end.is_none() {
        match reconcile(op, provider, ids).await {
            Ok(Some(outcome)) => {
                remember(ids, op, &outcome);
                journal
                    .ended(op.seq, state.attempts, &end_of(&outcome))
                    .await?;
                return Ok(ended(op, &outcome));
            }
            Ok(None) => {}
            Err(e) => {
                let end = OpEnd::Failed {
                    error: redact::scrubbed(e.to_string()),
                };
                journal.ended(op.seq, state.attempts, &end).await?;
                return Ok(failed(op, e));
            }
        }
    }
    let attempt = state.attempts + 1;
    journal.started(op.seq, attempt).await?;
    match provider.apply(&op.operation(), ids).await.map(scrubbed) {
        Ok(outcome) => {
            remember(ids, op, &outcome);
            journal.ended(op.seq, attempt, &end_of(&outcome)).await?;
            Ok(ended(op, &outcome))
        }
        Err(e) => {
            tracing::warn!(kind = %op.kind, key = %op.key, error = %e, "restore operation failed");
            journal
                .ended(
                    op.seq,
                    attempt,
                    &OpEnd::Failed {
                        error: redact::scrubbed(e.to_string()),
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

/// `outcome` with what the connector said scrubbed of secrets, before it is journalled.
fn scrubbed(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Skipped { reason } => Outcome::Skipped {
            reason: redact::scrubbed(reason),
        },
        other => other,
    }
}

/// How an operation that ended with `outcome` is journalled: a skip is never done.
fn end_of(outcome: &Outcome) -> OpEnd {
    match outcome {
        Outcome::Skipped { reason } => OpEnd::Skipped {
            reason: reason.clone(),
        },
        done => OpEnd::Done {
            outcome: done.clone(),
        },
    }
}

fn ended(op: &PlannedOp, outcome: &Outcome) -> Ended {
    match outcome {
        Outcome::Skipped { reason } => Ended::Skipped(Skipped {
            action: op.action,
            kind: op.kind.clone(),
            key: op.key.clone(),
            reason: redact::scrubbed(reason),
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
        error: redact::scrubbed(e.to_string()),
    })
}

/// Whether an interrupted operation took effect: a created object that exists, a deleted one
/// that is gone. Updates are simply run again (connectors apply them idempotently).
///
/// A create cut short may have made its object without the rest of its state (an Okta role
/// assignment without its targets, a user without its groups' rules having run): when the
/// object differs from the snapshot, an update brings the rest, and the create counts as done.
async fn reconcile(
    op: &PlannedOp,
    provider: &dyn WriteProvider,
    ids: &LiveIds,
) -> Result<Option<Outcome>, ProviderError> {
    match op.action {
        Action::Update => Ok(None),
        Action::Create => {
            let Some(live) = provider.fetch(&op.kind, &op.key).await? else {
                return Ok(None);
            };
            let updatable = provider
                .kinds()
                .iter()
                .any(|k| k.name == op.kind && k.capabilities.update);
            if let Some(desired) = op.desired.as_ref().filter(|_| updatable) {
                let reached = provider.reachable(to_live(desired, ids), &live);
                if !same_state(&reached, &live) {
                    let update = Operation {
                        action: Action::Update,
                        kind: op.kind.clone(),
                        key: op.key.clone(),
                        desired: Some(desired.clone()),
                        current: Some(live.clone()),
                    };
                    if let Outcome::Skipped { reason } = provider.apply(&update, ids).await? {
                        return Ok(Some(Outcome::Skipped { reason }));
                    }
                    // The object's id, not whatever names it in the update's outcome.
                    return Ok(Some(Outcome::Applied { id: live.id }));
                }
            }
            Ok(Some(Outcome::AlreadyDone { id: live.id }))
        }
        Action::Delete => match provider.fetch(&op.kind, &op.key).await? {
            Some(_) => Ok(None),
            None => Ok(Some(Outcome::AlreadyDone {
                id: op.live_id.clone().unwrap_or_default(),
            })),
        },
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
            parent: None,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.user",
            description: "a person",
            depends_on: &["t.schema"],
            capabilities: Capabilities::ALL,
            parent: None,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.group",
            description: "a group",
            depends_on: &[],
            capabilities: Capabilities::ALL,
            parent: None,
            cannot_restore: &[],
        },
        KindInfo {
            name: "t.membership",
            description: "a user in a group",
            depends_on: &["t.user", "t.group"],
            capabilities: Capabilities::LINK,
            parent: None,
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
        let mut waits = Waits::with_len(ops.len());
        let mut by_id = ById::new();
        for (i, op) in ops.iter().enumerate() {
            waits.known(i, op, &mut by_id);
        }
        for (i, op) in ops.iter().enumerate() {
            waits.needs(i, op, &by_id, KINDS);
        }
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

    #[test]
    fn an_operation_waits_for_what_it_references_of_its_own_kind_unless_in_a_cycle() {
        let ops = [
            create(
                "t.group",
                "child",
                vec![Ref::new("parent", "t.group", "top")],
            ),
            create("t.group", "top", vec![]),
            create("t.group", "a", vec![Ref::new("parent", "t.group", "b")]),
            create("t.group", "b", vec![Ref::new("parent", "t.group", "a")]),
            create(
                "t.group",
                "below-a",
                vec![Ref::new("parent", "t.group", "a")],
            ),
        ];
        let mut waits = Waits::with_len(ops.len());
        let mut by_id = ById::new();
        for (i, op) in ops.iter().enumerate() {
            waits.known(i, op, &mut by_id);
        }
        for (i, op) in ops.iter().enumerate() {
            waits.needs(i, op, &by_id, KINDS);
        }
        waits.order_within_kinds();
        assert_eq!(
            waits.count,
            [1, 0, 0, 0, 0],
            "the child waits for its parent; a and b reference each other, so neither waits"
        );
        assert_eq!(waits.ended(1, "t.group"), [0]);
    }
}
