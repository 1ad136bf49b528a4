//! Restore of terms of use agreements: the settings of one that exists patched where they
//! differ, one that should not exist deleted. None is created: its PDF is not in the snapshot,
//! and the plan leaves a deleted agreement out (`refuses`) with the next step.

use iamsnap_http::status_of;
use iamsnap_provider::{Action, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value};

use super::{Restore, precondition, same};
use crate::read::fetch::segment;
use crate::records::id_of;
use crate::terms::{self, PATH, WRITABLE};

impl Restore<'_> {
    pub(super) async fn terms_of_use(
        &self,
        action: Action,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        if action == Action::Delete {
            let id = record.id.clone();
            let url = self.client.url(&format!("{PATH}/{}", segment(&id)));
            return match self.client.send(Method::DELETE, &url, None).await {
                Ok(_) => Ok(Outcome::Applied { id }),
                Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
                Err(e) => Err(e),
            };
        }
        let Some(live) = terms::live(self.client, &record.key).await? else {
            return Err(precondition(record, crate::kinds::TERMS_FILE));
        };
        let id = id_of(&live).to_string();
        let patch: Map<String, Value> = WRITABLE
            .iter()
            .filter(|f| !same(&record.attrs[**f], &live[**f]))
            .map(|f| (f.to_string(), record.attrs[*f].clone()))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        let url = self.client.url(&format!("{PATH}/{}", segment(&id)));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }
}
