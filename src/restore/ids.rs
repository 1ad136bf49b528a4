//! The map from snapshot ids to live ids, and records seen through it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use iamsnap_provider::{IdMap, Record};
use serde_json::Value;

/// (kind, snapshot id).
pub type IdKey = (String, String);

/// Snapshot id → live id, per kind, for the objects whose live id is not their snapshot id:
/// found live by key under another id, or created by this restore. Shared by concurrent
/// operations.
///
/// Only ids that differ are kept, so the map stays as small as the difference between the
/// snapshot and the live state. An object the snapshot holds but the live state lacks is
/// *absent* until a create gives it a live id; any other id is the same live as in the snapshot.
#[derive(Debug, Default)]
pub struct LiveIds {
    map: RwLock<BTreeMap<IdKey, String>>,
    absent: BTreeSet<IdKey>,
}

impl LiveIds {
    /// `moved`: snapshot id → live id where they differ; `absent`: snapshot ids not found live.
    pub fn new(moved: BTreeMap<IdKey, String>, absent: BTreeSet<IdKey>) -> Self {
        LiveIds {
            map: RwLock::new(moved),
            absent,
        }
    }

    /// Forgets which objects were absent: once every create has run, an id still unknown is
    /// taken as is (verification compares it, it does not resolve it for a write).
    pub fn forget_absent(&mut self) {
        self.absent = BTreeSet::new();
    }

    pub fn insert(&self, kind: &str, snapshot_id: &str, live_id: &str) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).insert(
            (kind.to_string(), snapshot_id.to_string()),
            live_id.to_string(),
        );
    }
}

impl IdMap for LiveIds {
    fn live_id(&self, kind: &str, snapshot_id: &str) -> Option<String> {
        let at = (kind.to_string(), snapshot_id.to_string());
        if let Some(id) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(&at) {
            return Some(id.clone());
        }
        if self.absent.contains(&at) {
            None
        } else {
            Some(snapshot_id.to_string())
        }
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
    use iamsnap_provider::Ref;
    use serde_json::json;

    #[test]
    fn rewrites_refs_and_the_ids_they_name_in_attrs() {
        let ids = LiveIds::new(
            BTreeMap::new(),
            BTreeSet::from([("okta.group".to_string(), "00g3".to_string())]),
        );
        ids.insert("okta.group", "00g1", "00g9");
        assert_eq!(ids.live_id("okta.group", "00g2").as_deref(), Some("00g2"));
        assert_eq!(ids.live_id("okta.group", "00g3"), None);
        ids.insert("okta.group", "00g3", "00g7");
        assert_eq!(ids.live_id("okta.group", "00g3").as_deref(), Some("00g7"));
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
        assert_eq!(live.id, "0pr1");
        assert_eq!(
            live.attrs["actions"]["assignUserToGroups"]["groupIds"],
            json!(["00g9", "00g2"])
        );
        assert_eq!(live.attrs["name"], "00g1x");
        assert!(live.refs.contains(&Ref::new("group", "okta.group", "00g9")));
    }
}
