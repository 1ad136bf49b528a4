//! Turning diff(snapshot → live) into an ordered list of operations.

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::{Action, KindInfo, Operation, Provider, Record, kind::dependency_order};
use serde::{Deserialize, Serialize};

use crate::diff::{FieldChange, JoinOptions, Joined, field_changes, join};
use crate::restore::ids::{LiveIds, same_state, to_live};
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
    /// The (kind, key) the connector runs as: never deleted.
    pub self_identity: Option<(String, String)>,
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

/// What the provider cannot give back for the objects a restore creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannotRestore {
    pub kind: String,
    /// What is lost and what the operator has to do about it.
    pub reason: String,
    pub count: usize,
    /// The natural keys of the affected objects.
    pub keys: Vec<String>,
}

/// An ordered, serializable restore plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The snapshot restored from, as resolved (`okta-prod/20261127T020000Z-1a2b3c4d`).
    pub snapshot: String,
    /// The configured source written to.
    pub target: String,
    pub mode: Mode,
    pub operations: Vec<PlannedOp>,
    pub skipped: Vec<Skipped>,
    pub cannot_restore: Vec<CannotRestore>,
    /// Snapshot id → live id of every object found live under another id (joined by key):
    /// `(kind, snapshot id, live id)`. Objects joined by id are not listed.
    pub ids: Vec<(String, String, String)>,
    /// Snapshot ids of the objects not found live: `(kind, snapshot id)`. They have no live id
    /// until the restore creates them.
    #[serde(default)]
    pub absent: Vec<(String, String)>,
}

impl Plan {
    pub fn id_seed(&self) -> BTreeMap<(String, String), String> {
        self.ids
            .iter()
            .map(|(k, s, l)| ((k.clone(), s.clone()), l.clone()))
            .collect()
    }

    /// The ids to resolve references through, as the plan found them.
    pub fn live_ids(&self) -> LiveIds {
        LiveIds::new(self.id_seed(), self.absent.iter().cloned().collect())
    }

    pub fn count(&self, action: Action) -> usize {
        self.operations
            .iter()
            .filter(|o| o.action == action)
            .count()
    }
}

/// Plans the return of `live` to the state of `snapshot` (both sorted by (kind, id)).
pub fn plan<S, L, ES, EL>(
    snapshot: S,
    live: L,
    connector: &dyn Provider,
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
        !options.only.is_empty() || options.kinds.as_ref().is_none_or(|k| k.contains(kind))
    };
    let mut moved: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut absent: BTreeSet<(String, String)> = BTreeSet::new();
    let mut creates: Vec<Record> = Vec::new();
    let mut updates: Vec<(Record, Record)> = Vec::new();
    let mut deletes: Vec<Record> = Vec::new();
    let mut targets_snapshot: BTreeSet<(String, String)> = BTreeSet::new();
    let mut targets_live: BTreeSet<(String, String)> = BTreeSet::new();
    join(snapshot, live, &options.join, |joined| {
        match joined {
            Joined::Both { left, right, .. } => {
                if selected(&left.kind, &left.key) {
                    targets_snapshot.insert((left.kind.clone(), left.id.clone()));
                    targets_live.insert((right.kind.clone(), right.id.clone()));
                }
                if left.id != right.id {
                    moved.insert((left.kind.clone(), left.id.clone()), right.id.clone());
                }
                if wanted(&left.kind)
                    && (left.key != right.key
                        || left.attrs != right.attrs
                        || left.refs != right.refs)
                {
                    updates.push((left, right));
                }
            }
            Joined::Left(s) => {
                if selected(&s.kind, &s.key) {
                    targets_snapshot.insert((s.kind.clone(), s.id.clone()));
                }
                absent.insert((s.kind.clone(), s.id.clone()));
                if wanted(&s.kind) {
                    creates.push(s);
                }
            }
            Joined::Right(l) => {
                if selected(&l.kind, &l.key) {
                    targets_live.insert((l.kind.clone(), l.id.clone()));
                }
                if options.mode == Mode::Authoritative && wanted(&l.kind) {
                    deletes.push(l);
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

    let ids = LiveIds::new(moved, absent);
    let mut ops: Vec<PlannedOp> = Vec::new();
    for snap in creates {
        ops.push(planned(Action::Create, Some(snap), None, Vec::new()));
    }
    for (snap, live) in updates {
        let desired = connector.reachable(to_live(&snap, &ids), &live);
        if same_state(&desired, &live) {
            continue;
        }
        let fields = field_changes(&live, &desired);
        ops.push(planned(Action::Update, Some(snap), Some(live), fields));
    }
    for live in deletes {
        ops.push(planned(Action::Delete, None, Some(live), Vec::new()));
    }
    if !options.only.is_empty() {
        ops = select(ops, options, &targets_snapshot, &targets_live);
    }
    if let Some(kinds) = &options.kinds {
        ops.retain(|o| kinds.contains(&o.kind));
    }

    let kinds = connector.kinds();
    let mut skipped = Vec::new();
    ops.retain(|op| match refusal(op, kinds, options) {
        None => true,
        Some(reason) => {
            skipped.push(Skipped {
                action: op.action,
                kind: op.kind.clone(),
                key: op.key.clone(),
                reason,
            });
            false
        }
    });
    let delete_count = ops.iter().filter(|o| o.action == Action::Delete).count() as u64;
    if delete_count > options.max_deletes {
        let examples: Vec<String> = ops
            .iter()
            .filter(|o| o.action == Action::Delete)
            .take(5)
            .map(|o| format!("{} {}", o.kind, o.key))
            .collect();
        return Err(Refusal::TooManyDeletes {
            count: delete_count,
            max: options.max_deletes,
            examples: examples.join(", "),
        }
        .into());
    }
    order(&mut ops, kinds);
    let cannot_restore = cannot_restore(&ops, connector);
    let (moved, absent) = ids.into_parts();
    Ok(Plan {
        operations: ops,
        skipped,
        cannot_restore,
        ids: moved.into_iter().map(|((k, s), l)| (k, s, l)).collect(),
        absent: absent.into_iter().collect(),
        mode: options.mode,
        ..Plan::default()
    })
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

/// Why the connector will not run `op`, if it will not.
fn refusal(op: &PlannedOp, kinds: &[KindInfo], options: &PlanOptions) -> Option<String> {
    let Some(info) = kinds.iter().find(|k| k.name == op.kind) else {
        return Some(format!("the connector does not know kind {}", op.kind));
    };
    let (can, verb) = match op.action {
        Action::Create => (info.capabilities.create, "create"),
        Action::Update => (info.capabilities.update, "update"),
        Action::Delete => (info.capabilities.delete, "delete"),
    };
    if !can {
        return Some(format!(
            "the connector cannot {verb} {}; do it by hand",
            info.name
        ));
    }
    if op.action == Action::Delete
        && options.self_identity.as_ref() == Some(&(op.kind.clone(), op.key.clone()))
    {
        return Some("this is the identity iamsnap runs as; it is never deleted".into());
    }
    None
}

/// Creates and updates in dependency order, one level per dependency depth; then deletes in
/// reverse order. Numbers operations and levels.
fn order(ops: &mut [PlannedOp], kinds: &[KindInfo]) {
    let ordered = dependency_order(kinds);
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut position: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, k) in ordered.iter().enumerate() {
        let d = k
            .depends_on
            .iter()
            .filter_map(|dep| depth.get(dep).map(|d| d + 1))
            .max()
            .unwrap_or(0);
        depth.insert(k.name, d);
        position.insert(k.name, i);
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    let rank = |op: &PlannedOp| {
        let d = depth.get(op.kind.as_str()).copied().unwrap_or(0);
        let p = position.get(op.kind.as_str()).copied().unwrap_or(0);
        match op.action {
            Action::Delete => (deepest + 1 + (deepest - d), usize::MAX - p),
            _ => (d, p),
        }
    };
    ops.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(a.action.cmp(&b.action))
            .then(a.key.cmp(&b.key))
    });
    for (seq, op) in ops.iter_mut().enumerate() {
        op.seq = seq;
        op.level = rank(op).0;
    }
}

fn cannot_restore(ops: &[PlannedOp], connector: &dyn Provider) -> Vec<CannotRestore> {
    let mut lost: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.action == Action::Create) {
        let Some(desired) = &op.desired else { continue };
        for reason in connector.cannot_restore(desired) {
            lost.entry((op.kind.clone(), reason))
                .or_default()
                .push(op.key.clone());
        }
    }
    lost.into_iter()
        .map(|((kind, reason), keys)| CannotRestore {
            kind,
            reason,
            count: keys.len(),
            keys,
        })
        .collect()
}
