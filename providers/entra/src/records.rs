//! Graph objects turned into records: the properties kept (also the `$select` of each read),
//! natural keys, and refs. Shared by the snapshot and by `fetch`.
//!
//! Keys: users by userPrincipalName; groups, applications, service principals, administrative
//! units, policies and named locations by display name; relationships by the keys of both
//! ends with the member's type (`Sales|user:ada@contoso.com`), so a re-created object keeps
//! the keys of its relationships. Relationship attributes carry keys, never ids; ids live in
//! refs, and where a policy names objects by id its refs say which.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use iamsnap_provider::{Record, Ref};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
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
pub(crate) fn kept(v: &Value) -> Map<String, Value> {
    let mut m = v.as_object().cloned().unwrap_or_default();
    m.retain(|k, _| !is_volatile(k));
    m
}

fn is_volatile(name: &str) -> bool {
    VOLATILE.contains(&name) || name.contains("@odata.")
}

pub(crate) fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap_or_default()
}

pub(crate) fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// The kind of a directory object from its `@odata.type`.
pub(crate) fn kind_of(v: &Value) -> Option<&'static str> {
    kind_of_type(v["@odata.type"].as_str()?)
}

fn kind_of_type(odata_type: &str) -> Option<&'static str> {
    Some(match odata_type {
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
        self.insert(kind, id_of(v), key_of(kind, v));
        if kind == APPLICATION {
            self.app_by_app_id
                .insert(str_of(v, "appId").to_lowercase(), id_of(v).to_string());
        }
    }

    pub(crate) fn insert(&mut self, kind: &'static str, id: &str, key: String) {
        self.by_id.insert(id.to_string(), (kind, key));
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

/// A user as Graph lists it, decoded straight from the answer's bytes: every property Graph
/// returned goes into `attrs` except the volatile ones, which are skipped unread, and the
/// expanded `manager`, kept apart. Users are most of a tenant, and building a `Value` tree per
/// page, then copying each user out of it, was most of a backup's CPU.
#[derive(Debug, Default)]
pub(crate) struct User {
    pub id: String,
    /// The userPrincipalName, the natural key.
    pub key: String,
    /// `(id, userPrincipalName)` of the manager, when Graph expanded one.
    pub manager: Option<(String, String)>,
    pub attrs: Map<String, Value>,
}

impl<'de> Deserialize<'de> for User {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UserVisitor)
    }
}

struct UserVisitor;

impl<'de> Visitor<'de> for UserVisitor {
    type Value = User;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a user object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<User, A::Error> {
        let mut user = User::default();
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "id" => user.id = map.next_value::<Text>()?.0.unwrap_or_default(),
                "manager" => {
                    // Anything but an object (null when there is none) is no manager.
                    if let Value::Object(mut m) = map.next_value::<Value>()? {
                        let mut take = |k: &str| match m.remove(k) {
                            Some(Value::String(s)) => s,
                            _ => String::new(),
                        };
                        user.manager = Some((take("id"), take("userPrincipalName")));
                    }
                }
                n if is_volatile(n) => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    let value: Value = map.next_value()?;
                    if name == "userPrincipalName" {
                        user.key = value.as_str().unwrap_or_default().to_string();
                    }
                    user.attrs.insert(name, value);
                }
            }
        }
        Ok(user)
    }
}

/// A string property read leniently, as `Value::as_str` would: anything else reads as absent.
#[derive(Debug, Default)]
pub(crate) struct Text(pub Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Text(match Value::deserialize(deserializer)? {
            Value::String(s) => Some(s),
            _ => None,
        }))
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Text::deserialize(deserializer).map(|t| t.0)
}

/// A member or owner as Graph lists it (read with [`MEMBER_SELECT`]): what says which object it
/// is and its key, nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Member {
    #[serde(rename = "@odata.type", default, deserialize_with = "text")]
    pub odata_type: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub device_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub mail: Option<String>,
}

impl Member {
    fn kind(&self) -> Option<&'static str> {
        kind_of_type(self.odata_type.as_deref()?)
    }

    /// As [`key_of`] for the object's kind.
    fn key(&self, kind: &str) -> &str {
        let display = self.display_name.as_deref().unwrap_or_default();
        match kind {
            USER => self.user_principal_name.as_deref().unwrap_or_default(),
            DEVICE => self.device_id.as_deref().unwrap_or_default(),
            ORG_CONTACT => self.mail.as_deref().unwrap_or(display),
            _ => display,
        }
    }
}

/// A record whose attributes come straight from a decoded `serde_json::Map`. Without
/// serde_json's `preserve_order` feature such a map (and every map inside it) already keeps
/// its keys sorted, so [`Record::new`]'s normalizing copy would rebuild the same tree; it is
/// skipped then, and taken if a build ever enables that feature.
fn decoded_record(kind: &str, id: String, key: String, attrs: Map<String, Value>) -> Record {
    static SORTED_MAPS: LazyLock<bool> = LazyLock::new(|| {
        let mut m = Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().next().is_some_and(|k| k == "a")
    });
    if !*SORTED_MAPS {
        return Record::new(kind, id, key, Value::Object(attrs), Vec::new());
    }
    Record {
        kind: kind.to_string(),
        id,
        key,
        attrs: Value::Object(attrs),
        refs: Vec::new(),
    }
}

/// The user record, and the manager relationship when Graph expanded one.
pub(crate) fn user(v: User) -> (Record, Option<Record>) {
    let manager = v.manager.map(|(manager_id, manager_upn)| {
        let manager_key = format!("user:{manager_upn}");
        Record::new(
            USER_MANAGER,
            format!("{}/{manager_id}", v.id),
            format!("{}|{manager_key}", v.key),
            json!({"user": v.key, "manager": manager_key}),
            vec![
                Ref::new("user", USER, v.id.as_str()),
                Ref::new("manager", USER, manager_id),
            ],
        )
    });
    (decoded_record(USER, v.id, v.key, v.attrs), manager)
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
    member: &Member,
) -> Option<Record> {
    let (parent_kind, parent_id, parent_key) = parent;
    let member_kind = member.kind()?;
    let member_id = member.id.as_deref().unwrap_or_default();
    let member_key = format!("{}:{}", label(member_kind), member.key(member_kind));
    let rel = link_rel(kind);
    let parent_rel = parent_rel(parent_kind);
    Some(Record::new(
        kind,
        format!("{parent_id}/{member_id}"),
        format!("{parent_key}|{member_key}"),
        json!({ parent_rel: parent_key, rel: member_key }),
        vec![
            Ref::new(parent_rel, parent_kind, parent_id),
            Ref::new(rel, member_kind, member_id),
        ],
    ))
}

/// A federated identity credential of the application `app` (id, key): what Graph lets a
/// client write, all of it (no secret: the external token is the proof).
pub(crate) fn federated_credential(v: &Value, app: (&str, &str)) -> Record {
    let (app_id, app_key) = app;
    let name = str_of(v, "name");
    Record::new(
        FEDERATED_CREDENTIAL,
        id_of(v),
        format!("{app_key}|{name}"),
        json!({"application": app_key, "name": name, "issuer": v["issuer"], "subject": v["subject"],
               "audiences": v["audiences"], "description": v["description"]}),
        vec![Ref::new("application", APPLICATION, app_id)],
    )
}

/// The name of the child end of a member or owner relationship.
pub(crate) fn link_rel(kind: &str) -> &'static str {
    if matches!(
        kind,
        GROUP_OWNER | APPLICATION_OWNER | SERVICE_PRINCIPAL_OWNER
    ) {
        "owner"
    } else {
        "member"
    }
}

/// The name of the parent end of a member or owner relationship, by the parent's kind.
pub(crate) fn parent_rel(parent_kind: &str) -> &'static str {
    match parent_kind {
        GROUP => "group",
        APPLICATION => "application",
        SERVICE_PRINCIPAL => "servicePrincipal",
        _ => "unit",
    }
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

/// The natural key (and id) of the tenant's authorization policy.
pub const AUTHORIZATION_POLICY_KEY: &str = "authorizationPolicy";

pub(crate) fn authorization_policy(v: &Value) -> Record {
    let mut attrs = kept(v);
    attrs.remove("id");
    Record::new(
        AUTHORIZATION_POLICY,
        AUTHORIZATION_POLICY_KEY,
        AUTHORIZATION_POLICY_KEY,
        Value::Object(attrs),
        Vec::new(),
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
