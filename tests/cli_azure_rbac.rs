//! End to end on an emulated Azure tenant (3 subscriptions, 30 resource groups, 500 role
//! assignments, some with conditions, 10 custom roles, locks): backup through the CLI, an
//! incident made through Azure Resource Manager (the locks lifted, assignments deleted, a custom
//! role deleted with its assignments and another widened to `*`), then `restore --apply`:
//! every fact back, the deleted role's assignments naming the re-created role, and a second
//! plan empty. An authoritative restore removes an assignment the snapshot lacks, within
//! `--max-deletes`, and never the one iamsnap signs in with; one under a lock is skipped with
//! the lock to lift (ARM answers 409 ScopeLocked).

mod support;

use std::collections::BTreeSet;

use iamsnap_testkit::azure::{Arm, AzureEmulator, RunningAzure};
use reqwest::Method;
use serde_json::{Value, json};
use support::*;

const CLIENT_ID: &str = "5e0c1a2b-4444-4000-8000-0000000a2c01";
const SECRET: &str = "azure-secret-DO-NOT-LEAK-5151";

struct Tenant {
    azure: RunningAzure,
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
        let azure = runtime
            .block_on(
                AzureEmulator::builder()
                    .tenant("contoso-cli")
                    .client(CLIENT_ID, SECRET)
                    .subscriptions(3)
                    .resource_groups(30)
                    .assignments(500)
                    .custom_roles(10)
                    .locks(12)
                    .seed(5)
                    .start(),
            )
            .expect("the Azure emulator starts");
        Tenant {
            azure,
            runtime,
            http: reqwest::Client::new(),
        }
    }

    /// One ARM call (`path` an id or collection, `api-version` added) with a fresh token.
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
            let separator = if path.contains('?') { '&' } else { '?' };
            let mut request = self
                .http
                .request(
                    method,
                    format!("{base}{path}{separator}api-version=2022-04-01"),
                )
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

    fn delete(&self, id: &str) {
        let (status, body) = self.arm(Method::DELETE, id, None);
        assert!(matches!(status, 200 | 204), "DELETE {id}: {status} {body}");
    }

    /// Everything a restore must bring back, ids left out: custom roles by name, assignments
    /// by scope, role name, principal, condition and description, locks by id.
    fn facts(&self) -> BTreeSet<String> {
        self.azure.with_state(|arm: &mut Arm| {
            let mut out = BTreeSet::new();
            for d in arm.role_definitions.values().filter(|d| d.custom) {
                out.insert(format!(
                    "role {} {:?} {:?}",
                    d.role_name, d.permissions, d.assignable_scopes
                ));
            }
            for a in arm.role_assignments.values() {
                let role = &arm.role_definitions[&a.role].role_name;
                out.insert(format!(
                    "assignment {} {role} {} {:?} {:?} {:?}",
                    a.scope.to_lowercase(),
                    a.principal_id,
                    a.condition,
                    a.condition_version,
                    a.description
                ));
            }
            for e in arm.eligibilities.values() {
                let role = &arm.role_definitions[&e.role].role_name;
                out.insert(format!(
                    "eligibility {} {role} {} {:?}",
                    e.scope.to_lowercase(),
                    e.principal_id,
                    e.end
                ));
            }
            for l in arm.locks.values() {
                out.insert(format!("lock {} {} {:?}", l.id(), l.level, l.notes));
            }
            out
        })
    }
}

fn workspace(tenant: &Tenant) -> Workspace {
    let ws = Workspace::new("http://127.0.0.1:9");
    std::fs::write(ws.path("azure.secret"), SECRET).unwrap();
    let text = format!(
        "[repository]\nurl = \"repo\"\nrecipients = [\"{}\"]\nsigning_key_file = \"signing.key\"\nverify_key = \"{}\"\n\n[sources.azure-test]\nprovider = \"azure-rbac\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"azure.secret\"\nlogin_url = \"{url}\"\nmanagement_url = \"{url}\"\n",
        ws.recipient,
        ws.verify_key,
        tenant.azure.tenant_id(),
        url = tenant.azure.base_url()
    );
    std::fs::write(ws.path("iamsnap.toml"), text).unwrap();
    ws
}

/// The id of an assignment some lock covers.
fn assignment_under_a_lock(tenant: &Tenant) -> String {
    tenant.azure.with_state(|arm| {
        arm.role_assignments
            .values()
            .find(|a| arm.locks.values().any(|l| covers(&l.scope, &a.scope)))
            .map(|a| a.id())
            .expect("an assignment under a lock")
    })
}

/// Whether scope `outer` is `inner` or above it.
fn covers(outer: &str, inner: &str) -> bool {
    let (o, i) = (outer.to_lowercase(), inner.to_lowercase());
    i == o || i.starts_with(&format!("{o}/"))
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

#[test]
fn an_azure_rbac_incident_is_restored_whole() {
    let tenant = Tenant::start();
    let ws = workspace(&tenant);
    let before = tenant.facts();
    assert!(
        before.iter().any(|f| f.contains("Some(\"2.0\")")),
        "the seed holds conditional assignments"
    );
    assert_exit(&ws.iamsnap(&["init"]), 0);
    let backup = ws.iamsnap(&["backup", "--all"]);
    assert_exit(&backup, 0);
    let listed = json_of(&ws.iamsnap(&["show", "azure-test@latest", "--json"]));
    let counts = listed["manifest"]["counts"].clone();
    assert_eq!(counts["azure.role_definition"], 10, "{listed:#}");
    assert_eq!(
        counts["azure.role_assignment"], 503,
        "500 and iamsnap's own 3: {listed:#}"
    );
    assert_eq!(counts["azure.lock"], 12, "{listed:#}");
    assert_eq!(counts["azure.deny_assignment"], 1, "{listed:#}");
    let eligibilities = tenant.azure.with_state(|arm| arm.eligibilities.len());
    assert!(eligibilities >= 40, "{eligibilities}");
    assert_eq!(
        counts["azure.role_eligibility"], eligibilities as u64,
        "{listed:#}"
    );

    // The incident, through ARM. The locks are lifted first: ARM refuses to delete an
    // assignment under one (409 ScopeLocked).
    let locks: Vec<String> = tenant
        .azure
        .with_state(|arm| arm.locks.values().map(|l| l.id()).collect());
    let (status, body) = tenant.arm(Method::DELETE, &assignment_under_a_lock(&tenant), None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("ScopeLocked")),
        "{body}"
    );
    for lock in &locks {
        tenant.delete(lock);
    }
    let (pages, assignments) = {
        let mut all = Vec::new();
        let mut pages = 0;
        let sub = tenant
            .azure
            .with_state(|arm| arm.subscriptions[0].id.clone());
        let mut next = Some(format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments"
        ));
        while let Some(path) = next {
            let (status, body) = tenant.arm(Method::GET, &path, None);
            assert_eq!(status, 200, "{body}");
            pages += 1;
            all.extend(body["value"].as_array().unwrap().iter().cloned());
            next = body["nextLink"].as_str().map(|link| {
                let path = link.strip_prefix(tenant.azure.base_url()).unwrap();
                // The link carries api-version already, and `Tenant::arm` adds it: keep one.
                path.replace("api-version=2022-04-01&", "")
                    .replace("?api-version=2022-04-01", "?")
            });
        }
        (pages, all)
    };
    assert!(pages > 1, "assignments come in pages");
    let own = tenant.azure.client_oid().to_string();
    let mut deleted = 0;
    for a in assignments
        .iter()
        .filter(|a| a["properties"]["principalId"] != own.as_str())
        .step_by(4)
        .take(40)
    {
        tenant.delete(a["id"].as_str().unwrap());
        deleted += 1;
    }
    assert_eq!(deleted, 40);
    let (gone_role, widened) = tenant.azure.with_state(|arm| {
        let mut customs: Vec<(String, String, String)> = arm
            .role_definitions
            .values()
            .filter(|d| d.custom)
            .map(|d| {
                (
                    d.name.clone(),
                    d.role_name.clone(),
                    d.assignable_scopes[0].clone(),
                )
            })
            .collect();
        customs.sort_by(|a, b| a.1.cmp(&b.1));
        (customs[1].clone(), customs[2].clone())
    });
    let users: Vec<String> = tenant.azure.with_state(|arm| {
        arm.role_assignments
            .values()
            .filter(|a| a.role == gone_role.0)
            .map(|a| a.id())
            .collect()
    });
    assert!(!users.is_empty(), "the role to delete is in use");
    for id in &users {
        tenant.delete(id);
    }
    tenant.delete(&format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
        gone_role.2, gone_role.0
    ));
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
        widened.2, widened.0
    );
    let (status, mut role) = tenant.arm(Method::GET, &path, None);
    assert_eq!(status, 200, "{role}");
    role["properties"]["permissions"] = json!([{"actions": ["*"], "notActions": []}]);
    let (status, body) = tenant.arm(
        Method::PUT,
        &path,
        Some(json!({"properties": role["properties"]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_ne!(tenant.facts(), before);
    assert_exit(&ws.iamsnap(&["diff", "azure-test@latest", "live"]), 1);

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
    assert_eq!(tenant.facts(), before, "every fact is back");
    let again = json_of(&ws.iamsnap(&["restore", "azure-test@latest", "--format", "json"]));
    assert_eq!(again["operations"], json!([]), "{again:#}");

    // Authoritative: an assignment made after the backup goes, iamsnap's own stays.
    let (scope, principal) = tenant.azure.with_state(|arm| {
        let unlocked = arm
            .resource_groups
            .iter()
            .map(|rg| {
                format!(
                    "/subscriptions/{}/resourceGroups/{}",
                    rg.subscription, rg.name
                )
            })
            .find(|scope| {
                !arm.locks
                    .values()
                    .any(|l| scope.to_lowercase().starts_with(&l.scope.to_lowercase()))
            })
            .expect("a resource group no lock covers");
        (unlocked, arm.principals.keys().next().unwrap().clone())
    });
    let sub = scope.split('/').nth(2).unwrap().to_string();
    let (status, body) = tenant.arm(
        Method::PUT,
        &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-1111-4222-8333-444455556666"),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", iamsnap_testkit::azure::OWNER),
            "principalId": principal}})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = tenant.arm(
        Method::PUT,
        &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-1111-4222-8333-444455556666"),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", iamsnap_testkit::azure::OWNER),
            "principalId": principal, "description": "changed"}})),
    );
    assert_eq!(
        status, 200,
        "an existing assignment takes a new description: {body}"
    );
    // iamsnap's service principal is given one more role after the backup: never taken away.
    let (status, body) = tenant.arm(
        Method::PUT,
        &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-1111-4222-8333-777777777777"),
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", iamsnap_testkit::azure::OWNER),
            "principalId": own}})),
    );
    assert_eq!(status, 201, "{body}");
    let refused = ws.iamsnap(&[
        "restore",
        "azure-test@latest",
        "--mode",
        "authoritative",
        "--apply",
        "--yes",
    ]);
    assert_ne!(refused.status.code(), Some(0), "{}", describe(&refused));
    let removed = ws.iamsnap(&[
        "restore",
        "azure-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "2",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&removed, 0);
    let removed_report = json_of(&removed);
    assert_eq!(removed_report["done"], 1, "{removed_report:#}");
    let kept = tenant.azure.with_state(|arm| {
        arm.role_assignments
            .contains_key("0f0f0f0f-1111-4222-8333-777777777777")
    });
    assert!(
        kept,
        "iamsnap's own new assignment stays: {removed_report:#}"
    );
    tenant.delete(&format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-1111-4222-8333-777777777777"
    ));
    assert_eq!(tenant.facts(), before, "the extra assignment is gone");

    // Under a lock, ARM refuses the delete: the run says which lock to lift, and fails nothing.
    let lock = locks[0].clone();
    let locked_scope = lock
        .split("/providers/Microsoft.Authorization/locks/")
        .next()
        .unwrap()
        .to_string();
    let sub = locked_scope.split('/').nth(2).unwrap().to_string();
    let extra = format!(
        "{locked_scope}/providers/Microsoft.Authorization/roleAssignments/0f0f0f0f-1111-4222-8333-888888888888"
    );
    let (status, body) = tenant.arm(
        Method::PUT,
        &extra,
        Some(json!({"properties": {
            "roleDefinitionId": format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{}", iamsnap_testkit::azure::OWNER),
            "principalId": principal}})),
    );
    assert_eq!(status, 201, "{body}");
    let refused = ws.iamsnap(&[
        "restore",
        "azure-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
        "--apply",
        "--yes",
        "--format",
        "json",
    ]);
    assert_exit(&refused, 0);
    let refused = json_of(&refused);
    assert_eq!(refused["failed"], 0, "{refused:#}");
    let reason = refused["skipped_operations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["reason"].as_str())
        .find(|r| r.contains("ScopeLocked"))
        .unwrap_or_else(|| panic!("the delete is skipped for the lock: {refused:#}"));
    assert!(
        reason.contains(&lock) && reason.contains("--kinds azure.role_assignment"),
        "{reason}"
    );
    let covering: Vec<String> = tenant.azure.with_state(|arm| {
        arm.locks
            .values()
            .filter(|l| covers(&l.scope, &locked_scope))
            .map(|l| l.id())
            .collect()
    });
    for lock in &covering {
        assert!(reason.contains(lock.as_str()), "{lock} is named: {reason}");
        tenant.delete(lock);
    }
    let lifted = ws.iamsnap(&[
        "restore",
        "azure-test@latest",
        "--mode",
        "authoritative",
        "--max-deletes",
        "1",
        "--kinds",
        "azure.role_assignment",
        "--apply",
        "--yes",
    ]);
    assert_exit(&lifted, 0);
    assert_exit(
        &ws.iamsnap(&["restore", "azure-test@latest", "--apply", "--yes"]),
        0,
    );
    assert_eq!(
        tenant.facts(),
        before,
        "the extra assignment is gone and the lock back"
    );
    let own_left = tenant.azure.with_state(|arm| {
        arm.role_assignments
            .values()
            .filter(|a| a.principal_id == own)
            .count()
    });
    assert_eq!(
        own_left, 3,
        "iamsnap's own assignments from the snapshot stay"
    );
    let text = std::fs::read_to_string(ws.path("iamsnap.toml")).unwrap();
    assert!(!format!("{}{}", stdout(&removed), stderr(&removed)).contains(SECRET));
    assert!(!text.contains(SECRET));
}

#[test]
fn an_assignment_whose_principal_is_gone_is_skipped_with_the_next_step() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let azure = runtime
        .block_on(
            AzureEmulator::builder()
                .tenant("contoso-gone")
                .client(CLIENT_ID, SECRET)
                .subscriptions(1)
                .resource_groups(3)
                .assignments(12)
                .custom_roles(1)
                .locks(1)
                .seed(9)
                .start(),
        )
        .unwrap();
    let tenant = Tenant {
        azure,
        runtime,
        http: reqwest::Client::new(),
    };
    let ws = workspace(&tenant);
    assert_exit(&ws.iamsnap(&["init"]), 0);
    assert_exit(&ws.iamsnap(&["backup", "--all"]), 0);
    let own = tenant.azure.client_oid().to_string();
    let (id, principal) = tenant.azure.with_state(|arm| {
        let a = arm
            .role_assignments
            .values()
            .find(|a| a.principal_id != own)
            .unwrap();
        (a.id(), a.principal_id.clone())
    });
    // The principal is deleted in Entra ID, and every assignment it held with it (ARM would
    // refuse those under a lock to an administrator; the directory is not asked).
    tenant.azure.with_state(|arm| {
        arm.role_assignments.retain(|_, a| a.id() != id);
        arm.principals.remove(&principal);
        arm.role_assignments
            .retain(|_, a| a.principal_id != principal);
    });
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
    let skipped = report["skipped_operations"].as_array().unwrap();
    assert!(!skipped.is_empty(), "{report:#}");
    for s in skipped {
        let reason = s["reason"].as_str().unwrap();
        assert!(
            reason.contains(&format!("principal {principal}"))
                && reason.contains("no longer exists")
                && reason.contains("restore it first"),
            "{reason}"
        );
    }
}
