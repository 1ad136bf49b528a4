//! End to end on an emulated Entra ID tenant: backup through the CLI, an incident made through
//! Microsoft Graph (a user soft-deleted, a security group deleted for good, a conditional access
//! policy switched off), then `restore --apply`: the user comes back from the recycle bin with
//! its id, the group is re-created, the policy comes back report-only unless
//! `--restore-policy-state` is given, and a second restore plans nothing. A guest deleted for
//! good is left out with what needs it, or invited again with `--invite-guests`; custom roles,
//! PIM eligibilities and authentication strengths deleted come back, named again by the
//! policies that used them.

mod support;

use iamsnap_testkit::entra::{EntraEmulator, RunningEntra};
use serde_json::{Value, json};
use support::*;

const CLIENT_ID: &str = "0b7c1d2e-2222-4000-8000-0000000c11e1";
const SECRET: &str = "entra-secret-DO-NOT-LEAK-7373";

struct Tenant {
    entra: RunningEntra,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Tenant {
    fn start() -> Tenant {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let entra = runtime
            .block_on(
                EntraEmulator::builder()
                    .tenant("contoso-cli")
                    .client(CLIENT_ID, SECRET)
                    .users(300)
                    .groups(40)
                    .apps(6)
                    .policies(5)
                    .seed(11)
                    .start(),
            )
            .expect("the Entra emulator starts");
        Tenant {
            entra,
            runtime,
            http: reqwest::Client::new(),
        }
    }

    /// One Graph call with a fresh client-credentials token.
    fn graph(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let base = self.entra.base_url().to_string();
        let tenant = self.entra.tenant_id().to_string();
        self.runtime.block_on(async {
            let token: Value = self
                .http
                .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("client_secret", SECRET),
                    ("scope", "https://graph.microsoft.com/.default"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut request = self
                .http
                .request(method, format!("{base}/v1.0{path}"))
                .bearer_auth(token["access_token"].as_str().unwrap());
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    fn list(&self, path: &str) -> Vec<Value> {
        let (status, body) = self.graph(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "{path}: {body}");
        body["value"].as_array().unwrap().clone()
    }
}

fn workspace(tenant: &Tenant) -> Workspace {
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(ws.path("entra.secret"), SECRET).unwrap();
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.entra-test]\nprovider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"entra.secret\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n",
        ws.recipient,
        ws.verify_key,
        tenant.entra.tenant_id(),
        url = tenant.entra.base_url()
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    ws
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

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

/// The guest of the tenant that the incident deletes for good, made a member of a static
/// security group and the manager of another user before the backup.
struct Guest {
    id: String,
    upn: String,
    group_id: String,
    group_name: String,
    report_id: String,
}

fn a_guest_with_dependents(tenant: &Tenant) -> Guest {
    let users = tenant.list("/users?$top=999&$select=id,userPrincipalName,userType");
    let guest = users
        .iter()
        .find(|u| u["userType"] == "Guest")
        .expect("the seed has guest users");
    let report = users
        .iter()
        .find(|u| u["userType"] == "Member")
        .expect("a member user");
    let group = tenant
        .list("/groups?$top=999&$select=id,displayName,securityEnabled,groupTypes,membershipRule")
        .into_iter()
        .find(|g| {
            g["securityEnabled"] == true
                && g["groupTypes"].as_array().is_some_and(|t| t.is_empty())
                && g["membershipRule"].is_null()
        })
        .expect("a static security group");
    let guest = Guest {
        id: guest["id"].as_str().unwrap().into(),
        upn: guest["userPrincipalName"].as_str().unwrap().into(),
        group_id: group["id"].as_str().unwrap().into(),
        group_name: group["displayName"].as_str().unwrap().into(),
        report_id: report["id"].as_str().unwrap().into(),
    };
    let reference = |id: &str| json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")});
    let (status, body) = tenant.graph(
        reqwest::Method::POST,
        &format!("/groups/{}/members/$ref", guest.group_id),
        Some(reference(&guest.id)),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = tenant.graph(
        reqwest::Method::PUT,
        &format!("/users/{}/manager/$ref", guest.report_id),
        Some(reference(&guest.id)),
    );
    assert_eq!(status, 204, "{body}");
    guest
}

/// The keys listed under `cannot_restore` for `kind` with a reason starting with `reason`.
fn cannot(report: &Value, kind: &str, reason: &str) -> Vec<String> {
    report["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind && c["reason"].as_str().unwrap().starts_with(reason))
        .flat_map(|c| c["keys"].as_array().unwrap().clone())
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_guest_deleted_for_good_is_left_out_with_what_needs_it_or_invited_again() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    let guest = a_guest_with_dependents(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);

    // The incident: the guest deleted, then purged from the recycle bin; another guest only
    // deleted, still in the recycle bin.
    let other = tenant
        .list("/users?$top=999&$select=id,userType")
        .into_iter()
        .find(|u| u["userType"] == "Guest" && u["id"] != guest.id.as_str())
        .expect("a second guest");
    let other = other["id"].as_str().unwrap();
    let (status, _) = tenant.graph(reqwest::Method::DELETE, &format!("/users/{other}"), None);
    assert_eq!(status, 204);
    let (status, _) = tenant.graph(
        reqwest::Method::DELETE,
        &format!("/users/{}", guest.id),
        None,
    );
    assert_eq!(status, 204);
    let (status, _) = tenant.graph(
        reqwest::Method::DELETE,
        &format!("/directory/deletedItems/{}", guest.id),
        None,
    );
    assert_eq!(status, 204);

    // Without --invite-guests: nothing fails, the guest and what needs it cannot be restored.
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
    assert_eq!(
        cannot(&report, "entra.user", "a guest user deleted for good"),
        [guest.upn.as_str()],
        "{report:#}"
    );
    let depends = "depends on an object that cannot be re-created";
    let members = cannot(&report, "entra.group_member", depends);
    assert!(
        members.contains(&format!("{}|user:{}", guest.group_name, guest.upn))
            && members
                .iter()
                .all(|k| k.ends_with(&format!("|user:{}", guest.upn))),
        "{report:#}"
    );
    let managers = cannot(&report, "entra.user_manager", depends);
    assert!(
        managers
            .iter()
            .any(|k| k.ends_with(&format!("|user:{}", guest.upn))),
        "{report:#}"
    );
    let (status, back) = tenant.graph(reqwest::Method::GET, &format!("/users/{other}"), None);
    assert_eq!(
        status, 200,
        "a guest in the recycle bin comes back from it: {back}"
    );
    let again = ws.iamsnap(&["restore", "entra-test@latest", "--format", "json"]);
    assert_exit(&again, 0);
    assert_eq!(
        json_of(&again)["operations"],
        json!([]),
        "{}",
        stdout(&again)
    );
    let (status, _) = tenant.graph(
        reqwest::Method::GET,
        &format!("/users/{}", guest.upn.replace('#', "%23")),
        None,
    );
    assert_eq!(status, 404, "no guest is created uninvited");

    // With --invite-guests: the guest is invited again, without mail, and what needs it follows.
    let invited = ws.iamsnap(&[
        "restore",
        "entra-test@latest",
        "--invite-guests",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&invited, 0);
    let report = json_of(&invited);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert_eq!(
        cannot(
            &report,
            "entra.user",
            "guest users deleted for good are invited again"
        ),
        [guest.upn.as_str()],
        "{report:#}"
    );
    let (status, back) = tenant.graph(
        reqwest::Method::GET,
        &format!(
            "/users/{}?$select=id,userType,externalUserState",
            guest.upn.replace('#', "%23")
        ),
        None,
    );
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["userType"], "Guest");
    assert_eq!(back["externalUserState"], "PendingAcceptance");
    let new_id = back["id"].as_str().unwrap();
    assert_ne!(new_id, guest.id, "an invited guest has a new id");
    let members = tenant.list(&format!("/groups/{}/members?$select=id", guest.group_id));
    assert!(members.iter().any(|m| m["id"] == new_id), "membership back");
    let (status, manager) = tenant.graph(
        reqwest::Method::GET,
        &format!("/users/{}/manager", guest.report_id),
        None,
    );
    assert_eq!(
        (status, manager["id"].as_str()),
        (200, Some(new_id)),
        "{manager}"
    );
    for flags in [&["--invite-guests"][..], &[]] {
        let mut args = vec!["restore", "entra-test@latest", "--format", "json"];
        args.extend_from_slice(flags);
        let again = ws.iamsnap(&args);
        assert_exit(&again, 0);
        let plan = json_of(&again);
        assert_eq!(plan["operations"], json!([]), "{plan:#}");
        assert_eq!(plan["skipped"], json!([]), "{plan:#}");
    }
}

#[test]
fn custom_roles_eligibilities_strengths_and_authorization_settings_come_back() {
    use reqwest::Method;
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let pim = "/roleManagement/directory";
    let eligible = |role: &str| -> Vec<Value> {
        tenant
            .list(&format!("{pim}/roleEligibilitySchedules"))
            .into_iter()
            .filter(|e| e["roleDefinitionId"] == role)
            .collect()
    };
    let remove_all = |role: &str| {
        for e in eligible(role) {
            let body = json!({"action": "adminRemove", "principalId": e["principalId"],
                              "roleDefinitionId": role, "directoryScopeId": e["directoryScopeId"]});
            let (status, answer) = tenant.graph(
                Method::POST,
                &format!("{pim}/roleEligibilityScheduleRequests"),
                Some(body),
            );
            assert_eq!(status, 201, "{answer}");
        }
    };
    let policies = tenant.list("/identity/conditionalAccess/policies");

    // A custom role a policy names, deleted with its eligibilities.
    let definitions = tenant.list(&format!("{pim}/roleDefinitions"));
    let named = |id: &str| {
        policies
            .iter()
            .find(|p| {
                p["conditions"]["users"]["includeRoles"]
                    .to_string()
                    .contains(id)
            })
            .cloned()
    };
    let custom = definitions
        .iter()
        .find(|d| d["isBuiltIn"] == false && named(d["id"].as_str().unwrap()).is_some())
        .expect("a custom role a policy names")
        .clone();
    let custom_id = custom["id"].as_str().unwrap();
    let before = eligible(custom_id).len();
    assert!(before > 0);
    remove_all(custom_id);
    let covering = named(custom_id).unwrap();
    let roles: Vec<Value> = covering["conditions"]["users"]["includeRoles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| *r != custom_id)
        .cloned()
        .collect();
    let path = format!(
        "/identity/conditionalAccess/policies/{}",
        covering["id"].as_str().unwrap()
    );
    let mut users = covering["conditions"]["users"].clone();
    users["includeRoles"] = json!(roles);
    let (status, body) = tenant.graph(
        Method::PATCH,
        &path,
        Some(json!({"conditions": {"users": users}})),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = tenant.graph(
        Method::DELETE,
        &format!("{pim}/roleDefinitions/{custom_id}"),
        None,
    );
    assert_eq!(status, 204, "{body}");

    // Every eligibility of a built-in role removed.
    let built_in = tenant
        .list(&format!("{pim}/roleEligibilitySchedules"))
        .into_iter()
        .map(|e| e["roleDefinitionId"].as_str().unwrap().to_string())
        .find(|r| {
            definitions
                .iter()
                .any(|d| d["id"] == r.as_str() && d["isBuiltIn"] == true)
        })
        .expect("a built-in role with eligibilities");
    let built_in_before = eligible(&built_in).len();
    remove_all(&built_in);

    // A strength a policy requires: the policy falls back to MFA, the strength is deleted.
    let demanding = policies
        .iter()
        .find(|p| p["grantControls"]["authenticationStrength"]["id"].is_string())
        .expect("a policy requiring a strength")
        .clone();
    let strength_id = demanding["grantControls"]["authenticationStrength"]["id"]
        .as_str()
        .unwrap();
    let (_, strength) = tenant.graph(
        Method::GET,
        &format!("/policies/authenticationStrengthPolicies/{strength_id}"),
        None,
    );
    let demanding_path = format!(
        "/identity/conditionalAccess/policies/{}",
        demanding["id"].as_str().unwrap()
    );
    let (status, body) = tenant.graph(
        Method::PATCH,
        &demanding_path,
        Some(json!({"grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) = tenant.graph(
        Method::DELETE,
        &format!("/policies/authenticationStrengthPolicies/{strength_id}"),
        None,
    );
    assert_eq!(status, 204, "{body}");

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

    let definitions = tenant.list(&format!("{pim}/roleDefinitions"));
    let recreated = definitions
        .iter()
        .find(|d| d["displayName"] == custom["displayName"])
        .expect("the custom role is back");
    let recreated_id = recreated["id"].as_str().unwrap();
    assert_ne!(recreated_id, custom_id);
    let actions = |d: &Value| {
        let mut a: Vec<String> = d["rolePermissions"][0]["allowedResourceActions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        a.sort();
        a
    };
    assert_eq!(actions(recreated), actions(&custom));
    assert_eq!(
        eligible(recreated_id).len(),
        before,
        "its eligibilities are back"
    );
    assert_eq!(
        eligible(&built_in).len(),
        built_in_before,
        "the built-in role's too"
    );
    let (_, now) = tenant.graph(Method::GET, &path, None);
    assert!(
        now["conditions"]["users"]["includeRoles"]
            .to_string()
            .contains(recreated_id),
        "{now}"
    );
    let strengths = tenant.list("/policies/authenticationStrengthPolicies");
    let back = strengths
        .iter()
        .find(|s| s["displayName"] == strength["displayName"])
        .expect("the strength is back");
    assert_eq!(back["allowedCombinations"], strength["allowedCombinations"]);
    let (_, now) = tenant.graph(Method::GET, &demanding_path, None);
    assert_eq!(
        now["grantControls"]["authenticationStrength"]["id"], back["id"],
        "{now}"
    );

    let again = ws.iamsnap(&["restore", "entra-test@latest", "--format", "json"]);
    assert_exit(&again, 0);
    assert_eq!(
        json_of(&again)["operations"],
        json!([]),
        "{}",
        stdout(&again)
    );
}

#[test]
fn an_application_owner_and_a_federated_credential_come_back() {
    use reqwest::Method;
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let apps = tenant.list("/applications");
    let fics = |id: &str| tenant.list(&format!("/applications/{id}/federatedIdentityCredentials"));
    let (app, fic) = apps
        .iter()
        .find_map(|a| {
            let id = a["id"].as_str().unwrap().to_string();
            fics(&id).first().cloned().map(|f| (id, f))
        })
        .expect("an application with a federated credential");
    let owners = tenant.list(&format!("/applications/{app}/owners"));
    let owner = owners[0]["id"]
        .as_str()
        .expect("the application has an owner");
    let fic_id = fic["id"].as_str().unwrap();
    for path in [
        format!("/applications/{app}/owners/{owner}/$ref"),
        format!("/applications/{app}/federatedIdentityCredentials/{fic_id}"),
    ] {
        let (status, body) = tenant.graph(Method::DELETE, &path, None);
        assert_eq!(status, 204, "{path}: {body}");
    }

    let applied = ws.iamsnap(&[
        "restore",
        "entra-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    assert_eq!(json_of(&applied)["failed"], 0, "{}", stdout(&applied));
    let owners = tenant.list(&format!("/applications/{app}/owners"));
    assert!(owners.iter().any(|o| o["id"] == owner), "the owner is back");
    let back = fics(&app)
        .into_iter()
        .find(|f| f["name"] == fic["name"])
        .expect("the federated credential is back");
    for field in ["issuer", "subject", "audiences", "description"] {
        assert_eq!(back[field], fic[field], "{field}");
    }

    let again = ws.iamsnap(&["restore", "entra-test@latest", "--format", "json"]);
    assert_exit(&again, 0);
    assert_eq!(
        json_of(&again)["operations"],
        json!([]),
        "{}",
        stdout(&again)
    );
}
