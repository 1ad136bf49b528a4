//! What `iamsnap doctor` asks Okta, in Okta's words: the OAuth 2.0 scopes of its Management
//! API (`okta.users.read`, `okta.groups.manage`), which name the rights of the families a
//! backup reads and a restore writes.
//!
//! Reads are checked by making them: one page of one object from each family's list. Writes
//! are checked without making any: an API token acts with the admin roles of the user who
//! created it, so the token's user (`/users/me`) and its roles, its own and its groups', say
//! which families it may change; a custom role says so by its permissions
//! (`/iam/roles/{role}/permissions`).

use std::collections::BTreeSet;

use iamsnap_provider::doctor::{self, Check};
use iamsnap_provider::{KindInfo, ProviderError};
use serde_json::Value;

use crate::client::OktaClient;
use crate::kinds::*;
use crate::records::{Principal, str_at};

/// Each family's read: the scope that grants it, the list a backup pages through, and whether
/// a backup goes on without it (a family an org may lack, such as API Access Management or
/// the Identity Engine's lists, is read as empty, with a warning, when Okta refuses it).
const READS: &[Read] = &[
    Read::new("okta.users.read", "/api/v1/users", &[("limit", "1")], false),
    Read::new(
        "okta.groups.read",
        "/api/v1/groups",
        &[("limit", "1")],
        false,
    ),
    Read::new("okta.apps.read", "/api/v1/apps", &[("limit", "1")], false),
    Read::new(
        "okta.policies.read",
        "/api/v1/policies",
        &[("type", "OKTA_SIGN_ON")],
        false,
    ),
    Read::new(
        "okta.networkZones.read",
        "/api/v1/zones",
        &[("limit", "1")],
        false,
    ),
    Read::new("okta.idps.read", "/api/v1/idps", &[("limit", "1")], false),
    Read::new(
        "okta.trustedOrigins.read",
        "/api/v1/trustedOrigins",
        &[("limit", "1")],
        false,
    ),
    Read::new("okta.userTypes.read", "/api/v1/meta/types/user", &[], false),
    Read::new(
        "okta.schemas.read",
        "/api/v1/meta/schemas/group/default",
        &[],
        false,
    ),
    Read::new(
        "okta.profileMappings.read",
        "/api/v1/mappings",
        &[("limit", "1")],
        false,
    ),
    Read::new("okta.roles.read", "/api/v1/iam/roles", &[], true),
    Read::new(
        "okta.authorizationServers.read",
        "/api/v1/authorizationServers",
        &[("limit", "1")],
        true,
    ),
    Read::new(
        "okta.authenticators.read",
        "/api/v1/authenticators",
        &[],
        true,
    ),
    Read::new("okta.behaviors.read", "/api/v1/behaviors", &[], true),
    Read::new("okta.eventHooks.read", "/api/v1/eventHooks", &[], true),
    Read::new("okta.inlineHooks.read", "/api/v1/inlineHooks", &[], true),
    Read::new(
        "okta.logStreams.read",
        "/api/v1/logStreams",
        &[("limit", "1")],
        true,
    ),
    Read::new("okta.brands.read", "/api/v1/brands", &[], true),
];

/// One family's read, as in [`READS`].
struct Read {
    scope: &'static str,
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    optional: bool,
}

impl Read {
    const fn new(
        scope: &'static str,
        path: &'static str,
        query: &'static [(&'static str, &'static str)],
        optional: bool,
    ) -> Read {
        Read {
            scope,
            path,
            query,
            optional,
        }
    }
}

/// The scope a restore needs to write each kind.
fn write_scope(kind: &str) -> &'static str {
    match kind {
        USER => "okta.users.manage",
        GROUP | GROUP_MEMBERSHIP | GROUP_RULE | GROUP_OWNER => "okta.groups.manage",
        APP | APP_USER | APP_GROUP => "okta.apps.manage",
        NETWORK_ZONE => "okta.networkZones.manage",
        POLICY | POLICY_RULE => "okta.policies.manage",
        ADMIN_ROLE | CUSTOM_ROLE | RESOURCE_SET | RESOURCE_SET_BINDING => "okta.roles.manage",
        AUTH_SERVER | AUTH_SCOPE | AUTH_CLAIM | AUTH_POLICY | AUTH_RULE => {
            "okta.authorizationServers.manage"
        }
        TRUSTED_ORIGIN => "okta.trustedOrigins.manage",
        IDP | IDP_KEY => "okta.idps.manage",
        AUTHENTICATOR => "okta.authenticators.manage",
        BEHAVIOR => "okta.behaviors.manage",
        USER_TYPE => "okta.userTypes.manage",
        USER_SCHEMA | GROUP_SCHEMA | APP_USER_SCHEMA => "okta.schemas.manage",
        PROFILE_MAPPING => "okta.profileMappings.manage",
        EVENT_HOOK => "okta.eventHooks.manage",
        INLINE_HOOK => "okta.inlineHooks.manage",
        LOG_STREAM => "okta.logStreams.manage",
        EMAIL_SETTINGS | EMAIL_CUSTOMIZATION => "okta.templates.manage",
        _ => "okta.brands.manage",
    }
}

/// The write scopes a standard admin role grants, after Okta's table of administrator roles
/// and permissions. `None`: every one (Super Administrator).
fn granted_by_standard(role: &str) -> Option<&'static [&'static str]> {
    const ORG_ADMIN: &[&str] = &[
        "okta.users.manage",
        "okta.groups.manage",
        "okta.apps.manage",
        "okta.networkZones.manage",
        "okta.authorizationServers.manage",
        "okta.trustedOrigins.manage",
        "okta.idps.manage",
        "okta.authenticators.manage",
        "okta.behaviors.manage",
        "okta.userTypes.manage",
        "okta.schemas.manage",
        "okta.profileMappings.manage",
        "okta.eventHooks.manage",
        "okta.inlineHooks.manage",
        "okta.logStreams.manage",
        "okta.brands.manage",
        "okta.templates.manage",
    ];
    Some(match role {
        "SUPER_ADMIN" => return None,
        // Only a Super Administrator assigns admin roles, manages custom roles and writes
        // every policy type.
        "ORG_ADMIN" => ORG_ADMIN,
        "USER_ADMIN" => &["okta.users.manage", "okta.groups.manage"],
        "APP_ADMIN" => &["okta.apps.manage"],
        "API_ACCESS_MANAGEMENT_ADMIN" => &["okta.authorizationServers.manage"],
        // READ_ONLY_ADMIN, REPORT_ADMIN, HELP_DESK_ADMIN, GROUP_MEMBERSHIP_ADMIN, MOBILE_ADMIN:
        // none changes a whole family a restore writes.
        _ => &[],
    })
}

/// The write scope a custom role's permission grants (custom roles name their permissions
/// apart from the scopes for a few families).
fn granted_by_permission(permission: &str) -> Option<&'static str> {
    Some(match permission {
        "okta.users.manage" => "okta.users.manage",
        "okta.groups.manage" => "okta.groups.manage",
        "okta.apps.manage" => "okta.apps.manage",
        "okta.policies.manage" => "okta.policies.manage",
        "okta.authzServers.manage" => "okta.authorizationServers.manage",
        "okta.identityProviders.manage" => "okta.idps.manage",
        "okta.customizations.manage" => "okta.brands.manage",
        "okta.templates.manage" => "okta.templates.manage",
        _ => return None,
    })
}

/// Reachable, credentials, and every family's read.
pub(crate) async fn check_reads(c: &OktaClient) -> Vec<Check> {
    // The first read answers whether Okta is there and takes the token at all.
    let first = super::read::healthcheck(c).await;
    if first.is_err() {
        return doctor::from_healthcheck(first, "");
    }
    let mut checks = vec![
        Check::ok("reachable", "the org answered"),
        Check::ok(
            "credentials",
            "the API token was accepted; Okta expires an API token after 30 days unused, which a nightly backup never lets happen",
        ),
    ];
    let mut permitted = Vec::new();
    for read in READS {
        let (scope, optional) = (read.scope, read.optional);
        match c.get(&c.url(read.path, read.query)).await {
            Ok(_) => permitted.push(scope),
            Err(e) if e.is_auth() && optional => checks.push(Check::warn(
                format!("read {scope}"),
                format!("{e}; a backup goes on without this family (it logs a warning), so the org lacks the feature or the token's administrator a role granting {scope} (docs/okta.md)"),
            )),
            Err(e) if e.is_auth() => checks.push(Check::fail(
                format!("read {scope}"),
                format!("{e}; a backup needs {scope}: give the token's administrator a role that grants it, such as Read-only Administrator (docs/okta.md)"),
            )),
            Err(e) => checks.push(Check::fail(format!("read {scope}"), e.to_string())),
        }
    }
    if !permitted.is_empty() {
        checks.push(Check::ok(
            "reads",
            format!("permitted: {}", permitted.join(", ")),
        ));
    }
    checks
}

/// Whether the token's roles grant every scope a restore of `kinds` writes with.
pub(crate) async fn check_writes(c: &OktaClient, kinds: &[KindInfo]) -> Vec<Check> {
    match granted(c).await {
        Ok(None) => vec![Check::note(
            "restore permissions",
            "cannot check without writing: the token acts as no user whose roles could be read",
        )],
        Ok(Some(grant)) => judge(&grant, kinds),
        Err(e) => vec![Check::fail("restore permissions", e.to_string())],
    }
}

/// What the token's roles grant.
#[derive(Debug, Default)]
struct Grant {
    /// The token's user.
    login: String,
    /// Every role held, directly or through a group, by type or custom label.
    roles: BTreeSet<String>,
    /// `None`: everything (a Super Administrator).
    scopes: Option<BTreeSet<&'static str>>,
}

async fn granted(c: &OktaClient) -> Result<Option<Grant>, ProviderError> {
    let Some(me) = c.get_opt(&c.url("/api/v1/users/me", &[])).await? else {
        return Ok(None);
    };
    let (id, login) = (str_at(&me, "/id"), str_at(&me, "/profile/login"));
    if id.is_empty() {
        return Ok(None);
    }
    let mut grant = Grant {
        login: login.to_string(),
        scopes: Some(BTreeSet::new()),
        ..Grant::default()
    };
    let mut holders = vec![Principal::User {
        id: id.to_string(),
        login: login.to_string(),
    }];
    let groups = c.url(&format!("/api/v1/users/{id}/groups"), &[("limit", "200")]);
    for g in c.all(groups).await? {
        holders.push(Principal::Group {
            id: str_at(&g, "/id").to_string(),
            name: str_at(&g, "/profile/name").to_string(),
        });
    }
    for holder in &holders {
        let roles = c.get(&c.url(&holder.path(), &[])).await?;
        for role in roles.as_array().into_iter().flatten() {
            add_role(c, &mut grant, role).await?;
        }
    }
    Ok(Some(grant))
}

async fn add_role(c: &OktaClient, grant: &mut Grant, role: &Value) -> Result<(), ProviderError> {
    let role_type = str_at(role, "/type");
    if role_type == "CUSTOM" {
        grant
            .roles
            .insert(format!("custom role {}", str_at(role, "/label")));
        let permissions = crate::read::iam::permissions(c, str_at(role, "/role")).await?;
        if let Some(scopes) = &mut grant.scopes {
            scopes.extend(
                permissions
                    .iter()
                    .filter_map(|p| granted_by_permission(str_at(p, "/label"))),
            );
        }
        return Ok(());
    }
    grant.roles.insert(role_type.to_string());
    match (granted_by_standard(role_type), &mut grant.scopes) {
        (None, scopes) => *scopes = None,
        (Some(more), Some(scopes)) => scopes.extend(more.iter().copied()),
        (Some(_), None) => {}
    }
    Ok(())
}

/// One line per scope a restore needs and the roles do not grant, or one line saying all are.
fn judge(grant: &Grant, kinds: &[KindInfo]) -> Vec<Check> {
    let roles = if grant.roles.is_empty() {
        "no admin role".to_string()
    } else {
        grant.roles.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let Some(scopes) = &grant.scopes else {
        return vec![Check::ok(
            "restore permissions",
            format!(
                "the token acts as {}, a Super Administrator: every write a restore makes is permitted",
                grant.login
            ),
        )];
    };
    let mut needed: Vec<(&'static str, Vec<&str>)> = Vec::new();
    for kind in kinds
        .iter()
        .filter(|k| k.capabilities.create || k.capabilities.update)
    {
        let scope = write_scope(kind.name);
        match needed.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, kinds)) => kinds.push(kind.name),
            None => needed.push((scope, vec![kind.name])),
        }
    }
    let missing: Vec<Check> = needed
        .iter()
        .filter(|(scope, _)| !scopes.contains(scope))
        .map(|(scope, kinds)| {
            Check::fail(
                format!("restore {scope}"),
                format!(
                    "missing: the token acts as {}, whose roles ({roles}) do not grant {scope}, which a restore of {} needs; restore with a token of a Super Administrator, or of an administrator whose role grants it",
                    grant.login,
                    kinds.join(", ")
                ),
            )
        })
        .collect();
    if missing.is_empty() {
        vec![Check::ok(
            "restore permissions",
            format!(
                "the token acts as {}, whose roles ({roles}) grant every write a restore makes",
                grant.login
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

    fn grant(roles: &[&str]) -> Grant {
        let mut grant = Grant {
            login: "ops@example.com".into(),
            scopes: Some(BTreeSet::new()),
            ..Grant::default()
        };
        for role in roles {
            grant.roles.insert(role.to_string());
            match (granted_by_standard(role), &mut grant.scopes) {
                (None, scopes) => *scopes = None,
                (Some(more), Some(scopes)) => scopes.extend(more.iter().copied()),
                (Some(_), None) => {}
            }
        }
        grant
    }

    #[test]
    fn a_read_only_administrator_lacks_every_write_scope() {
        let checks = judge(&grant(&["READ_ONLY_ADMIN"]), KINDS);
        assert!(checks.iter().all(|c| c.status == Status::Fail));
        let users = checks
            .iter()
            .find(|c| c.check == "restore okta.users.manage")
            .expect("okta.users.manage named");
        assert!(users.detail.contains("READ_ONLY_ADMIN"), "{}", users.detail);
        assert!(users.detail.contains("okta.user"), "{}", users.detail);
    }

    #[test]
    fn a_super_administrator_may_make_every_write_and_an_org_administrator_all_but_roles() {
        let checks = judge(&grant(&["READ_ONLY_ADMIN", "SUPER_ADMIN"]), KINDS);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Ok);
        let org = judge(&grant(&["ORG_ADMIN"]), KINDS);
        let names: Vec<&str> = org.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            ["restore okta.policies.manage", "restore okta.roles.manage"]
        );
    }
}
