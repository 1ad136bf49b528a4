//! Authenticators and behavior detection rules (each one list, read whole: the reference
//! pages neither), and the owners of each group (one list per group: Okta has no list of
//! every group's owners). An org without Identity Engine answers the authenticators' list
//! with 401 or 403: it has none to back up, which is logged.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::TryStreamExt;
use iamsnap_http::status_of;
use iamsnap_provider::{ProviderError, Record};
use serde_json::Value;

use super::{Snapshot, limits};
use crate::client::OktaClient;
use crate::records::signin::{self as records, Owner};
use crate::records::{GroupHead, str_at};

pub(crate) const AUTHENTICATORS: &str = "/api/v1/authenticators";
pub(crate) const BEHAVIORS: &str = "/api/v1/behaviors";

impl Snapshot<'_> {
    pub(super) async fn authenticators(&self) -> Result<(), ProviderError> {
        for v in optional(self.client, AUTHENTICATORS, "authenticators").await? {
            self.send(records::authenticator(v)?).await?;
        }
        Ok(())
    }

    pub(super) async fn behaviors(&self) -> Result<(), ProviderError> {
        for v in optional(self.client, BEHAVIORS, "behavior detection rules").await? {
            self.send(records::behavior(v)?).await?;
        }
        Ok(())
    }

    /// The owners of every group but Everyone (app groups may have owners their app
    /// imports), one list per group. Users who own groups are read once each, for their login.
    /// The Group Owners API comes with Okta Identity Governance: an org without it answers
    /// the first group's list with 401 or 403, and no other group is asked.
    pub(super) async fn group_owners(
        &self,
        c: &OktaClient,
        heads: &[GroupHead],
    ) -> Result<(), ProviderError> {
        let names: HashMap<&str, &str> = heads
            .iter()
            .map(|h| (h.id.as_str(), h.name.as_str()))
            .collect();
        let logins = Mutex::new(HashMap::new());
        let (names, logins) = (&names, &logins);
        let mut owned = heads.iter().filter(|h| h.group_type != "BUILT_IN");
        let Some(first) = owned.next() else {
            return Ok(());
        };
        let first_owners = match owners(c, &first.id).await {
            Ok(listed) => listed,
            Err(e) if matches!(status_of(&e), Some(401 | 403)) => {
                tracing::warn!(
                    "the org answered {} to the owners of group {} (no Okta Identity Governance, or the token may not read them): no group owners backed up",
                    status_of(&e).unwrap_or_default(),
                    first.name
                );
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let first = (first, Some(first_owners));
        let rest = owned.map(|head| (head, None));
        futures::stream::iter(std::iter::once(first).chain(rest).map(Ok))
            .try_for_each_concurrent(self.fan_out, |(head, listed)| async move {
                let listed = match listed {
                    Some(listed) => listed,
                    None => owners(c, &head.id).await?,
                };
                for v in listed {
                    let Some(owner) = resolve(c, &v, names, logins).await? else {
                        continue;
                    };
                    let record = records::group_owner((&head.id, &head.name), &owner, &v)?;
                    self.send(record).await?;
                }
                Ok(())
            })
            .await
    }
}

/// A list the org may not have (no Identity Engine): 401 and 403 are logged and read as
/// empty.
async fn optional(c: &OktaClient, path: &str, what: &str) -> Result<Vec<Value>, ProviderError> {
    match c.all(c.url(path, &[])).await {
        Ok(items) => Ok(items),
        Err(e) if matches!(status_of(&e), Some(401 | 403)) => {
            tracing::warn!(
                "the org answered {} to the list of {what} (no Identity Engine, or the token may not read them): none backed up",
                status_of(&e).unwrap_or_default()
            );
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn authenticators(c: &OktaClient) -> Result<Vec<Value>, ProviderError> {
    c.all(c.url(AUTHENTICATORS, &[])).await
}

/// An authenticator by its natural key ([`records::authenticator_key`]).
pub(crate) async fn authenticator(
    c: &OktaClient,
    key: &str,
) -> Result<Option<Value>, ProviderError> {
    Ok(authenticators(c)
        .await?
        .into_iter()
        .find(|a| records::authenticator_key(a) == key))
}

pub(crate) async fn behavior(c: &OktaClient, name: &str) -> Result<Option<Value>, ProviderError> {
    Ok(c.all(c.url(BEHAVIORS, &[]))
        .await?
        .into_iter()
        .find(|b| str_at(b, "/name") == name))
}

pub(crate) async fn owners(c: &OktaClient, group: &str) -> Result<Vec<Value>, ProviderError> {
    let url = c.url(
        &format!("/api/v1/groups/{group}/owners"),
        &[("limit", limits::GROUP_OWNERS)],
    );
    c.all(url).await
}

/// The owner an owners' list entry names: a user by its login (read once), a group by its
/// name; `None` for one that no longer exists.
async fn resolve(
    c: &OktaClient,
    v: &Value,
    names: &HashMap<&str, &str>,
    logins: &Mutex<HashMap<String, Option<String>>>,
) -> Result<Option<Owner>, ProviderError> {
    let id = str_at(v, "/id").to_string();
    match str_at(v, "/type") {
        "GROUP" => Ok(names.get(id.as_str()).map(|name| Owner::Group {
            name: name.to_string(),
            id,
        })),
        _ => {
            let known = logins
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .cloned();
            let login = match known {
                Some(login) => login,
                None => {
                    let user = c
                        .get_opt(&c.url(&format!("/api/v1/users/{id}"), &[]))
                        .await?;
                    let login = user.map(|u| str_at(&u, "/profile/login").to_string());
                    logins
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(id.clone(), login.clone());
                    login
                }
            };
            Ok(login.map(|login| Owner::User { id, login }))
        }
    }
}

/// A group owner by key `GROUP|user:LOGIN` or `GROUP|group:NAME`, read live.
pub(crate) async fn group_owner(
    c: &OktaClient,
    key: &str,
) -> Result<Option<Record>, ProviderError> {
    let Some((group_name, member)) = key.rsplit_once('|') else {
        return Ok(None);
    };
    let Some(group) = super::lookup::group(c, group_name).await? else {
        return Ok(None);
    };
    let head = GroupHead::of(&group);
    let owner = if let Some(login) = member.strip_prefix("user:") {
        super::lookup::user(c, login).await?.map(|u| Owner::User {
            id: str_at(&u, "/id").to_string(),
            login: str_at(&u, "/profile/login").to_string(),
        })
    } else if let Some(name) = member.strip_prefix("group:") {
        super::lookup::group(c, name).await?.map(|g| Owner::Group {
            id: str_at(&g, "/id").to_string(),
            name: name.to_string(),
        })
    } else {
        None
    };
    let Some(owner) = owner else {
        return Ok(None);
    };
    let owner_id = match &owner {
        Owner::User { id, .. } | Owner::Group { id, .. } => id.clone(),
    };
    let found = owners(c, &head.id)
        .await?
        .into_iter()
        .find(|v| str_at(v, "/id") == owner_id);
    found
        .map(|v| records::group_owner((&head.id, &head.name), &owner, &v))
        .transpose()
}
