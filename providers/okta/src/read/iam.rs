//! Custom admin roles, resource sets and their bindings (`/api/v1/iam/…`). These lists are
//! paged in their bodies (`{"roles": […], "_links": {"next": {"href": …}}}`), not with `Link`
//! headers. Each role's permissions, each set's resources and bindings, and each binding's
//! members are read once the lists are in, a set's at a time per slot. An org whose token
//! may not read them (401 or 403) has none, which is logged.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use iamsnap_http::status_of;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use super::Snapshot;
use crate::client::OktaClient;
use crate::records::iam::{self as records, BindingHead};
use crate::records::str_at;

pub(crate) const ROLES: &str = "/api/v1/iam/roles";
pub(crate) const SETS: &str = "/api/v1/iam/resource-sets";

/// Every item of a list paged in its body: the array at `field` of each page, following
/// `_links.next.href` on the org.
pub(crate) async fn listed(
    c: &OktaClient,
    first: Url,
    field: &str,
) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    let mut next = Some(first);
    while let Some(url) = next.take() {
        let mut body = c.get(&url).await?;
        if let Some(Value::Array(items)) = body.get_mut(field).map(Value::take) {
            out.extend(items);
        }
        next = body
            .pointer("/_links/next/href")
            .and_then(Value::as_str)
            .and_then(|href| url.join(href).ok())
            // The token goes with every request: never follow a link off the org, and stop
            // when a page names itself as the next.
            .filter(|n| n.origin() == url.origin() && *n != url);
    }
    Ok(out)
}

/// Whether `e` is the answer of an org that does not let the token read the IAM lists.
fn forbidden(e: &ProviderError) -> bool {
    matches!(status_of(e), Some(401 | 403))
}

/// The org's resource sets, read once and shared by the IAM read and the custom role
/// assignments of users and groups (whose keys name their set by label).
#[derive(Debug, Default)]
pub(crate) struct Index {
    sets: OnceCell<Vec<Value>>,
}

impl Index {
    pub(crate) async fn sets(&self, c: &OktaClient) -> Result<&[Value], ProviderError> {
        let sets = self
            .sets
            .get_or_try_init(|| async {
                match listed(c, c.url(SETS, &[]), "resource-sets").await {
                    Err(e) if forbidden(&e) => {
                        tracing::warn!(
                            "the org answered {} to the list of resource sets (no custom admin roles, or the token may not read them): none backed up",
                            status_of(&e).unwrap_or_default()
                        );
                        Ok(Vec::new())
                    }
                    other => other,
                }
            })
            .await?;
        Ok(sets.as_slice())
    }

    /// The label of resource set `id` (the id itself for a set the list does not hold, such
    /// as Okta's standard resource sets).
    pub(crate) async fn set_label(
        &self,
        c: &OktaClient,
        id: &str,
    ) -> Result<String, ProviderError> {
        Ok(self
            .sets(c)
            .await?
            .iter()
            .find(|s| str_at(s, "/id") == id)
            .map_or(id, |s| str_at(s, "/label"))
            .to_string())
    }
}

impl Snapshot<'_> {
    pub(super) async fn iam(&self) -> Result<(), ProviderError> {
        let c = self.client;
        let roles = match listed(c, c.url(ROLES, &[]), "roles").await {
            Ok(roles) => roles,
            Err(e) if forbidden(&e) => {
                tracing::warn!(
                    "the org answered {} to the list of custom admin roles (no custom admin roles, or the token may not read them): none backed up",
                    status_of(&e).unwrap_or_default()
                );
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let labels: BTreeMap<String, String> = roles
            .iter()
            .map(|r| {
                (
                    str_at(r, "/id").to_string(),
                    str_at(r, "/label").to_string(),
                )
            })
            .collect();
        tokio::try_join!(self.custom_roles(roles), self.resource_sets(&labels))?;
        Ok(())
    }

    async fn custom_roles(&self, roles: Vec<Value>) -> Result<(), ProviderError> {
        let c = self.client;
        futures::stream::iter(roles.into_iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |role| async move {
                self.send(role_record(c, role).await?).await
            })
            .await
    }

    /// Each set with its resources, bindings and their members; `labels` holds the label of
    /// each custom role by id.
    async fn resource_sets(&self, labels: &BTreeMap<String, String>) -> Result<(), ProviderError> {
        let c = self.client;
        let sets = self.iam_index.sets(c).await?;
        futures::stream::iter(sets.iter().map(Ok))
            .try_for_each_concurrent(self.fan_out, |set| async move {
                for record in set_records(c, set, labels).await? {
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }
}

/// A custom role with its permissions, as a record.
async fn role_record(c: &OktaClient, role: Value) -> Result<Record, ProviderError> {
    let id = str_at(&role, "/id").to_string();
    let permissions = permissions(c, &id).await?;
    records::custom_role(role, permissions)
}

/// The permissions of custom role `id`.
pub(crate) async fn permissions(c: &OktaClient, id: &str) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(&format!("{ROLES}/{id}/permissions"), &[]);
    listed(c, url, "permissions").await
}

pub(crate) async fn resources(c: &OktaClient, set: &str) -> Result<Vec<Value>, ProviderError> {
    listed(
        c,
        c.url(&format!("{SETS}/{set}/resources"), &[]),
        "resources",
    )
    .await
}

/// The ids of the roles bound to set `set`.
pub(crate) async fn bindings(c: &OktaClient, set: &str) -> Result<Vec<String>, ProviderError> {
    let roles = listed(c, c.url(&format!("{SETS}/{set}/bindings"), &[]), "roles").await?;
    Ok(roles
        .iter()
        .map(|r| str_at(r, "/id").to_string())
        .filter(|id| !id.is_empty())
        .collect())
}

pub(crate) async fn members(
    c: &OktaClient,
    set: &str,
    role: &str,
) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(&format!("{SETS}/{set}/bindings/{role}/members"), &[]);
    listed(c, url, "members").await
}

/// A set, its resources and its bindings with their members, as records. `labels` holds the
/// label of each custom role by id.
async fn set_records(
    c: &OktaClient,
    set: &Value,
    labels: &BTreeMap<String, String>,
) -> Result<Vec<Record>, ProviderError> {
    let id = str_at(set, "/id");
    let mut out = vec![records::resource_set(
        set.clone(),
        &resources(c, id).await?,
    )?];
    for role in bindings(c, id).await? {
        let head = BindingHead {
            set_id: id.to_string(),
            set_label: str_at(set, "/label").to_string(),
            role_label: labels.get(&role).cloned().unwrap_or_else(|| role.clone()),
            custom: labels.contains_key(&role),
            role_id: role,
        };
        let members = members(c, id, &head.role_id).await?;
        out.push(records::binding(&head, &members));
    }
    Ok(out)
}

/// A custom role by label or id, if it exists.
pub(crate) async fn custom_role(
    c: &OktaClient,
    label: &str,
) -> Result<Option<Value>, ProviderError> {
    let url = c.url(&format!("{ROLES}/{}", OktaClient::segment(label)), &[]);
    c.get_opt(&url).await
}

/// A resource set by label or id, if it exists.
pub(crate) async fn resource_set(
    c: &OktaClient,
    label: &str,
) -> Result<Option<Value>, ProviderError> {
    let url = c.url(&format!("{SETS}/{}", OktaClient::segment(label)), &[]);
    c.get_opt(&url).await
}

/// The binding of key `SET|ROLE`, if its set exists and binds the role.
pub(crate) async fn binding(
    c: &OktaClient,
    key: &str,
) -> Result<Option<BindingHead>, ProviderError> {
    let Some((set_label, role_label)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(set) = resource_set(c, set_label).await? else {
        return Ok(None);
    };
    // A role the custom role list lacks (one of Okta's standard IAM roles) is named by id.
    let (role_id, custom) = match custom_role(c, role_label).await? {
        Some(role) => (str_at(&role, "/id").to_string(), true),
        None => (role_label.to_string(), false),
    };
    let set_id = str_at(&set, "/id").to_string();
    let url = c.url(&format!("{SETS}/{set_id}/bindings/{role_id}"), &[]);
    if c.get_opt(&url).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(BindingHead {
        set_id,
        set_label: str_at(&set, "/label").to_string(),
        role_id,
        role_label: role_label.to_string(),
        custom,
    }))
}

/// One record of the IAM kinds by key, read live.
pub(crate) async fn record(
    c: &OktaClient,
    kind: &str,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    use crate::kinds::*;
    match kind {
        CUSTOM_ROLE => match custom_role(c, key).await? {
            Some(role) => role_record(c, role).await.map(Some),
            None => Ok(None),
        },
        RESOURCE_SET => match resource_set(c, key).await? {
            Some(set) => {
                let resources = resources(c, str_at(&set, "/id")).await?;
                records::resource_set(set, &resources).map(Some)
            }
            None => Ok(None),
        },
        _ => match binding(c, key).await? {
            Some(head) => {
                let members = members(c, &head.set_id, &head.role_id).await?;
                Ok(Some(records::binding(&head, &members)))
            }
            None => Ok(None),
        },
    }
}
