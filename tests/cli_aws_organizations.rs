//! End to end on an AWS organization emulated by moto, through the CLI: an incident (SCPs
//! detached and deleted, an OU with its child deleted, an account moved, a policy's content
//! rewritten, a delegated administrator removed) is brought back by `restore --apply`; a
//! second restore plans nothing and a new backup equals the first but for re-created ids.

mod support;

#[path = "../providers/aws-organizations/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use iamsnap_testkit::moto::MotoServer;
use serde_json::{Value, json};
use support::*;

/// A workspace whose only source is the organization of the moto server at `endpoint`, and a
/// runner of `iamsnap` in it with moto's credentials.
fn org_workspace(endpoint: &str) -> (Workspace, impl Fn(&[&str]) -> std::process::Output) {
    let ws = Workspace::new("http://127.0.0.1:9");
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.org]\nprovider = \"aws-organizations\"\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n",
        ws.recipient, ws.verify_key
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    let (config, identity, dir) = (
        ws.path("iamsnap.toml"),
        ws.path("identity.txt"),
        ws.dir.path().to_path_buf(),
    );
    let run = move |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(&dir)
            .env("IAMSNAP_CONFIG", &config)
            .env("IAMSNAP_IDENTITY", &identity)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    (ws, run)
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// Every live fact the restore must bring back, by name: OU paths with tags, each account's
/// OU, each customer policy's content, description and tags, every attachment, delegations.
async fn facts(org: &aws_sdk_organizations::Client) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let root = org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    names.insert(root.clone(), "root".into());
    let mut level = vec![(root.clone(), String::new())];
    while let Some((parent, path)) = level.pop() {
        let accounts = org
            .list_accounts_for_parent()
            .parent_id(&parent)
            .send()
            .await
            .unwrap();
        for a in accounts.accounts() {
            let tags = org
                .list_tags_for_resource()
                .resource_id(a.id().unwrap())
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(
                format!("account {}", a.name().unwrap()),
                json!({"ou": path, "tags": tags}),
            );
            names.insert(
                a.id().unwrap().to_string(),
                format!("account:{}", a.name().unwrap()),
            );
        }
        let units = org
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .send()
            .await
            .unwrap();
        for u in units.organizational_units() {
            let child = if path.is_empty() {
                u.name().unwrap().to_string()
            } else {
                format!("{path}/{}", u.name().unwrap())
            };
            let tags = org
                .list_tags_for_resource()
                .resource_id(u.id().unwrap())
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(format!("ou {child}"), json!({ "tags": tags }));
            names.insert(u.id().unwrap().to_string(), child.clone());
            level.push((u.id().unwrap().to_string(), child));
        }
    }
    for t in [
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
        "TAG_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
    ] {
        let policies = org.list_policies().filter(t.into()).send().await.unwrap();
        for p in policies.policies() {
            let id = p.id().unwrap();
            let described = org.describe_policy().policy_id(id).send().await.unwrap();
            let content: Value =
                serde_json::from_str(described.policy().unwrap().content().unwrap()).unwrap();
            let targets = org
                .list_targets_for_policy()
                .policy_id(id)
                .send()
                .await
                .unwrap();
            let mut at: Vec<String> = targets
                .targets()
                .iter()
                .filter_map(|t| names.get(t.target_id().unwrap()).cloned())
                .collect();
            at.sort();
            let tags = org
                .list_tags_for_resource()
                .resource_id(id)
                .send()
                .await
                .unwrap();
            let tags: BTreeMap<_, _> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
            out.insert(
                format!("policy {t}/{}", p.name().unwrap()),
                json!({"content": content, "description": p.description(), "attached": at, "tags": tags}),
            );
        }
    }
    let admins = org.list_delegated_administrators().send().await.unwrap();
    for a in admins.delegated_administrators() {
        let services = org
            .list_delegated_services_for_account()
            .account_id(a.id().unwrap())
            .send()
            .await
            .unwrap();
        for s in services.delegated_services() {
            out.insert(
                format!(
                    "delegated {} {}",
                    a.name().unwrap(),
                    s.service_principal().unwrap()
                ),
                json!(true),
            );
        }
    }
    out
}

#[test]
fn an_organization_incident_is_undone_through_the_cli() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let org = common::client(&moto.endpoint);
    let seeded = runtime.block_on(common::seed(&org));
    let before = runtime.block_on(facts(&org));
    assert_eq!(
        before.keys().filter(|k| k.starts_with("ou ")).count(),
        common::UNITS.len(),
        "{before:#?}"
    );
    let (_ws, run) = org_workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let shown = json_of(&run(&["show", "org@latest", "--json"]));
    let counts = &shown["manifest"]["counts"];
    assert_eq!(counts["aws_org.organizational_unit"], 6, "{shown:#}");
    assert_eq!(
        counts["aws_org.policy"],
        common::POLICIES.len(),
        "{shown:#}"
    );
    // The management account and the five members.
    assert_eq!(counts["aws_org.account"], 6, "{shown:#}");
    assert_eq!(counts["aws_org.delegated_administrator"], 1, "{shown:#}");
    let attached: usize = common::POLICIES.iter().map(|(_, _, at)| at.len()).sum();
    // Beside the seed's, moto attaches FullAWSAccess and RCPFullAWSAccess to the root, the
    // management account and every OU and account made after.
    assert!(
        counts["aws_org.policy_attachment"].as_u64().unwrap() as usize > attached,
        "{shown:#}"
    );

    // The incident.
    runtime.block_on(async {
        // Two SCPs and an RCP detached everywhere and deleted.
        for name in ["DenyLeaveOrganization", "RegionFence", "EnforceTls"] {
            let id = seeded.policy(name);
            let targets = org
                .list_targets_for_policy()
                .policy_id(id)
                .send()
                .await
                .unwrap();
            for t in targets.targets() {
                org.detach_policy()
                    .policy_id(id)
                    .target_id(t.target_id().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            org.delete_policy().policy_id(id).send().await.unwrap();
        }
        // One more detached from one of its two OUs.
        org.detach_policy()
            .policy_id(seeded.policy("DenyRootUser"))
            .target_id(seeded.unit("Sandbox"))
            .send()
            .await
            .unwrap();
        // A policy's content rewritten to allow what it denied, and its tags changed.
        org.update_policy()
            .policy_id(seeded.policy("ProtectSecurityTooling"))
            .content(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
                    .to_string(),
            )
            .description("nothing to see")
            .send()
            .await
            .unwrap();
        // An account moved out of its fenced OU to the root.
        org.move_account()
            .account_id(seeded.account("payments-prod"))
            .source_parent_id(seeded.unit("Workloads/Prod/Payments"))
            .destination_parent_id(&seeded.root)
            .send()
            .await
            .unwrap();
        // The Dev OU deleted, once its account is moved out.
        org.move_account()
            .account_id(seeded.account("web-dev"))
            .source_parent_id(seeded.unit("Workloads/Dev"))
            .destination_parent_id(&seeded.root)
            .send()
            .await
            .unwrap();
        org.delete_organizational_unit()
            .organizational_unit_id(seeded.unit("Workloads/Dev"))
            .send()
            .await
            .unwrap();
        // The security account no longer administers GuardDuty.
        org.deregister_delegated_administrator()
            .account_id(seeded.account("audit"))
            .service_principal(common::DELEGATED_SERVICE)
            .send()
            .await
            .unwrap();
    });
    let broken = runtime.block_on(facts(&org));
    assert_ne!(broken, before);
    assert_exit(&run(&["diff", "org@latest", "live"]), 1);

    let applied = run(&[
        "restore",
        "org@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let again = json_of(&run(&["restore", "org@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // Every fact is back: the deleted OU (under a new id) with its account, the policies
    // (new ids) with their contents, descriptions, tags and every attachment.
    let after = runtime.block_on(facts(&org));
    assert_eq!(after, before);
    let new_dev = runtime.block_on(async {
        let units = org
            .list_organizational_units_for_parent()
            .parent_id(seeded.unit("Workloads"))
            .send()
            .await
            .unwrap();
        units
            .organizational_units()
            .iter()
            .find(|u| u.name() == Some("Dev"))
            .unwrap()
            .id()
            .unwrap()
            .to_string()
    });
    assert_ne!(new_dev, seeded.unit("Workloads/Dev"), "a new OU");

    // A new backup differs from the first only in the ids of what was re-created.
    assert_exit(&run(&["backup", "--all"]), 0);
    let diff = json_of(&run(&[
        "diff",
        "org@latest~1",
        "org@latest",
        "--format",
        "json",
    ]));
    assert_eq!(
        diff["summary"]["total"]["added"], 0,
        "{:#}",
        diff["summary"]
    );
    assert_eq!(
        diff["summary"]["total"]["removed"], 0,
        "{:#}",
        diff["summary"]
    );
    let no_fields = Vec::new();
    for change in diff["changes"].as_array().unwrap() {
        for field in change["fields"].as_array().unwrap_or(&no_fields) {
            assert!(
                field["path"].as_str().unwrap().starts_with("/refs/"),
                "only ids differ after the restore: {change}"
            );
        }
    }
}

#[test]
fn a_closed_account_is_reported_not_recreated() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let org = common::client(&moto.endpoint);
    let seeded = runtime.block_on(common::seed(&org));
    let (_ws, run) = org_workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let gone = seeded.account("playground").to_string();
    runtime.block_on(async {
        org.remove_account_from_organization()
            .account_id(&gone)
            .send()
            .await
            .unwrap();
    });
    let applied = run(&[
        "restore",
        "org@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let text = report["cannot_restore"].to_string();
    assert!(
        text.contains("never creates or invites accounts") && text.contains(&gone),
        "{report:#}"
    );
    let again = json_of(&run(&["restore", "org@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}

#[test]
fn what_was_added_after_the_snapshot_goes_in_an_authoritative_restore() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let org = common::client(&moto.endpoint);
    let seeded = runtime.block_on(common::seed(&org));
    let before = runtime.block_on(facts(&org));
    let (_ws, run) = org_workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);

    // An attacker's OU tree with an account parked in it, a policy attached there and to an
    // account, and a second delegated administrator.
    runtime.block_on(async {
        let rogue = org
            .create_organizational_unit()
            .parent_id(&seeded.root)
            .name("Rogue")
            .send()
            .await
            .unwrap();
        let rogue = rogue
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        let deep = org
            .create_organizational_unit()
            .parent_id(&rogue)
            .name("Deep")
            .send()
            .await
            .unwrap();
        let deep = deep
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        org.move_account()
            .account_id(seeded.account("web-dev"))
            .source_parent_id(seeded.unit("Workloads/Dev"))
            .destination_parent_id(&deep)
            .send()
            .await
            .unwrap();
        let policy = org
            .create_policy()
            .name("Backdoor")
            .description("")
            .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
            .content(common::content("SERVICE_CONTROL_POLICY", "Backdoor"))
            .send()
            .await
            .unwrap();
        let policy = policy
            .policy()
            .unwrap()
            .policy_summary()
            .unwrap()
            .id()
            .unwrap()
            .to_string();
        for target in [deep.as_str(), seeded.account("web-prod")] {
            org.attach_policy()
                .policy_id(&policy)
                .target_id(target)
                .send()
                .await
                .unwrap();
        }
        org.register_delegated_administrator()
            .account_id(seeded.account("web-prod"))
            .service_principal(common::DELEGATED_SERVICE)
            .send()
            .await
            .unwrap();
    });
    assert_ne!(runtime.block_on(facts(&org)), before);

    let applied = run(&[
        "restore",
        "org@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "20",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(runtime.block_on(facts(&org)), before);
    let again = json_of(&run(&[
        "restore",
        "org@latest",
        "--mode",
        "authoritative",
        "--format",
        "json",
    ]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}
