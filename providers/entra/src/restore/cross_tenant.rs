//! Restore of the cross-tenant access policy: the default settings patched where they differ;
//! a partner organisation's settings created with its tenant id, patched where they differ, or
//! removed.

use iamsnap_http::status_of;
use iamsnap_provider::{Action, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{Restore, same};
use crate::cross_tenant::{self, DEFAULT_PATH, PARTNERS_PATH};
use crate::kinds::CROSS_TENANT_DEFAULT;
use crate::read::fetch::segment;

impl Restore<'_> {
    pub(super) async fn cross_tenant(
        &self,
        action: Action,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let id = record.key.clone();
        let url = if record.kind == CROSS_TENANT_DEFAULT {
            self.client.url(DEFAULT_PATH)
        } else {
            self.client
                .url(&format!("{PARTNERS_PATH}/{}", segment(&record.key)))
        };
        if action == Action::Delete {
            return match self.client.send(Method::DELETE, &url, None).await {
                Ok(_) => Ok(Outcome::Applied { id }),
                Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
                Err(e) => Err(e),
            };
        }
        let fields = cross_tenant::writable(&record.kind);
        let Some(live) = self.client.get_opt(&url).await? else {
            let mut body: Map<String, Value> = fields
                .iter()
                .filter(|f| !record.attrs[**f].is_null())
                .map(|f| (f.to_string(), record.attrs[*f].clone()))
                .collect();
            body.insert("tenantId".into(), Value::String(record.key.clone()));
            self.client
                .send(
                    Method::POST,
                    &self.client.url(PARTNERS_PATH),
                    Some(&Value::Object(body)),
                )
                .await?;
            return Ok(Outcome::Applied { id });
        };
        let patch: Map<String, Value> = fields
            .iter()
            .filter(|f| !same(&record.attrs[**f], &live[**f]))
            .map(|f| (f.to_string(), record.attrs[*f].clone()))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }
}
