//! Custom admin roles, resource sets and their bindings (`/api/v1/iam/…`), and the custom
//! role assignments of users and groups that bindings are.
//!
//! As the reference says: lists are paged in their bodies (`{"roles": […], "_links":
//! {"next": {"href": …}}}`, 100 a page, `after` the cursor); roles and resource sets are found
//! by id or label; a role is created with its permissions, each permission's conditions
//! replaced on its own; a resource set needs at least one resource, named by REST URL or ORN
//! (a group, the users of a group, a user, an app, an authorization server, or a whole
//! collection), and gains resources with `PATCH …/resources`; a binding names a role and
//! members (REST URLs of users and groups), gains members with `PATCH …/members`, and goes
//! with its last member. A member of a binding holds a `CUSTOM` role assignment, listed with
//! the user's or group's other roles under the member's id; assigning one
//! (`POST /users/{id}/roles` with `type: CUSTOM`, `role`, `resource-set`) adds the member.
//! A role or resource set with bindings cannot be deleted (the emulator refuses, as the Admin
//! Console does); deleting a user, group, app or authorization server takes it out of every
//! resource set and binding. The host of a REST URL is not checked, only its path: the
//! emulated org may be reached through a proxy.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::Shared;
use super::api::{ApiError, ApiResult, Params, json_body, limit, link_url, no_content, ok};
use super::model::{Org, ts};
use super::read::Holder;

type S = State<Arc<Shared>>;
type Q = Query<Params>;

const ROLES: &str = "/api/v1/iam/roles";
const SETS: &str = "/api/v1/iam/resource-sets";
/// The tenant of the emulated org's ORNs.
const TENANT: &str = "00o1emulated";
/// Items per page of every IAM list.
const PAGE: usize = 100;

/// The custom roles and resource sets of an org.
#[derive(Debug, Clone, Default)]
pub(crate) struct Iam {
    roles: BTreeMap<String, CustomRole>,
    sets: BTreeMap<String, ResourceSet>,
    /// The org's administrators may not use custom roles: the IAM lists answer 403.
    disabled: bool,
}

impl Org {
    /// Answers the custom role and resource set lists with 403 `E0000006`, as for a token
    /// whose administrator may not read them.
    pub fn disable_custom_roles(&mut self) {
        self.iam.disabled = true;
    }
}

/// 403 when the org's custom roles are out of the token's reach.
fn readable(org: &Org) -> Result<(), ApiError> {
    if org.iam.disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct CustomRole {
    id: String,
    label: String,
    description: String,
    created: String,
    last_updated: String,
    /// By permission label: its conditions and when it was granted.
    permissions: BTreeMap<String, (Option<Value>, String)>,
}

#[derive(Debug, Clone)]
struct ResourceSet {
    id: String,
    label: String,
    description: String,
    created: String,
    last_updated: String,
    /// By resource id (`ire…`).
    resources: BTreeMap<String, Resource>,
    /// By role id: the members by member id (`irb…`).
    bindings: BTreeMap<String, BTreeMap<String, Member>>,
}

/// What a resource names: an object of the org (kind and id) or a whole collection, by URL
/// path, or only by ORN.
#[derive(Debug, Clone, PartialEq)]
struct Resource {
    orn: String,
    /// The REST URL path, for resources that have one.
    path: Option<String>,
    /// The object it names, to take it out when the object is deleted.
    object: Option<(Kind, String)>,
    conditions: Option<Value>,
    created: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Group,
    App,
    AuthServer,
}

#[derive(Debug, Clone)]
struct Member {
    holder: Holder,
    id: String,
    created: String,
}

impl Member {
    fn path(&self) -> String {
        format!("/api/v1/{}/{}", self.holder.path(), self.id)
    }
}

fn validation(field: &str, cause: impl Into<String>) -> ApiError {
    ApiError::validation(field, format!("{field}: {}", cause.into()))
}

impl Iam {
    fn role(&self, id_or_label: &str) -> Result<&CustomRole, ApiError> {
        self.roles
            .get(id_or_label)
            .or_else(|| self.roles.values().find(|r| r.label == id_or_label))
            .ok_or_else(|| ApiError::not_found(id_or_label, "Role"))
    }

    fn role_id(&self, id_or_label: &str) -> Result<String, ApiError> {
        self.role(id_or_label).map(|r| r.id.clone())
    }

    fn set_id(&self, id_or_label: &str) -> Result<String, ApiError> {
        self.sets
            .get(id_or_label)
            .or_else(|| self.sets.values().find(|s| s.label == id_or_label))
            .map(|s| s.id.clone())
            .ok_or_else(|| ApiError::not_found(id_or_label, "ResourceSet"))
    }

    fn bound(&self, role: Option<&str>, set: Option<&str>) -> usize {
        self.sets
            .values()
            .filter(|s| set.is_none_or(|id| s.id == id))
            .flat_map(|s| s.bindings.keys())
            .filter(|r| role.is_none_or(|id| *r == id))
            .count()
    }

    /// Custom role assignments in all, as the org's counts have them.
    pub(crate) fn assignments_count(&self) -> usize {
        self.sets
            .values()
            .flat_map(|s| s.bindings.values())
            .map(BTreeMap::len)
            .sum()
    }

    pub(crate) fn roles_count(&self) -> usize {
        self.roles.len()
    }

    pub(crate) fn sets_count(&self) -> usize {
        self.sets.len()
    }

    pub(crate) fn bindings_count(&self) -> usize {
        self.bound(None, None)
    }

    /// The users (or groups) that hold a custom role (the assignees list names them).
    pub(crate) fn holders(&self, holder: Holder) -> std::collections::BTreeSet<String> {
        self.sets
            .values()
            .flat_map(|s| s.bindings.values())
            .flat_map(BTreeMap::values)
            .filter(|m| m.holder == holder)
            .map(|m| m.id.clone())
            .collect()
    }

    /// The custom role assignments of a user or group, as its roles list shows them.
    pub(crate) fn assignments(&self, base: &str, holder: Holder, id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for set in self.sets.values() {
            for (role, members) in &set.bindings {
                for (member_id, m) in members {
                    if m.holder != holder || m.id != id {
                        continue;
                    }
                    let label = self.roles.get(role).map_or(role.as_str(), |r| &r.label);
                    out.push(assignment_json(base, set, role, label, member_id, m));
                }
            }
        }
        out
    }

    /// Takes a deleted object out of every resource set and binding; a binding left without
    /// members goes.
    pub(crate) fn forget(&mut self, kind: Kind, id: &str) {
        for set in self.sets.values_mut() {
            set.resources
                .retain(|_, r| r.object.as_ref().is_none_or(|(k, o)| *k != kind || o != id));
            let holder = match kind {
                Kind::User => Holder::User,
                Kind::Group => Holder::Group,
                _ => continue,
            };
            for members in set.bindings.values_mut() {
                members.retain(|_, m| m.holder != holder || m.id != id);
            }
            set.bindings.retain(|_, m| !m.is_empty());
        }
    }
}

fn assignment_json(
    base: &str,
    set: &ResourceSet,
    role: &str,
    label: &str,
    member_id: &str,
    m: &Member,
) -> Value {
    json!({
        "id": member_id, "role": role, "label": label, "type": "CUSTOM", "status": "ACTIVE",
        "created": m.created, "lastUpdated": m.created,
        "assignmentType": if m.holder == Holder::User { "USER" } else { "GROUP" },
        "resource-set": set.id,
        "_links": {
            "assignee": {"href": format!("{base}{}", m.path())},
            "resource-set": {"href": format!("{base}{SETS}/{}", set.id)},
            "role": {"href": format!("{base}{ROLES}/{role}")},
            "permissions": {"href": format!("{base}{ROLES}/{role}/permissions")},
            "member": {"href": format!("{base}{SETS}/{}/bindings/{role}/members/{member_id}", set.id)},
        },
    })
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(ROLES, get(list_roles).post(create_role))
        .route(
            &format!("{ROLES}/{{role}}"),
            get(get_role).put(replace_role).delete(delete_role),
        )
        .route(
            &format!("{ROLES}/{{role}}/permissions"),
            get(list_permissions),
        )
        .route(
            &format!("{ROLES}/{{role}}/permissions/{{permission}}"),
            get(get_permission)
                .post(create_permission)
                .put(replace_permission)
                .delete(delete_permission),
        )
        .route(SETS, get(list_sets).post(create_set))
        .route(
            &format!("{SETS}/{{set}}"),
            get(get_set).put(replace_set).delete(delete_set),
        )
        .route(
            &format!("{SETS}/{{set}}/resources"),
            get(list_resources).patch(add_resources).post(add_resource),
        )
        .route(
            &format!("{SETS}/{{set}}/resources/{{resource}}"),
            get(get_resource)
                .put(replace_resource)
                .delete(delete_resource),
        )
        .route(
            &format!("{SETS}/{{set}}/bindings"),
            get(list_bindings).post(create_binding),
        )
        .route(
            &format!("{SETS}/{{set}}/bindings/{{role}}"),
            get(get_binding).delete(delete_binding),
        )
        .route(
            &format!("{SETS}/{{set}}/bindings/{{role}}/members"),
            get(list_members).patch(add_members_to_binding),
        )
        .route(
            &format!("{SETS}/{{set}}/bindings/{{role}}/members/{{member}}"),
            get(get_member).delete(delete_member),
        )
}

/// One page of `items` (sorted by id) after the `after` cursor, as `{field: […], _links}`;
/// `links` are the page's other links.
fn body_page(
    org: &Org,
    path: &str,
    p: &Params,
    field: &str,
    items: Vec<(String, Value)>,
    mut links: Value,
) -> ApiResult {
    let limit = limit(p, PAGE, PAGE);
    let after = p.get("after");
    let mut rest = items
        .into_iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()));
    let page: Vec<(String, Value)> = rest.by_ref().take(limit).collect();
    links["self"] = json!({"href": format!("{}{path}", org.base)});
    if rest.next().is_some()
        && let Some((last, _)) = page.last()
    {
        links["next"] = json!({"href": link_url(&org.base, path, p, limit, Some(last))});
    }
    let values: Vec<Value> = page.into_iter().map(|(_, v)| v).collect();
    ok(json!({field: values, "_links": links}))
}

fn role_json(base: &str, r: &CustomRole) -> Value {
    json!({
        "id": r.id, "label": r.label, "description": r.description,
        "created": r.created, "lastUpdated": r.last_updated,
        "_links": {"self": {"href": format!("{base}{ROLES}/{}", r.id)},
                   "permissions": {"href": format!("{base}{ROLES}/{}/permissions", r.id)}},
    })
}

fn permission_json(base: &str, role: &CustomRole, label: &str) -> Value {
    let (conditions, created) = &role.permissions[label];
    let mut v = json!({
        "label": label, "created": created, "lastUpdated": created,
        "_links": {"role": {"href": format!("{base}{ROLES}/{}", role.id)},
                   "self": {"href": format!("{base}{ROLES}/{}/permissions/{label}", role.id)}},
    });
    if let Some(c) = conditions {
        v["conditions"] = c.clone();
    }
    v
}

/// A permission Okta knows: `okta.` and at least two more dotted parts.
fn valid_permission(label: &str) -> bool {
    label.starts_with("okta.") && label.split('.').count() >= 3 && !label.contains(' ')
}

fn label_and_description(body: &Value) -> Result<(String, String), ApiError> {
    let field = |name: &str| {
        body[name]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| validation(name, "The field cannot be left blank"))
    };
    Ok((field("label")?, field("description")?))
}

async fn list_roles(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    readable(&org)?;
    let items = org
        .iam
        .roles
        .values()
        .map(|r| (r.id.clone(), role_json(&org.base, r)))
        .collect();
    body_page(&org, ROLES, &p, "roles", items, json!({}))
}

async fn create_role(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let (label, description) = label_and_description(&body)?;
    if org.iam.roles.values().any(|r| r.label == label) {
        return Err(super::write::duplicate("label"));
    }
    let permissions: Vec<&str> = body["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if permissions.is_empty() {
        return Err(validation(
            "permissions",
            "At least one permission is required",
        ));
    }
    if let Some(bad) = permissions.iter().find(|p| !valid_permission(p)) {
        return Err(validation(
            "permissions",
            format!("Invalid permission {bad}"),
        ));
    }
    let id = org.new_id("cr0");
    let now = ts(org.write_time());
    let role = CustomRole {
        id: id.clone(),
        label,
        description,
        created: now.clone(),
        last_updated: now.clone(),
        permissions: permissions
            .iter()
            .map(|p| (p.to_string(), (None, now.clone())))
            .collect(),
    };
    let v = role_json(&org.base, &role);
    org.iam.roles.insert(id, role);
    ok(v)
}

async fn get_role(State(s): S, Path(role): Path<String>) -> ApiResult {
    let org = s.read();
    ok(role_json(&org.base, org.iam.role(&role)?))
}

async fn replace_role(State(s): S, Path(role): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.role_id(&role)?;
    let (label, description) = label_and_description(&body)?;
    if org
        .iam
        .roles
        .values()
        .any(|r| r.label == label && r.id != id)
    {
        return Err(super::write::duplicate("label"));
    }
    let now = ts(org.write_time());
    let base = org.base.clone();
    let r = org.iam.roles.get_mut(&id).expect("found");
    r.label = label;
    r.description = description;
    r.last_updated = now;
    ok(role_json(&base, r))
}

fn in_use(what: &str, n: usize) -> ApiError {
    ApiError::validation(
        what,
        format!("{what}: it is bound to admins through {n} binding(s); delete the bindings first"),
    )
}

async fn delete_role(State(s): S, Path(role): Path<String>) -> ApiResult {
    let mut org = s.write();
    let id = org.iam.role_id(&role)?;
    match org.iam.bound(Some(&id), None) {
        0 => {
            org.iam.roles.remove(&id);
            no_content()
        }
        n => Err(in_use("role", n)),
    }
}

async fn list_permissions(State(s): S, Path(role): Path<String>) -> ApiResult {
    let org = s.read();
    let r = org.iam.role(&role)?;
    let items: Vec<Value> = r
        .permissions
        .keys()
        .map(|label| permission_json(&org.base, r, label))
        .collect();
    ok(json!({"permissions": items}))
}

async fn get_permission(
    State(s): S,
    Path((role, permission)): Path<(String, String)>,
) -> ApiResult {
    let org = s.read();
    let r = org.iam.role(&role)?;
    if !r.permissions.contains_key(&permission) {
        return Err(ApiError::not_found(&permission, "Permission"));
    }
    ok(permission_json(&org.base, r, &permission))
}

/// The `conditions` of a permission request body, if any.
fn conditions(body: &Value) -> Option<Value> {
    body.get("conditions").filter(|c| !c.is_null()).cloned()
}

async fn create_permission(
    State(s): S,
    Path((role, permission)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.role_id(&role)?;
    if !valid_permission(&permission) {
        return Err(validation(
            "permissionType",
            format!("Invalid permission {permission}"),
        ));
    }
    let now = ts(org.write_time());
    let r = org.iam.roles.get_mut(&id).expect("found");
    if r.permissions.contains_key(&permission) {
        return Err(validation(
            "permissionType",
            format!("The role already grants {permission}"),
        ));
    }
    r.permissions
        .insert(permission, (conditions(&body), now.clone()));
    r.last_updated = now;
    no_content()
}

async fn replace_permission(
    State(s): S,
    Path((role, permission)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.role_id(&role)?;
    let base = org.base.clone();
    let r = org.iam.roles.get_mut(&id).expect("found");
    let Some(p) = r.permissions.get_mut(&permission) else {
        return Err(ApiError::not_found(&permission, "Permission"));
    };
    p.0 = conditions(&body);
    ok(permission_json(&base, r, &permission))
}

async fn delete_permission(
    State(s): S,
    Path((role, permission)): Path<(String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let id = org.iam.role_id(&role)?;
    let r = org.iam.roles.get_mut(&id).expect("found");
    if r.permissions.remove(&permission).is_none() {
        return Err(ApiError::not_found(&permission, "Permission"));
    }
    no_content()
}

fn set_json(base: &str, s: &ResourceSet) -> Value {
    json!({
        "id": s.id, "label": s.label, "description": s.description,
        "created": s.created, "lastUpdated": s.last_updated,
        "_links": {"self": {"href": format!("{base}{SETS}/{}", s.id)},
                   "resources": {"href": format!("{base}{SETS}/{}/resources", s.id)},
                   "bindings": {"href": format!("{base}{SETS}/{}/bindings", s.id)}},
    })
}

fn resource_json(base: &str, set: &str, id: &str, r: &Resource) -> Value {
    let mut links = json!({"resource": {"href": format!("{base}{SETS}/{set}/resources/{id}")}});
    if let Some(path) = &r.path {
        links["self"] = json!({"href": format!("{base}{path}")});
        let collection = path.trim_start_matches("/api/v1/");
        if matches!(collection, "users" | "groups") {
            links[collection] = json!({"href": format!("{base}{path}")});
        }
    }
    let mut v = json!({"id": id, "orn": r.orn, "created": r.created, "lastUpdated": r.created,
                       "_links": links});
    if let Some(c) = &r.conditions {
        v["conditions"] = c.clone();
    }
    v
}

/// What a resource value names: its REST URL path (if it has one), its ORN, and the object
/// of the org it is.
type Parsed = (Option<String>, String, Option<(Kind, String)>);

/// The apps of one type (an OIN app's key name), in both forms.
fn apps_of_type(app_type: &str) -> Parsed {
    let filter: String =
        url::form_urlencoded::byte_serialize(format!("name eq \"{app_type}\"").as_bytes())
            .collect();
    (
        Some(format!("/api/v1/apps?filter={filter}")),
        format!("orn:okta:idp:{TENANT}:apps:{app_type}"),
        None,
    )
}

/// The path, ORN and object of a resource named by REST URL or ORN, if the org has it.
fn parse_resource(org: &Org, value: &str) -> Result<Parsed, ApiError> {
    let invalid = || validation("resources", format!("{value} is not a valid resource"));
    let orn = |service: &str, rest: &str| format!("orn:okta:{service}:{TENANT}:{rest}");
    let exists = |kind: Kind, id: &str| match kind {
        Kind::User => org.users.contains_key(id),
        Kind::Group => org.groups.contains_key(id),
        Kind::App => org.apps.contains_key(id),
        Kind::AuthServer => org.auth_servers.contains_key(id),
    };
    // Both forms are brought to the segments after the tenant.
    let segments: Vec<String> = if let Some(rest) = value.strip_prefix("orn:") {
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() < 4 || parts[2] != TENANT {
            return Err(invalid());
        }
        let known = matches!(
            (parts[1], parts[3]),
            ("directory", "users" | "groups") | ("idp", "apps" | "authorization_servers")
        );
        if !known {
            // A resource of a service the emulator does not hold (workflows, customizations):
            // kept by its ORN.
            return Ok((None, value.to_string(), None));
        }
        if let ["apps", app_type] = &parts[3..] {
            return Ok(apps_of_type(app_type));
        }
        parts[3..].iter().map(|s| s.to_string()).collect()
    } else {
        let url = url::Url::parse(value).map_err(|_| invalid())?;
        let path = url.path().trim_end_matches('/');
        // The apps of one type: `/api/v1/apps?filter=name eq "…"`.
        if path == "/api/v1/apps"
            && let Some((_, filter)) = url.query_pairs().find(|(k, _)| k == "filter")
        {
            let app_type = filter
                .strip_prefix("name eq \"")
                .and_then(|f| f.strip_suffix('"'))
                .ok_or_else(invalid)?;
            return Ok(apps_of_type(app_type));
        }
        let rest = path.strip_prefix("/api/v1/").ok_or_else(invalid)?;
        let mut parts: Vec<String> = rest.split('/').map(str::to_string).collect();
        if parts.first().map(String::as_str) == Some("authorizationServers") {
            parts[0] = "authorization_servers".into();
        }
        if parts.len() == 3 && parts[0] == "groups" && parts[2] == "users" {
            parts[2] = "contained_resources".into();
        }
        parts
    };
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (path, orn, object) = match s.as_slice() {
        ["users"] => ("/api/v1/users".to_string(), orn("directory", "users"), None),
        ["groups"] => (
            "/api/v1/groups".to_string(),
            orn("directory", "groups"),
            None,
        ),
        ["apps"] => ("/api/v1/apps".to_string(), orn("idp", "apps"), None),
        ["authorization_servers"] => (
            "/api/v1/authorizationServers".to_string(),
            orn("idp", "authorization_servers"),
            None,
        ),
        ["users", id] => (
            format!("/api/v1/users/{id}"),
            orn("directory", &format!("users:{id}")),
            Some((Kind::User, id.to_string())),
        ),
        ["groups", id] => (
            format!("/api/v1/groups/{id}"),
            orn("directory", &format!("groups:{id}")),
            Some((Kind::Group, id.to_string())),
        ),
        ["groups", id, "contained_resources"] => (
            format!("/api/v1/groups/{id}/users"),
            orn("directory", &format!("groups:{id}:contained_resources")),
            Some((Kind::Group, id.to_string())),
        ),
        // A REST URL names an app by id; an ORN by its key name and id.
        ["apps", id] | ["apps", _, id] => {
            let name = org
                .apps
                .get(*id)
                .and_then(|a| a["name"].as_str())
                .unwrap_or_default();
            (
                format!("/api/v1/apps/{id}"),
                orn("idp", &format!("apps:{name}:{id}")),
                Some((Kind::App, id.to_string())),
            )
        }
        ["authorization_servers", id] => (
            format!("/api/v1/authorizationServers/{id}"),
            orn("idp", &format!("authorization_servers:{id}")),
            Some((Kind::AuthServer, id.to_string())),
        ),
        _ => return Err(invalid()),
    };
    if let Some((kind, id)) = &object
        && !exists(*kind, id)
    {
        return Err(invalid());
    }
    Ok((Some(path), orn, object))
}

/// Adds resources named by REST URL or ORN to set `id`; those it holds already are skipped.
fn add_to_set(
    org: &mut Org,
    set: &str,
    values: &[String],
    conditions: Option<Value>,
) -> Result<Vec<String>, ApiError> {
    let mut parsed = Vec::new();
    for v in values {
        parsed.push(parse_resource(org, v)?);
    }
    let now = ts(org.write_time());
    let mut added = Vec::new();
    for (path, orn, object) in parsed {
        let rid = org.new_id("ire");
        let s = org.iam.sets.get_mut(set).expect("found");
        if s.resources.values().any(|r| r.orn == orn) {
            continue;
        }
        s.resources.insert(
            rid.clone(),
            Resource {
                orn,
                path,
                object,
                conditions: conditions.clone(),
                created: now.clone(),
            },
        );
        s.last_updated = now.clone();
        added.push(rid);
    }
    Ok(added)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

async fn list_sets(State(s): S, Query(p): Q) -> ApiResult {
    let org = s.read();
    readable(&org)?;
    let items = org
        .iam
        .sets
        .values()
        .map(|set| (set.id.clone(), set_json(&org.base, set)))
        .collect();
    body_page(&org, SETS, &p, "resource-sets", items, json!({}))
}

async fn create_set(State(s): S, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let (label, description) = label_and_description(&body)?;
    if org.iam.sets.values().any(|s| s.label == label) {
        return Err(super::write::duplicate("label"));
    }
    let resources = strings(&body["resources"]);
    if resources.is_empty() {
        return Err(validation("resources", "At least one resource is required"));
    }
    for r in &resources {
        parse_resource(&org, r)?;
    }
    let id = org.new_id("iam");
    let now = ts(org.write_time());
    org.iam.sets.insert(
        id.clone(),
        ResourceSet {
            id: id.clone(),
            label,
            description,
            created: now.clone(),
            last_updated: now,
            resources: BTreeMap::new(),
            bindings: BTreeMap::new(),
        },
    );
    add_to_set(&mut org, &id, &resources, None)?;
    ok(set_json(&org.base, &org.iam.sets[&id]))
}

async fn get_set(State(s): S, Path(set): Path<String>) -> ApiResult {
    let org = s.read();
    let id = org.iam.set_id(&set)?;
    ok(set_json(&org.base, &org.iam.sets[&id]))
}

async fn replace_set(State(s): S, Path(set): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let (label, description) = label_and_description(&body)?;
    if org
        .iam
        .sets
        .values()
        .any(|s| s.label == label && s.id != id)
    {
        return Err(super::write::duplicate("label"));
    }
    let now = ts(org.write_time());
    let base = org.base.clone();
    let s = org.iam.sets.get_mut(&id).expect("found");
    s.label = label;
    s.description = description;
    s.last_updated = now;
    ok(set_json(&base, s))
}

async fn delete_set(State(s): S, Path(set): Path<String>) -> ApiResult {
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    match org.iam.bound(None, Some(&id)) {
        0 => {
            org.iam.sets.remove(&id);
            no_content()
        }
        n => Err(in_use("resource set", n)),
    }
}

async fn list_resources(State(s): S, Path(set): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let id = org.iam.set_id(&set)?;
    let items = org.iam.sets[&id]
        .resources
        .iter()
        .map(|(rid, r)| (rid.clone(), resource_json(&org.base, &id, rid, r)))
        .collect();
    let links = json!({"resource-set": {"href": format!("{}{SETS}/{id}", org.base)}});
    let path = format!("{SETS}/{id}/resources");
    body_page(&org, &path, &p, "resources", items, links)
}

async fn add_resources(State(s): S, Path(set): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let additions = strings(&body["additions"]);
    if additions.is_empty() {
        return Err(validation("additions", "At least one resource is required"));
    }
    add_to_set(&mut org, &id, &additions, None)?;
    ok(set_json(&org.base, &org.iam.sets[&id]))
}

async fn add_resource(State(s): S, Path(set): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let Some(value) = body["resourceOrnOrUrl"].as_str().map(str::to_string) else {
        return Err(validation(
            "resourceOrnOrUrl",
            "The field cannot be left blank",
        ));
    };
    let added = add_to_set(&mut org, &id, &[value], conditions(&body))?;
    let Some(rid) = added.first() else {
        return Err(validation(
            "resourceOrnOrUrl",
            "The resource set holds it already",
        ));
    };
    let r = &org.iam.sets[&id].resources[rid];
    ok(resource_json(&org.base, &id, rid, r))
}

async fn get_resource(State(s): S, Path((set, rid)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let id = org.iam.set_id(&set)?;
    let r = org.iam.sets[&id]
        .resources
        .get(&rid)
        .ok_or_else(|| ApiError::not_found(&rid, "ResourceSetResource"))?;
    ok(resource_json(&org.base, &id, &rid, r))
}

async fn replace_resource(
    State(s): S,
    Path((set, rid)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let base = org.base.clone();
    let r = org
        .iam
        .sets
        .get_mut(&id)
        .expect("found")
        .resources
        .get_mut(&rid)
        .ok_or_else(|| ApiError::not_found(&rid, "ResourceSetResource"))?;
    r.conditions = conditions(&body);
    let r = r.clone();
    ok(resource_json(&base, &id, &rid, &r))
}

async fn delete_resource(State(s): S, Path((set, rid)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let s = org.iam.sets.get_mut(&id).expect("found");
    if s.resources.remove(&rid).is_none() {
        return Err(ApiError::not_found(&rid, "ResourceSetResource"));
    }
    no_content()
}

/// A binding member named by REST URL: a user or group of the org.
fn parse_member(org: &Org, value: &str) -> Result<(Holder, String), ApiError> {
    let invalid = || {
        validation(
            "members",
            format!("{value} is not a user or group of the org"),
        )
    };
    let url = url::Url::parse(value).map_err(|_| invalid())?;
    let parts: Vec<&str> = url.path().trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        ["", "api", "v1", "users", id] if org.users.contains_key(*id) => {
            Ok((Holder::User, id.to_string()))
        }
        ["", "api", "v1", "groups", id] if org.groups.contains_key(*id) => {
            Ok((Holder::Group, id.to_string()))
        }
        _ => Err(invalid()),
    }
}

/// Makes members of the binding of `role` to `set` (created if absent); those it holds
/// already are skipped. The member ids added.
fn add_members(org: &mut Org, set: &str, role: &str, members: &[(Holder, String)]) -> Vec<String> {
    let now = ts(org.write_time());
    let mut added = Vec::new();
    for (holder, id) in members {
        let member_id = org.new_id("irb");
        let binding = org
            .iam
            .sets
            .get_mut(set)
            .expect("found")
            .bindings
            .entry(role.to_string())
            .or_default();
        if binding.values().any(|m| m.holder == *holder && m.id == *id) {
            continue;
        }
        binding.insert(
            member_id.clone(),
            Member {
                holder: *holder,
                id: id.clone(),
                created: now.clone(),
            },
        );
        added.push(member_id);
    }
    added
}

fn binding_links(base: &str, set: &str, role: &str) -> Value {
    json!({"self": {"href": format!("{base}{SETS}/{set}/bindings/{role}")},
           "bindings": {"href": format!("{base}{SETS}/{set}/bindings")},
           "resource-set": {"href": format!("{base}{SETS}/{set}")}})
}

async fn list_bindings(State(s): S, Path(set): Path<String>, Query(p): Q) -> ApiResult {
    let org = s.read();
    let id = org.iam.set_id(&set)?;
    let base = &org.base;
    let items = org.iam.sets[&id]
        .bindings
        .keys()
        .map(|role| {
            let v = json!({"id": role, "_links": {
                "self": {"href": format!("{base}{ROLES}/{role}")},
                "members": {"href": format!("{base}{SETS}/{id}/bindings/{role}/members")}}});
            (role.clone(), v)
        })
        .collect();
    let links = json!({"resource-set": {"href": format!("{base}{SETS}/{id}")}});
    body_page(
        &org,
        &format!("{SETS}/{id}/bindings"),
        &p,
        "roles",
        items,
        links,
    )
}

/// The id of a binding's role: a custom role by id or label, or one of Okta's standard IAM
/// roles (named by its type), which the emulator does not hold.
fn binding_role(org: &Org, role: &str) -> Result<String, ApiError> {
    org.iam.role_id(role)
}

async fn create_binding(State(s): S, Path(set): Path<String>, body: Bytes) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let id = org.iam.set_id(&set)?;
    let Some(role) = body["role"].as_str() else {
        return Err(validation("role", "The field cannot be left blank"));
    };
    let role = binding_role(&org, role)?;
    if org.iam.sets[&id].bindings.contains_key(&role) {
        return Err(validation(
            "role",
            "The role is bound to this resource set already; add members to its binding",
        ));
    }
    let values = strings(&body["members"]);
    if values.is_empty() {
        return Err(validation("members", "At least one member is required"));
    }
    let members = values
        .iter()
        .map(|v| parse_member(&org, v))
        .collect::<Result<Vec<_>, _>>()?;
    add_members(&mut org, &id, &role, &members);
    ok(json!({"_links": binding_links(&org.base, &id, &role)}))
}

/// The set and role ids of a binding that exists.
fn binding_of(org: &Org, set: &str, role: &str) -> Result<(String, String), ApiError> {
    let id = org.iam.set_id(set)?;
    let role_id = org.iam.role_id(role).unwrap_or_else(|_| role.to_string());
    if !org.iam.sets[&id].bindings.contains_key(&role_id) {
        return Err(ApiError::not_found(role, "ResourceSetBinding"));
    }
    Ok((id, role_id))
}

async fn get_binding(State(s): S, Path((set, role)): Path<(String, String)>) -> ApiResult {
    let org = s.read();
    let (id, role) = binding_of(&org, &set, &role)?;
    let base = &org.base;
    ok(json!({"id": role, "_links": {
        "self": {"href": format!("{base}{SETS}/{id}/bindings/{role}")},
        "members": {"href": format!("{base}{SETS}/{id}/bindings/{role}/members")},
        "resource-set": {"href": format!("{base}{SETS}/{id}")}}}))
}

async fn delete_binding(State(s): S, Path((set, role)): Path<(String, String)>) -> ApiResult {
    let mut org = s.write();
    let (id, role) = binding_of(&org, &set, &role)?;
    org.iam
        .sets
        .get_mut(&id)
        .expect("found")
        .bindings
        .remove(&role);
    no_content()
}

fn member_json(base: &str, member_id: &str, m: &Member) -> Value {
    json!({"id": member_id, "created": m.created, "lastUpdated": m.created,
           "_links": {"self": {"href": format!("{base}{}", m.path())}}})
}

async fn list_members(
    State(s): S,
    Path((set, role)): Path<(String, String)>,
    Query(p): Q,
) -> ApiResult {
    let org = s.read();
    let (id, role) = binding_of(&org, &set, &role)?;
    let items = org.iam.sets[&id].bindings[&role]
        .iter()
        .map(|(mid, m)| (mid.clone(), member_json(&org.base, mid, m)))
        .collect();
    let links = json!({"binding": {"href": format!("{}{SETS}/{id}/bindings/{role}", org.base)}});
    let path = format!("{SETS}/{id}/bindings/{role}/members");
    body_page(&org, &path, &p, "members", items, links)
}

async fn add_members_to_binding(
    State(s): S,
    Path((set, role)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_body(&body)?;
    let mut org = s.write();
    let (id, role) = binding_of(&org, &set, &role)?;
    let values = strings(&body["additions"]);
    if values.is_empty() {
        return Err(validation("additions", "At least one member is required"));
    }
    let members = values
        .iter()
        .map(|v| parse_member(&org, v))
        .collect::<Result<Vec<_>, _>>()?;
    add_members(&mut org, &id, &role, &members);
    ok(json!({"_links": binding_links(&org.base, &id, &role)}))
}

async fn get_member(
    State(s): S,
    Path((set, role, member)): Path<(String, String, String)>,
) -> ApiResult {
    let org = s.read();
    let (id, role) = binding_of(&org, &set, &role)?;
    let m = org.iam.sets[&id].bindings[&role]
        .get(&member)
        .ok_or_else(|| ApiError::not_found(&member, "ResourceSetBindingMember"))?;
    ok(member_json(&org.base, &member, m))
}

/// Takes member `member` out of the binding of `role` to `set`; the binding goes with its
/// last member.
fn remove_member(org: &mut Org, set: &str, role: &str, member: &str) -> bool {
    let Some(s) = org.iam.sets.get_mut(set) else {
        return false;
    };
    let Some(binding) = s.bindings.get_mut(role) else {
        return false;
    };
    let removed = binding.remove(member).is_some();
    if binding.is_empty() {
        s.bindings.remove(role);
    }
    removed
}

async fn delete_member(
    State(s): S,
    Path((set, role, member)): Path<(String, String, String)>,
) -> ApiResult {
    let mut org = s.write();
    let (id, role) = binding_of(&org, &set, &role)?;
    if !remove_member(&mut org, &id, &role, &member) {
        return Err(ApiError::not_found(&member, "ResourceSetBindingMember"));
    }
    no_content()
}

/// `POST /users/{id}/roles` (or a group's) with `type: CUSTOM`: makes the principal a member
/// of the binding of `role` to `resource-set`.
pub(crate) fn assign(org: &mut Org, holder: Holder, principal: &str, body: &Value) -> ApiResult {
    let (Some(role), Some(set)) = (body["role"].as_str(), body["resource-set"].as_str()) else {
        return Err(validation(
            "role",
            "A CUSTOM role assignment needs its role and resource-set",
        ));
    };
    let role = org.iam.role_id(role)?;
    let set = org.iam.set_id(set)?;
    let exists = match holder {
        Holder::User => org.users.contains_key(principal),
        Holder::Group => org.groups.contains_key(principal),
    };
    if !exists {
        return Err(ApiError::not_found(
            principal,
            if holder == Holder::User {
                "User"
            } else {
                "UserGroup"
            },
        ));
    }
    if org.iam.sets[&set]
        .bindings
        .get(&role)
        .is_some_and(|b| b.values().any(|m| m.holder == holder && m.id == principal))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "E0000090",
            "Duplicate role assignment exception.",
        ));
    }
    let added = add_members(org, &set, &role, &[(holder, principal.to_string())]);
    let member_id = &added[0];
    let s = &org.iam.sets[&set];
    let m = &s.bindings[&role][member_id];
    let label = org.iam.roles.get(&role).map_or(role.as_str(), |r| &r.label);
    let v = assignment_json(&org.base, s, &role, label, member_id, m);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// `DELETE /users/{id}/roles/{assignment}` of a custom role assignment: whether `assignment`
/// was one of the principal's.
pub(crate) fn unassign(org: &mut Org, holder: Holder, principal: &str, assignment: &str) -> bool {
    let found = org.iam.sets.values().find_map(|s| {
        s.bindings.iter().find_map(|(role, members)| {
            members
                .get(assignment)
                .filter(|m| m.holder == holder && m.id == principal)
                .map(|_| (s.id.clone(), role.clone()))
        })
    });
    match found {
        Some((set, role)) => remove_member(org, &set, &role, assignment),
        None => false,
    }
}

/// The custom roles of a seeded org: a help desk role over a team and its people, bound to a
/// group and a user; an app auditor over every app, an app and an authorization server, bound
/// to a group.
pub(crate) fn seed(org: &mut Org, okta_groups: &[String], user: Option<&str>) {
    if okta_groups.is_empty() {
        return;
    }
    let group = |i: usize| okta_groups[i % okta_groups.len()].clone();
    let created = ts(super::seed::past(org));
    let role =
        |org: &mut Org, label: &str, description: &str, permissions: &[(&str, Option<Value>)]| {
            let id = org.new_id("cr0");
            org.iam.roles.insert(
                id.clone(),
                CustomRole {
                    id: id.clone(),
                    label: label.into(),
                    description: description.into(),
                    created: created.clone(),
                    last_updated: created.clone(),
                    permissions: permissions
                        .iter()
                        .map(|(p, c)| (p.to_string(), (c.clone(), created.clone())))
                        .collect(),
                },
            );
            id
        };
    let help_desk = role(
        org,
        "Help Desk Lite",
        "Reset passwords and read the people of a team",
        &[
            ("okta.users.read", None),
            ("okta.users.credentials.resetPassword", None),
            ("okta.groups.read", None),
            (
                "okta.users.userprofile.manage",
                Some(json!({"exclude": {"okta:ResourceAttribute/User/Profile": ["zipCode"]}})),
            ),
        ],
    );
    let auditor = role(
        org,
        "App Auditor",
        "Read apps and authorization servers",
        &[("okta.apps.read", None), ("okta.authzServers.read", None)],
    );
    let set = |org: &mut Org, label: &str, description: &str, resources: Vec<String>| {
        let id = org.new_id("iam");
        org.iam.sets.insert(
            id.clone(),
            ResourceSet {
                id: id.clone(),
                label: label.into(),
                description: description.into(),
                created: created.clone(),
                last_updated: created.clone(),
                resources: BTreeMap::new(),
                bindings: BTreeMap::new(),
            },
        );
        add_to_set(org, &id, &resources, None).expect("seeded resources exist");
        id
    };
    let team = group(1);
    let team_support = set(
        org,
        "Team support",
        "A team and its people",
        vec![
            format!("orn:okta:directory:{TENANT}:groups:{team}"),
            format!("orn:okta:directory:{TENANT}:groups:{team}:contained_resources"),
            format!("orn:okta:directory:{TENANT}:groups:{}", group(2)),
        ],
    );
    let mut estate = vec![
        format!("orn:okta:idp:{TENANT}:apps"),
        format!("orn:okta:idp:{TENANT}:apps:salesforce"),
    ];
    if let Some((app, name)) = org.apps.iter().next().map(|(id, a)| {
        (
            id.clone(),
            a["name"].as_str().unwrap_or_default().to_string(),
        )
    }) {
        estate.push(format!("orn:okta:idp:{TENANT}:apps:{name}:{app}"));
    }
    if let Some(server) = org.auth_servers.keys().next().cloned() {
        estate.push(format!(
            "orn:okta:idp:{TENANT}:authorization_servers:{server}"
        ));
    }
    estate.push(format!("orn:okta:workflow:{TENANT}:flows"));
    let app_estate = set(
        org,
        "App estate",
        "Every app and the first authorization server",
        estate,
    );
    let mut members = vec![(Holder::Group, group(3))];
    if let Some(user) = user {
        members.push((Holder::User, user.to_string()));
    }
    add_members(org, &team_support, &help_desk, &members);
    add_members(org, &app_estate, &auditor, &[(Holder::Group, group(4))]);
    // Seeded members were there from the start.
    for s in org.iam.sets.values_mut() {
        for m in s.bindings.values_mut().flat_map(BTreeMap::values_mut) {
            m.created = created.clone();
        }
        for r in s.resources.values_mut() {
            r.created = created.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_parsed_from_urls_and_orns_alike() {
        let mut org = Org::empty(1);
        org.base = "http://127.0.0.1:1".into();
        org.groups.insert("00g1".into(), json!({"id": "00g1"}));
        let (path, orn, object) =
            parse_resource(&org, "http://127.0.0.1:1/api/v1/groups/00g1/users").unwrap();
        assert_eq!(path.as_deref(), Some("/api/v1/groups/00g1/users"));
        assert_eq!(
            orn,
            format!("orn:okta:directory:{TENANT}:groups:00g1:contained_resources")
        );
        assert_eq!(object, Some((Kind::Group, "00g1".to_string())));
        let (same, ..) = parse_resource(&org, &orn).unwrap();
        assert_eq!(same, path);
        assert!(parse_resource(&org, "http://127.0.0.1:1/api/v1/groups/00gX").is_err());
        assert!(parse_resource(&org, "https://org.example.com/api/v2/users").is_err());
        let (by_url, by_type, _) = parse_resource(
            &org,
            "http://127.0.0.1:1/api/v1/apps/?filter=name+eq+%22salesforce%22",
        )
        .unwrap();
        assert_eq!(by_type, format!("orn:okta:idp:{TENANT}:apps:salesforce"));
        assert_eq!(parse_resource(&org, &by_type).unwrap().0, by_url);
        let (none, flows, _) =
            parse_resource(&org, &format!("orn:okta:workflow:{TENANT}:flows")).unwrap();
        assert!(none.is_none() && flows.ends_with(":flows"));
    }
}
