//! Who changed what: directory audits (`GET /auditLogs/directoryAudits`), read with a
//! `$filter` on `activityDateTime` and `@odata.nextLink` paging. The application needs
//! `AuditLog.Read.All`; Entra keeps the audits 30 days (7 without a premium licence).

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use iamsnap_provider::{
    Actor, ActorKind, AuditEvent, AuditLog, Destructive, ProviderError, Target, Window,
};
use serde::Deserialize;

use crate::EntraProvider;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryAudit {
    activity_display_name: String,
    activity_date_time: DateTime<Utc>,
    #[serde(default)]
    initiated_by: Option<InitiatedBy>,
    #[serde(default)]
    target_resources: Option<Vec<TargetResource>>,
    #[serde(default)]
    result: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct InitiatedBy {
    #[serde(default)]
    user: Option<UserIdentity>,
    #[serde(default)]
    app: Option<AppIdentity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppIdentity {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetResource {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
}

/// The incident category of an Entra activity.
fn destructive(activity: &str) -> Option<Destructive> {
    let a = activity.to_lowercase();
    if a.contains("security info") || a.contains("authentication method") {
        return (a.contains("delete") || a.contains("reset") || a.contains("remove"))
            .then_some(Destructive::MfaReset);
    }
    if a.contains("policy") && (a.starts_with("update") || a.starts_with("delete")) {
        return Some(Destructive::PolicyChange);
    }
    if a.starts_with("add member to role")
        || a.starts_with("add eligible member to role")
        || a.starts_with("add app role assignment")
    {
        return Some(Destructive::RoleGrant);
    }
    (a.starts_with("delete") || a.starts_with("remove") || a.starts_with("hard delete"))
        .then_some(Destructive::Deletion)
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

impl DirectoryAudit {
    fn into_event(self) -> AuditEvent {
        let by = self.initiated_by.unwrap_or_default();
        let mut client_ip = None;
        let actor = match (by.user, by.app) {
            (Some(user), _) if user.id.is_some() || user.user_principal_name.is_some() => {
                client_ip = user.ip_address.filter(|ip| !ip.is_empty());
                let upn = text(user.user_principal_name);
                Actor {
                    kind: ActorKind::User,
                    id: text(user.id),
                    name: if upn.is_empty() {
                        text(user.display_name)
                    } else {
                        upn
                    },
                }
            }
            (_, Some(app)) => Actor {
                kind: ActorKind::App,
                id: text(app.app_id),
                name: text(app.display_name),
            },
            _ => Actor {
                kind: ActorKind::Unknown,
                id: String::new(),
                name: String::new(),
            },
        };
        let targets = self
            .target_resources
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let upn = text(t.user_principal_name);
                Target {
                    id: text(t.id),
                    kind: text(t.kind),
                    name: if upn.is_empty() {
                        text(t.display_name)
                    } else {
                        upn
                    },
                    record: None,
                }
            })
            .collect();
        AuditEvent {
            time: self.activity_date_time,
            destructive: destructive(&self.activity_display_name),
            operation: self.activity_display_name,
            actor,
            targets,
            client_ip,
            outcome: text(self.result).to_lowercase(),
        }
    }
}

#[async_trait]
impl AuditLog for EntraProvider {
    fn permission(&self) -> &'static str {
        "AuditLog.Read.All"
    }

    fn retention(&self) -> Option<chrono::Duration> {
        chrono::Duration::try_days(30)
    }

    /// Entra filters audits by target only one id at a time, so the window is read whole.
    async fn events(
        &self,
        window: Window,
        _targets: &[String],
    ) -> Result<Vec<AuditEvent>, ProviderError> {
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let filter = format!(
            "activityDateTime ge {} and activityDateTime lt {}",
            stamp(window.since),
            stamp(window.until + chrono::Duration::seconds(1))
        );
        let mut url = self.client.url("/auditLogs/directoryAudits");
        url.query_pairs_mut()
            .append_pair("$filter", &filter)
            .append_pair("$top", "999");
        let mut events = Vec::new();
        let mut next = Some(url);
        while let Some(page) = next {
            let (items, following) = self.client.page_of::<DirectoryAudit>(&page).await?;
            events.extend(
                items
                    .into_iter()
                    .map(DirectoryAudit::into_event)
                    .filter(|e| e.time >= window.since && e.time < window.until),
            );
            next = following;
        }
        events.sort_by_key(|e| e.time);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_categories_follow_the_activities() {
        let d = destructive;
        assert_eq!(d("Delete user"), Some(Destructive::Deletion));
        assert_eq!(d("Hard delete user"), Some(Destructive::Deletion));
        assert_eq!(d("Remove member from group"), Some(Destructive::Deletion));
        assert_eq!(
            d("Update authorization policy"),
            Some(Destructive::PolicyChange)
        );
        assert_eq!(
            d("Delete conditional access policy"),
            Some(Destructive::PolicyChange)
        );
        assert_eq!(
            d("Remove eligible member from role in PIM completed (permanent)"),
            Some(Destructive::Deletion)
        );
        assert_eq!(d("Add member to role"), Some(Destructive::RoleGrant));
        assert_eq!(
            d("Admin deleted security info"),
            Some(Destructive::MfaReset)
        );
        assert_eq!(d("Add user"), None);
        assert_eq!(d("Update user"), None);
    }

    #[test]
    fn an_app_actor_and_user_targets_are_read_from_the_audit() {
        let audit: DirectoryAudit = serde_json::from_value(serde_json::json!({
            "id": "Directory_1", "activityDisplayName": "Delete user",
            "activityDateTime": "2026-12-06T10:00:00.123456Z", "result": "success",
            "initiatedBy": {"user": null, "app": {"appId": "a1", "displayName": "ops-bot",
                            "servicePrincipalId": "s1", "servicePrincipalName": null}},
            "targetResources": [{"id": "u1", "displayName": null, "type": "User",
                                  "userPrincipalName": "ada@contoso.com"}]
        }))
        .unwrap();
        let event = audit.into_event();
        assert_eq!(event.actor.kind, ActorKind::App);
        assert_eq!(event.actor.name, "ops-bot");
        assert_eq!(event.targets[0].name, "ada@contoso.com");
        assert_eq!(event.destructive, Some(Destructive::Deletion));
    }
}
