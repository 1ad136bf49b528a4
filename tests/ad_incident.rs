//! End to end on a real Samba Active Directory domain controller, through the CLI: a seeded
//! domain (users, groups of every scope, units linked to group policies) is backed up; an
//! incident — users and a group deleted, a unit's gPLink changed, memberships removed — is
//! undone by `restore --apply`: the deleted users and group come back from `CN=Deleted
//! Objects` with their original objectGUID and objectSid, their attributes and memberships
//! are put back, and a second plan is empty. A backup restored into a domain that never held
//! its objects (as after their tombstone lifetime) re-creates them with new SIDs, accounts
//! disabled and due for a new password, each named under `cannot_restore`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_testkit::ldap::ad_seed::{self, DEFAULT_POLICY};
use iamsnap_testkit::ldap::{AD_ADMIN_DN, AD_BASE_DN, SambaDc, Seed};
use serde_json::{Value, json};
use support::*;

const PASSWORD: &str = "Ad-incident-Admin-Pw-4c1e";

/// The size: measured in a debug build it backs up and restores in seconds.
const SEED: Seed = Seed {
    users: 2000,
    groups: 200,
    ous: 10,
    seed: 5,
};

fn source(name: &str, dc: &SambaDc) -> String {
    format!(
        "[sources.{name}]\nprovider = \"ldap\"\nurl = \"{}\"\nbind_dn = \"{AD_ADMIN_DN}\"\nbind_password_env = \"IAMSNAP_TEST_AD_PASSWORD\"\nbase_dn = \"{AD_BASE_DN}\"\npage_size = 500\n",
        dc.url
    )
}

/// A workspace whose sources are `dc` (`corp`) and `others` (`other0`, …), and a runner of
/// `iamsnap` in it.
fn ad_workspace(
    dc: &SambaDc,
    others: &[&SambaDc],
) -> (Workspace, impl Fn(&[&str]) -> std::process::Output + use<>) {
    let ws = Workspace::new("http://127.0.0.1:9");
    let mut text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n{}",
        ws.recipient,
        ws.verify_key,
        source("corp", dc)
    );
    for (i, other) in others.iter().enumerate() {
        text.push_str(&source(&format!("other{i}"), other));
    }
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    let (config, identity, dir) = (
        ws.path("iamsnap.toml"),
        ws.path("identity.txt"),
        ws.dir.path().to_path_buf(),
    );
    let run = move |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(&dir)
            .env("IAMSNAP_CONFIG", &config)
            .env("IAMSNAP_IDENTITY", &identity)
            .env("IAMSNAP_TEST_AD_PASSWORD", PASSWORD)
            .env_remove("IAMSNAP_LOG")
            .args(args);
        cmd.output().unwrap()
    };
    (ws, run)
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// What the domain controller updates on its own, or what a reanimation leaves behind:
/// not part of an entry's state as an administrator sets it.
const BOOKKEEPING: &[&str] = &[
    "whenchanged",
    "usnchanged",
    "lastknownparent",
    "admincount",
    "operatorcount",
    "dscorepropagationdata",
    "pwdlastset",
];

/// Every entry under `base` — its attributes, objectGUID and objectSid included — by folded
/// DN, each entry's lines sorted.
fn entries(dc: &SambaDc, base: &str) -> BTreeMap<String, BTreeSet<String>> {
    let ldif = dc
        .search(base, "(objectClass=*)", &["*", "objectGUID", "objectSid"])
        .unwrap();
    ldif.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|entry| {
            let mut lines = entry.lines();
            let first = lines.next().unwrap();
            let dn = first.strip_prefix("dn: ").unwrap_or(first).to_lowercase();
            let kept = lines
                .filter(|l| {
                    let name = l.split(':').next().unwrap_or("").to_ascii_lowercase();
                    !BOOKKEEPING.contains(&name.as_str())
                })
                .map(str::to_string)
                .collect();
            (dn, kept)
        })
        .collect()
}

fn dn(relative: &str) -> String {
    format!("{relative},{AD_BASE_DN}")
}

/// The `attribute: value` lines of `name` in an entry.
fn values<'a>(entry: &'a BTreeSet<String>, name: &str) -> Vec<&'a str> {
    let prefix = format!("{name}:");
    entry
        .iter()
        .filter(|l| l.starts_with(&prefix))
        .map(String::as_str)
        .collect()
}

#[test]
fn an_active_directory_incident_is_undone_with_every_guid_and_sid_kept() {
    let started = std::time::Instant::now();
    let dc = SambaDc::start(PASSWORD, &SEED).unwrap();
    println!(
        "domain controller seeded and started: {:?}",
        started.elapsed()
    );
    let (_ws, run) = ad_workspace(&dc, &[]);
    assert_exit(&run(&["init"]), 0);
    let started = std::time::Instant::now();
    assert_exit(&run(&["backup", "--all"]), 0);
    println!(
        "backup of {} users, {} groups: {:?}",
        SEED.users,
        SEED.groups,
        started.elapsed()
    );
    let shown = json_of(&run(&["show", "corp@latest", "--json"]));
    let counts = &shown["manifest"]["counts"];
    // The seeded users and those of every new domain: Administrator, Guest, krbtgt and the
    // DNS service account.
    assert_eq!(counts["ldap.user"], json!(SEED.users + 4), "{shown:#}");
    assert!(
        counts["ldap.group"].as_u64().unwrap() > SEED.groups as u64,
        "the seeded groups and the built-in ones: {shown:#}"
    );
    assert_eq!(counts["ldap.domain"], json!(1), "{shown:#}");
    assert_eq!(counts["ldap.password_policy"], json!(1), "{shown:#}");
    // The seeded workstations and the domain controller.
    assert_eq!(
        counts["ldap.computer"],
        json!(ad_seed::computers(&SEED) + 1),
        "{shown:#}"
    );
    assert!(counts["ldap.membership"].as_u64().unwrap() > SEED.groups as u64);
    let before = entries(&dc, AD_BASE_DN);

    // The incident: users (one a group's manager, one in groups) and a group deleted, a
    // unit's policy links changed, memberships removed, an attribute changed.
    let deleted_users: Vec<String> = [3, 6, 9, 12, 15, 18]
        .iter()
        .map(|i| dn(&ad_seed::user_dn(&SEED, *i)))
        .collect();
    let deleted_group = dn(&ad_seed::group_dn(2));
    for d in deleted_users.iter().chain([&deleted_group]) {
        dc.delete_tree(d).unwrap();
    }
    let unit = dn(&ad_seed::ou_dn(3));
    let group1 = dn(&ad_seed::group_dn(1));
    let members_of_1: Vec<String> = values(&before[&group1.to_lowercase()], "member")
        .iter()
        .map(|l| l.trim_start_matches("member: ").to_string())
        .filter(|m| !deleted_users.iter().any(|d| d.eq_ignore_ascii_case(m)))
        .collect();
    assert!(!members_of_1.is_empty(), "group 1 has a member to lose");
    let changed = dn(&ad_seed::user_dn(&SEED, 21));
    dc.modify(&format!(
        "dn: {unit}\nchangetype: modify\nreplace: gPLink\ngPLink: {}\n\n\
         dn: {group1}\nchangetype: modify\ndelete: member\nmember: {}\n\n\
         dn: {changed}\nchangetype: modify\nreplace: title\ntitle: Intruder\n-\ndelete: mail\n",
        ad_seed::gp_link(&["{6AC1786C-016F-11D2-945F-00C04FB984F9}", DEFAULT_POLICY]),
        members_of_1[0],
    ))
    .unwrap();
    let tombstones = dc
        .search_deleted(AD_BASE_DN, "(isDeleted=TRUE)", &["objectGUID"])
        .unwrap();
    assert!(
        tombstones.contains("DEL:"),
        "the deleted objects wait in CN=Deleted Objects: {tombstones}"
    );
    assert_ne!(entries(&dc, AD_BASE_DN), before);

    let plan = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert!(
        !plan["cannot_restore"].to_string().contains("new SID"),
        "every deleted object is still in Deleted Objects: {plan:#}"
    );
    let started = std::time::Instant::now();
    let applied = run(&[
        "restore",
        "corp@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    println!("restore: {:?}", started.elapsed());
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let again = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = entries(&dc, AD_BASE_DN);
    for d in deleted_users.iter().chain([&deleted_group]) {
        let (was, is) = (&before[&d.to_lowercase()], &after[&d.to_lowercase()]);
        assert_eq!(values(is, "objectGUID"), values(was, "objectGUID"), "{d}");
        assert_eq!(values(is, "objectSid"), values(was, "objectSid"), "{d}");
    }
    let missing: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(missing.is_empty(), "entries not back: {missing:?}");
    for (dn, lines) in &before {
        assert_eq!(&after[dn], lines, "{dn} differs after the restore");
    }
    assert_eq!(after.len(), before.len(), "no entry left over");
}

#[test]
fn objects_no_domain_holds_come_back_with_new_sids_and_accounts_disabled() {
    let seed = Seed {
        users: 30,
        groups: 6,
        ous: 3,
        seed: 9,
    };
    let dc = SambaDc::start(PASSWORD, &seed).unwrap();
    let rebuilt = SambaDc::start(PASSWORD, &Seed::EMPTY).unwrap();
    let (_ws, run) = ad_workspace(&dc, &[&rebuilt]);
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);

    let user = ad_seed::user_dn(&seed, 1);
    let plan = json_of(&run(&[
        "restore",
        "corp@latest",
        "--target",
        "other0",
        "--format",
        "json",
    ]));
    let lost = plan["cannot_restore"].to_string().to_lowercase();
    assert!(
        lost.contains("new sid")
            && lost.contains("disabled")
            && lost.contains(&user.to_lowercase()),
        "{plan:#}"
    );
    let applied = run(&[
        "restore",
        "corp@latest",
        "--target",
        "other0",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0, "{}", describe(&applied));
    let again = json_of(&run(&[
        "restore",
        "corp@latest",
        "--target",
        "other0",
        "--format",
        "json",
    ]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let attrs = ["objectSid", "userAccountControl", "pwdLastSet", "mail"];
    let was = entries(&dc, &dn(&user));
    let is = rebuilt
        .search(&dn(&user), "(objectClass=*)", &attrs)
        .unwrap();
    let was = &was[&dn(&user).to_lowercase()];
    assert!(is.contains("userAccountControl: 514"), "disabled: {is}");
    assert!(is.contains("pwdLastSet: 0"), "{is}");
    assert!(values(was, "mail").iter().all(|m| is.contains(m)), "{is}");
    let sid = values(was, "objectSid")[0];
    assert!(!is.contains(sid), "a new SID: {is}");
}

/// A bind account that may not read `CN=Deleted Objects` (here a plain domain user) cannot
/// find a deleted object to reanimate: the backup warns, and the restore plan names each
/// deleted object as re-created with a new SID for that reason, with the right to grant.
#[test]
fn a_bind_account_that_cannot_read_deleted_objects_is_warned() {
    let seed = Seed {
        users: 12,
        groups: 3,
        ous: 2,
        seed: 4,
    };
    const READER_PASSWORD: &str = "Plain-Reader-Pw-81d2";
    let dc = SambaDc::start(PASSWORD, &seed).unwrap();
    let reader = dc.add_user("plain-reader", READER_PASSWORD).unwrap();
    let ws = Workspace::new("http://127.0.0.1:9");
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n{}\n[sources.plain]\nprovider = \"ldap\"\nurl = \"{}\"\nbind_dn = \"{reader}\"\nbind_password_env = \"IAMSNAP_TEST_READER_PASSWORD\"\nbase_dn = \"{AD_BASE_DN}\"\n",
        ws.recipient,
        ws.verify_key,
        source("corp", &dc),
        dc.url
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
        cmd.current_dir(ws.dir.path())
            .env("IAMSNAP_CONFIG", ws.path("iamsnap.toml"))
            .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
            .env("IAMSNAP_TEST_AD_PASSWORD", PASSWORD)
            .env("IAMSNAP_TEST_READER_PASSWORD", READER_PASSWORD)
            .env_remove("IAMSNAP_LOG")
            .args(args);
        cmd.output().unwrap()
    };
    assert_exit(&run(&["init"]), 0);
    let backup = run(&["backup", "--source", "plain"]);
    assert_exit(&backup, 0);
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(
        stderr.contains("cannot read CN=Deleted Objects")
            && stderr.contains("new SIDs")
            && stderr.contains("Reanimate Tombstones"),
        "{}",
        describe(&backup)
    );
    let quiet = run(&["backup", "--source", "corp"]);
    assert_exit(&quiet, 0);
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("Deleted Objects"),
        "the administrator reads it: {}",
        describe(&quiet)
    );

    let user = ad_seed::user_dn(&seed, 5);
    dc.delete_tree(&dn(&user)).unwrap();
    let lost_for = |plan: &Value| -> Vec<String> {
        plan["cannot_restore"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k.as_str().unwrap().eq_ignore_ascii_case(&user))
            })
            .map(|c| c["reason"].as_str().unwrap().to_string())
            .collect()
    };
    let planned = run(&["restore", "plain@latest", "--format", "json"]);
    assert_exit(&planned, 1);
    let lost = lost_for(&json_of(&planned));
    assert!(
        lost.iter()
            .any(|r| r.contains("cannot read CN=Deleted Objects")
                && r.contains("new one")
                && r.contains("Reanimate Tombstones")),
        "{lost:#?}"
    );
    assert!(
        String::from_utf8_lossy(&planned.stderr).contains("cannot read CN=Deleted Objects"),
        "{}",
        describe(&planned)
    );
    // The administrator's plan reanimates the same user: nothing is lost.
    let admin = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert!(
        lost_for(&admin).iter().all(|r| !r.starts_with("objectSid")),
        "{admin:#}"
    );
}
