//! Immutability on S3 (moto) with Object Lock in compliance mode: `forget` cannot delete a
//! locked snapshot and says so with a non-zero exit; deleting the locked object versions
//! directly through the S3 API, or through iamsnap's storage backend, is refused too; and
//! what was locked still verifies afterwards. (moto lets a compliance lock be shortened with
//! PutObjectRetention, which S3 refuses; that is not tested here.)

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::sync::Arc;

use iamsnap_engine::repo::{RepoError, WriteBackend, s3::S3Backend};
use iamsnap_testkit::moto::MotoServer;
use reliability::*;
use support::*;

#[test]
fn compliance_locked_snapshots_survive_forget_and_direct_deletes() {
    let moto = MotoServer::start();
    create_bucket(&moto.endpoint, "locked", true);
    let org = Org::start(30, 4, 1);
    let ws = Workspace::with_repository(
        &org.url(),
        &s3_repository(&moto.endpoint, "locked", Some(("compliance", 2))),
    );
    assert_exit(&aws(&ws, &["init"]), 0);
    assert_exit(&aws(&ws, &["backup", "--all"]), 0);
    assert_exit(&aws(&ws, &["backup", "--all"]), 0);
    let names = listed(&aws(&ws, &["snapshots", "--json"]));
    assert_eq!(names.len(), 2);
    let mut attempts = 0;

    // forget: both are locked; the older one would go by the policy, and is reported.
    let forget = aws(&ws, &["forget", "--keep-last", "1", "--min-age-hours", "0"]);
    assert_ne!(forget.status.code(), Some(0), "{}", describe(&forget));
    assert!(stdout(&forget).contains("locked"), "{}", describe(&forget));
    assert!(
        stdout(&forget).contains("compliance"),
        "{}",
        describe(&forget)
    );
    assert!(stdout(&forget).contains(&names[0]), "{}", describe(&forget));
    attempts += 1;
    assert_eq!(listed(&aws(&ws, &["snapshots", "--json"])), names);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = s3_client(&moto.endpoint);
    for name in &names {
        for suffix in [".iamsnap", ".iamsnap.minisig"] {
            let key = format!("nightly/snapshots/{name}{suffix}");
            let head = runtime
                .block_on(client.head_object().bucket("locked").key(&key).send())
                .unwrap();
            assert_eq!(
                head.object_lock_mode(),
                Some(&aws_sdk_s3::types::ObjectLockMode::Compliance),
                "{key}"
            );
            let version = head.version_id().unwrap().to_string();
            // Deleting the version itself, even asking to bypass governance: refused.
            let deleted = runtime.block_on(
                client
                    .delete_object()
                    .bucket("locked")
                    .key(&key)
                    .version_id(&version)
                    .bypass_governance_retention(true)
                    .send(),
            );
            assert!(
                deleted.is_err(),
                "{key}: a compliance-locked version was deleted"
            );
            attempts += 1;
            let still = runtime.block_on(
                client
                    .head_object()
                    .bucket("locked")
                    .key(&key)
                    .version_id(&version)
                    .send(),
            );
            assert!(still.is_ok(), "{key} is gone");
        }
    }

    // iamsnap's own storage layer, below the retention policy: refused with Locked.
    let backend: Arc<dyn WriteBackend> = Arc::new(S3Backend::new(
        s3_client(&moto.endpoint),
        "locked",
        "nightly",
    ));
    for name in &names {
        let path = format!("snapshots/{name}.iamsnap");
        let err = runtime.block_on(backend.delete(&path)).unwrap_err();
        assert!(matches!(err, RepoError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("compliance"), "{err}");
        attempts += 1;
    }

    assert_eq!(listed(&aws(&ws, &["snapshots", "--json"])), names);
    let verify = aws(&ws, &["verify", "--all"]);
    assert_exit(&verify, 0);
    figure("delete_attempts_refused", attempts);
}
