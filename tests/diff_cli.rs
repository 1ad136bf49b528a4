//! End to end: `iamsnap diff` between snapshots and against the live emulated Okta org.

mod support;

use serde_json::{Value, json};
use support::okta_api::Api;
use support::*;

/// Removes one member from the largest group and renames one user; returns (group id, user id,
/// user id renamed).
fn damage(org: &Org) -> (String, String, String) {
    org.okta.with_org(|o| {
        let (group, _) = o.largest_group().expect("the org has groups");
        let users = o.user_ids_with_status("ACTIVE");
        let removed = users
            .iter()
            .find(|u| o.remove_member(&group, u))
            .expect("the largest group has an active member")
            .clone();
        let renamed = users.iter().find(|u| **u != removed).unwrap().clone();
        assert!(o.set_profile_field(&renamed, "title", json!("Chief Diff Officer")));
        (group, removed, renamed)
    })
}

#[test]
fn diff_snapshot_against_live_and_between_snapshots() {
    let org = Org::start(120, 15, 4);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    let same = ws.iamsnap(&["diff", "okta-test@latest", "live"]);
    assert_exit(&same, 0);
    assert!(
        stdout(&same).contains("no differences"),
        "{}",
        describe(&same)
    );

    let (_, _, renamed) = damage(&org);
    let text = ws.iamsnap(&["diff", "okta-test@latest", "live:okta-test"]);
    assert_exit(&text, 1);
    let out = stdout(&text);
    assert!(out.contains("2 differences"), "{out}");
    assert!(out.contains("\"Chief Diff Officer\""), "{out}");
    assert!(!out.contains('\x1b'), "no colour when not on a terminal");

    let json_out = ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]);
    assert_exit(&json_out, 1);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["summary"]["total"]["removed"], 1);
    assert_eq!(v["summary"]["total"]["changed"], 1);
    assert_eq!(v["summary"]["new"], "live:okta-test");
    let changes = v["changes"].as_array().unwrap();
    let user = changes.iter().find(|c| c["kind"] == "okta.user").unwrap();
    assert_eq!(user["old_id"], json!(renamed));
    assert_eq!(user["fields"][0]["new"], "Chief Diff Officer");
    assert!(
        user["fields"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("/attrs/")
    );
    let membership = changes.iter().find(|c| c["status"] == "removed").unwrap();
    assert_eq!(membership["kind"], "okta.group_membership");

    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let md = ws.iamsnap(&[
        "diff",
        "okta-test@latest~1",
        "okta-test@latest",
        "--format",
        "markdown",
    ]);
    assert_exit(&md, 1);
    let out = stdout(&md);
    assert!(out.starts_with("## iamsnap diff"), "{out}");
    assert!(out.contains("| **total** | 0 | 1 | 1 |"), "{out}");
    assert_exit(&ws.iamsnap(&["diff", "okta-test@latest", "live"]), 0);
    for output in [&text, &json_out, &md] {
        assert!(!stdout(output).contains(OKTA_TOKEN) && !stderr(output).contains(OKTA_TOKEN));
    }
}

#[test]
fn diff_refuses_an_unsigned_archive_and_bad_sides() {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let archive = ws.archives("okta-test").pop().unwrap();
    let signature = archive.with_extension("iamsnap.minisig");
    std::fs::remove_file(&signature).unwrap();
    let unsigned = ws.iamsnap(&["diff", "okta-test@latest", "live"]);
    assert_exit(&unsigned, 4);

    let both_live = ws.iamsnap(&["diff", "live", "live"]);
    assert_exit(&both_live, 2);
    assert!(
        stderr(&both_live).contains("live:SOURCE"),
        "{}",
        describe(&both_live)
    );
    let unknown = ws.iamsnap(&["diff", "live:nope", "live:okta-test"]);
    assert_exit(&unknown, 2);
    assert!(
        stderr(&unknown).contains("no source named \"nope\""),
        "{}",
        describe(&unknown)
    );
}

#[test]
fn a_group_deleted_and_recreated_alike_is_recreated_not_changed() {
    let org = Org::start(60, 6, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let records = api.records();
    // A group no admin role is scoped to: a re-created group does not come back as a role's
    // target (a difference of its own, not the subject here).
    let targeted = |id: &str| {
        records.iter().any(|r| {
            r.kind == "okta.admin_role_assignment"
                && r.refs.iter().any(|t| t.rel == "target" && t.id == id)
        })
    };
    let group = records
        .iter()
        .find(|r| r.kind == "okta.group" && r.attrs["type"] == "OKTA_GROUP" && !targeted(&r.id))
        .unwrap()
        .clone();
    api.delete(&group);
    assert_exit(
        &ws.iamsnap(&["restore", "okta-test@latest", "--apply", "--yes"]),
        0,
    );
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    let sides = ["diff", "okta-test@latest~1", "okta-test@latest"];
    let text = ws.iamsnap(&sides);
    assert_exit(&text, 0);
    let out = stdout(&text);
    assert!(out.contains("no differences"), "{out}");
    assert!(out.contains("re-created under new ids"), "{out}");
    assert!(!out.contains(&group.id), "ids only with --show-ids: {out}");
    assert_exit(&ws.iamsnap(&[&sides[..], &["--exit-code-ids"]].concat()), 1);

    let shown = ws.iamsnap(&[&sides[..], &["--show-ids"]].concat());
    assert_exit(&shown, 0);
    let out = stdout(&shown);
    let line = format!("  = {} (id {} → ", group.key, group.id);
    assert!(out.contains(&line), "{line:?} in {out}");

    let json_out = ws.iamsnap(&[&sides[..], &["--format", "json"]].concat());
    assert_exit(&json_out, 0);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["summary"]["total"]["changed"], 0);
    assert!(v["changes"].as_array().unwrap().is_empty(), "{v}");
    let recreated = v["recreated"].as_array().unwrap();
    let again = recreated
        .iter()
        .find(|r| r["kind"] == "okta.group")
        .unwrap();
    assert_eq!(again["key"], json!(group.key));
    assert_eq!(again["old_id"], json!(group.id));
    assert_ne!(again["new_id"], json!(group.id));
    let members = recreated
        .iter()
        .filter(|r| r["kind"] == "okta.group_membership")
        .count();
    assert_eq!(
        v["summary"]["kinds"]["okta.group_membership"]["recreated"],
        json!(members)
    );
}

#[test]
fn kinds_one_side_did_not_read_are_named_in_every_format() {
    let org = Org::start(30, 6, 2);
    let ws = Workspace::new(&org.url());
    ws.add_okta_source(
        "okta-lean",
        &org.url(),
        "exclude_kinds = [\"okta.group_owner\"]\n",
    );
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);
    let sides = ["diff", "okta-test@latest", "live:okta-lean"];
    let line = "not compared, as one side did not read them (exclude_kinds): ";

    let json_diff = ws.iamsnap(&[&sides[..], &["--format", "json"]].concat());
    assert_exit(&json_diff, 0);
    let report: Value = serde_json::from_slice(&json_diff.stdout).unwrap();
    assert_eq!(
        report["summary"]["not_compared"],
        json!(["okta.group_owner"]),
        "{report:#}"
    );
    assert!(report["summary"]["kinds"].get("okta.group_owner").is_none());
    assert!(
        stderr(&json_diff).contains(&format!("{line}okta.group_owner")),
        "{}",
        describe(&json_diff)
    );

    let text = ws.iamsnap(&sides);
    assert_exit(&text, 0);
    assert!(
        stdout(&text).contains(&format!("{line}okta.group_owner\n")),
        "{}",
        describe(&text)
    );
    let html = ws.iamsnap(&[&sides[..], &["--format", "html", "--out", "r.html"]].concat());
    assert_exit(&html, 0);
    let page = std::fs::read_to_string(ws.path("r.html")).unwrap();
    assert!(page.contains(&format!("{line}okta.group_owner")), "{page}");

    // Both sides read every kind: no such field, no such line.
    let full = ws.iamsnap(&["diff", "okta-test@latest", "live", "--format", "json"]);
    assert_exit(&full, 0);
    let report: Value = serde_json::from_slice(&full.stdout).unwrap();
    assert!(
        report["summary"].get("not_compared").is_none(),
        "{report:#}"
    );
}
