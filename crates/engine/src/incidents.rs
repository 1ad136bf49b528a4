//! `iamsnap incidents`: the destructive events of a source's audit log (deletions, policy
//! changes, role grants, MFA resets) grouped by actor, each group with the `restore --only`
//! command that would undo it from the last snapshot taken before its first event.
//!
//! Events name objects by id; [`resolve`] finds them in the snapshot (one pass over its
//! records, holding only the ids asked about) to write the `KIND:KEY` selectors `--only`
//! takes. An event that names two objects, such as a member removed from a group, is undone
//! by the relationship record that names both, when the snapshot has one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use iamsnap_provider::{Actor, AuditEvent, Destructive, Record};
use serde::Serialize;

/// One destructive event with what would undo it.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub event: AuditEvent,
    /// `KIND:KEY` selectors of the snapshot's records that bring back what the event took.
    pub only: Vec<String>,
    /// Targets the snapshot does not hold (created after it): nothing to restore.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_snapshot: Vec<String>,
}

/// The events of one actor.
#[derive(Debug, Clone, Serialize)]
pub struct ActorEvents {
    pub actor: Actor,
    pub events: Vec<Found>,
    /// The command that undoes them, when the snapshot holds anything they took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The snapshot the restore commands read, taken before the first event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    pub actors: Vec<ActorEvents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where the targets of the events are in the snapshot.
#[derive(Debug, Default)]
pub struct Located {
    /// Object id, or a target's own `KIND:KEY`, → `KIND:KEY`.
    objects: HashMap<String, String>,
    /// Sorted ids a relationship record names → `KIND:KEY`.
    relationships: HashMap<Vec<String>, String>,
}

/// The destructive events of `events`, oldest first.
pub fn destructive(events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    let mut kept: Vec<AuditEvent> = events
        .into_iter()
        .filter(|e| e.destructive.is_some() && e.outcome != "failure")
        .collect();
    kept.sort_by_key(|e| e.time);
    kept
}

/// Reads `records` (a snapshot) once, keeping where the targets of `events` are.
pub fn locate<E>(
    events: &[AuditEvent],
    records: impl Iterator<Item = Result<Record, E>>,
) -> Result<Located, E> {
    let wanted: HashSet<&str> = events
        .iter()
        .flat_map(|e| e.targets.iter())
        .filter(|t| t.record.is_none())
        .map(|t| t.id.as_str())
        .collect();
    let wanted_records: HashSet<&str> = events
        .iter()
        .flat_map(|e| e.targets.iter().filter_map(|t| t.record.as_deref()))
        .collect();
    let mut located = Located::default();
    for record in records {
        let record = record?;
        let selector = format!("{}:{}", record.kind, record.key);
        if wanted_records.contains(selector.as_str()) {
            located.objects.insert(selector.clone(), selector.clone());
        }
        if wanted.contains(record.id.as_str()) {
            located.objects.insert(record.id.clone(), selector);
        }
        if record.refs.len() >= 2 && record.refs.iter().all(|r| wanted.contains(r.id.as_str())) {
            let mut ids: Vec<String> = record.refs.iter().map(|r| r.id.clone()).collect();
            ids.sort();
            ids.dedup();
            located
                .relationships
                .insert(ids, format!("{}:{}", record.kind, record.key));
        }
    }
    Ok(located)
}

impl Located {
    /// The selectors that undo `event`, and the targets the snapshot lacks.
    fn undo(&self, event: &AuditEvent) -> (Vec<String>, Vec<String>) {
        let mut ids: Vec<String> = event.targets.iter().map(|t| t.id.clone()).collect();
        ids.sort();
        ids.dedup();
        if ids.len() >= 2
            && let Some(selector) = self.relationships.get(&ids)
        {
            return (vec![selector.clone()], Vec::new());
        }
        let mut only = Vec::new();
        let mut missing = Vec::new();
        for target in &event.targets {
            let found = match &target.record {
                Some(record) => self.objects.get(record),
                None => self.objects.get(&target.id),
            };
            match found {
                Some(selector) => only.push(selector.clone()),
                None if event.targets.len() == 1 => missing.push(describe(target)),
                None => {}
            }
        }
        if only.is_empty() && missing.is_empty() {
            missing.extend(event.targets.iter().map(describe));
        }
        (only, missing)
    }
}

fn describe(target: &iamsnap_provider::Target) -> String {
    match target.name.is_empty() {
        true => format!("{} {}", target.kind, target.id),
        false => format!("{} {} ({})", target.kind, target.name, target.id),
    }
}

/// Quotes `word` for a POSIX shell when it holds anything but plain characters.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._:@/+=,-%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Groups `events` by actor (in order of each actor's first event) with their undo commands
/// against `snapshot`.
pub fn group(
    events: Vec<AuditEvent>,
    located: &Located,
    snapshot: Option<&str>,
) -> Vec<ActorEvents> {
    let mut order: Vec<Actor> = Vec::new();
    let mut by_actor: BTreeMap<Actor, Vec<Found>> = BTreeMap::new();
    for event in events {
        let (only, not_in_snapshot) = match snapshot {
            Some(_) => located.undo(&event),
            None => (Vec::new(), Vec::new()),
        };
        if !by_actor.contains_key(&event.actor) {
            order.push(event.actor.clone());
        }
        by_actor
            .entry(event.actor.clone())
            .or_default()
            .push(Found {
                event,
                only,
                not_in_snapshot,
            });
    }
    order
        .into_iter()
        .map(|actor| {
            let events = by_actor.remove(&actor).unwrap_or_default();
            let restore = snapshot.and_then(|name| command(name, &events));
            ActorEvents {
                actor,
                events,
                restore,
            }
        })
        .collect()
}

/// `iamsnap restore SNAPSHOT --only … --apply`; a role grant is undone by deleting what the
/// snapshot lacks, which only an authoritative restore does.
fn command(snapshot: &str, events: &[Found]) -> Option<String> {
    let selectors: BTreeSet<&String> = events.iter().flat_map(|f| &f.only).collect();
    if selectors.is_empty() {
        return None;
    }
    let mut words = vec![
        "iamsnap".to_string(),
        "restore".to_string(),
        shell_word(snapshot),
    ];
    for s in &selectors {
        words.push("--only".into());
        words.push(shell_word(s));
    }
    let grants = events
        .iter()
        .filter(|f| f.event.destructive == Some(Destructive::RoleGrant) && !f.only.is_empty())
        .count();
    if grants > 0 {
        words.extend([
            "--mode".into(),
            "authoritative".into(),
            "--max-deletes".into(),
            grants.to_string(),
        ]);
    }
    words.push("--apply".into());
    Some(words.join(" "))
}

/// The report as text: a block per actor, an event per line, then the command.
pub fn text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let total: usize = report.actors.iter().map(|a| a.events.len()).sum();
    writeln!(
        out,
        "{}: {total} destructive events from {} to {}",
        report.source,
        report.since.format("%Y-%m-%d %H:%M:%S UTC"),
        report.until.format("%Y-%m-%d %H:%M:%S UTC")
    )?;
    if let Some(name) = &report.snapshot {
        writeln!(
            out,
            "restore commands read {name}, the last snapshot before them"
        )?;
    }
    if let Some(note) = &report.note {
        writeln!(out, "{note}")?;
    }
    for group in &report.actors {
        let a = &group.actor;
        let kind = match a.kind {
            iamsnap_provider::ActorKind::User => "user",
            iamsnap_provider::ActorKind::App => "app",
            iamsnap_provider::ActorKind::Unknown => "actor",
        };
        writeln!(
            out,
            "\n{} ({kind} {}): {} events",
            a.name,
            a.id,
            group.events.len()
        )?;
        for found in &group.events {
            let e = &found.event;
            let targets: Vec<String> = e.targets.iter().map(describe).collect();
            let mut line = format!(
                "  {}  {}  {}  {}",
                e.time.format("%Y-%m-%d %H:%M:%S"),
                e.destructive.map_or("", Destructive::label),
                e.operation,
                targets.join(", ")
            );
            if let Some(ip) = &e.client_ip {
                line.push_str(&format!("  from {ip}"));
            }
            writeln!(out, "{line}")?;
            if !found.not_in_snapshot.is_empty() {
                writeln!(
                    out,
                    "      not in the snapshot (made after it): nothing to restore"
                )?;
            }
        }
        match &group.restore {
            Some(command) => writeln!(out, "  undo: {command}")?,
            None => writeln!(out, "  undo: nothing a snapshot holds")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamsnap_provider::{ActorKind, Ref, Target};
    use serde_json::json;

    fn event(op: &str, kind: Option<Destructive>, who: &str, targets: &[&str]) -> AuditEvent {
        AuditEvent {
            time: Utc::now(),
            actor: Actor {
                kind: ActorKind::User,
                id: format!("id-{who}"),
                name: who.into(),
            },
            operation: op.into(),
            targets: targets
                .iter()
                .map(|t| Target {
                    id: t.to_string(),
                    kind: "User".into(),
                    name: String::new(),
                    record: None,
                })
                .collect(),
            client_ip: None,
            outcome: "success".into(),
            destructive: kind,
        }
    }

    #[test]
    fn a_target_named_by_its_record_is_undone_by_that_record() {
        let mut deleted = event("DeleteUser", Some(Destructive::Deletion), "eve", &["ada"]);
        deleted.targets[0].record = Some("aws.user:ada".into());
        let mut gone = event("DeleteRole", Some(Destructive::Deletion), "eve", &["ops"]);
        gone.targets[0].record = Some("aws.role:ops".into());
        let events = destructive(vec![deleted, gone]);
        let records = vec![
            Record::new("aws.user", "AIDAADA", "ada", json!({}), vec![]),
            Record::new("aws.group", "AGPAOPS", "ops", json!({}), vec![]),
        ];
        let located = locate(&events, records.into_iter().map(Ok::<_, ()>)).unwrap();
        let groups = group(events, &located, Some("iam/1"));
        assert_eq!(groups[0].events[0].only, ["aws.user:ada"]);
        assert_eq!(
            groups[0].events[1].not_in_snapshot.len(),
            1,
            "a role named ops is not the group named ops"
        );
        assert_eq!(
            groups[0].restore.as_deref(),
            Some("iamsnap restore iam/1 --only aws.user:ada --apply")
        );
    }

    #[test]
    fn each_actor_gets_the_command_that_undoes_their_events() {
        let events = destructive(vec![
            event("user.delete", Some(Destructive::Deletion), "eve", &["u1"]),
            event("member.add", None, "eve", &["u1", "g1"]),
            event(
                "member.remove",
                Some(Destructive::Deletion),
                "mallory",
                &["u2", "g1"],
            ),
            event(
                "role.grant",
                Some(Destructive::RoleGrant),
                "mallory",
                &["u3"],
            ),
            event("user.delete", Some(Destructive::Deletion), "eve", &["u9"]),
        ]);
        assert_eq!(events.len(), 4, "only destructive events are kept");
        let records = vec![
            Record::new("okta.user", "u1", "ada@example.com", json!({}), vec![]),
            Record::new(
                "okta.user",
                "u2",
                "bob o'neil@example.com",
                json!({}),
                vec![],
            ),
            Record::new("okta.user", "u3", "cy@example.com", json!({}), vec![]),
            Record::new("okta.group", "g1", "Sales", json!({}), vec![]),
            Record::new(
                "okta.group_membership",
                "g1:u2",
                "Sales|bob",
                json!({}),
                vec![
                    Ref::new("group", "okta.group", "g1"),
                    Ref::new("user", "okta.user", "u2"),
                ],
            ),
        ];
        let located = locate(&events, records.into_iter().map(Ok::<_, ()>)).unwrap();
        let groups = group(events, &located, Some("okta/1"));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].actor.name, "eve");
        assert_eq!(
            groups[0].restore.as_deref(),
            Some("iamsnap restore okta/1 --only okta.user:ada@example.com --apply")
        );
        assert_eq!(groups[0].events[1].not_in_snapshot.len(), 1);
        assert_eq!(
            groups[1].restore.as_deref(),
            Some(
                "iamsnap restore okta/1 --only 'okta.group_membership:Sales|bob' --only okta.user:cy@example.com --mode authoritative --max-deletes 1 --apply"
            )
        );
    }
}
