//! End to end on an emulated Google Cloud organization: backup through the CLI, an incident
//! made to the IAM policies (a project's policy replaced with one binding, a folder's
//! conditional binding removed, the organization's audit config dropped, five service accounts
//! deleted, a deny policy removed and another changed), then
//! `restore --apply`: every member of every binding back, conditions byte for byte, what was
//! the service accounts undeleted with their unique ids, the deny policies as backed up, what was
//! added live since kept by an additive restore and removed by an authoritative one, and a
//! second restore plans nothing. A write racing the restore (the etag moved between its read
//! and its write) is kept.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use iamsnap_testkit::gcp::{DenyPolicy, GcpEmulator, Policy, RunningGcp};
use serde_json::{Value, json};
use support::*;

struct Cloud {
    gcp: RunningGcp,
    _runtime: tokio::runtime::Runtime,
}

fn start(folders: usize, projects: usize, service_accounts: usize) -> Cloud {
    start_with(folders, projects, service_accounts, 30)
}

fn start_with(folders: usize, projects: usize, service_accounts: usize, roles: usize) -> Cloud {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let gcp = runtime
        .block_on(
            GcpEmulator::builder()
                .org("424242424242")
                .folders(folders)
                .projects(projects)
                .service_accounts(service_accounts)
                .custom_roles(roles)
                .deny_policies(6)
                .seed(17)
                .start(),
        )
        .expect("the Google Cloud emulator starts");
    Cloud {
        gcp,
        _runtime: runtime,
    }
}

fn workspace(cloud: &Cloud) -> Workspace {
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(ws.path("gcp-key.json"), cloud.gcp.key_file().to_string()).unwrap();
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.gcp-test]\nprovider = \"gcp-iam\"\norganization = \"424242424242\"\ncredentials_file = \"gcp-key.json\"\ntoken_url = \"{url}/token\"\nresourcemanager_url = \"{url}\"\niam_url = \"{url}\"\n",
        ws.recipient,
        ws.verify_key,
        url = cloud.gcp.base_url()
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    ws
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// A policy's facts: (role, condition, member) triples and audit configs.
type Facts = (BTreeSet<String>, BTreeSet<String>);

fn facts(policy: &Policy) -> Facts {
    let mut members = BTreeSet::new();
    for b in &policy.bindings {
        for m in b["members"].as_array().unwrap() {
            members.insert(format!(
                "{} {} {}",
                b["role"],
                b.get("condition").unwrap_or(&Value::Null),
                m
            ));
        }
    }
    let audits = policy.audit_configs.iter().map(Value::to_string).collect();
    (members, audits)
}

fn all_facts(gcp: &RunningGcp) -> Vec<(String, Facts)> {
    gcp.resources()
        .iter()
        .map(|r| (r.name.clone(), facts(&r.policy)))
        .collect()
}

/// Every deny policy's attachment point, id, display name, annotations and rules.
fn deny_facts(gcp: &RunningGcp) -> BTreeSet<String> {
    gcp.deny_policies()
        .iter()
        .map(|p| {
            format!(
                "{} {} {:?} {} {}",
                p.resource,
                p.id,
                p.display_name,
                p.annotations,
                Value::Array(p.rules.clone())
            )
        })
        .collect()
}

fn restore(ws: &Workspace, extra: &[&str]) -> Value {
    let mut args = vec![
        "restore",
        "gcp-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let applied = ws.iamsnap(&args);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    report
}

#[test]
fn gcp_policy_incident_is_restored_member_by_member() {
    let cloud = start(3, 20, 200);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    let before = all_facts(gcp);
    let denies_before = deny_facts(gcp);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);
    assert!(
        gcp.count("token") >= 1,
        "the connector signed in with the JWT bearer grant"
    );

    let resources = gcp.resources();
    let project = resources
        .iter()
        .find(|r| r.project_id.is_some())
        .unwrap()
        .name
        .clone();
    let folder = resources
        .iter()
        .find(|r| r.name.starts_with("folders/"))
        .unwrap()
        .name
        .clone();
    let org = gcp.org_name();
    let conditional = gcp
        .policy(&folder)
        .unwrap()
        .bindings
        .iter()
        .find(|b| b.get("condition").is_some())
        .cloned()
        .unwrap();
    let intruder = json!({"role": "roles/owner", "members": ["user:intruder@example.net"]});
    gcp.edit_policy(&project, |p| p.bindings = vec![intruder.clone()]);
    gcp.edit_policy(&folder, |p| {
        p.bindings.retain(|b| b.get("condition").is_none())
    });
    gcp.edit_policy(&org, |p| p.audit_configs.clear());
    let doomed: Vec<_> = gcp
        .accounts()
        .into_iter()
        .skip(1)
        .step_by(37)
        .take(5)
        .collect();
    for a in &doomed {
        gcp.delete_account(&a.email);
    }
    let deleted = format!(
        "deleted:serviceAccount:{}?uid={}",
        doomed[0].email, doomed[0].unique_id
    );
    assert!(
        gcp.resources().iter().any(|r| r
            .policy
            .bindings
            .iter()
            .any(|b| b["members"].as_array().unwrap().contains(&json!(deleted)))),
        "a deleted account's members are marked deleted"
    );
    let roles_before = gcp.roles();
    let role = roles_before[3].clone();
    gcp.delete_role(&role.name, Duration::from_secs(2 * 24 * 3600));
    let denies = gcp.deny_policies();
    let conditional_deny = denies
        .iter()
        .find(|p| p.rules[0]["denyRule"].get("denialCondition").is_some())
        .unwrap()
        .clone();
    gcp.delete_deny_policy(&conditional_deny.resource, &conditional_deny.id);
    let tampered = denies.iter().find(|p| p.id != conditional_deny.id).unwrap();
    gcp.edit_deny_policy(&tampered.resource, &tampered.id, |p| {
        p.display_name = "weakened".into();
        p.rules[0]["denyRule"]["exceptionPrincipals"] =
            json!(["principal://goog/subject/mallory@example.net"]);
    });
    let mut added = tampered.clone();
    added.id = "live-only".into();
    gcp.insert_deny_policy(added);
    assert_exit(&ws.iamsnap(&["diff", "gcp-test@latest", "live"]), 1);
    // Another writer changes the tampered deny policy between the restore's read and write.
    gcp.race_next_deny_writes(1);

    // Additive: every member back, the intruder kept.
    restore(&ws, &[]);
    let now = gcp.policy(&project).unwrap();
    let intruder_fact = "\"roles/owner\" null \"user:intruder@example.net\"".to_string();
    assert!(
        facts(&now).0.contains(&intruder_fact),
        "additive keeps what was added since"
    );
    let restored = gcp.policy(&folder).unwrap();
    assert!(
        restored.bindings.contains(&conditional),
        "the condition is back byte for byte: {:?}",
        restored.bindings
    );
    assert!(
        restored
            .bindings
            .iter()
            .any(|b| b.get("condition").is_some())
            && restored.version == 3
    );
    let back: Vec<DenyPolicy> = gcp.deny_policies();
    let recreated = back
        .iter()
        .find(|p| p.resource == conditional_deny.resource && p.id == conditional_deny.id)
        .expect("the removed deny policy is created again under its id");
    assert_eq!(
        recreated.rules, conditional_deny.rules,
        "its rules and denial condition are back byte for byte"
    );
    assert!(
        back.iter().any(|p| p.id == "live-only"),
        "additive keeps a deny policy attached since"
    );
    assert!(
        gcp.count("GET operations") >= 2,
        "the restore waited for IAM's operations to be done"
    );
    assert_eq!(
        gcp.count("denypolicies:conflict"),
        1,
        "the write with a stale etag was refused, then made again on what was read anew"
    );

    // Authoritative: the intruder and the deny policy attached since go, counted against
    // --max-deletes.
    let refused = ws.iamsnap(&[
        "restore",
        "gcp-test@latest",
        "--apply",
        "--yes",
        "--mode",
        "authoritative",
    ]);
    assert_ne!(
        refused.status.code(),
        Some(0),
        "a delete needs --max-deletes: {}",
        describe(&refused)
    );
    restore(&ws, &["--mode", "authoritative", "--max-deletes", "2"]);
    for a in &doomed {
        let back = gcp
            .accounts()
            .into_iter()
            .find(|x| x.email == a.email && x.deleted_at.is_none());
        assert_eq!(
            back.map(|x| x.unique_id),
            Some(a.unique_id.clone()),
            "undeleted with its unique id"
        );
    }
    assert_eq!(
        all_facts(gcp),
        before,
        "every binding, member, condition and audit config is back"
    );
    assert_eq!(
        deny_facts(gcp),
        denies_before,
        "every deny policy is as backed up, the one attached since deleted"
    );
    let back = gcp.roles();
    assert_eq!(back.len(), roles_before.len());
    let undeleted = back.iter().find(|r| r.name == role.name).unwrap();
    assert!(
        undeleted.deleted_at.is_none() && undeleted.permissions == role.permissions,
        "the custom role deleted two days ago is undeleted: {undeleted:?}"
    );
    let again = json_of(&ws.iamsnap(&[
        "restore",
        "gcp-test@latest",
        "--mode",
        "authoritative",
        "--format",
        "json",
    ]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    let key = cloud.gcp.key_file();
    let private = key["private_key"]
        .as_str()
        .unwrap()
        .lines()
        .nth(3)
        .unwrap()
        .to_string();
    // Whether the backup's output carries any line of the private key.
    assert!(!stdout(&backup).contains(&private) && !stderr(&backup).contains(&private));
}

#[test]
fn gcp_a_write_racing_the_restore_is_kept() {
    let cloud = start(2, 4, 10);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let project = gcp
        .resources()
        .into_iter()
        .find(|r| r.project_id.is_some())
        .unwrap()
        .name;
    gcp.edit_policy(&project, |p| {
        p.bindings.retain(|b| b["role"] != "roles/viewer")
    });
    // Planned against the policy as it is now; another writer adds a member just before the
    // restore's first write, so that write carries a stale etag.
    gcp.race_next_write(&project, |p| {
        p.bindings
            .push(json!({"role": "roles/logging.viewer", "members": ["user:late@example.com"]}))
    });
    restore(&ws, &[]);
    assert!(
        gcp.count("setIamPolicy:refused") >= 1,
        "the stale write was refused with 409"
    );
    let now = gcp.policy(&project).unwrap();
    assert!(
        now.bindings
            .iter()
            .any(|b| b["role"] == "roles/logging.viewer"),
        "the racing change is kept: {:?}",
        now.bindings
    );
    assert!(
        now.bindings.iter().any(|b| b["role"] == "roles/viewer"),
        "the restore went through: {:?}",
        now.bindings
    );
    let again = json_of(&ws.iamsnap(&["restore", "gcp-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}

#[test]
fn gcp_service_accounts_own_policies_come_back_and_lost_keys_are_reported() {
    let cloud = start(1, 4, 24);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let before = gcp.accounts();
    let own = |email: &str| {
        let account = gcp
            .accounts()
            .into_iter()
            .find(|a| a.email == email && a.deleted_at.is_none())
            .unwrap_or_else(|| panic!("{email} is live"));
        (facts(&account.policy).0, account.keys)
    };
    // An account with a key and a policy naming who may act as it; the next account's policy
    // lets this one mint its tokens.
    let doomed = before
        .iter()
        .position(|a| !a.keys.is_empty() && !a.keys[0].disabled && !a.policy.bindings.is_empty())
        .unwrap();
    let (doomed, next) = (before[doomed].clone(), before[doomed + 1].clone());
    let minter = format!("\"serviceAccount:{}\"", doomed.email);
    assert!(facts(&next.policy).0.iter().any(|f| f.ends_with(&minter)));
    let keyed = before
        .iter()
        .find(|a| a.email != doomed.email && a.keys.iter().any(|k| !k.disabled))
        .unwrap()
        .clone();
    let stripped = before
        .iter()
        .find(|a| {
            ![&doomed.email, &keyed.email].contains(&&a.email) && !a.policy.bindings.is_empty()
        })
        .unwrap()
        .clone();

    gcp.edit_account(&keyed.email, |a| {
        a.keys.iter_mut().for_each(|k| k.disabled = true)
    });
    gcp.edit_account(&stripped.email, |a| a.policy.bindings.clear());
    gcp.delete_account(&doomed.email);
    let marked = format!(
        "deleted:serviceAccount:{}?uid={}",
        doomed.email, doomed.unique_id
    );
    assert!(
        own(&next.email)
            .0
            .iter()
            .any(|f| f.ends_with(&format!("\"{marked}\""))),
        "the deleted account is marked deleted in the other account's policy"
    );

    let report = restore(&ws, &[]);
    let lost = report["cannot_restore"].to_string();
    assert!(
        lost.contains("gcp.service_account_key")
            && lost.contains(&doomed.keys[0].id)
            && lost.contains("keys create KEY.json"),
        "the deleted account's key is reported with the next step: {report:#}"
    );
    let back = gcp
        .accounts()
        .into_iter()
        .find(|a| a.email == doomed.email && a.deleted_at.is_none())
        .unwrap();
    assert_eq!(
        back.unique_id, doomed.unique_id,
        "undeleted with its unique id"
    );
    assert_eq!(
        own(&doomed.email).0,
        facts(&doomed.policy).0,
        "its own policy is back"
    );
    assert_eq!(
        own(&next.email).0,
        facts(&next.policy).0,
        "the member is plain again"
    );
    assert_eq!(own(&stripped.email).0, facts(&stripped.policy).0);
    assert!(
        own(&keyed.email).1.iter().all(|k| !k.disabled),
        "the key disabled since the backup is enabled again"
    );
    let again = json_of(&ws.iamsnap(&["restore", "gcp-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}

/// `iamsnap ARGS` with this workspace's configuration, without a credentials file, and with
/// Google's credential variables as `env` sets them (and none from the machine running the test).
fn iamsnap_adc(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let config = ws.path("iamsnap.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("credentials_file = \"gcp-key.json\"\n", ""),
    )
    .unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("iamsnap").unwrap();
    cmd.current_dir(ws.path("."))
        .env("IAMSNAP_CONFIG", &config)
        .env("IAMSNAP_IDENTITY", ws.path("identity.txt"))
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .env_remove("GCE_METADATA_HOST")
        .env("CLOUDSDK_CONFIG", ws.path("gcloud"))
        .envs(env.iter().copied())
        .args(args);
    cmd.output().unwrap()
}

#[test]
fn gcp_application_default_credentials_user_file_gcloud_file_then_metadata_server() {
    let cloud = start(1, 2, 2);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let user = gcp.user_credentials();
    std::fs::write(ws.path("adc.json"), user.to_string()).unwrap();
    let adc = ws.path("adc.json");
    let unreachable = "127.0.0.1:9";

    // GOOGLE_APPLICATION_CREDENTIALS naming a user's credentials: the refresh token grant.
    let backup = iamsnap_adc(
        &ws,
        &["backup", "--all"],
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", adc.to_str().unwrap()),
            ("GCE_METADATA_HOST", unreachable),
            ("IAMSNAP_LOG", "debug"),
        ],
    );
    assert_exit(&backup, 0);
    assert!(gcp.count("token:refresh_token") >= 1);
    let printed = format!("{}{}", stdout(&backup), stderr(&backup));
    for secret in ["refresh_token", "client_secret"] {
        let value = user[secret].as_str().unwrap();
        assert!(!printed.contains(value), "{secret} shows: {printed}");
    }
    assert!(
        !printed.contains("ya29."),
        "an access token shows: {printed}"
    );

    // gcloud's application default credentials file, found where CLOUDSDK_CONFIG points.
    std::fs::create_dir_all(ws.path("gcloud")).unwrap();
    let gcloud = ws.path("gcloud/application_default_credentials.json");
    std::fs::copy(&adc, &gcloud).unwrap();
    let refreshed = gcp.count("token:refresh_token");
    let backup = iamsnap_adc(
        &ws,
        &["backup", "--all"],
        &[("GCE_METADATA_HOST", unreachable)],
    );
    assert_exit(&backup, 0);
    assert!(gcp.count("token:refresh_token") > refreshed);
    std::fs::remove_file(&gcloud).unwrap();

    // No file at all: the metadata server, at GCE_METADATA_HOST.
    let backup = iamsnap_adc(
        &ws,
        &["backup", "--all"],
        &[("GCE_METADATA_HOST", gcp.metadata_host())],
    );
    assert_exit(&backup, 0);
    assert!(gcp.count("metadata") >= 1);

    // Off Google Cloud, with no file: the error says what to set.
    let refused = iamsnap_adc(
        &ws,
        &["backup", "--all"],
        &[("GCE_METADATA_HOST", unreachable)],
    );
    assert_exit(&refused, 3);
    assert!(
        stderr(&refused).contains("metadata server")
            && stderr(&refused).contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{}",
        describe(&refused)
    );
}

#[test]
fn gcp_a_custom_role_deleted_for_good_is_reported_then_created_again_under_a_new_id() {
    let cloud = start_with(1, 3, 3, 6);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let role = gcp
        .roles()
        .into_iter()
        .find(|r| r.name.starts_with("projects/"))
        .unwrap();
    let granted = |name: &str| {
        gcp.resources()
            .iter()
            .flat_map(|r| r.policy.bindings.clone())
            .filter(|b| b["role"] == name)
            .flat_map(|b| b["members"].as_array().cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let members = granted(&role.name);
    assert!(!members.is_empty());
    // Deleted ten days ago: gone for good with its bindings, its id held by IAM.
    gcp.delete_role(&role.name, Duration::from_secs(10 * 24 * 3600));
    assert!(granted(&role.name).is_empty());

    let report = restore(&ws, &[]);
    let text = report.to_string();
    assert!(
        text.contains("--rename-deleted-roles"),
        "the report says what to do: {report:#}"
    );
    assert!(gcp.roles().iter().all(|r| r.name != role.name));
    // Run again identically: the role and its members are skipped again, never counted done
    // (nor then found missing by verification).
    let again = restore(&ws, &[]);
    assert_eq!(again["done"], 0, "{again:#}");
    assert_eq!(again["skipped"], report["skipped"], "{again:#}");
    assert_eq!(again["residual"], json!([]), "{again:#}");

    restore(&ws, &["--rename-deleted-roles"]);
    let renamed = format!("{}_restored", role.name);
    let created = gcp
        .roles()
        .into_iter()
        .find(|r| r.name == renamed)
        .unwrap_or_else(|| panic!("{renamed} is created"));
    let sorted = |p: &[String]| p.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(sorted(&created.permissions), sorted(&role.permissions));
    assert_eq!(created.title, role.title);
    assert_eq!(
        granted(&renamed),
        members,
        "its members are granted the new role"
    );
    for mode in ["additive", "authoritative"] {
        let again = json_of(&ws.iamsnap(&[
            "restore",
            "gcp-test@latest",
            "--mode",
            mode,
            "--format",
            "json",
        ]));
        assert_eq!(again["operations"], json!([]), "{mode}: {again:#}");
    }
}

#[test]
fn gcp_a_deny_policy_operation_that_fails_is_reported_and_a_new_restore_finishes_it() {
    let cloud = start_with(1, 2, 2, 0);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let before = deny_facts(gcp);
    let first = gcp.deny_policies()[0].clone();
    gcp.delete_deny_policy(&first.resource, &first.id);
    gcp.fail_next_deny_operation("Internal error encountered.");
    let failed = ws.iamsnap(&["restore", "gcp-test@latest", "--apply", "--yes"]);
    assert_ne!(failed.status.code(), Some(0), "{}", describe(&failed));
    let said = format!("{}{}", stdout(&failed), stderr(&failed));
    assert!(
        said.contains("(ABORTED): Internal error encountered.") && said.contains(&first.id),
        "the error names the policy and IAM's reason: {said}"
    );
    restore(&ws, &[]);
    assert_eq!(deny_facts(gcp), before);
    let again = json_of(&ws.iamsnap(&["restore", "gcp-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
}

#[test]
fn gcp_deny_policy_annotations_changed_live_stay_live_and_leave_the_next_plan_empty() {
    let cloud = start_with(1, 2, 2, 0);
    let gcp = &cloud.gcp;
    let ws = workspace(&cloud);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let policy = gcp.deny_policies()[0].clone();
    gcp.edit_deny_policy(&policy.resource, &policy.id, |p| {
        p.display_name = "weakened".into();
        p.annotations = json!({"owner": "someone-else"});
    });
    restore(&ws, &[]);
    let now = gcp
        .deny_policies()
        .into_iter()
        .find(|p| p.resource == policy.resource && p.id == policy.id)
        .unwrap();
    assert_eq!(
        now.display_name, policy.display_name,
        "the rules' side is back"
    );
    assert_eq!(
        now.annotations,
        json!({"owner": "someone-else"}),
        "IAM keeps the live annotations"
    );
    let again = json_of(&ws.iamsnap(&["restore", "gcp-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");
    // The difference stays visible to whoever compares the snapshot with the live tenant.
    let diff = ws.iamsnap(&["diff", "gcp-test@latest", "live"]);
    assert_exit(&diff, 1);
    assert!(stdout(&diff).contains("annotations"), "{}", describe(&diff));
}
