//! End to end on an emulated Entra ID tenant: backup through the CLI, an incident made through
//! Microsoft Graph (a user soft-deleted, a security group deleted for good, a conditional access
//! policy switched off), then `restore --apply`: the user comes back from the recycle bin with
//! its id, the group is re-created, the policy comes back report-only unless
//! `--restore-policy-state` is given, and a second restore plans nothing. A guest deleted for
//! good is left out with what needs it, or invited again with `--invite-guests`; custom roles,
//! PIM eligibilities and authentication strengths deleted come back, named again by the
//! policies that used them.

mod support;

use serde_json::json;
use support::entra::*;
use support::*;

#[test]
fn entra_incident_restores_with_original_ids_and_report_only_policies() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);

    // The incident, through Graph.
    let user = tenant.list("/users?$top=5&$select=id,userPrincipalName")[2].clone();
    let user_id = user["id"].as_str().unwrap().to_string();
    let (status, _) = tenant.graph(reqwest::Method::DELETE, &format!("/users/{user_id}"), None);
    assert_eq!(status, 204);
    let group = tenant
        .list("/groups?$top=999&$select=id,displayName,securityEnabled,groupTypes,membershipRule")
        .into_iter()
        .find(|g| {
            g["securityEnabled"] == true
                && g["groupTypes"].as_array().is_some_and(|t| t.is_empty())
                && g["membershipRule"].is_null()
        })
        .expect("a static security group");
    let group_id = group["id"].as_str().unwrap().to_string();
    let (status, _) = tenant.graph(
        reqwest::Method::DELETE,
        &format!("/groups/{group_id}"),
        None,
    );
    assert_eq!(status, 204);
    let policy = tenant
        .list("/identity/conditionalAccess/policies")
        .into_iter()
        .find(|p| p["state"] == "enabled")
        .expect("an enabled conditional access policy");
    let policy_id = policy["id"].as_str().unwrap().to_string();
    let (status, body) = tenant.graph(
        reqwest::Method::PATCH,
        &format!("/identity/conditionalAccess/policies/{policy_id}"),
        Some(json!({"state": "disabled"})),
    );
    assert_eq!(status, 204, "{body}");
    assert_exit(&ws.iamsnap(&["diff", "entra-test@latest", "live"]), 1);

    // Restore with defaults: everything back, the policy report-only.
    let applied = ws.iamsnap(&[
        "restore",
        "entra-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    let (status, back) = tenant.graph(reqwest::Method::GET, &format!("/users/{user_id}"), None);
    assert_eq!(status, 200, "the user is back with its original id: {back}");
    let groups = tenant.list("/groups?$top=999&$select=id,displayName");
    let restored = groups
        .iter()
        .find(|g| g["displayName"] == group["displayName"])
        .expect("the group is re-created");
    assert_ne!(
        restored["id"], group["id"],
        "a security group comes back with a new id"
    );
    let (_, now) = tenant.graph(
        reqwest::Method::GET,
        &format!("/identity/conditionalAccess/policies/{policy_id}"),
        None,
    );
    assert_eq!(now["state"], "enabledForReportingButNotEnforced", "{now}");
    let again = json_of(&ws.iamsnap(&["restore", "entra-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // With --restore-policy-state the policy is enforced again, as it was.
    let enforced = ws.iamsnap(&[
        "restore",
        "entra-test@latest",
        "--restore-policy-state",
        "--apply",
        "--yes",
    ]);
    assert_exit(&enforced, 0);
    let (_, now) = tenant.graph(
        reqwest::Method::GET,
        &format!("/identity/conditionalAccess/policies/{policy_id}"),
        None,
    );
    assert_eq!(now["state"], "enabled", "{now}");

    // Flags meant for other connectors are refused, not ignored.
    assert_exit(
        &ws.iamsnap(&["restore", "entra-test@latest", "--activate-users"]),
        2,
    );
    for output in [&backup, &applied, &enforced] {
        assert!(!stdout(output).contains(SECRET) && !stderr(output).contains(SECRET));
    }
}

#[test]
fn a_guest_deleted_for_good_is_left_out_with_what_needs_it_or_invited_again() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    let guest = Guest::with_dependents(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    // The incident: the guest deleted for good; another guest only deleted, still in the
    // recycle bin.
    let other = tenant
        .list("/users?$top=999&$select=id,userType")
        .into_iter()
        .find(|u| u["userType"] == "Guest" && u["id"] != guest.id.as_str())
        .expect("a second guest");
    let other = other["id"].as_str().unwrap();
    tenant.expect(
        204,
        reqwest::Method::DELETE,
        &format!("/users/{other}"),
        None,
    );
    guest.delete_for_good(&tenant);

    // Without --invite-guests: nothing fails, the guest and what needs it cannot be restored.
    let report = restore_applied(&ws, &[]);
    guest.assert_left_out(&tenant, &report);
    let (status, back) = tenant.graph(reqwest::Method::GET, &format!("/users/{other}"), None);
    assert_eq!(
        status, 200,
        "a guest in the recycle bin comes back from it: {back}"
    );
    nothing_planned(&ws, &[]);

    // With --invite-guests: the guest is invited again, without mail, and what needs it follows.
    let report = restore_applied(&ws, &["--invite-guests"]);
    guest.assert_invited(&tenant, &report);
    assert_nothing_planned(&ws, &["--invite-guests"]);
    assert_nothing_planned(&ws, &[]);
}

#[test]
fn custom_roles_eligibilities_strengths_and_authorization_settings_come_back() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let role = DeletedRole::delete(&tenant);
    let built_in = RemovedEligibilities::remove(&tenant);
    let strength = DeletedStrength::delete(&tenant);
    let authorization = ChangedAuthorization::change(&tenant);

    restore_applied(&ws, &[]);
    role.assert_back(&tenant);
    built_in.assert_back(&tenant);
    strength.assert_back(&tenant);
    authorization.assert_back(&tenant);
    assert_nothing_planned(&ws, &[]);
}

#[test]
fn an_application_owner_and_a_federated_credential_come_back() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let links = DeletedAppLinks::delete(&tenant);

    restore_applied(&ws, &[]);
    links.assert_back(&tenant);
    assert_nothing_planned(&ws, &[]);
}

#[test]
fn a_deleted_terms_of_use_is_reported_until_created_again_then_required_again() {
    use reqwest::Method;
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let agreements = "/identityGovernance/termsOfUse/agreements";
    let requiring = tenant
        .list("/identity/conditionalAccess/policies")
        .into_iter()
        .find(|p| {
            p["grantControls"]["termsOfUse"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        })
        .expect("a policy requiring terms of use");
    let policy_path = format!(
        "/identity/conditionalAccess/policies/{}",
        requiring["id"].as_str().unwrap()
    );
    let terms_id = requiring["grantControls"]["termsOfUse"][0]
        .as_str()
        .unwrap();
    let terms = tenant.expect(200, Method::GET, &format!("{agreements}/{terms_id}"), None);
    let other = tenant
        .list(agreements)
        .into_iter()
        .find(|a| a["id"] != terms_id)
        .expect("a second agreement");
    let mut grant = requiring["grantControls"].clone();
    grant["termsOfUse"] = json!([]);
    tenant.expect(
        204,
        Method::PATCH,
        &policy_path,
        Some(json!({"grantControls": grant})),
    );
    tenant.expect(
        204,
        Method::DELETE,
        &format!("{agreements}/{terms_id}"),
        None,
    );
    let other_path = format!("{agreements}/{}", other["id"].as_str().unwrap());
    tenant.expect(
        204,
        Method::PATCH,
        &other_path,
        Some(json!({"isPerDeviceAcceptanceRequired": true})),
    );

    // The agreement cannot come back without its PDF: reported with the next step, with the
    // policy that requires it; the other agreement's settings come back.
    let report = restore_applied(&ws, &[]);
    let name = terms["displayName"].as_str().unwrap();
    assert_eq!(
        cannot(
            &report,
            "entra.terms_of_use",
            "a terms of use agreement deleted"
        ),
        [name],
        "{report:#}"
    );
    assert!(
        !cannot(&report, "entra.conditional_access_policy", DEPENDS).is_empty(),
        "{report:#}"
    );
    let now = tenant.expect(200, Method::GET, &other_path, None);
    assert_eq!(
        now["isPerDeviceAcceptanceRequired"],
        other["isPerDeviceAcceptanceRequired"]
    );
    nothing_planned(&ws, &[]);

    // Created again by hand with its PDF: the next restore has the policy require it again.
    let created = tenant.expect(
        201,
        Method::POST,
        agreements,
        Some(
            json!({"displayName": name, "isViewingBeforeAcceptanceRequired": true,
                    "file": {"localizations": [{"fileName": "terms.pdf", "language": "en",
                        "isDefault": true, "fileData": {"data": "JVBERi0xLjQK"}}]}}),
        ),
    );
    restore_applied(&ws, &[]);
    let now = tenant.expect(200, Method::GET, &policy_path, None);
    assert_eq!(
        now["grantControls"]["termsOfUse"],
        json!([created["id"]]),
        "{now}"
    );
    let back = tenant.expect(
        200,
        Method::GET,
        &format!("{agreements}/{}", created["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        back["userReacceptRequiredFrequency"],
        terms["userReacceptRequiredFrequency"]
    );
    assert_nothing_planned(&ws, &[]);
}
