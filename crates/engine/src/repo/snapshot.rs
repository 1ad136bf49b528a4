//! Snapshot names and references.
//!
//! A snapshot is stored as `snapshots/<source>/<UTC yyyymmddThhmmssZ>-<8 hex>.iamsnap`; its
//! name is `<source>/<stamp>-<hex>`. Names carry the source and time, so listing needs no key.
//! A reference picks one snapshot: `SOURCE@latest`, `SOURCE@latest~N`, `SOURCE@YYYY-MM-DD`
//! (the last of that UTC day), `SOURCE@-Nd` (the newest at least N days old) or a name.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use serde::Serialize;

use super::RepoError;

pub(crate) const SNAPSHOTS_DIR: &str = "snapshots/";
pub(crate) const ARCHIVE_SUFFIX: &str = ".iamsnap";
pub(crate) const SIGNATURE_SUFFIX: &str = ".iamsnap.minisig";
const STAMP_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// One stored snapshot, as listed (no key needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// `<source>/<stamp>-<hex>`, what users type.
    pub name: String,
    pub source: String,
    /// When the snapshot was taken (UTC, second precision).
    pub time: DateTime<Utc>,
    /// Size of the encrypted archive in bytes.
    pub size: u64,
}

impl SnapshotInfo {
    /// A new, unique name for a snapshot of `source` taken at `time`. The stamp has whole
    /// seconds; the suffix starts with the milliseconds (3 hex digits) so that snapshots taken
    /// within one second still sort in the order they were taken, then 20 random bits.
    pub fn new_name(source: &str, time: DateTime<Utc>) -> String {
        let millis = time.timestamp_subsec_millis().min(999);
        format!(
            "{source}/{}-{millis:03x}{:05x}",
            time.format(STAMP_FORMAT),
            rand::random::<u32>() & 0xf_ffff
        )
    }

    /// The archive's path in the repository.
    pub fn archive_path(&self) -> String {
        format!("{SNAPSHOTS_DIR}{}{ARCHIVE_SUFFIX}", self.name)
    }

    /// The signature's path in the repository.
    pub fn signature_path(&self) -> String {
        format!("{SNAPSHOTS_DIR}{}{SIGNATURE_SUFFIX}", self.name)
    }

    /// The snapshot stored at `path` (an archive path), if `path` is one.
    pub(crate) fn from_archive_path(path: &str, size: u64) -> Option<SnapshotInfo> {
        let name = path
            .strip_prefix(SNAPSHOTS_DIR)?
            .strip_suffix(ARCHIVE_SUFFIX)?;
        let (source, time) = parse_name(name)?;
        Some(SnapshotInfo {
            name: name.to_string(),
            source: source.to_string(),
            time,
            size,
        })
    }
}

/// Splits `<source>/<stamp>-<hex>` into source and time.
pub(crate) fn parse_name(name: &str) -> Option<(&str, DateTime<Utc>)> {
    let (source, rest) = name.split_once('/')?;
    let (stamp, hex) = rest.split_once('-')?;
    if !valid_source(source)
        || hex.len() != 8
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let time = NaiveDateTime::parse_from_str(stamp, STAMP_FORMAT)
        .ok()?
        .and_utc();
    Some((source, time))
}

/// Source names as the configuration allows them.
pub(crate) fn valid_source(source: &str) -> bool {
    !source.is_empty()
        && !source.starts_with('.')
        && source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Which snapshot a reference means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRef {
    /// `SOURCE@latest~N`: the N-th before the newest (`SOURCE@latest` is N = 0).
    Latest { source: String, back: usize },
    /// `SOURCE@YYYY-MM-DD`: the last snapshot of that UTC day.
    Day { source: String, day: NaiveDate },
    /// `SOURCE@-Nd`: the newest snapshot at least N days old.
    DaysAgo { source: String, days: u32 },
    /// `SOURCE/STAMP-HEX`: exactly that snapshot.
    Name(String),
}

impl SnapshotRef {
    pub fn source(&self) -> &str {
        match self {
            SnapshotRef::Latest { source, .. }
            | SnapshotRef::Day { source, .. }
            | SnapshotRef::DaysAgo { source, .. } => source,
            SnapshotRef::Name(name) => name.split('/').next().unwrap_or_default(),
        }
    }

    /// The snapshot this reference picks among `snapshots` (any order), at time `now`.
    pub fn pick<'a>(
        &self,
        snapshots: &'a [SnapshotInfo],
        now: DateTime<Utc>,
    ) -> Result<&'a SnapshotInfo, RepoError> {
        let mut of_source: Vec<&SnapshotInfo> = snapshots
            .iter()
            .filter(|s| s.source == self.source())
            .collect();
        of_source.sort_by(|a, b| (b.time, &b.name).cmp(&(a.time, &a.name)));
        let found = match self {
            SnapshotRef::Latest { back, .. } => of_source.get(*back).copied(),
            SnapshotRef::Day { day, .. } => {
                of_source.into_iter().find(|s| s.time.date_naive() == *day)
            }
            // A cutoff before the earliest time there is: no snapshot is that old.
            SnapshotRef::DaysAgo { days, .. } => TimeDelta::try_days(i64::from(*days))
                .and_then(|age| now.checked_sub_signed(age))
                .and_then(|cutoff| of_source.into_iter().find(|s| s.time <= cutoff)),
            SnapshotRef::Name(name) => of_source.into_iter().find(|s| s.name == *name),
        };
        found.ok_or_else(|| RepoError::NoSuchSnapshot {
            reference: self.to_string(),
            available: snapshots
                .iter()
                .filter(|s| s.source == self.source())
                .count(),
        })
    }
}

impl fmt::Display for SnapshotRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotRef::Latest { source, back: 0 } => write!(f, "{source}@latest"),
            SnapshotRef::Latest { source, back } => write!(f, "{source}@latest~{back}"),
            SnapshotRef::Day { source, day } => write!(f, "{source}@{day}"),
            SnapshotRef::DaysAgo { source, days } => write!(f, "{source}@-{days}d"),
            SnapshotRef::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for SnapshotRef {
    type Err = RepoError;

    fn from_str(text: &str) -> Result<Self, RepoError> {
        let bad = |reason: &str| RepoError::BadReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some((source, selector)) = text.split_once('@') {
            if !valid_source(source) {
                return Err(bad("the part before '@' is not a source name"));
            }
            let source = source.to_string();
            if selector == "latest" {
                return Ok(SnapshotRef::Latest { source, back: 0 });
            }
            if let Some(n) = selector.strip_prefix("latest~") {
                let back = n
                    .parse()
                    .map_err(|_| bad("after `latest~` comes a number"))?;
                return Ok(SnapshotRef::Latest { source, back });
            }
            if let Some(n) = selector.strip_prefix('-').and_then(|s| s.strip_suffix('d')) {
                let days = n
                    .parse()
                    .map_err(|_| bad("write `-Nd` with N a number of days"))?;
                return Ok(SnapshotRef::DaysAgo { source, days });
            }
            if let Ok(day) = NaiveDate::parse_from_str(selector, "%Y-%m-%d") {
                return Ok(SnapshotRef::Day { source, day });
            }
            return Err(bad("after '@' comes latest, latest~N, YYYY-MM-DD or -Nd"));
        }
        let name = text
            .strip_prefix(SNAPSHOTS_DIR)
            .unwrap_or(text)
            .trim_end_matches(ARCHIVE_SUFFIX);
        if parse_name(name).is_some() {
            return Ok(SnapshotRef::Name(name.to_string()));
        }
        Err(bad(
            "write SOURCE@latest, SOURCE@latest~N, SOURCE@YYYY-MM-DD, SOURCE@-Nd or a snapshot name SOURCE/YYYYMMDDTHHMMSSZ-XXXXXXXX",
        ))
    }
}

/// The entry point of the `snapshot_ref` fuzz target and its regression test: `input` as a
/// reference, parsed and resolved among a few snapshots at the earliest, the latest and the
/// current time. Every outcome but a panic is fine.
#[doc(hidden)]
pub fn fuzz_resolve(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let Ok(reference) = text.parse::<SnapshotRef>() else {
        return;
    };
    let snapshots: Vec<SnapshotInfo> = [
        "okta/20261127T020000Z-00000001",
        "okta/19700101T000000Z-00000002",
        "a/20261128T235959Z-3e700003",
    ]
    .iter()
    .filter_map(|name| {
        SnapshotInfo::from_archive_path(&format!("{SNAPSHOTS_DIR}{name}{ARCHIVE_SUFFIX}"), 1)
    })
    .collect();
    for now in [
        DateTime::<Utc>::MIN_UTC,
        Utc::now(),
        DateTime::<Utc>::MAX_UTC,
    ] {
        let _ = reference.pick(&snapshots, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn snap(source: &str, y: i32, m: u32, d: u32, h: u32, hex: &str) -> SnapshotInfo {
        let time = Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        let name = format!("{source}/{}-{hex}", time.format(STAMP_FORMAT));
        SnapshotInfo::from_archive_path(&format!("snapshots/{name}.iamsnap"), 10).unwrap()
    }

    #[test]
    fn names_within_one_second_sort_in_time_order() {
        let second = Utc.with_ymd_and_hms(2026, 11, 27, 2, 3, 4).unwrap();
        let batch = |millis: i64| -> Vec<String> {
            (0..50)
                .map(|_| {
                    SnapshotInfo::new_name(
                        "okta-prod",
                        second + chrono::TimeDelta::milliseconds(millis),
                    )
                })
                .collect()
        };
        let steps = [0, 1, 9, 10, 255, 256, 998, 999];
        for pair in steps.windows(2) {
            let (earlier, later) = (batch(pair[0]), batch(pair[1]));
            assert!(
                earlier.iter().max() < later.iter().min(),
                "{} ms sorts before {} ms",
                pair[0],
                pair[1]
            );
        }
        for name in batch(999) {
            let info =
                SnapshotInfo::from_archive_path(&format!("snapshots/{name}.iamsnap"), 1).unwrap();
            assert_eq!(info.time, second);
        }
    }

    #[test]
    fn names_round_trip_through_paths() {
        let time = Utc.with_ymd_and_hms(2026, 11, 27, 2, 3, 4).unwrap();
        let name = SnapshotInfo::new_name("okta-prod", time);
        assert!(name.starts_with("okta-prod/20261127T020304Z-"), "{name}");
        let info =
            SnapshotInfo::from_archive_path(&format!("snapshots/{name}.iamsnap"), 5).unwrap();
        assert_eq!(info.name, name);
        assert_eq!(info.source, "okta-prod");
        assert_eq!(info.time, time);
        assert_eq!(info.archive_path(), format!("snapshots/{name}.iamsnap"));
        assert_eq!(
            info.signature_path(),
            format!("snapshots/{name}.iamsnap.minisig")
        );
        for bad in [
            "snapshots/okta/20261127T020304Z-1234567.iamsnap",
            "snapshots/okta/20261127T020304Z-1234567G.iamsnap",
            "snapshots/okta/20261327T020304Z-12345678.iamsnap",
            "snapshots/okta/20261127T020304Z-12345678.iamsnap.minisig",
            "snapshots/../20261127T020304Z-12345678.iamsnap",
            "journals/okta/20261127T020304Z-12345678.iamsnap",
        ] {
            assert!(SnapshotInfo::from_archive_path(bad, 1).is_none(), "{bad}");
        }
    }

    #[test]
    fn references_pick_the_right_snapshot() {
        let snaps = vec![
            snap("okta", 2026, 11, 25, 2, "00000001"),
            snap("okta", 2026, 11, 27, 2, "00000003"),
            snap("okta", 2026, 11, 26, 2, "00000002"),
            snap("okta", 2026, 11, 26, 14, "00000004"),
            snap("aws", 2026, 11, 28, 2, "00000005"),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let pick = |r: &str| {
            r.parse::<SnapshotRef>()
                .unwrap()
                .pick(&snaps, now)
                .map(|s| s.name.clone())
        };
        assert_eq!(pick("okta@latest").unwrap(), snaps[1].name);
        assert_eq!(pick("okta@latest~1").unwrap(), snaps[3].name);
        assert_eq!(pick("okta@latest~3").unwrap(), snaps[0].name);
        assert_eq!(pick("okta@2026-11-26").unwrap(), snaps[3].name);
        assert_eq!(pick("okta@-2d").unwrap(), snaps[2].name);
        assert_eq!(pick("okta@-1d").unwrap(), snaps[1].name);
        assert_eq!(pick("aws@latest").unwrap(), snaps[4].name);
        assert_eq!(pick(&snaps[2].name).unwrap(), snaps[2].name);
        assert_eq!(
            pick(&format!("snapshots/{}.iamsnap", snaps[2].name)).unwrap(),
            snaps[2].name
        );
        for missing in [
            "okta@latest~4",
            "okta@2026-11-20",
            "okta@-30d",
            "okta@-100000000d",
            "okta@-4294967295d",
            "ldap@latest",
        ] {
            let err = pick(missing).unwrap_err();
            assert!(
                matches!(err, RepoError::NoSuchSnapshot { .. }),
                "{missing}: {err}"
            );
        }
    }

    #[test]
    fn bad_references_are_usage_errors() {
        use crate::error::{Classify, ExitStatus};
        for bad in [
            "okta",
            "okta@",
            "okta@yesterday",
            "okta@latest~x",
            "@latest",
            "okta@2026-13-01",
            "../x@latest",
            "okta/2026",
        ] {
            let err = bad.parse::<SnapshotRef>().unwrap_err();
            assert_eq!(err.exit_status(), Some(ExitStatus::Usage), "{bad}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
