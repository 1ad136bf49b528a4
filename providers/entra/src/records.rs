//! Graph objects turned into records: the properties kept (also the `$select` of each read),
//! natural keys, and refs. Shared by the snapshot and by `fetch`.
//!
//! Keys: users by userPrincipalName; groups, applications, service principals, administrative
//! units, policies and named locations by display name; relationships by the keys of both
//! ends with the member's type (`Sales|user:ada@contoso.com`), so a re-created object keeps
//! the keys of its relationships. Relationship attributes carry keys, never ids; ids live in
//! refs, and where a policy names objects by id its refs say which.

use std::collections::HashMap;

use iamsnap_provider::{Record, Ref};
use serde_json::{Map, Value, json};

use crate::kinds::*;

pub(crate) const USER_SELECT: &[&str] = &[
    "id",
    "accountEnabled",
    "displayName",
    "givenName",
    "surname",
    "userPrincipalName",
    "mailNickname",
    "mail",
    "userType",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "employeeId",
    "employeeType",
    "usageLocation",
    "preferredLanguage",
    "city",
    "country",
    "state",
    "streetAddress",
    "postalCode",
    "mobilePhone",
    "businessPhones",
    "otherMails",
    "passwordPolicies",
    "ageGroup",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
];
pub(crate) const GROUP_SELECT: &[&str] = &[
    "id",
    "displayName",
    "description",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
    "membershipRule",
    "membershipRuleProcessingState",
    "isAssignableToRole",
    "visibility",
    "classification",
    "mail",
];
pub(crate) const APPLICATION_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "description",
    "notes",
    "tags",
    "signInAudience",
    "identifierUris",
    "groupMembershipClaims",
    "isFallbackPublicClient",
    "web",
    "spa",
    "publicClient",
    "api",
    "appRoles",
    "optionalClaims",
    "info",
    "requiredResourceAccess",
    "keyCredentials",
    "passwordCredentials",
];
pub(crate) const SERVICE_PRINCIPAL_SELECT: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "accountEnabled",
    "appRoleAssignmentRequired",
    "servicePrincipalType",
    "tags",
    "notes",
    "preferredSingleSignOnMode",
    "homepage",
    "loginUrl",
    "description",
    "appOwnerOrganizationId",
];
pub(crate) const UNIT_SELECT: &[&str] = &[
    "id",
    "displayName",
    "description",
    "visibility",
    "membershipType",
    "membershipRule",
    "membershipRuleProcessingState",
];
/// Enough of any directory object to know what it is and its key.
pub(crate) const MEMBER_SELECT: &[&str] =
    &["id", "userPrincipalName", "displayName", "deviceId", "mail"];

/// Properties Graph computes or that change without anyone changing the object.
const VOLATILE: &[&str] = &[
    "id",
    "@odata.context",
    "@odata.type",
    "@odata.etag",
    "createdDateTime",
    "modifiedDateTime",
    "lastModifiedDateTime",
    "deletedDateTime",
    "renewedDateTime",
];

pub(crate) fn select(fields: &[&str]) -> String {
    fields.join(",")
}

/// The object without volatile properties.
fn kept(v: &Value) -> Map<String, Value> {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in VOLATILE {
        m.remove(*k);
    }
    m.retain(|k, _| !k.contains("@odata."));
    m
}

pub(crate) fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// The kind of a directory object from its `@odata.type`.
pub(crate) fn kind_of(v: &Value) -> Option<&'static str> {
    Some(match v["@odata.type"].as_str()? {
        "#microsoft.graph.user" => USER,
        "#microsoft.graph.group" => GROUP,
        "#microsoft.graph.servicePrincipal" => SERVICE_PRINCIPAL,
        "#microsoft.graph.device" => DEVICE,
        "#microsoft.graph.orgContact" => ORG_CONTACT,
        "#microsoft.graph.application" => APPLICATION,
        "#microsoft.graph.administrativeUnit" => ADMINISTRATIVE_UNIT,
        _ => return None,
    })
}

/// The natural key of a directory object of `kind`.
pub(crate) fn key_of(kind: &str, v: &Value) -> String {
    match kind {
        USER => str_of(v, "userPrincipalName").to_string(),
        DEVICE => str_of(v, "deviceId").to_string(),
        ORG_CONTACT => v["mail"]
            .as_str()
            .unwrap_or(str_of(v, "displayName"))
            .to_string(),
        _ => str_of(v, "displayName").to_string(),
    }
}

/// How a member's type is written inside relationship keys.
pub(crate) fn label(kind: &str) -> &'static str {
    match kind {
        USER => "user",
        GROUP => "group",
        SERVICE_PRINCIPAL => "servicePrincipal",
        DEVICE => "device",
        ORG_CONTACT => "orgContact",
        _ => "directoryObject",
    }
}

/// The kind a relationship key's member label stands for.
pub(crate) fn kind_of_label(label: &str) -> Option<&'static str> {
    Some(match label {
        "user" => USER,
        "group" => GROUP,
        "servicePrincipal" => SERVICE_PRINCIPAL,
        "device" => DEVICE,
        "orgContact" => ORG_CONTACT,
        _ => return None,
    })
}

/// Ids of users, groups, service principals, units and applications → (kind, key), for the
/// ends of assignments and grants, which Graph gives by id alone.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub by_id: HashMap<String, (&'static str, String)>,
    /// Application (client) id → application object id.
    pub app_by_app_id: HashMap<String, String>,
}

impl Index {
    pub(crate) fn add(&mut self, kind: &'static str, v: &Value) {
        self.by_id
            .insert(id_of(v).to_string(), (kind, key_of(kind, v)));
        if kind == APPLICATION {
            self.app_by_app_id
                .insert(str_of(v, "appId").to_lowercase(), id_of(v).to_string());
        }
    }

    /// `(kind, "label:key")` of the object with this id.
    pub(crate) fn party(&self, id: &str) -> Option<(&'static str, String)> {
        self.by_id
            .get(id)
            .map(|(kind, key)| (*kind, format!("{}:{key}", label(kind))))
    }
}

/// How users are read: with their manager's id and userPrincipalName.
pub(crate) const MANAGER_EXPAND: &str = "$expand=manager($select=id,userPrincipalName)";

pub(crate) fn user(v: &Value) -> Record {
    let mut attrs = kept(v);
    attrs.remove("manager");
    Record::new(
        USER,
        id_of(v),
        key_of(USER, v),
        Value::Object(attrs),
        Vec::new(),
    )
}

/// The user's manager as a relationship record, when the user (read with
/// [`MANAGER_EXPAND`]) has one.
pub(crate) fn manager(v: &Value) -> Option<Record> {
    let manager = v.get("manager").filter(|m| m.is_object())?;
    let user_key = key_of(USER, v);
    let manager_key = format!("user:{}", str_of(manager, "userPrincipalName"));
    Some(Record::new(
        USER_MANAGER,
        format!("{}/{}", id_of(v), id_of(manager)),
        format!("{user_key}|{manager_key}"),
        json!({"user": user_key, "manager": manager_key}),
        vec![
            Ref::new("user", USER, id_of(v)),
            Ref::new("manager", USER, id_of(manager)),
        ],
    ))
}

pub(crate) fn simple(kind: &'static str, v: &Value) -> Record {
    Record::new(
        kind,
        id_of(v),
        key_of(kind, v),
        Value::Object(kept(v)),
        Vec::new(),
    )
}

pub(crate) fn application(v: &Value) -> Record {
    let mut attrs = kept(v);
    // Credential metadata only: the key material and secret text never enter a record.
    let keys: Vec<Value> = attrs["keyCredentials"].as_array().into_iter().flatten().map(|k| {
        json!({"keyId": k["keyId"], "displayName": k["displayName"], "type": k["type"], "usage": k["usage"],
               "customKeyIdentifier": k["customKeyIdentifier"], "startDateTime": k["startDateTime"], "endDateTime": k["endDateTime"]})
    }).collect();
    let passwords: Vec<Value> = attrs["passwordCredentials"].as_array().into_iter().flatten().map(|p| {
        json!({"keyId": p["keyId"], "displayName": p["displayName"], "startDateTime": p["startDateTime"], "endDateTime": p["endDateTime"]})
    }).collect();
    attrs.insert("keyCredentials".into(), Value::Array(keys));
    attrs.insert("passwordCredentials".into(), Value::Array(passwords));
    Record::new(
        APPLICATION,
        id_of(v),
        key_of(APPLICATION, v),
        Value::Object(attrs),
        Vec::new(),
    )
}

pub(crate) fn service_principal(v: &Value, index: &Index) -> Record {
    let mut refs = Vec::new();
    if let Some(app) = index.app_by_app_id.get(&str_of(v, "appId").to_lowercase()) {
        refs.push(Ref::new("application", APPLICATION, app));
    }
    Record::new(
        SERVICE_PRINCIPAL,
        id_of(v),
        key_of(SERVICE_PRINCIPAL, v),
        Value::Object(kept(v)),
        refs,
    )
}

/// A member or owner of a group or administrative unit, from the parent and the member object
/// as Graph lists it (with `@odata.type`). `None` for types iamsnap does not know.
pub(crate) fn link(
    kind: &'static str,
    parent: (&'static str, &str, &str),
    member: &Value,
) -> Option<Record> {
    let (parent_kind, parent_id, parent_key) = parent;
    let member_kind = kind_of(member)?;
    let member_key = format!("{}:{}", label(member_kind), key_of(member_kind, member));
    let rel = if kind == GROUP_OWNER {
        "owner"
    } else {
        "member"
    };
    let parent_rel = if parent_kind == GROUP {
        "group"
    } else {
        "unit"
    };
    Some(Record::new(
        kind,
        format!("{parent_id}/{}", id_of(member)),
        format!("{parent_key}|{member_key}"),
        json!({ parent_rel: parent_key, rel: member_key }),
        vec![
            Ref::new(parent_rel, parent_kind, parent_id),
            Ref::new(rel, member_kind, id_of(member)),
        ],
    ))
}

/// Splits a relationship key `parent|label:key` at the member's label.
pub(crate) fn split_link_key(key: &str) -> Option<(&str, &'static str, &str)> {
    ["user", "group", "servicePrincipal", "device", "orgContact"]
        .iter()
        .filter_map(|l| key.find(&format!("|{l}:")).map(|at| (at, *l)))
        .min_by_key(|(at, _)| *at)
        .and_then(|(at, l)| {
            let member = &key[at + l.len() + 2..];
            Some((&key[..at], kind_of_label(l)?, member))
        })
}

pub(crate) fn app_role_assignment(v: &Value, index: &Index) -> Option<Record> {
    let (pkind, principal) = index.party(str_of(v, "principalId"))?;
    let (_, resource) = index.by_id.get(str_of(v, "resourceId"))?;
    let role = str_of(v, "appRoleId");
    Some(Record::new(
        APP_ROLE_ASSIGNMENT,
        id_of(v),
        format!("{resource}|{role}|{principal}"),
        json!({"appRoleId": role, "principal": principal, "principalType": v["principalType"], "resource": resource}),
        vec![
            Ref::new("principal", pkind, str_of(v, "principalId")),
            Ref::new("resource", SERVICE_PRINCIPAL, str_of(v, "resourceId")),
        ],
    ))
}

pub(crate) fn grant(v: &Value, index: &Index) -> Option<Record> {
    let (_, client) = index.by_id.get(str_of(v, "clientId"))?;
    let (_, resource) = index.by_id.get(str_of(v, "resourceId"))?;
    let mut refs = vec![
        Ref::new("client", SERVICE_PRINCIPAL, str_of(v, "clientId")),
        Ref::new("resource", SERVICE_PRINCIPAL, str_of(v, "resourceId")),
    ];
    let principal = match v["principalId"].as_str() {
        Some(p) if !p.is_empty() => {
            let (kind, party) = index.party(p)?;
            refs.push(Ref::new("principal", kind, p));
            party
        }
        _ => "all".to_string(),
    };
    let consent = str_of(v, "consentType");
    let mut scopes: Vec<&str> = str_of(v, "scope").split_whitespace().collect();
    scopes.sort_unstable();
    scopes.dedup();
    Some(Record::new(
        OAUTH2_PERMISSION_GRANT,
        id_of(v),
        format!("{client}|{resource}|{consent}|{principal}"),
        json!({"client": client, "resource": resource, "consentType": consent, "principal": principal, "scope": scopes.join(" ")}),
        refs,
    ))
}

/// A directory role assignment; `roles` maps role definition ids to names.
pub(crate) fn role_assignment(
    v: &Value,
    index: &Index,
    roles: &HashMap<String, String>,
) -> Option<Record> {
    let (pkind, principal) = index.party(str_of(v, "principalId"))?;
    let role_id = str_of(v, "roleDefinitionId");
    let role = roles
        .get(role_id)
        .cloned()
        .unwrap_or_else(|| role_id.to_string());
    let scope_id = str_of(v, "directoryScopeId");
    let mut refs = vec![Ref::new("principal", pkind, str_of(v, "principalId"))];
    let scope = match scope_id.strip_prefix("/administrativeUnits/") {
        Some(unit) => {
            let (_, name) = index.by_id.get(unit)?;
            refs.push(Ref::new("scope", ADMINISTRATIVE_UNIT, unit));
            format!("administrativeUnit:{name}")
        }
        None => scope_id.to_string(),
    };
    Some(Record::new(
        DIRECTORY_ROLE_ASSIGNMENT,
        id_of(v),
        format!("{role}|{principal}|{scope}"),
        json!({"roleDefinitionId": role_id, "role": role, "principal": principal, "directoryScope": scope}),
        refs,
    ))
}

/// Ids in a conditional access policy that name users, groups or named locations (the rest are
/// keywords such as `All` or role template ids, which are the same in every tenant).
pub(crate) fn conditional_access_policy(v: &Value) -> Record {
    let mut refs = Vec::new();
    let ids = |section: &str, field: &str| -> Vec<String> {
        v["conditions"][section][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| s.len() == 36 && s.contains('-'))
            .map(str::to_string)
            .collect()
    };
    for (field, kind) in [
        ("includeUsers", USER),
        ("excludeUsers", USER),
        ("includeGroups", GROUP),
        ("excludeGroups", GROUP),
    ] {
        refs.extend(
            ids("users", field)
                .into_iter()
                .map(|id| Ref::new(field, kind, id)),
        );
    }
    for field in ["includeLocations", "excludeLocations"] {
        refs.extend(
            ids("locations", field)
                .into_iter()
                .map(|id| Ref::new(field, NAMED_LOCATION, id)),
        );
    }
    Record::new(
        CONDITIONAL_ACCESS_POLICY,
        id_of(v),
        key_of(CONDITIONAL_ACCESS_POLICY, v),
        Value::Object(kept(v)),
        refs,
    )
}

pub const AUTHENTICATION_METHODS_POLICY_KEY: &str = "authenticationMethodsPolicy";

pub(crate) fn authentication_methods_policy(v: &Value) -> Record {
    let mut attrs = kept(v);
    let mut configs: Vec<Value> = attrs
        .remove("authenticationMethodConfigurations")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    configs.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    let mut refs = Vec::new();
    for target in configs.iter().flat_map(|c| {
        ["includeTargets", "excludeTargets"]
            .iter()
            .flat_map(move |f| c[*f].as_array().cloned().unwrap_or_default())
    }) {
        let id = str_of(&target, "id");
        if target["targetType"] == "group" && id != "all_users" && !id.is_empty() {
            refs.push(Ref::new("target", GROUP, id));
        }
    }
    attrs.insert(
        "authenticationMethodConfigurations".into(),
        Value::Array(configs),
    );
    Record::new(
        AUTHENTICATION_METHODS_POLICY,
        AUTHENTICATION_METHODS_POLICY_KEY,
        AUTHENTICATION_METHODS_POLICY_KEY,
        Value::Object(attrs),
        refs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_keys_split_at_the_member_label() {
        assert_eq!(
            split_link_key("Sales|Team|user:ada@contoso.com"),
            Some(("Sales|Team", USER, "ada@contoso.com"))
        );
        assert_eq!(
            split_link_key("Ops|group:Sub|user:x"),
            Some(("Ops", GROUP, "Sub|user:x"))
        );
        assert_eq!(split_link_key("no member"), None);
    }

    #[test]
    fn application_records_keep_credential_metadata_only() {
        let app = json!({"id": "a1", "appId": "c1", "displayName": "App",
            "passwordCredentials": [{"keyId": "k", "displayName": "s", "hint": "abc", "secretText": "hunter2", "endDateTime": "2027"}],
            "keyCredentials": [{"keyId": "k2", "key": "MIIBIjANBg", "type": "AsymmetricX509Cert", "usage": "Verify"}]});
        let text = application(&app).to_canonical_json();
        assert!(
            !text.contains("hunter2") && !text.contains("MIIBIjANBg") && !text.contains("abc"),
            "{text}"
        );
        assert!(text.contains("\"keyId\":\"k2\""), "{text}");
    }
}
