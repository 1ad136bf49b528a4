//! The S3 repository against moto's server (`pip install 'moto[server]'`; a missing server
//! fails these tests): Object Lock per snapshot, `If-None-Match` on every put, checksums on
//! put and get, multipart uploads, locked deletes refused.

use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{ChecksumMode, ObjectLockMode, ServerSideEncryption};
use base64::Engine as _;
use chrono::{TimeDelta, TimeZone, Utc};
use iamsnap_engine::archive::{self, ArchiveReader, ManifestHeader, Spool};
use iamsnap_engine::config::LockMode;
use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_engine::keys::{self, KeyPermissions, SigningKey};
use iamsnap_engine::repo::s3::S3Backend;
use iamsnap_engine::repo::{
    Body, LockDefaults, ReadBackend, RepoError, Repository, SnapshotInfo, WriteBackend,
};
use iamsnap_provider::{Record, RequestStats};
use iamsnap_testkit::moto::MotoServer;
use serde_json::json;
use sha2::{Digest, Sha256};

fn client(endpoint: &str) -> Client {
    let credentials =
        aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(credentials)
        .build();
    Client::from_conf(config)
}

async fn bucket(client: &Client, name: &str, locked: bool) {
    client
        .create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(locked)
        .send()
        .await
        .unwrap();
}

fn base64_sha256(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

struct Keys {
    dir: tempfile::TempDir,
    public: String,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let public = keys::generate_signing_key(&dir.path().join("signing.key")).unwrap();
    keys::write_identity(&dir.path().join("key.txt")).unwrap();
    Keys { dir, public }
}

fn build(keys: &Keys, users: usize) -> archive::BuiltArchive {
    let text = std::fs::read_to_string(keys.dir.path().join("key.txt")).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let mut spool = Spool::new(None, 1 << 20).unwrap();
    for i in 0..users {
        spool
            .push(&Record::new(
                "t.user",
                format!("{i:05}"),
                format!("u{i}"),
                json!({"i": i}),
                vec![],
            ))
            .unwrap();
    }
    let started = Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap();
    let header = ManifestHeader {
        source: "okta-prod".into(),
        snapshot: SnapshotInfo::new_name("okta-prod", started),
        provider: "okta".into(),
        started,
        finished: Utc.with_ymd_and_hms(2026, 11, 27, 2, 3, 0).unwrap(),
        requests: RequestStats::default(),
        kinds_read: None,
    };
    let recipients = keys::parse_recipients(&[recipient]).unwrap();
    let signing = SigningKey::load(
        &keys.dir.path().join("signing.key"),
        KeyPermissions::OwnerOnly,
    )
    .unwrap();
    archive::build(header, spool.finish().unwrap(), &recipients, &signing, None).unwrap()
}

#[tokio::test]
async fn snapshots_are_locked_write_once_and_checksummed() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint);
    bucket(&client, "locked", true).await;
    let backend = Arc::new(S3Backend::new(client.clone(), "locked", "team/iamsnap"));
    let lock = LockDefaults {
        mode: LockMode::Governance,
        days: 3,
    };
    let repo = Repository::init_with(backend.clone(), Some(lock))
        .await
        .unwrap();
    let err = Repository::init_with(backend.clone(), Some(lock))
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::AlreadyInitialized { .. }), "{err}");
    let repo_file = client
        .head_object()
        .bucket("locked")
        .key("team/iamsnap/iamsnap-repo.json")
        .send()
        .await;
    assert!(repo_file.is_ok(), "the repository lives under the prefix");

    let keys = keys();
    let built = build(&keys, 300);
    let info = repo.publish_built(&built).await.unwrap();
    assert_eq!(
        repo.snapshots(Some("okta-prod")).await.unwrap(),
        std::slice::from_ref(&info)
    );
    assert_eq!(repo.resolve("okta-prod@latest").await.unwrap(), info);

    // Object Lock on both objects, retain-until about `days` from now.
    let retention = repo
        .retention(&info)
        .await
        .unwrap()
        .expect("the archive is locked");
    assert_eq!(retention.mode, LockMode::Governance);
    let expected = Utc::now() + TimeDelta::days(3);
    assert!(
        (retention.until - expected).num_minutes().abs() < 5,
        "{}",
        retention.until
    );
    let key = format!("team/iamsnap/{}", info.archive_path());
    let head = client
        .head_object()
        .bucket("locked")
        .key(&key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Governance));
    let local = std::fs::read(built.path()).unwrap();
    assert_eq!(
        head.checksum_sha256(),
        Some(base64_sha256(&local).as_str()),
        "SHA-256 sent with the put"
    );
    assert!(
        backend
            .retention(&info.signature_path())
            .await
            .unwrap()
            .is_some()
    );

    // Fetch: same bytes, signature verifies, archive reads.
    let (file, signature) = repo.fetch(&info).await.unwrap();
    assert_eq!(std::fs::read(file.path()).unwrap(), local);
    keys::verify(&keys.public, &signature, file.reopen().unwrap()).unwrap();
    let identities =
        keys::load_identities(&keys.dir.path().join("key.txt"), KeyPermissions::OwnerOnly).unwrap();
    let manifest = ArchiveReader::open(file.reopen().unwrap(), &identities)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(manifest.total_records(), 300);

    // A second put of the same name is refused and changes nothing.
    let err = backend
        .put_new(&info.archive_path(), Body::Bytes(b"forged"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        backend.get_bytes(&info.archive_path()).await.unwrap(),
        local
    );

    // A locked snapshot is not deleted; the error says until when.
    let err = repo.delete_snapshot(&info).await.unwrap_err();
    match &err {
        RepoError::Locked { until, mode, .. } => {
            assert_eq!(*until, retention.until);
            assert_eq!(mode, "governance");
        }
        other => panic!("expected a lock refusal, got {other}"),
    }
    assert!(err.to_string().contains("until"), "{err}");
    let err = backend.delete(&info.archive_path()).await.unwrap_err();
    assert!(matches!(err, RepoError::Locked { .. }), "{err}");
    assert_eq!(
        repo.snapshots(None).await.unwrap(),
        std::slice::from_ref(&info)
    );

    // A missing signature is an integrity error.
    let unsigned = iamsnap_engine::repo::SnapshotInfo {
        name: "okta-prod/20260101T000000Z-0000abcd".into(),
        ..info.clone()
    };
    backend
        .put_new(&unsigned.archive_path(), Body::Bytes(b"x"), None)
        .await
        .unwrap();
    let err = repo.fetch(&unsigned).await.unwrap_err();
    assert!(matches!(err, RepoError::MissingSignature { .. }), "{err}");
    assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
}

#[tokio::test]
async fn big_files_go_up_in_parts_and_unlocked_objects_delete() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint);
    bucket(&client, "plain", false).await;
    let backend = Arc::new(
        S3Backend::new(client.clone(), "plain", "")
            .with_multipart(6 * 1024 * 1024, 5 * 1024 * 1024),
    );

    let err = Repository::init_with(
        backend.clone(),
        Some(LockDefaults {
            mode: LockMode::Compliance,
            days: 1,
        }),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RepoError::LockUnsupported { .. }), "{err}");
    assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
    let err = Repository::open_with(backend.clone(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::NotInitialized { .. }), "{err}");
    let repo = Repository::init_with(backend.clone(), None).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let mut data = Vec::with_capacity(13 * 1024 * 1024);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while data.len() < 13 * 1024 * 1024 + 17 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    std::fs::write(&big, &data).unwrap();
    backend
        .put_new("journals/big.bin", Body::File(&big), None)
        .await
        .unwrap();
    let back = dir.path().join("back.bin");
    assert_eq!(
        backend
            .get_to_file("journals/big.bin", &back)
            .await
            .unwrap(),
        data.len() as u64
    );
    assert!(
        std::fs::read(&back).unwrap() == data,
        "multipart round trip changed the bytes"
    );
    let err = backend
        .put_new("journals/big.bin", Body::File(&big), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::AlreadyExists { .. }), "{err}");

    let kms =
        S3Backend::new(client.clone(), "plain", "kms").with_sse_kms(Some("alias/iamsnap".into()));
    kms.put_new("journals/secret.json", Body::Bytes(b"{}"), None)
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket("plain")
        .key("kms/journals/secret.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert!(
        head.ssekms_key_id()
            .is_some_and(|k| k.contains("alias/iamsnap")),
        "{:?}",
        head.ssekms_key_id()
    );

    repo.put_new_bytes("journals/r1/1.json", b"{}")
        .await
        .unwrap();
    assert_eq!(repo.list("journals/r1/").await.unwrap().len(), 1);
    backend.delete("journals/r1/1.json").await.unwrap();
    assert!(repo.list("journals/r1/").await.unwrap().is_empty());
    assert!(matches!(
        repo.get_bytes("journals/r1/1.json").await,
        Err(RepoError::NotFound { .. })
    ));
}
