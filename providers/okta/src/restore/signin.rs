//! Authenticators, behavior detection rules and group owners.
//!
//! An authenticator exists once per key and is never deleted: a missing one is created
//! (`POST /api/v1/authenticators?activate=…`) unless Okta owns it (the password) or it needs a
//! secret the API never returns ([`authenticator_not_creatable`]); a live one is replaced
//! (`PUT`, `name`, `settings` and `provider`) and its status set through its lifecycle. App
//! sign-in rules that name authenticators by id get the live ids. Behavior detection rules are
//! created, replaced, deleted and (de)activated by name. Group owners are assigned and
//! removed; an owner the app imports is the app's.

use iamsnap_http::status_of;
use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, activate_param, created_id, done, precondition, unsupported};
use crate::kinds::*;
use crate::read::lookup::split_pair;
use crate::read::signin::{self as fetch, AUTHENTICATORS, BEHAVIORS};
use crate::records::str_at;

/// Keys whose authenticator holds a secret the API never returns (or an uploaded file).
const SECRET_KEYS: &[&str] = &[
    "duo",
    "onprem_mfa",
    "rsa_token",
    "symantec_vip",
    "yubikey_token",
    "custom_app",
    "smart_card_idp",
];

/// Why a missing authenticator cannot be created through the API, if it cannot.
pub(super) fn authenticator_not_creatable(attrs: &Value) -> Option<String> {
    let key = str_at(attrs, "/key");
    if key == "okta_password" {
        return Some(
            "every org has Okta's password authenticator; it is updated, never created".into(),
        );
    }
    SECRET_KEYS.contains(&key).then(|| {
        format!(
            "the {key} authenticator needs a secret the API never returns (or a file to upload): add it again in the Admin Console, then restore to bring back its settings and status"
        )
    })
}

/// Why a group owner cannot be assigned through the API, if it cannot.
pub(super) fn owner_not_assignable(attrs: &Value) -> Option<String> {
    (str_at(attrs, "/originType") == "APPLICATION").then(|| {
        "this owner comes from the group's app (imported with its groups): import the app's groups again".to_string()
    })
}

impl Restore<'_> {
    /// The writable part of an authenticator: `name`, `settings`, `provider` (an IdP
    /// authenticator's identity provider as its live id).
    fn authenticator_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = json!({"key": attrs["key"], "name": attrs["name"]});
        for field in ["settings", "provider"] {
            if let Some(v) = attrs.get(field).filter(|v| !v.is_null()) {
                body[field] = v.clone();
            }
        }
        if let Some(idp) = body
            .pointer("/provider/configuration/idpId")
            .and_then(Value::as_str)
        {
            body["provider"]["configuration"]["idpId"] = json!(self.live(op, IDP, idp)?);
        }
        Ok(body)
    }

    pub(super) async fn create_authenticator(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::authenticator(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("{AUTHENTICATORS}/{id}"), &live, attrs)
                .await?;
            return Ok(done(&live));
        }
        if let Some(why) = authenticator_not_creatable(attrs) {
            return Err(unsupported(op, &why));
        }
        let body = self.authenticator_body(op, attrs)?;
        let url = c.url(AUTHENTICATORS, &[("activate", activate_param(attrs))]);
        let live = c.send(Method::POST, &url, Some(&body)).await?;
        created_id(op, live).map(|id| Outcome::Applied { id })
    }

    pub(super) async fn update_authenticator(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{AUTHENTICATORS}/{id}");
        let mut body = self.authenticator_body(op, &desired.attrs)?;
        body.as_object_mut().map(|m| m.remove("key"));
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs)
            .await
            .map_err(|e| in_use(op, e))?;
        Ok(Outcome::Applied { id })
    }

    /// Authenticator ids named in an app sign-in rule's verification method, as live ids.
    pub(super) fn map_constraints(
        &self,
        op: &Operation,
        body: &mut Value,
    ) -> Result<(), ProviderError> {
        fn walk(r: &Restore<'_>, op: &Operation, v: &mut Value) -> Result<(), ProviderError> {
            match v {
                Value::Object(map) => {
                    if map.get("key").is_some_and(Value::is_string)
                        && let Some(Value::String(id)) = map.get("id")
                    {
                        let live = r.live(op, AUTHENTICATOR, id)?;
                        map.insert("id".into(), json!(live));
                    }
                    for v in map.values_mut() {
                        walk(r, op, v)?;
                    }
                }
                Value::Array(items) => {
                    for v in items {
                        walk(r, op, v)?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        match body.pointer_mut("/actions/appSignOn/verificationMethod/constraints") {
            Some(constraints) => walk(self, op, constraints),
            None => Ok(()),
        }
    }

    pub(super) async fn create_behavior(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::behavior(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("{BEHAVIORS}/{id}"), &live, attrs)
                .await?;
            return Ok(done(&live));
        }
        let body = behavior_body(attrs);
        let url = c.url(BEHAVIORS, &[("activate", activate_param(attrs))]);
        let live = c.send(Method::POST, &url, Some(&body)).await?;
        created_id(op, live).map(|id| Outcome::Applied { id })
    }

    pub(super) async fn update_behavior(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{BEHAVIORS}/{id}");
        let body = behavior_body(&desired.attrs);
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_behavior(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{BEHAVIORS}/{id}"), id).await
    }

    pub(super) async fn assign_group_owner(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(why) = owner_not_assignable(&desired.attrs) {
            return Err(unsupported(op, &why));
        }
        let (group_name, member) = split_pair(&op.kind, &op.key)?;
        let group = self
            .endpoint(op, desired, "group", GROUP, group_name)
            .await?;
        let (owner_type, owner) = if let Some(login) = member.strip_prefix("user:") {
            (
                "USER",
                self.endpoint(op, desired, "owner", USER, login).await?,
            )
        } else if let Some(name) = member.strip_prefix("group:") {
            (
                "GROUP",
                self.endpoint(op, desired, "owner", GROUP, name).await?,
            )
        } else {
            return Err(precondition(
                op,
                "the key should read GROUP|user:LOGIN or GROUP|group:NAME",
            ));
        };
        let id = format!("{group}:{owner}");
        let path = format!("/api/v1/groups/{group}/owners");
        let listed = fetch::owners(c, &group)
            .await?
            .iter()
            .any(|o| str_at(o, "/id") == owner);
        if listed {
            return Ok(Outcome::AlreadyDone { id });
        }
        let body = json!({"id": owner, "type": owner_type});
        c.send(Method::POST, &c.url(&path, &[]), Some(&body))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn remove_group_owner(&self, id: String) -> Result<Outcome, ProviderError> {
        let (group, owner) = id.split_once(':').unwrap_or_default();
        let path = format!("/api/v1/groups/{group}/owners/{owner}");
        self.delete_at(&path, id.clone()).await
    }
}

fn behavior_body(attrs: &Value) -> Value {
    json!({"name": attrs["name"], "type": attrs["type"], "settings": attrs["settings"]})
}

/// Okta's refusal to deactivate an authenticator that active enrollment policies still offer
/// (403 `E0000148`), said as what to do; any other error as it is.
fn in_use(op: &Operation, e: ProviderError) -> ProviderError {
    if status_of(&e) == Some(403) && e.to_string().contains("E0000148") {
        return precondition(
            op,
            &format!(
                "Okta refuses to deactivate it while active authenticator enrollment policies offer it ({e}); restore those policies first, or set the authenticator to NOT_ALLOWED in them"
            ),
        );
    }
    e
}
