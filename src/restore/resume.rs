//! Checking a plan read back from a journal before resuming it.
//!
//! Journals sit in the repository, which the backup host can write to; a journal is not
//! signed. So a resumed plan is trusted only as far as the verified snapshot and the live
//! state confirm it: every object it creates or updates must be exactly the snapshot's, every
//! object it deletes must be absent from the snapshot and within the operator's delete limit,
//! and every id it maps must join objects with the same natural key.

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::{Action, Record};

use crate::diff::{DiffError, Side};
use crate::restore::{JournalError, Mode, Plan, PlanOptions, RestoreError};

fn mismatch(plan: &Plan, detail: String) -> RestoreError {
    JournalError::Mismatch {
        snapshot: plan.snapshot.clone(),
        detail,
    }
    .into()
}

fn read<E: std::error::Error + Send + Sync + 'static>(
    side: Side,
    r: Result<Record, E>,
) -> Result<Record, RestoreError> {
    r.map_err(|e| {
        DiffError::Read {
            side,
            source: Box::new(e),
        }
        .into()
    })
}

/// Refuses a journalled `plan` that the verified `snapshot` and the `live` records (both
/// sorted by (kind, id)) do not bear out, or that exceeds what `options` allow now.
pub fn check<S, L, ES, EL>(
    plan: &Plan,
    snapshot: S,
    live: L,
    options: &PlanOptions,
) -> Result<(), RestoreError>
where
    S: Iterator<Item = Result<Record, ES>>,
    L: Iterator<Item = Result<Record, EL>>,
    ES: std::error::Error + Send + Sync + 'static,
    EL: std::error::Error + Send + Sync + 'static,
{
    let operations = plan.operations.to_vec().map_err(RestoreError::Spill)?;
    let deletes: BTreeSet<(String, String)> = operations
        .iter()
        .filter(|o| o.action == Action::Delete)
        .map(|o| (o.kind.clone(), o.key.clone()))
        .collect();
    if !deletes.is_empty() && options.mode != Mode::Authoritative {
        return Err(mismatch(
            plan,
            "it deletes objects but --mode authoritative was not given".into(),
        ));
    }
    if deletes.len() as u64 > options.max_deletes {
        return Err(mismatch(
            plan,
            format!(
                "it deletes {} objects, more than --max-deletes {}",
                deletes.len(),
                options.max_deletes
            ),
        ));
    }
    if let Some(me) = &options.self_identity
        && deletes.contains(me)
    {
        return Err(mismatch(
            plan,
            format!("it deletes {} {}, the identity iamsnap runs as", me.0, me.1),
        ));
    }
    let mut desired: BTreeMap<(String, String), String> = BTreeMap::new();
    for op in &operations {
        if let Some(d) = &op.desired {
            desired.insert((d.kind.clone(), d.id.clone()), d.to_canonical_json());
        }
    }
    let seed = plan.id_seed();
    let mut expected_keys: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut seeded = 0usize;
    for record in snapshot {
        let record = read(Side::Left, record)?;
        let at = (record.kind.clone(), record.id.clone());
        if let Some(json) = desired.remove(&at)
            && json != record.to_canonical_json()
        {
            return Err(mismatch(
                plan,
                format!("{} {} differs from the snapshot", record.kind, record.key),
            ));
        }
        if deletes.contains(&(record.kind.clone(), record.key.clone())) {
            return Err(mismatch(
                plan,
                format!(
                    "it deletes {} {}, which the snapshot holds",
                    record.kind, record.key
                ),
            ));
        }
        if let Some(live_id) = seed.get(&at) {
            seeded += 1;
            expected_keys.insert((record.kind.clone(), live_id.clone()), record.key);
        }
    }
    if let Some(((kind, id), _)) = desired.into_iter().next() {
        return Err(mismatch(
            plan,
            format!("it writes {kind} {id}, which is not in the snapshot"),
        ));
    }
    if seeded != seed.len() {
        return Err(mismatch(
            plan,
            "it maps ids of objects the snapshot does not hold".into(),
        ));
    }
    let renames: BTreeSet<(&str, &str, &str)> = operations
        .iter()
        .filter(|o| o.action == Action::Update)
        .filter_map(|o| o.current.as_ref())
        .map(|c| (c.kind.as_str(), c.id.as_str(), c.key.as_str()))
        .collect();
    let mut found = 0usize;
    for record in live {
        let record = read(Side::Right, record)?;
        let Some(key) = expected_keys.get(&(record.kind.clone(), record.id.clone())) else {
            continue;
        };
        found += 1;
        // A renamed object is joined by id; its update restores the key.
        let renamed = renames.contains(&(
            record.kind.as_str(),
            record.id.as_str(),
            record.key.as_str(),
        ));
        if *key != record.key && !renamed {
            return Err(mismatch(
                plan,
                format!(
                    "it maps {} {key} onto live object {} ({})",
                    record.kind, record.id, record.key
                ),
            ));
        }
    }
    if found != expected_keys.len() {
        return Err(mismatch(
            plan,
            "it maps ids onto live objects that do not exist (any more)".into(),
        ));
    }
    Ok(())
}
