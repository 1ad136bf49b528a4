//! Custom authorization servers, their scopes, claims, access policies and rules. What
//! belongs to a server is written under the server's live id (mapped, or found by name); a
//! policy's client apps and a rule's groups and users are rewritten to live ids, Okta's
//! literals (`ALL_CLIENTS`, `EVERYONE`) kept. System scopes come with their server: they are
//! updated, never created or deleted. Statuses are set through the lifecycle operations.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, created_id, done, precondition, without};
use crate::kinds::*;
use crate::read::authz as fetch;
use crate::records::str_at;

const BASE: &str = "/api/v1/authorizationServers";

pub(super) const SYSTEM_SCOPE: &str =
    "system scopes come and go with their authorization server; they can only be updated";

/// Where the objects of a kind under a server live: `{BASE}/{server}/{family}`.
fn family(kind: &str) -> &'static str {
    match kind {
        AUTH_SCOPE => "scopes",
        AUTH_CLAIM => "claims",
        _ => "policies",
    }
}

impl Restore<'_> {
    pub(super) async fn create_auth_server(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(live) = fetch::server(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("{BASE}/{id}"), &live, &desired.attrs)
                .await?;
            return Ok(done(&live));
        }
        let body = without(&desired.attrs, &["status"]);
        let live = c
            .send(Method::POST, &c.url(BASE, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        self.converge_status(&format!("{BASE}/{id}"), &live, &desired.attrs)
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_auth_server(
        &self,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{BASE}/{id}");
        let body = without(&desired.attrs, &["status"]);
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    /// Deactivated first, then deleted with all that is under it.
    pub(super) async fn delete_auth_server(&self, id: String) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let path = format!("{BASE}/{id}");
        if let Some(live) = c.get_opt(&c.url(&path, &[])).await?
            && live["status"] == "ACTIVE"
        {
            self.lifecycle(&path, false).await?;
        }
        self.delete_at(&path, id).await
    }

    /// The live id of the server a record belongs to: mapped from its `server` ref, or found
    /// by the name its key starts with.
    async fn server_of(&self, op: &Operation, record: &Record) -> Result<String, ProviderError> {
        if let Some(s) = record.target("server")
            && let Some(id) = self.ids.live_id(AUTH_SERVER, &s.id)
        {
            return Ok(id);
        }
        let name = op.key.split('|').next().unwrap_or_default();
        fetch::server(self.c(), name)
            .await?
            .map(|s| str_at(&s, "/id").to_string())
            .ok_or_else(|| {
                precondition(
                    op,
                    &format!("authorization server {name} does not exist live; restore it first"),
                )
            })
    }

    /// The live id of a rule's access policy.
    async fn auth_policy_of(
        &self,
        op: &Operation,
        record: &Record,
    ) -> Result<String, ProviderError> {
        if let Some(p) = record.target("policy")
            && let Some(id) = self.ids.live_id(AUTH_POLICY, &p.id)
        {
            return Ok(id);
        }
        let policy_key = op.key.rsplit_once('|').map_or("", |(p, _)| p);
        fetch::policy(self.c(), policy_key)
            .await?
            .map(|(_, p)| str_at(&p, "/id").to_string())
            .ok_or_else(|| {
                precondition(
                    op,
                    &format!("access policy {policy_key} does not exist live; restore it first"),
                )
            })
    }

    /// The collection a scope, claim, policy or rule is created in.
    async fn collection(&self, op: &Operation, record: &Record) -> Result<String, ProviderError> {
        let server = self.server_of(op, record).await?;
        if op.kind == AUTH_RULE {
            let policy = self.auth_policy_of(op, record).await?;
            return Ok(format!("{BASE}/{server}/policies/{policy}/rules"));
        }
        Ok(format!("{BASE}/{server}/{}", family(&op.kind)))
    }

    /// The body to write: ids rewritten, what Okta sets itself left out.
    fn auth_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status", "system"]);
        if let Some(hook) = body
            .pointer("/actions/token/inlineHook/id")
            .and_then(Value::as_str)
        {
            body["actions"]["token"]["inlineHook"]["id"] =
                json!(self.live(op, INLINE_HOOK, hook)?);
        }
        self.map_ids_but(
            op,
            &mut body,
            "/conditions/clients/include",
            APP,
            "ALL_CLIENTS",
        )?;
        for list in ["include", "exclude"] {
            let groups = format!("/conditions/people/groups/{list}");
            self.map_ids_but(op, &mut body, &groups, GROUP, "EVERYONE")?;
            self.map_ids(
                op,
                &mut body,
                &format!("/conditions/people/users/{list}"),
                USER,
            )?;
        }
        Ok(body)
    }

    /// [`Restore::map_ids`] for a list that may also hold Okta's literal `keep`.
    fn map_ids_but(
        &self,
        op: &Operation,
        body: &mut Value,
        pointer: &str,
        kind: &str,
        keep: &str,
    ) -> Result<(), ProviderError> {
        let Some(list) = body.pointer_mut(pointer).and_then(Value::as_array_mut) else {
            return Ok(());
        };
        for item in list.iter_mut() {
            if let Some(id) = item.as_str().filter(|id| *id != keep) {
                *item = json!(self.live(op, kind, id)?);
            }
        }
        Ok(())
    }

    /// The live object of `op`'s kind and key, if it exists.
    async fn live_member(&self, op: &Operation) -> Result<Option<Value>, ProviderError> {
        let c = self.c();
        Ok(match op.kind.as_str() {
            AUTH_SCOPE => fetch::scope(c, &op.key).await?.map(|(_, v)| v),
            AUTH_CLAIM => fetch::claim(c, &op.key).await?.map(|(_, v)| v),
            AUTH_POLICY => fetch::policy(c, &op.key).await?.map(|(_, v)| v),
            _ => fetch::rule(c, &op.key).await?.map(|(_, _, v)| v),
        })
    }

    pub(super) async fn create_auth_member(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let path = self.collection(op, desired).await?;
        if let Some(live) = self.live_member(op).await? {
            let id = str_at(&live, "/id").to_string();
            if desired.attrs["system"] == true {
                // The system scope Okta made with the re-created server: brought to the
                // snapshot's.
                return self.update_auth_member(op, desired, Ok(id)).await;
            }
            self.converge_status(&format!("{path}/{id}"), &live, &desired.attrs)
                .await?;
            return Ok(done(&live));
        }
        if desired.attrs["system"] == true {
            return Err(super::unsupported(op, SYSTEM_SCOPE));
        }
        let body = self.auth_body(op, &desired.attrs)?;
        let live = c
            .send(Method::POST, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        let id = created_id(op, Some(live.clone()))?;
        self.converge_status(&format!("{path}/{id}"), &live, &desired.attrs)
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn update_auth_member(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{}/{id}", self.collection(op, desired).await?);
        let body = self.auth_body(op, &desired.attrs)?;
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_auth_member(
        &self,
        op: &Operation,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let current = op.current.as_ref();
        if current.is_some_and(|r| r.attrs["system"] == true) {
            return Err(super::unsupported(op, SYSTEM_SCOPE));
        }
        // The current record carries live ids; without one, the object is looked up.
        let server = current
            .and_then(|r| r.target("server"))
            .map(|s| s.id.clone());
        let policy = current
            .and_then(|r| r.target("policy"))
            .map(|p| p.id.clone());
        let path = match (server, op.kind.as_str(), policy) {
            (Some(s), AUTH_RULE, Some(p)) => format!("{BASE}/{s}/policies/{p}/rules"),
            (Some(s), kind, _) if kind != AUTH_RULE => format!("{BASE}/{s}/{}", family(kind)),
            _ => match fetch::record(self.c(), &op.kind, &op.key).await? {
                Some(live) => return Box::pin(self.delete_live_member(op, live, id)).await,
                None => return Ok(Outcome::AlreadyDone { id }),
            },
        };
        self.delete_at(&format!("{path}/{id}"), id).await
    }

    async fn delete_live_member(
        &self,
        op: &Operation,
        live: Record,
        id: String,
    ) -> Result<Outcome, ProviderError> {
        let with_current = Operation {
            current: Some(live),
            ..op.clone()
        };
        self.delete_auth_member(&with_current, id).await
    }
}
