//! The conformance suite on the Entra ID connector, against emulated tenants.

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::entra::{EntraEmulator, RunningEntra};
use iamsnap_testkit::faults::Fault;
use reqwest::Method;
use serde_json::Value;

const CLIENT_ID: &str = "7c1a2b3d-3333-4000-8000-00000000c0f1";
const SECRET: &str = "entra-conformance-secret-DO-NOT-LEAK-9d9d";

/// An emulated Entra ID tenant, reached with a client secret read from a file.
struct EntraTenant;

#[async_trait]
impl Subject for EntraTenant {
    type System = RunningEntra;

    fn provider(&self) -> &'static str {
        "entra"
    }

    async fn seeded(&self) -> Result<RunningEntra, String> {
        start(
            EntraEmulator::builder()
                .users(14)
                .groups(8)
                .apps(3)
                .policies(4),
        )
        .await
    }

    /// A new tenant: Microsoft Graph's service principal, the built-in roles and the default
    /// authentication methods policy.
    async fn empty(&self) -> Result<RunningEntra, String> {
        start(
            EntraEmulator::builder()
                .users(0)
                .groups(0)
                .apps(0)
                .policies(0),
        )
        .await
    }

    fn url(&self, tenant: &RunningEntra) -> String {
        tenant.base_url().to_string()
    }

    fn source(&self, tenant: &RunningEntra, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("entra.secret"), SECRET).expect("the secret file is written");
        format!(
            "provider = \"entra\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"entra.secret\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\n",
            tenant.tenant_id()
        )
    }

    fn secret(&self) -> String {
        SECRET.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let source = config.source(name).map_err(|e| e.to_string())?;
        source
            .connect(name, &config.base_dir(), &ConnectOptions::default())
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, tenant: &RunningEntra, record: &Record) -> Result<(), String> {
        Graph::new(tenant).await?.delete(record).await
    }

    fn spare(&self, record: &Record, snapshot: &[Record], _: Option<&Record>) -> Option<String> {
        let applications: Vec<&Value> = snapshot
            .iter()
            .filter(|r| r.kind == "entra.application")
            .map(|r| &r.attrs["appId"])
            .collect();
        match record.kind.as_str() {
            "entra.service_principal" if !applications.contains(&&record.attrs["appId"]) => {
                Some("the service principal of another publisher's application (Microsoft Graph) holds every client's permissions".into())
            }
            "entra.authentication_strength"
                if snapshot.iter().any(|r| {
                    r.refs
                        .iter()
                        .any(|to| to.kind == record.kind && to.id == record.id)
                }) =>
            {
                Some("Graph refuses to delete an authentication strength a conditional access policy requires".into())
            }
            "entra.role_setting" if record.target("role").is_none() => Some(
                "the PIM settings of a built-in role exist as long as Entra ID does".into(),
            ),
            "entra.named_location"
                if snapshot.iter().any(|r| {
                    r.refs
                        .iter()
                        .any(|to| to.kind == record.kind && to.id == record.id)
                }) =>
            {
                Some("Graph refuses to delete a named location a conditional access policy uses".into())
            }
            _ => None,
        }
    }

    fn throttle(&self) -> Fault {
        Fault::RetryAfter(1)
    }
}

async fn start(builder: EntraEmulator) -> Result<RunningEntra, String> {
    builder
        .tenant("contoso-conformance")
        .client(CLIENT_ID, SECRET)
        .seed(3)
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// Microsoft Graph of a tenant, called directly with a client-credentials token.
struct Graph {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Graph {
    async fn new(tenant: &RunningEntra) -> Result<Graph, String> {
        let http = reqwest::Client::new();
        let base = tenant.base_url().to_string();
        let token: Value = http
            .post(format!("{base}/{}/oauth2/v2.0/token", tenant.tenant_id()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let token = token["access_token"]
            .as_str()
            .ok_or_else(|| format!("no access token in {token}"))?
            .to_string();
        Ok(Graph { base, token, http })
    }

    /// `DELETE /v1.0{path}`; a 404 is no error (the object is gone already).
    async fn remove(&self, path: &str) -> Result<(), String> {
        let response = self
            .http
            .request(Method::DELETE, format!("{}/v1.0{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("DELETE {path}: {e}"))?;
        let status = response.status();
        if status.is_success() || status.as_u16() == 404 {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(format!("DELETE {path}: HTTP {status}: {body}"))
    }

    /// `method /v1.0{path}` with a JSON body; the answer's body when it succeeds.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/v1.0{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{method} {path}: HTTP {status}: {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Ends a PIM schedule with an `adminRemove` request, as an administrator would.
    async fn remove_schedule(
        &self,
        requests: &str,
        principal: &str,
        role: &str,
        scope: &str,
    ) -> Result<(), String> {
        let body = serde_json::json!({"action": "adminRemove", "principalId": principal,
                                      "roleDefinitionId": role, "directoryScopeId": scope});
        self.call(
            Method::POST,
            &format!("/roleManagement/directory/{requests}"),
            Some(body),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a custom role after ending its eligibilities and assignments (Graph refuses
    /// to delete a role in use).
    async fn delete_role(&self, id: &str) -> Result<(), String> {
        for (list, requests) in [
            (
                "roleEligibilitySchedules",
                "roleEligibilityScheduleRequests",
            ),
            ("roleAssignmentSchedules", "roleAssignmentScheduleRequests"),
        ] {
            let filter = format!("roleDefinitionId%20eq%20'{id}'");
            let found = self
                .call(
                    Method::GET,
                    &format!("/roleManagement/directory/{list}?$filter={filter}"),
                    None,
                )
                .await?;
            for s in found["value"].as_array().into_iter().flatten() {
                let text = |f: &str| s[f].as_str().unwrap_or_default().to_string();
                self.remove_schedule(
                    requests,
                    &text("principalId"),
                    id,
                    &text("directoryScopeId"),
                )
                .await?;
            }
        }
        self.remove(&format!("/roleManagement/directory/roleDefinitions/{id}"))
            .await
    }

    /// Deletes `record` as an administrator would through Graph.
    async fn delete(&self, record: &Record) -> Result<(), String> {
        let id = &record.id;
        let schedule = |requests: &'static str| {
            let scope = match record.target("scope") {
                Some(unit) => format!("/administrativeUnits/{}", unit.id),
                None => record.attrs["directoryScope"]
                    .as_str()
                    .unwrap_or("/")
                    .to_string(),
            };
            let principal = record
                .target("principal")
                .map(|r| r.id.clone())
                .unwrap_or_default();
            let role = record.attrs["roleDefinitionId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (requests, principal, role, scope)
        };
        let pim = match record.kind.as_str() {
            "entra.role_definition" => return self.delete_role(id).await,
            // A role's PIM settings go only with the role.
            "entra.role_setting" => {
                let role = record
                    .target("role")
                    .ok_or_else(|| format!("{} has no role ref", record.key))?;
                return self.delete_role(&role.id).await;
            }
            "entra.role_eligibility" => Some(schedule("roleEligibilityScheduleRequests")),
            "entra.role_assignment_schedule" => Some(schedule("roleAssignmentScheduleRequests")),
            _ => None,
        };
        if let Some((requests, principal, role, scope)) = pim {
            return self
                .remove_schedule(requests, &principal, &role, &scope)
                .await;
        }
        let target = |rel: &str| {
            record
                .target(rel)
                .map(|r| r.id.clone())
                .ok_or_else(|| format!("{} {} has no {rel} ref", record.kind, record.key))
        };
        let path = match record.kind.as_str() {
            "entra.user" => format!("/users/{id}"),
            "entra.user_manager" => format!("/users/{}/manager/$ref", target("user")?),
            "entra.group" => format!("/groups/{id}"),
            "entra.group_member" => {
                format!(
                    "/groups/{}/members/{}/$ref",
                    target("group")?,
                    target("member")?
                )
            }
            "entra.group_owner" => {
                format!(
                    "/groups/{}/owners/{}/$ref",
                    target("group")?,
                    target("owner")?
                )
            }
            "entra.application_owner" => format!(
                "/applications/{}/owners/{}/$ref",
                target("application")?,
                target("owner")?
            ),
            "entra.federated_identity_credential" => format!(
                "/applications/{}/federatedIdentityCredentials/{id}",
                target("application")?
            ),
            "entra.service_principal_owner" => format!(
                "/servicePrincipals/{}/owners/{}/$ref",
                target("servicePrincipal")?,
                target("owner")?
            ),
            "entra.terms_of_use" => format!("/identityGovernance/termsOfUse/agreements/{id}"),
            "entra.cross_tenant_access_partner" => {
                format!("/policies/crossTenantAccessPolicy/partners/{id}")
            }
            "entra.claims_mapping_policy" => format!("/policies/claimsMappingPolicies/{id}"),
            "entra.token_lifetime_policy" => format!("/policies/tokenLifetimePolicies/{id}"),
            "entra.service_principal_policy" => {
                let policy = record
                    .target("policy")
                    .ok_or_else(|| format!("{} has no policy ref", record.key))?;
                let family = if policy.kind == "entra.claims_mapping_policy" {
                    "claimsMappingPolicies"
                } else {
                    "tokenLifetimePolicies"
                };
                format!(
                    "/servicePrincipals/{}/{family}/{}/$ref",
                    target("servicePrincipal")?,
                    policy.id
                )
            }
            "entra.administrative_unit" => format!("/administrativeUnits/{id}"),
            "entra.administrative_unit_member" => format!(
                "/administrativeUnits/{}/members/{}/$ref",
                target("unit")?,
                target("member")?
            ),
            "entra.named_location" => format!("/identity/conditionalAccess/namedLocations/{id}"),
            "entra.authentication_strength" => {
                format!("/policies/authenticationStrengthPolicies/{id}")
            }
            "entra.application" => format!("/applications/{id}"),
            "entra.service_principal" => format!("/servicePrincipals/{id}"),
            "entra.app_role_assignment" => format!(
                "/servicePrincipals/{}/appRoleAssignedTo/{id}",
                target("resource")?
            ),
            "entra.oauth2_permission_grant" => format!("/oauth2PermissionGrants/{id}"),
            "entra.directory_role_assignment" => {
                format!("/roleManagement/directory/roleAssignments/{id}")
            }
            "entra.conditional_access_policy" => {
                format!("/identity/conditionalAccess/policies/{id}")
            }
            other => return Err(format!("no delete for kind {other}")),
        };
        self.remove(&path).await
    }
}

#[test]
fn the_entra_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&EntraTenant, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
