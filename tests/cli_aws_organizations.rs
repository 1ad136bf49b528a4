//! End to end on an AWS organization emulated by moto, through the CLI: an incident (SCPs
//! detached and deleted, an OU with its child deleted, an account moved, a policy's content
//! rewritten, a delegated administrator removed) is brought back by `restore --apply`; a
//! second restore plans nothing and a new backup equals the first but for re-created ids.

mod support;

#[path = "../providers/aws-organizations/tests/common/mod.rs"]
mod common;

use common::facts;
use iamsnap_testkit::moto::MotoServer;
use serde_json::json;
use support::aws::json_of;
use support::*;

/// A workspace whose only source is the organization of the moto server at `endpoint`, and a
/// runner of `iamsnap` in it with moto's credentials.
fn org_workspace(endpoint: &str) -> (Workspace, impl Fn(&[&str]) -> std::process::Output + use<>) {
    support::aws::workspace(
        endpoint,
        &[("org", "aws-organizations")],
        support::aws::MOTO_CREDENTIALS,
    )
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
