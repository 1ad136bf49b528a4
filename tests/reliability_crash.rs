//! Crashes: `backup` and `restore --apply` killed with SIGKILL at seeded random points.
//! Afterwards every listed snapshot verifies, no partial archive is visible, the next backup
//! works, and `restore --resume` finishes with no object duplicated in the org.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reliability::*;
use support::okta_api::Api;
use support::*;

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("iamsnap"))
        .current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env_remove("IAMSNAP_LOG")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGKILLs `child` (if it still runs); true when it was killed rather than finished.
fn kill(mut child: Child) -> bool {
    let finished = child.try_wait().unwrap().is_some();
    if !finished {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    if finished {
        assert!(status.success(), "the run failed by itself: {status:?}");
    }
    !finished
}

#[test]
fn backups_killed_at_random_points_leave_only_whole_snapshots() {
    let org = Org::start(400, 30, 6);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    // The shorter of two clean runs: the first one warms caches up.
    let clean = (0..2)
        .map(|_| {
            let started = Instant::now();
            assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
            started.elapsed()
        })
        .min()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(0x1a2b_3c4d);
    let runs = 10;
    let mut killed = 0;
    let mut stored = 2;
    for _ in 0..runs {
        // Anywhere from process start to near the end of a clean run.
        let at = clean.mul_f64(rng.gen_range(0.0..0.9));
        let child = spawn(&ws, &["backup", "--all"]);
        std::thread::sleep(at);
        let was_killed = kill(child);
        killed += u64::from(was_killed);
        // A run killed after its archive was stored (before it could exit) leaves a whole
        // snapshot; any other kill leaves none. Never a partial one: all are verified below.
        let list = ws.iamsnap(&["snapshots", "--json"]);
        assert_exit(&list, 0);
        let now = listed(&list).len();
        if was_killed {
            assert!(now == stored || now == stored + 1, "{now} after {stored}");
        } else {
            assert_eq!(now, stored + 1);
        }
        stored = now;
    }
    assert!(
        killed >= 3,
        "only {killed} of {runs} runs were killed mid-way"
    );
    let finished = stored;

    let verify = ws.iamsnap(&["verify", "--all"]);
    assert_exit(&verify, 0);
    assert!(
        stdout(&verify).contains(&format!("{finished} of {finished} snapshot(s) ok")),
        "{}",
        describe(&verify)
    );
    // What a killed run may leave in the repository: hidden temporary files and a signature
    // whose archive was never written. Nothing else, and nothing a listing shows.
    for path in walk(&ws.path("repo/snapshots")) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if name.ends_with(".minisig") {
            continue;
        }
        assert!(
            name.ends_with(".iamsnap"),
            "unexpected file {}",
            path.display()
        );
        let mut sig = path.clone().into_os_string();
        sig.push(".minisig");
        assert!(
            std::path::Path::new(&sig).exists(),
            "{name} has no signature"
        );
    }
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    assert_eq!(ws.archives("okta-test").len(), finished + 1);
    figure("crashes_survived", killed);
}

#[test]
fn restores_killed_at_random_points_resume_without_duplicates() {
    let org = Org::start(150, 14, 3);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let api = Api::new(&ws, &org.url());
    let healthy = api.counts();
    api.delete_groups(8);
    let plan = ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]);
    assert_exit(&plan, 1);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let total = plan["operations"].as_array().unwrap().len();
    assert!(total > 20, "{total} operations");

    let journals = ws.path("repo/journals");
    let ended = || journal_ends(&ws, &journals);
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut killed = 0;
    let mut args = vec!["restore", "okta-test@latest", "--apply", "--yes"];
    for _ in 0..3 {
        let before = ended();
        if before >= total {
            break;
        }
        // Kill once a seeded number of further operations has ended.
        let target = before + rng.gen_range(1..=((total - before) / 3).max(1));
        let child = spawn(&ws, &args);
        let deadline = Instant::now() + Duration::from_secs(60);
        while ended() < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if kill(child) {
            killed += 1;
        }
        assert!(api.duplicates().is_empty(), "duplicates after a kill");
        args = vec!["restore", "okta-test@latest", "--resume", "--yes"];
    }
    assert!(killed >= 2, "only {killed} restores were killed mid-way");

    let resumed = ws.iamsnap(&[
        "restore",
        "okta-test@latest",
        "--resume",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&resumed, 0);
    let report: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(api.duplicates(), Vec::<(String, String)>::new());
    let restored = api.counts();
    let missing: Vec<_> = healthy
        .keys()
        .filter(|k| !restored.contains_key(*k) && k.0 != "okta.user")
        .collect();
    assert!(missing.is_empty(), "not restored: {missing:?}");
    let again = ws.iamsnap(&["restore", "okta-test@latest", "--format", "json"]);
    assert_exit(&again, 0);
    assert_exit(&ws.iamsnap(&["verify", "--all"]), 0);
    figure("crashes_survived", killed);
}
