//! Checking a plan read back from a journal before resuming it.
//!
//! Journals sit in the repository, which the backup host can write to; a journal is not
//! signed. So a resumed plan is trusted only as far as the verified snapshot and the live
//! state confirm it: every object it creates or updates must be exactly the snapshot's, every
//! object it deletes must be absent from the snapshot and within the operator's delete limit,
//! no operation may weaken the identity the connector runs as, and every id it maps must join
//! objects with the same natural key.

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_provider::{Action, Record, WriteProvider};

use crate::diff::{DiffError, Side};
use crate::restore::{JournalError, Mode, Plan, PlanOptions, RestoreError};

/// SHA-256 of a record's canonical JSON: what the plan writes is compared with the snapshot
/// without holding either.
type Digest = [u8; 32];

fn digest(record: &Record) -> Digest {
    use sha2::Digest as _;
    sha2::Sha256::digest(record.to_canonical_json().as_bytes()).into()
}

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
/// sorted by (kind, id)) do not bear out, or that exceeds what `options` allow now, or that
/// `connector` says would weaken the identity it runs as.
pub fn check<S, L, ES, EL>(
    plan: &Plan,
    snapshot: S,
    live: L,
    connector: &dyn WriteProvider,
    options: &PlanOptions,
) -> Result<(), RestoreError>
where
    S: Iterator<Item = Result<Record, ES>>,
    L: Iterator<Item = Result<Record, EL>>,
    ES: std::error::Error + Send + Sync + 'static,
    EL: std::error::Error + Send + Sync + 'static,
{
    // One read of the plan: the deletes, a digest of every record it writes, and the objects
    // its updates rename.
    let mut deletes: BTreeSet<(String, String)> = BTreeSet::new();
    let mut desired: BTreeMap<(String, String), Digest> = BTreeMap::new();
    let mut renames: BTreeSet<(String, String, String)> = BTreeSet::new();
    for op in plan.operations.iter().map_err(RestoreError::Spill)? {
        let op = op.map_err(RestoreError::Spill)?;
        if let Some(me) = &options.self_identity
            && let Some(reason) = connector.protects(&op.operation(), me)
        {
            let verb = match op.action {
                Action::Create => "creates",
                Action::Update => "updates",
                Action::Delete => "deletes",
            };
            return Err(mismatch(
                plan,
                format!("it {verb} {} {}: {reason}", op.kind, op.key),
            ));
        }
        if op.action == Action::Delete {
            deletes.insert((op.kind.clone(), op.key.clone()));
        }
        if op.action == Action::Update
            && let Some(c) = op.current
        {
            renames.insert((c.kind, c.id, c.key));
        }
        if let Some(d) = op.desired {
            desired.insert((d.kind.clone(), d.id.clone()), digest(&d));
        }
    }
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
    let seed = plan.id_seed().map_err(RestoreError::Spill)?;
    let mut expected_keys: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut seeded = 0usize;
    for record in snapshot {
        let record = read(Side::Left, record)?;
        let at = (record.kind.clone(), record.id.clone());
        if let Some(expected) = desired.remove(&at)
            && expected != digest(&record)
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
    let mut found = 0usize;
    for record in live {
        let record = read(Side::Right, record)?;
        let Some(key) = expected_keys.get(&(record.kind.clone(), record.id.clone())) else {
            continue;
        };
        found += 1;
        // A renamed object is joined by id; its update restores the key.
        if *key != record.key
            && !renames.contains(&(record.kind.clone(), record.id.clone(), record.key.clone()))
        {
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
