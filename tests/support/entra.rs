//! An emulated Entra ID tenant for the end-to-end tests: Graph calls with a fresh token, a
//! workspace whose configuration backs it up, and the steps of the incidents the tests make
//! (each returns what it removed so that a test can check it came back).

use iamsnap_testkit::entra::{ALL_PERMISSIONS, EntraEmulator, RunningEntra};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Workspace, describe};

pub const CLIENT_ID: &str = "0b7c1d2e-2222-4000-8000-0000000c11e1";
pub const SECRET: &str = "entra-secret-DO-NOT-LEAK-7373";
const PIM: &str = "/roleManagement/directory";

/// An emulated tenant on its own runtime, stopped when dropped.
pub struct Tenant {
    pub entra: RunningEntra,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Tenant {
    pub fn start() -> Tenant {
        Tenant::start_without("")
    }

    /// A tenant whose client has every permission but `missing`.
    pub fn start_without(missing: &str) -> Tenant {
        let granted: Vec<&str> = ALL_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| *p != missing)
            .collect();
        Tenant::start_with(&granted)
    }

    /// A tenant whose client is granted exactly these application permissions.
    pub fn start_with(granted: &[&str]) -> Tenant {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let entra = runtime
            .block_on(
                EntraEmulator::builder()
                    .tenant("contoso-cli")
                    .client_with_permissions(
                        CLIENT_ID,
                        SECRET,
                        granted.iter().map(|p| p.to_string()).collect(),
                    )
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
    pub fn graph(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
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

    /// A call that must answer `status`; its body.
    pub fn expect(&self, status: u16, method: Method, path: &str, body: Option<Value>) -> Value {
        let (got, answer) = self.graph(method, path, body);
        assert_eq!(got, status, "{path}: {answer}");
        answer
    }

    pub fn list(&self, path: &str) -> Vec<Value> {
        let body = self.expect(200, Method::GET, path, None);
        body["value"].as_array().unwrap().clone()
    }

    /// The PIM eligibilities of a role definition.
    pub fn eligible(&self, role: &str) -> Vec<Value> {
        self.list(&format!("{PIM}/roleEligibilitySchedules"))
            .into_iter()
            .filter(|e| e["roleDefinitionId"] == role)
            .collect()
    }

    /// Removes every eligibility of a role definition through schedule requests.
    pub fn remove_eligibilities(&self, role: &str) {
        for e in self.eligible(role) {
            let body = json!({"action": "adminRemove", "principalId": e["principalId"],
                              "roleDefinitionId": role, "directoryScopeId": e["directoryScopeId"]});
            self.expect(
                201,
                Method::POST,
                &format!("{PIM}/roleEligibilityScheduleRequests"),
                Some(body),
            );
        }
    }

    pub fn role_definitions(&self) -> Vec<Value> {
        self.list(&format!("{PIM}/roleDefinitions"))
    }
}

/// A workspace whose configuration backs up `tenant` as the source `entra-test`.
pub fn workspace(tenant: &Tenant) -> Workspace {
    let ws = Workspace::new("http://127.0.0.1:9");
    super::write_secret(&ws.path("entra.secret"), SECRET);
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

pub fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(output)))
}

/// `restore --apply` of the latest snapshot with `flags`: its JSON report, which must show no
/// failure and an exit of 0.
pub fn restore_applied(ws: &Workspace, flags: &[&str]) -> Value {
    let mut args = vec![
        "restore",
        "entra-test@latest",
        "--apply",
        "--yes",
        "--format",
        "json",
    ];
    args.extend_from_slice(flags);
    let applied = ws.iamsnap(&args);
    super::assert_exit(&applied, 0);
    let report = json_of(&applied);
    assert_eq!(report["failed"], 0, "{report:#}");
    report
}

/// A restore plan with `flags`, which must have nothing left to do; what it still leaves out
/// is in its `skipped`.
pub fn nothing_planned(ws: &Workspace, flags: &[&str]) -> Value {
    let mut args = vec!["restore", "entra-test@latest", "--format", "json"];
    args.extend_from_slice(flags);
    let again = ws.iamsnap(&args);
    super::assert_exit(&again, 0);
    let plan = json_of(&again);
    assert_eq!(plan["operations"], json!([]), "{plan:#}");
    plan
}

/// Asserts that a restore plan with `flags` has nothing to do and nothing it leaves out.
pub fn assert_nothing_planned(ws: &Workspace, flags: &[&str]) {
    let plan = nothing_planned(ws, flags);
    assert_eq!(plan["skipped"], json!([]), "{plan:#}");
}

/// The keys listed under `cannot_restore` for `kind` with a reason starting with `reason`.
pub fn cannot(report: &Value, kind: &str, reason: &str) -> Vec<String> {
    report["cannot_restore"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind && c["reason"].as_str().unwrap().starts_with(reason))
        .flat_map(|c| c["keys"].as_array().unwrap().clone())
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

pub const DEPENDS: &str = "depends on an object that cannot be re-created";

fn reference(id: &str) -> Value {
    json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")})
}

fn static_security_group(tenant: &Tenant) -> Value {
    tenant
        .list("/groups?$top=999&$select=id,displayName,securityEnabled,groupTypes,membershipRule")
        .into_iter()
        .find(|g| {
            g["securityEnabled"] == true
                && g["groupTypes"].as_array().is_some_and(|t| t.is_empty())
                && g["membershipRule"].is_null()
        })
        .expect("a static security group")
}

/// The guest of the tenant that an incident deletes for good, made a member of a static
/// security group and the manager of another user before the backup.
pub struct Guest {
    pub id: String,
    pub upn: String,
    pub group_id: String,
    pub group_name: String,
    pub report_id: String,
}

impl Guest {
    pub fn with_dependents(tenant: &Tenant) -> Guest {
        let users = tenant.list("/users?$top=999&$select=id,userPrincipalName,userType");
        let guest = users
            .iter()
            .find(|u| u["userType"] == "Guest")
            .expect("the seed has guest users");
        let report = users
            .iter()
            .find(|u| u["userType"] == "Member")
            .expect("a member user");
        let group = static_security_group(tenant);
        let guest = Guest {
            id: guest["id"].as_str().unwrap().into(),
            upn: guest["userPrincipalName"].as_str().unwrap().into(),
            group_id: group["id"].as_str().unwrap().into(),
            group_name: group["displayName"].as_str().unwrap().into(),
            report_id: report["id"].as_str().unwrap().into(),
        };
        tenant.expect(
            204,
            Method::POST,
            &format!("/groups/{}/members/$ref", guest.group_id),
            Some(reference(&guest.id)),
        );
        tenant.expect(
            204,
            Method::PUT,
            &format!("/users/{}/manager/$ref", guest.report_id),
            Some(reference(&guest.id)),
        );
        guest
    }

    /// Deletes the guest, then purges it from the recycle bin.
    pub fn delete_for_good(&self, tenant: &Tenant) {
        tenant.expect(204, Method::DELETE, &format!("/users/{}", self.id), None);
        tenant.expect(
            204,
            Method::DELETE,
            &format!("/directory/deletedItems/{}", self.id),
            None,
        );
    }

    /// The user principal name as a path segment.
    pub fn upn_path(&self) -> String {
        self.upn.replace('#', "%23")
    }

    /// Asserts that the guest, its membership and its manager link are reported under
    /// `cannot_restore` and that no guest was created uninvited.
    pub fn assert_left_out(&self, tenant: &Tenant, report: &Value) {
        assert_eq!(
            cannot(report, "entra.user", "a guest user deleted for good"),
            [self.upn.as_str()],
            "{report:#}"
        );
        let members = cannot(report, "entra.group_member", DEPENDS);
        let own = format!("|user:{}", self.upn);
        assert!(
            members.contains(&format!("{}{own}", self.group_name))
                && members.iter().all(|k| k.ends_with(&own)),
            "{report:#}"
        );
        let managers = cannot(report, "entra.user_manager", DEPENDS);
        assert!(managers.iter().any(|k| k.ends_with(&own)), "{report:#}");
        let (status, _) = tenant.graph(Method::GET, &format!("/users/{}", self.upn_path()), None);
        assert_eq!(status, 404, "no guest is created uninvited");
    }

    /// Asserts that the guest was invited again, without mail, and that its membership and
    /// manager link name the new id; returns that id.
    pub fn assert_invited(&self, tenant: &Tenant, report: &Value) -> String {
        assert_eq!(
            cannot(
                report,
                "entra.user",
                "guest users deleted for good are invited again"
            ),
            [self.upn.as_str()],
            "{report:#}"
        );
        let back = tenant.expect(
            200,
            Method::GET,
            &format!(
                "/users/{}?$select=id,userType,externalUserState",
                self.upn_path()
            ),
            None,
        );
        assert_eq!(back["userType"], "Guest");
        assert_eq!(back["externalUserState"], "PendingAcceptance");
        let new_id = back["id"].as_str().unwrap().to_string();
        assert_ne!(new_id, self.id, "an invited guest has a new id");
        let members = tenant.list(&format!("/groups/{}/members?$select=id", self.group_id));
        assert!(
            members.iter().any(|m| m["id"] == new_id.as_str()),
            "membership back"
        );
        let manager = tenant.expect(
            200,
            Method::GET,
            &format!("/users/{}/manager", self.report_id),
            None,
        );
        assert_eq!(manager["id"], new_id.as_str(), "{manager}");
        new_id
    }
}

/// A custom role that a conditional access policy names, deleted with its eligibilities after
/// the policy stopped naming it (a role in use cannot be deleted).
pub struct DeletedRole {
    pub definition: Value,
    pub eligible: usize,
    pub policy_path: String,
}

impl DeletedRole {
    pub fn delete(tenant: &Tenant) -> DeletedRole {
        let policies = tenant.list("/identity/conditionalAccess/policies");
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
        let definition = tenant
            .role_definitions()
            .into_iter()
            .find(|d| d["isBuiltIn"] == false && named(d["id"].as_str().unwrap()).is_some())
            .expect("a custom role a policy names");
        let id = definition["id"].as_str().unwrap();
        let eligible = tenant.eligible(id).len();
        assert!(eligible > 0, "the custom role has eligibilities");
        tenant.remove_eligibilities(id);
        let covering = named(id).unwrap();
        let policy_path = format!(
            "/identity/conditionalAccess/policies/{}",
            covering["id"].as_str().unwrap()
        );
        let mut users = covering["conditions"]["users"].clone();
        let roles: Vec<Value> = users["includeRoles"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| *r != id)
            .cloned()
            .collect();
        users["includeRoles"] = json!(roles);
        tenant.expect(
            204,
            Method::PATCH,
            &policy_path,
            Some(json!({"conditions": {"users": users}})),
        );
        tenant.expect(
            204,
            Method::DELETE,
            &format!("{PIM}/roleDefinitions/{id}"),
            None,
        );
        DeletedRole {
            definition,
            eligible,
            policy_path,
        }
    }

    /// Asserts that the role is back with its permissions and eligibilities and that the policy
    /// names it by its new id.
    pub fn assert_back(&self, tenant: &Tenant) {
        let recreated = tenant
            .role_definitions()
            .into_iter()
            .find(|d| d["displayName"] == self.definition["displayName"])
            .expect("the custom role is back");
        let id = recreated["id"].as_str().unwrap();
        assert_ne!(id, self.definition["id"].as_str().unwrap());
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
        assert_eq!(actions(&recreated), actions(&self.definition));
        assert_eq!(
            tenant.eligible(id).len(),
            self.eligible,
            "its eligibilities are back"
        );
        let now = tenant.expect(200, Method::GET, &self.policy_path, None);
        assert!(
            now["conditions"]["users"]["includeRoles"]
                .to_string()
                .contains(id),
            "the policy names the re-created role: {now}"
        );
    }
}

/// Every eligibility of a built-in role, removed.
pub struct RemovedEligibilities {
    pub role: String,
    pub eligible: usize,
}

impl RemovedEligibilities {
    pub fn remove(tenant: &Tenant) -> RemovedEligibilities {
        let definitions = tenant.role_definitions();
        let role = tenant
            .list(&format!("{PIM}/roleEligibilitySchedules"))
            .into_iter()
            .map(|e| e["roleDefinitionId"].as_str().unwrap().to_string())
            .find(|r| {
                definitions
                    .iter()
                    .any(|d| d["id"] == r.as_str() && d["isBuiltIn"] == true)
            })
            .expect("a built-in role with eligibilities");
        let eligible = tenant.eligible(&role).len();
        tenant.remove_eligibilities(&role);
        assert!(tenant.eligible(&role).is_empty());
        RemovedEligibilities { role, eligible }
    }

    pub fn assert_back(&self, tenant: &Tenant) {
        assert_eq!(
            tenant.eligible(&self.role).len(),
            self.eligible,
            "the built-in role's eligibilities are back"
        );
    }
}

/// An authentication strength a conditional access policy requires, deleted after the policy
/// fell back to MFA (a strength in use cannot be deleted).
pub struct DeletedStrength {
    pub strength: Value,
    pub policy_path: String,
}

impl DeletedStrength {
    pub fn delete(tenant: &Tenant) -> DeletedStrength {
        let demanding = tenant
            .list("/identity/conditionalAccess/policies")
            .into_iter()
            .find(|p| p["grantControls"]["authenticationStrength"]["id"].is_string())
            .expect("a policy requiring a strength");
        let id = demanding["grantControls"]["authenticationStrength"]["id"]
            .as_str()
            .unwrap();
        let path = format!("/policies/authenticationStrengthPolicies/{id}");
        let strength = tenant.expect(200, Method::GET, &path, None);
        let policy_path = format!(
            "/identity/conditionalAccess/policies/{}",
            demanding["id"].as_str().unwrap()
        );
        tenant.expect(
            204,
            Method::PATCH,
            &policy_path,
            Some(json!({"grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})),
        );
        tenant.expect(204, Method::DELETE, &path, None);
        DeletedStrength {
            strength,
            policy_path,
        }
    }

    /// Asserts that the strength is back with its combinations and that the policy requires it
    /// by its new id.
    pub fn assert_back(&self, tenant: &Tenant) {
        let back = tenant
            .list("/policies/authenticationStrengthPolicies")
            .into_iter()
            .find(|s| s["displayName"] == self.strength["displayName"])
            .expect("the strength is back");
        assert_eq!(
            back["allowedCombinations"],
            self.strength["allowedCombinations"]
        );
        let now = tenant.expect(200, Method::GET, &self.policy_path, None);
        assert_eq!(
            now["grantControls"]["authenticationStrength"]["id"], back["id"],
            "the policy requires the re-created strength: {now}"
        );
    }
}

/// An application's owner and one of its federated identity credentials, deleted.
pub struct DeletedAppLinks {
    pub app: String,
    pub owner: String,
    pub credential: Value,
}

impl DeletedAppLinks {
    pub fn delete(tenant: &Tenant) -> DeletedAppLinks {
        let (app, credential) = tenant
            .list("/applications")
            .iter()
            .find_map(|a| {
                let id = a["id"].as_str().unwrap().to_string();
                Self::credentials(tenant, &id)
                    .first()
                    .cloned()
                    .map(|f| (id, f))
            })
            .expect("an application with a federated credential");
        let owners = tenant.list(&format!("/applications/{app}/owners"));
        let owner = owners[0]["id"]
            .as_str()
            .expect("the application has an owner")
            .to_string();
        let credential_id = credential["id"].as_str().unwrap();
        for path in [
            format!("/applications/{app}/owners/{owner}/$ref"),
            format!("/applications/{app}/federatedIdentityCredentials/{credential_id}"),
        ] {
            tenant.expect(204, Method::DELETE, &path, None);
        }
        DeletedAppLinks {
            app,
            owner,
            credential,
        }
    }

    fn credentials(tenant: &Tenant, app: &str) -> Vec<Value> {
        tenant.list(&format!("/applications/{app}/federatedIdentityCredentials"))
    }

    pub fn assert_back(&self, tenant: &Tenant) {
        let owners = tenant.list(&format!("/applications/{}/owners", self.app));
        assert!(
            owners.iter().any(|o| o["id"] == self.owner.as_str()),
            "the owner is back"
        );
        let back = Self::credentials(tenant, &self.app)
            .into_iter()
            .find(|f| f["name"] == self.credential["name"])
            .expect("the federated credential is back");
        for field in ["issuer", "subject", "audiences", "description"] {
            assert_eq!(back[field], self.credential[field], "{field}");
        }
    }
}

/// The authorization policy's settings an incident changes, as they were.
pub struct ChangedAuthorization {
    pub before: Value,
}

const AUTHORIZATION: &str = "/policies/authorizationPolicy";

impl ChangedAuthorization {
    pub fn change(tenant: &Tenant) -> ChangedAuthorization {
        let before = tenant.expect(200, Method::GET, AUTHORIZATION, None);
        tenant.expect(
            204,
            Method::PATCH,
            AUTHORIZATION,
            Some(json!({
                "allowInvitesFrom": "none",
                "defaultUserRolePermissions": {"allowedToCreateApps": false},
            })),
        );
        ChangedAuthorization { before }
    }

    pub fn assert_back(&self, tenant: &Tenant) {
        let now = tenant.expect(200, Method::GET, AUTHORIZATION, None);
        assert_eq!(now, self.before, "the authorization policy is as it was");
    }
}
