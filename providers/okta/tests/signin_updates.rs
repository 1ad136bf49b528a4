//! Updates of existing custom roles, resource sets, bindings, hooks and branding: each is
//! changed live through the API, then brought back to the snapshot's by an update.

mod common;

use std::collections::BTreeMap;

use iamsnap_okta::kinds::*;
use iamsnap_provider::{Action, Operation, Outcome, ReadProvider, Record, WriteProvider};
use iamsnap_testkit::okta::OktaEmulator;
use reqwest::Method;
use serde_json::{Value, json};

use common::{provider, snapshot};

struct Live {
    base: String,
    http: reqwest::Client,
}

impl Live {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("Authorization", "SSWS t");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

fn find(records: &[Record], kind: &str, key: &str) -> Record {
    records
        .iter()
        .find(|r| r.kind == kind && r.key == key)
        .cloned()
        .unwrap_or_else(|| panic!("{kind} {key}"))
}

#[tokio::test]
async fn changed_roles_sets_bindings_hooks_and_branding_are_brought_back() {
    let okta = OktaEmulator::builder()
        .users(30)
        .groups(8)
        .apps(3)
        .seed(11)
        .token("t")
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = provider(&okta, dir.path(), "t", 4);
    let before = snapshot(&p).await.unwrap();
    let live = Live {
        base: okta.base_url().to_string(),
        http: reqwest::Client::new(),
    };
    let role = find(&before, CUSTOM_ROLE, "Help Desk Lite");
    let set = find(&before, RESOURCE_SET, "Team support");
    let binding = find(&before, RESOURCE_SET_BINDING, "Team support|Help Desk Lite");
    let hook = find(&before, EVENT_HOOK, "User lifecycle to SIEM");
    let theme = find(&before, BRAND_THEME, "Acme Partners");
    let settings = find(&before, EMAIL_SETTINGS, "Acme Partners|PasswordChanged");
    let en = find(
        &before,
        EMAIL_CUSTOMIZATION,
        "Acme Partners|UserActivation|en",
    );
    let fr = find(
        &before,
        EMAIL_CUSTOMIZATION,
        "Acme Partners|UserActivation|fr",
    );

    // The incident, through the API.
    let r = format!("/api/v1/iam/roles/{}/permissions", role.id);
    live.call(Method::DELETE, &format!("{r}/okta.groups.read"), None)
        .await;
    live.call(
        Method::POST,
        &format!("{r}/okta.apps.read"),
        Some(json!({})),
    )
    .await;
    let narrower =
        json!({"conditions": {"include": {"okta:ResourceAttribute/User/Profile": ["city"]}}});
    live.call(
        Method::PUT,
        &format!("{r}/okta.users.userprofile.manage"),
        Some(narrower),
    )
    .await;
    let s = format!("/api/v1/iam/resource-sets/{}", set.id);
    let resources = live
        .call(Method::GET, &format!("{s}/resources"), None)
        .await;
    let users_of_group = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["_links"]["self"]["href"]
                .as_str()
                .unwrap()
                .ends_with("/users")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    live.call(
        Method::DELETE,
        &format!("{s}/resources/{users_of_group}"),
        None,
    )
    .await;
    let everyone = json!({"additions": [format!("{}/api/v1/users", live.base)]});
    live.call(Method::PATCH, &format!("{s}/resources"), Some(everyone))
        .await;
    let role_id = binding.target("role").unwrap().id.clone();
    let members = format!("{s}/bindings/{role_id}/members");
    let listed = live.call(Method::GET, &members, None).await;
    let user_member = listed["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["_links"]["self"]["href"]
                .as_str()
                .unwrap()
                .contains("/users/")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    live.call(Method::DELETE, &format!("{members}/{user_member}"), None)
        .await;
    let other_group = before
        .iter()
        .find(|g| {
            g.kind == GROUP
                && g.attrs["type"] == "OKTA_GROUP"
                && !binding.refs.iter().any(|r| r.id == g.id)
        })
        .unwrap()
        .id
        .clone();
    let added = json!({"additions": [format!("{}/api/v1/groups/{other_group}", live.base)]});
    live.call(Method::PATCH, &members, Some(added)).await;
    let h = format!("/api/v1/eventHooks/{}", hook.id);
    let mut moved = live.call(Method::GET, &h, None).await;
    moved["channel"]["config"]["uri"] = json!("https://elsewhere.example.com/hook");
    live.call(Method::PUT, &h, Some(moved)).await;
    live.call(Method::POST, &format!("{h}/lifecycle/deactivate"), None)
        .await;
    let brand = theme.target("brand").unwrap().id.clone();
    let t = format!("/api/v1/brands/{brand}/themes/{}", theme.id);
    live.call(Method::PUT, &t, Some(json!({"primaryColorHex": "#000000"})))
        .await;
    let st = format!("/api/v1/brands/{brand}/templates/email/PasswordChanged/settings");
    live.call(Method::PUT, &st, Some(json!({"recipients": "NO_USERS"})))
        .await;
    let c = format!("/api/v1/brands/{brand}/templates/email/UserActivation/customizations");
    let mut french = fr.attrs.clone();
    french.as_object_mut().unwrap().remove("template");
    french["isDefault"] = json!(true);
    live.call(Method::PUT, &format!("{c}/{}", fr.id), Some(french))
        .await;

    // The restore: each changed record updated back.
    let after = snapshot(&p).await.unwrap();
    let ids: BTreeMap<(String, String), String> = after
        .iter()
        .map(|r| ((r.kind.clone(), r.id.clone()), r.id.clone()))
        .collect();
    for record in [&role, &set, &binding, &hook, &theme, &settings, &en, &fr] {
        let current = find(&after, &record.kind, &record.key);
        assert_ne!(
            &current, record,
            "{} {} was changed",
            record.kind, record.key
        );
        let op = Operation {
            action: Action::Update,
            kind: record.kind.clone(),
            key: record.key.clone(),
            desired: Some(record.clone()),
            current: Some(current),
        };
        let outcome = p.apply(&op, &ids).await.unwrap();
        assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    }
    for record in [&role, &set, &binding, &hook, &theme, &settings, &en, &fr] {
        let back = p.fetch(&record.kind, &record.key).await.unwrap();
        assert_eq!(
            back.as_ref(),
            Some(record),
            "{} {}",
            record.kind,
            record.key
        );
    }
    assert_eq!(hook.attrs["verificationStatus"], "VERIFIED");
    assert_eq!(
        okta.with_org(|o| o.hook_secret(&hook.id)).as_deref(),
        Some("Bearer siem-hook-secret-1"),
        "the existing hook keeps its secret"
    );
}
