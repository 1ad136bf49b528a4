//! Policies, their rules and network zones. Okta's own defaults (default policies and rules,
//! system zones) are updated, never re-created or deleted.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::Value;

use super::{
    LiveId, Restore, activate_param, applied, created_id, precondition, unsupported, without,
};
use crate::kinds::*;
use crate::read::lookup as fetch;
use crate::records::str_at;

/// Okta's own objects: updated, never re-created or deleted.
pub(super) const DEFAULT_POLICY: &str =
    "Okta creates default policies itself and never deletes them; they can only be updated";
pub(super) const DEFAULT_RULE: &str =
    "a default rule comes and goes with its policy; it can only be updated";
pub(super) const SYSTEM_ZONE: &str =
    "system zones are Okta's; they are never re-created or deleted, only updated";

impl Restore<'_> {
    pub(super) async fn create_policy(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::policy(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("/api/v1/policies/{id}"), &live, attrs)
                .await?;
            return Ok(Outcome::AlreadyDone { id });
        }
        if attrs["system"] == true {
            return Err(unsupported(op, DEFAULT_POLICY));
        }
        let body = self.policy_body(op, attrs)?;
        let active = activate_param(attrs);
        let url = c.url("/api/v1/policies", &[("activate", active)]);
        applied(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    pub(super) async fn update_policy(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let path = format!("/api/v1/policies/{id}");
        let body = self.policy_body(op, attrs)?;
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_policy(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        if op
            .current
            .as_ref()
            .is_some_and(|r| r.attrs["system"] == true)
        {
            return Err(unsupported(op, DEFAULT_POLICY));
        }
        let path = format!("/api/v1/policies/{id}");
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_policy_rule(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let policy = self.policy_of(op, desired).await?;
        if let Some((_, live)) = fetch::policy_rule(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            if attrs["system"] == true {
                // The default rule Okta made with its re-created policy: brought to the
                // snapshot's.
                return self.update_policy_rule(op, desired, Ok(id)).await;
            }
            self.converge_status(
                &format!("/api/v1/policies/{policy}/rules/{id}"),
                &live,
                attrs,
            )
            .await?;
            return Ok(Outcome::AlreadyDone { id });
        }
        if attrs["system"] == true {
            return Err(unsupported(op, DEFAULT_RULE));
        }
        let body = self.policy_body(op, attrs)?;
        let active = activate_param(attrs);
        let url = c.url(
            &format!("/api/v1/policies/{policy}/rules"),
            &[("activate", active)],
        );
        applied(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    pub(super) async fn update_policy_rule(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let policy = self.policy_of(op, desired).await?;
        let path = format!("/api/v1/policies/{policy}/rules/{id}");
        let body = self.policy_body(op, attrs)?;
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_policy_rule(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let current = op.current.as_ref();
        if current.is_some_and(|r| r.attrs["system"] == true) {
            return Err(unsupported(op, DEFAULT_RULE));
        }
        let policy = match current.and_then(|r| r.target("policy")) {
            Some(p) => p.id.clone(),
            None => match fetch::policy_rule(c, &op.key).await? {
                Some((p, _)) => p,
                None => return Ok(Outcome::AlreadyDone { id }),
            },
        };
        let path = format!("/api/v1/policies/{policy}/rules/{id}");
        self.delete_at(&path, id).await
    }

    pub(super) async fn create_zone(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::zone(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("/api/v1/zones/{id}"), &live, attrs)
                .await?;
            return Ok(Outcome::AlreadyDone { id });
        }
        if attrs["system"] == true {
            return Err(unsupported(op, SYSTEM_ZONE));
        }
        let body = without(attrs, &["status", "system"]);
        let url = c.url("/api/v1/zones", &[]);
        let live = c
            .send(Method::POST, &url, Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        self.converge_status(&format!("/api/v1/zones/{id}"), &live, attrs)
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_zone(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        let id = live_id?;
        let path = format!("/api/v1/zones/{id}");
        let body = without(attrs, &["status", "system"]);
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_zone(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if op
            .current
            .as_ref()
            .is_some_and(|r| r.attrs["system"] == true)
        {
            return Err(unsupported(op, SYSTEM_ZONE));
        }
        let path = format!("/api/v1/zones/{id}");
        if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
            && live["status"] == "ACTIVE"
        {
            self.lifecycle(&path, false).await?;
        }
        self.delete_at(&path, id).await
    }

    /// Group, user and zone ids in `conditions` rewritten to live ids.
    fn map_conditions(&self, op: &Operation, body: &mut Value) -> Result<(), ProviderError> {
        for list in ["include", "exclude"] {
            self.map_ids(
                op,
                body,
                &format!("/conditions/people/groups/{list}"),
                GROUP,
            )?;
            self.map_ids(op, body, &format!("/conditions/people/users/{list}"), USER)?;
            self.map_ids(op, body, &format!("/conditions/userType/{list}"), USER_TYPE)?;
            self.map_ids(
                op,
                body,
                &format!("/conditions/network/{list}"),
                NETWORK_ZONE,
            )?;
        }
        Ok(())
    }

    fn policy_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status", "system"]);
        self.map_conditions(op, &mut body)?;
        self.map_constraints(op, &mut body)?;
        // IdP discovery rules name their identity providers by id.
        if let Some(providers) = body
            .pointer_mut("/actions/idp/providers")
            .and_then(Value::as_array_mut)
        {
            for provider in providers {
                if let Some(id) = provider.get("id").and_then(Value::as_str) {
                    provider["id"] = Value::String(self.live(op, IDP, id)?);
                }
            }
        }
        Ok(body)
    }

    /// The live id of a rule's policy.
    async fn policy_of(&self, op: &Operation, desired: &Record) -> Result<String, ProviderError> {
        if let Some(p) = desired.target("policy")
            && let Some(id) = self.ids.live_id(POLICY, &p.id)
        {
            return Ok(id);
        }
        let policy_key = op.key.rsplit_once('|').map_or("", |(p, _)| p);
        fetch::policy(self.c(), policy_key)
            .await?
            .map(|p| str_at(&p, "/id").to_string())
            .ok_or_else(|| {
                precondition(
                    op,
                    &format!("policy {policy_key} does not exist live; restore it first"),
                )
            })
    }
}
