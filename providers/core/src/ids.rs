//! Ids across a restore: the snapshot's ids seen as the live provider's.
//!
//! A restore re-creates objects under new ids, or writes into another tenant where every id
//! differs. [`IdMap`] answers "which live object was this snapshot id"; [`to_live`] rewrites a
//! snapshot record with it; [`same_state`] compares a rewritten record with a live one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Record;

/// Maps ids of the snapshot to ids of the live provider, for objects that were re-created or
/// that exist under another id in a target tenant.
pub trait IdMap: Send + Sync {
    /// The live id of the object that had `snapshot_id` in the snapshot, if it exists live.
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String>;
}

impl IdMap for BTreeMap<(String, String), String> {
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String> {
        self.get(&(kind.to_string(), snapshot_id.to_string()))
            .cloned()
    }
}

/// `record` (from the snapshot) as it should look live: its id and the ids of its refs
/// replaced by their live ids where known, and every attribute string equal to the snapshot
/// id of a referenced record replaced as well (rules and policies name groups and users by id
/// inside their conditions; the refs declare which ids those are).
pub fn to_live(record: &Record, ids: &dyn IdMap) -> Record {
    let mut out = record.clone();
    if let Some(id) = ids.live_id(&record.kind, &record.id) {
        out.id = id;
    }
    let mut rewrites: BTreeMap<String, String> = BTreeMap::new();
    for r in &mut out.refs {
        if let Some(id) = ids.live_id(&r.kind, &r.id) {
            if id != r.id {
                rewrites.insert(r.id.clone(), id.clone());
            }
            r.id = id;
        }
    }
    out.refs.sort();
    out.refs.dedup();
    if !rewrites.is_empty() {
        rewrite_strings(&mut out.attrs, &rewrites);
    }
    out
}

fn rewrite_strings(value: &mut Value, rewrites: &BTreeMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = rewrites.get(s.as_str()) {
                *s = new.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_strings(v, rewrites)),
        Value::Object(map) => map.values_mut().for_each(|v| rewrite_strings(v, rewrites)),
        _ => {}
    }
}

/// True when `desired` (already seen through [`to_live`]) and `live` describe the same state:
/// same key, attributes and refs; ids may differ.
pub fn same_state(desired: &Record, live: &Record) -> bool {
    desired.key == live.key
        && desired.attrs == live.attrs
        && desired.refs.iter().collect::<BTreeSet<_>>() == live.refs.iter().collect::<BTreeSet<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ref;
    use serde_json::json;

    #[test]
    fn rewrites_refs_and_the_ids_they_name_in_attrs() {
        let ids = BTreeMap::from([(
            ("okta.group".to_string(), "00g1".to_string()),
            "00g9".to_string(),
        )]);
        let rule = Record::new(
            "okta.group_rule",
            "0pr1",
            "Engineers",
            json!({"actions": {"assignUserToGroups": {"groupIds": ["00g1", "00g2"]}}, "name": "00g1x"}),
            vec![
                Ref::new("group", "okta.group", "00g1"),
                Ref::new("group", "okta.group", "00g2"),
            ],
        );
        let live = to_live(&rule, &ids);
        assert_eq!(live.id, "0pr1", "an id the map does not know stays");
        assert_eq!(
            live.attrs["actions"]["assignUserToGroups"]["groupIds"],
            json!(["00g9", "00g2"])
        );
        assert_eq!(live.attrs["name"], "00g1x", "only whole strings are ids");
        assert!(live.refs.contains(&Ref::new("group", "okta.group", "00g9")));
        assert!(same_state(&live, &live));
        let mut other = live.clone();
        other.id = "0pr7".into();
        assert!(same_state(&live, &other), "ids may differ");
        other.refs.pop();
        assert!(!same_state(&live, &other));
    }
}
