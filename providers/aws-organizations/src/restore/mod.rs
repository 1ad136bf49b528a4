//! Restore: one [`Operation`] at a time, idempotent. Objects are found live by their natural
//! keys (an OU by its path, a policy by type and name), so a re-created parent or policy is
//! used under its new id whatever the snapshot's id was.

mod accounts;
mod lookup;
mod policies;
mod tags;
mod units;

use iamsnap_provider::{Action, IdMap, Operation, Outcome, ProviderError, Record};
use serde_json::Value;

use crate::client::{ApiError, Client, Connection};
use crate::kinds::{self, Target};
pub(crate) use lookup::Live;

/// Everything an operation needs.
pub(crate) struct Ctx<'a> {
    pub client: &'a Client,
    pub live: &'a Live,
}

/// The result of bringing one object to its desired state.
pub(crate) enum Done {
    Changed(String),
    Unchanged(String),
}

impl Done {
    fn outcome(self) -> Outcome {
        match self {
            Done::Changed(id) => Outcome::Applied { id },
            Done::Unchanged(id) => Outcome::AlreadyDone { id },
        }
    }

    pub fn changed_if(changed: bool, id: String) -> Done {
        if changed {
            Done::Changed(id)
        } else {
            Done::Unchanged(id)
        }
    }
}

/// Brings one object to the state `op` asks for.
pub(crate) async fn apply(
    connection: &Connection,
    live: &Live,
    op: &Operation,
    ids: &dyn IdMap,
) -> Result<Outcome, ProviderError> {
    let _ = ids;
    let ctx = Ctx {
        client: connection.client().await,
        live,
    };
    let subject = format!("{} {}", op.kind, op.key);
    let api = |e: ApiError| e.context(&subject);
    match op.action {
        Action::Create | Action::Update => {
            let desired = op
                .desired
                .as_ref()
                .ok_or_else(|| ProviderError::Precondition {
                    kind: op.kind.clone(),
                    key: op.key.clone(),
                    message: "the operation carries no desired state".into(),
                })?;
            let done = match op.kind.as_str() {
                kinds::ROOT => accounts::converge_root(&ctx, desired).await,
                kinds::UNIT => units::converge(&ctx, desired).await,
                kinds::POLICY => policies::converge(&ctx, desired).await,
                kinds::ACCOUNT => accounts::converge_account(&ctx, desired).await,
                kinds::ATTACHMENT => policies::attach(&ctx, desired).await,
                kinds::DELEGATED_ADMIN => accounts::register(&ctx, desired).await,
                other => return Err(unknown_kind(other, &op.key)),
            };
            done.map(Done::outcome).map_err(api)
        }
        Action::Delete => {
            let done = match op.kind.as_str() {
                kinds::UNIT => units::delete(&ctx, &op.key).await,
                kinds::POLICY => policies::delete(&ctx, &op.key).await,
                kinds::ATTACHMENT => policies::detach(&ctx, &op.key).await,
                kinds::DELEGATED_ADMIN => accounts::deregister(&ctx, &op.key).await,
                other => {
                    return Err(ProviderError::Unsupported {
                        kind: other.to_string(),
                        key: op.key.clone(),
                        action: "delete".into(),
                        reason:
                            "a restore never deletes the root, nor closes or removes an account"
                                .into(),
                    });
                }
            };
            let id = op
                .current
                .as_ref()
                .map_or_else(|| op.key.clone(), |r| r.id.clone());
            match done {
                Ok(true) => Ok(Outcome::Applied { id }),
                Ok(false) => Ok(Outcome::AlreadyDone { id }),
                Err(e) if e.is_not_found() => Ok(Outcome::AlreadyDone { id }),
                Err(e) => Err(api(e)),
            }
        }
    }
}

fn unknown_kind(kind: &str, key: &str) -> ProviderError {
    ProviderError::Unsupported {
        kind: kind.to_string(),
        key: key.to_string(),
        action: "restore".into(),
        reason: "not a kind of the aws-organizations connector".into(),
    }
}

/// Accounts are never created by a restore: what to do instead. (Nor closed or removed: the
/// kind declares no delete.)
pub(crate) fn refuses(action: Action, record: &Record) -> Option<String> {
    if record.kind != kinds::ACCOUNT || action != Action::Create {
        return None;
    }
    let id = &record.key;
    let name = str_attr(record, "name");
    let email = str_attr(record, "email");
    Some(format!(
        "account {id} ({name}, {email}) is no longer in the organization: a restore never creates or invites accounts; reopen it through AWS Support if it was closed less than 90 days ago, or invite it again (aws organizations invite-account-to-organization --target Id={id},Type=ACCOUNT), then restore again to put it back in its OU with its policies"
    ))
}

/// What restore can bring a live object to. An account's name, email and status are not
/// Organizations' to set (name and email belong to the account itself); a policy type enabled
/// since the snapshot stays enabled, since disabling a type detaches every policy of it.
pub(crate) fn reachable(mut desired: Record, live: &Record) -> Record {
    match desired.kind.as_str() {
        kinds::ACCOUNT => {
            for field in ["name", "email", "status"] {
                desired.attrs[field] = live.attrs[field].clone();
            }
        }
        kinds::ROOT => {
            let mut types: Vec<Value> = desired.attrs["policy_types"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for t in live.attrs["policy_types"].as_array().into_iter().flatten() {
                if !types.contains(t) {
                    types.push(t.clone());
                }
            }
            types.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            desired.attrs["policy_types"] = Value::Array(types);
        }
        _ => {}
    }
    desired
}

fn str_attr<'a>(record: &'a Record, name: &str) -> &'a str {
    record.attrs[name].as_str().unwrap_or_default()
}

/// A target key of a record's attribute (`parent`, `target`), parsed.
fn target_attr(record: &Record, name: &str) -> Result<Target, ApiError> {
    let text = str_attr(record, name);
    Target::parse(text).ok_or_else(|| {
        ApiError::local(
            "restore",
            &format!("{name} {text:?} is not root, ou/PATH or account/ID"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accounts_are_moved_never_made_or_closed() {
        let account = Record::new(
            kinds::ACCOUNT,
            "111111111111",
            "111111111111",
            json!({"name": "app", "email": "app@example.com", "status": "ACTIVE", "parent": "ou/A", "tags": {}}),
            vec![],
        );
        assert!(
            refuses(Action::Create, &account)
                .unwrap()
                .contains("never creates or invites accounts")
        );
        assert_eq!(refuses(Action::Update, &account), None);
        let info = kinds::KINDS
            .iter()
            .find(|k| k.name == kinds::ACCOUNT)
            .unwrap();
        assert!(!info.capabilities.delete, "accounts are never closed");
        let mut live = account.clone();
        live.attrs["name"] = json!("renamed");
        live.attrs["parent"] = json!("root");
        let reached = reachable(account, &live);
        assert_eq!(reached.attrs["name"], "renamed");
        assert_eq!(reached.attrs["parent"], "ou/A", "the move is restored");
    }

    #[test]
    fn policy_types_are_enabled_never_disabled() {
        let root = |types: Value| {
            Record::new(
                kinds::ROOT,
                "r-1",
                "root",
                json!({ "policy_types": types }),
                vec![],
            )
        };
        let reached = reachable(
            root(json!(["SERVICE_CONTROL_POLICY"])),
            &root(json!(["TAG_POLICY"])),
        );
        assert_eq!(
            reached.attrs["policy_types"],
            json!(["SERVICE_CONTROL_POLICY", "TAG_POLICY"])
        );
    }
}
