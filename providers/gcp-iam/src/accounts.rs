//! Service accounts' own policies and keys read, and service accounts restored: a deleted one
//! is undeleted by its unique id (same email, same unique id, so the `deleted:serviceAccount:`
//! members of every policy turn plain again); one deleted longer than IAM keeps it is created
//! again under the same email.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt, stream};
use iamsnap_http::{found, status_of};
use iamsnap_provider::{Action, Operation, Outcome, ProviderError, Record, RecordSink};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Client;
use crate::records;

/// Reads the own policy and the user-managed keys of each account (`projects/P/serviceAccounts/
/// EMAIL`), `fan_out` accounts at once, and sends their records; a kind in `excluded` costs no
/// request. An account deleted since it was listed has neither.
pub(crate) async fn read_own(
    client: &Client,
    accounts: Vec<String>,
    excluded: &BTreeSet<String>,
    sink: &RecordSink,
    fan_out: usize,
) -> Result<(), ProviderError> {
    let policies = !excluded.contains(crate::kinds::SERVICE_ACCOUNT_MEMBER);
    let keys = !excluded.contains(crate::kinds::SERVICE_ACCOUNT_KEY);
    let mut reads = stream::iter(accounts.into_iter().map(|name| async move {
        let mut out = Vec::new();
        if policies {
            let Some(policy) = found(client.get_policy(&name).await)? else {
                return Ok(out);
            };
            out.extend(records::of_policy(&name, &policy));
        }
        let mut url = client.iam_url(&format!("{name}/keys"));
        url.query_pairs_mut()
            .append_pair("keyTypes", "USER_MANAGED");
        if keys && let Some(keys) = found(client.send(Method::GET, &url, None).await)? {
            let keys = keys["keys"].as_array().into_iter().flatten();
            out.extend(keys.map(records::service_account_key));
        }
        Ok::<_, ProviderError>(out)
    }))
    .buffer_unordered(fan_out.max(1));
    while let Some(records) = reads.try_next().await? {
        for record in records {
            sink.send(record)
                .await
                .map_err(|_| ProviderError::Cancelled)?;
        }
    }
    Ok(())
}

fn text<'a>(record: &'a Record, field: &str) -> &'a str {
    record.attrs[field].as_str().unwrap_or_default()
}

async fn set_disabled(
    client: &Client,
    project: &str,
    email: &str,
    disabled: bool,
) -> Result<(), ProviderError> {
    let verb = if disabled { "disable" } else { "enable" };
    let url = client.iam_url(&format!(
        "projects/{project}/serviceAccounts/{email}:{verb}"
    ));
    client
        .send(Method::POST, &url, Some(&json!({})))
        .await
        .map(|_| ())
}

pub(crate) async fn apply(
    client: &Client,
    op: &Operation,
    record: &Record,
) -> Result<Outcome, ProviderError> {
    let (project, email) = (text(record, "projectId"), text(record, "email"));
    match op.action {
        Action::Create => {
            let get = client.iam_url(&format!("projects/-/serviceAccounts/{email}"));
            if let Some(live) = found(client.send(Method::GET, &get, None).await)? {
                return Ok(Outcome::AlreadyDone {
                    id: live["uniqueId"].as_str().unwrap_or_default().to_string(),
                });
            }
            let undelete = client.iam_url(&format!(
                "projects/{project}/serviceAccounts/{}:undelete",
                record.id
            ));
            match client.send(Method::POST, &undelete, Some(&json!({}))).await {
                Ok(_) => {
                    // Undeleted as it was when deleted; the snapshot's state may differ.
                    set_disabled(client, project, email, record.attrs["disabled"] == true).await?;
                    return Ok(Outcome::Applied {
                        id: record.id.clone(),
                    });
                }
                Err(e) if matches!(status_of(&e), Some(404 | 400)) => {
                    tracing::info!(
                        email,
                        "the service account can no longer be undeleted; creating it again"
                    );
                }
                Err(e) => return Err(e),
            }
            let account_id = email.split('@').next().unwrap_or_default();
            let body = json!({"accountId": account_id, "serviceAccount": {
                "displayName": text(record, "displayName"), "description": text(record, "description")}});
            let url = client.iam_url(&format!("projects/{project}/serviceAccounts"));
            let created: Value = client.send(Method::POST, &url, Some(&body)).await?;
            if record.attrs["disabled"] == true {
                set_disabled(client, project, email, true).await?;
            }
            Ok(Outcome::Applied {
                id: created["uniqueId"].as_str().unwrap_or_default().to_string(),
            })
        }
        Action::Update => {
            let url = client.iam_url(&format!("projects/{project}/serviceAccounts/{email}"));
            let body = json!({"serviceAccount": {"displayName": text(record, "displayName"),
                "description": text(record, "description")}, "updateMask": "displayName,description"});
            let live = client.send(Method::PATCH, &url, Some(&body)).await?;
            set_disabled(client, project, email, record.attrs["disabled"] == true).await?;
            Ok(Outcome::Applied {
                id: live["uniqueId"].as_str().unwrap_or(&record.id).to_string(),
            })
        }
        Action::Delete => {
            let url = client.iam_url(&format!("projects/{project}/serviceAccounts/{email}"));
            match found(client.send(Method::DELETE, &url, None).await)? {
                Some(_) => Ok(Outcome::Applied {
                    id: record.id.clone(),
                }),
                None => Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                }),
            }
        }
    }
}
