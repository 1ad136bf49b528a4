//! Checks 3 and 4, through the engine's restore (`prepare`, then `execute`): the backup
//! restored into an empty system completes and leaves nothing to plan; and after an incident
//! made through the system's own API (a sample of every kind restore can create, deleted),
//! restoring the backup gives every record back with its state, ids aside.

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_engine::restore::{self, ApplyReport, Request};
use iamsnap_provider::kind::dependency_order;
use iamsnap_provider::{Action, Record, WriteProvider, same_state, to_live};

use super::records::{by_key, difference, duplicates, read_all, sample};
use super::workspace::Workspace;
use super::{Checked, EMPTY, SEEDED, Stop, Subject, Suite, chain, fail, verdict};

/// Records deleted per kind in the incident.
const DELETED_PER_KIND: usize = 2;

impl<S: Subject> Suite<'_, S> {
    pub(super) fn restore_into_empty(&mut self) -> Checked {
        let name = self.snapshot()?.name.clone();
        let subject = self.subject;
        let system = self
            .runtime
            .block_on(subject.empty())
            .map_err(|e| fail(format!("the empty system did not start: {e}")))?;
        let table = subject.source(&system, &subject.url(&system), self.ws.dir());
        self.ws.set_source(EMPTY, &table);
        let connector = self.connect(EMPTY)?;
        let writer = writer_of(&connector)?;
        let ws = &self.ws;
        let mut problems = Vec::new();
        let mut skipped = BTreeSet::new();
        let mut summary = String::new();
        self.runtime.block_on(async {
            match restore_snapshot(ws, &name, EMPTY, writer).await {
                Ok((0, _)) => problems.push(format!(
                    "the plan restoring {name} into an empty system has no operation"
                )),
                Ok((planned, report)) => {
                    problems.extend(incomplete(&report));
                    skipped = skipped_at_apply(&report);
                    summary = format!(
                        "{planned} operations planned, {} done, {} skipped with a reason",
                        report.done, report.skipped
                    );
                }
                Err(e) => problems.push(e),
            }
        });
        if problems.is_empty() {
            let again = self.connect(EMPTY)?;
            let leftover =
                self.runtime
                    .block_on(planned(ws, &name, EMPTY, writer_of(&again)?, &skipped));
            problems.extend(leftover);
        }
        drop(system);
        verdict(problems, summary)
    }

    pub(super) fn incident_restore(&mut self) -> Checked {
        let snapshot = self.snapshot()?;
        let connector = self.connect(SEEDED)?;
        let writer = writer_of(&connector)?;
        let (subject, seeded, ws) = (self.subject, &self.seeded, &self.ws);
        let records = &snapshot.records;
        self.runtime.block_on(async {
            let me = writer
                .self_identity()
                .await
                .map_err(|e| fail(format!("cannot tell which identity the connector runs as: {e}")))?;
            let me = me.and_then(|me| {
                records.iter().find(|r| r.kind == me.kind && r.key == me.key)
            });
            let mut problems = Vec::new();
            let mut deleted: Vec<&Record> = Vec::new();
            for kind in dependency_order(writer.kinds()).iter().rev() {
                if !kind.capabilities.create {
                    continue;
                }
                let keep = |r: &Record| why_spared(subject, r, records, me).is_none();
                let picked = sample(records, kind.name, DELETED_PER_KIND, keep);
                if picked.is_empty() {
                    let of_kind: Vec<&Record> =
                        records.iter().filter(|r| r.kind == kind.name).collect();
                    if !of_kind.is_empty() {
                        let spared: Vec<String> = of_kind
                            .iter()
                            .take(3)
                            .filter_map(|r| {
                                why_spared(subject, r, records, me)
                                    .map(|why| format!("{}: {why}", r.key))
                            })
                            .collect();
                        problems.push(format!(
                            "{}: the incident could delete none of its {} record(s), every one is spared ({}); extend the seed",
                            kind.name,
                            of_kind.len(),
                            spared.join("; ")
                        ));
                    }
                    continue;
                }
                for record in picked {
                    match subject.delete(seeded, record).await {
                        Ok(()) => deleted.push(record),
                        Err(e) => problems.push(format!(
                            "{} {}: deleting it through the system's API failed: {e}",
                            record.kind, record.key
                        )),
                    }
                }
            }
            match (deleted.is_empty(), problems.is_empty()) {
                (true, true) => {
                    return Err(Stop::NotRun("the backup holds nothing restore can create".into()));
                }
                (true, false) => return Err(Stop::Failed(problems)),
                _ => {}
            }
            let kinds: BTreeSet<&str> = deleted.iter().map(|r| r.kind.as_str()).collect();
            let summary = format!(
                "{} records of {} kinds deleted through the system's API, then restored",
                deleted.len(),
                kinds.len()
            );
            // A fresh connector: nothing it read before the incident is remembered.
            let connector = self.connect(SEEDED)?;
            let writer = writer_of(&connector)?;
            let mut skipped = BTreeSet::new();
            match restore_after_incident(ws, &snapshot.name, writer, &deleted).await {
                Ok((found, report)) => {
                    problems.extend(found);
                    skipped = report
                        .skipped_operations
                        .iter()
                        .map(|s| (s.kind.clone(), s.key.clone()))
                        .collect();
                }
                Err(e) => problems.push(e),
            }
            let live = match read_all(connector.reader()).await {
                Ok(live) => live,
                Err(e) => {
                    problems.push(format!("reading the system after the restore failed: {e}"));
                    return verdict(problems, summary);
                }
            };
            problems.extend(compare(records, &live, writer, &skipped));
            verdict(problems, summary)
        })
    }
}

/// The writing half of `connector`, or the restore checks are not run.
fn writer_of(connector: &iamsnap_provider::Connector) -> Result<&dyn WriteProvider, Stop> {
    connector
        .writer()
        .ok_or_else(|| Stop::NotRun("the connector cannot restore".into()))
}

/// Why the incident leaves `record` alone: it is the identity the connector runs as, it
/// references that identity, or the subject says so.
fn why_spared<S: Subject>(
    subject: &S,
    record: &Record,
    snapshot: &[Record],
    me: Option<&Record>,
) -> Option<String> {
    if let Some(me) = me {
        if record.kind == me.kind && record.key == me.key {
            return Some("the identity the connector runs as".into());
        }
        if record
            .refs
            .iter()
            .any(|r| r.kind == me.kind && r.id == me.id)
        {
            return Some("it belongs to the identity the connector runs as".into());
        }
    }
    subject.spare(record, snapshot, me)
}

/// Plans and applies the restore of snapshot `name` into source `target`: the number of
/// operations planned and the report.
async fn restore_snapshot(
    ws: &Workspace,
    name: &str,
    target: &str,
    writer: &dyn WriteProvider,
) -> Result<(usize, ApplyReport), String> {
    let repo = ws.repository().await?;
    let snapshot = ws.open(&repo, name).await?;
    let request = Request {
        target: target.to_string(),
        ..Request::default()
    };
    let prepared = restore::prepare(&repo, snapshot, writer, &request, ws.journal_keys()?)
        .await
        .map_err(|e| {
            format!(
                "planning the restore of {name} into {target} failed: {}",
                chain(&e)
            )
        })?;
    let planned = prepared.plan.operations.len();
    let report = prepared
        .execute(writer)
        .await
        .map_err(|e| format!("the restore of {name} into {target} stopped: {}", chain(&e)))?;
    Ok((planned, report))
}

/// The operations the connector skipped while applying, with a reason: what it can only
/// find impossible against the live system (a device that is not in the tenant), which a plan
/// keeps proposing.
fn skipped_at_apply(report: &ApplyReport) -> BTreeSet<(Action, String, String)> {
    report
        .skipped_operations
        .iter()
        .map(|s| (s.action, s.kind.clone(), s.key.clone()))
        .collect()
}

/// Plans the restore of `name` into `target` again: one problem per operation still planned,
/// but those the first restore's connector skipped with a reason.
async fn planned(
    ws: &Workspace,
    name: &str,
    target: &str,
    writer: &dyn WriteProvider,
    skipped: &BTreeSet<(Action, String, String)>,
) -> Vec<String> {
    let planned = async {
        let repo = ws.repository().await?;
        let snapshot = ws.open(&repo, name).await?;
        let request = Request {
            target: target.to_string(),
            ..Request::default()
        };
        let prepared = restore::prepare(&repo, snapshot, writer, &request, ws.journal_keys()?)
            .await
            .map_err(|e| format!("planning the restore again failed: {}", chain(&e)))?;
        prepared
            .plan
            .operations
            .to_vec()
            .map_err(|e| format!("reading the second plan failed: {e}"))
    };
    match planned.await {
        Ok(ops) => ops
            .iter()
            .filter(|op| !skipped.contains(&(op.action, op.kind.clone(), op.key.clone())))
            .map(|op| {
                let fields: Vec<&str> = op.fields.iter().map(|f| f.path.as_str()).collect();
                format!(
                    "{} {}: a second plan still has a {:?} after the restore completed{}",
                    op.kind,
                    op.key,
                    op.action,
                    if fields.is_empty() {
                        String::new()
                    } else {
                        format!(" (fields {})", fields.join(", "))
                    }
                )
            })
            .collect(),
        Err(e) => vec![e],
    }
}

/// What keeps `report` from being complete: failed operations and differences left that
/// what cannot be restored does not explain.
fn incomplete(report: &ApplyReport) -> Vec<String> {
    let mut problems: Vec<String> = report
        .failures
        .iter()
        .map(|f| {
            format!(
                "{} {}: the {:?} failed: {}",
                f.kind, f.key, f.action, f.error
            )
        })
        .collect();
    for residual in report
        .residual
        .iter()
        .filter(|r| r.cannot_restore.is_empty())
    {
        let what = match &residual.problem {
            Some(problem) => problem.clone(),
            None => residual
                .fields
                .iter()
                .take(4)
                .map(|f| f.path.clone())
                .collect::<Vec<_>>()
                .join(", "),
        };
        problems.push(format!(
            "{} {}: still differs after the restore's verification: {what}",
            residual.kind, residual.key
        ));
    }
    problems
}

/// Restores the backup additively after the incident deleted `deleted`: every deleted record
/// the connector does not refuse must be planned for creation, and the restore must complete.
async fn restore_after_incident(
    ws: &Workspace,
    name: &str,
    writer: &dyn WriteProvider,
    deleted: &[&Record],
) -> Result<(Vec<String>, ApplyReport), String> {
    let repo = ws.repository().await?;
    let snapshot = ws.open(&repo, name).await?;
    let request = Request {
        target: SEEDED.to_string(),
        ..Request::default()
    };
    let prepared = restore::prepare(&repo, snapshot, writer, &request, ws.journal_keys()?)
        .await
        .map_err(|e| {
            format!(
                "planning the restore after the incident failed: {}",
                chain(&e)
            )
        })?;
    let ops = prepared
        .plan
        .operations
        .to_vec()
        .map_err(|e| format!("reading the plan failed: {e}"))?;
    // A kind the connector never deletes exists only with another: the incident emptied it.
    let emptied: BTreeSet<&str> = writer
        .kinds()
        .iter()
        .filter(|k| !k.capabilities.delete)
        .map(|k| k.name)
        .collect();
    let mut problems = Vec::new();
    for record in deleted {
        let created = ops.iter().any(|op| {
            let brought_back = op.action == Action::Create
                || op.action == Action::Update && emptied.contains(op.kind.as_str());
            brought_back && op.kind == record.kind && op.key == record.key
        });
        let skipped = prepared
            .plan
            .skipped
            .iter()
            .any(|s| s.kind == record.kind && s.key == record.key);
        if !created && !skipped {
            problems.push(format!(
                "{} {}: deleted through the system's API, yet the restore plans no create for it",
                record.kind, record.key
            ));
        }
    }
    let report = prepared
        .execute(writer)
        .await
        .map_err(|e| format!("the restore after the incident stopped: {}", chain(&e)))?;
    problems.extend(incomplete(&report));
    Ok((problems, report))
}

/// Every snapshot record against the live one of the same kind and key, once the snapshot's
/// ids are mapped to the live ones and the fields the connector can never set are taken from
/// the live record. What the restore reported as skipped, with its reason, is not compared.
fn compare(
    snapshot: &[Record],
    live: &[Record],
    writer: &dyn WriteProvider,
    skipped: &BTreeSet<(String, String)>,
) -> Vec<String> {
    let mut problems = duplicates(live, "the restored system");
    let live_by_key = by_key(live);
    let mut ids: BTreeMap<(String, String), String> = BTreeMap::new();
    for record in snapshot {
        if let Some(found) = live_by_key.get(&(record.kind.as_str(), record.key.as_str())) {
            ids.insert(
                (record.kind.clone(), record.id.clone()),
                found[0].id.clone(),
            );
        }
    }
    for record in snapshot {
        if skipped.contains(&(record.kind.clone(), record.key.clone())) {
            continue;
        }
        let Some(found) = live_by_key.get(&(record.kind.as_str(), record.key.as_str())) else {
            problems.push(format!(
                "{} {}: missing from the system after the restore",
                record.kind, record.key
            ));
            continue;
        };
        let live = found[0];
        let desired = writer.reachable(to_live(record, &ids), live);
        if !same_state(&desired, live) {
            problems.push(format!(
                "{} {}: differs from the snapshot after the restore (snapshot → live, ids mapped): {}",
                record.kind,
                record.key,
                difference(&desired, live)
            ));
        }
    }
    problems
}
