//! Integrity and forgery: flipped bytes at several offsets, truncation, archives swapped between
//! sources or replayed under a newer name, archives encrypted to the right recipient but signed
//! by another key or unsigned, and a hand-built archive (tar + zstd + age, validly signed)
//! whose manifest does not match its entries. Every one is refused with exit 4 and a message
//! saying what is wrong, and a restore from it changes nothing in the org.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use reliability::*;
use support::okta_api::Api;
use support::*;

/// Two sources on the same emulated org, so archives can be swapped between them.
fn two_sources(ws: &Workspace, org_url: &str, verify: bool) {
    let verify_line = if verify {
        format!("verify_key = \"{}\"\n", ws.verify_key)
    } else {
        String::new()
    };
    let mut text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\n{verify_line}",
        ws.recipient
    );
    for name in ["okta-test", "okta-other"] {
        text.push_str(&format!(
            "\n[sources.{name}]\nprovider = \"okta\"\norg_url = \"{org_url}\"\ntoken_env = \"IAMSNAP_TEST_OKTA_TOKEN\"\n"
        ));
    }
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
}

fn signature_of(archive: &Path) -> PathBuf {
    let mut sig = archive.as_os_str().to_owned();
    sig.push(".minisig");
    PathBuf::from(sig)
}

/// The name of a snapshot of `source` with the stamp of the archive `like` and the suffix
/// `hex`.
fn name_like(source: &str, like: &Path, hex: &str) -> String {
    let stem = like.file_name().unwrap().to_string_lossy().into_owned();
    let stamp = stem.split('-').next().unwrap();
    format!("{source}/{stamp}-{hex}")
}

/// Stores `bytes` and `signature` as a new snapshot of `source` named [`name_like`]; returns
/// its name.
fn plant(
    ws: &Workspace,
    source: &str,
    like: &Path,
    hex: &str,
    bytes: &[u8],
    signature: &[u8],
) -> String {
    let name = name_like(source, like, hex);
    std::fs::create_dir_all(ws.path("repo/snapshots").join(source)).unwrap();
    let archive = ws.path(&format!("repo/snapshots/{name}.iamsnap"));
    std::fs::write(&archive, bytes).unwrap();
    std::fs::write(signature_of(&archive), signature).unwrap();
    name
}

/// Signs `bytes` with the workspace's signing key as snapshot `name`, as a backup would.
fn sign(ws: &Workspace, name: &str, bytes: &[u8]) -> String {
    iamsnap_engine::keys::sign(&ws.path("signing.key"), name, bytes).unwrap()
}

/// The plaintext tar entries of an archive, in order.
fn open_entries(ws: &Workspace, archive: &Path) -> Vec<(String, Vec<u8>)> {
    let identities = iamsnap_engine::keys::load_identities(
        &ws.path("identity.txt"),
        iamsnap_engine::keys::KeyPermissions::OwnerOnly,
    )
    .unwrap();
    let encrypted = std::fs::read(archive).unwrap();
    let decryptor = age::Decryptor::new(encrypted.as_slice()).unwrap();
    let mut plaintext = Vec::new();
    decryptor
        .decrypt(identities.iter().map(|i| i.as_ref()))
        .unwrap()
        .read_to_end(&mut plaintext)
        .unwrap();
    let tar_bytes = zstd::decode_all(plaintext.as_slice()).unwrap();
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

/// tar → zstd → age to the workspace's recipient, as a forger holding only public keys (and
/// here, the signing key) would build one.
fn seal(ws: &Workspace, entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, bytes.as_slice())
            .unwrap();
    }
    let tar_bytes = builder.into_inner().unwrap();
    let compressed = zstd::encode_all(tar_bytes.as_slice(), 3).unwrap();
    let recipients =
        iamsnap_engine::keys::parse_recipients(std::slice::from_ref(&ws.recipient)).unwrap();
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(&compressed).unwrap();
    writer.finish().unwrap();
    out
}

/// Asserts exit 4 and that stdout or stderr says `what` (case-insensitive).
#[track_caller]
fn refused(output: &std::process::Output, what: &str) {
    assert_exit(output, 4);
    let text = format!("{}{}", stdout(output), stderr(output)).to_lowercase();
    assert!(
        text.contains(&what.to_lowercase()),
        "expected {what:?}: {}",
        describe(output)
    );
}

#[test]
fn damaged_archives_are_refused_with_exit_4() {
    let org = Org::start(40, 6, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let archive = ws.archives("okta-test").pop().unwrap();
    let pristine = std::fs::read(&archive).unwrap();
    let len = pristine.len();
    let mut tried = 0;

    // Flipped bytes: in the age header, the first payload chunk, the middle, the last byte.
    // The signature catches them; without signature checking, age's authentication does.
    let offsets = [0, 20, 60, len / 3, len / 2, len - 17, len - 1];
    for (verify, what) in [(true, "signature"), (false, "")] {
        ws.write_config(&org.url(), "url = \"repo\"", verify);
        let skip: &[&str] = if verify {
            &[]
        } else {
            &["--insecure-skip-signature"]
        };
        for offset in offsets {
            let mut bytes = pristine.clone();
            bytes[offset] ^= 0x01;
            std::fs::write(&archive, &bytes).unwrap();
            for command in ["verify", "show", "export"] {
                let mut args = vec![command, "okta-test@latest"];
                if command == "export" {
                    args.extend(["--out", "plain"]);
                }
                args.extend(skip);
                let out = ws.iamsnap(&args);
                if verify {
                    refused(&out, what);
                } else {
                    assert_exit(&out, 4);
                    let message = format!("{}{}", stdout(&out), stderr(&out));
                    assert!(
                        // A flip inside the recipient stanza reads as a key that does
                        // not match: age cannot tell the two apart.
                        [
                            "damaged",
                            "not an iamsnap archive",
                            "decrypt",
                            "does not match"
                        ]
                        .iter()
                        .any(|w| message.contains(w)),
                        "offset {offset}: {}",
                        describe(&out)
                    );
                }
                assert!(!ws.path("plain").exists(), "nothing exported");
                tried += 1;
            }
        }
        // Truncation, down to nothing.
        for keep in [0, 1, 30, len / 2, len - 1] {
            std::fs::write(&archive, &pristine[..keep]).unwrap();
            let mut args = vec!["verify", "okta-test@latest"];
            args.extend(skip);
            let out = ws.iamsnap(&args);
            if verify {
                refused(&out, what);
            } else {
                assert_exit(&out, 4);
            }
            tried += 1;
        }
        std::fs::write(&archive, &pristine).unwrap();
    }
    ws.write_config(&org.url(), "url = \"repo\"", true);
    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
    figure("bad_inputs_tried", tried);
}

#[test]
fn swapped_replayed_and_forged_archives_are_refused_before_anything_is_applied() {
    let org = Org::start(60, 8, 2);
    let ws = Workspace::new(&org.url());
    two_sources(&ws, &org.url(), true);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let ours = ws.archives("okta-test");
    let theirs = ws.archives("okta-other");
    assert_eq!((ours.len(), theirs.len()), (2, 1));
    let (old, newest) = (&ours[0], &ours[1]);

    // The incident a restore would repair; every refused restore below must leave it as is.
    let api = Api::new(&ws, &org.url());
    api.delete_groups(2);
    let damaged = api.counts();
    let mut tried = 0;
    let restore_refused = |snap: &str, what: &str| {
        let out = ws.iamsnap(&["restore", snap, "--apply", "--yes"]);
        refused(&out, what);
        assert_eq!(
            api.counts(),
            damaged,
            "the org changed after a refused restore"
        );
        assert!(
            walk(&ws.path("repo/journals")).is_empty(),
            "a refused restore wrote a journal"
        );
    };

    // okta-other's archive and its valid signature, renamed into okta-test's folder with a
    // newer stamp than anything there: the manifest says okta-other.
    let stamp = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let bytes = std::fs::read(&theirs[0]).unwrap();
    let sig = std::fs::read(signature_of(&theirs[0])).unwrap();
    let swapped = ws.path(&format!(
        "repo/snapshots/okta-test/{}-0badc0de.iamsnap",
        stamp.format("%Y%m%dT%H%M%SZ")
    ));
    std::fs::write(&swapped, &bytes).unwrap();
    std::fs::write(signature_of(&swapped), &sig).unwrap();
    for command in ["show", "verify", "export", "diff"] {
        let mut args = vec![command, "okta-test@latest"];
        match command {
            "export" => args.extend(["--out", "plain"]),
            "diff" => args.push("live:okta-test"),
            _ => {}
        }
        refused(&ws.iamsnap(&args), "okta-other");
        tried += 1;
    }
    restore_refused("okta-test@latest", "moved or copied");
    let all = ws.iamsnap(&["verify", "--all"]);
    refused(&all, "moved or copied");
    assert!(stdout(&all).contains("3 of 4"), "{}", describe(&all));
    std::fs::remove_file(&swapped).unwrap();
    std::fs::remove_file(signature_of(&swapped)).unwrap();
    tried += 2;

    // The older snapshot of the same source replayed under a newer name.
    let replayed = ws.path(&format!(
        "repo/snapshots/okta-test/{}-0badf00d.iamsnap",
        stamp.format("%Y%m%dT%H%M%SZ")
    ));
    std::fs::copy(old, &replayed).unwrap();
    std::fs::copy(signature_of(old), signature_of(&replayed)).unwrap();
    restore_refused("okta-test@latest", "moved or copied");
    std::fs::remove_file(&replayed).unwrap();
    std::fs::remove_file(signature_of(&replayed)).unwrap();
    tried += 1;

    // Encrypted to the right recipient, signed by another key.
    let entries = open_entries(&ws, newest);
    let sealed = seal(&ws, &entries);
    run_in(ws.dir.path(), &["key", "signing", "--out", "other.key"]);
    let foreign_sig = iamsnap_engine::keys::sign(
        &ws.path("other.key"),
        &name_like("okta-test", newest, "0000000a"),
        sealed.as_slice(),
    )
    .unwrap();
    let name = plant(
        &ws,
        "okta-test",
        newest,
        "0000000a",
        &sealed,
        foreign_sig.as_bytes(),
    );
    restore_refused(&name, "signature");
    tried += 1;

    // The same archive without any signature.
    let archive = ws.path(&format!("repo/snapshots/{name}.iamsnap"));
    std::fs::remove_file(signature_of(&archive)).unwrap();
    restore_refused(&name, "no signature");
    std::fs::remove_file(&archive).unwrap();
    tried += 1;

    // Correctly signed by the backup key, but with records the manifest does not describe:
    // a group renamed, then the manifest's hash kept; and the manifest's size, count and
    // hash changed with the records kept.
    let groups = "records/okta.group.jsonl";
    let edit = |entries: &mut Vec<(String, Vec<u8>)>, path: &str, f: &dyn Fn(&str) -> String| {
        let entry = entries.iter_mut().find(|(p, _)| p == path).unwrap();
        entry.1 = f(std::str::from_utf8(&entry.1).unwrap()).into_bytes();
    };
    let manifest_of = |entries: &[(String, Vec<u8>)]| -> serde_json::Value {
        serde_json::from_slice(&entries[0].1).unwrap()
    };
    let set_manifest = |entries: &mut Vec<(String, Vec<u8>)>, m: &serde_json::Value| {
        entries[0].1 = serde_json::to_vec_pretty(m).unwrap();
    };
    type Forgery = (
        &'static str,
        Box<dyn Fn(&mut Vec<(String, Vec<u8>)>)>,
        &'static str,
    );
    let forgeries: Vec<Forgery> = vec![
        (
            "a renamed group, same length",
            Box::new(move |e| {
                edit(e, groups, &|t| {
                    let i = t.find("\"name\":\"").unwrap() + 8;
                    let mut s = t.to_string();
                    let c = if &s[i..=i] == "X" { "Y" } else { "X" };
                    s.replace_range(i..=i, c);
                    s
                })
            }),
            "sha-256",
        ),
        (
            "a record dropped",
            Box::new(move |e| {
                edit(e, groups, &|t| {
                    t.split_inclusive('\n').skip(1).collect::<String>()
                })
            }),
            "bytes",
        ),
        (
            "the manifest's hash changed",
            Box::new(move |e| {
                let mut m = manifest_of(e);
                m["entries"][groups]["sha256"] = "0".repeat(64).into();
                set_manifest(e, &m);
            }),
            "sha-256",
        ),
        (
            "the manifest's count changed",
            Box::new(move |e| {
                let mut m = manifest_of(e);
                let n = m["counts"]["okta.group"].as_u64().unwrap();
                m["counts"]["okta.group"] = (n + 1).into();
                set_manifest(e, &m);
            }),
            "records, the manifest says",
        ),
        (
            "an entry the manifest does not list",
            Box::new(move |e| {
                e.push(("records/okta.zzz.jsonl".into(), b"{}\n".to_vec()));
            }),
            "does not list",
        ),
    ];
    for (i, (name, forge, what)) in forgeries.into_iter().enumerate() {
        // A forger holding the signing key also records the name it will store the archive
        // under, in the manifest and in the signature.
        let planted = name_like("okta-test", newest, &format!("f00d{i:04x}"));
        let mut forged = entries.clone();
        let mut manifest = manifest_of(&forged);
        manifest["snapshot"] = planted.clone().into();
        set_manifest(&mut forged, &manifest);
        forge(&mut forged);
        let sealed = seal(&ws, &forged);
        let signature = sign(&ws, &planted, &sealed);
        let snap = plant(
            &ws,
            "okta-test",
            newest,
            &format!("f00d{i:04x}"),
            &sealed,
            signature.as_bytes(),
        );
        let verify = ws.iamsnap(&["verify", &snap]);
        assert!(
            format!("{}{}", stdout(&verify), stderr(&verify))
                .to_lowercase()
                .contains(what),
            "{name}: {}",
            describe(&verify)
        );
        assert_exit(&verify, 4);
        restore_refused(&snap, what);
        let archive = ws.path(&format!("repo/snapshots/{snap}.iamsnap"));
        std::fs::remove_file(signature_of(&archive)).unwrap();
        std::fs::remove_file(&archive).unwrap();
        tried += 2;
    }

    // A wrong identity.
    run_in(ws.dir.path(), &["key", "generate", "--out", "stranger.txt"]);
    let out = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--identity",
        "stranger.txt",
        "--apply",
        "--yes",
    ]);
    refused(&out, "identity does not match");
    assert_eq!(api.counts(), damaged);
    tried += 1;

    // The untouched snapshot still restores.
    let out = ws.iamsnap(&["restore", "okta-test@latest", "--apply", "--yes"]);
    assert_exit(&out, 0);
    assert_ne!(api.counts(), damaged);
    figure("bad_inputs_tried", tried);
}
