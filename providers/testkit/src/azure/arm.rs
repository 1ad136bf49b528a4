//! Azure Resource Manager's `Microsoft.Resources` (subscriptions, resource groups) and
//! `Microsoft.Authorization` (role definitions, role assignments, management locks) endpoints,
//! as Microsoft's ARM REST reference describes them: `api-version` required, `$filter`,
//! `nextLink` paging with `$skiptoken`, ARM's error bodies.

use std::time::Instant;

use serde_json::{Value, json};

use super::model::{
    Arm, DenyAssignment, Lock, ManagementGroup, Permission, RoleAssignment, RoleDefinition,
    contains, norm,
};

/// One ARM request, as the dispatcher sees it.
#[derive(Debug)]
pub(crate) struct ArmRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// `http://127.0.0.1:PORT`, for `nextLink`.
    pub base: String,
    /// Items per page of a list.
    pub page_size: usize,
    /// The object id of the principal the token was issued to.
    pub caller: String,
}

impl ArmRequest {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, extra headers, JSON body.
#[derive(Debug)]
pub(crate) struct ArmAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ArmAnswer {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        ArmAnswer {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }
}

/// ARM's error body: `{"error": {"code", "message"}}`.
pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> ArmAnswer {
    ArmAnswer::json(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}

fn scope_error((status, code): (u16, &'static str), scope: &str) -> ArmAnswer {
    let message = match code {
        "SubscriptionNotFound" => {
            format!("The subscription of scope '{scope}' could not be found.")
        }
        "ResourceGroupNotFound" => format!("Resource group of scope '{scope}' could not be found."),
        "ResourceNotFound" => format!("The Resource '{scope}' was not found."),
        "ManagementGroupNotFound" => {
            format!("The management group of scope '{scope}' was not found.")
        }
        _ => format!("The scope '{scope}' is not valid."),
    };
    error(status, code, message)
}

/// `409 ScopeLocked` when a lock of either level at `scope` or above it forbids deleting
/// `id` there: both CanNotDelete and ReadOnly refuse deletes, whoever asks.
fn scope_locked(arm: &Arm, id: &str, scope: &str) -> Option<ArmAnswer> {
    let mut locked: Vec<&str> = arm
        .locks
        .values()
        .filter(|l| contains(&l.scope, scope))
        .map(|l| l.scope.as_str())
        .collect();
    if locked.is_empty() {
        return None;
    }
    locked.sort();
    locked.dedup();
    let scopes = locked
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    Some(error(
        409,
        "ScopeLocked",
        format!(
            "The scope '{id}' cannot perform delete operation because following scope(s) are locked: {scopes}. Please remove the lock and try again."
        ),
    ))
}

/// Dispatches a request whose `api-version` and token were checked.
pub(crate) fn dispatch(arm: &mut Arm, req: &ArmRequest) -> ArmAnswer {
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |i: usize, word: &str| {
        segments
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case(word))
    };
    let get = req.method == "GET";
    if let Some(i) = (0..segments.len().saturating_sub(1))
        .find(|&i| is(i, "providers") && is(i + 1, "Microsoft.Authorization"))
    {
        let scope = format!("/{}", segments[..i].join("/"));
        let rest = &segments[i + 2..];
        return authorization(arm, req, &scope, rest);
    }
    if get && is(0, "providers") && is(1, "Microsoft.Management") && is(2, "managementGroups") {
        return management_groups(arm, req, &segments);
    }
    match segments.len() {
        1 if get && is(0, "subscriptions") => {
            let items = arm
                .subscriptions
                .iter()
                .map(|s| {
                    json!({"id": format!("/subscriptions/{}", s.id), "subscriptionId": s.id,
                           "displayName": s.name, "state": "Enabled", "tenantId": arm.tenant_id,
                           "authorizationSource": "RoleBased"})
                })
                .collect();
            page(req, items)
        }
        2 if get && is(0, "subscriptions") => match arm.existing_scope(&req.path) {
            Ok(_) => {
                let s = arm
                    .subscriptions
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(segments[1]))
                    .expect("the scope exists");
                ArmAnswer::json(
                    200,
                    json!({"id": format!("/subscriptions/{}", s.id), "subscriptionId": s.id,
                           "displayName": s.name, "state": "Enabled", "tenantId": arm.tenant_id}),
                )
            }
            Err(e) => scope_error(e, &req.path),
        },
        3 if get && is(0, "subscriptions") && is(2, "resourceGroups") => {
            let sub = format!("/subscriptions/{}", segments[1]);
            if let Err(e) = arm.existing_scope(&sub) {
                return scope_error(e, &sub);
            }
            let items = arm
                .resource_groups
                .iter()
                .filter(|g| g.subscription.eq_ignore_ascii_case(segments[1]))
                .map(|g| {
                    json!({"id": format!("/subscriptions/{}/resourceGroups/{}", g.subscription, g.name),
                           "name": g.name, "type": "Microsoft.Resources/resourceGroups",
                           "location": g.location, "properties": {"provisioningState": "Succeeded"}})
                })
                .collect();
            page(req, items)
        }
        _ => no_route(req),
    }
}

fn management_group_json(arm: &Arm, g: &ManagementGroup) -> Value {
    json!({"id": g.id(), "type": "Microsoft.Management/managementGroups", "name": g.name,
           "properties": {"tenantId": arm.tenant_id, "displayName": g.display_name}})
}

/// `GET /providers/Microsoft.Management/managementGroups` (every group the caller can see),
/// `…/{groupId}` and `…/{groupId}/descendants` (the groups and subscriptions below it, each
/// with its parent).
fn management_groups(arm: &Arm, req: &ArmRequest, segments: &[&str]) -> ArmAnswer {
    let find = |name: &str| {
        arm.management_groups
            .iter()
            .find(|g| g.name.eq_ignore_ascii_case(name))
    };
    let not_found = |name: &str| {
        error(
            404,
            "NotFound",
            format!("'/providers/Microsoft.Management/managementGroups/{name}' not found"),
        )
    };
    match segments {
        [_, _, _] => page(
            req,
            arm.management_groups
                .iter()
                .map(|g| management_group_json(arm, g))
                .collect(),
        ),
        [_, _, _, name] => match find(name) {
            Some(g) => {
                let mut body = management_group_json(arm, g);
                body["properties"]["details"] = json!({"parent": g.parent.as_ref()
                    .and_then(|p| find(p)).map(|p| json!({"id": p.id(), "name": p.name, "displayName": p.display_name}))});
                ArmAnswer::json(200, body)
            }
            None => not_found(name),
        },
        [_, _, _, name, d] if d.eq_ignore_ascii_case("descendants") => {
            let Some(top) = find(name) else {
                return not_found(name);
            };
            let mut items = Vec::new();
            let mut frontier = vec![top.name.clone()];
            while let Some(parent) = frontier.pop() {
                let parent_group = find(&parent).expect("a listed group");
                for s in &parent_group.subscriptions {
                    let display = arm
                        .subscriptions
                        .iter()
                        .find(|x| x.id == *s)
                        .map(|x| x.name.clone())
                        .unwrap_or_default();
                    items.push(json!({"id": format!("/subscriptions/{s}"), "type": "Microsoft.Management/managementGroups/subscriptions",
                        "name": s, "properties": {"displayName": display, "parent": {"id": parent_group.id()}}}));
                }
                for child in arm
                    .management_groups
                    .iter()
                    .filter(|g| g.parent.as_deref() == Some(parent.as_str()))
                {
                    items.push(json!({"id": child.id(), "type": "Microsoft.Management/managementGroups",
                        "name": child.name, "properties": {"displayName": child.display_name, "parent": {"id": parent_group.id()}}}));
                    frontier.push(child.name.clone());
                }
            }
            page(req, items)
        }
        _ => no_route(req),
    }
}

fn no_route(req: &ArmRequest) -> ArmAnswer {
    error(
        404,
        "InvalidResourceType",
        format!(
            "The resource type could not be found for {} {}.",
            req.method, req.path
        ),
    )
}

/// A page of `items` from `$skiptoken`, with the `nextLink` to the next one.
pub(crate) fn page(req: &ArmRequest, items: Vec<Value>) -> ArmAnswer {
    page_by(req, &items, Value::clone)
}

/// A page of `items`, only those of the page made JSON by `json`: a list of tens of
/// thousands read page by page costs one page's JSON a request, not the whole list's.
pub(crate) fn page_by<T>(req: &ArmRequest, items: &[T], json: impl Fn(&T) -> Value) -> ArmAnswer {
    let skip: usize = req
        .param("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let end = (skip + req.page_size).min(items.len());
    let value: Vec<Value> = items
        .get(skip..end)
        .unwrap_or_default()
        .iter()
        .map(json)
        .collect();
    let mut body = json!({"value": value});
    if end < items.len() {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.query {
            if !k.eq_ignore_ascii_case("$skiptoken") {
                query.append_pair(k, v);
            }
        }
        query.append_pair("$skiptoken", &end.to_string());
        body["nextLink"] = json!(format!("{}{}?{}", req.base, req.path, query.finish()));
    }
    ArmAnswer::json(200, body)
}

/// What `$filter` asks of a list.
#[derive(Debug, Default)]
struct Filter {
    at_scope: bool,
    principal: Option<String>,
    role_name: Option<String>,
    custom_only: bool,
}

fn filter(req: &ArmRequest) -> Result<Filter, ArmAnswer> {
    let mut f = Filter::default();
    let Some(text) = req.param("$filter") else {
        return Ok(f);
    };
    for clause in text.split(" and ") {
        let clause = clause.trim();
        let quoted = |prefix: &str| {
            clause
                .strip_prefix(prefix)
                .and_then(|r| r.trim().strip_prefix('\''))
                .and_then(|r| r.strip_suffix('\''))
                .map(str::to_string)
        };
        if clause == "atScope()" {
            f.at_scope = true;
        } else if let Some(p) = quoted("principalId eq") {
            f.principal = Some(p);
        } else if let Some(p) = clause
            .strip_prefix("assignedTo('")
            .and_then(|r| r.strip_suffix("')"))
        {
            f.principal = Some(p.to_string());
        } else if let Some(n) = quoted("roleName eq") {
            f.role_name = Some(n);
        } else if quoted("type eq").as_deref() == Some("CustomRole") {
            f.custom_only = true;
        } else {
            return Err(error(
                400,
                "UnsupportedQuery",
                format!("The filter '{text}' is not supported."),
            ));
        }
    }
    Ok(f)
}

fn authorization(arm: &mut Arm, req: &ArmRequest, scope: &str, rest: &[&str]) -> ArmAnswer {
    let resource = rest.first().map(|s| s.to_ascii_lowercase());
    let name = rest.get(1).copied();
    if rest.len() > 2 {
        return no_route(req);
    }
    // Role definitions may live at the root (`/`); everything else on an existing scope.
    let scope = match arm.existing_scope(scope) {
        Ok(s) => s,
        Err(e) => return scope_error(e, scope),
    };
    match (resource.as_deref(), req.method.as_str(), name) {
        (Some("permissions"), "GET", None) => super::permissions::list(arm, req, &scope),
        (Some("roledefinitions"), "GET", None) => list_role_definitions(arm, req, &scope),
        (Some("roledefinitions"), "GET", Some(id)) => {
            match arm.role_definitions.get(&id.to_ascii_lowercase()) {
                Some(d) => ArmAnswer::json(200, d.to_json(&scope)),
                None => error(
                    404,
                    "RoleDefinitionDoesNotExist",
                    "The specified role definition with ID '{id}' does not exist."
                        .replace("{id}", id),
                ),
            }
        }
        (Some("roledefinitions"), "PUT", Some(id)) => put_role_definition(arm, req, &scope, id),
        (Some("roledefinitions"), "DELETE", Some(id)) => delete_role_definition(arm, &scope, id),
        (Some("roleassignments"), "GET", None) => list_role_assignments(arm, req, &scope),
        (Some("roleassignments"), "GET", Some(n)) => {
            match arm.role_assignments.get(&n.to_ascii_lowercase()) {
                Some(a) if norm(&a.scope) == norm(&scope) => ArmAnswer::json(200, a.to_json()),
                _ => error(
                    404,
                    "RoleAssignmentNotFound",
                    format!("The role assignment '{n}' is not found."),
                ),
            }
        }
        (Some("roleassignments"), "PUT", Some(n)) => put_role_assignment(arm, req, &scope, n),
        (Some("roleassignments"), "DELETE", Some(n)) => {
            let key = n.to_ascii_lowercase();
            match arm.role_assignments.get(&key) {
                Some(a) if norm(&a.scope) == norm(&scope) => {
                    if let Some(refused) = scope_locked(arm, &a.id(), &scope) {
                        return refused;
                    }
                    let a = arm.role_assignments.remove(&key).expect("found above");
                    ArmAnswer::json(200, a.to_json())
                }
                _ => ArmAnswer {
                    status: 204,
                    headers: Vec::new(),
                    body: None,
                },
            }
        }
        (Some("roleeligibilityschedules"), "GET", None) => super::pim::list(
            arm,
            req,
            &scope,
            filter(req).map(|f| (f.at_scope, f.principal)),
        ),
        (Some("roleeligibilityschedulerequests"), "PUT", Some(n)) => {
            super::pim::request(arm, req, &scope, n)
        }
        (Some("denyassignments"), "GET", None) => {
            let items = arm
                .deny_assignments
                .values()
                .filter(|d| contains(&d.scope, &scope) || contains(&scope, &d.scope))
                .map(DenyAssignment::to_json)
                .collect();
            page(req, items)
        }
        (Some("denyassignments"), _, _) if req.method != "GET" => error(
            405,
            "MethodNotAllowed",
            "Deny assignments are created and removed only by the service that owns them.",
        ),
        (Some("locks"), "GET", None) => {
            let items = arm
                .locks
                .values()
                .filter(|l| contains(&scope, &l.scope) || contains(&l.scope, &scope))
                .map(Lock::to_json)
                .collect();
            page(req, items)
        }
        (Some("locks"), "GET", Some(n)) => match arm.locks.get(&norm(&format!(
            "{scope}/providers/Microsoft.Authorization/locks/{n}"
        ))) {
            Some(l) => ArmAnswer::json(200, l.to_json()),
            None => error(
                404,
                "LockNotFound",
                format!("The lock '{n}' could not be found."),
            ),
        },
        (Some("locks"), "PUT", Some(n)) => put_lock(arm, req, &scope, n),
        (Some("locks"), "DELETE", Some(n)) => {
            match arm.locks.remove(&norm(&format!(
                "{scope}/providers/Microsoft.Authorization/locks/{n}"
            ))) {
                Some(_) => ArmAnswer {
                    status: 200,
                    headers: Vec::new(),
                    body: None,
                },
                None => ArmAnswer {
                    status: 204,
                    headers: Vec::new(),
                    body: None,
                },
            }
        }
        _ => no_route(req),
    }
}

fn list_role_definitions(arm: &Arm, req: &ArmRequest, scope: &str) -> ArmAnswer {
    let f = match filter(req) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let items = arm
        .role_definitions
        .values()
        .filter(|d| !f.custom_only || d.custom)
        .filter(|d| {
            f.role_name
                .as_ref()
                .is_none_or(|n| n.eq_ignore_ascii_case(&d.role_name))
        })
        .filter(|d| {
            d.assignable_scopes
                .iter()
                .any(|s| contains(s, scope) || contains(scope, s))
        })
        .map(|d| d.to_json(scope))
        .collect();
    page(req, items)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn put_role_definition(arm: &mut Arm, req: &ArmRequest, scope: &str, id: &str) -> ArmAnswer {
    let id = id.to_ascii_lowercase();
    let props = req
        .body
        .as_ref()
        .map(|b| &b["properties"])
        .cloned()
        .unwrap_or(Value::Null);
    let role_name = props["roleName"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    if role_name.is_empty() {
        return error(
            400,
            "InvalidRoleDefinition",
            "The role definition has no roleName.",
        );
    }
    let scopes = strings(&props["assignableScopes"]);
    if scopes.is_empty() {
        return error(
            400,
            "MissingAssignableScopes",
            "At least one assignable scope is required.",
        );
    }
    for s in &scopes {
        if let Err(e) = arm.existing_scope(s) {
            return scope_error(e, s);
        }
    }
    if let Some(existing) = arm.role_definitions.get(&id)
        && !existing.custom
    {
        return error(
            403,
            "BuiltInRoleCannotBeModified",
            "Built-in role definitions cannot be modified.",
        );
    }
    if arm
        .role_definitions
        .values()
        .any(|d| d.name != id && d.role_name.eq_ignore_ascii_case(&role_name))
    {
        return error(
            409,
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.",
        );
    }
    let created = !arm.role_definitions.contains_key(&id);
    let permissions = props["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Permission::from_json)
        .collect();
    let definition = RoleDefinition {
        name: id.clone(),
        role_name,
        description: props["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        custom: true,
        permissions,
        assignable_scopes: scopes,
        updated_on: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f0Z")
            .to_string(),
    };
    let answer = definition.to_json(scope);
    arm.role_definitions.insert(id.clone(), definition);
    if created {
        arm.settling.insert(id, Instant::now());
    }
    ArmAnswer::json(if created { 201 } else { 200 }, answer)
}

fn delete_role_definition(arm: &mut Arm, scope: &str, id: &str) -> ArmAnswer {
    let id = id.to_ascii_lowercase();
    match arm.role_definitions.get(&id) {
        None => ArmAnswer {
            status: 204,
            headers: Vec::new(),
            body: None,
        },
        Some(d) if !d.custom => error(
            403,
            "BuiltInRoleCannotBeModified",
            "Built-in role definitions cannot be deleted.",
        ),
        Some(_) if arm.role_assignments.values().any(|a| a.role == id) => error(
            409,
            "RoleDefinitionHasAssignments",
            "There are existing role assignments referencing role. Delete the role assignments before deleting the role definition.",
        ),
        Some(_) => {
            let d = arm.role_definitions.remove(&id).expect("found above");
            arm.settling.remove(&id);
            ArmAnswer::json(200, d.to_json(scope))
        }
    }
}

fn list_role_assignments(arm: &Arm, req: &ArmRequest, scope: &str) -> ArmAnswer {
    let f = match filter(req) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let items = arm
        .role_assignments
        .values()
        .filter(|a| {
            // atScope(): at the scope and above it; otherwise below it as well.
            contains(&a.scope, scope) || (!f.at_scope && contains(scope, &a.scope))
        })
        .filter(|a| {
            f.principal
                .as_ref()
                .is_none_or(|p| p.eq_ignore_ascii_case(&a.principal_id))
        })
        .collect::<Vec<&RoleAssignment>>();
    page_by(req, &items, |a| a.to_json())
}

/// How long a new role definition stays unknown to role assignment creation.
pub(crate) const SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

fn put_role_assignment(arm: &mut Arm, req: &ArmRequest, scope: &str, name: &str) -> ArmAnswer {
    let name = name.to_ascii_lowercase();
    let props = req
        .body
        .as_ref()
        .map(|b| &b["properties"])
        .cloned()
        .unwrap_or(Value::Null);
    let text = |f: &str| {
        props[f]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let Some(definition_id) = text("roleDefinitionId") else {
        return error(
            400,
            "InvalidRoleDefinitionId",
            "The role definition ID is missing.",
        );
    };
    let Some(principal) = text("principalId") else {
        return error(
            400,
            "InvalidPrincipalId",
            "A valid principal ID must be provided for role assignment.",
        );
    };
    let role = definition_id
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let settling = arm
        .settling
        .get(&role)
        .is_some_and(|t| t.elapsed() < SETTLE);
    if settling || !arm.role_definitions.contains_key(&role) {
        return error(
            400,
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role}' does not exist."),
        );
    }
    let Some(principal_type) = arm.principals.get(&principal.to_ascii_lowercase()).cloned() else {
        return error(
            400,
            "PrincipalNotFound",
            format!(
                "Principal {} does not exist in the directory {}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
                principal.replace('-', ""),
                arm.tenant_id
            ),
        );
    };
    let definition = &arm.role_definitions[&role];
    if !definition
        .assignable_scopes
        .iter()
        .any(|s| contains(s, scope))
    {
        return error(
            403,
            "AuthorizationFailed",
            format!("The role definition '{role}' is not assignable at scope '{scope}'."),
        );
    }
    let condition = text("condition");
    let condition_version = text("conditionVersion");
    if condition.is_some() && condition_version.as_deref() != Some("2.0") {
        return error(
            400,
            "InvalidConditionVersion",
            "A role assignment condition requires conditionVersion 2.0.",
        );
    }
    if let Some(existing) = arm.role_assignments.get_mut(&name) {
        if norm(&existing.scope) != norm(scope)
            || existing.role != role
            || !existing.principal_id.eq_ignore_ascii_case(&principal)
        {
            return error(
                400,
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            );
        }
        existing.description = text("description");
        existing.condition = condition;
        existing.condition_version = condition_version;
        return ArmAnswer::json(200, existing.to_json());
    }
    if arm.role_assignments.values().any(|a| {
        norm(&a.scope) == norm(scope)
            && a.role == role
            && a.principal_id.eq_ignore_ascii_case(&principal)
    }) {
        return error(
            409,
            "RoleAssignmentExists",
            "The role assignment already exists.",
        );
    }
    let assignment = RoleAssignment {
        name: name.clone(),
        scope: scope.to_string(),
        role,
        principal_id: principal.to_ascii_lowercase(),
        principal_type,
        description: text("description"),
        condition,
        condition_version,
        created_on: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f0Z")
            .to_string(),
    };
    let answer = assignment.to_json();
    arm.role_assignments.insert(name, assignment);
    ArmAnswer::json(201, answer)
}

fn put_lock(arm: &mut Arm, req: &ArmRequest, scope: &str, name: &str) -> ArmAnswer {
    let props = req
        .body
        .as_ref()
        .map(|b| &b["properties"])
        .cloned()
        .unwrap_or(Value::Null);
    let level = props["level"].as_str().unwrap_or_default();
    if !matches!(level, "CanNotDelete" | "ReadOnly") {
        return error(
            400,
            "LockLevelInvalid",
            format!("The lock level '{level}' is invalid. It must be CanNotDelete or ReadOnly."),
        );
    }
    let lock = Lock {
        scope: scope.to_string(),
        name: name.to_string(),
        level: level.to_string(),
        notes: props["notes"].as_str().map(str::to_string),
    };
    let key = norm(&lock.id());
    let created = !arm.locks.contains_key(&key);
    let answer = lock.to_json();
    arm.locks.insert(key, lock);
    ArmAnswer::json(if created { 201 } else { 200 }, answer)
}
