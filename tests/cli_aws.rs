//! End to end on an AWS account emulated by moto, through the CLI: an incident (a role and a
//! user deleted, a policy given a new default version, a user removed from a group, a role's
//! trust policy rewritten) and a wiped account (every object deleted) are each brought back by
//! `restore --apply`; a second restore plans nothing, and a diff against a new backup shows only
//! re-created objects' ids and what IAM cannot give back.

mod support;

#[path = "../providers/aws-iam/tests/common/mod.rs"]
mod common;

use common::seed;

use iamsnap_testkit::moto::MotoServer;
use serde_json::json;
use support::aws::json_of;
use support::*;

/// The services whose service-linked roles the incident test seeds.
const SERVICES: [&str; 2] = [
    "elasticbeanstalk.amazonaws.com",
    "autoscaling.amazonaws.com",
];

/// User attributes IAM cannot give back: a re-created user has no console password, no access
/// keys and no MFA device until an administrator issues new ones.
const CANNOT_RESTORE: &[&str] = &[
    "/attrs/console_password",
    "/attrs/access_keys",
    "/attrs/mfa_devices",
];

/// A workspace whose only source is the moto account at `endpoint`, and a runner of `iamsnap`
/// in it with moto's credentials.
fn aws_workspace(endpoint: &str) -> (Workspace, impl Fn(&[&str]) -> std::process::Output + use<>) {
    support::aws::workspace(
        endpoint,
        &[("aws-test", "aws-iam")],
        support::aws::MOTO_CREDENTIALS,
    )
}

#[test]
fn aws_incident_restores_through_the_cli() {
    let moto = MotoServer::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = common::iam_at(&moto.endpoint);
    let mut expected = runtime.block_on(seed::seed(&client, seed::SMALL));
    // Two service-linked roles: one an incident deletes, one nobody touches.
    let linked = runtime.block_on(async {
        let mut ids = Vec::new();
        for service in SERVICES {
            let out = client
                .create_service_linked_role()
                .aws_service_name(service)
                .description("made by the service")
                .send()
                .await
                .unwrap();
            let role = out.role().unwrap();
            ids.push((role.role_name().to_string(), role.role_id().to_string()));
        }
        ids
    });
    *expected.get_mut("aws.role").unwrap() += SERVICES.len();
    let (_ws, run) = aws_workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let shown = json_of(&run(&["show", "aws-test@latest", "--json"]));
    for (kind, count) in &expected {
        assert_eq!(
            shown["manifest"]["counts"][*kind].as_u64(),
            Some(*count as u64),
            "{kind}: {shown:#}"
        );
    }

    // The incident.
    let (role, user) = (seed::role_name(1), seed::user_name(2));
    runtime.block_on(async {
        common::delete_role(&client, &role).await;
        client
            .delete_service_linked_role()
            .role_name(&linked[0].0)
            .send()
            .await
            .unwrap();
        // Public keys: one user's SSH key and another's signing certificate deleted, a third
        // user's SSH key switched off.
        for (u, delete) in [(0, true), (2, false)] {
            let keys = client
                .list_ssh_public_keys()
                .user_name(seed::user_name(u))
                .send()
                .await
                .unwrap();
            let id = keys.ssh_public_keys()[0].ssh_public_key_id();
            if delete {
                client
                    .delete_ssh_public_key()
                    .user_name(seed::user_name(u))
                    .ssh_public_key_id(id)
                    .send()
                    .await
                    .unwrap();
            } else {
                client
                    .update_ssh_public_key()
                    .user_name(seed::user_name(u))
                    .ssh_public_key_id(id)
                    .status(aws_sdk_iam::types::StatusType::Inactive)
                    .send()
                    .await
                    .unwrap();
            }
        }
        let certs = client
            .list_signing_certificates()
            .user_name(seed::user_name(1))
            .send()
            .await
            .unwrap();
        client
            .delete_signing_certificate()
            .user_name(seed::user_name(1))
            .certificate_id(certs.certificates()[0].certificate_id())
            .send()
            .await
            .unwrap();
        // A service-linked role belongs to its service: restore leaves even its description.
        client
            .update_role_description()
            .role_name(&linked[1].0)
            .description("changed by hand")
            .send()
            .await
            .unwrap();
        let groups = client
            .list_groups_for_user()
            .user_name(&user)
            .send()
            .await
            .unwrap();
        for g in groups.groups() {
            client
                .remove_user_from_group()
                .group_name(g.group_name())
                .user_name(&user)
                .send()
                .await
                .unwrap();
        }
        client
            .update_assume_role_policy()
            .role_name(seed::role_name(0))
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                    "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        client
            .create_policy_version()
            .policy_arn(seed::policy_arn(0))
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": "*", "Resource": "*"}]})
                .to_string(),
            )
            .set_as_default(true)
            .send()
            .await
            .ok();
    });
    assert_exit(&run(&["diff", "aws-test@latest", "live"]), 1);

    let applied = run(&[
        "restore",
        "aws-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(
        !report.to_string().contains(&linked[1].0),
        "the untouched service-linked role is in no operation: {report:#}"
    );
    let again = json_of(&run(&["restore", "aws-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // The deleted role exists again with its trust policy; the hijacked one trusts what it did.
    // The deleted service-linked role was made again by its service, the other left as it was.
    runtime.block_on(async {
        let back = client
            .get_role()
            .role_name(&linked[0].0)
            .send()
            .await
            .unwrap();
        let back = back.role().unwrap();
        assert_eq!(back.path(), format!("/aws-service-role/{}/", SERVICES[0]));
        assert_ne!(back.role_id(), linked[0].1, "a new role");
        let status = |u: usize| {
            let client = client.clone();
            async move {
                let keys = client
                    .list_ssh_public_keys()
                    .user_name(seed::user_name(u))
                    .send()
                    .await
                    .unwrap();
                keys.ssh_public_keys()
                    .iter()
                    .map(|k| k.status().as_str().to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(status(0).await, ["Inactive"], "deleted key back, inactive");
        assert_eq!(status(2).await, ["Active"], "switched-off key active again");
        let certs = client
            .list_signing_certificates()
            .user_name(seed::user_name(1))
            .send()
            .await
            .unwrap();
        assert_eq!(
            certs.certificates()[0].certificate_body().trim(),
            seed::SIGNING_CERTIFICATE.trim()
        );
        let untouched = client
            .get_role()
            .role_name(&linked[1].0)
            .send()
            .await
            .unwrap();
        assert_eq!(untouched.role().unwrap().role_id(), linked[1].1);
        let back = client.get_role().role_name(&role).send().await.unwrap();
        assert!(back.role().unwrap().assume_role_policy_document().is_some());
        let trusted = client
            .get_role()
            .role_name(seed::role_name(0))
            .send()
            .await
            .unwrap();
        let doc = trusted
            .role()
            .unwrap()
            .assume_role_policy_document()
            .unwrap()
            .to_string();
        assert!(!doc.contains("999999999999"), "{doc}");
    });
    let diff = json_of(&run(&[
        "diff",
        "aws-test@latest",
        "live",
        "--format",
        "json",
    ]));
    let no_fields = Vec::new();
    for change in diff["changes"].as_array().unwrap() {
        assert_eq!(change["status"], "changed", "{change}");
        if change["key"] == linked[1].0.as_str() {
            continue;
        }
        // Re-created objects have new ids; what points at them carries the new ids.
        for field in change["fields"].as_array().unwrap_or(&no_fields) {
            assert!(
                field["path"].as_str().unwrap().starts_with("/refs/"),
                "only ids differ after the restore: {change}"
            );
        }
    }
}

#[test]
fn a_wiped_aws_account_comes_back_through_the_cli() {
    let moto = common::Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed::seed(&moto.iam(), seed::FULL));
    let (_ws, run) = aws_workspace(&moto.endpoint);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);

    // Everything is deleted, through the connector's own delete operations.
    let provider = moto.provider();
    let before = runtime.block_on(async {
        let records = common::snapshot(&provider).await;
        let mut ids = std::collections::BTreeMap::new();
        common::apply_all(
            &provider,
            &records,
            iamsnap_provider::Action::Delete,
            &mut ids,
        )
        .await;
        // Server certificates and MFA devices stay: the connector never deletes them.
        let left: Vec<_> = common::snapshot(&provider)
            .await
            .into_iter()
            .filter(|r| !common::REPORTED.contains(&r.kind.as_str()))
            .collect();
        assert!(left.is_empty(), "the account is empty: {left:?}");
        records
    });
    assert!(before.len() > 300, "{} records", before.len());

    let applied = run(&[
        "restore",
        "aws-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let cannot = report["cannot_restore"].as_array().unwrap();
    assert!(
        !cannot.is_empty(),
        "passwords, keys and MFA are reported: {report:#}"
    );
    let again = json_of(&run(&["restore", "aws-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    assert_exit(&run(&["backup", "--all"]), 0);
    let diff = json_of(&run(&[
        "diff",
        "aws-test@latest~1",
        "aws-test@latest",
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
        // Devices stay, unassigned from the users that were deleted: users register new ones.
        if change["kind"] == "aws.virtual_mfa_device" {
            continue;
        }
        for field in change["fields"].as_array().unwrap_or(&no_fields) {
            let path = field["path"].as_str().unwrap();
            assert!(
                path.starts_with("/refs/") || CANNOT_RESTORE.iter().any(|p| path.starts_with(p)),
                "only ids and what IAM cannot give back differ: {change}"
            );
        }
    }
}

/// A source that leaves SSH public keys out: its snapshots say so, and an authoritative
/// restore neither deletes the keys added since nor brings back one deleted since; the plan
/// names the kind it leaves alone and why, and the rest is restored as ever.
#[test]
fn an_authoritative_restore_leaves_alone_the_ssh_keys_the_backup_did_not_read() {
    let moto = MotoServer::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = common::iam_at(&moto.endpoint);
    runtime.block_on(seed::seed(&client, seed::SMALL));
    let (ws, run) = aws_workspace(&moto.endpoint);
    let config = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!("{config}exclude_kinds = [\"aws.ssh_public_key\"]\n"),
    )
    .unwrap();
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let shown = json_of(&run(&["show", "aws-test@latest", "--json"]));
    let read = shown["manifest"]["kinds_read"].as_array().unwrap();
    assert!(read.contains(&json!("aws.user")), "{shown:#}");
    assert!(!read.contains(&json!("aws.ssh_public_key")), "{shown:#}");
    assert!(
        shown["manifest"]["counts"]
            .get("aws.ssh_public_key")
            .is_none(),
        "{shown:#}"
    );

    let ssh_keys = |user: usize| {
        let client = client.clone();
        async move {
            let keys = client
                .list_ssh_public_keys()
                .user_name(seed::user_name(user))
                .send()
                .await
                .unwrap();
            keys.ssh_public_keys().len()
        }
    };
    // After the backup: a key added to one user, another user's key deleted, and a group
    // made that an authoritative restore must delete.
    runtime.block_on(async {
        assert_eq!(ssh_keys(1).await, 0);
        client
            .upload_ssh_public_key()
            .user_name(seed::user_name(1))
            .ssh_public_key_body(format!("{} added-later", seed::SSH_PUBLIC_KEY))
            .send()
            .await
            .unwrap();
        let keys = client
            .list_ssh_public_keys()
            .user_name(seed::user_name(0))
            .send()
            .await
            .unwrap();
        client
            .delete_ssh_public_key()
            .user_name(seed::user_name(0))
            .ssh_public_key_id(keys.ssh_public_keys()[0].ssh_public_key_id())
            .send()
            .await
            .unwrap();
        client
            .create_group()
            .group_name("made-after-the-backup")
            .send()
            .await
            .unwrap();
    });

    // One delete is allowed: the group. The SSH key added since is not the snapshot's to judge.
    let planned = json_of(&run(&[
        "restore",
        "aws-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(
        planned["left_alone"][0]["kind"], "aws.ssh_public_key",
        "{planned:#}"
    );
    assert!(
        planned["left_alone"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("did not read this kind"),
        "{planned:#}"
    );
    let text = run(&[
        "restore",
        "aws-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
    ]);
    assert!(
        stdout(&text).contains("Left alone, not read (1):\n  aws.ssh_public_key:"),
        "{}",
        describe(&text)
    );
    let applied = run(&[
        "restore",
        "aws-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    runtime.block_on(async {
        assert_eq!(ssh_keys(1).await, 1, "the key added later stays");
        assert_eq!(
            ssh_keys(0).await,
            0,
            "nothing brings back what was not read"
        );
        let groups = client.list_groups().send().await.unwrap();
        assert!(
            groups
                .groups()
                .iter()
                .all(|g| g.group_name() != "made-after-the-backup"),
            "the rest of the account is restored authoritatively"
        );
    });
    let again = json_of(&run(&[
        "restore",
        "aws-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
        "--format",
        "json",
    ]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    // A diff against the live account compares the kinds both sides read, and says so.
    let diff = run(&["diff", "aws-test@latest", "live"]);
    assert_exit(&diff, 0);
    assert!(
        stderr(&diff).contains("not compared") && stderr(&diff).contains("aws.ssh_public_key"),
        "{}",
        describe(&diff)
    );
}
