//! Restore: one operation at a time, idempotent.
//!
//! Users, groups, applications, service principals and administrative units deleted from the
//! live tenant are first looked for in the recycle bin (`directory/deletedItems/{id}/restore`),
//! which gives them back with their original id and links; only what is gone for good is
//! created again. Snapshot ids in refs, memberships and policies are replaced by live ids from
//! the [`IdMap`]. Conditional access policies are written in report-only state unless the
//! engine asks for policy states to be restored.

mod links;

use iamsnap_http::status_of;
use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use rand::Rng;
use rand::distributions::Alphanumeric;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::client::GraphClient;
use crate::fetch;
use crate::kinds::*;
use crate::records::{self, id_of};

pub(crate) struct Restore<'a> {
    pub client: &'a GraphClient,
    pub ids: &'a dyn IdMap,
    pub restore_policy_state: bool,
}

/// Report-only: the policy is evaluated and logged, never enforced.
const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";

impl Restore<'_> {
    pub(crate) async fn apply(&self, op: &Operation) -> Result<Outcome, ProviderError> {
        let record = match op.action {
            Action::Delete => op.current.as_ref().or(op.desired.as_ref()),
            _ => op.desired.as_ref(),
        }
        .ok_or_else(|| ProviderError::Precondition {
            kind: op.kind.clone(),
            key: op.key.clone(),
            message: "the operation carries no record to apply".into(),
        })?;
        let record = if op.action == Action::Delete {
            record.clone()
        } else {
            self.live(record)
        };
        match (op.kind.as_str(), op.action) {
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Create,
            ) => self.create_object(&record).await,
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Update,
            ) => {
                let live = self.existing(&record).await?;
                self.update_object(&record, &live).await
            }
            (
                USER | GROUP | APPLICATION | SERVICE_PRINCIPAL | ADMINISTRATIVE_UNIT,
                Action::Delete,
            ) => self.delete_object(&record).await,
            (CONDITIONAL_ACCESS_POLICY | NAMED_LOCATION, Action::Create | Action::Update) => {
                self.save_policy(&record).await
            }
            (CONDITIONAL_ACCESS_POLICY | NAMED_LOCATION, Action::Delete) => {
                self.delete_policy(&record).await
            }
            (AUTHENTICATION_METHODS_POLICY, Action::Create | Action::Update) => {
                self.authentication_methods(&record).await
            }
            (
                USER_MANAGER
                | GROUP_MEMBER
                | GROUP_OWNER
                | ADMINISTRATIVE_UNIT_MEMBER
                | APP_ROLE_ASSIGNMENT
                | OAUTH2_PERMISSION_GRANT
                | DIRECTORY_ROLE_ASSIGNMENT,
                _,
            ) => {
                links::Links { restore: self }
                    .apply(op.action, &record)
                    .await
            }
            (kind, action) => Err(ProviderError::Unsupported {
                kind: kind.to_string(),
                key: op.key.clone(),
                action: format!("{action:?}").to_lowercase(),
                reason: "see the kinds' capabilities in docs/entra.md".into(),
            }),
        }
    }

    /// `record` with snapshot ids replaced by live ids: its own, its refs', and every attribute
    /// string equal to a rewritten ref id (policies name users, groups and locations by id).
    pub(crate) fn live(&self, record: &Record) -> Record {
        iamsnap_provider::to_live(record, self.ids)
    }

    async fn existing(&self, record: &Record) -> Result<Value, ProviderError> {
        fetch::object(self.client, &record.kind, &record.key)
            .await?
            .ok_or_else(|| {
                precondition(
                    record,
                    "does not exist in the live tenant; restore it with a create",
                )
            })
    }

    async fn create_object(&self, record: &Record) -> Result<Outcome, ProviderError> {
        if let Some(live) = fetch::object(self.client, &record.kind, &record.key).await? {
            return Ok(Outcome::AlreadyDone {
                id: id_of(&live).to_string(),
            });
        }
        // The recycle bin first: the object comes back with its id, memberships and secrets.
        let restore_url = self.client.url(&format!(
            "/directory/deletedItems/{}/restore",
            fetch::segment(&record.id)
        ));
        match self
            .client
            .send(Method::POST, &restore_url, Some(&json!({})))
            .await
        {
            Ok(_) => {
                let live = self.existing(record).await?;
                self.update_object(record, &live).await?;
                tracing::info!(kind = %record.kind, key = %record.key, id = %record.id, "restored from the recycle bin");
                return Ok(Outcome::Applied {
                    id: record.id.clone(),
                });
            }
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(e),
        }
        let body = self.create_body(record).await?;
        let Some(body) = body else {
            return Ok(Outcome::Skipped {
                reason: "a guest user gone for good must be invited again (Invitation Manager); iamsnap does not send invitations".into(),
            });
        };
        let collection = collection(&record.kind);
        let created = self
            .client
            .send(
                Method::POST,
                &self.client.url(&format!("/{collection}")),
                Some(&body),
            )
            .await?
            .unwrap_or(Value::Null);
        let id = id_of(&created).to_string();
        if id.is_empty() {
            return Err(ProviderError::Decode {
                url: self.client.url(&format!("/{collection}")).to_string(),
                message: "the created object has no id".into(),
            });
        }
        let live = self.existing(record).await?;
        // What creation cannot set in one go: rewritten identifier URIs, service principal
        // settings.
        self.update_object(record, &live).await?;
        Ok(Outcome::Applied { id })
    }

    /// The body that creates `record`, `None` for a guest user (who must be invited instead).
    async fn create_body(&self, record: &Record) -> Result<Option<Value>, ProviderError> {
        let mut body = writable(&record.kind, &record.attrs, true);
        match record.kind.as_str() {
            USER => {
                if record.attrs["userType"] == "Guest" {
                    return Ok(None);
                }
                body.insert(
                    "passwordProfile".into(),
                    json!({"forceChangePasswordNextSignIn": true, "password": temporary_password()}),
                );
            }
            APPLICATION => {
                // api://<old appId> names the old application; it is set again once the new
                // appId is known.
                let old = record.attrs["appId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some(Value::Array(uris)) = body.get_mut("identifierUris") {
                    uris.retain(|u| {
                        old.is_empty() || !u.as_str().unwrap_or_default().contains(&old)
                    });
                }
            }
            SERVICE_PRINCIPAL => {
                let app_id = self.application_id(record).await?;
                return Ok(Some(json!({ "appId": app_id })));
            }
            _ => {}
        }
        Ok(Some(Value::Object(body)))
    }

    /// The live appId a service principal is for: its application's (re-created applications
    /// have a new one), or the snapshot's for applications of other organisations.
    async fn application_id(&self, record: &Record) -> Result<String, ProviderError> {
        if let Some(app) = record.target("application") {
            let url = self.client.url(&format!(
                "/applications/{}?$select=appId",
                fetch::segment(&app.id)
            ));
            if let Some(live) = self.client.get_opt(&url).await? {
                return Ok(live["appId"].as_str().unwrap_or_default().to_string());
            }
            return Err(precondition(
                record,
                "its application does not exist in the live tenant; restore the application first",
            ));
        }
        Ok(record.attrs["appId"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Brings a live object to the snapshot's properties; `AlreadyDone` when it has them.
    async fn update_object(&self, record: &Record, live: &Value) -> Result<Outcome, ProviderError> {
        let id = id_of(live).to_string();
        let mut desired = writable(&record.kind, &record.attrs, false);
        if record.kind == APPLICATION {
            let (old, new) = (
                record.attrs["appId"].as_str().unwrap_or_default(),
                live["appId"].as_str().unwrap_or_default(),
            );
            if !old.is_empty()
                && old != new
                && let Some(uris) = desired.get_mut("identifierUris")
            {
                rewrite_within(uris, old, new);
            }
        }
        let patch: Map<String, Value> = desired
            .into_iter()
            .filter(|(k, v)| !same(v, &live[k.as_str()]))
            .collect();
        let mut changed = false;
        let collection = collection(&record.kind);
        if !patch.is_empty() {
            let url = self.client.url(&format!("/{collection}/{id}"));
            self.client
                .send(Method::PATCH, &url, Some(&Value::Object(patch)))
                .await?;
            changed = true;
        }
        Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }

    async fn delete_object(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let id = match fetch::object(self.client, &record.kind, &record.key).await? {
            Some(live) => id_of(&live).to_string(),
            None => {
                return Ok(Outcome::AlreadyDone {
                    id: record.id.clone(),
                });
            }
        };
        let url = self
            .client
            .url(&format!("/{}/{id}", collection(&record.kind)));
        match self.client.send(Method::DELETE, &url, None).await {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    /// The state a conditional access policy is written with.
    fn policy_state(&self, desired: &Value, live: Option<&Value>) -> Value {
        if self.restore_policy_state || desired != "enabled" {
            return desired.clone();
        }
        match live {
            Some(state) if state == "enabled" => desired.clone(),
            _ => Value::String(REPORT_ONLY.into()),
        }
    }

    fn policy_path(kind: &str) -> &'static str {
        if kind == CONDITIONAL_ACCESS_POLICY {
            "/identity/conditionalAccess/policies"
        } else {
            "/identity/conditionalAccess/namedLocations"
        }
    }

    /// Creates or updates a conditional access policy or named location by display name.
    async fn save_policy(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let path = Self::policy_path(&record.kind);
        let live = self
            .client
            .all(path)
            .await?
            .into_iter()
            .find(|p| p["displayName"] == record.key.as_str());
        let mut desired = writable(&record.kind, &record.attrs, live.is_none());
        if record.kind == CONDITIONAL_ACCESS_POLICY {
            let state =
                self.policy_state(&record.attrs["state"], live.as_ref().map(|l| &l["state"]));
            desired.insert("state".into(), state);
        }
        let Some(live) = live else {
            let created = self
                .client
                .send(
                    Method::POST,
                    &self.client.url(path),
                    Some(&Value::Object(desired)),
                )
                .await?
                .unwrap_or(Value::Null);
            return Ok(Outcome::Applied {
                id: id_of(&created).to_string(),
            });
        };
        let id = id_of(&live).to_string();
        let mut patch: Map<String, Value> = desired
            .into_iter()
            .filter(|(k, v)| !same(v, &live[k.as_str()]))
            .collect();
        if patch.is_empty() {
            return Ok(Outcome::AlreadyDone { id });
        }
        if record.kind == NAMED_LOCATION {
            patch.insert("@odata.type".into(), live["@odata.type"].clone());
        }
        let url = self.client.url(&format!("{path}/{id}"));
        self.client
            .send(Method::PATCH, &url, Some(&Value::Object(patch)))
            .await?;
        Ok(Outcome::Applied { id })
    }

    async fn delete_policy(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let path = Self::policy_path(&record.kind);
        let live = self
            .client
            .all(path)
            .await?
            .into_iter()
            .find(|p| p["displayName"] == record.key.as_str());
        let Some(live) = live else {
            return Ok(Outcome::AlreadyDone {
                id: record.id.clone(),
            });
        };
        let id = id_of(&live).to_string();
        match self
            .client
            .send(
                Method::DELETE,
                &self.client.url(&format!("{path}/{id}")),
                None,
            )
            .await
        {
            Ok(_) => Ok(Outcome::Applied { id }),
            Err(e) if status_of(&e) == Some(404) => Ok(Outcome::AlreadyDone { id }),
            Err(e) => Err(e),
        }
    }

    /// The tenant-wide policy and each method's configuration, patched where they differ.
    async fn authentication_methods(&self, record: &Record) -> Result<Outcome, ProviderError> {
        let url = self.client.url("/policies/authenticationMethodsPolicy");
        let live = records::authentication_methods_policy(&self.client.get(&url).await?);
        let read_only = [
            "id",
            "displayName",
            "description",
            "policyVersion",
            "authenticationMethodConfigurations",
        ];
        let patch: Map<String, Value> = record
            .attrs
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, v)| !read_only.contains(&k.as_str()) && !same(v, &live.attrs[k.as_str()]))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut changed = false;
        if !patch.is_empty() {
            self.client
                .send(Method::PATCH, &url, Some(&Value::Object(patch)))
                .await?;
            changed = true;
        }
        let live_configs = live.attrs["authenticationMethodConfigurations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for config in record.attrs["authenticationMethodConfigurations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let current = live_configs.iter().find(|c| c["id"] == config["id"]);
            if current.is_some_and(|c| same(config, c)) {
                continue;
            }
            let mut body = config.as_object().cloned().unwrap_or_default();
            body.remove("id");
            let config_url = self.client.url(&format!(
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{}",
                fetch::segment(id_of(config))
            ));
            self.client
                .send(Method::PATCH, &config_url, Some(&Value::Object(body)))
                .await?;
            changed = true;
        }
        let id = record.id.clone();
        Ok(if changed {
            Outcome::Applied { id }
        } else {
            Outcome::AlreadyDone { id }
        })
    }
}

pub(crate) fn precondition(record: &Record, message: &str) -> ProviderError {
    ProviderError::Precondition {
        kind: record.kind.clone(),
        key: record.key.clone(),
        message: message.to_string(),
    }
}

fn collection(kind: &str) -> &'static str {
    match kind {
        USER => "users",
        GROUP => "groups",
        APPLICATION => "applications",
        SERVICE_PRINCIPAL => "servicePrincipals",
        _ => "administrativeUnits",
    }
}

/// The properties of `attrs` Graph lets a client write; nulls are left out of creations.
fn writable(kind: &str, attrs: &Value, creating: bool) -> Map<String, Value> {
    let read_only: &[&str] = match kind {
        USER => &["userType", "onPremisesImmutableId", "onPremisesSyncEnabled"],
        GROUP if creating => &["mail"],
        GROUP => &["mail", "isAssignableToRole"],
        APPLICATION => &["appId", "keyCredentials", "passwordCredentials"],
        SERVICE_PRINCIPAL => &["appId", "appOwnerOrganizationId", "servicePrincipalType"],
        CONDITIONAL_ACCESS_POLICY => &["templateId"],
        _ => &[],
    };
    attrs
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| !(read_only.contains(&k.as_str()) || creating && v.is_null()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Equal, reading a missing property as null (Graph omits some unset properties).
fn same(desired: &Value, live: &Value) -> bool {
    desired == live
        || (desired.is_null() && live.is_null())
        || iamsnap_provider::canonical::normalize(desired.clone())
            == iamsnap_provider::canonical::normalize(live.clone())
}

fn rewrite_within(value: &mut Value, old: &str, new: &str) {
    if let Value::Array(items) = value {
        for item in items {
            if let Value::String(s) = item {
                *s = s.replace(old, new);
            }
        }
    }
}

/// A random password meeting Entra's complexity rules. It is sent once and never kept or
/// shown: the user (or an administrator) resets it.
fn temporary_password() -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("Rst-{random}-9a!")
}

/// The closest state to `desired` a restore can bring `live` to: the properties Graph never
/// lets a client write (an application's appId and credentials, a group's mail, whether a group
/// is role-assignable once created) are taken from `live`, identifier URIs follow a new appId,
/// and an enabled policy found switched off is brought back report-only unless policy states
/// are restored.
pub(crate) fn reachable(mut desired: Record, live: &Record, restore_policy_state: bool) -> Record {
    let fixed: &[&str] = match desired.kind.as_str() {
        USER => &["userType", "onPremisesImmutableId", "onPremisesSyncEnabled"],
        GROUP => &["mail", "isAssignableToRole"],
        APPLICATION => &["appId", "keyCredentials", "passwordCredentials"],
        SERVICE_PRINCIPAL => &["appId", "appOwnerOrganizationId", "servicePrincipalType"],
        AUTHENTICATION_METHODS_POLICY => &["displayName", "description", "policyVersion"],
        _ => &[],
    };
    // Mirrors `policy_state`: an enabled policy found switched off comes back report-only,
    // never enforced, unless policy states are restored.
    if desired.kind == CONDITIONAL_ACCESS_POLICY
        && !restore_policy_state
        && desired.attrs["state"] == "enabled"
        && live.attrs["state"] != "enabled"
    {
        desired.attrs["state"] = Value::String(REPORT_ONLY.into());
    }
    if desired.kind == APPLICATION {
        let old = desired.attrs["appId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let new = live.attrs["appId"].as_str().unwrap_or_default();
        if !old.is_empty() && old != new {
            rewrite_within(&mut desired.attrs["identifierUris"], &old, new);
        }
    }
    if let (Value::Object(d), Value::Object(l)) = (&mut desired.attrs, &live.attrs) {
        for field in fixed {
            match l.get(*field) {
                Some(v) => d.insert(field.to_string(), v.clone()),
                None => d.remove(*field),
            };
        }
    }
    desired
}

fn unified(group: &Record) -> bool {
    group.attrs["groupTypes"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t == "Unified"))
}

/// What restoring `record` cannot give back, for the restore report (which lists the keys of
/// the records sharing a reason): the kind's notes, narrowed to the record, and each
/// application credential by name.
pub(crate) fn cannot_restore(record: &Record, restore_policy_state: bool) -> Vec<String> {
    let notes = KINDS
        .iter()
        .find(|k| k.name == record.kind)
        .map(|k| k.cannot_restore)
        .unwrap_or_default();
    let mut out: Vec<String> = notes
        .iter()
        .filter(|note| match record.kind.as_str() {
            USER if note.starts_with("guest users") => record.attrs["userType"] == "Guest",
            USER if note.starts_with("users synchronised") => {
                record.attrs["onPremisesSyncEnabled"] == true
            }
            GROUP if note.starts_with("Microsoft 365") => unified(record),
            GROUP => !unified(record),
            GROUP_MEMBER => record.target("member").is_some_and(|m| m.kind == DEVICE),
            SERVICE_PRINCIPAL => record.target("application").is_none(),
            APPLICATION => **note != APP_SECRETS,
            CONDITIONAL_ACCESS_POLICY => {
                **note != CA_REPORT_ONLY
                    || (record.attrs["state"] == "enabled" && !restore_policy_state)
            }
            _ => true,
        })
        .map(|note| note.to_string())
        .collect();
    if record.kind == APPLICATION {
        for (field, what) in [
            ("passwordCredentials", "client secret"),
            ("keyCredentials", "certificate"),
        ] {
            for c in record.attrs[field].as_array().into_iter().flatten() {
                out.push(format!(
                    "{what} {:?} (keyId {}, expires {}): a re-created application has none; add a new one and configure it where this one was used",
                    c["displayName"].as_str().unwrap_or(""),
                    c["keyId"].as_str().unwrap_or("?"),
                    c["endDateTime"].as_str().unwrap_or("never"),
                ));
            }
        }
    }
    out
}
