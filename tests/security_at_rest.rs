//! No plaintext at rest outside the archive, and a repository that cannot be redirected: the
//! temporary files of a backup while it runs and after it is killed, `export`'s files, the
//! restore journals in the repository, and symbolic links inside a local repository.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iamsnap_testkit::okta::OktaEmulator;
use reliability::iamsnap_env;
use support::okta_api::Api;
use support::*;

/// More than the 64 MB a backup's spool keeps in memory, in few users: the backup writes a
/// sorted run to its temp folder while it still reads.
const BIG_USERS: usize = 52;
const BIG_FIELD: usize = 1_500_000;

fn canary(i: usize) -> String {
    format!("CANARY{i:03}")
}

/// An org whose users carry a large profile field that starts with a canary; returns the org
/// and what must never be found in plain text on disk: the canaries and the logins.
fn big_org() -> (Org, Vec<String>) {
    let org = Org::start(BIG_USERS, 3, 1);
    let mut secrets = Vec::new();
    org.okta.with_org(|o| {
        // Every status a backup reads.
        for status in [
            "ACTIVE",
            "STAGED",
            "PROVISIONED",
            "SUSPENDED",
            "PASSWORD_EXPIRED",
            "LOCKED_OUT",
        ] {
            for id in o.user_ids_with_status(status) {
                let value = format!("{}-{}", canary(secrets.len()), "x".repeat(BIG_FIELD));
                o.set_profile_field(&id, "nickName", serde_json::json!(value));
                secrets.push(canary(secrets.len()));
                secrets.push(o.login_of(&id).unwrap());
            }
        }
    });
    assert!(
        secrets.len() / 2 * BIG_FIELD > 70_000_000,
        "{} users",
        secrets.len() / 2
    );
    (org, secrets)
}

/// `iamsnap backup --all` in the background, with `tmp` as its temp folder.
fn spawn_backup(ws: &Workspace, tmp: &Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("iamsnap"))
        .current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env("TMPDIR", tmp)
        .env_remove("IAMSNAP_LOG")
        .args(["backup", "--all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the spool of the running backup has written a sorted run under `tmp`.
fn wait_for_a_spool_run(child: &mut Child, tmp: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let written = walk(tmp).iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("run-"))
                && p.metadata().is_ok_and(|m| m.len() > 0)
        });
        if written {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before its spool wrote a run"
        );
        assert!(Instant::now() < deadline, "no spool run after two minutes");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Every folder under `root` is 0700 and every file 0600, and no file holds any of `secrets`;
/// returns how many files there are. Every failure is listed, not only the first.
fn assert_private_and_sealed(root: &Path, secrets: &[String]) -> usize {
    let mut files = 0;
    let mut failures = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o7777;
            let expected = if meta.is_dir() { 0o700 } else { 0o600 };
            if mode != expected {
                failures.push(format!("{} has mode {mode:o}", path.display()));
            }
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            files += 1;
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if let Some(secret) = secrets
                .iter()
                .find(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
            {
                failures.push(format!("{} holds {secret:?} in plain text", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    files
}

/// What the user `nobody` can list or read below `root`, trying every folder and file the
/// way `ls` and `cat` would. Run as root, the only way tests can be another user.
fn another_user_reads(root: &Path) -> Vec<String> {
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("setpriv (util-linux) runs")
            .success()
    };
    assert!(
        as_nobody(&["ls", &root.display().to_string()]),
        "nobody cannot list the shared temp folder: the test proves nothing"
    );
    let mut read = Vec::new();
    let mut tried = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let shown = path.display().to_string();
            tried += 1;
            if path.is_dir() {
                if as_nobody(&["ls", &shown]) {
                    read.push(shown);
                }
                pending.push(path);
            } else if as_nobody(&["cat", &shown]) {
                read.push(shown);
            }
        }
    }
    assert!(tried >= 2, "nothing to try below {}", root.display());
    read
}

fn scratch_folders(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("iamsnap"))
        })
        .collect()
}

#[test]
fn a_running_backup_keeps_its_records_encrypted_in_private_files() {
    let (org, secrets) = big_org();
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let tmp = tempfile::tempdir().unwrap();
    // Shared like /tmp: anyone may enter it, so only the backup's own modes keep others out.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut child = spawn_backup(&ws, tmp.path());
    wait_for_a_spool_run(&mut child, tmp.path());
    // Held mid-way while every file is looked at.
    signal(&child, "-STOP");
    let files = assert_private_and_sealed(tmp.path(), &secrets);
    let read_by_another_user = another_user_reads(tmp.path());
    signal(&child, "-CONT");
    assert!(
        read_by_another_user.is_empty(),
        "another local user read {read_by_another_user:?}"
    );
    assert!(files >= 2, "{files} files");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        scratch_folders(tmp.path()).is_empty(),
        "{:?}",
        walk(tmp.path())
    );
    assert_eq!(ws.archives("okta-test").len(), 1);
}

#[test]
fn a_killed_backup_leaves_only_ciphertext_and_the_next_run_removes_it() {
    let (org, secrets) = big_org();
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = spawn_backup(&ws, tmp.path());
    wait_for_a_spool_run(&mut child, tmp.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let left = scratch_folders(tmp.path());
    assert!(!left.is_empty(), "a killed run leaves its folder");
    assert!(assert_private_and_sealed(tmp.path(), &secrets) >= 2);

    // The next run (small now) removes the folder of the run that is gone.
    org.okta.with_org(|o| {
        for id in o.user_ids_with_status("ACTIVE") {
            o.set_profile_field(&id, "nickName", serde_json::json!("small"));
        }
    });
    let status = spawn_backup(&ws, tmp.path()).wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        scratch_folders(tmp.path()).is_empty(),
        "{:?}",
        walk(tmp.path())
    );
    assert_eq!(ws.archives("okta-test").len(), 1);
}

#[test]
fn export_writes_files_only_their_owner_reads_unless_told_otherwise() {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let modes = |root: &Path| -> Vec<(String, u32)> {
        let mut out = vec![(".".to_string(), 0)];
        out[0].1 = std::fs::metadata(root).unwrap().permissions().mode() & 0o777;
        let records = root.join("records");
        out.push((
            "records".into(),
            std::fs::metadata(&records).unwrap().permissions().mode() & 0o777,
        ));
        for file in walk(root) {
            let name = file.strip_prefix(root).unwrap().display().to_string();
            out.push((name, file.metadata().unwrap().permissions().mode() & 0o777));
        }
        out
    };

    assert_exit(
        &ws.iamsnap(&["export", "okta-test@latest", "--out", "private"]),
        0,
    );
    let private = modes(&ws.path("private"));
    assert!(private.len() > 4, "{private:?}");
    for (name, mode) in &private {
        let expected = if name == "." || name == "records" {
            0o700
        } else {
            0o600
        };
        assert_eq!(*mode, expected, "{name}: {mode:o}");
    }

    assert_exit(
        &ws.iamsnap(&[
            "export",
            "okta-test@latest",
            "--out",
            "shared",
            "--mode",
            "640",
        ]),
        0,
    );
    for (name, mode) in modes(&ws.path("shared")) {
        let expected = if name == "." || name == "records" {
            0o750
        } else {
            0o640
        };
        assert_eq!(mode, expected, "{name}: {mode:o}");
    }
    let bad = ws.iamsnap(&["export", "okta-test@latest", "--out", "x", "--mode", "9"]);
    assert_exit(&bad, 2);
    assert!(!ws.path("x").exists());
}

const READ_ONLY_TOKEN: &str = "okta-readonly-at-rest-7f7f";

/// A restore stopped by a token that may not write, as a killed one would be: a journal with
/// its plan and some events, and operations left to do. Returns the org, the workspace, the
/// org's state before the restore, and the keys of the plan's operations.
fn interrupted_restore() -> (Org, Workspace, Api, Vec<String>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let okta = runtime
        .block_on(
            OktaEmulator::builder()
                .users(30)
                .groups(8)
                .apps(1)
                .seed(21)
                .token(OKTA_TOKEN)
                .read_only_token(READ_ONLY_TOKEN)
                .start(),
        )
        .unwrap();
    let org = Org::from_running(okta, runtime);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    api.delete_groups(3);
    let plan = ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]);
    assert_exit(&plan, 1);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let keys: Vec<String> = plan["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["key"].as_str().unwrap().to_string())
        .collect();
    let read_only = [("IAMSNAP_TEST_OKTA_TOKEN", READ_ONLY_TOKEN)];
    let out = iamsnap_env(
        &ws,
        &["restore", "okta-test@latest", "--apply", "--yes"],
        &read_only,
    );
    assert_exit(&out, 3);
    (org, ws, api, keys)
}

/// The one journal folder of the workspace's repository.
fn journal_dir(ws: &Workspace) -> PathBuf {
    let target = ws.path("repo/journals/okta-test");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(target)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.pop().unwrap()
}

fn resume(ws: &Workspace) -> std::process::Output {
    ws.iamsnap(&["restore", "okta-test@latest", "--resume", "--yes"])
}

#[test]
fn journals_are_sealed_and_a_tampered_one_is_refused_on_resume() {
    let (_org, ws, api, keys) = interrupted_restore();
    let damaged = api.counts();
    let journal = journal_dir(&ws);
    let objects = walk(&journal);
    assert!(objects.len() >= 2, "{objects:?}");
    for object in &objects {
        let raw = std::fs::read(object).unwrap();
        assert!(
            raw.starts_with(b"iamsnap-journal 1\n"),
            "{} is not sealed",
            object.display()
        );
        for key in &keys {
            assert!(
                !raw.windows(key.len()).any(|w| w == key.as_bytes()),
                "{} holds {key:?}",
                object.display()
            );
        }
    }
    let saved: Vec<(PathBuf, Vec<u8>)> = objects
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).unwrap()))
        .collect();
    let put_back = || {
        for path in walk(&journal) {
            std::fs::remove_file(path).unwrap();
        }
        for (path, bytes) in &saved {
            std::fs::write(path, bytes).unwrap();
        }
    };

    // A changed plan, a changed segment.
    for name in ["plan.sealed", "ops/00000000.sealed"] {
        let path = journal.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let out = resume(&ws);
        assert_exit(&out, 4);
        assert!(stderr(&out).contains(name), "{}", describe(&out));
        assert!(
            stderr(&out).contains("not signed by a trusted key"),
            "{}",
            describe(&out)
        );
        put_back();
    }
    // A forged segment saying every operation is done, in plain text as journals once were.
    let forged: String = (0..keys.len())
        .map(|seq| {
            format!(
                "{{\"seq\":{seq},\"attempt\":9,\"end\":{{\"result\":\"done\",\"outcome\":{{\"outcome\":\"skipped\",\"reason\":\"forged\"}}}}}}\n"
            )
        })
        .collect();
    std::fs::write(journal.join("ops/00000900.jsonl"), forged).unwrap();
    let out = resume(&ws);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("ops/00000900.jsonl"),
        "{}",
        describe(&out)
    );
    put_back();
    assert_eq!(api.counts(), damaged, "a refused resume changed the org");

    // Resuming needs the identity, and says so.
    let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
    let out = cmd
        .current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env_remove("IAMSNAP_IDENTITY")
        .args(["restore", "okta-test@latest", "--resume", "--yes"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--identity"), "{}", describe(&out));

    let out = resume(&ws);
    assert_exit(&out, 0);
    assert!(api.duplicates().is_empty());
    assert_ne!(api.counts(), damaged);
}

#[test]
fn a_journal_written_before_journals_were_sealed_still_resumes() {
    let (_org, ws, api, _) = interrupted_restore();
    // The journal as an older iamsnap wrote it: the same plan (zstd-compressed JSON) and
    // events (JSON lines), in plain text.
    let journal = journal_dir(&ws);
    let keys = ws.journal_keys();
    for path in walk(&journal) {
        let text = path.to_string_lossy();
        let stored = &text[text.find("journals/").unwrap()..];
        let plain = iamsnap_engine::restore::journal::sealed::open(
            stored,
            &std::fs::read(&path).unwrap(),
            &keys,
        )
        .unwrap();
        let legacy = match path.file_name().unwrap().to_str().unwrap() {
            "plan.sealed" => path.with_file_name("plan.json.zst"),
            _ => path.with_extension("jsonl"),
        };
        std::fs::write(legacy, plain).unwrap();
        std::fs::remove_file(path).unwrap();
    }
    let segments_before = walk(&journal.join("ops")).len();

    let out = resume(&ws);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("older iamsnap"), "{}", describe(&out));
    assert!(api.duplicates().is_empty());
    let ops = walk(&journal.join("ops"));
    let (plain, sealed): (Vec<_>, Vec<_>) = ops
        .iter()
        .partition(|p| p.extension().is_some_and(|e| e == "jsonl"));
    assert_eq!(plain.len(), segments_before);
    assert!(!sealed.is_empty(), "the resumed run's events are sealed");
    assert!(journal.join("finished.sealed").exists());
    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
}

fn outside_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
}

#[test]
fn a_link_inside_the_repository_is_an_integrity_error_that_names_it() {
    let org = Org::start(10, 2, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path("repo/snapshots")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), ws.path("repo/snapshots/okta-test")).unwrap();

    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 4);
    assert!(
        stderr(&backup).contains("snapshots/okta-test is a symbolic link"),
        "{}",
        describe(&backup)
    );
    assert!(
        outside_files(elsewhere.path()).is_empty(),
        "written through the link"
    );
    for args in [
        &["snapshots"][..],
        &["verify", "--all"],
        &["forget", "--keep-last", "1"],
        &["restore", "okta-test@latest"],
    ] {
        let out = ws.iamsnap(args);
        assert_exit(&out, 4);
        assert!(
            stderr(&out).contains("snapshots/okta-test is a symbolic link"),
            "{args:?}: {}",
            describe(&out)
        );
    }

    // The journals folder linked elsewhere: a restore stops before changing anything.
    std::fs::remove_file(ws.path("repo/snapshots/okta-test")).unwrap();
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    std::os::unix::fs::symlink(elsewhere.path(), ws.path("repo/journals")).unwrap();
    let api = Api::new(&ws, &org.url());
    api.delete_groups(1);
    let damaged = api.counts();
    let out = ws.iamsnap(&["restore", "okta-test@latest", "--apply", "--yes"]);
    assert_exit(&out, 4);
    assert!(
        stderr(&out).contains("journals is a symbolic link"),
        "{}",
        describe(&out)
    );
    assert_eq!(api.counts(), damaged);
    assert!(
        outside_files(elsewhere.path()).is_empty(),
        "written through the link"
    );
}
