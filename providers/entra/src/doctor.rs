//! What `iamsnap doctor` asks Entra ID, in Microsoft's words: the Microsoft Graph application
//! permissions (`User.Read.All`, `Group.ReadWrite.All`) a backup reads with and a restore writes
//! with.
//!
//! An app-only access token carries the application permissions granted to the app registration
//! (with admin consent) in its `roles` claim, so both are checked without a single write: the
//! token's payload is decoded (never its signature checked, never the token shown) and each
//! permission a backup or a restore needs is looked for, a broader one (`Directory.Read.All`,
//! `…ReadWrite…`) counting too, as Graph's least-privileged tables allow. The token's expiry
//! and that of the application's client secrets (`passwordCredentials`, when the app may read
//! its own registration) are reported beside.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use iamsnap_provider::doctor::{self, Check};
use iamsnap_provider::{KindInfo, ProviderError};
use serde_json::Value;

use crate::client::GraphClient;
use crate::kinds::*;
use crate::read::fetch::eq;

/// A client secret ending sooner than this is reported.
const SECRET_WARN: TimeDelta = TimeDelta::days(30);

/// One permission, what needs it, and every permission that grants it.
struct Need {
    permission: &'static str,
    what: &'static str,
    granted_by: &'static [&'static str],
}

const fn need(
    permission: &'static str,
    what: &'static str,
    granted_by: &'static [&'static str],
) -> Need {
    Need {
        permission,
        what,
        granted_by,
    }
}

/// What a backup reads with (`docs/entra.md`, permissions for backup).
const READS: &[Need] = &[
    need(
        "User.Read.All",
        "users and their managers",
        &[
            "User.Read.All",
            "User.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "GroupMember.Read.All",
        "groups, their members and owners",
        &[
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Read.All",
            "Group.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "Application.Read.All",
        "applications, service principals, their owners and app role assignments",
        &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "DelegatedPermissionGrant.Read.All",
        "delegated permission grants",
        &[
            "DelegatedPermissionGrant.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "RoleManagement.Read.Directory",
        "directory role assignments and custom roles",
        &[
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "RoleManagement.Read.Directory",
        "PIM eligibilities (or RoleEligibilitySchedule.Read.Directory)",
        &[
            "RoleEligibilitySchedule.Read.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
    ),
    need(
        "RoleManagement.Read.Directory",
        "PIM active assignments (or RoleAssignmentSchedule.Read.Directory)",
        &[
            "RoleAssignmentSchedule.Read.Directory",
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
    ),
    need(
        "RoleManagement.Read.Directory",
        "the roles' PIM settings (or RoleManagementPolicy.Read.Directory)",
        &[
            "RoleManagementPolicy.Read.Directory",
            "RoleManagementPolicy.ReadWrite.Directory",
            "RoleManagement.Read.Directory",
            "RoleManagement.Read.All",
            "RoleManagement.ReadWrite.Directory",
        ],
    ),
    need(
        "AdministrativeUnit.Read.All",
        "administrative units and their members",
        &[
            "AdministrativeUnit.Read.All",
            "AdministrativeUnit.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
    ),
    need(
        "Policy.Read.All",
        "conditional access, authentication, authorization, cross-tenant, claims-mapping and token-lifetime policies",
        &["Policy.Read.All"],
    ),
    need(
        "Agreement.Read.All",
        "terms of use agreements",
        &["Agreement.Read.All", "Agreement.ReadWrite.All"],
    ),
];

/// What `diff --who` and `incidents` read with; a backup goes on without it.
const AUDIT: Need = need(
    "AuditLog.Read.All",
    "the directory audits that say who made each change",
    &["AuditLog.Read.All"],
);

/// What a restore reads objects back with (`directoryObjects/getByIds`) when it verifies them.
const VERIFY: Need = need(
    "Directory.Read.All",
    "reading back restored assignments and grants",
    &["Directory.Read.All", "Directory.ReadWrite.All"],
);

/// What inviting guests deleted for good again needs (`--invite-guests`).
const INVITE: Need = need(
    "User.Invite.All",
    "inviting guests deleted for good again (--invite-guests)",
    &[
        "User.Invite.All",
        "User.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
);

/// The permission a restore writes `kind` with, and every permission that grants it.
fn write_permission(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    const RM: &str = "RoleManagement.ReadWrite.Directory";
    Some(match kind {
        USER | USER_MANAGER => (
            "User.ReadWrite.All",
            &["User.ReadWrite.All", "Directory.ReadWrite.All"],
        ),
        GROUP | GROUP_OWNER => (
            "Group.ReadWrite.All",
            &["Group.ReadWrite.All", "Directory.ReadWrite.All"],
        ),
        GROUP_MEMBER => (
            "Group.ReadWrite.All",
            &[
                "Group.ReadWrite.All",
                "GroupMember.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
        ),
        APPLICATION
        | SERVICE_PRINCIPAL
        | APPLICATION_OWNER
        | SERVICE_PRINCIPAL_OWNER
        | FEDERATED_CREDENTIAL => (
            "Application.ReadWrite.All",
            &["Application.ReadWrite.All", "Directory.ReadWrite.All"],
        ),
        APP_ROLE_ASSIGNMENT => (
            "AppRoleAssignment.ReadWrite.All",
            &["AppRoleAssignment.ReadWrite.All"],
        ),
        OAUTH2_PERMISSION_GRANT => (
            "DelegatedPermissionGrant.ReadWrite.All",
            &["DelegatedPermissionGrant.ReadWrite.All"],
        ),
        DIRECTORY_ROLE_ASSIGNMENT | ROLE_DEFINITION => (RM, &[RM]),
        ROLE_ELIGIBILITY => (
            "RoleEligibilitySchedule.ReadWrite.Directory",
            &["RoleEligibilitySchedule.ReadWrite.Directory", RM],
        ),
        ROLE_ASSIGNMENT_SCHEDULE => (
            "RoleAssignmentSchedule.ReadWrite.Directory",
            &["RoleAssignmentSchedule.ReadWrite.Directory", RM],
        ),
        ROLE_SETTING => (
            "RoleManagementPolicy.ReadWrite.Directory",
            &["RoleManagementPolicy.ReadWrite.Directory", RM],
        ),
        ADMINISTRATIVE_UNIT | ADMINISTRATIVE_UNIT_MEMBER => (
            "AdministrativeUnit.ReadWrite.All",
            &[
                "AdministrativeUnit.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
        ),
        CONDITIONAL_ACCESS_POLICY | NAMED_LOCATION => (
            "Policy.ReadWrite.ConditionalAccess",
            &["Policy.ReadWrite.ConditionalAccess"],
        ),
        AUTHENTICATION_STRENGTH | AUTHENTICATION_METHODS_POLICY => (
            "Policy.ReadWrite.AuthenticationMethod",
            &["Policy.ReadWrite.AuthenticationMethod"],
        ),
        AUTHORIZATION_POLICY => (
            "Policy.ReadWrite.Authorization",
            &["Policy.ReadWrite.Authorization"],
        ),
        TERMS_OF_USE => ("Agreement.ReadWrite.All", &["Agreement.ReadWrite.All"]),
        CROSS_TENANT_DEFAULT | CROSS_TENANT_PARTNER => (
            "Policy.ReadWrite.CrossTenantAccess",
            &["Policy.ReadWrite.CrossTenantAccess"],
        ),
        CLAIMS_MAPPING_POLICY | TOKEN_LIFETIME_POLICY | SERVICE_PRINCIPAL_POLICY => (
            "Policy.ReadWrite.ApplicationConfiguration",
            &["Policy.ReadWrite.ApplicationConfiguration"],
        ),
        _ => return None,
    })
}

/// What the access token says of itself.
struct Token {
    app: String,
    roles: BTreeSet<String>,
    expires: Option<DateTime<Utc>>,
}

impl Token {
    fn of(claims: &Value) -> Token {
        Token {
            app: claims["appid"].as_str().unwrap_or_default().to_string(),
            roles: claims["roles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            expires: claims["exp"]
                .as_i64()
                .and_then(|s| DateTime::from_timestamp(s, 0)),
        }
    }

    fn grants(&self, need: &[&str]) -> bool {
        need.iter().any(|p| self.roles.contains(*p))
    }
}

/// A token, or the checks that say why there is none.
async fn token(c: &GraphClient) -> Result<Option<Token>, Vec<Check>> {
    match c.token_claims().await {
        Ok(claims) => Ok(claims.as_ref().map(Token::of)),
        Err(e) => Err(doctor::from_healthcheck(Err(e), "")),
    }
}

/// Reachable, credentials (the token's and the client secrets' expiry), and every
/// application permission a backup reads with.
pub(crate) async fn check_reads(c: &GraphClient, client_id: &str) -> Vec<Check> {
    let token = match token(c).await {
        Ok(token) => token,
        Err(checks) => return checks,
    };
    let first = crate::read::healthcheck(c).await;
    let Some(token) = token else {
        // Not a JWT: Microsoft may encrypt tokens one day; the reads still tell.
        let mut checks = doctor::from_healthcheck(first, "users, groups");
        checks.push(Check::note(
            "permissions",
            "not checked: the access token is not a readable JWT, so its application permissions cannot be listed",
        ));
        return checks;
    };
    if let Err(e) = first
        && !matches!(e, ProviderError::Forbidden { .. })
    {
        return doctor::from_healthcheck(Err(e), "");
    }
    let mut checks = vec![
        Check::ok(
            "reachable",
            "the identity platform issued a token and Graph answered",
        ),
        Check::ok("credentials", credentials(&token)),
    ];
    checks.push(secret_expiry(c, client_id).await);
    let mut missing: Vec<(&str, Vec<&str>)> = Vec::new();
    for need in READS.iter().filter(|n| !token.grants(n.granted_by)) {
        match missing.iter_mut().find(|(p, _)| *p == need.permission) {
            Some((_, what)) => what.push(need.what),
            None => missing.push((need.permission, vec![need.what])),
        }
    }
    for (permission, what) in &missing {
        checks.push(Check::fail(
            format!("read {permission}"),
            format!(
                "missing: the application {} lacks the Graph application permission {permission}, which a backup reads {} with; add it under API permissions and grant admin consent (docs/entra.md)",
                token.app,
                what.join(", ")
            ),
        ));
    }
    if missing.is_empty() {
        let names: BTreeSet<&str> = READS.iter().map(|n| n.permission).collect();
        checks.push(Check::ok(
            "reads",
            format!(
                "granted: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if !token.grants(AUDIT.granted_by) {
        checks.push(Check::note(
            format!("read {}", AUDIT.permission),
            format!(
                "not granted: a backup goes on without it, but `diff --who` and `incidents` cannot read {}",
                AUDIT.what
            ),
        ));
    }
    checks
}

fn credentials(token: &Token) -> String {
    let expiry = match token.expires {
        Some(at) => format!(
            "valid until {} (iamsnap asks for a new token before it ends)",
            at.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "without an expiry".to_string(),
    };
    format!(
        "the client secret was accepted: an app-only token for {} with {} application permission(s), {expiry}",
        token.app,
        token.roles.len()
    )
}

/// The client secrets of the application, when it may read its own registration.
async fn secret_expiry(c: &GraphClient, client_id: &str) -> Check {
    let url = c.url(&format!(
        "/applications?$filter={}&$select=displayName,passwordCredentials",
        eq("appId", client_id)
    ));
    let app = match c.page(&url).await {
        Ok((apps, _)) => apps.into_iter().next(),
        Err(e) if e.is_auth() => {
            return Check::note(
                "client secret",
                "not checked: the application may not read its own registration (Application.Read.All); see its secrets' expiry under Certificates & secrets",
            );
        }
        Err(e) => return Check::note("client secret", format!("not checked: {e}")),
    };
    let Some(app) = app else {
        return Check::note(
            "client secret",
            "not checked: the application is registered in another tenant",
        );
    };
    judge_secrets(&app, Utc::now())
}

fn judge_secrets(app: &Value, now: DateTime<Utc>) -> Check {
    let name = app["displayName"].as_str().unwrap_or_default();
    let mut ends: Vec<(DateTime<Utc>, String)> = app["passwordCredentials"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let end = p["endDateTime"].as_str()?.parse::<DateTime<Utc>>().ok()?;
            let label = p["displayName"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(p["keyId"].as_str())
                .unwrap_or("unnamed")
                .to_string();
            (end > now).then_some((end, label))
        })
        .collect();
    ends.sort();
    let soon: Vec<String> = ends
        .iter()
        .filter(|(end, _)| *end - now < SECRET_WARN)
        .map(|(end, label)| {
            format!(
                "{label} ends {} ({} days)",
                end.format("%Y-%m-%d"),
                (*end - now).num_days()
            )
        })
        .collect();
    match ends.first() {
        None => Check::note(
            "client secret",
            format!("not checked: the application {name} lists no current secret"),
        ),
        Some(_) if !soon.is_empty() => Check::warn(
            "client secret",
            format!(
                "a secret of the application {name} ends within 30 days: {}; if it is the one configured for this source, add a new secret under Certificates & secrets, configure it, then delete the old one (a backup fails with AADSTS7000222 once it has ended)",
                soon.join(", ")
            ),
        ),
        Some((end, _)) => Check::ok(
            "client secret",
            format!(
                "the secrets of the application {name} end {} at the earliest",
                end.format("%Y-%m-%d")
            ),
        ),
    }
}

/// Whether the token carries every permission a restore of `kinds` writes with.
pub(crate) async fn check_writes(
    c: &GraphClient,
    kinds: &[KindInfo],
    invite_guests: bool,
) -> Vec<Check> {
    match token(c).await {
        Ok(Some(token)) => judge_writes(&token, kinds, invite_guests),
        Ok(None) => vec![Check::cannot_check_writes("entra")],
        Err(checks) => checks
            .into_iter()
            .filter(|c| c.status == iamsnap_provider::doctor::Status::Fail)
            .collect(),
    }
}

fn judge_writes(token: &Token, kinds: &[KindInfo], invite_guests: bool) -> Vec<Check> {
    // Permission → (what needs it, whether one that grants it is held).
    let mut needed: Vec<(&'static str, Vec<&'static str>, bool)> = Vec::new();
    let mut add = |permission: &'static str, what: &'static str, granted: bool| match needed
        .iter_mut()
        .find(|(p, _, _)| *p == permission)
    {
        Some((_, whats, all)) => {
            whats.push(what);
            *all &= granted;
        }
        None => needed.push((permission, vec![what], granted)),
    };
    for kind in kinds
        .iter()
        .filter(|k| k.capabilities.create || k.capabilities.update || k.capabilities.delete)
    {
        if let Some((permission, granted_by)) = write_permission(kind.name) {
            add(permission, kind.name, token.grants(granted_by));
        }
    }
    add(
        VERIFY.permission,
        VERIFY.what,
        token.grants(VERIFY.granted_by),
    );
    if invite_guests {
        add(
            INVITE.permission,
            INVITE.what,
            token.grants(INVITE.granted_by),
        );
    }
    let missing: Vec<Check> = needed
        .iter()
        .filter(|(_, _, granted)| !granted)
        .map(|(permission, whats, _)| {
            Check::fail(
                format!("restore {permission}"),
                format!(
                    "missing: the application {} lacks the Graph application permission {permission}, which a restore of {} needs; restore with an app registration granted it (with admin consent), see docs/entra.md",
                    token.app,
                    whats.join(", ")
                ),
            )
        })
        .collect();
    if missing.is_empty() {
        vec![Check::ok(
            "restore permissions",
            format!(
                "the application {} holds every Graph application permission a restore writes with",
                token.app
            ),
        )]
    } else {
        missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamsnap_provider::doctor::Status;

    fn token(roles: &[&str]) -> Token {
        Token {
            app: "app-1".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            expires: None,
        }
    }

    #[test]
    fn a_read_only_app_lacks_each_write_permission_by_name() {
        let reads: Vec<&str> = READS.iter().map(|n| n.permission).collect();
        let checks = judge_writes(&token(&reads), KINDS, false);
        assert!(checks.iter().all(|c| c.status == Status::Fail));
        let users = checks
            .iter()
            .find(|c| c.check == "restore User.ReadWrite.All")
            .expect("User.ReadWrite.All named");
        assert!(
            users.detail.contains("entra.user_manager"),
            "{}",
            users.detail
        );
        assert!(
            !checks.iter().any(|c| c.check == "restore User.Invite.All"),
            "guests are invited with --invite-guests only"
        );
        let invite = judge_writes(&token(&reads), KINDS, true);
        assert!(invite.iter().any(|c| c.check == "restore User.Invite.All"));
    }

    #[test]
    fn broader_permissions_grant_the_narrower_ones() {
        let all = [
            "Directory.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "RoleManagement.ReadWrite.Directory",
            "Policy.ReadWrite.ConditionalAccess",
            "Policy.ReadWrite.AuthenticationMethod",
            "Policy.ReadWrite.Authorization",
            "Agreement.ReadWrite.All",
            "Policy.ReadWrite.CrossTenantAccess",
            "Policy.ReadWrite.ApplicationConfiguration",
        ];
        let checks = judge_writes(&token(&all), KINDS, true);
        assert_eq!(checks.len(), 1, "{checks:?}");
        assert_eq!(checks[0].status, Status::Ok);
        let without = judge_writes(&token(&all[1..]), KINDS, false);
        let names: Vec<&str> = without.iter().map(|c| c.check.as_str()).collect();
        assert!(names.contains(&"restore Group.ReadWrite.All"), "{names:?}");
        assert!(names.contains(&"restore Directory.Read.All"), "{names:?}");
    }

    #[test]
    fn a_secret_ending_within_30_days_warns() {
        let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let app = |end: &str| {
            serde_json::json!({"displayName": "iamsnap", "passwordCredentials": [
                {"displayName": "retired", "endDateTime": "2026-01-01T00:00:00Z"},
                {"displayName": "nightly", "endDateTime": end},
            ]})
        };
        let soon = judge_secrets(&app("2026-06-20T00:00:00Z"), now);
        assert_eq!(soon.status, Status::Warn);
        assert!(
            soon.detail.contains("nightly ends 2026-06-20 (19 days)"),
            "{}",
            soon.detail
        );
        assert!(
            !soon.detail.contains("retired"),
            "an ended secret is no one's: {}",
            soon.detail
        );
        let later = judge_secrets(&app("2027-06-01T00:00:00Z"), now);
        assert_eq!(later.status, Status::Ok);
        assert!(later.detail.contains("2027-06-01"), "{}", later.detail);
    }
}
