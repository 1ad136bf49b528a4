//! Restore of custom role definitions and of PIM schedules. A custom role is found by its
//! displayName and created or patched; an eligibility or a time-bound active assignment is
//! written the only way Graph allows, through a schedule request (`adminAssign`,
//! `adminUpdate`, `adminRemove`), with the role's live id (a re-created custom role's new one)
//! and the principal's and administrative unit's live ids.

use iamsnap_http::status_of;
use iamsnap_provider::{Outcome, ProviderError, Record};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Restore, precondition};
use crate::kinds::*;
use crate::read::fetch::{eq, segment};
use crate::records::id_of;
use crate::roles::{self, DEFINITION_SELECT};

const DEFINITIONS: &str = "/roleManagement/directory/roleDefinitions";

/// Why a schedule of the snapshot is not restored, if it ended before now.
pub(crate) fn expired(record: &Record) -> Option<String> {
    let expiration = &record.attrs["expiration"];
    if expiration["type"] != "afterDateTime" {
        return None;
    }
    let end = expiration["endDateTime"].as_str()?;
    let end = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    (end < chrono::Utc::now()).then(|| SCHEDULE_EXPIRED.to_string())
}

impl Restore<'_> {
    /// The live custom role named like `record`.
    async fn live_definition(&self, record: &Record) -> Result<Option<Value>, ProviderError> {
        let url = self.client.url(&format!(
            "{DEFINITIONS}?$filter={}&$select={DEFINITION_SELECT}",
            eq("displayName", &record.key)
        ));
        Ok(self.client.page(&url).await?.0.into_iter().next())
    }

    pub(super) async fn save_definition(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let desired: Map<String, Value> =
            ["displayName", "description", "isEnabled", "rolePermissions"]
                .iter()
                .map(|f| (f.to_string(), record.attrs[*f].clone()))
                .collect();
        let Some(live) = self.live_definition(record).await? else {
            let created = self
                .client
                .send(
                    Method::POST,
                    &self.client.url(DEFINITIONS),
                    Some(&Value::Object(desired)),
                )
                .await?
                .unwrap_or(Value::Null);
            return Ok(Outcome::Applied {
                id: id_of(&created).to_string(),
            });
        };
        let id = id_of(&live).to_string();
        let Some(current) = roles::definition(&live) else {
            return Err(precondition(
                record,
                "a built-in role has this name: rename the custom role in the snapshot's tenant, or restore it by hand under another name",
            ));
        };
        let patch: Map<String, Value> = desired
            .into_iter()
            .filter(|(k, v)| current.attrs[k.as_str()] != *v)
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        let url = self.client.url(&format!("{DEFINITIONS}/{}", segment(&id)));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    pub(super) async fn delete_definition(
        &self,
        record: &Record,
    ) -> Result<Outcome, ProviderError> {
        let Some(live) = self.live_definition(record).await? else {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        };
        let id = id_of(&live).to_string();
        if live["isBuiltIn"] != false {
            return Err(precondition(record, "built-in roles are never deleted"));
        }
        let url = self.client.url(&format!("{DEFINITIONS}/{}", segment(&id)));
        match self.client.send(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    /// Creates or changes an eligibility or a time-bound active assignment.
    pub(super) async fn save_schedule(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let (principal, role, scope) = ends(record)?;
        let (list, requests) = paths(&record.kind);
        let filter = segment(&format!("principalId eq '{principal}'"));
        let live = self
            .client
            .all(&format!("{list}?$filter={filter}"))
            .await?
            .into_iter()
            .find(|s| {
                s["roleDefinitionId"] == role.as_str()
                    && s["directoryScopeId"] == scope.as_str()
                    && roles::direct(s)
            });
        let desired = &record.attrs["expiration"];
        let action = match &live {
            Some(s) if same_end(&s["scheduleInfo"]["expiration"], desired) => {
                return Ok(Outcome::AlreadyDone {
                    id: id_of(s).to_string(),
                });
            }
            Some(_) => "adminUpdate",
            None => "adminAssign",
        };
        let mut expiration = Map::new();
        for field in ["type", "endDateTime", "duration"] {
            if !desired[field].is_null() {
                expiration.insert(field.into(), desired[field].clone());
            }
        }
        let body = json!({
            "action": action, "principalId": principal, "roleDefinitionId": role,
            "directoryScopeId": scope, "justification": "Restored from a backup",
            "scheduleInfo": {
                "startDateTime": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "expiration": expiration,
            },
        });
        let url = self.client.url(requests);
        match self.client.send(Method::POST, &url, Some(&body)).await {
            Ok(answer) => {
                let answer = answer.unwrap_or(Value::Null);
                let id = answer["targetScheduleId"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| live.as_ref().map(|s| id_of(s).to_string()))
                    .unwrap_or_default();
                Ok(Outcome::Applied { id })
            }
            Err(e) if status_of(&e) == Some(400) => Err(precondition(
                record,
                &format!(
                    "Graph refused the schedule request ({e}); the principal, the role and the administrative unit must exist, a group must be role-assignable, and the role's PIM settings must allow the schedule's length"
                ),
            )),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn remove_schedule(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let (principal, role, scope) = ends(record)?;
        let (_, requests) = paths(&record.kind);
        let body = json!({"action": "adminRemove", "principalId": principal,
                          "roleDefinitionId": role, "directoryScopeId": scope});
        let url = self.client.url(requests);
        match self.client.send(Method::POST, &url, Some(&body)).await {
            Ok(_) => Ok(Outcome::Applied {
                id: record.id.clone(),
            }),
            Err(ProviderError::Http {
                status: 400 | 404,
                message,
                ..
            }) if message.contains("RoleAssignmentDoesNotExist")
                || message.contains("does not exist") =>
            {
                Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// The schedules of a kind and where requests for it go.
fn paths(kind: &str) -> (&'static str, &'static str) {
    match kind {
        ROLE_ELIGIBILITY => (
            "/roleManagement/directory/roleEligibilitySchedules",
            "/roleManagement/directory/roleEligibilityScheduleRequests",
        ),
        _ => (
            "/roleManagement/directory/roleAssignmentSchedules",
            "/roleManagement/directory/roleAssignmentScheduleRequests",
        ),
    }
}

/// Live principal id, role definition id and directory scope id of a schedule record (its
/// refs and custom role already rewritten).
fn ends(record: &Record) -> Result<(String, String, String), ProviderError> {
    let principal = record
        .target("principal")
        .map(|r| r.id.clone())
        .ok_or_else(|| precondition(record, "the record has no principal reference"))?;
    let role = record
        .target("role")
        .map(|r| r.id.clone())
        .or_else(|| {
            record.attrs["roleDefinitionId"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    let scope = match record.target("scope") {
        Some(unit) => format!("/administrativeUnits/{}", unit.id),
        None => record.attrs["directoryScope"]
            .as_str()
            .unwrap_or("/")
            .to_string(),
    };
    Ok((principal, role, scope))
}

/// Whether a live expiration ends as the snapshot's did.
fn same_end(live: &Value, desired: &Value) -> bool {
    let kind = |v: &Value| v["type"].as_str().unwrap_or("noExpiration").to_string();
    kind(live) == kind(desired)
        && live["endDateTime"] == desired["endDateTime"]
        && live["duration"] == desired["duration"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_that_has_ended_is_not_restored() {
        let schedule = |expiration: Value| {
            Record::new(
                ROLE_ELIGIBILITY,
                "1",
                "k",
                json!({ "expiration": expiration }),
                vec![],
            )
        };
        let ended =
            schedule(json!({"type": "afterDateTime", "endDateTime": "2020-01-01T00:00:00Z"}));
        assert_eq!(expired(&ended).as_deref(), Some(SCHEDULE_EXPIRED));
        let future =
            schedule(json!({"type": "afterDateTime", "endDateTime": "2999-01-01T00:00:00Z"}));
        assert_eq!(expired(&future), None);
        assert_eq!(expired(&schedule(json!({"type": "noExpiration"}))), None);
    }
}
