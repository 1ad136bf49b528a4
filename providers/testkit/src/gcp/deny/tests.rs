//! The emulated deny policies against IAM v2's reference: operations, etags, paging, checks.

use super::*;

fn org() -> Org {
    let mut org = crate::gcp::model::seed(&crate::gcp::model::SeedSpec {
        org: "123456789012".into(),
        folders: 1,
        projects: 2,
        service_accounts: 0,
        custom_roles: 0,
        deny_policies: 0,
        seed: 1,
    });
    seed(&mut org, 1);
    org
}

const ORG: &str = "cloudresourcemanager.googleapis.com%2Forganizations%2F123456789012";
const PROJECT: &str = "cloudresourcemanager.googleapis.com%2Fprojects%2Facme-000-prod";

fn rule() -> Value {
    json!({"description": "d", "denyRule": {
        "deniedPrincipals": ["principal://goog/subject/mallory@example.com"],
        "deniedPermissions": ["iam.googleapis.com/roles.create"],
        "denialCondition": {"title": "t", "expression": "resource.matchTag('123456789012/env', 'prod')"}}})
}

fn poll(org: &mut Org, op: &Value) -> Value {
    let path = op["name"].as_str().unwrap().to_string();
    handle(org, "GET", &path, &HashMap::new(), &Value::Null).unwrap()
}

#[test]
fn a_write_is_an_operation_done_on_a_later_poll_with_the_policy_as_its_response() {
    let mut org = org();
    let query = HashMap::from([("policyId".to_string(), "no-role-create".to_string())]);
    let body = json!({"displayName": "No role create", "rules": [rule()]});
    let path = format!("policies/{PROJECT}/denypolicies");
    let op = handle(&mut org, "POST", &path, &query, &body).unwrap();
    assert_eq!(op["done"], false);
    assert!(
        op["name"]
            .as_str()
            .unwrap()
            .contains("projects%2F100000000000/denypolicies/no-role-create/operations/"),
        "the answer names the project by number: {op}"
    );
    assert_eq!(
        poll(&mut org, &op)["done"],
        false,
        "not done on the first poll"
    );
    let done = poll(&mut org, &op);
    assert_eq!(done["done"], true);
    assert_eq!(
        done["response"]["rules"][0],
        rule(),
        "rules kept byte for byte"
    );
    assert_eq!(
        done["response"]["@type"],
        "type.googleapis.com/google.iam.v2.Policy"
    );
    let again = handle(&mut org, "POST", &path, &query, &body).unwrap_err();
    assert_eq!((again.code, again.status), (409, "ALREADY_EXISTS"));
}

#[test]
fn a_stale_etag_is_refused_and_every_write_moves_the_etag() {
    let mut org = org();
    let path = format!("policies/{ORG}/denypolicies/guardrail-00");
    let none = HashMap::new();
    let read = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap();
    let mut body = read.clone();
    body["rules"] = json!([rule()]);
    handle(&mut org, "PUT", &path, &none, &body).unwrap();
    let now = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap();
    assert_ne!(now["etag"], read["etag"]);
    assert_eq!(now["rules"], json!([rule()]));
    let stale = handle(&mut org, "PUT", &path, &none, &body).unwrap_err();
    assert_eq!((stale.code, stale.status), (409, "ABORTED"));
    let query = HashMap::from([("etag".to_string(), read["etag"].as_str().unwrap().into())]);
    let stale = handle(&mut org, "DELETE", &path, &query, &Value::Null).unwrap_err();
    assert_eq!(stale.code, 409);
    let query = HashMap::from([("etag".to_string(), now["etag"].as_str().unwrap().into())]);
    handle(&mut org, "DELETE", &path, &query, &Value::Null).unwrap();
    let gone = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap_err();
    assert_eq!((gone.code, gone.status), (404, "NOT_FOUND"));
}

#[test]
fn a_failed_operation_carries_a_status_and_makes_no_change() {
    let mut org = org();
    org.deny.fail_next = Some("internal error".into());
    let path = format!("policies/{ORG}/denypolicies/guardrail-00");
    let op = handle(&mut org, "DELETE", &path, &HashMap::new(), &Value::Null).unwrap();
    poll(&mut org, &op);
    let done = poll(&mut org, &op);
    assert_eq!(done["error"]["code"], ABORTED);
    assert!(done.get("response").is_none());
    assert!(handle(&mut org, "GET", &path, &HashMap::new(), &Value::Null).is_ok());
}

#[test]
fn lists_omit_rules_and_page_with_next_page_token() {
    let mut org = org();
    seed(&mut org, 9);
    let resource = "organizations/123456789012";
    let first = list(&org, resource, &HashMap::new(), 2).unwrap();
    assert_eq!(first["policies"].as_array().unwrap().len(), 2);
    assert!(first["policies"][0].get("rules").is_none());
    let token = first["nextPageToken"].as_str().unwrap().to_string();
    let query = HashMap::from([("pageToken".to_string(), token)]);
    let second = list(&org, resource, &query, 2).unwrap();
    assert!(second.get("nextPageToken").is_none());
    assert_ne!(first["policies"][0]["name"], second["policies"][0]["name"]);
}

#[test]
fn v1_permissions_and_unencoded_attachment_points_are_refused() {
    let mut org = org();
    let query = HashMap::from([("policyId".to_string(), "bad".to_string())]);
    let mut bad = rule();
    bad["denyRule"]["deniedPermissions"] = json!(["iam.roles.create"]);
    let path = format!("policies/{PROJECT}/denypolicies");
    let e = handle(&mut org, "POST", &path, &query, &json!({"rules": [bad]})).unwrap_err();
    assert!(e.message.contains("SERVICE_FQDN"), "{}", e.message);
    let raw = "policies/cloudresourcemanager.googleapis.com/projects/acme-000-prod/denypolicies";
    let e = handle(&mut org, "GET", raw, &HashMap::new(), &Value::Null).unwrap_err();
    assert!(
        e.code == 400 && e.message.contains("URL-encoded"),
        "{}",
        e.message
    );
}

#[test]
fn a_race_moves_the_etag_of_the_next_write_only() {
    let mut org = org();
    org.deny.races = 1;
    let path = format!("policies/{ORG}/denypolicies/guardrail-00");
    let none = HashMap::new();
    let read = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap();
    let raced = handle(&mut org, "PUT", &path, &none, &read).unwrap_err();
    assert_eq!((raced.code, raced.status), (409, "ABORTED"));
    let read = handle(&mut org, "GET", &path, &none, &Value::Null).unwrap();
    assert_eq!(
        handle(&mut org, "PUT", &path, &none, &read).unwrap()["done"],
        false
    );
}
