//! The emulated org answers as Okta's Management API reference says, on what a restore depends
//! on: status codes, error codes and body shapes, each test naming the reference behaviour it
//! pins.

mod common;

use std::time::Duration;

use common::api::{Answer, Api};
use iamsnap_testkit::okta::OktaEmulator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn error_code(a: &Answer) -> &str {
    a.body["errorCode"].as_str().unwrap_or_default()
}

fn causes(a: &Answer) -> Vec<&str> {
    a.body["errorCauses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["errorSummary"].as_str())
        .collect()
}

fn ids(a: &Answer) -> Vec<String> {
    a.body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", a.body))
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

fn last_segment(href: &Value) -> String {
    href.as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

fn new_user(login: &str, extra: Value) -> Value {
    let mut profile =
        json!({"login": login, "email": login, "firstName": "Ada", "lastName": "Byron"});
    for (k, v) in extra.as_object().unwrap() {
        profile[k] = v.clone();
    }
    json!({"profile": profile})
}

/// Users API, create user: a profile property the user type's schema does not define is refused
/// with 400 E0000001 "Property name '…' is not defined in profile"; once the schema defines it
/// (`POST /api/v1/meta/schemas/user/default`), the same create succeeds. Each user type has its
/// own schema, linked from the type as `_links.schema`.
#[tokio::test]
async fn profiles_are_checked_against_their_user_types_schema() {
    let api = Api::new(20).await;
    let user = new_user("ada@example.com", json!({"favouriteColour": "teal"}));
    let refused = api
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(user.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(error_code(&refused), "E0000001");
    assert_eq!(
        causes(&refused),
        ["Property name 'favouriteColour' is not defined in profile"]
    );

    let property = json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": {
        "favouriteColour": {"title": "Favourite colour", "type": "string"}}}}});
    let schema = api
        .call(
            Method::POST,
            "/api/v1/meta/schemas/user/default",
            Some(property),
        )
        .await;
    assert_eq!(schema.status, StatusCode::OK);
    assert_eq!(
        schema.body["definitions"]["custom"]["properties"]["favouriteColour"]["type"],
        "string"
    );
    let created = api
        .call(Method::POST, "/api/v1/users?activate=false", Some(user))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.body["profile"]["favouriteColour"], "teal");

    // Another type's schema is its own: the property is not defined for its users.
    let types = api.get("/api/v1/meta/types/user").await.body;
    let contractor = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["default"] == false)
        .unwrap();
    let href = contractor["_links"]["schema"]["href"].as_str().unwrap();
    let contractor_schema = api.get(href).await;
    assert_eq!(contractor_schema.status, StatusCode::OK);
    assert!(
        contractor_schema.body["definitions"]["custom"]["properties"]
            .get("favouriteColour")
            .is_none()
    );
    let mut other = new_user("grace@example.com", json!({"favouriteColour": "teal"}));
    other["type"] = json!({"id": contractor["id"]});
    let refused = api
        .call(Method::POST, "/api/v1/users?activate=false", Some(other))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        causes(&refused),
        ["Property name 'favouriteColour' is not defined in profile"]
    );
}

/// The first `APP_ADMIN` role assignment of a user, as `(user id, role id)`.
async fn app_admin(api: &Api) -> (String, String) {
    let holders = api.get("/api/v1/iam/assignees/users").await.body;
    for holder in holders["value"].as_array().unwrap() {
        let user = holder["id"].as_str().unwrap();
        let roles = api.get(&format!("/api/v1/users/{user}/roles")).await.body;
        if let Some(role) = roles
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "APP_ADMIN")
        {
            return (user.to_string(), role["id"].as_str().unwrap().to_string());
        }
    }
    panic!("the seeded org has an APP_ADMIN");
}

/// Role targets (`/api/v1/users/{userId}/roles/{roleAssignmentId}/targets/catalog/apps`): the
/// list holds OIN catalog apps (no `id`) and app instances (with their `id`); a whole catalog
/// app is added with `PUT …/catalog/apps/{appName}` (204), an instance removed with
/// `DELETE …/catalog/apps/{appName}/{appId}` (204), the app named by its key name. A single
/// role assignment is read with `GET /api/v1/users/{userId}/roles/{roleAssignmentId}`.
#[tokio::test]
async fn app_admin_targets_are_catalog_apps_and_app_instances() {
    let api = Api::new(30).await;
    let (user, role) = app_admin(&api).await;
    let one = api.get(&format!("/api/v1/users/{user}/roles/{role}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["id"], role.as_str());
    assert_eq!(one.body["type"], "APP_ADMIN");
    assert_eq!(one.body["assignmentType"], "USER");
    let missing = api
        .get(&format!("/api/v1/users/{user}/roles/ra1nothing"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "E0000007");

    let base = format!("/api/v1/users/{user}/roles/{role}/targets/catalog/apps");
    let listed = api.get(&base).await;
    assert_eq!(listed.status, StatusCode::OK);
    let targets = listed.body.as_array().unwrap().clone();
    let catalog: Vec<&Value> = targets.iter().filter(|t| t.get("id").is_none()).collect();
    let instances: Vec<&Value> = targets.iter().filter(|t| t.get("id").is_some()).collect();
    assert!(!catalog.is_empty() && !instances.is_empty(), "{targets:?}");
    for app in &catalog {
        assert!(
            app["name"].is_string() && app["displayName"].is_string(),
            "{app}"
        );
    }

    let added = api
        .call(Method::PUT, &format!("{base}/salesforce"), None)
        .await;
    assert_eq!(added.status, StatusCode::NO_CONTENT, "{}", added.body);
    let names: Vec<Value> = api
        .get(&base)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.get("id").is_none())
        .map(|t| t["name"].clone())
        .collect();
    assert!(names.contains(&json!("salesforce")), "{names:?}");
    let unknown = api
        .call(Method::PUT, &format!("{base}/no_such_app"), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // An instance is removed by its app's key name and id; the list's `name` is not the key.
    let instance = instances[0]["id"].as_str().unwrap();
    let app = api.get(&format!("/api/v1/apps/{instance}")).await.body;
    let key_name = app["name"].as_str().unwrap();
    let wrong = api
        .call(
            Method::DELETE,
            &format!("{base}/not_its_name/{instance}"),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let removed = api
        .call(
            Method::DELETE,
            &format!("{base}/{key_name}/{instance}"),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert!(!ids(&api.get(&base).await).contains(&instance.to_string()));

    // A role narrowed to apps keeps at least one: the last target is not removed.
    let left: Vec<String> = api
        .get(&base)
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    for (n, name) in left.iter().enumerate() {
        let answer = api
            .call(Method::DELETE, &format!("{base}/{name}"), None)
            .await;
        let last = n + 1 == left.len();
        assert_eq!(
            answer.status,
            if last {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::NO_CONTENT
            },
            "{name}: {}",
            answer.body
        );
    }
}

/// Group rules: deleting a group a rule assigns users to makes the rule `INVALID`; an update
/// naming existing groups makes it `INACTIVE` again, and it can then be activated.
#[tokio::test]
async fn a_rule_whose_group_is_deleted_is_invalid_until_updated() {
    let api = Api::new(40).await;
    let rules = api.get("/api/v1/groups/rules").await.body;
    let rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "ACTIVE")
        .unwrap()
        .clone();
    let id = rule["id"].as_str().unwrap();
    let target = rule["actions"]["assignUserToGroups"]["groupIds"][0]
        .as_str()
        .unwrap();
    let deleted = api
        .call(Method::DELETE, &format!("/api/v1/groups/{target}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let path = format!("/api/v1/groups/rules/{id}");
    assert_eq!(api.get(&path).await.body["status"], "INVALID");
    let activate = format!("{path}/lifecycle/activate");
    let refused = api.call(Method::POST, &activate, None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let group = api
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Re-created", "description": ""}})),
        )
        .await
        .body;
    let mut body = rule.clone();
    body["actions"]["assignUserToGroups"]["groupIds"] = json!([group["id"]]);
    let updated = api.call(Method::PUT, &path, Some(body)).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["status"], "INACTIVE");
    let activated = api.call(Method::POST, &activate, None).await;
    assert_eq!(activated.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&path).await.body["status"], "ACTIVE");
}

/// Apps: every app is bound to an app sign-in policy, linked as `_links.accessPolicy`; a new
/// app starts on the default one; `PUT /api/v1/apps/{appId}/policies/{policyId}` (204) binds it
/// to another `ACCESS_POLICY`, and only to one of that type.
#[tokio::test]
async fn apps_are_bound_to_an_access_policy() {
    let api = Api::new(20).await;
    let apps = api.get("/api/v1/apps").await.body;
    for app in apps.as_array().unwrap() {
        let policy = last_segment(&app["_links"]["accessPolicy"]["href"]);
        let p = api.get(&format!("/api/v1/policies/{policy}")).await;
        assert_eq!(p.status, StatusCode::OK);
        assert_eq!(p.body["type"], "ACCESS_POLICY", "{}", app["label"]);
    }
    let policies = api.get("/api/v1/policies?type=ACCESS_POLICY").await.body;
    let policies = policies.as_array().unwrap();
    let default = policies.iter().find(|p| p["system"] == true).unwrap();
    let custom = policies.iter().find(|p| p["system"] == false).unwrap();
    let bookmark = json!({"name": "bookmark", "label": "Wiki", "signOnMode": "BOOKMARK",
        "settings": {"app": {"requestIntegration": false, "url": "https://wiki.example.com"}}});
    let app = api
        .call(Method::POST, "/api/v1/apps", Some(bookmark))
        .await
        .body;
    assert_eq!(
        last_segment(&app["_links"]["accessPolicy"]["href"]),
        default["id"].as_str().unwrap()
    );
    let id = app["id"].as_str().unwrap();
    let bind = format!(
        "/api/v1/apps/{id}/policies/{}",
        custom["id"].as_str().unwrap()
    );
    assert_eq!(
        api.call(Method::PUT, &bind, None).await.status,
        StatusCode::NO_CONTENT
    );
    let read = api.get(&format!("/api/v1/apps/{id}")).await.body;
    assert_eq!(
        last_segment(&read["_links"]["accessPolicy"]["href"]),
        custom["id"].as_str().unwrap()
    );
    let password = api.get("/api/v1/policies?type=PASSWORD").await.body[0]["id"].clone();
    let wrong = api
        .call(
            Method::PUT,
            &format!("/api/v1/apps/{id}/policies/{}", password.as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
}

/// Policies: `GET /api/v1/policies?type=…` lists every type of the reference; a type the org
/// lacks (or that does not exist) is 400 E0000002. Okta's own policies carry its default names,
/// and their rules its condition blocks.
#[tokio::test]
async fn every_policy_type_is_listed_with_okta_default_policies() {
    let api = Api::new(20).await;
    for policy_type in [
        "OKTA_SIGN_ON",
        "PASSWORD",
        "MFA_ENROLL",
        "IDP_DISCOVERY",
        "ACCESS_POLICY",
        "PROFILE_ENROLLMENT",
        "POST_AUTH_SESSION",
        "ENTITY_RISK",
        "DEVICE_SIGNAL_COLLECTION",
        "SESSION_VIOLATION_DETECTION",
        "CLIENT_UPDATE",
        "IDENTITY_CLAIM_SOURCING",
        "SELF_SERVICE_REGISTRATION",
    ] {
        let listed = api
            .get(&format!("/api/v1/policies?type={policy_type}"))
            .await;
        assert_eq!(
            listed.status,
            StatusCode::OK,
            "{policy_type}: {}",
            listed.body
        );
        assert!(listed.body.is_array());
    }
    let sign_on = api.get("/api/v1/policies?type=OKTA_SIGN_ON").await.body;
    let default = sign_on
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["system"] == true)
        .unwrap();
    assert_eq!(default["name"], "Default Policy");
    let rules = api
        .get(&format!(
            "/api/v1/policies/{}/rules",
            default["id"].as_str().unwrap()
        ))
        .await
        .body;
    let rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["system"] == true)
        .unwrap();
    assert_eq!(rule["name"], "Default Rule");
    assert!(rule["conditions"]["people"]["users"]["exclude"].is_array());
    assert_eq!(rule["conditions"]["riskScore"]["level"], "ANY");
    let access = api.get("/api/v1/policies?type=ACCESS_POLICY").await.body;
    let default_access = access
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["system"] == true)
        .unwrap();
    let rules = api
        .get(&format!(
            "/api/v1/policies/{}/rules",
            default_access["id"].as_str().unwrap()
        ))
        .await
        .body;
    let catch_all = &rules[0];
    assert_eq!(catch_all["name"], "Catch-all Rule");
    assert!(catch_all["conditions"]["userType"]["exclude"].is_array());

    let unknown = api.get("/api/v1/policies?type=NOT_A_TYPE").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&unknown), "E0000002");
    api.okta
        .with_org(|o| o.disable_policy_type("CLIENT_UPDATE"));
    let lacking = api.get("/api/v1/policies?type=CLIENT_UPDATE").await;
    assert_eq!(lacking.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&lacking), "E0000002");
}

/// Read-after-write: a member added with `PUT /api/v1/groups/{groupId}/users/{userId}` (204) is
/// missing from the group's member list for the consistency delay, then listed.
#[tokio::test]
async fn a_new_member_is_listed_after_the_consistency_delay() {
    let delay = Duration::from_millis(400);
    let api = Api::start(
        OktaEmulator::builder()
            .users(20)
            .groups(6)
            .apps(1)
            .consistency_delay(delay),
    )
    .await;
    let groups = api
        .get("/api/v1/groups?search=type eq \"OKTA_GROUP\"")
        .await
        .body;
    let group = groups[0]["id"].as_str().unwrap().to_string();
    let members = format!("/api/v1/groups/{group}/users");
    let users = ids(&api.get("/api/v1/users").await);
    let before = ids(&api.get(&members).await);
    let user = users.iter().find(|u| !before.contains(u)).unwrap();
    let put = api
        .call(Method::PUT, &format!("{members}/{user}"), None)
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    assert!(
        !ids(&api.get(&members).await).contains(user),
        "not yet listed"
    );
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    assert!(
        ids(&api.get(&members).await).contains(user),
        "listed after the delay"
    );
}

/// User search (`search=`): `sw`, `pr`, `gt` and parentheses, with `and`/`or`.
#[tokio::test]
async fn user_search_supports_the_reference_operators() {
    let api = Api::new(60).await;
    let all = api.get("/api/v1/users?limit=200").await.body;
    let all = all.as_array().unwrap();
    let search = |q: &str| format!("/api/v1/users?limit=200&search={}", urlencode(q));

    let sw = api.get(&search("profile.lastName sw \"Lo\"")).await;
    assert_eq!(sw.status, StatusCode::OK, "{}", sw.body);
    let want = all
        .iter()
        .filter(|u| u["profile"]["lastName"].as_str().unwrap().starts_with("Lo"))
        .count();
    assert_eq!(sw.body.as_array().unwrap().len(), want);
    assert!(want > 0);

    let pr = api.get(&search("profile.mobilePhone pr")).await;
    assert_eq!(pr.status, StatusCode::OK);
    assert!(
        pr.body
            .as_array()
            .unwrap()
            .iter()
            .all(|u| !u["profile"]["mobilePhone"].is_null())
    );

    let gt = api.get(&search("profile.clearanceLevel gt 3")).await;
    assert_eq!(gt.status, StatusCode::OK, "{}", gt.body);
    for u in gt.body.as_array().unwrap() {
        assert!(u["profile"]["clearanceLevel"].as_i64().unwrap() > 3);
    }

    let grouped = api
        .get(&search(
            "(status eq \"STAGED\" or status eq \"PROVISIONED\") and profile.department pr",
        ))
        .await;
    assert_eq!(grouped.status, StatusCode::OK, "{}", grouped.body);
    let want = all
        .iter()
        .filter(|u| matches!(u["status"].as_str().unwrap(), "STAGED" | "PROVISIONED"))
        .count();
    assert_eq!(grouped.body.as_array().unwrap().len(), want);

    let broken = api.get(&search("(status eq \"ACTIVE\"")).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
}

fn urlencode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// Apps: the basic auth and secure password store templates and custom SWA apps
/// (`AUTO_LOGIN` with `settings.signOn.loginUrl`) are created from their settings; Okta names a
/// custom SWA app itself.
#[tokio::test]
async fn template_and_custom_swa_apps_are_created() {
    let api = Api::new(10).await;
    for body in [
        json!({"name": "template_basic_auth", "label": "Intranet", "signOnMode": "BASIC_AUTH",
               "settings": {"app": {"url": "https://intranet.example.com", "authURL": "https://intranet.example.com/login"}}}),
        json!({"name": "template_sps", "label": "Vault", "signOnMode": "SECURE_PASSWORD_STORE",
               "settings": {"app": {"url": "https://vault.example.com", "usernameField": "u", "passwordField": "p"}}}),
        json!({"label": "Timesheets", "signOnMode": "AUTO_LOGIN",
               "settings": {"signOn": {"loginUrl": "https://time.example.com/login"}}}),
    ] {
        let created = api
            .call(Method::POST, "/api/v1/apps", Some(body.clone()))
            .await;
        assert_eq!(created.status, StatusCode::OK, "{body}: {}", created.body);
        assert!(created.body["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert_eq!(created.body["signOnMode"], body["signOnMode"]);
    }
    let without_url = json!({"name": "template_basic_auth", "label": "X", "signOnMode": "BASIC_AUTH",
                             "settings": {"app": {}}});
    let refused = api
        .call(Method::POST, "/api/v1/apps", Some(without_url))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&refused), "E0000001");
}

/// Network zones: a replace (`PUT /api/v1/zones/{zoneId}`) sets the `status` its body gives.
#[tokio::test]
async fn a_zone_replace_sets_its_status() {
    let api = Api::new(10).await;
    let zones = api.get("/api/v1/zones").await.body;
    let zone = zones
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["system"] == false && z["type"] == "IP" && z["status"] == "ACTIVE")
        .unwrap()
        .clone();
    let path = format!("/api/v1/zones/{}", zone["id"].as_str().unwrap());
    let mut body = zone.clone();
    body["status"] = json!("INACTIVE");
    let replaced = api.call(Method::PUT, &path, Some(body)).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["status"], "INACTIVE");
    assert_eq!(api.get(&path).await.body["status"], "INACTIVE");
}

/// Authenticators: `GET /api/v1/authenticators` is one array (no paging); `PUT` replaces name
/// and settings; `POST …/lifecycle/deactivate` answers the authenticator, or 403 E0000148 with
/// the enrollment policies that still offer it; the password authenticator is never
/// deactivated nor created; a key the org has is not created again, and a provider's secret
/// is required on create and never returned.
#[tokio::test]
async fn authenticators_follow_the_reference() {
    let api = Api::new(20).await;
    let list = api.get("/api/v1/authenticators").await;
    assert_eq!(list.status, StatusCode::OK);
    let all = list.body.as_array().unwrap().clone();
    let keys: Vec<&str> = all.iter().filter_map(|a| a["key"].as_str()).collect();
    for key in [
        "okta_password",
        "okta_email",
        "phone_number",
        "okta_verify",
        "webauthn",
        "security_question",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert!(
        !list.body.to_string().contains("secretKey"),
        "{}",
        list.body
    );
    let id_of = |key: &str| {
        all.iter().find(|a| a["key"] == key).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let missing = api.get("/api/v1/authenticators/autNOPE").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&missing), "E0000007");

    let phone = id_of("phone_number");
    let replaced = api
        .call(
            Method::PUT,
            &format!("/api/v1/authenticators/{phone}"),
            Some(json!({"name": "Phone", "settings": {"allowedFor": "recovery"}})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(replaced.body["settings"]["allowedFor"], "recovery");
    assert_eq!(replaced.body["key"], "phone_number");

    // Okta Verify is required by the enrollment policies: it stays on.
    let verify = id_of("okta_verify");
    let refused = api
        .call(
            Method::POST,
            &format!("/api/v1/authenticators/{verify}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&refused), "E0000148");
    assert!(causes(&refused)[0].starts_with("Authenticator Enrollment Policies: "));
    let password = id_of("okta_password");
    let refused = api
        .call(
            Method::POST,
            &format!("/api/v1/authenticators/{password}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    // Security questions are offered by no policy: they can be turned off and on.
    let question = id_of("security_question");
    let off = api
        .call(
            Method::POST,
            &format!("/api/v1/authenticators/{question}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(off.body["status"], "INACTIVE");
    assert!(off.body["_links"]["activate"]["href"].is_string());
    let on = api
        .call(
            Method::POST,
            &format!("/api/v1/authenticators/{question}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(on.body["status"], "ACTIVE");
    let bad = api
        .call(
            Method::POST,
            &format!("/api/v1/authenticators/{question}/lifecycle/suspend"),
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    let again = api
        .call(
            Method::POST,
            "/api/v1/authenticators",
            Some(json!({"key": "webauthn", "name": "Security Key or Biometric"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&again), "E0000001");
    let password = api
        .call(
            Method::POST,
            "/api/v1/authenticators",
            Some(json!({"key": "okta_password", "name": "Password"})),
        )
        .await;
    assert_eq!(password.status, StatusCode::BAD_REQUEST);

    // In an org without Duo, Duo is created only with its secret, which is never shown.
    let fresh = Api::start(OktaEmulator::builder().users(1).groups(1).apps(0)).await;
    let duo = json!({"key": "duo", "name": "Duo Security",
        "provider": {"type": "DUO", "configuration": {"host": "api-1.duosecurity.com",
                     "integrationKey": "DI1", "userNameTemplate": {"template": "oktaId"}}}});
    let no_secret = fresh
        .call(Method::POST, "/api/v1/authenticators", Some(duo.clone()))
        .await;
    assert_eq!(no_secret.status, StatusCode::BAD_REQUEST);
    assert!(causes(&no_secret)[0].contains("secretKey"));
    let mut with_secret = duo;
    with_secret["provider"]["configuration"]["secretKey"] = json!("s3cret");
    let made = fresh
        .call(
            Method::POST,
            "/api/v1/authenticators?activate=false",
            Some(with_secret),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.body["status"], "INACTIVE");
    assert!(made.body["id"].as_str().unwrap().starts_with("aut"));
    assert!(!made.body.to_string().contains("s3cret"));
}

/// Authenticator enrollment policies (`MFA_ENROLL`) name authenticators by key: a policy that
/// lets people enrol with one the org does not have active is refused (400 E0000001).
#[tokio::test]
async fn an_enrollment_policy_offers_only_active_authenticators() {
    let api = Api::start(OktaEmulator::builder().users(1).groups(1).apps(0)).await;
    let body = json!({"type": "MFA_ENROLL", "name": "Keys", "conditions": null,
        "settings": {"type": "AUTHENTICATORS", "authenticators": [
            {"key": "webauthn", "enroll": {"self": "REQUIRED"}}]}});
    let refused = api
        .call(Method::POST, "/api/v1/policies", Some(body.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(causes(&refused)[0].contains("webauthn"), "{}", refused.body);
    let made = api
        .call(
            Method::POST,
            "/api/v1/authenticators",
            Some(json!({"key": "webauthn", "name": "Security Key or Biometric"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK);
    let accepted = api.call(Method::POST, "/api/v1/policies", Some(body)).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
}

/// Behavior detection rules: listed whole; names unique; `type` one of the four; created
/// active unless `activate=false`; a global session policy rule names them in
/// `conditions.risk.behaviors`, and one it names is not deleted.
#[tokio::test]
async fn behavior_detection_rules_follow_the_reference() {
    let api = Api::new(20).await;
    let list = api.get("/api/v1/behaviors").await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    for name in [
        "New City",
        "New Country",
        "New Device",
        "New IP",
        "Velocity",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let body = json!({"name": "Far away", "type": "ANOMALOUS_LOCATION",
                      "settings": {"maxEventsUsedForEvaluation": 50, "granularity": "LAT_LONG", "radiusKilometers": 50}});
    let made = api
        .call(
            Method::POST,
            "/api/v1/behaviors?activate=false",
            Some(body.clone()),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert_eq!(made.body["status"], "INACTIVE");
    let id = made.body["id"].as_str().unwrap().to_string();
    let twice = api
        .call(Method::POST, "/api/v1/behaviors", Some(body))
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&twice), "E0000001");
    let wrong = api
        .call(
            Method::POST,
            "/api/v1/behaviors",
            Some(json!({"name": "X", "type": "SOMETHING", "settings": {}})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let on = api
        .call(
            Method::POST,
            &format!("/api/v1/behaviors/{id}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(on.body["status"], "ACTIVE");

    let country = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "New Country")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let in_use = api
        .call(
            Method::DELETE,
            &format!("/api/v1/behaviors/{country}"),
            None,
        )
        .await;
    assert_eq!(in_use.status, StatusCode::BAD_REQUEST, "{}", in_use.body);
    let gone = api
        .call(Method::DELETE, &format!("/api/v1/behaviors/{id}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let again = api.get(&format!("/api/v1/behaviors/{id}")).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&again), "E0000007");

    let sign_on = api.get("/api/v1/policies?type=OKTA_SIGN_ON").await.body;
    let policy = sign_on[0]["id"].as_str().unwrap();
    let rule = json!({"name": "Risky", "type": "SIGN_ON",
        "conditions": {"risk": {"behaviors": ["No such behavior"]}}, "actions": {}});
    let refused = api
        .call(
            Method::POST,
            &format!("/api/v1/policies/{policy}/rules"),
            Some(rule),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(causes(&refused)[0].contains("No such behavior"));
}

/// Group owners: `GET /api/v1/groups/{id}/owners` pages with `limit`/`after`; `POST {id, type}`
/// answers 201 with the owner (its display name); an owner twice, or of another type than
/// USER or GROUP, is 400; `DELETE …/owners/{ownerId}` is 204, then 404.
#[tokio::test]
async fn group_owners_follow_the_reference() {
    let api = Api::new(20).await;
    let groups = api.get("/api/v1/groups?limit=200").await.body;
    let okta: Vec<String> = groups
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["type"] == "OKTA_GROUP")
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let owned = &okta[0];
    let users = api.get("/api/v1/users?limit=3").await.body;
    let (a, b) = (
        users[1]["id"].as_str().unwrap().to_string(),
        users[2]["id"].as_str().unwrap().to_string(),
    );
    let path = format!("/api/v1/groups/{owned}/owners");
    let before = ids(&api.get(&path).await);
    for (id, kind) in [(&a, "USER"), (&b, "USER"), (&okta[1], "GROUP")] {
        if before.contains(id) {
            continue;
        }
        let made = api
            .call(Method::POST, &path, Some(json!({"id": id, "type": kind})))
            .await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
        assert_eq!(made.body["type"], kind);
        assert!(made.body["displayName"].is_string());
        assert_eq!(made.body["originType"], "OKTA_DIRECTORY");
    }
    let twice = api
        .call(Method::POST, &path, Some(json!({"id": a, "type": "USER"})))
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    let wrong = api
        .call(Method::POST, &path, Some(json!({"id": a, "type": "APP"})))
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);

    let first = api.get(&format!("{path}?limit=1")).await;
    assert_eq!(ids(&first).len(), 1);
    let next = first
        .headers
        .get_all("link")
        .iter()
        .filter_map(|l| l.to_str().ok())
        .find(|l| l.contains("rel=\"next\""))
        .expect("a next page");
    let next = next.trim_start_matches('<').split('>').next().unwrap();
    let second = api.get(next).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(ids(&second), ids(&first));

    let removed = api.call(Method::DELETE, &format!("{path}/{a}"), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let again = api.call(Method::DELETE, &format!("{path}/{a}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&again), "E0000007");
    let nowhere = api.get("/api/v1/groups/00gNOPE/owners").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

/// An invalid policy type is answered with Okta's whole error body: 400, `E0000002`, "The
/// request was not valid: Invalid policy type specified", an errorId and no causes.
#[tokio::test]
async fn an_invalid_policy_type_has_okta_error_body() {
    let api = Api::new(5).await;
    let answer = api
        .get("/api/v1/policies?type=OAUTH_AUTHORIZATION_POLICY")
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["errorCode"], "E0000002");
    assert_eq!(answer.body["errorLink"], "E0000002");
    assert_eq!(
        answer.body["errorSummary"],
        "The request was not valid: Invalid policy type specified"
    );
    assert!(answer.body["errorId"].as_str().unwrap().starts_with("oae"));
    assert_eq!(answer.body["errorCauses"], json!([]));
    let missing = api.get("/api/v1/policies").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&missing), "E0000001");
}

/// Schemas and mappings: the group schema and an app's user schema take custom properties
/// with `POST` (`null` removes one); every app has a mapping each way
/// (`GET /api/v1/mappings?sourceId=…&targetId=…`, 20 a page by default, `Link` next), read one
/// by one with its `properties`; `POST /api/v1/mappings/{id}` merges properties, refusing one
/// the target's schema does not define; a deleted app's schema and mappings are gone.
#[tokio::test]
async fn schemas_and_profile_mappings_follow_the_reference() {
    let api = Api::new(10).await;
    let group = api.get("/api/v1/meta/schemas/group/default").await;
    assert_eq!(group.status, StatusCode::OK);
    assert!(group.body["definitions"]["base"]["properties"]["name"].is_object());
    assert!(group.body["definitions"]["custom"]["properties"]["costCenter"].is_object());
    let added = api
        .call(
            Method::POST,
            "/api/v1/meta/schemas/group/default",
            Some(
                json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": {
                "site": {"title": "Site", "type": "string"}, "costCenter": null}}}}),
            ),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let custom = &added.body["definitions"]["custom"]["properties"];
    assert!(custom["site"].is_object() && custom.get("costCenter").is_none());

    let apps = api.get("/api/v1/apps?limit=200").await.body;
    let saml = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["signOnMode"] == "SAML_2_0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let schema = api
        .get(&format!("/api/v1/meta/schemas/apps/{saml}/default"))
        .await;
    assert_eq!(schema.status, StatusCode::OK);
    assert!(schema.body["definitions"]["custom"]["properties"]["department"].is_object());
    let nowhere = api.get("/api/v1/meta/schemas/apps/0oaNOPE/default").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);

    let all = api.get("/api/v1/mappings?limit=200").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(ids(&all).len(), 2 * apps.as_array().unwrap().len());
    let first = api.get("/api/v1/mappings?limit=1").await;
    assert!(
        first
            .headers
            .get_all("link")
            .iter()
            .any(|l| l.to_str().unwrap().contains("rel=\"next\""))
    );
    let to_app = api.get(&format!("/api/v1/mappings?targetId={saml}")).await;
    let listed = &to_app.body[0];
    assert_eq!(listed["source"]["type"], "user");
    assert_eq!(listed["target"]["type"], "appuser");
    assert!(
        listed.get("properties").is_none(),
        "the list shows no properties"
    );
    let id = listed["id"].as_str().unwrap().to_string();
    let one = api.get(&format!("/api/v1/mappings/{id}")).await;
    assert_eq!(
        one.body["properties"]["department"]["expression"],
        "user.department"
    );
    let refused = api
        .call(
            Method::POST,
            &format!("/api/v1/mappings/{id}"),
            Some(json!({"properties": {"nickname": {"expression": "user.nickName", "pushStatus": "PUSH"}}})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&refused), "E0000001");
    let changed = api
        .call(
            Method::POST,
            &format!("/api/v1/mappings/{id}"),
            Some(
                json!({"properties": {"role": {"expression": "\"member\"", "pushStatus": "PUSH"},
                                       "department": null}}),
            ),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(changed.body["properties"]["role"].is_object());
    assert!(changed.body["properties"].get("department").is_none());
    assert!(changed.body["properties"]["userName"].is_object(), "merged");

    api.call(
        Method::POST,
        &format!("/api/v1/apps/{saml}/lifecycle/deactivate"),
        None,
    )
    .await;
    let deleted = api
        .call(Method::DELETE, &format!("/api/v1/apps/{saml}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/api/v1/mappings/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ids(&api.get("/api/v1/mappings?limit=200").await).len(),
        2 * (apps.as_array().unwrap().len() - 1)
    );
}

/// Custom roles (`/api/v1/iam/roles`): lists are paged in the body (`roles`, `_links.next`,
/// 100 a page); a role is found by id or label; a duplicate label or an unknown permission is
/// 400 E0000001; a permission's conditions are replaced on their own
/// (`PUT …/permissions/{permissionType}`); a role bound to a resource set cannot be deleted;
/// an unknown role is 404 E0000007.
#[tokio::test]
async fn custom_roles_are_paged_in_their_body_and_found_by_label() {
    let api = Api::new(20).await;
    for i in 0..120 {
        let body = json!({"label": format!("Role {i:03}"), "description": "d",
                          "permissions": ["okta.users.read"]});
        let created = api
            .call(Method::POST, "/api/v1/iam/roles", Some(body))
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
        assert!(created.body["id"].as_str().unwrap().starts_with("cr0"));
    }
    let first = api.get("/api/v1/iam/roles").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["roles"].as_array().unwrap().len(), 100);
    let next = first.body["_links"]["next"]["href"].as_str().unwrap();
    assert!(
        first
            .headers
            .get("link")
            .is_none_or(|l| !l.to_str().unwrap().contains("next"))
    );
    let second = api.get(next).await;
    let seeded = 2;
    assert_eq!(second.body["roles"].as_array().unwrap().len(), 20 + seeded);
    assert!(second.body["_links"].get("next").is_none());

    let by_label = api.get("/api/v1/iam/roles/Help%20Desk%20Lite").await;
    assert_eq!(by_label.status, StatusCode::OK, "{}", by_label.body);
    let id = by_label.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/api/v1/iam/roles/{id}")).await.body["label"],
        "Help Desk Lite"
    );
    let permissions = api
        .get(&format!("/api/v1/iam/roles/{id}/permissions"))
        .await;
    let labels: Vec<&str> = permissions.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"okta.users.read"), "{labels:?}");

    let duplicate =
        json!({"label": "Help Desk Lite", "description": "d", "permissions": ["okta.users.read"]});
    let refused = api
        .call(Method::POST, "/api/v1/iam/roles", Some(duplicate))
        .await;
    assert_eq!(
        (refused.status, error_code(&refused)),
        (StatusCode::BAD_REQUEST, "E0000001")
    );
    let unknown = json!({"label": "X", "description": "d", "permissions": ["read everything"]});
    let refused = api
        .call(Method::POST, "/api/v1/iam/roles", Some(unknown))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let conditions =
        json!({"conditions": {"include": {"okta:ResourceAttribute/User/Profile": ["city"]}}});
    let path = format!("/api/v1/iam/roles/{id}/permissions/okta.users.read");
    let replaced = api.call(Method::PUT, &path, Some(conditions.clone())).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(
        api.get(&path).await.body["conditions"],
        conditions["conditions"]
    );

    let bound = api
        .call(Method::DELETE, &format!("/api/v1/iam/roles/{id}"), None)
        .await;
    assert_eq!(bound.status, StatusCode::BAD_REQUEST, "a bound role stays");
    let missing = api.get("/api/v1/iam/roles/cr0nothere").await;
    assert_eq!(
        (missing.status, error_code(&missing)),
        (StatusCode::NOT_FOUND, "E0000007")
    );
}

/// Resource sets, bindings and custom role assignments: resources are given as REST URLs or
/// ORNs and listed with both (`orn`, `_links.self.href`); a set needs a resource; a binding's
/// members are REST URLs of users and groups; each member holds a `CUSTOM` role assignment,
/// listed with its roles under the member's id, naming `role` and `resource-set`; assigning
/// one through `POST /users/{id}/roles` adds a member, unassigning it removes it, and the
/// binding goes with its last member.
#[tokio::test]
async fn resource_sets_bind_custom_roles_to_users_and_groups() {
    let api = Api::new(20).await;
    let base = api.okta.base_url().to_string();
    let groups = api.get("/api/v1/groups?limit=200").await.body;
    let group = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let empty = json!({"label": "Empty", "description": "d", "resources": []});
    let refused = api
        .call(Method::POST, "/api/v1/iam/resource-sets", Some(empty))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let body = json!({"label": "Ops", "description": "Operations", "resources": [
        format!("{base}/api/v1/groups/{group}/users"),
        "orn:okta:idp:00o1emulated:apps",
    ]});
    let set = api
        .call(Method::POST, "/api/v1/iam/resource-sets", Some(body))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let set_id = set.body["id"].as_str().unwrap().to_string();
    let resources = api
        .get(&format!("/api/v1/iam/resource-sets/{set_id}/resources"))
        .await
        .body;
    let listed = resources["resources"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|r| {
        r["orn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("groups:{group}:contained_resources"))
            && r["_links"]["self"]["href"] == format!("{base}/api/v1/groups/{group}/users")
    }));
    assert!(
        listed
            .iter()
            .any(|r| r["_links"]["self"]["href"] == format!("{base}/api/v1/apps"))
    );

    let role = api.get("/api/v1/iam/roles/App%20Auditor").await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let users = api.get("/api/v1/users?limit=5").await.body;
    let user = users[1]["id"].as_str().unwrap().to_string();
    let binding = json!({"role": role, "members": [format!("{base}/api/v1/users/{user}")]});
    let bindings = format!("/api/v1/iam/resource-sets/{set_id}/bindings");
    let created = api.call(Method::POST, &bindings, Some(binding)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let listed = api.get(&bindings).await.body;
    assert_eq!(listed["roles"][0]["id"], role.as_str());

    let roles = api.get(&format!("/api/v1/users/{user}/roles")).await.body;
    let custom = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "CUSTOM" && r["resource-set"] == set_id.as_str())
        .expect("the member holds a custom role assignment")
        .clone();
    assert_eq!(custom["role"], role.as_str());
    assert_eq!(custom["label"], "App Auditor");
    assert!(custom["id"].as_str().unwrap().starts_with("irb"));
    let members = api.get(&format!("{bindings}/{role}/members")).await.body;
    assert_eq!(members["members"][0]["id"], custom["id"]);

    // A group is assigned the role over the set through its roles; then the user is
    // unassigned, and the group's removal takes the binding with it.
    let assign = json!({"type": "CUSTOM", "role": role, "resource-set": set_id});
    let assigned = api
        .call(
            Method::POST,
            &format!("/api/v1/groups/{group}/roles"),
            Some(assign.clone()),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let again = api
        .call(
            Method::POST,
            &format!("/api/v1/groups/{group}/roles"),
            Some(assign),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unassign = format!(
        "/api/v1/users/{user}/roles/{}",
        custom["id"].as_str().unwrap()
    );
    assert_eq!(
        api.call(Method::DELETE, &unassign, None).await.status,
        StatusCode::NO_CONTENT
    );
    let member = assigned.body["id"].as_str().unwrap();
    let path = format!("{bindings}/{role}/members/{member}");
    assert_eq!(
        api.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = api.get(&format!("{bindings}/{role}")).await;
    assert_eq!(
        gone.status,
        StatusCode::NOT_FOUND,
        "the binding went with its last member"
    );
    let deleted = api
        .call(
            Method::DELETE,
            &format!("/api/v1/iam/resource-sets/{set_id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

/// Event hooks (`/api/v1/eventHooks`): created `ACTIVE` and `UNVERIFIED`; the auth header's
/// `value` is write-only (required with an `authScheme`, never returned, kept by a replace that
/// leaves it out); the endpoint must be HTTPS; `…/lifecycle/verify` verifies it; a replace
/// that changes the channel makes it `UNVERIFIED` again; only an `INACTIVE` hook is deleted.
#[tokio::test]
async fn event_hooks_keep_their_secret_write_only_and_need_verification() {
    let api = Api::new(10).await;
    let hook = json!({"name": "Audit", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": "https://audit.example.com/okta",
            "headers": [], "authScheme": {"type": "HEADER", "key": "Authorization", "value": "s3cret"}}}});
    let mut without_value = hook.clone();
    without_value["channel"]["config"]["authScheme"]
        .as_object_mut()
        .unwrap()
        .remove("value");
    let refused = api
        .call(Method::POST, "/api/v1/eventHooks", Some(without_value))
        .await;
    assert_eq!(
        (refused.status, error_code(&refused)),
        (StatusCode::BAD_REQUEST, "E0000001")
    );
    let mut plain_http = hook.clone();
    plain_http["channel"]["config"]["uri"] = json!("http://audit.example.com/okta");
    let refused = api
        .call(Method::POST, "/api/v1/eventHooks", Some(plain_http))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    let created = api
        .call(Method::POST, "/api/v1/eventHooks", Some(hook.clone()))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert_eq!(created.body["status"], "ACTIVE");
    assert_eq!(created.body["verificationStatus"], "UNVERIFIED");
    assert!(!created.body.to_string().contains("s3cret"));
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/eventHooks/{id}");
    let verified = api
        .call(Method::POST, &format!("{path}/lifecycle/verify"), None)
        .await;
    assert_eq!(verified.body["verificationStatus"], "VERIFIED");
    let listed = api.get("/api/v1/eventHooks").await.body;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["id"] == id.as_str())
    );

    // A replace without the secret keeps it; a new endpoint must be verified again.
    let mut replaced = created.body.clone();
    replaced["channel"]["config"]["authScheme"] = json!({"type": "HEADER", "key": "Authorization"});
    replaced["channel"]["config"]["uri"] = json!("https://audit2.example.com/okta");
    let answer = api.call(Method::PUT, &path, Some(replaced)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["verificationStatus"], "UNVERIFIED");
    assert_eq!(
        api.okta.with_org(|o| o.hook_secret(&id)).as_deref(),
        Some("s3cret")
    );

    let active = api.call(Method::DELETE, &path, None).await;
    assert_eq!(
        active.status,
        StatusCode::BAD_REQUEST,
        "an active hook stays"
    );
    api.call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(
        api.call(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = api.get(&path).await;
    assert_eq!(
        (gone.status, error_code(&gone)),
        (StatusCode::NOT_FOUND, "E0000007")
    );
}

/// Inline hooks and log streams: an inline hook's type is one of Okta's and cannot change; an
/// OAuth `client_secret_post` channel needs its `clientSecret`, never returned; log streams
/// are paged with `limit` and `Link` headers, filtered by `type eq`; a Splunk stream's token is
/// required on create and never returned; an AWS stream's settings cannot change.
#[tokio::test]
async fn inline_hooks_and_log_streams_follow_the_reference() {
    let api = Api::new(10).await;
    let oauth = json!({"name": "Screening 2", "type": "com.okta.user.pre-registration",
        "channel": {"type": "OAUTH", "version": "1.0.0", "config": {"uri": "https://s.example.com/hook",
            "authType": "client_secret_post", "clientId": "c", "tokenUrl": "https://s.example.com/token"}}});
    let refused = api
        .call(Method::POST, "/api/v1/inlineHooks", Some(oauth.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let mut with_secret = oauth.clone();
    with_secret["channel"]["config"]["clientSecret"] = json!("cs3cret");
    let created = api
        .call(Method::POST, "/api/v1/inlineHooks", Some(with_secret))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(!created.body.to_string().contains("cs3cret"));
    let path = format!(
        "/api/v1/inlineHooks/{}",
        created.body["id"].as_str().unwrap()
    );
    let mut retyped = created.body.clone();
    retyped["type"] = json!("com.okta.import.transform");
    let refused = api.call(Method::PUT, &path, Some(retyped)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let typed = api
        .get("/api/v1/inlineHooks?type=com.okta.user.pre-registration")
        .await
        .body;
    assert!(
        typed
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["type"] == "com.okta.user.pre-registration")
    );

    for i in 0..3 {
        let stream = json!({"name": format!("Bridge {i}"), "type": "aws_eventbridge",
            "settings": {"accountId": "210987654321", "eventSourceName": format!("okta-{i}"), "region": "eu-west-1"}});
        let created = api
            .call(Method::POST, "/api/v1/logStreams", Some(stream))
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    }
    let first = api.get("/api/v1/logStreams?limit=2").await;
    assert_eq!(first.body.as_array().unwrap().len(), 2);
    let link = first
        .headers
        .get_all("link")
        .iter()
        .map(|l| l.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(",");
    assert!(link.contains("rel=\"next\""), "{link}");
    let splunk = api
        .get(&format!(
            "/api/v1/logStreams?filter={}",
            urlencode("type eq \"splunk_cloud_logstreaming\"")
        ))
        .await
        .body;
    let splunk = splunk.as_array().unwrap();
    assert_eq!(splunk.len(), 1, "the seeded Splunk stream");
    assert!(splunk[0]["settings"].get("token").is_none());
    let no_token = json!({"name": "Splunk 2", "type": "splunk_cloud_logstreaming",
        "settings": {"host": "acme2.splunkcloud.com", "edition": "gcp"}});
    let refused = api
        .call(Method::POST, "/api/v1/logStreams", Some(no_token))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let aws = api
        .get(&format!(
            "/api/v1/logStreams?filter={}",
            urlencode("type eq \"aws_eventbridge\"")
        ))
        .await
        .body[0]
        .clone();
    let mut moved = aws.clone();
    moved["settings"]["region"] = json!("ap-south-1");
    let path = format!("/api/v1/logStreams/{}", aws["id"].as_str().unwrap());
    assert_eq!(
        api.call(Method::PUT, &path, Some(moved)).await.status,
        StatusCode::BAD_REQUEST
    );
}

/// Brands (`/api/v1/brands`): the default brand cannot be deleted (409); a name is unique
/// (409); a custom privacy policy URL needs `agreeToCustomPrivacyPolicy` (400 E0000001); a
/// theme replace leaves the uploaded images alone and takes `#rrggbb` colors only; the
/// template list gives settings and customization counts with `expand`; settings outside
/// `ALL_USERS`, `ADMINS_ONLY`, `NO_USERS` are 422; a template's first customization is its
/// default, making another the default unmakes it, and the default is deleted only last (409).
#[tokio::test]
async fn brands_themes_and_email_customizations_follow_the_reference() {
    let api = Api::new(10).await;
    let brands = api.get("/api/v1/brands").await.body;
    let default = brands
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["isDefault"] == true)
        .expect("every org has its default brand")
        .clone();
    let path = format!("/api/v1/brands/{}", default["id"].as_str().unwrap());
    assert_eq!(
        api.call(Method::DELETE, &path, None).await.status,
        StatusCode::CONFLICT
    );
    let again = json!({"name": default["name"]});
    assert_eq!(
        api.call(Method::POST, "/api/v1/brands", Some(again))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let created = api
        .call(
            Method::POST,
            "/api/v1/brands",
            Some(json!({"name": "Retail"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["isDefault"], false);
    let brand = created.body["id"].as_str().unwrap().to_string();
    let brand_path = format!("/api/v1/brands/{brand}");
    let privacy =
        json!({"name": "Retail", "customPrivacyPolicyUrl": "https://retail.example.com/privacy"});
    let refused = api.call(Method::PUT, &brand_path, Some(privacy)).await;
    assert_eq!(
        (refused.status, error_code(&refused)),
        (StatusCode::BAD_REQUEST, "E0000001")
    );

    let themes = api.get(&format!("{brand_path}/themes")).await.body;
    let theme = themes[0].clone();
    let theme_path = format!("{brand_path}/themes/{}", theme["id"].as_str().unwrap());
    let mut body = theme.clone();
    body["primaryColorHex"] = json!("#abcdef");
    body["logo"] = json!("https://elsewhere.example.com/logo.png");
    let replaced = api.call(Method::PUT, &theme_path, Some(body)).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["primaryColorHex"], "#abcdef");
    assert_eq!(replaced.body["logo"], theme["logo"], "images are uploads");
    let bad = api
        .call(
            Method::PUT,
            &theme_path,
            Some(json!({"primaryColorHex": "blue"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let templates = api
        .get(&format!(
            "{brand_path}/templates/email?expand=settings,customizationCount"
        ))
        .await
        .body;
    let activation = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "UserActivation")
        .unwrap();
    assert_eq!(
        activation["_embedded"]["settings"]["recipients"],
        "ALL_USERS"
    );
    assert_eq!(activation["_embedded"]["customizationCount"], 0);
    let settings = format!("{brand_path}/templates/email/UserActivation/settings");
    let invalid = api
        .call(Method::PUT, &settings, Some(json!({"recipients": "SOME"})))
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);

    let customizations = format!("{brand_path}/templates/email/UserActivation/customizations");
    let content = |language: &str, default: bool| json!({"language": language, "isDefault": default, "subject": "Hi", "body": "<p>Hi</p>"});
    let en = api
        .call(Method::POST, &customizations, Some(content("en", false)))
        .await;
    assert_eq!(en.status, StatusCode::CREATED, "{}", en.body);
    assert_eq!(en.body["isDefault"], true, "the first one is the default");
    let duplicate = api
        .call(Method::POST, &customizations, Some(content("en", false)))
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let fr = api
        .call(Method::POST, &customizations, Some(content("fr", true)))
        .await;
    assert_eq!(fr.body["isDefault"], true);
    let en_path = format!("{customizations}/{}", en.body["id"].as_str().unwrap());
    assert_eq!(api.get(&en_path).await.body["isDefault"], false);
    let fr_path = format!("{customizations}/{}", fr.body["id"].as_str().unwrap());
    let undefault = api
        .call(Method::PUT, &fr_path, Some(content("fr", false)))
        .await;
    assert_eq!(undefault.status, StatusCode::CONFLICT);
    assert_eq!(
        api.call(Method::DELETE, &fr_path, None).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        api.call(Method::DELETE, &en_path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::DELETE, &fr_path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::DELETE, &brand_path, None).await.status,
        StatusCode::NO_CONTENT
    );
}
