//! Users, user types and the user profile schema. Users come back without credentials, so
//! their status goes only as far as such a user can go (see [`super::reachable`]).

use iamsnap_http::status_of;
use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{LiveId, Restore, SIGNED_IN, applied, created_id, done, precondition, unsupported};
use crate::kinds::*;
use crate::read::lookup as fetch;
use crate::records::{self, str_at};

impl Restore<'_> {
    pub(super) async fn create_user(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let mut body = json!({"profile": attrs["profile"]});
        if let Some(t) = desired.target("type") {
            body["type"] = json!({"id": self.live(op, USER_TYPE, &t.id)?});
        }
        // Create first: the plan saw no such user. Okta refuses a login that exists
        // (a retried request that went through, a user made meanwhile): that user is
        // then the one to converge.
        let url = c.url("/api/v1/users", &[("activate", "false")]);
        let created = match c.send(Method::POST, &url, Some(&body)).await {
            Ok(created) => created,
            Err(e) if status_of(&e) == Some(400) => {
                let Some(live) = fetch::user(c, &op.key).await? else {
                    return Err(self.undefined_property(op, desired, e).await);
                };
                let id = str_at(&live, "/id").to_string();
                self.converge_user(&id, str_at(&live, "/status"), str_at(attrs, "/status"))
                    .await?;
                return Ok(Outcome::AlreadyDone { id });
            }
            Err(e) => return Err(e),
        };
        let id = created_id(op, created)?;
        self.converge_user(&id, "STAGED", str_at(attrs, "/status"))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_user(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let live = c.get(&c.url(&format!("/api/v1/users/{id}"), &[])).await?;
        let mut body = json!({"profile": attrs["profile"]});
        if let Some(t) = desired.target("type") {
            body["type"] = json!({"id": self.live(op, USER_TYPE, &t.id)?});
        }
        let url = c.url(&format!("/api/v1/users/{id}"), &[]);
        c.send(Method::PUT, &url, Some(&body)).await?;
        self.converge_user(&id, str_at(&live, "/status"), str_at(attrs, "/status"))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_user(&self, id: String) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let Some(live) = c
            .get_opt(&c.url(&format!("/api/v1/users/{id}"), &[]))
            .await?
        else {
            return Ok(Outcome::AlreadyDone { id });
        };
        // Okta deletes only deactivated users.
        if live["status"] != "DEPROVISIONED" {
            let url = c.url(
                &format!("/api/v1/users/{id}/lifecycle/deactivate"),
                &[("sendEmail", "false")],
            );
            c.send(Method::POST, &url, None).await?;
        }
        let path = format!("/api/v1/users/{id}");
        self.delete_at(&path, id).await
    }

    /// Moves a user from `current` towards `desired` status, as far as a user without
    /// credentials can go. Emails are sent only with `activate_users`.
    async fn converge_user(
        &self,
        id: &str,
        current: &str,
        desired: &str,
    ) -> Result<(), ProviderError> {
        let c = self.c();
        let lifecycle = |action: &str, email: bool| {
            let mut query = vec![];
            if action == "activate" || action == "deactivate" {
                query.push(("sendEmail", if email { "true" } else { "false" }));
            }
            c.url(&format!("/api/v1/users/{id}/lifecycle/{action}"), &query)
        };
        if current == desired {
            return Ok(());
        }
        let step = match (current, desired) {
            (_, "DEPROVISIONED") => Some(("deactivate", false)),
            ("STAGED" | "DEPROVISIONED", "PROVISIONED") => Some(("activate", false)),
            ("SUSPENDED", d) if SIGNED_IN.contains(&d) => Some(("unsuspend", false)),
            ("ACTIVE", "SUSPENDED") => Some(("suspend", false)),
            ("STAGED" | "DEPROVISIONED", d) if SIGNED_IN.contains(&d) && self.activate_users => {
                Some(("activate", true))
            }
            _ => None,
        };
        if let Some((action, email)) = step {
            c.send(Method::POST, &lifecycle(action, email), None)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn create_user_type(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::user_type(c, &op.key).await? {
            return Ok(done(&live));
        }
        let body = json!({"name": attrs["name"], "displayName": attrs["displayName"],
                          "description": attrs["description"]});
        let url = c.url("/api/v1/meta/types/user", &[]);
        applied(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    pub(super) async fn update_user_type(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let body =
            json!({"displayName": attrs["displayName"], "description": attrs["description"]});
        let url = c.url(&format!("/api/v1/meta/types/user/{id}"), &[]);
        c.send(Method::POST, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_user_type(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        if op
            .current
            .as_ref()
            .is_some_and(|r| r.attrs["default"] == true)
        {
            return Err(unsupported(op, "Okta never deletes the default user type"));
        }
        let path = format!("/api/v1/meta/types/user/{id}");
        self.delete_at(&path, id).await
    }

    /// Okta's refusal of a profile attribute its user type's schema does not define (400
    /// E0000001 "Property name 'x' is not defined in profile"), said as what to restore first;
    /// any other error as it is.
    async fn undefined_property(
        &self,
        op: &Operation,
        desired: &Record,
        e: ProviderError,
    ) -> ProviderError {
        let message = e.to_string();
        let Some(name) = message
            .split("Property name '")
            .nth(1)
            .and_then(|rest| rest.split_once('\''))
            .map(|(name, _)| name.to_string())
        else {
            return e;
        };
        let c = self.c();
        let live_type = desired
            .target("type")
            .and_then(|t| self.ids.live_id(USER_TYPE, &t.id));
        let type_name = match live_type {
            Some(id) => c
                .get(&c.url(&format!("/api/v1/meta/types/user/{id}"), &[]))
                .await
                .ok()
                .map(|t| str_at(&t, "/name").to_string()),
            None => None,
        }
        .unwrap_or_else(|| "default".to_string());
        precondition(
            op,
            &format!(
                "its profile attribute {name} is not defined in the profile schema of user type {type_name}; restore okta.user_schema {type_name} (its custom attribute {name}) first"
            ),
        )
    }

    /// Brings the custom attributes of a user type's profile schema to the snapshot's. The
    /// schema comes and goes with its type: a re-created type's schema is updated.
    pub(super) async fn update_schema(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let Some(user_type) = fetch::schema_type(c, &op.key).await? else {
            return Err(precondition(
                op,
                &format!("user type {} does not exist live; restore it first", op.key),
            ));
        };
        let url = c.url(&records::schema_path(&user_type), &[]);
        let live = c.get(&url).await?;
        let body = schema_body(attrs, &live);
        let updated = c.send(Method::POST, &url, Some(&body)).await?;
        let id = records::user_schema(&user_type, updated.unwrap_or(live)).id;
        Ok(Outcome::Applied { id })
    }
}

/// The schema update: desired custom properties, and `null` for live ones the snapshot lacks.
pub(super) fn schema_body(desired: &Value, live: &Value) -> Value {
    let want = desired
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut properties: Map<String, Value> = want.clone();
    if let Some(have) = live
        .pointer("/definitions/custom/properties")
        .and_then(Value::as_object)
    {
        for name in have.keys().filter(|k| !want.contains_key(*k)) {
            properties.insert(name.clone(), Value::Null);
        }
    }
    json!({"definitions": {"custom": {"id": "#custom", "type": "object", "properties": properties}}})
}
