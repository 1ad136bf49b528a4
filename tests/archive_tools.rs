//! An archive opens with standard tools alone: Debian's `age`, `zstd`, `tar` and `minisign`
//! read what iamsnap writes, and iamsnap reads keys those tools (and `ssh-keygen`) make.
//! The tools must be installed (`apt-get install age minisign zstd`): a missing
//! tool fails these tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use iamsnap_engine::archive::{self, ArchiveError, ArchiveReader, Manifest, ManifestHeader, Spool};
use iamsnap_engine::error::{Classify, ExitStatus};
use iamsnap_engine::keys::{self, KeyError, KeyPermissions, SigningKey};
use iamsnap_provider::{Record, Ref, RequestStats};
use serde_json::json;

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program}: {e}; install it with `apt-get install -y age minisign zstd`"
            )
        })
}

/// Test-only ssh keys (`tests/data/keys`, made with `ssh-keygen`; they protect nothing).
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/keys")
        .join(name)
}

fn records() -> Vec<Record> {
    let mut records = Vec::new();
    for i in (0..250).rev() {
        records.push(Record::new(
            "okta.user",
            format!("00u{i:04}"),
            format!("user{i}@example.com"),
            json!({"profile": {"login": format!("user{i}@example.com"), "n": i}}),
            vec![],
        ));
    }
    records.push(Record::new(
        "okta.group",
        "00g1",
        "Engineering",
        json!({"profile": {"name": "Engineering"}}),
        vec![],
    ));
    records.push(Record::new(
        "okta.group_membership",
        "00g1:00u0001",
        "Engineering/user1@example.com",
        json!({}),
        vec![
            Ref::new("group", "okta.group", "00g1"),
            Ref::new("user", "okta.user", "00u0001"),
        ],
    ));
    records
}

fn header() -> ManifestHeader {
    ManifestHeader {
        source: "okta-prod".into(),
        snapshot: "okta-prod/20261127T020000Z-00000001".into(),
        provider: "okta".into(),
        started: Utc.with_ymd_and_hms(2026, 11, 27, 2, 0, 0).unwrap(),
        finished: Utc.with_ymd_and_hms(2026, 11, 27, 2, 1, 0).unwrap(),
        requests: RequestStats::default(),
        kinds_read: None,
    }
}

/// Builds a signed archive encrypted to `recipients`, saved as `dir/NAME.iamsnap` with its
/// `.minisig`; returns the archive path.
fn build_archive(dir: &Path, recipients: &[String], signing_key: &Path) -> (PathBuf, Manifest) {
    let mut spool = Spool::new(None, 4096).unwrap();
    for record in records() {
        spool.push(&record).unwrap();
    }
    let recipients = keys::parse_recipients(recipients).unwrap();
    let signing = SigningKey::load(signing_key, KeyPermissions::OwnerOnly).unwrap();
    let built = archive::build(
        header(),
        spool.finish().unwrap(),
        &recipients,
        &signing,
        Some(dir),
    )
    .unwrap();
    let path = dir.join("snap.iamsnap");
    std::fs::write(dir.join("snap.iamsnap.minisig"), &built.signature).unwrap();
    let manifest = built.manifest.clone();
    built.file.persist(&path).unwrap();
    (path, manifest)
}

#[test]
fn age_zstd_tar_and_minisign_open_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = keys::write_identity(&dir.path().join("key.txt")).unwrap();
    keys::generate_signing_key(&dir.path().join("signing.key")).unwrap();
    let (_, manifest) = build_archive(dir.path(), &[recipient], &dir.path().join("signing.key"));

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let extract = run(
        "bash",
        &[
            "-o",
            "pipefail",
            "-c",
            "age -d -i key.txt snap.iamsnap | zstd -d | tar -x -C out",
        ],
        dir.path(),
    );
    assert!(
        extract.status.success(),
        "extraction failed: {}",
        String::from_utf8_lossy(&extract.stderr)
    );

    let listing = run(
        "bash",
        &[
            "-o",
            "pipefail",
            "-c",
            "age -d -i key.txt snap.iamsnap | zstd -d | tar -t",
        ],
        dir.path(),
    );
    let names: Vec<String> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "records/okta.group.jsonl",
            "records/okta.group_membership.jsonl",
            "records/okta.user.jsonl"
        ]
    );

    let extracted: Manifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(extracted, manifest);
    assert_eq!(extracted.counts["okta.user"], 250);
    let users = std::fs::read_to_string(out.join("records/okta.user.jsonl")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    assert_eq!(lines.len(), 250);
    let mut expected: Vec<Record> = records()
        .into_iter()
        .filter(|r| r.kind == "okta.user")
        .collect();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    for (line, record) in lines.iter().zip(&expected) {
        assert_eq!(*line, record.to_canonical_json());
    }
    let sha = run("sha256sum", &["out/records/okta.user.jsonl"], dir.path());
    let sha = String::from_utf8(sha.stdout).unwrap();
    assert_eq!(
        sha.split_whitespace().next().unwrap(),
        manifest.entries["records/okta.user.jsonl"].sha256
    );

    let verified = run(
        "minisign",
        &["-V", "-p", "signing.key.pub", "-m", "snap.iamsnap"],
        dir.path(),
    );
    assert!(
        verified.status.success(),
        "minisign refused: {}",
        String::from_utf8_lossy(&verified.stderr)
    );

    let mut bytes = std::fs::read(dir.path().join("snap.iamsnap")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(dir.path().join("snap.iamsnap"), &bytes).unwrap();
    let refused = run(
        "minisign",
        &["-V", "-p", "signing.key.pub", "-m", "snap.iamsnap"],
        dir.path(),
    );
    assert!(
        !refused.status.success(),
        "minisign accepted a changed archive"
    );
}

#[test]
fn keys_made_by_the_standard_tools_work() {
    let dir = tempfile::tempdir().unwrap();
    let generated = run("age-keygen", &["-o", "age.txt"], dir.path());
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let age_recipient = run("age-keygen", &["-y", "age.txt"], dir.path());
    let age_recipient = String::from_utf8(age_recipient.stdout)
        .unwrap()
        .trim()
        .to_string();

    let ssh_recipients: Vec<String> = ["ssh_ed25519.pub", "ssh_rsa.pub"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(fixture(name))
                .unwrap()
                .trim()
                .to_string()
        })
        .collect();

    let signing = run(
        "minisign",
        &["-G", "-W", "-p", "mini.pub", "-s", "mini.key"],
        dir.path(),
    );
    assert!(
        signing.status.success(),
        "{}",
        String::from_utf8_lossy(&signing.stderr)
    );

    let (archive, _) = build_archive(
        dir.path(),
        &[vec![age_recipient], ssh_recipients].concat(),
        &dir.path().join("mini.key"),
    );
    let public = std::fs::read_to_string(dir.path().join("mini.pub")).unwrap();
    let signature = std::fs::read_to_string(dir.path().join("snap.iamsnap.minisig")).unwrap();
    keys::verify(&public, &signature, std::fs::File::open(&archive).unwrap()).unwrap();

    let identities = [
        dir.path().join("age.txt"),
        fixture("ssh_ed25519"),
        fixture("ssh_rsa"),
    ];
    for identity in &identities {
        // The fixtures are checked out readable by all.
        let loaded = keys::load_identities(identity, KeyPermissions::AllowInsecure).unwrap();
        let manifest = ArchiveReader::open(std::fs::File::open(&archive).unwrap(), &loaded)
            .unwrap()
            .verify()
            .unwrap();
        assert_eq!(manifest.total_records(), 252, "{}", identity.display());
        let command = format!(
            "age -d -i {} snap.iamsnap | zstd -d | tar -t",
            identity.display()
        );
        let listed = run("bash", &["-o", "pipefail", "-c", &command], dir.path());
        assert!(
            listed.status.success(),
            "{}: {}",
            identity.display(),
            String::from_utf8_lossy(&listed.stderr)
        );
    }

    let err = keys::load_identities(
        &fixture("ssh_ed25519_passphrase"),
        KeyPermissions::AllowInsecure,
    )
    .err()
    .unwrap();
    assert!(matches!(err, KeyError::EncryptedIdentity { .. }), "{err}");
    assert_eq!(err.exit_status(), Some(ExitStatus::Usage));
}

#[test]
fn a_key_that_is_not_a_recipient_is_an_integrity_error() {
    let dir = tempfile::tempdir().unwrap();
    let recipient = keys::write_identity(&dir.path().join("key.txt")).unwrap();
    keys::write_identity(&dir.path().join("other.txt")).unwrap();
    keys::generate_signing_key(&dir.path().join("signing.key")).unwrap();
    let (archive, _) = build_archive(dir.path(), &[recipient], &dir.path().join("signing.key"));

    let other =
        keys::load_identities(&dir.path().join("other.txt"), KeyPermissions::OwnerOnly).unwrap();
    let err = ArchiveReader::open(std::fs::File::open(&archive).unwrap(), &other)
        .err()
        .unwrap();
    assert!(matches!(err, ArchiveError::WrongKey));
    assert_eq!(err.exit_status(), Some(ExitStatus::Integrity));
    let refused = run(
        "bash",
        &["-c", "age -d -i other.txt snap.iamsnap > /dev/null"],
        dir.path(),
    );
    assert!(!refused.status.success());
}
