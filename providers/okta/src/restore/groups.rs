//! Groups, their members and group rules. Only `OKTA_GROUP`s are written: app groups and
//! their members belong to their app, the built-in Everyone to Okta.

use iamsnap_http::status_of;
use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, applied, created_id, done, unsupported, without};
use crate::kinds::*;
use crate::read::lookup::{self as fetch, split_pair};
use crate::records::str_at;

impl Restore<'_> {
    pub(super) async fn create_group(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        writable_group(op, attrs)?;
        if let Some(live) = fetch::group(c, &op.key).await? {
            return Ok(done(&live));
        }
        let body = json!({"profile": attrs["profile"]});
        let url = c.url("/api/v1/groups", &[]);
        applied(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    pub(super) async fn update_group(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        writable_group(op, attrs)?;
        let id = live_id?;
        let url = c.url(&format!("/api/v1/groups/{id}"), &[]);
        let body = json!({"profile": attrs["profile"]});
        c.send(Method::PUT, &url, Some(&body)).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_group(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        if let Some(r) = &op.current {
            writable_group(op, &r.attrs)?;
        }
        let path = format!("/api/v1/groups/{id}");
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_membership(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let (group_name, login) = split_pair(&op.kind, &op.key)?;
        let g = self
            .endpoint(op, desired, "group", GROUP, group_name)
            .await?;
        let u = self.endpoint(op, desired, "user", USER, login).await?;
        let id = format!("{g}:{u}");
        // Adding a member is idempotent in Okta: no need to ask first.
        let url = c.url(&format!("/api/v1/groups/{g}/users/{u}"), &[]);
        match c.send(Method::PUT, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if matches!(status_of(&e), Some(400 | 403)) => {
                // Only Okta groups take members through the API; say so plainly.
                let group = c.get(&c.url(&format!("/api/v1/groups/{g}"), &[])).await?;
                match str_at(&group, "/type") {
                    "OKTA_GROUP" => Err(e),
                    other => Err(unsupported(
                        op,
                        &format!(
                            "members of {other} groups are managed by {}; {}",
                            if other == "APP_GROUP" {
                                "their app"
                            } else {
                                "Okta"
                            },
                            if other == "APP_GROUP" {
                                "re-import them from the app"
                            } else {
                                "nothing to restore"
                            }
                        ),
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn delete_membership(&self, id: String) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let (g, u) = id.split_once(':').unwrap_or_default();
        // Okta answers 204 to removing a non-member: ask first.
        if !fetch::is_member(c, g, u).await? {
            return Ok(Outcome::AlreadyDone { id });
        }
        let path = format!("/api/v1/groups/{g}/users/{u}");
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_group_rule(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let want_active = attrs["status"] == "ACTIVE";
        if let Some(live) = fetch::group_rule(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            if want_active && live["status"] != "ACTIVE" {
                self.lifecycle(&format!("/api/v1/groups/rules/{id}"), true)
                    .await?;
            }
            return Ok(Outcome::AlreadyDone { id });
        }
        let body = self.group_rule_body(op, attrs)?;
        let url = c.url("/api/v1/groups/rules", &[]);
        let id = created_id(op, c.send(Method::POST, &url, Some(&body)).await?)?;
        // Okta creates rules inactive; activate those that were active.
        if want_active {
            self.lifecycle(&format!("/api/v1/groups/rules/{id}"), true)
                .await?;
        }
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_group_rule(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let path = format!("/api/v1/groups/rules/{id}");
        let live = c.get(&c.url(&path, &[])).await?;
        // Okta only changes inactive rules.
        if live["status"] == "ACTIVE" {
            self.lifecycle(&path, false).await?;
        }
        let body = self.group_rule_body(op, attrs)?;
        c.send(Method::PUT, &c.url(&path, &[]), Some(&body)).await?;
        if attrs["status"] == "ACTIVE" {
            self.lifecycle(&path, true).await?;
        }
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_group_rule(&self, id: String) -> Result<Outcome, ProviderError> {
        let path = format!("/api/v1/groups/rules/{id}");
        self.delete_at(&path, id).await
    }

    fn group_rule_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status"]);
        body["type"] = json!("group_rule");
        self.map_ids(op, &mut body, "/actions/assignUserToGroups/groupIds", GROUP)?;
        self.map_ids(op, &mut body, "/conditions/people/groups/exclude", GROUP)?;
        self.map_ids(op, &mut body, "/conditions/people/users/exclude", USER)?;
        Ok(body)
    }
}

/// Only Okta groups are written through the API: app groups belong to their app, built-in
/// ones to Okta.
fn writable_group(op: &Operation, attrs: &Value) -> Result<(), ProviderError> {
    match not_writable(attrs) {
        None => Ok(()),
        Some(reason) => Err(unsupported(op, &reason)),
    }
}

/// Why a group cannot be written through the API, if it cannot.
pub(super) fn not_writable(attrs: &Value) -> Option<String> {
    match str_at(attrs, "/type") {
        "OKTA_GROUP" | "" => None,
        "APP_GROUP" => {
            Some("app groups are owned by their app; re-import them from the app".into())
        }
        other => Some(format!("{other} groups are Okta's own")),
    }
}
