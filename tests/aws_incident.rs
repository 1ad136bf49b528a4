//! End to end on one moto account holding a whole AWS estate's control plane, as a management
//! account does: an organization (OUs, ten SCPs and RCPs attached at several levels), an
//! Identity Center instance (50 users, 10 groups, their memberships, 8 permission sets with
//! AWS managed, customer managed and inline policies, 40 account assignments) and IAM with a
//! service-linked role and users' SSH keys. The three sources are backed up; an incident
//! deletes permission sets, assignments, users and groups, detaches and deletes SCPs and an
//! RCP, moves an account out of its fenced OU and deletes an IAM role and an SSH key;
//! `restore --apply` of each source brings every restorable fact back, a second plan of each
//! is empty, and the service-linked role is in no operation.

mod support;

#[path = "../providers/aws-iam/tests/common/mod.rs"]
mod iam;
#[path = "../providers/aws-organizations/tests/common/mod.rs"]
mod org;
#[path = "../providers/aws-identity-center/tests/common/mod.rs"]
mod sso;

use iam::seed;
use iamsnap_aws_iam::AwsIamConfig;
use iamsnap_provider::Record;
use iamsnap_testkit::moto::MotoServer;
use serde_json::json;
use support::aws::{MOTO_CREDENTIALS, json_of};
use support::*;

/// The sources of the workspace: (name, provider).
const SOURCES: [(&str, &str); 3] = [
    ("org", "aws-organizations"),
    ("sso", "aws-identity-center"),
    ("iam", "aws-iam"),
];

/// The service whose service-linked role the estate has.
const LINKED_SERVICE: &str = "autoscaling.amazonaws.com";

/// Records of `kind`, `n` of them after skipping `skip`.
fn pick(records: &[Record], kind: &str, n: usize, skip: usize) -> Vec<Record> {
    records
        .iter()
        .filter(|r| r.kind == kind)
        .skip(skip)
        .take(n)
        .cloned()
        .collect()
}

#[test]
fn an_estate_wide_incident_is_undone_source_by_source() {
    let moto = MotoServer::start_aws_estate();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let organizations = org::client(&moto.endpoint);
    let client = iam::iam_at(&moto.endpoint);
    let seeded = runtime.block_on(org::seed(&organizations));
    runtime.block_on(sso::seed(&moto.endpoint, sso::INCIDENT));
    let expected = runtime.block_on(seed::seed(&client, seed::SMALL));
    assert!(expected[iamsnap_aws_iam::kinds::SSH_PUBLIC_KEY] > 0);
    let (linked, linked_id) = runtime.block_on(async {
        let out = client
            .create_service_linked_role()
            .aws_service_name(LINKED_SERVICE)
            .send()
            .await
            .unwrap();
        let role = out.role().unwrap();
        (role.role_name().to_string(), role.role_id().to_string())
    });
    let iam_provider = iam::provider_at(&moto.endpoint, AwsIamConfig::default());

    let org_before = runtime.block_on(org::facts(&organizations));
    let scps_and_rcps = org_before
        .keys()
        .filter(|k| {
            (k.starts_with("policy SERVICE_CONTROL_POLICY/")
                || k.starts_with("policy RESOURCE_CONTROL_POLICY/"))
                && !k.ends_with("/FullAWSAccess")
                && !k.ends_with("/RCPFullAWSAccess")
        })
        .count();
    assert_eq!(scps_and_rcps, 10, "{org_before:#?}");
    let sso_before = runtime.block_on(sso::live(&moto.endpoint));
    for (kind, n) in [
        ("sso.user", 50),
        ("sso.group", 10),
        ("sso.permission_set", 8),
        ("sso.account_assignment", 40),
    ] {
        assert_eq!(sso::count(&sso_before, kind), n, "{kind}");
    }
    let iam_before = runtime.block_on(iam::snapshot(&iam_provider));

    let (_ws, run) = support::aws::workspace(&moto.endpoint, &SOURCES, MOTO_CREDENTIALS);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    for (source, _) in SOURCES {
        let shown = json_of(&run(&["show", &format!("{source}@latest"), "--json"]));
        assert!(
            shown["manifest"]["counts"].as_object().unwrap().len() > 2,
            "{source}: {shown:#}"
        );
    }

    // The incident, through the services' own APIs.
    let doomed_sets = pick(&sso_before, "sso.permission_set", 3, 0);
    let mut doomed: Vec<Record> = pick(&sso_before, "sso.account_assignment", 40, 0)
        .into_iter()
        .filter(|a| {
            !doomed_sets
                .iter()
                .any(|s| a.attrs["PermissionSet"] == s.key.as_str())
        })
        .take(5)
        .collect();
    doomed.extend(doomed_sets);
    doomed.extend(pick(&sso_before, "sso.user", 5, 10));
    doomed.extend(pick(&sso_before, "sso.group", 2, 3));
    let ssh_user = seed::user_name(0);
    runtime.block_on(async {
        for record in &doomed {
            sso::delete(&moto.endpoint, record).await.unwrap();
        }
        // Two SCPs and an RCP detached everywhere and deleted.
        for name in ["DenyLeaveOrganization", "RegionFence", "EnforceTls"] {
            let id = seeded.policy(name);
            let targets = organizations
                .list_targets_for_policy()
                .policy_id(id)
                .send()
                .await
                .unwrap();
            for t in targets.targets() {
                organizations
                    .detach_policy()
                    .policy_id(id)
                    .target_id(t.target_id().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            organizations
                .delete_policy()
                .policy_id(id)
                .send()
                .await
                .unwrap();
        }
        // The payments account moved out of its fenced OU to the root.
        organizations
            .move_account()
            .account_id(seeded.account("payments-prod"))
            .source_parent_id(seeded.unit("Workloads/Prod/Payments"))
            .destination_parent_id(&seeded.root)
            .send()
            .await
            .unwrap();
        // An IAM role deleted with what held it, and a user's SSH key.
        let role = seed::role_name(1);
        iam::delete_role(&client, &role).await;
        let keys = client
            .list_ssh_public_keys()
            .user_name(&ssh_user)
            .send()
            .await
            .unwrap();
        client
            .delete_ssh_public_key()
            .user_name(&ssh_user)
            .ssh_public_key_id(keys.ssh_public_keys()[0].ssh_public_key_id())
            .send()
            .await
            .unwrap();
    });
    assert_ne!(runtime.block_on(org::facts(&organizations)), org_before);
    let sso_broken = runtime.block_on(sso::live(&moto.endpoint));
    assert_eq!(sso::count(&sso_broken, "sso.permission_set"), 5);
    assert_eq!(sso::count(&sso_broken, "sso.user"), 45);
    assert_eq!(sso::count(&sso_broken, "sso.group"), 8);
    for (source, _) in SOURCES {
        assert_exit(&run(&["diff", &format!("{source}@latest"), "live"]), 1);
    }

    // Each source restored on its own, organization first.
    for (source, _) in SOURCES {
        let snapshot = format!("{source}@latest");
        let applied = run(&["restore", &snapshot, "--apply", "--yes", "--format", "json"]);
        assert_exit(&applied, 0);
        let report = json_of(&applied);
        assert_eq!(report["failed"], 0, "{source}: {report:#}");
        assert!(
            !report.to_string().contains(&linked),
            "the service-linked role is in no operation: {report:#}"
        );
        let again = json_of(&run(&["restore", &snapshot, "--format", "json"]));
        assert_eq!(again["operations"], json!([]), "{source}: {again:#}");
    }

    // Every fact is back.
    assert_eq!(runtime.block_on(org::facts(&organizations)), org_before);
    let sso_after = runtime.block_on(sso::live(&moto.endpoint));
    assert_eq!(sso::facts(&sso_after), sso::facts(&sso_before));
    let iam_after = runtime.block_on(iam::snapshot(&iam_provider));
    iam::assert_same_modulo_ids(&iam_before, &iam_after);
    runtime.block_on(async {
        let keys = client
            .list_ssh_public_keys()
            .user_name(&ssh_user)
            .send()
            .await
            .unwrap();
        assert_eq!(keys.ssh_public_keys().len(), 1, "the SSH key is back");
        let untouched = client.get_role().role_name(&linked).send().await.unwrap();
        let untouched = untouched.role().unwrap();
        assert_eq!(
            untouched.role_id(),
            linked_id,
            "the same service-linked role"
        );
        assert_eq!(
            untouched.path(),
            format!("/aws-service-role/{LINKED_SERVICE}/")
        );
    });
}
