//! IAM v1 service accounts (`/v1/projects/{project}/serviceAccounts…`): list, get, create,
//! patch, disable/enable, delete (soft: undeletable by unique id for 30 days) and undelete,
//! each account's own IAM policy (`getIamPolicy`/`setIamPolicy`: who may act as it) and its
//! keys (see [`super::keys`]).
//! A deleted account's members in every policy become `deleted:serviceAccount:EMAIL?uid=ID`,
//! and plain again when it is undeleted. The reference does not say whether an undeleted
//! account gets its own policy and its user-managed keys back; the emulator takes the
//! stricter reading (they are gone with the account), so that a restore has to bring the
//! policy back itself and report the keys.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::api::GcpError;
use super::keys::Key;
use super::model::{Org, Policy};

/// How long a deleted service account can be undeleted.
pub const UNDELETE_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);

/// A service account.
#[derive(Debug, Clone)]
pub struct Account {
    pub project_id: String,
    pub email: String,
    pub unique_id: String,
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    /// When it was deleted; `None` while it lives.
    pub deleted_at: Option<SystemTime>,
    /// Its own IAM policy: who may act as it.
    pub policy: Policy,
    /// Its user-managed keys.
    pub keys: Vec<Key>,
}

impl Account {
    fn json(&self) -> Value {
        let mut v = json!({
            "name": format!("projects/{}/serviceAccounts/{}", self.project_id, self.email),
            "projectId": self.project_id,
            "uniqueId": self.unique_id,
            "email": self.email,
            "oauth2ClientId": self.unique_id,
            "etag": "MDEwMjE5MjA=",
        });
        if !self.display_name.is_empty() {
            v["displayName"] = self.display_name.clone().into();
        }
        if !self.description.is_empty() {
            v["description"] = self.description.clone().into();
        }
        if self.disabled {
            v["disabled"] = true.into();
        }
        v
    }
}

/// Rewrites `from` into `to` in every policy (the resources' and the service accounts' own),
/// moving the etags of the policies touched.
fn rename_member(org: &mut Org, from: &str, to: &str) {
    let resources = org.resources.values_mut().map(|r| &mut r.policy);
    let accounts = org.accounts.values_mut().map(|a| &mut a.policy);
    for policy in resources.chain(accounts) {
        let mut touched = false;
        for b in &mut policy.bindings {
            for m in b["members"].as_array_mut().into_iter().flatten() {
                if m == from {
                    *m = to.into();
                    touched = true;
                }
            }
        }
        if touched {
            policy.serial += 1;
        }
    }
}

fn live<'a>(org: &'a mut Org, project: &str, id: &str) -> Result<&'a mut Account, GcpError> {
    org.accounts
        .values_mut()
        .find(|a| {
            a.deleted_at.is_none()
                && (project == "-" || a.project_id == project)
                && (a.email == id || a.unique_id == id)
        })
        .ok_or_else(|| GcpError::new(404, "NOT_FOUND", format!("Unknown service account {id}")))
}

/// `/v1/projects/{project}/serviceAccounts[/{id}][:verb]`.
pub fn handle(
    org: &mut Org,
    method: &str,
    path: &str,
    query: &HashMap<String, String>,
    body: &Value,
) -> Result<Value, GcpError> {
    let (path, verb) = match path.rsplit_once(':') {
        Some((p, v)) if !v.contains('/') => (p, Some(v)),
        _ => (path, None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    if let ["projects", project, "serviceAccounts", id, "keys", ..] = parts[..] {
        let account = live(org, project, id)?;
        return super::keys::handle(account, method, &parts[5..], verb, query);
    }
    let (project, id) = match parts[..] {
        ["projects", p, "serviceAccounts"] => (p, None),
        ["projects", p, "serviceAccounts", id] => (p, Some(id)),
        _ => {
            return Err(GcpError::new(
                404,
                "NOT_FOUND",
                format!("{method} /v1/{path} is not an API method."),
            ));
        }
    };
    match (method, id, verb) {
        ("GET", None, None) => {
            let all: Vec<&Account> = org
                .accounts
                .values()
                .filter(|a| a.deleted_at.is_none() && (project == "-" || a.project_id == project))
                .collect();
            let size = query
                .get("pageSize")
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|s| *s > 0)
                .unwrap_or(20)
                .min(100);
            let start: usize = match query.get("pageToken").filter(|t| !t.is_empty()) {
                None => 0,
                Some(t) => t
                    .strip_prefix("sa-")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
            };
            let page: Vec<Value> = all
                .iter()
                .skip(start)
                .take(size)
                .map(|a| a.json())
                .collect();
            // Google's JSON leaves out an empty list, as it does every empty field.
            let mut out = json!({});
            if !page.is_empty() {
                out["accounts"] = page.into();
            }
            if start + size < all.len() {
                out["nextPageToken"] = format!("sa-{}", start + size).into();
            }
            Ok(out)
        }
        ("GET", Some(id), None) => Ok(live(org, project, id)?.json()),
        ("POST", None, None) => {
            let account_id = body["accountId"].as_str().unwrap_or_default();
            if !(6..=30).contains(&account_id.len()) {
                return Err(GcpError::invalid(format!(
                    "accountId {account_id:?} must be 6 to 30 characters."
                )));
            }
            let email = format!("{account_id}@{project}.iam.gserviceaccount.com");
            if org
                .accounts
                .values()
                .any(|a| a.deleted_at.is_none() && a.email == email)
            {
                return Err(GcpError::new(
                    409,
                    "ALREADY_EXISTS",
                    format!(
                        "Service account {account_id} already exists within project projects/{project}."
                    ),
                ));
            }
            let unique_id = format!("1{:020}", 900_000_000 + org.accounts.len() as u64 * 104_729);
            let sa = &body["serviceAccount"];
            let account = Account {
                project_id: project.to_string(),
                email,
                unique_id: unique_id.clone(),
                display_name: sa["displayName"].as_str().unwrap_or_default().to_string(),
                description: sa["description"].as_str().unwrap_or_default().to_string(),
                disabled: false,
                deleted_at: None,
                policy: Policy {
                    version: 1,
                    serial: 1,
                    ..Default::default()
                },
                keys: Vec::new(),
            };
            let out = account.json();
            org.accounts.insert(unique_id, account);
            Ok(out)
        }
        ("PATCH", Some(id), None) => {
            let a = live(org, project, id)?;
            let sa = &body["serviceAccount"];
            let mask = body["updateMask"].as_str().unwrap_or_default();
            if mask.is_empty() {
                return Err(GcpError::invalid("updateMask is required."));
            }
            if mask.contains("displayName") {
                a.display_name = sa["displayName"].as_str().unwrap_or_default().to_string();
            }
            if mask.contains("description") {
                a.description = sa["description"].as_str().unwrap_or_default().to_string();
            }
            Ok(a.json())
        }
        ("POST", Some(id), Some(v @ ("disable" | "enable"))) => {
            live(org, project, id)?.disabled = v == "disable";
            Ok(json!({}))
        }
        // The request body must be empty: the version is a query parameter here, unlike
        // Resource Manager's `options` in the body.
        ("POST", Some(id), Some("getIamPolicy")) => {
            if body.as_object().is_some_and(|o| !o.is_empty()) {
                return Err(GcpError::invalid(
                    "Invalid JSON payload received. Unknown name \"options\": Cannot find field.",
                ));
            }
            let version = match query.get("options.requestedPolicyVersion") {
                None => 0,
                Some(v) => v.parse().map_err(|_| {
                    GcpError::invalid(format!(
                        "Invalid value at 'options.requested_policy_version' (TYPE_INT32), \"{v}\""
                    ))
                })?,
            };
            live(org, project, id)?.policy.read(version)
        }
        ("POST", Some(id), Some("setIamPolicy")) => live(org, project, id)?.policy.write(body),
        ("DELETE", Some(id), None) => {
            let a = live(org, project, id)?;
            a.deleted_at = Some(SystemTime::now());
            a.policy.bindings.clear();
            a.policy.serial += 1;
            a.keys.clear();
            let (plain, deleted) = (
                format!("serviceAccount:{}", a.email),
                format!("deleted:serviceAccount:{}?uid={}", a.email, a.unique_id),
            );
            rename_member(org, &plain, &deleted);
            Ok(json!({}))
        }
        ("POST", Some(id), Some("undelete")) => {
            let now = SystemTime::now();
            let a = org
                .accounts
                .get(id)
                .filter(|a| a.deleted_at.is_some_and(|t| now.duration_since(t).unwrap_or_default() < UNDELETE_WINDOW))
                .cloned()
                .ok_or_else(|| GcpError::new(404, "NOT_FOUND", format!("Service account with unique id {id} was not found or can no longer be undeleted.")))?;
            if org
                .accounts
                .values()
                .any(|x| x.deleted_at.is_none() && x.email == a.email)
            {
                return Err(GcpError::new(
                    400,
                    "FAILED_PRECONDITION",
                    format!("An active service account with email {} exists.", a.email),
                ));
            }
            let (plain, deleted) = (
                format!("serviceAccount:{}", a.email),
                format!("deleted:serviceAccount:{}?uid={}", a.email, a.unique_id),
            );
            rename_member(org, &deleted, &plain);
            let account = org.accounts.get_mut(id).expect("found above");
            account.deleted_at = None;
            Ok(json!({"restoredAccount": account.json()}))
        }
        _ => Err(GcpError::new(
            404,
            "NOT_FOUND",
            format!("{method} /v1/{path} is not an API method."),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcp::model::{SeedSpec, seed};

    fn org() -> Org {
        seed(&SeedSpec {
            org: "1".into(),
            folders: 0,
            projects: 2,
            service_accounts: 6,
            custom_roles: 0,
            deny_policies: 0,
            seed: 1,
        })
    }

    fn version(v: &str) -> HashMap<String, String> {
        HashMap::from([("options.requestedPolicyVersion".to_string(), v.to_string())])
    }

    #[test]
    fn an_account_policy_takes_its_version_as_a_query_parameter_and_shows_conditions_at_3() {
        let mut org = org();
        let first = org.accounts.values().next().unwrap().clone();
        let path = format!(
            "projects/{}/serviceAccounts/{}:getIamPolicy",
            first.project_id, first.email
        );
        let in_body = json!({"options": {"requestedPolicyVersion": 3}});
        assert_eq!(
            handle(&mut org, "POST", &path, &HashMap::new(), &in_body)
                .unwrap_err()
                .code,
            400
        );
        // The first seeded account has a conditional binding, hidden below version 3.
        let v1 = handle(&mut org, "POST", &path, &version("1"), &Value::Null).unwrap();
        assert!(v1.to_string().contains("_withcond_") && !v1.to_string().contains("condition\""));
        assert_eq!(
            handle(&mut org, "POST", &path, &version("x"), &Value::Null)
                .unwrap_err()
                .code,
            400
        );
        let policy = handle(&mut org, "POST", &path, &version("3"), &Value::Null).unwrap();
        assert_eq!(policy["version"], 3);
        assert!(policy["etag"].is_string());
    }

    #[test]
    fn deleting_an_account_marks_it_deleted_in_other_accounts_policies_and_drops_its_own() {
        let mut org = org();
        let accounts: Vec<Account> = org.accounts.values().cloned().collect();
        let (first, second) = (&accounts[0], &accounts[1]);
        let member = json!(format!("serviceAccount:{}", first.email));
        assert!(
            second
                .policy
                .bindings
                .iter()
                .any(|b| b["members"].as_array().unwrap().contains(&member))
        );
        let path = format!("projects/-/serviceAccounts/{}", first.email);
        handle(&mut org, "DELETE", &path, &HashMap::new(), &Value::Null).unwrap();
        let deleted = json!(format!(
            "deleted:serviceAccount:{}?uid={}",
            first.email, first.unique_id
        ));
        let now = &org.accounts[&second.unique_id];
        assert!(
            now.policy
                .bindings
                .iter()
                .any(|b| b["members"].as_array().unwrap().contains(&deleted))
        );
        assert!(now.policy.serial > second.policy.serial, "its etag moved");
        let gone = &org.accounts[&first.unique_id];
        assert!(gone.policy.bindings.is_empty() && gone.keys.is_empty());
        let undelete = format!(
            "projects/{}/serviceAccounts/{}:undelete",
            first.project_id, first.unique_id
        );
        handle(&mut org, "POST", &undelete, &HashMap::new(), &json!({})).unwrap();
        let plain = &org.accounts[&second.unique_id];
        assert!(
            plain
                .policy
                .bindings
                .iter()
                .any(|b| b["members"].as_array().unwrap().contains(&member))
        );
    }

    #[test]
    fn keys_are_listed_without_private_material_and_user_managed_apart() {
        let mut org = org();
        let first = org.accounts.values().next().unwrap().clone();
        let path = format!(
            "projects/{}/serviceAccounts/{}/keys",
            first.project_id, first.email
        );
        let all = handle(&mut org, "GET", &path, &HashMap::new(), &Value::Null).unwrap();
        let user = HashMap::from([("keyTypes".to_string(), "USER_MANAGED".to_string())]);
        let managed = handle(&mut org, "GET", &path, &user, &Value::Null).unwrap();
        assert_eq!(all["keys"].as_array().unwrap().len(), first.keys.len() + 1);
        assert_eq!(managed["keys"].as_array().unwrap().len(), first.keys.len());
        assert!(!all.to_string().contains("privateKeyData"));
        let key = &first.keys[0];
        assert!(key.disabled, "the first seeded key is disabled");
        let enable = format!("{path}/{}:enable", key.id);
        handle(&mut org, "POST", &enable, &HashMap::new(), &json!({})).unwrap();
        let got = handle(
            &mut org,
            "GET",
            &format!("{path}/{}", key.id),
            &HashMap::new(),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(got.get("disabled"), None);
        let bad = HashMap::from([("keyTypes".to_string(), "ALL".to_string())]);
        assert_eq!(
            handle(&mut org, "GET", &path, &bad, &Value::Null)
                .unwrap_err()
                .code,
            400
        );
    }
}
