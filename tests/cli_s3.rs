//! End to end on S3 (moto's server): backup into a bucket with Object Lock, list, verify,
//! and `forget` refusing to delete a locked snapshot.

mod support;

use aws_sdk_s3::types::{
    DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule,
};
use iamsnap_testkit::moto::MotoServer;
use support::*;

#[test]
fn backup_to_s3_with_object_lock_and_forget_refuses_locked() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = s3_client(&moto.endpoint);
    runtime.block_on(async {
        client
            .create_bucket()
            .bucket("iam-backups")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .unwrap();
        client
            .put_object_lock_configuration()
            .bucket("iam-backups")
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Governance)
                                    .days(1)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });

    let org = Org::start(100, 10, 3);
    let repository = format!(
        "url = \"s3://iam-backups/nightly\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\npath_style = true\nobject_lock = {{ mode = \"governance\", days = 30 }}",
        moto.endpoint
    );
    let ws = Workspace::with_repository(&org.url(), &repository);
    let aws = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&aws(&["init"]), 0);
    assert_exit(&aws(&["init"]), 2);
    assert_exit(&aws(&["backup", "--all"]), 0);
    let list = aws(&["snapshots", "--json"]);
    assert_exit(&list, 0);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let name = listed[0]["name"].as_str().unwrap().to_string();

    // The archive is locked in governance mode until about 30 days from now.
    let key = format!("nightly/snapshots/{name}.iamsnap");
    let head = runtime
        .block_on(client.head_object().bucket("iam-backups").key(&key).send())
        .unwrap();
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Governance)
    );
    let until = head.object_lock_retain_until_date().unwrap().secs();
    let days = (until - chrono::Utc::now().timestamp()) / 86_400;
    assert!(
        (29..=30).contains(&days),
        "retain until {days} days from now"
    );

    let verify = aws(&["verify", "--all"]);
    assert_exit(&verify, 0);
    let show = aws(&["show", "okta-test@latest", "--json"]);
    assert_exit(&show, 0);

    // keep-last 0 is not a policy; keep-hourly with a zero guard would remove it, but it is locked.
    let forget = aws(&["forget", "--keep-last", "1", "--min-age-hours", "0"]);
    assert_exit(&forget, 0);
    assert_exit(&aws(&["backup", "--all"]), 0);
    let forget = aws(&["forget", "--keep-last", "1", "--min-age-hours", "0"]);
    assert_exit(&forget, 1);
    assert!(stdout(&forget).contains("locked"), "{}", describe(&forget));
    let list = aws(&["snapshots", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        2,
        "the locked snapshot is still there"
    );
}
