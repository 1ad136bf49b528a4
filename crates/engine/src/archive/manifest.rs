//! `manifest.json`: what an archive holds, with a SHA-256 and size for every other entry.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use iamsnap_provider::RequestStats;
use serde::{Deserialize, Serialize};

use super::ArchiveError;

/// The archive format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The tar path of the manifest, always the first entry.
pub const MANIFEST_PATH: &str = "manifest.json";

/// Manifests larger than this are not manifests.
pub(crate) const MANIFEST_LIMIT: u64 = 16 * 1024 * 1024;

/// The first entry of every archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// The iamsnap version that wrote the archive.
    pub tool_version: String,
    /// The configured source name, e.g. `okta-prod`.
    pub source: String,
    /// The snapshot's name, chosen before the archive was written
    /// (`okta-prod/20261127T020000Z-1a2b3c4d`); absent from archives written before names
    /// were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// The provider type, e.g. `okta`.
    pub provider: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// Records per kind.
    pub counts: BTreeMap<String, u64>,
    /// Every other entry of the archive by tar path.
    pub entries: BTreeMap<String, EntryDigest>,
    /// Requests and throttles the snapshot took.
    pub requests: RequestStats,
    /// The kinds the snapshot read, read or not any object of them; absent from archives
    /// written before kinds could be left out, which read every kind of their provider. A kind
    /// it did not read is unknown to `diff` and `restore`, never taken for one with no objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds_read: Option<BTreeSet<String>>,
}

/// The checksum and length of one archive entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDigest {
    /// SHA-256 of the entry's bytes, lower-case hex.
    pub sha256: String,
    pub size: u64,
}

/// What the caller knows about a snapshot before its records are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHeader {
    pub source: String,
    /// The name the snapshot will be stored under ([`SnapshotInfo::new_name`]): the manifest
    /// and the signature carry it, and the archive is refused under any other.
    ///
    /// [`SnapshotInfo::new_name`]: crate::repo::SnapshotInfo::new_name
    pub snapshot: String,
    pub provider: String,
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub requests: RequestStats,
    /// The kinds the connector read ([`iamsnap_provider::ReadProvider::kinds_read`]).
    pub kinds_read: Option<BTreeSet<String>>,
}

impl Manifest {
    /// Whether the snapshot read `kind`: a snapshot that records no kinds read them all.
    pub fn read_kind(&self, kind: &str) -> bool {
        self.kinds_read.as_ref().is_none_or(|k| k.contains(kind))
    }

    /// Total number of records.
    pub fn total_records(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Parses a manifest, refusing format versions this build does not know and entries that
    /// do not match the counts.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, ArchiveError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ArchiveError::Corrupt {
                reason: format!("manifest.json is not JSON: {e}"),
            })?;
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => return Err(ArchiveError::UnsupportedFormat { version: v }),
            None => {
                return Err(ArchiveError::Corrupt {
                    reason: "manifest.json has no format_version".into(),
                });
            }
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| ArchiveError::Corrupt {
                reason: format!("manifest.json is malformed: {e}"),
            })?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Refuses the manifest unless it describes the snapshot stored as `name` (of `source`,
    /// taken at `time`): the name it records must be `name` exactly. An archive copied or
    /// renamed to another name, in its source's folder or another's, is refused here even when
    /// its signature predates signed names (see [`crate::keys::verify`]). A manifest written
    /// before names were recorded is checked on its source and second only.
    pub fn check_stored_as(
        &self,
        name: &str,
        source: &str,
        time: DateTime<Utc>,
    ) -> Result<(), ArchiveError> {
        if let Some(recorded) = &self.snapshot {
            if recorded != name {
                return Err(ArchiveError::Misplaced {
                    name: name.to_string(),
                    found: format!("snapshot {recorded}"),
                });
            }
            return Ok(());
        }
        let started = self.started.timestamp();
        if self.source != source || started != time.timestamp() {
            let at = DateTime::from_timestamp(started, 0).unwrap_or(self.started);
            return Err(ArchiveError::Misplaced {
                name: name.to_string(),
                found: format!(
                    "source {} taken at {}",
                    self.source,
                    at.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            });
        }
        Ok(())
    }

    /// The manifest as pretty JSON with sorted keys.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Every kind has exactly one entry and every entry belongs to a counted kind.
    fn check(&self) -> Result<(), ArchiveError> {
        for path in self.entries.keys() {
            let kind = kind_of_path(path)
                .ok_or_else(|| ArchiveError::UnexpectedEntry { path: path.clone() })?;
            if !self.counts.contains_key(kind) {
                return Err(ArchiveError::Corrupt {
                    reason: format!("manifest lists entry {path} but no count for kind {kind}"),
                });
            }
        }
        for kind in self.counts.keys() {
            if !self.read_kind(kind) {
                return Err(ArchiveError::Corrupt {
                    reason: format!("manifest counts kind {kind} but says it was not read"),
                });
            }
            if !self.entries.contains_key(&records_path(kind)) {
                return Err(ArchiveError::Corrupt {
                    reason: format!("manifest counts kind {kind} but lists no entry for it"),
                });
            }
        }
        Ok(())
    }
}

/// `records/<kind>.jsonl`.
pub fn records_path(kind: &str) -> String {
    format!("records/{kind}.jsonl")
}

/// The kind of a `records/<kind>.jsonl` path, when the path is one and the kind is valid.
pub fn kind_of_path(path: &str) -> Option<&str> {
    let kind = path.strip_prefix("records/")?.strip_suffix(".jsonl")?;
    valid_kind(kind).then_some(kind)
}

/// Kinds become file names: letters, digits, `.`, `_`, `-`; no `..`, no leading dot.
pub fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 200
        && !kind.starts_with('.')
        && !kind.contains("..")
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_paths_refuse_traversal_and_odd_names() {
        assert_eq!(kind_of_path("records/okta.user.jsonl"), Some("okta.user"));
        assert_eq!(kind_of_path("records/../etc/passwd.jsonl"), None);
        assert_eq!(kind_of_path("records/a..b.jsonl"), None);
        assert_eq!(kind_of_path("records/.hidden.jsonl"), None);
        assert_eq!(kind_of_path("records/a/b.jsonl"), None);
        assert_eq!(kind_of_path("other/okta.user.jsonl"), None);
        assert_eq!(kind_of_path("records/okta.user.json"), None);
    }

    #[test]
    fn unknown_format_versions_are_refused() {
        let err = Manifest::from_json(br#"{"format_version": 2}"#).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnsupportedFormat { version: 2 }),
            "{err}"
        );
        let err = Manifest::from_json(br#"{"tool_version": "x"}"#).unwrap_err();
        assert!(matches!(err, ArchiveError::Corrupt { .. }), "{err}");
    }
}
