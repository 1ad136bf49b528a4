//! Checks 1 and 2: a backup of the seeded system holds every kind the connector declares
//! (under keys unique within their kind, `PARENT|MEMBER` for a kind with a parent), and `fetch` gives back exactly the snapshot's record.

use std::collections::BTreeMap;

use super::records::{Snapshot, difference, duplicates, sample, sorted};
use super::{Checked, SEEDED, Stop, Subject, Suite, fail, verdict};

/// Keys fetched per kind.
const FETCHED_PER_KIND: usize = 5;

impl<S: Subject> Suite<'_, S> {
    pub(super) fn every_kind(&mut self) -> Checked {
        let connector = self.connect(SEEDED)?;
        let reader = connector.reader();
        let ws = &self.ws;
        let read = self.runtime.block_on(async {
            let name = ws.backup(SEEDED, reader).await?;
            let records = ws.records(&name).await?;
            Ok::<_, String>(Snapshot {
                name,
                records: sorted(records),
            })
        });
        let snapshot =
            read.map_err(|e| fail(format!("the backup of the seeded system failed: {e}")))?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for record in &snapshot.records {
            *counts.entry(record.kind.as_str()).or_default() += 1;
        }
        let kinds = reader.kinds();
        let unseedable = self.subject.unseedable();
        let mut problems = Vec::new();
        for kind in kinds {
            let excuse = unseedable.iter().find(|(k, _)| *k == kind.name);
            match (counts.get(kind.name), excuse) {
                (None, None) => problems.push(format!(
                    "{}: no record of this kind in the backup of the seeded system; extend the seed (or list the kind as impossible to seed, with why)",
                    kind.name
                )),
                (Some(n), Some(_)) => problems.push(format!(
                    "{}: listed as impossible to seed, yet the backup holds {n} record(s) of it; take it off the list",
                    kind.name
                )),
                _ => {}
            }
        }
        for (kind, why) in unseedable {
            if !kinds.iter().any(|k| k.name == *kind) {
                problems.push(format!(
                    "{kind}: listed as impossible to seed ({why}), but the connector does not declare it"
                ));
            }
        }
        for (kind, n) in &counts {
            if !kinds.iter().any(|k| k.name == *kind) {
                problems.push(format!(
                    "{kind}: {n} record(s) of a kind the connector does not declare in kinds()"
                ));
            }
        }
        problems.extend(duplicates(&snapshot.records, "the backup"));
        // Reports show a relationship under its parent by splitting its key at the last `|`.
        for kind in kinds.iter().filter(|k| k.parent.is_some()) {
            if let Some(r) = snapshot
                .records
                .iter()
                .find(|r| r.kind == kind.name && !r.key.contains('|'))
            {
                problems.push(format!(
                    "{}: declares a parent, but the key {:?} is not PARENT|MEMBER",
                    kind.name, r.key
                ));
            }
        }
        let summary = format!(
            "{} records of {} kinds",
            snapshot.records.len(),
            counts.len()
        );
        self.snapshot = Some(snapshot);
        verdict(problems, summary)
    }

    pub(super) fn fetch_equals_snapshot(&mut self) -> Checked {
        let snapshot = self.snapshot()?;
        let connector = self.connect(SEEDED)?;
        let reader = connector.reader();
        let mut wanted = Vec::new();
        for kind in reader.kinds() {
            wanted.extend(sample(
                &snapshot.records,
                kind.name,
                FETCHED_PER_KIND,
                |_| true,
            ));
        }
        if wanted.is_empty() {
            return Err(Stop::NotRun("the backup holds no record to fetch".into()));
        }
        let summary = format!("{} records fetched", wanted.len());
        let problems = self.runtime.block_on(async {
            let mut problems = Vec::new();
            for record in wanted {
                let (kind, key) = (&record.kind, &record.key);
                match reader.fetch(kind, key).await {
                    Ok(Some(fetched)) if fetched == *record => {}
                    Ok(Some(fetched)) => problems.push(format!(
                        "{kind} {key}: fetch differs from the snapshot (snapshot → fetched): {}",
                        difference(record, &fetched)
                    )),
                    Ok(None) => problems.push(format!(
                        "{kind} {key}: fetch found nothing, yet the snapshot holds it"
                    )),
                    Err(e) => problems.push(format!("{kind} {key}: fetch failed: {e}")),
                }
            }
            problems
        });
        verdict(problems, summary)
    }
}
