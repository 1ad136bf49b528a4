//! End to end on an IAM Identity Center instance emulated by moto, through the CLI: 50 users,
//! 10 groups, their memberships, 8 permission sets with AWS managed, customer managed and
//! inline policies, 40 account assignments. An incident deletes permission sets, assignments,
//! users and groups and changes a permission set and a user; `restore --apply` brings every
//! fact back, and a second plan is empty.

mod support;

#[path = "../providers/aws-identity-center/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use aws_sdk_identitystore::types::AttributeOperation;
use aws_smithy_types::Document;
use common::{count, facts, live};
use iamsnap_provider::Record;
use iamsnap_testkit::moto::MotoServer;
use serde_json::json;
use support::aws::json_of;
use support::*;

/// A workspace whose only source is the instance at `endpoint`, and a runner of `iamsnap`.
fn workspace(endpoint: &str) -> (Workspace, impl Fn(&[&str]) -> std::process::Output + use<>) {
    support::aws::workspace(
        endpoint,
        &[("aws-sso", "aws-identity-center")],
        (common::KEY_ID, common::SECRET),
    )
}

#[test]
fn identity_center_incident_restores_through_the_cli() {
    let moto = MotoServer::start_identity_center();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(common::seed(&moto.endpoint, common::INCIDENT));
    let before = runtime.block_on(live(&moto.endpoint));
    let enterprise = &before.iter().find(|r| r.kind == "sso.user").unwrap().attrs["Enterprise"];
    assert_eq!(enterprise["employeeNumber"], "E0000", "{enterprise}");
    for (kind, n) in [
        ("sso.user", 50),
        ("sso.group", 10),
        ("sso.group_membership", 100),
        ("sso.permission_set", 8),
        ("sso.account_assignment", 40),
        ("sso.instance", 1),
    ] {
        assert_eq!(count(&before, kind), n, "{kind}");
    }

    let (_ws, run) = workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let shown = json_of(&run(&["show", "aws-sso@latest", "--json"]));
    assert_eq!(
        shown["manifest"]["counts"]["sso.account_assignment"].as_u64(),
        Some(40),
        "{shown:#}"
    );

    // The incident: three permission sets (and their assignments), five more assignments,
    // five users and two groups deleted; a permission set stripped; a user's title changed.
    let pick = |kind: &str, n: usize, skip: usize| -> Vec<Record> {
        before
            .iter()
            .filter(|r| r.kind == kind)
            .skip(skip)
            .take(n)
            .cloned()
            .collect()
    };
    let doomed_sets = pick("sso.permission_set", 3, 0);
    let mut doomed: Vec<Record> = pick("sso.account_assignment", 40, 0)
        .into_iter()
        .filter(|a| {
            !doomed_sets
                .iter()
                .any(|s| a.attrs["PermissionSet"] == s.key.as_str())
        })
        .take(5)
        .collect();
    doomed.extend(doomed_sets);
    doomed.extend(pick("sso.user", 5, 10));
    doomed.extend(pick("sso.group", 2, 3));
    let stripped = pick("sso.permission_set", 1, 3).remove(0);
    let changed_user = pick("sso.user", 1, 20).remove(0);
    runtime.block_on(async {
        for record in &doomed {
            common::delete(&moto.endpoint, record).await.unwrap();
        }
        let c = common::clients(&moto.endpoint).await;
        c.sso
            .detach_managed_policy_from_permission_set()
            .instance_arn(&c.instance)
            .permission_set_arn(&stripped.id)
            .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await
            .unwrap();
        c.sso
            .delete_inline_policy_from_permission_set()
            .instance_arn(&c.instance)
            .permission_set_arn(&stripped.id)
            .send()
            .await
            .unwrap();
        c.sso
            .untag_resource()
            .instance_arn(&c.instance)
            .resource_arn(&stripped.id)
            .tag_keys("team")
            .send()
            .await
            .unwrap();
        c.store
            .update_user()
            .identity_store_id(&c.store_id)
            .user_id(&changed_user.id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("title")
                    .attribute_value(Document::String("Intruder".into()))
                    .build()
                    .unwrap(),
            )
            .operations(
                AttributeOperation::builder()
                    .attribute_path("extensions.aws:identitystore:enterprise")
                    .attribute_value(Document::Object(
                        [("costCenter".to_string(), Document::String("none".into()))].into(),
                    ))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let broken = runtime.block_on(live(&moto.endpoint));
    assert_eq!(count(&broken, "sso.permission_set"), 5);
    assert_eq!(count(&broken, "sso.user"), 45);
    assert!(count(&broken, "sso.account_assignment") < 30);
    let tampered = broken
        .iter()
        .find(|r| r.kind == "sso.user" && r.key == changed_user.key)
        .unwrap();
    assert_eq!(tampered.attrs["Enterprise"], json!({"costCenter": "none"}));
    assert_exit(&run(&["diff", "aws-sso@latest", "live"]), 1);

    let applied = run(&[
        "restore",
        "aws-sso@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let again = json_of(&run(&["restore", "aws-sso@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // Every fact is back: the same records by kind and key, with the same attributes.
    let after = runtime.block_on(live(&moto.endpoint));
    let (want, have) = (facts(&before), facts(&after));
    let missing: Vec<_> = want.keys().filter(|k| !have.contains_key(*k)).collect();
    assert!(missing.is_empty(), "not restored: {missing:?}");
    for (key, attrs) in &want {
        assert_eq!(&have[key], attrs, "{key:?}");
    }
    assert_eq!(want.len(), have.len());
    // Re-created users and groups have new ids, and their assignments follow them.
    let user = &doomed.iter().find(|r| r.kind == "sso.user").unwrap().key;
    let new = after
        .iter()
        .find(|r| r.kind == "sso.user" && &r.key == user)
        .unwrap();
    let old = before
        .iter()
        .find(|r| r.kind == "sso.user" && &r.key == user)
        .unwrap();
    assert_ne!(new.id, old.id, "a re-created user gets a new id");
}

/// A store synchronized from an identity provider keeps its users and groups, under ids of its
/// own: into a new instance where the provider has created them again, `--kinds` restores the
/// permission sets and assignments alone, finding each principal by user name or group display
/// name.
#[test]
fn kinds_restore_permission_sets_and_assignments_onto_principals_found_by_name() {
    let source = MotoServer::start_identity_center();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(common::seed(&source.endpoint, common::SMALL));
    let before = runtime.block_on(live(&source.endpoint));
    let (ws, run) = workspace(&source.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);

    // The new instance: the identity provider has provisioned the same users and groups.
    let target = MotoServer::start_identity_center();
    let principals_only = common::Size {
        sets: 0,
        assignments: 0,
        ..common::SMALL
    };
    runtime.block_on(common::seed(&target.endpoint, principals_only));
    let config = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    std::fs::write(
        ws.path("iamsnap.toml"),
        config.replace(&source.endpoint, &target.endpoint),
    )
    .unwrap();

    let kinds = "sso.permission_set,sso.account_assignment";
    let applied = run(&[
        "restore",
        "aws-sso@latest",
        "--kinds",
        kinds,
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0, "{}", describe(&applied));
    let again = json_of(&run(&[
        "restore",
        "aws-sso@latest",
        "--kinds",
        kinds,
        "--format",
        "json",
    ]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = runtime.block_on(live(&target.endpoint));
    for kind in ["sso.permission_set", "sso.account_assignment"] {
        let want: BTreeMap<_, _> = facts(&before)
            .into_iter()
            .filter(|((k, _), _)| k == kind)
            .collect();
        let have: BTreeMap<_, _> = facts(&after)
            .into_iter()
            .filter(|((k, _), _)| k == kind)
            .collect();
        assert_eq!(want, have, "{kind}");
    }
    // The assignments point at the target's own users, whose ids differ from the source's.
    let user = |records: &[Record]| {
        records
            .iter()
            .find(|r| r.kind == "sso.user" && r.key == "user000")
            .unwrap()
            .id
            .clone()
    };
    let (old, new) = (user(&before), user(&after));
    assert_ne!(old, new);
    assert!(
        after
            .iter()
            .any(|r| r.kind == "sso.account_assignment" && r.refs.iter().any(|to| to.id == new))
    );
}
