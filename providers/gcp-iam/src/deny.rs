//! IAM v2 deny policies of the organization, its folders and projects: read (listed, then
//! each read whole, since a list leaves the rules out), and restored by `createPolicy` under
//! the same policy id, by `update` with the etag read, or by `delete`, each waiting for its
//! long-running operation to be done.

use std::time::{Duration, Instant};

use iamsnap_http::{found, status_of};
use iamsnap_provider::{Action, Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use crate::client::Client;
use crate::kinds::DENY_POLICY;

/// Read-modify-write rounds before giving up on a policy that keeps moving.
const ROUNDS: u32 = 8;
/// How long an operation may take before the restore stops waiting for it.
const WAIT: Duration = Duration::from_secs(120);
/// The first pause between two polls of an operation; each pause doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// `policies/cloudresourcemanager.googleapis.com%2FRESOURCE/denypolicies`: the attachment point
/// is the resource's full name, URL-encoded into one path segment.
fn parent(resource: &str) -> String {
    let point: String = url::form_urlencoded::byte_serialize(
        format!("cloudresourcemanager.googleapis.com/{resource}").as_bytes(),
    )
    .collect();
    format!("policies/{point}/denypolicies")
}

/// `RESOURCE|POLICY_ID`.
fn key(resource: &str, id: &str) -> String {
    format!("{resource}|{id}")
}

/// A deny policy as `get` answers it, attached to `resource` (`organizations/ID`,
/// `folders/ID`, `projects/PROJECT_ID`). What IAM sets itself (uid, etag, times) is left out.
fn record(resource: &str, policy: &Value) -> Record {
    let name = policy["name"].as_str().unwrap_or_default();
    let id = name.rsplit('/').next().unwrap_or_default();
    let key = key(resource, id);
    let attrs = json!({
        "resource": resource,
        "policyId": id,
        "displayName": policy["displayName"].as_str().unwrap_or_default(),
        "annotations": policy.get("annotations").filter(|a| a.is_object()).cloned().unwrap_or_else(|| json!({})),
        "rules": policy.get("rules").filter(|r| r.is_array()).cloned().unwrap_or_else(|| json!([])),
    });
    Record::new(DENY_POLICY, key.clone(), key, attrs, vec![])
}

/// Every deny policy attached to `resource`.
pub(crate) async fn read(client: &Client, resource: &str) -> Result<Vec<Record>, ProviderError> {
    let listed = client
        .all_of(client.iam_v2_url(&parent(resource)), "policies")
        .await?;
    let mut out = Vec::with_capacity(listed.len());
    for meta in listed {
        let id = meta["name"]
            .as_str()
            .and_then(|n| n.rsplit('/').next())
            .unwrap_or_default();
        let url = policy_url(client, resource, id);
        // Deleted between the list and the read: nothing to keep.
        if let Some(policy) = found(client.send(Method::GET, &url, None).await)? {
            out.push(record(resource, &policy));
        }
    }
    Ok(out)
}

fn policy_url(client: &Client, resource: &str, id: &str) -> Url {
    client.iam_v2_url(&format!("{}/{id}", parent(resource)))
}

/// One deny policy read again, by its key.
pub(crate) async fn fetch(client: &Client, key: &str) -> Result<Option<Record>, ProviderError> {
    let Some((resource, id)) = key.split_once('|') else {
        return Ok(None);
    };
    let url = policy_url(client, resource, id);
    match client.send(Method::GET, &url, None).await {
        Ok(policy) => Ok(Some(record(resource, &policy))),
        Err(e) if matches!(status_of(&e), Some(403 | 404)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The name of a `google.rpc.Code`, as Google's error bodies spell it.
fn status_name(code: i64) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("code {code}"), |n| n.to_string())
}

/// Polls `op` until it is done, pausing longer each time, and answers its response; an
/// operation that ends in an error, or takes longer than [`WAIT`], is an error naming it.
async fn wait(client: &Client, record: &Record, mut op: Value) -> Result<Value, ProviderError> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let failed = |message: String| ProviderError::Precondition {
        kind: DENY_POLICY.to_string(),
        key: record.key.clone(),
        message,
    };
    loop {
        let name = op["name"].as_str().unwrap_or_default().to_string();
        if op["done"] == true {
            if let Some(error) = op.get("error").filter(|e| e.is_object()) {
                return Err(failed(format!(
                    "IAM's operation {name} failed ({}): {}; check the policy with `gcloud iam policies get`, then restore again",
                    status_name(error["code"].as_i64().unwrap_or(2)),
                    error["message"].as_str().unwrap_or("no message")
                )));
            }
            return Ok(op["response"].clone());
        }
        if name.is_empty() {
            return Err(failed(
                "IAM answered neither a finished operation nor an operation name to poll".into(),
            ));
        }
        if started.elapsed() >= WAIT {
            return Err(failed(format!(
                "IAM's operation {name} was not done after {}s; check it with `gcloud iam operations describe`, then restore again",
                WAIT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
        op = client
            .send(Method::GET, &client.iam_v2_url(&name), None)
            .await?;
    }
}

/// The fields a write sends: the display name and rules (and, on create, the annotations).
fn body(record: &Record, create: bool) -> Value {
    let mut body = json!({
        "displayName": record.attrs["displayName"],
        "rules": record.attrs["rules"],
    });
    if create {
        body["annotations"] = record.attrs["annotations"].clone();
    }
    body
}

fn text<'a>(record: &'a Record, field: &str) -> &'a str {
    record.attrs[field].as_str().unwrap_or_default()
}

/// Updates the live policy to the snapshot's display name and rules with the etag read; a
/// 409 (another writer moved the etag) reads again. `None` when there is no live policy.
async fn update(client: &Client, record: &Record) -> Result<Option<Outcome>, ProviderError> {
    let (resource, id) = (text(record, "resource"), text(record, "policyId"));
    let url = policy_url(client, resource, id);
    for round in 1..=ROUNDS {
        let Some(live) = found(client.send(Method::GET, &url, None).await)? else {
            return Ok(None);
        };
        let now = self::record(resource, &live);
        let same = |f: &str| now.attrs[f] == record.attrs[f];
        if same("displayName") && same("rules") {
            if same("annotations") {
                return Ok(Some(Outcome::AlreadyDone {
                    id: record.id.clone(),
                }));
            }
            return Ok(Some(annotations_kept()));
        }
        let mut put = body(record, false);
        put["etag"] = live["etag"].clone();
        match client.send(Method::PUT, &url, Some(&put)).await {
            Ok(op) => {
                wait(client, record, op).await?;
                return Ok(Some(if same("annotations") {
                    Outcome::Applied {
                        id: record.id.clone(),
                    }
                } else {
                    annotations_kept()
                }));
            }
            Err(e) if status_of(&e) == Some(409) && round < ROUNDS => {
                tracing::debug!(
                    key = %record.key,
                    round,
                    "the deny policy changed since it was read; reading it again"
                );
                tokio::time::sleep(Duration::from_millis(100 * u64::from(round))).await;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last round returns")
}

fn annotations_kept() -> Outcome {
    Outcome::Skipped {
        reason: "IAM sets a deny policy's annotations only when the policy is created: its rules and display name are as backed up, its annotations as they are live; to get them back, delete the policy and restore again".into(),
    }
}

/// Performs one operation on a deny policy.
pub(crate) async fn apply(
    client: &Client,
    op: &Operation,
    record: &Record,
) -> Result<Outcome, ProviderError> {
    let (resource, id) = (text(record, "resource"), text(record, "policyId"));
    match op.action {
        Action::Create => {
            let mut url = client.iam_v2_url(&parent(resource));
            url.query_pairs_mut().append_pair("policyId", id);
            match client
                .send(Method::POST, &url, Some(&body(record, true)))
                .await
            {
                Ok(started) => {
                    wait(client, record, started).await?;
                    Ok(Outcome::Applied {
                        id: record.id.clone(),
                    })
                }
                // Created meanwhile (or by a run that was stopped): made as backed up.
                Err(e) if status_of(&e) == Some(409) => match update(client, record).await? {
                    Some(outcome) => Ok(outcome),
                    None => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        Action::Update => match update(client, record).await? {
            Some(outcome) => Ok(outcome),
            None => Err(ProviderError::Precondition {
                kind: DENY_POLICY.to_string(),
                key: record.key.clone(),
                message: "the deny policy is gone since the plan was made; plan the restore again"
                    .into(),
            }),
        },
        Action::Delete => {
            let url = policy_url(client, resource, id);
            let Some(live) = found(client.send(Method::GET, &url, None).await)? else {
                return Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                });
            };
            let mut delete = url.clone();
            if let Some(etag) = live["etag"].as_str() {
                delete.query_pairs_mut().append_pair("etag", etag);
            }
            match found(client.send(Method::DELETE, &delete, None).await)? {
                Some(started) => {
                    wait(client, record, started).await?;
                    Ok(Outcome::Applied {
                        id: record.id.clone(),
                    })
                }
                None => Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_error_is_named_as_google_names_its_code() {
        assert_eq!(status_name(10), "ABORTED");
        assert_eq!(status_name(99), "code 99");
    }

    #[test]
    fn the_attachment_point_is_one_url_encoded_path_segment() {
        assert_eq!(
            parent("projects/acme-prod"),
            "policies/cloudresourcemanager.googleapis.com%2Fprojects%2Facme-prod/denypolicies"
        );
    }

    #[test]
    fn a_record_keeps_the_rules_as_read_and_leaves_what_iam_sets_out() {
        let rules = json!([{"denyRule": {"deniedPrincipals": ["principalSet://goog/public:all"],
            "deniedPermissions": ["iam.googleapis.com/roles.delete"],
            "denialCondition": {"title": "t", "expression": "resource.matchTag('1/env', 'prod')"}}}]);
        let policy = json!({
            "name": "policies/cloudresourcemanager.googleapis.com%2Fprojects%2F123/denypolicies/no-deletes",
            "uid": "u", "etag": "e", "kind": "DenyPolicy", "displayName": "No deletes", "rules": rules,
        });
        let r = record("projects/acme-prod", &policy);
        assert_eq!(r.key, "projects/acme-prod|no-deletes");
        assert_eq!(r.attrs["rules"], rules);
        assert!(r.attrs.get("etag").is_none() && r.attrs.get("uid").is_none());
    }
}
