//! The smaller checks, through the command line: a snapshot reference that cannot be resolved
//! is a usage error, never a panic; secret key files other users may read are refused unless
//! `--allow-insecure-key-permissions`; data after the end of an archive's tar makes it invalid;
//! an archive copied under another name, even one of the same source and second, is refused
//! with or without an identity, while one signed before signatures named their snapshot still
//! verifies, with a note.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use support::*;

/// `iamsnap ARGS` in the workspace without an identity: what a host holding only the public
/// verify key can check.
fn without_identity(ws: &Workspace, args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
    cmd.current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env_remove("IAMSNAP_IDENTITY")
        .env_remove("IAMSNAP_LOG")
        .args(args);
    cmd.output().unwrap()
}

fn signature_of(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// A workspace with one snapshot of a small emulated org.
fn backed_up() -> (Org, Workspace) {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    (org, ws)
}

#[test]
fn unresolvable_references_are_usage_errors_never_panics() {
    let (_org, ws) = backed_up();
    for reference in [
        "okta-test@-100000000d",
        "okta-test@-4294967295d",
        "okta-test@-4294967296d",
        "okta-test@latest~18446744073709551615",
        "okta-test@262143-12-31",
        "okta-test/99991231T235959Z-ffffffff",
    ] {
        for command in [
            vec!["show", reference],
            vec!["verify", reference],
            vec!["restore", reference],
            vec!["diff", reference, "live:okta-test"],
            vec!["export", reference, "--out", "plain"],
        ] {
            let out = ws.iamsnap(&command);
            assert_exit(&out, 2);
            assert!(
                !stderr(&out).contains("panicked"),
                "{command:?}: {}",
                describe(&out)
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn key_files_other_users_may_read_are_refused_unless_allowed() {
    use std::os::unix::fs::PermissionsExt;
    let (_org, ws) = backed_up();
    let open = |path: &str, mode: u32| {
        std::fs::set_permissions(ws.path(path), std::fs::Permissions::from_mode(mode)).unwrap();
    };
    open("identity.txt", 0o644);
    let refused = ws.iamsnap(&["show", "okta-test@latest"]);
    assert_exit(&refused, 2);
    let text = stderr(&refused);
    assert!(
        text.contains("identity.txt") && text.contains("0644") && text.contains("chmod 600"),
        "{}",
        describe(&refused)
    );
    assert_exit(
        &ws.iamsnap(&[
            "show",
            "okta-test@latest",
            "--allow-insecure-key-permissions",
        ]),
        0,
    );
    open("identity.txt", 0o600);
    assert_exit(&ws.iamsnap(&["show", "okta-test@latest"]), 0);

    open("signing.key", 0o640);
    let refused = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("--allow-insecure-key-permissions"),
        "{}",
        describe(&refused)
    );
    assert_eq!(ws.archives("okta-test").len(), 1, "nothing was published");
    assert_exit(
        &ws.iamsnap(&["--allow-insecure-key-permissions", "backup", "--all"]),
        0,
    );
}

/// The tar inside `archive`, decrypted with the workspace's identity.
fn plaintext_tar(ws: &Workspace, archive: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(ws.path("identity.txt")).unwrap();
    let identity: age::x25519::Identity = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .parse()
        .unwrap();
    let encrypted = std::fs::read(archive).unwrap();
    let decryptor = age::Decryptor::new(encrypted.as_slice()).unwrap();
    let mut compressed = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut compressed)
        .unwrap();
    zstd::decode_all(compressed.as_slice()).unwrap()
}

/// Compresses and encrypts `tar` to the workspace's recipient, and signs it as the backup
/// key would sign the snapshot `name`, in place of `archive`.
fn replace_archive(ws: &Workspace, archive: &Path, name: &str, tar: &[u8]) {
    let recipient: age::x25519::Recipient = ws.recipient.parse().unwrap();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
    let mut sealed = Vec::new();
    let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
    writer
        .write_all(&zstd::encode_all(tar, 3).unwrap())
        .unwrap();
    writer.finish().unwrap();
    let signature =
        iamsnap_engine::keys::sign(&ws.path("signing.key"), name, sealed.as_slice()).unwrap();
    std::fs::write(archive, &sealed).unwrap();
    std::fs::write(signature_of(archive), signature).unwrap();
}

/// `okta-test/STAMP-HEX` of an archive path.
fn name_of(archive: &Path) -> String {
    let stem = archive.file_stem().unwrap().to_string_lossy();
    format!("okta-test/{stem}")
}

#[test]
fn data_after_the_end_of_the_tar_makes_the_archive_invalid() {
    let (_org, ws) = backed_up();
    let archive = ws.archives("okta-test").pop().unwrap();
    let name = name_of(&archive);
    let tar = plaintext_tar(&ws, &archive);
    assert!(
        tar.ends_with(&[0u8; 1024]),
        "a tar ends with two zero blocks"
    );
    for tail in [b"appended".to_vec(), vec![0u8; 1 << 20]] {
        let mut longer = tar.clone();
        longer.extend_from_slice(&tail);
        replace_archive(&ws, &archive, &name, &longer);
        // What reads the records (`show` reads the manifest only).
        for command in [
            vec!["verify", "okta-test@latest"],
            vec!["restore", "okta-test@latest"],
            vec!["export", "okta-test@latest", "--out", "plain"],
        ] {
            let out = ws.iamsnap(&command);
            assert_exit(&out, 4);
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                text.contains("data follows the end of the tar"),
                "{}",
                describe(&out)
            );
            assert!(!ws.path("plain").exists(), "nothing exported");
        }
    }
    replace_archive(&ws, &archive, &name, &tar);
    assert_exit(&ws.iamsnap(&["verify", "okta-test@latest"]), 0);
}

#[test]
fn copies_under_another_name_are_refused_and_old_signatures_still_verify() {
    let (_org, ws) = backed_up();
    let archive = ws.archives("okta-test").pop().unwrap();
    let stem = archive.file_stem().unwrap().to_string_lossy().into_owned();
    let (stamp, hex) = stem.split_once('-').unwrap();
    let verified = ws.iamsnap(&["verify", "okta-test@latest"]);
    assert_exit(&verified, 0);
    assert!(
        stdout(&verified).contains("name"),
        "{}",
        describe(&verified)
    );

    // The same source and second, another millisecond prefix; then another random suffix.
    let millis = if &hex[..3] == "3e7" { "000" } else { "3e7" };
    for other in [
        format!("{millis}{}", &hex[3..]),
        format!("{}00000", &hex[..3]),
    ] {
        if other == hex {
            continue;
        }
        let copy = archive.with_file_name(format!("{stamp}-{other}.iamsnap"));
        std::fs::copy(&archive, &copy).unwrap();
        std::fs::copy(signature_of(&archive), signature_of(&copy)).unwrap();
        let name = name_of(&copy);
        let out = without_identity(&ws, &["verify", &name]);
        assert_exit(&out, 4);
        assert!(
            stdout(&out).contains("moved or copied") && stdout(&out).contains(&name_of(&archive)),
            "{}",
            describe(&out)
        );
        let out = ws.iamsnap(&["restore", &name]);
        assert_exit(&out, 4);
        std::fs::remove_file(&copy).unwrap();
        std::fs::remove_file(signature_of(&copy)).unwrap();
    }

    // Signed as archives were before signatures named their snapshot.
    let out = std::process::Command::new("minisign")
        .current_dir(ws.dir.path())
        .args(["-S", "-s", "signing.key", "-m"])
        .arg(&archive)
        .args(["-x"])
        .arg(signature_of(&archive))
        .args(["-t", "timestamp:1764208800\tiamsnap 0.1.0"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let old = without_identity(&ws, &["verify", "okta-test@latest"]);
    assert_exit(&old, 0);
    assert!(
        stdout(&old).contains("note: signed before signatures named their snapshot"),
        "{}",
        describe(&old)
    );
    assert_exit(&ws.iamsnap(&["verify", "okta-test@latest"]), 0);
}
