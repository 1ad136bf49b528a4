//! Entra ID and Azure RBAC restored together, end to end: an Azure emulator shares the
//! principals of an Entra emulator of the same tenant (`--entra-url`), and the azure-rbac
//! source names them through the Entra source (`entra_source`). A security group holding Owner
//! on a subscription is deleted for good in Entra ID. Until the Entra source is restored, the
//! azure-rbac plan leaves the assignment out with that next step; `restore` of the Entra source
//! re-creates the group under a new id, then `restore` of the azure-rbac source gives Owner to
//! the new id, and both second plans are empty.

mod support;

use iamsnap_testkit::azure::{AzureEmulator, OWNER, RunningAzure};
use reqwest::Method;
use serde_json::{Value, json};
use support::entra::{CLIENT_ID, SECRET, Tenant, json_of, workspace};
use support::*;

/// The Azure side of the tenant, on a runtime of its own.
struct Azure {
    azure: RunningAzure,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Azure {
    fn start(entra: &Tenant) -> Azure {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let azure = runtime
            .block_on(
                AzureEmulator::builder()
                    .tenant(entra.entra.tenant_id())
                    .client(CLIENT_ID, SECRET)
                    .subscriptions(2)
                    .resource_groups(6)
                    .assignments(60)
                    .custom_roles(2)
                    .locks(0)
                    .seed(3)
                    .entra(entra.entra.base_url())
                    .start(),
            )
            .expect("the Azure emulator starts, linked to the Entra one");
        Azure {
            azure,
            runtime,
            http: reqwest::Client::new(),
        }
    }

    /// One ARM call with a fresh token.
    fn arm(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let base = self.azure.base_url().to_string();
        let tenant = self.azure.tenant_id().to_string();
        self.runtime.block_on(async {
            let token: Value = self
                .http
                .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("client_secret", SECRET),
                    ("scope", "https://management.azure.com/.default"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut request = self
                .http
                .request(method, format!("{base}{path}?api-version=2022-04-01"))
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

    /// The principals holding Owner at `scope`.
    fn owners(&self, scope: &str) -> Vec<String> {
        self.azure.with_state(|arm| {
            arm.role_assignments
                .values()
                .filter(|a| a.scope.eq_ignore_ascii_case(scope) && a.role == OWNER)
                .map(|a| a.principal_id.clone())
                .collect()
        })
    }
}

#[test]
fn an_owner_assignment_follows_its_group_re_created_by_an_entra_restore() {
    let entra = Tenant::start();
    let azure = Azure::start(&entra);
    let ws = workspace(&entra);
    std::fs::write(ws.path("azure.secret"), SECRET).unwrap();
    let mut config = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    config.push_str(&format!(
        "\n[sources.azure-test]\nprovider = \"azure-rbac\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"azure.secret\"\nlogin_url = \"{url}\"\nmanagement_url = \"{url}\"\nentra_source = \"entra-test\"\n",
        azure.azure.tenant_id(),
        url = azure.azure.base_url()
    ));
    std::fs::write(ws.path("iamsnap.toml"), config).unwrap();

    // A static security group is made Owner of the first subscription through ARM, which asks
    // Entra ID whether the principal exists.
    let group = entra
        .list("/groups?$top=999&$select=id,displayName,mailNickname,securityEnabled,groupTypes,membershipRule")
        .into_iter()
        .find(|g| {
            g["securityEnabled"] == true
                && g["groupTypes"].as_array().is_some_and(|t| t.is_empty())
                && g["membershipRule"].is_null()
        })
        .expect("a static security group");
    let old_id = group["id"].as_str().unwrap().to_string();
    let sub = azure
        .azure
        .with_state(|arm| format!("/subscriptions/{}", arm.subscriptions[0].id));
    let owner = |principal: &str, name: &str| {
        azure.arm(
            Method::PUT,
            &format!("{sub}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            Some(json!({"properties": {
                "roleDefinitionId": format!("{sub}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"),
                "principalId": principal, "principalType": "Group"}})),
        )
    };
    let (status, body) = owner(&old_id, "6a6a6a6a-0000-4000-8000-000000000001");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["properties"]["principalType"], "Group", "{body}");
    let (status, body) = owner(
        "0d0d0d0d-0000-4000-8000-0000deadbeef",
        "6a6a6a6a-0000-4000-8000-000000000002",
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("PrincipalNotFound")),
        "a principal Entra ID does not hold: {body}"
    );

    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);

    // The group is deleted for good: a security group skips the recycle bin.
    let (status, _) = entra.graph(Method::DELETE, &format!("/groups/{old_id}"), None);
    assert_eq!(status, 204);
    let key = format!(
        "{sub}|Owner|group:{} <{}>",
        group["displayName"].as_str().unwrap(),
        group["mailNickname"].as_str().unwrap()
    );

    // Before the Entra restore, the assignment is left out with the next step.
    let early = json_of(&ws.iamsnap(&["restore", "azure-test@latest", "--format", "json"]));
    let skipped = early["skipped"].as_array().cloned().unwrap_or_default();
    let left_out = skipped
        .iter()
        .find(|s| s["key"] == key.as_str())
        .unwrap_or_else(|| panic!("{key} is left out: {early:#}"));
    let reason = left_out["reason"].as_str().unwrap();
    assert!(
        reason.contains("not in the directory")
            && reason.contains("restore source entra-test first"),
        "{reason}"
    );

    let entra_restore = ws.iamsnap(&[
        "restore",
        "entra-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&entra_restore, 0);
    assert_eq!(json_of(&entra_restore)["failed"], 0);
    let new_id = entra
        .list("/groups?$top=999&$select=id,displayName,mailNickname")
        .into_iter()
        .find(|g| g["mailNickname"] == group["mailNickname"])
        .expect("the group is re-created")["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        new_id, old_id,
        "a group deleted for good comes back under a new id"
    );
    assert!(!azure.owners(&sub).contains(&new_id));

    let applied = ws.iamsnap(&[
        "restore",
        "azure-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    assert!(report["done"].as_u64().unwrap() >= 1, "{report:#}");
    assert!(
        azure.owners(&sub).contains(&new_id),
        "Owner is given to the re-created group: {report:#}"
    );

    for source in ["entra-test", "azure-test"] {
        let again =
            json_of(&ws.iamsnap(&["restore", &format!("{source}@latest"), "--format", "json"]));
        assert_eq!(again["operations"], json!([]), "{source}: {again:#}");
    }
    for output in [&backup, &entra_restore, &applied] {
        assert!(!stdout(output).contains(SECRET) && !stderr(output).contains(SECRET));
    }
}
