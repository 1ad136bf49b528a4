//! What `iamsnap doctor` asks Google Cloud, in Google's words: the IAM permissions
//! (`resourcemanager.projects.getIamPolicy`, `iam.roles.create`) a backup reads with and a
//! restore writes with, on each resource of the source.
//!
//! Resource Manager's `testIamPermissions` answers, for a resource, which of the permissions
//! asked the caller holds there, through every binding that reaches it (the organization's and
//! the folders' included), without changing anything. Each organization, folder and project a
//! backup reads is asked for the permissions of its kind. The key in use is looked up too
//! (`serviceAccounts.keys.get`): a key an organization policy makes expire
//! (`validBeforeTime`) is reported before it ends.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures::{StreamExt, stream};
use iamsnap_provider::ProviderError;
use iamsnap_provider::doctor::{self, Check};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Client;
use crate::read::{self, Scope};

/// A key ending sooner than this is reported.
const KEY_WARN: TimeDelta = TimeDelta::days(30);

/// Resources listed by name in one line before "and N more".
const NAMED: usize = 3;

/// What a backup reads each kind of resource with.
fn reads(resource: &str) -> &'static [&'static str] {
    if resource.starts_with("organizations/") {
        &[
            "resourcemanager.organizations.get",
            "resourcemanager.organizations.getIamPolicy",
            "resourcemanager.folders.list",
            "resourcemanager.projects.list",
            "iam.roles.list",
        ]
    } else if resource.starts_with("folders/") {
        &[
            "resourcemanager.folders.getIamPolicy",
            "resourcemanager.folders.list",
            "resourcemanager.projects.list",
        ]
    } else {
        &[
            "resourcemanager.projects.get",
            "resourcemanager.projects.getIamPolicy",
            "iam.serviceAccounts.list",
            "iam.roles.list",
        ]
    }
}

/// What a restore writes each kind of resource with (`docs/gcp-iam.md`).
fn writes(resource: &str) -> &'static [&'static str] {
    if resource.starts_with("organizations/") {
        &[
            "resourcemanager.organizations.setIamPolicy",
            "iam.roles.create",
            "iam.roles.update",
            "iam.roles.undelete",
            "iam.roles.delete",
        ]
    } else if resource.starts_with("folders/") {
        &["resourcemanager.folders.setIamPolicy"]
    } else {
        &[
            "resourcemanager.projects.setIamPolicy",
            "iam.serviceAccounts.create",
            "iam.serviceAccounts.update",
            "iam.serviceAccounts.delete",
            "iam.serviceAccounts.undelete",
            "iam.serviceAccounts.enable",
            "iam.serviceAccounts.disable",
            "iam.roles.create",
            "iam.roles.update",
            "iam.roles.undelete",
            "iam.roles.delete",
        ]
    }
}

/// Reachable, credentials (the key's expiry), and every permission a backup reads with on
/// every resource it reads.
pub(crate) async fn check_reads(
    c: &Client,
    scope: &Scope,
    first: Result<(), ProviderError>,
    fan_out: usize,
) -> Vec<Check> {
    if first.is_err() {
        return doctor::from_healthcheck(first, "");
    }
    let (email, _) = c.key_id();
    let mut checks = vec![
        Check::ok("reachable", "Resource Manager answered"),
        Check::ok("credentials", format!("the key of {email} was accepted")),
        key_expiry(c).await,
    ];
    let resources = match read::resources(c, scope).await {
        Ok(r) => r,
        Err(e) => {
            checks.push(Check::fail("reads", format!("listing the resources: {e}")));
            return checks;
        }
    };
    match missing(c, &resources, reads, fan_out).await {
        Err(e) => checks.push(Check::fail("reads", e.to_string())),
        Ok(missing) if missing.is_empty() => checks.push(Check::ok(
            "reads",
            format!(
                "{email} holds every permission a backup reads with on {} resource(s)",
                resources.len()
            ),
        )),
        Ok(missing) => checks.extend(missing.iter().map(|(permission, on)| {
            Check::fail(
                format!("read {permission}"),
                format!(
                    "missing: {email} lacks {permission} on {}, which a backup reads with; grant it roles/iam.securityReviewer and roles/browser on the organization or the projects (docs/gcp-iam.md)",
                    named(on)
                ),
            )
        })),
    }
    checks
}

/// Every permission a restore writes with, on every resource of the source.
pub(crate) async fn check_writes(c: &Client, scope: &Scope, fan_out: usize) -> Vec<Check> {
    let (email, _) = c.key_id();
    let result = match read::resources(c, scope).await {
        Ok(resources) => missing(c, &resources, writes, fan_out)
            .await
            .map(|m| (m, resources.len())),
        Err(e) => Err(e),
    };
    match result {
        Err(e) => vec![Check::fail("restore permissions", e.to_string())],
        Ok((missing, n)) if missing.is_empty() => vec![Check::ok(
            "restore permissions",
            format!("{email} holds every permission a restore writes with on {n} resource(s)"),
        )],
        Ok((missing, _)) => missing
            .iter()
            .map(|(permission, on)| {
                Check::fail(
                    format!("restore {permission}"),
                    format!(
                        "missing: {email} lacks {permission} on {}, which a restore needs; restore with a key of a service account granted it (docs/gcp-iam.md lists the roles)",
                        named(on)
                    ),
                )
            })
            .collect(),
    }
}

/// Each permission of `wanted` some resource's `testIamPermissions` left out, with the
/// resources where it did, in the order of `wanted`'s first resource.
async fn missing(
    c: &Client,
    resources: &[String],
    wanted: fn(&str) -> &'static [&'static str],
    fan_out: usize,
) -> Result<Vec<(&'static str, Vec<String>)>, ProviderError> {
    let answers: Vec<Result<(String, Vec<&'static str>), ProviderError>> =
        stream::iter(resources.iter().cloned().map(|resource| async move {
            let asked = wanted(&resource);
            let body = json!({ "permissions": asked });
            let url = c.url(&format!("{resource}:testIamPermissions"));
            let answer = c.send(Method::POST, &url, Some(&body)).await?;
            let held: Vec<&str> = answer["permissions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let lacking = asked
                .iter()
                .copied()
                .filter(|p| !held.contains(p))
                .collect();
            Ok((resource, lacking))
        }))
        .buffered(fan_out.max(1))
        .collect()
        .await;
    let mut order: Vec<&'static str> = Vec::new();
    let mut by_permission: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for answer in answers {
        let (resource, lacking) = answer?;
        for permission in lacking {
            if !by_permission.contains_key(permission) {
                order.push(permission);
            }
            by_permission
                .entry(permission)
                .or_default()
                .push(resource.clone());
        }
    }
    Ok(order
        .into_iter()
        .map(|p| (p, by_permission.remove(p).unwrap_or_default()))
        .collect())
}

/// `organizations/1, projects/a and 4 more`.
fn named(resources: &[String]) -> String {
    let shown = resources
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match resources.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The key in use, when the service account may read its own keys.
async fn key_expiry(c: &Client) -> Check {
    let (email, id) = c.key_id();
    if id.is_empty() {
        return Check::note(
            "key expiry",
            "not checked: the credentials are not a service account key",
        );
    }
    let url = c.iam_url(&format!("projects/-/serviceAccounts/{email}/keys/{id}"));
    match c.send(Method::GET, &url, None).await {
        Ok(key) => judge_key(&key, id, Utc::now()),
        Err(e) if e.is_auth() => Check::note(
            "key expiry",
            format!(
                "not checked: {email} may not read its own key (iam.serviceAccountKeys.get); see `gcloud iam service-accounts keys list --iam-account {email}`"
            ),
        ),
        Err(e) => Check::note("key expiry", format!("not checked: {e}")),
    }
}

fn judge_key(key: &Value, id: &str, now: DateTime<Utc>) -> Check {
    let Some(end) = key["validBeforeTime"]
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        .filter(|end| end.format("%Y").to_string() != "9999")
    else {
        return Check::ok("key expiry", format!("the key {id} does not expire"));
    };
    let left = end - now;
    let when = format!(
        "{} ({} days)",
        end.format("%Y-%m-%d %H:%M UTC"),
        left.num_days()
    );
    if left < KEY_WARN {
        Check::warn(
            "key expiry",
            format!(
                "the key {id} ends {when}: create a new key, configure it, then delete this one (`gcloud iam service-accounts keys create`)"
            ),
        )
    } else {
        Check::ok("key expiry", format!("the key {id} ends {when}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamsnap_provider::doctor::Status;

    #[test]
    fn a_key_ending_within_30_days_warns_and_one_that_never_ends_passes() {
        let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let key = |end: &str| json!({ "validBeforeTime": end });
        let soon = judge_key(&key("2026-06-08T00:00:00Z"), "k1", now);
        assert_eq!(soon.status, Status::Warn);
        assert!(soon.detail.contains("(7 days)"), "{}", soon.detail);
        assert_eq!(
            judge_key(&key("9999-12-31T23:59:59Z"), "k1", now).status,
            Status::Ok
        );
        assert_eq!(
            judge_key(&key("2027-06-01T00:00:00Z"), "k1", now).status,
            Status::Ok
        );
    }

    #[test]
    fn long_lists_of_resources_are_cut() {
        let five: Vec<String> = (1..=5).map(|n| format!("projects/p{n}")).collect();
        assert_eq!(
            named(&five),
            "projects/p1, projects/p2, projects/p3 and 2 more"
        );
        assert_eq!(named(&five[..1]), "projects/p1");
    }

    #[test]
    fn each_kind_of_resource_is_asked_for_its_own_permissions() {
        assert!(writes("folders/1").contains(&"resourcemanager.folders.setIamPolicy"));
        assert!(writes("projects/p").contains(&"iam.serviceAccounts.undelete"));
        assert!(reads("organizations/1").contains(&"iam.roles.list"));
        assert!(!reads("folders/1").iter().any(|p| p.starts_with("iam.")));
    }
}
