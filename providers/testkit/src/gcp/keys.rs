//! IAM v1 service account keys (`/v1/projects/{project}/serviceAccounts/{account}/keys…`):
//! list (with `keyTypes`), get, delete, disable and enable. Keys are listed by id, dates and
//! algorithm only: Google keeps only the public half of a user-managed key, and hands the
//! private half out once, when the key is created. Every account also has a system-managed key,
//! which Google rotates and a list without `keyTypes=USER_MANAGED` shows too.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::accounts::Account;
use super::api::GcpError;

/// A user-managed key.
#[derive(Debug, Clone)]
pub struct Key {
    /// The 40 hex digits of its id.
    pub id: String,
    /// RFC 3339.
    pub valid_after: String,
    /// RFC 3339; `9999-12-31T23:59:59Z` for a key that does not expire.
    pub valid_before: String,
    pub disabled: bool,
}

impl Key {
    fn json(&self, account: &Account) -> Value {
        let mut v = json!({
            "name": format!("projects/{}/serviceAccounts/{}/keys/{}", account.project_id, account.email, self.id),
            "keyAlgorithm": "KEY_ALG_RSA_2048",
            "validAfterTime": self.valid_after,
            "validBeforeTime": self.valid_before,
            "keyOrigin": "GOOGLE_PROVIDED",
            "keyType": "USER_MANAGED",
        });
        if self.disabled {
            v["disabled"] = true.into();
        }
        v
    }
}

/// The key Google manages for `account`: listed, never handed out.
fn system_key(account: &Account) -> Value {
    json!({
        "name": format!("projects/{}/serviceAccounts/{}/keys/{:0>40}", account.project_id, account.email, account.unique_id),
        "keyAlgorithm": "KEY_ALG_RSA_2048",
        "validAfterTime": "2024-01-15T09:30:00Z",
        "validBeforeTime": "2024-01-31T09:30:00Z",
        "keyOrigin": "GOOGLE_PROVIDED",
        "keyType": "SYSTEM_MANAGED",
    })
}

fn not_found(id: &str) -> GcpError {
    GcpError::new(
        404,
        "NOT_FOUND",
        format!("Service account key {id} does not exist."),
    )
}

/// `…/keys` (`rest` empty) or `…/keys/{id}[:verb]` of a live `account`.
pub fn handle(
    account: &mut Account,
    method: &str,
    rest: &[&str],
    verb: Option<&str>,
    query: &HashMap<String, String>,
) -> Result<Value, GcpError> {
    match (method, rest, verb) {
        ("GET", [], None) => {
            let (user, system) = match query.get("keyTypes").map(String::as_str) {
                None => (true, true),
                Some("USER_MANAGED") => (true, false),
                Some("SYSTEM_MANAGED") => (false, true),
                Some(other) => {
                    return Err(GcpError::invalid(format!(
                        "Invalid value at 'key_types' (type.googleapis.com/google.iam.admin.v1.ListServiceAccountKeysRequest.KeyType), \"{other}\""
                    )));
                }
            };
            let mut keys: Vec<Value> = Vec::new();
            if user {
                keys.extend(account.keys.iter().map(|k| k.json(account)));
            }
            if system {
                keys.push(system_key(account));
            }
            // Google's JSON leaves out an empty list.
            Ok(if keys.is_empty() {
                json!({})
            } else {
                json!({ "keys": keys })
            })
        }
        (_, [id], _) => {
            let at = account
                .keys
                .iter()
                .position(|k| k.id == *id)
                .ok_or_else(|| not_found(id))?;
            match (method, verb) {
                ("GET", None) => Ok(account.keys[at].json(account)),
                ("DELETE", None) => {
                    account.keys.remove(at);
                    Ok(json!({}))
                }
                ("POST", Some(v @ ("disable" | "enable"))) => {
                    account.keys[at].disabled = v == "disable";
                    Ok(json!({}))
                }
                _ => Err(GcpError::new(
                    404,
                    "NOT_FOUND",
                    format!("{method} …/keys/{id} is not an API method."),
                )),
            }
        }
        _ => Err(GcpError::new(
            404,
            "NOT_FOUND",
            format!("{method} …/keys/{} is not an API method.", rest.join("/")),
        )),
    }
}
