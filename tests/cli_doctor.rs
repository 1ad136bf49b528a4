//! `iamsnap doctor` end to end against the Okta emulator and a local repository laid out as
//! the quickstart's: all good exits 0; a read-only token's missing write scope fails `--restore`
//! with exit 3; key files others may read warn with exit 1; an unreachable source fails with
//! a line saying so; JSON output parses; no secret is printed.

mod support;

use iamsnap_testkit::okta::OktaEmulator;
use serde_json::Value;
use support::*;

const READ_ONLY_TOKEN: &str = "okta-readonly-DO-NOT-LEAK-d0c7";

/// The quickstart's layout: keys made by `iamsnap key`, a local repository, one Okta source.
fn workspace(org: &Org) -> Workspace {
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    ws
}

fn with_token(ws: &Workspace, args: &[&str], token: &str) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
    cmd.current_dir(ws.dir.path())
        .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env("IAMSNAP_TEST_OKTA_TOKEN", token)
        .args(args);
    cmd.output().unwrap()
}

/// The status of check `check` of `scope` in a JSON report.
fn status_of(report: &Value, scope: &str, check: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == scope && c["check"] == check)
        .unwrap_or_else(|| panic!("no check {scope}/{check} in {report:#}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_no_secret(out: &std::process::Output) {
    for secret in [OKTA_TOKEN, READ_ONLY_TOKEN] {
        assert!(
            !stdout(out).contains(secret) && !stderr(out).contains(secret),
            "{}",
            describe(out)
        );
    }
}

#[test]
fn the_quickstart_configuration_passes_and_json_parses() {
    let org = Org::start(40, 6, 3);
    let ws = workspace(&org);
    let out = ws.iamsnap(&["doctor", "--restore"]);
    assert_exit(&out, 0);
    let table = stdout(&out);
    for line in [
        "repository  writable",
        "matches verify_key",
        "okta-test   reachable",
        "okta.users.read",
        "a Super Administrator",
    ] {
        assert!(table.contains(line), "{line:?} missing:\n{table}");
    }
    assert!(table.contains("0 warning(s), 0 failed"), "{table}");
    assert_no_secret(&out);
    // The probe written to check the repository is gone again.
    let probes = std::fs::read_dir(ws.path("repo/doctor")).unwrap().count();
    assert_eq!(probes, 0);

    let json = ws.iamsnap(&["doctor", "--restore", "--format", "json"]);
    assert_exit(&json, 0);
    let report: Value = serde_json::from_slice(&json.stdout).expect("doctor's JSON parses");
    assert_eq!(report["status"], "ok");
    assert_eq!(status_of(&report, "repository", "signing key"), "ok");
    assert_eq!(status_of(&report, "repository", "clock"), "note");
    assert_eq!(status_of(&report, "okta-test", "credentials"), "ok");
    assert_eq!(status_of(&report, "okta-test", "restore permissions"), "ok");
}

#[test]
fn a_read_only_token_fails_restore_naming_the_missing_scope() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let okta = runtime
        .block_on(
            OktaEmulator::builder()
                .users(40)
                .groups(6)
                .apps(3)
                .seed(5)
                .token(OKTA_TOKEN)
                .read_only_token(READ_ONLY_TOKEN)
                .start(),
        )
        .unwrap();
    let org = Org::from_running(okta, runtime);
    let ws = workspace(&org);
    // Reads are all a backup needs: without --restore the read-only token passes.
    assert_exit(&with_token(&ws, &["doctor"], READ_ONLY_TOKEN), 0);

    let out = with_token(
        &ws,
        &["doctor", "--restore", "--format", "json"],
        READ_ONLY_TOKEN,
    );
    assert_exit(&out, 3);
    assert_no_secret(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["status"], "fail");
    assert_eq!(
        status_of(&report, "okta-test", "restore okta.users.manage"),
        "fail"
    );
    let detail = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "restore okta.groups.manage")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("READ_ONLY_ADMIN"), "{detail}");
    assert!(detail.contains("okta.group_membership"), "{detail}");

    let table = with_token(&ws, &["doctor", "--restore"], READ_ONLY_TOKEN);
    assert_exit(&table, 3);
    assert!(
        stdout(&table).contains("restore okta.users.manage"),
        "{}",
        describe(&table)
    );
}

#[cfg(unix)]
#[test]
fn key_files_others_may_read_warn() {
    use std::os::unix::fs::PermissionsExt;
    let org = Org::start(20, 4, 1);
    let ws = workspace(&org);
    for key in ["signing.key", "identity.txt"] {
        std::fs::set_permissions(ws.path(key), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = ws.iamsnap(&["doctor"]);
    assert_exit(&out, 1);
    let table = stdout(&out);
    for key in ["signing.key", "identity.txt"] {
        let line = table
            .lines()
            .find(|l| l.contains(&format!("key file {}", ws.path(key).display())))
            .unwrap_or_else(|| panic!("no line for {key}:\n{table}"));
        assert!(
            line.contains("warn") && line.contains("mode 0644"),
            "{line}"
        );
        assert!(line.contains("chmod 600"), "{line}");
    }
    assert_no_secret(&out);
}

#[test]
fn an_unreachable_source_fails_with_a_line_saying_so() {
    let org = Org::start(20, 4, 1);
    let ws = workspace(&org);
    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    ws.add_okta_source("gone", &format!("http://127.0.0.1:{port}"), "");
    let out = ws.iamsnap(&["doctor", "--source", "gone"]);
    assert_exit(&out, 3);
    let table = stdout(&out);
    let line = table
        .lines()
        .find(|l| l.starts_with("gone") && l.contains("reachable"))
        .unwrap_or_else(|| panic!("no reachable line:\n{table}"));
    assert!(line.contains("fail"), "{line}");
    assert!(line.contains(&port.to_string()), "{line}");
    assert!(
        !table.contains("okta-test"),
        "--source checks that source only"
    );
    // An unknown source is a usage error.
    assert_exit(&ws.iamsnap(&["doctor", "--source", "nope"]), 2);
}

#[test]
fn an_s3_repository_is_checked_for_object_lock_and_its_clock() {
    use iamsnap_testkit::moto::MotoServer;
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = s3_client(&moto.endpoint);
    runtime.block_on(async {
        client
            .create_bucket()
            .bucket("locked")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .unwrap();
        client.create_bucket().bucket("plain").send().await.unwrap();
    });
    let org = Org::start(20, 4, 1);
    let repository = |bucket: &str| {
        format!(
            "url = \"s3://{bucket}/nightly\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\npath_style = true\nobject_lock = {{ mode = \"governance\", days = 30 }}",
            moto.endpoint
        )
    };
    let ws = Workspace::with_repository(&org.url(), &repository("locked"));
    let aws = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("IAMSNAP_TEST_OKTA_TOKEN", OKTA_TOKEN)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&aws(&["init"]), 0);
    let out = aws(&["doctor", "--format", "json"]);
    assert_exit(&out, 0);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status_of(&report, "repository", "writable"), "ok");
    assert_eq!(status_of(&report, "repository", "object lock"), "ok");
    // moto's Date header is this machine's clock: within a minute.
    assert_eq!(status_of(&report, "repository", "clock"), "ok");
    assert!(!stdout(&out).contains("testing"), "{}", describe(&out));

    // The same configuration over a bucket made without Object Lock: `init` recorded no lock
    // there, but the configuration asks for one.
    runtime.block_on(async {
        client
            .put_object()
            .bucket("plain")
            .key("nightly/iamsnap-repo.json")
            .body(
                br#"{"format_version": 1, "created": "2026-01-01T00:00:00Z"}"#
                    .to_vec()
                    .into(),
            )
            .send()
            .await
            .unwrap();
    });
    ws.write_config(&org.url(), &repository("plain"), true);
    let out = aws(&["doctor", "--format", "json"]);
    assert_exit(&out, 3);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status_of(&report, "repository", "object lock"), "fail");
    assert_eq!(status_of(&report, "repository", "writable"), "ok");
}

#[cfg(unix)]
#[test]
fn secret_files_others_may_read_warn_and_missing_ones_fail() {
    use std::os::unix::fs::PermissionsExt;
    let org = Org::start(20, 4, 1);
    let ws = workspace(&org);
    std::fs::write(ws.path("okta.token"), OKTA_TOKEN).unwrap();
    std::fs::set_permissions(
        ws.path("okta.token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let config = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!(
            "{config}\n[sources.from-file]\nprovider = \"okta\"\norg_url = \"{}\"\ntoken_file = \"okta.token\"\n\n[sources.lost]\nprovider = \"okta\"\norg_url = \"{}\"\ntoken_file = \"lost.token\"\n",
            org.url(),
            org.url()
        ),
    )
    .unwrap();

    let out = ws.iamsnap(&["doctor", "--source", "from-file", "--format", "json"]);
    assert_exit(&out, 1);
    assert_no_secret(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = format!("secret file {}", ws.path("okta.token").display());
    assert_eq!(status_of(&report, "from-file", &name), "warn");
    let line = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name.as_str())
        .unwrap();
    let detail = line["detail"].as_str().unwrap();
    assert!(
        detail.contains("mode 0644") && detail.contains("sources.from-file.token_file"),
        "{detail}"
    );
    assert!(detail.contains("chmod 600"), "{detail}");
    // The token in the file works: only its mode is wrong.
    assert_eq!(status_of(&report, "from-file", "credentials"), "ok");

    std::fs::set_permissions(
        ws.path("okta.token"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_exit(&ws.iamsnap(&["doctor", "--source", "from-file"]), 0);

    let out = ws.iamsnap(&["doctor", "--source", "lost", "--format", "json"]);
    assert_exit(&out, 3);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name = format!("secret file {}", ws.path("lost.token").display());
    assert_eq!(status_of(&report, "lost", &name), "fail");
}
