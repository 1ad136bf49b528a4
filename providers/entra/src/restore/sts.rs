//! Restore of claims-mapping and token-lifetime policies (found by display name, created or
//! patched where they differ, deleted by live id) and of their assignment to service
//! principals (`$ref` links, each end named by its live id).

use iamsnap_http::status_of;
use iamsnap_provider::{Action, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, precondition, same};
use crate::kinds::SERVICE_PRINCIPAL_POLICY;
use crate::read::fetch::segment;
use crate::records::id_of;
use crate::sts::{self, Family, WRITABLE};

fn family(record: &Record) -> Result<Family, ProviderError> {
    let kind = match record.kind.as_str() {
        SERVICE_PRINCIPAL_POLICY => record.target("policy").map(|r| r.kind.as_str()),
        kind => Some(kind),
    };
    kind.and_then(Family::of_kind).ok_or_else(|| {
        precondition(
            record,
            "the record names no claims-mapping or token-lifetime policy",
        )
    })
}

impl Restore<'_> {
    pub(super) async fn token_policy(
        &self,
        action: Action,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let family = family(record)?;
        if record.kind == SERVICE_PRINCIPAL_POLICY {
            return self.token_policy_assignment(action, family, record).await;
        }
        if action == Action::Delete {
            return self
                .delete_at(
                    &format!("{}/{}", family.path(), segment(&record.id)),
                    &record.id,
                )
                .await;
        }
        let desired = &record.attrs;
        let name = desired["displayName"].as_str().unwrap_or_default();
        let Some(live) = sts::live(self.client, family, name).await? else {
            let body: Map<String, Value> = WRITABLE
                .iter()
                .filter(|f| !desired[**f].is_null())
                .map(|f| (f.to_string(), desired[*f].clone()))
                .collect();
            let created = self
                .client
                .send(
                    Method::POST,
                    &self.client.url(&family.path()),
                    Some(&Value::Object(body)),
                )
                .await?
                .unwrap_or(Value::Null);
            return Ok(Outcome::Applied {
                id: id_of(&created).to_string(),
            });
        };
        let id = id_of(&live).to_string();
        let patch: Map<String, Value> = WRITABLE
            .iter()
            .filter(|f| !same(&desired[**f], &live[**f]))
            .map(|f| (f.to_string(), desired[*f].clone()))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        let url = self
            .client
            .url(&format!("{}/{}", family.path(), segment(&id)));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    async fn token_policy_assignment(
        &self,
        action: Action,
        family: Family,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let end = |rel: &str| {
            record
                .target(rel)
                .map(|r| segment(&r.id))
                .ok_or_else(|| precondition(record, &format!("the record has no {rel} reference")))
        };
        let (sp, policy) = (end("servicePrincipal")?, end("policy")?);
        let id = format!("{sp}/{policy}");
        let base = format!("/servicePrincipals/{sp}/{}", family.segment);
        if action == Action::Delete {
            return self.delete_at(&format!("{base}/{policy}/$ref"), &id).await;
        }
        let body = json!({"@odata.id": self.client.url(&format!("{}/{policy}", family.path())).to_string()});
        match self
            .client
            .send(
                Method::POST,
                &self.client.url(&format!("{base}/$ref")),
                Some(&body),
            )
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(ProviderError::Http {
                status: 400,
                message,
                ..
            }) if message.contains("already exist") => Ok(Outcome::AlreadyDone { id }),
            Err(e) if status_of(&e) == Some(404) => Err(precondition(
                record,
                &format!(
                    "service principal {sp} or policy {policy} does not exist in the live tenant; restore it first ({e})"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    async fn delete_at(&self, path: &str, id: &str) -> Result<Outcome, ProviderError> {
        let id = id.to_string();
        match self
            .client
            .send(Method::DELETE, &self.client.url(path), None)
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }
}
