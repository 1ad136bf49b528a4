//! Who made each change (`diff --who`): the events of the source's audit log between the two
//! sides' times, matched to the objects the diff found different.
//!
//! An event touches a change when one of its targets is the object (its id on either side),
//! or, for a relationship record (a membership, an assignment), when its targets include
//! every object the record names: removing a member names the user and the group. A removed
//! record that names a deleted object also gets the deletion (a member of a deleted group, a
//! scope of a deleted authorization server), and so does a changed record that lost its
//! reference to one (a resource set naming a deleted group). A source whose connector reads
//! no audit log, or whose credentials may not read it, gets a note in the summary instead,
//! and the diff prints as without `--who`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use iamsnap_provider::{AuditEvent, AuditLog, Destructive, Window};
use serde::{Deserialize, Serialize};

use crate::diff::{Change, Status};

/// What the summary says about the audit log read for a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// The configured source whose log was read.
    pub source: String,
    /// The window read: from the old side's time to the new side's.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Events read in the window.
    pub events: u64,
    /// Why there are no events, or only some: no audit log, no permission, past retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The events of a window, indexed by the ids of their targets.
#[derive(Debug, Default)]
pub struct Who {
    events: Vec<AuditEvent>,
    by_target: HashMap<String, Vec<usize>>,
}

/// The ids an object's events may name: its own on either side, and for a relationship
/// record the objects it names (its references, or the parts of a composite id `GROUP:USER`).
fn named(change: &Change) -> (Vec<&str>, Vec<String>) {
    let own: Vec<&str> = [change.old_id.as_deref(), change.new_id.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let mut parts: Vec<String> = change.refs.iter().map(|r| r.id.clone()).collect();
    if parts.is_empty()
        && let Some(id) = own.first()
        && id.contains(':')
        && !id.starts_with("arn:")
    {
        parts = id.split(':').map(str::to_string).collect();
    }
    (own, parts)
}

/// The objects a changed record referred to on the old side and no longer does (a resource
/// set whose group was deleted): its `/refs/…` fields' ids missing from their new value.
fn dropped_refs(change: &Change) -> Vec<String> {
    let ids = |value: &Option<serde_json::Value>| -> BTreeSet<String> {
        let items = value.as_ref().and_then(|v| v.as_array());
        items
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    };
    change
        .fields
        .iter()
        .filter(|f| f.path.starts_with("/refs/"))
        .flat_map(|f| {
            let kept = ids(&f.new);
            ids(&f.old).into_iter().filter(move |id| !kept.contains(id))
        })
        .collect()
}

/// The ids worth asking the log about for `change`.
pub fn target_ids(change: &Change, into: &mut BTreeSet<String>) {
    let (own, parts) = named(change);
    into.extend(own.into_iter().map(str::to_string));
    into.extend(parts);
    into.extend(dropped_refs(change));
}

impl Who {
    /// Indexes `events` by target id.
    pub fn new(events: Vec<AuditEvent>) -> Who {
        let mut by_target: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            for target in &event.targets {
                let at = by_target.entry(target.id.clone()).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
            }
        }
        Who { events, by_target }
    }

    /// The events that touched `change`, oldest first.
    pub fn events_for(&self, change: &Change) -> Vec<AuditEvent> {
        let (own, parts) = named(change);
        let mut found: BTreeSet<usize> = BTreeSet::new();
        for id in own {
            found.extend(self.by_target.get(id).into_iter().flatten());
        }
        if parts.len() >= 2 {
            let candidates = self.by_target.get(&parts[0]).into_iter().flatten();
            found.extend(candidates.filter(|&&i| {
                parts.iter().all(|p| {
                    self.events[i]
                        .targets
                        .iter()
                        .any(|t| t.id.as_str() == p.as_str())
                })
            }));
        }
        // A removed record that names a deleted object (a member of a deleted group, a scope
        // of a deleted server) went with it, and a changed record that lost its reference to
        // one (a resource set naming a deleted group) changed with it: the deletion says who.
        let went_with: Vec<String> = match change.status {
            Status::Removed => change
                .refs
                .iter()
                .map(|r| r.id.clone())
                .chain(parts.iter().cloned())
                .collect(),
            Status::Changed => dropped_refs(change),
            Status::Added => Vec::new(),
        };
        for id in &went_with {
            found.extend(self.by_target.get(id).into_iter().flatten().filter(|&&i| {
                let e = &self.events[i];
                e.destructive == Some(Destructive::Deletion) && e.targets.len() == 1
            }));
        }
        let mut events: Vec<AuditEvent> =
            found.into_iter().map(|i| self.events[i].clone()).collect();
        events.sort_by_key(|e| e.time);
        events
    }

    /// Fills `change.events`.
    pub fn annotate(&self, mut change: Change) -> Change {
        change.events = self.events_for(&change);
        change
    }
}

/// Reads the audit log of `source` for `window`, asking about `targets` where the provider
/// can filter. Never fails: what went wrong becomes the summary's note.
pub async fn read(
    source: &str,
    log: Option<&dyn AuditLog>,
    window: Window,
    targets: &[String],
) -> (Who, AuditSummary) {
    let mut summary = AuditSummary {
        source: source.to_string(),
        since: window.since,
        until: window.until,
        events: 0,
        note: None,
    };
    let Some(log) = log else {
        summary.note = Some(format!(
            "{source}: this connector does not read its provider's audit log, so changes are shown without who made them"
        ));
        return (Who::default(), summary);
    };
    let mut window = window;
    let mut notes = Vec::new();
    if let Some(kept) = log.retention() {
        let oldest = Utc::now() - kept;
        if window.since < oldest {
            notes.push(format!(
                "{source}: the provider keeps {} days of audit log; changes made before {} have no events",
                kept.num_days(),
                oldest.format("%Y-%m-%d %H:%M UTC")
            ));
            window.since = oldest.min(window.until);
            summary.since = window.since;
        }
    }
    match log.events(window, targets).await {
        Ok(events) => {
            summary.events = events.len() as u64;
            if !notes.is_empty() {
                summary.note = Some(notes.join("; "));
            }
            (Who::new(events), summary)
        }
        Err(e) => {
            let hint = if e.is_auth() {
                format!(
                    "; grant `{}` to the credentials of {source} to see who made each change",
                    log.permission()
                )
            } else {
                String::new()
            };
            notes.push(format!(
                "{source}: the audit log could not be read ({}){hint}; changes are shown without who made them",
                iamsnap_provider::redact::scrub(&e.to_string())
            ));
            summary.note = Some(notes.join("; "));
            (Who::default(), summary)
        }
    }
}

/// One line per event for text and Markdown: who, when, what, from where.
pub fn event_line(event: &AuditEvent, code: &dyn Fn(&str) -> String) -> String {
    let actor = &event.actor;
    let who = match (actor.name.is_empty(), actor.id.is_empty()) {
        (false, false) if actor.name != actor.id => format!("{} ({})", code(&actor.name), actor.id),
        (false, _) => code(&actor.name),
        (true, false) => code(&actor.id),
        (true, true) => "an unknown actor".to_string(),
    };
    let mut line = format!(
        "by {who} at {}: {}",
        event.time.format("%Y-%m-%d %H:%M:%S UTC"),
        code(&event.operation)
    );
    if let Some(ip) = &event.client_ip {
        line.push_str(&format!(" from {ip}"));
    }
    if !event.outcome.is_empty() && event.outcome != "success" {
        line.push_str(&format!(" ({})", event.outcome));
    }
    line
}

/// The sentence the summary prints about the audit log.
pub fn summary_line(audit: &AuditSummary) -> String {
    let window = format!(
        "{} to {}",
        audit.since.format("%Y-%m-%d %H:%M:%S UTC"),
        audit.until.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let read = format!(
        "who: {} audit events of {} from {window}",
        audit.events, audit.source
    );
    match &audit.note {
        Some(note) => format!("{read}; {note}"),
        None => read,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use iamsnap_provider::{Actor, ActorKind, Target};
    use serde_json::json;

    use super::*;
    use crate::diff::FieldChange;
    use crate::diff::join::MatchedBy;

    fn event(operation: &str, destructive: Option<Destructive>, targets: &[&str]) -> AuditEvent {
        AuditEvent {
            time: Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap(),
            actor: Actor {
                kind: ActorKind::User,
                id: "00uadmin".into(),
                name: "admin@example.com".into(),
            },
            operation: operation.into(),
            targets: targets
                .iter()
                .map(|id| Target {
                    id: id.to_string(),
                    kind: "UserGroup".into(),
                    name: String::new(),
                })
                .collect(),
            client_ip: None,
            outcome: "success".into(),
            destructive,
        }
    }

    fn changed(fields: Vec<FieldChange>) -> Change {
        Change {
            kind: "okta.resource_set".into(),
            key: "Team support".into(),
            status: Status::Changed,
            old_id: Some("iam1".into()),
            new_id: Some("iam1".into()),
            matched_by: Some(MatchedBy::Id),
            fields,
            refs: Vec::new(),
            events: Vec::new(),
        }
    }

    #[test]
    fn a_reference_lost_to_a_deletion_names_who_deleted_it() {
        let who = Who::new(vec![
            event(
                "group.lifecycle.delete",
                Some(Destructive::Deletion),
                &["00g1"],
            ),
            event("group.profile.update", None, &["00g2"]),
            event(
                "group.lifecycle.delete",
                Some(Destructive::Deletion),
                &["00g3"],
            ),
        ]);
        let change = changed(vec![FieldChange {
            path: "/refs/resource".into(),
            old: Some(
                json!([{"kind": "okta.group", "id": "00g1"}, {"kind": "okta.group", "id": "00g2"}]),
            ),
            new: Some(json!([{"kind": "okta.group", "id": "00g2"}])),
        }]);
        let events = who.events_for(&change);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].targets[0].id, "00g1");
        let mut ids = BTreeSet::new();
        target_ids(&change, &mut ids);
        assert!(ids.contains("00g1") && !ids.contains("00g2"), "{ids:?}");
        // A reference kept, or an attribute changed, takes no one's deletion.
        let kept = changed(vec![FieldChange {
            path: "/attrs/description".into(),
            old: Some(json!("00g3")),
            new: Some(json!("")),
        }]);
        assert!(who.events_for(&kept).is_empty());
    }
}
