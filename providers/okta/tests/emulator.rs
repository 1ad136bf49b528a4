//! The emulated org answers as Okta does: paging and `Link` headers, rate-limit headers and
//! 429s, error bodies, and the write semantics restore relies on.

use std::time::Duration;

mod common;

use common::api::{Answer, Api};
use reqwest::Method;
use serde_json::{Value, json};

async fn member_ids(api: &Api, group: &str) -> Vec<String> {
    let page = api.get(&format!("/api/v1/groups/{group}/users")).await;
    page.body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

fn next_link(a: &Answer) -> Option<String> {
    a.headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .map(|v| v[1..v.find('>').unwrap()].to_string())
}

#[tokio::test]
async fn lists_page_with_link_headers_and_clamp_the_limit() {
    let api = Api::new(450).await;
    let first = api.get("/api/v1/users?limit=1000").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body.as_array().unwrap().len(),
        200,
        "users come at most 200 a page"
    );
    let next = next_link(&first).expect("a next link");
    assert!(
        next.contains("after=") && next.contains("limit=200"),
        "{next}"
    );
    let mut seen = first.body.as_array().unwrap().len();
    let mut url = Some(next);
    while let Some(u) = url {
        let page = api.get(&u).await;
        seen += page.body.as_array().unwrap().len();
        url = next_link(&page);
    }
    let deprovisioned = api
        .okta
        .with_org(|o| o.user_ids_with_status("DEPROVISIONED").len());
    assert!(deprovisioned > 0);
    assert_eq!(
        seen,
        450 - deprovisioned,
        "the plain list leaves deprovisioned users out"
    );
    let search = api
        .get("/api/v1/users?search=status%20eq%20%22DEPROVISIONED%22")
        .await;
    assert_eq!(search.body.as_array().unwrap().len(), deprovisioned);
    for h in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(first.headers.contains_key(h), "{h}");
    }
    let policies = api.get("/api/v1/policies").await;
    assert_eq!(policies.status, 400, "policies need a type");
    assert_eq!(policies.body["errorCode"], "E0000001");
}

#[tokio::test]
async fn errors_have_okta_bodies() {
    let api = Api::new(20).await;
    let missing = api.get("/api/v1/users/00unotthere").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["errorCode"], "E0000007");
    for field in ["errorSummary", "errorLink", "errorId", "errorCauses"] {
        assert!(missing.body.get(field).is_some(), "{field}");
    }
    let bad = api
        .http
        .get(format!("{}/api/v1/users", api.okta.base_url()))
        .header("Authorization", "SSWS nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000011");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_the_reset_time() {
    let api = Api::new(5).await;
    api.okta.set_rate_limit(Some((3, Duration::from_secs(60))));
    for _ in 0..3 {
        assert_eq!(api.get("/api/v1/groups").await.status, 200);
    }
    let throttled = api.get("/api/v1/groups").await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.body["errorCode"], "E0000047");
    assert_eq!(throttled.headers["x-rate-limit-remaining"], "0");
    let reset: u64 = throttled.headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset > now && reset <= now + 61);
    assert_eq!(api.okta.requests("429"), 1);
    assert_eq!(
        api.get("/api/v1/users").await.status,
        200,
        "each endpoint has its own budget"
    );
}

#[tokio::test]
async fn users_follow_okta_lifecycle_and_two_step_delete() {
    let api = Api::new(5).await;
    let profile = json!({"login": "new@example.com", "email": "new@example.com", "firstName": "N", "lastName": "U"});
    let created = api
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(json!({"profile": profile})),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["status"], "STAGED");
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("00u") && id.len() == 20, "{id}");
    let again = api
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(json!({"profile": profile})),
        )
        .await;
    assert_eq!(again.status, 400, "logins are unique");
    let suspend = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None,
        )
        .await;
    assert_eq!(suspend.status, 400, "only active users can be suspended");
    let activate = api
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/activate?sendEmail=false"),
            None,
        )
        .await;
    assert!(activate.body["activationToken"].is_string());
    assert_eq!(
        api.get(&format!("/api/v1/users/{id}")).await.body["status"],
        "PROVISIONED"
    );
    let first = api
        .call(Method::DELETE, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!(first.status, 204);
    assert_eq!(
        api.get(&format!("/api/v1/users/{id}")).await.body["status"],
        "DEPROVISIONED",
        "the first delete only deactivates"
    );
    api.call(Method::DELETE, &format!("/api/v1/users/{id}"), None)
        .await;
    assert_eq!(api.get(&format!("/api/v1/users/{id}")).await.status, 404);
    assert_eq!(api.get("/api/v1/users/new%40example.com").await.status, 404);
}

#[tokio::test]
async fn rules_start_inactive_and_change_only_while_inactive() {
    let api = Api::new(5).await;
    let group = api
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Ops", "description": "d"}})),
        )
        .await;
    let gid = group.body["id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("00g"));
    let dup = api
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Ops"}})),
        )
        .await;
    assert_eq!(dup.status, 400);
    let rule = json!({"type": "group_rule", "name": "ops rule",
        "conditions": {"expression": {"value": "user.department==\"Ops\"", "type": "urn:okta:expression:1.0"}},
        "actions": {"assignUserToGroups": {"groupIds": [gid]}}});
    let created = api
        .call(Method::POST, "/api/v1/groups/rules", Some(rule.clone()))
        .await;
    assert_eq!(created.body["status"], "INACTIVE");
    let rid = created.body["id"].as_str().unwrap().to_string();
    let ops = |login: &str| json!({"profile": {"login": login, "email": login, "firstName": "O", "lastName": "P", "department": "Ops"}});
    let early = api
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(ops("early@example.com")),
        )
        .await;
    assert!(
        member_ids(&api, &gid).await.is_empty(),
        "an inactive rule adds nobody"
    );
    api.call(
        Method::POST,
        &format!("/api/v1/groups/rules/{rid}/lifecycle/activate"),
        None,
    )
    .await;
    assert_eq!(
        member_ids(&api, &gid).await,
        vec![early.body["id"].as_str().unwrap().to_string()]
    );
    let late = api
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(ops("late@example.com")),
        )
        .await;
    assert!(
        member_ids(&api, &gid)
            .await
            .contains(&late.body["id"].as_str().unwrap().to_string()),
        "an active rule takes in new users that match"
    );
    let update = api
        .call(
            Method::PUT,
            &format!("/api/v1/groups/rules/{rid}"),
            Some(rule),
        )
        .await;
    assert_eq!(update.status, 400, "active rules cannot be changed");
    let bad_target = json!({"type": "group_rule", "name": "x",
        "actions": {"assignUserToGroups": {"groupIds": ["00gmissing"]}}});
    assert_eq!(
        api.call(Method::POST, "/api/v1/groups/rules", Some(bad_target))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn apps_are_deactivated_before_delete_and_secrets_are_generated() {
    let api = Api::new(5).await;
    let app = json!({"name": "oidc_client", "label": "New web", "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"redirect_uris": ["https://x/cb"], "response_types": ["code"],
                                     "grant_types": ["authorization_code"], "application_type": "web"}}});
    let created = api.call(Method::POST, "/api/v1/apps", Some(app)).await;
    assert_eq!(created.status, 200);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(created.body["credentials"]["oauthClient"]["client_secret"].is_string());
    let delete = api
        .call(Method::DELETE, &format!("/api/v1/apps/{id}"), None)
        .await;
    assert_eq!(delete.status, 403, "active apps cannot be deleted");
    api.call(
        Method::POST,
        &format!("/api/v1/apps/{id}/lifecycle/deactivate"),
        None,
    )
    .await;
    assert_eq!(
        api.call(Method::DELETE, &format!("/api/v1/apps/{id}"), None)
            .await
            .status,
        204
    );
    let catalog = json!({"name": "salesforce", "label": "SF", "signOnMode": "SAML_2_0"});
    assert_eq!(
        api.call(Method::POST, "/api/v1/apps", Some(catalog))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn app_users_include_group_assignments_with_their_scope() {
    let api = Api::new(300).await;
    let apps = api.get("/api/v1/apps?limit=200").await.body;
    let app = &apps[0];
    let id = app["id"].as_str().unwrap();
    let mut url = Some(format!("/api/v1/apps/{id}/users?limit=500&expand=user"));
    let (mut user, mut group) = (0, 0);
    while let Some(u) = url {
        let page = api.get(&u).await;
        for a in page.body.as_array().unwrap() {
            assert!(a["_embedded"]["user"]["profile"]["login"].is_string());
            match a["scope"].as_str().unwrap() {
                "USER" => user += 1,
                "GROUP" => group += 1,
                other => panic!("{other}"),
            }
        }
        url = next_link(&page);
    }
    assert!(
        group > 0,
        "members of assigned groups show as GROUP-scoped assignments"
    );
    let direct = api.okta.with_org(|o| o.counts().app_user_assignments);
    assert!(user <= direct);
}

#[tokio::test]
async fn a_network_zone_a_policy_rule_uses_cannot_be_deleted() {
    let api = Api::new(5).await;
    let zones = api.get("/api/v1/zones").await.body;
    let id_of = |name: &str| {
        zones
            .as_array()
            .unwrap()
            .iter()
            .find(|z| z["name"] == name)
            .map(|z| z["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    for (name, deleted) in [("Offices", 400), ("VPN egress", 204)] {
        let id = id_of(name);
        let path = format!("/api/v1/zones/{id}");
        api.call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
            .await;
        let answer = api.call(Method::DELETE, &path, None).await;
        assert_eq!(answer.status, deleted, "{name}: {}", answer.body);
    }
}
