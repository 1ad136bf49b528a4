//! Leases end to end: two `backup --source X` at once publish one snapshot and the second names
//! the run holding the lease, in a folder and on S3 (moto); an expired lease is taken over.

mod support;

use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use iamsnap_testkit::moto::MotoServer;
use iamsnap_testkit::okta::OktaEmulator;
use support::*;

/// An org whose every answer takes a while, so that a backup lasts a few seconds.
fn slow_org() -> Org {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let okta = runtime
        .block_on(
            OktaEmulator::builder()
                .users(20)
                .groups(3)
                .apps(1)
                .seed(7)
                .token(OKTA_TOKEN)
                .latency(Duration::from_millis(60))
                .start(),
        )
        .unwrap();
    Org::from_running(okta, runtime)
}

fn command(ws: &Workspace, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("iamsnap"));
    cmd.current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("IAMSNAP_LOG")
        .args(args);
    cmd
}

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    command(ws, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(ws: &Workspace, args: &[&str]) -> Output {
    command(ws, args).output().unwrap()
}

/// Waits until `taken` says the first run holds its lease.
fn wait_for(what: &str, mut taken: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !taken() {
        assert!(Instant::now() < deadline, "{what} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The second of two concurrent runs stops, names the first and publishes nothing.
fn second_run_refused(ws: &Workspace, first: Child) {
    let second = run(ws, &["backup", "--source", "okta-test"]);
    let first = first.wait_with_output().unwrap();
    assert_exit(&first, 0);
    assert_exit(&second, 3);
    let text = stderr(&second);
    assert!(
        text.contains(
            "okta-test: backup failed: source okta-test is leased by another run: backup run"
        ),
        "{}",
        describe(&second)
    );
    assert!(
        text.contains("on host ") && text.contains("lease expires "),
        "{text}"
    );
    assert!(text.contains("this run wrote nothing"), "{text}");
}

#[test]
fn two_backups_of_a_source_in_a_folder_publish_one_snapshot() {
    let org = slow_org();
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let lease = ws.path("repo/leases/okta-test.json");
    let first = spawn(&ws, &["backup", "--source", "okta-test"]);
    wait_for("the lease", || lease.exists());
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lease).unwrap()).unwrap();
    assert_eq!(stored["source"], "okta-test");
    assert_eq!(stored["command"], "backup");
    assert_eq!(stored["pid"], first.id());
    second_run_refused(&ws, first);
    assert_eq!(ws.archives("okta-test").len(), 1);
    assert!(!lease.exists(), "released at the end");

    // Once released, the next run takes it.
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-test"]), 0);
    assert_eq!(ws.archives("okta-test").len(), 2);
}

fn write_lease(path: &Path, host: &str, expires: chrono::DateTime<chrono::Utc>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let started = expires - chrono::TimeDelta::minutes(10);
    let lease = serde_json::json!({
        "format_version": 1, "source": "okta-test", "holder": "00000000deadbeef",
        "command": "backup", "host": host, "pid": 4242,
        "started": started, "renewed": started, "expires": expires,
    });
    std::fs::write(path, serde_json::to_vec_pretty(&lease).unwrap()).unwrap();
}

#[test]
fn a_lease_of_another_host_is_respected_until_it_expires_then_taken_over() {
    let org = Org::start(20, 3, 1);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let lease = ws.path("repo/leases/okta-test.json");

    write_lease(
        &lease,
        "node-7",
        chrono::Utc::now() + chrono::TimeDelta::minutes(5),
    );
    let before = std::fs::read(&lease).unwrap();
    let held = ws.iamsnap(&["backup", "--source", "okta-test"]);
    assert_exit(&held, 3);
    assert!(
        stderr(&held).contains("backup run 00000000deadbeef on host node-7 (pid 4242)"),
        "{}",
        describe(&held)
    );
    assert!(ws.archives("okta-test").is_empty());
    assert_eq!(std::fs::read(&lease).unwrap(), before, "left as it was");

    // The holder died ten minutes ago; its lease expired a second ago.
    write_lease(
        &lease,
        "node-7",
        chrono::Utc::now() - chrono::TimeDelta::seconds(1),
    );
    let taken = ws.iamsnap(&["backup", "--source", "okta-test"]);
    assert_exit(&taken, 0);
    assert_eq!(ws.archives("okta-test").len(), 1);
    assert!(!lease.exists(), "the new holder released it");
}

#[test]
fn two_backups_of_a_source_on_s3_publish_one_snapshot() {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = s3_client(&moto.endpoint);
    runtime.block_on(async {
        client.create_bucket().bucket("fleet").send().await.unwrap();
    });
    let org = slow_org();
    let repository = format!(
        "url = \"s3://fleet/nightly\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\npath_style = true",
        moto.endpoint
    );
    let ws = Workspace::with_repository(&org.url(), &repository);
    assert_exit(&run(&ws, &["init"]), 0);
    let keys = |prefix: &str| -> Vec<String> {
        runtime.block_on(async {
            let listed = client
                .list_objects_v2()
                .bucket("fleet")
                .prefix(prefix)
                .send()
                .await
                .unwrap();
            listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect()
        })
    };
    let first = spawn(&ws, &["backup", "--source", "okta-test"]);
    wait_for("the lease on S3", || !keys("nightly/leases/").is_empty());
    second_run_refused(&ws, first);
    let archives: Vec<String> = keys("nightly/snapshots/okta-test/")
        .into_iter()
        .filter(|k| k.ends_with(".iamsnap"))
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    assert!(keys("nightly/leases/").is_empty(), "released at the end");

    // A run that died left its lease; once expired, the next run replaces it (If-Match).
    let stale = ws.path("stale.json");
    write_lease(
        &stale,
        "node-9",
        chrono::Utc::now() - chrono::TimeDelta::seconds(1),
    );
    runtime.block_on(async {
        client
            .put_object()
            .bucket("fleet")
            .key("nightly/leases/okta-test.json")
            .body(std::fs::read(&stale).unwrap().into())
            .send()
            .await
            .unwrap();
    });
    assert_exit(&run(&ws, &["backup", "--source", "okta-test"]), 0);
    assert!(keys("nightly/leases/").is_empty());
    assert_eq!(
        keys("nightly/snapshots/okta-test/")
            .iter()
            .filter(|k| k.ends_with(".iamsnap"))
            .count(),
        2
    );
}
