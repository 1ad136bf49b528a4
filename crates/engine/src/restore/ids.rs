//! The map from snapshot ids to live ids, and records seen through it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use iamsnap_provider::IdMap;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_absent_and_created_ids() {
        let ids = LiveIds::new(
            BTreeMap::new(),
            BTreeSet::from([("okta.group".to_string(), "00g3".to_string())]),
        );
        ids.insert("okta.group", "00g1", "00g9");
        assert_eq!(ids.live_id("okta.group", "00g1").as_deref(), Some("00g9"));
        assert_eq!(ids.live_id("okta.group", "00g2").as_deref(), Some("00g2"));
        assert_eq!(ids.live_id("okta.group", "00g3"), None);
        ids.insert("okta.group", "00g3", "00g7");
        assert_eq!(ids.live_id("okta.group", "00g3").as_deref(), Some("00g7"));
    }
}
