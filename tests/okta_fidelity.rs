//! End to end: incidents on an emulated Okta org that behaves as Okta's reference says (a rule
//! whose group is deleted turns INVALID, profiles are checked against their type's schema,
//! role targets of both forms, apps bound to an access policy, member lists that lag the
//! writes), undone by `iamsnap restore`.

mod support;

use std::collections::BTreeMap;

use iamsnap_provider::{Action, Operation, Record, Ref, WriteProvider};
use serde_json::{Value, json};
use support::okta_api::Api;
use support::*;

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

fn find<'a>(records: &'a [Record], kind: &str, key: &str) -> &'a Record {
    records
        .iter()
        .find(|r| r.kind == kind && r.key == key)
        .unwrap_or_else(|| panic!("{kind} {key} exists"))
}

/// A backed-up org, and the Okta API to make an incident on it.
fn backed_up(org: &Org) -> (Workspace, Api) {
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    (ws, api)
}

/// Applies the restore of the latest backup: nothing fails, nothing is left to verify, and a
/// second plan is empty. Returns the report.
fn restore(ws: &Workspace) -> Value {
    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(report["residual"], json!([]), "{report:#}");
    let again = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    assert!(!stdout(&applied).contains(OKTA_TOKEN) && !stderr(&applied).contains(OKTA_TOKEN));
    report
}

#[test]
fn a_deleted_rule_target_and_a_deleted_custom_attribute_come_back() {
    let org = Org::start(60, 12, 3);
    let (ws, api) = backed_up(&org);
    let before = api.records();
    let rule = before
        .iter()
        .find(|r| r.kind == "okta.group_rule" && r.attrs["status"] == "ACTIVE")
        .expect("an active rule");
    let target = rule.attrs["actions"]["assignUserToGroups"]["groupIds"][0]
        .as_str()
        .unwrap();
    let group = before
        .iter()
        .find(|r| r.kind == "okta.group" && r.id == target)
        .unwrap();
    api.delete(group);
    // The custom attribute goes from the default type's schema, and its values from users.
    let schema = find(&before, "okta.user_schema", "user");
    let mut without = schema.clone();
    without.attrs["definitions"]["custom"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("badgeId");
    api.update(schema, without);
    let holders = |records: &[Record]| {
        records
            .iter()
            .filter(|r| r.kind == "okta.user" && r.attrs["profile"]["badgeId"].is_string())
            .map(|r| (r.key.clone(), r.attrs["profile"]["badgeId"].clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let hit = api.records();
    assert_eq!(
        find(&hit, "okta.group_rule", &rule.key).attrs["status"],
        "INVALID",
        "Okta invalidates a rule whose group is deleted"
    );
    assert!(holders(&hit).len() < holders(&before).len());

    restore(&ws);
    let after = api.records();
    let group_now = find(&after, "okta.group", &group.key);
    let rule_now = find(&after, "okta.group_rule", &rule.key);
    assert_eq!(rule_now.attrs["status"], "ACTIVE");
    assert_eq!(
        rule_now.attrs["actions"]["assignUserToGroups"]["groupIds"],
        json!([group_now.id]),
        "the rule assigns users to the re-created group"
    );
    assert!(
        find(&after, "okta.user_schema", "user").attrs["definitions"]["custom"]["properties"]
            ["badgeId"]
            .is_object()
    );
    assert_eq!(holders(&after), holders(&before));
}

#[test]
fn role_targets_of_both_forms_and_an_apps_access_policy_come_back() {
    let org = Org::start(40, 8, 4);
    let (ws, api) = backed_up(&org);
    let before = api.records();
    let role = before
        .iter()
        .find(|r| r.kind == "okta.admin_role_assignment" && r.attrs["type"] == "APP_ADMIN")
        .expect("an APP_ADMIN role");
    let apps = role.attrs["targets"]["apps"].as_array().unwrap();
    assert!(apps.contains(&json!({"catalog": "zoomus"})), "{apps:?}");
    assert!(apps.iter().any(|a| a.get("instance").is_some()), "{apps:?}");
    api.delete(role);
    let app = before
        .iter()
        .find(|r| r.kind == "okta.app" && r.attrs["accessPolicy"].is_string())
        .expect("an app bound to an access policy");
    let other = before
        .iter()
        .find(|r| {
            r.kind == "okta.policy"
                && r.attrs["type"] == "ACCESS_POLICY"
                && r.id != app.attrs["accessPolicy"]
        })
        .unwrap();
    let mut moved = app.clone();
    moved.attrs["accessPolicy"] = json!(other.id);
    for r in moved.refs.iter_mut().filter(|r| r.rel == "access_policy") {
        r.id = other.id.clone();
    }
    api.update(app, moved);
    assert_eq!(
        find(&api.records(), "okta.app", &app.key).attrs["accessPolicy"],
        json!(other.id)
    );

    let plan = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    let cannot = plan["cannot_restore"].to_string();
    assert!(
        !cannot.contains("okta.admin_role_assignment"),
        "a role with catalog app targets is restorable: {cannot}"
    );
    restore(&ws);
    let after = api.records();
    let role_now = find(&after, "okta.admin_role_assignment", &role.key);
    assert_eq!(role_now.attrs, role.attrs);
    assert_eq!(role_now.refs, role.refs);
    assert_eq!(
        find(&after, "okta.app", &app.key).attrs["accessPolicy"],
        app.attrs["accessPolicy"]
    );
}

/// A group deleted and re-created is again the target of the roles scoped to it: roles of
/// other users, and a role held by a group the token's owner (a Super Administrator) belongs to.
#[test]
fn roles_targeted_at_a_deleted_group_get_their_target_back() {
    let org = Org::start(40, 8, 4);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let api = Api::new(&ws, &org.url());
    let seeded = api.records();
    let role_kind = "okta.admin_role_assignment";
    let held = seeded
        .iter()
        .find(|r| {
            r.kind == role_kind && r.key.starts_with("group:") && r.target("target").is_some()
        })
        .expect("a role held by a group and scoped to a group");
    let holder = held.target("assignee").unwrap();
    let holder = seeded
        .iter()
        .find(|g| g.kind == "okta.group" && g.id == holder.id)
        .unwrap();
    let me = find(&seeded, "okta.user", &api.self_login());
    let joined = Record::new(
        "okta.group_membership",
        format!("{}:{}", holder.id, me.id),
        format!("{}|{}", holder.key, me.key),
        json!({}),
        vec![
            Ref::new("group", "okta.group", &holder.id),
            Ref::new("user", "okta.user", &me.id),
        ],
    );
    let ids: BTreeMap<(String, String), String> = [&holder.id, &me.id]
        .into_iter()
        .zip(["okta.group", "okta.user"])
        .map(|(id, kind)| ((kind.to_string(), id.clone()), id.clone()))
        .collect();
    let create = Operation {
        action: Action::Create,
        kind: joined.kind.clone(),
        key: joined.key.clone(),
        desired: Some(joined),
        current: None,
    };
    api.runtime
        .block_on(api.provider.apply(&create, &ids))
        .unwrap();
    // Okta lists the new membership only a short while after the 204.
    std::thread::sleep(OKTA_CONSISTENCY_DELAY);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    let before = api.records();
    let group_id = held.target("target").unwrap().id.clone();
    let group = before
        .iter()
        .find(|g| g.kind == "okta.group" && g.id == group_id)
        .unwrap();
    let roles: Vec<&Record> = before
        .iter()
        .filter(|r| {
            r.kind == role_kind && r.refs.iter().any(|t| t.rel == "target" && t.id == group.id)
        })
        .collect();
    let types: Vec<&str> = roles
        .iter()
        .filter_map(|r| r.attrs["type"].as_str())
        .collect();
    assert!(
        types.contains(&"USER_ADMIN") && types.contains(&"GROUP_MEMBERSHIP_ADMIN"),
        "{types:?}"
    );
    api.delete(group);
    let hit = api.records();
    for role in &roles {
        assert_eq!(
            find(&hit, role_kind, &role.key).attrs["targets"]["groups"],
            json!([]),
            "Okta drops a deleted group from the targets of {}",
            role.key
        );
    }

    let report = restore(&ws);
    assert_eq!(report["skipped_operations"], json!([]), "{report:#}");
    let after = api.records();
    let group_now = find(&after, "okta.group", &group.key);
    assert_ne!(group_now.id, group.id, "the group is re-created");
    for role in &roles {
        let role_now = find(&after, role_kind, &role.key);
        assert_eq!(role_now.attrs, role.attrs, "{}", role.key);
        assert!(
            role_now
                .refs
                .iter()
                .any(|t| t.rel == "target" && t.id == group_now.id),
            "{} is scoped to the re-created group: {:?}",
            role.key,
            role_now.refs
        );
    }
    let diff = ws.iamsnap(&["diff", "okta-test@latest", "live"]);
    assert!(
        !stdout(&diff).contains("/attrs/targets"),
        "{}",
        describe(&diff)
    );
}
