//! Okta JSON → [`Record`]: natural keys, volatile fields dropped, references as [`Ref`]s.
//!
//! Keys are what survives re-creation: a user's login, a group's name, an app's label,
//! `TYPE|name` for policies, and `a|b` pairs for relationships (`group name|user login`).

pub(crate) mod authz;
pub(crate) mod brands;
pub(crate) mod hooks;
pub(crate) mod iam;
pub(crate) mod idps;
pub(crate) mod profiles;
pub(crate) mod signin;

use iamsnap_provider::canonical::drop_fields;
use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use crate::kinds::*;

/// Fields that change without anyone changing the object, or that only Okta can set.
const COMMON_VOLATILE: &[&str] = &[
    "id",
    "_links",
    "_embedded",
    "created",
    "lastUpdated",
    "createdBy",
    "lastUpdatedBy",
];

pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn required<'a>(v: &'a Value, pointer: &str, kind: &str) -> Result<&'a str, ProviderError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ProviderError::Decode {
            url: format!("okta {kind}"),
            message: format!("an object has no {pointer}: {}", excerpt(v)),
        })
}

fn excerpt(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}

fn cleaned(mut v: Value, extra: &[&str]) -> Value {
    drop_fields(&mut v, COMMON_VOLATILE);
    drop_fields(&mut v, extra);
    v
}

/// Ids in an array at `pointer`, as refs of `kind` with relation `rel`.
fn refs_at(v: &Value, pointer: &str, rel: &str, kind: &str) -> Vec<Ref> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(|id| Ref::new(rel, kind, id))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn user(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", USER)?.to_string();
    let login = required(&v, "/profile/login", USER)?.to_string();
    let mut refs = Vec::new();
    if let Some(t) = v.pointer("/type/id").and_then(Value::as_str) {
        refs.push(Ref::new("type", USER_TYPE, t));
    }
    let attrs = cleaned(
        v,
        &[
            "activated",
            "statusChanged",
            "lastLogin",
            "passwordChanged",
            "transitioningToStatus",
            "credentials.password",
            "credentials.recovery_question",
            "credentials.emails",
        ],
    );
    Ok(Record::new(USER, id, login, attrs, refs))
}

pub(crate) fn group(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", GROUP)?.to_string();
    let name = required(&v, "/profile/name", GROUP)?.to_string();
    let mut refs = Vec::new();
    if let Some(app) = v.pointer("/source/id").and_then(Value::as_str) {
        refs.push(Ref::new("source", APP, app));
    }
    let attrs = cleaned(v, &["lastMembershipUpdated"]);
    Ok(Record::new(GROUP, id, name, attrs, refs))
}

/// The pieces of a group needed to read its members and roles.
#[derive(Debug, Clone)]
pub(crate) struct GroupHead {
    pub id: String,
    pub name: String,
    pub group_type: String,
}

impl GroupHead {
    pub(crate) fn of(v: &Value) -> GroupHead {
        GroupHead {
            id: str_at(v, "/id").to_string(),
            name: str_at(v, "/profile/name").to_string(),
            group_type: str_at(v, "/type").to_string(),
        }
    }
}

/// A group member as the members list returns it, reduced to what its membership record
/// needs: the rest of each user object is skipped while parsing, not built and then dropped.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Member {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub profile: MemberProfile,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct MemberProfile {
    #[serde(default)]
    pub login: String,
}

impl Member {
    pub(crate) fn of(user: &Value) -> Member {
        Member {
            id: str_at(user, "/id").to_string(),
            profile: MemberProfile {
                login: str_at(user, "/profile/login").to_string(),
            },
        }
    }
}

pub(crate) fn membership(group: &GroupHead, member: &Member) -> Result<Record, ProviderError> {
    let missing = |pointer: &str| ProviderError::Decode {
        url: format!("okta {GROUP_MEMBERSHIP}"),
        message: format!(
            "a member of group {} has no {pointer} (id {:?})",
            group.name, member.id
        ),
    };
    if member.id.is_empty() {
        return Err(missing("/id"));
    }
    if member.profile.login.is_empty() {
        return Err(missing("/profile/login"));
    }
    let (user_id, login) = (&member.id, &member.profile.login);
    Ok(Record::new(
        GROUP_MEMBERSHIP,
        format!("{}:{user_id}", group.id),
        format!("{}|{login}", group.name),
        json!({"group": group.name, "user": login}),
        vec![
            Ref::new("group", GROUP, &group.id),
            Ref::new("user", USER, user_id),
        ],
    ))
}

pub(crate) fn group_rule(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", GROUP_RULE)?.to_string();
    let name = required(&v, "/name", GROUP_RULE)?.to_string();
    let mut refs = refs_at(&v, "/actions/assignUserToGroups/groupIds", "assigns", GROUP);
    refs.extend(refs_at(
        &v,
        "/conditions/people/groups/exclude",
        "excludes",
        GROUP,
    ));
    refs.extend(refs_at(
        &v,
        "/conditions/people/users/exclude",
        "excludes",
        USER,
    ));
    let attrs = cleaned(v, &[]);
    Ok(Record::new(GROUP_RULE, id, name, attrs, refs))
}

pub(crate) fn app(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", APP)?.to_string();
    let label = required(&v, "/label", APP)?.to_string();
    // Every app is bound to one app sign-in policy, named only by a link.
    let access_policy = v
        .pointer("/_links/accessPolicy/href")
        .and_then(Value::as_str)
        .and_then(|href| href.rsplit('/').next())
        .filter(|id| !id.is_empty())
        .map(str::to_string);
    let mut attrs = cleaned(
        v,
        &[
            "credentials.oauthClient.client_secret",
            "credentials.oauthClient.client_id",
            "credentials.password",
            "credentials.signing.kid",
            "credentials.signing.lastRotated",
            "credentials.signing.nextRotation",
        ],
    );
    let mut refs = Vec::new();
    if let Some(policy) = access_policy {
        refs.push(Ref::new("access_policy", POLICY, &policy));
        attrs["accessPolicy"] = Value::String(policy);
    }
    Ok(Record::new(APP, id, label, attrs, refs))
}

/// The pieces of an app needed to read its assignments.
#[derive(Debug, Clone)]
pub(crate) struct AppHead {
    pub id: String,
    pub label: String,
}

/// A direct (`USER`-scoped) assignment; group-derived ones are implied by the group's.
pub(crate) fn app_user(app: &AppHead, v: Value) -> Result<Option<Record>, ProviderError> {
    if str_at(&v, "/scope") != "USER" {
        return Ok(None);
    }
    let user_id = required(&v, "/id", APP_USER)?.to_string();
    let login = required(&v, "/_embedded/user/profile/login", APP_USER)?.to_string();
    let attrs = cleaned(
        v,
        &[
            "statusChanged",
            "passwordChanged",
            "syncState",
            "lastSync",
            "status",
            "externalId",
            "credentials.password",
        ],
    );
    Ok(Some(Record::new(
        APP_USER,
        format!("{}:{user_id}", app.id),
        format!("{}|{login}", app.label),
        attrs,
        vec![
            Ref::new("app", APP, &app.id),
            Ref::new("user", USER, user_id),
        ],
    )))
}

pub(crate) fn app_group(app: &AppHead, v: Value) -> Result<Record, ProviderError> {
    let group_id = required(&v, "/id", APP_GROUP)?.to_string();
    let name = required(&v, "/_embedded/group/profile/name", APP_GROUP)?.to_string();
    let attrs = cleaned(v, &[]);
    Ok(Record::new(
        APP_GROUP,
        format!("{}:{group_id}", app.id),
        format!("{}|{name}", app.label),
        attrs,
        vec![
            Ref::new("app", APP, &app.id),
            Ref::new("group", GROUP, group_id),
        ],
    ))
}

/// Group and user references in a policy's or rule's `conditions.people`.
fn people_refs(v: &Value) -> Vec<Ref> {
    let mut refs = Vec::new();
    for (list, rel) in [("include", "includes"), ("exclude", "excludes")] {
        refs.extend(refs_at(
            v,
            &format!("/conditions/people/groups/{list}"),
            rel,
            GROUP,
        ));
        refs.extend(refs_at(
            v,
            &format!("/conditions/people/users/{list}"),
            rel,
            USER,
        ));
        refs.extend(refs_at(
            v,
            &format!("/conditions/network/{list}"),
            rel,
            NETWORK_ZONE,
        ));
        refs.extend(refs_at(
            v,
            &format!("/conditions/userType/{list}"),
            rel,
            USER_TYPE,
        ));
    }
    refs
}

pub(crate) fn policy_key(v: &Value) -> String {
    format!("{}|{}", str_at(v, "/type"), str_at(v, "/name"))
}

pub(crate) fn policy(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", POLICY)?.to_string();
    required(&v, "/name", POLICY)?;
    let key = policy_key(&v);
    let refs = people_refs(&v);
    let attrs = cleaned(v, &[]);
    Ok(Record::new(POLICY, id, key, attrs, refs))
}

pub(crate) fn policy_rule(
    policy_id: &str,
    policy_key: &str,
    v: Value,
) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", POLICY_RULE)?.to_string();
    let name = required(&v, "/name", POLICY_RULE)?.to_string();
    let mut refs = people_refs(&v);
    refs.push(Ref::new("policy", POLICY, policy_id));
    // IdP discovery rules route people to identity providers by id (Okta's own has none).
    for provider in v
        .pointer("/actions/idp/providers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(idp) = provider.get("id").and_then(Value::as_str) {
            refs.push(Ref::new("idp", IDP, idp));
        }
    }
    // App sign-in rules may name the authenticators they require by id.
    for id in signin::constraint_authenticators(&v) {
        refs.push(Ref::new("authenticator", AUTHENTICATOR, id));
    }
    let attrs = cleaned(v, &[]);
    Ok(Record::new(
        POLICY_RULE,
        id,
        format!("{policy_key}|{name}"),
        attrs,
        refs,
    ))
}

pub(crate) fn zone(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", NETWORK_ZONE)?.to_string();
    let name = required(&v, "/name", NETWORK_ZONE)?.to_string();
    let attrs = cleaned(v, &[]);
    Ok(Record::new(NETWORK_ZONE, id, name, attrs, Vec::new()))
}

/// A trusted origin, keyed by its origin URL (unique in an org; names need not be).
pub(crate) fn trusted_origin(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", TRUSTED_ORIGIN)?.to_string();
    let origin = required(&v, "/origin", TRUSTED_ORIGIN)?.to_string();
    let attrs = cleaned(v, &[]);
    Ok(Record::new(TRUSTED_ORIGIN, id, origin, attrs, Vec::new()))
}

pub(crate) fn user_type(v: Value) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", USER_TYPE)?.to_string();
    let name = required(&v, "/name", USER_TYPE)?.to_string();
    let attrs = cleaned(v, &[]);
    Ok(Record::new(USER_TYPE, id, name, attrs, Vec::new()))
}

/// The profile schema of user type `user_type` (as the API returns the type): keyed by the
/// type's name, its id the schema's.
pub(crate) fn user_schema(user_type: &Value, v: Value) -> Record {
    let type_id = str_at(user_type, "/id");
    let id = str_at(&v, "/id")
        .rsplit('/')
        .next()
        .filter(|id| !id.is_empty())
        .unwrap_or(type_id)
        .to_string();
    let attrs = cleaned(v, &["$schema"]);
    Record::new(
        USER_SCHEMA,
        id,
        str_at(user_type, "/name"),
        attrs,
        vec![Ref::new("type", USER_TYPE, type_id)],
    )
}

/// The path of the profile schema of a user type (as the API returns the type): its
/// `_links.schema`, or the default schema's for a type without one.
pub(crate) fn schema_path(user_type: &Value) -> String {
    let id = user_type
        .pointer("/_links/schema/href")
        .and_then(Value::as_str)
        .and_then(|href| href.rsplit('/').next())
        .unwrap_or("default");
    format!("/api/v1/meta/schemas/user/{id}")
}

/// Who holds a role: a user (by login) or a group (by name).
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    User { id: String, login: String },
    Group { id: String, name: String },
}

impl Principal {
    pub(crate) fn key(&self) -> String {
        match self {
            Principal::User { login, .. } => format!("user:{login}"),
            Principal::Group { name, .. } => format!("group:{name}"),
        }
    }

    pub(crate) fn path(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("/api/v1/users/{id}/roles"),
            Principal::Group { id, .. } => format!("/api/v1/groups/{id}/roles"),
        }
    }

    fn as_ref(&self) -> Ref {
        match self {
            Principal::User { id, .. } => Ref::new("assignee", USER, id),
            Principal::Group { id, .. } => Ref::new("assignee", GROUP, id),
        }
    }
}

/// A role assignment key: `user:LOGIN|TYPE` or `group:NAME|TYPE`; a custom role's
/// `…|CUSTOM:ROLE LABEL@RESOURCE SET LABEL` (`set_label`, the label of its `resource-set`:
/// one role may be bound to a principal over several sets).
pub(crate) fn role_key(principal: &Principal, role: &Value, set_label: &str) -> String {
    let role_type = str_at(role, "/type");
    if role_type == "CUSTOM" {
        format!(
            "{}|CUSTOM:{}@{set_label}",
            principal.key(),
            str_at(role, "/label")
        )
    } else {
        format!("{}|{role_type}", principal.key())
    }
}

/// A role assignment with its targets: groups by name, whole catalog apps by key name, app
/// instances by the name the target list gives them; ids in refs. A custom role's
/// assignment names its role and resource set (`set_label`) by refs.
pub(crate) fn admin_role(
    principal: &Principal,
    role: &Value,
    set_label: &str,
    target_groups: &[Value],
    target_apps: &[Value],
) -> Result<Record, ProviderError> {
    let id = required(role, "/id", ADMIN_ROLE)?.to_string();
    let mut refs = vec![principal.as_ref()];
    let custom = str_at(role, "/type") == "CUSTOM";
    if custom {
        refs.push(Ref::new("role", CUSTOM_ROLE, str_at(role, "/role")));
        refs.push(Ref::new(
            "resource_set",
            RESOURCE_SET,
            str_at(role, "/resource-set"),
        ));
    }
    let mut groups: Vec<String> = Vec::new();
    for g in target_groups {
        refs.push(Ref::new("target", GROUP, str_at(g, "/id")));
        groups.push(str_at(g, "/profile/name").to_string());
    }
    // An app target is a whole catalog app (every instance of it, by the app's key name) or
    // one app instance (an `id`, kept as a ref; its `name` is the one the list shows).
    let mut apps: Vec<Value> = Vec::new();
    for a in target_apps {
        match a.get("id").and_then(Value::as_str) {
            Some(app_id) => {
                refs.push(Ref::new("target", APP, app_id));
                apps.push(json!({"instance": str_at(a, "/name")}));
            }
            None => apps.push(json!({"catalog": str_at(a, "/name")})),
        }
    }
    groups.sort();
    apps.sort_by_key(|a| a.to_string());
    let mut attrs = json!({
        "type": str_at(role, "/type"),
        "label": str_at(role, "/label"),
        "status": str_at(role, "/status"),
        "assignmentType": str_at(role, "/assignmentType"),
        "targets": {"groups": groups, "apps": apps},
    });
    if custom {
        attrs["resourceSet"] = json!(set_label);
    }
    Ok(Record::new(
        ADMIN_ROLE,
        id,
        role_key(principal, role, set_label),
        attrs,
        refs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_records_keep_what_recreates_them_and_drop_volatile_fields() {
        let v = json!({
            "id": "00u1", "status": "ACTIVE", "created": "x", "activated": "x", "statusChanged": "x",
            "lastLogin": "x", "lastUpdated": "x", "passwordChanged": "x", "type": {"id": "oty1"},
            "profile": {"login": "ada@example.com", "firstName": "Ada", "badgeId": "B1"},
            "credentials": {"password": {}, "emails": [], "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": "x"}},
        });
        let r = user(v).unwrap();
        assert_eq!(r.key, "ada@example.com");
        assert_eq!(
            r.attrs,
            json!({"status": "ACTIVE", "type": {"id": "oty1"},
                   "profile": {"login": "ada@example.com", "firstName": "Ada", "badgeId": "B1"},
                   "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}}})
        );
        assert_eq!(r.refs, vec![Ref::new("type", USER_TYPE, "oty1")]);
    }

    #[test]
    fn app_records_never_hold_secrets() {
        let v = json!({"id": "0oa1", "label": "Web", "name": "oidc_client",
            "credentials": {"oauthClient": {"client_id": "0oa1", "client_secret": "s3cret", "autoKeyRotation": true}}});
        let r = app(v).unwrap();
        assert!(!r.to_canonical_json().contains("s3cret"));
        assert_eq!(
            r.attrs["credentials"]["oauthClient"],
            json!({"autoKeyRotation": true})
        );
    }

    #[test]
    fn policy_rules_reference_groups_users_zones_and_their_policy() {
        let v = json!({"id": "0pr1", "name": "R", "type": "SIGN_ON",
            "conditions": {"people": {"groups": {"include": ["00g1"]}, "users": {"exclude": ["00u1"]}},
                           "network": {"connection": "ZONE", "include": ["nzo1"]}}});
        let r = policy_rule("00p1", "OKTA_SIGN_ON|P", v).unwrap();
        assert_eq!(r.key, "OKTA_SIGN_ON|P|R");
        let kinds: Vec<(&str, &str)> = r
            .refs
            .iter()
            .map(|r| (r.kind.as_str(), r.id.as_str()))
            .collect();
        assert!(kinds.contains(&(GROUP, "00g1")));
        assert!(kinds.contains(&(USER, "00u1")));
        assert!(kinds.contains(&(NETWORK_ZONE, "nzo1")));
        assert!(kinds.contains(&(POLICY, "00p1")));
    }

    #[test]
    fn group_derived_app_assignments_are_not_records() {
        let app = AppHead {
            id: "0oa1".into(),
            label: "Web".into(),
        };
        let v = json!({"id": "00u1", "scope": "GROUP", "_embedded": {"user": {"profile": {"login": "a"}}}});
        assert!(app_user(&app, v).unwrap().is_none());
    }

    #[test]
    fn an_app_keeps_its_access_policy_and_a_schema_its_type() {
        let v = json!({"id": "0oa1", "label": "Wiki", "name": "bookmark",
            "_links": {"self": {"href": "https://x/api/v1/apps/0oa1"},
                       "accessPolicy": {"href": "https://x/api/v1/policies/rst1"}}});
        let r = app(v).unwrap();
        assert_eq!(r.attrs["accessPolicy"], "rst1");
        assert_eq!(r.target("access_policy").unwrap().id, "rst1");
        let user_type = json!({"id": "oty1", "name": "contractor",
            "_links": {"schema": {"href": "https://x/api/v1/meta/schemas/user/osc1"}}});
        assert_eq!(schema_path(&user_type), "/api/v1/meta/schemas/user/osc1");
        let schema = json!({"id": "https://x/meta/schemas/user/osc1", "$schema": "s",
                            "definitions": {"custom": {"properties": {}}}});
        let r = user_schema(&user_type, schema);
        assert_eq!((r.id.as_str(), r.key.as_str()), ("osc1", "contractor"));
        assert_eq!(r.target("type").unwrap().id, "oty1");
        assert!(r.attrs.get("$schema").is_none() && r.attrs.get("id").is_none());
    }

    #[test]
    fn a_trusted_origin_is_keyed_by_its_origin_without_who_changed_it() {
        let v = json!({"id": "tos1", "name": "Portal", "origin": "https://portal.example.com",
            "scopes": [{"type": "CORS"}], "status": "ACTIVE", "created": "x", "createdBy": "00u1",
            "lastUpdated": "x", "lastUpdatedBy": "00u1", "_links": {}});
        let r = trusted_origin(v).unwrap();
        assert_eq!(r.key, "https://portal.example.com");
        assert_eq!(
            r.attrs,
            json!({"name": "Portal", "origin": "https://portal.example.com",
                   "scopes": [{"type": "CORS"}], "status": "ACTIVE"})
        );
    }

    #[test]
    fn a_custom_role_assignment_names_its_role_and_resource_set() {
        let principal = Principal::Group {
            id: "00g1".into(),
            name: "Help desk".into(),
        };
        let role = json!({"id": "irb1", "type": "CUSTOM", "label": "Help Desk Lite",
            "role": "cr01", "resource-set": "iam1", "status": "ACTIVE", "assignmentType": "GROUP"});
        let r = admin_role(&principal, &role, "Team support", &[], &[]).unwrap();
        assert_eq!(r.key, "group:Help desk|CUSTOM:Help Desk Lite@Team support");
        assert_eq!(r.target("role").unwrap().id, "cr01");
        assert_eq!(r.target("resource_set").unwrap().id, "iam1");
        assert_eq!(r.attrs["resourceSet"], "Team support");
    }

    #[test]
    fn role_app_targets_are_catalog_apps_or_instances() {
        let principal = Principal::User {
            id: "00u1".into(),
            login: "a@example.com".into(),
        };
        let role = json!({"id": "ra1", "type": "APP_ADMIN", "label": "Application Administrator",
                          "status": "ACTIVE", "assignmentType": "USER"});
        let apps = [
            json!({"name": "salesforce", "displayName": "Salesforce.com"}),
            json!({"id": "0oa1", "name": "My_wiki"}),
        ];
        let r = admin_role(&principal, &role, "", &[], &apps).unwrap();
        assert_eq!(
            r.attrs["targets"]["apps"],
            json!([{"catalog": "salesforce"}, {"instance": "My_wiki"}])
        );
        assert!(r.refs.iter().any(|t| t.rel == "target" && t.id == "0oa1"));
    }
}
