//! End to end on an emulated Entra ID tenant: backup through the CLI, an incident made through
//! Microsoft Graph (a user soft-deleted, a security group deleted for good, a conditional access
//! policy switched off), then `restore --apply`: the user comes back from the recycle bin with
//! its id, the group is re-created, the policy comes back report-only unless
//! `--restore-policy-state` is given, and a second restore plans nothing.

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
