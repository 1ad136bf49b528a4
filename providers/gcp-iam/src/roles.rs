//! Restoring custom roles. Deleted roles grant nothing and are not backed up; one deleted
//! within the last 7 days is still there, marked deleted: it is undeleted, and its bindings
//! (which IAM keeps, inactive) work again. One
//! deleted earlier is gone for good with its bindings, and IAM refuses its id until 37 days
//! after the deletion: it is reported, or with `--rename-deleted-roles` created again under
//! the id with [`SUFFIX`], and its members are granted that role instead.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use iamsnap_http::status_of;
use iamsnap_provider::{Action, Operation, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::Client;

/// What a role re-created under a new id has appended to its id.
pub const SUFFIX: &str = "_restored";

/// The fields of a role a restore writes.
const MASK: &str = "title,description,includedPermissions,stage";

/// What a restore knows of custom roles: whether it may rename, the roles read live, and
/// those it renamed.
#[derive(Debug, Default)]
pub(crate) struct Roles {
    pub rename: bool,
    /// Names of the roles the last live read saw, deleted ones included.
    pub live: Mutex<BTreeSet<String>>,
    /// Original name → the name it was created again under, in this run.
    pub renamed: Mutex<HashMap<String, String>>,
}

/// `PARENT/roles/ID` → `PARENT/roles/ID_restored` (ids are at most 64 characters).
pub(crate) fn renamed_name(name: &str) -> String {
    let (parent, id) = name.split_once("/roles/").unwrap_or((name, ""));
    let keep = 64 - SUFFIX.len();
    let id: String = id.chars().take(keep).collect();
    format!("{parent}/roles/{id}{SUFFIX}")
}

fn text<'a>(record: &'a Record, field: &str) -> &'a str {
    record.attrs[field].as_str().unwrap_or_default()
}

fn body(record: &Record) -> Value {
    json!({
        "title": text(record, "title"),
        "description": text(record, "description"),
        "includedPermissions": record.attrs["includedPermissions"],
        "stage": text(record, "stage"),
    })
}

fn reserved(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Http { status: 400, message, .. } if message.contains("FAILED_PRECONDITION"))
}

impl Roles {
    fn is_live(&self, name: &str) -> bool {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(name)
    }

    /// The role that stands in for `role`: the one it was created again under, when the
    /// original is gone and the renamed one exists.
    pub(crate) fn stand_in(&self, role: &str) -> Option<String> {
        if let Some(n) = self
            .renamed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(role)
        {
            return Some(n.clone());
        }
        let renamed = renamed_name(role);
        (role.contains("/roles/") && !self.is_live(role) && self.is_live(&renamed))
            .then_some(renamed)
    }

    /// Why a plan leaves out `action` on the custom role `record`.
    pub(crate) fn refuses(&self, action: Action, record: &Record) -> Option<String> {
        match action {
            Action::Create => self.stand_in(&record.key).map(|n| {
                format!(
                    "it was created again as {n}, its id being held by IAM for 37 days after its deletion; its members are granted {n}"
                )
            }),
            Action::Delete => record
                .key
                .strip_suffix(SUFFIX)
                .filter(|original| !self.is_live(original))
                .map(|original| {
                    format!(
                        "it stands in for {original}, whose id IAM still holds; delete it by hand once {original} is back"
                    )
                }),
            Action::Update => None,
        }
    }

    /// Why a plan leaves out `action` on a member of a binding of a custom role that was
    /// created again under another id: the member is granted that one instead.
    pub(crate) fn refuses_member(&self, action: Action, record: &Record) -> Option<String> {
        let role = record.attrs["role"].as_str().unwrap_or_default();
        match action {
            Action::Create => self.stand_in(role).map(|n| {
                format!("its role was created again as {n}, which is granted to it instead")
            }),
            Action::Delete => role
                .strip_suffix(SUFFIX)
                .filter(|original| !self.is_live(original))
                .map(|original| {
                    format!("its role stands in for {original}, whose id IAM still holds")
                }),
            Action::Update => None,
        }
    }

    pub(crate) async fn apply(
        &self,
        client: &Client,
        op: &Operation,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let name = record.key.as_str();
        match op.action {
            Action::Create => self.create(client, record).await,
            Action::Update => {
                let live = client
                    .send(Method::GET, &client.iam_url(name), None)
                    .await?;
                self.patch(client, record, &live).await?;
                Ok(Outcome::Applied {
                    id: name.to_string(),
                })
            }
            Action::Delete => {
                let url = client.iam_url(name);
                match client.send(Method::DELETE, &url, None).await {
                    Ok(_) => Ok(Outcome::Applied {
                        id: name.to_string(),
                    }),
                    Err(e) if matches!(status_of(&e), Some(404)) || reserved(&e) => {
                        Ok(Outcome::AlreadyDone {
                            id: name.to_string(),
                        })
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Writes the snapshot's fields over `live` when they differ, with `live`'s etag.
    async fn patch(
        &self,
        client: &Client,
        record: &Record,
        live: &Value,
    ) -> Result<bool, ProviderError> {
        if crate::records::custom_role(live).attrs == record.attrs {
            return Ok(false);
        }
        let mut url = client.iam_url(&record.key);
        url.query_pairs_mut().append_pair("updateMask", MASK);
        let mut patch = body(record);
        patch["etag"] = live["etag"].clone();
        client.send(Method::PATCH, &url, Some(&patch)).await?;
        Ok(true)
    }

    async fn create(&self, client: &Client, record: &Record) -> Result<Outcome, ProviderError> {
        let name = record.key.as_str();
        // Deleted within the last 7 days: still there, marked deleted, and undeletable.
        let get = client.iam_url(name);
        if let Some(live) = iamsnap_http::found(client.send(Method::GET, &get, None).await)? {
            let live = if live["deleted"] == true {
                let undelete = client.iam_url(&format!("{name}:undelete"));
                client
                    .send(
                        Method::POST,
                        &undelete,
                        Some(&json!({"etag": live["etag"]})),
                    )
                    .await?
            } else {
                live
            };
            self.patch(client, record, &live).await?;
            return Ok(Outcome::Applied {
                id: name.to_string(),
            });
        }
        let parent = text(record, "parent");
        let url = client.iam_url(&format!("{parent}/roles"));
        let wanted = json!({"roleId": text(record, "roleId"), "role": body(record)});
        match client.send(Method::POST, &url, Some(&wanted)).await {
            Ok(_) => {
                return Ok(Outcome::Applied {
                    id: name.to_string(),
                });
            }
            Err(e) if status_of(&e) == Some(409) => {
                return Ok(Outcome::AlreadyDone {
                    id: name.to_string(),
                });
            }
            Err(e) if reserved(&e) => {}
            Err(e) => return Err(e),
        }
        if !self.rename {
            return Ok(Outcome::Skipped {
                reason: format!(
                    "it was deleted more than 7 days ago, for good, with its bindings, and IAM holds its id until 37 days after the deletion: restore again with --rename-deleted-roles to create it as {} and grant its members that role, or after those 37 days to create it under its own id",
                    renamed_name(name)
                ),
            });
        }
        let new_name = renamed_name(name);
        let new_id = new_name.rsplit('/').next().unwrap_or_default();
        let again = json!({"roleId": new_id, "role": body(record)});
        match client.send(Method::POST, &url, Some(&again)).await {
            Ok(_) => {}
            Err(e) if status_of(&e) == Some(409) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(role = name, as_ = %new_name, "created the custom role again under a new id");
        self.renamed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), new_name.clone());
        // Not this role, but one standing in for it: the plan's record is not what now
        // exists, and a check of it would find it missing.
        Ok(Outcome::Skipped {
            reason: format!(
                "IAM holds its id until 37 days after its deletion: created again as {new_name}, and its members are granted that role instead"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_role_keeps_its_parent_and_fits_in_64_characters() {
        assert_eq!(
            renamed_name("projects/p/roles/custom.viewer"),
            "projects/p/roles/custom.viewer_restored"
        );
        let long = format!("organizations/1/roles/{}", "a".repeat(64));
        let id = renamed_name(&long).rsplit('/').next().unwrap().to_string();
        assert_eq!(id.len(), 64);
    }

    #[test]
    fn a_role_that_stands_in_for_a_reserved_one_is_neither_created_nor_deleted() {
        let roles = Roles::default();
        roles
            .live
            .lock()
            .unwrap()
            .insert("projects/p/roles/x_restored".into());
        let role = |key: &str| Record::new(crate::kinds::CUSTOM_ROLE, key, key, json!({}), vec![]);
        assert!(
            roles
                .refuses(Action::Create, &role("projects/p/roles/x"))
                .unwrap()
                .contains("x_restored")
        );
        assert!(
            roles
                .refuses(Action::Delete, &role("projects/p/roles/x_restored"))
                .is_some()
        );
        assert_eq!(
            roles.refuses(Action::Create, &role("projects/p/roles/y")),
            None
        );
    }
}
