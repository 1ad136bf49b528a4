//! Identity providers and their signing certificates. A certificate is uploaded again from
//! its public material (`x5c`) and gets a new `kid`; an IdP is written with the live `kid`
//! and live group ids. An OIDC or social IdP cannot be created without the client secret the
//! API never returns: [`not_creatable`] says so before the plan is applied.

use iamsnap_provider::{Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{LiveId, Restore, activate_param, applied, done, without};
use crate::kinds::*;
use crate::read::lookup as fetch;
use crate::records::str_at;

const BASE: &str = "/api/v1/idps";
const KEYS: &str = "/api/v1/idps/credentials/keys";

/// Why an IdP cannot be created through the API, if it cannot: only SAML 2.0 IdPs hold no
/// secret.
pub(super) fn not_creatable(attrs: &Value) -> Option<String> {
    let kind = str_at(attrs, "/type");
    (kind != "SAML2").then(|| {
        format!(
            "a {kind} identity provider needs its client secret, which the API never returns: add it again in the Admin Console, then restore to bring back its settings"
        )
    })
}

impl Restore<'_> {
    pub(super) async fn create_idp_key(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        if let Some(live) = fetch::idp_key(c, &op.key).await? {
            return Ok(Outcome::AlreadyDone {
                id: str_at(&live, "/kid").to_string(),
            });
        }
        let body = json!({"x5c": desired.attrs["x5c"]});
        let live = c
            .send(Method::POST, &c.url(KEYS, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        let kid = str_at(&live, "/kid");
        if kid.is_empty() {
            return Err(ProviderError::Decode {
                url: format!("{} {}", op.kind, op.key),
                message: "the answer to the upload has no kid".into(),
            });
        }
        Ok(Outcome::Applied {
            id: kid.to_string(),
        })
    }

    pub(super) async fn delete_idp_key(&self, kid: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{KEYS}/{kid}"), kid).await
    }

    fn idp_body(&self, op: &Operation, attrs: &Value) -> Result<Value, ProviderError> {
        let mut body = without(attrs, &["status"]);
        if let Some(kid) = body
            .pointer("/protocol/credentials/trust/kid")
            .and_then(Value::as_str)
        {
            body["protocol"]["credentials"]["trust"]["kid"] = json!(self.live(op, IDP_KEY, kid)?);
        }
        self.map_ids(
            op,
            &mut body,
            "/policy/provisioning/groups/assignments",
            GROUP,
        )?;
        Ok(body)
    }

    pub(super) async fn create_idp(
        &self,
        op: &Operation,
        desired: &Record,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let attrs = &desired.attrs;
        if let Some(live) = fetch::idp(c, &op.key).await? {
            let id = str_at(&live, "/id").to_string();
            self.converge_status(&format!("{BASE}/{id}"), &live, attrs)
                .await?;
            return Ok(done(&live));
        }
        if let Some(why) = not_creatable(attrs) {
            return Err(super::unsupported(op, &why));
        }
        let body = self.idp_body(op, attrs)?;
        let url = c.url(BASE, &[("activate", activate_param(attrs))]);
        applied(op, c.send(Method::POST, &url, Some(&body)).await?)
    }

    pub(super) async fn update_idp(
        &self,
        op: &Operation,
        desired: &Record,
        live_id: LiveId,
    ) -> Result<Outcome, ProviderError> {
        let c = self.c();
        let id = live_id?;
        let path = format!("{BASE}/{id}");
        let body = self.idp_body(op, &desired.attrs)?;
        let live = c
            .send(Method::PUT, &c.url(&path, &[]), Some(&body))
            .await?
            .unwrap_or_default();
        self.converge_status(&path, &live, &desired.attrs).await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_idp(&self, id: String) -> Result<Outcome, ProviderError> {
        self.delete_at(&format!("{BASE}/{id}"), id).await
    }
}
