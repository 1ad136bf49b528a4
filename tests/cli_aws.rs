//! End to end on an AWS account emulated by moto: backup through the CLI, an incident (a role
//! and a user deleted, a policy given a new default version, a user removed from a group, a
//! role's trust policy rewritten), `restore --apply`, a second restore that plans nothing, and a
//! diff in which only re-created objects' ids remain.

mod support;

#[allow(dead_code)]
#[path = "../providers/aws-iam/tests/common/seed.rs"]
mod seed;

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use iamsnap_testkit::moto::MotoServer;
use serde_json::{Value, json};
use support::*;

fn iam(endpoint: &str) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

#[test]
fn aws_incident_restores_through_the_cli() {
    let moto = MotoServer::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = iam(&moto.endpoint);
    let expected = runtime.block_on(seed::seed(&client, seed::SMALL));

    let ws = Workspace::new("http://127.0.0.1:9");
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.aws-test]\nprovider = \"aws-iam\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n",
        ws.recipient, ws.verify_key, moto.endpoint
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
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
        let attached = client
            .list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        for p in attached.attached_policies() {
            client
                .detach_role_policy()
                .role_name(&role)
                .policy_arn(p.policy_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
        for name in client
            .list_role_policies()
            .role_name(&role)
            .send()
            .await
            .unwrap()
            .policy_names()
        {
            client
                .delete_role_policy()
                .role_name(&role)
                .policy_name(name)
                .send()
                .await
                .unwrap();
        }
        for profile in client
            .list_instance_profiles_for_role()
            .role_name(&role)
            .send()
            .await
            .unwrap()
            .instance_profiles()
        {
            client
                .remove_role_from_instance_profile()
                .instance_profile_name(profile.instance_profile_name())
                .role_name(&role)
                .send()
                .await
                .unwrap();
        }
        client.delete_role().role_name(&role).send().await.unwrap();
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
    let again = json_of(&run(&["restore", "aws-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // The deleted role exists again with its trust policy; the hijacked one trusts what it did.
    runtime.block_on(async {
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
        // Re-created objects have new ids; what points at them carries the new ids.
        for field in change["fields"].as_array().unwrap_or(&no_fields) {
            assert!(
                field["path"].as_str().unwrap().starts_with("/refs/"),
                "only ids differ after the restore: {change}"
            );
        }
    }
}
