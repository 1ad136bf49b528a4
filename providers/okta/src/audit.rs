//! Who changed what: the System Log (`GET /api/v1/logs`), read with `since`/`until`, a
//! `filter` on `target.id` when few objects are asked about, and `Link` paging. The token
//! needs `okta.logs.read` (a read-only admin has it).

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use iamsnap_provider::{
    Actor, ActorKind, AuditEvent, AuditLog, Destructive, ProviderError, Target, Window,
};
use serde::Deserialize;

use crate::OktaProvider;

/// Ids per filter expression. The System Log reference sets no limit on a filter's length
/// or terms, but a request line is bounded by every proxy on the way (8 KiB is common): 20
/// `target.id eq "…"` terms make a query of about 1 KiB once encoded.
const IDS_PER_QUERY: usize = 20;
/// Beyond this many ids, one unfiltered read of the window costs fewer requests (pages of
/// 1,000 events) and stays well inside the log's rate limit.
const MOST_FILTERED: usize = 200;

#[derive(Debug, Deserialize)]
struct LogEvent {
    #[serde(default)]
    uuid: String,
    published: DateTime<Utc>,
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(default)]
    actor: Option<LogActor>,
    #[serde(default)]
    client: Option<LogClient>,
    #[serde(default)]
    outcome: Option<LogOutcome>,
    #[serde(default)]
    target: Option<Vec<LogActor>>,
}

#[derive(Debug, Deserialize)]
struct LogActor {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, rename = "alternateId")]
    alternate_id: Option<String>,
    #[serde(default, rename = "displayName")]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LogClient {
    #[serde(default, rename = "ipAddress")]
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LogOutcome {
    #[serde(default)]
    result: Option<String>,
}

/// The incident category of an Okta event type.
fn destructive(event_type: &str) -> Option<Destructive> {
    let t = event_type;
    if t.starts_with("policy.") && (t.contains("update") || t.contains("delete")) {
        return Some(Destructive::PolicyChange);
    }
    if t.contains("privilege.grant") || t.starts_with("iam.resourceset.bindings.add") {
        return Some(Destructive::RoleGrant);
    }
    if t.starts_with("user.mfa.factor.") && (t.contains("reset") || t.contains("deactivate")) {
        return Some(Destructive::MfaReset);
    }
    let deletes = [".delete", ".remove", "oauth2.as.deleted"];
    deletes
        .iter()
        .any(|d| t.contains(d))
        .then_some(Destructive::Deletion)
}

fn known(text: Option<String>) -> String {
    text.filter(|t| !t.is_empty() && t != "unknown")
        .unwrap_or_default()
}

impl LogEvent {
    fn into_event(self) -> AuditEvent {
        let actor = self.actor.map_or(
            Actor {
                kind: ActorKind::Unknown,
                id: String::new(),
                name: String::new(),
            },
            |a| {
                let kind = match a.kind.as_deref() {
                    Some("User") => ActorKind::User,
                    Some("PublicClientApp" | "AppInstance" | "Client") => ActorKind::App,
                    _ => ActorKind::Unknown,
                };
                let alternate = known(a.alternate_id);
                Actor {
                    kind,
                    id: a.id.unwrap_or_default(),
                    name: if alternate.is_empty() {
                        known(a.display_name)
                    } else {
                        alternate
                    },
                }
            },
        );
        let targets = self
            .target
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let display = known(t.display_name);
                Target {
                    id: t.id.unwrap_or_default(),
                    kind: t.kind.unwrap_or_default(),
                    name: if display.is_empty() {
                        known(t.alternate_id)
                    } else {
                        display
                    },
                }
            })
            .collect();
        AuditEvent {
            time: self.published,
            destructive: destructive(&self.event_type),
            operation: self.event_type,
            actor,
            targets,
            client_ip: self.client.and_then(|c| c.ip_address),
            outcome: self
                .outcome
                .and_then(|o| o.result)
                .unwrap_or_default()
                .to_lowercase(),
        }
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[async_trait]
impl AuditLog for OktaProvider {
    fn permission(&self) -> &'static str {
        "okta.logs.read"
    }

    /// The System Log returns 90 days of events (Okta's data retention policy); a `since`
    /// further back than 180 days is refused outright (400 E0000053), so the window is cut
    /// to what is kept rather than lost whole.
    fn retention(&self) -> Option<chrono::Duration> {
        Some(chrono::Duration::days(90))
    }

    async fn events(
        &self,
        window: Window,
        targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let (since, until) = (stamp(window.since), stamp(window.until));
        let filters: Vec<Option<String>> = if targets.is_empty() || targets.len() > MOST_FILTERED {
            vec![None]
        } else {
            targets
                .chunks(IDS_PER_QUERY)
                .map(|ids| {
                    let one: Vec<String> = ids
                        .iter()
                        .map(|id| format!("target.id eq \"{}\"", id.replace('"', "")))
                        .collect();
                    Some(one.join(" or "))
                })
                .collect()
        };
        let mut events: Vec<AuditEvent> = Vec::new();
        // Filters of several chunks may name the same event (it touches objects of both).
        let mut seen: std::collections::HashSet<String> = Default::default();
        for filter in filters {
            let mut query = vec![
                ("since", since.as_str()),
                ("until", until.as_str()),
                ("sortOrder", "ASCENDING"),
                ("limit", "1000"),
            ];
            if let Some(filter) = &filter {
                query.push(("filter", filter));
            }
            let mut pages = self
                .client
                .pages_of::<LogEvent>(self.client.url("/api/v1/logs", &query));
            while let Some(page) = pages.next().await? {
                // A bounded query ends with a page that has no `next` link; an empty page
                // ends it too, should a link keep coming.
                if page.is_empty() {
                    break;
                }
                events.extend(
                    page.into_iter()
                        .filter(|e| e.uuid.is_empty() || seen.insert(e.uuid.clone()))
                        .map(LogEvent::into_event),
                );
            }
        }
        events.sort_by_key(|e| e.time);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_categories_follow_the_event_types() {
        assert_eq!(
            destructive("user.lifecycle.delete.initiated"),
            Some(Destructive::Deletion)
        );
        assert_eq!(
            destructive("group.user_membership.remove"),
            Some(Destructive::Deletion)
        );
        assert_eq!(
            destructive("policy.lifecycle.update"),
            Some(Destructive::PolicyChange)
        );
        assert_eq!(
            destructive("user.account.privilege.grant"),
            Some(Destructive::RoleGrant)
        );
        assert_eq!(
            destructive("user.mfa.factor.reset_all"),
            Some(Destructive::MfaReset)
        );
        assert_eq!(destructive("group.user_membership.add"), None);
        assert_eq!(destructive("user.lifecycle.create"), None);
    }
}
