//! Apps, the app sign-in policy each is bound to, and their user and group assignments. Only
//! apps defined by their settings alone can be created (bookmark, the SWA, basic auth and
//! secure password store templates, OIDC clients, custom SAML and SWA apps); catalog apps must
//! be added again from the catalog.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, activate_param, created_id, unsupported, without};
use crate::kinds::*;
use crate::read::lookup::{self as fetch, split_pair};
use crate::records::str_at;

impl Restore<'_> {
    pub(super) async fn create_app(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::app(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("/api/v1/apps/{id}"), &live, attrs)
                .await?;
            self.bind_policy(op, desired, &id, &live).await?;
            return Ok(Outcome::AlreadyDone { id });
        }
        let body = app_body(op, attrs, true)?;
        let active = activate_param(attrs);
        let url = c.url("/api/v1/apps", &[("activate", active)]);
        let live = c
            .send(Method::POST, &url, Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        // Okta binds a new app to the default app sign-in policy.
        self.bind_policy(op, desired, &id, &live).await?;
        Ok(Outcome::Applied { id })
    }

    /// Binds app `id` (as `live` shows it) to the app sign-in policy the record names, when it
    /// is bound to another.
    async fn bind_policy(
        &self,
        op: &Operation,
        desired: &Record,
        id: &str,
        live: &Value,
    ) -> Result<(), ProviderError> {
        let Some(policy) = desired.target("access_policy") else {
            return Ok(());
        };
        let want = self.live(op, POLICY, &policy.id)?;
        if access_policy(live) == Some(want.as_str()) {
            return Ok(());
        }
        let c = self.c();
        let path = format!("/api/v1/apps/{id}/policies/{want}");
        c.send(Method::PUT, &c.url(&path, &[]), None).await?;
        Ok(())
    }

    pub(super) async fn update_app(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let path = format!("/api/v1/apps/{id}");
        let body = app_body(op, attrs, false)?;
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, attrs).await?;
        self.bind_policy(op, desired, &id, &live).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_app(&self, id: String) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let path = format!("/api/v1/apps/{id}");
        if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
            && live["status"] == "ACTIVE"
        {
            self.lifecycle(&path, false).await?;
        }
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_app_user(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let (label, login) = split_pair(&op.kind, &op.key)?;
        let a = self.endpoint(op, desired, "app", APP, label).await?;
        let u = self.endpoint(op, desired, "user", USER, login).await?;
        let id = format!("{a}:{u}");
        let existing = c
            .get_opt(&c.url(&format!("/api/v1/apps/{a}/users/{u}"), &[]))
            .await?;
        if existing.is_some_and(|e| e["scope"] == "USER") {
            return Ok(Outcome::AlreadyDone { id });
        }
        let body = json!({
            "id": u, "scope": "USER",
            "credentials": {"userName": attrs.pointer("/credentials/userName")},
            "profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({})),
        });
        let url = c.url(&format!("/api/v1/apps/{a}/users"), &[]);
        c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_app_user(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let (label, login) = split_pair(&op.kind, &op.key)?;
        let a = self.endpoint(op, desired, "app", APP, label).await?;
        let u = self.endpoint(op, desired, "user", USER, login).await?;
        let body = json!({
            "credentials": {"userName": attrs.pointer("/credentials/userName")},
            "profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({})),
        });
        let url = c.url(&format!("/api/v1/apps/{a}/users/{u}"), &[]);
        c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied {
            id: format!("{a}:{u}"),
        })
    }

    pub(super) async fn delete_app_user(&self, id: String) -> Result<Outcome, ProviderError> {
        let (a, u) = id.split_once(':').unwrap_or_default();
        let path = format!("/api/v1/apps/{a}/users/{u}");
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_app_group(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let (label, name) = split_pair(&op.kind, &op.key)?;
        let a = self.endpoint(op, desired, "app", APP, label).await?;
        let g = self.endpoint(op, desired, "group", GROUP, name).await?;
        let id = format!("{a}:{g}");
        let url = c.url(&format!("/api/v1/apps/{a}/groups/{g}"), &[]);
        if c.get_opt(&url).await?.is_some() {
            return Ok(Outcome::AlreadyDone { id });
        }
        c.send(Method::PUT, &url, Some(&app_group_body(attrs)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_app_group(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let (label, name) = split_pair(&op.kind, &op.key)?;
        let a = self.endpoint(op, desired, "app", APP, label).await?;
        let g = self.endpoint(op, desired, "group", GROUP, name).await?;
        let url = c.url(&format!("/api/v1/apps/{a}/groups/{g}"), &[]);
        c.send(Method::PUT, &url, Some(&app_group_body(attrs)))
            .await?;
        Ok(Outcome::Applied {
            id: format!("{a}:{g}"),
        })
    }

    pub(super) async fn delete_app_group(&self, id: String) -> Result<Outcome, ProviderError> {
        let (a, g) = id.split_once(':').unwrap_or_default();
        let path = format!("/api/v1/apps/{a}/groups/{g}");
        self.delete_at(&path, id).await
    }
}

/// The id of the app sign-in policy an app (as the API returns it) is bound to.
fn access_policy(app: &Value) -> Option<&str> {
    app.pointer("/_links/accessPolicy/href")
        .and_then(Value::as_str)
        .and_then(|href| href.rsplit('/').next())
}

/// What an app create or replace sends: settings without status, signing keys and the policy
/// binding (a call of its own); custom apps without the `name` Okta generates. Catalog apps
/// cannot be created from settings.
fn app_body(op: &Operation, attrs: &Value, create: bool) -> Result<Value, ProviderError> {
    if create && let Some(reason) = from_catalog(attrs) {
        return Err(unsupported(op, &reason));
    }
    let mut body = without(attrs, &["status", "accessPolicy"]);
    if let Some(credentials) = body.get_mut("credentials").and_then(Value::as_object_mut) {
        credentials.remove("signing");
    }
    if create && custom(attrs) {
        body.as_object_mut().map(|m| m.remove("name"));
    }
    Ok(body)
}

/// Apps Okta creates from their settings alone, by `name`.
const FROM_SETTINGS: &[&str] = &[
    "bookmark",
    "template_swa",
    "template_swa3field",
    "template_basic_auth",
    "template_sps",
    "oidc_client",
];

/// Why an app cannot be created from its settings, if it cannot: a catalog (OIN) app comes
/// back only from the catalog.
pub(super) fn from_catalog(attrs: &Value) -> Option<String> {
    let name = str_at(attrs, "/name");
    let from_settings = FROM_SETTINGS.contains(&name) || custom(attrs);
    (!from_settings).then(|| {
        format!(
            "{name} is a catalog (OIN) app; add it again from the Okta catalog, then restore its assignments"
        )
    })
}

/// An app defined by its own settings rather than taken from the catalog, whose `name` Okta
/// generates: SAML with an ACS URL, SWA (`AUTO_LOGIN`) with a login URL.
pub(super) fn custom(attrs: &Value) -> bool {
    match str_at(attrs, "/signOnMode") {
        "SAML_2_0" => attrs.pointer("/settings/signOn/ssoAcsUrl").is_some(),
        "AUTO_LOGIN" => attrs.pointer("/settings/signOn/loginUrl").is_some(),
        _ => false,
    }
}

fn app_group_body(attrs: &Value) -> Value {
    let mut body = json!({"profile": attrs.get("profile").cloned().unwrap_or_else(|| json!({}))});
    if let Some(p) = attrs.get("priority").filter(|p| !p.is_null()) {
        body["priority"] = p.clone();
    }
    body
}
