//! Secrets: backup, snapshots, show, verify, export, diff and restore run with recognisable
//! token and key values, at every verbosity and in both log formats, on success and on error;
//! none of the values appears in stdout, stderr, the archive's plaintext, the metrics file or
//! the restore journals.

#[path = "support/reliability.rs"]
mod reliability;
mod support;

use std::process::Output;

use iamsnap_testkit::moto::MotoServer;
use reliability::*;
use support::okta_api::Api;
use support::*;

/// The secret lines of the workspace's key files: the age identity and the minisign key.
fn key_secrets(ws: &Workspace) -> Vec<String> {
    let identity = std::fs::read_to_string(ws.path("identity.txt")).unwrap();
    let age_key = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    let signing = std::fs::read_to_string(ws.path("signing.key")).unwrap();
    let minisign_key = signing
        .lines()
        .find(|l| !l.starts_with("untrusted comment"))
        .unwrap()
        .to_string();
    // Also a distinctive middle part of each, in case they are cut or re-wrapped.
    vec![
        age_key[20..50].to_string(),
        age_key.to_lowercase()[20..50].to_string(),
        minisign_key[10..50].to_string(),
        age_key,
        minisign_key,
    ]
}

#[test]
fn no_token_or_key_reaches_output_archives_metrics_or_journals() {
    let org = Org::start(60, 8, 2);
    let ws = Workspace::new(&org.url());
    let mut secrets: Vec<String> = key_secrets(&ws);
    secrets.push(OKTA_TOKEN.to_string());
    let wrong_token = "okta-token-WRONG-LEAK-7e1f";
    secrets.push(wrong_token.to_string());
    let secrets_ref: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut checked = 0u64;
    let mut check = |what: &str, output: &Output| {
        assert_clean(&format!("stdout of {what}"), &stdout(output), &secrets_ref);
        assert_clean(&format!("stderr of {what}"), &stderr(output), &secrets_ref);
        checked += 1;
    };

    assert_exit(&ws.iamsnap(&["init"]), 0);
    let log_modes: [&[&str]; 4] = [
        &[],
        &["-vvv"],
        &["--log-format", "json", "-vvv"],
        &["--log-format", "json"],
    ];
    for mode in log_modes {
        let with = |args: &[&str]| {
            let mut all: Vec<&str> = mode.to_vec();
            all.extend(args);
            ws.iamsnap(&all)
        };
        let out = with(&["backup", "--all", "--metrics-file", "metrics.prom"]);
        assert_exit(&out, 0);
        check("backup", &out);
        for args in [
            &["snapshots"][..],
            &["snapshots", "--json"],
            &["show", "okta-test@latest"],
            &["show", "okta-test@latest", "--json"],
            &["verify", "--all"],
            &["diff", "okta-test@latest", "live:okta-test"],
            &[
                "diff",
                "okta-test@latest",
                "live:okta-test",
                "--format",
                "json",
            ],
            &["restore", "okta-test@latest"],
        ] {
            let out = with(args);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{args:?}: {}",
                describe(&out)
            );
            check(&args.join(" "), &out);
        }
    }
    let metrics = std::fs::read_to_string(ws.path("metrics.prom")).unwrap();
    assert_clean("the metrics file", &metrics, &secrets_ref);

    // A restore that does something, so that the journals have content.
    let api = Api::new(&ws, &org.url());
    api.delete_groups(2);
    let out = ws.iamsnap(&["-vvv", "restore", "okta-test@latest", "--apply", "--yes"]);
    assert_exit(&out, 0);
    check("restore --apply", &out);
    let journals = walk(&ws.path("repo/journals"));
    assert!(!journals.is_empty());
    for path in &journals {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert_clean(&path.display().to_string(), &text, &secrets_ref);
    }

    // The archives' plaintext: manifest and records.
    for archive in ws.archives("okta-test").iter().take(2) {
        let stem = archive.file_stem().unwrap().to_string_lossy().into_owned();
        let snap = format!("okta-test/{stem}");
        let out = ws.iamsnap(&["export", &snap, "--out", &stem]);
        assert_exit(&out, 0);
        check("export", &out);
        for path in walk(&ws.path(&stem)) {
            let text = std::fs::read_to_string(&path).unwrap();
            assert_clean(&path.display().to_string(), &text, &secrets_ref);
        }
        let raw = std::fs::read(archive).unwrap();
        assert_clean("the archive", &String::from_utf8_lossy(&raw), &secrets_ref);
    }

    // Errors: a token the org refuses, in every log mode; the error names the variable and
    // the URL, never the value.
    for mode in log_modes {
        let mut args: Vec<&str> = mode.to_vec();
        args.extend(["backup", "--all"]);
        let out = iamsnap_env(&ws, &args, &[("IAMSNAP_TEST_OKTA_TOKEN", wrong_token)]);
        assert_exit(&out, 3);
        assert!(stderr(&out).contains("credentials"), "{}", describe(&out));
        check("backup with a refused token", &out);
        let mut args: Vec<&str> = mode.to_vec();
        args.extend(["diff", "okta-test@latest", "live:okta-test"]);
        let out = iamsnap_env(&ws, &args, &[("IAMSNAP_TEST_OKTA_TOKEN", wrong_token)]);
        assert_exit(&out, 3);
        check("diff with a refused token", &out);
    }
    // A token with a line break cannot be sent; the message must not quote it.
    let broken = format!("{OKTA_TOKEN}\nsecond-line");
    let out = iamsnap_env(
        &ws,
        &["-vvv", "backup", "--all"],
        &[("IAMSNAP_TEST_OKTA_TOKEN", &broken)],
    );
    assert!(!out.status.success());
    check("backup with an unsendable token", &out);
    figure("secret_checks", checked);
    figure("leaks_found", 0);
}

#[test]
fn no_aws_secret_reaches_output_with_an_s3_repository() {
    let aws_secret = "aws-secret-DO-NOT-LEAK-51f3";
    let moto = MotoServer::start();
    create_bucket(&moto.endpoint, "secrets", false);
    let org = Org::start(20, 3, 1);
    let ws =
        Workspace::with_repository(&org.url(), &s3_repository(&moto.endpoint, "secrets", None));
    let mut secrets = key_secrets(&ws);
    secrets.extend([OKTA_TOKEN.to_string(), aws_secret.to_string()]);
    let secrets_ref: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let env = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", aws_secret),
        ("AWS_REGION", "us-east-1"),
    ];
    let mut checked = 0;
    for args in [
        &["init"][..],
        &["-vvv", "backup", "--all"],
        &["--log-format", "json", "-vvv", "backup", "--all"],
        &["-vvv", "snapshots"],
        &["--log-format", "json", "-vvv", "verify", "--all"],
        &[
            "-vvv",
            "forget",
            "--keep-last",
            "1",
            "--min-age-hours",
            "0",
            "--dry-run",
        ],
    ] {
        let out = iamsnap_env(&ws, args, &env);
        assert_exit(&out, 0);
        assert_clean(&format!("stdout of {args:?}"), &stdout(&out), &secrets_ref);
        assert_clean(&format!("stderr of {args:?}"), &stderr(&out), &secrets_ref);
        checked += 1;
    }
    figure("secret_checks", checked);
    figure("leaks_found", 0);
}
