//! `iamsnap doctor` on an AWS IAM source emulated by moto: the credentials are named by their
//! ARN and their access key dated; `--restore` asks IAM's policy simulator, which moto does not
//! implement, so the line says it cannot check without writing, and the run still passes.

mod support;

#[path = "../providers/aws-iam/tests/common/mod.rs"]
mod common;

use iamsnap_testkit::moto::MotoServer;
use serde_json::Value;
use support::aws::json_of;
use support::*;

/// The line `check` of source `aws-test` in a JSON report.
fn line<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "aws-test" && c["check"] == check)
        .unwrap_or_else(|| panic!("no check {check} in {report:#}"))
}

#[test]
fn an_iam_user_s_key_is_named_and_dated_and_the_simulator_s_absence_is_a_note() {
    let moto = MotoServer::start();
    let client = common::iam_at(&moto.endpoint);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (key_id, secret) = runtime.block_on(async {
        client
            .create_user()
            .user_name("iamsnap-backup")
            .send()
            .await
            .unwrap();
        let key = client
            .create_access_key()
            .user_name("iamsnap-backup")
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap();
        (key.access_key_id, key.secret_access_key)
    });
    let (ws, _) = support::aws::workspace(
        &moto.endpoint,
        &[("aws-test", "aws-iam")],
        (&key_id, &secret),
    );
    // No shared credentials file on this host, whatever the machine running the test has.
    let missing = ws.path("no-aws-credentials");
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("AWS_ACCESS_KEY_ID", &key_id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&run(&["init"]), 0);

    let out = run(&["doctor", "--restore", "--format", "json"]);
    assert_exit(&out, 0);
    assert!(!stdout(&out).contains(&secret), "{}", describe(&out));
    let report = json_of(&out);
    assert_eq!(line(&report, "reads")["status"], "ok");
    let identity = line(&report, "identity");
    assert_eq!(identity["status"], "ok");
    assert_eq!(
        identity["detail"],
        "arn:aws:iam::123456789012:user/iamsnap-backup"
    );
    let age = line(&report, "credential age");
    assert_eq!(age["status"], "ok", "{age}");
    let detail = age["detail"].as_str().unwrap();
    assert!(
        detail.contains("IAM user iamsnap-backup") && detail.contains("(0 days ago)"),
        "{detail}"
    );
    // Only the key's last four characters are shown.
    assert!(!detail.contains(&key_id), "{detail}");
    assert!(detail.contains(&key_id[key_id.len() - 4..]), "{detail}");
    let writes = line(&report, "restore permissions");
    assert_eq!(writes["status"], "note", "{writes}");
    let detail = writes["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("cannot check without writing: the IAM endpoint does not implement SimulatePrincipalPolicy"),
        "{detail}"
    );
}
