//! Putting planned operations in order: creates and updates by dependency depth, deletes in
//! reverse, after leaving out what the connector refuses and what would weaken the identity it
//! runs as.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use iamsnap_provider::{Action, KindInfo, Operation, WriteProvider, kind::dependency_order};

use crate::archive::Spool;
use crate::restore::plan::{CannotRestore, Plan, PlanOptions, PlannedOp, Segment, Skipped};
use crate::restore::spill::SpillWriter;
use crate::restore::{Refusal, RestoreError};

/// Where operations go in the plan: creates and updates in dependency order, one level per
/// dependency depth; then deletes in reverse order.
pub(super) struct Ranks {
    depth: BTreeMap<&'static str, usize>,
    position: BTreeMap<&'static str, usize>,
    deepest: usize,
}

impl Ranks {
    fn new(kinds: &'static [KindInfo]) -> Ranks {
        let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
        let mut position: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, k) in dependency_order(kinds).iter().enumerate() {
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
        Ranks {
            depth,
            position,
            deepest,
        }
    }

    /// (level, position within the level).
    pub(super) fn of(&self, op: &PlannedOp) -> (usize, usize) {
        let d = self.depth.get(op.kind.as_str()).copied().unwrap_or(0);
        let p = self.position.get(op.kind.as_str()).copied().unwrap_or(0);
        match op.action {
            Action::Delete => (self.deepest + 1 + (self.deepest - d), usize::MAX - p),
            _ => (d, p),
        }
    }

    /// A text that sorts like (level, position, action); the key follows it.
    fn sort_key(&self, op: &PlannedOp) -> String {
        let (level, position) = self.of(op);
        let action = match op.action {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
        };
        format!("{level:06}{position:020}{action}")
    }
}

/// Sorts operations into plan order on disk, after leaving out the kinds not asked for, what
/// the connector cannot do and what would weaken the identity it runs as.
pub(super) struct Sorter<'a> {
    connector: &'a dyn WriteProvider,
    options: &'a PlanOptions,
    /// Objects the plan does not create: (kind, snapshot id) → key.
    refused: BTreeMap<(String, String), String>,
    /// The creates the connector refuses, as (kind, key, why), in the order they were found:
    /// what cannot be restored.
    not_created: Vec<(String, String, String)>,
    ranks: Ranks,
    /// The operations with their records, in the order they were added.
    ops: SpillWriter<PlannedOp>,
    /// Where each operation starts in `ops`, sorted into plan order: a few dozen bytes per
    /// operation in memory instead of its records.
    spool: Spool,
    skipped: Vec<Skipped>,
    /// The (kind, key) of the operations left out to protect the identity the connector runs
    /// as, in the order they were found.
    protected: Vec<(String, String)>,
    deletes: u64,
    first_deletes: Vec<String>,
}

impl<'a> Sorter<'a> {
    pub(super) fn new(
        connector: &'a dyn WriteProvider,
        options: &'a PlanOptions,
    ) -> Result<Self, RestoreError> {
        Ok(Sorter {
            connector,
            options,
            refused: BTreeMap::new(),
            not_created: Vec::new(),
            ranks: Ranks::new(connector.kinds()),
            ops: SpillWriter::new(options.join.spool_dir.as_deref())
                .map_err(RestoreError::Spill)?,
            spool: Spool::new(options.join.spool_dir.as_deref(), options.join.spool_budget)
                .map_err(RestoreError::Spill)?,
            skipped: Vec::new(),
            protected: Vec::new(),
            deletes: 0,
            first_deletes: Vec::new(),
        })
    }

    pub(super) fn add(&mut self, mut op: PlannedOp) -> io::Result<()> {
        if let Some(kinds) = &self.options.kinds
            && !kinds.contains(&op.kind)
        {
            return Ok(());
        }
        let refused = refusal(&op, self.connector);
        if let Some(reason) = &refused
            && op.action == Action::Create
        {
            if let Some(id) = &op.snapshot_id {
                self.refused
                    .insert((op.kind.clone(), id.clone()), op.key.clone());
            }
            self.not_created
                .push((op.kind.clone(), op.key.clone(), reason.clone()));
        }
        let protected = refused.is_none().then(|| self.protects(&mut op)).flatten();
        if protected.is_some() {
            self.protected.push((op.kind.clone(), op.key.clone()));
        }
        if let Some(reason) = refused.or(protected) {
            self.skipped.push(Skipped {
                action: op.action,
                kind: op.kind,
                key: op.key,
                reason,
            });
            return Ok(());
        }
        if op.action == Action::Delete {
            self.deletes += 1;
            if self.first_deletes.len() < 5 {
                self.first_deletes.push(format!("{} {}", op.kind, op.key));
            }
        }
        // Ties (one key twice in a kind and action) keep the order they came in.
        let at = format!("{:020}", self.ops.offset());
        self.ops.push(&op)?;
        self.spool.push_entry(self.ranks.sort_key(&op), op.key, at)
    }

    /// Why the connector says `op` would weaken the identity it runs as, if it would. The
    /// operation is lent to the connector without copying its records.
    fn protects(&self, op: &mut PlannedOp) -> Option<String> {
        let me = self.options.self_identity.as_ref()?;
        let operation = Operation {
            action: op.action,
            kind: std::mem::take(&mut op.kind),
            key: std::mem::take(&mut op.key),
            desired: op.desired.take(),
            current: op.current.take(),
        };
        let reason = self.connector.protects(&operation, me);
        op.kind = operation.kind;
        op.key = operation.key;
        op.desired = operation.desired;
        op.current = operation.current;
        reason
    }

    /// Numbers the operations in order and writes them to the plan, noting what re-created
    /// objects lose and what the operator has to do by hand about the operations left out to
    /// protect the identity the connector runs as.
    pub(super) fn finish(self, dir: Option<&Path>) -> Result<Plan, RestoreError> {
        let connector = self.connector;
        if self.deletes > self.options.max_deletes {
            return Err(Refusal::TooManyDeletes {
                count: self.deletes,
                max: self.options.max_deletes,
                examples: self.first_deletes.join(", "),
            }
            .into());
        }
        let spill = RestoreError::Spill;
        let mut sorted = self.spool.finish().map_err(spill)?;
        let added = self.ops.finish().map_err(spill)?;
        let added = added.positions().map_err(spill)?;
        let mut operations = SpillWriter::new(dir).map_err(spill)?;
        let mut segments = Vec::new();
        let mut lost: BTreeMap<(String, String), SpillWriter<String>> = BTreeMap::new();
        let (mut refused, mut skipped) = (self.refused, self.skipped);
        for (kind, key, reason) in &self.not_created {
            note(&mut lost, kind, reason, key, dir)?;
        }
        while let Some(line) = sorted.next_line().map_err(spill)? {
            let at = line.json.parse().map_err(|e| spill(io::Error::other(e)))?;
            let mut op = added.get(at).map_err(spill)?;
            // Operations come in dependency order: what needs an object the plan does not
            // create is left out with it, before anything that needs it in turn.
            let needed = op.desired.as_ref().and_then(|d| {
                d.refs.iter().find_map(|r| {
                    refused
                        .get(&(r.kind.clone(), r.id.clone()))
                        .map(|key| format!("{} {key}", r.kind))
                })
            });
            if let Some(needed) = needed {
                if op.action == Action::Create
                    && let Some(id) = &op.snapshot_id
                {
                    refused.insert((op.kind.clone(), id.clone()), op.key.clone());
                }
                note(&mut lost, &op.kind, DEPENDS, &op.key, dir)?;
                skipped.push(Skipped {
                    action: op.action,
                    kind: op.kind,
                    key: op.key,
                    reason: format!("it needs {needed}, which the restore does not create"),
                });
                continue;
            }
            op.seq = operations.len();
            op.level = self.ranks.of(&op).0;
            Segment::note(&mut segments, &op, operations.offset());
            if op.action == Action::Create
                && let Some(desired) = &op.desired
            {
                for reason in connector.cannot_restore(desired) {
                    note(&mut lost, &op.kind, &reason, &op.key, dir)?;
                }
            }
            operations.push(&op).map_err(spill)?;
        }
        if let Some(me) = &self.options.self_identity {
            let by_hand = format!(
                "left as it is live to keep {me}, the identity iamsnap runs as, and its rights (see the operations not restored); if the change is intended, make it by hand once the restore is done, signed in as another administrator"
            );
            for (kind, key) in &self.protected {
                note(&mut lost, kind, &by_hand, key, dir)?;
            }
        }
        let mut cannot_restore = Vec::with_capacity(lost.len());
        for ((kind, reason), keys) in lost {
            cannot_restore.push(CannotRestore {
                kind,
                reason,
                count: keys.len(),
                keys: keys.finish().map_err(spill)?,
            });
        }
        Ok(Plan {
            operations: operations.finish().map_err(spill)?,
            segments,
            skipped,
            cannot_restore,
            ..Plan::default()
        })
    }
}
/// What cannot be restored of an operation left out because it needs, directly or through
/// another one left out, an object the connector refuses to create.
pub(crate) const DEPENDS: &str = "depends on an object that cannot be re-created (listed here under its own kind, with why): bring that object back first (by hand, or by a restore that can create it), then restore again and this comes back with it";

/// Adds `key` to what cannot be restored of `kind` for `reason`.
fn note(
    lost: &mut BTreeMap<(String, String), SpillWriter<String>>,
    kind: &str,
    reason: &str,
    key: &str,
    dir: Option<&Path>,
) -> Result<(), RestoreError> {
    let keys = match lost.entry((kind.to_string(), reason.to_string())) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(SpillWriter::new(dir).map_err(RestoreError::Spill)?)
        }
    };
    keys.push(&key.to_string()).map_err(RestoreError::Spill)
}

/// Why the connector will not run `op`, if it will not.
fn refusal(op: &PlannedOp, connector: &dyn WriteProvider) -> Option<String> {
    let Some(info) = connector.kinds().iter().find(|k| k.name == op.kind) else {
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
    let record = match op.action {
        Action::Delete => op.current.as_ref(),
        _ => op.desired.as_ref(),
    }?;
    connector.refuses(op.action, record)
}
