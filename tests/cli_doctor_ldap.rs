//! `iamsnap doctor --restore` on directories: a Samba Active Directory domain controller,
//! asked for the bind account's effective rights (create, write, delete, reanimate, read
//! `CN=Deleted Objects`) — the administrator passes, a plain domain user fails naming each
//! missing right; and OpenLDAP, which offers no Get Effective Rights control, so the restore
//! line says it cannot check without writing.

mod support;

use iamsnap_testkit::ldap::{AD_ADMIN_DN, AD_BASE_DN, BASE_DN, ROOT_DN, SambaDc, Seed, Slapd};
use serde_json::Value;
use support::*;

const PASSWORD: &str = "Doctor-Admin-Pw-7e2a";
const USER_PASSWORD: &str = "Doctor-User-Pw-19bc";
const SEED: Seed = Seed {
    users: 20,
    groups: 4,
    ous: 3,
    seed: 3,
};

/// A workspace with one LDAP source binding as `bind_dn` with the password in the
/// environment, and a runner of `iamsnap` in it.
fn workspace(
    url: &str,
    bind_dn: &str,
    base_dn: &str,
    password: &str,
) -> (Workspace, impl Fn(&[&str]) -> std::process::Output + use<>) {
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(
        ws.path("iamsnap.toml"),
        format!(
            "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.dir]\nprovider = \"ldap\"\nurl = \"{url}\"\nbind_dn = \"{bind_dn}\"\nbind_password_env = \"IAMSNAP_TEST_LDAP_PASSWORD\"\nbase_dn = \"{base_dn}\"\n",
            ws.recipient, ws.verify_key
        ),
    )
    .unwrap();
    let (config, identity, dir) = (
        ws.path("iamsnap.toml"),
        ws.path("identity.txt"),
        ws.dir.path().to_path_buf(),
    );
    let password = password.to_string();
    let run = move |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(&dir)
            .env("IAMSNAP_CONFIG", &config)
            .env("IAMSNAP_IDENTITY", &identity)
            .env("IAMSNAP_TEST_LDAP_PASSWORD", &password)
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&run(&["init"]), 0);
    (ws, run)
}

fn report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(out)))
}

/// `(status, detail)` of check `check` of source `dir`.
fn line(report: &Value, check: &str) -> (String, String) {
    let line = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["scope"] == "dir" && c["check"] == check)
        .unwrap_or_else(|| panic!("no check {check} in {report:#}"));
    (
        line["status"].as_str().unwrap().to_string(),
        line["detail"].as_str().unwrap().to_string(),
    )
}

const AD_CHECKS: &[&str] = &[
    "restore create",
    "restore modify",
    "restore delete",
    "restore reanimate",
    "restore deleted objects",
];

#[test]
fn active_directory_names_the_rights_a_plain_user_lacks() {
    let dc = SambaDc::start(PASSWORD, &SEED).unwrap();
    let (_ws, admin) = workspace(&dc.url, AD_ADMIN_DN, AD_BASE_DN, PASSWORD);
    let out = admin(&["doctor", "--restore", "--format", "json"]);
    assert_exit(&out, 0);
    let admin_report = report(&out);
    for check in AD_CHECKS {
        assert_eq!(
            line(&admin_report, check).0,
            "ok",
            "{check}: {admin_report:#}"
        );
    }
    assert!(!stdout(&out).contains(PASSWORD));

    // A plain domain user: reads pass, every write is missing.
    let user_dn = format!("CN=doctor,CN=Users,{AD_BASE_DN}");
    let created = std::process::Command::new("samba-tool")
        .args(["user", "create", "doctor", USER_PASSWORD, "-H"])
        // The running domain's database, as on a domain controller's own shell: a password is
        // set over an encrypted connection only, which the test server does not offer.
        .arg(dc.dir().join("private/sam.ldb"))
        .arg("-s")
        .arg(dc.dir().join("etc/smb.conf"))
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", describe(&created));
    let (_ws, user) = workspace(&dc.url, &user_dn, AD_BASE_DN, USER_PASSWORD);
    assert_exit(&user(&["doctor"]), 0);
    let out = user(&["doctor", "--restore", "--format", "json"]);
    assert_exit(&out, 3);
    let user_report = report(&out);
    let (status, detail) = line(&user_report, "restore create");
    assert_eq!(status, "fail");
    assert!(
        detail.contains(&format!("Create user objects on {AD_BASE_DN}")),
        "{detail}"
    );
    let (status, detail) = line(&user_report, "restore modify");
    assert_eq!(status, "fail");
    assert!(
        detail.contains("Write member on CN=") && detail.contains("Write description on CN="),
        "{detail}"
    );
    assert_eq!(line(&user_report, "restore delete").0, "fail");
    let (status, detail) = line(&user_report, "restore reanimate");
    assert_eq!(status, "fail");
    assert!(detail.contains("Reanimate Tombstones"), "{detail}");
    assert!(!stdout(&out).contains(USER_PASSWORD));
}

#[test]
fn openldap_says_it_cannot_check_without_writing() {
    let slapd = Slapd::start(PASSWORD, &SEED).unwrap();
    let (_ws, run) = workspace(&slapd.url, ROOT_DN, BASE_DN, PASSWORD);
    let out = run(&["doctor", "--restore", "--format", "json"]);
    assert_exit(&out, 0);
    let (status, detail) = line(&report(&out), "restore permissions");
    assert_eq!(status, "note");
    assert!(
        detail.starts_with("cannot check without writing: the server does not offer the Get Effective Rights control"),
        "{detail}"
    );
}
