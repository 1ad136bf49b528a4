//! End to end: an incident on the emulated Okta org made through the Okta API, then
//! `iamsnap restore` — plan, refusal without --yes, --only, apply, verification, a second plan,
//! authoritative deletes, and a restore killed mid-way then resumed.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use iamsnap_provider::{Action, Operation, Record, WriteProvider};
use serde_json::Value;
use support::okta_api::Api;
use support::okta_api::count_by_kind_key;
use support::*;

/// Deletes a group with members, three users, and four memberships of another group.
/// Returns the deleted group's name.
fn incident(api: &Api) -> String {
    let records = api.records();
    let me = api
        .runtime
        .block_on(api.provider.self_identity())
        .unwrap()
        .unwrap();
    let mut members: BTreeMap<String, usize> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind == "okta.group_membership") {
        *members
            .entry(r.target("group").unwrap().id.clone())
            .or_insert(0) += 1;
    }
    let groups: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == "okta.group" && r.attrs["type"] == "OKTA_GROUP")
        .filter(|r| members.get(&r.id).is_some_and(|n| *n >= 2))
        .collect();
    let (victim, stripped) = (groups[0], groups[1]);
    api.delete(victim);
    // Memberships of app-managed groups come from their app, not from a restore: pick users
    // outside them.
    let app_groups: Vec<&str> = records
        .iter()
        .filter(|r| r.kind == "okta.group" && r.attrs["type"] == "APP_GROUP")
        .map(|r| r.id.as_str())
        .collect();
    let in_app_group = |user: &Record| {
        records.iter().any(|m| {
            m.kind == "okta.group_membership"
                && m.target("user").is_some_and(|u| u.id == user.id)
                && m.target("group")
                    .is_some_and(|g| app_groups.contains(&g.id.as_str()))
        })
    };
    let users: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == "okta.user" && r.key != me.key && r.attrs["status"] == "ACTIVE")
        .filter(|r| !in_app_group(r))
        .take(3)
        .collect();
    assert_eq!(users.len(), 3);
    for user in users {
        api.delete(user);
    }
    let live = api.records();
    let strip: Vec<&Record> = live
        .iter()
        .filter(|r| r.kind == "okta.group_membership")
        .filter(|r| r.target("group").unwrap().id == stripped.id)
        .take(4)
        .collect();
    for m in strip {
        api.delete(m);
    }
    victim.key.clone()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

#[test]
fn restore_after_an_incident() {
    let org = Org::start(200, 20, 5);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let group = incident(&api);
    assert_exit(&ws.iamsnap(&["diff", "okta-test@latest", "live"]), 1);

    let plan = ws.iamsnap(&["restore", "okta-test@latest"]);
    assert_exit(&plan, 1);
    let text = stdout(&plan);
    assert!(
        text.contains(&format!("create okta.group {group}")),
        "{text}"
    );
    assert!(text.contains("Cannot be restored"), "{text}");
    assert!(text.contains("3 × okta.user"), "{text}");

    let refused = ws.iamsnap(&["restore", "okta-test@latest", "--apply"]);
    assert_exit(&refused, 2);
    assert!(stderr(&refused).contains("--yes"), "{}", describe(&refused));

    let only = json(&ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--only",
        &format!("group:{group}"),
        "--format",
        "json",
    ]));
    let ops = only["operations"].as_array().unwrap();
    assert!(
        ops.iter()
            .any(|o| o["kind"] == "okta.group" && o["key"] == group.as_str())
    );
    for op in ops {
        let related = op["key"] == group.as_str()
            || op["desired"]["refs"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "okta.group"))
            || op["kind"] == "okta.user";
        assert!(related, "--only {group} plans an unrelated {op}");
    }
    assert!(
        ops.len()
            < json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]))["operations"]
                .as_array()
                .unwrap()
                .len()
    );

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
    assert!(report["done"].as_u64().unwrap() > 5, "{report:#}");
    assert_eq!(report["cannot_restore"][0]["count"], 3, "{report:#}");
    assert_eq!(report["residual"], serde_json::json!([]), "{report:#}");

    // Nothing restorable is left: a second restore plans nothing.
    let again = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], serde_json::json!([]), "{again:#}");
    let counts = count_by_kind_key(&api.records());
    assert!(
        counts.values().all(|n| *n == 1),
        "duplicates after the restore"
    );

    let diff = json(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    for change in diff["changes"].as_array().unwrap() {
        assert_eq!(change["status"], "changed", "{change}");
        // Rules and policies naming the deleted group now name the re-created one.
        let new_ids_only = change["fields"].as_array().into_iter().flatten().all(|f| {
            let path = f["path"].as_str().unwrap();
            path.starts_with("/refs/")
                || path.contains("/groupIds/")
                || path.contains("/include/")
                || path.contains("/exclude/")
        });
        assert!(
            change["matched_by"] == "key" || new_ids_only,
            "only re-created objects and references to them still differ: {change}"
        );
    }
    for output in [&plan, &applied] {
        assert!(!stdout(output).contains(OKTA_TOKEN) && !stderr(output).contains(OKTA_TOKEN));
    }
}

#[test]
fn authoritative_restore_deletes_only_within_the_limit() {
    let org = Org::start(40, 5, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let api = Api::new(&ws, &org.url());
    let before = api.records();
    let user = before
        .iter()
        .find(|r| r.kind == "okta.user" && r.attrs["status"] == "ACTIVE")
        .unwrap()
        .clone();
    api.delete(&user);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    // The user comes back after the snapshot: authoritative mode would delete it.
    let ids: BTreeMap<(String, String), String> = BTreeMap::new();
    let create = Operation {
        action: Action::Create,
        kind: user.kind.clone(),
        key: user.key.clone(),
        desired: Some(Record {
            refs: Vec::new(),
            ..user.clone()
        }),
        current: None,
    };
    api.runtime
        .block_on(api.provider.apply(&create, &ids))
        .unwrap();

    assert_exit(&ws.iamsnap(&["restore", "okta-test@latest"]), 0);
    let refused = ws.iamsnap(&["restore", "okta-test@latest", "--mode", "authoritative"]);
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("--max-deletes is 0"),
        "{}",
        describe(&refused)
    );
    let plan = json(&ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "5",
        "--format",
        "json",
    ]));
    let ops = plan["operations"].as_array().unwrap();
    assert!(
        ops.iter()
            .any(|o| o["action"] == "delete" && o["key"] == user.key.as_str()),
        "{plan:#}"
    );
    let applied = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "5",
        "--apply",
        "--yes",
    ]);
    assert_exit(&applied, 0);
    assert!(
        !count_by_kind_key(&api.records())
            .contains_key(&("okta.user".to_string(), user.key.clone()))
    );
}

#[test]
fn killed_restore_resumes_without_duplicates() {
    let org = Org::start(150, 12, 3);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    for record in api
        .records()
        .iter()
        .filter(|r| r.kind == "okta.group" && r.attrs["type"] == "OKTA_GROUP")
        .take(6)
    {
        api.delete(record);
    }
    let total =
        json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]))["operations"]
            .as_array()
            .unwrap()
            .len();
    assert!(total > 10, "{total} operations");

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("iamsnap"))
        .current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .args(["restore", "okta-test@latest", "--apply", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journals = ws.path("repo/journals/okta-test");
    let started = std::time::Instant::now();
    let count_ends = || journal_ends(&ws, &journals);
    while count_ends() < total / 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let ended = count_ends();
    assert!(
        ended < total,
        "the restore finished before it could be killed ({ended} of {total})"
    );

    let resumed = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--resume",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&resumed, 0);
    let report = json(&resumed);
    assert_eq!(report["failed"], 0, "{report:#}");
    let counts = count_by_kind_key(&api.records());
    let dups: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    let again = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(
        again["operations"].as_array().unwrap().len(),
        0,
        "{again:#}"
    );
    let none = ws.iamsnap(&["restore", "okta-test@latest", "--resume", "--yes"]);
    assert_exit(&none, 2);
    assert!(
        stderr(&none).contains("no unfinished restore"),
        "{}",
        describe(&none)
    );
}

#[test]
fn restore_into_another_org_with_target() {
    let prod = Org::start(30, 4, 2);
    let fresh = Org::start(1, 1, 0);
    let ws = Workspace::new(&prod.url());
    ws.add_okta_source("okta-dr", &fresh.url(), "");
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);

    let restore = [
        "restore",
        "okta-test@latest",
        "--target",
        "okta-dr",
        "--kinds",
        "user,group,group_membership",
        "--format",
        "json",
    ];
    let plan = json(&ws.iamsnap(&restore));
    let ops = plan["operations"].as_array().unwrap();
    assert!(
        ops.iter()
            .all(|o| o["action"] == "create" || o["action"] == "update"),
        "{plan:#}"
    );
    assert!(ops.iter().any(|o| o["kind"] == "okta.group_membership"));
    let applied = ws.iamsnap(&[&restore[..], &["--apply", "--yes"]].concat());
    let report = json(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(
        report["journal"].as_str().unwrap().split('/').nth(1),
        Some("okta-dr")
    );

    let diff = json(&ws.iamsnap(&[
        "diff",
        "okta-test@latest",
        "live:okta-dr",
        "--format",
        "json",
    ]));
    for change in diff["changes"].as_array().unwrap() {
        let kind = change["kind"].as_str().unwrap();
        if ["okta.user", "okta.group", "okta.group_membership"].contains(&kind) {
            assert_ne!(
                change["status"], "removed",
                "not restored into okta-dr: {change}"
            );
        }
    }
    let again = json(&ws.iamsnap(&restore));
    assert_eq!(
        again["operations"].as_array().unwrap().len(),
        0,
        "{again:#}"
    );
}

/// At the size the restore promise is made for (2,000 users, 200 groups, 30 apps): one object
/// of every kind that can be deleted is deleted, and objects of several kinds are changed, all
/// through the Okta API. The restore brings back everything but what Okta cannot give back.
#[test]
fn restore_after_a_mixed_incident_at_scale() {
    let org = Org::start(2_000, 200, 30);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let me = (String::new(), api.self_login());
    let before = api.records();
    let pick = |kind: &str, ok: &dyn Fn(&Record) -> bool| -> Record {
        before
            .iter()
            .filter(|r| r.kind == kind && ok(r))
            .max_by_key(|r| r.to_canonical_json().len())
            .unwrap_or_else(|| panic!("the seeded org has a deletable {kind}"))
            .clone()
    };
    let custom = |r: &Record| r.attrs["system"] != true && r.attrs["default"] != true;
    let app = pick("okta.app", &|r| {
        custom(r)
            && ["BOOKMARK", "BROWSER_PLUGIN"]
                .contains(&r.attrs["signOnMode"].as_str().unwrap_or(""))
    });
    let deleted = [
        app.clone(),
        pick("okta.group_rule", &|_| true),
        pick("okta.policy_rule", &custom),
        pick("okta.network_zone", &custom),
        // Another app's: deleting the app above takes its own assignments with it.
        pick("okta.app_group_assignment", &|r| {
            r.target("app").is_some_and(|t| t.id != app.id)
        }),
        pick("okta.admin_role_assignment", &|r| !r.key.contains(&me.1)),
    ];
    for record in &deleted {
        api.delete(record);
    }
    let live = api.records();
    let fresh = |record: &Record| {
        live.iter()
            .find(|r| r.kind == record.kind && r.key == record.key)
            .cloned()
    };
    // Changes: a policy weakened, a group renamed in its description, a user's profile edited.
    let mut changed = 0;
    for (kind, pointer, value) in [
        ("okta.policy", "/description", serde_json::json!("weakened")),
        (
            "okta.group",
            "/profile/description",
            serde_json::json!("renamed by an attacker"),
        ),
        ("okta.user", "/profile/title", serde_json::json!("Intern")),
    ] {
        let target = live
            .iter()
            .find(|r| {
                r.kind == kind
                    && r.key != me.1
                    && r.attrs.pointer(pointer).is_some()
                    && custom(r)
                    && r.attrs["type"] != "APP_GROUP"
                    && r.attrs["type"] != "BUILT_IN"
            })
            .unwrap_or_else(|| panic!("a {kind} with {pointer}"))
            .clone();
        let mut edited = target.clone();
        *edited.attrs.pointer_mut(pointer).unwrap() = value;
        api.update(&target, edited);
        changed += 1;
    }
    assert!(
        deleted.iter().all(|r| fresh(r).is_none()),
        "the incident deleted them"
    );

    let plan = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    let planned = plan["operations"].as_array().unwrap().len();
    assert!(planned >= deleted.len() + changed, "{plan:#}");
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
    assert_eq!(report["residual"], serde_json::json!([]), "{report:#}");

    // Everything deleted exists again, under its natural key, once.
    let after = api.records();
    let counts = count_by_kind_key(&after);
    for record in &deleted {
        assert_eq!(
            counts.get(&(record.kind.clone(), record.key.clone())),
            Some(&1),
            "{} {} restored once",
            record.kind,
            record.key
        );
    }
    assert!(counts.values().all(|n| *n == 1), "no duplicates");
    let again = json(&ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], serde_json::json!([]), "{again:#}");

    // What still differs is only what Okta cannot give back: the original ids, and references
    // that carry them.
    let diff = json(&ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]));
    for change in diff["changes"].as_array().unwrap() {
        assert_eq!(change["status"], "changed", "{change}");
        assert_eq!(change["matched_by"], "key", "{change}");
        let no_fields = Vec::new();
        for field in change["fields"].as_array().unwrap_or(&no_fields) {
            let path = field["path"].as_str().unwrap();
            assert!(
                path.starts_with("/refs/")
                    || path.contains("/groupIds")
                    || path.contains("/include")
                    || path.contains("/exclude"),
                "only ids differ after the restore: {change}"
            );
        }
    }
}
