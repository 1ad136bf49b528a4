//! End to end: back up an emulated Okta org into a local repository, list, show, verify and
//! export it, and refuse damaged, unsigned or foreign archives with exit 4.

mod support;

use support::*;

#[test]
fn backup_list_show_verify_export() {
    let org = Org::start(300, 40, 8);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let again = ws.iamsnap(&["init"]);
    assert_exit(&again, 2);
    assert!(stderr(&again).contains("already"), "{}", describe(&again));

    let backup = ws.iamsnap(&["backup", "--all", "--metrics-file", "metrics.prom"]);
    assert_exit(&backup, 0);
    let metrics = std::fs::read_to_string(ws.path("metrics.prom")).unwrap();
    assert!(
        metrics.contains(
            "iamsnap_backup_records{source=\"okta-test\",provider=\"okta\",kind=\"okta.user\"} 300"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("iamsnap_backup_success{source=\"okta-test\",provider=\"okta\"} 1"));

    let list = ws.iamsnap(&["snapshots", "--json"]);
    assert_exit(&list, 0);
    let listed: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["source"], "okta-test");

    let show = ws.iamsnap(&["show", "okta-test@latest", "--json"]);
    assert_exit(&show, 0);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["manifest"]["counts"]["okta.user"], 300);
    assert_eq!(shown["manifest"]["counts"]["okta.group"], 40);
    assert!(shown["manifest"]["requests"]["requests"].as_u64().unwrap() > 0);

    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
    let export = ws.iamsnap(&["export", "okta-test@latest", "--out", "plain"]);
    assert_exit(&export, 0);
    let users = std::fs::read_to_string(ws.path("plain/records/okta.user.jsonl")).unwrap();
    assert_eq!(users.lines().count(), 300);
    let ids: Vec<String> = users
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "records are sorted by id");
    assert!(!users.contains(OKTA_TOKEN));
    for output in [&backup, &show, &export] {
        assert!(!stdout(output).contains(OKTA_TOKEN) && !stderr(output).contains(OKTA_TOKEN));
    }
}

#[test]
fn damaged_unsigned_and_foreign_archives_exit_4() {
    let org = Org::start(50, 5, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);
    let archive = ws.archives("okta-test").pop().unwrap();
    let pristine = std::fs::read(&archive).unwrap();

    // A flipped byte: the signature no longer matches.
    let mut flipped = pristine.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    std::fs::write(&archive, &flipped).unwrap();
    let out = ws.iamsnap(&["verify", "okta-test@latest"]);
    assert_exit(&out, 4);
    assert!(
        stdout(&out).to_lowercase().contains("signature"),
        "{}",
        describe(&out)
    );
    let out = ws.iamsnap(&["show", "okta-test@latest"]);
    assert_exit(&out, 4);
    std::fs::write(&archive, &pristine).unwrap();

    // A wrong identity.
    run_in(ws.dir.path(), &["key", "generate", "--out", "other.txt"]);
    let out = ws.iamsnap(&["show", "okta-test@latest", "--identity", "other.txt"]);
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("key"), "{}", describe(&out));

    // A missing signature.
    let mut sig = archive.clone().into_os_string();
    sig.push(".minisig");
    let signature = std::fs::read(&sig).unwrap();
    std::fs::remove_file(&sig).unwrap();
    let out = ws.iamsnap(&["verify", "okta-test@latest"]);
    assert_exit(&out, 4);
    let out = ws.iamsnap(&["export", "okta-test@latest", "--out", "x"]);
    assert_exit(&out, 4);
    assert!(!ws.path("x").exists());
    std::fs::write(&sig, &signature).unwrap();

    // A signature by another key.
    run_in(ws.dir.path(), &["key", "signing", "--out", "other.key"]);
    let other_sig = std::process::Command::new("minisign")
        .args(["-S", "-s"])
        .arg(ws.path("other.key"))
        .arg("-m")
        .arg(&archive)
        .arg("-x")
        .arg(ws.path("other.minisig"))
        .output()
        .expect("minisign is installed (apt-get install minisign)");
    assert!(other_sig.status.success(), "{}", describe(&other_sig));
    std::fs::copy(ws.path("other.minisig"), &sig).unwrap();
    let out = ws.iamsnap(&["verify", "okta-test@latest"]);
    assert_exit(&out, 4);
    std::fs::write(&sig, &signature).unwrap();
    assert_exit(&ws.iamsnap(&["verify", "okta-test@latest"]), 0);

    // Without verify_key, unsigned archives need an explicit opt-out.
    ws.write_config(&org.url(), "url = \"repo\"", false);
    assert_exit(&ws.iamsnap(&["show", "okta-test@latest"]), 2);
    assert_exit(
        &ws.iamsnap(&["show", "okta-test@latest", "--insecure-skip-signature"]),
        0,
    );
}

#[test]
fn a_failing_source_publishes_nothing_and_exits_3() {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    org.okta.fail_next(1000, 500);
    let out = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&out, 3);
    assert!(ws.archives("okta-test").is_empty());
    let leftovers: Vec<_> = walk(&ws.path("repo"));
    assert_eq!(
        leftovers,
        vec![ws.path("repo/iamsnap-repo.json")],
        "nothing but the repo file"
    );
    assert!(!stderr(&out).contains(OKTA_TOKEN));
}

#[test]
fn a_fleet_backs_up_four_at_a_time_and_names_the_sources_that_failed() {
    let org = Org::start(30, 4, 2);
    let broken = Org::start(5, 2, 1);
    broken.okta.fail_next(10_000, 500);
    let ws = Workspace::new(&org.url());
    for n in 1..=5 {
        ws.add_okta_source(&format!("okta-{n}"), &org.url(), "");
    }
    ws.add_okta_source("bad-1", &broken.url(), "");
    ws.add_okta_source("bad-2", &broken.url(), "");
    assert_exit(&ws.iamsnap(&["init"]), 0);

    let out = ws.iamsnap(&["backup", "--all", "--jobs", "4"]);
    assert_exit(&out, 3);
    assert!(
        stdout(&out).contains("backed up 6 of 8 sources; failed: bad-1, bad-2"),
        "{}",
        describe(&out)
    );
    for bad in ["bad-1", "bad-2"] {
        assert!(
            stderr(&out).contains(&format!("{bad}: backup failed")),
            "{}",
            describe(&out)
        );
        assert!(ws.archives(bad).is_empty(), "{bad} published nothing");
    }
    for good in [
        "okta-test",
        "okta-1",
        "okta-2",
        "okta-3",
        "okta-4",
        "okta-5",
    ] {
        assert_eq!(ws.archives(good).len(), 1, "{good}: {}", describe(&out));
    }

    let refused = ws.iamsnap(&["backup", "--all", "--jobs", "0"]);
    assert_exit(&refused, 2);
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_command_quietly() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    use assert_cmd::cargo::CommandCargoExt;
    let mut child = std::process::Command::cargo_bin("iamsnap")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("IAMSNAP_CONFIG")
        .args(["key", "generate", "--out", "key.txt"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -0`: the reader is gone before the command prints its recipient.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        !stderr(&output).contains("panicked"),
        "{}",
        describe(&output)
    );
    assert_exit(&output, 0);
    assert!(dir.path().join("key.txt").exists());
}
