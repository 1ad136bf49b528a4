//! Verification after a restore: every touched object read back and compared with the
//! snapshot. An object that still differs is read again with a growing pause, within
//! [`ApplyOptions::settle`], before it is reported: providers serve reads from replicas that
//! lag their writes (Okta lists a group without a member it answered 204 to adding).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use iamsnap_provider::{Action, Record, WriteProvider, redact, same_state, to_live};

use super::apply::{ApplyOptions, Ops, Residual};
use crate::diff::{FieldChange, field_changes};
use crate::restore::ids::LiveIds;
use crate::restore::{PlannedOp, RestoreError};

/// The first pause before an object that differs is read again; each next one doubles.
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Reads every touched object (`touched`: indices into the plan, in order) back and reports
/// those that still differ from the snapshot after re-reads within the settle time.
pub(super) async fn verify(
    touched: &[usize],
    ops: &Ops,
    provider: &dyn WriteProvider,
    ids: &LiveIds,
    options: &ApplyOptions,
) -> Result<Vec<Residual>, RestoreError> {
    let first = if touched.len() > options.read_all_above {
        read_back(touched, ops, provider, ids).await?
    } else {
        read_each(touched, ops, provider, ids, options).await?
    };
    settle(first, ops, provider, ids, options).await
}

/// Reads the objects that differ (`residual`, by plan index) again by key, with a pause that
/// doubles each round, until none differs or the settle time is spent.
async fn settle(
    mut residual: Vec<(usize, Residual)>,
    ops: &Ops,
    provider: &dyn WriteProvider,
    ids: &LiveIds,
    options: &ApplyOptions,
) -> Result<Vec<Residual>, RestoreError> {
    let deadline = Instant::now() + options.settle;
    let mut pause = FIRST_PAUSE;
    while !residual.is_empty() && Instant::now() + pause <= deadline {
        tokio::time::sleep(pause).await;
        pause *= 2;
        let again: Vec<usize> = residual.iter().map(|(i, _)| *i).collect();
        residual = read_each(&again, ops, provider, ids, options).await?;
    }
    Ok(residual.into_iter().map(|(_, r)| r).collect())
}

/// Reads the objects `touched` (indices into the plan, in order) back one by one, and returns
/// those that differ from the snapshot.
async fn read_each(
    touched: &[usize],
    ops: &Ops,
    provider: &dyn WriteProvider,
    ids: &LiveIds,
    options: &ApplyOptions,
) -> Result<Vec<(usize, Residual)>, RestoreError> {
    let checked: Vec<Result<Option<(usize, Residual)>, RestoreError>> =
        futures::stream::iter(touched.iter().copied())
            .map(|i| async move {
                let op = ops.get(i)?;
                let live = provider
                    .fetch(&op.kind, &op.key)
                    .await
                    .map_err(|e| redact::scrubbed(e.to_string()));
                Ok(check_against(&op, live, provider, ids).map(|r| (i, r)))
            })
            .buffered(options.concurrency.max(1))
            .collect()
            .await;
    let mut residual = Vec::new();
    for r in checked {
        residual.extend(r?);
    }
    Ok(residual)
}

/// Checks the touched objects against one read of the whole live state, each as it arrives.
async fn read_back(
    touched: &[usize],
    ops: &Ops,
    provider: &dyn WriteProvider,
    ids: &LiveIds,
) -> Result<Vec<(usize, Residual)>, RestoreError> {
    let mut wanted: HashMap<Arc<str>, HashMap<String, usize>> = HashMap::new();
    for &i in touched {
        let op = ops.get(i)?;
        wanted
            .entry(ops.heads[i].kind.clone())
            .or_default()
            .insert(op.key, i);
    }
    let mut residual: Vec<(usize, Residual)> = Vec::new();
    let read = crate::live::each_record(provider, |record| {
        let at = wanted
            .get_mut(record.kind.as_str())
            .and_then(|keys| keys.remove(record.key.as_str()));
        if let Some(i) = at {
            let op = ops.get(i)?;
            if let Some(r) = check_against(&op, Ok(Some(record)), provider, ids) {
                residual.push((i, r));
            }
        }
        Ok::<(), RestoreError>(())
    })
    .await?;
    match read {
        // Every touched object still wanted was not found.
        Ok(()) => {
            for i in wanted.into_values().flat_map(|keys| keys.into_values()) {
                let op = ops.get(i)?;
                if let Some(r) = check_against(&op, Ok(None), provider, ids) {
                    residual.push((i, r));
                }
            }
        }
        Err(e) => {
            residual.clear();
            for &i in touched {
                let op = ops.get(i)?;
                residual.extend(
                    check_against(&op, Err(redact::scrubbed(e.to_string())), provider, ids)
                        .map(|r| (i, r)),
                );
            }
        }
    }
    residual.sort_by_key(|(i, _)| *i);
    Ok(residual)
}

fn check_against(
    op: &PlannedOp,
    live: Result<Option<Record>, String>,
    provider: &dyn WriteProvider,
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
