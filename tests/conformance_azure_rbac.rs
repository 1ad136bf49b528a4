//! The conformance suite on the Azure RBAC connector, against emulated tenants.

use std::path::Path;

use async_trait::async_trait;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::azure::{AzureEmulator, RunningAzure};
use iamsnap_testkit::conformance::{self, Options, Subject};
use iamsnap_testkit::faults::Fault;
use reqwest::Method;
use serde_json::Value;

const CLIENT_ID: &str = "3d2c1b0a-5555-4000-8000-00000000c0f2";
const SECRET: &str = "azure-conformance-secret-DO-NOT-LEAK-4e4e";

/// An emulated Azure tenant, reached with a client secret read from a file.
struct AzureTenant;

#[async_trait]
impl Subject for AzureTenant {
    type System = RunningAzure;

    fn provider(&self) -> &'static str {
        "azure-rbac"
    }

    async fn seeded(&self) -> Result<RunningAzure, String> {
        start(
            AzureEmulator::builder()
                .assignments(40)
                .custom_roles(4)
                .locks(5)
                .management_groups(2),
        )
        .await
    }

    /// The same management groups, subscriptions, resource groups and directory, without
    /// custom roles, role assignments (iamsnap's own aside) or locks.
    async fn empty(&self) -> Result<RunningAzure, String> {
        start(
            AzureEmulator::builder()
                .assignments(0)
                .custom_roles(0)
                .locks(0)
                .management_groups(2),
        )
        .await
    }

    fn url(&self, tenant: &RunningAzure) -> String {
        tenant.base_url().to_string()
    }

    fn source(&self, tenant: &RunningAzure, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("azure.secret"), SECRET).expect("the secret file is written");
        format!(
            "provider = \"azure-rbac\"\ntenant_id = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"azure.secret\"\nlogin_url = \"{url}\"\nmanagement_url = \"{url}\"\nmanagement_groups = true\n",
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

    async fn delete(&self, tenant: &RunningAzure, record: &Record) -> Result<(), String> {
        Arm::new(tenant).await?.delete(record).await
    }

    fn spare(&self, record: &Record, _: &[Record], _: Option<&Record>) -> Option<String> {
        (record.kind == "azure.deny_assignment").then(|| {
            "ARM refuses to delete a deny assignment: only the service that owns it can".into()
        })
    }

    fn throttle(&self) -> Fault {
        Fault::RetryAfter(1)
    }
}

async fn start(builder: AzureEmulator) -> Result<RunningAzure, String> {
    builder
        .tenant("contoso-conformance")
        .client(CLIENT_ID, SECRET)
        .subscriptions(2)
        .resource_groups(6)
        .page_size(25)
        .seed(3)
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// Azure Resource Manager of a tenant, called directly with a client-credentials token.
struct Arm {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Arm {
    async fn new(tenant: &RunningAzure) -> Result<Arm, String> {
        let http = reqwest::Client::new();
        let base = tenant.base_url().to_string();
        let token: Value = http
            .post(format!("{base}/{}/oauth2/v2.0/token", tenant.tenant_id()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("scope", "https://management.azure.com/.default"),
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
        Ok(Arm { base, token, http })
    }

    async fn call(&self, method: Method, path: &str) -> Result<Value, String> {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .query(&[("api-version", "2022-04-01")])
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() && status.as_u16() != 404 {
            return Err(format!("{method} {path}: HTTP {status}: {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Deletes a role assignment as an administrator must: ARM refuses while a lock stands at
    /// its scope or above (409 ScopeLocked), so those locks are lifted first (the restore puts
    /// them back with the rest).
    async fn delete_assignment(&self, id: &str) -> Result<(), String> {
        match self.call(Method::DELETE, id).await {
            Err(e) if e.contains("ScopeLocked") => {
                let scope = id
                    .split("/providers/Microsoft.Authorization/roleAssignments/")
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                let locks = self
                    .call(
                        Method::GET,
                        &format!("{scope}/providers/Microsoft.Authorization/locks"),
                    )
                    .await?;
                for lock in locks["value"].as_array().into_iter().flatten() {
                    let lock = lock["id"].as_str().unwrap_or_default();
                    let at = lock
                        .split("/providers/Microsoft.Authorization/locks/")
                        .next()
                        .unwrap_or_default()
                        .to_lowercase();
                    if scope == at || scope.starts_with(&format!("{at}/")) {
                        self.call(Method::DELETE, lock).await?;
                    }
                }
                self.call(Method::DELETE, id).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }

    /// Deletes `record` as an administrator would: a custom role after the assignments that
    /// use it (ARM refuses to delete a role in use).
    async fn delete(&self, record: &Record) -> Result<(), String> {
        match record.kind.as_str() {
            "azure.role_definition" => {
                let scopes = record.attrs["assignableScopes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for scope in scopes.iter().filter_map(Value::as_str) {
                    let mut next = Some(format!(
                        "{scope}/providers/Microsoft.Authorization/roleAssignments"
                    ));
                    while let Some(path) = next.take() {
                        let page = self.call(Method::GET, &path).await?;
                        for a in page["value"].as_array().into_iter().flatten() {
                            let role = a["properties"]["roleDefinitionId"]
                                .as_str()
                                .unwrap_or_default();
                            if role.ends_with(&record.id) {
                                self.delete_assignment(a["id"].as_str().unwrap_or_default())
                                    .await?;
                            }
                        }
                        next = page["nextLink"].as_str().and_then(|l| {
                            let rest = l.strip_prefix(&self.base)?;
                            let (path, query) = rest.split_once('?')?;
                            let skip = query.split('&').find(|p| {
                                p.starts_with("%24skiptoken=") || p.starts_with("$skiptoken=")
                            })?;
                            Some(format!("{path}?{skip}"))
                        });
                    }
                }
                let home = scopes.first().and_then(Value::as_str).unwrap_or("/");
                self.call(
                    Method::DELETE,
                    &format!(
                        "{home}/providers/Microsoft.Authorization/roleDefinitions/{}",
                        record.id
                    ),
                )
                .await
                .map(|_| ())
            }
            "azure.role_eligibility" => {
                let scope = record.attrs["scope"].as_str().unwrap_or_default();
                let found = self
                    .call(
                        Method::GET,
                        &format!("{scope}/providers/Microsoft.Authorization/roleEligibilitySchedules?$filter=atScope()"),
                    )
                    .await?;
                let schedule = found["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["id"] == record.id.as_str())
                    .ok_or_else(|| format!("no schedule {}", record.id))?;
                let props = &schedule["properties"];
                let response = self
                    .http
                    .put(format!(
                        "{}{scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/0d0d0d0d-0000-4000-8000-{:012x}",
                        self.base,
                        rand::random::<u32>()
                    ))
                    .query(&[("api-version", "2020-10-01")])
                    .bearer_auth(&self.token)
                    .json(&serde_json::json!({"properties": {"requestType": "AdminRemove",
                        "principalId": props["principalId"], "roleDefinitionId": props["roleDefinitionId"]}}))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!(
                        "AdminRemove {}: {}",
                        record.key,
                        response.text().await.unwrap_or_default()
                    ));
                }
                Ok(())
            }
            "azure.role_assignment" => self.delete_assignment(&record.id).await,
            "azure.lock" => self.call(Method::DELETE, &record.id).await.map(|_| ()),
            other => Err(format!("no delete for kind {other}")),
        }
    }
}

#[test]
fn the_azure_rbac_connector_conforms() {
    let options = Options::new(env!("CARGO_BIN_EXE_iamsnap"));
    let report =
        conformance::run(&AzureTenant, &options).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}
