//! Custom admin roles, resource sets and their bindings, as records.
//!
//! A custom role is keyed by its label and holds its permissions (sorted by label, each with
//! its conditions). A resource set is keyed by its label. Its resources name objects by id
//! inside ORNs and REST URLs (`…/api/v1/groups/{id}/users`): a resource of an object the
//! connector backs up (a group, the users of a group, a user, an app, an authorization
//! server) is kept as a ref only, its relation saying which form it takes, so that it is
//! compared and restored in key space; the others (all users, all apps, ORNs of services
//! iamsnap does not read) are kept in `resources` by their URL path, or their ORN when they
//! have no URL. A binding (`RESOURCE SET|ROLE`) names its set, its role and its members
//! (users and groups) by refs.

use iamsnap_provider::{ProviderError, Record, Ref};
use serde_json::{Value, json};

use super::{cleaned, required, str_at};
use crate::kinds::*;

/// The relation of a resource that is an object itself (`/api/v1/groups/{id}`).
pub(crate) const RESOURCE: &str = "resource";
/// The relation of a resource that is the users of a group (`/api/v1/groups/{id}/users`,
/// the ORN's `:contained_resources`).
pub(crate) const RESOURCE_USERS: &str = "resource_users";
/// The relation of a binding's members.
pub(crate) const MEMBER: &str = "member";

/// The URL path (and query) of the object a resource or binding member `href` names, off
/// the org (`https://org/api/v1/groups/00g1` → `/api/v1/groups/00g1`). The query stays: the
/// apps of one type are `/api/v1/apps?filter=name eq "…"`, not every app.
pub(crate) fn path_of(href: &str) -> String {
    match url::Url::parse(href) {
        Ok(u) => {
            let path = u.path().trim_end_matches('/');
            match u.query() {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            }
        }
        Err(_) => href.trim_end_matches('/').to_string(),
    }
}

/// The (relation, kind, id) of a resource path that names an object iamsnap backs up.
pub(crate) fn resource_target(path: &str) -> Option<(&'static str, &'static str, String)> {
    let rest = path.strip_prefix("/api/v1/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let found = match parts.as_slice() {
        ["groups", id] => (RESOURCE, GROUP, *id),
        ["groups", id, "users"] => (RESOURCE_USERS, GROUP, *id),
        ["users", id] => (RESOURCE, USER, *id),
        ["apps", id] => (RESOURCE, APP, *id),
        ["authorizationServers", id] => (RESOURCE, AUTH_SERVER, *id),
        _ => return None,
    };
    (!found.2.is_empty()).then(|| (found.0, found.1, found.2.to_string()))
}

/// The URL path of a resource ref (the inverse of [`resource_target`]).
pub(crate) fn resource_path(rel: &str, kind: &str, id: &str) -> Option<String> {
    let collection = match kind {
        GROUP => "groups",
        USER => "users",
        APP => "apps",
        AUTH_SERVER => "authorizationServers",
        _ => return None,
    };
    match (rel, kind) {
        (RESOURCE, _) => Some(format!("/api/v1/{collection}/{id}")),
        (RESOURCE_USERS, GROUP) => Some(format!("/api/v1/groups/{id}/users")),
        _ => None,
    }
}

/// The kind and id of a binding member's path (`/api/v1/users/{id}`, `/api/v1/groups/{id}`).
pub(crate) fn member_target(path: &str) -> Option<(&'static str, String)> {
    let rest = path.strip_prefix("/api/v1/")?;
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        ["users", id] if !id.is_empty() => Some((USER, id.to_string())),
        ["groups", id] if !id.is_empty() => Some((GROUP, id.to_string())),
        _ => None,
    }
}

/// The URL path of a binding member ref.
pub(crate) fn member_path(kind: &str, id: &str) -> Option<String> {
    match kind {
        USER => Some(format!("/api/v1/users/{id}")),
        GROUP => Some(format!("/api/v1/groups/{id}")),
        _ => None,
    }
}

/// A custom role with its permissions (as `GET …/permissions` lists them).
pub(crate) fn custom_role(v: Value, permissions: Vec<Value>) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", CUSTOM_ROLE)?.to_string();
    let label = required(&v, "/label", CUSTOM_ROLE)?.to_string();
    let mut permissions: Vec<Value> = permissions
        .into_iter()
        .map(|p| cleaned(p, &[]))
        .filter(|p| !str_at(p, "/label").is_empty())
        .collect();
    permissions.sort_by(|a, b| str_at(a, "/label").cmp(str_at(b, "/label")));
    let mut attrs = cleaned(v, &[]);
    attrs["permissions"] = Value::Array(permissions);
    Ok(Record::new(CUSTOM_ROLE, id, label, attrs, Vec::new()))
}

/// A resource of a set as the connector keeps it when it names no object it backs up: its
/// URL path (or its ORN when it has no URL) and its conditions.
pub(crate) fn kept_resource(v: &Value) -> Option<Value> {
    let href = str_at(v, "/_links/self/href");
    let mut kept = if href.is_empty() {
        json!({"orn": str_at(v, "/orn")})
    } else {
        let path = path_of(href);
        if resource_target(&path).is_some() {
            return None;
        }
        json!({"href": path})
    };
    if let Some(conditions) = v.get("conditions").filter(|c| !c.is_null()) {
        kept["conditions"] = conditions.clone();
    }
    Some(kept)
}

/// A resource set with its resources (as `GET …/resources` lists them).
pub(crate) fn resource_set(v: Value, resources: &[Value]) -> Result<Record, ProviderError> {
    let id = required(&v, "/id", RESOURCE_SET)?.to_string();
    let label = required(&v, "/label", RESOURCE_SET)?.to_string();
    let mut refs = Vec::new();
    let mut kept = Vec::new();
    for r in resources {
        let path = path_of(str_at(r, "/_links/self/href"));
        match resource_target(&path) {
            Some((rel, kind, target)) => refs.push(Ref::new(rel, kind, target)),
            None => kept.extend(kept_resource(r)),
        }
    }
    kept.sort_by_key(|r| r.to_string());
    kept.dedup();
    let mut attrs = cleaned(v, &[]);
    attrs["resources"] = Value::Array(kept);
    Ok(Record::new(RESOURCE_SET, id, label, attrs, refs))
}

/// What a binding belongs to: its resource set (id and label) and its role (id and label;
/// `custom` unless it is one of Okta's standard IAM roles, named by its type).
#[derive(Debug, Clone)]
pub(crate) struct BindingHead {
    pub set_id: String,
    pub set_label: String,
    pub role_id: String,
    pub role_label: String,
    pub custom: bool,
}

impl BindingHead {
    pub(crate) fn key(&self) -> String {
        format!("{}|{}", self.set_label, self.role_label)
    }
}

/// A binding of a role to a resource set with its members (as `GET …/members` lists them).
pub(crate) fn binding(head: &BindingHead, members: &[Value]) -> Record {
    let mut refs = vec![Ref::new("resource_set", RESOURCE_SET, &head.set_id)];
    if head.custom {
        refs.push(Ref::new("role", CUSTOM_ROLE, &head.role_id));
    }
    for m in members {
        if let Some((kind, id)) = member_target(&path_of(str_at(m, "/_links/self/href"))) {
            refs.push(Ref::new(MEMBER, kind, id));
        }
    }
    Record::new(
        RESOURCE_SET_BINDING,
        format!("{}:{}", head.set_id, head.role_id),
        head.key(),
        json!({"resourceSet": head.set_label, "role": head.role_label}),
        refs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_role_keeps_its_permissions_sorted_without_timestamps() {
        let role = json!({"id": "cr01", "label": "Help Desk Lite", "description": "d",
            "created": "x", "lastUpdated": "x", "_links": {}});
        let permissions = vec![
            json!({"label": "okta.users.read", "created": "x", "lastUpdated": "x", "_links": {}}),
            json!({"label": "okta.groups.read", "conditions": {"include": {"a": ["b"]}}, "_links": {}}),
        ];
        let r = custom_role(role, permissions).unwrap();
        assert_eq!(r.key, "Help Desk Lite");
        assert_eq!(
            r.attrs,
            json!({"label": "Help Desk Lite", "description": "d", "permissions": [
                {"label": "okta.groups.read", "conditions": {"include": {"a": ["b"]}}},
                {"label": "okta.users.read"}]})
        );
    }

    #[test]
    fn resources_of_backed_up_objects_are_refs_and_the_rest_paths_or_orns() {
        let set = json!({"id": "iam1", "label": "Team support", "description": "d", "_links": {}});
        let resource = |orn: &str, href: Option<&str>| {
            let mut v = json!({"id": "ire", "orn": orn, "created": "x"});
            if let Some(h) = href {
                v["_links"] = json!({"self": {"href": h}});
            }
            v
        };
        let resources = [
            resource(
                "orn:okta:directory:00o1:groups:00g1",
                Some("https://acme.okta.com/api/v1/groups/00g1"),
            ),
            resource(
                "orn:okta:directory:00o1:groups:00g1:contained_resources",
                Some("https://acme.okta.com/api/v1/groups/00g1/users"),
            ),
            resource(
                "orn:okta:idp:00o1:apps",
                Some("https://acme.okta.com/api/v1/apps"),
            ),
            resource(
                "orn:okta:idp:00o1:apps:salesforce",
                Some("https://acme.okta.com/api/v1/apps/?filter=name+eq+%22salesforce%22"),
            ),
            resource(
                "orn:okta:idp:00o1:authorization_servers:aus1",
                Some("https://acme.okta.com/api/v1/authorizationServers/aus1"),
            ),
            resource("orn:okta:workflow:00o1:flows", None),
        ];
        let r = resource_set(set, &resources).unwrap();
        assert_eq!(r.key, "Team support");
        assert_eq!(
            r.attrs["resources"],
            json!([{"href": "/api/v1/apps"},
                   {"href": "/api/v1/apps?filter=name+eq+%22salesforce%22"},
                   {"orn": "orn:okta:workflow:00o1:flows"}])
        );
        let refs: Vec<(&str, &str, &str)> = r
            .refs
            .iter()
            .map(|r| (r.rel.as_str(), r.kind.as_str(), r.id.as_str()))
            .collect();
        assert!(refs.contains(&(RESOURCE, GROUP, "00g1")));
        assert!(refs.contains(&(RESOURCE_USERS, GROUP, "00g1")));
        assert!(refs.contains(&(RESOURCE, AUTH_SERVER, "aus1")));
        for r in &r.refs {
            let path = resource_path(&r.rel, &r.kind, &r.id).unwrap();
            assert_eq!(resource_target(&path).unwrap().2, r.id);
        }
    }

    #[test]
    fn a_binding_is_keyed_by_set_and_role_and_names_its_members() {
        let head = BindingHead {
            set_id: "iam1".into(),
            set_label: "Team support".into(),
            role_id: "cr01".into(),
            role_label: "Help Desk Lite".into(),
            custom: true,
        };
        let members = [
            json!({"id": "irb1", "_links": {"self": {"href": "https://x/api/v1/users/00u1"}}}),
            json!({"id": "irb2", "_links": {"self": {"href": "https://x/api/v1/groups/00g2"}}}),
        ];
        let r = binding(&head, &members);
        assert_eq!(r.key, "Team support|Help Desk Lite");
        assert!(r.refs.contains(&Ref::new(MEMBER, USER, "00u1")));
        assert!(r.refs.contains(&Ref::new(MEMBER, GROUP, "00g2")));
        assert_eq!(r.target("role").unwrap().id, "cr01");
    }
}
