//! Records as the checks handle them: a backup held in memory (the seeds are small), a whole
//! read of a connector, the deterministic samples the checks pick, and the differences a
//! problem names.

use std::collections::BTreeMap;
use std::convert::Infallible;

use iamsnap_engine::diff::field_changes;
use iamsnap_engine::live::each_record;
use iamsnap_provider::{ProviderError, ReadProvider, Record};
use serde_json::Value;

/// The backup of the seeded system made by the first check.
pub(crate) struct Snapshot {
    /// Its name in the repository.
    pub name: String,
    /// Its records, sorted by kind and key.
    pub records: Vec<Record>,
}

/// Sorts `records` by kind, key and id.
pub(crate) fn sorted(mut records: Vec<Record>) -> Vec<Record> {
    records.sort_by(|a, b| (&a.kind, &a.key, &a.id).cmp(&(&b.kind, &b.key, &b.id)));
    records
}

/// Every record `reader` reads now, sorted by kind and key.
pub(crate) async fn read_all(reader: &dyn ReadProvider) -> Result<Vec<Record>, ProviderError> {
    let mut records = Vec::new();
    let read = each_record(reader, |record| {
        records.push(record);
        Ok::<(), Infallible>(())
    })
    .await;
    match read {
        Ok(result) => result?,
        Err(never) => match never {},
    }
    Ok(sorted(records))
}

/// Up to `n` of the records of `kind` that `keep` accepts, spread evenly over them in key
/// order: the same records on every run of the same seed.
pub(crate) fn sample<'r>(
    records: &'r [Record],
    kind: &str,
    n: usize,
    keep: impl Fn(&Record) -> bool,
) -> Vec<&'r Record> {
    let of_kind: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == kind && keep(r))
        .collect();
    let take = n.min(of_kind.len());
    (0..take)
        .map(|i| of_kind[i * of_kind.len() / take])
        .collect()
}

/// Records per (kind, key).
pub(crate) fn by_key(records: &[Record]) -> BTreeMap<(&str, &str), Vec<&Record>> {
    let mut out: BTreeMap<(&str, &str), Vec<&Record>> = BTreeMap::new();
    for r in records {
        out.entry((r.kind.as_str(), r.key.as_str()))
            .or_default()
            .push(r);
    }
    out
}

/// One problem per (kind, key) held by more than one record of `records`.
pub(crate) fn duplicates(records: &[Record], whose: &str) -> Vec<String> {
    by_key(records)
        .into_iter()
        .filter(|(_, found)| found.len() > 1)
        .map(|((kind, key), found)| {
            let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
            format!(
                "{kind} {key}: {} records with this key in {whose} (ids {})",
                found.len(),
                ids.join(", ")
            )
        })
        .collect()
}

/// Where `got` differs from `expected`, for a problem's text: the first few fields, each as
/// `path: expected → got`.
pub(crate) fn difference(expected: &Record, got: &Record) -> String {
    let mut parts = Vec::new();
    if expected.id != got.id {
        parts.push(format!("/id: {:?} → {:?}", expected.id, got.id));
    }
    let changes = field_changes(expected, got);
    for change in changes.iter().take(4) {
        parts.push(format!(
            "{}: {} → {}",
            change.path,
            shown(change.old.as_ref()),
            shown(change.new.as_ref())
        ));
    }
    if changes.len() > 4 {
        parts.push(format!("{} more fields", changes.len() - 4));
    }
    if parts.is_empty() {
        "they differ in the order of their refs only".to_string()
    } else {
        parts.join("; ")
    }
}

fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".to_string();
    };
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(kind: &str, key: &str) -> Record {
        Record::new(kind, format!("id-{key}"), key, json!({}), vec![])
    }

    #[test]
    fn samples_spread_over_the_kind_and_stay_the_same() {
        let records: Vec<Record> = (0..10)
            .map(|i| record("t.user", &format!("u{i}")))
            .chain([record("t.group", "g")])
            .collect();
        let keys = |picked: Vec<&Record>| picked.iter().map(|r| r.key.clone()).collect::<Vec<_>>();
        assert_eq!(
            keys(sample(&records, "t.user", 3, |_| true)),
            ["u0", "u3", "u6"]
        );
        assert_eq!(keys(sample(&records, "t.group", 5, |_| true)), ["g"]);
        assert!(sample(&records, "t.user", 2, |r| r.key == "u9").len() == 1);
        assert!(sample(&records, "t.none", 2, |_| true).is_empty());
    }

    #[test]
    fn names_duplicates_and_differences() {
        let records = vec![record("t.user", "a"), record("t.user", "a")];
        assert_eq!(duplicates(&records, "the backup").len(), 1);
        let mut changed = record("t.user", "a");
        changed.attrs = json!({"title": "CEO"});
        assert_eq!(
            difference(&record("t.user", "a"), &changed),
            "/attrs/title: (absent) → \"CEO\""
        );
    }
}
