//! The conformance suite on the Okta connector, against emulated orgs; and the suite itself
//! shown to catch a connector that drops a kind or changes what `fetch` reads.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use iamsnap_provider::{ConnectOptions, Connector, Record};
use iamsnap_testkit::conformance::broken::Broken;
use iamsnap_testkit::conformance::{self, Check, Options, Subject};
use iamsnap_testkit::faults::Fault;
use iamsnap_testkit::okta::{OktaEmulator, RunningOkta};
use reqwest::Method;
use serde_json::Value;

const TOKEN: &str = "okta-conformance-token-DO-NOT-LEAK-5151";

/// An emulated Okta org, reached with an API token read from a file.
struct OktaOrg;

#[async_trait]
impl Subject for OktaOrg {
    type System = RunningOkta;

    fn provider(&self) -> &'static str {
        "okta"
    }

    async fn seeded(&self) -> Result<RunningOkta, String> {
        start(OktaEmulator::builder().users(14).groups(7).apps(4)).await
    }

    /// A new org: its administrator, the Everyone group, the default policies and zones.
    async fn empty(&self) -> Result<RunningOkta, String> {
        start(OktaEmulator::builder().users(1).groups(1).apps(0)).await
    }

    fn url(&self, org: &RunningOkta) -> String {
        org.base_url().to_string()
    }

    fn source(&self, _: &RunningOkta, url: &str, dir: &Path) -> String {
        std::fs::write(dir.join("okta.token"), TOKEN).expect("the token file is written");
        format!("provider = \"okta\"\norg_url = \"{url}\"\ntoken_file = \"okta.token\"\n")
    }

    fn secret(&self) -> String {
        TOKEN.to_string()
    }

    fn connect(&self, config: &Path, name: &str) -> Result<Connector, String> {
        let config = iamsnap::Config::load(config).map_err(|e| e.to_string())?;
        let source = config.source(name).map_err(|e| e.to_string())?;
        source
            .connect(name, &config.base_dir(), &ConnectOptions::default())
            .map_err(|e| e.to_string())
    }

    async fn delete(&self, org: &RunningOkta, record: &Record) -> Result<(), String> {
        OktaApi::new(org).delete(record).await
    }

    fn spare(&self, record: &Record, snapshot: &[Record], me: Option<&Record>) -> Option<String> {
        let attrs = &record.attrs;
        let system = attrs["system"] == true || attrs["default"] == true;
        let okta_group = |id: &str| {
            snapshot
                .iter()
                .any(|g| g.kind == "okta.group" && g.id == id && g.attrs["type"] == "OKTA_GROUP")
        };
        match record.kind.as_str() {
            "okta.group" if attrs["type"] != "OKTA_GROUP" => {
                Some("only OKTA_GROUP groups can be deleted; Everyone and app groups are not Okta's to delete".into())
            }
            "okta.group_membership"
                if !record.target("group").is_some_and(|g| okta_group(&g.id)) =>
            {
                Some("members of app groups are the app's to change, not Okta's".into())
            }
            "okta.network_zone"
                if snapshot.iter().any(|r| {
                    r.refs.iter().any(|to| to.kind == record.kind && to.id == record.id)
                }) =>
            {
                Some("Okta refuses to delete a network zone a policy or rule uses".into())
            }
            "okta.policy" | "okta.policy_rule" | "okta.network_zone" | "okta.user_type"
            | "okta.auth_server_scope"
                if system =>
            {
                Some("Okta never deletes its default and system objects".into())
            }
            "okta.authenticator" if attrs["key"] == "okta_password" => {
                Some("Okta never deactivates the password authenticator".into())
            }
            "okta.authenticator" if enrolled(snapshot, &record.key) => {
                Some("Okta refuses to deactivate an authenticator active enrollment policies offer".into())
            }
            "okta.behavior"
                if snapshot.iter().any(|r| {
                    r.kind == "okta.policy_rule"
                        && r.attrs
                            .pointer("/conditions/risk/behaviors")
                            .and_then(Value::as_array)
                            .is_some_and(|b| b.iter().any(|n| n == record.key.as_str()))
                }) =>
            {
                Some("Okta refuses to delete a behavior a policy rule names".into())
            }
            "okta.brand" if attrs["isDefault"] == true => {
                Some("Okta never deletes an org's default brand".into())
            }
            "okta.email_customization"
                if attrs["isDefault"] == true
                    && snapshot.iter().any(|c| {
                        c.kind == record.kind
                            && c.id != record.id
                            && c.key.rsplit_once('|').map(|k| k.0) == record.key.rsplit_once('|').map(|k| k.0)
                    }) =>
            {
                Some("Okta deletes a template's default customization only with its others".into())
            }
            "okta.user_type"
                if me.is_some_and(|me| me.attrs.pointer("/type/id") == Some(&Value::from(record.id.as_str()))) =>
            {
                Some("the token's own user has this type, and deleting the type deletes its users".into())
            }
            _ => None,
        }
    }

    fn throttle(&self) -> Fault {
        Fault::RateLimitedWithReset
    }
}

/// Whether an active authenticator enrollment policy of `snapshot` offers authenticator `key`.
fn enrolled(snapshot: &[Record], key: &str) -> bool {
    snapshot.iter().any(|r| {
        r.kind == "okta.policy"
            && r.attrs["type"] == "MFA_ENROLL"
            && r.attrs["status"] == "ACTIVE"
            && r.attrs
                .pointer("/settings/authenticators")
                .and_then(Value::as_array)
                .is_some_and(|list| {
                    list.iter().any(|a| {
                        a["key"] == key
                            && a.pointer("/enroll/self") != Some(&Value::from("NOT_ALLOWED"))
                    })
                })
    })
}

/// Members added to a group are listed only this long after the 204 of the add, as on real
/// Okta for a short while: restores must verify through the delay.
const CONSISTENCY_DELAY: Duration = Duration::from_millis(300);

async fn start(builder: OktaEmulator) -> Result<RunningOkta, String> {
    builder
        .seed(7)
        .token(TOKEN)
        .consistency_delay(CONSISTENCY_DELAY)
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// The Okta Management API of an org, called directly.
struct OktaApi {
    base: String,
    http: reqwest::Client,
}

impl OktaApi {
    fn new(org: &RunningOkta) -> OktaApi {
        OktaApi {
            base: org.base_url().to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// `METHOD path?query`; a 404 is no error (the object is gone already).
    async fn call(&self, method: Method, path: &str) -> Result<Value, String> {
        self.call_with(method, path, &[]).await
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, String> {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .query(query)
            .header("Authorization", format!("SSWS {TOKEN}"))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() || status.as_u16() == 404 {
            Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
        } else {
            Err(format!("{method} {path}: HTTP {status}: {body}"))
        }
    }

    /// Deletes `record` as an administrator would: what must be deactivated first is.
    async fn delete(&self, record: &Record) -> Result<(), String> {
        let id = &record.id;
        let target = |rel: &str| {
            record
                .target(rel)
                .map(|r| r.id.clone())
                .ok_or_else(|| format!("{} {} has no {rel} ref", record.kind, record.key))
        };
        let (deactivate, delete) = match record.kind.as_str() {
            "okta.user" => return self.delete_user(id).await,
            "okta.user_type" => {
                for user in self.users_of_type(id).await? {
                    self.delete_user(&user).await?;
                }
                (None, format!("/api/v1/meta/types/user/{id}"))
            }
            // A schema goes only with its type: the incident removes its custom attributes,
            // and with them the values users held.
            "okta.user_schema" => return self.strip_schema(&record.key).await,
            "okta.group" => (None, format!("/api/v1/groups/{id}")),
            "okta.group_membership" => (
                None,
                format!(
                    "/api/v1/groups/{}/users/{}",
                    target("group")?,
                    target("user")?
                ),
            ),
            "okta.group_rule" => (
                Some(format!("/api/v1/groups/rules/{id}")),
                format!("/api/v1/groups/rules/{id}"),
            ),
            "okta.app" => (
                Some(format!("/api/v1/apps/{id}")),
                format!("/api/v1/apps/{id}"),
            ),
            "okta.app_user_assignment" => (
                None,
                format!("/api/v1/apps/{}/users/{}", target("app")?, target("user")?),
            ),
            "okta.app_group_assignment" => (
                None,
                format!(
                    "/api/v1/apps/{}/groups/{}",
                    target("app")?,
                    target("group")?
                ),
            ),
            "okta.network_zone" => (
                Some(format!("/api/v1/zones/{id}")),
                format!("/api/v1/zones/{id}"),
            ),
            "okta.policy" => {
                // Okta refuses to delete an app sign-in policy apps are bound to.
                self.unbind_apps(id).await?;
                (None, format!("/api/v1/policies/{id}"))
            }
            "okta.policy_rule" => (
                None,
                format!("/api/v1/policies/{}/rules/{id}", target("policy")?),
            ),
            "okta.admin_role_assignment" => {
                let assignee = target("assignee")?;
                let of = if record.key.starts_with("user:") {
                    "users"
                } else {
                    "groups"
                };
                (None, format!("/api/v1/{of}/{assignee}/roles/{id}"))
            }
            "okta.trusted_origin" => (None, format!("/api/v1/trustedOrigins/{id}")),
            // Authenticators are never deleted: the incident turns one off (or on).
            "okta.authenticator" => {
                let action = if record.attrs["status"] == "ACTIVE" {
                    "deactivate"
                } else {
                    "activate"
                };
                let path = format!("/api/v1/authenticators/{id}/lifecycle/{action}");
                return self.call(Method::POST, &path).await.map(|_| ());
            }
            "okta.behavior" => (None, format!("/api/v1/behaviors/{id}")),
            // Schemas and mappings go only with the org or their app: the incident empties
            // them.
            "okta.group_schema" => {
                return self
                    .strip_custom("/api/v1/meta/schemas/group/default")
                    .await;
            }
            "okta.app_user_schema" => {
                let app = target("app")?;
                return self
                    .strip_custom(&format!("/api/v1/meta/schemas/apps/{app}/default"))
                    .await;
            }
            "okta.profile_mapping" => return self.strip_mapping(id).await,
            "okta.group_owner" => (
                None,
                format!(
                    "/api/v1/groups/{}/owners/{}",
                    target("group")?,
                    target("owner")?
                ),
            ),
            "okta.custom_role" => (None, format!("/api/v1/iam/roles/{id}")),
            "okta.brand" => (None, format!("/api/v1/brands/{id}")),
            // A theme and a template's settings go only with their brand: the incident
            // changes them instead.
            "okta.brand_theme" | "okta.email_template_settings" => {
                return self.change_branding(record).await;
            }
            "okta.email_customization" => {
                let (template, _) = record
                    .key
                    .rsplit_once('|')
                    .and_then(|(rest, _)| rest.rsplit_once('|').map(|(_, t)| (t, ())))
                    .ok_or_else(|| format!("{} has no template in its key", record.key))?;
                (
                    None,
                    format!(
                        "/api/v1/brands/{}/templates/email/{template}/customizations/{id}",
                        target("brand")?
                    ),
                )
            }
            "okta.event_hook" | "okta.inline_hook" | "okta.log_stream" => {
                let base = match record.kind.as_str() {
                    "okta.event_hook" => "eventHooks",
                    "okta.inline_hook" => "inlineHooks",
                    _ => "logStreams",
                };
                let path = format!("/api/v1/{base}/{id}");
                (Some(path.clone()), path)
            }
            "okta.resource_set" => (None, format!("/api/v1/iam/resource-sets/{id}")),
            "okta.resource_set_binding" => {
                let role = record
                    .target("role")
                    .map(|r| r.id.clone())
                    .unwrap_or_else(|| record.attrs["role"].as_str().unwrap_or_default().into());
                let set = target("resource_set")?;
                (
                    None,
                    format!("/api/v1/iam/resource-sets/{set}/bindings/{role}"),
                )
            }
            "okta.identity_provider" => (None, format!("/api/v1/idps/{id}")),
            "okta.idp_key" => (None, format!("/api/v1/idps/credentials/keys/{id}")),
            "okta.authorization_server" => (
                Some(format!("/api/v1/authorizationServers/{id}")),
                format!("/api/v1/authorizationServers/{id}"),
            ),
            "okta.auth_server_scope" | "okta.auth_server_claim" | "okta.auth_server_policy" => {
                let family = match record.kind.as_str() {
                    "okta.auth_server_scope" => "scopes",
                    "okta.auth_server_claim" => "claims",
                    _ => "policies",
                };
                (
                    None,
                    format!(
                        "/api/v1/authorizationServers/{}/{family}/{id}",
                        target("server")?
                    ),
                )
            }
            "okta.auth_server_rule" => (
                None,
                format!(
                    "/api/v1/authorizationServers/{}/policies/{}/rules/{id}",
                    target("server")?,
                    target("policy")?
                ),
            ),
            other => return Err(format!("no delete for kind {other}")),
        };
        if let Some(path) = deactivate {
            self.call(Method::POST, &format!("{path}/lifecycle/deactivate"))
                .await?;
        }
        self.call(Method::DELETE, &delete).await.map(|_| ())
    }

    /// Changes a brand's theme colors, or who receives an email template.
    async fn change_branding(&self, record: &Record) -> Result<(), String> {
        let brand = record
            .target("brand")
            .map(|b| b.id.clone())
            .ok_or_else(|| format!("{} has no brand ref", record.key))?;
        let (path, body) = if record.kind == "okta.brand_theme" {
            let mut body = record.attrs.clone();
            body["primaryColorHex"] = if body["primaryColorHex"] == "#123456" {
                serde_json::json!("#654321")
            } else {
                serde_json::json!("#123456")
            };
            (format!("/api/v1/brands/{brand}/themes/{}", record.id), body)
        } else {
            let template = record.attrs["template"].as_str().unwrap_or_default();
            let recipients = if record.attrs["recipients"] == "NO_USERS" {
                "ALL_USERS"
            } else {
                "NO_USERS"
            };
            (
                format!("/api/v1/brands/{brand}/templates/email/{template}/settings"),
                serde_json::json!({"recipients": recipients}),
            )
        };
        let response = self
            .http
            .put(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("PUT {path}: {e}"))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(format!("PUT {path}: HTTP {status}")),
        }
    }

    /// Removes every custom attribute of the profile schema of user type `type_name`.
    async fn strip_schema(&self, type_name: &str) -> Result<(), String> {
        let types = self.call(Method::GET, "/api/v1/meta/types/user").await?;
        let href = types
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == type_name)
            .and_then(|t| t.pointer("/_links/schema/href"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("user type {type_name} has no schema link"))?;
        let path = href.get(href.find("/api/").unwrap_or(0)..).unwrap_or(href);
        let schema = self.call(Method::GET, path).await?;
        let removed: serde_json::Map<String, Value> = schema
            .pointer("/definitions/custom/properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, _)| (name.clone(), Value::Null))
            .collect();
        let body = serde_json::json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": removed}}});
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(format!("POST {path}: HTTP {status}")),
        }
    }

    /// Removes every custom property of the schema at `path`.
    async fn strip_custom(&self, path: &str) -> Result<(), String> {
        let schema = self.call(Method::GET, path).await?;
        let removed: serde_json::Map<String, Value> = schema
            .pointer("/definitions/custom/properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, _)| (name.clone(), Value::Null))
            .collect();
        let body = serde_json::json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": removed}}});
        self.post(path, &body).await
    }

    /// Removes every property of profile mapping `id`.
    async fn strip_mapping(&self, id: &str) -> Result<(), String> {
        let path = format!("/api/v1/mappings/{id}");
        let mapping = self.call(Method::GET, &path).await?;
        let removed: serde_json::Map<String, Value> = mapping["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| (name.clone(), Value::Null))
            .collect();
        self.post(&path, &serde_json::json!({"properties": removed}))
            .await
    }

    async fn post(&self, path: &str, body: &Value) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(format!(
                "POST {path}: HTTP {status}: {}",
                response.text().await.unwrap_or_default()
            )),
        }
    }

    /// Binds the apps bound to app sign-in policy `policy` to the default one instead.
    async fn unbind_apps(&self, policy: &str) -> Result<(), String> {
        let query = [("type", "ACCESS_POLICY")];
        let policies = self
            .call_with(Method::GET, "/api/v1/policies", &query)
            .await?;
        let Some(default) = policies
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["system"] == true)
            .and_then(|p| p["id"].as_str())
        else {
            return Ok(());
        };
        let apps = self
            .call_with(Method::GET, "/api/v1/apps", &[("limit", "200")])
            .await?;
        for app in apps.as_array().into_iter().flatten() {
            let bound = app
                .pointer("/_links/accessPolicy/href")
                .and_then(Value::as_str)
                .is_some_and(|href| href.ends_with(&format!("/{policy}")));
            if bound {
                let id = app["id"].as_str().unwrap_or_default();
                self.call(
                    Method::PUT,
                    &format!("/api/v1/apps/{id}/policies/{default}"),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The first `DELETE` deactivates a user, the second deletes it.
    async fn delete_user(&self, id: &str) -> Result<(), String> {
        let path = format!("/api/v1/users/{id}");
        self.call(Method::DELETE, &path).await?;
        self.call(Method::DELETE, &path).await.map(|_| ())
    }

    /// The ids of the users of user type `type_id`, deprovisioned ones included.
    async fn users_of_type(&self, type_id: &str) -> Result<Vec<String>, String> {
        let mut ids = Vec::new();
        for search in [
            format!("type.id eq \"{type_id}\""),
            format!("type.id eq \"{type_id}\" and status eq \"DEPROVISIONED\""),
        ] {
            let query = [("search", search.as_str()), ("limit", "200")];
            let users = self.call_with(Method::GET, "/api/v1/users", &query).await?;
            ids.extend(
                users
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|u| u["id"].as_str().map(str::to_string)),
            );
        }
        Ok(ids)
    }
}

fn options() -> Options {
    Options::new(env!("CARGO_BIN_EXE_iamsnap"))
}

#[test]
fn the_okta_connector_conforms() {
    let report =
        conformance::run(&OktaOrg, &options()).unwrap_or_else(|report| panic!("{report:#}"));
    println!("{report}");
}

#[test]
fn a_connector_that_drops_a_kind_fails_the_every_kind_check() {
    let broken = Broken::dropping_kind(OktaOrg, "okta.group_rule");
    let only = [Check::EveryKind, Check::FetchEqualsSnapshot];
    let report = conformance::run(&broken, &options().only(&only)).unwrap_err();
    assert_eq!(report.failed(), [Check::EveryKind], "{report}");
    let problems = report.problems(Check::EveryKind);
    assert!(
        problems.len() == 1 && problems[0].starts_with("okta.group_rule: no record"),
        "{report}"
    );
}

#[test]
fn a_connector_whose_fetch_changes_a_record_fails_the_fetch_check() {
    let broken = Broken::altering_fetch(OktaOrg, "okta.user");
    let only = [Check::EveryKind, Check::FetchEqualsSnapshot];
    let report = conformance::run(&broken, &options().only(&only)).unwrap_err();
    assert_eq!(report.failed(), [Check::FetchEqualsSnapshot], "{report}");
    let problems = report.problems(Check::FetchEqualsSnapshot);
    assert!(!problems.is_empty(), "{report}");
    for problem in problems {
        assert!(
            problem.starts_with("okta.user ") && problem.contains("/attrs/conformance"),
            "{problem}"
        );
    }
    assert!(report.to_string().contains("okta: okta.user"), "{report}");
}
