//! ARM objects → records, pure.
//!
//! Natural keys survive re-creation: a custom role is its `roleName` (unique in a tenant), a
//! role assignment is `SCOPE|ROLE NAME|PRINCIPAL` (never its GUID, which a re-created
//! assignment does not keep), a lock its id (scope and name, both chosen by whoever made it).
//! The principal is its object id, or, with `entra_source`, the name it keeps in the directory
//! ([`Principal::key`]): `user:ada@contoso.com`, `group:Ops <ops>`, `app:{application id}`.

use iamsnap_provider::{Record, Ref};
use serde_json::{Map, Value, json};

use crate::directory::Principal;
use crate::kinds::{DENY_ASSIGNMENT, LOCK, ROLE_ASSIGNMENT, ROLE_DEFINITION, ROLE_ELIGIBILITY};

/// The last segment of an ARM id: a role definition's GUID.
pub(crate) fn last_segment(id: &str) -> String {
    id.rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn sorted_strings(v: &Value) -> Value {
    let mut items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    items.sort();
    items.dedup();
    json!(items)
}

/// A custom role definition (`properties.type` `CustomRole`); `None` for a built-in role.
pub(crate) fn role_definition(value: &Value) -> Option<Record> {
    let props = &value["properties"];
    if props["type"].as_str() != Some("CustomRole") {
        return None;
    }
    let name = props["roleName"].as_str()?.to_string();
    // The order of actions within a permission means nothing to ARM.
    let permissions: Vec<Value> = props["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({
                "actions": sorted_strings(&p["actions"]),
                "notActions": sorted_strings(&p["notActions"]),
                "dataActions": sorted_strings(&p["dataActions"]),
                "notDataActions": sorted_strings(&p["notDataActions"]),
            })
        })
        .collect();
    let attrs = json!({
        "roleName": name,
        "description": props["description"].as_str().unwrap_or_default(),
        "permissions": permissions,
        "assignableScopes": sorted_strings(&props["assignableScopes"]),
    });
    Some(Record::new(
        ROLE_DEFINITION,
        last_segment(value["name"].as_str().or(value["id"].as_str())?),
        name,
        attrs,
        vec![],
    ))
}

/// The key of an assignment of `role_name` to `principal` (an object id, or a
/// [`Principal::key`]) at `scope`.
pub(crate) fn assignment_key(scope: &str, role_name: &str, principal: &str) -> String {
    format!("{scope}|{role_name}|{principal}")
}

/// The prefixes of [`Principal::key`].
const NAMED: [&str; 3] = ["user:", "group:", "app:"];

/// `(scope, role name, principal)` of an assignment's key. Scopes hold no `|`; a group's
/// display name may, so the principal starts at the first `|` followed by a principal's name.
pub(crate) fn split_assignment_key(key: &str) -> Option<(&str, &str, &str)> {
    let (scope, rest) = key.split_once('|')?;
    let named = rest
        .match_indices('|')
        .map(|(i, _)| i)
        .find(|&i| NAMED.iter().any(|p| rest[i + 1..].starts_with(p)));
    let (role, principal) = match named {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => rest.rsplit_once('|')?,
    };
    Some((scope, role, principal))
}

/// The principal an assignment key names by its name in the directory, if it does.
pub(crate) fn named_principal(principal: &str) -> Option<Principal> {
    let (kind, name) = principal.split_once(':')?;
    match kind {
        "user" => Some(Principal::User {
            user_principal_name: name.to_string(),
        }),
        "app" => Some(Principal::App {
            app_id: name.to_string(),
        }),
        "group" => {
            let (display_name, nickname) = name.rsplit_once(" <")?;
            Some(Principal::Group {
                display_name: display_name.to_string(),
                mail_nickname: nickname.strip_suffix('>')?.to_string(),
            })
        }
        _ => None,
    }
}

/// How an assignment's principal is named in its record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Naming<'a> {
    /// By object id: the source has no `entra_source`.
    Id,
    /// By its name in the directory; the object id is left out (a principal re-created has
    /// another).
    Named(&'a Principal),
    /// By object id, the directory no longer holding the principal. The record's id carries
    /// the object id too: the assignment ARM keeps for a principal deleted for good is another
    /// object than the one a restore makes for the principal re-created, though ARM's id of
    /// the first is the snapshot's id of the second.
    Missing,
}

/// ARM's id of a record's id (an assignment's for a missing principal carries `|{object id}`).
pub(crate) fn arm_id(record_id: &str) -> &str {
    record_id.split('|').next().unwrap_or(record_id)
}

/// A role assignment, its role named by `role_name`; a ref to the role definition when the
/// role is custom (`custom`), so that a restore re-creates the role first; its principal
/// named as `naming` says.
pub(crate) fn role_assignment(
    value: &Value,
    role_name: &str,
    custom: bool,
    naming: Naming<'_>,
) -> Option<Record> {
    let props = &value["properties"];
    let scope = props["scope"].as_str()?.to_string();
    let principal_id = props["principalId"].as_str()?.to_ascii_lowercase();
    let mut attrs = Map::new();
    attrs.insert("scope".into(), json!(scope));
    attrs.insert("roleName".into(), json!(role_name));
    let id = value["id"].as_str()?;
    let (principal, id) = match naming {
        Naming::Named(p) => {
            attrs.insert("principal".into(), p.attrs());
            (p.key(), id.to_string())
        }
        Naming::Id => {
            attrs.insert("principalId".into(), json!(principal_id));
            (principal_id, id.to_string())
        }
        Naming::Missing => {
            attrs.insert("principalId".into(), json!(principal_id));
            let id = format!("{id}|{principal_id}");
            (principal_id, id)
        }
    };
    attrs.insert(
        "principalType".into(),
        json!(props["principalType"].as_str().unwrap_or("Unknown")),
    );
    for field in ["description", "condition", "conditionVersion"] {
        if let Some(v) = props[field].as_str().filter(|s| !s.is_empty()) {
            attrs.insert(field.into(), json!(v));
        }
    }
    let role = last_segment(props["roleDefinitionId"].as_str()?);
    let refs = if custom {
        vec![Ref::new("role", ROLE_DEFINITION, role)]
    } else {
        Vec::new()
    };
    Some(Record::new(
        ROLE_ASSIGNMENT,
        id,
        assignment_key(&scope, role_name, &principal),
        Value::Object(attrs),
        refs,
    ))
}

/// A PIM eligibility schedule, keyed like an assignment; its end date kept (the start is
/// when it was made, which a restore cannot give back).
pub(crate) fn role_eligibility(
    value: &Value,
    role_name: &str,
    custom: bool,
    naming: Naming<'_>,
) -> Option<Record> {
    let mut record = role_assignment(value, role_name, custom, naming)?;
    record.kind = ROLE_ELIGIBILITY.into();
    if let (Some(end), Value::Object(attrs)) = (
        value["properties"]["endDateTime"].as_str(),
        &mut record.attrs,
    ) {
        attrs.insert("endDateTime".into(), json!(end));
    }
    Some(record)
}

/// `{scope}/providers/Microsoft.Authorization/locks/{name}` → the scope.
pub(crate) fn lock_scope(id: &str) -> Option<&str> {
    let lower = id.to_ascii_lowercase();
    let at = lower.rfind("/providers/microsoft.authorization/locks/")?;
    Some(&id[..at])
}

pub(crate) fn lock(value: &Value) -> Option<Record> {
    let id = value["id"].as_str()?;
    let props = &value["properties"];
    let mut attrs = Map::new();
    attrs.insert("scope".into(), json!(lock_scope(id)?));
    attrs.insert("name".into(), json!(value["name"].as_str()?));
    attrs.insert("level".into(), json!(props["level"].as_str()?));
    if let Some(notes) = props["notes"].as_str().filter(|s| !s.is_empty()) {
        attrs.insert("notes".into(), json!(notes));
    }
    Some(Record::new(LOCK, id, id, Value::Object(attrs), vec![]))
}

/// The key of the deny assignment `name` at `scope`.
pub(crate) fn deny_key(scope: &str, name: &str) -> String {
    format!("{scope}|{name}")
}

fn principals(v: &Value) -> Value {
    let mut list: Vec<Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| json!({"id": p["id"].as_str().unwrap_or_default().to_ascii_lowercase(), "type": p["type"]}))
        .collect();
    list.sort_by_key(|p| p.to_string());
    json!(list)
}

/// A deny assignment, read only: keyed by scope and name.
pub(crate) fn deny_assignment(value: &Value) -> Option<Record> {
    let props = &value["properties"];
    let scope = props["scope"].as_str()?;
    let name = props["denyAssignmentName"].as_str()?;
    let permissions: Vec<Value> = props["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            json!({
                "actions": sorted_strings(&p["actions"]),
                "notActions": sorted_strings(&p["notActions"]),
                "dataActions": sorted_strings(&p["dataActions"]),
                "notDataActions": sorted_strings(&p["notDataActions"]),
            })
        })
        .collect();
    let attrs = json!({
        "scope": scope,
        "denyAssignmentName": name,
        "description": props["description"].as_str().unwrap_or_default(),
        "permissions": permissions,
        "principals": principals(&props["principals"]),
        "excludePrincipals": principals(&props["excludePrincipals"]),
        "doNotApplyToChildScopes": props["doNotApplyToChildScopes"].as_bool().unwrap_or(false),
        "isSystemProtected": props["isSystemProtected"].as_bool().unwrap_or(false),
    });
    Some(Record::new(
        DENY_ASSIGNMENT,
        value["id"].as_str()?,
        deny_key(scope, name),
        attrs,
        vec![],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_role_keeps_its_permissions_sorted_and_a_built_in_one_is_no_record() {
        let custom = json!({"id": "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/AB12",
            "name": "AB12", "properties": {"roleName": "Ops", "type": "CustomRole", "description": "d",
            "permissions": [{"actions": ["b/read", "a/read"], "notActions": [], "dataActions": ["x"]}],
            "assignableScopes": ["/subscriptions/s2", "/subscriptions/s1"], "updatedOn": "2024"}});
        let r = role_definition(&custom).unwrap();
        assert_eq!((r.id.as_str(), r.key.as_str()), ("ab12", "Ops"));
        assert_eq!(
            r.attrs["permissions"][0]["actions"],
            json!(["a/read", "b/read"])
        );
        assert_eq!(r.attrs["permissions"][0]["notDataActions"], json!([]));
        assert_eq!(r.attrs["assignableScopes"][0], "/subscriptions/s1");
        assert!(
            r.attrs.get("updatedOn").is_none(),
            "volatile fields are left out"
        );
        let built_in =
            json!({"name": "x", "properties": {"roleName": "Owner", "type": "BuiltInRole"}});
        assert!(role_definition(&built_in).is_none());
    }

    #[test]
    fn an_assignment_is_keyed_by_scope_role_and_principal_never_its_guid() {
        let a = json!({"id": "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/g1",
            "name": "g1", "properties": {"scope": "/subscriptions/s1", "principalId": "P1",
            "principalType": "Group", "roleDefinitionId": "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/R1",
            "condition": null, "description": "why", "createdOn": "2024"}});
        let r = role_assignment(&a, "Ops", true, Naming::Id).unwrap();
        assert_eq!(r.key, "/subscriptions/s1|Ops|p1");
        assert_eq!(
            split_assignment_key(&r.key),
            Some(("/subscriptions/s1", "Ops", "p1"))
        );
        assert_eq!(r.refs, vec![Ref::new("role", ROLE_DEFINITION, "r1")]);
        assert!(r.attrs.get("condition").is_none() && r.attrs["description"] == "why");
        assert!(
            role_assignment(&a, "Owner", false, Naming::Id)
                .unwrap()
                .refs
                .is_empty()
        );
    }

    #[test]
    fn with_its_name_in_the_directory_an_assignment_follows_the_principal() {
        let a = json!({"id": "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/g1",
            "properties": {"scope": "/subscriptions/s1", "principalId": "P1", "principalType": "Group",
            "roleDefinitionId": "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/R1"}});
        let group = Principal::Group {
            display_name: "Ops | Admins".into(),
            mail_nickname: "opsadmins".into(),
        };
        let r = role_assignment(&a, "A|B", false, Naming::Named(&group)).unwrap();
        assert_eq!(
            r.key,
            "/subscriptions/s1|A|B|group:Ops | Admins <opsadmins>"
        );
        assert!(r.attrs.get("principalId").is_none(), "{}", r.attrs);
        assert_eq!(r.attrs["principal"]["mailNickname"], "opsadmins");
        let (scope, role, principal) = split_assignment_key(&r.key).unwrap();
        assert_eq!((scope, role), ("/subscriptions/s1", "A|B"));
        assert_eq!(named_principal(principal), Some(group));
        assert_eq!(
            named_principal("0b1f6471-1bf0-4dda-aec3-cb9272f09590"),
            None
        );
        // A principal the directory lost: its assignment is another object than the one a
        // restore makes for it re-created.
        let orphan = role_assignment(&a, "Owner", false, Naming::Missing).unwrap();
        assert_eq!(orphan.key, "/subscriptions/s1|Owner|p1");
        assert_ne!(orphan.id, r.id);
        assert_eq!(arm_id(&orphan.id), r.id);
    }

    #[test]
    fn a_lock_is_keyed_by_its_id() {
        let id = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/locks/keep";
        let l = json!({"id": id, "name": "keep", "properties": {"level": "CanNotDelete", "notes": null}});
        let r = lock(&l).unwrap();
        assert_eq!(r.key, id);
        assert_eq!(
            r.attrs,
            json!({"scope": "/subscriptions/s1/resourceGroups/rg", "name": "keep", "level": "CanNotDelete"})
        );
    }

    #[test]
    fn a_deny_assignment_is_keyed_by_scope_and_name_with_principals_sorted() {
        let d = json!({"id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/denyAssignments/g",
            "name": "g", "properties": {"denyAssignmentName": "Managed app", "scope": "/subscriptions/s1/resourceGroups/rg",
            "permissions": [{"actions": ["*"], "notActions": ["*/read"]}],
            "principals": [{"id": "B", "type": "User"}, {"id": "a", "type": "Group"}],
            "isSystemProtected": true}});
        let r = deny_assignment(&d).unwrap();
        assert_eq!(r.key, "/subscriptions/s1/resourceGroups/rg|Managed app");
        assert_eq!(r.attrs["principals"][0]["id"], "a");
        assert_eq!(r.attrs["principals"][1]["id"], "b");
        assert_eq!(r.attrs["excludePrincipals"], json!([]));
    }
}
