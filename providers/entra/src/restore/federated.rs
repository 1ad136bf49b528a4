//! Restore of federated identity credentials: found by name within the live application,
//! created when missing, patched when they differ, deleted by live id.

use iamsnap_http::status_of;
use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{Restore, precondition};
use crate::read::fetch::segment;
use crate::records::id_of;

/// What Graph lets a client write besides the name, which cannot change.
const WRITABLE: [&str; 4] = ["issuer", "subject", "audiences", "description"];

impl Restore<'_> {
    fn credentials_path(record: &Record) -> Result<String, ProviderError> {
        let app = record
            .target("application")
            .map(|r| r.id.as_str())
            .ok_or_else(|| precondition(record, "the record has no application reference"))?;
        Ok(format!(
            "/applications/{}/federatedIdentityCredentials",
            segment(app)
        ))
    }

    pub(super) async fn save_federated(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let path = Self::credentials_path(record)?;
        let desired = &record.attrs;
        let live = match self.client.all(&path).await {
            Ok(list) => list.into_iter().find(|v| v["name"] == desired["name"]),
            Err(e) if status_of(&e) == Some(404) => {
                return Err(precondition(
                    record,
                    "the application does not exist in the live tenant; restore it first",
                ));
            }
            Err(e) => return Err(e),
        };
        let Some(live) = live else {
            let mut body: Map<String, Value> = WRITABLE
                .iter()
                .map(|f| (f.to_string(), desired[*f].clone()))
                .collect();
            body.insert("name".into(), desired["name"].clone());
            let created = self
                .client
                .send(
                    Method::POST,
                    &self.client.url(&path),
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
            .filter(|f| !super::same(&desired[**f], &live[**f]))
            .map(|f| (f.to_string(), desired[*f].clone()))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        let url = self.client.url(&format!("{path}/{}", segment(&id)));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_federated(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let path = Self::credentials_path(record)?;
        let id = record.id.clone();
        let url = self.client.url(&format!("{path}/{}", segment(&id)));
        match self.client.send(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }
}
