//! Restore of relationships: members and owners (`$ref` links), app role assignments,
//! delegated permission grants and directory role assignments. Each end is named by its live
//! id (refs already rewritten), and a link that exists already is `AlreadyDone`.

use iamsnap_http::status_of;
use iamsnap_provider::{Action, Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Restore, precondition};
use crate::kinds::*;
use crate::read::fetch::segment;
use crate::records::{self, id_of};

pub(super) struct Links<'a, 'b> {
    pub restore: &'a Restore<'b>,
}

/// Graph's answer to a link that exists already.
fn already_exists(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Http { status: 400 | 409, message, .. }
        if message.contains("already exist") || message.contains("MultipleObjectsWithSameKeyValue"))
}

fn end<'r>(record: &'r Record, rel: &str) -> Result<&'r str, ProviderError> {
    record
        .target(rel)
        .map(|r| r.id.as_str())
        .ok_or_else(|| precondition(record, &format!("the record has no {rel} reference")))
}

impl Links<'_, '_> {
    pub(super) async fn apply(
        &self,
        action: Action,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        match (record.kind.as_str(), action) {
            (USER_MANAGER, Action::Create) => self.set_manager(record).await,
            (USER_MANAGER, Action::Delete) => self.remove_manager(record).await,
            (
                GROUP_MEMBER
                | GROUP_OWNER
                | APPLICATION_OWNER
                | SERVICE_PRINCIPAL_OWNER
                | ADMINISTRATIVE_UNIT_MEMBER,
                Action::Create,
            ) => self.add_link(record).await,
            (
                GROUP_MEMBER
                | GROUP_OWNER
                | APPLICATION_OWNER
                | SERVICE_PRINCIPAL_OWNER
                | ADMINISTRATIVE_UNIT_MEMBER,
                Action::Delete,
            ) => self.remove_link(record).await,
            (APP_ROLE_ASSIGNMENT, Action::Create) => self.assign_app_role(record).await,
            (APP_ROLE_ASSIGNMENT, Action::Delete) => {
                let resource = end(record, "resource")?;
                self.delete(
                    &format!(
                        "/servicePrincipals/{resource}/appRoleAssignedTo/{}",
                        segment(&record.id)
                    ),
                    &record.id,
                )
                .await
            }
            (OAUTH2_PERMISSION_GRANT, Action::Create | Action::Update) => {
                self.save_grant(record).await
            }
            (OAUTH2_PERMISSION_GRANT, Action::Delete) => {
                self.delete(
                    &format!("/oauth2PermissionGrants/{}", segment(&record.id)),
                    &record.id,
                )
                .await
            }
            (DIRECTORY_ROLE_ASSIGNMENT, Action::Create) => self.assign_role(record).await,
            (DIRECTORY_ROLE_ASSIGNMENT, Action::Delete) => {
                self.delete(
                    &format!(
                        "/roleManagement/directory/roleAssignments/{}",
                        segment(&record.id)
                    ),
                    &record.id,
                )
                .await
            }
            (kind, action) => Err(ProviderError::Unsupported {
                kind: kind.to_string(),
                key: record.key.clone(),
                action: format!("{action:?}").to_lowercase(),
                reason: "a relationship is created or removed, never changed in place".into(),
            }),
        }
    }

    fn client(&self) -> &crate::client::GraphClient {
        self.restore.client
    }

    /// The parent's collection, the names of the two ends, and the relation's segment.
    fn parts(record: &Record) -> (&'static str, &'static str, &'static str, &'static str) {
        let (collection, parent_kind, relation) = match record.kind.as_str() {
            GROUP_MEMBER => ("groups", GROUP, "members"),
            GROUP_OWNER => ("groups", GROUP, "owners"),
            APPLICATION_OWNER => ("applications", APPLICATION, "owners"),
            SERVICE_PRINCIPAL_OWNER => ("servicePrincipals", SERVICE_PRINCIPAL, "owners"),
            _ => ("administrativeUnits", ADMINISTRATIVE_UNIT, "members"),
        };
        (
            collection,
            records::parent_rel(parent_kind),
            records::link_rel(&record.kind),
            relation,
        )
    }

    async fn add_link(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let (collection, parent_rel, child_rel, relation) = Self::parts(record);
        let parent = end(record, parent_rel)?;
        let child = end(record, child_rel)?;
        let id = format!("{parent}/{child}");
        let url = self
            .client()
            .url(&format!("/{collection}/{parent}/{relation}/$ref"));
        let body = json!({"@odata.id": self.client().url(&format!("/directoryObjects/{child}")).to_string()});
        match self.client().send(Method::POST, &url, Some(&body)).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if already_exists(&e) => Ok(Outcome::AlreadyDone { id }),
            // Devices are never restored, only referenced: one gone from the tenant (or never
            // in it, in another tenant) must join again before it can be a member.
            Err(e)
                if status_of(&e) == Some(404)
                    && record.target(child_rel).is_some_and(|c| c.kind == DEVICE) =>
            {
                Ok(Outcome::Skipped {
                    reason: format!(
                        "device {child} does not exist in the live tenant: a device must join the directory again before it can be a member"
                    ),
                })
            }
            Err(e) if status_of(&e) == Some(404) => Err(precondition(
                record,
                &format!(
                    "{parent_rel} {parent} or {child_rel} {child} does not exist in the live tenant; restore it first ({e})"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    /// The live manager's id of `user`, if it has one.
    async fn live_manager(&self, user: &str) -> Result<Option<String>, ProviderError> {
        let url = self
            .client()
            .url(&format!("/users/{user}/manager?$select=id"));
        Ok(self
            .client()
            .get_opt(&url)
            .await?
            .map(|m| id_of(&m).to_string()))
    }

    async fn set_manager(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let user = end(record, "user")?;
        let manager = end(record, "manager")?;
        let id = format!("{user}/{manager}");
        if self.live_manager(user).await?.as_deref() == Some(manager) {
            return Ok(Outcome::AlreadyDone { id });
        }
        let url = self.client().url(&format!("/users/{user}/manager/$ref"));
        let body =
            json!({"@odata.id": self.client().url(&format!("/users/{manager}")).to_string()});
        match self.client().send(Method::PUT, &url, Some(&body)).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Err(precondition(
                record,
                &format!(
                    "the user {user} or the manager {manager} does not exist in the live tenant; restore it first"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    /// Removes the manager only while it is still the one the record names.
    async fn remove_manager(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let user = end(record, "user")?;
        let manager = end(record, "manager")?;
        let id = format!("{user}/{manager}");
        match self.live_manager(user).await {
            Ok(Some(live)) if live == manager => {}
            Ok(_) => return Ok(Outcome::AlreadyDone { id }),
            Err(e) if status_of(&e) == Some(404) => return Ok(Outcome::AlreadyDone { id }),
            Err(e) => return Err(e),
        }
        self.delete(&format!("/users/{user}/manager/$ref"), &id)
            .await
    }

    async fn remove_link(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let (collection, parent_rel, child_rel, relation) = Self::parts(record);
        let parent = end(record, parent_rel)?;
        let child = end(record, child_rel)?;
        self.delete(
            &format!("/{collection}/{parent}/{relation}/{child}/$ref"),
            &format!("{parent}/{child}"),
        )
        .await
    }

    async fn delete(&self, path: &str, id: &str) -> Result<Outcome, ProviderError> {
        let id = id.to_string();
        match self
            .client()
            .send(Method::DELETE, &self.client().url(path), None)
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    async fn assign_app_role(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let resource = end(record, "resource")?;
        let principal = end(record, "principal")?;
        let role = record.attrs["appRoleId"].as_str().unwrap_or_default();
        let path = format!("/servicePrincipals/{resource}/appRoleAssignedTo");
        let body = json!({"principalId": principal, "resourceId": resource, "appRoleId": role});
        match self
            .client()
            .send(Method::POST, &self.client().url(&path), Some(&body))
            .await
        {
            Ok(created) => Ok(Outcome::Applied {
                id: created.as_ref().map(id_of).unwrap_or_default().to_string(),
            }),
            Err(e) if already_exists(&e) => {
                let existing = self
                    .client()
                    .all(&format!("{path}?$top=999"))
                    .await?
                    .into_iter()
                    .find(|a| a["principalId"] == principal && a["appRoleId"] == role);
                Ok(Outcome::AlreadyDone {
                    id: existing.as_ref().map(id_of).unwrap_or_default().to_string(),
                })
            }
            Err(e) if status_of(&e) == Some(404) => Err(precondition(
                record,
                &format!(
                    "the resource service principal {resource} or the principal {principal} does not exist in the live tenant; restore it first"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    async fn save_grant(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let client_sp = end(record, "client")?;
        let resource = end(record, "resource")?;
        let principal = record.target("principal").map(|r| r.id.as_str());
        let scope = record.attrs["scope"].as_str().unwrap_or_default();
        let filter = segment(&format!("clientId eq '{client_sp}'"));
        let existing = self
            .client()
            .all(&format!("/oauth2PermissionGrants?$filter={filter}"))
            .await?
            .into_iter()
            .find(|g| g["resourceId"] == resource && g["principalId"].as_str() == principal);
        if let Some(grant) = existing {
            let id = id_of(&grant).to_string();
            let mut live: Vec<&str> = grant["scope"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            live.sort_unstable();
            live.dedup();
            if live.join(" ") == scope {
                return Ok(Outcome::AlreadyDone { id });
            }
            let url = self
                .client()
                .url(&format!("/oauth2PermissionGrants/{}", segment(&id)));
            self.client()
                .send(Method::PATCH, &url, Some(&json!({"scope": scope})))
                .await?;
            return Ok(Outcome::Applied { id });
        }
        let body = json!({
            "clientId": client_sp, "resourceId": resource, "scope": scope,
            "consentType": record.attrs["consentType"], "principalId": principal,
        });
        let created = self
            .client()
            .send(
                Method::POST,
                &self.client().url("/oauth2PermissionGrants"),
                Some(&body),
            )
            .await?
            .unwrap_or(Value::Null);
        Ok(Outcome::Applied {
            id: id_of(&created).to_string(),
        })
    }

    async fn assign_role(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let principal = end(record, "principal")?;
        let role = record.attrs["roleDefinitionId"]
            .as_str()
            .unwrap_or_default();
        let scope = match record.target("scope") {
            Some(unit) => format!("/administrativeUnits/{}", unit.id),
            None => record.attrs["directoryScope"]
                .as_str()
                .unwrap_or("/")
                .to_string(),
        };
        let filter = segment(&format!("principalId eq '{principal}'"));
        let existing = self
            .client()
            .all(&format!(
                "/roleManagement/directory/roleAssignments?$filter={filter}"
            ))
            .await?
            .into_iter()
            .find(|a| a["roleDefinitionId"] == role && a["directoryScopeId"] == scope.as_str());
        if let Some(a) = existing {
            return Ok(Outcome::AlreadyDone {
                id: id_of(&a).to_string(),
            });
        }
        let body =
            json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope});
        let url = self
            .client()
            .url("/roleManagement/directory/roleAssignments");
        match self.client().send(Method::POST, &url, Some(&body)).await {
            Ok(created) => Ok(Outcome::Applied {
                id: created.as_ref().map(id_of).unwrap_or_default().to_string(),
            }),
            Err(e) if status_of(&e) == Some(400) && !already_exists(&e) => Err(precondition(
                record,
                &format!(
                    "Graph refused the assignment ({e}); a group must be role-assignable and the principal and administrative unit must exist"
                ),
            )),
            Err(e) => Err(e),
        }
    }
}
