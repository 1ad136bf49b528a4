//! What `iamsnap doctor` asks Azure Resource Manager, in Azure's words: the operations
//! (`Microsoft.Authorization/roleAssignments/write`) a backup reads with and a restore writes
//! with, at each scope the source covers.
//!
//! ARM lists the caller's permissions at a scope (`GET {scope}/providers/
//! Microsoft.Authorization/permissions`): one set of actions and not-actions per role assigned
//! to it there or above. An operation is permitted when one set has an action matching it
//! (`*` matching any run of characters, case ignored) and no not-action of that same set
//! matching it, which is how Azure RBAC adds roles up. Nothing is written to find out.

use iamsnap_provider::ProviderError;
use iamsnap_provider::doctor::{self, Check};
use serde_json::Value;

use crate::client::{ArmClient, RBAC_API};
use crate::read;

/// Scopes listed by name in one line before "and N more".
const NAMED: usize = 3;

/// What a backup reads a subscription with.
const SUBSCRIPTION_READS: &[&str] = &[
    "Microsoft.Resources/subscriptions/read",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleEligibilitySchedules/read",
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/denyAssignments/read",
];

/// What a restore writes a subscription with (`docs/azure-rbac.md`).
const SUBSCRIPTION_WRITES: &[&str] = &[
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/roleEligibilityScheduleRequests/write",
    "Microsoft.Authorization/roleDefinitions/write",
    "Microsoft.Authorization/roleDefinitions/delete",
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
];

/// What a backup reads a management group with.
const GROUP_READS: &[&str] = &[
    "Microsoft.Management/managementGroups/read",
    "Microsoft.Authorization/roleDefinitions/read",
    "Microsoft.Authorization/roleAssignments/read",
];

/// What a restore writes a management group with.
const GROUP_WRITES: &[&str] = &[
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Authorization/roleDefinitions/write",
    "Microsoft.Authorization/roleDefinitions/delete",
];

/// Whether an Azure action pattern (`Microsoft.Authorization/*`, `*/read`) matches an
/// operation, case ignored.
fn matches(pattern: &str, operation: &str) -> bool {
    let (pattern, operation) = (pattern.to_ascii_lowercase(), operation.to_ascii_lowercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = operation.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (n, part) in parts.iter().enumerate() {
        if n + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether one of the permission sets ARM listed permits `operation`.
fn permits(sets: &[Value], operation: &str) -> bool {
    let any = |set: &Value, field: &str| {
        set[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|p| matches(p, operation))
    };
    sets.iter()
        .any(|set| any(set, "actions") && !any(set, "notActions"))
}

/// The scopes of the source: its subscriptions, and its management groups when it reads them.
async fn scopes(
    c: &ArmClient,
    subscriptions: Option<&[String]>,
    management_groups: bool,
) -> Result<Vec<(String, bool)>, ProviderError> {
    let mut out = Vec::new();
    if management_groups {
        out.extend(
            read::management_groups(c)
                .await?
                .into_iter()
                .map(|g| (g, true)),
        );
    }
    out.extend(
        read::subscriptions(c, subscriptions)
            .await?
            .iter()
            .map(|s| (read::subscription_scope(s), false)),
    );
    Ok(out)
}

/// Each operation some scope does not permit, with those scopes.
async fn missing(
    c: &ArmClient,
    scopes: &[(String, bool)],
    wanted: fn(bool) -> &'static [&'static str],
) -> Result<Vec<(&'static str, Vec<String>)>, ProviderError> {
    let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
    for (scope, is_group) in scopes {
        let url = c.url(
            &format!("{scope}/providers/Microsoft.Authorization/permissions"),
            RBAC_API,
            &[],
        );
        let sets = c.all(url).await?;
        for operation in wanted(*is_group) {
            if permits(&sets, operation) {
                continue;
            }
            match out.iter_mut().find(|(o, _)| o == operation) {
                Some((_, at)) => at.push(scope.clone()),
                None => out.push((operation, vec![scope.clone()])),
            }
        }
    }
    Ok(out)
}

fn reads(group: bool) -> &'static [&'static str] {
    if group {
        GROUP_READS
    } else {
        SUBSCRIPTION_READS
    }
}

fn writes(group: bool) -> &'static [&'static str] {
    if group {
        GROUP_WRITES
    } else {
        SUBSCRIPTION_WRITES
    }
}

fn named(scopes: &[String]) -> String {
    let shown = scopes
        .iter()
        .take(NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match scopes.len().saturating_sub(NAMED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// Reachable, credentials, and every operation a backup reads with at every scope.
pub(crate) async fn check_reads(
    c: &ArmClient,
    first: Result<(), ProviderError>,
    subscriptions: Option<&[String]>,
    management_groups: bool,
) -> Vec<Check> {
    if first.is_err() {
        return doctor::from_healthcheck(first, "");
    }
    let mut checks = vec![
        Check::ok("reachable", "Azure Resource Manager answered"),
        Check::ok(
            "credentials",
            "the client secret was accepted (the secret's expiry is read by the Entra source of the same app registration, if one is configured)",
        ),
    ];
    let result = match scopes(c, subscriptions, management_groups).await {
        Ok(scopes) => missing(c, &scopes, reads).await.map(|m| (m, scopes.len())),
        Err(e) => Err(e),
    };
    match result {
        Err(e) => checks.push(Check::fail("reads", e.to_string())),
        Ok((missing, n)) if missing.is_empty() => checks.push(Check::ok(
            "reads",
            format!("every operation a backup reads with is permitted at {n} scope(s)"),
        )),
        Ok((missing, _)) => checks.extend(missing.iter().map(|(operation, at)| {
            Check::fail(
                format!("read {operation}"),
                format!(
                    "missing: the roles of the application do not permit {operation} at {}, which a backup reads with; assign it Reader there (docs/azure-rbac.md)",
                    named(at)
                ),
            )
        })),
    }
    checks
}

/// Every operation a restore writes with, at every scope.
pub(crate) async fn check_writes(
    c: &ArmClient,
    subscriptions: Option<&[String]>,
    management_groups: bool,
) -> Vec<Check> {
    let result = match scopes(c, subscriptions, management_groups).await {
        Ok(scopes) => missing(c, &scopes, writes).await.map(|m| (m, scopes.len())),
        Err(e) => Err(e),
    };
    match result {
        Err(e) => vec![Check::fail("restore permissions", e.to_string())],
        Ok((missing, n)) if missing.is_empty() => vec![Check::ok(
            "restore permissions",
            format!("every operation a restore writes with is permitted at {n} scope(s)"),
        )],
        Ok((missing, _)) => missing
            .iter()
            .map(|(operation, at)| {
                Check::fail(
                    format!("restore {operation}"),
                    format!(
                        "missing: the roles of the application do not permit {operation} at {}, which a restore needs; restore with an app registration assigned User Access Administrator there (docs/azure-rbac.md)",
                        named(at)
                    ),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_match_as_azure_matches_them() {
        assert!(matches("*", "Microsoft.Authorization/locks/write"));
        assert!(matches(
            "*/read",
            "Microsoft.Authorization/roleAssignments/read"
        ));
        assert!(!matches(
            "*/read",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(matches(
            "microsoft.authorization/*",
            "Microsoft.Authorization/roleDefinitions/delete"
        ));
        assert!(matches(
            "Microsoft.Authorization/*/read",
            "Microsoft.Authorization/locks/read"
        ));
        assert!(!matches(
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/x/read"
        ));
        assert!(matches(
            "Microsoft.Authorization/locks/write",
            "microsoft.authorization/LOCKS/write"
        ));
        assert!(!matches(
            "Microsoft.Authorization/locks",
            "Microsoft.Authorization/locks/write"
        ));
    }

    #[test]
    fn not_actions_take_away_from_their_own_set_only() {
        let contributor = json!({"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/*/Delete"]});
        let reader = json!({"actions": ["*/read"], "notActions": []});
        let write = "Microsoft.Authorization/roleAssignments/write";
        assert!(!permits(&[contributor.clone(), reader.clone()], write));
        assert!(permits(
            std::slice::from_ref(&contributor),
            "Microsoft.Authorization/locks/read"
        ));
        let uaa = json!({"actions": ["*/read", "Microsoft.Authorization/*"]});
        assert!(permits(&[contributor, uaa], write));
        assert!(!permits(&[reader], write));
    }
}
