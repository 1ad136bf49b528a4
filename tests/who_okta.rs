//! Who made each change, on Okta: the quickstart's incident (`scripts/okta-incident.py`) run
//! against the emulated org, then `diff okta-demo@latest live --who` names the actor of every
//! deletion from the System Log; without the flag the report is as before, and `incidents`
//! groups the destructive events under that actor.

mod support;

use serde_json::Value;
use support::okta_api::Api;
use support::*;

#[test]
fn diff_who_names_the_actor_of_every_deletion_of_the_quickstart_incident() {
    let org = Org::start(200, 40, 8);
    let ws = Workspace::new(&org.url());
    ws.add_okta_source("okta-demo", &org.url(), "");
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--source", "okta-demo"]), 0);
    let admin = Api::new(&ws, &org.url()).self_login();
    let did = okta_incident(&org.url());
    assert!(did.contains("deleted group"), "{did}");

    let diff = ws.iamsnap(&[
        "diff",
        "okta-demo@latest",
        "live",
        "--who",
        "--format",
        "json",
    ]);
    assert_exit(&diff, 1);
    let report: Value = serde_json::from_slice(&diff.stdout).unwrap();
    let audit = &report["summary"]["audit"];
    assert_eq!(audit["source"], "okta-demo", "{audit}");
    assert!(audit["note"].is_null(), "{audit}");
    assert!(audit["events"].as_u64().unwrap() > 10, "{audit}");
    let changes = report["changes"].as_array().unwrap();
    let removed: Vec<&Value> = changes
        .iter()
        .filter(|c| c["status"] == "removed")
        .collect();
    assert!(removed.len() > 10, "{report:#}");
    for change in &removed {
        let events = change["events"].as_array().unwrap_or_else(|| {
            panic!(
                "no events for the removed {} {}",
                change["kind"], change["key"]
            )
        });
        assert!(
            events.iter().any(|e| e["actor"]["name"] == admin.as_str()
                && e["actor"]["type"] == "user"
                && e["client_ip"] == "127.0.0.1"),
            "{change:#}"
        );
    }
    let users: Vec<&&Value> = removed
        .iter()
        .filter(|c| c["kind"] == "okta.user")
        .collect();
    assert_eq!(users.len(), 3, "{removed:#?}");
    for user in users {
        let ops: Vec<&str> = user["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["operation"].as_str().unwrap())
            .collect();
        assert!(
            ops.contains(&"user.lifecycle.deactivate")
                && ops.contains(&"user.lifecycle.delete.initiated"),
            "{ops:?}"
        );
    }
    let policy = changes
        .iter()
        .find(|c| c["kind"] == "okta.policy" && c["status"] == "changed")
        .expect("the password policy changed");
    assert_eq!(policy["events"][0]["operation"], "policy.lifecycle.update");

    // Text names the actor under each change; without --who nothing of the log is read.
    let text = ws.iamsnap(&["diff", "okta-demo@latest", "live", "--who", "--full"]);
    assert_exit(&text, 1);
    let text = stdout(&text);
    assert!(
        text.contains("who: ") && text.contains(&format!("by {admin} (")),
        "{text}"
    );
    assert!(
        text.contains("user.lifecycle.delete.initiated from 127.0.0.1"),
        "{text}"
    );
    let logs_before = org.okta.requests("/api/v1/logs");
    let plain = ws.iamsnap(&["diff", "okta-demo@latest", "live", "--format", "json"]);
    assert_exit(&plain, 1);
    assert_eq!(org.okta.requests("/api/v1/logs"), logs_before);
    assert!(!stdout(&plain).contains("\"events\""));
    let markdown = ws.iamsnap(&[
        "diff",
        "okta-demo@latest",
        "live",
        "--who",
        "--format",
        "markdown",
    ]);
    assert!(
        stdout(&markdown).contains(&format!("by `{admin}`")),
        "{}",
        stdout(&markdown)
    );

    // The destructive events, by actor, with the command that undoes them.
    let incidents = ws.iamsnap(&[
        "incidents",
        "okta-demo",
        "--since",
        "1h",
        "--format",
        "json",
    ]);
    assert_exit(&incidents, 1);
    let found: Value = serde_json::from_slice(&incidents.stdout).unwrap();
    let actors = found["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 1, "{found:#}");
    assert_eq!(actors[0]["actor"]["name"], admin.as_str());
    let command = actors[0]["restore"].as_str().unwrap();
    assert!(
        command.starts_with("iamsnap restore okta-demo/") && command.contains("--only okta.user:"),
        "{command}"
    );
    assert!(!stdout(&diff).contains(OKTA_TOKEN) && !stderr(&diff).contains(OKTA_TOKEN));
}

#[test]
fn a_token_that_may_not_read_the_log_gets_a_note_and_the_diff_still_prints() {
    let org = Org::start(20, 4, 2);
    let ws = Workspace::new(&org.url());
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    org.okta.with_org(|o| o.deny_logs());
    let diff = ws.iamsnap(&["diff", "okta-test@latest", "live", "--who"]);
    assert_exit(&diff, 0);
    let text = stdout(&diff);
    assert!(
        text.contains("no differences") && text.contains("grant `okta.logs.read`"),
        "{}",
        describe(&diff)
    );
}
