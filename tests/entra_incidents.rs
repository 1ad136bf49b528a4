//! `incidents` on Entra: after the privileged-access incident of the restore test, the
//! directory audits list each destructive step under the application that made it, and the
//! printed `restore --only` command, run as printed, brings the objects back.

mod support;

use serde_json::Value;
use support::entra::*;
use support::*;

#[test]
fn incidents_list_each_destructive_event_by_actor_with_a_restore_that_works() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    let guest = Guest::with_dependents(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    guest.delete_for_good(&tenant);
    let role = DeletedRole::delete(&tenant);
    let built_in = RemovedEligibilities::remove(&tenant);
    let strength = DeletedStrength::delete(&tenant);
    let links = DeletedAppLinks::delete(&tenant);
    let authorization = ChangedAuthorization::change(&tenant);

    let listed = ws.iamsnap(&[
        "incidents",
        "entra-test",
        "--since",
        "1h",
        "--format",
        "json",
    ]);
    assert_exit(&listed, 1);
    let report = json_of(&listed);
    let actors = report["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 1, "{report:#}");
    let actor = &actors[0];
    assert_eq!(actor["actor"]["id"], CLIENT_ID);
    assert_eq!(actor["actor"]["type"], "app");
    let events = actor["events"].as_array().unwrap();
    let operations: Vec<&str> = events
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    for expected in [
        "Delete user",
        "Hard delete user",
        "Delete role definition",
        "Remove eligible member from role in PIM completed (permanent)",
        "Delete authentication strength policy",
        "Update conditional access policy",
        "Remove owner from application",
        "Delete federated identity credential",
        "Update authorization policy",
    ] {
        assert!(
            operations.contains(&expected),
            "{expected} in {operations:#?}"
        );
    }
    assert!(
        !operations.iter().any(|o| o.starts_with("Add ")),
        "only destructive events: {operations:?}"
    );
    let only = |e: &Value| -> Vec<String> {
        e["only"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let deleted_role = events
        .iter()
        .find(|e| e["operation"] == "Delete role definition")
        .unwrap();
    let role_name = role.definition["displayName"].as_str().unwrap();
    assert_eq!(
        only(deleted_role),
        [format!("entra.role_definition:{role_name}")]
    );
    let guest_deleted = events
        .iter()
        .find(|e| e["operation"] == "Delete user")
        .unwrap();
    assert_eq!(guest_deleted["targets"][0]["id"], guest.id.as_str());

    // Text names the actor and prints the command.
    let text = ws.iamsnap(&["incidents", "entra-test", "--since", "1h"]);
    assert_exit(&text, 1);
    let text = stdout(&text);
    let command = actor["restore"].as_str().unwrap();
    assert!(
        text.contains(&format!("(app {CLIENT_ID})")) && text.contains(command),
        "{text}"
    );

    // The printed command, run as printed (confirmed with --yes), brings the objects back.
    let args = shell_words(command);
    assert_eq!(args[0], "iamsnap");
    let mut run: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    run.extend(["--yes", "--format", "json"]);
    let applied = ws.iamsnap(&run);
    assert_exit(&applied, 0);
    let outcome = json_of(&applied);
    assert_eq!(outcome["failed"], 0, "{outcome:#}");
    role.assert_back(&tenant);
    built_in.assert_back(&tenant);
    strength.assert_back(&tenant);
    links.assert_back(&tenant);
    authorization.assert_back(&tenant);
}

#[test]
fn without_the_audit_permission_incidents_says_which_to_grant_and_diff_still_prints() {
    let tenant = Tenant::start_without("AuditLog.Read.All");
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let listed = ws.iamsnap(&["incidents", "entra-test", "--since", "2h"]);
    assert_exit(&listed, 3);
    assert!(
        stderr(&listed).contains("`AuditLog.Read.All`"),
        "{}",
        describe(&listed)
    );
    let diff = ws.iamsnap(&["diff", "entra-test@latest", "live", "--who"]);
    assert_exit(&diff, 0);
    let text = stdout(&diff);
    assert!(
        text.contains("no differences") && text.contains("grant `AuditLog.Read.All`"),
        "{}",
        describe(&diff)
    );
}
