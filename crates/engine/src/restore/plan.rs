//! Turning diff(snapshot → live) into an ordered list of operations.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use iamsnap_provider::{
    Action, KindInfo, Operation, Record, SelfIdentity, WriteProvider, same_state, to_live,
};
use serde::{Deserialize, Serialize};

use crate::diff::moved::MovedIds;
use crate::diff::{FieldChange, JoinOptions, Joined, field_changes, join};
use crate::restore::ids::LiveIds;
use crate::restore::order::Sorter;
use crate::restore::spill::{SpillWriter, Spilled};
use crate::restore::{Refusal, RestoreError};

/// Whether a restore may delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Create and update only: never delete anything.
    #[default]
    Additive,
    /// Also delete what the snapshot lacks, within `max_deletes`.
    Authoritative,
}

/// `--only KIND:KEY`: one object and what belongs with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub kind: String,
    pub key: String,
}

/// The full kind name `given` stands for: itself, or the one kind of `kinds` whose name ends
/// with `.given` (`group` → `okta.group`).
pub fn resolve_kind(given: &str, kinds: &[KindInfo]) -> Result<String, RestoreError> {
    if kinds.iter().any(|k| k.name == given) {
        return Ok(given.to_string());
    }
    let suffix = format!(".{given}");
    let found: Vec<&str> = kinds
        .iter()
        .map(|k| k.name)
        .filter(|n| n.ends_with(&suffix))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(Refusal::UnknownKind {
            given: given.to_string(),
            known: kinds.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
        }
        .into()),
    }
}

impl Selector {
    /// Parses `KIND:KEY`; the key may itself contain `:`.
    pub fn parse(text: &str, kinds: &[KindInfo]) -> Result<Selector, RestoreError> {
        let Some((kind, key)) = text.split_once(':') else {
            return Err(Refusal::BadSelector(text.to_string()).into());
        };
        if kind.is_empty() || key.is_empty() {
            return Err(Refusal::BadSelector(text.to_string()).into());
        }
        Ok(Selector {
            kind: resolve_kind(kind, kinds)?,
            key: key.to_string(),
        })
    }
}

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub mode: Mode,
    /// Most deletes an authoritative restore may make.
    pub max_deletes: u64,
    /// `--only` selectors; empty means everything.
    pub only: Vec<Selector>,
    /// `--kinds` (full names); `None` means every kind.
    pub kinds: Option<BTreeSet<String>>,
    /// Kinds the snapshot or the live read did not read, and why: unknown rather than empty,
    /// so nothing of them is planned, above all no delete of a live object the snapshot never
    /// looked at.
    pub left_alone: BTreeMap<String, String>,
    /// The identity the connector runs as and what gives it its rights: an operation that
    /// would weaken them is left out ([`WriteProvider::protects`]), in every mode.
    pub self_identity: Option<SelfIdentity>,
    pub join: JoinOptions,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedOp {
    /// Position in the plan; journal entries are named after it.
    pub seq: usize,
    /// Operations of one level are independent and may run in parallel; levels run in order.
    pub level: usize,
    pub action: Action,
    pub kind: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_id: Option<String>,
    /// For updates: the fields that change, live value → snapshot value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Record>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Record>,
}

impl PlannedOp {
    /// The operation handed to the connector.
    pub fn operation(&self) -> Operation {
        Operation {
            action: self.action,
            kind: self.kind.clone(),
            key: self.key.clone(),
            desired: self.desired.clone(),
            current: self.current.clone(),
        }
    }
}

/// An operation left out of the plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub action: Action,
    pub kind: String,
    pub key: String,
    pub reason: String,
}

/// A kind the plan leaves alone because one side did not read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftAlone {
    pub kind: String,
    /// Which side did not read it, and what to do to restore it.
    pub reason: String,
}

/// What the provider cannot give back for the objects a restore creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannotRestore {
    pub kind: String,
    /// What is lost and what the operator has to do about it.
    pub reason: String,
    pub count: usize,
    /// The natural keys of the affected objects, in plan order.
    pub keys: Spilled<String>,
}

/// An ordered, serializable restore plan. Its operations, the ids absent live and the keys of
/// what cannot be restored are kept on disk (see [`Spilled`]): a plan that re-creates a whole
/// organisation takes no more memory than one that changes a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The snapshot restored from, as resolved (`okta-prod/20261127T020000Z-1a2b3c4d`).
    pub snapshot: String,
    /// The configured source written to.
    pub target: String,
    pub mode: Mode,
    /// In order: creates and updates by dependency level, then deletes in reverse.
    pub operations: Spilled<PlannedOp>,
    pub skipped: Vec<Skipped>,
    pub cannot_restore: Vec<CannotRestore>,
    /// Kinds nothing is planned for because the snapshot or the live read did not read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<LeftAlone>,
    /// Snapshot id → live id of every object found live under another id (joined by key):
    /// `(kind, snapshot id, live id)`. Objects joined by id are not listed.
    #[serde(default)]
    pub ids: Spilled<(String, String, String)>,
    /// Snapshot ids of the objects not found live: `(kind, snapshot id)`. They have no live id
    /// until the restore creates them.
    #[serde(default)]
    pub absent: Spilled<(String, String)>,
    /// Where each run of operations of one level, kind and action starts in `operations`, as
    /// the plan wrote them; empty for a plan read back (see [`Plan::outline`]).
    #[serde(skip)]
    pub segments: Vec<Segment>,
}

/// A run of operations of one level, kind and action in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub level: usize,
    pub kind: String,
    pub action: Action,
    pub count: usize,
    /// Where its first operation starts in the plan's file ([`Spilled::iter_from`]).
    pub offset: u64,
}

impl Segment {
    /// Adds `op`, found at `offset`, to the last of `segments` or to a new one.
    pub(crate) fn note(segments: &mut Vec<Segment>, op: &PlannedOp, offset: u64) {
        match segments.last_mut() {
            Some(s) if s.level == op.level && s.kind == op.kind && s.action == op.action => {
                s.count += 1
            }
            _ => segments.push(Segment {
                level: op.level,
                kind: op.kind.clone(),
                action: op.action,
                count: 1,
                offset,
            }),
        }
    }
}

/// How many operations of each action a plan has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    pub fn id_seed(&self) -> io::Result<BTreeMap<(String, String), String>> {
        self.ids
            .iter()?
            .map(|ids| ids.map(|(k, s, l)| ((k, s), l)))
            .collect()
    }

    /// The ids to resolve references through, as the plan found them.
    pub fn live_ids(&self) -> io::Result<LiveIds> {
        let absent = self.absent.iter()?.collect::<io::Result<_>>()?;
        Ok(LiveIds::new(self.id_seed()?, absent))
    }

    /// The operations per action.
    pub fn counts(&self) -> io::Result<Counts> {
        let mut counts = Counts::default();
        for segment in self.outline()? {
            match segment.action {
                Action::Create => counts.create += segment.count,
                Action::Update => counts.update += segment.count,
                Action::Delete => counts.delete += segment.count,
            }
        }
        Ok(counts)
    }

    /// The runs of operations of one level, kind and action, in plan order: as the plan
    /// noted them when it wrote its operations, or read from them for a plan read back.
    pub fn outline(&self) -> io::Result<Vec<Segment>> {
        let noted: usize = self.segments.iter().map(|s| s.count).sum();
        if noted == self.operations.len() {
            return Ok(self.segments.clone());
        }
        let mut segments = Vec::new();
        let mut items = self.operations.iter()?;
        loop {
            let offset = items.offset();
            let Some(op) = items.next() else {
                return Ok(segments);
            };
            Segment::note(&mut segments, &op?, offset);
        }
    }
}

/// Plans the return of `live` to the state of `snapshot` (both sorted by (kind, id)).
///
/// Memory does not grow with the plan: creates and deletes go to an external sort as the join
/// finds them, updates are set aside on disk until every moved id is known, and the sorted
/// operations are written to the plan's file. Only the objects `--only` selects and the
/// skipped operations are held.
pub fn plan<S, L, ES, EL>(
    snapshot: S,
    live: L,
    connector: &dyn WriteProvider,
    options: &PlanOptions,
) -> Result<Plan, RestoreError>
where
    S: Iterator<Item = Result<Record, ES>>,
    L: Iterator<Item = Result<Record, EL>>,
    ES: std::error::Error + Send + Sync + 'static,
    EL: std::error::Error + Send + Sync + 'static,
{
    let selected =
        |kind: &str, key: &str| options.only.iter().any(|s| s.kind == kind && s.key == key);
    // Without --only (whose closure may pull in objects of any kind), records of kinds left
    // out by --kinds are never held: only their ids are.
    let wanted = |kind: &str| {
        !options.left_alone.contains_key(kind)
            && (!options.only.is_empty() || options.kinds.as_ref().is_none_or(|k| k.contains(kind)))
    };
    let dir = options.join.spool_dir.as_deref();
    // The moved ids, the objects to re-create and the refs of the updates and of the
    // unchanged records, paired on disk after the join.
    let mut refs = MovedIds::new(dir, options.join.spool_budget).map_err(RestoreError::Spill)?;
    let mut absent = SpillWriter::new(dir).map_err(RestoreError::Spill)?;
    let mut updates = SpillWriter::<(Record, Record)>::new(dir).map_err(RestoreError::Spill)?;
    // Records equal on both sides that reference other objects, with their live ids: one
    // whose reference names an object this plan re-creates still names it by its old id (a
    // provider keeps a deleted object's id where it was referenced), so it is updated too.
    let mut unchanged = SpillWriter::<(Record, String)>::new(dir).map_err(RestoreError::Spill)?;
    let kinds = connector.kinds();
    let can = |kind: &str, action: Action| {
        kinds.iter().any(|k| {
            k.name == kind
                && match action {
                    Action::Create => k.capabilities.create,
                    Action::Update => k.capabilities.update,
                    Action::Delete => k.capabilities.delete,
                }
        })
    };
    let mut targets_snapshot: BTreeSet<(String, String)> = BTreeSet::new();
    let mut targets_live: BTreeSet<(String, String)> = BTreeSet::new();
    let mut sorter = Sorter::new(connector, options)?;
    // With --only, the operations are held until the selection is known.
    let mut held: Option<Vec<PlannedOp>> = (!options.only.is_empty()).then(Vec::new);
    let mut put = |op: PlannedOp, sorter: &mut Sorter| -> io::Result<()> {
        match &mut held {
            Some(held) => {
                held.push(op);
                Ok(())
            }
            None => sorter.add(op),
        }
    };
    join(snapshot, live, &options.join, |joined| {
        match joined {
            Joined::Both { left, right, .. } => {
                if selected(&left.kind, &left.key) {
                    targets_snapshot.insert((left.kind.clone(), left.id.clone()));
                    targets_live.insert((right.kind.clone(), right.id.clone()));
                }
                if left.id != right.id {
                    refs.moved(&left.kind, &left.id, &right.id)?;
                }
                if wanted(&left.kind)
                    && (left.key != right.key
                        || left.attrs != right.attrs
                        || left.refs != right.refs)
                {
                    refs.resolve(updates.len(), &left.refs)?;
                    updates.push(&(left, right))?;
                } else if wanted(&left.kind)
                    && !left.refs.is_empty()
                    && can(&left.kind, Action::Update)
                {
                    refs.watch(unchanged.len(), &left.refs)?;
                    unchanged.push(&(left, right.id))?;
                }
            }
            Joined::Left(s) => {
                if selected(&s.kind, &s.key) {
                    targets_snapshot.insert((s.kind.clone(), s.id.clone()));
                }
                absent.push(&(s.kind.clone(), s.id.clone()))?;
                if wanted(&s.kind)
                    && can(&s.kind, Action::Create)
                    && connector.refuses(Action::Create, &s).is_none()
                {
                    refs.absent(&s.kind, &s.id)?;
                }
                if wanted(&s.kind) {
                    put(
                        planned(Action::Create, Some(s), None, Vec::new()),
                        &mut sorter,
                    )?;
                }
            }
            Joined::Right(l) => {
                if selected(&l.kind, &l.key) {
                    targets_live.insert((l.kind.clone(), l.id.clone()));
                }
                if options.mode == Mode::Authoritative && wanted(&l.kind) {
                    put(
                        planned(Action::Delete, None, Some(l), Vec::new()),
                        &mut sorter,
                    )?;
                }
            }
        }
        Ok(())
    })?;
    if !options.only.is_empty() && targets_snapshot.is_empty() && targets_live.is_empty() {
        let wanted: Vec<String> = options
            .only
            .iter()
            .map(|s| format!("{}:{}", s.kind, s.key))
            .collect();
        return Err(Refusal::NoMatch(wanted.join(", ")).into());
    }

    // Updates compare the snapshot, seen through the moved ids it references, with the live
    // record; refs to objects absent live keep their snapshot ids either way.
    let mut resolved = refs.finish(true).map_err(RestoreError::Spill)?;
    for (k, pair) in updates
        .finish()
        .map_err(RestoreError::Spill)?
        .iter()
        .map_err(RestoreError::Spill)?
        .enumerate()
    {
        let (snap, live) = pair.map_err(RestoreError::Spill)?;
        let ids = resolved.ids_of(k).map_err(RestoreError::Spill)?;
        let desired = connector.reachable(to_live(&snap, &ids), &live);
        if same_state(&desired, &live) {
            continue;
        }
        let fields = field_changes(&live, &desired);
        put(
            planned(Action::Update, Some(snap), Some(live), fields),
            &mut sorter,
        )
        .map_err(RestoreError::Spill)?;
    }
    let recreated = std::mem::take(&mut resolved.stale);
    if !recreated.is_empty() {
        for (k, pair) in unchanged
            .finish()
            .map_err(RestoreError::Spill)?
            .iter()
            .map_err(RestoreError::Spill)?
            .enumerate()
        {
            let (snap, live_id) = pair.map_err(RestoreError::Spill)?;
            if let Some(stale) = recreated.get(&k) {
                let live = Record {
                    id: live_id,
                    ..snap.clone()
                };
                let fields = stale
                    .iter()
                    .map(|(kind, id)| FieldChange {
                        path: "/refs".into(),
                        old: Some(serde_json::json!({"kind": kind, "id": id})),
                        new: Some(
                            serde_json::json!({"kind": kind, "id": "(re-created by this restore)"}),
                        ),
                    })
                    .collect();
                put(
                    planned(Action::Update, Some(snap), Some(live), fields),
                    &mut sorter,
                )
                .map_err(RestoreError::Spill)?;
            }
        }
    }
    if let Some(held) = held {
        for op in select(held, options, &targets_snapshot, &targets_live) {
            sorter.add(op).map_err(RestoreError::Spill)?;
        }
    }
    let mut plan = sorter.finish(dir)?;
    plan.ids = resolved.moved;
    plan.absent = absent.finish().map_err(RestoreError::Spill)?;
    plan.mode = options.mode;
    plan.left_alone = options
        .left_alone
        .iter()
        .map(|(kind, reason)| LeftAlone {
            kind: kind.clone(),
            reason: reason.clone(),
        })
        .collect();
    Ok(plan)
}

fn planned(
    action: Action,
    desired: Option<Record>,
    current: Option<Record>,
    fields: Vec<FieldChange>,
) -> PlannedOp {
    let any = desired
        .as_ref()
        .or(current.as_ref())
        .expect("an operation has a record");
    PlannedOp {
        seq: 0,
        level: 0,
        action,
        kind: any.kind.clone(),
        key: any.key.clone(),
        snapshot_id: desired.as_ref().map(|r| r.id.clone()),
        live_id: current.as_ref().map(|r| r.id.clone()),
        fields,
        desired,
        current,
    }
}

/// Keeps the selected objects, the records that point at them (memberships, assignments,
/// rules) and the missing objects those need, transitively.
fn select(
    ops: Vec<PlannedOp>,
    options: &PlanOptions,
    targets_snapshot: &BTreeSet<(String, String)>,
    targets_live: &BTreeSet<(String, String)>,
) -> Vec<PlannedOp> {
    let points_at = |record: &Option<Record>, targets: &BTreeSet<(String, String)>| {
        record.as_ref().is_some_and(|r| {
            r.refs
                .iter()
                .any(|x| targets.contains(&(x.kind.clone(), x.id.clone())))
        })
    };
    let mut keep: Vec<bool> = ops
        .iter()
        .map(|op| {
            options
                .only
                .iter()
                .any(|s| s.kind == op.kind && s.key == op.key)
                || points_at(&op.desired, targets_snapshot)
                || points_at(&op.current, targets_live)
        })
        .collect();
    let creates: BTreeMap<(String, String), usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.action == Action::Create)
        .filter_map(|(i, op)| op.snapshot_id.clone().map(|id| ((op.kind.clone(), id), i)))
        .collect();
    let mut queue: Vec<usize> = (0..ops.len()).filter(|&i| keep[i]).collect();
    while let Some(i) = queue.pop() {
        let Some(desired) = &ops[i].desired else {
            continue;
        };
        for r in &desired.refs {
            if let Some(&j) = creates.get(&(r.kind.clone(), r.id.clone()))
                && !keep[j]
            {
                keep[j] = true;
                queue.push(j);
            }
        }
    }
    ops.into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(op, _)| op)
        .collect()
}
