//! The emulated ARM's answers that no connector test reaches: management groups and their
//! descendants, the lock that refuses an assignment's delete, and whose permissions reach a
//! scope.

use serde_json::Value;

use super::arm::{ArmRequest, dispatch};
use super::model::{Arm, RoleAssignment};
use super::seed::{SeedSpec, seed};

fn tenant() -> Arm {
    seed(&SeedSpec {
        tenant: "contoso".into(),
        subscriptions: 3,
        resource_groups: 6,
        assignments: 40,
        custom_roles: 2,
        locks: 4,
        seed: 5,
        client_oid: "00000000-0000-4000-8000-00000000c11e".into(),
        management_groups: 2,
        directory: None,
    })
}

fn call(arm: &mut Arm, method: &str, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let req = ArmRequest {
        method: method.into(),
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: None,
        base: "http://127.0.0.1:1".into(),
        page_size: 100,
        caller: String::new(),
    };
    let answer = dispatch(arm, &req);
    (answer.status, answer.body.unwrap_or(Value::Null))
}

#[test]
fn management_groups_list_their_descendants_with_parents() {
    let mut arm = tenant();
    let (status, list) = call(
        &mut arm,
        "GET",
        "/providers/Microsoft.Management/managementGroups",
        &[],
    );
    assert_eq!(status, 200, "{list}");
    let names: Vec<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["contoso", "mg-01", "mg-02"]);
    let (status, below) = call(
        &mut arm,
        "GET",
        "/providers/Microsoft.Management/managementGroups/contoso/descendants",
        &[],
    );
    assert_eq!(status, 200, "{below}");
    let items = below["value"].as_array().unwrap();
    let subscriptions = items
        .iter()
        .filter(|i| i["type"] == "Microsoft.Management/managementGroups/subscriptions")
        .count();
    assert_eq!(subscriptions, 3, "{below}");
    let mg1 = items.iter().find(|i| i["name"] == "mg-01").unwrap();
    assert_eq!(
        mg1["properties"]["parent"]["id"],
        "/providers/Microsoft.Management/managementGroups/contoso"
    );
    let (status, _) = call(
        &mut arm,
        "GET",
        "/providers/Microsoft.Management/managementGroups/nope/descendants",
        &[],
    );
    assert_eq!(status, 404);
    // Assignments made at a group are listed there, `atScope()` or not.
    let (status, at) = call(
        &mut arm,
        "GET",
        "/providers/Microsoft.Management/managementGroups/mg-01/providers/Microsoft.Authorization/roleAssignments",
        &[("$filter", "atScope()")],
    );
    assert_eq!(status, 200, "{at}");
    assert_eq!(
        at["value"].as_array().unwrap().len(),
        2,
        "Reader and the auditor: {at}"
    );
}

#[test]
fn a_lock_at_or_above_the_scope_refuses_an_assignments_delete() {
    let mut arm = tenant();
    let under = |scope: &str, lock: &str| {
        let (s, l) = (scope.to_lowercase(), lock.to_lowercase());
        s == l || s.starts_with(&format!("{l}/"))
    };
    let (lock_scope, id) = arm
        .locks
        .values()
        .find_map(|l| {
            arm.role_assignments
                .values()
                .find(|a| under(&a.scope, &l.scope))
                .map(|a| (l.scope.clone(), a.id()))
        })
        .expect("an assignment under a lock");
    // The locks at or above its scope, as ARM names them.
    let locked: Vec<String> = arm
        .locks
        .values()
        .filter(|l| under(&id, &l.scope))
        .map(|l| l.scope.clone())
        .collect();
    assert!(locked.contains(&lock_scope));
    let (status, body) = call(&mut arm, "DELETE", &id, &[]);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ScopeLocked");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("'{lock_scope}'")),
        "{body}"
    );
    arm.locks.clear();
    let (status, body) = call(&mut arm, "DELETE", &id, &[]);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn permissions_list_the_sets_of_the_callers_roles_at_the_scope_and_above() {
    let mut arm = tenant();
    let sub = arm.subscriptions[0].id.clone();
    let rg = arm
        .resource_groups
        .iter()
        .find(|g| g.subscription == sub)
        .map(|g| format!("/subscriptions/{sub}/resourceGroups/{}", g.name))
        .expect("a resource group in the first subscription");
    let caller = "caller-oid".to_string();
    arm.role_assignments.insert(
        "caller-1".into(),
        RoleAssignment {
            name: "caller-1".into(),
            scope: format!("/subscriptions/{sub}"),
            role: "acdd72a7-3385-48ef-bd42-f606fba81ae7".into(),
            principal_id: caller.clone(),
            principal_type: "ServicePrincipal".into(),
            description: None,
            condition: None,
            condition_version: None,
            created_on: "2026-01-01T00:00:00Z".into(),
        },
    );
    let list = |arm: &mut Arm, scope: &str, caller: &str| {
        let req = ArmRequest {
            method: "GET".into(),
            path: format!("{scope}/providers/Microsoft.Authorization/permissions"),
            query: vec![("api-version".into(), "2022-04-01".into())],
            body: None,
            base: "http://127.0.0.1:1".into(),
            page_size: 100,
            caller: caller.into(),
        };
        let answer = dispatch(arm, &req);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body.unwrap()["value"].as_array().unwrap().clone()
    };
    // Reader at the subscription reaches its resource groups.
    let below = list(&mut arm, &rg, &caller);
    assert_eq!(below.len(), 1, "{below:?}");
    assert_eq!(below[0]["actions"], serde_json::json!(["*/read"]));
    assert_eq!(below[0]["notActions"], serde_json::json!([]));
    // Nothing for a principal holding no role, nor for another subscription.
    assert!(list(&mut arm, &rg, "someone-else").is_empty());
    let other = format!("/subscriptions/{}", arm.subscriptions[1].id);
    assert!(list(&mut arm, &other, &caller).is_empty());
}
