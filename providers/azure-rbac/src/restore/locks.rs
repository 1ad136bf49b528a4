//! Management locks: written whole with `PUT` (create and update alike), removed by id.

use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::json;

use super::{Restore, text};
use crate::client::LOCKS_API;

pub(super) async fn put(restore: &Restore<'_>, desired: &Record) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    let path = format!(
        "{}/providers/Microsoft.Authorization/locks/{}",
        text(desired, "scope"),
        text(desired, "name")
    );
    let mut properties = json!({"level": text(desired, "level")});
    if let Some(notes) = desired.attrs["notes"].as_str() {
        properties["notes"] = json!(notes);
    }
    let answer = client
        .send(
            Method::PUT,
            &client.url(&path, LOCKS_API, &[]),
            Some(&json!({"properties": properties})),
        )
        .await?;
    let id = answer
        .as_ref()
        .and_then(|a| a["id"].as_str())
        .unwrap_or(&path)
        .to_string();
    Ok(Outcome::Applied { id })
}

pub(super) async fn delete(
    restore: &Restore<'_>,
    current: &Record,
) -> Result<Outcome, ProviderError> {
    let client = restore.client;
    client
        .send(
            Method::DELETE,
            &client.url(&current.id, LOCKS_API, &[]),
            None,
        )
        .await?;
    Ok(Outcome::Applied {
        id: current.id.clone(),
    })
}
