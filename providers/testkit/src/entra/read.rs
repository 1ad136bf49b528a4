//! The read side of the emulated Graph: collections with `$top`/`$skiptoken` paging, `$select`,
//! `$filter` and `$expand=manager`, single objects, relationship lists and the recycle bin.

use std::ops::Bound::{Excluded, Unbounded};

use serde_json::{Map, Value, json};

use super::api::{
    GraphError, GraphRequest, GraphResponse, GraphResult, Projected, filter, matches, page,
    project, projected, select, skip_after, take_page, top,
};
use super::model::{
    ADMINISTRATIVE_UNITS, APPLICATIONS, COLLECTIONS, DEVICES, GROUPS, SERVICE_PRINCIPALS, Tenant,
    USERS, odata_type,
};

/// What Graph returns for a user when no `$select` is given.
const USER_DEFAULTS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Page sizes: Graph's default and the largest `$top` it accepts on directory collections.
const DEFAULT_TOP: usize = 100;
const MAX_TOP: usize = 999;

pub(crate) fn get(t: &Tenant, req: &GraphRequest) -> GraphResult {
    let seg = req.segments();
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    if let Some(answer) = super::roles::get(t, req, &s) {
        return answer;
    }
    if let Some(answer) = super::strengths::get(t, req, &s)
        .or_else(|| super::authz::get(t, req, &s))
        .or_else(|| super::federated::get(t, req, &s))
        .or_else(|| super::sts_policies::get(t, req, &s))
        .or_else(|| super::cross_tenant::get(t, req, &s))
        .or_else(|| super::terms::get(t, req, &s))
        .or_else(|| super::role_policies::get(t, req, &s))
    {
        return answer;
    }
    match s.as_slice() {
        [c] if is_collection(c) => list_objects(t, req, c),
        [c, id] if is_collection(c) => single(t, req, c, id),
        [USERS, id, "manager"] => {
            let user = resolve(t, USERS, id)?;
            let manager = t
                .managers
                .get(&user)
                .and_then(|m| t.find(m))
                .ok_or_else(|| GraphError::not_found("manager"))?;
            Ok(object_answer(
                t,
                req,
                "directoryObjects/$entity",
                manager.1,
                None,
            ))
        }
        [USERS, id, "appRoleAssignments"] => {
            let user = resolve(t, USERS, id)?;
            assignments(t, req, "principalId", &user)
        }
        [GROUPS | ADMINISTRATIVE_UNITS, id, "members"] => {
            let c = collection_name(s[0]);
            let id = resolve(t, c, id)?;
            related(t, req, t.members.get(&id))
        }
        [GROUPS | APPLICATIONS | SERVICE_PRINCIPALS, id, "owners"] => {
            let c = collection_name(s[0]);
            let id = resolve(t, c, id)?;
            related(t, req, t.owners.get(&id))
        }
        [SERVICE_PRINCIPALS, id, "appRoleAssignments"] => {
            let sp = resolve(t, SERVICE_PRINCIPALS, id)?;
            assignments(t, req, "principalId", &sp)
        }
        [USERS | GROUPS | SERVICE_PRINCIPALS, id, "memberOf"] => {
            let c = collection_name(s[0]);
            let id = resolve(t, c, id)?;
            let parents: std::collections::BTreeSet<String> = t
                .members
                .iter()
                .filter(|(_, members)| members.contains(&id))
                .map(|(parent, _)| parent.clone())
                .collect();
            related(t, req, Some(&parents))
        }
        [SERVICE_PRINCIPALS, id, "appRoleAssignedTo"] => {
            let sp = resolve(t, SERVICE_PRINCIPALS, id)?;
            assignments(t, req, "resourceId", &sp)
        }
        ["directoryObjects", id] => {
            let (_, o) = t.find(id).ok_or_else(|| GraphError::not_found(id))?;
            Ok(object_answer(t, req, "directoryObjects/$entity", o, None))
        }
        ["oauth2PermissionGrants"] => list_map(t, req, t.grants.iter(), "oauth2PermissionGrants"),
        ["oauth2PermissionGrants", id] => one(t, req, t.grants.get(*id), id),
        ["roleManagement", "directory", "roleAssignments"] => list_map(
            t,
            req,
            t.role_assignments.iter(),
            "roleManagement/directory/roleAssignments",
        ),
        ["roleManagement", "directory", "roleAssignments", id] => {
            one(t, req, t.role_assignments.get(*id), id)
        }
        ["roleManagement", "directory", "roleDefinitions"] => list_map(
            t,
            req,
            t.role_definitions.iter(),
            "roleManagement/directory/roleDefinitions",
        ),
        ["roleManagement", "directory", "roleDefinitions", id] => {
            one(t, req, t.role_definitions.get(*id), id)
        }
        ["identity", "conditionalAccess", "policies"] => list_map(
            t,
            req,
            t.ca_policies.iter(),
            "identity/conditionalAccess/policies",
        ),
        ["identity", "conditionalAccess", "policies", id] => {
            one(t, req, t.ca_policies.get(*id), id)
        }
        ["identity", "conditionalAccess", "namedLocations"] => list_map(
            t,
            req,
            t.named_locations.iter(),
            "identity/conditionalAccess/namedLocations",
        ),
        ["identity", "conditionalAccess", "namedLocations", id] => {
            one(t, req, t.named_locations.get(*id), id)
        }
        ["policies", "authenticationMethodsPolicy"] => Ok(GraphResponse::json(
            200,
            project(
                &t.authentication_methods_policy,
                select(&req.query).as_deref(),
                None,
            ),
        )),
        [
            "policies",
            "authenticationMethodsPolicy",
            "authenticationMethodConfigurations",
            id,
        ] => {
            let config = t.authentication_methods_policy["authenticationMethodConfigurations"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|c| c["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
                })
                .ok_or_else(|| GraphError::not_found(id))?;
            Ok(GraphResponse::json(200, config.clone()))
        }
        ["directory", "deletedItems", typed] if typed.starts_with("microsoft.graph.") => {
            let ty = format!("#{typed}");
            let items: Vec<(&String, &Value)> = t
                .deleted
                .iter()
                .filter(|(_, d)| odata_type(d.collection) == ty)
                .map(|(id, d)| (id, &d.object))
                .collect();
            list_values(t, req, items, &format!("directory/deletedItems/{typed}"))
        }
        ["directory", "deletedItems", id] => {
            let d = t
                .deleted
                .get(*id)
                .ok_or_else(|| GraphError::not_found(id))?;
            Ok(object_answer(
                t,
                req,
                "directoryObjects/$entity",
                &d.object,
                None,
            ))
        }
        _ => Err(GraphError::no_route("GET", &req.path)),
    }
}

fn is_collection(c: &str) -> bool {
    COLLECTIONS.contains(&c)
}

fn collection_name(c: &str) -> &'static str {
    COLLECTIONS
        .iter()
        .copied()
        .find(|x| *x == c)
        .unwrap_or(USERS)
}

/// The id of the object `key` names in `collection`: its id, or a user's userPrincipalName.
pub(crate) fn resolve(t: &Tenant, collection: &str, key: &str) -> Result<String, GraphError> {
    if t.collection(collection).contains_key(key) {
        return Ok(key.to_string());
    }
    if collection == USERS
        && let Some(id) = t.user_id(key)
    {
        return Ok(id);
    }
    Err(GraphError::not_found(key))
}

fn defaults(collection: &str) -> Option<&'static [&'static str]> {
    (collection == USERS).then_some(USER_DEFAULTS)
}

/// An object as answered alone, with `$select` and the `manager` expansion applied.
fn object_answer(
    t: &Tenant,
    req: &GraphRequest,
    context: &str,
    object: &Value,
    collection: Option<&str>,
) -> GraphResponse {
    let selected = select(&req.query);
    let expand = Expansion::of(req);
    let Some(mut v) = shape(t, object, collection, selected.as_deref(), &expand) else {
        return GraphResponse::json(200, object.clone());
    };
    v.set(
        "@odata.context",
        Value::String(format!("{}/v1.0/$metadata#{context}", t.base)),
    );
    GraphResponse::serialized(200, &v)
}

/// `$expand=manager` or `manager($select=id,userPrincipalName)`, parsed once per request.
struct Expansion {
    manager: bool,
    nested: Option<Vec<String>>,
}

impl Expansion {
    fn of(req: &GraphRequest) -> Self {
        let expand = req
            .query
            .get("$expand")
            .filter(|e| e.starts_with("manager"));
        Expansion {
            manager: expand.is_some(),
            nested: expand
                .and_then(|e| e.strip_prefix("manager("))
                .and_then(|e| e.strip_suffix(')'))
                .and_then(|e| e.strip_prefix("$select="))
                .map(|s| s.split(',').map(|f| f.trim().to_string()).collect()),
        }
    }
}

fn shape<'a>(
    t: &'a Tenant,
    object: &'a Value,
    collection: Option<&str>,
    selected: Option<&'a [String]>,
    expand: &'a Expansion,
) -> Option<Projected<'a>> {
    let mut v = projected(object, selected, collection.and_then(defaults))?;
    if collection.is_some() && collection != Some(DEVICES) {
        // Only members of polymorphic lists say what they are.
        v.remove("@odata.type");
    }
    if collection == Some(USERS) && expand.manager {
        let id = object["id"].as_str().unwrap_or_default();
        let manager = t.managers.get(id).and_then(|mid| t.find(mid));
        if let Some((_, manager)) = manager {
            match projected(manager, expand.nested.as_deref(), None) {
                Some(m) => v.set_object("manager", m),
                None => v.set("manager", manager.clone()),
            }
        }
    }
    Some(v)
}

fn single(t: &Tenant, req: &GraphRequest, collection: &str, key: &str) -> GraphResult {
    let id = resolve(t, collection, key)?;
    let object = &t.collection(collection)[&id];
    Ok(object_answer(
        t,
        req,
        &format!("{collection}/$entity"),
        object,
        Some(collection),
    ))
}

fn list_objects(t: &Tenant, req: &GraphRequest, collection: &str) -> GraphResult {
    let size = top(&req.query, DEFAULT_TOP, MAX_TOP)?;
    let conditions = filter(&req.query)?;
    let after = skip_after(&req.query)?;
    // Large collections: start the page at the skip token instead of scanning up to it.
    let from = match after.as_deref() {
        Some(a) => Excluded(a),
        None => Unbounded,
    };
    let (items, last) = take_page(
        t.collection(collection)
            .range::<str, _>((from, Unbounded))
            .filter(|(_, o)| matches(o, &conditions)),
        after.as_deref(),
        size,
    );
    let selected = select(&req.query);
    let expand = Expansion::of(req);
    let values: Vec<Projected> = items
        .iter()
        .filter_map(|o| shape(t, o, Some(collection), selected.as_deref(), &expand))
        .collect();
    Ok(page(&t.base, req, collection, values, last.as_deref()))
}

/// Members or owners: directory objects of any type, each with its `@odata.type`.
pub(crate) fn related(
    t: &Tenant,
    req: &GraphRequest,
    ids: Option<&std::collections::BTreeSet<String>>,
) -> GraphResult {
    let objects: Vec<(&String, &Value)> = ids
        .into_iter()
        .flatten()
        .filter_map(|id| t.find(id).map(|(_, o)| (id, o)))
        .collect();
    list_values(t, req, objects, "directoryObjects")
}

fn assignments(t: &Tenant, req: &GraphRequest, field: &str, id: &str) -> GraphResult {
    let items: Vec<(&String, &Value)> = t
        .app_role_assignments
        .iter()
        .filter(|(_, a)| a[field].as_str() == Some(id))
        .collect();
    list_values(t, req, items, "appRoleAssignments")
}

pub(crate) fn list_map<'a>(
    t: &Tenant,
    req: &GraphRequest,
    items: impl Iterator<Item = (&'a String, &'a Value)>,
    context: &str,
) -> GraphResult {
    list_values(t, req, items.collect(), context)
}

pub(crate) fn list_values(
    t: &Tenant,
    req: &GraphRequest,
    items: Vec<(&String, &Value)>,
    context: &str,
) -> GraphResult {
    let size = top(&req.query, DEFAULT_TOP, MAX_TOP)?;
    let conditions = filter(&req.query)?;
    let after = skip_after(&req.query)?;
    let (page_items, last) = take_page(
        items.into_iter().filter(|(_, o)| matches(o, &conditions)),
        after.as_deref(),
        size,
    );
    let selected = select(&req.query);
    let values: Vec<Projected> = page_items
        .iter()
        .filter_map(|o| projected(o, selected.as_deref(), None))
        .collect();
    Ok(page(&t.base, req, context, values, last.as_deref()))
}

pub(crate) fn one(t: &Tenant, req: &GraphRequest, item: Option<&Value>, id: &str) -> GraphResult {
    let item = item.ok_or_else(|| GraphError::not_found(id))?;
    let selected = select(&req.query);
    let Some(mut v) = projected(item, selected.as_deref(), None) else {
        return Ok(GraphResponse::json(200, item.clone()));
    };
    v.set(
        "@odata.context",
        Value::String(format!("{}/v1.0/$metadata#$entity", t.base)),
    );
    Ok(GraphResponse::serialized(200, &v))
}

/// `POST /directoryObjects/getByIds`: the live objects among `ids`, of the `types` asked.
pub(crate) fn get_by_ids(t: &Tenant, body: &Map<String, Value>) -> GraphResult {
    let ids = body
        .get("ids")
        .and_then(Value::as_array)
        .ok_or_else(|| GraphError::bad_request("The 'ids' parameter is required."))?;
    if ids.len() > 1000 {
        return Err(GraphError::bad_request(
            "The number of ids is limited to 1000 per request.",
        ));
    }
    let types: Vec<String> = body
        .get("types")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| {
                    format!(
                        "#microsoft.graph.{}",
                        s.trim_start_matches("microsoft.graph.")
                    )
                    .to_lowercase()
                })
                .collect()
        })
        .unwrap_or_default();
    let values: Vec<Value> = ids
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|id| t.find(id))
        .filter(|(c, _)| types.is_empty() || types.contains(&odata_type(c).to_lowercase()))
        .map(|(_, o)| o.clone())
        .collect();
    Ok(GraphResponse::json(
        200,
        json!({"@odata.context": format!("{}/v1.0/$metadata#directoryObjects", t.base), "value": values}),
    ))
}
