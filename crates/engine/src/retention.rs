//! Retention (`forget`): which snapshots a keep policy keeps, and why.
//!
//! The policy works like restic's: per source, newest first, `last` keeps the N newest, and
//! each of `hourly`/`daily`/`weekly`/`monthly`/`yearly` keeps the newest snapshot of each of the
//! N most recent hours/days/ISO weeks/months/years that have one. A snapshot younger than the
//! guard window is always kept. [`plan`] is pure; [`hold_locked`] then moves snapshots still
//! under Object Lock out of the removal list, and [`apply`] deletes the rest.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::Serialize;

use crate::repo::{RepoError, Repository, Retention, SnapshotInfo, lock_mode_name};

/// Snapshots younger than this are never removed.
pub const DEFAULT_GUARD: TimeDelta = TimeDelta::hours(24);

/// How many snapshots to keep per rule; 0 disables a rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KeepPolicy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

impl KeepPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

/// A snapshot kept, with every rule that keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub snapshot: SnapshotInfo,
    pub reasons: Vec<String>,
}

/// A snapshot the policy would remove but Object Lock protects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Locked {
    pub snapshot: SnapshotInfo,
    pub mode: String,
    pub until: DateTime<Utc>,
}

/// What `forget` will do; serializable so that a dry run can print it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForgetPlan {
    pub keep: Vec<Kept>,
    pub remove: Vec<SnapshotInfo>,
    pub locked: Vec<Locked>,
}

/// An empty policy would remove everything: refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "no keep rule given: pass at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly"
)]
pub struct EmptyPolicy;

impl crate::error::Classify for EmptyPolicy {
    fn exit_status(&self) -> Option<crate::error::ExitStatus> {
        Some(crate::error::ExitStatus::Usage)
    }
}

/// Decides, per source, which snapshots `policy` keeps and which it removes.
pub fn plan(
    snapshots: &[SnapshotInfo],
    policy: &KeepPolicy,
    now: DateTime<Utc>,
    guard: TimeDelta,
) -> Result<ForgetPlan, EmptyPolicy> {
    if policy.is_empty() {
        return Err(EmptyPolicy);
    }
    let mut by_source: BTreeMap<&str, Vec<&SnapshotInfo>> = BTreeMap::new();
    for snapshot in snapshots {
        by_source
            .entry(&snapshot.source)
            .or_default()
            .push(snapshot);
    }
    let mut result = ForgetPlan::default();
    for (_, mut group) in by_source {
        group.sort_by(|a, b| (b.time, &b.name).cmp(&(a.time, &a.name)));
        let mut rules = [
            Rule::new("last", policy.last, |_| String::new()),
            Rule::new("hourly", policy.hourly, |t| {
                t.format("%Y-%m-%d %H").to_string()
            }),
            Rule::new("daily", policy.daily, |t| t.format("%Y-%m-%d").to_string()),
            Rule::new("weekly", policy.weekly, |t| {
                let w = t.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }),
            Rule::new("monthly", policy.monthly, |t| {
                format!("{}-{:02}", t.year(), t.month())
            }),
            Rule::new("yearly", policy.yearly, |t| t.year().to_string()),
        ];
        for (index, snapshot) in group.into_iter().enumerate() {
            let mut reasons: Vec<String> = rules
                .iter_mut()
                .filter_map(|rule| rule.keeps(snapshot.time, index))
                .collect();
            if now - snapshot.time < guard {
                reasons.push(format!("younger than the {}h guard", guard.num_hours()));
            }
            if reasons.is_empty() {
                result.remove.push(snapshot.clone());
            } else {
                result.keep.push(Kept {
                    snapshot: snapshot.clone(),
                    reasons,
                });
            }
        }
    }
    Ok(result)
}

/// One keep rule's state while walking a source's snapshots newest first.
struct Rule {
    name: &'static str,
    left: u32,
    bucket: fn(&DateTime<Utc>) -> String,
    last_bucket: Option<String>,
}

impl Rule {
    fn new(name: &'static str, count: u32, bucket: fn(&DateTime<Utc>) -> String) -> Rule {
        Rule {
            name,
            left: count,
            bucket,
            last_bucket: None,
        }
    }

    /// Whether this rule keeps the snapshot at `time`, the `index`-th newest.
    fn keeps(&mut self, time: DateTime<Utc>, index: usize) -> Option<String> {
        if self.left == 0 {
            return None;
        }
        if self.name == "last" {
            self.left -= 1;
            return Some(format!("last {}", index + 1));
        }
        let bucket = (self.bucket)(&time);
        if self.last_bucket.as_ref() == Some(&bucket) {
            return None;
        }
        self.left -= 1;
        let reason = format!("{} {bucket}", self.name);
        self.last_bucket = Some(bucket);
        Some(reason)
    }
}

/// Moves snapshots still under Object Lock at `now` from `remove` to `locked`.
pub fn hold_locked(
    plan: &mut ForgetPlan,
    lock_of: impl Fn(&SnapshotInfo) -> Option<Retention>,
    now: DateTime<Utc>,
) {
    let mut remove = Vec::new();
    for snapshot in std::mem::take(&mut plan.remove) {
        match lock_of(&snapshot) {
            Some(r) if r.until > now => plan.locked.push(Locked {
                snapshot,
                mode: lock_mode_name(r.mode).to_string(),
                until: r.until,
            }),
            _ => remove.push(snapshot),
        }
    }
    plan.remove = remove;
}

/// Asks the repository for the Object Lock of every snapshot to remove and holds those locked.
pub async fn check_locks(repo: &Repository, plan: &mut ForgetPlan) -> Result<(), RepoError> {
    let mut locks = BTreeMap::new();
    for snapshot in &plan.remove {
        if let Some(r) = repo.retention(snapshot).await? {
            locks.insert(snapshot.name.clone(), r);
        }
    }
    hold_locked(plan, |s| locks.get(&s.name).copied(), Utc::now());
    Ok(())
}

/// Deletes the snapshots `plan` removes. One that turns out to be locked is moved to
/// `plan.locked`; the first other failure stops the run. Returns the snapshots deleted.
pub async fn apply(
    repo: &Repository,
    plan: &mut ForgetPlan,
) -> Result<Vec<SnapshotInfo>, RepoError> {
    let mut deleted = Vec::new();
    for snapshot in std::mem::take(&mut plan.remove) {
        match repo.delete_snapshot(&snapshot).await {
            Ok(()) => deleted.push(snapshot),
            Err(RepoError::Locked { mode, until, .. }) => plan.locked.push(Locked {
                snapshot,
                mode,
                until,
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};

    use crate::config::LockMode;

    fn snap(source: &str, y: i32, mo: u32, d: u32, h: u32) -> SnapshotInfo {
        let time = Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap();
        SnapshotInfo {
            name: format!("{source}/{}-00000000", time.format("%Y%m%dT%H%M%SZ")),
            source: source.to_string(),
            time,
            size: 1,
        }
    }

    fn names(list: &[SnapshotInfo]) -> Vec<String> {
        list.iter().map(|s| s.name.clone()).collect()
    }

    fn far_future() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn keep_last_keeps_the_newest_per_source() {
        let snaps = vec![
            snap("a", 2026, 1, 1, 0),
            snap("a", 2026, 1, 2, 0),
            snap("a", 2026, 1, 3, 0),
            snap("b", 2026, 1, 1, 0),
        ];
        let policy = KeepPolicy {
            last: 2,
            ..Default::default()
        };
        let plan = plan(&snaps, &policy, far_future(), TimeDelta::zero()).unwrap();
        assert_eq!(names(&plan.remove), [snaps[0].name.clone()]);
        assert_eq!(plan.keep.len(), 3);
        let first = plan.keep.iter().find(|k| k.snapshot == snaps[2]).unwrap();
        assert_eq!(first.reasons, ["last 1"]);
    }

    #[test]
    fn daily_weekly_monthly_keep_the_newest_of_each_period() {
        // Two a day for 60 days from 2026-01-01.
        let mut snaps = Vec::new();
        for day in 0..60 {
            let base = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(day);
            for hour in [3, 15] {
                snaps.push(snap("a", base.year(), base.month(), base.day(), hour));
            }
        }
        let policy = KeepPolicy {
            daily: 7,
            weekly: 4,
            monthly: 3,
            ..Default::default()
        };
        let plan = plan(&snaps, &policy, far_future(), TimeDelta::zero()).unwrap();
        let kept: Vec<&Kept> = plan.keep.iter().collect();
        // 7 daily (Feb 23..Mar 1), weekly adds the Sundays' newest of 4 weeks (some overlap
        // the daily ones), monthly adds Jan 31 (Feb and Mar are already kept).
        assert!(
            kept.iter().all(|k| k.snapshot.time.hour() == 15),
            "the newest of each period"
        );
        let daily: Vec<_> = kept
            .iter()
            .filter(|k| k.reasons.iter().any(|r| r.starts_with("daily")))
            .collect();
        assert_eq!(daily.len(), 7);
        let weekly: Vec<_> = kept
            .iter()
            .filter(|k| k.reasons.iter().any(|r| r.starts_with("weekly")))
            .collect();
        assert_eq!(weekly.len(), 4);
        let monthly: Vec<_> = kept
            .iter()
            .filter(|k| k.reasons.iter().any(|r| r.starts_with("monthly")))
            .collect();
        assert_eq!(monthly.len(), 3);
        assert!(
            monthly
                .iter()
                .any(|k| k.snapshot.name.contains("20260131T150000Z"))
        );
        assert_eq!(plan.keep.len() + plan.remove.len(), snaps.len());
        assert!(plan.keep.len() < 7 + 4 + 3 + 1);
    }

    #[test]
    fn the_guard_window_keeps_recent_snapshots() {
        let snaps = vec![
            snap("a", 2026, 1, 1, 0),
            snap("a", 2026, 1, 1, 12),
            snap("a", 2026, 1, 1, 20),
        ];
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 22, 0, 0).unwrap();
        let policy = KeepPolicy {
            last: 1,
            ..Default::default()
        };
        let plan = plan(&snaps, &policy, now, TimeDelta::hours(12)).unwrap();
        assert_eq!(names(&plan.remove), [snaps[0].name.clone()]);
        let guarded = plan.keep.iter().find(|k| k.snapshot == snaps[1]).unwrap();
        assert_eq!(guarded.reasons, ["younger than the 12h guard"]);
    }

    #[test]
    fn an_empty_policy_is_refused() {
        assert!(plan(&[], &KeepPolicy::default(), far_future(), DEFAULT_GUARD).is_err());
    }

    #[test]
    fn locked_snapshots_are_held_and_reported() {
        let snaps = vec![
            snap("a", 2026, 1, 1, 0),
            snap("a", 2026, 1, 2, 0),
            snap("a", 2026, 1, 3, 0),
        ];
        let policy = KeepPolicy {
            last: 1,
            ..Default::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let mut plan = plan(&snaps, &policy, now, TimeDelta::zero()).unwrap();
        assert_eq!(plan.remove.len(), 2);
        let until = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let expired = Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap();
        let first = snaps[0].name.clone();
        hold_locked(
            &mut plan,
            |s| {
                Some(Retention {
                    mode: LockMode::Compliance,
                    until: if s.name == first { until } else { expired },
                })
            },
            now,
        );
        assert_eq!(names(&plan.remove), [snaps[1].name.clone()]);
        assert_eq!(plan.locked.len(), 1);
        assert_eq!(plan.locked[0].snapshot, snaps[0]);
        assert_eq!(plan.locked[0].until, until);
        assert_eq!(plan.locked[0].mode, "compliance");
    }
}
