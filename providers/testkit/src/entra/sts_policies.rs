//! Claims-mapping and token-lifetime policies (`/policies/claimsMappingPolicies`,
//! `/policies/tokenLifetimePolicies`) and their assignment to service principals
//! (`/servicePrincipals/{id}/claimsMappingPolicies/$ref`…), as Graph v1.0 serves them: listed
//! with paging, `$select` and `$expand=appliesTo` (at most 20 expanded objects, as Graph expands
//! directory relationships), created, patched and deleted; a service principal holds at most one
//! token-lifetime policy.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::api::{
    GraphError, GraphRequest, GraphResponse, GraphResult, Projected, body_object, filter, matches,
    page, projected, reference_id, select, skip_after, take_page, top,
};
use super::model::{SERVICE_PRINCIPALS, Tenant};
use super::read::{list_values, one, related, resolve};

pub(crate) const CLAIMS_MAPPING: &str = "claimsMappingPolicies";
pub(crate) const TOKEN_LIFETIME: &str = "tokenLifetimePolicies";

/// How many objects Graph puts in an expanded directory relationship.
const EXPANDED: usize = 20;

fn odata_type(family: &str) -> &'static str {
    if family == CLAIMS_MAPPING {
        "#microsoft.graph.claimsMappingPolicy"
    } else {
        "#microsoft.graph.tokenLifetimePolicy"
    }
}

fn family(segment: &str) -> Option<&'static str> {
    match segment {
        CLAIMS_MAPPING => Some(CLAIMS_MAPPING),
        TOKEN_LIFETIME => Some(TOKEN_LIFETIME),
        _ => None,
    }
}

fn of_family<'t>(t: &'t Tenant, family: &str) -> impl Iterator<Item = (&'t String, &'t Value)> {
    let ty = odata_type(family);
    t.sts_policies
        .iter()
        .filter(move |(_, p)| p["@odata.type"] == ty)
}

fn policy<'t>(t: &'t Tenant, family: &str, id: &str) -> Result<&'t Value, GraphError> {
    t.sts_policies
        .get(id)
        .filter(|p| p["@odata.type"] == odata_type(family))
        .ok_or_else(|| GraphError::not_found(id))
}

/// The live service principals a policy applies to.
fn targets<'t>(t: &'t Tenant, id: &str) -> impl Iterator<Item = &'t String> {
    t.policy_targets
        .get(id)
        .into_iter()
        .flatten()
        .filter(|sp| t.collection(SERVICE_PRINCIPALS).contains_key(*sp))
}

pub(crate) fn get(t: &Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    match s {
        ["policies", f] => family(f).map(|f| list(t, req, f)),
        ["policies", f, id] => {
            let f = family(f)?;
            Some(policy(t, f, id).and_then(|p| one(t, req, Some(p), id)))
        }
        ["policies", f, id, "appliesTo"] => {
            let f = family(f)?;
            Some(policy(t, f, id).and_then(|_| {
                let ids: BTreeSet<String> = targets(t, id).cloned().collect();
                related(t, req, Some(&ids))
            }))
        }
        [SERVICE_PRINCIPALS, sp, f] => {
            let f = family(f)?;
            Some(resolve(t, SERVICE_PRINCIPALS, sp).and_then(|sp| {
                let items: Vec<(&String, &Value)> = of_family(t, f)
                    .filter(|(id, _)| t.policy_targets.get(*id).is_some_and(|s| s.contains(&sp)))
                    .collect();
                list_values(t, req, items, &format!("servicePrincipals('{sp}')/{f}"))
            }))
        }
        _ => None,
    }
}

/// A page of policies, each with `appliesTo` when `$expand=appliesTo` asks for it.
fn list(t: &Tenant, req: &GraphRequest, family: &str) -> GraphResult {
    let expand = match req.query.get("$expand").map(String::as_str) {
        None => false,
        Some("appliesTo") => true,
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Could not find a property named '{other}' on type '{}'.",
                odata_type(family).trim_start_matches('#')
            )));
        }
    };
    let size = top(&req.query, 100, 999)?;
    let conditions = filter(&req.query)?;
    let after = skip_after(&req.query)?;
    let (items, last) = take_page(
        of_family(t, family).filter(|(_, p)| matches(p, &conditions)),
        after.as_deref(),
        size,
    );
    let selected = select(&req.query);
    let values: Vec<Projected> = items
        .iter()
        .filter_map(|p| {
            let mut v = projected(p, selected.as_deref(), None)?;
            if expand {
                let id = p["id"].as_str().unwrap_or_default();
                let applied: Vec<Value> = targets(t, id)
                    .take(EXPANDED)
                    .filter_map(|sp| t.find(sp).map(|(_, o)| o.clone()))
                    .collect();
                v.set("appliesTo", Value::Array(applied));
            }
            Some(v)
        })
        .collect();
    Ok(page(
        &t.base,
        req,
        &format!("policies/{family}"),
        values,
        last.as_deref(),
    ))
}

pub(crate) fn write(t: &mut Tenant, req: &GraphRequest, s: &[&str]) -> Option<GraphResult> {
    Some(match (req.method.as_str(), s) {
        ("POST", ["policies", f]) => {
            let f = family(f)?;
            body_object(req).and_then(|b| create(t, f, b))
        }
        ("PATCH", ["policies", f, id]) => {
            let f = family(f)?;
            body_object(req).and_then(|b| patch(t, f, id, b))
        }
        ("DELETE", ["policies", f, id]) => {
            let f = family(f)?;
            // Deleting a policy ends its assignments with it.
            match policy(t, f, id) {
                Ok(_) => {
                    t.sts_policies.remove(*id);
                    t.policy_targets.remove(*id);
                    Ok(GraphResponse::no_content())
                }
                Err(e) => Err(e),
            }
        }
        ("POST", [SERVICE_PRINCIPALS, sp, f, "$ref"]) => {
            let f = family(f)?;
            assign(t, req, sp, f)
        }
        ("DELETE", [SERVICE_PRINCIPALS, sp, f, id, "$ref"]) => {
            let f = family(f)?;
            resolve(t, SERVICE_PRINCIPALS, sp).and_then(|sp| {
                policy(t, f, id)?;
                let removed = t
                    .policy_targets
                    .get_mut(*id)
                    .is_some_and(|set| set.remove(&sp));
                if removed {
                    Ok(GraphResponse::no_content())
                } else {
                    Err(GraphError::not_found(id))
                }
            })
        }
        _ => return None,
    })
}

/// Checks what Graph checks of a policy's properties: a definition made of JSON strings, a
/// display name, a boolean isOrganizationDefault.
fn check(body: &Map<String, Value>, creating: bool) -> Result<(), GraphError> {
    for (k, v) in body {
        match k.as_str() {
            "definition" => {
                let valid = v.as_array().is_some_and(|d| {
                    !d.is_empty()
                        && d.iter().all(|x| {
                            x.as_str()
                                .is_some_and(|s| serde_json::from_str::<Value>(s).is_ok())
                        })
                });
                if !valid {
                    return Err(GraphError::bad_request(
                        "definition must be a non-empty collection of JSON strings.",
                    ));
                }
            }
            "displayName" | "description" if v.is_string() || v.is_null() => {}
            "isOrganizationDefault" if v.is_boolean() => {}
            "@odata.type" => {}
            _ => {
                return Err(GraphError::bad_request(format!(
                    "Invalid value or property '{k}'."
                )));
            }
        }
    }
    if creating {
        for required in ["definition", "displayName"] {
            if body.get(required).is_none_or(Value::is_null) {
                return Err(GraphError::bad_request(format!(
                    "The request body is missing the required property {required}."
                )));
            }
        }
    }
    Ok(())
}

fn create(t: &mut Tenant, family: &str, body: Map<String, Value>) -> GraphResult {
    check(&body, true)?;
    let id = t.new_id();
    let mut p = json!({"@odata.type": odata_type(family), "id": id, "deletedDateTime": null,
                       "description": null, "isOrganizationDefault": false});
    for (k, v) in body {
        if k != "@odata.type" {
            p[k] = v;
        }
    }
    t.sts_policies.insert(id, p.clone());
    Ok(GraphResponse::json(201, p))
}

fn patch(t: &mut Tenant, family: &str, id: &str, body: Map<String, Value>) -> GraphResult {
    policy(t, family, id)?;
    check(&body, false)?;
    let p = t.sts_policies.get_mut(id).expect("checked above");
    for (k, v) in body {
        if k != "@odata.type" {
            p[k] = v;
        }
    }
    Ok(GraphResponse::no_content())
}

fn assign(t: &mut Tenant, req: &GraphRequest, sp: &str, family: &str) -> GraphResult {
    let sp = resolve(t, SERVICE_PRINCIPALS, sp)?;
    let id = reference_id(req)?;
    policy(t, family, &id)?;
    let held: Vec<String> = of_family(t, family)
        .filter(|(p, _)| t.policy_targets.get(*p).is_some_and(|s| s.contains(&sp)))
        .map(|(p, _)| p.clone())
        .collect();
    if held.contains(&id) {
        return Err(GraphError::bad_request(format!(
            "One or more added object references already exist for the following modified properties: '{family}'."
        )));
    }
    if family == TOKEN_LIFETIME && !held.is_empty() {
        return Err(GraphError::bad_request(
            "A service principal can be assigned only one token lifetime policy.",
        ));
    }
    t.policy_targets.entry(id).or_default().insert(sp);
    Ok(GraphResponse::no_content())
}

/// A claims-mapping policy that adds the employee id to the tokens of the first service
/// principals, and a token-lifetime policy that gives the last one four-hour access tokens.
/// Ids are fixed so that the rest of the seeded tenant stays as it was.
pub(crate) fn seed(t: &mut Tenant, sps: &[String]) {
    let Some(last) = sps.last() else {
        return;
    };
    let claims = "5c1a0000-0000-4000-8000-000000000001";
    t.sts_policies.insert(
        claims.into(),
        json!({"@odata.type": odata_type(CLAIMS_MAPPING), "id": claims, "deletedDateTime": null,
               "displayName": "Employee id in tokens", "description": null, "isOrganizationDefault": false,
               "definition": [r#"{"ClaimsMappingPolicy":{"Version":1,"IncludeBasicClaimSet":"true","ClaimsSchema":[{"Source":"user","ID":"employeeid","SamlClaimType":"http://schemas.contoso.com/employeeid","JwtClaimType":"employeeid"}]}}"#]}),
    );
    t.policy_targets
        .insert(claims.into(), sps.iter().take(2).cloned().collect());
    let lifetime = "5c1a0000-0000-4000-8000-000000000002";
    t.sts_policies.insert(
        lifetime.into(),
        json!({"@odata.type": odata_type(TOKEN_LIFETIME), "id": lifetime, "deletedDateTime": null,
               "displayName": "Four-hour access tokens", "description": null, "isOrganizationDefault": false,
               "definition": [r#"{"TokenLifetimePolicy":{"Version":1,"AccessTokenLifetime":"04:00:00"}}"#]}),
    );
    t.policy_targets
        .insert(lifetime.into(), BTreeSet::from([last.clone()]));
}
