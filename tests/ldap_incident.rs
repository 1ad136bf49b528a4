//! End to end on a real OpenLDAP slapd, through the CLI: a seeded directory (5,000 users, 300
//! groups with nested groups, 20 OUs, some one inside another) is backed up; an incident — an OU with
//! its users deleted, memberships removed, attributes changed, a user renamed and moved — is
//! undone by `restore --apply`: every entry and attribute is back, the re-created and the
//! renamed users with their own `entryUUID`, and a second plan is empty.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use iamsnap_testkit::ldap::{BASE_DN, ROOT_DN, Seed, Slapd};
use serde_json::{Value, json};
use support::*;

const PASSWORD: &str = "ldap-incident-root-password-7a31";

const SEED: Seed = Seed {
    users: 5_000,
    groups: 300,
    ous: 20,
    seed: 11,
};

/// A workspace whose only source is `slapd`, and a runner of `iamsnap` in it.
fn ldap_workspace(
    slapd: &Slapd,
    extra: &str,
) -> (Workspace, impl Fn(&[&str]) -> std::process::Output) {
    let ws = Workspace::new("http://127.0.0.1:9");
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.corp]\nprovider = \"ldap\"\nurl = \"{}\"\nbind_dn = \"{ROOT_DN}\"\nbind_password_env = \"IAMSNAP_TEST_LDAP_PASSWORD\"\nbase_dn = \"{BASE_DN}\"\npage_size = 200\n{extra}\n",
        ws.recipient, ws.verify_key, slapd.url
    );
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
            .env("IAMSNAP_TEST_LDAP_PASSWORD", PASSWORD)
            .env_remove("IAMSNAP_LOG")
            .args(args);
        cmd.output().unwrap()
    };
    (ws, run)
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// Every entry of the directory — its user attributes and its `entryUUID` — by folded DN,
/// each entry's lines sorted (value order is no part of an entry's state).
fn directory(slapd: &Slapd) -> BTreeMap<String, BTreeSet<String>> {
    let ldif = slapd
        .search(BASE_DN, "(objectClass=*)", &["*", "entryUUID"])
        .unwrap();
    ldif.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|entry| {
            let mut lines = entry.lines();
            let first = lines.next().unwrap();
            let dn = first.strip_prefix("dn: ").unwrap_or(first).to_lowercase();
            (dn, lines.map(str::to_string).collect())
        })
        .collect()
}

fn dn(relative: &str) -> String {
    format!("{relative},{BASE_DN}")
}

#[test]
fn an_openldap_incident_is_undone_with_every_entry_uuid_kept() {
    let slapd = Slapd::start(PASSWORD, &SEED).unwrap();
    let (_ws, run) = ldap_workspace(&slapd, "read_password_hashes = true");
    assert_exit(&run(&["init"]), 0);
    let started = std::time::Instant::now();
    assert_exit(&run(&["backup", "--all"]), 0);
    let took = started.elapsed();
    let shown = json_of(&run(&["show", "corp@latest", "--json"]));
    let counts = &shown["manifest"]["counts"];
    assert_eq!(counts["ldap.user"], json!(SEED.users), "{shown:#}");
    assert_eq!(counts["ldap.group"], json!(SEED.groups), "{shown:#}");
    // The base, ou=people, ou=groups and the departments.
    assert_eq!(counts["ldap.container"], json!(3 + SEED.ous), "{shown:#}");
    assert_eq!(counts["ldap.entry"], json!(1), "{shown:#}");
    assert!(counts["ldap.membership"].as_u64().unwrap() > SEED.groups as u64);
    println!("backup of {} users: {took:?}", SEED.users);
    let before = directory(&slapd);

    // The incident.
    let department = SEED.ou_of(2);
    slapd.delete_tree(&dn(&department)).unwrap();
    let group0 = dn(&SEED.group_dn(0));
    let members_of_0: Vec<String> = before[&group0.to_lowercase()]
        .iter()
        .filter_map(|l| l.strip_prefix("member: ").map(str::to_string))
        .filter(|m| !m.contains(&department))
        .collect();
    assert!(
        members_of_0.len() >= 2,
        "group 0 keeps a member after the incident: {members_of_0:?}"
    );
    let posix = dn(&SEED.group_dn(3));
    let uid_of_3 = before[&posix.to_lowercase()]
        .iter()
        .find_map(|l| l.strip_prefix("memberUid: ").map(str::to_string))
        .unwrap();
    // Users outside the deleted department (user i lives in OU i % ous).
    let (changed, renamed) = (SEED.user_dn(1), SEED.user_dn(3));
    slapd
        .modify(&format!(
            "dn: {group0}\nchangetype: modify\ndelete: member\nmember: {}\n\n\
             dn: {posix}\nchangetype: modify\ndelete: memberUid\nmemberUid: {uid_of_3}\n\n\
             dn: {}\nchangetype: modify\nreplace: title\ntitle: Intruder\n-\nadd: description\ndescription: changed by the incident\n-\ndelete: mail\n\n\
             dn: {}\nchangetype: modify\nreplace: description\ndescription: Renamed by the incident\n\n\
             dn: {}\nchangetype: modrdn\nnewrdn: uid=renamed00003\ndeleteoldrdn: 1\nnewsuperior: ou=groups,{BASE_DN}\n",
            members_of_0[0],
            dn(&changed),
            dn(&SEED.group_dn(2)),
            dn(&renamed),
        ))
        .unwrap();
    assert_ne!(directory(&slapd), before);
    assert_exit(&run(&["diff", "corp@latest", "live"]), 1);

    let plan = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    let renames: Vec<&Value> = plan["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["key"] == json!(renamed))
        .collect();
    assert_eq!(renames.len(), 1, "{plan:#}");
    assert_eq!(
        renames[0]["action"], "update",
        "the renamed user is moved back, not re-created"
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
    println!("restore --apply: {:?}", started.elapsed());
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let again = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    let after = directory(&slapd);
    let missing: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(missing.is_empty(), "entries not back: {missing:?}");
    for (dn, lines) in &before {
        assert_eq!(&after[dn], lines, "{dn} differs after the restore");
    }
    assert_eq!(after.len(), before.len(), "no entry left over");
}

#[test]
fn without_password_hashes_a_recreated_user_is_named_for_a_new_password() {
    let seed = Seed {
        users: 12,
        groups: 4,
        ous: 2,
        seed: 3,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let (ws, run) = ldap_workspace(&slapd, "");
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let export = ws.path("export");
    assert_exit(
        &run(&[
            "export",
            "corp@latest",
            "--out",
            &export.display().to_string(),
        ]),
        0,
    );
    let users = std::fs::read_to_string(export.join("records/ldap.user.jsonl")).unwrap();
    assert!(!users.contains("SSHA"), "no hash is in the backup");

    let user = seed.user_dn(5);
    slapd.delete_tree(&dn(&user)).unwrap();
    let plan = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    let cannot = plan["cannot_restore"].to_string();
    assert!(
        cannot.contains("ldappasswd") && cannot.contains(&user),
        "{plan:#}"
    );
    let applied = run(&[
        "restore",
        "corp@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let again = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    let back = slapd.search(&dn(&user), "(objectClass=*)", &["*"]).unwrap();
    assert!(
        back.contains("uid: user00005") && !back.contains("userPassword"),
        "{back}"
    );
}

#[test]
fn diff_who_names_the_dn_that_last_changed_an_entry() {
    let slapd = Slapd::start(PASSWORD, &SEED).unwrap();
    let (_ws, run) = ldap_workspace(&slapd, "");
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let changed = SEED.user_dn(1);
    // slapd's timestamps count whole seconds: a change in the second the entry was added
    // cannot be told from the add itself.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    slapd
        .modify(&format!(
            "dn: {}\nchangetype: modify\nreplace: title\ntitle: Intruder\n",
            dn(&changed)
        ))
        .unwrap();
    let diff = run(&["diff", "corp@latest", "live", "--who", "--format", "json"]);
    assert_exit(&diff, 1);
    let report = json_of(&diff);
    assert!(report["summary"]["audit"]["note"].is_null(), "{report:#}");
    let change = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["kind"] == "ldap.user" && c["key"].as_str().unwrap().eq_ignore_ascii_case(&changed)
        })
        .unwrap_or_else(|| panic!("{report:#}"));
    let event = &change["events"][0];
    assert!(
        event["actor"]["name"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(ROOT_DN),
        "{change:#}"
    );
    assert_eq!(event["operation"], "modify", "{change:#}");
}

/// refint takes a deleted entry's DN out of the groups in a thread of its own, one whole-
/// directory search per deleted entry, long after the deletes answered. A restore started
/// while it is still at work waits for it: otherwise refint, reaching a user the restore has
/// re-created and put back in its groups, takes those memberships away again.
#[test]
fn memberships_put_back_while_refint_is_still_at_work_stay() {
    // Half the users in one unit: deleting it queues 2,500 searches of 5,000 entries.
    let seed = Seed {
        users: 5_000,
        groups: 300,
        ous: 2,
        seed: 13,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let (_ws, run) = ldap_workspace(&slapd, "read_password_hashes = true");
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let before = directory(&slapd);

    let department = seed.ou_of(1);
    slapd.delete_tree(&dn(&department)).unwrap();
    let groups = slapd
        .search(&dn("ou=groups"), "(objectClass=*)", &["member"])
        .unwrap();
    assert!(
        groups.contains(&format!(",{department},")),
        "refint is still at work when the restore starts"
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
    println!(
        "restore --apply while refint works: {:?}",
        started.elapsed()
    );
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0);

    // Whatever refint still had queued is done before the directory is compared.
    slapd
        .wait_for_refint(std::time::Duration::from_secs(300))
        .unwrap();
    let after = directory(&slapd);
    for (dn, lines) in &before {
        assert_eq!(after.get(dn), Some(lines), "{dn} differs after the restore");
    }
    assert_eq!(after.len(), before.len(), "no entry left over");
    let again = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}

/// A server that does not let a client set `entryUUID` (here slapd taken for a generic
/// LDAPv3 server) re-creates entries with new ids: the plan names each, with what to do, and
/// the restore still completes.
#[test]
fn entries_re_created_without_their_entry_uuid_are_named_in_the_plan() {
    let seed = Seed {
        users: 12,
        groups: 4,
        ous: 2,
        seed: 3,
    };
    let slapd = Slapd::start(PASSWORD, &seed).unwrap();
    let (_ws, run) = ldap_workspace(&slapd, "read_password_hashes = true\nflavor = \"generic\"");
    assert_exit(&run(&["init"]), 0);
    assert_exit(&run(&["backup", "--all"]), 0);
    let before = directory(&slapd);
    let (user, group) = (seed.user_dn(5), seed.group_dn(2));
    slapd.delete_tree(&dn(&user)).unwrap();
    slapd.delete_tree(&dn(&group)).unwrap();

    let plan = run(&["restore", "corp@latest", "--format", "json"]);
    assert_exit(&plan, 1);
    let plan = json_of(&plan);
    let lost: Vec<&Value> = plan["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["reason"].as_str().unwrap().starts_with("entryUUID:"))
        .collect();
    let named: BTreeSet<String> = lost
        .iter()
        .flat_map(|c| c["keys"].as_array().unwrap())
        .map(|k| k.as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(
        named,
        BTreeSet::from([user.clone(), group.clone()]),
        "{plan:#}"
    );
    assert!(
        lost[0]["reason"]
            .as_str()
            .unwrap()
            .contains("new entryUUID")
            && lost[0]["reason"].as_str().unwrap().contains("Relax Rules"),
        "{plan:#}"
    );

    let applied = run(&[
        "restore",
        "corp@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let again = json_of(&run(&["restore", "corp@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    let after = directory(&slapd);
    let uuid = |d: &BTreeSet<String>| {
        d.iter()
            .find(|l| l.starts_with("entryUUID: "))
            .cloned()
            .unwrap()
    };
    let key = dn(&user).to_lowercase();
    assert_ne!(uuid(&after[&key]), uuid(&before[&key]), "a new entryUUID");
    let without = |d: &BTreeSet<String>| -> BTreeSet<String> {
        d.iter()
            .filter(|l| !l.starts_with("entryUUID: "))
            .cloned()
            .collect()
    };
    assert_eq!(without(&after[&key]), without(&before[&key]));
}
