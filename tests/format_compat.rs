//! The oldest archive format this iamsnap promises to read (docs/format-versions.md): a snapshot
//! written by format 1, kept byte for byte in `tests/data/format-v1`, still verifies, shows and
//! exports with every record. A change that breaks reading it fails here.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

const SNAPSHOT: &str = "okta-fixture/20261206T094958Z-36098a47";

/// A copy of the fixture (the tests never write into `tests/data`) with a configuration.
fn workspace() -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/format-v1");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture.join("repo"), &dir.path().join("repo"));
    let identity = dir.path().join("identity.txt");
    std::fs::copy(fixture.join("identity.txt"), &identity).unwrap();
    // git does not keep modes; iamsnap refuses an identity others may read.
    std::fs::set_permissions(&identity, std::fs::Permissions::from_mode(0o600)).unwrap();
    let verify_key = std::fs::read_to_string(fixture.join("verify_key.txt")).unwrap();
    std::fs::write(
        dir.path().join("iamsnap.toml"),
        format!(
            "[repository]\nurl = \"repo\"\nverify_key = \"{}\"\n\n[sources.okta-fixture]\nprovider = \"okta\"\norg_url = \"https://fixture.okta.invalid\"\ntoken_env = \"UNSET_FIXTURE_TOKEN\"\n",
            verify_key.trim()
        ),
    )
    .unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn iamsnap(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("iamsnap")
        .unwrap()
        .current_dir(dir)
        .env("IAMSNAP_CONFIG", dir.join("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", dir.join("identity.txt"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_format_1_snapshot_still_verifies_shows_and_exports_every_record() {
    let dir = workspace();
    let dir = dir.path();

    let verified = iamsnap(dir, &["verify", SNAPSHOT]);
    assert!(verified.status.success(), "{verified:?}");

    let shown = iamsnap(dir, &["show", SNAPSHOT, "--json"]);
    assert!(shown.status.success(), "{shown:?}");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let manifest = &shown["manifest"];
    assert_eq!(manifest["format_version"], 1, "{manifest}");
    let counts = manifest["counts"].as_object().unwrap();
    assert_eq!(counts["okta.user"], 12);
    assert_eq!(counts["okta.group_membership"], 21);

    let exported = iamsnap(dir, &["export", SNAPSHOT, "--out", "plain"]);
    assert!(exported.status.success(), "{exported:?}");
    let mut total = 0;
    for (kind, count) in counts {
        let lines = std::fs::read_to_string(dir.join(format!("plain/records/{kind}.jsonl")))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            lines.lines().count() as u64,
            count.as_u64().unwrap(),
            "{kind}"
        );
        for line in lines.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["kind"], kind.as_str(), "{line}");
            assert!(record["key"].is_string(), "{line}");
        }
        total += lines.lines().count();
    }
    assert_eq!(total, 216);
}
