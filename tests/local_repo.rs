//! A local-folder repository end to end: init, publish, list, resolve, fetch, verify, read,
//! delete; and the integrity failures a damaged or unsigned snapshot must give.

use std::path::Path;

use chrono::{TimeZone, Utc};
use iamsnap::Config;
use iamsnap_engine::archive::{self, ArchiveReader, ManifestHeader, Spool};
use iamsnap_engine::config::RepositoryConfig;
use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_engine::keys::{self, KeyPermissions, SigningKey};
use iamsnap_engine::repo::{RepoError, Repository, SnapshotInfo};
use iamsnap_provider::{Record, RequestStats};
use serde_json::json;

struct Setup {
    dir: tempfile::TempDir,
    config: RepositoryConfig,
    public_key: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let text = format!("[repository]\nurl = \"file://{}\"\n", repo.display());
    let config = Config::parse(&text, &dir.path().join("iamsnap.toml"))
        .unwrap()
        .repository;
    let public_key = keys::generate_signing_key(&dir.path().join("signing.key")).unwrap();
    keys::write_identity(&dir.path().join("key.txt")).unwrap();
    Setup {
        dir,
        config,
        public_key,
    }
}

fn recipient(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("key.txt")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("# public key: "))
        .unwrap();
    vec![line.trim_start_matches("# public key: ").to_string()]
}

fn build(setup: &Setup, day: u32, users: usize) -> archive::BuiltArchive {
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
    let started = Utc.with_ymd_and_hms(2026, 11, day, 2, 0, 0).unwrap();
    let header = ManifestHeader {
        source: "okta-prod".into(),
        snapshot: SnapshotInfo::new_name("okta-prod", started),
        provider: "okta".into(),
        started,
        finished: Utc.with_ymd_and_hms(2026, 11, day, 2, 3, 0).unwrap(),
        requests: RequestStats::default(),
        kinds_read: None,
    };
    let recipients = keys::parse_recipients(&recipient(setup.dir.path())).unwrap();
    let signing = SigningKey::load(
        &setup.dir.path().join("signing.key"),
        KeyPermissions::OwnerOnly,
    )
    .unwrap();
    archive::build(header, spool.finish().unwrap(), &recipients, &signing, None).unwrap()
}

/// Downloads, checks the signature, and reads every record; the exit status of the first
/// failure, or the record count.
async fn check(
    setup: &Setup,
    repo: &Repository,
    snapshot: &SnapshotInfo,
) -> Result<u64, ExitStatus> {
    let (file, signature) = repo
        .fetch(snapshot)
        .await
        .map_err(|e| e.exit_status().unwrap_or(ExitStatus::Failure))?;
    keys::verify(&setup.public_key, &signature, file.reopen().unwrap())
        .map_err(|e| e.exit_status().unwrap_or(ExitStatus::Failure))?;
    let identities =
        keys::load_identities(&setup.dir.path().join("key.txt"), KeyPermissions::OwnerOnly)
            .unwrap();
    let manifest = ArchiveReader::open(file.reopen().unwrap(), &identities)
        .and_then(|r| r.verify())
        .map_err(|e| e.exit_status().unwrap_or(ExitStatus::Failure))?;
    Ok(manifest.total_records())
}

#[tokio::test]
async fn init_refuses_twice_and_open_needs_init() {
    let setup = setup();
    let err = Repository::open(&setup.config).await.unwrap_err();
    assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
    assert!(err.to_string().contains("iamsnap init"), "{err}");
    Repository::init(&setup.config).await.unwrap();
    let err = Repository::init(&setup.config).await.unwrap_err();
    assert!(matches!(err, RepoError::AlreadyInitialized { .. }), "{err}");
    let repo = Repository::open(&setup.config).await.unwrap();
    assert_eq!(repo.repo_file().format_version, 1);
}

#[tokio::test]
async fn publish_list_resolve_fetch_and_delete() {
    let setup = setup();
    let repo = Repository::init(&setup.config).await.unwrap();
    let first = repo.publish_built(&build(&setup, 26, 10)).await.unwrap();
    let second = repo.publish_built(&build(&setup, 27, 20)).await.unwrap();
    assert!(
        first.name.starts_with("okta-prod/20261126T020000Z-"),
        "{}",
        first.name
    );

    let listed = repo.snapshots(None).await.unwrap();
    assert_eq!(listed, [first.clone(), second.clone()]);
    assert!(repo.snapshots(Some("other")).await.unwrap().is_empty());
    assert_eq!(repo.resolve("okta-prod@latest").await.unwrap(), second);
    assert_eq!(repo.resolve("okta-prod@latest~1").await.unwrap(), first);
    assert_eq!(repo.resolve("okta-prod@2026-11-26").await.unwrap(), first);
    assert_eq!(repo.resolve(&first.name).await.unwrap(), first);
    let err = repo.resolve("okta-prod@latest~2").await.unwrap_err();
    assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
    let err = repo.resolve("okta-prod@sometime").await.unwrap_err();
    assert_eq!(err.exit_status(), Some(ExitStatus::Usage));

    assert_eq!(check(&setup, &repo, &first).await, Ok(10));
    assert_eq!(check(&setup, &repo, &second).await, Ok(20));

    repo.delete_snapshot(&first).await.unwrap();
    assert_eq!(
        repo.snapshots(None).await.unwrap(),
        std::slice::from_ref(&second)
    );
    let root = setup.dir.path().join("repo");
    assert!(!root.join(first.signature_path()).exists());
}

#[tokio::test]
async fn damage_and_missing_signatures_are_integrity_errors() {
    let setup = setup();
    let repo = Repository::init(&setup.config).await.unwrap();
    let root = setup.dir.path().join("repo");

    let flipped = repo.publish_built(&build(&setup, 20, 50)).await.unwrap();
    let path = root.join(flipped.archive_path());
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        check(&setup, &repo, &flipped).await,
        Err(ExitStatus::Integrity)
    );

    let truncated = repo.publish_built(&build(&setup, 21, 50)).await.unwrap();
    let path = root.join(truncated.archive_path());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    assert_eq!(
        check(&setup, &repo, &truncated).await,
        Err(ExitStatus::Integrity)
    );

    let unsigned = repo.publish_built(&build(&setup, 22, 50)).await.unwrap();
    std::fs::remove_file(root.join(unsigned.signature_path())).unwrap();
    let err = repo.fetch(&unsigned).await.unwrap_err();
    assert!(matches!(err, RepoError::MissingSignature { .. }), "{err}");
    assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));

    let other = setup.dir.path().join("other.key");
    let other_public = keys::generate_signing_key(&other).unwrap();
    let good = repo.publish_built(&build(&setup, 23, 5)).await.unwrap();
    let (file, signature) = repo.fetch(&good).await.unwrap();
    let err = keys::verify(&other_public, &signature, file.reopen().unwrap()).unwrap_err();
    assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
}

#[tokio::test]
async fn journals_are_write_once() {
    let setup = setup();
    let repo = Repository::init(&setup.config).await.unwrap();
    repo.put_new_bytes("journals/r1/000001.json", b"{\"op\":1}")
        .await
        .unwrap();
    repo.put_new_bytes("journals/r1/000002.json", b"{\"op\":2}")
        .await
        .unwrap();
    let err = repo
        .put_new_bytes("journals/r1/000001.json", b"{}")
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        repo.get_bytes("journals/r1/000001.json").await.unwrap(),
        b"{\"op\":1}"
    );
    let listed: Vec<String> = repo
        .list("journals/r1/")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.path)
        .collect();
    assert_eq!(
        listed,
        ["journals/r1/000001.json", "journals/r1/000002.json"]
    );
    assert!(repo.put_new_bytes("snapshots/x", b"").await.is_err());
    assert!(
        repo.get_bytes("journals/../iamsnap-repo.json")
            .await
            .is_err()
    );
}

#[test]
fn exit_statuses_survive_error_context() {
    use iamsnap::error::status_of;
    use iamsnap_engine::archive::ArchiveError;
    use iamsnap_engine::keys::KeyError;
    let status = |e: anyhow::Error| status_of(&e.context("snapshot okta-prod/x").context("verify"));
    let missing = RepoError::MissingSignature {
        snapshot: "okta-prod/x".into(),
    };
    assert_eq!(status(missing.into()), ExitStatus::Integrity);
    let mismatch = KeyError::SignatureMismatch {
        reason: "bad".into(),
    };
    assert_eq!(status(mismatch.into()), ExitStatus::Integrity);
    assert_eq!(status(ArchiveError::WrongKey.into()), ExitStatus::Integrity);
    let bad_key = ArchiveError::Key(KeyError::EncryptedSigningKey { path: "k".into() });
    assert_eq!(status(bad_key.into()), ExitStatus::Usage);
    let missing_repo = RepoError::NotInitialized {
        location: "/r".into(),
    };
    assert_eq!(status(missing_repo.into()), ExitStatus::Usage);
    let storage = RepoError::Storage {
        location: "s3://b/".into(),
        action: "upload",
        path: "p".into(),
        message: "timeout".into(),
    };
    assert_eq!(status(storage.into()), ExitStatus::Failure);
    assert_eq!(
        status(iamsnap_engine::retention::EmptyPolicy.into()),
        ExitStatus::Usage
    );
}
